//! Ready-made experiments for the labs, written as Chaos Toolkit JSON with HTTP providers against
//! this server's API, so what a participant starts from is a real experiment they can export and
//! run with `chaos run`. Lab 3's two are also files, `chaos/experiments/lab3-hypothesis.json` and
//! `lab3-latency.json`, which a test keeps equal to these: `scripts/chaos-experiment` saves them
//! on a server, and `chaos run` plays them as they are against a server at `--time-scale 1`.
//!
//! Lab 3's hypothesis is the original lab's (`experiment_1.json`): no SNS notification failed,
//! percent in flight within [1, 6] and percent in error within [0, 2], over the last 5 minutes.
//! Each probe reads the measure as a bare number (`Accept: text/plain`) and checks it with a
//! `range` tolerance on the body: a bare list on an HTTP probe would be compared with the HTTP
//! status, not the measure.

use serde_json::{Value, json};

fn configuration() -> Value {
    json!({
        "chaoslab_url": {"type": "env", "key": "CHAOSLAB_URL"},
        "participant_id": {"type": "env", "key": "CHAOSLAB_PARTICIPANT_ID"},
        "pause_s": 360
    })
}

fn secrets() -> Value {
    json!({"chaoslab": {"chaoslab_token": {"type": "env", "key": "CHAOSLAB_TOKEN"}}})
}

fn url(path: &str) -> String {
    format!("${{chaoslab_url}}/api/v1/participants/${{participant_id}}/{path}")
}

fn probe(name: &str, path: &str, range: [f64; 2]) -> Value {
    json!({
        "type": "probe",
        "name": name,
        "tolerance": {"type": "range", "range": range, "target": "body"},
        "provider": {
            "type": "http",
            "method": "GET",
            "url": url(path),
            "headers": {"Authorization": "Bearer ${chaoslab_token}", "Accept": "text/plain"},
            "timeout": 10
        }
    })
}

fn put_fault(name: &str, document: Value) -> Value {
    json!({
        "type": "action",
        "name": name,
        "provider": {
            "type": "http",
            "method": "PUT",
            "url": url("fault-injection"),
            "headers": {"Authorization": "Bearer ${chaoslab_token}", "Content-Type": "application/json"},
            "timeout": 10,
            "arguments": document
        }
    })
}

fn hypothesis() -> Value {
    json!({
        "title": "The pipeline converts what it receives, promptly",
        "probes": [
            probe("sns-notifications-failed", "probes/sns-notifications-failed?minutes=5", [0.0, 0.0]),
            probe("percent-in-flight", "probes/percent-in-flight?minutes=5", [1.0, 6.0]),
            probe("percent-in-error", "probes/percent-in-error?minutes=5", [0.0, 2.0]),
        ]
    })
}

/// Lab 3's hypothesis alone: it should hold at steady state.
pub fn lab3_hypothesis() -> Value {
    json!({
        "version": "1.0.0",
        "title": "Steady state of the ETL pipeline",
        "description": "Checks the original lab's three measures over the last 5 minutes of pipeline time, with no method: it holds when the pipeline is at steady state.",
        "tags": ["chaoslab", "lab3"],
        "configuration": configuration(),
        "secrets": secrets(),
        "steady-state-hypothesis": hypothesis(),
        "method": []
    })
}

/// Lab 3's experiment: latency of 3 to 4 s on half the invocations for 6 minutes.
pub fn lab3_latency() -> Value {
    json!({
        "version": "1.0.0",
        "title": "The pipeline tolerates 3 to 4 seconds of latency in half the invocations",
        "description": "Injects 3000-4000 ms of latency into half the ETL function's invocations, waits 6 minutes of pipeline time, then checks the hypothesis again. The rollback switches the fault off.",
        "tags": ["chaoslab", "lab3", "latency"],
        "configuration": configuration(),
        "secrets": secrets(),
        "steady-state-hypothesis": hypothesis(),
        "method": [
            {
                "type": "action",
                "name": "inject-latency",
                "provider": put_fault("inject-latency", json!({"isEnabled": true, "failureMode": "latency", "rate": 0.5, "minLatency": 3000, "maxLatency": 4000}))["provider"].clone(),
                "pauses": {"after": "${pause_s}"}
            }
        ],
        "rollbacks": [put_fault("switch-the-fault-off", json!({"isEnabled": false}))],
        "extensions": [{
            "name": "chaoslab",
            "stop_conditions": [
                {"name": "error budget", "probe": "percent-in-error", "minutes": 5, "above": 20}
            ]
        }]
    })
}

