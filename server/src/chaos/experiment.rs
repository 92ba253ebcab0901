//! Checking a Chaos Toolkit experiment as chaoslib 1.45 checks it (`chaos validate`), then as this
//! server must: every activity an HTTP call to this server's own API for the participant's own
//! stack. The result is a [`Plan`] the runner plays.
//!
//! chaoslib's rules kept here: `title`, `description` and `method` are required (`method` may be
//! empty); tags are non-empty strings; an activity is a `probe` or an `action` with a `name` and a
//! provider of type `http`, `process` or `python`, or a `ref` to another activity by name; a
//! timeout is a number; pauses are numbers or a whole `${name}`; `background` is a boolean; a
//! hypothesis has a `title`, and each of its probes a tolerance: a bool, an integer, a list, a
//! string, or an object of type `probe`, `regex`, `jsonpath` or `range`.
//!
//! Differences, each refused with its reason rather than run differently: `process` and `python`
//! providers (the server never runs a process or code for an experiment); an HTTP call anywhere
//! but this server's participant API for the experimenter (`${chaoslab_url}/api/v1/participants/
//! ${participant_id}/…`); JSON paths that RFC 9535 cannot read (chaoslib uses jsonpath2, whose
//! filter syntax is older: `[?(@.Id == "x")]` reads the same in both, `=` for equality does not);
//! regular expressions Rust's `regex` cannot compile (no look-around or back-references).

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::substitute::{Environment, SELF_URL, Values, resolve, substitute};

/// What is wrong with an experiment, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// Where, as a path into the experiment: `method[0].provider.url`.
    pub path: String,
    /// What is wrong, and what would do.
    pub message: String,
}

/// How a run's rollbacks are chosen (`runtime.rollbacks.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RollbackStrategy {
    /// Unless the run failed or was interrupted.
    Default,
    /// Whatever happened.
    Always,
    /// Never.
    Never,
    /// Only when the hypothesis deviated after the method.
    Deviated,
}

/// When the hypothesis is checked (`runtime.hypothesis`, as `chaos run` reads its strategy from
/// the experiment): before the method, during it every `frequency_s`, after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HypothesisSchedule {
    /// Before the method, as a gate: the method runs only if it holds.
    pub before: bool,
    /// Again and again while the method runs.
    pub during: bool,
    /// After the method: a failure there is a deviation.
    pub after: bool,
    /// Pipeline seconds between two checks during the method.
    pub frequency_s: f64,
    /// Whether a check during the method that does not hold ends the run at once (status
    /// `failed`), as `chaos run --fail-fast` does.
    pub fail_fast: bool,
}

/// The pipeline seconds between two checks during the method when the experiment names none:
/// metrics come by the minute, so checking more often reads the same minute again.
pub const DEFAULT_HYPOTHESIS_FREQUENCY_S: f64 = 60.0;

impl Default for HypothesisSchedule {
    fn default() -> Self {
        Self {
            before: true,
            during: false,
            after: true,
            frequency_s: DEFAULT_HYPOTHESIS_FREQUENCY_S,
            fail_fast: false,
        }
    }
}

/// A probe or an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// Reads something.
    Probe,
    /// Changes something.
    Action,
}

/// One activity, ready to run.
#[derive(Debug, Clone)]
pub struct Activity {
    /// Probe or action.
    pub kind: ActivityKind,
    /// Its name.
    pub name: String,
    /// As written in the experiment (the journal repeats it).
    pub definition: Value,
    /// Runs alongside the next ones instead of before them.
    pub background: bool,
}

/// The steady-state hypothesis.
#[derive(Debug, Clone)]
pub struct Hypothesis {
    /// Its title.
    pub title: String,
    /// Its probes, each with a tolerance, in order.
    pub probes: Vec<Activity>,
}

/// What a stop condition reads.
#[derive(Debug, Clone, PartialEq)]
pub enum StopMeasure {
    /// One of the built-in probes: `percent-in-flight`, `percent-in-error` or
    /// `sns-notifications-failed`.
    Probe(String),
    /// A GetMetricData query set; the value is the newest datapoint of the last query that
    /// returns data.
    Queries(Vec<crate::metrics::MetricDataQuery>),
}

