//! Chaos experiments: saving them (checked as `chaos validate` would, and as the server must),
//! running one at a time per participant on pipeline time, halting, reading the journals, and
//! finishing the runs a restart cut off.
//!
//! A run's activities are HTTP calls to this server's own API, made in-process through the same
//! router a client reaches (authorization, validation and rate limits included), with the
//! participant's own token: nothing leaves the process.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::chaos::experiment::{Plan, Problem, StopCondition, StopMeasure, check};
use crate::chaos::journal::{Journal, RunStatus};
use crate::chaos::runner::{self, Boxed, Effects, HttpCall};
use crate::chaos::store::{RunSummary, SavedExperiment, StoreError};
use crate::chaos::substitute::{Environment, SELF_URL};
use crate::events::EventKind;
use crate::ops::{Actor, OpError};
use crate::state::{App, AppState};

/// Longest experiment accepted, in bytes of JSON.
pub const MAX_EXPERIMENT_BYTES: usize = 256 * 1024;
/// Runs listed at most.
pub const MAX_RUNS_LISTED: usize = 100;

impl From<StoreError> for OpError {
    fn from(error: StoreError) -> Self {
        Self::Internal(error.to_string())
    }
}

fn environment(app: &App, id: &str) -> Result<Environment, OpError> {
    let participant = app.participants.get(id)?;
    Ok(Environment {
        url: SELF_URL.to_owned(),
        token: participant.token,
        participant: participant.id,
    })
}

