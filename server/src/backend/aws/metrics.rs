//! CloudWatch GetMetricData, in both directions: our [`GetMetricDataRequest`] into the SDK's
//! request, and the SDK's results back into our [`GetMetricDataResponse`]; plus the stack's
//! accounting, derived from the metrics.
//!
//! The mapping keeps GetMetricData's meaning exactly: ids, labels, `ReturnData`, periods,
//! statistics, metric-math expressions and `ScanBy` pass through unchanged, and results keep the
//! order CloudWatch returns them in (newest first unless `ScanBy` says otherwise).

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types as sdk;

use super::errors::{Call, backend_error};
use crate::backend::Accounting;
use crate::backend::{BackendError, StackNames};
use crate::metrics::names::{lambda, sqs};
use crate::metrics::{
    Dimension, EpochMillis, GetMetricDataRequest, GetMetricDataResponse, Metric, MetricDataQuery,
    MetricDataResult, MetricStat, ScanBy, StatusCode,
};

/// The most pages of results one request follows (`NextToken`), as a guard; the dashboard's
/// widgets need one.
pub const MAX_PAGES: usize = 20;

/// The SDK's form of one query.
pub fn to_sdk_query(query: &MetricDataQuery) -> sdk::MetricDataQuery {
    sdk::MetricDataQuery::builder()
        .id(&query.id)
        .set_metric_stat(query.metric_stat.as_ref().map(to_sdk_metric_stat))
        .set_expression(query.expression.clone())
        .set_label(query.label.clone())
        .set_return_data(query.return_data)
        .set_period(query.period.map(period_to_sdk))
        .build()
}

fn to_sdk_metric_stat(stat: &MetricStat) -> sdk::MetricStat {
    sdk::MetricStat::builder()
        .metric(to_sdk_metric(&stat.metric))
        .period(period_to_sdk(stat.period))
        .stat(&stat.stat)
        .build()
}

fn to_sdk_metric(metric: &Metric) -> sdk::Metric {
    sdk::Metric::builder()
        .namespace(&metric.namespace)
        .metric_name(&metric.metric_name)
        .set_dimensions(Some(
            metric
                .dimensions
                .iter()
                .map(|dimension| {
                    sdk::Dimension::builder()
                        .name(&dimension.name)
                        .value(&dimension.value)
                        .build()
                })
                .collect(),
        ))
        .build()
}

fn period_to_sdk(period: u32) -> i32 {
    // CloudWatch keeps data for 455 days at most, so no meaningful period exceeds i32.
    i32::try_from(period).unwrap_or(i32::MAX)
}

/// The SDK's `ScanBy`.
pub fn to_sdk_scan_by(scan_by: ScanBy) -> sdk::ScanBy {
    match scan_by {
        ScanBy::TimestampDescending => sdk::ScanBy::TimestampDescending,
        ScanBy::TimestampAscending => sdk::ScanBy::TimestampAscending,
    }
}

/// One result of the SDK as ours. A `Forbidden` or `InternalError` status is an error naming
/// the query.
pub fn from_sdk_result(
    result: &sdk::MetricDataResult,
    call: &Call<'_>,
) -> Result<MetricDataResult, BackendError> {
    let id = result.id().unwrap_or_default().to_owned();
    let status_code = match result.status_code() {
        None | Some(sdk::StatusCode::Complete) => StatusCode::Complete,
        Some(sdk::StatusCode::Forbidden) => {
            return Err(BackendError::Unavailable(format!(
                "permission denied for cloudwatch:GetMetricData on query {id:?} of {} {}: allow \
                 it for the server's AWS identity",
                call.resource_kind, call.resource_name
            )));
        }
        Some(sdk::StatusCode::InternalError) => {
            let messages: Vec<&str> = result
                .messages()
                .iter()
                .filter_map(sdk::MessageData::value)
                .collect();
            return Err(BackendError::Unavailable(format!(
                "CloudWatch could not compute query {id:?} ({}): try again",
                messages.join("; ")
            )));
        }
        Some(_) => StatusCode::PartialData,
    };
    let timestamps = result
        .timestamps()
        .iter()
        .map(|time| {
            time.to_millis().map_err(|error| {
                BackendError::Unavailable(format!(
                    "CloudWatch returned a timestamp out of range for query {id:?}: {error}"
                ))
            })
        })
        .collect::<Result<Vec<EpochMillis>, _>>()?;
    Ok(MetricDataResult {
        label: result.label().unwrap_or_default().to_owned(),
        timestamps,
        values: result.values().to_vec(),
        status_code,
        id,
    })
}

