//! An experiment written for this server, rewritten for a stack on AWS: each HTTP call to the
//! participant's API becomes the chaostoolkit-aws (`chaosaws`) probe or action that does the same
//! to the stack, or, where chaosaws has none, the AWS CLI call the original lab made.
//!
//! | this server's API                         | on AWS                                                   |
//! |-------------------------------------------|----------------------------------------------------------|
//! | `PUT fault-injection` (the document)      | `chaosaws.ssm.actions.put_parameter` on the fault parameter |
//! | `PUT function` `timeout_seconds`          | `chaosaws.awslambda.actions.put_function_timeout`        |
//! | `PUT function` `memory_mb`                | `chaosaws.awslambda.actions.put_function_memory_size`    |
//! | `PUT function` `reserved_concurrency`     | `put_function_concurrency`, or `delete_function_concurrency` for `"none"` |
//! | `PUT function` retries and event age      | `aws lambda put-function-event-invoke-config`            |
//! | `GET probes/sns-notifications-failed`     | `chaosaws.cloudwatch.probes.get_metric_statistics`, Sum  |
//! | `GET probes/percent-in-flight` and `-in-error` | `aws cloudwatch get-metric-data` with the original lab's metric math |
//!
//! chaosaws reads one metric at a time, and the two percentages are ratios of two metrics, so they
//! stay with the AWS CLI, as in the original lab; the window is the last whole minutes, one
//! period long, as the built-in probes read it ([`crate::ops::probes`]). Anything else (traffic,
//! the SLO, arbitrary metric queries, reading the function or the fault) has no AWS equivalent
//! here and is refused, naming the activity. Stack names come from the environment variables the
//! original lab used, defaulting to the participant's stack; pauses stay in seconds (on AWS
//! pipeline time is wall time). Stop conditions are the server's own and do not carry over.

use serde_json::{Map, Value, json};

use super::experiment::{Activity, Plan, Problem, api_prefix};
use super::substitute::substitute;
use crate::backend::StackNames;

/// Configuration keys the rewritten activities read.
const REGION: &str = "aws_region";
const FUNCTION: &str = "lambda_function";
const TOPIC: &str = "sns_topic";
const BUCKET: &str = "s3_bucket";
const PARAMETER: &str = "failure_injection_parameter";
const CSV_QUEUE: &str = "csv_queue";
const DEAD_LETTER_QUEUE: &str = "dead_letter_queue";

/// The configuration entries that address this server, which the AWS variant drops.
const SERVER_ONLY: [&str; 2] = ["chaoslab_url", "participant_id"];

/// `plan` (an experiment checked for `participant`) rewritten for the stack `names`; or every
/// activity that cannot be, each with its path and why. A probe that names no window reads the
/// last `default_minutes`, as the built-in probes do.
pub fn aws_variant(
    plan: &Plan,
    participant: &str,
    names: &StackNames,
    default_minutes: u64,
) -> Result<Value, Vec<Problem>> {
    let mut rewriter = Rewriter {
        plan,
        prefix: api_prefix(participant),
        default_minutes,
        problems: Vec::new(),
    };
    let probes = plan
        .hypothesis
        .as_ref()
        .map(|hypothesis| rewriter.list("steady-state-hypothesis.probes", &hypothesis.probes));
    let method = rewriter.list("method", &plan.method);
    let rollbacks = rewriter.list("rollbacks", &plan.rollbacks);
    if !rewriter.problems.is_empty() {
        return Err(rewriter.problems);
    }

    let mut experiment = plan.experiment.clone();
    let Some(object) = experiment.as_object_mut() else {
        return Err(vec![Problem {
            path: "$".to_owned(),
            message: "an experiment is an object".to_owned(),
        }]);
    };
    if let (Some(probes), Some(hypothesis)) = (
        probes,
        object
            .get_mut("steady-state-hypothesis")
            .and_then(Value::as_object_mut),
    ) {
        hypothesis.insert("probes".to_owned(), Value::Array(probes));
    }
    object.insert("method".to_owned(), Value::Array(method));
    if object.contains_key("rollbacks") || !rollbacks.is_empty() {
        object.insert("rollbacks".to_owned(), Value::Array(rollbacks));
    }
    object.insert(
        "configuration".to_owned(),
        Value::Object(configuration(object.get("configuration"), names)),
    );
    match secrets(object.get("secrets")) {
        Some(secrets) => object.insert("secrets".to_owned(), secrets),
        None => object.remove("secrets"),
    };
    // The server's stop conditions mean nothing to `chaos run`.
    if let Some(Value::Array(extensions)) = object.get_mut("extensions") {
        extensions.retain(|extension| extension["name"] != "chaoslab");
        if extensions.is_empty() {
            object.remove("extensions");
        }
    }
    Ok(experiment)
}

