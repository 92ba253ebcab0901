//! Stating a participant's SLO and evaluating it.

use serde::Serialize;
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
