//! The lab's use cases, one module each: what a participant or the instructor can do, whichever
//! surface they use. The REST API ([`crate::api`]), the lab pages and the instructor pages
//! ([`crate::web`]) are thin adapters over these: they parse a request, call an operation and
//! render its result as JSON or HTML. Each operation records its own event in the event log, so
//! the log is the same whichever surface was used.
//!
//! - [`participants`]: join, resume, leave, reset, remove;
//! - [`bulk`]: the instructor's actions on a selection or on everyone;
//! - [`traffic`]: start, change and stop the publisher and the subscriber;
//! - [`slo`]: state the objective and evaluate it;
//! - [`steps`]: progress through the steps, and their checks;
//! - [`dashboard`]: a participant's dashboard, and the measures it defines;
//! - [`events`]: the event log;
//! - [`faults`]: the function's fault-injection parameter;
//! - [`function`]: the function's settings, and its test invocation;
//! - [`dead_letters`]: the dead-letter queue, listed and redriven;
//! - [`probes`]: the built-in probes a Chaos Toolkit tolerance reads (the original lab's measures,
//!   SNS failures, the SLO);
//! - [`experiment_import`]: the original lab's Chaos Toolkit experiments, mapped onto the probes
//!   and the fault-injection API;
//! - [`error`]: the one error model, with the table from each error to its HTTP status.
//!
//! Nothing here knows about HTTP requests, JSON bodies or templates: this module imports neither
//! `api` nor `web`.

pub mod bulk;
pub mod dashboard;
pub mod dead_letters;
pub mod error;
pub mod events;
pub mod experiment_import;
pub mod experiments;
pub mod faults;
pub mod function;
pub mod game_day;
pub mod participants;
pub mod probes;
pub mod slo;
pub mod steps;
pub mod traffic;

pub use self::error::OpError;

use crate::events::EventKind;
use crate::participants::{Participant, ParticipantError};
use crate::state::App;

/// Logs what a participant's operation did, at INFO, and records it in the event log.
pub(crate) fn record(app: &App, id: &str, kind: EventKind, detail: String, what: &str) {
    tracing::info!(participant = %id, "{what}");
    app.events.record(kind, Some(id), detail);
}

/// Changes a participant's saved state with `change`, noting that they were active just now.
pub(crate) fn save(
    app: &App,
    id: &str,
    change: impl FnOnce(&mut Participant),
) -> Result<Participant, ParticipantError> {
    app.participants.update(id, |participant| {
        change(participant);
        participant.last_seen_ms = chrono::Utc::now().timestamp_millis();
    })
}

/// Who asked for an operation, as the event log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The participant themself (from their pages or with their API token).
    Participant,
    /// The instructor (from the overview or with the instructor's token).
    Instructor,
}

impl Actor {
    /// The event detail with who acted, when it was not the participant.
    pub(crate) fn describe(self, detail: &str) -> String {
        match (self, detail.is_empty()) {
            (Self::Participant, _) => detail.to_owned(),
            (Self::Instructor, true) => "by the instructor".to_owned(),
            (Self::Instructor, false) => format!("{detail} (by the instructor)"),
        }
    }
}
