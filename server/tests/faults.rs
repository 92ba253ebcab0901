//! Fault injection in the embedded engine, through the function's own wrapper, and the API that
//! writes the fault-injection parameter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chaoslab::backend::FaultParameter;
use chaoslab::backend::embedded::stack::{QueueKind, Stack};
use serde_json::json;
use support::app::Lab;
use support::{TestPipeline, lab_message, statistic};

fn fault(document: &str) -> FaultParameter {
    FaultParameter::checked(document).unwrap()
}

async fn dead_letter_errors(stack: &Stack) -> Vec<String> {
    stack
        .receive_messages(QueueKind::DeadLetter, 10, Duration::ZERO)
        .await
        .unwrap()
        .into_iter()
        .map(|message| {
            message
                .attributes
                .into_iter()
                .find(|attribute| attribute.name == "ErrorMessage")
                .unwrap()
                .string_value
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_labs_own_partial_document_switches_every_fault_off() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .set_fault_injection(fault(r#"{"isEnabled": false}"#))
        .unwrap();
    let t0 = stack.now();
    stack
        .put_object("input/a.json", lab_message(1), "application/json")
        .unwrap();
    pipeline.sleep_until(t0 + 1_000).await;
    assert_eq!(stack.accounting().converted, 1);
}

#[tokio::test(start_paused = true)]
async fn an_exception_fails_every_attempt_and_reaches_the_dead_letter_queue_with_its_message() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .set_fault_injection(fault(
            r#"{"isEnabled": true, "failureMode": "exception", "rate": 1, "exceptionMsg": "Injected by the lab"}"#,
        ))
        .unwrap();
    let t0 = stack.now();
    stack
        .put_object("input/a.json", lab_message(1), "application/json")
        .unwrap();
    // Attempts at t0, t0 + 60 s and t0 + 180 s, all failing at once.
    pipeline.sleep_until(t0 + 180_500).await;
    let accounting = stack.accounting();
    assert_eq!(accounting.dead_lettered, 1, "{accounting:?}");
    assert!(accounting.balances());
    let errors = dead_letter_errors(&stack).await;
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("Injected by the lab"), "{errors:?}");
    assert_eq!(
        statistic(&stack, t0, "chaoslab", "InjectedFaults", "Sum"),
        Some(3.0),
        "every attempt is counted as a fault"
    );
}

#[tokio::test(start_paused = true)]
async fn a_status_code_answer_drops_the_object_and_the_accounting_still_balances() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .set_fault_injection(fault(
            r#"{"isEnabled": true, "failureMode": "statuscode", "rate": 1, "statusCode": 502}"#,
        ))
        .unwrap();
    let t0 = stack.now();
    for n in 0..5 {
        stack
            .put_object(
                &format!("input/{n}.json"),
                lab_message(n),
                "application/json",
            )
            .unwrap();
    }
    pipeline.sleep_until(t0 + 5_000).await;
    let accounting = stack.accounting();
    assert_eq!(accounting.dropped, 5, "{accounting:?}");
    assert_eq!(accounting.converted, 0);
    assert_eq!(accounting.in_flight, 0);
    assert!(accounting.balances());
    assert_eq!(
        statistic(&stack, t0, "AWS/Lambda", "Errors", "Sum"),
        None,
        "an answered status code is a success to Lambda"
    );
}

#[tokio::test(start_paused = true)]
async fn a_denylisted_s3_host_is_intercepted_only_while_the_fault_is_on() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .set_fault_injection(fault(
            r#"{"isEnabled": true, "failureMode": "denylist", "rate": 1, "denylist": ["s3.*.amazonaws.com"]}"#,
        ))
        .unwrap();
    let t0 = stack.now();
    stack
        .put_object("input/a.json", lab_message(1), "application/json")
        .unwrap();
    pipeline.sleep_until(t0 + 180_500).await;
    let errors = dead_letter_errors(&stack).await;
    let host = format!("{}.s3.us-east-1.amazonaws.com", stack.names().bucket);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains(&format!("Intercepted network connection to {host}")),
        "{errors:?}"
    );
    // Off again: after the wrapper's cache (5 s) the next object converts.
    stack
        .set_fault_injection(fault(r#"{"isEnabled": false}"#))
        .unwrap();
    pipeline.sleep_until(t0 + 190_000).await;
    stack
        .put_object("input/b.json", lab_message(2), "application/json")
        .unwrap();
    pipeline.sleep_until(t0 + 191_000).await;
    assert_eq!(stack.accounting().converted, 1);
}

#[tokio::test(start_paused = true)]
async fn a_document_the_function_cannot_follow_injects_nothing() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .set_fault_injection(FaultParameter::stored(
            r#"{"isEnabled": true, "failureMode": "explode"}"#,
        ))
        .unwrap();
    let t0 = stack.now();
    stack
        .put_object("input/a.json", lab_message(1), "application/json")
        .unwrap();
    pipeline.sleep_until(t0 + 1_000).await;
    assert_eq!(stack.accounting().converted, 1);
}