/// An experiment that switches `document` on for `pause_s` pipeline seconds under lab 3's
/// hypothesis, and off again in its rollback.
fn fault_experiment(
    title: &str,
    description: &str,
    tag: &str,
    document: Value,
    pause_s: u64,
) -> Value {
    let mut configuration = configuration();
    configuration["pause_s"] = json!(pause_s);
    json!({
        "version": "1.0.0",
        "title": title,
        "description": description,
        "tags": ["chaoslab", "lab4", tag],
        "configuration": configuration,
        "secrets": secrets(),
        "steady-state-hypothesis": hypothesis(),
        "method": [
            {
                "type": "action",
                "name": "inject-the-fault",
                "provider": put_fault("inject-the-fault", document)["provider"].clone(),
                "pauses": {"after": "${pause_s}"}
            }
        ],
        "rollbacks": [put_fault("switch-the-fault-off", json!({"isEnabled": false}))]
    })
}

/// Lab 4's first experiment: S3 out of reach for half the invocations, 5 minutes.
pub fn lab4_s3_denylist() -> Value {
    fault_experiment(
        "The pipeline tolerates losing S3 for half the invocations",
        "Blocks the function's calls to S3 (s3.*.amazonaws.com) in half the invocations for 5 minutes of pipeline time. The rollback switches the fault off.",
        "denylist",
        json!({"isEnabled": true, "failureMode": "blacklist", "rate": 0.5, "blacklist": ["s3.*.amazonaws.com"]}),
        300,
    )
}

/// Lab 4's second experiment: half the invocations answer a status code without running.
pub fn lab4_statuscode() -> Value {
    fault_experiment(
        "The pipeline converts every object even when the function answers early",
        "Half the invocations answer {\"statusCode\": 200} without running the handler, for 5 minutes of pipeline time: a success to Lambda, so nothing is retried and nothing reaches the dead-letter queue. The rollback switches the fault off.",
        "statuscode",
        json!({"isEnabled": true, "failureMode": "statuscode", "rate": 0.5, "statusCode": 200}),
        300,
    )
}

/// The ready-made experiments, with a label each.
pub fn all() -> Vec<(&'static str, Value)> {
    vec![
        ("Lab 3: the hypothesis alone", lab3_hypothesis()),
        (
            "Lab 3: latency of 3–4 s in half the invocations",
            lab3_latency(),
        ),
        (
            "Lab 4: S3 out of reach for half the invocations",
            lab4_s3_denylist(),
        ),
        (
            "Lab 4: a fault that hides (status code 200)",
            lab4_statuscode(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::experiment::check;
    use crate::chaos::substitute::{Environment, SELF_URL};

    #[test]
    fn every_ready_made_experiment_checks() {
        let environment = Environment {
            url: SELF_URL.to_owned(),
            token: "t".to_owned(),
            participant: "p-1".to_owned(),
        };
        for (label, experiment) in all() {
            if let Err(problems) = check(&experiment, "p-1", &environment) {
                panic!("{label}: {problems:?}");
            }
        }
    }

    /// `scripts/chaos-experiment` saves lab 3's experiments from these files (no API lists the
    /// ready-made experiments), so they must stay what the experiments page offers.
    #[test]
    fn lab3_experiment_files_are_the_ready_made_ones() {
        for (file, text, experiment) in [
            (
                "chaos/experiments/lab3-hypothesis.json",
                include_str!("../../../chaos/experiments/lab3-hypothesis.json"),
                lab3_hypothesis(),
            ),
            (
                "chaos/experiments/lab3-latency.json",
                include_str!("../../../chaos/experiments/lab3-latency.json"),
                lab3_latency(),
            ),
        ] {
            let written: Value = serde_json::from_str(text)
                .unwrap_or_else(|error| panic!("{file} is not JSON: {error}"));
            assert_eq!(
                written, experiment,
                "{file} differs from templates.rs: rewrite it with serde_json::to_string_pretty"
            );
        }
    }
}
