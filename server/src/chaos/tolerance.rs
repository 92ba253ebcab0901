//! Whether a probe's output is within its tolerance, as chaoslib 1.45's `within_tolerance` judges
//! it. The output of an HTTP probe is `{"status", "headers", "body"}`, so:
//! - a bare integer, or a list, is compared with the **status**, not the body: `200` passes any
//!   successful call whatever it answered, and `[1, 6]` asks for a status of 1 or 6;
//! - a boolean or a string is compared with the whole output, which is never equal to it;
//! - `regex`, `jsonpath` and `range` read `target` (`"body"`) when given;
//! - `range` reads a number, or a number written as text (a `text/plain` answer);
//! - `jsonpath` parses a text body as JSON first, then passes when the path matches something (or
//!   exactly `count` things), or, with `expect`, when the matches equal it.
//!
//! A `probe` tolerance is run by the caller (it is an activity); [`within`] says so.

use serde_json::Value;

use super::substitute::{Values, substitute};

/// How a tolerance judged an output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Within, or not.
    Judged(bool),
    /// The tolerance is itself a probe: run it with `value` set to the output.
    RunProbe,
}

/// Judges `output` against `tolerance`, with configuration `values` substituted where chaoslib
/// substitutes them (a string tolerance, a regex pattern, a JSON path, an `expect`).
pub fn within(tolerance: &Value, output: &Value, values: &Values) -> Verdict {
    let status = output.get("status").filter(|_| output.is_object());
    Verdict::Judged(match tolerance {
        Value::Bool(_) => output == tolerance,
        Value::String(_) => *output == substitute(tolerance, values),
        Value::Number(_) => match status {
            Some(status) => numbers_equal(status, tolerance),
            None => numbers_equal(output, tolerance),
        },
        Value::Array(items) => match status {
            Some(status) => items.iter().any(|item| numbers_equal(status, item)),
            None if items.len() == 2 => {
                match (number(&items[0]), number(&items[1]), number(output)) {
                    (Some(low), Some(high), Some(value)) => low <= value && value <= high,
                    _ => false,
                }
            }
            None => items.contains(output),
        },
        Value::Object(object) => {
            let target = object
                .get("target")
                .and_then(Value::as_str)
                .and_then(|target| output.get(target))
                .unwrap_or(output);
            match object.get("type").and_then(Value::as_str) {
                Some("probe") => return Verdict::RunProbe,
                Some("regex") => {
                    let pattern = object
                        .get("pattern")
                        .map(|pattern| substitute(pattern, values));
                    match (pattern.as_ref().and_then(Value::as_str), target.as_str()) {
                        (Some(pattern), Some(text)) => {
                            regex::Regex::new(pattern).is_ok_and(|rx| rx.is_match(text))
                        }
                        _ => false,
                    }
                }
                Some("jsonpath") => jsonpath(object, target, values),
                Some("range") => range(object.get("range"), target),
                _ => false,
            }
        }
        Value::Null => false,
    })
}

fn jsonpath(tolerance: &serde_json::Map<String, Value>, target: &Value, values: &Values) -> bool {
    let path = tolerance.get("path").map(|path| substitute(path, values));
    let Some(Ok(path)) = path
        .as_ref()
        .and_then(Value::as_str)
        .map(serde_json_path::JsonPath::parse)
    else {
        return false;
    };
    let parsed;
    let document = match target {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                parsed = value;
                &parsed
            }
            Err(_) => target,
        },
        other => other,
    };
    let found: Vec<&Value> = path.query(document).all();
    let mut result = !found.is_empty();
    if let Some(count) = tolerance.get("count").and_then(Value::as_u64) {
        result = found.len() as u64 == count;
    }
    if let Some(expect) = tolerance.get("expect") {
        let expect = substitute(expect, values);
        result = match &expect {
            Value::Array(items) => {
                found.len() == items.len()
                    && found.iter().zip(items).all(|(a, b)| values_equal(a, b))
            }
            single => found.len() == 1 && values_equal(found[0], single),
        };
    }
    result
}

fn range(bounds: Option<&Value>, target: &Value) -> bool {
    let Some([low, high]) = bounds.and_then(Value::as_array).map(Vec::as_slice) else {
        return false;
    };
    let value = match target {
        Value::String(text) => text.trim().parse::<f64>().ok(),
        Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
        other => other.as_f64(),
    };
    match (number(low), number(high), value) {
        (Some(low), Some(high), Some(value)) => low <= value && value <= high,
        _ => false,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
        other => other.as_f64(),
    }
}

/// Python's `==` between numbers (`200 == 200.0`), and between anything else.
fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (number(a), number(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn judged(tolerance: Value, output: Value) -> bool {
        within(&tolerance, &output, &Values::new()) == Verdict::Judged(true)
    }

    fn http(status: u16, body: Value) -> Value {
        json!({"status": status, "headers": {}, "body": body})
    }

    #[test]
    fn a_bare_number_or_list_reads_the_http_status_not_the_body() {
        assert!(judged(json!(200), http(200, json!(57.3))));
        assert!(
            !judged(json!(0), http(200, json!(0))),
            "0 failures is not status 0"
        );
        // experiment_1's [1, 6] on an HTTP probe asks for a status of 1 or 6: never met.
        assert!(!judged(json!([1, 6]), http(200, json!(3))));
        assert!(judged(json!([200, 204]), http(204, json!(null))));
        // On a bare value, a pair is a range and a longer list a set.
        assert!(judged(json!([1, 6]), json!(3.5)));
        assert!(judged(json!([1, 2, 3]), json!(2)));
        assert!(!judged(json!(true), http(200, json!(true))));
    }

    #[test]
    fn range_reads_a_number_or_a_text_body() {
        let tolerance = json!({"type": "range", "range": [1, 6], "target": "body"});
        assert!(judged(tolerance.clone(), http(200, json!("2.94"))));
        assert!(judged(tolerance.clone(), http(200, json!(6))));
        assert!(!judged(tolerance.clone(), http(200, json!("50.9"))));
        assert!(
            !judged(tolerance, http(200, json!({"value": 3}))),
            "an object is not a number"
        );
    }

    #[test]
    fn jsonpath_matches_counts_and_expects() {
        let body = json!({"value": 0.0, "minutes": 5});
        let found = json!({"type": "jsonpath", "path": "$.value", "target": "body"});
        assert!(judged(found, http(200, body.clone())));
        let expect = json!({"type": "jsonpath", "path": "$.value", "expect": 0, "target": "body"});
        assert!(judged(expect, http(200, body.clone())));
        let filter =
            json!({"type": "jsonpath", "path": "$[?@.value <= 2]", "count": 1, "target": "body"});
        assert!(
            !judged(filter, http(200, body.clone())),
            "a filter selects children"
        );
        let text_body =
            json!({"type": "jsonpath", "path": "$.value", "expect": 1.5, "target": "body"});
        assert!(judged(text_body, http(200, json!("{\"value\": 1.5}"))));
    }

    #[test]
    fn regex_and_strings_and_probes() {
        let tolerance = json!({"type": "regex", "pattern": "Intercepted", "target": "body"});
        assert!(judged(
            tolerance,
            http(200, json!("Intercepted network connection"))
        ));
        assert!(judged(json!("ok"), json!("ok")));
        assert_eq!(
            within(&json!({"type": "probe"}), &json!(1), &Values::new()),
            Verdict::RunProbe
        );
    }
}
