//! The body of the API's GetMetricData: [`GetMetricDataInput`], whose `StartTime` and `EndTime`
//! may be relative to "now" as CloudWatch dashboards write them (`"start": "-PT3H"`,
//! `"end": "now"`), resolved to absolute times before the query engine sees the request.
//!
//! "Now" is the pipeline's clock, never the wall clock: the API passes the participant backend's
//! current time to [`GetMetricDataInput::resolve`].

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::{EpochMillis, GetMetricDataRequest, MetricDataQuery, ScanBy, rfc3339, whole_number};

/// A time as the API takes it: absolute, or an offset from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSpec {
    /// An absolute time: RFC 3339 text (`2026-11-26T10:15:00Z`) or epoch seconds.
    At(EpochMillis),
    /// Now plus this many milliseconds (negative for the past): `"-PT5M"`, or `"now"` for 0.
    FromNow(i64),
}

impl TimeSpec {
    /// The absolute time, given the pipeline's `now`.
    pub fn resolve(self, now: EpochMillis) -> EpochMillis {
        match self {
            Self::At(at) => at,
            Self::FromNow(offset) => now.saturating_add(offset),
        }
    }
}

/// Parses the ISO 8601 durations CloudWatch dashboards use, signed: `-PT5M`, `-PT3H`, `-P1D`,
/// `-P1W`, `-P1DT12H`, `PT30S`, `-PT1.5S`, into milliseconds.
///
/// The subset: an optional sign, `P`, then weeks `W` and days `D`, then after `T` hours `H`,
/// minutes `M` and seconds `S` (only seconds may have a fraction), each at most once and in this
/// order. Years and months (`P1Y`, `P1M`) are refused: they have no fixed length. Written here
/// rather than taken from a crate: the subset is a dozen lines, and the crates that parse ISO
/// 8601 durations either bring a parser framework or accept the calendar units we must refuse.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = |why: &str| {
        format!(
            "{text:?} is not a duration: {why}; write an ISO 8601 duration such as -PT5M, -PT3H \
             or -P1D"
        )
    };
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let rest = rest
        .strip_prefix('P')
        .ok_or_else(|| invalid("it must start with P (or -P)"))?;
    let (date, time) = match rest.split_once('T') {
        Some((_, "")) => {
            return Err(invalid("a T must be followed by hours, minutes or seconds"));
        }
        Some((date, time)) => (date, time),
        None => (rest, ""),
    };
    let mut millis: f64 = 0.0;
    let mut any = false;
    let date_units: &[(char, f64)] = &[('W', 604_800_000.0), ('D', 86_400_000.0)];
    let time_units: &[(char, f64)] = &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1_000.0)];
    for (mut part, mut allowed, is_date) in [(date, date_units, true), (time, time_units, false)] {
        while !part.is_empty() {
            let end = part
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| invalid("a number must be followed by its unit"))?;
            let (number, after) = part.split_at(end);
            let unit = after.chars().next().unwrap_or(' ');
            if is_date && matches!(unit, 'Y' | 'M') {
                return Err(invalid(
                    "years and months have no fixed length, use days (P30D)",
                ));
            }
            let index = allowed
                .iter()
                .position(|&(name, _)| name == unit)
                .ok_or_else(|| {
                    invalid(&format!(
                        "`{unit}` is not a unit there, or comes out of order"
                    ))
                })?;
            if number.is_empty() || (number.contains('.') && unit != 'S') {
                return Err(invalid(
                    "each unit needs a whole number before it (only seconds may have a fraction)",
                ));
            }
            let value: f64 = number
                .parse()
                .map_err(|_| invalid(&format!("{number:?} is not a number")))?;
            millis += value * allowed[index].1;
            any = true;
            allowed = &allowed[index + 1..];
            part = &after[unit.len_utf8()..];
        }
    }
    if !any {
        return Err(invalid("it has no hours, minutes, seconds, days or weeks"));
    }
    // Ten thousand years is far beyond any metric's retention.
    if millis > 3.2e14 {
        return Err(invalid("it is longer than any metric is kept"));
    }
    Ok(sign * millis.round() as i64)
}

impl<'de> Deserialize<'de> for TimeSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Input {
            Text(String),
            Seconds(f64),
        }
        match Input::deserialize(deserializer)? {
            Input::Text(text) if text.eq_ignore_ascii_case("now") => Ok(Self::FromNow(0)),
            Input::Text(text) if text.trim_start_matches(['-', '+']).starts_with('P') => {
                parse_duration(&text)
                    .map(Self::FromNow)
                    .map_err(de::Error::custom)
            }
            Input::Text(text) => rfc3339::parse(&text).map(Self::At).map_err(|error| {
                de::Error::custom(format!(
                    "{error}; a relative time is an ISO 8601 duration such as -PT3H, or now"
                ))
            }),
            Input::Seconds(seconds) if seconds.is_finite() => {
                Ok(Self::At((seconds * 1000.0).round() as EpochMillis))
            }
            Input::Seconds(_) => Err(de::Error::custom("a time is not a finite number")),
        }
    }
}

