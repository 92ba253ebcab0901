//! Metric math: CloudWatch-style expressions such as `100 * m2 / (m1 + m2)` or
//! `SUM(METRICS("errors"))` over other queries' time series.
//!
//! [`parse`] turns the text into a tree (with [`winnow`]), [`functions`] checks every call's name
//! and argument count before anything runs, and [`evaluate`] computes the value: a number (S), a
//! time series (TS) or an array of time series (TS[]), the three data types of CloudWatch's
//! "Metric math syntax and functions". An expression's final value must be a TS or a TS[].
//!
//! Supported, with CloudWatch's semantics:
//! - query ids (TS, or TS[] for an expression that gave several), numbers (`2`, `.5`, `2e2`,
//!   `1.5E-3`; all arithmetic is floating point, so `1/2` is `0.5`), array literals `[m1, m2]`;
//! - `+ - * / ^` and unary minus; comparisons `== != <= >= < >` and `AND`/`&&`, `OR`/`||`,
//!   `NOT`, each giving 1 (true) or 0 (false); between two series a missing value counts as 0,
//!   as CloudWatch documents for arithmetic and comparisons; a non-finite result (division by
//!   zero) is dropped, never an infinity or a `NaN`; an operation with an array applies to each
//!   of its series;
//! - `IF(condition, a)` and `IF(condition, a, b)`;
//! - `ABS`, `CEIL`, `FLOOR`, `DIFF`, `DIFF_TIME`, `RATE`, `RUNNING_SUM` on a TS or each TS of an
//!   array;
//! - `AVG`, `MIN`, `MAX`, `SUM`, `STDDEV`: of one TS a number over its datapoints, of a TS[] one
//!   TS computed per timestamp;
//! - `PERIOD(m1)`, the series' period in seconds;
//! - `METRICS()` and `METRICS("text")` (the metric queries, not expressions, whose id contains
//!   the text), `SORT(array, AVG|MIN|MAX|SUM|STDDEV, ASC|DESC[, limit])`, `FIRST`, `LAST`,
//!   `REMOVE_EMPTY`;
//! - `FILL(series, number | series | REPEAT | LINEAR)` over every period of the query's range.

mod evaluate;
mod fill;
mod functions;
mod parse;
mod statistics;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use self::parse::Expr;
use super::EpochMillis;

/// A time series: one value per timestamp (the start of its period), oldest first.
pub type Series = BTreeMap<EpochMillis, f64>;

/// Longest expression accepted, in characters: CloudWatch's limit for `Expression`.
pub const MAX_EXPRESSION_LENGTH: usize = 2048;

/// A time series with what metric math needs besides its points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeSeries {
    /// The label of the query the series comes from (a metric's label for `METRICS()`).
    pub label: String,
    /// The period of its datapoints, in seconds (what `PERIOD` returns and `FILL` fills by).
    pub period: u32,
    /// The datapoints.
    pub points: Series,
}

/// A metric-math value: CloudWatch's S, TS and TS[].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A single number (S).
    Scalar(f64),
    /// One time series (TS).
    Series(TimeSeries),
    /// An array of time series (TS[]).
    Array(Vec<TimeSeries>),
}

/// What an expression is evaluated against: the other queries' values and the time range.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Start of the first period (`StartTime` rounded down to the minute).
    pub start: EpochMillis,
    /// End of the range, exclusive.
    pub end: EpochMillis,
    /// The value of each query evaluated so far, by id.
    pub values: &'a BTreeMap<String, Value>,
    /// The ids of the request's metric queries (not expressions), in request order: what
    /// `METRICS()` returns.
    pub metric_ids: &'a [String],
}

