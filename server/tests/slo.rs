//! The SLO, judged live from the embedded pipeline's metrics on paused time: DLQ messages ÷
//! objects processed over the objective's last complete window.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use chaoslab::backend::embedded::service::EmbeddedBackend;
use chaoslab::backend::{Backend, BackendError};
use chaoslab::dashboard::DashboardDefinition;
use chaoslab::metrics::EpochMillis;
use chaoslab::slo::{ObjectiveError, SloObjective, Verdict, evaluate, history};
use support::{START, TestPipeline, lab_message, malformed};

const MINUTE: EpochMillis = 60_000;

/// The dashboard a server serves without `--dashboard`.
fn lab_dashboard() -> DashboardDefinition {
    DashboardDefinition::compiled_in().unwrap()
}

fn objective(max_percent: f64, window_minutes: u32) -> SloObjective {
    SloObjective {
        max_percent,
        window_minutes,
    }
}

fn open() -> (TestPipeline, Arc<dyn Backend>) {
    let pipeline = TestPipeline::open();
    let backend: Arc<dyn Backend> = Arc::new(EmbeddedBackend::new(Arc::clone(&pipeline.engine)));
    (pipeline, backend)
}

/// Publishes 2 objects per second through the backend, every `bad_every`-th one malformed,
/// until aborted.
fn publish(backend: &Arc<dyn Backend>, bad_every: u64) -> tokio::task::JoinHandle<()> {
    let backend = Arc::clone(backend);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(500));
        for n in 1.. {
            ticker.tick().await;
            let body = if n % bad_every == 0 {
                malformed(n)
            } else {
                lab_message(n)
            };
            backend
                .put_object("alice", &format!("input/data_object_msg-{n}.json"), body)
                .await
                .unwrap();
        }
    })
}

