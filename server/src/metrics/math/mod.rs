//! Metric math: CloudWatch-style expressions such as `100 * m2 / (m1 + m2)` over other queries'
//! time series.
//!
//! Parsing is done by [`exmex`], with this module's own operand type: a value is either a constant
//! or a whole time series, so one evaluation of the expression computes the whole result series.
//!
//! Supported: query ids as series, numeric constants (`2`, `0.5`, `.5`; all arithmetic is floating
//! point, so `1/2` is `0.5`), `+ - * /`, unary minus, parentheses and `FILL(series, value)`.
//!
//! Semantics, as in CloudWatch metric math:
//! - arithmetic between two series happens only at the timestamps where both have a point;
//! - a constant applies at every timestamp of the series it meets;
//! - a non-finite result (division by zero, `0/0`) is no point, never an infinity or a `NaN`;
//! - `FILL(m1, 0)` gives `m1` a point at every timestamp where any series referenced by the whole
//!   expression has one, using the value (a constant, or another series' point) where `m1` has
//!   none.

mod operators;

use std::{
    borrow::Borrow,
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use exmex::{Express, FlatEx};

use self::operators::{Operand, SeriesOperators};
use super::EpochMillis;

/// A time series: one value per timestamp (the start of its period), oldest first.
pub type Series = BTreeMap<EpochMillis, f64>;

/// Longest expression accepted, in characters: CloudWatch's limit for `Expression`.
pub const MAX_EXPRESSION_LENGTH: usize = 2048;

/// The only function supported besides the arithmetic operators.
const FILL: &str = "FILL";

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
    /// A character outside the expression language.
    #[error(
        "unexpected character {character:?} at position {position} in `{expression}`: use query ids, \
         numbers, `+ - * /`, parentheses and FILL(series, value)"
    )]
    UnexpectedCharacter {
        /// The expression.
        expression: String,
        /// The character.
        character: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
    /// A call to a function other than `FILL`.
    #[error(
        "unknown function `{function}` in `{expression}`: the only function supported is \
         FILL(series, value), in upper case"
    )]
    UnknownFunction {
        /// The expression.
        expression: String,
        /// The function's name as written.
        function: String,
    },
    /// The expression does not parse.
    #[error(
        "cannot parse `{expression}`: {reason}; write query ids, numbers, `+ - * /` and \
         parentheses, e.g. `100 * m2 / (m1 + m2)`"
    )]
    Syntax {
        /// The expression.
        expression: String,
        /// What the parser reported.
        reason: String,
    },
    /// The expression parses but its operands do not fit, e.g. `FILL(0, m1)`.
    #[error("cannot evaluate `{expression}`: {reason}")]
    InvalidOperands {
        /// The expression.
        expression: String,
        /// What does not fit.
        reason: String,
    },
    /// The expression evaluates to a single number rather than a time series.
    #[error(
        "`{expression}` evaluates to a single number, not a time series: reference at least one \
         query id, e.g. `{expression} * m1 / m1`"
    )]
    NotASeries {
        /// The expression.
        expression: String,
    },
    /// A referenced id has no series among the inputs.
    #[error("`{expression}` references `{id}`, which is not among the inputs")]
    MissingInput {
        /// The expression.
        expression: String,
        /// The id without a series.
        id: String,
    },
}

/// A parsed metric-math expression, ready to be evaluated many times.
#[derive(Debug, Clone)]
pub struct MathExpression {
    text: String,
    // Boxed: exmex keeps its small vectors inline, which makes a parsed expression ~20 KB.
    parsed: Box<FlatEx<Operand, SeriesOperators>>,
}

