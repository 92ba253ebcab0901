//! A participant's dashboard: every widget of the dashboard the server serves
//! (`terraform/dashboard.json`, or the `--dashboard` file: [`App::dashboard`]), run through the
//! backend's GetMetricData over a range of pipeline time.

use crate::backend::{Backend, BackendError};
use crate::dashboard::{
    Dashboard, DashboardData, DashboardNames, MetricSource, QueryError, TimeRange,
};
use crate::metrics::{GetMetricDataRequest, GetMetricDataResponse};
use crate::ops::OpError;
use crate::participants::{Participant, Viewed};
use crate::state::App;

/// Shortest range, in minutes.
pub const MIN_MINUTES: i64 = 5;
/// Longest range, in minutes: a day.
pub const MAX_MINUTES: i64 = 1440;

/// One participant's metrics through the backend, as the dashboard's [`MetricSource`].
#[derive(Debug)]
pub struct ParticipantMetrics<'a> {
    /// The backend.
    pub backend: &'a dyn Backend,
    /// The participant.
    pub participant: &'a str,
}

impl MetricSource for ParticipantMetrics<'_> {
    type Error = BackendError;

    async fn get_metric_data(
        &self,
        request: GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, BackendError> {
        self.backend
            .get_metric_data(self.participant, request)
            .await
    }
}

/// The served dashboard for a participant's stack.
pub fn dashboard_of(app: &App, participant: &str) -> Result<Dashboard, OpError> {
    let names = app
        .backend
        .stack_names(participant)
        .ok_or_else(|| BackendError::UnknownStack(participant.to_owned()))?;
    // Checked at start-up with markers for names; a stack name can still break it (say, one
    // that is itself "."), which is the server's fault, not the caller's.
    app.dashboard
        .for_stack(&DashboardNames::from(&names))
        .map_err(|error| {
            OpError::Internal(format!(
                "the dashboard {} is invalid for {participant}'s stack: {error}",
                app.dashboard.origin()
            ))
        })
}

/// Every widget's data for a participant over the last `minutes` of pipeline time, ending at
/// the end of the minute in progress.
pub async fn data(app: &App, participant: &str, minutes: i64) -> Result<DashboardData, OpError> {
    let backend = app.backend.as_ref();
    if !(MIN_MINUTES..=MAX_MINUTES).contains(&minutes) {
        return Err(OpError::invalid(
            "invalid_range",
            format!("minutes must be between {MIN_MINUTES} and {MAX_MINUTES}, got {minutes}"),
        ));
    }
    let dashboard = dashboard_of(app, participant)?;
    let now = backend.clock().now();
    // Whole minutes: the minute in progress is still being counted.
    let end = now - now.rem_euclid(60_000) + 60_000;
    let range = TimeRange {
        start: end - minutes * 60_000,
        end,
        period: None,
    };
    let source = ParticipantMetrics {
        backend,
        participant,
    };
    dashboard
        .query(&source, range)
        .await
        .map_err(|error| match error {
            QueryError::Source { source, .. } => source.into(),
            other => OpError::Internal(other.to_string()),
        })
}

/// The widgets titled `titles` of a participant's dashboard between `start` and `end` (pipeline
/// time), one-minute periods: a run's window.
pub async fn widgets_between(
    app: &App,
    participant: &str,
    titles: &[&str],
    start: i64,
    end: i64,
) -> Result<Vec<crate::dashboard::WidgetData>, OpError> {
    let dashboard = dashboard_of(app, participant)?;
    query_between(app, participant, &dashboard, titles, start, end).await
}

/// The title of [`probe_measures_between`]'s widget.
pub const PROBE_MEASURES_TITLE: &str = "The hypothesis's measures, minute by minute";

/// The original lab's two measures as the built-in probes compute them ([`crate::ops::probes`]),
/// over one-minute periods: percent in flight ((Lambda `Invocations` − CSV queue
/// `NumberOfMessagesSent`) ÷ `Invocations` × 100) and percent in error (dead-letter queue
/// `NumberOfMessagesSent` ÷ `Invocations` × 100). Not the dashboard's own "in flight", which
/// counts notifications waiting for the subscriber: a run's page shows what its probes read.
const PROBE_MEASURES: &str = r#"{"widgets": [{
  "type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
  "properties": {
    "title": "The hypothesis's measures, minute by minute",
    "view": "timeSeries", "region": "${region}", "stat": "Sum", "period": 60,
    "metrics": [
      ["AWS/Lambda", "Invocations", "FunctionName", "${function_name}", {"id": "invocations", "visible": false}],
      ["AWS/SQS", "NumberOfMessagesSent", "QueueName", "${csv_queue_name}", {"id": "csv", "visible": false}],
      [".", ".", ".", "${dlq_name}", {"id": "dead", "visible": false}],
      [{"expression": "100 * (invocations - FILL(csv, 0)) / invocations", "label": "Percent in flight (as the probe computes it)", "id": "in_flight"}],
      [{"expression": "100 * FILL(dead, 0) / invocations", "label": "Percent in error (as the probe computes it)", "id": "in_error"}]
    ]
  }
}]}"#;

/// [`PROBE_MEASURES`] for a participant between `start` and `end` (pipeline time), whole
/// minutes only.
pub async fn probe_measures_between(
    app: &App,
    participant: &str,
    start: i64,
    end: i64,
) -> Result<Vec<crate::dashboard::WidgetData>, OpError> {
    let names = app
        .backend
        .stack_names(participant)
        .ok_or_else(|| BackendError::UnknownStack(participant.to_owned()))?;
    let dashboard = Dashboard::from_template(PROBE_MEASURES, &DashboardNames::from(&names))
        .map_err(|error| OpError::Internal(format!("the probe measures' widget: {error}")))?;
    // The minute in progress is left out, as the probes leave it out: its invocations count
    // already, its queue messages only once it ends, so it would read as a spike in flight.
    let now = app.backend.clock().now();
    let end = end.min(now - now.rem_euclid(60_000) - 1);
    query_between(
        app,
        participant,
        &dashboard,
        &[PROBE_MEASURES_TITLE],
        start,
        end,
    )
    .await
}

async fn query_between(
    app: &App,
    participant: &str,
    dashboard: &Dashboard,
    titles: &[&str],
    start: i64,
    end: i64,
) -> Result<Vec<crate::dashboard::WidgetData>, OpError> {
    let source = ParticipantMetrics {
        backend: app.backend.as_ref(),
        participant,
    };
    let range = TimeRange {
        start: start - start.rem_euclid(60_000),
        end: end - end.rem_euclid(60_000) + 60_000,
        period: Some(60),
    };
    let mut widgets = Vec::new();
    for title in titles {
        if let Some(widget) = dashboard.widget(title) {
            widgets.push(
                widget
                    .query(&source, range)
                    .await
                    .map_err(|error| match error {
                        QueryError::Source { source, .. } => source.into(),
                        other => OpError::Internal(other.to_string()),
                    })?,
            );
        }
    }
    Ok(widgets)
}

/// A participant opens their dashboard: it counts as seen for the steps. Returns the data and
/// the participant as saved.
pub async fn open(
    app: &App,
    id: &str,
    minutes: i64,
) -> Result<(DashboardData, Participant), OpError> {
    let data = data(app, id, minutes).await?;
    let participant = super::steps::mark_viewed(app, id, Viewed::Dashboard)?;
    Ok((data, participant))
}
