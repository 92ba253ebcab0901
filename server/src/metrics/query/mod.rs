//! GetMetricData over a [`MetricStore`]: periods, statistics, time edges, metric math.
//!
//! The semantics are CloudWatch's:
//! - `StartTime` is rounded down to the whole minute and periods start there; `EndTime` is
//!   exclusive; each datapoint's timestamp is the start of its period;
//! - a period without data has no datapoint (never a zero);
//! - a metric matches on namespace, name and the exact set of dimensions: a query with fewer
//!   dimensions does not add up the others, since each combination is a metric of its own;
//! - expressions are evaluated after the queries they use, hidden ones (`ReturnData: false`)
//!   included;
//! - results come in request order, newest datapoint first unless `ScanBy` says ascending;
//! - a response holds at most `MaxDatapoints` datapoints, the rest coming with its `NextToken`
//!   ([`page`] says how).

mod error;
mod page;
mod plan;
mod statistic;

use std::collections::BTreeMap;

use self::plan::{Plan, Step, StepKind};
pub use self::{
    error::QueryError,
    statistic::{Statistic, UnknownStatistic},
};
use super::{
    EpochMillis, GetMetricDataRequest, GetMetricDataResponse, Metric, MetricDataResult, ScanBy,
    StatusCode,
    math::{Context, Series, TimeSeries, Value},
    store::MetricStore,
    store::StatisticSet,
    store::canonical,
};

/// Most queries in one request.
pub const MAX_QUERIES: usize = 500;

/// Most datapoints one request may ask for, counted as the periods of every metric query.
pub const MAX_DATAPOINTS: u64 = 100_800;

/// Answers a GetMetricData request from `store`.
///
/// The request is checked whole before anything is computed; a refused request returns a
/// [`QueryError`] naming the query at fault. A metric with no data gives an empty result, not an
/// error.
pub fn get_metric_data(
    store: &MetricStore,
    request: &GetMetricDataRequest,
) -> Result<GetMetricDataResponse, QueryError> {
    let plan = Plan::new(request)?;
    let position = page::position(request)?;

    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    let mut metric_ids = Vec::new();
    for step in &plan.steps {
        if let StepKind::Metric {
            stat,
            statistic,
            period,
        } = step.kind
        {
            let points = aggregate(store, &stat.metric, statistic, plan.start, plan.end, period);
            let series = TimeSeries {
                label: label_of(step),
                period: stat.period,
                points,
            };
            values.insert(step.query.id.clone(), Value::Series(series));
            metric_ids.push(step.query.id.clone());
        }
    }
    for &index in &plan.expression_order {
        let step = &plan.steps[index];
        if let StepKind::Expression(expression) = &step.kind {
            let context = Context {
                start: plan.start,
                end: plan.end,
                values: &values,
                metric_ids: &metric_ids,
            };
            let value =
                expression
                    .evaluate(&context)
                    .map_err(|source| QueryError::InvalidExpression {
                        id: step.query.id.clone(),
                        source,
                    })?;
            values.insert(step.query.id.clone(), value);
        }
    }

    let ascending = request.scan_by.unwrap_or_default() == ScanBy::TimestampAscending;
    let mut metric_data_results = Vec::new();
    for step in plan
        .steps
        .iter()
        .filter(|step| step.query.return_data.unwrap_or(true))
    {
        let id = &step.query.id;
        let mut result = |label: String, points: Series| {
            let (timestamps, values) = if ascending {
                points.into_iter().unzip()
            } else {
                points.into_iter().rev().unzip()
            };
            metric_data_results.push(MetricDataResult {
                id: id.clone(),
                label,
                timestamps,
                values,
                status_code: StatusCode::Complete,
            });
        };
        match values.remove(id.as_str()) {
            Some(Value::Series(series)) => result(label_of(step), series.points),
            // An expression that gives several series returns one result for each, all with
            // the expression's id, labelled "Expression-Label Metric-Label" as CloudWatch
            // labels them (only the series' label when the expression has none).
            Some(Value::Array(array)) => {
                for series in array {
                    let label = match step.query.label.as_deref() {
                        Some(own) if !own.is_empty() => format!("{own} {}", series.label),
                        _ => series.label,
                    };
                    result(label, series.points);
                }
            }
            Some(Value::Scalar(_)) | None => result(label_of(step), Series::new()),
        }
    }
    let max = request.max_datapoints.map_or(MAX_DATAPOINTS, u64::from);
    let (metric_data_results, next) = page::page(metric_data_results, position, max);
    Ok(GetMetricDataResponse {
        metric_data_results,
        next_token: next.map(|next| page::token(request, next)),
    })
}

/// What a request reads: its metrics, each with its dimensions in order, and the minutes
/// `[start, end)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRead {
    /// Each metric a query names, once.
    pub metrics: Vec<Metric>,
    /// `StartTime` rounded down to the minute.
    pub start: EpochMillis,
    /// `EndTime`, exclusive.
    pub end: EpochMillis,
}

/// Checks `request` as [`get_metric_data`] does and says what it reads, so that a store holding
/// only some minutes in memory can fetch the rest first.
pub fn metrics_read(request: &GetMetricDataRequest) -> Result<MetricsRead, QueryError> {
    let plan = Plan::new(request)?;
    let mut metrics: Vec<Metric> = Vec::new();
    for step in &plan.steps {
        if let StepKind::Metric { stat, .. } = step.kind {
            let metric = canonical(&stat.metric).into_owned();
            if !metrics.contains(&metric) {
                metrics.push(metric);
            }
        }
    }
    Ok(MetricsRead {
        metrics,
        start: plan.start,
        end: plan.end,
    })
}

/// A query's label: its own, else the metric's name or the expression's text.
fn label_of(step: &Step<'_>) -> String {
    step.query
        .label
        .clone()
        .unwrap_or_else(|| match &step.kind {
            StepKind::Metric { stat, .. } => stat.metric.metric_name.clone(),
            StepKind::Expression(expression) => expression.text().to_owned(),
        })
}

/// `statistic` of `metric` for each period of `period` milliseconds from `start`, over the
/// minute buckets in `[start, end)`. Periods without a bucket have no point.
fn aggregate(
    store: &MetricStore,
    metric: &Metric,
    statistic: Statistic,
    start: EpochMillis,
    end: EpochMillis,
    period: EpochMillis,
) -> Series {
    let mut periods: BTreeMap<EpochMillis, StatisticSet> = BTreeMap::new();
    for (minute, set) in store.sets(metric, start, end) {
        let period_start = start + (minute - start) / period * period;
        let merged = periods.entry(period_start).or_default();
        if statistic.needs_histogram() {
            merged.merge(set);
        } else {
            merged.merge_summary(set);
        }
    }
    periods
        .into_iter()
        .filter_map(|(at, set)| statistic.value_of(&set).map(|value| (at, value)))
        .collect()
}
