//! Joining, resuming, leaving, resetting and removing: the participant's life cycle.

use crate::backend::{BackendError, StackNames};
use crate::events::EventKind;
use crate::lab::all_steps;
use crate::ops::{Actor, OpError, traffic};
use crate::participants::Participant;
use crate::state::App;

/// A participant who just joined, with their stack.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The participant, token included.
    pub participant: Participant,
    /// Their new stack.
    pub stack: StackNames,
}

/// Creates a participant named `name` and their pipeline stack. If the stack cannot be created,
/// the participant is forgotten again, so a failed join leaves nothing behind.
pub async fn join(app: &App, name: &str) -> Result<Joined, OpError> {
    let participant = app
        .participants
        .create(name, chrono::Utc::now().timestamp_millis())?;
    let stack = match app.backend.create_stack(&participant.id).await {
        Ok(stack) => stack,
        Err(error) => {
            let _ = app.participants.remove(&participant.id);
            return Err(error.into());
        }
    };
    let detail = participant.name.clone();
    super::record(
        app,
        &participant.id,
        EventKind::Joined,
        detail,
        "participant joined",
    );
    Ok(Joined { participant, stack })
}

/// The participant whose API token (their resume code) is `token`, recording their return.
pub fn resume(app: &App, token: &str) -> Result<Participant, OpError> {
    let token = token.trim();
    let participant = app
        .participants
        .by_token(token)?
        .filter(|_| !token.is_empty())
        .ok_or_else(|| {
            OpError::invalid(
                "invalid_resume_code",
                "That resume code does not belong to anyone here: check it, or join with a new name.",
            )
        })?;
    super::record(
        app,
        &participant.id,
        EventKind::Resumed,
        String::new(),
        "participant resumed",
    );
    Ok(participant)
}

/// A participant leaves the lab: their traffic stops, their stack and progress are kept, and
/// their resume code brings them back.
pub async fn leave(app: &App, id: &str) -> Result<(), OpError> {
    app.participants.get(id)?;
    traffic::stop(app, id, Actor::Participant).await?;
    super::record(app, id, EventKind::Left, String::new(), "participant left");
    Ok(())
}

/// Empties a participant's stack: their traffic stops and is forgotten, objects, messages,
/// metrics and accounting start from zero, and the steps whose checks read the traffic are no
/// longer done. They keep their name, their other steps and their SLO.
pub async fn reset(app: &App, id: &str, actor: Actor) -> Result<(), OpError> {
    app.participants.get(id)?;
    traffic::stop(app, id, actor).await?;
    app.traffic.forget(id);
    app.backend.reset_stack(id).await?;
    app.fault_readings.forget(id);
    app.invocations.forget(id);
    app.participants.update(id, |participant| {
        for step in all_steps().filter(|step| step.check.depends_on_traffic()) {
            participant.progress.completed.remove(&step.id);
        }
        participant.traffic_running = false;
    })?;
    let detail = actor.describe("");
    super::record(app, id, EventKind::StackReset, detail, "stack reset");
    Ok(())
}

/// Stops a participant's traffic, deletes (embedded) or releases (AWS) their stack and forgets
/// them.
pub async fn remove(app: &App, id: &str, actor: Actor) -> Result<(), OpError> {
    app.participants.get(id)?;
    // A run going on stops now (its rollbacks meet a stack about to go), and the participant's
    // experiments and runs go with them.
    if let Some(run) = app.experiments.active_run(id) {
        app.experiments
            .halt(id, &run, "the participant was removed");
    }
    app.traffic.stop(id).await;
    app.traffic.forget(id);
    app.fault_readings.forget(id);
    match app.backend.remove_stack(id).await {
        Ok(()) | Err(BackendError::UnknownStack(_)) => {}
        Err(error) => return Err(error.into()),
    }
    app.participants.remove(id)?;
    // After the participant: a run's last journal saved before this is deleted with the rest,
    // and none is saved after it (the run sees the participant gone).
    app.experiments.store().forget(id)?;
    app.invocations.forget(id);
    let detail = actor.describe("");
    super::record(
        app,
        id,
        EventKind::ParticipantRemoved,
        detail,
        "participant removed",
    );
    Ok(())
}
