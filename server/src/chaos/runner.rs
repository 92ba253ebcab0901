//! Playing a checked experiment ([`Plan`]) as `chaos run` plays it, on pipeline time:
//! 1. the hypothesis before the method, stopping at the first probe that fails or is out of
//!    tolerance; if it does not hold, the method is skipped;
//! 2. the method, in order: pauses before and after each activity; a background activity starts
//!    when the method reaches it and runs alongside the next ones, and the method ends when every
//!    background activity has; a failed activity does not stop it;
//! 3. the hypothesis after the method, unless the run was interrupted; if it does not hold, the
//!    run has deviated;
//! 4. the rollbacks, by strategy: `default` unless the run failed or was interrupted, `always`,
//!    `never`, `deviated` only if it deviated. A halt (by hand or by a stop condition) interrupts
//!    the run at once, even in a pause, and plays the rollbacks whatever the strategy.
//!
//! When the hypothesis is checked follows `runtime.hypothesis.strategy` as `chaos run` does
//! (`default`: before and after; `continuously`: also during the method, every `frequency`
//! pipeline seconds; `before-method-only`, `after-method-only`, `during-method-only`, `skip`).
//! With `fail_fast`, a check during the method that does not hold fails the run and ends the
//! method at once (chaoslib lets the activity in progress, pause included, finish first).
//!
//! What the runner touches goes through [`Effects`]: the HTTP calls, the pipeline clock, the halt
//! signal and the saving of the journal, so it runs the same against the server and in tests.

use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{Map, Value, json};

use super::experiment::{Activity, ActivityKind, Plan, RollbackStrategy};
use super::journal::{ActivityRun, Journal, RunStatus, SteadyState};
use super::substitute::{Values, substitute};
use super::tolerance::{Verdict, within};

/// An HTTP call an activity makes, substituted.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    /// `GET`, `POST`, …
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Request headers.
    pub headers: Map<String, Value>,
    /// chaoslib's `arguments`: query parameters for a GET, else the body (JSON when the
    /// `Content-Type` header says so, else form-encoded).
    pub arguments: Option<Value>,
    /// The provider's timeout, in seconds.
    pub timeout: Option<f64>,
}

/// Boxed future, for the trait's async methods.
pub type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a run does to the world.
pub trait Effects: Send + Sync {
    /// Makes a call; the output is `{"status", "headers", "body"}`. An error is a call that could
    /// not be made (chaoslib's `ActivityFailed`): the activity fails.
    fn call<'a>(&'a self, call: HttpCall) -> Boxed<'a, Result<Value, String>>;
    /// Waits `seconds` of pipeline time; answers false at once if the run is halted meanwhile.
    fn pause<'a>(&'a self, seconds: f64) -> Boxed<'a, bool>;
    /// Pipeline time now, in epoch milliseconds.
    fn now(&self) -> i64;
    /// Why the run was halted, once it is.
    fn halted(&self) -> Option<String>;
    /// Saves the journal as it stands.
    fn save(&self, journal: &Journal);
}

fn iso(millis: i64) -> String {
    crate::metrics::rfc3339::format(millis)
}

