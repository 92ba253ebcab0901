//! `/participants/{id}/slo`: the stated objective and its live evaluation.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, Json, Path};
use crate::events::EventKind;
use crate::slo::{SloObjective, SloStatus, evaluate};
use crate::web::AppState;

/// The objective (if stated) and how the pipeline measures up to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SloView {
    /// Whether the participant has stated an objective; if not, the lab's default is evaluated.
    pub stated: bool,
    /// The evaluation over the last window.
    pub status: SloStatus,
}

/// The participant's SLO, evaluated now.
#[utoipa::path(get, path = "/participants/{id}/slo", tag = "slo",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, body = SloView), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get_slo(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SloView>, ApiError> {
    let participant = caller.participant(&state, &id)?;
    let objective = participant.slo.unwrap_or_default();
    let status = evaluate(state.backend.as_ref(), &id, &objective).await?;
    Ok(Json(SloView {
        stated: participant.slo.is_some(),
        status,
    }))
}

/// States the SLO: at most `max_percent` of the objects processed in `window_minutes` may end in
/// the dead-letter queue.
#[utoipa::path(put, path = "/participants/{id}/slo", tag = "slo", request_body = SloObjective,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, body = SloView),
        (status = 400, description = "Malformed body", body = ApiError),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
        (status = 422, description = "Out of range", body = ApiError),
    ))]
pub async fn put_slo(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(objective): Json<SloObjective>,
) -> Result<Json<SloView>, ApiError> {
    caller.may_access(&id)?;
    objective.validate().map_err(|error| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_slo",
            error.to_string(),
        )
    })?;
    state
        .participants
        .update(&id, |participant| participant.slo = Some(objective))?;
    state.events.record(
        EventKind::SloSet,
        Some(&id),
        format!(
            "≤ {}% over {} min",
            objective.max_percent, objective.window_minutes
        ),
    );
    let status = evaluate(state.backend.as_ref(), &id, &objective).await?;
    Ok(Json(SloView {
        stated: true,
        status,
    }))
}
