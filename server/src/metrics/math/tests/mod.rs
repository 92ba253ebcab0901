//! Specifications of metric math: the grammar, then each operator and function against the
//! examples of CloudWatch's "Using metric math" page, missing datapoints included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use super::*;

mod functions;

const MINUTE: EpochMillis = 60_000;

/// A one-minute series from time 0: `None` is a missing datapoint.
fn minutes(values: &[Option<f64>]) -> TimeSeries {
    TimeSeries {
        label: String::new(),
        period: 60,
        points: values
            .iter()
            .enumerate()
            .filter_map(|(n, value)| value.map(|value| (n as EpochMillis * MINUTE, value)))
            .collect(),
    }
}

fn all(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().copied().map(Some).collect()
}

/// Named metric series, five minutes long, evaluated in a context where they are the metrics.
struct Lab {
    values: BTreeMap<String, Value>,
    metric_ids: Vec<String>,
    minutes: i64,
}

impl Lab {
    fn new(metrics: &[(&str, &[Option<f64>])]) -> Self {
        let mut values = BTreeMap::new();
        let mut metric_ids = Vec::new();
        let mut longest = 1;
        for (id, points) in metrics {
            let mut series = minutes(points);
            series.label = format!("label of {id}");
            longest = longest.max(points.len());
            values.insert((*id).to_owned(), Value::Series(series));
            metric_ids.push((*id).to_owned());
        }
        Self {
            values,
            metric_ids,
            minutes: longest as i64,
        }
    }

    fn with_expression(mut self, id: &str, value: Value) -> Self {
        self.values.insert(id.to_owned(), value);
        self
    }

    fn value(&self, text: &str) -> Result<Value, MathError> {
        let context = Context {
            start: 0,
            end: self.minutes * MINUTE,
            values: &self.values,
            metric_ids: &self.metric_ids,
        };
        MathExpression::parse(text)?.evaluate(&context)
    }

    /// The values of a single-series result, minute by minute, `None` where there is no point.
    fn series(&self, text: &str) -> Vec<Option<f64>> {
        match self.value(text) {
            Ok(Value::Series(series)) => self.spread(&series),
            other => panic!("{text}: expected one series, got {other:?}"),
        }
    }

    fn array(&self, text: &str) -> Vec<(String, Vec<Option<f64>>)> {
        match self.value(text) {
            Ok(Value::Array(array)) => array
                .iter()
                .map(|series| (series.label.clone(), self.spread(series)))
                .collect(),
            other => panic!("{text}: expected an array, got {other:?}"),
        }
    }

    fn spread(&self, series: &TimeSeries) -> Vec<Option<f64>> {
        (0..self.minutes)
            .map(|n| series.points.get(&(n * MINUTE)).copied())
            .collect()
    }

    fn error(&self, text: &str) -> MathError {
        self.value(text).unwrap_err()
    }
}

fn message_of(error: &MathError) -> String {
    let message = error.to_string();
    for internal in ["ops", "node", "Backtrack", "ContextError", "ErrMode"] {
        assert!(
            !message.contains(internal),
            "parser internals in {message:?}"
        );
    }
    message
}

mod grammar;

// ---------------------------------------------------------------------------------------------
// Arithmetic

#[test]
fn constants_divide_as_floats_and_scientific_notation_is_a_number() {
    let lab = Lab::new(&[("m1", &all(&[4.0]))]);
    assert_eq!(lab.series("m1 * (1/2)"), vec![Some(2.0)]);
    assert_eq!(lab.series("2e2*m1"), vec![Some(800.0)]);
    assert_eq!(lab.series("m1 * 1.5E-3"), vec![Some(0.006)]);
}

#[test]
fn subtraction_is_left_associative_and_unary_minus_binds_tightly() {
    let lab = Lab::new(&[("m1", &all(&[8.0]))]);
    assert_eq!(lab.series("m1 - 2 - 1"), vec![Some(5.0)]);
    assert_eq!(lab.series("2 * -m1 + 10 / 5"), vec![Some(-14.0)]);
    assert_eq!(lab.series("m1 ^ 2 / 2"), vec![Some(32.0)]);
}

#[test]
fn arithmetic_between_series_counts_a_missing_value_as_zero() {
    // "Missing values in a time series are treated as 0."
    let lab = Lab::new(&[
        ("m1", &[Some(1.0), Some(2.0), None]),
        ("m2", &[None, Some(10.0), Some(20.0)]),
    ]);
    assert_eq!(
        lab.series("m1 + m2"),
        vec![Some(1.0), Some(12.0), Some(20.0)]
    );
    assert_eq!(
        lab.series("m1 * m2"),
        vec![Some(0.0), Some(20.0), Some(0.0)]
    );
}

#[test]
fn division_by_zero_drops_the_datapoint() {
    let lab = Lab::new(&[("m1", &all(&[1.0, 0.0])), ("m2", &[Some(0.0), None])]);
    assert_eq!(lab.series("m1 / m2"), vec![None, None]);
    assert_eq!(lab.series("1 / m1"), vec![Some(1.0), None]);
}

