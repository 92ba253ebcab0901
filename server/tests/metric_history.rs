//! Metrics older than the last few minutes live on disk only: memory holds a fixed window however
//! long a stack runs, and reads over longer ranges, before and after a restart, see every minute.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use chaoslab::backend::embedded::stack::Stack;
use chaoslab::backend::embedded::{Engine, EngineConfig};
use support::{FAULT_SEED, START, lab_message, metric_request, stack_metric};

const MINUTE: i64 = 60_000;

fn open(dir: &std::path::Path, start: i64) -> Arc<Engine> {
    let mut config = EngineConfig::new(dir);
    config.start_time = Some(start);
    config.fault_seed = Some(FAULT_SEED);
    Engine::open(config).unwrap()
}

fn invocations(stack: &Stack, stat: &str, period: u32, start: i64, end: i64) -> Vec<(i64, f64)> {
    let metric = stack_metric(stack, "AWS/Lambda", "Invocations");
    let request = metric_request(metric, stat, period, start, end);
    let result = stack
        .metric_data(&request)
        .unwrap()
        .metric_data_results
        .remove(0);
    result.timestamps.into_iter().zip(result.values).collect()
}

#[tokio::test(start_paused = true)]
async fn an_hour_of_metrics_reads_back_whole_with_a_few_minutes_in_memory_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), START);
    let stack = engine.create_stack("alice").unwrap();
    // Minute m gets m % 3 + 1 objects, so the minutes differ.
    for minute in 0..60 {
        for n in 0..(minute % 3 + 1) {
            stack
                .put_object(
                    &format!("input/{minute}-{n}.json"),
                    lab_message(u64::try_from(minute * 10 + n).unwrap()),
                    "application/json",
                )
                .unwrap();
        }
        tokio::time::sleep_until(engine.clock().instant_at(START + (minute + 1) * MINUTE)).await;
    }
    tokio::time::sleep_until(engine.clock().instant_at(START + 60 * MINUTE + 30_000)).await;

    let expected: Vec<(i64, f64)> = (0..60)
        .map(|minute| (START + minute * MINUTE, (minute % 3 + 1) as f64))
        .collect();
    let end = START + 60 * MINUTE;
    assert_eq!(invocations(&stack, "Sum", 60, START, end), expected);
    assert_eq!(
        invocations(&stack, "Sum", 3600, START, end),
        [(START, 120.0)],
        "one period spanning disk and memory"
    );
    let in_memory = stack.metric_minutes_in_memory();
    assert!(in_memory <= 13, "{in_memory} minutes of metrics in memory");

    drop(stack);
    engine.shutdown();
    drop(engine);
    let engine = open(dir.path(), START + 61 * MINUTE);
    let stack = engine.stack("alice").unwrap();
    assert!(stack.metric_minutes_in_memory() <= 13);
    assert_eq!(invocations(&stack, "Sum", 60, START, end), expected);
    assert_eq!(
        invocations(&stack, "Maximum", 3600, START, end),
        [(START, 1.0)]
    );
}