#[tokio::test]
async fn the_api_reads_and_writes_the_document_and_refuses_mistakes_by_field() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let (other, _) = lab.join_through_api("Grace").await;
    let path = format!("/api/v1/participants/{id}/fault-injection");

    let (status, view) = lab.api(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["readable"], true);
    assert_eq!(view["enabled"], false);
    assert_eq!(view["document"]["isEnabled"], false);

    let (status, view) = lab
        .api(
            Method::PUT,
            &path,
            Some(&token),
            Some(json!({ "isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 1000, "maxLatency": 5000 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["enabled"], true);
    assert_eq!(view["mode"], "latency");
    assert!(
        view["summary"].as_str().unwrap().contains("1000–5000 ms"),
        "{view}"
    );

    for (body, field) in [
        (
            json!({ "isEnabled": true, "failureMode": "explode" }),
            "failureMode",
        ),
        (json!({ "rate": 1.5 }), "rate"),
        (json!({ "rate": "half" }), "rate"),
        (
            json!({ "minLatency": 5000, "maxLatency": 1000 }),
            "minLatency",
        ),
        (json!({ "denylist": ["s3.(amazonaws"] }), "denylist"),
        (json!({ "failuremode": "latency" }), "failuremode"),
        (
            json!({ "denylist": (0..21).map(|n| format!("host{n}")).collect::<Vec<_>>() }),
            "denylist",
        ),
        (json!({ "exceptionMsg": "x".repeat(5000) }), "4"),
    ] {
        let (status, answer) = lab.api(Method::PUT, &path, Some(&token), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["code"], "invalid_fault_document", "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(field),
            "{field}: {answer}"
        );
    }
    let (status, _) = lab
        .api(Method::PUT, &path, Some(&token), Some(json!([true])))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Nothing of that was stored.
    let (_, view) = lab.api(Method::GET, &path, Some(&token), None).await;
    assert_eq!(view["document"]["maxLatency"], 5000);
    // Someone else's parameter is out of reach.
    let (status, _) = lab
        .api(
            Method::PUT,
            &format!("/api/v1/participants/{other}/fault-injection"),
            Some(&token),
            Some(json!({ "isEnabled": true })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        lab.events_of(&id)
            .iter()
            .filter(|(kind, _)| kind == "fault_changed")
            .count(),
        1
    );
}

#[tokio::test]
async fn the_api_changes_the_function_within_lambdas_limits() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let path = format!("/api/v1/participants/{id}/function");
    let (status, body) = lab
        .api(
            Method::PUT,
            &path,
            Some(&token),
            Some(json!({ "timeout_seconds": 10, "reserved_concurrency": 2 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["timeout_seconds"], 10.0);
    assert_eq!(body["reserved_concurrency"], 2);
    assert_eq!(body["memory_mb"], 128, "kept");
    for (change, field) in [
        (json!({ "timeout_seconds": 901 }), "timeout_seconds"),
        (json!({ "memory_mb": 64 }), "memory_mb"),
        (
            json!({ "maximum_retry_attempts": 3 }),
            "maximum_retry_attempts",
        ),
        (
            json!({ "maximum_event_age_seconds": 59 }),
            "maximum_event_age_seconds",
        ),
        (
            json!({ "reserved_concurrency": 1001 }),
            "reserved_concurrency",
        ),
    ] {
        let (status, answer) = lab
            .api(Method::PUT, &path, Some(&token), Some(change))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(field),
            "{field}: {answer}"
        );
    }
    let (_, body) = lab
        .api(
            Method::PUT,
            &path,
            Some(&token),
            Some(json!({ "reserved_concurrency": "none" })),
        )
        .await;
    assert_eq!(body["reserved_concurrency"], serde_json::Value::Null);
    assert_eq!(body["timeout_seconds"], 10.0, "nothing else changed");
}

#[tokio::test]
async fn the_instructor_switches_every_fault_off_at_once() {
    let lab = Lab::open();
    let (ada, ada_token) = lab.join_through_api("Ada").await;
    let (grace, grace_token) = lab.join_through_api("Grace").await;
    let (_, _) = lab.join_through_api("Linus").await;
    for (id, token) in [(&ada, &ada_token), (&grace, &grace_token)] {
        let (status, _) = lab
            .api(
                Method::PUT,
                &format!("/api/v1/participants/{id}/fault-injection"),
                Some(token),
                Some(json!({ "isEnabled": true, "failureMode": "exception", "rate": 0.5 })),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, outcome) = lab
        .api(
            Method::POST,
            "/api/v1/participants/actions",
            Some(support::app::INSTRUCTOR),
            Some(json!({ "action": "disable_faults" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome, json!({ "done": 2, "skipped": 1, "failed": 0 }));
    for (id, token) in [(&ada, &ada_token), (&grace, &grace_token)] {
        let (_, view) = lab
            .api(
                Method::GET,
                &format!("/api/v1/participants/{id}/fault-injection"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(view["enabled"], false, "{view}");
    }

    // The overview's button does the same.
    let (status, _) = lab
        .api(
            Method::PUT,
            &format!("/api/v1/participants/{ada}/fault-injection"),
            Some(&ada_token),
            Some(json!({ "isEnabled": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let instructor = lab.log_in().await;
    let (status, headers, _) = lab
        .act(&instructor, "action=disable_faults&scope=all")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        support::app::location(&headers).contains("done=faults_off"),
        "{headers:?}"
    );
    let (_, view) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{ada}/fault-injection"),
            Some(&ada_token),
            None,
        )
        .await;
    assert_eq!(view["enabled"], false);
}

/// What 30 pipeline minutes of the lab's traffic (2 objects/s, 1% malformed) came to under a fault.
struct Held {
    objects: u64,
    invocations: f64,
    dead_letters: f64,
    /// Where the objects ended up.
    accounting: chaoslab::backend::Accounting,
    /// The dashboard's "Percent in error" widget over the whole run, as one period.
    percent_in_error: f64,
    /// Pipeline milliseconds from the first fault-caused dead-lettered object's upload to its
    /// dead-letter message, and that message's error (none if no good object reached the DLQ).
    first_fault_delay: Option<(i64, String)>,
}

/// The dashboard's "Percent in error" widget, read as one period from `from` to now: the same
/// expression the participant sees, over the whole run.
async fn dashboard_percent_in_error(stack: &Stack, from: i64) -> f64 {
    use chaoslab::dashboard::{Dashboard, DashboardNames, TimeRange};
    let dashboard = Dashboard::for_stack(&DashboardNames::from(stack.names())).unwrap();
    let widget = dashboard.widget("Percent in error").unwrap();
    let start = from - from.rem_euclid(60_000);
    let range = TimeRange {
        start,
        end: start + 86_400_000,
        period: Some(86_400),
    };
    let data = widget.query(stack, range).await.unwrap();
    let series = data.series.iter().find(|series| series.id == "e1").unwrap();
    assert_eq!(series.values.len(), 1, "{series:?}");
    series.values[0]
}

/// Dead-letter messages per object when a fault fails each attempt with probability `p`: a good
/// object (99%) needs all three attempts to fail, a malformed one (1%) always gets there.
fn expected_dead_letters_per_object(p: f64) -> f64 {
    0.99 * p.powi(3) + 0.01
}

/// CSV objects per object under the same fault: the good objects that an attempt converted.
fn expected_csv_per_object(p: f64) -> f64 {
    0.99 * (1.0 - p.powi(3))
}

/// Publishes the lab's traffic for 30 pipeline minutes under `document`, then waits for every
/// retry to end.
async fn hold(document: &str) -> Held {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack.set_fault_injection(fault(document)).unwrap();
    let t0 = stack.now();
    let objects: u64 = 30 * 60 * 2;
    let mut uploaded = std::collections::HashMap::new();
    for n in 0..objects {
        pipeline.sleep_until(t0 + 500 * n as i64).await;
        let body = if n % 100 == 99 {
            support::malformed(n)
        } else {
            lab_message(n)
        };
        let key = format!("input/{n}.json");
        uploaded.insert(n, stack.now());
        stack.put_object(&key, body, "application/json").unwrap();
    }
    // The last attempts: up to 3 s + 60 s + 3 s + 120 s + 3 s after the last upload.
    pipeline
        .sleep_until(t0 + 500 * objects as i64 + 200_000)
        .await;
    let accounting = stack.accounting();
    assert_eq!(accounting.in_flight, 0, "{accounting:?}");
    assert!(accounting.balances(), "{accounting:?}");
    let mut first_fault_delay = None;
    loop {
        let messages = stack
            .receive_messages(QueueKind::DeadLetter, 10, Duration::ZERO)
            .await
            .unwrap();
        if messages.is_empty() || first_fault_delay.is_some() {
            break;
        }
        for message in messages {
            let event: serde_json::Value = serde_json::from_str(&message.body).unwrap();
            let key = event["Records"][0]["s3"]["object"]["key"].as_str().unwrap();
            let n: u64 = key
                .trim_start_matches("input/")
                .trim_end_matches(".json")
                .parse()
                .unwrap();
            let error = message
                .attributes
                .iter()
                .find(|attribute| attribute.name == "ErrorMessage")
                .unwrap()
                .string_value
                .clone();
            if n % 100 != 99 && first_fault_delay.is_none() {
                let sent: i64 = message.sent_timestamp;
                first_fault_delay = Some((sent - uploaded[&n], error));
            }
        }
    }
    Held {
        objects,
        invocations: statistic(&stack, t0, "AWS/Lambda", "Invocations", "Sum").unwrap(),
        dead_letters: accounting.dead_lettered as f64,
        accounting,
        percent_in_error: dashboard_percent_in_error(&stack, t0).await,
        first_fault_delay,
    }
}

#[tokio::test(start_paused = true)]
async fn latency_of_three_to_four_seconds_at_half_the_invocations_for_thirty_minutes() {
    let held = hold(
        r#"{"isEnabled": true, "failureMode": "latency", "rate": 0.5, "minLatency": 3000, "maxLatency": 4000}"#,
    )
    .await;
    let per_object = held.invocations / held.objects as f64;
    let dead_per_object = held.dead_letters / held.objects as f64;
    eprintln!(
        "{per_object:.4} invocations and {dead_per_object:.4} dead letters per object; first fault-caused dead letter after {} ms",
        held.first_fault_delay.as_ref().unwrap().0
    );
    // Every drawn latency reaches the 3 s timeout, so an attempt fails with p = 0.5 (and always
    // for a malformed object): 0.99 (1 + p + p²) + 0.01 × 3 = 1.7625 invocations per object,
    // 0.99 p³ + 0.01 = 0.134 dead letters per object.
    assert!((per_object - 1.76).abs() <= 0.04, "{per_object}");
    assert!(
        (dead_per_object - 0.134).abs() <= 0.015,
        "{dead_per_object}"
    );
    // The dashboard's percent in error is DLQ ÷ (CSV + DLQ): every object ends in one of the two.
    let expected = 100.0 * expected_dead_letters_per_object(0.5)
        / (expected_csv_per_object(0.5) + expected_dead_letters_per_object(0.5));
    eprintln!(
        "percent in error {:.2} (expected {expected:.2})",
        held.percent_in_error
    );
    assert!(
        (held.percent_in_error - expected).abs() <= 1.5,
        "{} vs {expected}",
        held.percent_in_error
    );
    let (delay, error) = held.first_fault_delay.unwrap();
    // Attempts at 0, 63 s and 186 s, each timing out 3 s in.
    assert!((delay - 189_000).abs() <= 1_000, "{delay}");
    assert_eq!(error, "Task timed out after 3.00 seconds");
}

#[tokio::test(start_paused = true)]
async fn an_exception_at_half_the_invocations_counts_as_latency_does_but_fails_at_once() {
    let held = hold(
        r#"{"isEnabled": true, "failureMode": "exception", "rate": 0.5, "exceptionMsg": "Injected"}"#,
    )
    .await;
    let per_object = held.invocations / held.objects as f64;
    let dead_per_object = held.dead_letters / held.objects as f64;
    eprintln!(
        "{per_object:.4} invocations and {dead_per_object:.4} dead letters per object; first fault-caused dead letter after {} ms",
        held.first_fault_delay.as_ref().unwrap().0
    );
    assert!((per_object - 1.76).abs() <= 0.04, "{per_object}");
    assert!(
        (dead_per_object - 0.134).abs() <= 0.015,
        "{dead_per_object}"
    );
    let (delay, error) = held.first_fault_delay.unwrap();
    // Attempts at 0, 60 s and 180 s, each failing at once.
    assert!((delay - 180_000).abs() <= 1_000, "{delay}");
    assert!(error.contains("Injected"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn an_exception_at_a_tenth_of_the_invocations_is_mostly_absorbed_by_the_retries() {
    let held = hold(
        r#"{"isEnabled": true, "failureMode": "exception", "rate": 0.1, "exceptionMsg": "Injected"}"#,
    )
    .await;
    let dead_per_object = held.dead_letters / held.objects as f64;
    eprintln!("{dead_per_object:.4} dead letters per object");
    // 0.99 × 0.1³ + 0.01 = 0.011.
    assert!(
        (dead_per_object - 0.011).abs() <= 0.003,
        "{dead_per_object}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_s3_denylist_at_half_the_invocations_counts_as_an_exception_and_names_the_host() {
    let held = hold(
        r#"{"isEnabled": true, "failureMode": "blacklist", "rate": 0.5, "blacklist": ["s3.*.amazonaws.com"]}"#,
    )
    .await;
    let per_object = held.invocations / held.objects as f64;
    let dead_per_object = held.dead_letters / held.objects as f64;
    eprintln!("{per_object:.4} invocations and {dead_per_object:.4} dead letters per object");
    assert!((per_object - 1.76).abs() <= 0.04, "{per_object}");
    assert!(
        (dead_per_object - 0.134).abs() <= 0.015,
        "{dead_per_object}"
    );
    let (delay, error) = held.first_fault_delay.unwrap();
    // The intercepted GetObject fails at once, like an exception: attempts at 0, 60 s, 180 s.
    assert!((delay - 180_000).abs() <= 1_000, "{delay}");
    assert!(
        error.contains("Intercepted network connection to chaos-bucket-")
            && error.contains(".s3.us-east-1.amazonaws.com"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_status_code_at_half_the_invocations_hides_half_the_objects_from_the_error_ratio() {
    let held =
        hold(r#"{"isEnabled": true, "failureMode": "statuscode", "rate": 0.5, "statusCode": 200}"#)
            .await;
    let accounting = held.accounting;
    assert!(accounting.balances(), "{accounting:?}");
    let dropped = accounting.dropped as f64 / held.objects as f64;
    let per_object = held.invocations / held.objects as f64;
    eprintln!(
        "{dropped:.4} of the objects dropped, {per_object:.4} invocations per object, {} dead letters, percent in error {:.3}",
        accounting.dead_lettered, held.percent_in_error
    );
    // Every object's first draw answers with p = 0.5; a malformed object that is not answered
    // fails and is drawn again: 0.99 × 0.5 + 0.01 × (0.5 + 0.25 + 0.125) = 0.504 dropped,
    // 0.99 + 0.01 × 1.75 = 1.0075 invocations per object. σ of 3,600 draws is 0.0083.
    assert!((dropped - 0.504).abs() <= 0.03, "{dropped}");
    assert!((per_object - 1.0075).abs() <= 0.01, "{per_object}");
    // Only a malformed object answered on none of its three attempts reaches the DLQ:
    // 0.01 × 0.125 per object, 4.5 of 3,600 expected. The error ratio stays near 0.25% while
    // half the objects vanish.
    assert!(accounting.dead_lettered <= 12, "{accounting:?}");
    assert!(
        held.percent_in_error < 0.7,
        "percent in error {}",
        held.percent_in_error
    );
    assert_eq!(
        accounting.converted + accounting.dead_lettered + accounting.dropped,
        held.objects
    );
}
