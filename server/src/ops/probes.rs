//! Built-in probes: single numbers a Chaos Toolkit tolerance can read, over the last whole
//! minutes of pipeline time.
//!
//! - [`percent_in_flight`] and [`percent_in_error`] are the **original lab's** measures
//!   (jpbarto/serverless-chaos-lab at `3e3d279`, `steadyStateFlight.json` and
//!   `steadyStateError.json`), both over Lambda `Invocations`:
//!   in flight = ((`Invocations` − CSV queue `NumberOfMessagesSent`) ÷ `Invocations`) × 100,
//!   in error = (dead-letter queue `NumberOfMessagesSent` ÷ `Invocations`) × 100.
//!   They are not the dashboard's "Percent in error" ([`crate::measures`]), which divides by the
//!   objects processed; an experiment imported from the original lab keeps its own formulas and
//!   tolerances only with these.
//! - [`sns_notifications_failed`]: SNS `NumberOfNotificationsFailed`, the original's third probe.
//! - [`slo`]: the participant's own objective, judged now ([`crate::slo::evaluate`]).
//!
//! Each reads its inputs with one GetMetricData request through the backend, as a single period
//! the length of the window, so the embedded pipeline and CloudWatch answer the same way.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::backend::StackNames;
use crate::metrics::names::{lambda, sns, sqs};
use crate::metrics::{
    Dimension, EpochMillis, GetMetricDataRequest, GetMetricDataResponse, Metric, MetricDataQuery,
    MetricStat, rfc3339,
};
use crate::ops::OpError;
use crate::slo::{Verdict, evaluate};
use crate::state::App;

/// The window when none is asked for: the original lab's 5 minutes (`Period` 300).
pub const DEFAULT_MINUTES: u32 = 5;
/// The longest window, in minutes: 3 hours.
pub const MAX_MINUTES: u32 = 180;

const MINUTE: EpochMillis = 60_000;

/// A probe's reading over a window of whole minutes.
///
/// `value` is `null` when the measure has no denominator (no Lambda `Invocations` in the
/// window); the `text/plain` answer is then `0`, so that a `range` tolerance can still read it:
/// without traffic nothing is in flight and nothing is in error.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProbeReading {
    /// The measure: a percentage for the two percent probes, a count for the SNS probe; `null`
    /// when no Lambda invocation happened in the window (the text answer is then `0`). Read it
    /// with the JSON path `$.value`.
    pub value: Option<f64>,
    /// The window's length, in whole minutes.
    pub minutes: u32,
    /// Start of the window, inclusive: a whole minute of pipeline time.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub start: EpochMillis,
    /// End of the window, exclusive: the start of the minute in progress (CloudWatch reports a
    /// minute when it ends).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub end: EpochMillis,
    /// The sums the value was computed from, by name (`invocations`, `csv_messages_sent`,
    /// `dead_letter_messages_sent`, `notifications_failed`); a metric without a datapoint in the
    /// window counts 0.
    pub inputs: BTreeMap<String, f64>,
}

/// The participant's SLO, judged now, as a probe reads it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SloReading {
    /// The SLI in percent (dead-letter events ÷ objects processed × 100); `null` when nothing
    /// was processed in the window (the text answer is then `0`).
    pub value: Option<f64>,
    /// The objective's window, in whole minutes.
    pub minutes: u32,
    /// Start of the window, inclusive.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub start: EpochMillis,
    /// End of the window, exclusive.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub end: EpochMillis,
    /// The counts behind the value: `dead_lettered` and `processed`.
    pub inputs: BTreeMap<String, f64>,
    /// The objective: at most this percentage in the window.
    pub max_percent: f64,
    /// Whether the objective holds; `null` when nothing was processed (not a pass).
    pub met: Option<bool>,
    /// `met`, `not_met` or `not_enough_data`.
    pub verdict: Verdict,
    /// Whether the participant stated the objective (otherwise the default one is judged).
    pub stated: bool,
}

impl ProbeReading {
    /// The bare number a `text/plain` answer carries (see [`plain_number`]); `0` without a value.
    pub fn as_text(&self) -> String {
        plain_number(self.value.unwrap_or(0.0))
    }
}

impl SloReading {
    /// The current value as bare text; `0` without a value.
    pub fn as_text(&self) -> String {
        plain_number(self.value.unwrap_or(0.0))
    }
}

