//! The instructor's actions on many participants at once: stop or start traffic, reset or
//! remove, on a selection or on everyone. Each participant goes through the same operation as a
//! single one would, so each gets their own event.

use serde::Serialize;
use utoipa::ToSchema;

use crate::ops::traffic::{TrafficChange, current_settings};
use crate::ops::{Actor, OpError, participants, traffic};
use crate::participants::{Participant, ParticipantError};
use crate::state::App;

/// What to do to each chosen participant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BulkAction {
    /// Stop the publisher and the subscriber of those whose traffic runs.
    StopTraffic,
    /// Start or change traffic by the merge rule, over each participant's own settings.
    StartTraffic {
        /// The change; a field left out keeps each participant's current value.
        traffic: TrafficChange,
    },
    /// Reset each stack (see `POST /participants/{id}/reset`).
    Reset,
    /// Remove each participant and their stack.
    Remove,
    /// Switch every fault off: write `{"isEnabled": false}` to each fault-injection parameter.
    DisableFaults,
}

/// Whom an action is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Everyone who has joined.
    Everyone,
    /// These participants; ids that no longer exist are skipped.
    Selected(Vec<String>),
}

/// How a bulk action went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct BulkOutcome {
    /// Participants the action changed.
    pub done: usize,
    /// Participants it did not concern: gone meanwhile, or with nothing to do (stopping someone
    /// whose traffic was not running).
    pub skipped: usize,
    /// Participants for whom it failed (the server log says why).
    pub failed: usize,
}

/// The participants an action is for, and how many selected ids no longer exist.
pub fn resolve(app: &App, targets: &Targets) -> Result<(Vec<Participant>, usize), OpError> {
    match targets {
        Targets::Everyone => Ok((app.participants.list()?, 0)),
        Targets::Selected(ids) => {
            let mut found = Vec::new();
            let mut skipped = 0;
            for id in ids {
                match app.participants.get(id) {
                    Ok(participant) => found.push(participant),
                    Err(ParticipantError::NotFound(_)) => skipped += 1,
                    Err(error) => return Err(error.into()),
                }
            }
            Ok((found, skipped))
        }
    }
}

/// Applies `action` to `targets` as the instructor. Starting traffic checks every participant's
/// resulting settings first and starts nobody's if one is refused.
pub async fn apply(
    app: &App,
    targets: &Targets,
    action: BulkAction,
) -> Result<BulkOutcome, OpError> {
    let (participants, skipped) = resolve(app, targets)?;
    let mut outcome = BulkOutcome {
        skipped,
        ..BulkOutcome::default()
    };
    if let BulkAction::StartTraffic { traffic: change } = action {
        let limits = app.traffic.limits();
        for participant in &participants {
            change
                .apply(current_settings(app, participant))
                .validate(&limits)
                .map_err(|error| {
                    OpError::invalid(
                        "invalid_traffic_settings",
                        format!("Nothing was started. {error} (for {}).", participant.name),
                    )
                })?;
        }
    }
    for participant in &participants {
        let id = participant.id.as_str();
        let result = match action {
            BulkAction::StopTraffic => traffic::stop(app, id, Actor::Instructor)
                .await
                .map(|(_, was_running)| was_running),
            BulkAction::StartTraffic { traffic: change } => {
                traffic::start(app, id, &change, Actor::Instructor).map(|_| true)
            }
            BulkAction::Reset => participants::reset(app, id, Actor::Instructor)
                .await
                .map(|()| true),
            BulkAction::Remove => participants::remove(app, id, Actor::Instructor)
                .await
                .map(|()| true),
            BulkAction::DisableFaults => super::faults::disable(app, id, Actor::Instructor).await,
        };
        match result {
            Ok(true) => outcome.done += 1,
            Ok(false) | Err(OpError::NotFound(_)) => outcome.skipped += 1,
            Err(error) => {
                tracing::warn!(participant = %id, %error, ?action, "instructor action failed");
                outcome.failed += 1;
            }
        }
    }
    tracing::info!(
        ?action,
        done = outcome.done,
        skipped = outcome.skipped,
        failed = outcome.failed,
        "instructor action"
    );
    Ok(outcome)
}
