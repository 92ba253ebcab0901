//! The traffic generators against the embedded pipeline: the publisher's pace, error rate and
//! automatic stop, the subscriber's consumption, updates, stops, validation and failures. Runs on
//! paused tokio time: minutes of traffic take milliseconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use chaoslab::backend::embedded::service::EmbeddedBackend;
use chaoslab::backend::embedded::{Engine, EngineConfig};
use chaoslab::backend::{
    Accounting, Backend, BackendError, BackendKind, CsvMessage, DeadLetterList, ErrorFilter,
    FaultParameter, FunctionChange, FunctionConfiguration, InvocationReport, PipelineClock,
    Redrive, StackNames,
};
use chaoslab::metrics::{GetMetricDataRequest, GetMetricDataResponse};
use chaoslab::traffic::{
    LatencySummary, PublisherSettings, SubscriberSettings, TrafficController, TrafficLimits,
    TrafficMessage, TrafficSettings, TrafficSettingsError, lab_message,
};
use support::{START, TrafficLab as Lab};

fn publisher(rate: f64, error_rate: f64, stop_after_s: u64) -> TrafficSettings {
    TrafficSettings {
        publisher: Some(PublisherSettings {
            rate,
            error_rate,
            stop_after_s: Some(stop_after_s),
        }),
        subscriber: None,
    }
}

fn subscriber(rate: f64) -> TrafficSettings {
    TrafficSettings {
        publisher: None,
        subscriber: Some(SubscriberSettings { rate }),
    }
}

#[tokio::test(start_paused = true)]
async fn default_traffic_publishes_two_objects_a_second_and_the_subscriber_consumes_them() {
    let lab = Lab::open();
    let stack = lab.engine.stack("alice").unwrap();
    lab.traffic
        .start("alice", TrafficSettings::standard())
        .unwrap();
    lab.sleep(60).await;

    let status = lab.traffic.status("alice");
    let published = status.publisher.as_ref().unwrap().published;
    assert!((118..=122).contains(&published), "published {published}");
    assert_eq!(stack.accounting().published, published);
    assert!(status.publisher.as_ref().unwrap().running);
    assert_eq!(status.publishing_for_ms(lab.now()), 60_000);

    // Once the publisher stops, the subscriber catches up with every converted object.
    let status = lab.traffic.stop_publisher("alice").await;
    let malformed = status.publisher.as_ref().unwrap().malformed;
    lab.sleep(10).await;
    let accounting = stack.accounting();
    assert_eq!(accounting.converted, published - malformed);
    let subscriber = lab.traffic.status("alice").subscriber.unwrap();
    assert!(subscriber.running);
    assert_eq!(subscriber.deleted, accounting.converted);
    assert_eq!(subscriber.received, subscriber.deleted);
    assert_eq!(accounting.consumed, subscriber.deleted);
    assert_eq!(subscriber.failures, 0);
}

/// The embedded backend with every object write and every delete batch answered late, as a busy
/// disk would.
#[derive(Debug)]
struct SlowWrites {
    inner: EmbeddedBackend,
    put_delay: Duration,
    delete_delay: Duration,
}

