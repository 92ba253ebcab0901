//! The instructor's actions on participants' pipelines: stop traffic, start it, reset the stack
//! or remove the participant, on one participant (a row's buttons), a selection (the table's
//! check boxes) or everyone. Resetting and removing destroy work, so they ask for a confirmation
//! first; every action then redirects to the overview, which says what was done.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::InstructorSession;
use super::view::View;
use super::{InstructorError, participants};
use crate::ops::bulk::{self, BulkAction, Targets};
use crate::participants::Participant;
use crate::state::AppState;
use crate::web::layout::Chrome;
use crate::web::traffic::RateFields;

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
    /// Switch every injected fault off.
    DisableFaults,
}

impl Action {
    fn parse(value: &str) -> Result<Self, InstructorError> {
        match value {
            "stop" => Ok(Self::Stop),
            "start" => Ok(Self::Start),
            "reset" => Ok(Self::Reset),
            "remove" => Ok(Self::Remove),
            "disable_faults" => Ok(Self::DisableFaults),
            other => Err(InstructorError::invalid(format!(
                "Unknown action {other:?}: use one of the overview's buttons (stop, start, reset, remove or disable faults)."
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
            Self::DisableFaults => "disable_faults",
        }
    }

    /// What the overview's `done=` says afterwards.
    fn done(self) -> &'static str {
        match self {
            Self::Stop => "stopped",
            Self::Start => "started",
            Self::Reset => "reset",
            Self::Remove => "removed",
            Self::DisableFaults => "faults_off",
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

    /// Whom the action is for.
    fn targets(&self) -> Result<Targets, InstructorError> {
        match self.scope.as_str() {
            "all" => Ok(Targets::Everyone),
            "" | "selected" => Ok(Targets::Selected(self.ids.clone())),
            other => Err(InstructorError::invalid(format!(
                "Unknown scope {other:?}: choose the selected participants or everyone."
            ))),
        }
    }

    /// The action, with the traffic form's rates for `start`.
    fn bulk_action(&self, action: Action, state: &AppState) -> Result<BulkAction, InstructorError> {
        Ok(match action {
            Action::Stop => BulkAction::StopTraffic,
            Action::Start => BulkAction::StartTraffic {
                traffic: self
                    .rates()
                    .change(&state.traffic.limits())
                    .map_err(|message| {
                        InstructorError::invalid(format!("Nothing was started. {message}"))
                    })?,
            },
            Action::Reset => BulkAction::Reset,
            Action::DisableFaults => BulkAction::DisableFaults,
            Action::Remove => BulkAction::Remove,
        })
    }

    fn rates(&self) -> RateFields {
        RateFields {
            publisher_rate: self.publisher_rate.clone(),
            error_percent: self.error_percent.clone(),
            stop_after_minutes: self.stop_after_minutes.clone(),
            subscriber_rate: self.subscriber_rate.clone(),
        }
    }
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
    let targets = form.targets()?;
    let (chosen, missing) = bulk::resolve(&state, &targets)?;
    if chosen.is_empty() && missing == 0 {
        return Err(InstructorError::invalid(if form.scope == "all" {
            "Nobody has joined yet, so there is nobody to act on.".to_owned()
        } else {
            "No participant was selected: tick them in the table, or choose everyone.".to_owned()
        }));
    }
    if action.destroys_work() && !form.confirmed && !chosen.is_empty() {
        return Ok(confirmation(&session, action, chosen, view).into_response());
    }
    let outcome = bulk::apply(&state, &targets, form.bulk_action(action, &state)?).await?;
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
    fn empty_rate_fields_keep_each_participants_settings() {
        let limits = crate::traffic::TrafficLimits::default();
        let form = ActionForm::from_pairs(pairs("publisher_rate=&error_percent=10"));
        let change = form.rates().change(&limits).unwrap_or_default();
        let publisher = change.publisher.unwrap_or_default();
        assert_eq!((publisher.rate, publisher.error_rate), (None, Some(0.1)));
        let bad = ActionForm::from_pairs(pairs("subscriber_rate=fast"));
        assert!(bad.rates().change(&limits).is_err());
    }
}
