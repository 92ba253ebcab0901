//! Changing the function's settings, within Lambda's limits: the same change on both backends.

use serde::Deserialize;
use utoipa::ToSchema;

/// A change to the function's settings; a field left out keeps its value. The limits are
/// Lambda's: timeout 1–900 s, memory 128–10,240 MB, retry attempts 0–2, maximum event age
/// 60–21,600 s, reserved concurrency 0–1,000 (this lab's account limit), or `"none"` to remove it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionChange {
    /// Timeout of one attempt, in whole seconds.
    #[schema(minimum = 1, maximum = 900)]
    pub timeout_seconds: Option<u32>,
    /// Memory, in MB.
    #[schema(minimum = 128, maximum = 10240)]
    pub memory_mb: Option<u32>,
    /// Retries after a failed asynchronous attempt.
    #[schema(minimum = 0, maximum = 2)]
    pub maximum_retry_attempts: Option<u32>,
    /// How long an event may wait for an attempt, in seconds.
    #[schema(minimum = 60, maximum = 21600)]
    pub maximum_event_age_seconds: Option<u64>,
    /// Reserved concurrency: a number of concurrent executions, or `"none"` for the account's
    /// unreserved pool.
    pub reserved_concurrency: Option<ReservedConcurrency>,
}

/// Reserved concurrency as a change states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ReservedConcurrency {
    /// This many concurrent executions, 0 to 1,000 (0 stops every invocation: they are throttled).
    Executions(u32),
    /// No reservation: the account's unreserved pool.
    Unreserved(Unreserved),
}

impl utoipa::PartialSchema for ReservedConcurrency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(1000))
                    .description(Some("Concurrent executions reserved, 0 to 1,000")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["none"]))
                    .description(Some("No reservation: the account's unreserved pool")),
            )
            .into()
    }
}

impl ToSchema for ReservedConcurrency {}

/// The word `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreserved {
    /// No reservation.
    None,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} must be between {min} and {max}, got {value}")]
pub struct FunctionChangeError {
    /// The setting, as the API names it.
    pub setting: &'static str,
    /// Lambda's smallest value.
    pub min: u64,
    /// Lambda's largest value.
    pub max: u64,
    /// What was asked.
    pub value: u64,
}

impl FunctionChange {
    /// Checks every stated value against Lambda's limits.
    pub fn validate(&self) -> Result<(), FunctionChangeError> {
        let check = |setting, value: Option<u64>, min, max| match value {
            Some(value) if !(min..=max).contains(&value) => Err(FunctionChangeError {
                setting,
                min,
                max,
                value,
            }),
            _ => Ok(()),
        };
        check(
            "timeout_seconds",
            self.timeout_seconds.map(u64::from),
            1,
            900,
        )?;
        check("memory_mb", self.memory_mb.map(u64::from), 128, 10_240)?;
        check(
            "maximum_retry_attempts",
            self.maximum_retry_attempts.map(u64::from),
            0,
            2,
        )?;
        check(
            "maximum_event_age_seconds",
            self.maximum_event_age_seconds,
            60,
            21_600,
        )?;
        let reserved = match self.reserved_concurrency {
            Some(ReservedConcurrency::Executions(count)) => Some(u64::from(count)),
            _ => None,
        };
        check("reserved_concurrency", reserved, 0, 1_000)
    }

    /// The reserved concurrency this change leaves, over `current`.
    pub fn reserved_over(&self, current: Option<u32>) -> Option<u32> {
        match self.reserved_concurrency {
            None => current,
            Some(ReservedConcurrency::Executions(count)) => Some(count),
            Some(ReservedConcurrency::Unreserved(_)) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn a_value_outside_lambdas_limits_is_refused_by_name() {
        let change = FunctionChange {
            timeout_seconds: Some(901),
            ..FunctionChange::default()
        };
        assert_eq!(
            change.validate().unwrap_err().to_string(),
            "timeout_seconds must be between 1 and 900, got 901"
        );
        let change: FunctionChange =
            serde_json::from_str(r#"{"reserved_concurrency": 1001}"#).unwrap();
        assert!(change.validate().is_err());
    }

    #[test]
    fn reserved_concurrency_is_a_number_or_none() {
        let set: FunctionChange = serde_json::from_str(r#"{"reserved_concurrency": 0}"#).unwrap();
        assert_eq!(set.reserved_over(Some(5)), Some(0));
        let unset: FunctionChange =
            serde_json::from_str(r#"{"reserved_concurrency": "none"}"#).unwrap();
        assert_eq!(unset.reserved_over(Some(5)), None);
        let kept = FunctionChange::default();
        assert_eq!(kept.reserved_over(Some(5)), Some(5));
        assert!(
            serde_json::from_str::<FunctionChange>(r#"{"reserved_concurrency": "all"}"#).is_err()
        );
    }
}
