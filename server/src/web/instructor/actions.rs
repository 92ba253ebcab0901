//! The instructor's actions on participants' pipelines: stop traffic, start it, reset the stack
//! or remove the participant, on one participant (a row's buttons), a selection (the table's
//! check boxes) or everyone. Resetting and removing destroy work, so they ask for a confirmation
//! first; every action then redirects to the overview, which says what was done.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::InstructorSession;
use super::view::View;
use super::{InstructorError, participants};
use crate::api::participants::remove_participant;
use crate::api::traffic::describe;
use crate::events::EventKind;
use crate::participants::{Participant, ParticipantError};
use crate::traffic::TrafficSettings;
use crate::web::AppState;
use crate::web::lab::Chrome;

/// What to do to the chosen participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stop the publisher and the subscriber.
    Stop,
    /// Start (or change) traffic, with the form's rates over each participant's saved settings.
    Start,
    /// Stop traffic and empty the stack, keeping the participant and their progress.
    Reset,
    /// Stop traffic, delete the stack and forget the participant.
    Remove,
}

impl Action {
    fn parse(value: &str) -> Result<Self, InstructorError> {
        match value {
            "stop" => Ok(Self::Stop),
            "start" => Ok(Self::Start),
            "reset" => Ok(Self::Reset),
            "remove" => Ok(Self::Remove),
            other => Err(InstructorError::Invalid(format!(
                "Unknown action {other:?}: use one of the overview's buttons (stop, start, reset or remove)."
            ))),
        }
    }

    /// The action as the form posts it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Start => "start",
            Self::Reset => "reset",
            Self::Remove => "remove",
        }
    }

    /// What the overview's `done=` says afterwards.
    fn done(self) -> &'static str {
        match self {
            Self::Stop => "stopped",
            Self::Start => "started",
            Self::Reset => "reset",
            Self::Remove => "removed",
        }
    }

    /// Whether it destroys work, and so needs a confirmation.
    fn destroys_work(self) -> bool {
        matches!(self, Self::Reset | Self::Remove)
    }
}

/// The actions form. It has repeated `ids`, so it is read from the raw pairs.
#[derive(Debug, Default)]
struct ActionForm {
    csrf: String,
    action: String,
    scope: String,
    ids: Vec<String>,
    publisher_rate: Option<String>,
    error_percent: Option<String>,
    stop_after_minutes: Option<String>,
    subscriber_rate: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    status: Option<String>,
    confirmed: bool,
}

impl ActionForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "action" => form.action = value,
                "scope" => form.scope = value,
                "ids" if !value.trim().is_empty() && !form.ids.contains(&value) => {
                    form.ids.push(value);
                }
                "publisher_rate" => form.publisher_rate = Some(value),
                "error_percent" => form.error_percent = Some(value),
                "stop_after_minutes" => form.stop_after_minutes = Some(value),
                "subscriber_rate" => form.subscriber_rate = Some(value),
                "sort" => form.sort = Some(value),
                "order" => form.order = Some(value),
                "status" => form.status = Some(value),
                "confirm" => form.confirmed = value == "yes",
                _ => {}
            }
        }
        form
    }

    /// The participants to act on, and how many selected ids no longer exist.
    fn targets(&self, state: &AppState) -> Result<(Vec<Participant>, usize), InstructorError> {
        match self.scope.as_str() {
            "all" => Ok((state.participants.list()?, 0)),
            "" | "selected" => {
                let mut found = Vec::new();
                let mut skipped = 0;
                for id in &self.ids {
                    match state.participants.get(id) {
                        Ok(participant) => found.push(participant),
                        Err(ParticipantError::NotFound(_)) => skipped += 1,
                        Err(error) => return Err(error.into()),
                    }
                }
                Ok((found, skipped))
            }
            other => Err(InstructorError::Invalid(format!(
                "Unknown scope {other:?}: choose the selected participants or everyone."
            ))),
        }
    }

    /// A participant's new traffic settings: their saved ones (or the lab's standard), with every
    /// rate the form fills in.
    fn settings(&self, base: TrafficSettings) -> Result<TrafficSettings, String> {
        crate::web::pipeline::RateFields {
            publisher_rate: self.publisher_rate.as_deref(),
            error_percent: self.error_percent.as_deref(),
            stop_after_minutes: self.stop_after_minutes.as_deref(),
            subscriber_rate: self.subscriber_rate.as_deref(),
        }
        .apply(base)
    }
}

