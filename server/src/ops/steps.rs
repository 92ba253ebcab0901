//! Progress through the lab: opening a step, marking what the participant has looked at, and
//! running the steps' checks (judged in [`crate::lab::checks`]). A check that passes marks its
//! step done once, with the event recorded, whichever surface ran it.

use serde::Serialize;
use utoipa::ToSchema;

use crate::backend::invocation::InvocationOutcome;
use crate::events::EventKind;
use crate::lab::checks::{
    Facts, RunFact, RunWant, TestInvokeFact, TestInvokeWant, TestOutcome, judge,
};
use crate::lab::{Action, Check, Step, all_steps};
use crate::metrics::{EpochMillis, rfc3339};
use crate::ops::OpError;
use crate::participants::{Participant, Viewed};
use crate::state::App;

/// A check's outcome for a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// Whether the step is done: its check passes now, or passed before (done stays done).
    pub passed: bool,
    /// Whether the check passes now.
    pub passes_now: bool,
    /// What was found just now, in the present tense.
    pub detail: String,
    /// When the step was done, pipeline time.
    pub done_at: Option<EpochMillis>,
}

/// A step and where the participant stands on it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepStatus {
    /// The lab it belongs to, from 1.
    pub lab: usize,
    /// Position in its lab, from 1.
    pub number: usize,
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The buttons the page offers.
    pub actions: Vec<Action>,
    /// The automatic check.
    pub check: Check,
    /// What "done" means.
    pub check_label: String,
    /// Whether it is done (once done, done until the stack is reset).
    pub done: bool,
    /// When it was done, pipeline time.
    #[serde(with = "rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<EpochMillis>,
    /// What the check measured just now.
    pub detail: String,
    /// What to do while it is not done.
    pub hint: String,
}

/// Records that a participant has looked at something a check asks for.
pub fn mark_viewed(app: &App, id: &str, what: Viewed) -> Result<Participant, OpError> {
    Ok(super::save(app, id, |participant| {
        participant.progress.viewed.insert(what);
    })?)
}

/// Opens a step: it becomes the participant's current one, and what the step's page shows
/// counts as seen (step 1 shows the architecture picture).
pub fn open_step(app: &App, id: &str, step: &Step) -> Result<Participant, OpError> {
    let shows_architecture = step.body.contains(&crate::lab::BodyPart::Architecture);
    Ok(super::save(app, id, |participant| {
        participant.progress.current_step = Some(step.id.clone());
        if shows_architecture {
            participant.progress.viewed.insert(Viewed::Architecture);
        }
    })?)
}

/// Runs a step's check for a participant, and records the step as done when it passes.
pub async fn run_check(
    app: &App,
    participant: &Participant,
    step: &Step,
) -> Result<CheckOutcome, OpError> {
    let judgement = judge(&facts(app, participant, step.check).await?);
    let already = participant.progress.completed.get(&step.id).copied();
    let mut done_at = already;
    if judgement.passes && already.is_none() {
        let now = app.backend.clock().now();
        done_at = Some(now);
        app.participants.update(&participant.id, |participant| {
            participant.progress.completed.insert(step.id.clone(), now);
        })?;
        let detail = step.id.clone();
        super::record(
            app,
            &participant.id,
            EventKind::StepDone,
            detail,
            "step done",
        );
    }
    Ok(CheckOutcome {
        passed: done_at.is_some(),
        passes_now: judgement.passes,
        detail: judgement.detail,
        done_at,
    })
}

/// Every step of every lab, in order, with its check run now; passing checks are recorded as
/// done.
pub async fn list(app: &App, id: &str) -> Result<Vec<StepStatus>, OpError> {
    // One read: a step's check reads what the participant has seen and stated, which marking
    // another step done does not change.
    let participant = app.participants.get(id)?;
    let mut steps = Vec::new();
    for step in all_steps() {
        let outcome = run_check(app, &participant, step).await?;
        steps.push(StepStatus {
            lab: step.lab,
            number: step.number,
            id: step.id.clone(),
            title: step.title.clone(),
            actions: step.actions.clone(),
            check: step.check,
            check_label: step.check_label.clone(),
            done: outcome.passed,
            done_at: outcome.done_at,
            detail: outcome.detail,
            hint: step.hint.clone(),
        });
    }
    Ok(steps)
}