/// A number as bare text, rounded to hundredths, without trailing zeros: `2.94`, `50`, `0`.
pub fn plain_number(value: f64) -> String {
    // Adding 0.0 turns a -0.0 (from rounding a tiny negative) into 0.
    let rounded = (value * 100.0).round() / 100.0 + 0.0;
    format!("{rounded}")
}

/// The window asked for: `minutes` whole minutes, 1 to [`MAX_MINUTES`], default
/// [`DEFAULT_MINUTES`].
pub fn window_minutes(minutes: Option<i64>) -> Result<u32, OpError> {
    let minutes = minutes.unwrap_or(i64::from(DEFAULT_MINUTES));
    u32::try_from(minutes)
        .ok()
        .filter(|minutes| (1..=MAX_MINUTES).contains(minutes))
        .ok_or_else(|| {
            OpError::invalid(
                "invalid_minutes",
                format!("minutes must be a whole number from 1 to {MAX_MINUTES}, got {minutes}"),
            )
        })
}

/// The original lab's "percent in flight" over the last `minutes` whole minutes:
/// ((`Invocations` − CSV queue `NumberOfMessagesSent`) ÷ `Invocations`) × 100, Sum.
pub async fn percent_in_flight(
    app: &App,
    id: &str,
    minutes: Option<i64>,
) -> Result<ProbeReading, OpError> {
    let minutes = window_minutes(minutes)?;
    let names = stack_names(app, id)?;
    let queries = [
        ("invocations", lambda_invocations(&names)),
        (
            "csv_messages_sent",
            queue_messages_sent(&names.csv_queue_name),
        ),
    ];
    let (window, [invocations, converted]) = read_sums(app, id, minutes, queries).await?;
    let value = (invocations > 0.0).then(|| (invocations - converted) / invocations * 100.0 + 0.0);
    Ok(window.reading(value))
}

/// The original lab's "percent in error" over the last `minutes` whole minutes:
/// (dead-letter queue `NumberOfMessagesSent` ÷ `Invocations`) × 100, Sum.
pub async fn percent_in_error(
    app: &App,
    id: &str,
    minutes: Option<i64>,
) -> Result<ProbeReading, OpError> {
    let minutes = window_minutes(minutes)?;
    let names = stack_names(app, id)?;
    let queries = [
        ("invocations", lambda_invocations(&names)),
        (
            "dead_letter_messages_sent",
            queue_messages_sent(&names.dlq_name),
        ),
    ];
    let (window, [invocations, dead_lettered]) = read_sums(app, id, minutes, queries).await?;
    let value = (invocations > 0.0).then(|| dead_lettered / invocations * 100.0 + 0.0);
    Ok(window.reading(value))
}

/// SNS `NumberOfNotificationsFailed`, Sum, over the last `minutes` whole minutes; 0 when the
/// topic reported no datapoint (SNS reports nothing for a minute without deliveries).
pub async fn sns_notifications_failed(
    app: &App,
    id: &str,
    minutes: Option<i64>,
) -> Result<ProbeReading, OpError> {
    let minutes = window_minutes(minutes)?;
    let names = stack_names(app, id)?;
    let metric = Metric {
        namespace: sns::NAMESPACE.to_owned(),
        metric_name: sns::NOTIFICATIONS_FAILED.to_owned(),
        dimensions: vec![Dimension {
            name: sns::DIMENSION.to_owned(),
            value: names.topic_name.clone(),
        }],
    };
    let (window, [failed]) =
        read_sums(app, id, minutes, [("notifications_failed", metric)]).await?;
    Ok(window.reading(Some(failed)))
}

/// The participant's objective (the stated one, else the default) judged now.
pub async fn slo(app: &App, id: &str) -> Result<SloReading, OpError> {
    let participant = app.participants.get(id)?;
    let objective = participant.slo.unwrap_or_default();
    let status = evaluate(app.backend.as_ref(), &app.dashboard, id, &objective).await?;
    let inputs = BTreeMap::from([
        ("dead_lettered".to_owned(), status.dlq_messages),
        ("processed".to_owned(), status.processed),
    ]);
    Ok(SloReading {
        value: status.value_percent,
        minutes: objective.window_minutes,
        start: status.window_start,
        end: status.window_end,
        inputs,
        max_percent: objective.max_percent,
        met: status.met,
        verdict: status.verdict(),
        stated: participant.slo.is_some(),
    })
}

/// The participant's stack names, after checking that the participant exists.
fn stack_names(app: &App, id: &str) -> Result<StackNames, OpError> {
    app.participants.get(id)?;
    app.backend
        .stack_names(id)
        .ok_or_else(|| OpError::NotFound(format!("participant {id:?} has no pipeline stack")))
}

