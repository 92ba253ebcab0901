//! The ETL function's settings: what Lambda would hold as its configuration, its asynchronous
//! invocation config and its fault-injection parameter.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The function's runtime settings. Every one can be changed while the stack runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionConfig {
    /// Lambda runtime identifier.
    pub runtime: String,
    /// Handler name (for `provided.al2023`, the `bootstrap` executable).
    pub handler: String,
    /// Instruction set the function is built for.
    pub architecture: String,
    /// Memory size in MB.
    pub memory_mb: u32,
    /// How long one attempt may run before Lambda stops it.
    #[serde(with = "millis")]
    pub timeout: Duration,
    /// Retries after a failed asynchronous attempt (0–2): attempts are 1 + this.
    pub maximum_retry_attempts: u32,
    /// How long an event may wait in the asynchronous queue, retries included (60 s – 6 h).
    #[serde(with = "millis")]
    pub maximum_event_age: Duration,
    /// Reserved concurrency: at most this many attempts run at once. `None` means the account's
    /// unreserved pool, [`UNRESERVED_CONCURRENCY`].
    pub reserved_concurrency: Option<u32>,
}

/// Concurrency available to a function without reserved concurrency: the default account limit.
pub const UNRESERVED_CONCURRENCY: u32 = 1000;

impl Default for FunctionConfig {
    /// The settings the lab's Terraform deploys.
    fn default() -> Self {
        Self {
            runtime: "provided.al2023".to_owned(),
            handler: "bootstrap".to_owned(),
            architecture: "x86_64".to_owned(),
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            maximum_retry_attempts: 2,
            maximum_event_age: Duration::from_secs(6 * 60 * 60),
            reserved_concurrency: None,
        }
    }
}

/// Why a configuration change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A setting is outside the range Lambda allows.
    #[error("{setting} must be between {min} and {max}, got {value}")]
    OutOfRange {
        /// The setting's name.
        setting: &'static str,
        /// The smallest allowed value.
        min: u64,
        /// The largest allowed value.
        max: u64,
        /// The value given.
        value: u64,
    },
}

impl FunctionConfig {
    /// The concurrency limit in force.
    pub fn concurrency_limit(&self) -> u32 {
        self.reserved_concurrency.unwrap_or(UNRESERVED_CONCURRENCY)
    }

    /// Checks every setting against Lambda's limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check("timeout (seconds)", self.timeout.as_secs(), 1, 900)?;
        check("memory (MB)", u64::from(self.memory_mb), 128, 10_240)?;
        check(
            "maximum retry attempts",
            u64::from(self.maximum_retry_attempts),
            0,
            2,
        )?;
        check(
            "maximum event age (seconds)",
            self.maximum_event_age.as_secs(),
            60,
            21_600,
        )?;
        if let Some(reserved) = self.reserved_concurrency {
            check(
                "reserved concurrency",
                u64::from(reserved),
                0,
                u64::from(UNRESERVED_CONCURRENCY),
            )?;
        }
        Ok(())
    }
}

fn check(setting: &'static str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            setting,
            min,
            max,
            value,
        })
    }
}

/// Serde for a [`Duration`] as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_labs_terraform_settings() {
        let config = FunctionConfig::default();
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert_eq!(config.memory_mb, 128);
        assert_eq!(config.maximum_retry_attempts, 2);
        assert_eq!(config.maximum_event_age, Duration::from_secs(21_600));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn out_of_range_settings_are_refused_by_name() {
        let config = FunctionConfig {
            maximum_retry_attempts: 3,
            ..FunctionConfig::default()
        };
        assert_eq!(
            config.validate().map_err(|error| error.to_string()),
            Err("maximum retry attempts must be between 0 and 2, got 3".to_owned())
        );
    }
}
