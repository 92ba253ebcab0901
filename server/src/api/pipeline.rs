//! `/participants/{id}/function`, `/metrics/query`, `/dashboard` and `/accounting`.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Reach;
use super::error::{ApiError, Json, Query};
use crate::backend::{Accounting, FunctionChange, FunctionConfiguration};
use crate::dashboard::DashboardData;
use crate::metrics::{GetMetricDataResponse, time_spec::GetMetricDataInput};
use crate::ops::{dashboard, function};
use crate::state::AppState;

/// The ETL function's configuration: runtime, memory, timeout, asynchronous invocation settings
/// and dead-letter target.
#[utoipa::path(get, path = "/participants/{id}/function", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The function's configuration", body = FunctionConfiguration),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn get_function(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<FunctionConfiguration>, ApiError> {
    Ok(Json(state.backend.function_configuration(&id).await?))
}

/// Changes the function's settings within Lambda's limits; a field left out keeps its value.
#[utoipa::path(put, path = "/participants/{id}/function", tag = "pipeline", request_body = FunctionChange,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The function's configuration after the change", body = FunctionConfiguration),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown field, a wrong type, or a value outside Lambda's limits (named)", body = ApiError),
    ))]
pub async fn put_function(
    State(state): State<AppState>,
    Reach { caller, id }: Reach,
    Json(change): Json<FunctionChange>,
) -> Result<Json<FunctionConfiguration>, ApiError> {
    Ok(Json(
        function::update(&state, &id, &change, caller.actor()).await?,
    ))
}

/// Runs a GetMetricData request against the participant's metrics: up to 500 `MetricStat`
/// queries and metric-math `Expression`s, `ReturnData`, newest first by default, at most
/// `MaxDatapoints` datapoints with a `NextToken` for the rest. `StartTime` and `EndTime` may be
/// relative to the pipeline's now (`-PT3H`, `now`). The body may be up to 1 MiB.
#[utoipa::path(post, path = "/participants/{id}/metrics/query", tag = "pipeline", request_body = GetMetricDataInput,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per query with `ReturnData` true, in request order", body = GetMetricDataResponse),
        (status = 400, description = "The body is not a JSON object", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown field, a wrong type, or an invalid query (named)", body = ApiError),
    ))]
pub async fn query_metrics(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    Json(input): Json<GetMetricDataInput>,
) -> Result<Json<GetMetricDataResponse>, ApiError> {
    // Relative times count from the pipeline's clock, which may run faster than the wall's.
    let request = input.resolve(state.backend.clock().now());
    Ok(Json(state.backend.get_metric_data(&id, request).await?))
}

/// The dashboard's time range.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DashboardRange {
    /// Minutes of pipeline time back from now, 5–1440 (default 60).
    #[param(minimum = 5, maximum = 1440)]
    pub minutes: Option<i64>,
}

/// Every widget of the shared dashboard, with its series over the range: the numbers the
/// dashboard page draws.
#[utoipa::path(get, path = "/participants/{id}/dashboard", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id"), DashboardRange), security(("bearer" = [])),
    responses(
        (status = 200, description = "Every widget's data", body = DashboardData),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "An unknown parameter, or `minutes` not a whole number from 5 to 1440", body = ApiError),
    ))]
pub async fn get_dashboard(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    Query(range): Query<DashboardRange>,
) -> Result<Json<DashboardData>, ApiError> {
    Ok(Json(
        dashboard::data(&state, &id, range.minutes.unwrap_or(60)).await?,
    ))
}

/// Where every published object is: `published = converted + dead_lettered + in_flight`.
#[utoipa::path(get, path = "/participants/{id}/accounting", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Where every published object is", body = Accounting),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn get_accounting(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<Accounting>, ApiError> {
    Ok(Json(state.backend.accounting(&id).await?))
}
