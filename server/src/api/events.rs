//! `/events`: the event log (instructor only), paged, as JSON or CSV.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::{ApiError, Json, Query};
use crate::events::Event;
use crate::web::AppState;

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

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Oldest first.
    pub items: Vec<Event>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<i64>,
}

/// The event log: joins, steps done, traffic changes and instructor actions.
#[utoipa::path(get, path = "/events", tag = "events", params(EventQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of events (JSON), or the whole log with format=csv", body = EventPage),
        (status = 400, body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
    ))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<EventQuery>,
) -> Result<Response, ApiError> {
    caller.instructor()?;
    let internal = |error: crate::events::EventLogError| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            error.to_string(),
        )
    };
    match query.format.as_deref() {
        Some("csv") => {
            let csv = state.events.to_csv().map_err(internal)?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"chaoslab-events.csv\"",
                    ),
                ],
                csv,
            )
                .into_response())
        }
        None | Some("json") => {
            let limit = query.limit.unwrap_or(200);
            if !(1..=1000).contains(&limit) {
                return Err(ApiError::invalid(format!(
                    "limit must be between 1 and 1000, got {limit}"
                )));
            }
            let items = state
                .events
                .list(
                    query.after.unwrap_or(0),
                    limit + 1,
                    query.participant.as_deref(),
                )
                .map_err(internal)?;
            let more = items.len() > limit;
            let items: Vec<Event> = items.into_iter().take(limit).collect();
            let next = if more {
                items.last().map(|event| event.seq)
            } else {
                None
            };
            Ok(Json(EventPage { items, next }).into_response())
        }
        Some(other) => Err(ApiError::invalid(format!(
            "format must be json or csv, got {other:?}"
        ))),
    }
}
