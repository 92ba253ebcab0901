//! One participant's row of the overview: progress, traffic, throughput, error ratio, SLO and
//! last activity, measured so that one broken pipeline never hides everyone else's.

use super::InstructorError;
use crate::backend::{Backend, BackendError, StackNames};
use crate::lab::{LABS, step};
use crate::metrics::names::lambda;
use crate::metrics::{Dimension, GetMetricDataRequest, Metric, MetricDataQuery, MetricStat};
use crate::participants::Participant;
use crate::slo::{SloStatus, Verdict};
use crate::state::AppState;
use crate::traffic::TrafficStatus;

/// The throughput's window, in minutes of pipeline time.
pub const THROUGHPUT_MINUTES: i64 = 5;

/// A participant's SLO, as the table shows it.
#[derive(Debug, Clone)]
pub enum SloCell {
    /// They have not stated one.
    NotStated,
    /// Judged over its last window.
    Judged(SloStatus),
    /// It could not be evaluated (the row's problems say why).
    Unavailable,
}

/// One participant, as the overview shows them.
#[derive(Debug, Clone)]
pub struct ParticipantRow {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The step they last opened, `Lab 2, 3. Inject latency`, or `Not started`.
    pub current_step: String,
    /// That step's lab and number, (0, 0) before any: the table sorts on it.
    pub current_step_number: (usize, usize),
    /// Steps done, in every lab.
    pub steps_done: usize,
    /// Steps in all the labs.
    pub steps_total: usize,
    /// Steps done in each lab, `(lab, done, total)`.
    pub labs: Vec<(usize, usize, usize)>,
    /// The fault the function reads now, `latency 3000–4000 ms at 50%`, when one is on.
    pub fault: Option<String>,
    /// Their generators.
    pub traffic: TrafficStatus,
    /// Whether the publisher or the subscriber is running.
    pub running: bool,
    /// Pipeline time left before the running publisher's automatic stop, `29 min 05 s`.
    pub stops_in: Option<String>,
    /// Objects published per minute over the last [`THROUGHPUT_MINUTES`] of pipeline time.
    pub published_per_minute: Option<f64>,
    /// Events sent to the dead-letter queue over the last [`THROUGHPUT_MINUTES`].
    pub dead_lettered: u64,
    /// Objects processed (converted or dead-lettered) over the last [`THROUGHPUT_MINUTES`].
    pub processed: u64,
    /// The dashboard's "Percent in error" over the last [`THROUGHPUT_MINUTES`]; `None` when
    /// nothing was processed in them.
    pub error_ratio: Option<f64>,
    /// Their SLO's state.
    pub slo: SloCell,
    /// When they last did something (wall clock).
    pub last_seen_ms: i64,
    /// The same, in words.
    pub last_activity: String,
    /// What could not be measured, and why.
    pub problems: Vec<String>,
}

impl ParticipantRow {
    /// Measures a participant. Never fails: what cannot be measured is left out and named in
    /// `problems`, so one broken pipeline does not hide everyone else's.
    pub async fn load(state: &AppState, participant: &Participant, now_ms: i64) -> Self {
        let id = participant.id.as_str();
        let completed = &participant.progress.completed;
        let current = participant.progress.current_step.as_deref().and_then(step);
        let traffic = state.traffic.status(id);
        let mut row = Self {
            id: participant.id.clone(),
            name: participant.name.clone(),
            current_step: current.map_or_else(
                || "Not started".to_owned(),
                |step| format!("Lab {}, {}. {}", step.lab, step.number, step.title),
            ),
            current_step_number: current.map_or((0, 0), |step| (step.lab, step.number)),
            steps_done: LABS.iter().map(|lab| lab.done_by(completed)).sum(),
            steps_total: LABS.iter().map(|lab| lab.steps.len()).sum(),
            labs: LABS
                .iter()
                .map(|lab| (lab.number, lab.done_by(completed), lab.steps.len()))
                .collect(),
            fault: None,
            running: traffic.is_running(),
            stops_in: traffic
                .publisher
                .as_ref()
                .filter(|publisher| publisher.running)
                .map(|publisher| {
                    let now = state.backend.clock().now();
                    crate::lab::checks::minutes_seconds(publisher.stops_at - now)
                }),
            traffic,
            published_per_minute: None,
            dead_lettered: 0,
            processed: 0,
            error_ratio: None,
            slo: SloCell::Unavailable,
            last_seen_ms: participant.last_seen_ms,
            last_activity: super::ago(now_ms, participant.last_seen_ms),
            problems: Vec::new(),
        };
        let Some(names) = state.backend.stack_names(id) else {
            row.problems.push("They have no pipeline stack.".to_owned());
            row.slo = match participant.slo {
                None => SloCell::NotStated,
                Some(_) => SloCell::Unavailable,
            };
            return row;
        };
        match crate::ops::faults::overview_view(state, id).await {
            Ok(view) if view.enabled => row.fault = Some(view.summary),
            Ok(view) => {
                if let Some(problem) = view.problem {
                    row.problems.push(format!(
                        "Their fault document cannot be followed, so no fault is injected: {problem}."
                    ));
                }
            }
            Err(error) => row.problems.push(format!("Fault injection: {error}.")),
        }
        // The dashboard's own "Percent in error", over the throughput's window.
        match crate::measures::percent_in_error(
            state.backend.as_ref(),
            &state.dashboard,
            id,
            THROUGHPUT_MINUTES as u32,
        )
        .await
        {
            Ok(window) => {
                row.dead_lettered = window.dead_lettered as u64;
                row.processed = window.processed as u64;
                row.error_ratio = window.percent;
            }
            Err(error) => row.problems.push(format!("Percent in error: {error}.")),
        }
        match published_per_minute(state.backend.as_ref(), id, &names).await {
            Ok(rate) => row.published_per_minute = Some(rate),
            Err(error) => row.problems.push(format!("Throughput: {error}.")),
        }
        row.slo = match &participant.slo {
            None => SloCell::NotStated,
            Some(objective) => {
                match crate::slo::evaluate(state.backend.as_ref(), &state.dashboard, id, objective)
                    .await
                {
                    Ok(status) => SloCell::Judged(status),
                    Err(error) => {
                        row.problems.push(format!("SLO: {error}."));
                        SloCell::Unavailable
                    }
                }
            }
        };
        row
    }