/// Runs a GetMetricData request.
///
/// A request with `MaxDatapoints` or `NextToken` is one page, as the caller pages: both pass
/// through, and the response's `NextToken` and each result's `PartialData` come back. Without
/// either, the pages are followed (up to [`MAX_PAGES`]) and each query's points joined, in the
/// order CloudWatch returns them.
pub async fn get_metric_data(
    client: &aws_sdk_cloudwatch::Client,
    request: &GetMetricDataRequest,
    call: &Call<'_>,
) -> Result<GetMetricDataResponse, BackendError> {
    let queries: Vec<sdk::MetricDataQuery> = request
        .metric_data_queries
        .iter()
        .map(to_sdk_query)
        .collect();
    let caller_pages = request.max_datapoints.is_some() || request.next_token.is_some();
    let mut results: Vec<MetricDataResult> = Vec::new();
    let mut next_token: Option<String> = request.next_token.clone();
    for _ in 0..MAX_PAGES {
        let output = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(DateTime::from_millis(request.start_time))
            .end_time(DateTime::from_millis(request.end_time))
            .set_scan_by(request.scan_by.map(to_sdk_scan_by))
            .set_max_datapoints(request.max_datapoints.map(max_datapoints_to_sdk))
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|error| backend_error(call, &error))?;
        let token = output
            .next_token()
            .filter(|token| !token.is_empty())
            .map(str::to_owned);
        if caller_pages {
            return Ok(GetMetricDataResponse {
                metric_data_results: output
                    .metric_data_results()
                    .iter()
                    .map(|result| from_sdk_result(result, call))
                    .collect::<Result<_, _>>()?,
                next_token: token,
            });
        }
        for page_result in output.metric_data_results() {
            let page_result = from_sdk_result(page_result, call)?;
            match results.iter_mut().find(|known| known.id == page_result.id) {
                Some(known) => {
                    known.timestamps.extend(page_result.timestamps);
                    known.values.extend(page_result.values);
                    known.status_code = page_result.status_code;
                }
                None => results.push(page_result),
            }
        }
        match token {
            Some(token) => next_token = Some(token),
            None => {
                return Ok(GetMetricDataResponse {
                    metric_data_results: results,
                    next_token: None,
                });
            }
        }
    }
    // Still more pages: say so rather than wait on more.
    for result in &mut results {
        result.status_code = StatusCode::PartialData;
    }
    Ok(GetMetricDataResponse {
        metric_data_results: results,
        next_token,
    })
}

/// `MaxDatapoints` as the SDK types it; ours is at most 100,800, far below `i32::MAX`.
fn max_datapoints_to_sdk(max: u32) -> i32 {
    i32::try_from(max).unwrap_or(i32::MAX)
}

/// Query ids of the accounting request.
mod ids {
    pub const PUBLISHED: &str = "published";
    pub const CONVERTED: &str = "converted";
    pub const DEAD_LETTERED: &str = "dead_lettered";
    pub const CONSUMED: &str = "consumed";
}

