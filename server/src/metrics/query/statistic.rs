//! The statistics a `MetricStat` can ask for, and how each is computed from a statistic set.

use std::{fmt, str::FromStr};

use crate::metrics::store::StatisticSet;

/// A statistic GetMetricData computes over each period: CloudWatch's names and meanings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// `Sum`: the total of the values.
    Sum,
    /// `Average`: `Sum / SampleCount`.
    Average,
    /// `Minimum`: the smallest value.
    Minimum,
    /// `Maximum`: the largest value.
    Maximum,
    /// `SampleCount`: the number of values.
    SampleCount,
    /// `pNN` or `pNN.NN`: the percentile, from 0 to 100.
    Percentile(f64),
}

/// A `Stat` that is none of the statistics above.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown statistic {0:?}: use Sum, Average, Minimum, Maximum, SampleCount or a percentile \
     from p0 to p100 with at most two decimals (p50, p99, p99.9)"
)]
pub struct UnknownStatistic(pub String);

impl Statistic {
    /// The statistic's value for the values in `set`, or `None` when it has none (an empty set,
    /// or a percentile CloudWatch would not compute).
    pub fn value_of(self, set: &StatisticSet) -> Option<f64> {
        if set.is_empty() {
            return None;
        }
        match self {
            Self::Sum => Some(set.sum),
            Self::Average => set.average(),
            Self::Minimum => Some(set.minimum),
            Self::Maximum => Some(set.maximum),
            Self::SampleCount => Some(set.sample_count as f64),
            Self::Percentile(p) => set.percentile(p),
        }
    }

    /// Whether computing this statistic needs the sets' histograms.
    pub fn needs_histogram(self) -> bool {
        matches!(self, Self::Percentile(_))
    }
}

impl FromStr for Statistic {
    type Err = UnknownStatistic;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownStatistic(text.to_owned());
        Ok(match text {
            "Sum" => Self::Sum,
            "Average" => Self::Average,
            "Minimum" => Self::Minimum,
            "Maximum" => Self::Maximum,
            "SampleCount" => Self::SampleCount,
            _ => {
                let number = text.strip_prefix('p').ok_or_else(unknown)?;
                let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
                let digits = |part: &str, max: usize| {
                    part.len() <= max && part.bytes().all(|b| b.is_ascii_digit())
                };
                // CloudWatch accepts `pNN.NN`: up to two decimals, from p0 to p100.
                let well_formed = !whole.is_empty()
                    && digits(whole, 3)
                    && digits(decimals, 2)
                    && !(number.contains('.') && decimals.is_empty());
                let p: f64 = number.parse().map_err(|_| unknown())?;
                if !well_formed || !(0.0..=100.0).contains(&p) {
                    return Err(unknown());
                }
                Self::Percentile(p)
            }
        })
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sum => f.write_str("Sum"),
            Self::Average => f.write_str("Average"),
            Self::Minimum => f.write_str("Minimum"),
            Self::Maximum => f.write_str("Maximum"),
            Self::SampleCount => f.write_str("SampleCount"),
            Self::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn parses_cloudwatch_statistic_names() {
        assert_eq!("Sum".parse(), Ok(Statistic::Sum));
        assert_eq!("SampleCount".parse(), Ok(Statistic::SampleCount));
        assert_eq!("p99".parse(), Ok(Statistic::Percentile(99.0)));
        assert_eq!("p99.9".parse(), Ok(Statistic::Percentile(99.9)));
        assert_eq!("p95.45".parse(), Ok(Statistic::Percentile(95.45)));
        assert_eq!("p0".parse(), Ok(Statistic::Percentile(0.0)));
        assert_eq!("p100".parse(), Ok(Statistic::Percentile(100.0)));
    }

    #[test]
    fn rejects_anything_else() {
        for text in [
            "sum", "Avg", "p", "p101", "p-1", "p99.999", "p99.", "p.5", "P99", "p 99", "p1e2",
            "pNaN", "tm99", "",
        ] {
            assert!(
                text.parse::<Statistic>().is_err(),
                "{text:?} should be rejected"
            );
        }
    }

    #[test]
    fn displays_as_written() {
        assert_eq!(Statistic::Percentile(99.9).to_string(), "p99.9");
        assert_eq!(Statistic::Average.to_string(), "Average");
    }
}
