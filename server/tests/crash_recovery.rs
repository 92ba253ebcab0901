//! The engine survives being killed: its runtime is torn down at random points mid-traffic (every
//! task stops at whatever await point it reached, as in a crash), and it is reopened from the same
//! directory. After the last round drains, every published object is converted or in the
//! dead-letter queue, exactly once, and the accounting agrees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chaoslab::backend::embedded::stack::QueueKind;
use chaoslab::backend::embedded::{Engine, EngineConfig};
use support::{lab_message, malformed};

/// Pipeline time runs 600× faster, so the retries' 3 minutes take 0.3 s of wall time.
const TIME_SCALE: f64 = 600.0;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn open(dir: &std::path::Path) -> Arc<Engine> {
    let mut config = EngineConfig::new(dir);
    config.time_scale = TIME_SCALE;
    Engine::open(config).unwrap()
}

fn is_malformed(n: u64) -> bool {
    n.is_multiple_of(10)
}

#[test]
fn killed_mid_traffic_the_engine_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let next = Arc::new(AtomicU64::new(1));
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut rng = fastrand::Rng::with_seed(7);

    for round in 0..6 {
        let runtime = runtime();
        let run_for = Duration::from_millis(rng.u64(50..400));
        runtime.block_on(async {
            let engine = open(dir.path());
            let stack = engine
                .stack("alice")
                .unwrap_or_else(|| engine.create_stack("alice").unwrap());
            let publisher = {
                let (stack, next, acknowledged) = (
                    Arc::clone(&stack),
                    Arc::clone(&next),
                    Arc::clone(&acknowledged),
                );
                async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        let body = if is_malformed(n) {
                            malformed(n)
                        } else {
                            lab_message(n)
                        };
                        if stack
                            .put_object(&format!("input/obj-{n}.json"), body, "application/json")
                            .is_ok()
                        {
                            acknowledged.lock().unwrap().insert(n);
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            };
            let subscriber = {
                let stack = Arc::clone(&stack);
                async move {
                    loop {
                        let messages = stack
                            .receive_messages(QueueKind::Csv, 10, Duration::from_secs(1))
                            .await
                            .unwrap();
                        for message in messages {
                            let _ = stack.delete_message(QueueKind::Csv, &message.receipt_handle);
                        }
                    }
                }
            };
            tokio::spawn(publisher);
            tokio::spawn(subscriber);
            tokio::time::sleep(run_for).await;
            assert!(
                stack.accounting().balances(),
                "round {round}: {:?}",
                stack.accounting()
            );
            // No shutdown: dropping the engine aborts its tasks and saves nothing on the way out.
            drop(engine);
        });
        // Dropping the runtime stops every task at its current await point: a crash.
        drop(runtime);
    }

    // Reopen, let every retry finish, and account for every object.
    let runtime = runtime();
    runtime.block_on(async {
        let engine = open(dir.path());
        let stack = engine.stack("alice").unwrap();
        tokio::time::sleep(Duration::from_millis(800)).await;
        let accounting = stack.accounting();
        assert_eq!(accounting.in_flight, 0, "{accounting:?}");
        assert!(accounting.balances(), "{accounting:?}");

        let inputs: BTreeSet<u64> = stack
            .list_objects("input/", usize::MAX)
            .unwrap()
            .iter()
            .map(|(key, _)| {
                key.trim_start_matches("input/obj-")
                    .trim_end_matches(".json")
                    .parse()
                    .unwrap()
            })
            .collect();
        let acknowledged = acknowledged.lock().unwrap().clone();
        assert!(
            acknowledged.is_subset(&inputs),
            "an acknowledged object was lost"
        );
        assert_eq!(
            accounting.published,
            inputs.len() as u64,
            "each stored input queued exactly one event"
        );

        let outputs: BTreeSet<u64> = stack
            .list_objects("output/", usize::MAX)
            .unwrap()
            .iter()
            .map(|(key, _)| {
                key.trim_start_matches("output/obj-")
                    .trim_end_matches(".csv")
                    .parse()
                    .unwrap()
            })
            .collect();
        let mut dead_letters: BTreeMap<u64, u32> = BTreeMap::new();
        loop {
            let messages = stack
                .receive_messages(QueueKind::DeadLetter, 10, Duration::ZERO)
                .await
                .unwrap();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let event: serde_json::Value = serde_json::from_str(&message.body).unwrap();
                let key = event["Records"][0]["s3"]["object"]["key"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let n = key
                    .trim_start_matches("input/obj-")
                    .trim_end_matches(".json")
                    .parse()
                    .unwrap();
                *dead_letters.entry(n).or_default() += 1;
            }
        }
        for n in &inputs {
            let converted = outputs.contains(n);
            let dead = dead_letters.get(n).copied().unwrap_or(0);
            if is_malformed(*n) {
                assert!(
                    !converted && dead == 1,
                    "malformed object {n}: converted {converted}, DLQ {dead} times"
                );
            } else {
                assert!(
                    converted && dead == 0,
                    "good object {n}: converted {converted}, DLQ {dead} times"
                );
            }
        }
        assert_eq!(accounting.converted, outputs.len() as u64);
        assert_eq!(
            accounting.dead_lettered,
            dead_letters
                .values()
                .map(|&count| u64::from(count))
                .sum::<u64>()
        );
        // Every conversion put exactly one notification in the csv queue.
        let (visible, hidden) = stack.queue_depth(QueueKind::Csv);
        assert_eq!(
            accounting.consumed + visible + hidden,
            accounting.converted,
            "{accounting:?}"
        );
        println!(
            "{} objects over 6 crashes: {} converted, {} dead-lettered, {} consumed",
            inputs.len(),
            accounting.converted,
            accounting.dead_lettered,
            accounting.consumed
        );
        engine.shutdown();
    });
}

#[test]
fn sqs_metrics_are_reported_on_a_multi_thread_runtime() {
    // The reporter task once started before the engine's Arc existed and quit at once, so no SQS
    // metric was ever recorded; only a multi-thread runtime showed it.
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let runtime = runtime();
        runtime.block_on(async {
            let engine = open(dir.path());
            let stack = engine.create_stack("alice").unwrap();
            stack
                .put_object("input/a.json", lab_message(1), "application/json")
                .unwrap();
            // Two minutes of pipeline time at 600×: two SQS reporting ticks.
            tokio::time::sleep(Duration::from_millis(250)).await;
            let sent = support::statistic(
                &stack,
                stack.now() - 600_000,
                "AWS/SQS",
                "NumberOfMessagesSent",
                "Sum",
            );
            assert_eq!(sent, Some(1.0));
            engine.shutdown();
        });
    }
}
