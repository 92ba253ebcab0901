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
//! - results come in request order, newest datapoint first unless `ScanBy` says ascending.

mod error;
mod plan;
mod statistic;

use std::collections::BTreeMap;

use self::plan::{Plan, StepKind};
pub use self::{
    error::QueryError,
    statistic::{Statistic, UnknownStatistic},
};
use super::{
    EpochMillis, GetMetricDataRequest, GetMetricDataResponse, Metric, MetricDataResult, ScanBy,
    StatusCode, math::Series, store::MetricStore, store::StatisticSet,
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

    let mut series: BTreeMap<&str, Series> = BTreeMap::new();
    for step in &plan.steps {
        if let StepKind::Metric {
            stat,
            statistic,
            period,
        } = step.kind
        {
            let points = aggregate(store, &stat.metric, statistic, plan.start, plan.end, period);
            series.insert(step.query.id.as_str(), points);
        }
    }
    for &index in &plan.expression_order {
        let step = &plan.steps[index];
        if let StepKind::Expression(expression) = &step.kind {
            let points =
                expression
                    .evaluate(&series)
                    .map_err(|source| QueryError::InvalidExpression {
                        id: step.query.id.clone(),
                        source,
                    })?;
            series.insert(step.query.id.as_str(), points);
        }
    }

    let ascending = request.scan_by.unwrap_or_default() == ScanBy::TimestampAscending;
    let metric_data_results = plan
        .steps
        .iter()
        .filter(|step| step.query.return_data.unwrap_or(true))
        .map(|step| {
            let label = step
                .query
                .label
                .clone()
                .unwrap_or_else(|| match &step.kind {
                    StepKind::Metric { stat, .. } => stat.metric.metric_name.clone(),
                    StepKind::Expression(expression) => expression.text().to_owned(),
                });
            let points = series.remove(step.query.id.as_str()).unwrap_or_default();
            let (timestamps, values) = if ascending {
                points.into_iter().unzip()
            } else {
                points.into_iter().rev().unzip()
            };
            MetricDataResult {
                id: step.query.id.clone(),
                label,
                timestamps,
                values,
                status_code: StatusCode::Complete,
            }
        })
        .collect();
    Ok(GetMetricDataResponse {
        metric_data_results,
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