/// Why an expression cannot be parsed or evaluated. Each message quotes the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    /// The expression is empty or only whitespace.
    #[error("the metric-math expression is empty: write one such as `100 * m2 / (m1 + m2)`")]
    Empty,
    /// The expression is longer than [`MAX_EXPRESSION_LENGTH`].
    #[error(
        "the metric-math expression is {length} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
    )]
    TooLong {
        /// Length of the expression, in characters.
        length: usize,
    },
    /// The expression does not parse.
    #[error(
        "cannot parse `{expression}` at position {position}: expected {expected}, found {found}"
    )]
    Syntax {
        /// The expression.
        expression: String,
        /// Where parsing stopped, counted in characters from 0.
        position: usize,
        /// What the grammar expected there.
        expected: String,
        /// What is there instead.
        found: String,
    },
    /// A call to a function metric math does not have.
    #[error(
        "unknown function `{function}` at position {position} in `{expression}`: functions are \
         written in upper case; metric math here has {}",
        functions::NAMES.join(", ")
    )]
    UnknownFunction {
        /// The expression.
        expression: String,
        /// The function's name as written.
        function: String,
        /// Where the name starts, counted in characters from 0.
        position: usize,
    },
    /// A call with too few or too many arguments.
    #[error(
        "{function} at position {position} in `{expression}` takes {expected}, but was given {given}"
    )]
    ArgumentCount {
        /// The expression.
        expression: String,
        /// The function.
        function: String,
        /// Where the call starts, counted in characters from 0.
        position: usize,
        /// How many arguments it takes, in words.
        expected: &'static str,
        /// How many it was given.
        given: usize,
    },
    /// An argument of the wrong type, or a keyword where it has no meaning.
    #[error("in `{expression}`: {reason}")]
    InvalidArgument {
        /// The expression.
        expression: String,
        /// What does not fit, naming the function and the argument.
        reason: String,
    },
    /// The expression evaluates to a single number rather than a time series.
    #[error(
        "`{expression}` evaluates to a single number, not a time series: the result of an \
         expression must be a time series or an array of them, e.g. `m1 - AVG(m1)`"
    )]
    NotASeries {
        /// The expression.
        expression: String,
    },
    /// A referenced id has no value among the inputs.
    #[error("`{expression}` references `{id}`, which is not among the inputs")]
    MissingInput {
        /// The expression.
        expression: String,
        /// The id without a value.
        id: String,
    },
}

/// A parsed and checked metric-math expression, ready to be evaluated many times.
#[derive(Debug, Clone)]
pub struct MathExpression {
    text: String,
    tree: Expr,
    ids: Vec<String>,
}

impl MathExpression {
    /// Parses `text`, checking its syntax, its functions' names and their argument counts.
    pub fn parse(text: &str) -> Result<Self, MathError> {
        let length = text.chars().count();
        if length > MAX_EXPRESSION_LENGTH {
            return Err(MathError::TooLong { length });
        }
        if text.trim().is_empty() {
            return Err(MathError::Empty);
        }
        let tree = parse::parse(text).map_err(|error| MathError::Syntax {
            expression: text.to_owned(),
            position: error.position,
            expected: error.expected,
            found: error.found,
        })?;
        functions::check(&tree, text)?;
        let mut ids = BTreeSet::new();
        collect_ids(&tree, &mut ids);
        Ok(Self {
            text: text.to_owned(),
            tree,
            ids: ids.into_iter().collect(),
        })
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The query ids the expression references by name, sorted and without duplicates
    /// (`METRICS()` references the metric queries without naming them).
    pub fn referenced_ids(&self) -> &[String] {
        &self.ids
    }

    /// Evaluates the expression in `context`. The result is a time series or an array of them.
    pub fn evaluate(&self, context: &Context<'_>) -> Result<Value, MathError> {
        let value = evaluate::evaluate(&self.tree, context, &self.text)?;
        match value {
            Value::Scalar(_) => Err(MathError::NotASeries {
                expression: self.text.clone(),
            }),
            value => Ok(value),
        }
    }
}

fn collect_ids(tree: &Expr, ids: &mut BTreeSet<String>) {
    match tree {
        Expr::Id(id) => {
            ids.insert(id.clone());
        }
        // A capitalised word outside a keyword's place is an id no query can have.
        Expr::Word { word, .. } if !functions::is_keyword(word) => {
            ids.insert(word.clone());
        }
        Expr::Number(_) | Expr::Text(_) | Expr::Word { .. } => {}
        Expr::Array(items)
        | Expr::Call {
            arguments: items, ..
        } => items.iter().for_each(|item| collect_ids(item, ids)),
        Expr::Negate(inner) | Expr::Not(inner) => collect_ids(inner, ids),
        Expr::Binary(_, left, right) => {
            collect_ids(left, ids);
            collect_ids(right, ids);
        }
    }
}

/// The query ids `expression` references, sorted and without duplicates.
pub fn referenced_ids(expression: &str) -> Result<Vec<String>, MathError> {
    Ok(MathExpression::parse(expression)?.referenced_ids().to_vec())
}
