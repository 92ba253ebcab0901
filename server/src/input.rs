//! How a JSON request body becomes a typed value, strictly.
//!
//! The API's rule, in the order it is applied:
//! 1. the body must be JSON, and its top level a JSON object: an array is never read as an
//!    object, although serde would otherwise fill a struct's fields from it by position;
//! 2. a number is a number whatever its spelling: `300`, `300.0` and `3e2` are the same whole
//!    number, so a field that takes whole numbers accepts all three, and `300.5` is refused;
//! 3. the object must fit its type: an unknown field, a missing field or a wrong type is refused
//!    with the path of the field at fault (`publisher.rate`).
//!
//! Failing 1 is a request the server cannot read (400 in the API); failing 3 is a request it read
//! but cannot accept (422), as is a value outside its range, which the operations check. Nested
//! objects are kept to objects by [`object`] and [`objects`] on the fields that hold them.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Number, Value};

/// Why a body was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The body is not JSON at all.
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    /// The body is JSON, but not an object.
    #[error("the body must be a JSON object (`{{…}}`), not {0}")]
    NotAnObject(&'static str),
    /// The object does not fit the operation's type.
    #[error("{}", describe_misfit(.path, .problem))]
    DoesNotFit {
        /// Where the problem is, e.g. `publisher.rate`, or `.` for the object itself.
        path: String,
        /// What serde reported, e.g. "unknown field `rte`, expected `rate` or `error_rate`".
        problem: String,
    },
}

impl InputError {
    /// Whether the request could not be read at all (as opposed to read but not accepted).
    pub fn is_unreadable(&self) -> bool {
        matches!(self, Self::NotJson(_) | Self::NotAnObject(_))
    }

    /// Whether the problem is a field the type does not have.
    pub fn is_unknown_field(&self) -> bool {
        matches!(self, Self::DoesNotFit { problem, .. } if problem.starts_with("unknown field"))
    }
}

fn describe_misfit(path: &str, problem: &str) -> String {
    if path == "." {
        format!("the body does not fit: {problem}")
    } else {
        format!("the body's field `{path}` does not fit: {problem}")
    }
}

/// Reads `body` as a JSON object of type `T`, by the rules in the module header.
pub fn read_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, InputError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| InputError::NotJson(error.to_string()))?;
    if !value.is_object() {
        return Err(InputError::NotAnObject(kind_of(&value)));
    }
    serde_path_to_error::deserialize(whole_numbers_as_integers(value)).map_err(|error| {
        InputError::DoesNotFit {
            path: error.path().to_string(),
            problem: error.inner().to_string(),
        }
    })
}

/// `value` with every number that is a whole number spelled as an integer, so `300.0` reads as
/// 300 where a whole number is expected. Fractional numbers, and integers too large for an `f64`
/// to hold exactly, are left as they are.
pub fn whole_numbers_as_integers(value: Value) -> Value {
    // 2^53: beyond it an f64 no longer holds every whole number.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(number) if number.is_f64() => match number.as_f64() {
            #[allow(clippy::cast_possible_truncation)]
            Some(float) if float.fract() == 0.0 && float.abs() <= EXACT => {
                Value::Number(Number::from(float as i64))
            }
            _ => Value::Number(number),
        },
        Value::Array(items) => {
            Value::Array(items.into_iter().map(whole_numbers_as_integers).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, item)| (name, whole_numbers_as_integers(item)))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

/// For a field holding a nested object (or `null`, for an optional one): refuses an array, which
/// serde would otherwise read as the object's fields in order. Use with
/// `#[serde(default, deserialize_with = "crate::input::object")]`.
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    if !(value.is_object() || value.is_null()) {
        return Err(D::Error::custom(format!(
            "expected a JSON object, found {}",
            kind_of(&value)
        )));
    }
    T::deserialize(value).map_err(D::Error::custom)
}

/// For a field holding an array of objects: refuses an element that is not an object. Use with
/// `#[serde(deserialize_with = "crate::input::objects")]`.
pub fn objects<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let items = Vec::<Value>::deserialize(deserializer)?;
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            if !item.is_object() {
                return Err(D::Error::custom(format!(
                    "item {index}: expected a JSON object, found {}",
                    kind_of(&item)
                )));
            }
            T::deserialize(item).map_err(|error| D::Error::custom(format!("item {index}: {error}")))
        })
        .collect()
}

/// For an optional field holding an array of objects; `null` or absent is `None`.
pub fn optional_objects<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    objects(value).map(Some).map_err(D::Error::custom)
}

/// The JSON kind of `value`, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        period: u32,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[serde(default, deserialize_with = "object")]
        inner: Option<Inner>,
        #[serde(default, deserialize_with = "objects")]
        list: Vec<Inner>,
        share: Option<f64>,
    }

    #[test]
    fn a_whole_number_spelled_with_a_fraction_or_an_exponent_is_a_whole_number() {
        let read: Outer =
            read_object(br#"{"inner":{"period":300.0},"list":[{"period":3e2}],"share":0.5}"#)
                .unwrap();
        assert_eq!(read.inner, Some(Inner { period: 300 }));
        assert_eq!(read.list, vec![Inner { period: 300 }]);
        assert_eq!(read.share, Some(0.5));
    }

    #[test]
    fn a_fractional_number_is_refused_where_a_whole_one_is_expected() {
        let error = read_object::<Outer>(br#"{"inner":{"period":300.5}}"#).unwrap_err();
        assert!(!error.is_unreadable());
        assert!(error.to_string().contains("`inner`"), "{error}");
        assert!(error.to_string().contains("300.5"), "{error}");
    }

    #[test]
    fn a_top_level_array_is_not_read_as_an_object() {
        let error = read_object::<Outer>(b"[null, [], null]").unwrap_err();
        assert_eq!(error, InputError::NotAnObject("an array"));
        assert!(error.is_unreadable());
    }

    #[test]
    fn a_nested_array_is_not_read_as_an_object() {
        let error = read_object::<Outer>(br#"{"inner":[300]}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected a JSON object, found an array"),
            "{error}"
        );
        let error = read_object::<Outer>(br#"{"list":[[300]]}"#).unwrap_err();
        assert!(error.to_string().contains("item 0"), "{error}");
    }

    #[test]
    fn an_unknown_field_is_named_with_its_path() {
        let error = read_object::<Outer>(br#"{"inner":{"perod":5}}"#).unwrap_err();
        assert!(
            error.is_unknown_field() || error.to_string().contains("perod"),
            "{error}"
        );
        let error = read_object::<Outer>(br#"{"shar":0.5}"#).unwrap_err();
        assert!(error.is_unknown_field(), "{error}");
        assert!(error.to_string().contains("`shar`"), "{error}");
    }

    #[test]
    fn invalid_json_is_unreadable() {
        let error = read_object::<Outer>(b"{\"inner\":").unwrap_err();
        assert!(matches!(error, InputError::NotJson(_)));
        assert!(error.is_unreadable());
    }

    #[test]
    fn huge_whole_numbers_stay_floats() {
        let value = whole_numbers_as_integers(serde_json::json!(1e300));
        assert!(value.as_f64().is_some_and(|x| x == 1e300));
        assert!(value.as_i64().is_none());
    }
}
