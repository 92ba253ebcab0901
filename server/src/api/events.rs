//! `/events`: the event log (instructor only), paged, as JSON or CSV.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::error::{ApiError, Json, Query};
use crate::ops::events::{self, EventPage};
use crate::state::AppState;

/// Paging and format of the event log.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventQuery {
    /// Events after this `seq` (default 0: from the start).
    pub after: Option<i64>,
    /// Events per page, 1–1000 (default 200).
    pub limit: Option<usize>,
    /// Only this participant's events.
    pub participant: Option<String>,
    /// `json` (default) or `csv` (the whole log, for a spreadsheet).
    pub format: Option<String>,
}

/// The event log: joins, steps done, traffic changes and instructor actions.
#[utoipa::path(get, path = "/events", tag = "events", params(EventQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of events (JSON), or the whole log with format=csv", body = EventPage),
        (status = 400, description = "A query parameter that is not a number", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Not the instructor", body = ApiError),
        (status = 422, description = "`limit` outside 1–1000, or a `format` other than json or csv", body = ApiError),
    ))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<EventQuery>,
) -> Result<Response, ApiError> {
    caller.instructor()?;
    match query.format.as_deref() {
        Some("csv") => Ok((
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
        None | Some("json") => Ok(Json(events::page(
            &state,
            query.after.unwrap_or(0),
            query.limit.unwrap_or(200),
            query.participant.as_deref(),
        )?)
        .into_response()),
        Some(other) => Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_format",
            format!("format must be json or csv, got {other:?}"),
        )),
    }
}
