//! The dead-letter queue: listed with Lambda's attributes without being consumed, and redriven,
//! i.e. handed back to the function, with the accounting balanced at every step and across a
//! crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use chaoslab::backend::embedded::service::EmbeddedBackend;
use chaoslab::backend::embedded::stack::{QueueKind, Stack};
use chaoslab::backend::{Backend, ErrorFilter, FaultParameter};
use serde_json::json;
use support::app::Lab;
use support::{TestPipeline, lab_message, malformed, open_engine, statistic};

/// Past the last of three attempts (at 0, 60 s and 180 s) of everything put before.
const AFTER_RETRIES: i64 = 181_000;

fn backend(pipeline: &TestPipeline) -> EmbeddedBackend {
    EmbeddedBackend::new(Arc::clone(&pipeline.engine))
}

fn put(stack: &Stack, key: &str, body: bytes::Bytes) {
    stack.put_object(key, body, "application/json").unwrap();
}

/// The object keys the dead-letter queue's messages name, sorted.
async fn dead_lettered_keys(backend: &EmbeddedBackend) -> Vec<String> {
    let list = backend.list_dead_letters("alice", 100, None).await.unwrap();
    let mut keys: Vec<String> = list
        .messages
        .into_iter()
        .flat_map(|message| message.object_keys)
        .collect();
    keys.sort();
    keys
}

#[tokio::test(start_paused = true)]
async fn malformed_objects_are_listed_with_lambdas_attributes_without_being_consumed() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let backend = backend(&pipeline);
    let t0 = stack.now();
    for n in 0..3 {
        // A second apart, so they reach the queue in this order.
        pipeline.sleep_until(t0 + 1_000 * n as i64).await;
        put(&stack, &format!("input/bad {n}.json"), malformed(n));
    }
    put(&stack, "input/good.json", lab_message(9));
    pipeline.sleep_until(t0 + 2_000 + AFTER_RETRIES).await;

    let list = backend.list_dead_letters("alice", 20, None).await.unwrap();
    assert_eq!(list.total, 3);
    assert_eq!(list.messages.len(), 3);
    // Newest first: the last malformed object is listed first.
    for (message, n) in list.messages.iter().zip([2, 1, 0]) {
        assert_eq!(message.object_keys, [format!("input/bad {n}.json")]);
        assert_eq!(message.error_code.as_deref(), Some("200"));
        assert!(
            message
                .error_message
                .as_deref()
                .unwrap()
                .starts_with(&format!(
                    "cannot convert s3://{}/input/bad {n}.json",
                    stack.names().bucket
                )),
            "{message:?}"
        );
        assert_eq!(message.request_id.as_deref().map(str::len), Some(36));
        assert!(message.sent_at >= t0 + 180_000, "{message:?}");
        assert!(message.body.contains("ObjectCreated:Put"), "{message:?}");
    }
    // Listing consumes nothing: the same messages again, all still visible.
    let again = backend.list_dead_letters("alice", 20, None).await.unwrap();
    assert_eq!(again, list);
    assert_eq!(stack.queue_depth(QueueKind::DeadLetter), (3, 0));
    let first = backend.list_dead_letters("alice", 1, None).await.unwrap();
    assert_eq!((first.total, first.messages.len()), (3, 1));
    assert_eq!(first.messages[0], list.messages[0], "newest first");
}