/// The experiment's own configuration, less what addresses this server, plus the stack's names,
/// each from the environment variable the original lab read and defaulting to this stack.
fn configuration(own: Option<&Value>, names: &StackNames) -> Map<String, Value> {
    let mut configuration = own.and_then(Value::as_object).cloned().unwrap_or_default();
    for key in SERVER_ONLY {
        configuration.remove(key);
    }
    for (key, variable, default) in [
        (REGION, "AWS_REGION", &names.region),
        (FUNCTION, "LAMBDA_FUNCTION_NAME", &names.function_name),
        (TOPIC, "SNS_TOPIC_NAME", &names.topic_name),
        (BUCKET, "S3_BUCKET_NAME", &names.bucket),
        (PARAMETER, "FAILURE_INJECTION_PARAM", &names.parameter_name),
        (CSV_QUEUE, "CSV_QUEUE_NAME", &names.csv_queue_name),
        (DEAD_LETTER_QUEUE, "DLQ_NAME", &names.dlq_name),
    ] {
        configuration.insert(
            key.to_owned(),
            json!({"type": "env", "key": variable, "default": default}),
        );
    }
    configuration
}

/// The experiment's secrets less the token for this server; `None` when nothing is left.
fn secrets(own: Option<&Value>) -> Option<Value> {
    let mut scopes = own.and_then(Value::as_object).cloned().unwrap_or_default();
    for entries in scopes.values_mut() {
        if let Some(entries) = entries.as_object_mut() {
            entries.retain(|_, entry| entry["key"] != "CHAOSLAB_TOKEN");
        }
    }
    scopes.retain(|_, entries| {
        entries
            .as_object()
            .is_none_or(|entries| !entries.is_empty())
    });
    (!scopes.is_empty()).then_some(Value::Object(scopes))
}

struct Rewriter<'a> {
    plan: &'a Plan,
    prefix: String,
    default_minutes: u64,
    problems: Vec<Problem>,
}

/// A call to the participant's API, as an activity makes it.
struct Call {
    method: String,
    /// The path under `/api/v1/participants/{id}/`, without the query.
    route: String,
    minutes: u64,
    body: Value,
}

