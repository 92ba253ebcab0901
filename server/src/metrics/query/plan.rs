//! Checks a GetMetricData request and turns it into a plan: each query's parsed statistic or
//! expression, and the order to evaluate expressions in.

use std::collections::{BTreeMap, BTreeSet};

use crate::metrics::{
    EpochMillis, GetMetricDataRequest, MetricDataQuery, MetricStat,
    math::MathExpression,
    store::{MINUTE_MILLIS, minute_of},
};

use super::{MAX_DATAPOINTS, MAX_QUERIES, QueryError, Statistic};

/// A checked request.
#[derive(Debug)]
pub(super) struct Plan<'r> {
    /// Start of the first period: `StartTime` rounded down to the whole minute.
    pub start: EpochMillis,
    /// `EndTime`, exclusive.
    pub end: EpochMillis,
    /// One step per query, in request order.
    pub steps: Vec<Step<'r>>,
    /// Indices into `steps` of the expressions, each after every expression it uses.
    pub expression_order: Vec<usize>,
}

/// One checked query.
#[derive(Debug)]
pub(super) struct Step<'r> {
    pub query: &'r MetricDataQuery,
    pub kind: StepKind<'r>,
}

/// What a query computes.
#[derive(Debug)]
pub(super) enum StepKind<'r> {
    /// A statistic of a metric over periods of `period` milliseconds.
    Metric {
        stat: &'r MetricStat,
        statistic: Statistic,
        period: EpochMillis,
    },
    /// A metric-math expression over other queries.
    Expression(MathExpression),
}

impl<'r> Plan<'r> {
    /// Checks `request`, in the order a reader would fix it: the request as a whole, then each
    /// query, then how expressions refer to each other, then the size of the answer.
    pub fn new(request: &'r GetMetricDataRequest) -> Result<Self, QueryError> {
        let queries = &request.metric_data_queries;
        if queries.is_empty() {
            return Err(QueryError::NoQueries);
        }
        if queries.len() > MAX_QUERIES {
            return Err(QueryError::TooManyQueries {
                count: queries.len(),
            });
        }
        if let Some(given) = request.max_datapoints
            && (given == 0 || u64::from(given) > MAX_DATAPOINTS)
        {
            return Err(QueryError::InvalidMaxDatapoints { given });
        }
        if request.start_time >= request.end_time {
            return Err(QueryError::InvalidTimeRange {
                start: request.start_time,
                end: request.end_time,
            });
        }
        // GetMetricData rounds a StartTime less than 15 days old down to the whole minute, and
        // periods start there (StartTime in the GetMetricData API reference). The lab's data is
        // always that recent, so the coarser roundings for older data do not apply.
        let start = minute_of(request.start_time);
        let end = request.end_time;

        let mut seen = BTreeSet::new();
        let mut steps = Vec::with_capacity(queries.len());
        for query in queries {
            if !is_valid_id(&query.id) {
                return Err(QueryError::InvalidId {
                    id: query.id.clone(),
                });
            }
            if !seen.insert(query.id.as_str()) {
                return Err(QueryError::DuplicateId {
                    id: query.id.clone(),
                });
            }
            steps.push(Step {
                query,
                kind: step_kind(query)?,
            });
        }

        let expression_order = expression_order(&steps)?;

        let mut requested: u64 = 0;
        for step in &steps {
            if let StepKind::Metric { period, .. } = step.kind {
                let span = u64::try_from(end.saturating_sub(start)).unwrap_or(u64::MAX);
                let periods = span.div_ceil(period.unsigned_abs());
                requested = requested.saturating_add(periods);
            }
        }
        if requested > MAX_DATAPOINTS {
            return Err(QueryError::TooManyDatapoints { requested });
        }

        Ok(Self {
            start,
            end,
            steps,
            expression_order,
        })
    }
}

/// Ids follow CloudWatch's rule: `^[a-z][a-zA-Z0-9_]*$`, at most 255 characters.
fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    if id.len() > 255 {
        return false;
    }
    chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks one query's own fields.
fn step_kind(query: &MetricDataQuery) -> Result<StepKind<'_>, QueryError> {
    let id = || query.id.clone();
    match (&query.metric_stat, &query.expression) {
        (None, None) => Err(QueryError::NothingToQuery { id: id() }),
        (Some(_), Some(_)) => Err(QueryError::MetricAndExpression { id: id() }),
        (Some(stat), None) => {
            // Standard-resolution metrics take periods of whole minutes.
            if stat.period == 0 || stat.period % 60 != 0 {
                return Err(QueryError::InvalidPeriod {
                    id: id(),
                    period: stat.period,
                });
            }
            let statistic = stat.stat.parse().map_err(|_| QueryError::UnknownStat {
                id: id(),
                stat: stat.stat.clone(),
            })?;
            Ok(StepKind::Metric {
                stat,
                statistic,
                period: EpochMillis::from(stat.period / 60) * MINUTE_MILLIS,
            })
        }
        (None, Some(text)) => MathExpression::parse(text)
            .map(StepKind::Expression)
            .map_err(|source| QueryError::InvalidExpression { id: id(), source }),
    }
}

/// Orders the expressions so each comes after the expressions it references, checking that
/// every reference exists and that no expression depends on itself.
fn expression_order(steps: &[Step<'_>]) -> Result<Vec<usize>, QueryError> {
    let index_of: BTreeMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(index, step)| (step.query.id.as_str(), index))
        .collect();
    let mut references = vec![Vec::new(); steps.len()];
    for (index, step) in steps.iter().enumerate() {
        if let StepKind::Expression(expression) = &step.kind {
            for reference in expression.referenced_ids() {
                let target = index_of.get(reference.as_str()).copied().ok_or_else(|| {
                    QueryError::UnknownReference {
                        id: step.query.id.clone(),
                        reference: reference.clone(),
                    }
                })?;
                references[index].push(target);
            }
        }
    }

    // Depth-first search; finding a query still on the path means a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        index: usize,
        references: &[Vec<usize>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[index] {
            Mark::Done => return Ok(()),
            Mark::OnPath => {
                let from = path.iter().position(|&i| i == index).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(index);
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[index] = Mark::OnPath;
        path.push(index);
        for &target in &references[index] {
            visit(target, references, marks, path, order)?;
        }
        path.pop();
        marks[index] = Mark::Done;
        order.push(index);
        Ok(())
    }

    let mut marks = vec![Mark::New; steps.len()];
    let mut order = Vec::with_capacity(steps.len());
    for index in 0..steps.len() {
        visit(index, &references, &mut marks, &mut Vec::new(), &mut order).map_err(|cycle| {
            QueryError::CyclicExpressions {
                cycle: cycle
                    .into_iter()
                    .map(|i| steps[i].query.id.clone())
                    .collect(),
            }
        })?;
    }
    order.retain(|&index| matches!(steps[index].kind, StepKind::Expression(_)));
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_cloudwatch_rule() {
        for id in ["m1", "errors", "dlq_Messages_2", "a"] {
            assert!(is_valid_id(id), "{id}");
        }
        for id in ["", "M1", "1m", "_m", "m-1", "m 1", "é1"] {
            assert!(!is_valid_id(id), "{id}");
        }
    }
}