/// A stop condition, in the manner of AWS FIS: a measure over the last minutes and a threshold,
/// checked every pipeline minute while the run goes on; a breach halts the run.
#[derive(Debug, Clone, PartialEq)]
pub struct StopCondition {
    /// Its name, for the journal and the page.
    pub name: String,
    /// What it reads.
    pub measure: StopMeasure,
    /// Over how many whole minutes, 1 to 180.
    pub minutes: u32,
    /// Breached when the value is above this.
    pub above: Option<f64>,
    /// Breached when the value is below this.
    pub below: Option<f64>,
}

impl StopCondition {
    /// Whether `value` breaches the condition.
    pub fn breached_by(&self, value: f64) -> bool {
        self.above.is_some_and(|above| value > above)
            || self.below.is_some_and(|below| value < below)
    }
}

/// The built-in probes a stop condition may read.
pub const STOP_PROBES: [&str; 3] = [
    "percent-in-flight",
    "percent-in-error",
    "sns-notifications-failed",
];

/// A checked experiment: what a run plays.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The experiment as given.
    pub experiment: Value,
    /// Its title.
    pub title: String,
    /// Configuration and secrets, resolved.
    pub values: Values,
    /// The hypothesis, if any.
    pub hypothesis: Option<Hypothesis>,
    /// The method, references resolved.
    pub method: Vec<Activity>,
    /// The rollbacks.
    pub rollbacks: Vec<Activity>,
    /// When to play the rollbacks.
    pub rollback_strategy: RollbackStrategy,
    /// When to check the hypothesis.
    pub hypothesis_schedule: HypothesisSchedule,
    /// Stop conditions (the `chaoslab` extension's `stop_conditions`).
    pub stop_conditions: Vec<StopCondition>,
}

/// The parts of the participant API an experiment may call: the stack, its function, faults,
/// traffic, measures and SLO. Not the participant itself, and not experiments or runs.
const ALLOWED: [&str; 9] = [
    "function",
    "fault-injection",
    "traffic",
    "slo",
    "metrics",
    "probes",
    "accounting",
    "dashboard",
    "dead-letters",
];

/// The prefix every activity URL must have once substituted.
pub fn api_prefix(participant: &str) -> String {
    format!("{SELF_URL}/api/v1/participants/{participant}/")
}

struct Checker<'a> {
    problems: Vec<Problem>,
    values: Values,
    participant: &'a str,
}