impl MathExpression {
    /// Parses `text`, checking its characters, functions and syntax.
    pub fn parse(text: &str) -> Result<Self, MathError> {
        check_text(text)?;
        let parsed =
            FlatEx::<Operand, SeriesOperators>::parse(text).map_err(|error| MathError::Syntax {
                expression: text.to_owned(),
                reason: error.msg().to_owned(),
            })?;
        Ok(Self {
            text: text.to_owned(),
            parsed: Box::new(parsed),
        })
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The query ids the expression references, sorted and without duplicates.
    pub fn referenced_ids(&self) -> &[String] {
        self.parsed.var_names()
    }

    /// Evaluates the expression over `inputs`, which must hold a series for every referenced id
    /// (other entries are ignored).
    pub fn evaluate<K>(&self, inputs: &BTreeMap<K, Series>) -> Result<Series, MathError>
    where
        K: Borrow<str> + Ord,
    {
        let names = self.parsed.var_names();
        let mut referenced = Vec::with_capacity(names.len());
        for name in names {
            let series = inputs
                .get(name.as_str())
                .ok_or_else(|| MathError::MissingInput {
                    expression: self.text.clone(),
                    id: name.clone(),
                })?;
            referenced.push(series);
        }
        // FILL fills over every timestamp of the series this expression references.
        let domain: Arc<BTreeSet<EpochMillis>> = Arc::new(
            referenced
                .iter()
                .flat_map(|series| series.keys().copied())
                .collect(),
        );
        let operands = referenced
            .into_iter()
            .map(|series| Operand::Series {
                points: series.clone(),
                domain: Arc::clone(&domain),
            })
            .collect();
        let result =
            self.parsed
                .eval_vec(operands)
                .map_err(|error| MathError::InvalidOperands {
                    expression: self.text.clone(),
                    reason: error.msg().to_owned(),
                })?;
        match result {
            Operand::Series { points, .. } => Ok(points),
            Operand::Constant(_) => Err(MathError::NotASeries {
                expression: self.text.clone(),
            }),
            Operand::Invalid(reason) => Err(MathError::InvalidOperands {
                expression: self.text.clone(),
                reason: reason.to_owned(),
            }),
        }
    }
}

/// The query ids `expression` references, sorted and without duplicates.
pub fn referenced_ids(expression: &str) -> Result<Vec<String>, MathError> {
    Ok(MathExpression::parse(expression)?.referenced_ids().to_vec())
}

/// Parses and evaluates `expression` over `inputs` (query id → series) in one go.
pub fn evaluate<K>(expression: &str, inputs: &BTreeMap<K, Series>) -> Result<Series, MathError>
where
    K: Borrow<str> + Ord,
{
    MathExpression::parse(expression)?.evaluate(inputs)
}

/// Rejects what the parser would accept but metric math does not have (exmex's `{any name}`
/// variables, Greek letters), and names unknown functions, before the parser gives a vaguer error.
fn check_text(text: &str) -> Result<(), MathError> {
    let length = text.chars().count();
    if length > MAX_EXPRESSION_LENGTH {
        return Err(MathError::TooLong { length });
    }
    if text.trim().is_empty() {
        return Err(MathError::Empty);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || " \t\r\n_+-*/().,".contains(c);
    if let Some((position, character)) = text.chars().enumerate().find(|&(_, c)| !allowed(c)) {
        return Err(MathError::UnexpectedCharacter {
            expression: text.to_owned(),
            character,
            position,
        });
    }
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
        if !is_word(bytes[index]) {
            index += 1;
            continue;
        }
        let start = index;
        while index < bytes.len() && is_word(bytes[index]) {
            index += 1;
        }
        let word = &text[start..index];
        let next = text[index..].trim_start().chars().next();
        let is_name = word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if is_name && next == Some('(') && word != FILL {
            return Err(MathError::UnknownFunction {
                expression: text.to_owned(),
                function: word.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn series(points: &[(EpochMillis, f64)]) -> Series {
        points.iter().copied().collect()
    }

    fn inputs(named: &[(&'static str, Series)]) -> BTreeMap<&'static str, Series> {
        named.iter().cloned().collect()
    }

    #[test]
    fn constants_divide_as_floats() {
        let m1 = series(&[(0, 4.0)]);
        let result = evaluate("m1 * (1/2)", &inputs(&[("m1", m1)])).unwrap();
        assert_eq!(result, series(&[(0, 2.0)]));
    }

    #[test]
    fn subtraction_is_left_associative() {
        let m1 = series(&[(0, 8.0)]);
        let result = evaluate("m1 - 2 - 1", &inputs(&[("m1", m1)])).unwrap();
        assert_eq!(result, series(&[(0, 5.0)]));
    }

    #[test]
    fn unary_minus_and_precedence() {
        let m1 = series(&[(0, 3.0)]);
        let result = evaluate("2 * -m1 + 10 / 5", &inputs(&[("m1", m1)])).unwrap();
        assert_eq!(result, series(&[(0, -4.0)]));
    }

    #[test]
    fn series_meet_only_where_both_have_points() {
        let m1 = series(&[(0, 1.0), (60_000, 2.0)]);
        let m2 = series(&[(60_000, 10.0), (120_000, 20.0)]);
        let result = evaluate("m1 + m2", &inputs(&[("m1", m1), ("m2", m2)])).unwrap();
        assert_eq!(result, series(&[(60_000, 12.0)]));
    }

    #[test]
    fn division_by_zero_gives_no_point() {
        let m1 = series(&[(0, 1.0), (60_000, 0.0)]);
        let m2 = series(&[(0, 0.0), (60_000, 0.0)]);
        let result = evaluate("m1 / m2", &inputs(&[("m1", m1), ("m2", m2)])).unwrap();
        assert!(result.is_empty(), "{result:?}");
    }

    #[test]
    fn fill_uses_the_timestamps_of_every_referenced_series() {
        let errors = series(&[(60_000, 1.0)]);
        let invocations = series(&[(0, 10.0), (60_000, 10.0), (120_000, 5.0)]);
        let result = evaluate(
            "100 * FILL(errors, 0) / invocations",
            &inputs(&[("errors", errors), ("invocations", invocations)]),
        )
        .unwrap();
        assert_eq!(result, series(&[(0, 0.0), (60_000, 10.0), (120_000, 0.0)]));
    }

    #[test]
    fn fill_needs_a_series_first() {
        let m1 = series(&[(0, 1.0)]);
        let error = evaluate("FILL(0, m1)", &inputs(&[("m1", m1)])).unwrap_err();
        assert!(
            matches!(error, MathError::InvalidOperands { .. }),
            "{error}"
        );
    }

    #[test]
    fn referenced_ids_are_sorted_and_unique() {
        assert_eq!(
            referenced_ids("100 * m2 / (m1 + m2)").unwrap(),
            vec!["m1".to_owned(), "m2".to_owned()]
        );
    }

    #[test]
    fn a_constant_alone_is_not_a_series() {
        let error = evaluate::<&str>("1 + 2", &BTreeMap::new()).unwrap_err();
        assert!(matches!(error, MathError::NotASeries { .. }), "{error}");
    }

    #[test]
    fn syntax_errors_quote_the_expression() {
        for text in ["m1 +", "(m1", "m1 m2", "m1 ** 2"] {
            let error = MathExpression::parse(text).unwrap_err();
            assert!(error.to_string().contains(text), "{text}: {error}");
        }
    }

    #[test]
    fn unknown_functions_and_characters_are_named() {
        let error = MathExpression::parse("RATE(m1)").unwrap_err();
        assert!(
            matches!(error, MathError::UnknownFunction { ref function, .. } if function == "RATE")
        );
        let error = MathExpression::parse("m1 % 2").unwrap_err();
        assert!(matches!(
            error,
            MathError::UnexpectedCharacter {
                character: '%',
                position: 3,
                ..
            }
        ));
        let error = MathExpression::parse("{m1}").unwrap_err();
        assert!(matches!(
            error,
            MathError::UnexpectedCharacter { character: '{', .. }
        ));
    }

    #[test]
    fn empty_and_over_long_expressions_are_rejected() {
        assert_eq!(MathExpression::parse("  ").unwrap_err(), MathError::Empty);
        let long = "m1+".repeat(700) + "m1";
        assert!(matches!(
            MathExpression::parse(&long).unwrap_err(),
            MathError::TooLong { .. }
        ));
    }

    #[test]
    fn missing_inputs_are_named() {
        let error = evaluate("m1 + m2", &inputs(&[("m1", series(&[]))])).unwrap_err();
        assert!(matches!(error, MathError::MissingInput { ref id, .. } if id == "m2"));
    }

    #[test]
    fn arbitrary_text_never_panics() {
        // A small deterministic fuzz over the accepted alphabet.
        let alphabet: Vec<char> = "m1e2 +-*/().,FILL0_".chars().collect();
        let m1 = series(&[(0, 1.0)]);
        let named = inputs(&[("m1", m1.clone()), ("e2", m1)]);
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            if let Ok(expression) = MathExpression::parse(&text) {
                let _ = expression.evaluate(&named);
            }
        }
    }
}
