//! `/participants/{id}/traffic`: the publisher and the subscriber.

use axum::extract::State;

use super::auth::Caller;
use super::error::{ApiError, Json, Path};
use crate::events::EventKind;
use crate::traffic::{TrafficLimits, TrafficSettings, TrafficStatus};
use crate::web::AppState;

/// The participant's traffic: each generator's settings, state and counters.
#[utoipa::path(get, path = "/participants/{id}/traffic", tag = "traffic",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, body = TrafficStatus), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get_traffic(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TrafficStatus>, ApiError> {
    caller.participant(&state, &id)?;
    Ok(Json(state.traffic.status(&id)))
}

/// Starts traffic, or changes its settings; a part left out keeps running as it is.
#[utoipa::path(put, path = "/participants/{id}/traffic", tag = "traffic", request_body = TrafficSettings,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, body = TrafficStatus),
        (status = 400, description = "Malformed body", body = ApiError),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
        (status = 422, description = "A rate or duration outside the server's caps", body = ApiError),
    ))]
pub async fn put_traffic(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(settings): Json<TrafficSettings>,
) -> Result<Json<TrafficStatus>, ApiError> {
    let participant = caller.participant(&state, &id)?;
    let status = state.traffic.start(&id, settings).map_err(|error| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_traffic_settings",
            error.to_string(),
        )
    })?;
    let merged = TrafficSettings {
        publisher: settings
            .publisher
            .or(participant.traffic.and_then(|saved| saved.publisher)),
        subscriber: settings
            .subscriber
            .or(participant.traffic.and_then(|saved| saved.subscriber)),
    };
    state
        .participants
        .update(&id, |participant| participant.traffic = Some(merged))?;
    state.events.record(
        EventKind::TrafficStarted,
        Some(&id),
        describe(&merged, &state.traffic.limits()),
    );
    Ok(Json(status))
}

/// Stops the publisher and the subscriber.
#[utoipa::path(delete, path = "/participants/{id}/traffic", tag = "traffic",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, body = TrafficStatus), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn delete_traffic(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TrafficStatus>, ApiError> {
    caller.participant(&state, &id)?;
    let status = state.traffic.stop(&id).await;
    state
        .events
        .record(EventKind::TrafficStopped, Some(&id), "");
    Ok(Json(status))
}

/// `publisher 2/s, 1% malformed, stop after 3600 s; subscriber 2/s`, with the server's default
/// stop where the settings leave it out.
pub fn describe(settings: &TrafficSettings, limits: &TrafficLimits) -> String {
    let publisher = settings.publisher.map(|publisher| {
        format!(
            "publisher {}/s, {}% malformed, stop after {} s",
            publisher.rate,
            publisher.error_rate * 100.0,
            publisher.stop_after_s(limits)
        )
    });
    let subscriber = settings
        .subscriber
        .map(|subscriber| format!("subscriber {}/s", subscriber.rate));
    [publisher, subscriber]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
}
