//! `/participants/{id}/function`, `/metrics/query`, `/dashboard` and `/accounting`.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::error::{ApiError, Json, Path, Query};
use crate::backend::{Accounting, FunctionConfiguration};
use crate::dashboard::DashboardData;
use crate::metrics::{GetMetricDataResponse, time_spec::GetMetricDataInput};
use crate::ops::dashboard;
use crate::state::AppState;

/// The ETL function's configuration: runtime, memory, timeout, asynchronous invocation settings
/// and dead-letter target.
#[utoipa::path(get, path = "/participants/{id}/function", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, body = FunctionConfiguration), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get_function(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<FunctionConfiguration>, ApiError> {
    caller.may_access(&id)?;
    Ok(Json(state.backend.function_configuration(&id).await?))
}

/// Runs a GetMetricData request against the participant's metrics: up to 500 `MetricStat`
/// queries and metric-math `Expression`s, `ReturnData`, newest first by default, at most
/// `MaxDatapoints` datapoints with a `NextToken` for the rest. `StartTime` and `EndTime` may be
/// relative to the pipeline's now (`-PT3H`, `now`). The body may be up to 1 MiB.
#[utoipa::path(post, path = "/participants/{id}/metrics/query", tag = "pipeline", request_body = GetMetricDataInput,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, body = GetMetricDataResponse),
        (status = 400, description = "Malformed body", body = ApiError),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
        (status = 422, description = "An invalid query", body = ApiError),
    ))]
pub async fn query_metrics(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(input): Json<GetMetricDataInput>,
) -> Result<Json<GetMetricDataResponse>, ApiError> {
    caller.may_access(&id)?;
    // Relative times count from the pipeline's clock, which may run faster than the wall's.
    let request = input.resolve(state.backend.clock().now());
    Ok(Json(state.backend.get_metric_data(&id, request).await?))
}

/// The dashboard's time range.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DashboardRange {
    /// Minutes back from now, 5–1440 (default 60).
    pub minutes: Option<i64>,
}

/// Every widget of the shared dashboard, with its series over the range: the numbers the
/// dashboard page draws.
#[utoipa::path(get, path = "/participants/{id}/dashboard", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id"), DashboardRange), security(("bearer" = [])),
    responses(
        (status = 200, description = "Every widget's data", body = DashboardData),
        (status = 400, description = "`minutes` is not a whole number", body = ApiError),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "`minutes` outside 5–1440", body = ApiError),
    ))]
pub async fn get_dashboard(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(range): Query<DashboardRange>,
) -> Result<Json<DashboardData>, ApiError> {
    caller.may_access(&id)?;
    Ok(Json(
        dashboard::data(state.backend.as_ref(), &id, range.minutes.unwrap_or(60)).await?,
    ))
}

/// Where every published object is: `published = converted + dead_lettered + in_flight`.
#[utoipa::path(get, path = "/participants/{id}/accounting", tag = "pipeline",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses((status = 200, body = Accounting), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get_accounting(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Accounting>, ApiError> {
    caller.may_access(&id)?;
    Ok(Json(state.backend.accounting(&id).await?))
}
