//! The unit of each dashboard series, decided from its query as CloudWatch would label it.
//!
//! CloudWatch publishes every AWS metric with a fixed unit (`Duration` in milliseconds,
//! `ApproximateAgeOfOldestMessage` in seconds, the rest of the lab's metrics as counts), and a
//! statistic keeps that unit except `SampleCount`, which counts data points. A metric-math
//! expression has no unit on CloudWatch, and a dashboard's per-metric options have no field for
//! one (only `color`, `label`, `stat`, `period`, `visible`, `yAxis`, `id`, `region` and
//! `accountId`), so an expression's unit is inferred from what it says: a label or id naming a
//! percentage, `100 * …`, or a sum or difference of series that share one unit.

use serde::{Deserialize, Serialize};

use crate::metrics::MetricDataQuery;
use crate::metrics::names::{chaoslab, lambda, sns, sqs};

/// A series' unit, named as CloudWatch names it (`StandardUnit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Unit {
    /// A percentage, 0 to 100 (shown as `%`).
    Percent,
    /// Milliseconds (shown as `ms`).
    Milliseconds,
    /// Seconds (shown as `s`).
    Seconds,
    /// A number of things: messages, invocations, errors (shown as `count`).
    Count,
}

impl Unit {
    /// The short form written after a value: `%`, `ms`, `s` or `count`.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Percent => "%",
            Self::Milliseconds => "ms",
            Self::Seconds => "s",
            Self::Count => "count",
        }
    }

    /// The unit CloudWatch gives `metric_name` of `namespace` read with `stat`, if the lab knows
    /// the metric.
    pub fn of_metric(namespace: &str, metric_name: &str, stat: &str) -> Option<Self> {
        // SampleCount counts the data points behind a period, whatever the metric measures.
        if stat == "SampleCount" {
            return Some(Self::Count);
        }
        match (namespace, metric_name) {
            (lambda::NAMESPACE, lambda::DURATION | lambda::ASYNC_EVENT_AGE) => {
                Some(Self::Milliseconds)
            }
            (
                lambda::NAMESPACE,
                lambda::INVOCATIONS
                | lambda::ERRORS
                | lambda::THROTTLES
                | lambda::CONCURRENT_EXECUTIONS
                | lambda::DEAD_LETTER_ERRORS
                | lambda::ASYNC_EVENTS_RECEIVED,
            ) => Some(Self::Count),
            (sqs::NAMESPACE, sqs::AGE_OF_OLDEST_MESSAGE) => Some(Self::Seconds),
            (
                sqs::NAMESPACE,
                sqs::MESSAGES_SENT
                | sqs::MESSAGES_RECEIVED
                | sqs::MESSAGES_DELETED
                | sqs::EMPTY_RECEIVES
                | sqs::MESSAGES_VISIBLE
                | sqs::MESSAGES_NOT_VISIBLE,
            ) => Some(Self::Count),
            (
                sns::NAMESPACE,
                sns::MESSAGES_PUBLISHED | sns::NOTIFICATIONS_DELIVERED | sns::NOTIFICATIONS_FAILED,
            ) => Some(Self::Count),
            // Written by the function in the embedded metric format with `Unit: Count`.
            (chaoslab::NAMESPACE, chaoslab::INJECTED_FAULTS) => Some(Self::Count),
            _ => None,
        }
    }

    /// The unit of `query`, one of a widget's `queries` (which its expressions refer to).
    pub fn of_query(query: &MetricDataQuery, queries: &[MetricDataQuery]) -> Option<Self> {
        Self::of_query_within(query, queries, 0)
    }

    fn of_query_within(
        query: &MetricDataQuery,
        queries: &[MetricDataQuery],
        depth: usize,
    ) -> Option<Self> {
        if let Some(stat) = &query.metric_stat {
            return Self::of_metric(&stat.metric.namespace, &stat.metric.metric_name, &stat.stat);
        }
        let expression = query.expression.as_deref()?;
        let says_percent = |text: &str| text.to_ascii_lowercase().contains("percent");
        if says_percent(&query.id) || query.label.as_deref().is_some_and(says_percent) {
            return Some(Self::Percent);
        }
        if is_percentage(expression) {
            return Some(Self::Percent);
        }
        // Expressions may refer to expressions; a widget holds at most 500 queries, and a cycle
        // is refused by GetMetricData, so a bound on the depth only guards against one here.
        if depth >= queries.len() {
            return None;
        }
        shared_unit_of_sum(expression, |id| {
            let referred = queries.iter().find(|query| query.id == id)?;
            Self::of_query_within(referred, queries, depth + 1)
        })
    }
}

/// Whether `expression` scales a ratio by 100: `100 * …` or `… * 100`.
fn is_percentage(expression: &str) -> bool {
    let compact: String = expression.split_whitespace().collect();
    compact.starts_with("100*") || compact.ends_with("*100")
}

/// The unit of an expression that only adds and subtracts ids (`m1 + m2 - m3`, with
/// parentheses), when every id it names has that one unit; `None` for anything else.
fn shared_unit_of_sum(expression: &str, unit_of: impl Fn(&str) -> Option<Unit>) -> Option<Unit> {
    let mut shared = None;
    let separators = |c: char| c.is_whitespace() || matches!(c, '+' | '-' | '(' | ')');
    for id in expression.split(separators).filter(|part| !part.is_empty()) {
        let mut chars = id.chars();
        let is_id = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_id {
            return None;
        }
        let unit = unit_of(id)?;
        match shared {
            None => shared = Some(unit),
            Some(seen) if seen == unit => {}
            Some(_) => return None,
        }
    }
    shared
}
