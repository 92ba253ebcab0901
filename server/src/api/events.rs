//! `/events`: the event log (instructor only), paged, as JSON or CSV.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Instructor;
use super::error::{ApiError, Json, Query};
use crate::ops::events::{self, EventPage};
use crate::state::AppState;

/// Paging and format of the event log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Events after this `seq` (default 0: from the start).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Events per page, 1–1000 (default 200).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Only this participant's events.
    pub participant: Option<String>,
    /// `json` (default) or `csv` (the whole log, for a spreadsheet).
    #[param(inline)]
    pub format: Option<EventFormat>,
}

/// How the event log is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventFormat {
    /// A page of events as JSON.
    Json,
    /// The whole log as CSV (`text/csv`).
    Csv,
}

/// The event log: joins, steps done, traffic changes and instructor actions.
#[utoipa::path(get, path = "/events", tag = "events", params(EventQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of events (JSON), or the whole log as CSV with `format=csv`",
            content((EventPage = "application/json"), (String = "text/csv"))),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Not the instructor (decided before the parameters are read)", body = ApiError),
        (status = 422, description = "An unknown parameter, `limit` outside 1–1000, `after` below 0, or a `format` other than json or csv", body = ApiError),
    ))]
pub async fn list_events(
    State(state): State<AppState>,
    _: Instructor,
    Query(query): Query<EventQuery>,
) -> Result<Response, ApiError> {
    if query.after.is_some_and(|after| after < 0) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            "after must be a `seq` of 0 or more",
        ));
    }
    match query.format.unwrap_or(EventFormat::Json) {
        EventFormat::Csv => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"chaoslab-events.csv\"",
                ),
            ],
            events::csv(&state)?,
        )
            .into_response()),
        EventFormat::Json => Ok(Json(events::page(
            &state,
            query.after.unwrap_or(0),
            query.limit.unwrap_or(200),
            query.participant.as_deref(),
        )?)
        .into_response()),
    }
}