impl Checker<'_> {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// Checks an activity as chaoslib does, then as the server must. References are checked by
    /// the caller.
    fn activity(&mut self, path: &str, activity: &Value) -> Option<Activity> {
        let Some(object) = activity.as_object().filter(|object| !object.is_empty()) else {
            self.problem(path, "an activity must be a non-empty object");
            return None;
        };
        let kind = match object.get("type").and_then(Value::as_str) {
            Some("probe") => ActivityKind::Probe,
            Some("action") => ActivityKind::Action,
            Some(other) => {
                self.problem(
                    &format!("{path}.type"),
                    format!("'{other}' is not a supported activity type: probe or action"),
                );
                return None;
            }
            None => {
                self.problem(
                    &format!("{path}.type"),
                    "an activity must have a type: probe or action",
                );
                return None;
            }
        };
        let name = match object.get("name").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => {
                self.problem(&format!("{path}.name"), "an activity must have a name");
                return None;
            }
        };
        if let Some(timeout) = object.get("timeout")
            && !timeout.is_number()
        {
            self.problem(
                &format!("{path}.timeout"),
                "activity timeout must be a number",
            );
        }
        if let Some(pauses) = object.get("pauses") {
            for moment in ["before", "after"] {
                match pauses.get(moment) {
                    None | Some(Value::Number(_)) => {}
                    Some(Value::String(text)) if text.starts_with("${") && text.ends_with('}') => {
                        if !substitute(&Value::String(text.clone()), &self.values).is_number() {
                            self.problem(
                                &format!("{path}.pauses.{moment}"),
                                format!("{text} must name a number in the configuration"),
                            );
                        }
                    }
                    Some(_) => self.problem(
                        &format!("{path}.pauses.{moment}"),
                        format!("activity {moment} pause must be a number or a pattern to a variable from the configuration or secrets"),
                    ),
                }
            }
        }
        let background = match object.get("background") {
            None => false,
            Some(Value::Bool(background)) => *background,
            Some(_) => {
                self.problem(
                    &format!("{path}.background"),
                    "activity background must be a boolean",
                );
                false
            }
        };
        self.provider(&format!("{path}.provider"), &name, object.get("provider"));
        Some(Activity {
            kind,
            name,
            definition: activity.clone(),
            background,
        })
    }

    fn provider(&mut self, path: &str, name: &str, provider: Option<&Value>) {
        let Some(provider) = provider
            .and_then(Value::as_object)
            .filter(|p| !p.is_empty())
        else {
            self.problem(path, "an activity requires a provider");
            return;
        };
        match provider.get("type").and_then(Value::as_str) {
            Some("http") => {}
            Some(kind @ ("process" | "python")) => {
                self.problem(
                    &format!("{path}.type"),
                    format!("activity {name:?} uses a {kind} provider: here an experiment may only make HTTP calls to this server's API for your own stack (the server never runs a process or code for an experiment)"),
                );
                return;
            }
            Some(other) => {
                self.problem(
                    &format!("{path}.type"),
                    format!("unknown provider type '{other}'"),
                );
                return;
            }
            None => {
                self.problem(&format!("{path}.type"), "a provider must have a type");
                return;
            }
        }
        let Some(url) = provider
            .get("url")
            .filter(|url| url.as_str().is_some_and(|url| !url.is_empty()))
        else {
            self.problem(&format!("{path}.url"), "a HTTP activity must have a URL");
            return;
        };
        if let Some(headers) = provider.get("headers")
            && !headers.is_object()
        {
            self.problem(
                &format!("{path}.headers"),
                "a HTTP activities expect headers as a mapping",
            );
        }
        let url = substitute(url, &self.values);
        let url = url.as_str().unwrap_or_default();
        let prefix = api_prefix(self.participant);
        let allowed = url.strip_prefix(&prefix).is_some_and(|rest| {
            let first = rest.split(['/', '?']).next().unwrap_or_default();
            ALLOWED.contains(&first) && !rest.contains("..")
        });
        if !allowed {
            self.problem(
                &format!("{path}.url"),
                format!(
                    "activity {name:?} calls {url:?}: here an activity may only call this server's API for your own stack, as ${{chaoslab_url}}/api/v1/participants/${{participant_id}}/<{}> (with chaoslab_url and participant_id read from CHAOSLAB_URL and CHAOSLAB_PARTICIPANT_ID)",
                    ALLOWED.join("|")
                ),
            );
        }
        if let Some(method) = provider.get("method")
            && !method.as_str().is_some_and(|method| {
                matches!(
                    method.to_ascii_uppercase().as_str(),
                    "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
                )
            })
        {
            self.problem(
                &format!("{path}.method"),
                "method must be GET, POST, PUT, PATCH or DELETE",
            );
        }
    }

    fn tolerance(&mut self, path: &str, tolerance: &Value) {
        match tolerance {
            Value::Bool(_) | Value::String(_) | Value::Array(_) => {}
            Value::Number(number) if number.is_i64() || number.is_u64() => {}
            Value::Object(object) => match object.get("type").and_then(Value::as_str) {
                Some("probe") => {
                    self.activity(path, tolerance);
                }
                Some("regex") => match object.get("pattern") {
                    Some(Value::String(pattern)) => {
                        let pattern = substitute(&Value::String(pattern.clone()), &self.values);
                        if let Err(error) = regex::Regex::new(pattern.as_str().unwrap_or_default()) {
                            self.problem(&format!("{path}.pattern"), format!("hypothesis probe tolerance pattern seems invalid: {error}"));
                        }
                    }
                    Some(_) => self.problem(&format!("{path}.pattern"), "hypothesis probe tolerance pattern has an invalid type"),
                    None => self.problem(path, "hypothesis regex probe tolerance must have a `pattern` key"),
                },
                Some("jsonpath") => match object.get("path").and_then(Value::as_str).map(str::trim) {
                    Some("") => self.problem(&format!("{path}.path"), "hypothesis probe tolerance JSON path cannot be empty"),
                    Some(text) => {
                        let text = substitute(&Value::String(text.to_owned()), &self.values);
                        if let Err(error) = serde_json_path::JsonPath::parse(text.as_str().unwrap_or_default()) {
                            self.problem(&format!("{path}.path"), format!("hypothesis probe tolerance JSON path is invalid here (read as RFC 9535): {error}"));
                        }
                    }
                    None => self.problem(path, "hypothesis jsonpath probe tolerance must have a `path` key"),
                },
                Some("range") => match object.get("range") {
                    Some(Value::Array(bounds)) if bounds.len() == 2 => {
                        for (index, bound) in bounds.iter().enumerate() {
                            if !bound.is_number() {
                                let which = if index == 0 { "lower" } else { "upper" };
                                self.problem(&format!("{path}.range[{index}]"), format!("hypothesis range {which} boundary must be a number"));
                            }
                        }
                    }
                    Some(Value::Array(_)) => self.problem(&format!("{path}.range"), "hypothesis range sequence must be made of two values"),
                    Some(_) => self.problem(&format!("{path}.range"), "hypothesis range must be a sequence"),
                    None => self.problem(path, "hypothesis range probe tolerance must have a `range` key"),
                },
                other => self.problem(
                    &format!("{path}.type"),
                    format!("hypothesis probe tolerance type '{}' is unsupported", other.unwrap_or_default()),
                ),
            },
            _ => self.problem(path, "hypothesis probe tolerance must either be an integer, a string, a boolean or a pair of values for boundaries, or an object of type probe, regex, jsonpath or range"),
        }
    }
}

