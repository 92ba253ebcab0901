//! `/participants/{id}/dead-letters`: the function's dead-letter queue, listed without consuming
//! it, and redriven.

use axum::extract::State;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Reach;
use super::error::{ApiError, Json, Query};
use crate::ops::dead_letters::{self, DeadLetterList, Redrive};
use crate::state::AppState;

/// How many messages to list, and which.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterRange {
    /// At most this many messages, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Only the messages whose `ErrorMessage` contains this text, in any case (at most 200
    /// characters; blank: all).
    #[param(max_length = 200)]
    pub error_contains: Option<String>,
}

/// The messages of the dead-letter queue, newest first, with the attributes Lambda sent them with
/// (`RequestID`, `ErrorCode`, `ErrorMessage`) and the object keys their S3 event names, read
/// without consuming them. On the embedded backend the listing is exact and changes nothing; on
/// AWS it is a sample (SQS `ReceiveMessage` with `VisibilityTimeout=0`) that may repeat or miss a
/// message under load, and `total` is SQS's approximate count. With `error_contains`, only the
/// messages whose error contains it, and `matching` counts them (on AWS, among up to 300 sampled).
#[utoipa::path(get, path = "/participants/{id}/dead-letters", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id"), DeadLetterRange), security(("bearer" = [])),
    responses(
        (status = 200, description = "The messages and how many the queue holds", body = DeadLetterList),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown parameter, `limit` not a whole number from 1 to 100, or `error_contains` longer than 200 characters", body = ApiError),
        (status = 503, description = "The pipeline backend is unavailable", body = ApiError),
    ))]
pub async fn list_dead_letters(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    Query(range): Query<DeadLetterRange>,
) -> Result<Json<DeadLetterList>, ApiError> {
    Ok(Json(
        dead_letters::list(&state, &id, range.limit, range.error_contains.as_deref()).await?,
    ))
}

/// A redrive.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedriveRequest {
    /// At most this many messages, 1–1000 (default: all, up to 1000).
    #[schema(minimum = 1, maximum = 1000)]
    pub max: Option<i64>,
}

/// Hands the dead-letter queue's messages back to the function, oldest first: each message's
/// event is invoked asynchronously again, with fresh attempts (a malformed object comes back to
/// the queue after its retries), and the message leaves the queue. On the embedded backend each
/// message moves in one saved change; on AWS a message is deleted only after Lambda accepted the
/// invocation, so it moves at least once.
#[utoipa::path(post, path = "/participants/{id}/dead-letters/redrive", tag = "pipeline", request_body = RedriveRequest,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "How many messages moved and how many remain", body = Redrive),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown field, or `max` not a whole number from 1 to 1000", body = ApiError),
        (status = 503, description = "The pipeline backend is unavailable", body = ApiError),
    ))]
pub async fn redrive_dead_letters(
    State(state): State<AppState>,
    Reach { caller, id }: Reach,
    Json(request): Json<RedriveRequest>,
) -> Result<Json<Redrive>, ApiError> {
    Ok(Json(
        dead_letters::redrive(&state, &id, request.max, caller.actor()).await?,
    ))
}
