//! Measuring the SLI from a backend's metrics: one window for the live status, 5-minute periods
//! for a chart. Both run the dashboard's own "Percent in error" ([`crate::measures`]), so the
//! pages, the instructor's overview and the CloudWatch console agree.

use super::{SloObjective, SloStatus};
use crate::backend::{Backend, BackendError};
use crate::dashboard::DashboardDefinition;
use crate::measures::{Measure, PERCENT_IN_ERROR, percent_in_error};
use crate::metrics::EpochMillis;

/// The chart's period, in seconds: the dashboard's 5 minutes.
pub const HISTORY_PERIOD_SECONDS: u32 = 300;

/// Measures the SLI over the objective's last complete window and judges it, with the
/// "Percent in error" of `dashboard`, the dashboard the server serves.
///
/// The window is `[now - window, now)` in pipeline time, with both edges rounded down to the
/// whole minute: SQS reports each minute when it ends, so the minute in progress has no data yet.
/// It is read as a single period of the window's length. A window in which nothing was processed
/// gives `met: None` ("not enough data"), never a pass.
///
/// Errors: [`BackendError::InvalidRequest`] for an invalid objective, [`BackendError::UnknownStack`]
/// for a participant without a stack, and whatever the backend's GetMetricData returns.
pub async fn evaluate(
    backend: &dyn Backend,
    dashboard: &DashboardDefinition,
    participant: &str,
    objective: &SloObjective,
) -> Result<SloStatus, BackendError> {
    check(objective)?;
    let window =
        percent_in_error(backend, dashboard, participant, objective.window_minutes).await?;
    Ok(SloStatus::measured(
        *objective,
        window.start,
        window.end,
        window.dead_lettered,
        window.processed,
        window.percent,
    ))
}

/// The SLI in percent for each 5-minute period in `[start, end)`, oldest first, for a chart.
///
/// `start` is rounded down to a 5-minute boundary, so the points stay put as time passes; each
/// point's timestamp is its period's start. A period in which nothing was processed has no point.
/// The objective is checked so that the chart and [`evaluate`] refuse the same input; its
/// `max_percent` is the line to draw across the chart.
pub async fn history(
    backend: &dyn Backend,
    dashboard: &DashboardDefinition,
    participant: &str,
    objective: &SloObjective,
    start: EpochMillis,
    end: EpochMillis,
) -> Result<Vec<(EpochMillis, f64)>, BackendError> {
    check(objective)?;
    let measure = Measure::for_participant(backend, dashboard, participant, PERCENT_IN_ERROR)?;
    let period = EpochMillis::from(HISTORY_PERIOD_SECONDS) * 1000;
    let measured = measure
        .measure(
            backend,
            participant,
            start - start.rem_euclid(period),
            end,
            HISTORY_PERIOD_SECONDS,
        )
        .await?;
    Ok(measured.points)
}

fn check(objective: &SloObjective) -> Result<(), BackendError> {
    objective
        .validate()
        .map_err(|error| BackendError::InvalidRequest(error.to_string()))
}
