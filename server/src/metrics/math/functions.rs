//! The functions of metric math: their names and argument counts, checked right after parsing,
//! and what each computes, as CloudWatch's "Functions supported for metric math" describes.
//!
//! Missing datapoints, function by function:
//! - `ABS`, `CEIL`, `FLOOR`, `DIFF`, `DIFF_TIME`, `RATE`, `RUNNING_SUM` work on the datapoints a
//!   series has; `DIFF`, `DIFF_TIME` and `RATE` compare each with the one before it, so the first
//!   datapoint has no result;
//! - `AVG`, `MIN`, `MAX`, `SUM`, `STDDEV` of one series use its datapoints; of an array they give
//!   a value at every timestamp any series has, from the series that have one there, except
//!   `AVG`, which counts a missing value as 0 as CloudWatch documents (the sum over the number of
//!   series); `STDDEV` is the population standard deviation;
//! - `FILL` fills every period of the query's range where the series has no datapoint.

use super::{
    MathError, Series, TimeSeries, Value,
    evaluate::{Evaluator, map_points},
    parse::{Expr, char_position},
};
use crate::metrics::EpochMillis;

/// Every function, in alphabetical order.
pub(super) const NAMES: &[&str] = &[
    "ABS",
    "AVG",
    "CEIL",
    "DIFF",
    "DIFF_TIME",
    "FILL",
    "FIRST",
    "FLOOR",
    "IF",
    "LAST",
    "MAX",
    "METRICS",
    "MIN",
    "PERIOD",
    "RATE",
    "REMOVE_EMPTY",
    "RUNNING_SUM",
    "SORT",
    "STDDEV",
    "SUM",
];

/// Fewest and most arguments of `name`, and the count in words for messages.
fn arity(name: &str) -> Option<(usize, usize, &'static str)> {
    Some(match name {
        "METRICS" => (0, 1, "no argument or one text argument"),
        "FILL" => (2, 2, "two arguments"),
        "IF" => (2, 3, "two or three arguments"),
        "SORT" => (3, 4, "three or four arguments"),
        name if NAMES.contains(&name) => (1, 1, "one argument"),
        _ => return None,
    })
}

/// The keywords argument `index` of `function` may be.
fn keywords(function: &str, index: usize) -> &'static [&'static str] {
    match (function, index) {
        ("FILL", 1) => &["REPEAT", "LINEAR"],
        ("SORT", 1) => &["AVG", "MIN", "MAX", "SUM", "STDDEV"],
        ("SORT", 2) => &["ASC", "DESC"],
        _ => &[],
    }
}

/// Whether `word` is a keyword of some function.
pub(super) fn is_keyword(word: &str) -> bool {
    [("FILL", 1), ("SORT", 1), ("SORT", 2)]
        .iter()
        .any(|&(function, index)| keywords(function, index).contains(&word))
}

/// Checks every call's name and argument count, and that keywords and text appear only where a
/// function takes them.
pub(super) fn check(tree: &Expr, text: &str) -> Result<(), MathError> {
    let invalid = |reason: String| MathError::InvalidArgument {
        expression: text.to_owned(),
        reason,
    };
    match tree {
        Expr::Number(_) | Expr::Id(_) => Ok(()),
        Expr::Text(value) => Err(invalid(format!(
            "the text \"{value}\" is only valid as METRICS' argument, e.g. METRICS(\"{value}\")"
        ))),
        Expr::Word { word, position } if is_keyword(word) => Err(invalid(format!(
            "`{word}` at position {} is not a value: it is a keyword of FILL (REPEAT, LINEAR) or \
             SORT (AVG, MIN, MAX, SUM, STDDEV, ASC, DESC) and only valid as their argument",
            char_position(text, *position)
        ))),
        // Any other capitalised word is a query id that no query can have (ids start with a
        // lower-case letter): the request's checks name it as an unknown reference.
        Expr::Word { .. } => Ok(()),
        Expr::Array(items) => items.iter().try_for_each(|item| check(item, text)),
        Expr::Negate(inner) | Expr::Not(inner) => check(inner, text),
        Expr::Binary(_, left, right) => {
            check(left, text)?;
            check(right, text)
        }
        Expr::Call {
            name,
            position,
            arguments,
        } => {
            let at = char_position(text, *position);
            let Some((fewest, most, expected)) = arity(name) else {
                return Err(MathError::UnknownFunction {
                    expression: text.to_owned(),
                    function: name.clone(),
                    position: at,
                });
            };
            if !(fewest..=most).contains(&arguments.len()) {
                return Err(MathError::ArgumentCount {
                    expression: text.to_owned(),
                    function: name.clone(),
                    position: at,
                    expected,
                    given: arguments.len(),
                });
            }
            for (index, argument) in arguments.iter().enumerate() {
                let allowed = keywords(name, index);
                match argument {
                    Expr::Word { word, .. } if !allowed.is_empty() => {
                        if !allowed.contains(&word.as_str()) {
                            return Err(invalid(wrong_keyword(name, index, word)));
                        }
                    }
                    Expr::Text(_) if name == "METRICS" => {}
                    _ if name == "METRICS" => {
                        return Err(invalid(
                            "METRICS' argument must be a text in double quotes, e.g. \
                             METRICS(\"errors\")"
                                .to_owned(),
                        ));
                    }
                    _ if !allowed.is_empty() && name == "SORT" => {
                        return Err(invalid(wrong_keyword(name, index, "a value")));
                    }
                    argument => check(argument, text)?,
                }
            }
            Ok(())
        }
    }
}

