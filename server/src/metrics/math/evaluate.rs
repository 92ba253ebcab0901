//! Evaluation of a parsed expression: the operators over numbers, time series and arrays of
//! time series, as CloudWatch's "Basic arithmetic functions" and "Comparison and logical
//! operators" define them.
//!
//! - A number meets a series at each of the series' datapoints.
//! - Two series meet at every timestamp either has; where one has no value it counts as 0
//!   (CloudWatch: "missing values in a time series are treated as 0"), so `m1 + m2` has a point
//!   wherever one of them has, and `m1 / m2` none where `m2` has none (a division by zero).
//! - A result that is not a finite number is dropped, as CloudWatch drops a division by zero.
//! - An operation with an array applies to each of its series; two arrays pair up their series.

use super::{
    Context, MathError, Series, TimeSeries, Value, functions,
    parse::{BinaryOp, Expr},
};

/// Evaluates `tree` over `context`; `text` is the expression, for messages.
pub(super) fn evaluate(tree: &Expr, context: &Context<'_>, text: &str) -> Result<Value, MathError> {
    Evaluator { context, text }.value(tree)
}

/// One evaluation: the context and the expression's text.
#[derive(Debug)]
pub(super) struct Evaluator<'c> {
    pub context: &'c Context<'c>,
    pub text: &'c str,
}

impl Evaluator<'_> {
    /// An [`MathError::InvalidArgument`] for this expression.
    pub fn invalid(&self, reason: String) -> MathError {
        MathError::InvalidArgument {
            expression: self.text.to_owned(),
            reason,
        }
    }

    /// The value of `tree`.
    pub fn value(&self, tree: &Expr) -> Result<Value, MathError> {
        match tree {
            Expr::Number(value) => Ok(Value::Scalar(*value)),
            Expr::Id(id) | Expr::Word { word: id, .. } => self
                .context
                .values
                .get(id)
                .cloned()
                .ok_or_else(|| MathError::MissingInput {
                    expression: self.text.to_owned(),
                    id: id.clone(),
                }),
            // The checks after parsing allow text and keywords only where a function takes them.
            Expr::Text(text) => Err(self.invalid(format!(
                "the text \"{text}\" is only valid as METRICS' argument"
            ))),
            Expr::Array(items) => {
                let mut array = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    match self.value(item)? {
                        Value::Series(series) => array.push(series),
                        Value::Array(more) => array.extend(more),
                        Value::Scalar(_) => {
                            return Err(self.invalid(format!(
                                "element {} of an array `[...]` is a number; an array holds \
                                 time series only",
                                index + 1
                            )));
                        }
                    }
                }
                Ok(Value::Array(array))
            }
            Expr::Negate(inner) => Ok(map_points(self.value(inner)?, |value| -value)),
            Expr::Not(inner) => Ok(map_points(self.value(inner)?, |value| truth(value == 0.0))),
            Expr::Binary(op, left, right) => combine(*op, self.value(left)?, self.value(right)?)
                .map_err(|reason| self.invalid(reason)),
            Expr::Call {
                name,
                position,
                arguments,
            } => functions::call(self, name, *position, arguments),
        }
    }
}

/// 1 for true, 0 for false: what comparisons and logical operators give.
pub(super) fn truth(condition: bool) -> f64 {
    if condition { 1.0 } else { 0.0 }
}

/// Applies `f` to every number of `value`, dropping non-finite results from series.
pub(super) fn map_points(value: Value, f: impl Fn(f64) -> f64 + Copy) -> Value {
    match value {
        Value::Scalar(value) => Value::Scalar(f(value)),
        Value::Series(series) => Value::Series(map_series(series, f)),
        Value::Array(array) => Value::Array(
            array
                .into_iter()
                .map(|series| map_series(series, f))
                .collect(),
        ),
    }
}