/// Checks `experiment` for `participant`. Every problem is reported, not only the first.
pub fn check(
    experiment: &Value,
    participant: &str,
    environment: &Environment,
) -> Result<Plan, Vec<Problem>> {
    let Some(object) = experiment.as_object().filter(|object| !object.is_empty()) else {
        return Err(vec![Problem {
            path: "$".to_owned(),
            message: "an empty experiment is not an experiment".to_owned(),
        }]);
    };
    let values = match resolve(experiment, environment) {
        Ok(values) => values,
        Err(message) => {
            return Err(vec![Problem {
                path: "configuration".to_owned(),
                message,
            }]);
        }
    };
    let mut checker = Checker {
        problems: Vec::new(),
        values,
        participant,
    };
    let text = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
    };
    let title = text("title");
    if title.is_none() {
        checker.problem("title", "experiment requires a title");
    }
    if text("description").is_none() {
        checker.problem("description", "experiment requires a description");
    }
    if let Some(tags) = object.get("tags") {
        let fine = tags.as_array().is_some_and(|tags| {
            tags.iter()
                .all(|tag| tag.as_str().is_some_and(|tag| !tag.is_empty()))
        });
        if !fine {
            checker.problem("tags", "experiment tags must be a non-empty string");
        }
    }

    let hypothesis = object
        .get("steady-state-hypothesis")
        .and_then(|hypothesis| {
            let title = hypothesis
                .get("title")
                .and_then(Value::as_str)
                .filter(|title| !title.is_empty());
            if title.is_none() {
                checker.problem(
                    "steady-state-hypothesis.title",
                    "hypothesis requires a title",
                );
            }
            let mut probes = Vec::new();
            if let Some(list) = hypothesis.get("probes") {
                let Some(list) = list.as_array() else {
                    checker.problem("steady-state-hypothesis.probes", "probes must be a list");
                    return None;
                };
                for (index, probe) in list.iter().enumerate() {
                    let path = format!("steady-state-hypothesis.probes[{index}]");
                    if let Some(activity) = checker.activity(&path, probe) {
                        match probe.get("tolerance") {
                            Some(tolerance) => {
                                checker.tolerance(&format!("{path}.tolerance"), tolerance)
                            }
                            None => checker
                                .problem(&path, "hypothesis probe must have a tolerance entry"),
                        }
                        probes.push(activity);
                    }
                }
            }
            Some(Hypothesis {
                title: title.unwrap_or_default().to_owned(),
                probes,
            })
        });

    let mut method = Vec::new();
    match object.get("method") {
        None => checker.problem(
            "method",
            "an experiment requires a method, which can be empty for only checking steady state hypothesis",
        ),
        Some(Value::Array(list)) => {
            for (index, activity) in list.iter().enumerate() {
                let path = format!("method[{index}]");
                if let Some(reference) = activity.get("ref") {
                    match reference.as_str().filter(|name| !name.is_empty()) {
                        Some(name) => match lookup(experiment, name) {
                            Some(found) => {
                                if let Some(activity) = checker.activity(&path, &found) {
                                    method.push(activity);
                                }
                            }
                            None => checker.problem(&path, format!("referenced activity '{name}' could not be found in the experiment")),
                        },
                        None => checker.problem(&path, "reference to activity must be non-empty strings"),
                    }
                } else if let Some(activity) = checker.activity(&path, activity) {
                    method.push(activity);
                }
            }
        }
        Some(_) => checker.problem("method", "the method must be a list of activities"),
    }

    let mut rollbacks = Vec::new();
    match object.get("rollbacks") {
        None => {}
        Some(Value::Array(list)) => {
            for (index, activity) in list.iter().enumerate() {
                if let Some(activity) = checker.activity(&format!("rollbacks[{index}]"), activity) {
                    rollbacks.push(activity);
                }
            }
        }
        Some(_) => checker.problem("rollbacks", "rollbacks must be a list of activities"),
    }

    let rollback_strategy = match experiment.pointer("/runtime/rollbacks/strategy") {
        None => RollbackStrategy::Default,
        Some(Value::String(strategy)) => {
            match strategy.as_str() {
                "default" => RollbackStrategy::Default,
                "always" => RollbackStrategy::Always,
                "never" => RollbackStrategy::Never,
                "deviated" => RollbackStrategy::Deviated,
                other => {
                    checker.problem("runtime.rollbacks.strategy", format!("unknown rollback strategy {other:?}: default, always, never or deviated"));
                    RollbackStrategy::Default
                }
            }
        }
        Some(_) => {
            checker.problem(
                "runtime.rollbacks.strategy",
                "the rollback strategy must be a string",
            );
            RollbackStrategy::Default
        }
    };

    let hypothesis_schedule = hypothesis_schedule(&mut checker, experiment);
    let stop_conditions = stop_conditions(&mut checker, object);

    if !checker.problems.is_empty() {
        return Err(checker.problems);
    }
    Ok(Plan {
        stop_conditions,
        experiment: experiment.clone(),
        title: title.unwrap_or_default().to_owned(),
        values: checker.values,
        hypothesis,
        method,
        rollbacks,
        rollback_strategy,
        hypothesis_schedule,
    })
}

