//! The lab's steady state, measured: 10,000 objects at 2 per second of pipeline time, about 1%
//! malformed, with a subscriber consuming the csv queue. Runs on paused tokio time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use chaoslab::backend::embedded::stack::{QueueKind, Stack};
use chaoslab::metrics::{GetMetricDataRequest, MetricDataQuery, MetricStat};
use support::{TestPipeline, lab_message, malformed, stack_metric, statistic};

const OBJECTS: u64 = 10_000;

/// Publishes `OBJECTS` objects at 2/s; returns how many were malformed.
async fn publish(stack: Arc<Stack>) -> u64 {
    let mut rng = fastrand::Rng::with_seed(0x00c0_ffee);
    let mut bad = 0;
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    for n in 1..=OBJECTS {
        ticker.tick().await;
        let body = if rng.f64() < 0.01 {
            bad += 1;
            malformed(n)
        } else {
            lab_message(n)
        };
        stack
            .put_object(
                &format!("input/data_object_msg-{n}.json"),
                body,
                "application/json",
            )
            .unwrap();
        if n % 500 == 0 {
            assert!(stack.accounting().balances(), "{:?}", stack.accounting());
        }
    }
    bad
}

/// Receives and deletes csv notifications, about 2 per second, until told to stop.
async fn subscribe(stack: Arc<Stack>, stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        let messages = stack
            .receive_messages(QueueKind::Csv, 2, Duration::from_secs(1))
            .await
            .unwrap();
        for message in messages {
            stack
                .delete_message(QueueKind::Csv, &message.receipt_handle)
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(900)).await;
    }
}

fn percent_in_error(stack: &Stack, start: i64, end: i64) -> Vec<(i64, f64)> {
    let query = |id: &str, namespace: &str| MetricDataQuery {
        id: id.into(),
        metric_stat: Some(MetricStat {
            metric: stack_metric(stack, namespace, "NumberOfMessagesSent"),
            period: 300,
            stat: "Sum".into(),
        }),
        expression: None,
        label: None,
        return_data: Some(false),
        period: None,
    };
    let request = GetMetricDataRequest {
        metric_data_queries: vec![
            query("m1", "AWS/SQS"),
            query("m2", "AWS/SQS/dlq"),
            MetricDataQuery {
                id: "e1".into(),
                metric_stat: None,
                expression: Some("100 * m2 / (m1 + m2)".into()),
                label: Some("Percent in error".into()),
                return_data: None,
                period: None,
            },
        ],
        start_time: start,
        end_time: end,
        scan_by: None,
        max_datapoints: None,
        next_token: None,
    };
    let response = stack.metric_data(&request).unwrap();
    assert_eq!(response.metric_data_results.len(), 1);
    let result = &response.metric_data_results[0];
    result
        .timestamps
        .iter()
        .copied()
        .zip(result.values.iter().copied())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_objects_give_the_labs_steady_state_numbers() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let t0 = stack.now();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let subscriber = tokio::spawn(subscribe(Arc::clone(&stack), stopped));
    let bad = publish(Arc::clone(&stack)).await;
    let published_until = stack.now();
    // Let the last retries settle (3 minutes) and the subscriber drain, then a full SQS minute.
    pipeline.sleep(Duration::from_secs(10 * 60)).await;
    stop.send(true).unwrap();
    subscriber.await.unwrap();
    pipeline.sleep(Duration::from_secs(120)).await;

    let n = OBJECTS as f64;
    let sum =
        |namespace: &str, name: &str| statistic(&stack, t0, namespace, name, "Sum").unwrap_or(0.0);
    let invocations = sum("AWS/Lambda", "Invocations");
    let errors = sum("AWS/Lambda", "Errors");
    let csv_sent = sum("AWS/SQS", "NumberOfMessagesSent");
    let dlq_sent = sum("AWS/SQS/dlq", "NumberOfMessagesSent");
    let consumed = sum("AWS/SQS", "NumberOfMessagesDeleted");
    println!(
        "objects {OBJECTS}, malformed {bad}: Invocations {invocations} ({:.4}×), Errors {errors}, \
         csv sent {csv_sent} ({:.4}×), DLQ sent {dlq_sent} ({:.4}×), deleted {consumed}",
        invocations / n,
        csv_sent / n,
        dlq_sent / n
    );

    // Exact relations: each malformed object is attempted three times, each good one once.
    let bad_f = bad as f64;
    assert_eq!(invocations, n + 2.0 * bad_f);
    assert_eq!(errors, 3.0 * bad_f);
    assert_eq!(csv_sent, n - bad_f);
    assert_eq!(dlq_sent, bad_f);
    assert_eq!(consumed, n - bad_f);
    // And the lab's ratios, with tolerances for a 1% random error rate over 10,000 objects
    // (the malformed count's standard deviation is about 10, i.e. 0.1% of the objects).
    assert!(
        (invocations / n - 1.02).abs() <= 0.005,
        "Invocations ratio {}",
        invocations / n
    );
    assert!(
        (csv_sent / n - 0.99).abs() <= 0.003,
        "csv ratio {}",
        csv_sent / n
    );
    assert!(
        (dlq_sent / n - 0.01).abs() <= 0.003,
        "DLQ ratio {}",
        dlq_sent / n
    );

    let accounting = stack.accounting();
    assert_eq!(accounting.published, OBJECTS);
    assert_eq!(accounting.converted, OBJECTS - bad);
    assert_eq!(accounting.dead_lettered, bad);
    assert_eq!(accounting.in_flight, 0);
    assert_eq!(accounting.consumed, OBJECTS - bad);

    // Percent in error over 5-minute windows, once the first retries have reached the DLQ
    // (3 minutes in) and before the last object's retries end.
    let windows = percent_in_error(&stack, t0 + 5 * 60_000, published_until - 5 * 60_000);
    assert!(windows.len() >= 10, "{windows:?}");
    let mean = windows.iter().map(|(_, percent)| percent).sum::<f64>() / windows.len() as f64;
    println!("percent in error per 5-minute window: mean {mean:.3}%, windows {windows:?}");
    assert!((mean - 1.0).abs() <= 0.3, "mean percent in error {mean}");
    assert!(
        windows
            .iter()
            .all(|(_, percent)| (0.0..=4.0).contains(percent)),
        "{windows:?}"
    );

    // Each DLQ message arrives about three minutes after its object was written.
    let dead_letters = stack
        .receive_messages(QueueKind::DeadLetter, 10, Duration::ZERO)
        .await
        .unwrap();
    assert!(!dead_letters.is_empty());
    for message in dead_letters {
        let event: serde_json::Value = serde_json::from_str(&message.body).unwrap();
        let written =
            chaoslab::metrics::rfc3339::parse(event["Records"][0]["eventTime"].as_str().unwrap())
                .unwrap();
        let delay = message.sent_timestamp - written;
        assert!((180_000..181_000).contains(&delay), "DLQ delay {delay} ms");
    }
}