fn wrong_keyword(function: &str, index: usize, given: &str) -> String {
    match (function, index) {
        ("FILL", _) => format!(
            "FILL's second argument must be a number, a time series, REPEAT or LINEAR, not `{given}`"
        ),
        (_, 1) => format!(
            "SORT's second argument must be the function to sort by: AVG, MIN, MAX, SUM or \
             STDDEV, not `{given}`"
        ),
        _ => format!("SORT's third argument must be the order, ASC or DESC, not `{given}`"),
    }
}

/// Evaluates the call `name(arguments)`, whose count the checks have already verified.
pub(super) fn call(
    evaluator: &Evaluator<'_>,
    name: &str,
    position: usize,
    arguments: &[Expr],
) -> Result<Value, MathError> {
    let at = char_position(evaluator.text, position);
    let value_of = |index: usize| -> Result<Value, MathError> {
        match arguments.get(index) {
            Some(argument) => evaluator.value(argument),
            None => Err(evaluator.invalid(format!("{name} at position {at} misses an argument"))),
        }
    };
    let wrong_type =
        |what: &str| evaluator.invalid(format!("{name} at position {at} takes {what}"));
    let series_or_array = "a time series or an array of time series, not a number";
    match name {
        "ABS" => Ok(map_points(value_of(0)?, f64::abs)),
        "CEIL" => Ok(map_points(value_of(0)?, f64::ceil)),
        "FLOOR" => Ok(map_points(value_of(0)?, f64::floor)),
        "DIFF" | "DIFF_TIME" | "RATE" | "RUNNING_SUM" => {
            let transform = |series: TimeSeries| consecutive(name, series);
            match value_of(0)? {
                Value::Series(series) => Ok(Value::Series(transform(series))),
                Value::Array(array) => Ok(Value::Array(array.into_iter().map(transform).collect())),
                Value::Scalar(_) => Err(wrong_type(series_or_array)),
            }
        }
        "AVG" | "MIN" | "MAX" | "SUM" | "STDDEV" => {
            let aggregate = super::statistics::Aggregate::named(name)
                .ok_or_else(|| wrong_type(series_or_array))?;
            match value_of(0)? {
                Value::Series(series) => {
                    let values: Vec<f64> = series.points.values().copied().collect();
                    Ok(Value::Scalar(aggregate.of(&values)))
                }
                Value::Array(array) => Ok(Value::Series(aggregate.across(&array))),
                Value::Scalar(_) => Err(wrong_type(series_or_array)),
            }
        }
        "PERIOD" => match value_of(0)? {
            Value::Series(series) => Ok(Value::Scalar(f64::from(series.period))),
            _ => Err(wrong_type("one time series, e.g. PERIOD(m1)")),
        },
        "FIRST" | "LAST" | "REMOVE_EMPTY" => {
            let Value::Array(mut array) = value_of(0)? else {
                return Err(wrong_type(
                    "an array of time series, e.g. METRICS() or [m1, m2]",
                ));
            };
            Ok(match name {
                "REMOVE_EMPTY" => {
                    array.retain(|series| !series.points.is_empty());
                    Value::Array(array)
                }
                _ if array.is_empty() => Value::Array(array),
                "FIRST" => Value::Series(array.swap_remove(0)),
                _ => array.pop().map_or(Value::Array(Vec::new()), Value::Series),
            })
        }
        "METRICS" => {
            let filter = match arguments.first() {
                Some(Expr::Text(filter)) => filter.as_str(),
                _ => "",
            };
            let context = evaluator.context;
            let array = context
                .metric_ids
                .iter()
                .filter(|id| id.contains(filter))
                .filter_map(|id| match context.values.get(id) {
                    Some(Value::Series(series)) => Some(series.clone()),
                    _ => None,
                })
                .collect();
            Ok(Value::Array(array))
        }
        "SORT" => super::statistics::sort(evaluator, arguments, value_of(0)?, &wrong_type),
        "FILL" => super::fill::fill(evaluator, arguments, value_of(0)?, &wrong_type),
        "IF" => {
            let otherwise = if arguments.len() > 2 {
                Some(value_of(2)?)
            } else {
                None
            };
            if_then(value_of(0)?, value_of(1)?, otherwise).map_err(wrong_type)
        }
        _ => Err(MathError::UnknownFunction {
            expression: evaluator.text.to_owned(),
            function: name.to_owned(),
            position: at,
        }),
    }
}

