//! Reading the document's text: [`parse_strict`] for the API, [`parse_lenient`] for the wrapper.
//!
//! One reader, two strictnesses:
//! - the strict parse refuses unknown fields (so a typo such as `failuremode` is named), a
//!   document over [`MAX_DOCUMENT_BYTES`], more than [`MAX_PATTERNS`] patterns, `minLatency`
//!   above `maxLatency`, and both list names at once;
//! - the lenient parse accepts all of that as failure-lambda does (unknown fields ignored, the
//!   latency bounds put in order, both lists joined). What it refuses, the wrapper treats as no
//!   fault plus the error as the reason, as failure-lambda 0.4 fails open.
//!
//! Field values are checked the same way by both: a wrong type or a value out of range is an
//! error naming the field, and so is an unknown mode (failure-lambda silently injects nothing).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::denylist::Denylist;
use super::document::{
    DocumentError, FIELDS, FailureMode, FaultDocument, MAX_DISK_SPACE_MB, MAX_DOCUMENT_BYTES,
    MAX_LATENCY_MS, MAX_PATTERNS,
};

/// Parses a document for the API: everything [`parse_lenient`] refuses, plus unknown fields,
/// a document over 4 KB, more than 20 patterns, `minLatency` above `maxLatency` and both list
/// names at once.
pub fn parse_strict(text: &str) -> Result<FaultDocument, DocumentError> {
    parse(text, Strictness::Strict)
}

