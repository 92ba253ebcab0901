//! CloudWatch-style metrics: what the pipeline records and how it is queried.
//!
//! - [`names`] holds every namespace, metric and dimension name, defined once;
//! - [`store`] keeps one stack's datapoints in one-minute statistic sets;
//! - [`query`] answers GetMetricData requests over a store: periods, statistics, time edges;
//! - [`math`] evaluates metric-math expressions between query results;
//! - [`time_spec`] is the API's form of a request, whose times may be relative to now;
//! - [`whole_number`] reads `Period` and `MaxDatapoints` from any whole JSON number.
//!
//! The request and response types below follow GetMetricData's shape and field names, so the REST
//! API, the dashboard and the AWS backend all speak the same language.

pub mod math;
pub mod names;
pub mod query;
pub mod store;
pub mod time_spec;
pub mod whole_number;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, in pipeline time. Serialised as RFC 3339 text.
pub type EpochMillis = i64;

/// One dimension of a metric, e.g. `QueueName = chaos-csv-queue-…`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Dimension {
    /// The dimension's name, e.g. `FunctionName`.
    pub name: String,
    /// The dimension's value, e.g. `ChaosTransformer-0123456789abcdef`.
    pub value: String,
}

/// A metric's identity: namespace, name and dimensions.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Metric {
    /// e.g. `AWS/Lambda`.
    pub namespace: String,
    /// e.g. `Invocations`.
    pub metric_name: String,
    /// The dimensions, in any order.
    #[serde(default, deserialize_with = "crate::input::objects")]
    pub dimensions: Vec<Dimension>,
}

/// A metric with the period and statistic to aggregate it by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MetricStat {
    /// The metric.
    #[serde(deserialize_with = "crate::input::object")]
    pub metric: Metric,
    /// Aggregation period in seconds: a multiple of 60. Any JSON number that is a whole number
    /// is accepted (`300.0` is 300).
    #[serde(deserialize_with = "whole_number::period")]
    #[schema(minimum = 60, multiple_of = 60)]
    pub period: u32,
    /// `Sum`, `Average`, `Minimum`, `Maximum`, `SampleCount` or a percentile from `p0` to
    /// `p100` with up to two decimals, such as `p99` or `p99.9`.
    #[schema(
        pattern = r"^(Sum|Average|Minimum|Maximum|SampleCount|p(0{0,2}[0-9]|0?[1-9][0-9])(\.[0-9]{1,2})?|p100(\.0{1,2})?)$"
    )]
    pub stat: String,
}

/// One query of a GetMetricData request: a metric statistic or a metric-math expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MetricDataQuery {
    /// Identifier used by expressions and in the results: a lower-case letter, then letters,
    /// digits and underscores, at most 255 characters in all.
    #[schema(pattern = r"^[a-z][a-zA-Z0-9_]{0,254}$")]
    pub id: String,
    /// The metric to fetch; exactly one of this and `expression`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::input::object"
    )]
    pub metric_stat: Option<MetricStat>,
    /// A metric-math expression over other queries' ids, e.g. `100 * m2 / (m1 + m2)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Label for the result; defaults to the metric name or the expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether the result is returned (default true). Inputs to expressions are often hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
    /// Period for an expression's own aggregation, in seconds (unused by plain arithmetic).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number::optional_period"
    )]
    #[schema(minimum = 1)]
    pub period: Option<u32>,
}

/// A GetMetricData request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricDataRequest {
    /// The queries, at most 500.
    #[schema(min_items = 1, max_items = 500)]
    pub metric_data_queries: Vec<MetricDataQuery>,
    /// Start of the time range, inclusive.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub start_time: EpochMillis,
    /// End of the time range, exclusive.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub end_time: EpochMillis,
    /// `TimestampDescending` (the default, newest first) or `TimestampAscending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_by: Option<ScanBy>,
    /// Most datapoints in one response, over all results (default and most: 100,800). When
    /// there are more, the response carries a `NextToken` to ask for the rest.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number::optional_max_datapoints"
    )]
    #[schema(minimum = 1, maximum = 100_800)]
    pub max_datapoints: Option<u32>,
    /// The `NextToken` of the previous response, to get the next datapoints of the same request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Order of the datapoints in each result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ScanBy {
    /// Newest first (the default).
    #[default]
    TimestampDescending,
    /// Oldest first.
    TimestampAscending,
}

