//! Serde for the request's whole-number fields (`Period`, `MaxDatapoints`): any JSON number that
//! is a whole number is accepted, so `300`, `300.0` and `3e2` are all 300, as the AWS JSON
//! protocol treats them; `300.5`, a negative number or one too large is refused with a message
//! naming the field.

use std::fmt;

use serde::{Deserializer, de};

/// Reads a whole number for `field`, from 1 to `u32::MAX`.
struct WholeNumber {
    field: &'static str,
}

impl WholeNumber {
    fn check(&self, value: f64) -> Result<u32, String> {
        if !value.is_finite() || value.fract() != 0.0 {
            return Err(format!(
                "{} must be a whole number, e.g. 300; {value} is not",
                self.field
            ));
        }
        if value < 1.0 || value > f64::from(u32::MAX) {
            return Err(format!(
                "{} must be a whole number from 1 to {}; {value} is not",
                self.field,
                u32::MAX
            ));
        }
        Ok(value as u32)
    }
}

impl de::Visitor<'_> for WholeNumber {
    type Value = u32;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} as a whole number", self.field)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u32, E> {
        match u32::try_from(value) {
            Ok(value) if value >= 1 => Ok(value),
            _ => Err(E::custom(format!(
                "{} must be a whole number from 1 to {}; {value} is not",
                self.field,
                u32::MAX
            ))),
        }
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u32, E> {
        self.check(value as f64).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<u32, E> {
        self.check(value).map_err(E::custom)
    }
}

/// `Period` of a `MetricStat`.
pub fn period<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    deserializer.deserialize_any(WholeNumber { field: "Period" })
}

/// `Period` of an expression's `MetricDataQuery`, or null.
pub fn optional_period<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    optional(deserializer, "Period")
}

/// `MaxDatapoints`, or null.
pub fn optional_max_datapoints<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    optional(deserializer, "MaxDatapoints")
}

fn optional<'de, D: Deserializer<'de>>(
    deserializer: D,
    field: &'static str,
) -> Result<Option<u32>, D::Error> {
    struct Optional(&'static str);

    impl<'de> de::Visitor<'de> for Optional {
        type Value = Option<u32>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(formatter, "{} as a whole number, or null", self.0)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
            inner
                .deserialize_any(WholeNumber { field: self.0 })
                .map(Some)
        }
    }

    deserializer.deserialize_option(Optional(field))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Fields {
        #[serde(deserialize_with = "super::period")]
        period: u32,
        #[serde(default, deserialize_with = "super::optional_max_datapoints")]
        max: Option<u32>,
    }

    fn read(json: &str) -> Result<Fields, String> {
        serde_json::from_str(json).map_err(|error| error.to_string())
    }

    #[test]
    fn a_whole_number_written_as_a_float_is_that_number() {
        let fields = read(r#"{"period": 300.0, "max": 1e3}"#).unwrap();
        assert_eq!((fields.period, fields.max), (300, Some(1000)));
        let fields = read(r#"{"period": 60, "max": null}"#).unwrap();
        assert_eq!((fields.period, fields.max), (60, None));
        assert_eq!(read(r#"{"period": 60}"#).unwrap().max, None);
    }

    #[test]
    fn fractions_negatives_zero_and_text_are_refused_naming_the_field() {
        for (json, words) in [
            (
                r#"{"period": 300.5}"#,
                "Period must be a whole number, e.g. 300; 300.5",
            ),
            (r#"{"period": -60}"#, "Period must be a whole number from 1"),
            (r#"{"period": 0}"#, "Period must be a whole number from 1"),
            (
                r#"{"period": 1e12}"#,
                "Period must be a whole number from 1",
            ),
            (
                r#"{"period": 60, "max": 2.5}"#,
                "MaxDatapoints must be a whole number",
            ),
            (r#"{"period": "60"}"#, "Period as a whole number"),
        ] {
            let error = read(json).unwrap_err();
            assert!(error.contains(words), "{json}: {error}");
        }
    }
}