/// The request that [`accounting_from`] reads: four sums over `[since, now)`, each in one period
/// that spans the window.
///
/// On AWS the accounting is an estimate from CloudWatch metrics:
/// - published ≈ Lambda `AsyncEventsReceived` (objects whose upload queued an invocation);
/// - converted ≈ csv queue `NumberOfMessagesSent` (one CSV notification per converted object);
/// - dead-lettered ≈ DLQ `NumberOfMessagesSent`;
/// - consumed ≈ csv queue `NumberOfMessagesDeleted`.
///
/// Metrics arrive a minute or more after the fact, and SQS reports its metrics once a minute,
/// so the numbers trail the pipeline and need not balance at any given moment.
pub fn accounting_request(
    names: &StackNames,
    since: EpochMillis,
    now: EpochMillis,
) -> GetMetricDataRequest {
    // CloudWatch rounds the start down to the minute; round the end up to match.
    let start = since.div_euclid(60_000) * 60_000;
    let end = (now.max(since + 1) + 59_999).div_euclid(60_000) * 60_000;
    let window_s = u32::try_from((end - start) / 1000).unwrap_or(u32::MAX);
    // Data older than 15 days is kept in 5-minute periods, and older than 63 days in hours.
    let granularity = match window_s {
        0..=1_296_000 => 60,
        1_296_001..=5_443_200 => 300,
        _ => 3600,
    };
    let period = window_s
        .div_ceil(granularity)
        .max(1)
        .saturating_mul(granularity);
    let sum =
        |id: &str, namespace: &str, metric: &str, dimension: &str, value: &str| MetricDataQuery {
            id: id.to_owned(),
            metric_stat: Some(MetricStat {
                metric: Metric {
                    namespace: namespace.to_owned(),
                    metric_name: metric.to_owned(),
                    dimensions: vec![Dimension {
                        name: dimension.to_owned(),
                        value: value.to_owned(),
                    }],
                },
                period,
                stat: "Sum".to_owned(),
            }),
            expression: None,
            label: None,
            return_data: Some(true),
            period: None,
        };
    GetMetricDataRequest {
        metric_data_queries: vec![
            sum(
                ids::PUBLISHED,
                lambda::NAMESPACE,
                lambda::ASYNC_EVENTS_RECEIVED,
                lambda::DIMENSION,
                &names.function_name,
            ),
            sum(
                ids::CONVERTED,
                sqs::NAMESPACE,
                sqs::MESSAGES_SENT,
                sqs::DIMENSION,
                &names.csv_queue_name,
            ),
            sum(
                ids::DEAD_LETTERED,
                sqs::NAMESPACE,
                sqs::MESSAGES_SENT,
                sqs::DIMENSION,
                &names.dlq_name,
            ),
            sum(
                ids::CONSUMED,
                sqs::NAMESPACE,
                sqs::MESSAGES_DELETED,
                sqs::DIMENSION,
                &names.csv_queue_name,
            ),
        ],
        start_time: start,
        end_time: end,
        scan_by: None,
        max_datapoints: None,
        next_token: None,
    }
}

/// The accounting from the answer to [`accounting_request`]: in flight is what was published
/// and is neither converted nor dead-lettered yet, never below zero.
pub fn accounting_from(response: &GetMetricDataResponse) -> Accounting {
    let total = |id: &str| -> u64 {
        let sum: f64 = response
            .metric_data_results
            .iter()
            .filter(|result| result.id == id)
            .flat_map(|result| result.values.iter())
            .filter(|value| value.is_finite() && **value > 0.0)
            .sum();
        sum.round() as u64
    };
    let published = total(ids::PUBLISHED);
    let converted = total(ids::CONVERTED);
    let dead_lettered = total(ids::DEAD_LETTERED);
    Accounting {
        published,
        converted,
        dead_lettered,
        // CloudWatch cannot tell an object the function answered without converting from one
        // still in flight; both count as in flight here.
        dropped: 0,
        in_flight: published.saturating_sub(converted + dead_lettered),
        consumed: total(ids::CONSUMED),
        expired: 0,
    }
}
