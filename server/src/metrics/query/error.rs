//! What can be wrong with a GetMetricData request. Each message names the query and says what to
//! change.

use crate::metrics::{EpochMillis, math::MathError, rfc3339};

use super::{MAX_DATAPOINTS, MAX_QUERIES};

/// Why a GetMetricData request was refused. Nothing is computed for a refused request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `MetricDataQueries` is empty.
    #[error("the request has no query: add at least one entry to MetricDataQueries")]
    NoQueries,
    /// More than [`MAX_QUERIES`] queries.
    #[error(
        "the request has {count} queries; GetMetricData takes at most {MAX_QUERIES}: split it \
         into several requests"
    )]
    TooManyQueries {
        /// Number of queries in the request.
        count: usize,
    },
    /// `StartTime` is not before `EndTime`.
    #[error(
        "StartTime {} must be before EndTime {}",
        rfc3339::format(*start),
        rfc3339::format(*end)
    )]
    InvalidTimeRange {
        /// The request's `StartTime`.
        start: EpochMillis,
        /// The request's `EndTime`.
        end: EpochMillis,
    },
    /// An id that does not start with a lower-case letter, or holds other characters than
    /// letters, digits and underscores.
    #[error(
        "query id {id:?} is invalid: an id starts with a lower-case letter and holds only \
         letters, digits and underscores, at most 255 in all, e.g. `m1` or `dlq_messages`"
    )]
    InvalidId {
        /// The id.
        id: String,
    },
    /// Two queries share an id.
    #[error("query id `{id}` is used by more than one query: give each query its own id")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// A query with neither `MetricStat` nor `Expression`.
    #[error("query `{id}` has neither MetricStat nor Expression: give it exactly one of them")]
    NothingToQuery {
        /// The query's id.
        id: String,
    },
    /// A query with both `MetricStat` and `Expression`.
    #[error("query `{id}` has both MetricStat and Expression: keep only one of them")]
    MetricAndExpression {
        /// The query's id.
        id: String,
    },
    /// A period that is zero or not a whole number of minutes.
    #[error(
        "query `{id}` has Period {period}: the period is in seconds and must be a positive \
         multiple of 60 (60, 300, 3600, ...)"
    )]
    InvalidPeriod {
        /// The query's id.
        id: String,
        /// The period, in seconds.
        period: u32,
    },
    /// A statistic GetMetricData does not know.
    #[error(
        "query `{id}` asks for unknown statistic {stat:?}: use Sum, Average, Minimum, Maximum, \
         SampleCount or a percentile from p0 to p100 with at most two decimals (p50, p99, p99.9)"
    )]
    UnknownStat {
        /// The query's id.
        id: String,
        /// The statistic as written.
        stat: String,
    },
    /// An expression that does not parse or cannot be evaluated.
    #[error("expression `{id}` is invalid: {source}")]
    InvalidExpression {
        /// The query's id.
        id: String,
        /// What is wrong with it.
        source: MathError,
    },
    /// An expression that references an id no query of the request has.
    #[error(
        "expression `{id}` references `{reference}`, but no query in this request has that id \
         (ids are case-sensitive)"
    )]
    UnknownReference {
        /// The expression's id.
        id: String,
        /// The id it references.
        reference: String,
    },
    /// Expressions that depend on each other in a loop.
    #[error(
        "expressions depend on each other in a cycle: {}; an expression can use only queries \
         that do not depend on it",
        cycle.join(" → ")
    )]
    CyclicExpressions {
        /// The ids along the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// More datapoints than one request may ask for.
    #[error(
        "the request asks for {requested} datapoints; GetMetricData returns at most \
         {MAX_DATAPOINTS}: shorten the time range, lengthen the periods or drop queries"
    )]
    TooManyDatapoints {
        /// Datapoints the metric queries would return at most: their periods in the time range.
        requested: u64,
    },
    /// `MaxDatapoints` out of range.
    #[error(
        "MaxDatapoints is {given}: it must be from 1 to {MAX_DATAPOINTS}; omit it for \
         {MAX_DATAPOINTS}"
    )]
    InvalidMaxDatapoints {
        /// The request's `MaxDatapoints`.
        given: u32,
    },
    /// A `NextToken` this API did not issue, or one that was altered.
    #[error(
        "NextToken {token:?} is not a token this API issued: pass the NextToken of the previous \
         response unchanged, or omit it to start from the first datapoint"
    )]
    InvalidNextToken {
        /// The token (its first 64 characters).
        token: String,
    },
    /// A `NextToken` issued for a request with other queries, times or order.
    #[error(
        "the NextToken belongs to another request: repeat the request that returned it with the \
         same MetricDataQueries, StartTime, EndTime and ScanBy (absolute times, since a relative \
         StartTime moves with the clock), or omit NextToken to start again"
    )]
    NextTokenOfAnotherRequest,
}
