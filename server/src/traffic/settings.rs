//! What a participant asks the traffic generators for, the caps the server puts on it, and why a
//! request is refused.
//!
//! The JSON shape is part of the public API:
//! `{"publisher": {"rate", "error_rate", "stop_after_s"}, "subscriber": {"rate"}}`, where either
//! part may be left out, and so may any field inside a part (it takes its default).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default publisher and subscriber rate, per second.
pub const DEFAULT_RATE: f64 = 2.0;
/// The default share of malformed objects.
pub const DEFAULT_ERROR_RATE: f64 = 0.01;
/// The default time after which the publisher stops by itself, in seconds: one hour. A server
/// may set its own default in [`TrafficLimits::default_stop_after_s`] (the AWS backend does).
pub const DEFAULT_STOP_AFTER_S: u64 = 3_600;
/// The lowest rate the generators run at, per second: one object every ten seconds.
pub const MIN_RATE: f64 = 0.1;
/// The default cap on any rate, per second.
pub const DEFAULT_MAX_RATE: f64 = 20.0;
/// The default cap on the publisher's automatic stop, in seconds: four hours.
pub const DEFAULT_MAX_STOP_AFTER_S: u64 = 4 * 3_600;

/// What to start or change: the publisher, the subscriber, or both. A part left out is left as it
/// is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct TrafficSettings {
    /// The publisher's settings, if the publisher is to start or change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<PublisherSettings>,
    /// The subscriber's settings, if the subscriber is to start or change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<SubscriberSettings>,
}

impl TrafficSettings {
    /// The lab's standard traffic: a publisher and a subscriber, both with their defaults.
    pub fn standard() -> Self {
        Self {
            publisher: Some(PublisherSettings::default()),
            subscriber: Some(SubscriberSettings::default()),
        }
    }

    /// Checks every part against the server's limits.
    pub fn validate(&self, limits: &TrafficLimits) -> Result<(), TrafficSettingsError> {
        if let Some(publisher) = &self.publisher {
            publisher.validate(limits)?;
        }
        if let Some(subscriber) = &self.subscriber {
            subscriber.validate(limits)?;
        }
        Ok(())
    }

    /// The settings with the server's defaults filled in where the request left a choice to it
    /// (today: the publisher's automatic stop).
    pub fn resolved(mut self, limits: &TrafficLimits) -> Self {
        if let Some(publisher) = &mut self.publisher {
            publisher
                .stop_after_s
                .get_or_insert(limits.default_stop_after_s);
        }
        self
    }
}

/// How the publisher writes objects into the participant's bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", default, deny_unknown_fields)]
pub struct PublisherSettings {
    /// Objects per second.
    pub rate: f64,
    /// The share of objects that are malformed, from 0 to 1.
    pub error_rate: f64,
    /// The publisher stops by itself this many seconds (of pipeline time) after it starts. Left
    /// out, the server's default applies: one hour on the embedded pipeline, 30 minutes on AWS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_after_s: Option<u64>,
}

impl Default for PublisherSettings {
    fn default() -> Self {
        Self {
            rate: DEFAULT_RATE,
            error_rate: DEFAULT_ERROR_RATE,
            stop_after_s: None,
        }
    }
}

impl PublisherSettings {
    /// The automatic stop, in seconds: the one asked for, else the server's default.
    pub fn stop_after_s(&self, limits: &TrafficLimits) -> u64 {
        self.stop_after_s.unwrap_or(limits.default_stop_after_s)
    }

    /// Checks the settings against the server's limits.
    pub fn validate(&self, limits: &TrafficLimits) -> Result<(), TrafficSettingsError> {
        validate_rate("publisher.rate", self.rate, limits)?;
        if !(self.error_rate.is_finite() && (0.0..=1.0).contains(&self.error_rate)) {
            return Err(TrafficSettingsError::ErrorRateOutOfRange {
                value: self.error_rate,
            });
        }
        if let Some(stop_after_s) = self.stop_after_s
            && !(1..=limits.max_stop_after_s).contains(&stop_after_s)
        {
            return Err(TrafficSettingsError::StopAfterOutOfRange {
                value: stop_after_s,
                max: limits.max_stop_after_s,
            });
        }
        Ok(())
    }

    /// The time between two objects, in pipeline time.
    pub fn period(&self) -> Duration {
        period(self.rate)
    }
}

/// How the subscriber consumes the participant's csv queue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", default, deny_unknown_fields)]
pub struct SubscriberSettings {
    /// Messages per second, at most, on average.
    pub rate: f64,
}

impl Default for SubscriberSettings {
    fn default() -> Self {
        Self { rate: DEFAULT_RATE }
    }
}