    /// The traffic in words: `publishing 2/s (1% malformed), subscribing 2/s`, or `idle`.
    pub fn traffic_label(&self) -> String {
        let publisher = self
            .traffic
            .publisher
            .as_ref()
            .filter(|publisher| publisher.running)
            .map(|publisher| {
                let stops = self
                    .stops_in
                    .as_ref()
                    .map_or_else(String::new, |left| format!(", stops in {left}"));
                format!(
                    "publishing {}/s ({}% malformed{stops})",
                    publisher.settings.rate,
                    publisher.settings.error_rate * 100.0
                )
            });
        let subscriber = self
            .traffic
            .subscriber
            .as_ref()
            .filter(|subscriber| subscriber.running)
            .map(|subscriber| format!("subscribing {}/s", subscriber.settings.rate));
        match (publisher, subscriber) {
            (None, None) => "idle".to_owned(),
            (Some(publisher), None) => format!("{publisher}; subscriber stopped"),
            (None, Some(subscriber)) => format!("publisher stopped; {subscriber}"),
            (Some(publisher), Some(subscriber)) => format!("{publisher}, {subscriber}"),
        }
    }

    /// `12.4/min`, or `—`.
    pub fn throughput_label(&self) -> String {
        self.published_per_minute
            .map_or_else(|| "—".to_owned(), |rate| format!("{rate:.1}/min"))
    }

    /// `0.98% (3 of 306)`, or `—` before anything was processed.
    pub fn error_label(&self) -> String {
        self.error_ratio.map_or_else(
            || "—".to_owned(),
            |ratio| format!("{ratio:.2}% ({} of {})", self.dead_lettered, self.processed),
        )
    }

    /// The SLO in words: `met: 0.98% ≤ 2% over 5 min`, `—` when none is stated.
    pub fn slo_label(&self) -> String {
        match &self.slo {
            SloCell::NotStated => "—".to_owned(),
            SloCell::Unavailable => "unavailable".to_owned(),
            SloCell::Judged(status) => {
                let objective = &status.objective;
                match status.value_percent {
                    Some(value) => format!(
                        "{}: {value:.2}% (objective ≤ {}% over {} min)",
                        status.verdict(),
                        objective.max_percent,
                        objective.window_minutes
                    ),
                    None => format!(
                        "{} (objective ≤ {}% over {} min)",
                        status.verdict(),
                        objective.max_percent,
                        objective.window_minutes
                    ),
                }
            }
        }
    }

    /// The SLO badge's modifier class.
    pub fn slo_class(&self) -> &'static str {
        match &self.slo {
            SloCell::Judged(status) => match status.verdict() {
                Verdict::Met => "badge--met",
                Verdict::NotMet => "badge--not-met",
                Verdict::NotEnoughData => "badge--neutral",
            },
            SloCell::NotStated | SloCell::Unavailable => "badge--neutral",
        }
    }

    /// Whether they stated an SLO and it does not hold.
    pub fn slo_broken(&self) -> bool {
        matches!(&self.slo, SloCell::Judged(status) if status.met == Some(false))
    }
}

/// Objects published per minute over the last [`THROUGHPUT_MINUTES`] whole minutes of pipeline
/// time. Each S3 upload queues one asynchronous invocation, so Lambda's `AsyncEventsReceived`
/// counts the objects published, retries excluded (`Invocations` would count every retry).
pub async fn published_per_minute(
    backend: &dyn Backend,
    participant: &str,
    names: &StackNames,
) -> Result<f64, BackendError> {
    let now = backend.clock().now();
    // The minute in progress is still being counted.
    let end = now - now.rem_euclid(60_000);
    let request = GetMetricDataRequest {
        metric_data_queries: vec![MetricDataQuery {
            id: "published".to_owned(),
            metric_stat: Some(MetricStat {
                metric: Metric {
                    namespace: lambda::NAMESPACE.to_owned(),
                    metric_name: lambda::ASYNC_EVENTS_RECEIVED.to_owned(),
                    dimensions: vec![Dimension {
                        name: lambda::DIMENSION.to_owned(),
                        value: names.function_name.clone(),
                    }],
                },
                period: (THROUGHPUT_MINUTES * 60) as u32,
                stat: "Sum".to_owned(),
            }),
            expression: None,
            label: None,
            return_data: Some(true),
            period: None,
        }],
        start_time: end - THROUGHPUT_MINUTES * 60_000,
        end_time: end,
        scan_by: None,
        max_datapoints: None,
        next_token: None,
    };
    let response = backend.get_metric_data(participant, request).await?;
    // Folded from +0.0: an empty `sum()` of floats is -0.0, which would print as "-0.0/min".
    let published = response
        .metric_data_results
        .iter()
        .flat_map(|result| &result.values)
        .fold(0.0, |total, value| total + value);
    Ok(published / THROUGHPUT_MINUTES as f64)
}

/// Every participant's row, in the order they joined.
pub async fn load_rows(state: &AppState) -> Result<Vec<ParticipantRow>, InstructorError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut rows = Vec::new();
    for participant in state.participants.list()? {
        rows.push(ParticipantRow::load(state, &participant, now_ms).await);
    }
    Ok(rows)
}