/// `runtime.hypothesis`: `strategy` as `chaos run --hypothesis-strategy` names them (`default`,
/// `before-method-only`, `after-method-only`, `during-method-only`, `continuously` and its old
/// spelling `continously`, `skip`), and this server's `frequency` (pipeline seconds between two
/// checks during the method, 1 to 3,600, default 60) and `fail_fast`, which `chaos run` takes on
/// its command line (`--hypothesis-frequency`, `--fail-fast`).
fn hypothesis_schedule(checker: &mut Checker<'_>, experiment: &Value) -> HypothesisSchedule {
    let mut schedule = HypothesisSchedule::default();
    let Some(runtime) = experiment.pointer("/runtime/hypothesis") else {
        return schedule;
    };
    if !runtime.is_object() {
        checker.problem("runtime.hypothesis", "runtime.hypothesis must be an object");
        return schedule;
    }
    match runtime.get("strategy") {
        None => {}
        Some(Value::String(strategy)) => {
            let (before, during, after) = match strategy.as_str() {
                "default" => (true, false, true),
                "before-method-only" => (true, false, false),
                "after-method-only" => (false, false, true),
                "during-method-only" => (false, true, false),
                "continuously" | "continously" => (true, true, true),
                "skip" => (false, false, false),
                other => {
                    checker.problem(
                        "runtime.hypothesis.strategy",
                        format!("unknown hypothesis strategy {other:?}: default, before-method-only, after-method-only, during-method-only, continuously or skip"),
                    );
                    (true, false, true)
                }
            };
            schedule.before = before;
            schedule.during = during;
            schedule.after = after;
        }
        Some(_) => checker.problem(
            "runtime.hypothesis.strategy",
            "the hypothesis strategy must be a string",
        ),
    }
    match runtime.get("frequency") {
        None => {}
        Some(frequency) => match frequency.as_f64() {
            Some(seconds) if (1.0..=3_600.0).contains(&seconds) => schedule.frequency_s = seconds,
            _ => checker.problem(
                "runtime.hypothesis.frequency",
                format!("the hypothesis frequency must be a number of pipeline seconds from 1 to 3600, got {frequency}"),
            ),
        },
    }
    match runtime.get("fail_fast") {
        None => {}
        Some(Value::Bool(fail_fast)) => schedule.fail_fast = *fail_fast,
        Some(other) => checker.problem(
            "runtime.hypothesis.fail_fast",
            format!("fail_fast must be true or false, got {other}"),
        ),
    }
    schedule
}