fn problems_text(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| format!("{}: {}", problem.path, problem.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks `experiment` for participant `id` without saving it: every problem, or none.
pub fn validate(app: &App, id: &str, experiment: &Value) -> Result<Vec<Problem>, OpError> {
    let environment = environment(app, id)?;
    Ok(match check(experiment, id, &environment) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    })
}

fn checked(app: &App, id: &str, experiment: &Value) -> Result<Plan, OpError> {
    if experiment.to_string().len() > MAX_EXPERIMENT_BYTES {
        return Err(OpError::invalid(
            "invalid_experiment",
            format!("the experiment is over {} KB", MAX_EXPERIMENT_BYTES / 1024),
        ));
    }
    let environment = environment(app, id)?;
    check(experiment, id, &environment)
        .map_err(|problems| OpError::invalid("invalid_experiment", problems_text(&problems)))
}

/// Saves a new experiment after checking it; a problem is refused naming where it is.
pub fn create(app: &App, id: &str, experiment: &Value) -> Result<SavedExperiment, OpError> {
    let plan = checked(app, id, experiment)?;
    let experiment_id = format!("x-{}", uuid::Uuid::new_v4().simple());
    let now = chrono::Utc::now().timestamp_millis();
    app.experiments
        .store()
        .save(id, &experiment_id, &plan.title, experiment, now)?;
    get(app, id, &experiment_id)
}

/// Replaces a saved experiment after checking it.
pub fn replace(
    app: &App,
    id: &str,
    experiment_id: &str,
    experiment: &Value,
) -> Result<SavedExperiment, OpError> {
    get(app, id, experiment_id)?;
    let plan = checked(app, id, experiment)?;
    let now = chrono::Utc::now().timestamp_millis();
    app.experiments
        .store()
        .save(id, experiment_id, &plan.title, experiment, now)?;
    get(app, id, experiment_id)
}

/// A participant's saved experiment.
pub fn get(app: &App, id: &str, experiment_id: &str) -> Result<SavedExperiment, OpError> {
    app.participants.get(id)?;
    app.experiments
        .store()
        .get(id, experiment_id)?
        .ok_or_else(|| OpError::NotFound(format!("no experiment {experiment_id:?}")))
}

/// A participant's saved experiments, oldest first.
pub fn list(app: &App, id: &str) -> Result<Vec<SavedExperiment>, OpError> {
    app.participants.get(id)?;
    Ok(app.experiments.store().list(id)?)
}

/// Deletes a saved experiment (its runs and journals stay).
pub fn delete(app: &App, id: &str, experiment_id: &str) -> Result<(), OpError> {
    app.participants.get(id)?;
    if app.experiments.store().delete(id, experiment_id)? {
        Ok(())
    } else {
        Err(OpError::NotFound(format!(
            "no experiment {experiment_id:?}"
        )))
    }
}

/// A saved experiment as a file `chaos run` plays unchanged against this server: `chaoslab_url`
/// and `participant_id` from `CHAOSLAB_URL` and `CHAOSLAB_PARTICIPANT_ID` (defaulting to
/// `base_url` and the participant's id), the token from `CHAOSLAB_TOKEN` (never written into the
/// file), and every pause a configuration value in **wall** seconds at the server's time scale:
/// a pause of 360 pipeline seconds is 6 wall seconds at `--time-scale 60`. Each can be changed
/// with `chaos run --var`.
pub fn export(app: &App, id: &str, experiment_id: &str, base_url: &str) -> Result<Value, OpError> {
    let saved = get(app, id, experiment_id)?;
    let scale = app.backend.clock().scale();
    let mut experiment = saved.experiment;
    let Some(object) = experiment.as_object_mut() else {
        return Err(OpError::Internal(
            "a saved experiment is not an object".to_owned(),
        ));
    };
    let mut configuration = object
        .get("configuration")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    configuration.insert(
        "chaoslab_url".to_owned(),
        serde_json::json!({"type": "env", "key": "CHAOSLAB_URL", "default": base_url}),
    );
    configuration.insert(
        "participant_id".to_owned(),
        serde_json::json!({"type": "env", "key": "CHAOSLAB_PARTICIPANT_ID", "default": id}),
    );
    let mut secrets = object
        .get("secrets")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    secrets
        .entry("chaoslab")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .map(|scope| {
            scope.insert(
                "chaoslab_token".to_owned(),
                serde_json::json!({"type": "env", "key": "CHAOSLAB_TOKEN"}),
            )
        });
    // Pauses: pipeline seconds become wall seconds, each a configuration value.
    let mut converted = std::collections::BTreeSet::new();
    let mut counter = 0;
    for list in ["method", "rollbacks"] {
        let Some(activities) = object.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for activity in activities {
            let Some(pauses) = activity.get_mut("pauses").and_then(Value::as_object_mut) else {
                continue;
            };
            for moment in ["before", "after"] {
                match pauses.get(moment) {
                    Some(Value::Number(number)) => {
                        counter += 1;
                        let name = format!("pause_{counter}_s");
                        let wall = number.as_f64().unwrap_or(0.0) / scale;
                        configuration.insert(name.clone(), wall_seconds(wall));
                        pauses.insert(moment.to_owned(), Value::String(format!("${{{name}}}")));
                    }
                    Some(Value::String(text)) => {
                        if let Some(name) = text
                            .strip_prefix("${")
                            .and_then(|rest| rest.strip_suffix('}'))
                            && converted.insert(name.to_owned())
                            && let Some(pipeline) = configuration.get(name).and_then(Value::as_f64)
                        {
                            configuration.insert(name.to_owned(), wall_seconds(pipeline / scale));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    object.insert("configuration".to_owned(), Value::Object(configuration));
    object.insert("secrets".to_owned(), Value::Object(secrets));
    Ok(experiment)
}

/// Which file an export writes.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportVariant {
    /// HTTP calls to this server, as saved.
    #[default]
    Chaoslab,
    /// chaostoolkit-aws probes and actions (and the AWS CLI for the two percentages) on the
    /// participant's stack on AWS.
    Aws,
}

/// The export's query.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `chaoslab` (the default) or `aws`.
    #[serde(default)]
    #[param(inline)]
    pub variant: ExportVariant,
}

/// A saved experiment rewritten for the participant's stack on AWS, for `chaos run` with the
/// chaostoolkit-aws package ([`crate::chaos::export_aws`]): its HTTP calls become chaosaws
/// probes and actions or the AWS CLI calls the original lab made, stack names default to the
/// participant's stack. Refused, naming each activity, when an activity has no AWS equivalent.
pub fn export_aws(app: &App, id: &str, experiment_id: &str) -> Result<Value, OpError> {
    aws_variant(app, id, &get(app, id, experiment_id)?.experiment)
}

/// `experiment` (one of participant `id`'s) rewritten for their stack on AWS; see [`export_aws`].
pub fn aws_variant(app: &App, id: &str, experiment: &Value) -> Result<Value, OpError> {
    // The token is never needed here, and must not be substituted into the file.
    let environment = Environment {
        url: SELF_URL.to_owned(),
        token: String::new(),
        participant: id.to_owned(),
    };
    let plan = check(experiment, id, &environment)
        .map_err(|problems| OpError::invalid("invalid_experiment", problems_text(&problems)))?;
    let names = app
        .backend
        .stack_names(id)
        .ok_or_else(|| OpError::NotFound(format!("participant {id:?} has no pipeline stack")))?;
    let minutes = u64::from(super::probes::DEFAULT_MINUTES);
    crate::chaos::export_aws::aws_variant(&plan, id, &names, minutes)
        .map_err(|problems| OpError::invalid("not_exportable_to_aws", problems_text(&problems)))
}

/// A pause in wall seconds: whole when it is, else with a millisecond's precision.
fn wall_seconds(seconds: f64) -> Value {
    let rounded = (seconds * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        Value::from(rounded as i64)
    } else {
        Value::from(rounded)
    }
}

/// Starts a run of a saved experiment; one run at a time per participant.
pub fn start(
    state: &AppState,
    id: &str,
    experiment_id: &str,
    actor: Actor,
) -> Result<RunSummary, OpError> {
    let saved = get(state, id, experiment_id)?;
    let plan = checked(state, id, &saved.experiment)?;
    let run_id = format!("r-{}", uuid::Uuid::new_v4().simple());
    let started = state.backend.clock().now();
    let halted = state
        .experiments
        .begin(id, &run_id)
        .map_err(|going| OpError::Conflict {
            code: "run_in_progress",
            message: format!(
                "run {going} is still going: wait for it to end or halt it (POST …/runs/{going}/halt)"
            ),
        })?;
    let effects = ServerEffects {
        state: state.clone(),
        router: state.api_router(),
        participant: id.to_owned(),
        run: run_id.clone(),
        experiment: experiment_id.to_owned(),
        started,
        halted,
    };
    // The journal exists before the answer, so the run can be read at once.
    effects.save(&Journal::new(
        saved.experiment.clone(),
        crate::metrics::rfc3339::format(started),
    ));
    super::record(
        state,
        id,
        EventKind::ExperimentStarted,
        actor.describe(&format!("{} ({run_id})", plan.title)),
        "experiment started",
    );
    if !plan.stop_conditions.is_empty() {
        tokio::spawn(watch_stop_conditions(
            state.clone(),
            id.to_owned(),
            run_id.clone(),
            plan.stop_conditions.clone(),
        ));
    }
    let state_for_run = state.clone();
    let participant = id.to_owned();
    tokio::spawn(async move {
        let journal = runner::run(&plan, &effects).await;
        let verdict = if journal.deviated {
            "deviated".to_owned()
        } else {
            journal.status.as_str().to_owned()
        };
        state_for_run.experiments.end(&participant);
        super::record(
            &state_for_run,
            &participant,
            EventKind::ExperimentEnded,
            format!("{} ({}): {verdict}", plan.title, effects.run),
            "experiment ended",
        );
    });
    run(state, id, &run_id).map(|(summary, _)| summary)
}

/// Checks a run's stop conditions every pipeline minute while it goes on; the first breach halts
/// it (interrupted, rollbacks played at once). A measure that cannot be read is logged and
/// checked again the next minute.
async fn watch_stop_conditions(
    state: AppState,
    participant: String,
    run: String,
    conditions: Vec<StopCondition>,
) {
    let clock = state.backend.clock();
    loop {
        clock.sleep(Duration::from_secs(60)).await;
        if state.experiments.active_run(&participant).as_deref() != Some(run.as_str()) {
            return;
        }
        for condition in &conditions {
            match stop_measure(&state, &participant, condition).await {
                Ok(Some(value)) if condition.breached_by(value) => {
                    let threshold = match (condition.above, condition.below) {
                        (Some(above), _) if value > above => format!("above {above}"),
                        (_, Some(below)) => format!("below {below}"),
                        _ => String::new(),
                    };
                    let reason = format!(
                        "stop condition {:?} breached: {value:.2} over the last {} min, {threshold}",
                        condition.name, condition.minutes
                    );
                    state.experiments.halt(&participant, &run, &reason);
                    return;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%participant, %run, condition = %condition.name, %error, "a stop condition could not be read");
                }
            }
        }
    }
}

/// A stop condition's value now, over its last whole minutes; None without data.
async fn stop_measure(
    app: &App,
    id: &str,
    condition: &StopCondition,
) -> Result<Option<f64>, OpError> {
    let minutes = Some(i64::from(condition.minutes));
    match &condition.measure {
        StopMeasure::Probe(probe) => Ok(match probe.as_str() {
            "percent-in-flight" => crate::ops::probes::percent_in_flight(app, id, minutes).await?,
            "percent-in-error" => crate::ops::probes::percent_in_error(app, id, minutes).await?,
            _ => crate::ops::probes::sns_notifications_failed(app, id, minutes).await?,
        }
        .value),
        StopMeasure::Queries(queries) => {
            let now = app.backend.clock().now();
            let end = now - now.rem_euclid(60_000);
            let request = crate::metrics::GetMetricDataRequest {
                metric_data_queries: queries.clone(),
                start_time: end - i64::from(condition.minutes) * 60_000,
                end_time: end,
                scan_by: Some(crate::metrics::ScanBy::TimestampDescending),
                max_datapoints: None,
                next_token: None,
            };
            let response = app.backend.get_metric_data(id, request).await?;
            Ok(response
                .metric_data_results
                .iter()
                .rev()
                .find_map(|result| result.values.first().copied()))
        }
    }
}

/// Halts a participant's run: it is interrupted at once and its rollbacks are played whatever
/// the strategy. Halting a run that has ended changes nothing.
pub fn halt(app: &App, id: &str, run_id: &str, reason: &str) -> Result<RunSummary, OpError> {
    let (summary, _) = run(app, id, run_id)?;
    app.experiments.halt(id, run_id, reason);
    Ok(summary)
}

/// A participant's run: its summary and journal.
pub fn run(app: &App, id: &str, run_id: &str) -> Result<(RunSummary, Journal), OpError> {
    app.participants.get(id)?;
    app.experiments
        .store()
        .run(id, run_id)?
        .ok_or_else(|| OpError::NotFound(format!("no run {run_id:?}")))
}

/// A participant's runs, newest first.
pub fn runs(app: &App, id: &str) -> Result<Vec<RunSummary>, OpError> {
    app.participants.get(id)?;
    Ok(app.experiments.store().runs(id, MAX_RUNS_LISTED)?)
}

/// The run a participant has going, if any.
pub fn active_run(app: &App, id: &str) -> Option<String> {
    app.experiments.active_run(id)
}

/// Finishes the runs a restart cut off: each is marked interrupted and its rollbacks are played,
/// so a fault the run switched on does not stay on. Called once the server is ready.
pub async fn recover(state: &AppState) {
    let cut_off = match state.experiments.store().running() {
        Ok(runs) => runs,
        Err(error) => {
            tracing::error!(%error, "cannot read the runs a restart interrupted");
            return;
        }
    };
    for (participant, summary, mut journal) in cut_off {
        let reason = "the server stopped during the run";
        let (_, halted) = watch::channel(None);
        let effects = ServerEffects {
            state: state.clone(),
            router: state.api_router(),
            participant: participant.clone(),
            run: summary.id.clone(),
            experiment: summary.experiment.clone(),
            started: summary.started,
            halted,
        };
        let plan = environment(state, &participant)
            .ok()
            .and_then(|environment| check(&journal.experiment, &participant, &environment).ok());
        match plan {
            Some(plan) => runner::roll_back(&plan, &mut journal, reason, &effects).await,
            None => {
                // The participant left, or the experiment no longer checks: nothing to play.
                journal.interruption = Some(reason.to_owned());
                journal.status = RunStatus::Interrupted;
                effects.save(&journal);
            }
        }
        tracing::warn!(%participant, run = %summary.id, "a run the server's stop interrupted was rolled back");
        super::record(
            state,
            &participant,
            EventKind::ExperimentEnded,
            format!(
                "{} ({}): interrupted by a restart, rolled back",
                summary.title, summary.id
            ),
            "experiment interrupted",
        );
    }
}

/// What a run does, through the server.
struct ServerEffects {
    state: AppState,
    router: axum::Router,
    participant: String,
    run: String,
    experiment: String,
    started: i64,
    halted: watch::Receiver<Option<String>>,
}

impl Effects for ServerEffects {
    fn call<'a>(&'a self, call: HttpCall) -> Boxed<'a, Result<Value, String>> {
        Box::pin(async move {
            let request = request(&call)?;
            let clock = self.state.backend.clock();
            let response = self.router.clone().oneshot(request);
            let response = match call.timeout {
                Some(seconds) if seconds > 0.0 => tokio::select! {
                    response = response => response,
                    () = clock.sleep(Duration::from_secs_f64(seconds)) => {
                        return Err("activity took too long to complete".to_owned());
                    }
                },
                _ => response.await,
            };
            let response = response.map_err(|error| format!("failed to connect: {error}"))?;
            output(response).await
        })
    }

    fn pause<'a>(&'a self, seconds: f64) -> Boxed<'a, bool> {
        Box::pin(async move {
            let mut halted = self.halted.clone();
            let clock = self.state.backend.clock();
            tokio::select! {
                () = clock.sleep(Duration::from_secs_f64(seconds.max(0.0))) => {}
                _ = halted.wait_for(Option::is_some) => {}
            }
            self.halted().is_none()
        })
    }

    fn now(&self) -> i64 {
        self.state.backend.clock().now()
    }

    fn halted(&self) -> Option<String> {
        self.halted.borrow().clone()
    }

    fn save(&self, journal: &Journal) {
        // A participant removed during the run took their runs with them: nothing to save.
        if self.state.participants.get(&self.participant).is_err() {
            return;
        }
        let ended = journal.end.as_ref().map(|_| self.now());
        if let Err(error) = self.state.experiments.store().save_run(
            &self.participant,
            &self.run,
            &self.experiment,
            journal,
            self.started,
            ended,
        ) {
            tracing::error!(run = %self.run, %error, "could not save a run's journal");
        }
    }
}

