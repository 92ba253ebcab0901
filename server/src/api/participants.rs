//! `/participants`: joining through the API, listing (instructor), reading and removing.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Instructor, Reach};
use super::error::{ApiError, Json, Path, Query};
use crate::backend::StackNames;
use crate::metrics::{EpochMillis, rfc3339};
use crate::ops::bulk::{self, BulkAction, BulkOutcome, Targets};
use crate::ops::traffic::TrafficChange;
use crate::ops::{Actor, participants};
use crate::participants::Participant;
use crate::state::AppState;

/// Body of `POST /participants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewParticipant {
    /// Display name: 1 to 40 characters, not only spaces, without control characters.
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
}

/// A participant just created: the only response that carries their token.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedParticipant {
    /// Id, used in every other path.
    pub id: String,
    /// Display name.
    pub name: String,
    /// API token for this participant's own resources: `Authorization: Bearer <token>`.
    pub token: String,
    /// The participant's pipeline stack.
    pub stack: StackNames,
}

/// A participant as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantView {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// When they joined, wall-clock time (the server's clock, not the pipeline's).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created: EpochMillis,
    /// When they last did something, wall-clock time.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: EpochMillis,
    /// The step they last opened.
    pub current_step: Option<String>,
    /// Ids of the steps done.
    pub steps_done: Vec<String>,
    /// Their stack, if it exists.
    pub stack: Option<StackNames>,
}

impl ParticipantView {
    pub(super) fn new(participant: &Participant, stack: Option<StackNames>) -> Self {
        Self {
            id: participant.id.clone(),
            name: participant.name.clone(),
            created: participant.created_ms,
            last_seen: participant.last_seen_ms,
            current_step: participant.progress.current_step.clone(),
            steps_done: participant.progress.completed.keys().cloned().collect(),
            stack,
        }
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantPage {
    /// The items.
    pub items: Vec<ParticipantView>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next: Option<String>,
}

/// Paging of lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// Items per page, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// Creates a participant and their pipeline stack, as the join page does.
#[utoipa::path(post, path = "/participants", tag = "participants", request_body = NewParticipant,
    responses(
        (status = 201, description = "Created", body = CreatedParticipant),
        (status = 422, description = "An unknown field, or a name that is empty, over 40 characters or has control characters", body = ApiError),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
    ))]
pub async fn create_participant(
    State(state): State<AppState>,
    Json(body): Json<NewParticipant>,
) -> Result<(StatusCode, Json<CreatedParticipant>), ApiError> {
    let participants::Joined { participant, stack } =
        participants::join(&state, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedParticipant {
            id: participant.id,
            name: participant.name,
            token: participant.token,
            stack,
        }),
    ))
}

/// Lists every participant, oldest first (instructor only).
#[utoipa::path(get, path = "/participants", tag = "participants", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of participants", body = ParticipantPage),
        (status = 422, description = "An unknown parameter, or `limit` not a whole number from 1 to 500", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Not the instructor (decided before the request is read)", body = ApiError),
    ))]
pub async fn list_participants(
    State(state): State<AppState>,
    _: Instructor,
    Query(paging): Query<Paging>,
) -> Result<Json<ParticipantPage>, ApiError> {
    let limit = paging.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_limit",
            format!("limit must be between 1 and 500, got {limit}"),
        ));
    }
    let all = state.participants.list()?;
    let start = match &paging.after {
        Some(after) => all
            .iter()
            .position(|participant| &participant.id == after)
            .map_or(all.len(), |index| index + 1),
        None => 0,
    };
    let items: Vec<ParticipantView> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|participant| {
            ParticipantView::new(participant, state.backend.stack_names(&participant.id))
        })
        .collect();
    let next = (start + items.len() < all.len())
        .then(|| items.last().map(|item| item.id.clone()))
        .flatten();
    Ok(Json(ParticipantPage { items, next }))
}

/// One participant (themself or the instructor).
#[utoipa::path(get, path = "/participants/{id}", tag = "participants",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The participant", body = ParticipantView),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn get_participant(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<ParticipantView>, ApiError> {
    let participant = state.participants.get(&id)?;
    Ok(Json(ParticipantView::new(
        &participant,
        state.backend.stack_names(&id),
    )))
}

