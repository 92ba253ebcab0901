//! `/participants/{id}/experiments` and `/participants/{id}/runs`: Chaos Toolkit experiments,
//! checked, saved and run by the server on pipeline time, with their journals.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Reach, ReachItem};
use super::error::{ApiError, Json, Query};
use crate::chaos::experiment::Problem;
use crate::chaos::journal::Journal;
use crate::chaos::store::{RunSummary, SavedExperiment};
use crate::ops::experiments::{self, ExportQuery, ExportVariant};
use crate::state::AppState;

/// A Chaos Toolkit experiment, as `chaos run` reads it. Only the shape is described here; the
/// server then checks it as chaoslib 1.45 does and as it must (every activity an HTTP call to
/// this server's API for your own stack), naming each problem with its path. Other keys
/// (`version`, `tags`, `contributions`, `extensions`, …) are kept as they are.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[allow(dead_code)] // Documents the body; the handlers read it as JSON and check it.
pub struct ExperimentBody {
    /// What the experiment is about.
    #[schema(min_length = 1)]
    title: String,
    /// What it checks and how.
    #[schema(min_length = 1)]
    description: String,
    /// The activities that change the system, in order (may be empty: only the hypothesis).
    #[schema(value_type = Vec<Object>)]
    method: Vec<serde_json::Value>,
    /// The hypothesis: a `title` and `probes`, each with a `tolerance`.
    #[serde(rename = "steady-state-hypothesis")]
    #[schema(value_type = Option<Object>)]
    steady_state_hypothesis: Option<serde_json::Value>,
    /// Played after the method, by `runtime.rollbacks.strategy`.
    #[schema(value_type = Option<Vec<Object>>)]
    rollbacks: Option<Vec<serde_json::Value>>,
    /// Values and `{"type": "env", "key": …}` entries (the server answers `CHAOSLAB_URL`,
    /// `CHAOSLAB_TOKEN` and `CHAOSLAB_PARTICIPANT_ID`; others need a `default`).
    #[schema(value_type = Option<Object>)]
    configuration: Option<serde_json::Value>,
    /// Secrets by scope, in the same form.
    #[schema(value_type = Option<Object>)]
    secrets: Option<serde_json::Value>,
    /// `{"rollbacks": {"strategy": "default|always|never|deviated"}}`.
    #[schema(value_type = Option<Object>)]
    runtime: Option<serde_json::Value>,
    /// Non-empty strings.
    tags: Option<Vec<String>>,
}

/// What checking an experiment found.
#[derive(Debug, Serialize, ToSchema)]
pub struct Validation {
    /// Whether the server would save and run it.
    pub valid: bool,
    /// Every problem, with where it is.
    pub problems: Vec<Problem>,
}

/// A run and its journal.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// Its journal so far (chaoslib's keys).
    pub journal: Journal,
}

/// Checks an experiment as `chaos validate` would (chaoslib 1.45's rules), then as this server
/// must: only HTTP calls to this server's API for your own stack. Saves nothing.
#[utoipa::path(post, path = "/participants/{id}/experiments/validate", tag = "experiments",
    request_body(content = Object, description = "Any JSON object: the answer lists what keeps it from being an experiment the server can run"),
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether it is valid, and every problem", body = Validation),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn validate_experiment(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    Json(experiment): Json<serde_json::Value>,
) -> Result<Json<Validation>, ApiError> {
    let problems = experiments::validate(&state, &id, &experiment)?;
    Ok(Json(Validation {
        valid: problems.is_empty(),
        problems,
    }))
}

/// Your saved experiments, oldest first.
#[utoipa::path(get, path = "/participants/{id}/experiments", tag = "experiments",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The experiments", body = Vec<SavedExperiment>),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn list_experiments(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<Vec<SavedExperiment>>, ApiError> {
    Ok(Json(experiments::list(&state, &id)?))
}

/// Saves an experiment after checking it; a problem is refused with 422, naming where it is.
#[utoipa::path(post, path = "/participants/{id}/experiments", tag = "experiments",
    request_body = ExperimentBody,
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 201, description = "Saved", body = SavedExperiment),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
        (status = 422, description = "The experiment is not valid here: every problem, with its path", body = ApiError),
    ))]
