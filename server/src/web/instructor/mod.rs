//! The instructor's side of the lab: a token login, the live overview of every participant with
//! actions on one, a selection or all of them, each participant's detail, and the event log with
//! its downloads.
//!
//! - [`session`]: the instructor's signed cookie, its CSRF token, logging in and out;
//! - [`overview`]: the participant table, polled by htmx, with its counts;
//!   - [`row`]: one participant's measurements;
//!   - [`view`]: how the table is sorted and filtered;
//! - [`actions`]: stopping, starting, resetting and removing participants' pipelines;
//! - [`participant`]: one participant's stack, traffic, SLO, dashboard and history;
//! - [`events`]: the event log, paged, and its CSV and JSON downloads.
//!
//! Every page here works without JavaScript. The participant's session never opens these pages,
//! and the instructor's session never opens a participant's.

pub mod actions;
pub mod events;
pub mod overview;
pub mod participant;
pub mod row;
pub mod session;
pub mod view;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::AppState;
use super::error::WebError;
use crate::api::error::ApiError;
use crate::backend::BackendError;
use crate::events::EventLogError;
use crate::participants::ParticipantError;

/// The instructor's routes, to merge into [`super::app`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/instructor/login",
            get(session::show_login).post(session::log_in),
        )
        .route("/instructor/logout", post(session::log_out))
        .route("/instructor", get(overview::show_overview))
        .route("/instructor/table", get(overview::table_partial))
        .route("/instructor/actions", post(actions::apply_action))
        .route(
            "/instructor/participants/{id}",
            get(participant::show_participant),
        )
        .route("/instructor/events", get(events::show_events))
        .route("/instructor/events.csv", get(events::export_csv))
        .route("/instructor/events.json", get(events::export_json))
}

/// What went wrong on an instructor page, rendered as a page that links back to the overview.
#[derive(Debug, thiserror::Error)]
pub enum InstructorError {
    /// No such participant or page.
    #[error("{0}")]
    NotFound(String),
    /// The input is invalid; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// The form's CSRF token is missing or wrong.
    #[error("{0}")]
    Forbidden(String),
    /// Something this server depends on cannot serve the request now.
    #[error("{0}")]
    Unavailable(String),
    /// The pipeline backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The participant store failed.
    #[error(transparent)]
    Participants(#[from] ParticipantError),
    /// The event log failed.
    #[error(transparent)]
    Events(#[from] EventLogError),
    /// A template failed to render.
    #[error("a page could not be rendered: {0}")]
    Render(#[from] askama::Error),
    /// Anything else that failed on our side.
    #[error("{0}")]
    Internal(String),
}

impl From<WebError> for InstructorError {
    fn from(error: WebError) -> Self {
        match error {
            WebError::NotFound(message) => Self::NotFound(message),
            WebError::BadRequest(message) => Self::Invalid(message),
            WebError::Forbidden(message) => Self::Forbidden(message),
            WebError::Backend(error) => Self::Backend(error),
            WebError::Participants(error) => Self::Participants(error),
            WebError::Render(error) => Self::Render(error),
        }
    }
}

impl From<ApiError> for InstructorError {
    fn from(error: ApiError) -> Self {
        match error.status {
            StatusCode::NOT_FOUND => Self::NotFound(error.message),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                Self::Invalid(error.message)
            }
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable(error.message),
            _ => Self::Internal(error.message),
        }
    }
}

impl InstructorError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_)
            | Self::Participants(ParticipantError::NotFound(_))
            | Self::Backend(BackendError::UnknownStack(_)) => StatusCode::NOT_FOUND,
            Self::Invalid(_) | Self::Backend(BackendError::InvalidRequest(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unavailable(_) | Self::Backend(BackendError::Unavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Participants(_) | Self::Events(_) | Self::Render(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for InstructorError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (heading, next) = match status {
            StatusCode::NOT_FOUND => (
                "Not found",
                "Go back to the overview: the participant may have been removed.",
            ),
            StatusCode::UNPROCESSABLE_ENTITY => (
                "That did not work",
                "Go back, correct the input and try again.",
            ),
            StatusCode::FORBIDDEN => (
                "Not allowed",
                "Reload the overview and try again: the form was out of date or came from another site.",
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                "The pipeline is unavailable",
                "Wait a moment and try again.",
            ),
            _ => (
                "Something went wrong on our side",
                "Try again; the server log has the details.",
            ),
        };
        crate::web::error::error_page(
            status,
            heading,
            &self,
            next,
            ("/instructor", "Back to the overview"),
        )
    }
}

/// `3 participants`, `1 participant`.
pub fn participants(count: usize) -> String {
    if count == 1 {
        "1 participant".to_owned()
    } else {
        format!("{count} participants")
    }
}

/// How long ago a wall-clock time was, in words: `just now`, `42 s ago`, `3 min ago`, `2 h ago`.
pub fn ago(now_ms: i64, then_ms: i64) -> String {
    let seconds = (now_ms - then_ms).max(0) / 1000;
    match seconds {
        0..10 => "just now".to_owned(),
        10..60 => format!("{seconds} s ago"),
        60..3_600 => format!("{} min ago", seconds / 60),
        3_600..86_400 => format!("{} h {} min ago", seconds / 3_600, seconds % 3_600 / 60),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        let now = 1_000_000_000;
        assert_eq!(ago(now, now - 3_000), "just now");
        assert_eq!(ago(now, now - 42_000), "42 s ago");
        assert_eq!(ago(now, now - 185_000), "3 min ago");
        assert_eq!(ago(now, now - 7_500_000), "2 h 5 min ago");
        assert_eq!(ago(now, now - 3 * 86_400_000), "3 d ago");
        assert_eq!(ago(now, now + 5_000), "just now", "a clock step backwards");
    }
}