/// Writes `count` good objects at once, numbered from `first`.
async fn put_good(backend: &dyn Backend, first: u64, count: u64) {
    for n in first..first + count {
        backend
            .put_object(
                "alice",
                &format!("input/data_object_msg-{n}.json"),
                lab_message(n),
            )
            .await
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn no_traffic_is_not_enough_data_rather_than_a_pass() {
    let (pipeline, backend) = open();
    pipeline.sleep_until(START + 10 * MINUTE + 30_000).await;
    let status = evaluate(
        backend.as_ref(),
        &lab_dashboard(),
        "alice",
        &objective(1.0, 5),
    )
    .await
    .unwrap();
    assert_eq!(status.processed, 0.0);
    assert_eq!(status.dlq_messages, 0.0);
    assert_eq!(status.value_percent, None);
    assert_eq!(status.met, None);
    assert_eq!(status.headroom_percent, None);
    assert_eq!(status.verdict(), Verdict::NotEnoughData);
    assert_eq!(status.window_start, START + 5 * MINUTE);
    assert_eq!(status.window_end, START + 10 * MINUTE);
}

#[tokio::test(start_paused = true)]
async fn steady_traffic_with_one_percent_malformed_meets_a_two_percent_objective() {
    let (pipeline, backend) = open();
    let publisher = publish(&backend, 100);
    // Retries settle after 3 minutes; measure well after, while traffic still flows.
    pipeline.sleep_until(START + 20 * MINUTE + 30_000).await;
    let status = evaluate(
        backend.as_ref(),
        &lab_dashboard(),
        "alice",
        &objective(2.0, 5),
    )
    .await
    .unwrap();
    publisher.abort();

    assert_eq!(
        (status.window_start, status.window_end),
        (START + 15 * MINUTE, START + 20 * MINUTE)
    );
    // 2 objects per second for 5 minutes, one in a hundred dead-lettered.
    assert!((595.0..=605.0).contains(&status.processed), "{status:?}");
    assert!((5.0..=7.0).contains(&status.dlq_messages), "{status:?}");
    let value = status.value_percent.unwrap();
    assert!((value - 1.0).abs() <= 0.2, "{status:?}");
    assert_eq!(status.met, Some(true));
    assert_eq!(status.verdict(), Verdict::Met);
    let headroom = status.headroom_percent.unwrap();
    assert!((headroom - (2.0 - value)).abs() < 1e-9, "{status:?}");
}

#[tokio::test(start_paused = true)]
async fn ten_percent_malformed_breaks_a_one_percent_objective() {
    let (pipeline, backend) = open();
    let publisher = publish(&backend, 10);
    pipeline.sleep_until(START + 12 * MINUTE + 30_000).await;
    let status = evaluate(
        backend.as_ref(),
        &lab_dashboard(),
        "alice",
        &objective(1.0, 5),
    )
    .await
    .unwrap();
    publisher.abort();

    let value = status.value_percent.unwrap();
    assert!((value - 10.0).abs() <= 1.0, "{status:?}");
    assert_eq!(status.met, Some(false));
    assert_eq!(status.verdict(), Verdict::NotMet);
    assert!(status.headroom_percent.unwrap() < -8.0, "{status:?}");
}

#[tokio::test(start_paused = true)]
async fn a_one_minute_window_counts_the_last_complete_minute_only() {
    let (pipeline, backend) = open();
    let one_minute = objective(1.0, 1);
    pipeline.sleep_until(START + 9 * MINUTE + 10_000).await;
    put_good(backend.as_ref(), 1, 10).await;
    pipeline.sleep_until(START + 10 * MINUTE + 5_000).await;
    put_good(backend.as_ref(), 11, 7).await;

    // Minute 9 is complete; minute 10 is in progress, so its 7 objects are not counted yet.
    pipeline.sleep_until(START + 10 * MINUTE + 30_000).await;
    let status = evaluate(backend.as_ref(), &lab_dashboard(), "alice", &one_minute)
        .await
        .unwrap();
    assert_eq!(
        (status.window_start, status.window_end),
        (START + 9 * MINUTE, START + 10 * MINUTE)
    );
    assert_eq!(status.processed, 10.0);
    // The DLQ has never been used, so SQS reports nothing for it: that is 0 messages, and 0%.
    assert_eq!(status.dlq_messages, 0.0);
    assert_eq!(status.value_percent, Some(0.0));
    assert_eq!(status.met, Some(true));

    // One millisecond into minute 11, the window moves to minute 10.
    pipeline.sleep_until(START + 11 * MINUTE + 1).await;
    let status = evaluate(backend.as_ref(), &lab_dashboard(), "alice", &one_minute)
        .await
        .unwrap();
    assert_eq!(
        (status.window_start, status.window_end),
        (START + 10 * MINUTE, START + 11 * MINUTE)
    );
    assert_eq!(status.processed, 7.0);

    // A minute with no traffic: the csv queue reports zeros, which is still nothing processed.
    pipeline.sleep_until(START + 12 * MINUTE + 30_000).await;
    let status = evaluate(backend.as_ref(), &lab_dashboard(), "alice", &one_minute)
        .await
        .unwrap();
    assert_eq!(status.processed, 0.0);
    assert_eq!(status.met, None);
}

#[tokio::test(start_paused = true)]
async fn history_gives_five_minute_points_in_ascending_order() {
    let (pipeline, backend) = open();
    let publisher = publish(&backend, 100);
    pipeline.sleep_until(START + 25 * MINUTE + 30_000).await;
    publisher.abort();

    // An unaligned start is rounded down to the 5-minute boundary.
    let points = history(
        backend.as_ref(),
        &lab_dashboard(),
        "alice",
        &SloObjective::default(),
        START + 2 * MINUTE,
        START + 25 * MINUTE,
    )
    .await
    .unwrap();
    let timestamps: Vec<EpochMillis> = points.iter().map(|&(timestamp, _)| timestamp).collect();
    assert_eq!(
        timestamps,
        (0..5)
            .map(|period| START + period * 5 * MINUTE)
            .collect::<Vec<_>>()
    );
    // The first period is 0% until the first retries end about 3 minutes in, then about 1%.
    for &(timestamp, percent) in &points {
        assert!((0.0..=2.0).contains(&percent), "{timestamp}: {percent}");
    }
    for &(_, percent) in &points[1..] {
        assert!((percent - 1.0).abs() <= 0.2, "{points:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn history_of_a_pipeline_that_never_failed_reads_zero_percent() {
    let (pipeline, backend) = open();
    let publisher = publish(&backend, u64::MAX);
    pipeline.sleep_until(START + 10 * MINUTE + 30_000).await;
    publisher.abort();
    let points = history(
        backend.as_ref(),
        &lab_dashboard(),
        "alice",
        &SloObjective::default(),
        START,
        START + 10 * MINUTE,
    )
    .await
    .unwrap();
    assert_eq!(points, [(START, 0.0), (START + 5 * MINUTE, 0.0)]);
}

#[test]
fn objectives_outside_their_ranges_are_refused_naming_the_field() {
    for max_percent in [0.0, -1.0, 100.1, f64::NAN, f64::INFINITY] {
        let error = objective(max_percent, 5).validate().unwrap_err();
        assert!(matches!(error, ObjectiveError::MaxPercentOutOfRange(_)));
        let message = error.to_string();
        assert!(message.contains("max_percent"), "{message}");
        assert!(message.contains("at most 100"), "{message}");
    }
    for window_minutes in [0, 181, 1_000] {
        let error = objective(1.0, window_minutes).validate().unwrap_err();
        assert_eq!(error, ObjectiveError::WindowOutOfRange(window_minutes));
        let message = error.to_string();
        assert!(message.contains("window_minutes"), "{message}");
        assert!(message.contains("from 1 to 180"), "{message}");
    }
    for valid in [
        objective(0.01, 1),
        objective(100.0, 180),
        SloObjective::default(),
    ] {
        valid.validate().unwrap();
    }
}

#[test]
fn the_default_objective_leaves_headroom_above_the_steady_state() {
    // 1% would sit on the noise of the lab's own 1% malformed input: the default is 2%.
    assert_eq!(SloObjective::default(), objective(2.0, 5));
    let parsed: SloObjective = serde_json::from_str(r#"{"window_minutes": 10}"#).unwrap();
    assert_eq!(parsed, objective(2.0, 10));
    let unknown = serde_json::from_str::<SloObjective>(r#"{"max_precent": 50}"#);
    assert!(unknown.is_err(), "a misspelt field is refused, not ignored");
    let json = serde_json::to_value(objective(2.0, 10)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"max_percent": 2.0, "window_minutes": 10})
    );
}

#[tokio::test(start_paused = true)]
async fn evaluating_an_invalid_objective_or_an_unknown_participant_fails() {
    let (_pipeline, backend) = open();
    let error = evaluate(
        backend.as_ref(),
        &lab_dashboard(),
        "alice",
        &objective(f64::NAN, 5),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidRequest(ref message) if message.contains("max_percent"))
    );
    let error = history(
        backend.as_ref(),
        &lab_dashboard(),
        "alice",
        &objective(1.0, 0),
        START,
        START + MINUTE,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidRequest(ref message) if message.contains("window_minutes"))
    );
    let error = evaluate(
        backend.as_ref(),
        &lab_dashboard(),
        "bob",
        &SloObjective::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, BackendError::UnknownStack(ref who) if who == "bob"));
}
