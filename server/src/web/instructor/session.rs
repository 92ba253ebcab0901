//! The instructor's session: a signed, HttpOnly, SameSite cookie, separate from the participants'
//! (its own name, path and value shape), holding the CSRF token every instructor form posts back.
//! It is issued by logging in with the instructor token and lasts [`SESSION_SECONDS`].

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use serde::Deserialize;

use super::InstructorError;
use crate::events::EventKind;
use crate::state::AppState;
use crate::state::secrets_match;
use crate::web::is_htmx;
use crate::web::layout::Chrome;

/// The instructor cookie's name.
pub const COOKIE: &str = "chaoslab_instructor";
/// How long an instructor session lasts, in seconds: a working day.
pub const SESSION_SECONDS: i64 = 12 * 60 * 60;
/// Where the login page is.
pub const LOGIN_PATH: &str = "/instructor/login";
/// The cookie is only sent to the instructor's pages.
const COOKIE_PATH: &str = "/instructor";
/// The first part of the cookie's value; a participant's cookie value starts with their id.
const VALUE_PREFIX: &str = "instructor";

/// A logged-in instructor, with the token their forms must post back.
#[derive(Debug, Clone)]
pub struct InstructorSession {
    /// The token every instructor form posts back as `csrf`.
    pub csrf: String,
}

impl InstructorSession {
    /// Checks a posted CSRF token against the session's.
    pub fn check_csrf(&self, posted: &str) -> Result<(), InstructorError> {
        Ok(crate::web::session::check_csrf(posted, &self.csrf)?)
    }
}

/// A new instructor cookie: `instructor.<csrf>.<issued at, unix seconds>`.
fn new_cookie() -> Cookie<'static> {
    let csrf = uuid::Uuid::new_v4().simple().to_string();
    let issued = chrono::Utc::now().timestamp();
    Cookie::build((COOKIE, format!("{VALUE_PREFIX}.{csrf}.{issued}")))
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(SESSION_SECONDS))
        .build()
}

/// Reads the instructor cookie: `None` when it is missing, forged, malformed or expired.
fn read_session(jar: &SignedCookieJar) -> Option<InstructorSession> {
    let cookie = jar.get(COOKIE)?;
    let mut parts = cookie.value().splitn(3, '.');
    let (Some(VALUE_PREFIX), Some(csrf), Some(issued)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let issued: i64 = issued.parse().ok()?;
    let age = chrono::Utc::now().timestamp() - issued;
    // A cookie from the future was not issued by this clock: refuse it as well.
    if csrf.is_empty() || !(-60..=SESSION_SECONDS).contains(&age) {
        return None;
    }
    Some(InstructorSession {
        csrf: csrf.to_owned(),
    })
}

/// Rejection for instructor pages without a valid session: to the login page (for htmx, through
/// `HX-Redirect`, so a polled table does not turn into a login form).
#[derive(Debug)]
pub struct NotLoggedIn {
    htmx: bool,
}

impl IntoResponse for NotLoggedIn {
    fn into_response(self) -> Response {
        if self.htmx {
            (StatusCode::UNAUTHORIZED, [("hx-redirect", LOGIN_PATH)]).into_response()
        } else {
            Redirect::to(LOGIN_PATH).into_response()
        }
    }
}

impl FromRequestParts<AppState> for InstructorSession {
    type Rejection = NotLoggedIn;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = SignedCookieJar::<Key>::from_headers(&parts.headers, state.cookie_key.clone());
        read_session(&jar).ok_or(NotLoggedIn {
            htmx: is_htmx(&parts.headers),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "instructor/login.html")]
struct LoginPage {
    chrome: Option<Chrome>,
    error: Option<&'static str>,
}

/// `GET /instructor/login`: the token form, or the overview for a logged-in instructor.
pub async fn show_login(jar: SignedCookieJar) -> Response {
    if read_session(&jar).is_some() {
        return Redirect::to("/instructor").into_response();
    }
    LoginPage {
        chrome: None,
        error: None,
    }
    .into_response()
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

/// `POST /instructor/login`: checks the token and starts a session.
pub async fn log_in(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    if !secrets_match(form.token.trim(), &state.instructor_token) {
        tracing::warn!("instructor login refused: wrong token");
        let page = LoginPage {
            chrome: None,
            error: Some(
                "That token is not right. Check it and try again: it is the one printed when the \
                 server started, or set with --instructor-token.",
            ),
        };
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    tracing::info!("instructor logged in");
    state.events.record(EventKind::InstructorLogin, None, "");
    (jar.add(new_cookie()), Redirect::to("/instructor")).into_response()
}

/// The logout form.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /instructor/logout`: forgets the instructor cookie.
pub async fn log_out(
    session: InstructorSession,
    jar: SignedCookieJar,
    Form(form): Form<LogoutForm>,
) -> Result<Response, InstructorError> {
    session.check_csrf(&form.csrf)?;
    let jar = jar.remove(Cookie::build(COOKIE).path(COOKIE_PATH));
    Ok((jar, Redirect::to(LOGIN_PATH)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar_with(value: String) -> SignedCookieJar {
        SignedCookieJar::new(Key::generate()).add(Cookie::new(COOKIE, value))
    }

    #[test]
    fn the_cookie_is_http_only_same_site_and_scoped_to_the_instructor_pages() {
        let cookie = new_cookie();
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some(COOKIE_PATH));
        assert!(cookie.value().starts_with("instructor."));
    }

    #[test]
    fn only_a_fresh_instructor_value_is_a_session() {
        let now = chrono::Utc::now().timestamp();
        assert!(read_session(&jar_with(format!("instructor.abc.{now}"))).is_some());
        let old = now - SESSION_SECONDS - 1;
        assert!(read_session(&jar_with(format!("instructor.abc.{old}"))).is_none());
        let future = now + 3_600;
        assert!(read_session(&jar_with(format!("instructor.abc.{future}"))).is_none());
        // A participant's value (their id first) is never an instructor session.
        assert!(read_session(&jar_with(format!("p-0123.abc.{now}"))).is_none());
        assert!(read_session(&jar_with(format!("instructor..{now}"))).is_none());
        assert!(read_session(&jar_with("instructor.abc.soon".into())).is_none());
    }
}
