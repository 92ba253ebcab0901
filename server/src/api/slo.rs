//! `/participants/{id}/slo`: the stated objective and its live evaluation.

use axum::extract::State;

use super::auth::Reach;
use super::error::{ApiError, Json};
use crate::ops::slo::{self, SloChange, SloView};
use crate::slo::SloObjective;
use crate::state::AppState;

/// The participant's SLO, evaluated now.
#[utoipa::path(get, path = "/participants/{id}/slo", tag = "slo",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, description = "The objective and its evaluation", body = SloView), (status = 401, description = "No or invalid token", body = ApiError), (status = 404, description = "No such participant visible to you", body = ApiError)))]
pub async fn get_slo(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<SloView>, ApiError> {
    Ok(Json(slo::view(&state, &id).await?))
}

/// States the SLO: at most `max_percent` of the objects processed in `window_minutes` may end in
/// the dead-letter queue.
#[utoipa::path(put, path = "/participants/{id}/slo", tag = "slo", request_body = SloObjective,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The objective, stated, and its evaluation", body = SloView),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown field, a wrong type, or a value out of range", body = ApiError),
    ))]
pub async fn put_slo(
    State(state): State<AppState>,
    Reach { caller, id }: Reach,
    Json(objective): Json<SloObjective>,
) -> Result<Json<SloView>, ApiError> {
    Ok(Json(
        slo::state(&state, &id, objective, caller.actor()).await?,
    ))
}

/// Changes the SLO: a field left out keeps its current value (the stated one, else the default).
#[utoipa::path(patch, path = "/participants/{id}/slo", tag = "slo", request_body = SloChange,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The objective, changed, and its evaluation", body = SloView),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown field, a wrong type, or a value out of range", body = ApiError),
    ))]
pub async fn patch_slo(
    State(state): State<AppState>,
    Reach { caller, id }: Reach,
    Json(change): Json<SloChange>,
) -> Result<Json<SloView>, ApiError> {
    Ok(Json(
        slo::change(&state, &id, change, caller.actor()).await?,
    ))
}