/// `DIFF`, `DIFF_TIME`, `RATE` and `RUNNING_SUM` of one series.
fn consecutive(name: &str, series: TimeSeries) -> TimeSeries {
    let mut points = Series::new();
    let mut previous: Option<(EpochMillis, f64)> = None;
    let mut total = 0.0;
    for (&at, &value) in &series.points {
        let result = match (name, previous) {
            ("RUNNING_SUM", _) => {
                total += value;
                Some(total)
            }
            ("DIFF", Some((_, before))) => Some(value - before),
            ("DIFF_TIME", Some((then, _))) => Some((at - then) as f64 / 1000.0),
            // Per second, over the time between the two datapoints.
            ("RATE", Some((then, before))) => {
                Some((value - before) / ((at - then) as f64 / 1000.0))
            }
            _ => None,
        };
        if let Some(result) = result.filter(|result| result.is_finite()) {
            points.insert(at, result);
        }
        previous = Some((at, value));
    }
    TimeSeries { points, ..series }
}

pub(super) type WrongType<'a> = dyn Fn(&str) -> MathError + 'a;

/// `IF(condition, a[, b])`, per CloudWatch's "Using IF expressions": a series condition decides
/// at each of its own timestamps; where it is true and `a` is a series without a point there,
/// the result is 0; where it is false and `b` is missing or has no point there, there is none.
fn if_then(condition: Value, then: Value, otherwise: Option<Value>) -> Result<Value, &'static str> {
    match condition {
        Value::Scalar(condition) => Ok(if condition != 0.0 {
            then
        } else {
            otherwise.unwrap_or_else(|| Value::Series(TimeSeries::default()))
        }),
        Value::Series(condition) => {
            if_series(condition, &then, otherwise.as_ref()).map(Value::Series)
        }
        Value::Array(conditions) => conditions
            .into_iter()
            .map(|condition| if_series(condition, &then, otherwise.as_ref()))
            .collect::<Result<_, _>>()
            .map(Value::Array),
    }
}

fn if_series(
    condition: TimeSeries,
    then: &Value,
    otherwise: Option<&Value>,
) -> Result<TimeSeries, &'static str> {
    let not_array = "a number or a time series as its second and third arguments, not an array";
    if matches!(then, Value::Array(_)) || matches!(otherwise, Some(Value::Array(_))) {
        return Err(not_array);
    }
    let mut points = Series::new();
    for (&at, &test) in &condition.points {
        let value = if test != 0.0 {
            match then {
                Value::Series(series) => Some(series.points.get(&at).copied().unwrap_or(0.0)),
                Value::Scalar(value) => Some(*value),
                Value::Array(_) => None,
            }
        } else {
            match otherwise {
                Some(Value::Series(series)) => series.points.get(&at).copied(),
                Some(Value::Scalar(value)) => Some(*value),
                _ => None,
            }
        };
        if let Some(value) = value.filter(|value| value.is_finite()) {
            points.insert(at, value);
        }
    }
    let label = match then {
        Value::Series(series) => series.label.clone(),
        _ => condition.label.clone(),
    };
    Ok(TimeSeries {
        label,
        period: condition.period,
        points,
    })
}
