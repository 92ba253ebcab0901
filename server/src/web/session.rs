//! Sessions: a signed, HttpOnly, SameSite cookie naming the participant, with a CSRF token that
//! every form posts back; and refusal of state-changing requests sent from other sites.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite, SignedCookieJar};

use super::error::WebError;
use crate::ops::OpError;
use crate::participants::{Participant, ParticipantError};
use crate::state::{AppState, secrets_match};

/// The session cookie's name.
pub const COOKIE: &str = "chaoslab_session";
/// How long a session lasts, in seconds: a workshop, with margin.
pub const SESSION_SECONDS: i64 = 30 * 24 * 60 * 60;

/// A signed-in participant, with the CSRF token their forms must carry.
#[derive(Debug, Clone)]
pub struct Session {
    /// The participant.
    pub participant: Participant,
    /// The token every form of this session posts back.
    pub csrf: String,
}

impl Session {
    /// Checks a posted CSRF token against the session's.
    pub fn check_csrf(&self, posted: &str) -> Result<(), WebError> {
        check_csrf(posted, &self.csrf)
    }
}

/// Checks a form's posted CSRF token against its session's (a participant's or the
/// instructor's): a form that is out of date or came from another site changes nothing.
pub fn check_csrf(posted: &str, expected: &str) -> Result<(), WebError> {
    if secrets_match(posted, expected) {
        Ok(())
    } else {
        Err(WebError::Forbidden(
            "This form is out of date or came from another site, so nothing was changed. Reload \
             the page and try again."
                .into(),
        ))
    }
}

/// The cookie's value: `<participant id>.<csrf token>.<issued at, unix seconds>`.
fn cookie_value(participant: &str, csrf: &str, issued: i64) -> String {
    format!("{participant}.{csrf}.{issued}")
}

/// A new session cookie for a participant.
pub fn new_cookie(participant: &str) -> Cookie<'static> {
    let csrf = uuid::Uuid::new_v4().simple().to_string();
    let issued = chrono::Utc::now().timestamp();
    Cookie::build((COOKIE, cookie_value(participant, &csrf, issued)))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(time_seconds(SESSION_SECONDS))
        .build()
}

fn time_seconds(seconds: i64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(seconds)
}

/// What was wrong with the session cookie.
#[derive(Debug)]
pub enum SessionProblem {
    /// There is none (or its signature does not verify, which is the same to us).
    Missing,
    /// It is older than [`SESSION_SECONDS`].
    Expired,
    /// It names a participant who no longer exists.
    Unknown,
    /// The participant store could not be read: not the participant's fault, so not a reason
    /// to send them back to the join page.
    Unavailable(OpError),
}

/// Reads and checks the session cookie.
pub fn read_session(state: &AppState, jar: &SignedCookieJar) -> Result<Session, SessionProblem> {
    let cookie = jar.get(COOKIE).ok_or(SessionProblem::Missing)?;
    let mut parts = cookie.value().splitn(3, '.');
    let (Some(id), Some(csrf), Some(issued)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SessionProblem::Missing);
    };
    let issued: i64 = issued.parse().map_err(|_| SessionProblem::Missing)?;
    if chrono::Utc::now().timestamp() - issued > SESSION_SECONDS {
        return Err(SessionProblem::Expired);
    }
    match state.participants.get(id) {
        Ok(participant) => Ok(Session {
            participant,
            csrf: csrf.to_owned(),
        }),
        Err(ParticipantError::NotFound(_)) => Err(SessionProblem::Unknown),
        Err(error) => Err(SessionProblem::Unavailable(error.into())),
    }
}

/// Rejection for pages that need a session: back to the join page, saying why.
#[derive(Debug)]
pub struct NoSession(SessionProblem);

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        let reason = match self.0 {
            SessionProblem::Missing => "join",
            SessionProblem::Expired => "expired",
            SessionProblem::Unknown => "unknown",
            SessionProblem::Unavailable(error) => return WebError::Op(error).into_response(),
        };
        Redirect::to(&format!("/?reason={reason}")).into_response()
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = NoSession;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = SignedCookieJar::<axum_extra::extract::cookie::Key>::from_headers(
            &parts.headers,
            state.cookie_key.clone(),
        );
        read_session(state, &jar).map_err(NoSession)
    }
}

/// Refuses state-changing requests that a browser says come from another site, or whose
/// `Origin` is not this server's ([`crate::protection::Edge::is_cross_site`]): with SameSite
/// cookies and per-session CSRF tokens, a third layer against cross-site request forgery, which
/// also covers the join form (no session yet).
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && state.edge.is_cross_site(request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "Cross-site request refused: submit the form from the chaoslab page itself.",
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_and_same_site() {
        let cookie = new_cookie("p-1");
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert!(cookie.value().starts_with("p-1."));
    }
}