/// Applies `f` to every point of `series`, dropping non-finite results.
pub(super) fn map_series(series: TimeSeries, f: impl Fn(f64) -> f64) -> TimeSeries {
    TimeSeries {
        points: series
            .points
            .into_iter()
            .filter_map(|(at, value)| finite(f(value)).map(|value| (at, value)))
            .collect(),
        ..series
    }
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// The function of a binary operator over two numbers.
fn operation(op: BinaryOp) -> fn(f64, f64) -> f64 {
    match op {
        BinaryOp::Add => |a, b| a + b,
        BinaryOp::Subtract => |a, b| a - b,
        BinaryOp::Multiply => |a, b| a * b,
        BinaryOp::Divide => |a, b| a / b,
        BinaryOp::Power => f64::powf,
        BinaryOp::Equal => |a, b| truth(a == b),
        BinaryOp::NotEqual => |a, b| truth(a != b),
        BinaryOp::Less => |a, b| truth(a < b),
        BinaryOp::LessOrEqual => |a, b| truth(a <= b),
        BinaryOp::Greater => |a, b| truth(a > b),
        BinaryOp::GreaterOrEqual => |a, b| truth(a >= b),
        BinaryOp::And => |a, b| truth(a != 0.0 && b != 0.0),
        BinaryOp::Or => |a, b| truth(a != 0.0 || b != 0.0),
    }
}

/// Applies a binary operator to two values of any type; the error says which arrays do not
/// pair up.
pub(super) fn combine(op: BinaryOp, left: Value, right: Value) -> Result<Value, String> {
    let f = operation(op);
    Ok(match (left, right) {
        (Value::Scalar(a), Value::Scalar(b)) => Value::Scalar(f(a, b)),
        (Value::Series(a), Value::Scalar(b)) => Value::Series(map_series(a, |x| f(x, b))),
        (Value::Scalar(a), Value::Series(b)) => Value::Series(map_series(b, |x| f(a, x))),
        (Value::Series(a), Value::Series(b)) => Value::Series(zip_series(a, &b, f)),
        (Value::Array(array), other @ (Value::Scalar(_) | Value::Series(_))) => Value::Array(
            array
                .into_iter()
                .map(|series| combine_one(Value::Series(series), other.clone(), f))
                .collect(),
        ),
        (other @ (Value::Scalar(_) | Value::Series(_)), Value::Array(array)) => Value::Array(
            array
                .into_iter()
                .map(|series| combine_one(other.clone(), Value::Series(series), f))
                .collect(),
        ),
        (Value::Array(left), Value::Array(right)) => {
            if left.len() != right.len() {
                return Err(format!(
                    "an operator between two arrays pairs up their time series, but one has {} \
                     and the other {}",
                    left.len(),
                    right.len()
                ));
            }
            Value::Array(
                left.into_iter()
                    .zip(right)
                    .map(|(a, b)| zip_series(a, &b, f))
                    .collect(),
            )
        }
    })
}

/// A series combined with a number or a series.
fn combine_one(left: Value, right: Value, f: fn(f64, f64) -> f64) -> TimeSeries {
    match (left, right) {
        (Value::Series(a), Value::Scalar(b)) => map_series(a, |x| f(x, b)),
        (Value::Scalar(a), Value::Series(b)) => map_series(b, |x| f(a, x)),
        (Value::Series(a), Value::Series(b)) => zip_series(a, &b, f),
        // Not reached: the callers pass one series and one series-or-number.
        (_, _) => TimeSeries::default(),
    }
}

/// Two series point by point over every timestamp either has, a missing value counting as 0.
fn zip_series(left: TimeSeries, right: &TimeSeries, f: fn(f64, f64) -> f64) -> TimeSeries {
    let mut points = Series::new();
    for (&at, &a) in &left.points {
        let b = right.points.get(&at).copied().unwrap_or(0.0);
        if let Some(value) = finite(f(a, b)) {
            points.insert(at, value);
        }
    }
    for (&at, &b) in &right.points {
        if !left.points.contains_key(&at)
            && let Some(value) = finite(f(0.0, b))
        {
            points.insert(at, value);
        }
    }
    TimeSeries {
        period: if left.period == 0 {
            right.period
        } else {
            left.period
        },
        label: left.label,
        points,
    }
}