/// Parses a document for the wrapper, accepting whatever [`parse_strict`] accepts and more:
/// unknown fields are ignored, the latency bounds are put in order, both lists are joined, and
/// neither the size nor the number of patterns is limited.
pub fn parse_lenient(text: &str) -> Result<FaultDocument, DocumentError> {
    parse(text, Strictness::Lenient)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strictness {
    Strict,
    Lenient,
}

fn parse(text: &str, strictness: Strictness) -> Result<FaultDocument, DocumentError> {
    let strict = strictness == Strictness::Strict;
    if strict && text.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge {
            size: text.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let value: Value = serde_json::from_str(text).map_err(|error| DocumentError::NotJson {
        message: error.to_string(),
    })?;
    let Value::Object(fields) = value else {
        return Err(DocumentError::NotAnObject {
            found: kind(&value),
        });
    };
    if strict {
        if let Some(field) = fields
            .keys()
            .find(|field| !FIELDS.contains(&field.as_str()))
        {
            return Err(unknown_field(field));
        }
        if fields.contains_key("blacklist") && fields.contains_key("denylist") {
            return Err(DocumentError::BothLists);
        }
    }

    let mut document = FaultDocument::default();
    if let Some(value) = fields.get("isEnabled") {
        document.is_enabled = value
            .as_bool()
            .ok_or_else(|| wrong("isEnabled", "true or false", value))?;
    }
    if let Some(value) = fields.get("failureMode") {
        let name = value
            .as_str()
            .ok_or_else(|| wrong("failureMode", "a string naming a failure mode", value))?;
        document.failure_mode =
            FailureMode::from_name(name).ok_or_else(|| DocumentError::UnknownMode {
                found: name.to_owned(),
            })?;
    }
    if let Some(value) = fields.get("rate") {
        document.rate = rate(value)?;
    }
    let min_latency = whole(&fields, "minLatency", MAX_LATENCY_MS, " (milliseconds)")?;
    let max_latency = whole(&fields, "maxLatency", MAX_LATENCY_MS, " (milliseconds)")?;
    match (min_latency, max_latency) {
        (Some(min), Some(max)) if min > max => {
            if strict {
                return Err(DocumentError::LatencyBounds { min, max });
            }
            // failure-lambda draws min + u·(max − min), which for min above max lies between them.
            (document.min_latency, document.max_latency) = (max, min);
        }
        (Some(min), Some(max)) => (document.min_latency, document.max_latency) = (min, max),
        // One bound alone: the default of the other gives way, so the range is never empty.
        (Some(min), None) => {
            document.min_latency = min;
            document.max_latency = document.max_latency.max(min);
        }
        (None, Some(max)) => {
            document.max_latency = max;
            document.min_latency = document.min_latency.min(max);
        }
        (None, None) => {}
    }
    if let Some(value) = fields.get("exceptionMsg") {
        value
            .as_str()
            .ok_or_else(|| wrong("exceptionMsg", "a string", value))?
            .clone_into(&mut document.exception_msg);
    }
    if let Some(code) = whole(&fields, "statusCode", 599, "")? {
        if code < 100 {
            return Err(DocumentError::OutOfRange {
                field: "statusCode".to_owned(),
                found: code.to_string(),
                expected: "a whole number from 100 to 599".to_owned(),
            });
        }
        // At most 599, so the conversion cannot fail.
        document.status_code = u16::try_from(code).unwrap_or(document.status_code);
    }
    if let Some(megabytes) = whole(&fields, "diskSpace", MAX_DISK_SPACE_MB, " (MB)")? {
        document.disk_space = megabytes;
    }

    let mut patterns = Vec::new();
    for field in ["blacklist", "denylist"] {
        let Some(value) = fields.get(field) else {
            continue;
        };
        let list = pattern_list(field, value)?;
        if strict && list.len() > MAX_PATTERNS {
            return Err(DocumentError::TooManyPatterns {
                field: field.to_owned(),
                count: list.len(),
                limit: MAX_PATTERNS,
            });
        }
        patterns.extend(
            list.into_iter()
                .enumerate()
                .map(|(index, pattern)| (field, index, pattern)),
        );
    }
    document.denylist = Arc::new(Denylist::compile(patterns)?);
    Ok(document)
}

/// The unknown-field error, suggesting the field it differs from only in case.
fn unknown_field(field: &str) -> DocumentError {
    let hint = match FIELDS
        .iter()
        .find(|known| known.eq_ignore_ascii_case(field))
    {
        Some(known) => format!("did you mean `{known}`? (field names are case-sensitive)"),
        None => format!("remove it; the fields are {}", FIELDS.join(", ")),
    };
    DocumentError::UnknownField {
        field: field.to_owned(),
        hint,
    }
}

/// `rate`: a number from 0 to 1.
fn rate(value: &Value) -> Result<f64, DocumentError> {
    const EXPECTED: &str = "a number from 0 to 1";
    let rate = value
        .as_f64()
        .ok_or_else(|| wrong("rate", EXPECTED, value))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(DocumentError::OutOfRange {
            field: "rate".to_owned(),
            found: value.to_string(),
            expected: EXPECTED.to_owned(),
        })
    }
}

/// A whole number from 0 to `max`, if the field is present. `100.0` counts as whole.
fn whole(
    fields: &Map<String, Value>,
    field: &str,
    max: u64,
    unit: &str,
) -> Result<Option<u64>, DocumentError> {
    let Some(value) = fields.get(field) else {
        return Ok(None);
    };
    let Value::Number(number) = value else {
        return Err(wrong(field, "a whole number", value));
    };
    let whole = match number.as_u64() {
        Some(whole) => Some(whole),
        None => {
            // Negative, or written as a float: a float is whole when it has no fraction part.
            let float = number.as_f64().unwrap_or(f64::NAN);
            if float.fract() != 0.0 {
                return Err(wrong(field, "a whole number", value));
            }
            (0.0..=max as f64).contains(&float).then_some(float as u64)
        }
    };
    match whole {
        Some(whole) if whole <= max => Ok(Some(whole)),
        _ => Err(DocumentError::OutOfRange {
            field: field.to_owned(),
            found: value.to_string(),
            expected: format!("a whole number from 0 to {max}{unit}"),
        }),
    }
}

/// `blacklist`/`denylist`: an array of strings.
fn pattern_list(field: &str, value: &Value) -> Result<Vec<String>, DocumentError> {
    let items = value
        .as_array()
        .ok_or_else(|| wrong(field, "an array of regular expressions", value))?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| wrong(&format!("{field}[{index}]"), "a string", item))
        })
        .collect()
}

fn wrong(field: &str, expected: &'static str, found: &Value) -> DocumentError {
    DocumentError::WrongType {
        field: field.to_owned(),
        expected,
        found: describe(found),
    }
}

/// A JSON value for an error message: its kind, and the value when it is short.
fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= 40 {
        format!("{} {text}", kind(value))
    } else {
        kind(value).to_owned()
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