#[tokio::test(start_paused = true)]
async fn a_redrive_converts_what_a_fault_failed_and_malformed_objects_come_back_after_their_retries()
 {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let backend = backend(&pipeline);
    stack
        .set_fault_injection(
            FaultParameter::checked(
                r#"{"isEnabled": true, "failureMode": "exception", "rate": 1, "exceptionMsg": "Injected"}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let t0 = stack.now();
    put(&stack, "input/good-1.json", lab_message(1));
    put(&stack, "input/good-2.json", lab_message(2));
    put(&stack, "input/bad-1.json", malformed(3));
    pipeline.sleep_until(t0 + AFTER_RETRIES).await;
    let before = stack.accounting();
    assert_eq!(
        (before.dead_lettered, before.converted),
        (3, 0),
        "{before:?}"
    );

    // The fault is switched off, and the function has reread its document (5 s).
    stack
        .set_fault_injection(FaultParameter::checked(r#"{"isEnabled": false}"#).unwrap())
        .unwrap();
    pipeline.sleep_until(t0 + AFTER_RETRIES + 6_000).await;
    let t1 = stack.now();
    let redrive = backend.redrive_dead_letters("alice", 1000).await.unwrap();
    assert_eq!((redrive.redriven, redrive.remaining), (3, 0));
    let moved = stack.accounting();
    assert_eq!(
        (moved.published, moved.dead_lettered, moved.in_flight),
        (3, 0, 3),
        "{moved:?}"
    );
    assert!(moved.balances(), "{moved:?}");

    pipeline.sleep_until(t1 + 1_000).await;
    let converted = stack.accounting();
    assert_eq!(
        converted.converted, 2,
        "the good objects converted: {converted:?}"
    );
    assert!(stack.get_object("output/good-1.csv").is_ok());
    assert!(converted.balances());

    // The malformed one fails its three attempts again and comes back, once.
    pipeline.sleep_until(t1 + AFTER_RETRIES).await;
    let after = stack.accounting();
    assert_eq!(
        (
            after.published,
            after.converted,
            after.dead_lettered,
            after.in_flight
        ),
        (3, 2, 1, 0),
        "{after:?}"
    );
    assert_eq!(dead_lettered_keys(&backend).await, ["input/bad-1.json"]);

    // As on AWS: the queue counts the redrive's deletes, the function the events it received.
    pipeline.sleep_until(t1 + AFTER_RETRIES + 60_000).await;
    assert_eq!(
        statistic(&stack, t1, "AWS/SQS/dlq", "NumberOfMessagesDeleted", "Sum"),
        Some(3.0)
    );
    assert_eq!(
        statistic(&stack, t0, "AWS/Lambda", "AsyncEventsReceived", "Sum"),
        Some(3.0 + 3.0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_filter_on_the_error_finds_older_messages_behind_newer_ones_and_counts_them_all() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let backend = backend(&pipeline);
    stack
        .set_fault_injection(
            FaultParameter::checked(
                r#"{"isEnabled": true, "failureMode": "exception", "rate": 1, "exceptionMsg": "Injected by the lab"}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let t0 = stack.now();
    put(&stack, "input/good-1.json", lab_message(1));
    put(&stack, "input/good-2.json", lab_message(2));
    pipeline.sleep_until(t0 + AFTER_RETRIES).await;
    stack
        .set_fault_injection(FaultParameter::checked(r#"{"isEnabled": false}"#).unwrap())
        .unwrap();
    // The function rereads its document within 5 s; then newer failures, of another kind.
    pipeline.sleep_until(t0 + AFTER_RETRIES + 6_000).await;
    let t1 = stack.now();
    for n in 0..4 {
        put(&stack, &format!("input/bad-{n}.json"), malformed(n));
    }
    pipeline.sleep_until(t1 + AFTER_RETRIES).await;

    // The newest two are both malformed: the injected failures are behind them.
    let newest = backend.list_dead_letters("alice", 2, None).await.unwrap();
    assert_eq!((newest.total, newest.matching), (6, 6));
    assert!(
        newest
            .messages
            .iter()
            .all(|message| message.object_keys[0].starts_with("input/bad-")),
        "{newest:?}"
    );
    let filter = ErrorFilter::new("injected BY").unwrap();
    let injected = backend
        .list_dead_letters("alice", 1, Some(&filter))
        .await
        .unwrap();
    assert_eq!((injected.total, injected.matching), (6, 2), "{injected:?}");
    assert_eq!(injected.messages.len(), 1, "at most the limit");
    assert!(
        injected.messages[0]
            .error_message
            .as_deref()
            .unwrap()
            .contains("Injected by the lab"),
        "{injected:?}"
    );
    let all_injected = backend
        .list_dead_letters("alice", 20, Some(&filter))
        .await
        .unwrap();
    let mut keys: Vec<&str> = all_injected
        .messages
        .iter()
        .map(|message| message.object_keys[0].as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["input/good-1.json", "input/good-2.json"]);
    // Listing moved nothing.
    assert_eq!(stack.queue_depth(QueueKind::DeadLetter), (6, 0));
}

#[tokio::test(start_paused = true)]
async fn a_completed_redrive_is_neither_lost_nor_doubled_by_a_crash() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let t0 = stack.now();
    put(&stack, "input/bad-1.json", malformed(1));
    put(&stack, "input/bad-2.json", malformed(2));
    pipeline.sleep_until(t0 + AFTER_RETRIES).await;
    let redrive = backend(&pipeline)
        .redrive_dead_letters("alice", 1)
        .await
        .unwrap();
    assert_eq!((redrive.redriven, redrive.remaining), (1, 1));
    let crashed_at = stack.now();

    // A crash: the engine is dropped without shutting down, and opened again.
    let TestPipeline { dir, engine } = pipeline;
    drop(stack);
    drop(engine);
    tokio::task::yield_now().await;
    let engine = open_engine(dir.path(), Some(crashed_at));
    let pipeline = TestPipeline { dir, engine };
    let stack = pipeline.stack();
    let restored = stack.accounting();
    assert_eq!(
        (restored.dead_lettered, restored.in_flight),
        (1, 1),
        "{restored:?}"
    );
    assert!(restored.balances(), "{restored:?}");
    assert_eq!(stack.queue_depth(QueueKind::DeadLetter), (1, 0));
    assert_eq!(stack.pending_events(), 1);

    pipeline.sleep_until(crashed_at + AFTER_RETRIES).await;
    let after = stack.accounting();
    assert_eq!(
        (after.published, after.dead_lettered, after.in_flight),
        (2, 2, 0),
        "{after:?}"
    );
    assert_eq!(
        dead_lettered_keys(&backend(&pipeline)).await,
        ["input/bad-1.json", "input/bad-2.json"]
    );
}

#[tokio::test(start_paused = true)]
async fn the_api_lists_and_redrives_your_own_dead_letters_and_refuses_bad_counts() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let (other, _) = lab.join_through_api("Grace").await;
    let list = format!("/api/v1/participants/{id}/dead-letters");
    let redrive = format!("/api/v1/participants/{id}/dead-letters/redrive");

    let (status, body) = lab.api(Method::GET, &list, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "total": 0, "matching": 0, "messages": [] }));
    let (status, body) = lab
        .api(Method::POST, &redrive, Some(&token), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "redriven": 0, "remaining": 0 }));

    lab.state
        .backend
        .put_object(&id, "input/bad.json", malformed(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(AFTER_RETRIES as u64)).await;
    let (status, body) = lab
        .api(Method::GET, &format!("{list}?limit=5"), Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 1);
    let message = &body["messages"][0];
    assert_eq!(message["object_keys"], json!(["input/bad.json"]));
    assert_eq!(message["error_code"], "200");
    assert!(message["request_id"].is_string(), "{message}");
    assert!(
        message["error_message"]
            .as_str()
            .unwrap()
            .contains("cannot convert")
    );
    assert!(
        message["sent_at"].as_str().unwrap().ends_with('Z'),
        "{message}"
    );
    // Filtered on the error message, in any case; a blank filter lists everything.
    for (query, matching) in [
        ("error_contains=CANNOT%20convert", 1),
        ("error_contains=Intercepted", 0),
        ("error_contains=%20%20&limit=5", 1),
    ] {
        let (status, body) = lab
            .api(Method::GET, &format!("{list}?{query}"), Some(&token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(
            (&body["total"], &body["matching"]),
            (&json!(1), &json!(matching)),
            "{query}: {body}"
        );
        assert_eq!(
            body["messages"].as_array().unwrap().len(),
            matching,
            "{query}: {body}"
        );
    }

    let (status, body) = lab
        .api(
            Method::POST,
            &redrive,
            Some(&token),
            Some(json!({ "max": 10 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "redriven": 1, "remaining": 0 }));
    let events = lab.events_of(&id);
    assert_eq!(
        events
            .iter()
            .filter(|(kind, _)| kind == "dead_letters_redriven")
            .map(|(_, detail)| detail.as_str())
            .collect::<Vec<_>>(),
        ["1 redriven to the function, 0 left in the dead-letter queue"],
        "recorded once, only when something moved"
    );

    for (query, named) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("lmit=5", "lmit"),
        (
            &*format!("error_contains={}", "x".repeat(201)),
            "error_contains",
        ),
    ] {
        let (status, answer) = lab
            .api(Method::GET, &format!("{list}?{query}"), Some(&token), None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {answer}"
        );
        assert!(
            answer["message"].as_str().unwrap().contains(named),
            "{query}: {answer}"
        );
    }
    for (body, field) in [
        (json!({ "max": 0 }), "max"),
        (json!({ "max": 1001 }), "max"),
        (json!({ "max": "all" }), "max"),
        (json!({ "mx": 1 }), "mx"),
    ] {
        let (status, answer) = lab
            .api(Method::POST, &redrive, Some(&token), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(field),
            "{body}: {answer}"
        );
    }
    let (status, _) = lab
        .api(Method::POST, &redrive, Some(&token), Some(json!([1])))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{other}/dead-letters"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{other}/dead-letters/redrive"),
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