/// Removes a participant, their traffic and their stack (instructor only).
#[utoipa::path(delete, path = "/participants/{id}", tag = "participants",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Not the instructor (decided before the request is read)", body = ApiError),
        (status = 404, description = "No such participant", body = ApiError),
    ))]
pub async fn delete_participant(
    State(state): State<AppState>,
    _: Instructor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    participants::remove(&state, &id, Actor::Instructor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The participant leaves the lab, as the pages' Leave does: their traffic stops and the leave
/// is recorded; their stack, progress and token are kept, so they can come back.
#[utoipa::path(post, path = "/participants/{id}/leave", tag = "participants",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Left; traffic stopped"),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn leave_lab(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<StatusCode, ApiError> {
    participants::leave(&state, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets a participant's pipeline (instructor only): their traffic stops, objects, messages,
/// metrics and accounting start from zero, the function's settings return to their defaults, and
/// the steps whose checks read the traffic are no longer done. They keep their name, their other
/// steps and their SLO.
#[utoipa::path(post, path = "/participants/{id}/reset", tag = "participants",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Reset"),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Not the instructor (decided before the request is read)", body = ApiError),
        (status = 404, description = "No such participant", body = ApiError),
        (status = 503, description = "The pipeline backend is unavailable", body = ApiError),
    ))]
pub async fn reset_participant(
    State(state): State<AppState>,
    _: Instructor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    participants::reset(&state, &id, Actor::Instructor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What `POST /participants/actions` does to each participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkActionName {
    /// Stop the traffic of those whose traffic runs.
    StopTraffic,
    /// Start or change traffic with `traffic` over each participant's own settings.
    StartTraffic,
    /// Reset each stack.
    Reset,
    /// Remove each participant and their stack.
    Remove,
    /// Switch every fault off (`{"isEnabled": false}`), for those who have one on.
    DisableFaults,
}

/// Body of `POST /participants/actions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// The participants' ids; left out, the action is for everyone.
    #[serde(default)]
    #[schema(max_items = 10000)]
    pub ids: Option<Vec<String>>,
    /// What to do to each.
    pub action: BulkActionName,
    /// For `start_traffic`: the change, a field left out keeping each participant's value.
    #[serde(default, deserialize_with = "crate::input::object")]
    pub traffic: Option<TrafficChange>,
}

/// Applies one action to a selection of participants or to everyone (instructor only), as the
/// overview's buttons do: `stop_traffic`, `start_traffic` (with a `traffic` change applied over
/// each participant's own settings; nobody starts if anyone's result is refused), `reset` or
/// `remove`.
#[utoipa::path(post, path = "/participants/actions", tag = "participants", request_body = BulkRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many participants were changed, skipped or failed", body = BulkOutcome),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Not the instructor (decided before the request is read)", body = ApiError),
        (status = 422, description = "An unknown field, a wrong type, or traffic settings outside the server's caps", body = ApiError),
    ))]
pub async fn act_on_participants(
    State(state): State<AppState>,
    _: Instructor,
    Json(request): Json<BulkRequest>,
) -> Result<Json<BulkOutcome>, ApiError> {
    // A stated change is checked whatever the action, so a bad one is never silently ignored.
    if let Some(change) = &request.traffic {
        change.validate(&state.traffic.limits())?;
    }
    let targets = match request.ids {
        Some(ids) => Targets::Selected(ids),
        None => Targets::Everyone,
    };
    let action = match request.action {
        BulkActionName::StopTraffic => BulkAction::StopTraffic,
        BulkActionName::StartTraffic => BulkAction::StartTraffic {
            traffic: request.traffic.unwrap_or_default(),
        },
        BulkActionName::Reset => BulkAction::Reset,
        BulkActionName::Remove => BulkAction::Remove,
        BulkActionName::DisableFaults => BulkAction::DisableFaults,
    };
    Ok(Json(bulk::apply(&state, &targets, action).await?))
}
