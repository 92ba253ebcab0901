//! `POST /api/v1/participants/{id}/experiments/import`: the original lab's Chaos Toolkit
//! experiments, mapped onto this server's probes and fault-injection API, with their
//! tolerances' meaning kept; anything else refused by name, with nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::app::Lab;

/// The original lab's experiment 1, trimmed (`tests/fixtures/chaos/original-experiment-1.json`).
fn original_experiment_1() -> Value {
    let text = include_str!("fixtures/chaos/original-experiment-1.json");
    serde_json::from_str(text).unwrap()
}

async fn import(lab: &Lab, id: &str, token: &str, body: Value) -> (StatusCode, Value) {
    lab.api(
        Method::POST,
        &format!("/api/v1/participants/{id}/experiments/import"),
        Some(token),
        Some(body),
    )
    .await
}

/// The activity named `name` in the converted experiment.
fn activity<'a>(experiment: &'a Value, name: &str) -> &'a Value {
    let hypothesis = experiment["steady-state-hypothesis"]["probes"].as_array();
    let method = experiment["method"].as_array();
    let rollbacks = experiment["rollbacks"].as_array();
    [hypothesis, method, rollbacks]
        .into_iter()
        .flatten()
        .flatten()
        .find(|activity| activity["name"] == name)
        .unwrap_or_else(|| panic!("no activity {name:?} in {experiment}"))
}

