//! `/participants/{id}/fault-injection`: the function's fault-injection parameter, as
//! failure-lambda 0.x writes it.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Reach;
use super::error::{ApiError, Json};
use crate::ops::faults::{self, FaultView};
use crate::state::AppState;

/// A failure-lambda document (the flat JSON of failure-lambda 0.2.0; `denylist` is 0.3's name for
/// `blacklist`). Every field may be left out: `{"isEnabled": false}` switches every fault off.
/// Refused with 422, naming the field: an unknown field, a mode not listed, a rate outside 0–1,
/// `minLatency` above `maxLatency`, a pattern that is not a regular expression, more than 20
/// patterns, both `blacklist` and `denylist`, or a document over 4 KB.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // Documents the body; the handler reads it as JSON and checks it strictly.
pub struct FaultDocumentBody {
    /// Whether a fault is injected (default false).
    is_enabled: Option<bool>,
    /// What the fault does (default `latency`).
    #[schema(value_type = Option<String>, pattern = "^(latency|exception|statuscode|diskspace|blacklist|denylist)$")]
    failure_mode: Option<String>,
    /// The share of invocations a fault is drawn for, once per invocation (default 1).
    #[schema(minimum = 0, maximum = 1)]
    rate: Option<f64>,
    /// Shortest latency, in ms (`latency` mode).
    #[schema(minimum = 0, maximum = 900000)]
    min_latency: Option<u64>,
    /// Longest latency, in ms, at least `minLatency` (`latency` mode).
    #[schema(minimum = 0, maximum = 900000)]
    max_latency: Option<u64>,
    /// The exception's message (`exception` mode); the whole document fits in 4 KB.
    exception_msg: Option<String>,
    /// The status code answered instead of running the handler (`statuscode` mode).
    #[schema(minimum = 100, maximum = 599)]
    status_code: Option<u16>,
    /// Megabytes written to `/tmp` (`diskspace` mode).
    #[schema(minimum = 0, maximum = 10240)]
    disk_space: Option<u64>,
    /// Regular expressions; the function's calls to a matching host fail (`blacklist` mode).
    #[schema(max_items = 20)]
    blacklist: Option<Vec<String>>,
    /// The same as `blacklist`, by its later name; give one or the other.
    #[schema(max_items = 20)]
    denylist: Option<Vec<String>>,
}

/// The function's fault-injection parameter and how the function reads it.
#[utoipa::path(get, path = "/participants/{id}/fault-injection", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The document, and whether and how the function follows it", body = FaultView),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn get_fault_injection(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<FaultView>, ApiError> {
    Ok(Json(faults::view(&state, &id).await?))
}

/// Writes the fault-injection parameter, as `aws ssm put-parameter` would, after checking the
/// document. The function follows it once its cached copy expires (`FAILURE_CACHE_TTL`, 5 s).
#[utoipa::path(put, path = "/participants/{id}/fault-injection", tag = "pipeline", request_body = FaultDocumentBody,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The document written, and how the function reads it", body = FaultView),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "A field the function would not accept, named", body = ApiError),
    ))]
pub async fn put_fault_injection(
    State(state): State<AppState>,
    Reach { caller, id }: Reach,
    Json(document): Json<serde_json::Value>,
) -> Result<Json<FaultView>, ApiError> {
    Ok(Json(
        faults::put(&state, &id, &document.to_string(), caller.actor()).await?,
    ))
}
