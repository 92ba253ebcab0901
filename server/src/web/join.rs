//! Joining the lab with a display name, resuming with the session cookie, and leaving.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SignedCookieJar};
use serde::Deserialize;

use super::error::WebError;
use super::layout::Chrome;
use super::session::{COOKIE, Session, SessionProblem, new_cookie, read_session};
use crate::ops::{OpError, participants};
use crate::participants::MAX_NAME_CHARS;
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "pages/join.html")]
struct JoinPage {
    chrome: Option<Chrome>,
    notice: Option<&'static str>,
    error: Option<String>,
    resume_error: Option<String>,
    name: String,
    max_name: usize,
}

impl JoinPage {
    /// The page again, refusing what was typed (422).
    fn refused(self) -> Response {
        (StatusCode::UNPROCESSABLE_ENTITY, self).into_response()
    }

    fn new(notice: Option<&'static str>) -> Self {
        Self {
            chrome: None,
            notice,
            error: None,
            resume_error: None,
            name: String::new(),
            max_name: MAX_NAME_CHARS,
        }
    }
}

/// Why the join page is shown.
#[derive(Debug, Deserialize)]
pub struct LandingQuery {
    reason: Option<String>,
}

/// `GET /`: the join page, or back to where a returning participant left off.
pub async fn landing(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    Query(query): Query<LandingQuery>,
) -> Response {
    match read_session(&state, &jar) {
        Ok(session) => return Redirect::to(&resume_path(&session.participant)).into_response(),
        Err(SessionProblem::Unavailable(error)) => return WebError::Op(error).into_response(),
        Err(_) => {}
    }
    let notice = match query.reason.as_deref() {
        Some("expired") => Some("Your session has expired. Join again to continue."),
        Some("unknown") => Some(
            "We could not find your participant record (an instructor may have removed it). Join again to start afresh.",
        ),
        Some("join") => Some("Join the lab first: enter a name to get your own pipeline."),
        Some("left") => Some(
            "You have left the lab and your traffic has stopped. Your pipeline keeps its state: \
             come back with your resume code below, or join with a new name to start afresh.",
        ),
        _ => None,
    };
    JoinPage::new(notice).into_response()
}

/// Where a returning participant carries on: the step they last opened.
fn resume_path(participant: &crate::participants::Participant) -> String {
    let step = participant
        .progress
        .current_step
        .as_deref()
        .unwrap_or("prepare");
    format!("/lab/{step}")
}

/// The join form.
#[derive(Debug, Deserialize)]
pub struct JoinForm {
    name: String,
}

/// `POST /join`: a new participant with their own stack, and a session cookie.
pub async fn join(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    Form(form): Form<JoinForm>,
) -> Result<Response, WebError> {
    let joined = match participants::join(&state, &form.name).await {
        Ok(joined) => joined,
        Err(OpError::Invalid { .. }) => {
            return Ok(JoinPage {
                error: Some(format!(
                    "Please enter a name of 1 to {MAX_NAME_CHARS} characters, without control characters (you entered {}).",
                    form.name.trim().chars().count()
                )),
                name: form.name.chars().take(MAX_NAME_CHARS * 2).collect(),
                ..JoinPage::new(None)
            }
            .refused());
        }
        Err(error) => return Err(error.into()),
    };
    let jar = jar.add(new_cookie(&joined.participant.id));
    Ok((jar, Redirect::to("/lab/prepare")).into_response())
}

/// The resume form.
#[derive(Debug, Deserialize)]
pub struct ResumeForm {
    code: String,
}

/// `POST /resume`: a returning participant, by their resume code, gets a session again.
pub async fn resume(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    Form(form): Form<ResumeForm>,
) -> Result<Response, WebError> {
    match participants::resume(&state, &form.code) {
        Ok(participant) => {
            let jar = jar.add(new_cookie(&participant.id));
            Ok((jar, Redirect::to(&resume_path(&participant))).into_response())
        }
        Err(OpError::Invalid { message, .. }) => Ok(JoinPage {
            resume_error: Some(message),
            ..JoinPage::new(None)
        }
        .refused()),
        Err(error) => Err(error.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/leave.html")]
struct LeavePage {
    chrome: Option<Chrome>,
    csrf: String,
    code: String,
    traffic_running: bool,
}

/// `GET /leave`: asks before leaving, and gives the resume code to come back with.
pub async fn confirm_leave(State(state): State<AppState>, session: Session) -> Response {
    let mut response = LeavePage {
        chrome: Some(Chrome::new(&session, None)),
        csrf: session.csrf.clone(),
        code: session.participant.token.clone(),
        traffic_running: state.traffic.status(&session.participant.id).is_running(),
    }
    .into_response();
    // A page holding a secret is not cached.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// The leave form.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /leave`: stops the participant's traffic and forgets the session cookie.
pub async fn leave(
    State(state): State<AppState>,
    session: Session,
    jar: SignedCookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    participants::leave(&state, &session.participant.id).await?;
    let jar = jar.remove(Cookie::build(COOKIE).path("/"));
    Ok((jar, Redirect::to("/?reason=left")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/api_access.html")]
struct ApiAccessPage {
    chrome: Option<Chrome>,
    id: String,
    token: String,
    origin: String,
}

/// `GET /api-access`: the participant's API token, with examples. Only ever shown to the
/// participant it belongs to, and never logged.
pub async fn show_api_access(session: Session, headers: axum::http::HeaderMap) -> Response {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| {
            host.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        })
        .unwrap_or("127.0.0.1:8080");
    let mut response = ApiAccessPage {
        chrome: Some(Chrome::new(&session, None)),
        id: session.participant.id.clone(),
        token: session.participant.token.clone(),
        origin: format!("http://{host}"),
    }
    .into_response();
    // A page holding a secret is not cached.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