/// Gathers what a check needs to know.
async fn facts(app: &App, participant: &Participant, check: Check) -> Result<Facts, OpError> {
    let viewed = |what: Viewed, label| Facts::Viewed {
        seen: participant.progress.viewed.contains(&what),
        label,
    };
    Ok(match check {
        Check::ArchitectureViewed => viewed(Viewed::Architecture, "architecture picture"),
        Check::DashboardViewed => viewed(Viewed::Dashboard, "dashboard"),
        Check::FunctionReviewed => viewed(Viewed::Function, "function's configuration and code"),
        Check::FaultInjectionReviewed => viewed(Viewed::FaultInjection, "fault-injection page"),
        Check::TestInvokeSucceeded => {
            test_invokes(app, participant, TestInvokeWant::Success).await?
        }
        Check::LatencyTimeoutsObserved => {
            test_invokes(app, participant, TestInvokeWant::LatencyTimeouts).await?
        }
        Check::InterceptedCallObserved => {
            test_invokes(app, participant, TestInvokeWant::Intercepted).await?
        }
        Check::RecoveredAfterFault => {
            test_invokes(app, participant, TestInvokeWant::Recovered).await?
        }
        Check::HypothesisHeld => runs(app, participant, RunWant::HypothesisHeld).await?,
        Check::DenylistExperimentDeviated => {
            runs(
                app,
                participant,
                RunWant::DeviatedUnder(&["blacklist", "denylist"]),
            )
            .await?
        }
        Check::HiddenFaultDeviated => {
            runs(app, participant, RunWant::DeviatedUnder(&["statuscode"])).await?
        }
        Check::InterceptedDeadLettersSeen => dead_letters(app, participant, false).await?,
        Check::InterceptedRedriven => dead_letters(app, participant, true).await?,
        Check::ExperimentDeviated => runs(app, participant, RunWant::Deviated).await?,
        Check::ExperimentHeld => runs(app, participant, RunWant::HeldAfterFix).await?,
        Check::TimeoutAboveLatency => Facts::Timeout {
            seconds: app
                .backend
                .function_configuration(&participant.id)
                .await?
                .timeout_seconds,
        },
        Check::SteadyStateBack => {
            let id = &participant.id;
            Facts::Measures {
                sns_failed: crate::ops::probes::sns_notifications_failed(app, id, Some(5))
                    .await?
                    .value,
                in_flight: crate::ops::probes::percent_in_flight(app, id, Some(5))
                    .await?
                    .value,
                in_error: crate::ops::probes::percent_in_error(app, id, Some(5))
                    .await?
                    .value,
                timeout_seconds: app
                    .backend
                    .function_configuration(id)
                    .await?
                    .timeout_seconds,
            }
        }
        Check::StackReady => Facts::Stack {
            exists: app.backend.stack_names(&participant.id).is_some(),
        },
        Check::TrafficStarted => {
            let traffic = app.traffic.status(&participant.id);
            Facts::Traffic {
                publishing: traffic.publisher.as_ref().is_some_and(|p| p.running),
                subscribing: traffic.subscriber.as_ref().is_some_and(|s| s.running),
            }
        }
        Check::SteadyStateObserved => {
            let now = app.backend.clock().now();
            let traffic = app.traffic.status(&participant.id);
            Facts::SteadyState {
                publishing_for_ms: traffic.publishing_for_ms(now),
                dead_lettered: app.backend.accounting(&participant.id).await?.dead_lettered,
            }
        }
        Check::SloHolds => Facts::Slo(match participant.slo {
            None => None,
            Some(objective) => Some((
                objective,
                crate::slo::evaluate(
                    app.backend.as_ref(),
                    &app.dashboard,
                    &participant.id,
                    &objective,
                )
                .await?,
            )),
        }),
    })
}

/// The facts of a test-invoke check: the participant's recent test invokes, and whether the
/// fault document switches a fault on now.
async fn test_invokes(
    app: &App,
    participant: &Participant,
    want: TestInvokeWant,
) -> Result<Facts, OpError> {
    let fault_on = crate::ops::faults::view(app, &participant.id)
        .await?
        .enabled;
    let recent = crate::ops::function::recent_invocations(app, &participant.id)?
        .into_iter()
        .map(|report| TestInvokeFact {
            outcome: match report.outcome {
                InvocationOutcome::Succeeded => TestOutcome::Succeeded,
                InvocationOutcome::Failed => TestOutcome::Failed,
                InvocationOutcome::TimedOut => TestOutcome::TimedOut,
            },
            fault_mode: report.fault.map(|fault| fault.mode),
            error: report.error.map(|error| error.error_message),
        })
        .collect();
    Ok(Facts::TestInvokes {
        want,
        recent,
        fault_on,
    })
}

/// The facts of a check on experiment runs: the participant's runs, newest first, and their
/// function's timeout.
async fn runs(app: &App, participant: &Participant, want: RunWant) -> Result<Facts, OpError> {
    let id = &participant.id;
    let mut facts = Vec::new();
    for summary in crate::ops::experiments::runs(app, id)?.into_iter().take(20) {
        let (_, journal) = crate::ops::experiments::run(app, id, &summary.id)?;
        let has = |pointer: &str| {
            journal
                .experiment
                .pointer(pointer)
                .and_then(serde_json::Value::as_array)
                .is_some_and(|items| !items.is_empty())
        };
        facts.push(RunFact {
            has_method: has("/method"),
            has_hypothesis: has("/steady-state-hypothesis/probes"),
            status: summary.status.as_str().to_owned(),
            deviated: summary.deviated,
            held_before: journal
                .steady_states
                .before
                .as_ref()
                .is_none_or(|before| before.steady_state_met),
            rolled_back: !journal.rollbacks.is_empty(),
            fault_modes: journal
                .experiment
                .get("method")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|activity| {
                    activity
                        .pointer("/provider/arguments/failureMode")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned)
                })
                .collect(),
        });
    }
    Ok(Facts::Runs {
        want,
        runs: facts,
        timeout_seconds: app
            .backend
            .function_configuration(id)
            .await?
            .timeout_seconds,
    })
}

/// The facts of a check on intercepted dead letters.
async fn dead_letters(
    app: &App,
    participant: &Participant,
    want_gone: bool,
) -> Result<Facts, OpError> {
    let id = &participant.id;
    // The whole queue is counted: intercepted calls may be older than the newest messages.
    let list =
        crate::ops::dead_letters::list(app, id, Some(1), Some(crate::lab::checks::INTERCEPTED))
            .await?;
    let intercepted_now = list.matching;
    Ok(Facts::DeadLetters {
        seen_intercepted: participant
            .progress
            .viewed
            .contains(&Viewed::InterceptedDeadLetters),
        intercepted_now,
        total: list.total,
        fault_on: crate::ops::faults::view(app, id).await?.enabled,
        want_gone,
    })
}
