//! Import of the original lab's Chaos Toolkit experiments (jpbarto/serverless-chaos-lab,
//! `chaos/experiment_1.json` and its kin), mapped onto this server's own API for one participant.
//!
//! The original activities run the AWS CLI and chaostoolkit-aws against a stack named by
//! environment variables (`S3_BUCKET_NAME`, `SNS_TOPIC_NAME`, `LAMBDA_FUNCTION_NAME`). Each becomes
//! an `http` activity on `${chaoslab_url}/api/v1/participants/${participant_id}/…`:
//!
//! | original | becomes |
//! |---|---|
//! | `process` `aws ssm put-parameter … --value '<document>'` | `PUT …/fault-injection` with the document |
//! | `process` `aws cloudwatch get-metric-data --metric-data-queries …` computing percent in flight or in error | `GET …/probes/percent-in-flight` or `…/percent-in-error` |
//! | `python` `chaosaws.cloudwatch.probes.get_metric_statistics` on SNS `NumberOfNotificationsFailed` | `GET …/probes/sns-notifications-failed` |
//!
//! Anything else is refused, naming the activity and saying why; the caller stores nothing
//! unless every activity was mapped.
//!
//! **Tolerances keep their meaning.** chaoslib (`chaoslib/hypothesis.py`, `within_tolerance`)
//! compares a bare int or a list tolerance with an HTTP or process result's `status`, not with
//! its body. So a tolerance on the metric's value becomes either
//! - `{"type": "jsonpath", "target": "body", "path": "$.value", "expect": n}` on the JSON answer
//!   (chaoslib takes `value.get(target)`, parses a string body as JSON, and compares the list of
//!   matches with `[expect]`), or
//! - `{"type": "range", "range": [a, b], "target": "body"}` on the `text/plain` answer (chaoslib
//!   takes `value.get(target)` and converts it with `Decimal`; a JSON object there would raise,
//!   so the probe asks for `Accept: text/plain` and gets the bare number).
//!
//! A process probe's int tolerance meant its exit status (`0`: the command succeeded), so it
//! becomes the HTTP status `200`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::backend::FaultParameter;

/// The base of every converted activity's URL, from the experiment's configuration.
const BASE: &str = "${chaoslab_url}/api/v1/participants/${participant_id}";
/// The header carrying the participant's token, from the experiment's secrets.
const AUTHORIZATION: &str = "Bearer ${chaoslab_token}";
/// Seconds a converted HTTP activity waits for the server.
const TIMEOUT_S: u64 = 10;
/// The longest window a probe reads, in minutes (the probes' own limit).
const MAX_MINUTES: u64 = 180;

/// An activity (or configuration entry) that was mapped, and to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Mapped {
    /// The activity's name (or `configuration.<key>`).
    pub activity: String,
    /// What it did in the original.
    pub from: String,
    /// What it does now.
    pub to: String,
}

/// An activity that could not be mapped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Refused {
    /// The activity's name (or the part of the experiment refused, e.g. `controls`).
    pub activity: String,
    /// Why, and what would be accepted.
    pub reason: String,
}

/// The converted experiment and the account of what was mapped and refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    /// The converted experiment (complete only when nothing was refused).
    pub experiment: Value,
    /// What was mapped, in the experiment's order.
    pub mapped: Vec<Mapped>,
    /// What was refused; empty when the import succeeded.
    pub refused: Vec<Refused>,
}

