//! The instructor's game day: one experiment run on every participant (or the ones chosen) at
//! once, followed in one table, halted all at once, and every journal downloaded as one file.
//!
//! Each participant gets their own copy of the experiment, checked for them (its
//! `${participant_id}` is theirs), and their own run, as if they had started it; one who cannot
//! run it (a run of theirs going on, no stack) is skipped with the reason.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::chaos::journal::{ActivityRun, Journal, RunStatus};
use crate::chaos::registry::GameDay;
use crate::ops::{Actor, OpError};
use crate::state::{App, AppState};

/// One participant's line of the game day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GameDayRow {
    /// The participant.
    pub participant: String,
    /// Their name.
    pub name: String,
    /// Their run.
    pub run: String,
    /// The run's status.
    pub status: RunStatus,
    /// `running`, `held`, `deviated`, `interrupted`, `failed` or `aborted`.
    pub verdict: String,
    /// The first probe out of tolerance, if any.
    pub failing_probe: Option<String>,
    /// The latest hypothesis check's probes, `name = value`.
    pub values: Vec<String>,
    /// Why the run was interrupted, if it was.
    pub interruption: Option<String>,
}

/// The game day as the instructor follows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GameDayView {
    /// The experiment's title.
    pub title: String,
    /// When it started (pipeline time, RFC 3339).
    pub started: String,
    /// One line per participant it started on.
    pub rows: Vec<GameDayRow>,
    /// Participants it could not start on, and why.
    pub skipped: Vec<Skipped>,
}

/// A participant a game day skipped.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Skipped {
    /// The participant.
    pub participant: String,
    /// Why.
    pub reason: String,
}

/// One journal of the download.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GameDayJournal {
    /// The participant.
    pub participant: String,
    /// Their name.
    pub name: String,
    /// Their run.
    pub run: String,
    /// The run's journal (chaoslib's keys).
    pub journal: Journal,
}

/// Starts `experiment` for `participants` (everyone with a stack when None).
pub fn start(
    state: &AppState,
    experiment: &Value,
    participants: Option<Vec<String>>,
) -> Result<GameDayView, OpError> {
    let everyone = state.participants.list()?;
    let targets: Vec<_> = match &participants {
        None => everyone
            .iter()
            .map(|participant| participant.id.clone())
            .collect(),
        Some(ids) => ids.clone(),
    };
    if targets.is_empty() {
        return Err(OpError::invalid(
            "invalid_game_day",
            "nobody to run the experiment on",
        ));
    }
    let title = experiment
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    let mut first_problem = None;
    for id in targets {
        let outcome = super::experiments::create(state, &id, experiment)
            .and_then(|saved| super::experiments::start(state, &id, &saved.id, Actor::Instructor));
        match outcome {
            Ok(run) => runs.push((id, run.id)),
            Err(OpError::Invalid { message, .. }) if first_problem.is_none() && runs.is_empty() => {
                first_problem = Some(message.clone());
                skipped.push((id, message));
            }
            Err(error) => skipped.push((id, error.public_message())),
        }
    }
    if runs.is_empty() {
        // Nothing started: the experiment itself is wrong, or nobody could run it.
        return Err(match first_problem {
            Some(message) => OpError::invalid("invalid_experiment", message),
            None => OpError::Conflict {
                code: "nobody_could_run",
                message: format!(
                    "no participant could run the experiment: {}",
                    skipped
                        .iter()
                        .map(|(id, reason)| format!("{id}: {reason}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            },
        });
    }
    state.experiments.set_game_day(GameDay {
        title,
        started: state.backend.clock().now(),
        runs,
        skipped,
    })?;
    view(state)?.ok_or_else(|| OpError::Internal("the game day vanished".to_owned()))
}

fn value_of(run: &ActivityRun) -> String {
    let name = run
        .activity
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("probe");
    let value = match run.output.get("body") {
        Some(Value::String(text)) => text.chars().take(40).collect(),
        Some(Value::Object(body)) if body.contains_key("value") => body["value"].to_string(),
        Some(_) => format!(
            "HTTP {}",
            run.output.get("status").cloned().unwrap_or(Value::Null)
        ),
        None => "not run".to_owned(),
    };
    format!("{name} = {value}")
}

/// Every participant's name, by id.
fn names(app: &App) -> Result<std::collections::HashMap<String, String>, OpError> {
    Ok(app
        .participants
        .list()?
        .into_iter()
        .map(|participant| (participant.id, participant.name))
        .collect())
}

/// The latest game day, each run as it stands.
pub fn view(app: &App) -> Result<Option<GameDayView>, OpError> {
    let Some(game_day) = app.experiments.game_day() else {
        return Ok(None);
    };
    let names = names(app)?;
    let mut rows = Vec::new();
    for (participant, run) in &game_day.runs {
        let Some((summary, journal)) = app.experiments.store().run(participant, run)? else {
            continue;
        };
        let latest = journal
            .steady_states
            .after
            .as_ref()
            .or(journal.steady_states.before.as_ref());
        let failing_probe = latest.and_then(|state| {
            state
                .probes
                .iter()
                .find(|probe| probe.tolerance_met == Some(false))
                .and_then(|probe| probe.activity.get("name").and_then(Value::as_str))
                .map(str::to_owned)
        });
        let verdict = match (summary.status, summary.deviated) {
            (RunStatus::Running, _) => "running",
            (_, true) => "deviated",
            (RunStatus::Completed, false) if failing_probe.is_some() => "did not hold before",
            (RunStatus::Completed, false) => "held",
            (status, false) => status.as_str(),
        };
        rows.push(GameDayRow {
            name: names
                .get(participant)
                .cloned()
                .unwrap_or_else(|| participant.clone()),
            participant: participant.clone(),
            run: run.clone(),
            status: summary.status,
            verdict: verdict.to_owned(),
            failing_probe,
            values: latest
                .map(|state| state.probes.iter().map(value_of).collect())
                .unwrap_or_default(),
            interruption: journal.interruption.clone(),
        });
    }
    Ok(Some(GameDayView {
        title: game_day.title,
        started: crate::metrics::rfc3339::format(game_day.started),
        rows,
        skipped: game_day
            .skipped
            .into_iter()
            .map(|(participant, reason)| Skipped {
                participant,
                reason,
            })
            .collect(),
    }))
}

/// Halts every run of the game day still going on; answers how many.
pub fn halt_all(app: &App) -> Result<usize, OpError> {
    let Some(game_day) = app.experiments.game_day() else {
        return Ok(0);
    };
    let mut halted = 0;
    for (participant, run) in &game_day.runs {
        if app.experiments.active_run(participant).as_deref() == Some(run.as_str()) {
            app.experiments.halt(
                participant,
                run,
                "halted by the instructor (game day: Halt all)",
            );
            halted += 1;
        }
    }
    Ok(halted)
}

/// Every journal of the game day, as they stand.
pub fn journals(app: &App) -> Result<Vec<GameDayJournal>, OpError> {
    let Some(game_day) = app.experiments.game_day() else {
        return Ok(Vec::new());
    };
    let names = names(app)?;
    let mut journals = Vec::new();
    for (participant, run) in &game_day.runs {
        if let Some((_, journal)) = app.experiments.store().run(participant, run)? {
            journals.push(GameDayJournal {
                name: names
                    .get(participant)
                    .cloned()
                    .unwrap_or_else(|| participant.clone()),
                participant: participant.clone(),
                run: run.clone(),
                journal,
            });
        }
    }
    Ok(journals)
}