pub async fn create_experiment(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
    Json(experiment): Json<serde_json::Value>,
) -> Result<(StatusCode, Json<SavedExperiment>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(experiments::create(&state, &id, &experiment)?),
    ))
}

/// One of your experiments.
#[utoipa::path(get, path = "/participants/{id}/experiments/{experiment}", tag = "experiments",
    params(("id" = String, Path, description = "Participant id"), ("experiment" = String, Path, description = "Experiment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The experiment", body = SavedExperiment),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant or experiment visible to you", body = ApiError),
    ))]
pub async fn get_experiment(
    State(state): State<AppState>,
    ReachItem { id, item, .. }: ReachItem,
) -> Result<Json<SavedExperiment>, ApiError> {
    Ok(Json(experiments::get(&state, &id, &item)?))
}

/// Replaces one of your experiments after checking it.
#[utoipa::path(put, path = "/participants/{id}/experiments/{experiment}", tag = "experiments",
    request_body = ExperimentBody,
    params(("id" = String, Path, description = "Participant id"), ("experiment" = String, Path, description = "Experiment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = SavedExperiment),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant or experiment visible to you", body = ApiError),
        (status = 422, description = "The experiment is not valid here", body = ApiError),
    ))]
pub async fn put_experiment(
    State(state): State<AppState>,
    ReachItem { id, item, .. }: ReachItem,
    Json(experiment): Json<serde_json::Value>,
) -> Result<Json<SavedExperiment>, ApiError> {
    Ok(Json(experiments::replace(&state, &id, &item, &experiment)?))
}

/// Deletes one of your experiments (its runs' journals stay).
#[utoipa::path(delete, path = "/participants/{id}/experiments/{experiment}", tag = "experiments",
    params(("id" = String, Path, description = "Participant id"), ("experiment" = String, Path, description = "Experiment id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant or experiment visible to you", body = ApiError),
    ))]
pub async fn delete_experiment(
    State(state): State<AppState>,
    ReachItem { id, item, .. }: ReachItem,
) -> Result<StatusCode, ApiError> {
    experiments::delete(&state, &id, &item)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs one of your experiments on pipeline time, as `chaos run` would: the hypothesis, the
/// method, the hypothesis again, the rollbacks. One run at a time; read it with
/// `GET …/runs/{run}`, stop it with `POST …/runs/{run}/halt`.
#[utoipa::path(post, path = "/participants/{id}/experiments/{experiment}/runs", tag = "experiments",
    params(("id" = String, Path, description = "Participant id"), ("experiment" = String, Path, description = "Experiment id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Started", body = RunSummary),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant or experiment visible to you", body = ApiError),
        (status = 409, description = "A run of yours is still going (`run_in_progress`)", body = ApiError),
        (status = 422, description = "The saved experiment no longer checks", body = ApiError),
    ))]
pub async fn start_run(
    State(state): State<AppState>,
    ReachItem { caller, id, item }: ReachItem,
) -> Result<(StatusCode, Json<RunSummary>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(experiments::start(&state, &id, &item, caller.actor())?),
    ))
}

/// Your runs, newest first (at most 100).
#[utoipa::path(get, path = "/participants/{id}/runs", tag = "experiments",
    params(("id" = String, Path, description = "Participant id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The runs", body = Vec<RunSummary>),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant visible to you", body = ApiError),
    ))]
pub async fn list_runs(
    State(state): State<AppState>,
    Reach { id, .. }: Reach,
) -> Result<Json<Vec<RunSummary>>, ApiError> {
    Ok(Json(experiments::runs(&state, &id)?))
}

/// One of your runs, with its journal so far.
#[utoipa::path(get, path = "/participants/{id}/runs/{run}", tag = "experiments",
    params(("id" = String, Path, description = "Participant id"), ("run" = String, Path, description = "Run id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The run and its journal", body = RunDetail),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant or run visible to you", body = ApiError),
    ))]
pub async fn get_run(
    State(state): State<AppState>,
    ReachItem { id, item, .. }: ReachItem,
) -> Result<Json<RunDetail>, ApiError> {
    let (summary, journal) = experiments::run(&state, &id, &item)?;
    Ok(Json(RunDetail { summary, journal }))
}