impl Rewriter<'_> {
    fn list(&mut self, path: &str, activities: &[Activity]) -> Vec<Value> {
        let mut rewritten = Vec::new();
        for (index, activity) in activities.iter().enumerate() {
            let path = format!("{path}[{index}]");
            match self.activity(activity) {
                Ok(mut activities) => rewritten.append(&mut activities),
                Err(message) => self.problems.push(Problem {
                    path,
                    message: format!(
                        "activity {:?} {message}; the AWS variant cannot run it",
                        activity.name
                    ),
                }),
            }
        }
        rewritten
    }

    fn call(&self, definition: &Value) -> Result<Call, String> {
        let provider = &definition["provider"];
        let url = substitute(&provider["url"], &self.plan.values);
        let rest = url
            .as_str()
            .and_then(|url| url.strip_prefix(&self.prefix))
            .ok_or("does not call this server's API for the participant")?;
        let (route, query) = rest.split_once('?').unwrap_or((rest, ""));
        let minutes = form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "minutes")
            .map(|(_, value)| value.parse::<u64>())
            .transpose()
            .map_err(|_| "asks for a window that is not a whole number of minutes")?
            .unwrap_or(self.default_minutes);
        Ok(Call {
            method: provider["method"]
                .as_str()
                .unwrap_or("GET")
                .to_ascii_uppercase(),
            route: route.trim_end_matches('/').to_owned(),
            minutes,
            body: substitute(&provider["arguments"], &self.plan.values),
        })
    }

    /// The activity as one or more activities on AWS.
    fn activity(&self, activity: &Activity) -> Result<Vec<Value>, String> {
        let definition = &activity.definition;
        let call = self.call(definition)?;
        let providers: Vec<(String, Value)> = match (call.method.as_str(), call.route.as_str()) {
            ("PUT", "fault-injection") => vec![(String::new(), put_parameter(&call.body)?)],
            ("PUT", "function") => function_settings(&call.body)?,
            ("GET", "probes/sns-notifications-failed") => {
                vec![(String::new(), notifications_failed(call.minutes))]
            }
            ("GET", "probes/percent-in-flight") => {
                vec![(String::new(), measure(Measure::InFlight, call.minutes))]
            }
            ("GET", "probes/percent-in-error") => {
                vec![(String::new(), measure(Measure::InError, call.minutes))]
            }
            (_, "traffic") => {
                return Err(
                    "changes the traffic, which chaoslab's own generator makes: on AWS, \
                            start the traffic from the chaoslab server before `chaos run`"
                        .to_owned(),
                );
            }
            (method, route) => {
                return Err(format!(
                    "calls {method} {route}, which has no chaostoolkit-aws equivalent here (the \
                     AWS variant carries over PUT fault-injection, PUT function and the \
                     percent-in-flight, percent-in-error and sns-notifications-failed probes)"
                ));
            }
        };
        let tolerance = definition
            .get("tolerance")
            .map(|tolerance| number_tolerance(tolerance, &providers))
            .transpose()?;
        let count = providers.len();
        Ok(providers
            .into_iter()
            .enumerate()
            .map(|(index, (suffix, provider))| {
                let mut rewritten = Map::new();
                rewritten.insert("type".to_owned(), definition["type"].clone());
                rewritten.insert(
                    "name".to_owned(),
                    Value::String(format!("{}{suffix}", activity.name)),
                );
                rewritten.insert("provider".to_owned(), provider);
                if let Some(tolerance) = &tolerance {
                    rewritten.insert("tolerance".to_owned(), tolerance.clone());
                }
                for key in ["background", "controls"] {
                    if let Some(value) = definition.get(key) {
                        rewritten.insert(key.to_owned(), value.clone());
                    }
                }
                // When one call became several, the pause before goes to the first and the
                // pause after to the last.
                if let Some(pauses) = definition.get("pauses").and_then(Value::as_object) {
                    let mut kept = pauses.clone();
                    if index > 0 {
                        kept.remove("before");
                    }
                    if index + 1 < count {
                        kept.remove("after");
                    }
                    if !kept.is_empty() {
                        rewritten.insert("pauses".to_owned(), Value::Object(kept));
                    }
                }
                Value::Object(rewritten)
            })
            .collect())
    }
}

fn python(module: &str, func: &str, arguments: Value) -> Value {
    json!({"type": "python", "module": module, "func": func, "arguments": arguments})
}

/// The fault document written to the SSM parameter the function reads.
fn put_parameter(document: &Value) -> Result<Value, String> {
    if !document.is_object() {
        return Err("writes a fault document that is not a JSON object".to_owned());
    }
    Ok(python(
        "chaosaws.ssm.actions",
        "put_parameter",
        json!({
            "name": format!("${{{PARAMETER}}}"),
            "value": document.to_string(),
            "type": "String",
            "overwrite": true
        }),
    ))
}

