//! The experiments pages: write or pick a Chaos Toolkit experiment, check it, save it, run it on
//! pipeline time, and follow the run as a timeline beside the dashboard's fault and measure
//! charts, with a Halt button.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use super::dashboard::WidgetView;
use super::error::WebError;
use super::is_htmx;
use super::layout::Chrome;
use super::session::Session;
use crate::chaos::journal::{ActivityRun, Journal, RunStatus};
use crate::chaos::store::{RunSummary, SavedExperiment};
use crate::ops::experiments::{self, ExportQuery, ExportVariant};
use crate::ops::{Actor, OpError};
use crate::state::{App, AppState};

#[derive(Template, WebTemplate)]
#[template(path = "pages/experiments.html")]
struct ExperimentsPage {
    chrome: Option<Chrome>,
    csrf: String,
    saved: Vec<SavedRow>,
    runs: Vec<RunSummary>,
    templates: Vec<(&'static str, String)>,
    /// The editor's text.
    editor: String,
    /// The experiment being edited, when it is a saved one.
    editing: Option<String>,
    /// Problems found, or a save that failed.
    problems: Vec<String>,
    /// A check that passed.
    valid: bool,
    /// The run going on, if any.
    active: Option<String>,
}

/// A saved experiment in the page's table.
struct SavedRow {
    experiment: SavedExperiment,
    /// Why it cannot be exported for a stack on AWS, if it cannot.
    not_for_aws: Option<String>,
}

impl ExperimentsPage {
    fn load(app: &App, session: &Session) -> Result<Self, WebError> {
        let id = &session.participant.id;
        let templates = crate::chaos::templates::all()
            .into_iter()
            .map(|(label, experiment)| {
                (
                    label,
                    serde_json::to_string_pretty(&experiment).unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>();
        Ok(Self {
            chrome: Some(Chrome::new(session, None)),
            csrf: session.csrf.clone(),
            saved: experiments::list(app, id)?
                .into_iter()
                .map(|experiment| SavedRow {
                    not_for_aws: experiments::aws_variant(app, id, &experiment.experiment)
                        .err()
                        .map(|error| match error {
                            OpError::Invalid { message, .. } => message,
                            _ => "the export cannot be prepared now".to_owned(),
                        }),
                    experiment,
                })
                .collect(),
            runs: experiments::runs(app, id)?,
            editor: templates
                .first()
                .map(|(_, text)| text.clone())
                .unwrap_or_default(),
            templates,
            editing: None,
            problems: Vec::new(),
            valid: false,
            active: experiments::active_run(app, id),
        })
    }
}

/// `?edit=<experiment>` opens a saved experiment in the editor.
#[derive(Debug, Deserialize)]
pub struct EditQuery {
    edit: Option<String>,
}

/// `GET /experiments`.
pub async fn show_experiments(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<EditQuery>,
) -> Result<Response, WebError> {
    let mut page = ExperimentsPage::load(&state, &session)?;
    if let Some(edit) = query.edit {
        let saved = experiments::get(&state, &session.participant.id, &edit)?;
        page.editor = serde_json::to_string_pretty(&saved.experiment).unwrap_or_default();
        page.editing = Some(saved.id);
    }
    Ok(page.into_response())
}

/// The editor form: the experiment's text, which saved one it replaces (if any), and whether
/// to check it only.
#[derive(Debug, Deserialize)]
pub struct EditorForm {
    csrf: String,
    experiment: String,
    editing: Option<String>,
    intent: Option<String>,
}

/// `POST /experiments`: checks, or saves (new or replacing), the editor's experiment.
pub async fn save_experiment(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<EditorForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let id = &session.participant.id;
    let mut page = ExperimentsPage::load(&state, &session)?;
    page.editor = form
        .experiment
        .chars()
        .take(experiments::MAX_EXPERIMENT_BYTES)
        .collect();
    page.editing = form.editing.clone().filter(|editing| !editing.is_empty());
    let experiment: Value = match serde_json::from_str(&form.experiment) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => {
            page.problems = vec!["The experiment must be a JSON object.".to_owned()];
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(error) => {
            page.problems = vec![format!("The experiment is not valid JSON: {error}.")];
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    if form.intent.as_deref() == Some("check") {
        let problems = experiments::validate(&state, id, &experiment)?;
        page.valid = problems.is_empty();
        page.problems = problems
            .into_iter()
            .map(|problem| format!("{}: {}", problem.path, problem.message))
            .collect();
        let status = if page.valid {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok((status, page).into_response());
    }
    let saved = match &page.editing {
        Some(editing) => experiments::replace(&state, id, editing, &experiment),
        None => experiments::create(&state, id, &experiment),
    };
    match saved {
        Ok(saved) => {
            Ok(Redirect::to(&format!("/experiments?edit={}#editor", saved.id)).into_response())
        }
        Err(OpError::Invalid { message, .. }) => {
            page.problems = message.split("; ").map(str::to_owned).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// `POST /experiments/{experiment}/run`: starts a run and goes to its page.
pub async fn run_experiment(
    State(state): State<AppState>,
    session: Session,
    Path(experiment): Path<String>,
    Form(form): Form<TokenForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let run = experiments::start(
        &state,
        &session.participant.id,
        &experiment,
        Actor::Participant,
    )?;
    Ok(Redirect::to(&format!("/experiments/runs/{}", run.id)).into_response())
}

/// `POST /experiments/{experiment}/delete`.
pub async fn delete_experiment(
    State(state): State<AppState>,
    session: Session,
    Path(experiment): Path<String>,
    Form(form): Form<TokenForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    experiments::delete(&state, &session.participant.id, &experiment)?;
    Ok(Redirect::to("/experiments").into_response())
}

/// One line of a run's timeline.
#[derive(Debug, Clone)]
pub struct Moment {
    /// `Hypothesis before`, `Method`, `Hypothesis during`, `Hypothesis after`, `Rollback`.
    pub phase: &'static str,
    /// The activity's name.
    pub name: String,
    /// `probe` or `action`.
    pub kind: String,
    /// `HH:MM:SS` (pipeline time).
    pub at: String,
    /// Pipeline seconds it took.
    pub duration: String,
    /// What it answered: the HTTP status and a short body.
    pub output: String,
    /// `met`, `not met` or empty (not a hypothesis probe).
    pub tolerance: Option<bool>,
    /// Whether it failed to run.
    pub failed: bool,
}

fn time_of(iso: &str) -> String {
    crate::metrics::rfc3339::parse(iso)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|at| at.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

fn moment(phase: &'static str, run: &ActivityRun) -> Moment {
    let body = match run.output.get("body") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let mut body: String = body.chars().take(120).collect();
    if body.chars().count() >= 120 {
        body.push('…');
    }
    let output = match run.output.get("status") {
        Some(status) => format!("{status} {body}"),
        None => run
            .exception
            .as_ref()
            .and_then(|lines| lines.first().cloned())
            .unwrap_or_default(),
    };
    Moment {
        phase,
        name: run
            .activity
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        kind: run
            .activity
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        at: time_of(&run.start),
        duration: format!("{:.1} s", run.duration),
        output,
        tolerance: run.tolerance_met,
        failed: run.status != "succeeded",
    }
}

/// A run's timeline, in the order things happened.
pub fn timeline(journal: &Journal) -> Vec<Moment> {
    let mut moments = Vec::new();
    if let Some(before) = &journal.steady_states.before {
        moments.extend(
            before
                .probes
                .iter()
                .map(|run| moment("Hypothesis before", run)),
        );
    }
    // The method and the checks made during it, in the order they started.
    let mut during: Vec<(&str, &ActivityRun)> = journal
        .run
        .iter()
        .map(|run| ("Method", run))
        .chain(
            journal
                .steady_states
                .during
                .iter()
                .flat_map(|state| state.probes.iter().map(|run| ("Hypothesis during", run))),
        )
        .collect();
    during.sort_by_key(|(_, run)| crate::metrics::rfc3339::parse(&run.start).unwrap_or(0));
    moments.extend(during.into_iter().map(|(phase, run)| moment(phase, run)));
    if let Some(after) = &journal.steady_states.after {
        moments.extend(
            after
                .probes
                .iter()
                .map(|run| moment("Hypothesis after", run)),
        );
    }
    moments.extend(journal.rollbacks.iter().map(|run| moment("Rollback", run)));
    moments
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/run.html")]
struct RunPage {
    chrome: Option<Chrome>,
    live: RunLive,
}

/// The part of the run page htmx refreshes while the run goes on.
#[derive(Template, WebTemplate)]
#[template(path = "partials/run_live.html")]
struct RunLive {
    summary: RunSummary,
    verdict: String,
    /// Whether a check of the hypothesis did not hold (before, during or after the method).
    not_held: bool,
    running: bool,
    interruption: Option<String>,
    moments: Vec<Moment>,
    widgets: Vec<WidgetView>,
    csrf: String,
}

/// What the run came to, in words.
fn verdict(summary: &RunSummary, journal: &Journal) -> String {
    let during = &journal.steady_states.during;
    let missed_during = during
        .iter()
        .filter(|state| !state.steady_state_met)
        .count();
    match (summary.status, summary.deviated) {
        (RunStatus::Running, _) => "running".to_owned(),
        (RunStatus::Completed, true) => {
            "deviated: the hypothesis did not hold after the method".to_owned()
        }
        (RunStatus::Completed, false) if summary.held_before == Some(false) => {
            "completed: the hypothesis did not hold before the method, so the method was skipped"
                .to_owned()
        }
        (RunStatus::Completed, false) if missed_during > 0 => format!(
            "completed: {missed_during} of {} checks during the method did not hold",
            during.len()
        ),
        (RunStatus::Completed, false) if journal.steady_states.after.is_some() => {
            "completed: the hypothesis held".to_owned()
        }
        (RunStatus::Completed, false) => {
            "completed (the hypothesis was not checked after the method)".to_owned()
        }
        (status, true) => format!("{} (deviated)", status.as_str()),
        (status, false) => status.as_str().to_owned(),
    }
}

async fn live(state: &AppState, session: &Session, run: &str) -> Result<RunLive, WebError> {
    let id = &session.participant.id;
    let (summary, journal) = experiments::run(state, id, run)?;
    // The dashboard's fault chart and the probes' two measures over the run, a few minutes
    // either side.
    let end = summary.ended.unwrap_or_else(|| state.backend.clock().now());
    let (from, to) = (summary.started - 10 * 60_000, end + 60_000);
    let mut widgets =
        crate::ops::dashboard::widgets_between(state, id, &["Injected faults"], from, to).await?;
    widgets.extend(crate::ops::dashboard::probe_measures_between(state, id, from, to).await?);
    let widgets = widgets.into_iter().map(WidgetView::new).collect();
    Ok(RunLive {
        verdict: verdict(&summary, &journal),
        not_held: summary.deviated
            || summary.held_before == Some(false)
            || journal
                .steady_states
                .during
                .iter()
                .any(|state| !state.steady_state_met),
        running: summary.status == RunStatus::Running,
        interruption: journal.interruption.clone(),
        moments: timeline(&journal),
        widgets,
        csrf: session.csrf.clone(),
        summary,
    })
}

/// `GET /experiments/runs/{run}`: a run as a timeline, with the charts of its window.
pub async fn show_run(
    State(state): State<AppState>,
    session: Session,
    Path(run): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let live = live(&state, &session, &run).await?;
    if is_htmx(&headers) {
        return Ok(live.into_response());
    }
    Ok(RunPage {
        chrome: Some(Chrome::new(&session, None)),
        live,
    }
    .into_response())
}

/// `POST /experiments/runs/{run}/halt`: interrupts the run and plays its rollbacks.
pub async fn halt_run(
    State(state): State<AppState>,
    session: Session,
    Path(run): Path<String>,
    Form(form): Form<TokenForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    experiments::halt(&state, &session.participant.id, &run, "halted by hand")?;
    Ok(Redirect::to(&format!("/experiments/runs/{run}")).into_response())
}

/// `GET /experiments/runs/{run}/journal.json`: the run's journal as `chaos run` writes it.
pub async fn download_journal(
    State(state): State<AppState>,
    session: Session,
    Path(run): Path<String>,
) -> Result<Response, WebError> {
    let (_, journal) = experiments::run(&state, &session.participant.id, &run)?;
    Ok(super::json_download(
        &format!("journal-{run}.json"),
        &journal,
    ))
}

/// `GET /experiments/{experiment}/export[?variant=aws]`: the experiment as a file for
/// `chaos run`, against this server or (`aws`) against the stack on AWS.
pub async fn export_experiment(
    State(state): State<AppState>,
    session: Session,
    Path(experiment): Path<String>,
    Query(query): Query<ExportQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let id = &session.participant.id;
    Ok(match query.variant {
        ExportVariant::Chaoslab => {
            let base = state.edge.base_url(&headers);
            let exported = experiments::export(&state, id, &experiment, &base)?;
            super::json_download(&format!("{experiment}.json"), &exported)
        }
        ExportVariant::Aws => {
            let exported = experiments::export_aws(&state, id, &experiment)?;
            super::json_download(&format!("{experiment}-aws.json"), &exported)
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{timeline, verdict};
    use crate::chaos::journal::{ActivityRun, Journal, RunStatus, SteadyState};
    use crate::chaos::store::RunSummary;

    fn run(name: &str, start: &str) -> ActivityRun {
        ActivityRun {
            activity: json!({"type": "probe", "name": name}),
            output: json!({"status": 200}),
            start: start.to_owned(),
            end: start.to_owned(),
            duration: 0.0,
            status: "succeeded".to_owned(),
            exception: None,
            tolerance_met: None,
        }
    }

    #[test]
    fn checks_during_the_method_take_their_place_among_its_activities() {
        let mut journal = Journal::new(json!({}), "2026-11-26T00:00:00Z".to_owned());
        journal.run = vec![
            run("inject", "2026-11-26T00:00:00.500Z"),
            run("later", "2026-11-26T00:02:00Z"),
        ];
        journal.steady_states.during = vec![
            SteadyState {
                steady_state_met: true,
                probes: vec![run("check-1", "2026-11-26T00:00:00Z")],
            },
            SteadyState {
                steady_state_met: false,
                probes: vec![run("check-2", "2026-11-26T00:01:00Z")],
            },
        ];
        let order: Vec<(&str, String)> = timeline(&journal)
            .into_iter()
            .map(|moment| (moment.phase, moment.name))
            .collect();
        assert_eq!(
            order,
            [
                ("Hypothesis during", "check-1".to_owned()),
                ("Method", "inject".to_owned()),
                ("Hypothesis during", "check-2".to_owned()),
                ("Method", "later".to_owned()),
            ]
        );
    }

    #[test]
    fn the_verdict_says_which_check_did_not_hold() {
        let mut journal = Journal::new(json!({}), "2026-11-26T00:00:00Z".to_owned());
        let state = |met| SteadyState {
            steady_state_met: met,
            probes: Vec::new(),
        };
        let mut summary = RunSummary {
            id: "r-1".to_owned(),
            experiment: "x-1".to_owned(),
            title: "t".to_owned(),
            status: RunStatus::Completed,
            deviated: false,
            held_before: Some(true),
            started: 0,
            ended: Some(1),
        };
        journal.steady_states.after = Some(state(true));
        assert_eq!(
            verdict(&summary, &journal),
            "completed: the hypothesis held"
        );
        journal.steady_states.during = vec![state(true), state(false), state(false)];
        assert_eq!(
            verdict(&summary, &journal),
            "completed: 2 of 3 checks during the method did not hold"
        );
        journal.steady_states.during.clear();
        journal.steady_states.after = None;
        assert_eq!(
            verdict(&summary, &journal),
            "completed (the hypothesis was not checked after the method)"
        );
        summary.held_before = Some(false);
        assert!(verdict(&summary, &journal).contains("so the method was skipped"));
        summary.deviated = true;
        assert_eq!(
            verdict(&summary, &journal),
            "deviated: the hypothesis did not hold after the method"
        );
    }
}
