//! The whole application in-process: the router over a fresh data directory, driven with
//! `tower::ServiceExt::oneshot`, with helpers for what the pages and the API tests do over and
//! over (join, log in, post a form with its CSRF token, call the API with a token, restart).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chaoslab::backend::BackendKind;
use chaoslab::backend::embedded::Engine;
use chaoslab::router::app;
use chaoslab::serve::{ServeArgs, build_embedded_state, build_state};
use chaoslab::state::AppState;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The instructor's token in every in-process lab.
pub const INSTRUCTOR: &str = "instructor-token-for-tests";

/// The application over a fresh data directory.
pub struct Lab {
    /// Its state, for looking inside.
    pub state: AppState,
    /// Its router.
    pub router: Router,
    /// The embedded engine, for looking inside the pipeline (none on the AWS backend).
    pub engine: Option<std::sync::Arc<Engine>>,
    args: ServeArgs,
    dir: tempfile::TempDir,
}

/// A participant who joined through the join page.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// Their id.
    pub id: String,
    /// `chaoslab_session=…`, for the `Cookie` header.
    pub cookie: String,
    /// Their session's CSRF token.
    pub csrf: String,
    /// Their API token (also their resume code).
    pub token: String,
}

/// The instructor, logged in through the login page.
#[derive(Debug, Clone)]
pub struct Instructor {
    /// `chaoslab_instructor=…`.
    pub cookie: String,
    /// The instructor session's CSRF token.
    pub csrf: String,
}

/// The text after `marker` up to the next `"`.
pub fn value_after<'a>(page: &'a str, marker: &str) -> &'a str {
    page.split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("no {marker:?} in {page}"))
        .split('"')
        .next()
        .unwrap()
}

/// The whole `Set-Cookie` header, attributes and all, if there is one.
pub fn set_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::SET_COOKIE)
        .map(|value| value.to_str().unwrap())
}

/// Whether `note` is on the page and shown: not inside an element marked `hidden` (the pages
/// render "refreshes every …" hidden, for chaoslab.js to show where scripts run).
pub fn shows_note(page: &str, note: &str) -> bool {
    page.contains(note)
        && !page
            .split(note)
            .next()
            .and_then(|before| before.rsplit('<').next())
            .is_some_and(|tag| tag.contains(" hidden"))
}

/// The text of the page's `<noscript>`, what a reader without scripts sees instead.
pub fn noscript_text(page: &str) -> &str {
    page.split("<noscript>")
        .nth(1)
        .and_then(|rest| rest.split("</noscript>").next())
        .unwrap_or_default()
}