/// How an action went.
#[derive(Debug, Default)]
struct Outcome {
    done: usize,
    skipped: usize,
    failed: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "instructor/confirm.html")]
struct ConfirmPage {
    chrome: Option<Chrome>,
    section: &'static str,
    csrf: String,
    action: &'static str,
    heading: String,
    consequence: &'static str,
    button: String,
    targets: Vec<Participant>,
    view: View,
}

/// `POST /instructor/actions`: `action=stop|start|reset|remove`, `scope=selected|all`, `ids=…`
/// (repeated), the traffic rates for `start`, and `confirm=yes` for `reset` and `remove`.
pub async fn apply_action(
    State(state): State<AppState>,
    session: InstructorSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, InstructorError> {
    let form = ActionForm::from_pairs(pairs);
    session.check_csrf(&form.csrf)?;
    let view = View::parse(
        form.sort.as_deref(),
        form.order.as_deref(),
        form.status.as_deref(),
    )?;
    let action = Action::parse(&form.action)?;
    let (targets, skipped) = form.targets(&state)?;
    if targets.is_empty() && skipped == 0 {
        return Err(InstructorError::Invalid(if form.scope == "all" {
            "Nobody has joined yet, so there is nobody to act on.".to_owned()
        } else {
            "No participant was selected: tick them in the table, or choose everyone.".to_owned()
        }));
    }
    if action.destroys_work() && !form.confirmed && !targets.is_empty() {
        return Ok(confirmation(&session, action, targets, view).into_response());
    }
    let mut outcome = match action {
        Action::Stop => stop(&state, &targets).await,
        Action::Start => start(&state, &form, &targets)?,
        Action::Reset => reset(&state, &targets).await,
        Action::Remove => remove(&state, &targets).await,
    };
    outcome.skipped += skipped;
    tracing::info!(
        action = action.as_str(),
        done = outcome.done,
        skipped = outcome.skipped,
        failed = outcome.failed,
        "instructor action"
    );
    let mut location = format!(
        "/instructor?{}&done={}&count={}",
        view.query(),
        action.done(),
        outcome.done
    );
    if outcome.skipped > 0 {
        location.push_str(&format!("&skipped={}", outcome.skipped));
    }
    if outcome.failed > 0 {
        location.push_str(&format!("&failed={}", outcome.failed));
    }
    Ok(Redirect::to(&location).into_response())
}

fn confirmation(
    session: &InstructorSession,
    action: Action,
    targets: Vec<Participant>,
    view: View,
) -> ConfirmPage {
    let who = participants(targets.len());
    let (heading, consequence, button) = match action {
        Action::Remove => (
            format!("Remove {who}?"),
            "Their traffic stops, their pipeline stack is deleted and they are forgotten: \
             their progress is lost and they have to join again.",
            format!("Remove {who}"),
        ),
        _ => (
            format!("Reset the pipeline of {who}?"),
            "Their traffic stops and their stack is emptied: objects, messages and metrics are \
             deleted and the function's settings return to their defaults. They keep their \
             progress and their SLO.",
            format!("Reset {who}"),
        ),
    };
    ConfirmPage {
        chrome: None,
        section: "overview",
        csrf: session.csrf.clone(),
        action: action.as_str(),
        heading,
        consequence,
        button,
        targets,
        view,
    }
}

async fn stop(state: &AppState, targets: &[Participant]) -> Outcome {
    for participant in targets {
        stop_traffic(state, &participant.id).await;
    }
    Outcome {
        done: targets.len(),
        ..Outcome::default()
    }
}

/// Stops a participant's traffic, recording it if it was running.
async fn stop_traffic(state: &AppState, id: &str) {
    if state.traffic.status(id).is_running() {
        state.traffic.stop(id).await;
        state
            .events
            .record(EventKind::TrafficStopped, Some(id), "by the instructor");
    }
}

fn start(
    state: &AppState,
    form: &ActionForm,
    targets: &[Participant],
) -> Result<Outcome, InstructorError> {
    let limits = state.traffic.limits();
    // Every participant's settings are checked before anyone's traffic starts.
    let mut plans = Vec::with_capacity(targets.len());
    for participant in targets {
        let base = participant
            .traffic
            .unwrap_or_else(TrafficSettings::standard);
        let settings = form
            .settings(base)
            .and_then(|settings| {
                settings
                    .validate(&limits)
                    .map(|()| settings)
                    .map_err(|error| format!("{error}."))
            })
            .map_err(|message| {
                InstructorError::Invalid(format!(
                    "Nothing was started. {message} (for {})",
                    participant.name
                ))
            })?;
        plans.push((participant, settings));
    }
    let mut outcome = Outcome::default();
    for (participant, settings) in plans {
        let started = state
            .traffic
            .start(&participant.id, settings)
            .map_err(|error| error.to_string())
            .and_then(|_| {
                state
                    .participants
                    .update(&participant.id, |participant| {
                        participant.traffic = Some(settings);
                    })
                    .map_err(|error| error.to_string())
            });
        match started {
            Ok(_) => {
                state.events.record(
                    EventKind::TrafficStarted,
                    Some(&participant.id),
                    format!(
                        "{} (by the instructor)",
                        describe(&settings, &state.traffic.limits())
                    ),
                );
                outcome.done += 1;
            }
            Err(error) => {
                tracing::warn!(participant = %participant.id, %error, "could not start traffic");
                outcome.failed += 1;
            }
        }
    }
    Ok(outcome)
}

async fn reset(state: &AppState, targets: &[Participant]) -> Outcome {
    let mut outcome = Outcome::default();
    for participant in targets {
        stop_traffic(state, &participant.id).await;
        match state.backend.reset_stack(&participant.id).await {
            Ok(()) => {
                state.events.record(
                    EventKind::StackReset,
                    Some(&participant.id),
                    "by the instructor",
                );
                outcome.done += 1;
            }
            Err(error) => {
                tracing::warn!(participant = %participant.id, %error, "could not reset the stack");
                outcome.failed += 1;
            }
        }
    }
    outcome
}

async fn remove(state: &AppState, targets: &[Participant]) -> Outcome {
    let mut outcome = Outcome::default();
    for participant in targets {
        match remove_participant(state, &participant.id).await {
            Ok(()) => outcome.done += 1,
            // Removed meanwhile, by another tab or the API.
            Err(error) if error.status == StatusCode::NOT_FOUND => outcome.skipped += 1,
            Err(error) => {
                tracing::warn!(participant = %participant.id, error = %error.message, "could not remove");
                outcome.failed += 1;
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        text.split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    }

    #[test]
    fn repeated_ids_are_all_kept_once() {
        let form = ActionForm::from_pairs(pairs("csrf=t&action=stop&ids=a&ids=b&ids=a&ids="));
        assert_eq!(form.ids, ["a", "b"]);
        assert_eq!((form.csrf.as_str(), form.action.as_str()), ("t", "stop"));
        assert!(!form.confirmed);
    }

    #[test]
    fn empty_rate_fields_keep_the_saved_settings() {
        let form = ActionForm::from_pairs(pairs("publisher_rate=&error_percent=10"));
        let saved = TrafficSettings::standard();
        let settings = form.settings(saved).unwrap_or(saved);
        let publisher = settings.publisher.unwrap_or_default();
        assert_eq!((publisher.rate, publisher.error_rate), (2.0, 0.1));
        let bad = ActionForm::from_pairs(pairs("subscriber_rate=fast"));
        assert!(bad.settings(saved).is_err());
    }
}
