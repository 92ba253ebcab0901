//! Measuring the SLI from a backend's metrics: one window for the live status, 5-minute periods
//! for a chart. Both ask GetMetricData for the same two metrics the dashboard's "Percent in error"
//! uses, so the pages and the CloudWatch console agree.

use super::{SloObjective, SloStatus};
use crate::backend::{Backend, BackendError, StackNames};
use crate::metrics::names::sqs;
use crate::metrics::{
    Dimension, EpochMillis, GetMetricDataRequest, GetMetricDataResponse, Metric, MetricDataQuery,
    MetricStat, ScanBy,
};

/// The chart's period, in seconds: the dashboard's 5 minutes.
pub const HISTORY_PERIOD_SECONDS: u32 = 300;

const MINUTE: EpochMillis = 60_000;
const CSV_SENT: &str = "m1";
const DLQ_SENT: &str = "m2";
const PERCENT_IN_ERROR: &str = "e1";

/// The dashboard's "Percent in error", `100 * m2 / (m1 + m2)`, with each input filled with 0
/// where it has no point. SQS reports a queue's metrics only while the queue is active, and the
/// DLQ stays inactive until its first message: without the fill, a pipeline that never failed
/// would have no ratio at all instead of 0%. Where both queues report, the two agree.
const PERCENT_IN_ERROR_EXPRESSION: &str = "100 * FILL(m2, 0) / (FILL(m1, 0) + FILL(m2, 0))";

/// Measures the SLI over the objective's last complete window and judges it.
///
/// The window is `[now - window, now)` in pipeline time, with both edges rounded down to the
/// whole minute: SQS reports each minute when it ends, so the minute in progress has no data yet.
/// It is read as a single period of the window's length. A window in which nothing was processed
/// gives `met: None` ("not enough data"), never a pass.
///
/// Errors: [`BackendError::InvalidRequest`] for an invalid objective, [`BackendError::UnknownStack`]
/// for a participant without a stack, and whatever the backend's GetMetricData returns.
pub async fn evaluate(
    backend: &dyn Backend,
    participant: &str,
    objective: &SloObjective,
) -> Result<SloStatus, BackendError> {
    check(objective)?;
    let names = stack_names(backend, participant)?;
    let now = backend.clock().now();
    let window_end = now - now.rem_euclid(MINUTE);
    let window_start = window_end - objective.window_millis();
    let period = objective.window_minutes * 60;
    let request = GetMetricDataRequest {
        metric_data_queries: vec![
            queue_sent(CSV_SENT, &names.csv_queue_name, period, true),
            queue_sent(DLQ_SENT, &names.dlq_name, period, true),
        ],
        start_time: window_start,
        end_time: window_end,
        scan_by: None,
    };
    let response = backend.get_metric_data(participant, request).await?;
    // A queue without a point sent nothing: SQS stops reporting an idle queue, and the DLQ
    // reports nothing before its first message.
    let csv_sent = sum(&response, CSV_SENT);
    let dlq_sent = sum(&response, DLQ_SENT);
    Ok(SloStatus::new(
        *objective,
        window_start,
        window_end,
        dlq_sent,
        csv_sent + dlq_sent,
    ))
}

/// The SLI in percent for each 5-minute period in `[start, end)`, oldest first, for a chart.
///
/// `start` is rounded down to a 5-minute boundary, so the points stay put as time passes; each
/// point's timestamp is its period's start. A period in which nothing was processed has no point.
/// The objective is checked so that the chart and [`evaluate`] refuse the same input; its
/// `max_percent` is the line to draw across the chart.
pub async fn history(
    backend: &dyn Backend,
    participant: &str,
    objective: &SloObjective,
    start: EpochMillis,
    end: EpochMillis,
) -> Result<Vec<(EpochMillis, f64)>, BackendError> {
    check(objective)?;
    let names = stack_names(backend, participant)?;
    let period = EpochMillis::from(HISTORY_PERIOD_SECONDS) * 1000;
    let request = GetMetricDataRequest {
        metric_data_queries: vec![
            queue_sent(
                CSV_SENT,
                &names.csv_queue_name,
                HISTORY_PERIOD_SECONDS,
                false,
            ),
            queue_sent(DLQ_SENT, &names.dlq_name, HISTORY_PERIOD_SECONDS, false),
            MetricDataQuery {
                id: PERCENT_IN_ERROR.to_owned(),
                metric_stat: None,
                expression: Some(PERCENT_IN_ERROR_EXPRESSION.to_owned()),
                label: Some("Percent in error".to_owned()),
                return_data: Some(true),
                period: None,
            },
        ],
        start_time: start - start.rem_euclid(period),
        end_time: end,
        scan_by: Some(ScanBy::TimestampAscending),
    };
    let response = backend.get_metric_data(participant, request).await?;
    let mut points: Vec<(EpochMillis, f64)> = response
        .metric_data_results
        .into_iter()
        .filter(|result| result.id == PERCENT_IN_ERROR)
        .flat_map(|result| result.timestamps.into_iter().zip(result.values))
        .collect();
    // Asked for ascending; sorted anyway, so a backend that ignores ScanBy cannot reverse a chart.
    points.sort_by_key(|&(timestamp, _)| timestamp);
    Ok(points)
}

fn check(objective: &SloObjective) -> Result<(), BackendError> {
    objective
        .validate()
        .map_err(|error| BackendError::InvalidRequest(error.to_string()))
}

fn stack_names(backend: &dyn Backend, participant: &str) -> Result<StackNames, BackendError> {
    backend
        .stack_names(participant)
        .ok_or_else(|| BackendError::UnknownStack(participant.to_owned()))
}

/// `NumberOfMessagesSent` of one queue, summed per `period` seconds.
fn queue_sent(id: &str, queue_name: &str, period: u32, return_data: bool) -> MetricDataQuery {
    MetricDataQuery {
        id: id.to_owned(),
        metric_stat: Some(MetricStat {
            metric: Metric {
                namespace: sqs::NAMESPACE.to_owned(),
                metric_name: sqs::MESSAGES_SENT.to_owned(),
                dimensions: vec![Dimension {
                    name: sqs::DIMENSION.to_owned(),
                    value: queue_name.to_owned(),
                }],
            },
            period,
            stat: "Sum".to_owned(),
        }),
        expression: None,
        label: None,
        return_data: Some(return_data),
        period: None,
    }
}

/// The sum of a result's values; 0 when the query has no point (or no result).
fn sum(response: &GetMetricDataResponse, id: &str) -> f64 {
    response
        .metric_data_results
        .iter()
        .filter(|result| result.id == id)
        .flat_map(|result| &result.values)
        .sum::<f64>()
        // A float sum starts from -0.0; an empty window is plain 0.
        + 0.0
}