#[async_trait::async_trait]
impl Backend for SlowWrites {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }
    fn clock(&self) -> PipelineClock {
        self.inner.clock()
    }
    fn stack_names(&self, participant: &str) -> Option<StackNames> {
        self.inner.stack_names(participant)
    }
    async fn put_object(
        &self,
        participant: &str,
        key: &str,
        body: bytes::Bytes,
    ) -> Result<(), BackendError> {
        let written = self.inner.put_object(participant, key, body).await;
        tokio::time::sleep(self.put_delay).await;
        written
    }
    async fn delete_csv_messages(
        &self,
        participant: &str,
        receipt_handles: &[String],
    ) -> Result<Vec<Option<String>>, BackendError> {
        let deleted = self
            .inner
            .delete_csv_messages(participant, receipt_handles)
            .await;
        tokio::time::sleep(self.delete_delay).await;
        deleted
    }
    async fn create_stack(&self, participant: &str) -> Result<StackNames, BackendError> {
        self.inner.create_stack(participant).await
    }
    async fn reset_stack(&self, participant: &str) -> Result<(), BackendError> {
        self.inner.reset_stack(participant).await
    }
    async fn remove_stack(&self, participant: &str) -> Result<(), BackendError> {
        self.inner.remove_stack(participant).await
    }
    async fn receive_csv_messages(
        &self,
        participant: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<CsvMessage>, BackendError> {
        self.inner
            .receive_csv_messages(participant, max, wait)
            .await
    }
    async fn delete_csv_message(
        &self,
        participant: &str,
        receipt_handle: &str,
    ) -> Result<(), BackendError> {
        self.inner
            .delete_csv_message(participant, receipt_handle)
            .await
    }
    async fn function_configuration(
        &self,
        participant: &str,
    ) -> Result<FunctionConfiguration, BackendError> {
        self.inner.function_configuration(participant).await
    }
    async fn update_function(
        &self,
        participant: &str,
        change: &FunctionChange,
    ) -> Result<FunctionConfiguration, BackendError> {
        self.inner.update_function(participant, change).await
    }
    async fn get_metric_data(
        &self,
        participant: &str,
        request: GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, BackendError> {
        self.inner.get_metric_data(participant, request).await
    }
    async fn accounting(&self, participant: &str) -> Result<Accounting, BackendError> {
        self.inner.accounting(participant).await
    }
    async fn fault_injection(&self, participant: &str) -> Result<FaultParameter, BackendError> {
        self.inner.fault_injection(participant).await
    }
    async fn set_fault_injection(
        &self,
        participant: &str,
        fault_injection: FaultParameter,
    ) -> Result<(), BackendError> {
        self.inner
            .set_fault_injection(participant, fault_injection)
            .await
    }
    async fn put_object_if_absent(
        &self,
        participant: &str,
        key: &str,
        body: bytes::Bytes,
    ) -> Result<bool, BackendError> {
        self.inner
            .put_object_if_absent(participant, key, body)
            .await
    }
    async fn invoke_function(
        &self,
        participant: &str,
        event: &str,
    ) -> Result<InvocationReport, BackendError> {
        self.inner.invoke_function(participant, event).await
    }
    async fn list_dead_letters(
        &self,
        participant: &str,
        limit: usize,
        filter: Option<&ErrorFilter>,
    ) -> Result<DeadLetterList, BackendError> {
        self.inner
            .list_dead_letters(participant, limit, filter)
            .await
    }
    async fn redrive_dead_letters(
        &self,
        participant: &str,
        max: usize,
    ) -> Result<Redrive, BackendError> {
        self.inner.redrive_dead_letters(participant, max).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_publisher_keeps_its_rate_when_each_write_takes_longer_than_its_period() {
    let lab = Lab::open();
    // 100 objects/s is a write every 10 ms; each takes 50 ms to be answered. One at a time,
    // that would be 20 objects/s.
    let backend: Arc<dyn Backend> = Arc::new(SlowWrites {
        inner: EmbeddedBackend::new(Arc::clone(&lab.engine)),
        put_delay: Duration::from_millis(50),
        delete_delay: Duration::ZERO,
    });
    let limits = TrafficLimits {
        max_rate: 100.0,
        ..TrafficLimits::default()
    };
    let traffic = TrafficController::new(backend, limits);
    traffic.start("alice", publisher(100.0, 0.0, 600)).unwrap();
    lab.sleep(10).await;
    let status = traffic.stop_publisher("alice").await;
    let publisher = status.publisher.unwrap();
    assert!(
        (980..=1_010).contains(&publisher.published),
        "published {} in 10 s at 100/s",
        publisher.published
    );
    assert_eq!(publisher.failures, 0);
    // Stopping waits for the writes in flight: the counts match the bucket's.
    let stack = lab.engine.stack("alice").unwrap();
    assert_eq!(stack.accounting().published, publisher.published);
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_keeps_its_rate_when_each_delete_takes_longer_than_a_batch_period() {
    let lab = Lab::open();
    // Batches of ten at 100 messages/s are 100 ms apart; each delete is answered 200 ms late.
    // Waiting for each before the next receive, that would be 50 messages/s.
    let backend: Arc<dyn Backend> = Arc::new(SlowWrites {
        inner: EmbeddedBackend::new(Arc::clone(&lab.engine)),
        put_delay: Duration::ZERO,
        delete_delay: Duration::from_millis(200),
    });
    let limits = TrafficLimits {
        max_rate: 100.0,
        ..TrafficLimits::default()
    };
    let traffic = TrafficController::new(backend, limits);
    traffic.start("alice", publisher(100.0, 0.0, 600)).unwrap();
    lab.sleep(10).await;
    traffic.start("alice", subscriber(100.0)).unwrap();
    lab.sleep(10).await;
    let status = traffic.stop("alice").await;
    let subscriber = status.subscriber.unwrap();
    assert!(
        subscriber.deleted >= 950,
        "deleted {} in 10 s at 100/s with a backlog",
        subscriber.deleted
    );
    assert_eq!(subscriber.failures, 0);
    // Stopping waits for the deletes sent: the counts match the queue's.
    let stack = lab.engine.stack("alice").unwrap();
    assert_eq!(stack.accounting().consumed, subscriber.deleted);
    assert_eq!(subscriber.received, subscriber.deleted);
}

#[tokio::test(start_paused = true)]
async fn at_a_high_time_scale_the_subscriber_keeps_up_with_the_publisher() {
    // Pipeline time 60 times faster: one period of the subscriber (2 messages a second, so a
    // batch of 2 every second of pipeline time) is under 17 ms of tokio time, and tokio's
    // timers fire on whole milliseconds. A schedule counted from each wake-up loses that
    // rounding every batch (about 6% here) and the csv queue grows without end.
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(dir.path());
    config.time_scale = 60.0;
    config.start_time = Some(START);
    let engine = Engine::open(config).unwrap();
    let stack = engine.create_stack("alice").unwrap();
    let backend: Arc<dyn Backend> = Arc::new(EmbeddedBackend::new(Arc::clone(&engine)));
    let traffic = TrafficController::new(backend, TrafficLimits::default());
    traffic.start("alice", TrafficSettings::standard()).unwrap();
    // 30 minutes of pipeline time: 3,600 objects.
    engine.clock().sleep(Duration::from_secs(30 * 60)).await;

    let accounting = stack.accounting();
    assert!(accounting.published >= 3_590, "{accounting:?}");
    let backlog = accounting.converted - accounting.consumed;
    assert!(
        backlog <= 10,
        "the subscriber is {backlog} messages behind after 30 minutes: {accounting:?}"
    );
    // And it never takes more than its rate: 2 a second, plus one batch.
    let subscriber = traffic.status("alice").subscriber.unwrap();
    assert!(subscriber.received <= 2 * 30 * 60 + 2, "{subscriber:?}");
    traffic.stop_all().await;
    engine.shutdown();
}

#[tokio::test(start_paused = true)]
async fn half_the_objects_malformed_end_in_the_dead_letter_queue() {
    let lab = Lab::open();
    let stack = lab.engine.stack("alice").unwrap();
    lab.traffic
        .start("alice", publisher(10.0, 0.5, 20))
        .unwrap();
    // 20 s of publishing, then the three attempts of the last malformed object (at +0, +60 and
    // +180 s).
    lab.sleep(20 + 190).await;

    let status = lab.traffic.status("alice").publisher.unwrap();
    assert_eq!(status.published, 200);
    assert!(
        (60..=140).contains(&status.malformed),
        "malformed {}",
        status.malformed
    );
    let accounting = stack.accounting();
    assert_eq!(accounting.dead_lettered, status.malformed);
    assert_eq!(accounting.converted, status.published - status.malformed);
    assert!(accounting.balances());
}

/// Ten objects a second for 30 s, none malformed, with a subscriber as fast; the function held
/// `function_latency_ms` on every invocation (no fault if 0). The subscriber's latency summary
/// at the end.
async fn delivery_latency_with(function_latency_ms: u64) -> LatencySummary {
    let lab = Lab::open();
    if function_latency_ms > 0 {
        let document = format!(
            r#"{{"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": {function_latency_ms}, "maxLatency": {function_latency_ms}}}"#
        );
        lab.engine
            .stack("alice")
            .unwrap()
            .set_fault_injection(FaultParameter::checked(&document).unwrap())
            .unwrap();
    }
    let settings = TrafficSettings {
        subscriber: Some(SubscriberSettings { rate: 10.0 }),
        ..publisher(10.0, 0.0, 30)
    };
    lab.traffic.start("alice", settings).unwrap();
    lab.sleep(35).await;
    let subscriber = lab.traffic.status("alice").subscriber.unwrap();
    assert_eq!(subscriber.failures, 0, "{subscriber:?}");
    assert_eq!(subscriber.deleted, 300);
    subscriber.delivery_latency_ms.unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_subscriber_measures_each_objects_delivery_latency_from_put_to_queue() {
    let quick = delivery_latency_with(0).await;
    eprintln!("without a fault: {quick:?}");
    // Every notification of the run is within the last minute and matches its put.
    assert_eq!(quick.samples, 300);
    assert_eq!(quick.unmatched, 0);
    assert!(quick.p99 <= 50, "{quick:?}");

    // The function held 1.5 s on every invocation: every object arrives about 1.5 s later.
    let held = delivery_latency_with(1_500).await;
    eprintln!("with 1.5 s of function latency: {held:?}");
    assert_eq!(held.samples, 300);
    assert_eq!(held.unmatched, 0);
    for percentile in [held.p50, held.p99, held.max] {
        assert!(
            (1_500..=1_500 + 50).contains(&percentile),
            "{held:?} vs {quick:?}"
        );
    }
    assert!(held.p50 >= quick.p50 + 1_500, "{held:?} vs {quick:?}");
}

#[tokio::test(start_paused = true)]
async fn delivery_latency_covers_the_last_minute_only() {
    let lab = Lab::open();
    lab.traffic
        .start("alice", TrafficSettings::standard())
        .unwrap();
    lab.sleep(30).await;
    let latency = lab.traffic.status("alice").subscriber.unwrap();
    assert!(
        latency.delivery_latency_ms.unwrap().samples >= 55,
        "{latency:?}"
    );

    // The publisher stops; the subscriber keeps polling an empty queue, and a minute later
    // nothing it received is recent enough to report.
    lab.traffic.stop_publisher("alice").await;
    lab.sleep(30).await;
    let subscriber = lab.traffic.status("alice").subscriber.unwrap();
    assert!(subscriber.delivery_latency_ms.is_some(), "{subscriber:?}");
    lab.sleep(31).await;
    let subscriber = lab.traffic.status("alice").subscriber.unwrap();
    assert!(subscriber.running);
    assert_eq!(subscriber.delivery_latency_ms, None, "{subscriber:?}");
}

#[tokio::test(start_paused = true)]
async fn the_publisher_stops_by_itself_when_its_time_is_up() {
    let lab = Lab::open();
    lab.traffic.start("alice", publisher(2.0, 0.0, 30)).unwrap();
    lab.sleep(60).await;

    let status = lab.traffic.status("alice");
    let publisher = status.publisher.as_ref().unwrap();
    assert_eq!(publisher.published, 60);
    assert!(!publisher.running);
    assert_eq!(publisher.started_at, START);
    assert_eq!(publisher.stops_at, START + 30_000);
    assert_eq!(publisher.stopped_at, Some(START + 30_000));
    assert_eq!(publisher.running_for_ms(lab.now()), 30_000);
    assert_eq!(status.publishing_for_ms(lab.now()), 0);
    assert!(lab.traffic.running_participants().is_empty());
}

#[tokio::test(start_paused = true)]
async fn starting_again_changes_the_rate_and_keeps_the_counters_and_the_other_part() {
    let lab = Lab::open();
    let first = lab
        .traffic
        .start("alice", TrafficSettings::standard())
        .unwrap();
    lab.sleep(10).await;
    let before = lab.traffic.status("alice").publisher.unwrap().published;
    assert!((20..=21).contains(&before), "published {before}");

    let updated = lab
        .traffic
        .start("alice", publisher(5.0, 0.0, 600))
        .unwrap();
    let publisher = updated.publisher.unwrap();
    assert_eq!(publisher.settings.rate, 5.0);
    assert_eq!(
        publisher.started_at, START,
        "an update keeps the start time"
    );
    assert_eq!(publisher.stops_at, START + 10_000 + 600_000);
    lab.sleep(10).await;

    let status = lab.traffic.status("alice");
    let after = status.publisher.as_ref().unwrap().published;
    assert!(
        (before + 49..=before + 51).contains(&after),
        "{before} then {after}"
    );
    // The subscriber was left out of the update: it runs on, unchanged.
    let subscriber = status.subscriber.unwrap();
    assert!(subscriber.running);
    assert_eq!(subscriber.started_at, first.subscriber.unwrap().started_at);
    assert_eq!(subscriber.settings, SubscriberSettings::default());
}

#[tokio::test(start_paused = true)]
async fn stopping_freezes_the_counters_and_a_restart_continues_the_message_ids() {
    let lab = Lab::open();
    let stack = lab.engine.stack("alice").unwrap();
    lab.traffic
        .start("alice", TrafficSettings::standard())
        .unwrap();
    lab.sleep(10).await;
    let stopped = lab.traffic.stop("alice").await;
    assert!(!stopped.is_running());
    assert_eq!(
        stopped.publisher.as_ref().unwrap().stopped_at,
        Some(START + 10_000)
    );
    assert!(lab.traffic.running_participants().is_empty());
    lab.sleep(30).await;
    assert_eq!(lab.traffic.status("alice"), stopped);

    let published = stopped.publisher.unwrap().published;
    let restarted = lab.traffic.start("alice", publisher(2.0, 0.0, 60)).unwrap();
    assert_eq!(
        restarted.publisher.as_ref().unwrap().started_at,
        START + 40_000
    );
    lab.sleep(1).await;
    assert!(
        stack
            .get_object(&format!("input/data_object_msg-{}.json", published + 1))
            .is_ok()
    );
    assert!(
        lab.traffic.status("alice").publisher.unwrap().published > published,
        "the counters carry on"
    );
}

#[tokio::test(start_paused = true)]
async fn stopping_a_participant_without_traffic_is_fine() {
    let lab = Lab::open();
    let status = lab.traffic.stop("nobody").await;
    assert_eq!(status, Default::default());
    assert_eq!(lab.traffic.status("nobody"), Default::default());
    lab.traffic.stop_all().await;
}

#[tokio::test(start_paused = true)]
async fn stop_all_stops_every_participant_and_traffic_can_start_again() {
    let lab = Lab::open();
    lab.engine.create_stack("bob").unwrap();
    for participant in ["alice", "bob"] {
        lab.traffic
            .start(participant, TrafficSettings::standard())
            .unwrap();
    }
    lab.sleep(5).await;
    assert_eq!(lab.traffic.running_participants(), ["alice", "bob"]);
    lab.traffic.stop_all().await;
    assert!(lab.traffic.running_participants().is_empty());
    lab.traffic.start("bob", subscriber(1.0)).unwrap();
    assert_eq!(lab.traffic.running_participants(), ["bob"]);
}

#[tokio::test(start_paused = true)]
async fn the_subscriber_consumes_no_faster_than_its_rate() {
    let lab = Lab::open();
    // A backlog of 20 CSV notifications.
    lab.traffic.start("alice", publisher(20.0, 0.0, 1)).unwrap();
    lab.sleep(5).await;
    assert_eq!(
        lab.engine.stack("alice").unwrap().accounting().converted,
        20
    );

    lab.traffic.start("alice", subscriber(1.0)).unwrap();
    lab.sleep(10).await;
    let subscriber = lab.traffic.status("alice").subscriber.unwrap();
    assert!(
        (9..=11).contains(&subscriber.deleted),
        "deleted {}",
        subscriber.deleted
    );
}

#[tokio::test(start_paused = true)]
async fn settings_out_of_range_are_refused_naming_the_field() {
    let lab = Lab::open();
    let cases = [
        (publisher(0.0, 0.01, 60), "publisher.rate"),
        (publisher(20.5, 0.01, 60), "publisher.rate"),
        (publisher(f64::NAN, 0.01, 60), "publisher.rate"),
        (publisher(f64::INFINITY, 0.01, 60), "publisher.rate"),
        (publisher(2.0, 1.5, 60), "publisher.error_rate"),
        (publisher(2.0, -0.1, 60), "publisher.error_rate"),
        (publisher(2.0, f64::NAN, 60), "publisher.error_rate"),
        (publisher(2.0, 0.01, 0), "publisher.stop_after_s"),
        (
            publisher(2.0, 0.01, 4 * 3_600 + 1),
            "publisher.stop_after_s",
        ),
        (subscriber(-1.0), "subscriber.rate"),
        // Below the traffic form's lowest rate, which the server shares.
        (subscriber(0.0001), "subscriber.rate"),
        (subscriber(f64::NAN), "subscriber.rate"),
        (subscriber(21.0), "subscriber.rate"),
    ];
    for (settings, field) in cases {
        let error = lab.traffic.start("alice", settings).unwrap_err();
        assert_eq!(error.field(), field, "{settings:?}");
        let message = error.to_string();
        assert!(message.starts_with(field), "{message}");
    }
    let error = lab
        .traffic
        .start("alice", publisher(50.0, 0.01, 60))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "publisher.rate must be at least 0.1 and at most 20 per second (this server's cap), got 50"
    );
    assert_eq!(
        TrafficSettingsError::StopAfterOutOfRange {
            value: 0,
            max: 14_400
        }
        .to_string(),
        "publisher.stop_after_s must be from 1 to 14400 seconds (this server's cap), got 0"
    );
    // Nothing started.
    assert_eq!(lab.traffic.status("alice"), Default::default());
    // The edges are allowed.
    lab.traffic
        .start("alice", publisher(20.0, 1.0, 4 * 3_600))
        .unwrap();
    lab.traffic.start("alice", publisher(0.1, 0.0, 1)).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_lower_cap_refuses_what_the_default_allows() {
    let lab = Lab::open();
    let backend: Arc<dyn Backend> = Arc::new(EmbeddedBackend::new(Arc::clone(&lab.engine)));
    let capped = TrafficController::new(
        backend,
        TrafficLimits {
            max_rate: 5.0,
            max_stop_after_s: 600,
            default_stop_after_s: 300,
        },
    );
    assert_eq!(
        capped
            .start("alice", publisher(6.0, 0.0, 60))
            .unwrap_err()
            .field(),
        "publisher.rate"
    );
    assert_eq!(
        capped
            .start("alice", publisher(5.0, 0.0, 601))
            .unwrap_err()
            .field(),
        "publisher.stop_after_s"
    );
}

#[tokio::test(start_paused = true)]
async fn a_publisher_started_without_a_stop_gets_the_servers_default_stop() {
    let lab = Lab::open();
    let backend: Arc<dyn Backend> = Arc::new(EmbeddedBackend::new(Arc::clone(&lab.engine)));
    // The AWS backend's limits, as `chaoslab serve --backend aws` sets them.
    let aws = TrafficController::new(
        backend,
        chaoslab::serve::traffic_limits(BackendKind::Aws, 20.0),
    );
    assert_eq!(
        aws.limits(),
        TrafficLimits {
            max_rate: 5.0,
            max_stop_after_s: 7_200,
            default_stop_after_s: 1_800,
        }
    );
    let status = aws.start("alice", TrafficSettings::standard()).unwrap();
    let started = status.publisher.unwrap();
    assert_eq!(started.settings.stop_after_s, Some(1_800));
    assert_eq!(started.stops_at - started.started_at, 1_800_000);

    // It stops by itself half an hour (of pipeline time) later.
    lab.sleep(1_799).await;
    assert!(aws.status("alice").publisher.unwrap().running);
    lab.sleep(2).await;
    let stopped = aws.status("alice").publisher.unwrap();
    assert!(!stopped.running);
    assert_eq!(stopped.stopped_at, Some(START + 1_800_000));

    // An explicit stop wins, within the AWS cap of two hours.
    let status = aws.start("alice", publisher(1.0, 0.0, 600)).unwrap();
    assert_eq!(status.publisher.unwrap().settings.stop_after_s, Some(600));
    assert_eq!(
        aws.start("alice", publisher(1.0, 0.0, 7_201))
            .unwrap_err()
            .field(),
        "publisher.stop_after_s"
    );

    // The embedded default stays an hour.
    let embedded = chaoslab::serve::traffic_limits(BackendKind::Embedded, 20.0);
    assert_eq!(embedded, TrafficLimits::default());
    assert_eq!(embedded.default_stop_after_s, 3_600);
}

#[test]
fn settings_read_the_public_json_shape_with_defaults_for_what_is_left_out() {
    let settings: TrafficSettings = serde_json::from_str(
        r#"{"publisher": {"rate": 5, "error_rate": 0.1, "stop_after_s": 60}, "subscriber": {"rate": 3}}"#,
    )
    .unwrap();
    assert_eq!(
        settings.publisher,
        Some(PublisherSettings {
            rate: 5.0,
            error_rate: 0.1,
            stop_after_s: Some(60)
        })
    );
    assert_eq!(settings.subscriber, Some(SubscriberSettings { rate: 3.0 }));

    let empty: TrafficSettings = serde_json::from_str("{}").unwrap();
    assert_eq!((empty.publisher, empty.subscriber), (None, None));
    let defaults: TrafficSettings =
        serde_json::from_str(r#"{"publisher": {}, "subscriber": {}}"#).unwrap();
    assert_eq!(defaults, TrafficSettings::standard());
    assert_eq!(
        PublisherSettings::default(),
        PublisherSettings {
            rate: 2.0,
            error_rate: 0.01,
            stop_after_s: None
        }
    );
    assert_eq!(
        TrafficLimits::default(),
        TrafficLimits {
            max_rate: 20.0,
            max_stop_after_s: 14_400,
            default_stop_after_s: 3_600
        }
    );

    let typo = serde_json::from_str::<TrafficSettings>(r#"{"publisher": {"rates": 5}}"#);
    assert!(
        typo.unwrap_err()
            .to_string()
            .contains("unknown field `rates`")
    );
}

#[tokio::test(start_paused = true)]
async fn status_serializes_with_snake_case_fields_and_epoch_milliseconds() {
    let lab = Lab::open();
    lab.traffic
        .start("alice", TrafficSettings::standard())
        .unwrap();
    lab.sleep(1).await;
    let json = serde_json::to_value(lab.traffic.status("alice")).unwrap();
    let publisher = &json["publisher"];
    for field in [
        "settings",
        "running",
        "started_at",
        "stops_at",
        "stopped_at",
        "published",
        "malformed",
        "failures",
        "last_error",
    ] {
        assert!(
            publisher.get(field).is_some(),
            "publisher.{field} in {json}"
        );
    }
    assert_eq!(publisher["started_at"], START);
    assert_eq!(publisher["settings"]["stop_after_s"], 3_600);
    for field in [
        "settings",
        "running",
        "started_at",
        "stopped_at",
        "received",
        "deleted",
        "failures",
        "last_error",
        "delivery_latency_ms",
    ] {
        assert!(
            json["subscriber"].get(field).is_some(),
            "subscriber.{field} in {json}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_participant_without_a_stack_counts_failures_and_recovers_once_it_has_one() {
    let lab = Lab::open();
    lab.traffic
        .start("bob", TrafficSettings::standard())
        .unwrap();
    // Attempts at 0, 1, 3, 7, 15 and 31 s: the backoff doubles from 1 s.
    lab.sleep(60).await;
    let status = lab.traffic.status("bob");
    let publisher = status.publisher.as_ref().unwrap();
    assert_eq!((publisher.published, publisher.failures), (0, 6));
    assert!(publisher.running);
    let error = publisher.last_error.as_deref().unwrap();
    assert!(
        error.contains("no pipeline stack") && error.contains("bob"),
        "{error}"
    );
    let subscriber = status.subscriber.as_ref().unwrap();
    assert_eq!(subscriber.failures, 6);
    assert!(subscriber.last_error.is_some());

    // The backoff is capped at 30 s: the next attempts come at 61 and 91 s.
    lab.engine.create_stack("bob").unwrap();
    lab.sleep(40).await;
    let status = lab.traffic.status("bob");
    let publisher = status.publisher.unwrap();
    assert_eq!(publisher.failures, 6);
    assert!(
        publisher.published >= 2 * 38,
        "published {}",
        publisher.published
    );
    assert!(
        lab.engine
            .stack("bob")
            .unwrap()
            .get_object("input/data_object_msg-1.json")
            .is_ok()
    );
}

#[test]
fn a_message_has_the_lab_fields_and_its_key_follows_its_object_name() {
    let mut rng = fastrand::Rng::with_seed(7);
    let (key, body) = lab_message(
        42,
        START + 19 * 3_600_000 + 41 * 60_000 + 2_000,
        false,
        &mut rng,
    );
    let text = std::str::from_utf8(&body).unwrap();
    let json: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).unwrap();
    assert_eq!(json.len(), 7, "{text}");
    // The fields come in the lab's order.
    let order = [
        "symbol",
        "messageId",
        "value",
        "objectName",
        "submissionDate",
        "author",
        "version",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|field| text.find(&format!(r#""{field}":"#)).unwrap())
        .collect();
    assert!(positions.is_sorted(), "{text}");
    let message: TrafficMessage = serde_json::from_str(text).unwrap();
    assert_eq!(message.message_id, 42);
    assert_eq!(message.object_name, "data_object_msg-42");
    assert_eq!(key, "input/data_object_msg-42.json");
    assert_eq!(key, message.key());
    assert_eq!(message.submission_date, "26-Nov-2026 19:41:02");
    assert_eq!(message.author, "chaoslab-publisher");
    assert_eq!(message.version, "1.0");
    assert_eq!(message.symbol.len(), 4);
    assert!(
        message.symbol.chars().all(|c| c.is_ascii_uppercase()),
        "{}",
        message.symbol
    );
    let cents = message.value * 100.0;
    assert!(
        (cents - cents.round()).abs() < 1e-6,
        "value {}",
        message.value
    );
}

#[test]
fn a_malformed_message_is_the_same_text_without_its_first_double_quote() {
    let good = lab_message(3, START, false, &mut fastrand::Rng::with_seed(11)).1;
    let (key, bad) = lab_message(3, START, true, &mut fastrand::Rng::with_seed(11));
    assert_eq!(key, "input/data_object_msg-3.json");
    let (good, bad) = (
        std::str::from_utf8(&good).unwrap(),
        std::str::from_utf8(&bad).unwrap(),
    );
    assert!(good.starts_with(r#"{"symbol":"#), "{good}");
    assert_eq!(bad, good.replacen('"', "", 1));
    assert_eq!(bad.len() + 1, good.len());
    assert!(serde_json::from_str::<serde_json::Value>(bad).is_err());
}

#[test]
fn random_symbols_and_values_vary() {
    let mut rng = fastrand::Rng::with_seed(3);
    let messages: Vec<TrafficMessage> = (1..=50)
        .map(|id| TrafficMessage::generate(id, START, &mut rng))
        .collect();
    let symbols: std::collections::HashSet<&str> = messages
        .iter()
        .map(|message| message.symbol.as_str())
        .collect();
    assert!(symbols.len() > 40);
    assert!(
        messages
            .iter()
            .all(|message| (10.0..=1_000.0).contains(&message.value))
    );
}

/// On real time at 60× speed, one wall-clock second is a minute of pipeline time: about 120
/// objects at the default rate. The upper bound is strict (the pace holds in pipeline time); the
/// lower one leaves room for a busy machine, whose slow writes hold the publisher back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faster_time_scale_speeds_the_publisher_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(dir.path());
    config.time_scale = 60.0;
    config.start_time = Some(START);
    let engine = Engine::open(config).unwrap();
    engine.create_stack("alice").unwrap();
    let backend: Arc<dyn Backend> = Arc::new(EmbeddedBackend::new(Arc::clone(&engine)));
    let traffic = TrafficController::new(backend, TrafficLimits::default());
    let started = engine.clock().now();
    traffic.start("alice", publisher(2.0, 0.0, 3_600)).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = traffic.stop("alice").await;
    let elapsed_s = (engine.clock().now() - started) as f64 / 1_000.0;
    let published = status.publisher.unwrap().published as f64;
    assert!(elapsed_s >= 60.0, "elapsed {elapsed_s} s of pipeline time");
    assert!(
        published <= elapsed_s * 2.0 + 2.0,
        "{published} objects in {elapsed_s} s"
    );
    // Real time would give 3; a busy machine's slow writes can hold the pace back from 120.
    assert!(published >= 20.0, "{published} objects in {elapsed_s} s");
    engine.shutdown();
}
