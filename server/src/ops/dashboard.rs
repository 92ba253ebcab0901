//! A participant's dashboard: every widget of the shared definition
//! (`terraform/dashboard.json`), run through the backend's GetMetricData over a range of
//! pipeline time.

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

/// The dashboard of a participant's stack.
pub fn dashboard_of(backend: &dyn Backend, participant: &str) -> Result<Dashboard, OpError> {
    let names = backend
        .stack_names(participant)
        .ok_or_else(|| BackendError::UnknownStack(participant.to_owned()))?;
    Dashboard::for_stack(&DashboardNames::from(&names))
        .map_err(|error| OpError::Internal(format!("the dashboard definition is invalid: {error}")))
}

/// Every widget's data for a participant over the last `minutes` of pipeline time, ending at
/// the end of the minute in progress.
pub async fn data(
    backend: &dyn Backend,
    participant: &str,
    minutes: i64,
) -> Result<DashboardData, OpError> {
    if !(MIN_MINUTES..=MAX_MINUTES).contains(&minutes) {
        return Err(OpError::invalid(
            "invalid_range",
            format!("minutes must be between {MIN_MINUTES} and {MAX_MINUTES}, got {minutes}"),
        ));
    }
    let dashboard = dashboard_of(backend, participant)?;
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

/// A participant opens their dashboard: it counts as seen for the steps. Returns the data and
/// the participant as saved.
pub async fn open(
    app: &App,
    id: &str,
    minutes: i64,
) -> Result<(DashboardData, Participant), OpError> {
    let data = data(app.backend.as_ref(), id, minutes).await?;
    let participant = super::steps::mark_viewed(app, id, Viewed::Dashboard)?;
    Ok((data, participant))
}
