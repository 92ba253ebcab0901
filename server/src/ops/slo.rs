//! Stating a participant's SLO and evaluating it.
//!
//! Two ways to state it: a whole objective ([`state`], the API's `PUT /slo`, where a field left
//! out takes its default), or a change to the current one ([`change`], `PATCH /slo`, where a field
//! left out keeps its current value: the stated one, else the default).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::events::EventKind;
use crate::ops::{Actor, OpError};
use crate::slo::{SloObjective, SloStatus, evaluate};
use crate::state::App;

/// The objective (if stated) and how the pipeline measures up to it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SloView {
    /// Whether the participant has stated an objective; if not, the default one is evaluated.
    pub stated: bool,
    /// The evaluation over the last window.
    pub status: SloStatus,
}

/// A change to the objective; a field left out keeps its current value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SloChange {
    /// Largest acceptable share of objects in the DLQ, in percent: greater than 0, at most 100.
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub max_percent: Option<f64>,
    /// Length of the window, in whole minutes, 1 to 180.
    #[schema(minimum = 1, maximum = 180)]
    pub window_minutes: Option<u32>,
}

impl SloChange {
    /// The objective this change gives over `current`.
    pub fn apply(&self, current: SloObjective) -> SloObjective {
        SloObjective {
            max_percent: self.max_percent.unwrap_or(current.max_percent),
            window_minutes: self.window_minutes.unwrap_or(current.window_minutes),
        }
    }
}

/// Changes a participant's objective by [`SloChange`]'s rule, then states it as [`state`] does.
pub async fn change(
    app: &App,
    id: &str,
    change: SloChange,
    actor: Actor,
) -> Result<SloView, OpError> {
    let current = app.participants.get(id)?.slo.unwrap_or_default();
    state(app, id, change.apply(current), actor).await
}

/// The participant's objective (or the default) evaluated now.
pub async fn view(app: &App, id: &str) -> Result<SloView, OpError> {
    let participant = app.participants.get(id)?;
    let objective = participant.slo.unwrap_or_default();
    Ok(SloView {
        stated: participant.slo.is_some(),
        status: evaluate(app.backend.as_ref(), &app.dashboard, id, &objective).await?,
    })
}

/// States a participant's objective, records it, and evaluates it.
pub async fn state(
    app: &App,
    id: &str,
    objective: SloObjective,
    actor: Actor,
) -> Result<SloView, OpError> {
    objective
        .validate()
        .map_err(|error| OpError::invalid("invalid_slo", error.to_string()))?;
    super::save(app, id, |participant| participant.slo = Some(objective))?;
    let detail = format!(
        "≤ {}% over {} min",
        objective.max_percent, objective.window_minutes
    );
    super::record(
        app,
        id,
        EventKind::SloSet,
        actor.describe(&detail),
        "SLO stated",
    );
    Ok(SloView {
        stated: true,
        status: evaluate(app.backend.as_ref(), &app.dashboard, id, &objective).await?,
    })
}
