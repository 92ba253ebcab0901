//! `/participants/{id}/steps`: the lab's steps, each with its check run now.

use axum::extract::State;

use super::auth::Reach;
use super::error::{ApiError, Json};
use crate::ops::steps::{self, StepStatus};
use crate::state::AppState;

/// Every step of lab 1 with its check, run now; passing checks are recorded as done.
#[utoipa::path(get, path = "/participants/{id}/steps", tag = "steps",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, description = "The steps", body = Vec<StepStatus>), (status = 401, description = "No or invalid token", body = ApiError), (status = 404, description = "No such participant visible to you", body = ApiError)))]
pub async fn list_steps(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<Vec<StepStatus>>, ApiError> {
    Ok(Json(steps::list(&state, &id).await?))
}