/// The stop conditions of the experiment's `chaoslab` extension:
/// `{"name": "chaoslab", "stop_conditions": [{"name", "probe" | "metric_data_queries",
/// "minutes", "above" | "below"}]}`. Chaos Toolkit keeps extensions as they are, so the
/// experiment stays one `chaos run` accepts (where they are not checked).
fn stop_conditions(
    checker: &mut Checker<'_>,
    experiment: &Map<String, Value>,
) -> Vec<StopCondition> {
    let mut conditions = Vec::new();
    let Some(extensions) = experiment.get("extensions") else {
        return conditions;
    };
    let Some(extensions) = extensions.as_array() else {
        checker.problem("extensions", "extensions must be a list");
        return conditions;
    };
    for (index, extension) in extensions.iter().enumerate() {
        let path = format!("extensions[{index}]");
        match extension.get("name").and_then(Value::as_str) {
            None => checker.problem(&path, "an extension must have a name"),
            Some("chaoslab") => {}
            Some(_) => continue,
        }
        let Some(list) = extension.get("stop_conditions") else {
            continue;
        };
        let Some(list) = list.as_array() else {
            checker.problem(
                &format!("{path}.stop_conditions"),
                "stop_conditions must be a list",
            );
            continue;
        };
        for (number, condition) in list.iter().enumerate() {
            let path = format!("{path}.stop_conditions[{number}]");
            let Some(name) = condition
                .get("name")
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())
            else {
                checker.problem(&format!("{path}.name"), "a stop condition needs a name");
                continue;
            };
            let measure = match (condition.get("probe"), condition.get("metric_data_queries")) {
                (Some(Value::String(probe)), None) if STOP_PROBES.contains(&probe.as_str()) => {
                    StopMeasure::Probe(probe.clone())
                }
                (Some(probe), None) => {
                    checker.problem(
                        &format!("{path}.probe"),
                        format!(
                            "{probe} is not a built-in probe: {}",
                            STOP_PROBES.join(", ")
                        ),
                    );
                    continue;
                }
                (None, Some(queries)) => {
                    match serde_json::from_value::<Vec<crate::metrics::MetricDataQuery>>(
                        queries.clone(),
                    ) {
                        Ok(queries) if !queries.is_empty() => StopMeasure::Queries(queries),
                        Ok(_) => {
                            checker.problem(
                                &format!("{path}.metric_data_queries"),
                                "give at least one query",
                            );
                            continue;
                        }
                        Err(error) => {
                            checker.problem(
                                &format!("{path}.metric_data_queries"),
                                format!("not GetMetricData queries: {error}"),
                            );
                            continue;
                        }
                    }
                }
                _ => {
                    checker.problem(
                        &path,
                        "a stop condition reads exactly one of `probe` and `metric_data_queries`",
                    );
                    continue;
                }
            };
            let minutes = match condition.get("minutes") {
                None => 5,
                Some(minutes) => match minutes
                    .as_u64()
                    .filter(|minutes| (1..=180).contains(minutes))
                {
                    Some(minutes) => minutes as u32,
                    None => {
                        checker.problem(
                            &format!("{path}.minutes"),
                            "minutes must be a whole number from 1 to 180",
                        );
                        continue;
                    }
                },
            };
            let bound = |key: &str, checker: &mut Checker<'_>| match condition.get(key) {
                None => Ok(None),
                Some(value) => value.as_f64().map(Some).ok_or_else(|| {
                    checker.problem(&format!("{path}.{key}"), format!("{key} must be a number"));
                }),
            };
            let (Ok(above), Ok(below)) = (bound("above", checker), bound("below", checker)) else {
                continue;
            };
            if above.is_none() && below.is_none() {
                checker.problem(
                    &path,
                    "a stop condition needs a threshold: `above` or `below`",
                );
                continue;
            }
            conditions.push(StopCondition {
                name: name.to_owned(),
                measure,
                minutes,
                above,
                below,
            });
        }
    }
    conditions
}

/// The activity named `name` in the hypothesis, the method or the rollbacks (chaoslib's
/// `lookup_activity`).
fn lookup(experiment: &Value, name: &str) -> Option<Value> {
    let lists = [
        experiment.pointer("/steady-state-hypothesis/probes"),
        experiment.get("method"),
        experiment.get("rollbacks"),
    ];
    lists
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .find(|activity| {
            activity.get("name").and_then(Value::as_str) == Some(name)
                && activity.get("ref").is_none()
        })
        .cloned()
}

/// An object's member, for the runner.
pub fn member<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    object
        .as_object()
        .and_then(|object: &Map<String, Value>| object.get(key))
}
