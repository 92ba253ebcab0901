//! The journal of a run, with chaoslib's keys and meanings (`chaos run`'s `journal.json`), so a
//! journal written here reads like one Chaos Toolkit wrote: `chaoslib-version`, `platform`, `node`,
//! `experiment`, `start`, `end`, `duration`, `status`, `deviated`, `steady_states` (`before`,
//! `after`, `during`), `run` and `rollbacks`, each activity's run with its `status`, `output`,
//! `start`, `end`, `duration` and, in a hypothesis, `tolerance_met`.
//!
//! Times are ISO 8601 in pipeline time, durations in pipeline seconds: a pause of 360 s lasts six
//! pipeline minutes at any `--time-scale`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The chaoslib version whose semantics the runner follows.
pub const CHAOSLIB_VERSION: &str = "1.45.0";

/// How a run ended (chaoslib's statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still running (not a chaoslib status: a journal read while the run goes on).
    Running,
    /// Played to the end (the hypothesis may still have deviated: see `deviated`).
    Completed,
    /// A hypothesis probe could not run.
    Failed,
    /// The method ran into an error the runner could not go past.
    Aborted,
    /// Halted by hand, by a stop condition, or by a restart of the server.
    Interrupted,
}

impl RunStatus {
    /// As the API and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
            Self::Interrupted => "interrupted",
        }
    }

    /// From its spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "aborted" => Self::Aborted,
            "interrupted" => Self::Interrupted,
            _ => return None,
        })
    }
}

/// One activity's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivityRun {
    /// The activity as the experiment defines it.
    #[schema(value_type = Object)]
    pub activity: Value,
    /// What it returned: for an HTTP call `{"status", "headers", "body"}`.
    #[schema(value_type = Object)]
    pub output: Value,
    /// When it started (ISO 8601, pipeline time).
    pub start: String,
    /// When it ended.
    pub end: String,
    /// How long it took, in pipeline seconds.
    pub duration: f64,
    /// `succeeded`, or `failed` when the call could not be made.
    pub status: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<Vec<String>>,
    /// In a hypothesis: whether the output was within the tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_met: Option<bool>,
}

/// A steady-state hypothesis check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SteadyState {
    /// Whether every probe was within its tolerance (the check stops at the first that is not).
    pub steady_state_met: bool,
    /// The probes run, in order.
    pub probes: Vec<ActivityRun>,
}

/// The hypothesis checks of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SteadyStates {
    /// Before the method.
    pub before: Option<SteadyState>,
    /// After the method.
    pub after: Option<SteadyState>,
    /// During the method, one entry per check, when `runtime.hypothesis.strategy` is
    /// `continuously` or `during-method-only`.
    pub during: Vec<SteadyState>,
}

/// A run's journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Journal {
    /// The chaoslib version whose semantics were followed, as semver.
    #[serde(rename = "chaoslib-version")]
    pub chaoslib_version: String,
    /// What ran it.
    pub platform: String,
    /// Where it ran.
    pub node: String,
    /// The experiment as given.
    #[schema(value_type = Object)]
    pub experiment: Value,
    /// When the run started (ISO 8601, pipeline time).
    pub start: String,
    /// When it ended.
    pub end: Option<String>,
    /// How long it took, in pipeline seconds.
    pub duration: Option<f64>,
    /// How it ended (`running` until then).
    pub status: RunStatus,
    /// Whether the hypothesis failed after the method.
    pub deviated: bool,
    /// The hypothesis checks.
    pub steady_states: SteadyStates,
    /// The method's activities, in the order they started.
    pub run: Vec<ActivityRun>,
    /// The rollbacks played.
    pub rollbacks: Vec<ActivityRun>,
    /// Why the run was interrupted, when it was (not a chaoslib key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interruption: Option<String>,
}

impl Journal {
    /// A new journal for `experiment`, started at `start`.
    pub fn new(experiment: Value, start: String) -> Self {
        Self {
            chaoslib_version: CHAOSLIB_VERSION.to_owned(),
            platform: format!(
                "chaoslab {} embedded runner ({} semantics)",
                env!("CARGO_PKG_VERSION"),
                CHAOSLIB_VERSION
            ),
            node: "chaoslab".to_owned(),
            experiment,
            start,
            end: None,
            duration: None,
            status: RunStatus::Running,
            deviated: false,
            steady_states: SteadyStates::default(),
            run: Vec::new(),
            rollbacks: Vec::new(),
            interruption: None,
        }
    }
}