/// The experiment is not one chaoslib would load: the field named is missing or of the wrong
/// type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("experiment.{field}: {message}")]
pub struct NotAnExperiment {
    /// The field, as a path inside the experiment (`title`, `method[2].provider`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn not_an_experiment(field: &str, message: &str) -> NotAnExperiment {
    NotAnExperiment {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// Converts `original` for the participant `participant_id`. `files` holds the contents of
/// files the original reads with `file://` (the `--metric-data-queries` of
/// `aws cloudwatch get-metric-data`), by name.
pub fn import_experiment(
    original: &Value,
    participant_id: &str,
    files: &BTreeMap<String, Value>,
) -> Result<Imported, NotAnExperiment> {
    let Some(original) = original.as_object() else {
        return Err(not_an_experiment("", "must be a JSON object"));
    };
    for field in ["title", "description"] {
        if !original.get(field).is_some_and(Value::is_string) {
            return Err(not_an_experiment(field, "is required, as a string"));
        }
    }
    if !original.get("method").is_some_and(Value::is_array) {
        return Err(not_an_experiment(
            "method",
            "is required, as a list of activities",
        ));
    }
    let mut importer = Importer {
        files,
        mapped: Vec::new(),
        refused: Vec::new(),
    };
    let mut experiment = Map::new();
    for key in [
        "version",
        "title",
        "description",
        "tags",
        "contributions",
        "runtime",
    ] {
        if let Some(value) = original.get(key) {
            experiment.insert(key.to_owned(), value.clone());
        }
    }
    for key in ["controls", "extensions"] {
        if original.contains_key(key) {
            importer.refuse(
                key,
                "chaoslab runs no controls or extensions: remove them and import again",
            );
        }
    }
    if let Some(hypothesis) = original.get("steady-state-hypothesis") {
        let Some(hypothesis) = hypothesis.as_object() else {
            return Err(not_an_experiment(
                "steady-state-hypothesis",
                "must be an object",
            ));
        };
        let mut converted = Map::new();
        converted.insert(
            "title".to_owned(),
            hypothesis.get("title").cloned().unwrap_or(Value::Null),
        );
        let probes = list(hypothesis.get("probes"), "steady-state-hypothesis.probes")?;
        let probes = probes
            .iter()
            .enumerate()
            .map(|(index, probe)| {
                importer.activity(
                    probe,
                    &format!("steady-state-hypothesis.probes[{index}]"),
                    true,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        converted.insert("probes".to_owned(), Value::Array(probes));
        experiment.insert(
            "steady-state-hypothesis".to_owned(),
            Value::Object(converted),
        );
    }
    for part in ["method", "rollbacks"] {
        let activities = list(original.get(part), part)?;
        let converted = activities
            .iter()
            .enumerate()
            .map(|(index, activity)| {
                importer.activity(activity, &format!("{part}[{index}]"), false)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if original.contains_key(part) {
            experiment.insert(part.to_owned(), Value::Array(converted));
        }
    }
    let configuration = importer.configuration(original, participant_id, &experiment);
    experiment.insert("configuration".to_owned(), configuration);
    experiment.insert(
        "secrets".to_owned(),
        json!({"chaoslab": {"chaoslab_token": {"type": "env", "key": "CHAOSLAB_TOKEN"}}}),
    );
    if original.contains_key("secrets") {
        importer.mapped.push(Mapped {
            activity: "secrets".to_owned(),
            from: "the original's secrets (AWS credentials)".to_owned(),
            to: "the participant's token only, from env CHAOSLAB_TOKEN".to_owned(),
        });
    }
    Ok(Imported {
        experiment: Value::Object(experiment),
        mapped: importer.mapped,
        refused: importer.refused,
    })
}

/// The list at `value`, or none when absent.
fn list<'a>(value: Option<&'a Value>, field: &str) -> Result<&'a [Value], NotAnExperiment> {
    match value {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(not_an_experiment(field, "must be a list of activities")),
    }
}

struct Importer<'a> {
    files: &'a BTreeMap<String, Value>,
    mapped: Vec<Mapped>,
    refused: Vec<Refused>,
}

/// What an original activity does, recognised.
enum Builtin {
    /// Writes the fault-injection document.
    PutFault(Value),
    /// Reads a probe that answers a number: its path under the participant, and whether the
    /// original read a process's output (`aws …`) rather than a Python function's value.
    Number { path: String, from_process: bool },
}

impl Importer<'_> {
    fn refuse(&mut self, activity: &str, reason: impl Into<String>) {
        self.refused.push(Refused {
            activity: activity.to_owned(),
            reason: reason.into(),
        });
    }

    /// Converts one activity; a refused one is returned unchanged (and listed in `refused`).
    fn activity(
        &mut self,
        activity: &Value,
        field: &str,
        in_hypothesis: bool,
    ) -> Result<Value, NotAnExperiment> {
        let Some(object) = activity.as_object() else {
            return Err(not_an_experiment(field, "must be an activity object"));
        };
        // A reference to an activity defined elsewhere is kept: that one is converted.
        if object.contains_key("ref") {
            return Ok(activity.clone());
        }
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| not_an_experiment(&format!("{field}.name"), "is required"))?
            .to_owned();
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .filter(|kind| matches!(*kind, "probe" | "action"))
            .ok_or_else(|| {
                not_an_experiment(&format!("{field}.type"), "must be \"probe\" or \"action\"")
            })?;
        let Some(provider) = object.get("provider").and_then(Value::as_object) else {
            return Err(not_an_experiment(
                &format!("{field}.provider"),
                "is required, as an object",
            ));
        };
        let (builtin, from) = match self.recognise(provider) {
            Ok(recognised) => recognised,
            Err(reason) => {
                self.refuse(&name, reason);
                return Ok(activity.clone());
            }
        };
        let mut converted = Map::new();
        converted.insert("type".to_owned(), json!(kind));
        converted.insert("name".to_owned(), json!(name));
        let (provider, mut to) = match builtin {
            Builtin::PutFault(document) => (
                http_provider("PUT", "/fault-injection", false, Some(document)),
                format!("PUT {BASE}/fault-injection with the same document"),
            ),
            Builtin::Number { path, from_process } => {
                let tolerance = match object.get("tolerance") {
                    Some(tolerance) if in_hypothesis => {
                        match tolerance_for_value(tolerance, from_process) {
                            Ok(converted) => Some(converted),
                            Err(reason) => {
                                self.refuse(&name, reason);
                                return Ok(activity.clone());
                            }
                        }
                    }
                    _ => None,
                };
                let text = tolerance.as_ref().is_some_and(|(_, text, _)| *text);
                let mut to = format!(
                    "GET {BASE}{path}{}",
                    if text { " as text/plain" } else { "" }
                );
                if let Some((tolerance, _, said)) = tolerance {
                    converted.insert("tolerance".to_owned(), tolerance);
                    to.push_str(&format!(", tolerance {said}"));
                }
                (http_provider("GET", &path, text, None), to)
            }
        };
        converted.insert("provider".to_owned(), provider);
        for key in ["pauses", "background"] {
            if let Some(value) = object.get(key) {
                converted.insert(key.to_owned(), value.clone());
            }
        }
        if object.contains_key("pauses") {
            to.push_str("; pauses kept");
        }
        self.mapped.push(Mapped {
            activity: name,
            from,
            to,
        });
        Ok(Value::Object(converted))
    }

    /// What a provider does, if it is one of the original lab's, with how to say it.
    fn recognise(&self, provider: &Map<String, Value>) -> Result<(Builtin, String), String> {
        match provider.get("type").and_then(Value::as_str) {
            Some("process") => self.recognise_process(provider),
            Some("python") => recognise_python(provider),
            Some("http") => Err(
                "an HTTP call to another host: chaoslab's experiments call only this server's \
                 own API for the participant's own stack"
                    .to_owned(),
            ),
            other => Err(format!(
                "a provider of type {other:?}: chaoslib knows only python, process and http"
            )),
        }
    }

    fn recognise_process(
        &self,
        provider: &Map<String, Value>,
    ) -> Result<(Builtin, String), String> {
        let path = provider.get("path").and_then(Value::as_str).unwrap_or("");
        let words: Vec<String> = match provider.get("arguments") {
            Some(Value::String(text)) => shell_words(text),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or("its arguments are not all strings")?,
            _ => Vec::new(),
        };
        let is_aws = path == "aws" || path.ends_with("/aws");
        let command = |service: &str, operation: &str| {
            let mut positional = words.iter().filter(|word| !word.starts_with("--"));
            positional.next().is_some_and(|word| word == service)
                && positional.next().is_some_and(|word| word == operation)
        };
        if is_aws && command("ssm", "put-parameter") {
            let value = option(&words, "--value")
                .ok_or("`aws ssm put-parameter` without `--value`: nothing to write")?;
            FaultParameter::checked(value).map_err(|error| {
                format!("its parameter value is not a fault document the function accepts: {error}")
            })?;
            let document: Value = serde_json::from_str(value)
                .map_err(|error| format!("its parameter value is not JSON: {error}"))?;
            let name = option(&words, "--name").unwrap_or("?");
            return Ok((
                Builtin::PutFault(document),
                format!("process: aws ssm put-parameter --name {name} --value '{value}'"),
            ));
        }
        if is_aws && command("cloudwatch", "get-metric-data") {
            let queries = option(&words, "--metric-data-queries")
                .ok_or("`aws cloudwatch get-metric-data` without `--metric-data-queries`")?;
            let (measure, minutes, how) = self.recognise_queries(queries)?;
            let path = format!("/probes/{measure}?minutes={minutes}");
            return Ok((
                Builtin::Number {
                    path,
                    from_process: true,
                },
                format!("process: aws cloudwatch get-metric-data {how}"),
            ));
        }
        Err(format!(
            "runs the process `{path}`{}: chaoslab never runs a process; only `aws ssm \
             put-parameter` (the fault document) and `aws cloudwatch get-metric-data` (percent in \
             flight or in error) have built-in equivalents",
            words
                .iter()
                .take(2)
                .map(|word| format!(" {word}"))
                .collect::<String>()
        ))
    }

    /// Which of the original lab's two measures a `--metric-data-queries` argument computes:
    /// the probe's name, its window in minutes, and how it was recognised.
    fn recognise_queries(&self, argument: &str) -> Result<(&'static str, u64, String), String> {
        let queries = if let Some(file) = argument.strip_prefix("file://") {
            let base = file.rsplit('/').next().unwrap_or(file);
            match self.files.get(file).or_else(|| self.files.get(base)) {
                Some(queries) => queries.clone(),
                // The original lab's Terraform writes these two files with known contents:
                // Invocations and the CSV (or error) queue's NumberOfMessagesSent, Period 300.
                None if base == "steadyStateFlight.json" => {
                    return Ok((
                        "percent-in-flight",
                        5,
                        format!(
                            "--metric-data-queries {argument} (the original lab's percent in flight, Period 300)"
                        ),
                    ));
                }
                None if base == "steadyStateError.json" => {
                    return Ok((
                        "percent-in-error",
                        5,
                        format!(
                            "--metric-data-queries {argument} (the original lab's percent in error, Period 300)"
                        ),
                    ));
                }
                None => {
                    return Err(format!(
                        "reads its queries from {argument}, which was not sent: add its contents \
                         to the request's `files` under {base:?}"
                    ));
                }
            }
        } else {
            serde_json::from_str(argument)
                .map_err(|error| format!("its --metric-data-queries is not JSON: {error}"))?
        };
        let (measure, minutes) = measure_of(&queries)?;
        Ok((
            measure,
            minutes,
            format!("--metric-data-queries {argument} ({measure}, over {minutes} min)"),
        ))
    }

    /// The converted experiment's configuration: where the server is, whose stack it is, and
    /// any of the original's entries a kept pause still reads. Each original entry is reported.
    fn configuration(
        &mut self,
        original: &Map<String, Value>,
        participant_id: &str,
        converted: &Map<String, Value>,
    ) -> Value {
        let mut configuration = Map::new();
        configuration.insert(
            "chaoslab_url".to_owned(),
            json!({"type": "env", "key": "CHAOSLAB_URL"}),
        );
        configuration.insert("participant_id".to_owned(), json!(participant_id));
        let still_read = variables_in(&Value::Object(converted.clone()));
        let entries = original
            .get("configuration")
            .and_then(Value::as_object)
            .into_iter()
            .flatten();
        for (key, value) in entries {
            let from = match value.get("type").and_then(Value::as_str) {
                Some("env") => format!(
                    "env {}",
                    value.get("key").and_then(Value::as_str).unwrap_or("?")
                ),
                _ => value.to_string(),
            };
            let to = if still_read.contains(key.as_str()) && !configuration.contains_key(key) {
                configuration.insert(key.clone(), value.clone());
                "kept: a pause reads it".to_owned()
            } else {
                "not needed: the probes and the fault document reach the participant's own \
                 stack (bucket, function, topic and queues) from participant_id"
                    .to_owned()
            };
            self.mapped.push(Mapped {
                activity: format!("configuration.{key}"),
                from,
                to,
            });
        }
        Value::Object(configuration)
    }
}

/// `chaosaws.cloudwatch.probes.get_metric_statistics` on SNS `NumberOfNotificationsFailed`.
fn recognise_python(provider: &Map<String, Value>) -> Result<(Builtin, String), String> {
    let module = provider.get("module").and_then(Value::as_str).unwrap_or("");
    let func = provider.get("func").and_then(Value::as_str).unwrap_or("");
    if (module, func) != ("chaosaws.cloudwatch.probes", "get_metric_statistics") {
        return Err(format!(
            "calls the Python function {module}.{func}: chaoslab runs no Python; only \
             chaosaws.cloudwatch.probes.get_metric_statistics on SNS NumberOfNotificationsFailed \
             has a built-in equivalent"
        ));
    }
    let arguments = provider.get("arguments").cloned().unwrap_or(Value::Null);
    let text = |key: &str| arguments.get(key).and_then(Value::as_str).unwrap_or("");
    let metric = (text("namespace"), text("metric_name"));
    if metric != ("AWS/SNS", "NumberOfNotificationsFailed") {
        return Err(format!(
            "reads {}/{}: only SNS NumberOfNotificationsFailed has a built-in probe",
            metric.0, metric.1
        ));
    }
    if text("statistic") != "Sum" {
        return Err(format!(
            "reads the statistic {:?}: the built-in probe gives the Sum",
            text("statistic")
        ));
    }
    if arguments
        .get("offset")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
        != 0.0
    {
        return Err(
            "reads a window ending before now (offset): the built-in probes end at now".to_owned(),
        );
    }
    // chaosaws's default duration is 60 s; the probe reads whole minutes, rounded up.
    let duration = arguments
        .get("duration")
        .and_then(Value::as_u64)
        .unwrap_or(60);
    let minutes = duration.div_ceil(60).max(1);
    if minutes > MAX_MINUTES {
        return Err(format!(
            "reads {duration} s: the built-in probes read at most {MAX_MINUTES} minutes"
        ));
    }
    Ok((
        Builtin::Number {
            path: format!("/probes/sns-notifications-failed?minutes={minutes}"),
            from_process: false,
        },
        format!(
            "python: chaosaws.cloudwatch.probes.get_metric_statistics AWS/SNS \
             NumberOfNotificationsFailed Sum over {duration} s"
        ),
    ))
}

/// The tolerance that keeps `original`'s meaning on a built-in probe, whether it asks for the
/// `text/plain` answer, and how to say it. `from_process`: the original read an `aws` process's
/// result (`{status, stdout, stderr}`), not a Python function's value.
fn tolerance_for_value(
    original: &Value,
    from_process: bool,
) -> Result<(Value, bool, String), String> {
    match original {
        // chaoslib: an int tolerance on a dict with `status` compares the status. A process's
        // status is its exit code: 0 meant "the command succeeded", which is HTTP 200 here.
        Value::Number(number) if from_process => match number.as_i64() {
            Some(0) => Ok((
                json!(200),
                false,
                "200 (the exit status 0 it checked)".to_owned(),
            )),
            _ => Err(format!(
                "its tolerance {number} compares the process's exit status, which has no HTTP \
                 equivalent"
            )),
        },
        // chaoslib dispatches on the tolerance's type: only an int compares with the value (a
        // float tolerance has no handler and is never met).
        Value::Number(number) => match number.as_i64() {
            Some(expected) => Ok((
                json!({"type": "jsonpath", "target": "body", "path": "$.value", "expect": expected}),
                false,
                format!("$.value = {expected}"),
            )),
            None => Err(format!(
                "its tolerance {number} is not an integer, which chaoslib never meets"
            )),
        },
        Value::Array(bounds) if !from_process => range_tolerance(bounds),
        Value::Object(tolerance)
            if tolerance.get("type").and_then(Value::as_str) == Some("range") =>
        {
            let target = tolerance.get("target").and_then(Value::as_str);
            let reads_value = if from_process {
                target == Some("stdout")
            } else {
                target.is_none()
            };
            if !reads_value {
                return Err(format!(
                    "its range tolerance reads {target:?}, not the metric's value"
                ));
            }
            let bounds = tolerance
                .get("range")
                .and_then(Value::as_array)
                .ok_or("its range tolerance has no `range` list")?;
            range_tolerance(bounds)
        }
        other => Err(format!(
            "its tolerance {other} cannot keep its meaning on a built-in probe: use an int, a \
             [low, high] pair or a range tolerance on the value"
        )),
    }
}

/// A `range` tolerance on the `text/plain` body: chaoslib converts `value["body"]` with
/// `Decimal` and checks `low <= value <= high`.
fn range_tolerance(bounds: &[Value]) -> Result<(Value, bool, String), String> {
    match bounds {
        [low, high] if low.is_number() && high.is_number() => Ok((
            json!({"type": "range", "range": [low, high], "target": "body"}),
            true,
            format!("range [{low}, {high}] on the body"),
        )),
        _ => Err(format!(
            "its range {} is not a [low, high] pair of numbers",
            Value::Array(bounds.to_vec())
        )),
    }
}

/// An HTTP provider on this server's API for the participant.
fn http_provider(method: &str, path: &str, text: bool, body: Option<Value>) -> Value {
    let mut headers = Map::new();
    headers.insert("Authorization".to_owned(), json!(AUTHORIZATION));
    if text {
        headers.insert("Accept".to_owned(), json!("text/plain"));
    }
    let mut provider = Map::new();
    provider.insert("type".to_owned(), json!("http"));
    provider.insert("method".to_owned(), json!(method));
    provider.insert("url".to_owned(), json!(format!("{BASE}{path}")));
    if let Some(body) = body {
        // chaoslib sends `arguments` as a JSON body when the Content-Type says JSON.
        headers.insert("Content-Type".to_owned(), json!("application/json"));
        provider.insert("arguments".to_owned(), body);
    }
    provider.insert("headers".to_owned(), Value::Object(headers));
    provider.insert("timeout".to_owned(), json!(TIMEOUT_S));
    Value::Object(provider)
}

/// The `${name}` variables a value's strings read.
fn variables_in(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(text) => {
                for part in text.split("${").skip(1) {
                    if let Some((name, _)) = part.split_once('}') {
                        found.insert(name.to_owned());
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    found
}

/// The value of `--name value` or `--name=value`.
fn option<'a>(words: &'a [String], name: &str) -> Option<&'a str> {
    words.iter().enumerate().find_map(|(index, word)| {
        if word == name {
            words.get(index + 1).map(String::as_str)
        } else {
            word.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
        }
    })
}

/// Splits a command line as a POSIX shell would split its words: single quotes keep everything,
/// double quotes keep all but `\"`, `\\`, `` \` `` and `\$`, a backslash outside quotes escapes
/// the next character, and a back-quoted command substitution stays one word, back quotes and
/// all (the original's `` `date …` ``).
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut started = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                started = true;
                word.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                started = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(next @ ('"' | '\\' | '`' | '$')) => word.push(next),
                            Some(next) => {
                                word.push('\\');
                                word.push(next);
                            }
                            None => word.push('\\'),
                        },
                        c => word.push(c),
                    }
                }
            }
            '`' => {
                started = true;
                word.push('`');
                word.extend(chars.by_ref().take_while(|&c| c != '`'));
                word.push('`');
            }
            '\\' => {
                started = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            c if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                started = true;
                word.push(c);
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// Which of the original lab's measures GetMetricData `queries` compute, and over how many
/// minutes: the first returned query must be an expression over Lambda `Invocations` (Sum) and
/// one SQS queue's `NumberOfMessagesSent` (Sum) that equals ((I − S) ÷ I) × 100 (percent in
/// flight) or (S ÷ I) × 100 (percent in error), checked by evaluating it.
fn measure_of(queries: &Value) -> Result<(&'static str, u64), String> {
    let queries = queries
        .as_array()
        .ok_or("its metric data queries are not a list")?;
    let text = |query: &Value, key: &str| query.get(key).and_then(Value::as_str).map(str::to_owned);
    // `--query 'MetricDataResults[0].Values[0]'` reads the first result: the first query whose
    // ReturnData is not false (GetMetricData answers in request order).
    let returned = queries
        .iter()
        .find(|query| query.get("ReturnData").and_then(Value::as_bool) != Some(false))
        .ok_or("none of its queries returns data")?;
    let expression = text(returned, "Expression")
        .ok_or("its first returned query is not an expression of the lab's measures")?;
    let mut inputs = BTreeMap::new();
    let mut periods = BTreeSet::new();
    let mut queue = None;
    for query in queries {
        let (Some(id), Some(stat)) = (text(query, "Id"), query.get("MetricStat")) else {
            continue;
        };
        let metric = &stat["Metric"];
        let name = (
            metric["Namespace"].as_str().unwrap_or(""),
            metric["MetricName"].as_str().unwrap_or(""),
        );
        if stat["Stat"].as_str() != Some("Sum") {
            return Err(format!("its query {id} does not read the Sum"));
        }
        periods.insert(stat["Period"].as_u64().unwrap_or(0));
        let input = match name {
            ("AWS/Lambda", "Invocations") => formula::Input::Invocations,
            ("AWS/SQS", "NumberOfMessagesSent") => {
                queue = metric["Dimensions"]
                    .as_array()
                    .and_then(|dimensions| dimensions.first())
                    .and_then(|dimension| dimension["Value"].as_str())
                    .map(str::to_lowercase);
                formula::Input::QueueMessagesSent
            }
            (namespace, metric) => {
                return Err(format!(
                    "its query {id} reads {namespace}/{metric}, which neither of the lab's \
                     measures reads"
                ));
            }
        };
        inputs.insert(id, input);
    }
    let measure = formula::measure(&expression, &inputs).ok_or_else(|| {
        format!(
            "its expression `{expression}` is neither percent in flight ((Invocations − CSV \
             queue NumberOfMessagesSent) ÷ Invocations × 100) nor percent in error (dead-letter \
             queue NumberOfMessagesSent ÷ Invocations × 100)"
        )
    })?;
    // The queue's name, when it says which queue it is, must agree with the formula.
    let queue = queue.unwrap_or_default();
    let says_dead_letter = ["error", "dlq", "dead"]
        .iter()
        .any(|word| queue.contains(word));
    let says_csv = queue.contains("csv");
    match measure {
        "percent-in-flight" if says_dead_letter => {
            return Err(format!(
                "its expression computes percent in flight but reads the dead-letter queue {queue}"
            ));
        }
        "percent-in-error" if says_csv && !says_dead_letter => {
            return Err(format!(
                "its expression computes percent in error but reads the CSV queue {queue}"
            ));
        }
        _ => {}
    }
    let period = match periods.iter().collect::<Vec<_>>().as_slice() {
        [period] if **period >= 60 && **period % 60 == 0 => **period,
        _ => return Err("its queries do not share one Period of whole minutes".to_owned()),
    };
    let minutes = period / 60;
    if minutes > MAX_MINUTES {
        return Err(format!(
            "its Period of {period} s is over the probes' {MAX_MINUTES} minutes"
        ));
    }
    Ok((measure, minutes))
}

/// Recognising the lab's two formulas in a metric-math expression by evaluating it.
mod formula {
    use std::collections::BTreeMap;

    /// What a query id stands for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Input {
        /// Lambda `Invocations`, Sum.
        Invocations,
        /// An SQS queue's `NumberOfMessagesSent`, Sum.
        QueueMessagesSent,
    }

    /// `percent-in-flight` or `percent-in-error` when `expression`, over `inputs`, equals that
    /// formula at several sample points; `None` otherwise (including any function call).
    pub fn measure(expression: &str, inputs: &BTreeMap<String, Input>) -> Option<&'static str> {
        let samples = [(200.0, 50.0), (1020.0, 990.0), (7.0, 3.0), (1765.0, 866.0)];
        let evaluated: Option<Vec<f64>> = samples
            .iter()
            .map(|&(invocations, sent)| {
                let value_of = |id: &str| match inputs.get(id)? {
                    Input::Invocations => Some(invocations),
                    Input::QueueMessagesSent => Some(sent),
                };
                Parser::new(expression, &value_of).expression_to_end()
            })
            .collect();
        let evaluated = evaluated?;
        let matches = |formula: fn(f64, f64) -> f64| {
            samples.iter().zip(&evaluated).all(|(&(i, s), value)| {
                (formula(i, s) - value).abs() < 1e-9 * formula(i, s).abs().max(1.0)
            })
        };
        if matches(|i, s| (i - s) / i * 100.0) {
            Some("percent-in-flight")
        } else if matches(|i, s| s / i * 100.0) {
            Some("percent-in-error")
        } else {
            None
        }
    }

    /// Arithmetic over ids and numbers: `+ - * /`, unary minus and parentheses.
    struct Parser<'a> {
        tokens: Vec<Token>,
        next: usize,
        value_of: &'a dyn Fn(&str) -> Option<f64>,
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Token {
        Number(f64),
        Id(String),
        Operator(char),
    }

    fn tokens(text: &str) -> Option<Vec<Token>> {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if "+-*/()".contains(c) {
                tokens.push(Token::Operator(c));
                chars.next();
            } else if c.is_ascii_digit() || c == '.' {
                let mut number = String::new();
                while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit() || **c == '.') {
                    number.push(c);
                    chars.next();
                }
                tokens.push(Token::Number(number.parse().ok()?));
            } else if c.is_ascii_alphabetic() {
                let mut id = String::new();
                while let Some(&c) = chars
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || **c == '_')
                {
                    id.push(c);
                    chars.next();
                }
                tokens.push(Token::Id(id));
            } else {
                return None;
            }
        }
        Some(tokens)
    }

    impl<'a> Parser<'a> {
        fn new(text: &str, value_of: &'a dyn Fn(&str) -> Option<f64>) -> Self {
            Self {
                // An untokenisable text gives no tokens after a marker the parser refuses.
                tokens: tokens(text).unwrap_or_else(|| vec![Token::Operator('?')]),
                next: 0,
                value_of,
            }
        }

        fn expression_to_end(mut self) -> Option<f64> {
            let value = self.sum()?;
            (self.next == self.tokens.len()).then_some(value)
        }

        fn peek(&self) -> Option<&Token> {
            self.tokens.get(self.next)
        }

        fn sum(&mut self) -> Option<f64> {
            let mut value = self.product()?;
            while let Some(Token::Operator(operator @ ('+' | '-'))) = self.peek().cloned() {
                self.next += 1;
                let right = self.product()?;
                value = if operator == '+' {
                    value + right
                } else {
                    value - right
                };
            }
            Some(value)
        }

        fn product(&mut self) -> Option<f64> {
            let mut value = self.factor()?;
            while let Some(Token::Operator(operator @ ('*' | '/'))) = self.peek().cloned() {
                self.next += 1;
                let right = self.factor()?;
                value = if operator == '*' {
                    value * right
                } else {
                    value / right
                };
            }
            Some(value)
        }

        fn factor(&mut self) -> Option<f64> {
            let token = self.peek().cloned()?;
            self.next += 1;
            match token {
                Token::Number(number) => Some(number),
                // A function call (`FILL(m1, 0)`) is not one of the lab's formulas.
                Token::Id(_) if self.peek() == Some(&Token::Operator('(')) => None,
                Token::Id(id) => (self.value_of)(&id),
                Token::Operator('-') => self.factor().map(|value| -value),
                Token::Operator('(') => {
                    let value = self.sum()?;
                    (self.peek() == Some(&Token::Operator(')'))).then(|| {
                        self.next += 1;
                        value
                    })
                }
                Token::Operator(_) => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_keep_quoted_json_and_back_quoted_commands_whole() {
        let words = shell_words(
            r#"ssm put-parameter --name x --overwrite --value '{"isEnabled": false}' --start `date -v-5M '+%Y'`"#,
        );
        assert_eq!(
            words,
            [
                "ssm",
                "put-parameter",
                "--name",
                "x",
                "--overwrite",
                "--value",
                r#"{"isEnabled": false}"#,
                "--start",
                "`date -v-5M '+%Y'`"
            ]
        );
        assert_eq!(shell_words(r#"a "b \"c\"" d\ e"#), ["a", r#"b "c""#, "d e"]);
    }

    #[test]
    fn the_lab_formulas_are_recognised_in_any_arithmetic_form() {
        let inputs = BTreeMap::from([
            ("lambdaInvokes".to_owned(), formula::Input::Invocations),
            ("sqsMsgCount".to_owned(), formula::Input::QueueMessagesSent),
        ]);
        for (expression, expected) in [
            (
                "((lambdaInvokes - sqsMsgCount) / lambdaInvokes)*100",
                Some("percent-in-flight"),
            ),
            (
                "100 * (lambdaInvokes - sqsMsgCount) / lambdaInvokes",
                Some("percent-in-flight"),
            ),
            (
                "(sqsMsgCount / lambdaInvokes)*100",
                Some("percent-in-error"),
            ),
            ("100*sqsMsgCount/lambdaInvokes", Some("percent-in-error")),
            ("sqsMsgCount / lambdaInvokes", None),
            ("FILL(sqsMsgCount, 0) / lambdaInvokes * 100", None),
            ("unknownId / lambdaInvokes * 100", None),
            ("(sqsMsgCount / lambdaInvokes", None),
        ] {
            assert_eq!(
                formula::measure(expression, &inputs),
                expected,
                "{expression}"
            );
        }
    }
}
