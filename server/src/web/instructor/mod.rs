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
pub mod game_day;
pub mod overview;
pub mod participant;
pub mod row;
pub mod session;
pub mod view;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::backend::BackendError;
use crate::events::EventLogError;
use crate::ops::OpError;
use crate::participants::ParticipantError;
use crate::state::AppState;
use crate::web::error::{Audience, WebError};

/// The instructor's routes, to merge into [`crate::web::routes`].
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
        .route(
            "/instructor/game-day",
            get(game_day::show_game_day).post(game_day::start_game_day),
        )
        .route("/instructor/game-day/halt", post(game_day::halt_all))
        .route(
            "/instructor/game-day/journals.json",
            get(game_day::journals),
        )
        .route("/instructor/events", get(events::show_events))
        .route("/instructor/events.csv", get(events::export_csv))
        .route("/instructor/events.json", get(events::export_json))
}

/// What went wrong on an instructor page: a [`WebError`], rendered as a page that links back to
/// the overview.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InstructorError(#[from] pub WebError);

impl InstructorError {
    /// A refused input; the message says how to correct it.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self(WebError::Invalid(message.into()))
    }

    /// No such participant or page.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self(WebError::NotFound(message.into()))
    }

    /// A form that is out of date or came from another site.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self(WebError::Forbidden(message.into()))
    }

    /// Something on our side failed; the cause is logged, never shown.
    pub fn internal(cause: impl Into<String>) -> Self {
        Self(WebError::Op(OpError::Internal(cause.into())))
    }
}

impl From<OpError> for InstructorError {
    fn from(error: OpError) -> Self {
        Self(WebError::Op(error))
    }
}

impl From<ParticipantError> for InstructorError {
    fn from(error: ParticipantError) -> Self {
        Self(error.into())
    }
}

impl From<BackendError> for InstructorError {
    fn from(error: BackendError) -> Self {
        Self(error.into())
    }
}

impl From<EventLogError> for InstructorError {
    fn from(error: EventLogError) -> Self {
        Self(error.into())
    }
}

impl From<askama::Error> for InstructorError {
    fn from(error: askama::Error) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for InstructorError {
    fn into_response(self) -> Response {
        self.0.render(Audience::Instructor)
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