impl SubscriberSettings {
    /// Checks the settings against the server's limits.
    pub fn validate(&self, limits: &TrafficLimits) -> Result<(), TrafficSettingsError> {
        validate_rate("subscriber.rate", self.rate, limits)
    }

    /// The time one message's share of the rate takes, in pipeline time.
    pub fn period(&self) -> Duration {
        period(self.rate)
    }

    /// How many messages one receive asks for: SQS's maximum of 10, or fewer at a low rate.
    pub fn batch_size(&self) -> usize {
        // A validated rate is in (0, max_rate], so the cast cannot truncate anything that matters.
        (self.rate.ceil() as usize).clamp(1, 10)
    }
}

/// The server's caps on traffic, so nobody runs up a cloud bill by accident. The AWS backend
/// passes a lower rate cap and an earlier default stop than the embedded one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", default, deny_unknown_fields)]
pub struct TrafficLimits {
    /// The highest publisher or subscriber rate, per second.
    pub max_rate: f64,
    /// The latest automatic stop, in seconds after the publisher starts.
    pub max_stop_after_s: u64,
    /// The automatic stop of a publisher started without one, in seconds.
    pub default_stop_after_s: u64,
}

impl Default for TrafficLimits {
    fn default() -> Self {
        Self {
            max_rate: DEFAULT_MAX_RATE,
            max_stop_after_s: DEFAULT_MAX_STOP_AFTER_S,
            default_stop_after_s: DEFAULT_STOP_AFTER_S,
        }
    }
}

/// Why traffic settings were refused. Each message names the field, the value and the allowed
/// range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrafficSettingsError {
    /// A rate is not a number in [0.1, max].
    #[error(
        "{field} must be at least 0.1 and at most {max} per second (this server's cap), got {value}"
    )]
    RateOutOfRange {
        /// `publisher.rate` or `subscriber.rate`.
        field: &'static str,
        /// The rate asked for.
        value: f64,
        /// The server's cap.
        max: f64,
    },
    /// The error rate is not a number in [0, 1].
    #[error(
        "publisher.error_rate must be a share from 0 to 1 (0.01 makes 1% of objects malformed), got {value}"
    )]
    ErrorRateOutOfRange {
        /// The error rate asked for.
        value: f64,
    },
    /// The automatic stop is not in 1..=max seconds.
    #[error(
        "publisher.stop_after_s must be from 1 to {max} seconds (this server's cap), got {value}"
    )]
    StopAfterOutOfRange {
        /// The time asked for, in seconds.
        value: u64,
        /// The server's cap, in seconds.
        max: u64,
    },
}

impl TrafficSettingsError {
    /// The refused field, as a dotted JSON path: `publisher.rate`, `publisher.error_rate`,
    /// `publisher.stop_after_s` or `subscriber.rate`.
    pub fn field(&self) -> &'static str {
        match self {
            Self::RateOutOfRange { field, .. } => field,
            Self::ErrorRateOutOfRange { .. } => "publisher.error_rate",
            Self::StopAfterOutOfRange { .. } => "publisher.stop_after_s",
        }
    }
}

fn validate_rate(
    field: &'static str,
    value: f64,
    limits: &TrafficLimits,
) -> Result<(), TrafficSettingsError> {
    // A comparison with NaN is false, and a finite cap refuses infinity.
    if value.is_finite() && value >= MIN_RATE && value <= limits.max_rate {
        Ok(())
    } else {
        Err(TrafficSettingsError::RateOutOfRange {
            field,
            value,
            max: limits.max_rate,
        })
    }
}

/// The time between two events at `rate` per second (a day if the rate is not a usable number).
pub(crate) fn period(rate: f64) -> Duration {
    if rate.is_finite() && rate > 0.0 {
        Duration::try_from_secs_f64(1.0 / rate).unwrap_or(ONE_DAY)
    } else {
        ONE_DAY
    }
}

const ONE_DAY: Duration = Duration::from_secs(24 * 3_600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_and_every_field_may_be_left_out() {
        let settings: TrafficSettings =
            serde_json::from_str(r#"{"publisher": {"rate": 5}}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            settings,
            TrafficSettings {
                publisher: Some(PublisherSettings {
                    rate: 5.0,
                    ..PublisherSettings::default()
                }),
                subscriber: None,
            }
        );
    }

    #[test]
    fn batch_size_follows_the_rate_up_to_ten() {
        let batch = |rate| SubscriberSettings { rate }.batch_size();
        assert_eq!(
            (batch(0.5), batch(2.0), batch(2.5), batch(20.0)),
            (1, 2, 3, 10)
        );
    }
}
