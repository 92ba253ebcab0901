//! `/participants/{id}/traffic`: the publisher and the subscriber.

use axum::extract::State;

use super::auth::Reach;
use super::error::{ApiError, Json};
use crate::ops::traffic::{self, TrafficChange};
use crate::state::AppState;
use crate::traffic::TrafficStatus;

/// The participant's traffic: each generator's settings, state and counters.
#[utoipa::path(get, path = "/participants/{id}/traffic", tag = "traffic",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, description = "The generators", body = TrafficStatus), (status = 401, description = "No or invalid token", body = ApiError), (status = 404, description = "No such participant visible to you", body = ApiError)))]
pub async fn get_traffic(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<TrafficStatus>, ApiError> {
    state.participants.get(&id)?;
    Ok(Json(state.traffic.status(&id)))
}

/// Starts traffic, or changes its settings. A generator left out is left as it is; a field left
/// out keeps its current value (the running one, else the saved one, else the lab's default).
#[utoipa::path(put, path = "/participants/{id}/traffic", tag = "traffic", request_body = TrafficChange,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The generators, started or changed", body = TrafficStatus),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown field, a wrong type, or a rate or duration outside the server's caps", body = ApiError),
    ))]
pub async fn put_traffic(
    State(state): State<AppState>,
    Reach { caller, id }: Reach,
    Json(change): Json<TrafficChange>,
) -> Result<Json<TrafficStatus>, ApiError> {
    Ok(Json(traffic::start(&state, &id, &change, caller.actor())?))
}

/// Changes traffic by the same rule as `PUT`: a generator left out is left as it is, a field
/// left out keeps its current value, and a running publisher's automatic stop stays where it was
/// unless the change states `stop_after_s`.
#[utoipa::path(patch, path = "/participants/{id}/traffic", tag = "traffic", request_body = TrafficChange,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The generators, changed (a stopped one started)", body = TrafficStatus),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown field, a wrong type, or a rate or duration outside the server's caps", body = ApiError),
    ))]
pub async fn patch_traffic(
    state: State<AppState>,
    reach: Reach,
    change: Json<TrafficChange>,
) -> Result<Json<TrafficStatus>, ApiError> {
    put_traffic(state, reach, change).await
}

/// Stops the publisher and the subscriber.
#[utoipa::path(delete, path = "/participants/{id}/traffic", tag = "traffic",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, description = "The generators, stopped", body = TrafficStatus), (status = 401, description = "No or invalid token", body = ApiError), (status = 404, description = "No such participant visible to you", body = ApiError)))]
pub async fn delete_traffic(
    State(state): State<AppState>,
    Reach { caller, id }: Reach,
) -> Result<Json<TrafficStatus>, ApiError> {
    let (status, _) = traffic::stop(&state, &id, caller.actor()).await?;
    Ok(Json(status))
}