/// Plays `plan` and answers its journal.
pub async fn run(plan: &Plan, effects: &dyn Effects) -> Journal {
    let started = effects.now();
    let mut journal = Journal::new(plan.experiment.clone(), iso(started));
    effects.save(&journal);
    let mut status = RunStatus::Completed;

    let schedule = plan.hypothesis_schedule;
    let probes = plan
        .hypothesis
        .as_ref()
        .map(|hypothesis| hypothesis.probes.as_slice())
        .filter(|probes| !probes.is_empty());
    let mut before_holds = true;
    if let Some(probes) = probes.filter(|_| schedule.before) {
        let state = hypothesis_check(plan, probes, effects).await;
        before_holds = state.steady_state_met;
        if !before_holds {
            status = if state.probes.iter().all(|probe| probe.status == "succeeded") {
                RunStatus::Completed
            } else {
                RunStatus::Failed
            };
        }
        journal.steady_states.before = Some(state);
        effects.save(&journal);
    }

    if before_holds && effects.halted().is_none() {
        // The hypothesis checked again and again while the method runs, if the schedule says
        // so; with `fail_fast`, a check that does not hold ends the method at once.
        let during = std::sync::Mutex::new(Vec::new());
        let checks = async {
            match probes.filter(|_| schedule.during) {
                Some(probes) => during_checks(plan, probes, effects, &during).await,
                None => std::future::pending().await,
            }
        };
        let method = async {
            // Background activities start when the method reaches them and run alongside the
            // activities after them; the method ends when they have all ended.
            let mut background: FuturesUnordered<Boxed<'_, Option<ActivityRun>>> =
                FuturesUnordered::new();
            let mut finished = Vec::new();
            for activity in &plan.method {
                if effects.halted().is_some() {
                    break;
                }
                if activity.background {
                    background.push(Box::pin(async move {
                        if !pause(plan, activity, "before", effects).await {
                            return None;
                        }
                        let run = play(plan, activity, effects).await;
                        pause(plan, activity, "after", effects).await;
                        Some(run)
                    }));
                    continue;
                }
                let before = alongside(
                    pause(plan, activity, "before", effects),
                    &mut background,
                    &mut finished,
                )
                .await;
                journal.run.append(&mut finished);
                if !before {
                    break;
                }
                let run = alongside(
                    play(plan, activity, effects),
                    &mut background,
                    &mut finished,
                )
                .await;
                journal.run.append(&mut finished);
                journal.run.push(run);
                effects.save(&journal);
                let after = alongside(
                    pause(plan, activity, "after", effects),
                    &mut background,
                    &mut finished,
                )
                .await;
                journal.run.append(&mut finished);
                if !after {
                    break;
                }
            }
            while let Some(run) = background.next().await {
                if let Some(run) = run {
                    journal.run.push(run);
                    effects.save(&journal);
                }
            }
        };
        let failed_fast = tokio::select! {
            biased;
            () = method => false,
            failed = checks => failed,
        };
        journal.steady_states.during = during
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        effects.save(&journal);
        if failed_fast {
            status = RunStatus::Failed;
        }
        if effects.halted().is_none()
            && status != RunStatus::Failed
            && let Some(probes) = probes.filter(|_| schedule.after)
        {
            let state = hypothesis_check(plan, probes, effects).await;
            if !state.steady_state_met {
                journal.deviated = true;
                if state.probes.iter().any(|probe| probe.status != "succeeded") {
                    status = RunStatus::Failed;
                }
            }
            journal.steady_states.after = Some(state);
            effects.save(&journal);
        }
    }

    if let Some(reason) = effects.halted() {
        status = RunStatus::Interrupted;
        journal.interruption = Some(reason);
    }
    let play_rollbacks = status == RunStatus::Interrupted
        || match plan.rollback_strategy {
            RollbackStrategy::Always => true,
            RollbackStrategy::Never => false,
            RollbackStrategy::Default => {
                !matches!(status, RunStatus::Failed | RunStatus::Interrupted)
            }
            RollbackStrategy::Deviated => journal.deviated,
        };
    if play_rollbacks {
        for activity in &plan.rollbacks {
            // Rollbacks run to the end: they are how the system is put back.
            let run = play(plan, activity, effects).await;
            journal.rollbacks.push(run);
            effects.save(&journal);
        }
    }
    let ended = effects.now();
    journal.end = Some(iso(ended));
    journal.duration = Some((ended - started) as f64 / 1000.0);
    journal.status = status;
    effects.save(&journal);
    journal
}

/// Plays the rollbacks of a run that was interrupted by a restart of the server.
pub async fn roll_back(plan: &Plan, journal: &mut Journal, reason: &str, effects: &dyn Effects) {
    journal.interruption = Some(reason.to_owned());
    for activity in &plan.rollbacks {
        let run = play(plan, activity, effects).await;
        journal.rollbacks.push(run);
    }
    let ended = effects.now();
    journal.end = Some(iso(ended));
    journal.status = RunStatus::Interrupted;
    effects.save(journal);
}

/// Checks the hypothesis every `frequency_s` of pipeline time, each check added to `during`,
/// until dropped (the method has ended) or, with `fail_fast`, until a check does not hold:
/// then answers true. Answers false if the run is halted.
async fn during_checks(
    plan: &Plan,
    probes: &[Activity],
    effects: &dyn Effects,
    during: &std::sync::Mutex<Vec<SteadyState>>,
) -> bool {
    let schedule = plan.hypothesis_schedule;
    loop {
        let state = hypothesis_check(plan, probes, effects).await;
        let met = state.steady_state_met;
        if let Ok(mut during) = during.lock() {
            during.push(state);
        }
        if !met && schedule.fail_fast {
            return true;
        }
        if !effects.pause(schedule.frequency_s).await {
            // Halted: the method sees it too and ends; this stays pending until it does.
            std::future::pending::<()>().await;
        }
    }
}