impl Serialize for TimeSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::At(at) => serializer.serialize_str(&rfc3339::format(at)),
            Self::FromNow(0) => serializer.serialize_str("now"),
            Self::FromNow(offset) => {
                let sign = if offset < 0 { "-" } else { "" };
                let millis = offset.unsigned_abs();
                let text = if millis % 1000 == 0 {
                    format!("{sign}PT{}S", millis / 1000)
                } else {
                    format!("{sign}PT{}.{:03}S", millis / 1000, millis % 1000)
                };
                serializer.serialize_str(&text)
            }
        }
    }
}

/// The body of `POST /participants/{id}/metrics/query`: a GetMetricData request whose times may
/// be relative to the pipeline's now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(as = GetMetricDataRequest)]
pub struct GetMetricDataInput {
    /// The queries, 1 to 500.
    #[schema(min_items = 1, max_items = 500)]
    #[serde(deserialize_with = "crate::input::objects")]
    pub metric_data_queries: Vec<MetricDataQuery>,
    /// Start of the time range, inclusive: RFC 3339 (`2026-11-26T10:00:00Z`), epoch seconds, or
    /// an ISO 8601 duration relative to the pipeline's now (`-PT5M`, `-PT3H`, `-P1D`).
    #[schema(value_type = String, example = "-PT3H")]
    pub start_time: TimeSpec,
    /// End of the time range, exclusive: as `StartTime`, or `now`; omitted, it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "now")]
    pub end_time: Option<TimeSpec>,
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
    /// The `NextToken` of the previous response, to get the next datapoints of the same request
    /// (with the same absolute `StartTime` and `EndTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

impl GetMetricDataInput {
    /// The request with absolute times, `now` being the pipeline's current time.
    pub fn resolve(self, now: EpochMillis) -> GetMetricDataRequest {
        GetMetricDataRequest {
            metric_data_queries: self.metric_data_queries,
            start_time: self.start_time.resolve(now),
            end_time: self.end_time.unwrap_or(TimeSpec::FromNow(0)).resolve(now),
            scan_by: self.scan_by,
            max_datapoints: self.max_datapoints,
            next_token: self.next_token,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn dashboard_durations_are_offsets_from_now() {
        assert_eq!(parse_duration("-PT5M"), Ok(-5 * MINUTE));
        assert_eq!(parse_duration("-PT3H"), Ok(-180 * MINUTE));
        assert_eq!(parse_duration("-P1D"), Ok(-1440 * MINUTE));
        assert_eq!(parse_duration("-P1W"), Ok(-7 * 1440 * MINUTE));
        assert_eq!(parse_duration("-P1DT12H"), Ok(-36 * 60 * MINUTE));
        assert_eq!(parse_duration("PT30S"), Ok(30_000));
        assert_eq!(parse_duration("-PT1.5S"), Ok(-1_500));
        assert_eq!(parse_duration("-PT1H30M"), Ok(-90 * MINUTE));
    }

    #[test]
    fn malformed_durations_say_what_is_wrong() {
        for (text, words) in [
            ("-P1M", "years and months"),
            ("-P1Y", "years and months"),
            ("-PT", "a T must be followed"),
            ("-P", "no hours"),
            ("-PT5", "followed by its unit"),
            ("-PT5X", "`X` is not a unit"),
            ("-PT5M3H", "out of order"),
            ("-PT1.5M", "only seconds may have a fraction"),
            ("-T5M", "must start with P"),
            ("-P99999999D", "longer than any metric is kept"),
        ] {
            let error = parse_duration(text).unwrap_err();
            assert!(error.contains(words), "{text}: {error}");
            assert!(error.contains("-PT5M"), "{text}: {error}");
        }
    }

    #[test]
    fn start_and_end_resolve_against_the_given_now() {
        let input: GetMetricDataInput = serde_json::from_str(
            r#"{"MetricDataQueries": [], "StartTime": "-PT5M", "EndTime": "now"}"#,
        )
        .unwrap();
        let now = rfc3339::parse("2026-11-26T12:00:00Z").unwrap();
        let request = input.resolve(now);
        assert_eq!(request.start_time, now - 5 * MINUTE);
        assert_eq!(request.end_time, now);

        let input: GetMetricDataInput = serde_json::from_str(
            r#"{"MetricDataQueries": [], "StartTime": "2026-11-26T10:00:00Z"}"#,
        )
        .unwrap();
        let request = input.resolve(now);
        assert_eq!(request.start_time, now - 120 * MINUTE);
        assert_eq!(request.end_time, now, "an omitted EndTime is now");
    }

    #[test]
    fn an_invalid_time_names_both_forms() {
        let error = serde_json::from_str::<GetMetricDataInput>(
            r#"{"MetricDataQueries": [], "StartTime": "yesterday"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("RFC 3339") && error.contains("-PT3H"),
            "{error}"
        );
        let error = serde_json::from_str::<GetMetricDataInput>(
            r#"{"MetricDataQueries": [], "StartTime": "-P1M"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("years and months"), "{error}");
    }

    #[test]
    fn times_serialise_back_in_the_form_they_are_read() {
        for text in ["\"now\"", "\"-PT300S\"", "\"2026-11-26T10:00:00Z\""] {
            let spec: TimeSpec = serde_json::from_str(text).unwrap();
            let again: TimeSpec =
                serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
            assert_eq!(spec, again, "{text}");
        }
    }
}