/// One activity per setting the change names, each with its name's suffix.
fn function_settings(change: &Value) -> Result<Vec<(String, Value)>, String> {
    let change = change
        .as_object()
        .filter(|change| !change.is_empty())
        .ok_or("changes no function setting")?;
    let function = format!("${{{FUNCTION}}}");
    let number = |key: &str| {
        change
            .get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("sets {key} to something other than a whole number"))
    };
    const SETTINGS: [&str; 5] = [
        "timeout_seconds",
        "memory_mb",
        "reserved_concurrency",
        "maximum_retry_attempts",
        "maximum_event_age_seconds",
    ];
    if let Some(other) = change.keys().find(|key| !SETTINGS.contains(&key.as_str())) {
        return Err(format!(
            "sets the function's {other:?}, which Lambda has not"
        ));
    }
    let mut providers = Vec::new();
    for key in SETTINGS.into_iter().filter(|key| change.contains_key(*key)) {
        let provider = match key {
            "timeout_seconds" => python(
                "chaosaws.awslambda.actions",
                "put_function_timeout",
                json!({"function_name": function, "timeout": number(key)?}),
            ),
            "memory_mb" => python(
                "chaosaws.awslambda.actions",
                "put_function_memory_size",
                json!({"function_name": function, "memory_size": number(key)?}),
            ),
            "reserved_concurrency" if change[key] == "none" => python(
                "chaosaws.awslambda.actions",
                "delete_function_concurrency",
                json!({"function_name": function}),
            ),
            "reserved_concurrency" => python(
                "chaosaws.awslambda.actions",
                "put_function_concurrency",
                json!({"function_name": function, "concurrent_executions": number(key)?}),
            ),
            "maximum_retry_attempts" => {
                event_invoke_config("--maximum-retry-attempts", number(key)?)
            }
            "maximum_event_age_seconds" => {
                event_invoke_config("--maximum-event-age-in-seconds", number(key)?)
            }
            _ => continue,
        };
        providers.push((format!("-{}", key.replace('_', "-")), provider));
    }
    if providers.len() == 1 {
        providers[0].0.clear();
    }
    Ok(providers)
}

/// `aws lambda put-function-event-invoke-config`: chaosaws has no action for the asynchronous
/// invocation settings.
fn event_invoke_config(option: &str, value: u64) -> Value {
    json!({
        "type": "process",
        "path": "aws",
        "arguments": [
            "lambda", "put-function-event-invoke-config",
            "--region", format!("${{{REGION}}}"),
            "--function-name", format!("${{{FUNCTION}}}"),
            option, value.to_string()
        ],
        "timeout": 30
    })
}

/// SNS `NumberOfNotificationsFailed`, Sum, over the last `minutes` as one period.
fn notifications_failed(minutes: u64) -> Value {
    python(
        "chaosaws.cloudwatch.probes",
        "get_metric_statistics",
        json!({
            "namespace": "AWS/SNS",
            "metric_name": "NumberOfNotificationsFailed",
            "dimension_name": "TopicName",
            "dimension_value": format!("${{{TOPIC}}}"),
            "statistic": "Sum",
            "duration": minutes * 60
        }),
    )
}

#[derive(Debug, Clone, Copy)]
enum Measure {
    InFlight,
    InError,
}

/// The original lab's metric math for a measure: a ratio of two Sums over one period.
fn measure_queries(measure: Measure, minutes: u64) -> Value {
    let sum = |id: &str, namespace: &str, metric: &str, dimension: &str, value: String| {
        json!({
            "Id": id,
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": metric,
                    "Dimensions": [{"Name": dimension, "Value": value}]
                },
                "Period": minutes * 60,
                "Stat": "Sum"
            },
            "ReturnData": false
        })
    };
    let invocations = sum(
        "invocations",
        "AWS/Lambda",
        "Invocations",
        "FunctionName",
        format!("${{{FUNCTION}}}"),
    );
    let (queue, id, expression) = match measure {
        Measure::InFlight => (
            CSV_QUEUE,
            "percent_in_flight",
            "(invocations - sent) / invocations * 100",
        ),
        Measure::InError => (
            DEAD_LETTER_QUEUE,
            "percent_in_error",
            "sent / invocations * 100",
        ),
    };
    let sent = sum(
        "sent",
        "AWS/SQS",
        "NumberOfMessagesSent",
        "QueueName",
        format!("${{{queue}}}"),
    );
    json!([
        invocations,
        sent,
        {"Id": id, "Expression": expression, "ReturnData": true}
    ])
}

