//! The values and operators of one evaluation: an operand is a constant or a whole series, and
//! each operator maps whole operands, so one pass over the expression computes the whole result.

use std::{collections::BTreeSet, str::FromStr, sync::Arc};

use exmex::{BinOp, MakeOperators, Operator};

use super::{FILL, Series};
use crate::metrics::EpochMillis;

/// One value during evaluation: a constant, a series, or the reason the expression is invalid.
#[derive(Debug, Clone)]
pub(super) enum Operand {
    /// A number that applies at every timestamp.
    Constant(f64),
    /// A series, with every timestamp of the expression's inputs (what `FILL` fills over).
    Series {
        points: Series,
        domain: Arc<BTreeSet<EpochMillis>>,
    },
    /// The expression cannot be evaluated; the reason travels to the result.
    Invalid(&'static str),
}

impl Default for Operand {
    // exmex uses the default only as a placeholder while it moves operands around.
    fn default() -> Self {
        Self::Invalid("an operand is missing")
    }
}

impl FromStr for Operand {
    type Err = std::num::ParseFloatError;

    // Every literal is a float, so `1/2` is 0.5 and never integer division.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(Self::Constant)
    }
}

/// The operators of metric math, over [`Operand`]s.
#[derive(Debug, Clone)]
pub(super) struct SeriesOperators;

impl MakeOperators<Operand> for SeriesOperators {
    fn make<'a>() -> Vec<Operator<'a, Operand>> {
        vec![
            Operator::make_bin_unary(
                "-",
                BinOp {
                    apply: |left, right| combine(left, right, |a, b| a - b),
                    prio: 0,
                    is_commutative: false,
                },
                negate,
            ),
            Operator::make_bin(
                "+",
                BinOp {
                    apply: |left, right| combine(left, right, |a, b| a + b),
                    prio: 0,
                    is_commutative: true,
                },
            ),
            Operator::make_bin(
                "*",
                BinOp {
                    apply: |left, right| combine(left, right, |a, b| a * b),
                    prio: 1,
                    is_commutative: true,
                },
            ),
            Operator::make_bin(
                "/",
                BinOp {
                    apply: |left, right| combine(left, right, |a, b| a / b),
                    prio: 1,
                    is_commutative: false,
                },
            ),
            // exmex lets any binary operator be called as `OP(a, b)`: this is `FILL(m1, 0)`.
            Operator::make_bin(
                FILL,
                BinOp {
                    apply: fill,
                    prio: 2,
                    is_commutative: false,
                },
            ),
        ]
    }
}

/// Unary minus.
fn negate(operand: Operand) -> Operand {
    match operand {
        Operand::Constant(value) => Operand::Constant(-value),
        Operand::Series { points, domain } => Operand::Series {
            points: points.into_iter().map(|(at, value)| (at, -value)).collect(),
            domain,
        },
        invalid @ Operand::Invalid(_) => invalid,
    }
}

/// Applies `op` point by point: series with series only where both have a point, a constant at
/// every point, and a non-finite result is no point.
fn combine(left: Operand, right: Operand, op: fn(f64, f64) -> f64) -> Operand {
    let finite = |(at, value): (EpochMillis, f64)| value.is_finite().then_some((at, value));
    match (left, right) {
        (invalid @ Operand::Invalid(_), _) | (_, invalid @ Operand::Invalid(_)) => invalid,
        (Operand::Constant(a), Operand::Constant(b)) => Operand::Constant(op(a, b)),
        (Operand::Series { points, domain }, Operand::Constant(b)) => Operand::Series {
            points: points
                .into_iter()
                .filter_map(|(at, a)| finite((at, op(a, b))))
                .collect(),
            domain,
        },
        (Operand::Constant(a), Operand::Series { points, domain }) => Operand::Series {
            points: points
                .into_iter()
                .filter_map(|(at, b)| finite((at, op(a, b))))
                .collect(),
            domain,
        },
        (Operand::Series { points, domain }, Operand::Series { points: other, .. }) => {
            Operand::Series {
                points: points
                    .into_iter()
                    .filter_map(|(at, a)| other.get(&at).and_then(|&b| finite((at, op(a, b)))))
                    .collect(),
                domain,
            }
        }
    }
}

/// `FILL(series, value)`: the series, plus `value` at every timestamp of the expression's inputs
/// where the series has no point. `value` is a constant or another series.
fn fill(target: Operand, value: Operand) -> Operand {
    let (mut points, domain) = match target {
        Operand::Series { points, domain } => (points, domain),
        Operand::Constant(_) => {
            return Operand::Invalid("FILL's first argument must be a series (a query id)");
        }
        invalid @ Operand::Invalid(_) => return invalid,
    };
    for &at in domain.iter() {
        if points.contains_key(&at) {
            continue;
        }
        let filler = match &value {
            Operand::Constant(constant) => Some(*constant),
            Operand::Series { points: other, .. } => other.get(&at).copied(),
            Operand::Invalid(reason) => return Operand::Invalid(reason),
        };
        if let Some(filler) = filler.filter(|filler| filler.is_finite()) {
            points.insert(at, filler);
        }
    }
    Operand::Series { points, domain }
}