/// One of your runs' journal alone, as `chaos run --journal-path` writes it, as a file to
/// download: `chaos report` and chaostoolkit-reporting read it. While the run goes on, the
/// journal so far (`status` `running`, no `end`).
#[utoipa::path(get, path = "/participants/{id}/runs/{run}/journal", tag = "experiments",
    params(("id" = String, Path, description = "Participant id"), ("run" = String, Path, description = "Run id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The journal", body = Journal),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant or run visible to you", body = ApiError),
    ))]
pub async fn get_run_journal(
    State(state): State<AppState>,
    ReachItem { id, item, .. }: ReachItem,
) -> Result<axum::response::Response, ApiError> {
    let (_, journal) = experiments::run(&state, &id, &item)?;
    Ok(attachment(&format!("journal-{item}.json"), journal))
}

/// Halts one of your runs: it is interrupted at once, even in a pause, and its rollbacks are
/// played whatever its strategy. A run that has ended is left as it is.
#[utoipa::path(post, path = "/participants/{id}/runs/{run}/halt", tag = "experiments",
    params(("id" = String, Path, description = "Participant id"), ("run" = String, Path, description = "Run id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Halt asked for; the run as it stands", body = RunSummary),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant or run visible to you", body = ApiError),
    ))]
pub async fn halt_run(
    State(state): State<AppState>,
    ReachItem { caller, id, item }: ReachItem,
) -> Result<Json<RunSummary>, ApiError> {
    let reason = match caller.actor() {
        crate::ops::Actor::Instructor => "halted by the instructor",
        crate::ops::Actor::Participant => "halted by hand",
    };
    Ok(Json(experiments::halt(&state, &id, &item, reason)?))
}

/// One of your experiments as a file for `chaos run`.
///
/// - `variant=chaoslab` (the default): plays unchanged against this server, with
///   `CHAOSLAB_URL` (default: this server as you reached it), `CHAOSLAB_PARTICIPANT_ID`
///   (default: you) and your token from `CHAOSLAB_TOKEN` (never in the file), every pause a
///   configuration value in wall seconds at this server's time scale.
/// - `variant=aws`: for your stack on AWS with the chaostoolkit-aws package: the fault document
///   goes to the SSM parameter (`chaosaws.ssm.actions.put_parameter`), function settings through
///   `chaosaws.awslambda.actions`, SNS failures through
///   `chaosaws.cloudwatch.probes.get_metric_statistics`, and the two percentages through
///   `aws cloudwatch get-metric-data` with the original lab's metric math; stack names from
///   `LAMBDA_FUNCTION_NAME`, `SNS_TOPIC_NAME`, `FAILURE_INJECTION_PARAM`, `CSV_QUEUE_NAME`,
///   `DLQ_NAME` and `AWS_REGION`, defaulting to your stack. An activity with no AWS equivalent
///   (traffic, the SLO, other reads) is refused with 422, named.
#[utoipa::path(get, path = "/participants/{id}/experiments/{experiment}/export", tag = "experiments",
    params(("id" = String, Path, description = "Participant id"), ("experiment" = String, Path, description = "Experiment id"), ExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The experiment, ready for `chaos run`", body = Object),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 404, description = "No such participant or experiment visible to you", body = ApiError),
        (status = 422, description = "An unknown variant (`invalid_query`), or an activity with no AWS equivalent (`not_exportable_to_aws`), each named", body = ApiError),
    ))]
pub async fn export_experiment(
    State(state): State<AppState>,
    ReachItem { id, item, .. }: ReachItem,
    Query(query): Query<ExportQuery>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    Ok(match query.variant {
        ExportVariant::Chaoslab => {
            let base = state.edge.base_url(&headers);
            let experiment = experiments::export(&state, &id, &item, &base)?;
            attachment(&format!("{item}.json"), experiment)
        }
        ExportVariant::Aws => {
            let experiment = experiments::export_aws(&state, &id, &item)?;
            attachment(&format!("{item}-aws.json"), experiment)
        }
    })
}

/// `value` as JSON that a browser saves as `filename`.
fn attachment<T: Serialize>(filename: &str, value: T) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        )],
        Json(value),
    )
        .into_response()
}