/// `aws cloudwatch get-metric-data` over the last `minutes` whole minutes, printing the measure
/// alone. The window is computed when the probe runs, by the shell (`date +%s` is the same on
/// Linux and macOS); the script names no variable, so chaoslib's `${name}` substitution leaves it
/// as it is, and the queries come in as its first argument, the region as its second.
fn measure(measure: Measure, minutes: u64) -> Value {
    let seconds = minutes * 60;
    let script = format!(
        "set -- \"$1\" \"$2\" \"$(( $(date +%s) / 60 * 60 ))\"; exec aws cloudwatch get-metric-data \
         --region \"$2\" --metric-data-queries \"$1\" --start-time \"$(( $3 - {seconds} ))\" \
         --end-time \"$3\" --query 'MetricDataResults[0].Values[0]' --output text"
    );
    json!({
        "type": "process",
        "path": "sh",
        "arguments": [
            "-c",
            script,
            "chaoslab-measure",
            measure_queries(measure, minutes).to_string(),
            format!("${{{REGION}}}")
        ],
        "timeout": 30
    })
}

/// A probe's tolerance, carried over to a provider that answers a bare number: a `range` (read
/// from the process's output for the CLI), or a JSON path on `$.value` expecting one number.
fn number_tolerance(tolerance: &Value, providers: &[(String, Value)]) -> Result<Value, String> {
    let from_process = providers
        .first()
        .is_some_and(|(_, provider)| provider["type"] == "process");
    let range = match tolerance["type"].as_str() {
        Some("range") => tolerance["range"].clone(),
        Some("jsonpath") if tolerance["path"] == "$.value" && tolerance["expect"].is_number() => {
            json!([tolerance["expect"], tolerance["expect"]])
        }
        _ => {
            return Err(format!(
                "has the tolerance {tolerance}, which reads the chaoslab API's answer; on AWS the \
                 probe answers a bare number, so only a `range` tolerance, or a `jsonpath` one on \
                 `$.value` with a numeric `expect`, carries over"
            ));
        }
    };
    Ok(if from_process {
        json!({"type": "range", "range": range, "target": "stdout"})
    } else {
        json!({"type": "range", "range": range})
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::chaos::experiment::check;
    use crate::chaos::substitute::{Environment, SELF_URL};
    use crate::chaos::templates;

    fn names() -> StackNames {
        StackNames {
            region: "eu-west-1".to_owned(),
            bucket: "chaos-bucket-0123456789abcdef".to_owned(),
            function_name: "ChaosTransformer-0123456789abcdef".to_owned(),
            dlq_url: "http://sqs/chaos-error-queue-0123456789abcdef".to_owned(),
            dlq_name: "chaos-error-queue-0123456789abcdef".to_owned(),
            csv_queue_url: "http://sqs/chaos-csv-queue-0123456789abcdef".to_owned(),
            csv_queue_name: "chaos-csv-queue-0123456789abcdef".to_owned(),
            topic_arn: "arn:aws:sns:eu-west-1:1:chaos-csv-topic-0123456789abcdef".to_owned(),
            topic_name: "chaos-csv-topic-0123456789abcdef".to_owned(),
            dashboard_name: "chaos-dashboard-0123456789abcdef".to_owned(),
            parameter_name: "/chaoslab/0123456789abcdef/failure-injection".to_owned(),
            suffix: "0123456789abcdef".to_owned(),
        }
    }

    fn variant(experiment: &Value) -> Result<Value, Vec<Problem>> {
        let environment = Environment {
            url: SELF_URL.to_owned(),
            token: "not-exported".to_owned(),
            participant: "p-1".to_owned(),
        };
        let plan = check(experiment, "p-1", &environment).expect("the experiment checks");
        aws_variant(&plan, "p-1", &names(), 5)
    }

    #[test]
    fn lab_3_becomes_chaosaws_and_the_aws_cli_with_the_same_tolerances() {
        let exported = variant(&templates::lab3_latency()).unwrap();
        let probes = &exported["steady-state-hypothesis"]["probes"];
        assert_eq!(
            probes[0]["provider"]["module"],
            "chaosaws.cloudwatch.probes"
        );
        assert_eq!(probes[0]["provider"]["arguments"]["duration"], 300);
        assert_eq!(
            probes[0]["provider"]["arguments"]["dimension_value"],
            "${sns_topic}"
        );
        assert_eq!(
            probes[0]["tolerance"],
            json!({"type": "range", "range": [0.0, 0.0]})
        );
        assert_eq!(probes[1]["provider"]["type"], "process");
        assert_eq!(
            probes[1]["tolerance"],
            json!({"type": "range", "range": [1.0, 6.0], "target": "stdout"})
        );
        let queries: Value =
            serde_json::from_str(probes[1]["provider"]["arguments"][3].as_str().unwrap()).unwrap();
        assert_eq!(
            queries[2]["Expression"],
            "(invocations - sent) / invocations * 100"
        );
        assert_eq!(
            queries[1]["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
            "${csv_queue}"
        );
        let queries: Value =
            serde_json::from_str(probes[2]["provider"]["arguments"][3].as_str().unwrap()).unwrap();
        assert_eq!(queries[2]["Expression"], "sent / invocations * 100");
        assert_eq!(
            queries[1]["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
            "${dead_letter_queue}"
        );

        let method = &exported["method"][0];
        assert_eq!(method["provider"]["func"], "put_parameter");
        assert_eq!(
            method["provider"]["arguments"]["name"],
            "${failure_injection_parameter}"
        );
        let document: Value =
            serde_json::from_str(method["provider"]["arguments"]["value"].as_str().unwrap())
                .unwrap();
        assert_eq!(document["failureMode"], "latency");
        assert_eq!(document["maxLatency"], 4000);
        // Pauses stay in seconds; pipeline time is wall time on AWS.
        assert_eq!(method["pauses"]["after"], "${pause_s}");
        assert_eq!(exported["configuration"]["pause_s"], 360);
        assert_eq!(
            exported["rollbacks"][0]["provider"]["arguments"]["value"],
            r#"{"isEnabled":false}"#
        );

        // Nothing of this server is left: no URL, no participant, no token, no stop condition.
        let configuration = &exported["configuration"];
        assert!(configuration.get("chaoslab_url").is_none());
        assert!(configuration.get("participant_id").is_none());
        assert_eq!(
            configuration["lambda_function"],
            json!({"type": "env", "key": "LAMBDA_FUNCTION_NAME", "default": "ChaosTransformer-0123456789abcdef"})
        );
        assert_eq!(configuration["aws_region"]["default"], "eu-west-1");
        assert!(exported.get("secrets").is_none(), "{exported}");
        assert!(exported.get("extensions").is_none(), "{exported}");
        assert!(!exported.to_string().contains("chaoslab.local"));
        assert!(!exported.to_string().contains("not-exported"));
    }

    #[test]
    fn a_function_change_becomes_one_action_per_setting_with_its_pauses_kept_at_the_ends() {
        let mut experiment = templates::lab3_hypothesis();
        experiment["method"] = json!([{
            "type": "action",
            "name": "raise-the-timeout",
            "provider": {
                "type": "http",
                "method": "PUT",
                "url": "${chaoslab_url}/api/v1/participants/${participant_id}/function",
                "headers": {"Authorization": "Bearer ${chaoslab_token}"},
                "arguments": {"timeout_seconds": 120, "reserved_concurrency": "none", "maximum_retry_attempts": 0}
            },
            "pauses": {"before": 5, "after": 60}
        }]);
        let exported = variant(&experiment).unwrap();
        let method = exported["method"].as_array().unwrap();
        let summary: Vec<(String, Value, Value)> = method
            .iter()
            .map(|activity| {
                (
                    activity["name"].as_str().unwrap().to_owned(),
                    activity["provider"]["func"].clone(),
                    activity.get("pauses").cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "raise-the-timeout-timeout-seconds".to_owned(),
                    json!("put_function_timeout"),
                    json!({"before": 5})
                ),
                (
                    "raise-the-timeout-reserved-concurrency".to_owned(),
                    json!("delete_function_concurrency"),
                    Value::Null
                ),
                (
                    "raise-the-timeout-maximum-retry-attempts".to_owned(),
                    Value::Null,
                    json!({"after": 60})
                ),
            ]
        );
        assert_eq!(
            method[2]["provider"]["arguments"],
            json!([
                "lambda",
                "put-function-event-invoke-config",
                "--region",
                "${aws_region}",
                "--function-name",
                "${lambda_function}",
                "--maximum-retry-attempts",
                "0"
            ])
        );
        assert_eq!(method[0]["provider"]["arguments"]["timeout"], 120);
    }

    #[test]
    fn what_has_no_aws_equivalent_is_refused_naming_each_activity() {
        let mut experiment = templates::lab3_latency();
        experiment["method"].as_array_mut().unwrap().push(json!({
            "type": "action",
            "name": "more-traffic",
            "provider": {
                "type": "http",
                "method": "PATCH",
                "url": "${chaoslab_url}/api/v1/participants/${participant_id}/traffic",
                "arguments": {"publisher": {"rate": 5}}
            }
        }));
        experiment["steady-state-hypothesis"]["probes"][0] = json!({
            "type": "probe",
            "name": "slo-met",
            "tolerance": {"type": "jsonpath", "path": "$.met", "expect": true, "target": "body"},
            "provider": {
                "type": "http",
                "url": "${chaoslab_url}/api/v1/participants/${participant_id}/probes/slo"
            }
        });
        experiment["steady-state-hypothesis"]["probes"][2]["tolerance"] =
            json!({"type": "regex", "pattern": "^[01]", "target": "body"});
        let problems = variant(&experiment).unwrap_err();
        let paths: Vec<&str> = problems
            .iter()
            .map(|problem| problem.path.as_str())
            .collect();
        assert_eq!(
            paths,
            [
                "steady-state-hypothesis.probes[0]",
                "steady-state-hypothesis.probes[2]",
                "method[1]"
            ],
            "{problems:?}"
        );
        assert!(
            problems[0]
                .message
                .contains("\"slo-met\" calls GET probes/slo")
        );
        assert!(problems[1].message.contains("only a `range` tolerance"));
        assert!(
            problems[2]
                .message
                .contains("start the traffic from the chaoslab server")
        );
    }

    /// The CLI probe's shell script, run with a stand-in `aws` that prints its arguments: the
    /// window is the last whole minutes, the queries and region arrive intact.
    #[test]
    fn the_measure_script_asks_cloudwatch_for_the_last_whole_minutes() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let fake = directory.path().join("aws");
        std::fs::write(
            &fake,
            "#!/bin/sh\nfor argument in \"$@\"; do echo \"$argument\"; done\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let provider = measure(Measure::InError, 5);
        let arguments: Vec<String> = provider["arguments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|argument| {
                argument
                    .as_str()
                    .unwrap()
                    .replace("${aws_region}", "eu-west-1")
            })
            .collect();
        let path = format!(
            "{}:{}",
            directory.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let output = std::process::Command::new("sh")
            .args(&arguments)
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let printed = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = printed.lines().collect();
        let option = |name: &str| {
            let at = lines.iter().position(|line| *line == name).unwrap();
            lines[at + 1]
        };
        assert_eq!(&lines[..2], ["cloudwatch", "get-metric-data"]);
        assert_eq!(option("--region"), "eu-west-1");
        assert_eq!(option("--metric-data-queries"), arguments[3]);
        let end: u64 = option("--end-time").parse().unwrap();
        let start: u64 = option("--start-time").parse().unwrap();
        assert_eq!(end % 60, 0);
        assert_eq!(end - start, 300);
        assert!(end <= before + 60 && end + 60 > before, "{end} vs {before}");
        assert_eq!(option("--query"), "MetricDataResults[0].Values[0]");
    }
}
