//! `/participants/{id}/function/invocations`: the function's test invocation, as the Lambda
//! console's Test button makes it, and the participant's recent ones.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::auth::Reach;
use super::error::{ApiError, Json};
use crate::ops::function::{self, InvocationReport};
use crate::state::AppState;

/// A test invocation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeRequest {
    /// The event the function gets, a JSON object, passed as it is (an event that is not an S3
    /// event fails inside the function, as on Lambda). Left out or null: the prefilled
    /// `ObjectCreated:Put` event for `input/test-invoke.json` in the participant's bucket
    /// (`GET …/function/test-event`), whose object is written first if the bucket lacks it.
    #[serde(default, deserialize_with = "crate::input::object")]
    #[schema(value_type = Option<Object>)]
    pub event: Option<Map<String, Value>>,
}

/// Invokes the function once, synchronously (Lambda's `RequestResponse` with the log's tail), and
/// answers what it returned: the outcome, the result or error, the fault that fired, the duration
/// and the log. The function runs exactly as for S3's events (fault injection, timeout, its
/// writes to the bucket), but a failure is not retried and goes to no dead-letter queue.
///
/// Without `event`, the prefilled event is used, and its sample object `input/test-invoke.json`
/// is written first if missing: an ordinary upload, which S3 also hands to the function
/// asynchronously, once, and which counts as published like any object.
#[utoipa::path(post, path = "/participants/{id}/function/invocations", tag = "pipeline", request_body = InvokeRequest,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The invocation ran (whether the function succeeded, failed or timed out)", body = InvocationReport),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown field, or `event` not a JSON object", body = ApiError),
        (status = 503, description = "The pipeline backend is unavailable", body = ApiError),
    ))]
pub async fn invoke_function(
    State(state): State<AppState>,
    Reach { caller, id }: Reach,
    Json(request): Json<InvokeRequest>,
) -> Result<Json<InvocationReport>, ApiError> {
    Ok(Json(
        function::invoke(&state, &id, request.event, caller.actor()).await?,
    ))
}

/// The participant's last 20 test invocations, newest first (kept in memory since the server
/// started).
#[utoipa::path(get, path = "/participants/{id}/function/invocations", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Recent test invocations, newest first", body = Vec<InvocationReport>),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn list_invocations(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<Vec<InvocationReport>>, ApiError> {
    Ok(Json(function::recent_invocations(&state, &id)?))
}

/// The prefilled test event: the `ObjectCreated:Put` event S3 sends the function for the sample
/// object `input/test-invoke.json` in the participant's bucket.
#[utoipa::path(get, path = "/participants/{id}/function/test-event", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The S3 event", body = Object),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn get_test_event(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(function::sample_event(&state, &id)?))
}
