//! `FILL`: what it fills a series' gaps with (a number, another series' value at the same
//! timestamp, the last real value before the gap for `REPEAT`, or a linear interpolation between
//! the real values around the gap for `LINEAR`) and where: every period of the query's range, at
//! the series' own period, where the series has no datapoint. `REPEAT` leaves the periods before
//! the first datapoint empty and `LINEAR` those before the first and after the last, since they
//! have no value on one side.

use super::{MathError, TimeSeries, Value, evaluate::Evaluator, functions::WrongType, parse::Expr};
use crate::metrics::EpochMillis;

/// How `FILL` fills a gap.
enum Filler {
    Value(Value),
    Repeat,
    Linear,
}

/// `FILL(series | array, number | series | REPEAT | LINEAR)` over every period of the range.
pub(super) fn fill(
    evaluator: &Evaluator<'_>,
    arguments: &[Expr],
    target: Value,
    wrong_type: &WrongType<'_>,
) -> Result<Value, MathError> {
    let filler = match arguments.get(1) {
        Some(Expr::Word { word, .. }) if word == "REPEAT" => Filler::Repeat,
        Some(Expr::Word { word, .. }) if word == "LINEAR" => Filler::Linear,
        Some(argument) => match evaluator.value(argument)? {
            Value::Array(_) => {
                return Err(evaluator.invalid(
                    "FILL's second argument must be a number, a time series, REPEAT or LINEAR, \
                     not an array"
                        .to_owned(),
                ));
            }
            value => Filler::Value(value),
        },
        None => Filler::Value(Value::Scalar(0.0)),
    };
    let context = evaluator.context;
    let fill_one = |series: TimeSeries| {
        // Every period of the range, at the series' own period (a minute when unknown).
        let step = EpochMillis::from(series.period.max(60)) * 1000;
        let grid = (0..)
            .map(|n| context.start + n * step)
            .take_while(|&at| at < context.end);
        fill_series(series, grid, &filler)
    };
    match target {
        Value::Series(series) => Ok(Value::Series(fill_one(series))),
        Value::Array(array) => Ok(Value::Array(array.into_iter().map(fill_one).collect())),
        Value::Scalar(_) => Err(wrong_type(
            "a time series or an array of time series first, e.g. FILL(m1, 0)",
        )),
    }
}

fn fill_series(
    series: TimeSeries,
    grid: impl Iterator<Item = EpochMillis>,
    filler: &Filler,
) -> TimeSeries {
    let original = series.points.clone();
    let mut points = series.points;
    for at in grid {
        if original.contains_key(&at) {
            continue;
        }
        let value = match filler {
            Filler::Value(Value::Scalar(value)) => Some(*value),
            Filler::Value(Value::Series(other)) => other.points.get(&at).copied(),
            Filler::Value(Value::Array(_)) => None,
            // The most recent real value before the gap; none before the first datapoint.
            Filler::Repeat => original.range(..at).next_back().map(|(_, &value)| value),
            // Between the real values on both sides of the gap; none at either end.
            Filler::Linear => {
                let before = original.range(..at).next_back();
                let after = original.range(at..).next();
                match (before, after) {
                    (Some((&t0, &v0)), Some((&t1, &v1))) => {
                        Some(v0 + (v1 - v0) * (at - t0) as f64 / (t1 - t0) as f64)
                    }
                    _ => None,
                }
            }
        };
        if let Some(value) = value.filter(|value| value.is_finite()) {
            points.insert(at, value);
        }
    }
    TimeSeries { points, ..series }
}