/// The `Location` header.
pub fn location(headers: &HeaderMap) -> &str {
    headers
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// The cookie a response sets, as `name=value` for a `Cookie` header.
fn cookie_of(headers: &HeaderMap) -> String {
    set_cookie(headers)
        .and_then(|value| value.split(';').next())
        .unwrap_or_else(|| panic!("no cookie in {headers:?}"))
        .to_owned()
}

/// A response body as the API's JSON, or as a JSON string when it is not JSON (a CSV export,
/// a page).
fn json_or_text(body: String) -> Value {
    serde_json::from_str(&body).unwrap_or(Value::String(body))
}

impl Lab {
    /// The embedded lab with the command line's defaults.
    pub fn open() -> Self {
        Self::with(|_| {})
    }

    /// The embedded lab with `change` made to the defaults.
    pub fn with(change: impl FnOnce(&mut ServeArgs)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut args = ServeArgs {
            instructor_token: Some(INSTRUCTOR.to_owned()),
            ..ServeArgs::embedded(dir.path())
        };
        change(&mut args);
        Self::over(args, dir)
    }

    fn over(args: ServeArgs, dir: tempfile::TempDir) -> Self {
        let (state, engine) = match args.backend {
            BackendKind::Embedded => {
                let (state, engine) = build_embedded_state(&args).unwrap();
                (state, Some(engine))
            }
            BackendKind::Aws => (build_state(&args).unwrap(), None),
        };
        Self {
            router: app(state.clone()),
            state,
            engine,
            args,
            dir,
        }
    }

    /// The same lab started again over its data directory, as after a restart of the server.
    /// Stop its traffic and shut its backend down first, as `serve` does on its way out.
    pub fn reopen(self) -> Self {
        let Self {
            state,
            router,
            engine,
            args,
            dir,
        } = self;
        drop(router);
        drop(state);
        drop(engine);
        Self::over(args, dir)
    }

    /// The lab's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Sends a request; returns the status, the headers and the body as text.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    /// `GET` with a cookie (or none, with `""`).
    pub async fn get(&self, path: &str, cookie: &str) -> (StatusCode, HeaderMap, String) {
        self.send(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// `GET` as htmx does: a partial.
    pub async fn htmx(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let (status, _, body) = self
            .send(
                Request::get(path)
                    .header(header::COOKIE, cookie)
                    .header("hx-request", "true")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        (status, body)
    }

    /// Posts a form.
    pub async fn post(
        &self,
        path: &str,
        cookie: &str,
        form: &str,
    ) -> (StatusCode, HeaderMap, String) {
        self.send(
            Request::post(path)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.to_owned()))
                .unwrap(),
        )
        .await
    }

    /// Posts a form as `visitor`, with their CSRF token first.
    pub async fn post_as(
        &self,
        visitor: &Visitor,
        path: &str,
        form: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let csrf = format!("csrf={}", visitor.csrf);
        let form = if form.is_empty() {
            csrf
        } else {
            format!("{csrf}&{form}")
        };
        self.post(path, &visitor.cookie, &form).await
    }

    /// Starts `visitor`'s traffic with the traffic page's form (empty: its defaults), expecting
    /// the redirect that means it was accepted.
    pub async fn start_traffic(&self, visitor: &Visitor, form: &str) {
        let (status, _, page) = self.post_as(visitor, "/traffic", form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    }

    /// Whether `visitor`'s publisher or subscriber is running.
    pub fn running(&self, visitor: &Visitor) -> bool {
        self.state.traffic.status(&visitor.id).is_running()
    }

    /// Calls the API with a bearer token and a JSON body; returns the status and the JSON (a
    /// body that is not JSON comes back as a JSON string).
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        self.api_raw(request).await
    }

    /// Sends a request built by hand (a malformed body, a header left out) to the API; returns
    /// the status and the JSON, as [`Lab::api`] does.
    pub async fn api_raw(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, _, body) = self.send(request).await;
        (status, json_or_text(body))
    }

    /// Creates a participant through the API as `name`; returns their id and API token.
    pub async fn join_through_api(&self, name: &str) -> (String, String) {
        let (status, body) = self
            .api(
                Method::POST,
                "/api/v1/participants",
                None,
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["id"].as_str().unwrap().to_owned(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Joins through the join page as `name`.
    pub async fn join(&self, name: &str) -> Visitor {
        let (status, headers, _) = self
            .post("/join", "", &format!("name={}", name.replace(' ', "+")))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let cookie = cookie_of(&headers);
        // The leave page asks first, so it carries the session's form token and the resume code.
        let (_, _, page) = self.get("/leave", &cookie).await;
        let csrf = value_after(&page, r#"name="csrf" value=""#).to_owned();
        let token =
            value_after(&page, r#"id="resume-code" type="text" readonly value=""#).to_owned();
        let id = self
            .state
            .participants
            .by_token(&token)
            .unwrap()
            .unwrap()
            .id;
        Visitor {
            id,
            cookie,
            csrf,
            token,
        }
    }

    /// Logs the instructor in through the login page.
    pub async fn log_in(&self) -> Instructor {
        let (status, headers, _) = self
            .post("/instructor/login", "", &format!("token={INSTRUCTOR}"))
            .await;
        assert_eq!(
            (status, location(&headers)),
            (StatusCode::SEE_OTHER, "/instructor")
        );
        let cookie = cookie_of(&headers);
        let (_, _, page) = self.get("/instructor", &cookie).await;
        let csrf = value_after(&page, r#"name="csrf" value=""#).to_owned();
        Instructor { cookie, csrf }
    }

    /// The instructor's overview with `query` (`""` or from `?`), expecting 200.
    pub async fn overview(&self, query: &str, instructor: &Instructor) -> String {
        let (status, _, page) = self
            .get(&format!("/instructor{query}"), &instructor.cookie)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page
    }

    /// Posts an instructor action with the instructor's CSRF token.
    pub async fn act(
        &self,
        instructor: &Instructor,
        form: &str,
    ) -> (StatusCode, HeaderMap, String) {
        self.post(
            "/instructor/actions",
            &instructor.cookie,
            &format!("csrf={}&{form}", instructor.csrf),
        )
        .await
    }

    /// The kinds and details of a participant's events, oldest first.
    pub fn events_of(&self, id: &str) -> Vec<(String, String)> {
        self.state
            .events
            .list(0, 1000, Some(id))
            .unwrap()
            .into_iter()
            .map(|event| {
                (
                    serde_json::to_value(event.kind)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    event.detail,
                )
            })
            .collect()
    }
}