#[tokio::test]
async fn the_original_experiment_1_imports_with_every_activity_mapped_and_its_tolerances_kept() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let (status, answer) = import(
        &lab,
        &id,
        &token,
        json!({"experiment": original_experiment_1()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["refused"], json!([]));
    let mapped: Vec<&str> = answer["mapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["activity"].as_str().unwrap())
        .collect();
    for name in [
        "zero-sns-errors",
        "messages-in-flight",
        "normal-error-rates",
        "enable-latency",
        "disable-failures",
        "configuration.s3_bucket",
        "configuration.sns_topic",
        "configuration.lambda_function",
    ] {
        assert!(mapped.contains(&name), "{name} not in {mapped:?}");
    }
    let experiment = &answer["experiment"];
    let base = "${chaoslab_url}/api/v1/participants/${participant_id}";

    // `tolerance: 0` on chaosaws's value meant "no failed notification": a JSON path on the
    // value, since a bare 0 on an HTTP answer would compare its status.
    let sns = activity(experiment, "zero-sns-errors");
    assert_eq!(sns["provider"]["type"], "http");
    assert_eq!(
        sns["provider"]["url"],
        format!("{base}/probes/sns-notifications-failed?minutes=15"),
        "chaosaws's duration of 900 s"
    );
    assert_eq!(
        sns["tolerance"],
        json!({"type": "jsonpath", "target": "body", "path": "$.value", "expect": 0})
    );
    assert_eq!(
        sns["provider"]["headers"]["Authorization"],
        "Bearer ${chaoslab_token}"
    );

    // The ranges read the metric's value (the CLI's stdout): a range on the text/plain body. (The
    // API reads numbers by value, so 1.0 arrives as 1; chaoslib's Decimal compares them alike.)
    for (name, probe, range) in [
        ("messages-in-flight", "percent-in-flight", json!([1, 6])),
        ("normal-error-rates", "percent-in-error", json!([0, 2])),
    ] {
        let converted = activity(experiment, name);
        assert_eq!(
            converted["provider"]["url"],
            format!("{base}/probes/{probe}?minutes=5"),
            "{name}"
        );
        assert_eq!(converted["provider"]["headers"]["Accept"], "text/plain");
        assert_eq!(
            converted["tolerance"],
            json!({"type": "range", "range": range, "target": "body"}),
            "{name}"
        );
    }

    // The fault document goes to the participant's own parameter; the pause is kept.
    let enable = activity(experiment, "enable-latency");
    assert_eq!(enable["provider"]["method"], "PUT");
    assert_eq!(enable["provider"]["url"], format!("{base}/fault-injection"));
    assert_eq!(
        enable["provider"]["arguments"],
        json!({"isEnabled": true, "failureMode": "latency", "rate": 0.5,
               "minLatency": 3000, "maxLatency": 4000})
    );
    assert_eq!(
        enable["provider"]["headers"]["Content-Type"],
        "application/json"
    );
    assert_eq!(enable["pauses"], json!({"after": 360}));
    let disable = activity(experiment, "disable-failures");
    assert_eq!(
        disable["provider"]["arguments"],
        json!({"isEnabled": false})
    );

    assert_eq!(
        experiment["configuration"],
        json!({"chaoslab_url": {"type": "env", "key": "CHAOSLAB_URL"}, "participant_id": id})
    );
    assert_eq!(
        experiment["secrets"],
        json!({"chaoslab": {"chaoslab_token": {"type": "env", "key": "CHAOSLAB_TOKEN"}}})
    );
    for key in ["title", "description", "tags", "version"] {
        assert_eq!(experiment[key], original_experiment_1()[key], "{key}");
    }

    // What the probes answer is what the tolerances read: a bare number as text, and JSON
    // with the value at $.value.
    let (status, answer) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/probes/sns-notifications-failed?minutes=15"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((status, &answer["value"]), (StatusCode::OK, &json!(0.0)));
    // And the method's document is one the server accepts.
    let (status, answer) = lab
        .api(
            Method::PUT,
            &format!("/api/v1/participants/{id}/fault-injection"),
            Some(&token),
            Some(enable["provider"]["arguments"].clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn a_foreign_activity_is_refused_by_name_and_nothing_is_stored() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let fault_path = format!("/api/v1/participants/{id}/fault-injection");
    let (_, fault_before) = lab.api(Method::GET, &fault_path, Some(&token), None).await;
    let events_before = lab.events_of(&id);

    let mut experiment = original_experiment_1();
    experiment["method"].as_array_mut().unwrap().push(json!({
        "type": "action",
        "name": "copy-files",
        "provider": {"type": "process", "path": "./submit_input_files.sh", "arguments": "${s3_bucket} 300"}
    }));
    experiment["rollbacks"].as_array_mut().unwrap().push(json!({
        "type": "action",
        "name": "lower-concurrency",
        "provider": {"type": "python", "module": "chaosaws.awslambda.actions",
                     "func": "put_function_concurrency", "arguments": {"concurrent_executions": 1}}
    }));
    let (status, answer) = import(&lab, &id, &token, json!({"experiment": experiment})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["code"], "import_refused");
    let refused: Vec<&str> = answer["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["activity"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["copy-files", "lower-concurrency"], "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("copy-files") && message.contains("lower-concurrency"),
        "{message}"
    );
    let reason = answer["refused"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("never runs a process"), "{reason}");
    // What could be mapped is still said.
    assert!(
        answer["mapped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["activity"] == "enable-latency"),
        "{answer}"
    );
    // Nothing happened: no fault written, no event recorded.
    let (_, fault_after) = lab.api(Method::GET, &fault_path, Some(&token), None).await;
    assert_eq!(fault_before, fault_after);
    assert_eq!(lab.events_of(&id), events_before);
}

#[tokio::test]
async fn metric_queries_sent_as_files_are_recognised_by_their_expression() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let sum = |id: &str, namespace: &str, metric: &str, dimension: &str, value: &str| {
        json!({"Id": id, "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": metric,
               "Dimensions": [{"Name": dimension, "Value": value}]}, "Period": 600, "Stat": "Sum"},
               "ReturnData": false})
    };
    let invocations = sum(
        "invokes",
        "AWS/Lambda",
        "Invocations",
        "FunctionName",
        "ChaosTransformer-x",
    );
    let errors = sum(
        "errs",
        "AWS/SQS",
        "NumberOfMessagesSent",
        "QueueName",
        "chaos-error-queue-x",
    );
    // The in-error file, under another name, written as 100 * errs / invokes.
    let mut experiment = original_experiment_1();
    let probe = &mut experiment["steady-state-hypothesis"]["probes"][2]["provider"]["arguments"];
    *probe = json!(
        probe
            .as_str()
            .unwrap()
            .replace("steadyStateError.json", "mine.json")
    );
    let files = json!({"mine.json": [
        {"Id": "pct", "Expression": "100 * errs / invokes"}, invocations, errors
    ]});
    let (status, answer) = import(
        &lab,
        &id,
        &token,
        json!({"experiment": experiment, "files": files}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        activity(&answer["experiment"], "normal-error-rates")["provider"]["url"],
        "${chaoslab_url}/api/v1/participants/${participant_id}/probes/percent-in-error?minutes=10",
        "the queries' Period of 600 s"
    );

    // An expression that is neither measure is refused, saying so.
    let files = json!({"mine.json": [
        {"Id": "pct", "Expression": "errs / invokes"}, invocations, errors
    ]});
    let (status, answer) = import(
        &lab,
        &id,
        &token,
        json!({"experiment": experiment, "files": files}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["refused"][0]["activity"], "normal-error-rates");
    assert!(
        answer["refused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("errs / invokes"),
        "{answer}"
    );

    // A file that was not sent, under a name the original lab never used, is refused.
    let (status, answer) = import(&lab, &id, &token, json!({"experiment": experiment})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["refused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("`files`"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_malformed_experiment_is_refused_naming_the_field_and_others_are_not_found() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let (grace, _) = lab.join_through_api("Grace").await;
    let mut experiment = original_experiment_1();
    experiment.as_object_mut().unwrap().remove("title");
    let (status, answer) = import(&lab, &id, &token, json!({"experiment": experiment})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["code"], "invalid_experiment");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("experiment.title"),
        "{answer}"
    );
    let (status, answer) = import(&lab, &id, &token, json!({"experiments": {}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("experiments"),
        "{answer}"
    );
    let (status, _) = import(
        &lab,
        &grace,
        &token,
        json!({"experiment": original_experiment_1()}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