/// Runs `work` while driving the background activities, collecting those that end meanwhile.
async fn alongside<T>(
    work: impl Future<Output = T>,
    background: &mut FuturesUnordered<Boxed<'_, Option<ActivityRun>>>,
    finished: &mut Vec<ActivityRun>,
) -> T {
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            biased;
            output = &mut work => return output,
            Some(run) = background.next(), if !background.is_empty() => {
                if let Some(run) = run {
                    finished.push(run);
                }
            }
        }
    }
}

/// Waits the activity's pause `before` or `after`; false when halted.
async fn pause(plan: &Plan, activity: &Activity, moment: &str, effects: &dyn Effects) -> bool {
    let seconds = activity
        .definition
        .get("pauses")
        .and_then(|pauses| pauses.get(moment))
        .map(|pause| substitute(pause, &plan.values))
        .and_then(|pause| pause.as_f64())
        .unwrap_or(0.0);
    if seconds <= 0.0 {
        return effects.halted().is_none();
    }
    effects.pause(seconds).await
}

/// Checks the hypothesis: its probes in order, stopping at the first that fails or is out of
/// tolerance.
async fn hypothesis_check(plan: &Plan, probes: &[Activity], effects: &dyn Effects) -> SteadyState {
    let mut state = SteadyState {
        steady_state_met: true,
        probes: Vec::new(),
    };
    for probe in probes {
        let mut run = play(plan, probe, effects).await;
        if run.status != "succeeded" {
            run.tolerance_met = Some(false);
            state.steady_state_met = false;
            state.probes.push(run);
            return state;
        }
        let tolerance = probe
            .definition
            .get("tolerance")
            .cloned()
            .unwrap_or(Value::Null);
        let met = match within(&tolerance, &run.output, &plan.values) {
            Verdict::Judged(met) => met,
            Verdict::RunProbe => tolerance_probe(plan, &tolerance, &run.output, effects).await,
        };
        run.tolerance_met = Some(met);
        state.probes.push(run);
        if !met {
            state.steady_state_met = false;
            return state;
        }
    }
    state
}

/// A `probe` tolerance: the probe runs with `value` set to the output, and passes when it runs
/// and answers something truthy.
async fn tolerance_probe(
    plan: &Plan,
    tolerance: &Value,
    value: &Value,
    effects: &dyn Effects,
) -> bool {
    let mut definition = tolerance.clone();
    if let Some(arguments) = definition
        .pointer_mut("/provider")
        .and_then(Value::as_object_mut)
        .map(|provider| provider.entry("arguments").or_insert_with(|| json!({})))
        && let Some(arguments) = arguments.as_object_mut()
    {
        arguments.insert("value".to_owned(), value.clone());
    }
    let activity = Activity {
        kind: ActivityKind::Probe,
        name: tolerance
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("tolerance")
            .to_owned(),
        definition,
        background: false,
    };
    let run = play(plan, &activity, effects).await;
    run.status == "succeeded" && truthy(&run.output)
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(members) => !members.is_empty(),
    }
}

/// Runs one activity and records it.
async fn play(plan: &Plan, activity: &Activity, effects: &dyn Effects) -> ActivityRun {
    let start = effects.now();
    let provider = activity
        .definition
        .get("provider")
        .map(|provider| substitute(provider, &plan.values))
        .unwrap_or(Value::Null);
    let headers = provider
        .get("headers")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let call = HttpCall {
        method: provider
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase(),
        url: provider
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        headers,
        arguments: provider.get("arguments").cloned(),
        timeout: provider.get("timeout").and_then(Value::as_f64),
    };
    let result = effects.call(call).await;
    let end = effects.now();
    let (output, status, exception) = match result {
        Ok(output) => (output, "succeeded", None),
        Err(error) => (
            Value::Null,
            "failed",
            Some(vec![format!("chaoslib.exceptions.ActivityFailed: {error}")]),
        ),
    };
    ActivityRun {
        activity: activity.definition.clone(),
        output,
        start: iso(start),
        end: iso(end),
        duration: (end - start) as f64 / 1000.0,
        status: status.to_owned(),
        exception,
        tolerance_met: None,
    }
}

/// The values of a plan, for callers that substitute themselves.
pub fn values(plan: &Plan) -> &Values {
    &plan.values
}