/// One query's result: parallel timestamps and values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataResult {
    /// The query's id.
    pub id: String,
    /// The query's label.
    pub label: String,
    /// Start of each period that has a value, in the requested order; pipeline time.
    #[serde(with = "rfc3339_list")]
    #[schema(value_type = Vec<String>)]
    pub timestamps: Vec<EpochMillis>,
    /// The value for each timestamp.
    pub values: Vec<f64>,
    /// `Complete`, or `PartialData` when more of its datapoints come with the `NextToken`.
    pub status_code: StatusCode,
}

/// Whether a result holds all its datapoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum StatusCode {
    /// All datapoints are present.
    Complete,
    /// More of this result's datapoints exist than were returned: repeat the request with the
    /// response's `NextToken` to get them.
    PartialData,
}

/// A GetMetricData response: one result per query whose `ReturnData` is true, in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricDataResponse {
    /// The results.
    pub metric_data_results: Vec<MetricDataResult>,
    /// Present when more datapoints remain: repeat the request with it to get them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Serde for an [`EpochMillis`] as RFC 3339 text (`2026-11-26T10:15:00Z`); epoch seconds are
/// accepted on input too, as the AWS JSON protocol sends them.
pub mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de};

    use super::EpochMillis;

    /// Formats epoch milliseconds as RFC 3339 in UTC, with milliseconds only when needed.
    pub fn format(millis: EpochMillis) -> String {
        match DateTime::<Utc>::from_timestamp_millis(millis) {
            Some(time) if millis % 1000 == 0 => time.to_rfc3339_opts(SecondsFormat::Secs, true),
            Some(time) => time.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => millis.to_string(),
        }
    }

    /// Formats epoch milliseconds as RFC 3339 in UTC, always with milliseconds, as AWS stamps
    /// events (`2026-11-26T10:15:00.000Z`).
    pub fn format_millis(millis: EpochMillis) -> String {
        DateTime::<Utc>::from_timestamp_millis(millis).map_or_else(
            || millis.to_string(),
            |time| time.to_rfc3339_opts(SecondsFormat::Millis, true),
        )
    }

    /// Parses RFC 3339 text into epoch milliseconds.
    pub fn parse(text: &str) -> Result<EpochMillis, String> {
        DateTime::parse_from_rfc3339(text)
            .map(|time| time.timestamp_millis())
            .map_err(|error| format!("invalid timestamp {text:?} (expected RFC 3339, e.g. 2026-11-26T10:15:00Z): {error}"))
    }

    /// Serialises as RFC 3339.
    pub fn serialize<S: Serializer>(
        millis: &EpochMillis,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*millis))
    }

    /// Serde for an optional timestamp.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        use super::super::EpochMillis;

        /// Serialises as RFC 3339 or null.
        pub fn serialize<S: Serializer>(
            millis: &Option<EpochMillis>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match millis {
                Some(millis) => serializer.serialize_str(&super::format(*millis)),
                None => serializer.serialize_none(),
            }
        }

        /// Deserialises RFC 3339 text or null.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<EpochMillis>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|text| super::parse(&text).map_err(serde::de::Error::custom))
                .transpose()
        }
    }

    /// Deserialises RFC 3339 text or epoch seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<EpochMillis, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Input {
            Text(String),
            Seconds(f64),
        }
        match Input::deserialize(deserializer)? {
            Input::Text(text) => parse(&text).map_err(de::Error::custom),
            Input::Seconds(seconds) if seconds.is_finite() => {
                Ok((seconds * 1000.0).round() as EpochMillis)
            }
            Input::Seconds(_) => Err(de::Error::custom("timestamp is not a finite number")),
        }
    }
}

/// Serde for a list of [`EpochMillis`] as RFC 3339 text.
pub mod rfc3339_list {
    use serde::{Deserialize, Deserializer, Serializer, de, ser::SerializeSeq};

    use super::{EpochMillis, rfc3339};

    /// Serialises each timestamp as RFC 3339.
    pub fn serialize<S: Serializer>(
        list: &[EpochMillis],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(list.len()))?;
        for millis in list {
            seq.serialize_element(&rfc3339::format(*millis))?;
        }
        seq.end()
    }

    /// Deserialises a list of RFC 3339 timestamps.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<EpochMillis>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| rfc3339::parse(text).map_err(de::Error::custom))
            .collect()
    }
}
