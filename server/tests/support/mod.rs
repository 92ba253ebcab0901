//! Shared helpers for the embedded-pipeline tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod binary;
pub mod experiments;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chaoslab::backend::Backend;
use chaoslab::backend::embedded::service::EmbeddedBackend;
use chaoslab::backend::embedded::stack::Stack;
use chaoslab::backend::embedded::{Engine, EngineConfig};
use chaoslab::metrics::{
    Dimension, EpochMillis, GetMetricDataRequest, Metric, MetricDataQuery, MetricStat, ScanBy,
};
use chaoslab::traffic::{TrafficController, TrafficLimits};

/// 2026-11-26T00:00:00Z: pipeline time starts on a minute boundary, so minutes are easy to read.
pub const START: EpochMillis = 1_795_651_200_000;

/// An engine in a temporary directory, with one stack.
pub struct TestPipeline {
    pub dir: tempfile::TempDir,
    pub engine: Arc<Engine>,
}

impl TestPipeline {
    pub fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let engine = open_engine(dir.path(), Some(START));
        engine.create_stack("alice").unwrap();
        Self { dir, engine }
    }

    pub fn stack(&self) -> Arc<Stack> {
        self.engine.stack("alice").unwrap()
    }

    /// Sleeps until the pipeline clock reads `at`.
    pub async fn sleep_until(&self, at: EpochMillis) {
        tokio::time::sleep_until(self.engine.clock().instant_at(at)).await;
    }

    pub async fn sleep(&self, duration: Duration) {
        self.engine.clock().sleep(duration).await;
    }
}

/// A [`TestPipeline`] with a traffic controller over it, with the default limits.
pub struct TrafficLab {
    pub pipeline: TestPipeline,
    pub engine: Arc<Engine>,
    pub traffic: TrafficController,
}

impl TrafficLab {
    pub fn open() -> Self {
        let pipeline = TestPipeline::open();
        let engine = Arc::clone(&pipeline.engine);
        let backend: Arc<dyn Backend> = Arc::new(EmbeddedBackend::new(Arc::clone(&engine)));
        let traffic = TrafficController::new(backend, TrafficLimits::default());
        Self {
            pipeline,
            engine,
            traffic,
        }
    }

    /// Sleeps for `seconds` of pipeline time.
    pub async fn sleep(&self, seconds: u64) {
        self.pipeline.sleep(Duration::from_secs(seconds)).await;
    }

    /// Pipeline time now.
    pub fn now(&self) -> EpochMillis {
        self.engine.clock().now()
    }
}

/// The seed of every test engine's injected faults, so their draws repeat from run to run.
pub const FAULT_SEED: u64 = 20_261_202;

pub fn open_engine(dir: &std::path::Path, start: Option<EpochMillis>) -> Arc<Engine> {
    let mut config = EngineConfig::new(dir);
    config.start_time = start;
    config.fault_seed = Some(FAULT_SEED);
    Engine::open(config).unwrap()
}

/// A message shaped like the lab publisher's.
pub fn lab_message(n: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"symbol":"ABCD","messageId":{n},"value":{}.25,"objectName":"data_object_msg-{n}","submissionDate":"26-Nov-2026 00:00:00","author":"test","version":"1.0"}}"#,
        100 + n % 50
    ))
}

/// The lab's malformed message: a good one with its first double quote removed.
pub fn malformed(n: u64) -> Bytes {
    let good = lab_message(n);
    let text = String::from_utf8(good.to_vec())
        .unwrap()
        .replacen('"', "", 1);
    Bytes::from(text)
}

/// A metric of the stack by namespace and name, with the stack's own dimension.
pub fn stack_metric(stack: &Stack, namespace: &str, name: &str) -> Metric {
    let names = stack.names();
    let (dimension, value) = match namespace {
        "AWS/Lambda" | "chaoslab" => ("FunctionName", names.function_name.clone()),
        "AWS/SNS" => ("TopicName", names.topic_name.clone()),
        "AWS/SQS/dlq" => ("QueueName", names.dlq_name.clone()),
        _ => ("QueueName", names.csv_queue_name.clone()),
    };
    Metric {
        namespace: namespace.trim_end_matches("/dlq").to_owned(),
        metric_name: name.to_owned(),
        dimensions: vec![Dimension {
            name: dimension.to_owned(),
            value,
        }],
    }
}

/// One statistic of a metric over a day from the minute before `from`, as a single value.
pub fn statistic(
    stack: &Stack,
    from: EpochMillis,
    namespace: &str,
    name: &str,
    stat: &str,
) -> Option<f64> {
    let start = from - from.rem_euclid(60_000);
    let metric = stack_metric(stack, namespace, name);
    let request = metric_request(metric, stat, 86_400, start, start + 86_400_000);
    let response = stack.metric_data(&request).unwrap();
    response.metric_data_results[0].values.first().copied()
}

/// A request for one statistic of one metric over `[start, end)` in periods of `period`
/// seconds, oldest first.
pub fn metric_request(
    metric: Metric,
    stat: &str,
    period: u32,
    start: EpochMillis,
    end: EpochMillis,
) -> GetMetricDataRequest {
    GetMetricDataRequest {
        metric_data_queries: vec![MetricDataQuery {
            id: "m1".into(),
            metric_stat: Some(MetricStat {
                metric,
                period,
                stat: stat.into(),
            }),
            expression: None,
            label: None,
            return_data: None,
            period: None,
        }],
        start_time: start,
        end_time: end,
        scan_by: Some(ScanBy::TimestampAscending),
        max_datapoints: None,
        next_token: None,
    }
}

/// Lambda `Invocations` since `from`.
pub fn invocations(stack: &Stack, from: EpochMillis) -> u64 {
    statistic(stack, from, "AWS/Lambda", "Invocations", "Sum").unwrap_or(0.0) as u64
}
