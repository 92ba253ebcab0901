//! The statistics of metric math (`AVG`, `MIN`, `MAX`, `SUM`, `STDDEV`) of one series or across
//! an array, and `SORT`, which orders an array by one of them.

use super::{MathError, TimeSeries, Value, evaluate::Evaluator, functions::WrongType, parse::Expr};
use crate::metrics::EpochMillis;

/// A statistic over the values of a series, for `AVG`, `MIN`, `MAX`, `SUM`, `STDDEV` and `SORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aggregate {
    Avg,
    Min,
    Max,
    Sum,
    Stddev,
}

impl Aggregate {
    pub(super) fn named(name: &str) -> Option<Self> {
        Some(match name {
            "AVG" => Self::Avg,
            "MIN" => Self::Min,
            "MAX" => Self::Max,
            "SUM" => Self::Sum,
            "STDDEV" => Self::Stddev,
            _ => return None,
        })
    }

    /// The statistic of `values`; `NaN` when there are none (and no point results from it).
    pub(super) fn of(self, values: &[f64]) -> f64 {
        if values.is_empty() {
            return f64::NAN;
        }
        let count = values.len() as f64;
        let sum: f64 = values.iter().sum();
        match self {
            Self::Avg => sum / count,
            Self::Sum => sum,
            Self::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Self::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Self::Stddev => {
                let mean = sum / count;
                let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
                (squares / count).sqrt()
            }
        }
    }

    /// One series with the statistic at every timestamp of any series of `array`.
    pub(super) fn across(self, array: &[TimeSeries]) -> TimeSeries {
        let mut at_each: std::collections::BTreeMap<EpochMillis, Vec<f64>> = Default::default();
        for series in array {
            for (&at, &value) in &series.points {
                at_each.entry(at).or_default().push(value);
            }
        }
        let points = at_each
            .into_iter()
            .filter_map(|(at, values)| {
                let value = match self {
                    // CloudWatch's AVG of an array counts a missing value as 0.
                    Self::Avg => values.iter().sum::<f64>() / array.len() as f64,
                    other => other.of(&values),
                };
                value.is_finite().then_some((at, value))
            })
            .collect();
        TimeSeries {
            label: String::new(),
            period: array.first().map_or(0, |series| series.period),
            points,
        }
    }
}

/// `SORT(array, FUNCTION, ASC|DESC[, limit])`; series without datapoints sort last.
pub(super) fn sort(
    evaluator: &Evaluator<'_>,
    arguments: &[Expr],
    array: Value,
    wrong_type: &WrongType<'_>,
) -> Result<Value, MathError> {
    let Value::Array(array) = array else {
        return Err(wrong_type(
            "an array of time series first, e.g. SORT(METRICS(), AVG, DESC)",
        ));
    };
    let word = |index: usize| match arguments.get(index) {
        Some(Expr::Word { word, .. }) => word.as_str(),
        _ => "",
    };
    let aggregate = Aggregate::named(word(1)).unwrap_or(Aggregate::Avg);
    let descending = word(2) == "DESC";
    let limit = match arguments.get(3) {
        None => None,
        Some(argument) => match evaluator.value(argument)? {
            Value::Scalar(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as usize),
            _ => return Err(wrong_type("a whole number of at least 0 as its limit")),
        },
    };
    let mut keyed: Vec<(f64, TimeSeries)> = array
        .into_iter()
        .map(|series| {
            let values: Vec<f64> = series.points.values().copied().collect();
            (aggregate.of(&values), series)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ if descending => b.total_cmp(a),
        _ => a.total_cmp(b),
    });
    let sorted = keyed.into_iter().map(|(_, series)| series);
    Ok(Value::Array(match limit {
        Some(limit) => sorted.take(limit).collect(),
        None => sorted.collect(),
    }))
}
