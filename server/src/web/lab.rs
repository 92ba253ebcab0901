//! The lab's step pages: explanation, action buttons and an automatic check, with the progress
//! every page shows.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::pipeline::{ArchitectureView, StackRow, stack_rows};
use super::session::Session;
use super::{AppState, is_htmx};
use crate::lab::{Action, BodyPart, Check, LAB1, Step, step};
use crate::participants::{Participant, Viewed};

/// Pipeline time the publisher must have run for the steady-state check.
pub const STEADY_STATE_MILLIS: i64 = 5 * 60 * 1000;

/// What every page around the lab shows: who you are, the steps and your progress.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The participant's name.
    pub name: String,
    /// Their CSRF token, for the forms in the page.
    pub csrf: String,
    /// The steps, with their state.
    pub steps: Vec<StepLink>,
    /// Steps done.
    pub done: usize,
    /// Steps in all.
    pub total: usize,
}

/// A step in the step list.
#[derive(Debug, Clone)]
pub struct StepLink {
    /// Position, from 1.
    pub number: usize,
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Whether its check has passed.
    pub done: bool,
    /// Whether it is the step being shown.
    pub current: bool,
}

impl Chrome {
    /// The chrome for a session, with `current` highlighted.
    pub fn new(session: &Session, current: Option<&str>) -> Self {
        let completed = &session.participant.progress.completed;
        let steps: Vec<StepLink> = LAB1
            .iter()
            .map(|step| StepLink {
                number: step.number,
                id: step.id.clone(),
                title: step.title.clone(),
                done: completed.contains_key(&step.id),
                current: current == Some(step.id.as_str()),
            })
            .collect();
        Self {
            name: session.participant.name.clone(),
            csrf: session.csrf.clone(),
            done: steps.iter().filter(|step| step.done).count(),
            total: steps.len(),
            steps,
        }
    }
}

/// A check's outcome for a participant.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// Whether it passes (or passed before: done stays done).
    pub passed: bool,
    /// What was measured, e.g. "traffic has run for 3 min 10 s of pipeline time".
    pub detail: String,
}

/// Evaluates a step's check for a participant, and records the step as done when it passes.
pub async fn run_check(
    state: &AppState,
    participant: &Participant,
    step: &Step,
) -> Result<CheckOutcome, WebError> {
    let outcome = evaluate(state, participant, step.check).await?;
    let already = participant.progress.completed.contains_key(&step.id);
    if outcome.passed && !already {
        let now = state.backend.clock().now();
        state.participants.update(&participant.id, |participant| {
            participant.progress.completed.insert(step.id.clone(), now);
        })?;
        tracing::info!(participant = %participant.id, step = %step.id, "step done");
        state.events.record(
            crate::events::EventKind::StepDone,
            Some(&participant.id),
            step.id.clone(),
        );
    }
    Ok(CheckOutcome {
        passed: outcome.passed || already,
        detail: outcome.detail,
    })
}

