//! The embedded pipeline keeps AWS's semantics: retries, timeouts, throttling, event age, the
//! dead-letter queue and SQS visibility. Runs on paused tokio time: minutes take milliseconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use chaoslab::backend::FaultParameter;
use chaoslab::backend::embedded::function::FunctionConfig;
use chaoslab::backend::embedded::stack::QueueKind;
use support::{TestPipeline, invocations, lab_message, malformed};

#[tokio::test(start_paused = true)]
async fn malformed_object_reaches_dlq_after_three_attempts() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let t0 = stack.now();
    stack
        .put_object("input/bad.json", malformed(1), "application/json")
        .unwrap();

    // First attempt at t0, second at t0 + 60 s, third at t0 + 180 s.
    let checkpoints = [
        (59_900, 1, 0),
        (60_100, 2, 0),
        (179_900, 2, 0),
        (180_100, 3, 1),
    ];
    for (offset, attempts, dead_letters) in checkpoints {
        pipeline.sleep_until(t0 + offset).await;
        assert_eq!(
            invocations(&stack, t0),
            attempts,
            "attempts at t0 + {offset} ms"
        );
        assert_eq!(
            stack.accounting().dead_lettered,
            dead_letters,
            "DLQ at t0 + {offset} ms"
        );
    }

    let messages = stack
        .receive_messages(QueueKind::DeadLetter, 10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    // The event arrives unmodified: the S3 notification for the object.
    let event: serde_json::Value = serde_json::from_str(&message.body).unwrap();
    assert_eq!(event["Records"][0]["s3"]["object"]["key"], "input/bad.json");
    assert_eq!(event["Records"][0]["eventName"], "ObjectCreated:Put");
    let attribute = |name: &str| {
        message
            .attributes
            .iter()
            .find(|attribute| attribute.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(attribute("RequestID").data_type, "String");
    assert_eq!(attribute("RequestID").string_value.len(), 36);
    assert_eq!(attribute("ErrorCode").data_type, "Number");
    assert_eq!(attribute("ErrorMessage").data_type, "String");
    let error = &attribute("ErrorMessage").string_value;
    assert!(
        error.contains("input/bad.json") && error.contains("invalid JSON at line 1 column 2"),
        "{error}"
    );
    let accounting = stack.accounting();
    assert_eq!(
        (
            accounting.published,
            accounting.converted,
            accounting.in_flight
        ),
        (1, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_good_object_becomes_a_csv_notification_in_the_sns_envelope() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .put_object(
            "input/data_object_msg-7.json",
            lab_message(7),
            "application/json",
        )
        .unwrap();
    let messages = stack
        .receive_messages(QueueKind::Csv, 10, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    let envelope: serde_json::Value = serde_json::from_str(&messages[0].body).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], stack.names().topic_arn);
    let event: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(
        event["Records"][0]["s3"]["object"]["key"],
        "output/data_object_msg-7.csv"
    );
    assert_eq!(
        event["Records"][0]["s3"]["bucket"]["name"],
        stack.names().bucket
    );
    let csv = stack.get_object("output/data_object_msg-7.csv").unwrap();
    assert_eq!(csv.content_type, "text/csv");
    assert!(
        csv.body
            .starts_with(b"symbol,messageId,value,objectName,submissionDate,author,version\n")
    );
    let accounting = stack.accounting();
    assert_eq!(
        (
            accounting.published,
            accounting.converted,
            accounting.in_flight
        ),
        (1, 1, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn keys_with_spaces_arrive_form_url_encoded_and_convert() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .put_object("input/my report é.json", lab_message(1), "application/json")
        .unwrap();
    pipeline.sleep(Duration::from_secs(1)).await;
    assert!(stack.get_object("output/my report é.csv").is_ok());
    let messages = stack
        .receive_messages(QueueKind::Csv, 1, Duration::ZERO)
        .await
        .unwrap();
    let envelope: serde_json::Value = serde_json::from_str(&messages[0].body).unwrap();
    let event: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(
        event["Records"][0]["s3"]["object"]["key"],
        "output/my+report+%C3%A9.csv"
    );
}

#[tokio::test(start_paused = true)]
async fn a_handler_slower_than_the_timeout_times_out_and_is_retried() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .set_fault_injection(
            FaultParameter::checked(
                r#"{"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 4000, "maxLatency": 4000}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let t0 = stack.now();
    stack
        .put_object("input/slow.json", lab_message(1), "application/json")
        .unwrap();
    // Timed out at t0 + 3 s; retried one minute later, at t0 + 63 s, which times out at t0 + 66 s.
    // An attempt's metrics are reported when it ends, stamped with its start.
    pipeline.sleep_until(t0 + 3_100).await;
    assert_eq!(invocations(&stack, t0), 1);
    assert_eq!(stack.accounting().in_flight, 1);
    pipeline.sleep_until(t0 + 65_900).await;
    assert_eq!(invocations(&stack, t0), 1);
    pipeline.sleep_until(t0 + 66_100).await;
    assert_eq!(invocations(&stack, t0), 2);
    pipeline.sleep_until(t0 + 3 * 3_000 + 180_000 + 100).await;
    let messages = stack
        .receive_messages(QueueKind::DeadLetter, 10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    let error = messages[0]
        .attributes
        .iter()
        .find(|a| a.name == "ErrorMessage")
        .unwrap();
    assert_eq!(error.string_value, "Task timed out after 3.00 seconds");
    // Lambda's Duration for a timed-out attempt is the timeout.
    let maximum = support::statistic(&stack, t0, "AWS/Lambda", "Duration", "Maximum");
    assert_eq!(maximum, Some(3_000.0));
    assert_eq!(
        support::statistic(&stack, t0, "AWS/Lambda", "Errors", "Sum"),
        Some(3.0)
    );
}

#[tokio::test(start_paused = true)]
async fn raising_the_timeout_lets_the_slow_handler_succeed() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .set_fault_injection(
            FaultParameter::checked(
                r#"{"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 3500, "maxLatency": 3500}"#,
            )
            .unwrap(),
        )
        .unwrap();
    stack
        .update_function_config(FunctionConfig {
            timeout: Duration::from_secs(5),
            ..stack.function_config()
        })
        .unwrap();
    stack
        .put_object("input/slow.json", lab_message(1), "application/json")
        .unwrap();
    pipeline.sleep(Duration::from_secs(4)).await;
    assert_eq!(stack.accounting().converted, 1);
}

#[tokio::test(start_paused = true)]
async fn a_concurrency_limit_throttles_and_throttled_events_are_retried() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .update_function_config(FunctionConfig {
            reserved_concurrency: Some(1),
            ..FunctionConfig::default()
        })
        .unwrap();
    stack
        .set_fault_injection(
            FaultParameter::checked(
                r#"{"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 1500, "maxLatency": 1500}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let t0 = stack.now();
    for n in 0..3 {
        stack
            .put_object(
                &format!("input/{n}.json"),
                lab_message(n),
                "application/json",
            )
            .unwrap();
    }
    pipeline.sleep(Duration::from_secs(60)).await;
    let accounting = stack.accounting();
    assert_eq!(accounting.converted, 3, "{accounting:?}");
    assert_eq!(accounting.dead_lettered, 0);
    // Throttles are not attempts: three objects, three invocations.
    assert_eq!(invocations(&stack, t0), 3);
    let throttles = support::statistic(&stack, t0, "AWS/Lambda", "Throttles", "Sum").unwrap_or(0.0);
    assert!(throttles >= 2.0, "throttles: {throttles}");
    assert_eq!(
        support::statistic(&stack, t0, "AWS/Lambda", "ConcurrentExecutions", "Maximum"),
        Some(1.0)
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_older_than_its_maximum_age_goes_to_the_dlq() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    // With no concurrency the event can never run; it waits until it is too old.
    stack
        .update_function_config(FunctionConfig {
            reserved_concurrency: Some(0),
            maximum_event_age: Duration::from_secs(60),
            ..FunctionConfig::default()
        })
        .unwrap();
    let t0 = stack.now();
    stack
        .put_object("input/late.json", lab_message(1), "application/json")
        .unwrap();
    pipeline.sleep_until(t0 + 59_000).await;
    assert_eq!(stack.accounting().in_flight, 1);
    pipeline.sleep_until(t0 + 70_000).await;
    let accounting = stack.accounting();
    assert_eq!((accounting.dead_lettered, accounting.in_flight), (1, 0));
    assert_eq!(invocations(&stack, t0), 0);
    let messages = stack
        .receive_messages(QueueKind::DeadLetter, 1, Duration::ZERO)
        .await
        .unwrap();
    let error = messages[0]
        .attributes
        .iter()
        .find(|a| a.name == "ErrorMessage")
        .unwrap();
    assert!(
        error
            .string_value
            .contains("maximum event age of 60 seconds"),
        "{}",
        error.string_value
    );
}

#[tokio::test(start_paused = true)]
async fn an_unacknowledged_message_is_delivered_again_after_the_visibility_timeout() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .put_object("input/a.json", lab_message(1), "application/json")
        .unwrap();
    let first = stack
        .receive_messages(QueueKind::Csv, 10, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].approximate_receive_count, 1);
    pipeline.sleep(Duration::from_secs(29)).await;
    assert!(
        stack
            .receive_messages(QueueKind::Csv, 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    pipeline.sleep(Duration::from_secs(2)).await;
    let second = stack
        .receive_messages(QueueKind::Csv, 10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].message_id, first[0].message_id);
    assert_eq!(second[0].approximate_receive_count, 2);
    // Only the newest receipt handle deletes.
    assert!(
        stack
            .delete_message(QueueKind::Csv, &first[0].receipt_handle)
            .is_err()
    );
    stack
        .delete_message(QueueKind::Csv, &second[0].receipt_handle)
        .unwrap();
    assert_eq!(stack.accounting().consumed, 1);
    assert_eq!(stack.queue_depth(QueueKind::Csv), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn long_polling_returns_as_soon_as_a_message_arrives() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let writer = std::sync::Arc::clone(&stack);
    let t0 = stack.now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        writer
            .put_object("input/a.json", lab_message(1), "application/json")
            .unwrap();
    });
    let messages = stack
        .receive_messages(QueueKind::Csv, 10, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    let waited = stack.now() - t0;
    assert!((5_000..6_000).contains(&waited), "waited {waited} ms");
    // An empty long poll waits the whole time and returns nothing.
    let t1 = stack.now();
    assert!(
        stack
            .receive_messages(QueueKind::Csv, 10, Duration::from_secs(20))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(stack.now() - t1, 20_000);
}

#[tokio::test(start_paused = true)]
async fn receive_rejects_batches_outside_one_to_ten_and_waits_over_twenty_seconds() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    for max in [0, 11] {
        let error = stack
            .receive_messages(QueueKind::Csv, max, Duration::ZERO)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("MaxNumberOfMessages"), "{error}");
    }
    let error = stack
        .receive_messages(QueueKind::Csv, 1, Duration::from_secs(21))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("WaitTimeSeconds"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn only_input_json_objects_invoke_the_function() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    for key in ["input/a.txt", "other/a.json", "inputs/a.json"] {
        stack
            .put_object(key, Bytes::from_static(b"{}"), "application/json")
            .unwrap();
    }
    pipeline.sleep(Duration::from_secs(5)).await;
    assert_eq!(stack.accounting().published, 0);
    assert_eq!(stack.pending_events(), 0);
    assert_eq!(stack.list_objects("", 10).unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn reset_empties_the_stack_and_restores_the_defaults() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    stack
        .put_object("input/bad.json", malformed(1), "application/json")
        .unwrap();
    stack
        .put_object("input/good.json", lab_message(2), "application/json")
        .unwrap();
    stack
        .update_function_config(FunctionConfig {
            timeout: Duration::from_secs(10),
            ..FunctionConfig::default()
        })
        .unwrap();
    pipeline.sleep(Duration::from_secs(1)).await;
    stack.reset().unwrap();
    assert_eq!(stack.accounting(), Default::default());
    assert_eq!(stack.function_config(), FunctionConfig::default());
    assert!(stack.list_objects("", 10).unwrap().is_empty());
    assert_eq!(stack.queue_depth(QueueKind::Csv), (0, 0));
    pipeline.sleep(Duration::from_secs(300)).await;
    assert_eq!(stack.accounting(), Default::default());
    assert_eq!(stack.queue_depth(QueueKind::DeadLetter), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_restart_resumes_retries_and_keeps_objects_messages_and_metrics() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let t0 = stack.now();
    stack
        .put_object("input/bad.json", malformed(1), "application/json")
        .unwrap();
    stack
        .put_object("input/good.json", lab_message(2), "application/json")
        .unwrap();
    stack
        .update_function_config(FunctionConfig {
            timeout: Duration::from_secs(7),
            ..FunctionConfig::default()
        })
        .unwrap();
    // Disabled, so the retries below run as they would without it.
    let fault =
        FaultParameter::checked(r#"{"isEnabled": false, "failureMode": "diskspace"}"#).unwrap();
    stack.set_fault_injection(fault.clone()).unwrap();
    pipeline.sleep(Duration::from_secs(30)).await;
    assert_eq!(invocations(&stack, t0), 2);
    pipeline.engine.shutdown();
    drop(stack);

    let engine = support::open_engine(pipeline.dir.path(), Some(t0 + 30_000));
    let stack = engine.stack("alice").unwrap();
    assert_eq!(stack.function_config().timeout, Duration::from_secs(7));
    assert_eq!(stack.fault_injection(), fault);
    assert!(stack.get_object("output/good.csv").is_ok());
    assert_eq!(stack.queue_depth(QueueKind::Csv), (1, 0));
    assert_eq!(invocations(&stack, t0), 2, "metrics survive the restart");
    let accounting = stack.accounting();
    assert_eq!(
        (
            accounting.published,
            accounting.converted,
            accounting.in_flight
        ),
        (2, 1, 1)
    );

    // The retry schedule carries on in pipeline time: second attempt at t0 + 60 s.
    tokio::time::sleep_until(engine.clock().instant_at(t0 + 59_000)).await;
    assert_eq!(invocations(&stack, t0), 2);
    tokio::time::sleep_until(engine.clock().instant_at(t0 + 61_000)).await;
    assert_eq!(invocations(&stack, t0), 3);
    tokio::time::sleep_until(engine.clock().instant_at(t0 + 181_000)).await;
    assert_eq!(stack.accounting().dead_lettered, 1);
    engine.shutdown();
}

#[tokio::test(start_paused = true)]
async fn a_delete_batch_deletes_each_message_it_can_and_says_why_not_for_the_others() {
    use chaoslab::backend::Backend;
    use chaoslab::backend::embedded::service::EmbeddedBackend;

    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let backend = EmbeddedBackend::new(std::sync::Arc::clone(&pipeline.engine));
    for n in 1..=3 {
        stack
            .put_object(
                &format!("input/{n}.json"),
                lab_message(n),
                "application/json",
            )
            .unwrap();
    }
    pipeline.sleep(Duration::from_secs(5)).await;
    let received = backend
        .receive_csv_messages("alice", 10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(received.len(), 3);
    let mut handles: Vec<String> = received
        .iter()
        .map(|message| message.receipt_handle.clone())
        .collect();
    handles.push("not-a-receipt-handle".to_owned());
    let outcomes = backend
        .delete_csv_messages("alice", &handles)
        .await
        .unwrap();
    assert_eq!(outcomes[..3], [None, None, None], "{outcomes:?}");
    assert!(outcomes[3].is_some(), "{outcomes:?}");
    assert_eq!(stack.accounting().consumed, 3);
    assert_eq!(stack.queue_depth(QueueKind::Csv), (0, 0));

    // SQS's limits on a batch: 1 to 10 entries, none empty.
    for bad in [Vec::new(), vec!["h".to_owned(); 11], vec![String::new()]] {
        let refused = backend.delete_csv_messages("alice", &bad).await;
        assert!(
            matches!(
                refused,
                Err(chaoslab::backend::BackendError::InvalidRequest(_))
            ),
            "{refused:?}"
        );
    }
}