/// The request an activity's call makes, as Python's `requests` would make it for chaoslib.
fn request(call: &HttpCall) -> Result<Request<Body>, String> {
    let path = call
        .url
        .strip_prefix(SELF_URL)
        .ok_or_else(|| format!("{} is not this server", call.url))?;
    let method = Method::from_bytes(call.method.as_bytes()).map_err(|error| error.to_string())?;
    let json_body = call.headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("content-type") && value.as_str() == Some("application/json")
    });
    let (uri, body) = if method == Method::GET {
        let query = call.arguments.as_ref().and_then(Value::as_object).map(form);
        match query {
            Some(query) if !query.is_empty() => {
                let separator = if path.contains('?') { '&' } else { '?' };
                (format!("{path}{separator}{query}"), Body::empty())
            }
            _ => (path.to_owned(), Body::empty()),
        }
    } else {
        let body = match &call.arguments {
            None | Some(Value::Null) => Body::empty(),
            Some(arguments) if json_body => Body::from(arguments.to_string()),
            Some(Value::Object(arguments)) => Body::from(form(arguments)),
            Some(Value::String(text)) => Body::from(text.clone()),
            Some(other) => Body::from(other.to_string()),
        };
        (path.to_owned(), body)
    };
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in &call.headers {
        let value = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder.body(body).map_err(|error| error.to_string())
}

/// Form-encodes an object as `requests` does: strings as they are, other values as Python
/// writes them.
fn form(arguments: &Map<String, Value>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in arguments {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Bool(true) => "True".to_owned(),
            Value::Bool(false) => "False".to_owned(),
            other => other.to_string(),
        };
        serializer.append_pair(name, &text);
    }
    serializer.finish()
}

/// `{"status", "headers", "body"}`, the body parsed when it says it is `application/json`.
async fn output(response: axum::response::Response) -> Result<Value, String> {
    let status = response.status().as_u16();
    let mut headers = Map::new();
    for (name, value) in response.headers() {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str().to_owned(), Value::String(value.to_owned()));
        }
    }
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes() == b"application/json");
    let bytes = axum::body::to_bytes(response.into_body(), 8 * 1024 * 1024)
        .await
        .map_err(|error| format!("cannot read the response: {error}"))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = if json {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    Ok(serde_json::json!({"status": status, "headers": headers, "body": body}))
}