async fn evaluate(
    state: &AppState,
    participant: &Participant,
    check: Check,
) -> Result<CheckOutcome, WebError> {
    let viewed = |what: Viewed, label: &str| CheckOutcome {
        passed: participant.progress.viewed.contains(&what),
        detail: if participant.progress.viewed.contains(&what) {
            format!("You have opened the {label}.")
        } else {
            format!("You have not opened the {label} yet.")
        },
    };
    Ok(match check {
        Check::ArchitectureViewed => viewed(Viewed::Architecture, "architecture picture"),
        Check::DashboardViewed => viewed(Viewed::Dashboard, "dashboard"),
        Check::FunctionReviewed => viewed(Viewed::Function, "function's configuration and code"),
        Check::StackReady => {
            let ready = state.backend.stack_names(&participant.id).is_some();
            CheckOutcome {
                passed: ready,
                detail: if ready {
                    "Your stack exists."
                } else {
                    "Your stack does not exist yet."
                }
                .to_owned(),
            }
        }
        Check::TrafficStarted => {
            let traffic = state.traffic.status(&participant.id);
            let publishing = traffic
                .publisher
                .as_ref()
                .is_some_and(|publisher| publisher.running);
            let subscribing = traffic
                .subscriber
                .as_ref()
                .is_some_and(|subscriber| subscriber.running);
            CheckOutcome {
                passed: publishing && subscribing,
                detail: format!(
                    "Publisher {}, subscriber {}.",
                    if publishing { "running" } else { "stopped" },
                    if subscribing { "running" } else { "stopped" }
                ),
            }
        }
        Check::SteadyStateObserved => {
            let now = state.backend.clock().now();
            let traffic = state.traffic.status(&participant.id);
            let ran = traffic
                .publisher
                .as_ref()
                .map_or(0, |publisher| publisher.running_for_ms(now));
            let accounting = state.backend.accounting(&participant.id).await?;
            CheckOutcome {
                passed: ran >= STEADY_STATE_MILLIS && accounting.dead_lettered > 0,
                detail: format!(
                    "Traffic has run for {} of pipeline time (5 min needed); {} object(s) reached the dead-letter queue (1 needed).",
                    minutes_seconds(ran),
                    accounting.dead_lettered
                ),
            }
        }
        Check::SloHolds => match &participant.slo {
            None => CheckOutcome {
                passed: false,
                detail: "You have not stated an SLO yet.".to_owned(),
            },
            Some(objective) => {
                let status =
                    crate::slo::evaluate(state.backend.as_ref(), &participant.id, objective)
                        .await?;
                CheckOutcome {
                    passed: status.met == Some(true),
                    detail: match status.value_percent {
                        Some(value) => format!(
                            "Over the last {} min: {value:.2}% of objects needed a human (objective ≤ {}%): {}.",
                            objective.window_minutes,
                            objective.max_percent,
                            status.verdict()
                        ),
                        None => format!(
                            "No object was processed in the last {} min, so there is nothing to judge yet.",
                            objective.window_minutes
                        ),
                    },
                }
            }
        },
    })
}

/// `3 min 05 s`.
pub fn minutes_seconds(millis: i64) -> String {
    let seconds = millis.max(0) / 1000;
    format!("{} min {:02} s", seconds / 60, seconds % 60)
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/step.html")]
struct StepPage<'a> {
    chrome: Option<Chrome>,
    step: &'a Step,
    previous: Option<&'a Step>,
    next: Option<&'a Step>,
    check: CheckOutcome,
    architecture: Option<ArchitectureView>,
    stack: Vec<StackRow>,
    csrf: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/check.html")]
struct CheckPartial<'a> {
    step: &'a Step,
    check: CheckOutcome,
}

/// `GET /lab/{step}`: a step page.
pub async fn show_step(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let step = step(&id).ok_or_else(|| WebError::NotFound(format!("Lab 1 has no step {id:?}.")))?;
    let participant = state
        .participants
        .update(&session.participant.id, |participant| {
            participant.progress.current_step = Some(step.id.clone());
            participant.last_seen_ms = chrono::Utc::now().timestamp_millis();
        })?;
    let check = run_check(&state, &participant, step).await?;
    let session = Session {
        participant: state.participants.get(&participant.id)?,
        csrf: session.csrf,
    };
    let architecture = if step.body.contains(&BodyPart::Architecture) {
        Some(ArchitectureView::load(&state, &session.participant.id).await?)
    } else {
        None
    };
    let stack = state
        .backend
        .stack_names(&session.participant.id)
        .map(|names| stack_rows(&names))
        .unwrap_or_default();
    let index = step.number - 1;
    Ok(StepPage {
        chrome: Some(Chrome::new(&session, Some(&step.id))),
        step,
        previous: index.checked_sub(1).and_then(|previous| LAB1.get(previous)),
        next: LAB1.get(index + 1),
        check,
        architecture,
        stack,
        csrf: session.csrf.clone(),
    }
    .into_response())
}

/// `GET /lab/{step}/check`: the check's status, for htmx polling (a full page without htmx).
pub async fn check_partial(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if !is_htmx(&headers) {
        return Ok(axum::response::Redirect::to(&format!("/lab/{id}")).into_response());
    }
    let step = step(&id).ok_or_else(|| WebError::NotFound(format!("Lab 1 has no step {id:?}.")))?;
    let check = run_check(&state, &session.participant, step).await?;
    Ok(CheckPartial { step, check }.into_response())
}
