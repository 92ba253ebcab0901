//! `/participants/{id}/steps`: the lab's steps, each with its check run now.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, Json, Path};
use crate::lab::{Action, Check, LAB1};
use crate::metrics::{EpochMillis, rfc3339};
use crate::web::AppState;
use crate::web::lab::run_check;

/// A step and where the participant stands on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepStatus {
    /// Position, from 1.
    pub number: usize,
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The buttons the page offers.
    pub actions: Vec<Action>,
    /// The automatic check.
    pub check: Check,
    /// What "done" means.
    pub check_label: String,
    /// Whether it is done (once done, always done).
    pub done: bool,
    /// When it was done.
    #[serde(with = "rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<EpochMillis>,
    /// What the check measured just now.
    pub detail: String,
    /// What to do while it is not done.
    pub hint: String,
}

/// Every step of lab 1 with its check, run now; passing checks are recorded as done.
#[utoipa::path(get, path = "/participants/{id}/steps", tag = "steps",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, body = Vec<StepStatus>), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn list_steps(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<StepStatus>>, ApiError> {
    caller.may_access(&id)?;
    let mut steps = Vec::new();
    for step in LAB1.iter() {
        let participant = state.participants.get(&id)?;
        let outcome = run_check(&state, &participant, step)
            .await
            .map_err(|error| match error {
                crate::web::error::WebError::Backend(error) => ApiError::from(error),
                crate::web::error::WebError::Participants(error) => ApiError::from(error),
                other => ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    other.to_string(),
                ),
            })?;
        let done_at = state
            .participants
            .get(&id)?
            .progress
            .completed
            .get(&step.id)
            .copied();
        steps.push(StepStatus {
            number: step.number,
            id: step.id.clone(),
            title: step.title.clone(),
            actions: step.actions.clone(),
            check: step.check,
            check_label: step.check_label.clone(),
            done: outcome.passed,
            done_at,
            detail: outcome.detail,
            hint: step.hint.clone(),
        });
    }
    Ok(Json(steps))
}