#[test]
fn an_operator_with_an_array_applies_to_each_series() {
    // METRICS()*100 and SUM(100/[m1, m2]) from the arithmetic table.
    let lab = Lab::new(&[("m1", &all(&[1.0, 2.0])), ("m2", &all(&[4.0, 5.0]))]);
    assert_eq!(
        lab.array("METRICS()*100"),
        vec![
            ("label of m1".to_owned(), vec![Some(100.0), Some(200.0)]),
            ("label of m2".to_owned(), vec![Some(400.0), Some(500.0)]),
        ]
    );
    assert_eq!(
        lab.series("SUM(100/[m1, m2])"),
        vec![Some(125.0), Some(70.0)]
    );
    assert_eq!(lab.series("SUM(-[m1, m2])"), vec![Some(-5.0), Some(-7.0)]);
    let error = lab.error("[m1, m2] + [m1]");
    assert!(
        message_of(&error).contains("one has 2 and the other 1"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Comparison and logical operators

#[test]
fn comparisons_and_logic_give_one_or_zero_as_in_the_documented_example() {
    // metric1 = [30, 20, 0, 0], metric2 = [20, -, 20, -].
    let lab = Lab::new(&[
        ("metric1", &all(&[30.0, 20.0, 0.0, 0.0])),
        ("metric2", &[Some(20.0), None, Some(20.0), None]),
    ]);
    let ones = |values: &[f64]| all(values);
    assert_eq!(
        lab.series("(metric1 < metric2)"),
        ones(&[0.0, 0.0, 1.0, 0.0])
    );
    assert_eq!(lab.series("(metric1 >= 30)"), ones(&[1.0, 0.0, 0.0, 0.0]));
    assert_eq!(
        lab.series("(metric1 > 15 AND metric2 > 15)"),
        ones(&[1.0, 0.0, 0.0, 0.0])
    );
    assert_eq!(
        lab.series("metric1 > 15 && metric2 > 15"),
        ones(&[1.0, 0.0, 0.0, 0.0])
    );
    assert_eq!(
        lab.series("metric1 == 0 || metric2 != 20"),
        ones(&[0.0, 0.0, 1.0, 1.0])
    );
    assert_eq!(
        lab.series("NOT metric1 <= 20 OR metric1 > 100"),
        ones(&[1.0, 0.0, 0.0, 0.0])
    );
}

// ---------------------------------------------------------------------------------------------
// Errors in CloudWatch's terms

#[test]
fn unknown_functions_are_named_with_their_position() {
    let lab = Lab::new(&[("m1", &all(&[1.0]))]);
    let error = lab.error("m1 + SQRT(m1)");
    assert!(
        matches!(&error, MathError::UnknownFunction { function, position: 5, .. } if function == "SQRT"),
        "{error:?}"
    );
    assert!(message_of(&error).contains("FILL"));
    let error = lab.error("fill(m1, 0)");
    assert!(message_of(&error).contains("upper case"), "{error}");
}

#[test]
fn fill_names_what_its_second_argument_may_be() {
    let lab = Lab::new(&[("m1", &all(&[1.0]))]);
    let error = lab.error("FILL(m1, REPEATS)");
    assert!(
        message_of(&error)
            .contains("FILL's second argument must be a number, a time series, REPEAT or LINEAR"),
        "{error}"
    );
    let error = lab.error("FILL(m1, METRICS())");
    assert!(message_of(&error).contains("not an array"), "{error}");
}

#[test]
fn wrong_argument_counts_and_types_name_the_function() {
    let lab = Lab::new(&[("m1", &all(&[1.0]))]);
    let error = lab.error("m1 * ABS(m1, 2)");
    assert!(
        matches!(&error, MathError::ArgumentCount { function, position: 5, given: 2, .. } if function == "ABS"),
        "{error:?}"
    );
    assert!(message_of(&error).contains("takes one argument"));
    let error = lab.error("DIFF(2)");
    assert!(
        message_of(&error).contains("DIFF at position 0 takes a time series"),
        "{error}"
    );
    let error = lab.error("SORT(METRICS(), MEDIAN, ASC)");
    assert!(
        message_of(&error).contains("AVG, MIN, MAX, SUM or STDDEV"),
        "{error}"
    );
    let error = lab.error("m1 * REPEAT");
    assert!(
        message_of(&error).contains("`REPEAT` at position 5 is not a value"),
        "{error}"
    );
    let error = lab.error("METRICS(m1)");
    assert!(message_of(&error).contains("double quotes"), "{error}");
}

#[test]
fn syntax_errors_say_where_and_what_was_expected() {
    for (text, position) in [
        ("m1 +", 4),
        ("(m1", 3),
        ("m1 m2", 3),
        ("m1 ** 2", 4),
        ("m1 % 2", 3),
    ] {
        let error = MathExpression::parse(text).unwrap_err();
        let message = message_of(&error);
        assert!(
            matches!(&error, MathError::Syntax { position: p, .. } if *p == position),
            "{text}: {error:?}"
        );
        assert!(
            message.contains(text) && message.contains("expected"),
            "{text}: {message}"
        );
    }
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
fn referenced_ids_are_sorted_and_unique_and_missing_ones_are_named() {
    assert_eq!(
        referenced_ids("100 * m2 / (m1 + m2) + SUM(METRICS())").unwrap(),
        vec!["m1".to_owned(), "m2".to_owned()]
    );
    let lab = Lab::new(&[("m1", &all(&[1.0]))]);
    let error = lab.error("m1 + m2");
    assert!(matches!(error, MathError::MissingInput { ref id, .. } if id == "m2"));
}

#[test]
fn arbitrary_text_never_panics() {
    // A small deterministic fuzz over the expression alphabet.
    let alphabet: Vec<char> = "m1e2 +-*/^().,[]\"<>=!&|FILLSUMREPEATNOTAND0_"
        .chars()
        .collect();
    let lab = Lab::new(&[("m1", &all(&[1.0])), ("e2", &all(&[2.0]))]);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut step = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let length = step() % 14;
        let text: String = (0..length)
            .map(|_| alphabet[(step() % alphabet.len() as u64) as usize])
            .collect();
        if let Err(error) = lab.value(&text) {
            message_of(&error);
        }
    }
}