fn lambda_invocations(names: &StackNames) -> Metric {
    Metric {
        namespace: lambda::NAMESPACE.to_owned(),
        metric_name: lambda::INVOCATIONS.to_owned(),
        dimensions: vec![Dimension {
            name: lambda::DIMENSION.to_owned(),
            value: names.function_name.clone(),
        }],
    }
}

fn queue_messages_sent(queue: &str) -> Metric {
    Metric {
        namespace: sqs::NAMESPACE.to_owned(),
        metric_name: sqs::MESSAGES_SENT.to_owned(),
        dimensions: vec![Dimension {
            name: sqs::DIMENSION.to_owned(),
            value: queue.to_owned(),
        }],
    }
}

/// The last `minutes` whole minutes of pipeline time, with the sums read over it by name.
#[derive(Debug, Clone)]
struct Window {
    minutes: u32,
    start: EpochMillis,
    end: EpochMillis,
    inputs: BTreeMap<String, f64>,
}

impl Window {
    fn reading(self, value: Option<f64>) -> ProbeReading {
        ProbeReading {
            value,
            minutes: self.minutes,
            start: self.start,
            end: self.end,
            inputs: self.inputs,
        }
    }
}

/// The Sum of each metric over the last `minutes` whole minutes, read with one GetMetricData
/// request whose single period is the window: a ratio of sums, as the original lab's
/// `Period: 300` over a 5-minute range gave.
async fn read_sums<const N: usize>(
    app: &App,
    id: &str,
    minutes: u32,
    metrics: [(&'static str, Metric); N],
) -> Result<(Window, [f64; N]), OpError> {
    let now = app.backend.clock().now();
    // CloudWatch reports a minute when it ends (SQS every minute), so the minute in progress is
    // left out, as `measures::percent_in_error` does.
    let end = now - now.rem_euclid(MINUTE);
    let start = end - EpochMillis::from(minutes) * MINUTE;
    let queries = metrics
        .iter()
        .enumerate()
        .map(|(index, (_, metric))| MetricDataQuery {
            id: format!("m{index}"),
            metric_stat: Some(MetricStat {
                metric: metric.clone(),
                period: minutes * 60,
                stat: "Sum".to_owned(),
            }),
            expression: None,
            label: None,
            return_data: Some(true),
            period: None,
        })
        .collect();
    let request = GetMetricDataRequest {
        metric_data_queries: queries,
        start_time: start,
        end_time: end,
        scan_by: None,
        max_datapoints: None,
        next_token: None,
    };
    let response = app.backend.get_metric_data(id, request).await?;
    let mut sums = [0.0; N];
    for (index, sum) in sums.iter_mut().enumerate() {
        *sum = sum_of(&response, &format!("m{index}"));
    }
    let inputs = metrics
        .iter()
        .zip(sums)
        .map(|((name, _), sum)| ((*name).to_owned(), sum))
        .collect();
    Ok((
        Window {
            minutes,
            start,
            end,
            inputs,
        },
        sums,
    ))
}

/// The sum of a result's values; 0 when it has none (Lambda reports no datapoint for an idle
/// period, and SQS stops reporting an idle queue).
fn sum_of(response: &GetMetricDataResponse, id: &str) -> f64 {
    response
        .metric_data_results
        .iter()
        .filter(|result| result.id == id)
        .flat_map(|result| &result.values)
        .sum::<f64>()
        // A float sum starts from -0.0; an empty one is plain 0.
        + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_number_is_rounded_to_hundredths_without_trailing_zeros() {
        assert_eq!(plain_number(2.941_176), "2.94");
        assert_eq!(plain_number(50.0), "50");
        assert_eq!(plain_number(0.0), "0");
        assert_eq!(plain_number(-0.001), "0");
        assert_eq!(plain_number(12.5), "12.5");
    }

    #[test]
    fn the_window_is_one_to_one_hundred_and_eighty_whole_minutes() {
        assert_eq!(window_minutes(None).ok(), Some(5));
        assert_eq!(window_minutes(Some(1)).ok(), Some(1));
        assert_eq!(window_minutes(Some(180)).ok(), Some(180));
        for wrong in [0, -5, 181, i64::MAX] {
            let error = window_minutes(Some(wrong)).err();
            assert_eq!(error.map(|error| error.code()), Some("invalid_minutes"));
        }
    }
}
