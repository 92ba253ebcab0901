//! Joining the lab with a display name, resuming with the session cookie, and leaving.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SignedCookieJar};
use serde::Deserialize;

use super::AppState;
use super::error::WebError;
use super::lab::Chrome;
use super::session::{COOKIE, Session, new_cookie, read_session};
use crate::participants::{MAX_NAME_CHARS, ParticipantError};

#[derive(Template, WebTemplate)]
#[template(path = "pages/join.html")]
struct JoinPage {
    chrome: Option<Chrome>,
    notice: Option<&'static str>,
    error: Option<String>,
    name: String,
    max_name: usize,
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
    if let Ok(session) = read_session(&state, &jar) {
        let step = session
            .participant
            .progress
            .current_step
            .clone()
            .unwrap_or_else(|| "prepare".to_owned());
        return Redirect::to(&format!("/lab/{step}")).into_response();
    }
    let notice = match query.reason.as_deref() {
        Some("expired") => Some("Your session has expired. Join again to continue."),
        Some("unknown") => Some(
            "We could not find your participant record (an instructor may have removed it). Join again to start afresh.",
        ),
        Some("join") => Some("Join the lab first: enter a name to get your own pipeline."),
        Some("left") => Some(
            "You have left the lab. Your pipeline keeps its state; join again to start a new one.",
        ),
        _ => None,
    };
    JoinPage {
        chrome: None,
        notice,
        error: None,
        name: String::new(),
        max_name: MAX_NAME_CHARS,
    }
    .into_response()
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
    let now = chrono::Utc::now().timestamp_millis();
    let participant = match state.participants.create(&form.name, now) {
        Ok(participant) => participant,
        Err(ParticipantError::InvalidName) => {
            let page = JoinPage {
                chrome: None,
                notice: None,
                error: Some(format!(
                    "Please enter a name of 1 to {MAX_NAME_CHARS} characters (you entered {}).",
                    form.name.trim().chars().count()
                )),
                name: form.name.chars().take(MAX_NAME_CHARS * 2).collect(),
                max_name: MAX_NAME_CHARS,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(error) => return Err(error.into()),
    };
    if let Err(error) = state.backend.create_stack(&participant.id).await {
        let _ = state.participants.remove(&participant.id);
        return Err(error.into());
    }
    tracing::info!(participant = %participant.id, "participant joined");
    state.events.record(
        crate::events::EventKind::Joined,
        Some(&participant.id),
        participant.name.clone(),
    );
    let jar = jar.add(new_cookie(&participant.id));
    Ok((jar, Redirect::to("/lab/prepare")).into_response())
}

/// The leave form.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /leave`: forgets the session cookie.
pub async fn leave(
    session: Session,
    jar: SignedCookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
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
