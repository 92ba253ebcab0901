//! The buckets' retention rule: objects older than the retention period expire once a minute of
//! pipeline time, as an S3 lifecycle rule would expire them; the accounting counts them and still
//! balances, and the count survives a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use chaoslab::backend::embedded::stack::{QueueKind, Stack};
use chaoslab::backend::embedded::{Engine, EngineConfig};
use support::{FAULT_SEED, START, lab_message, malformed};

const RETENTION: Duration = Duration::from_secs(30 * 60);

fn open(dir: &std::path::Path, start: Option<i64>) -> Arc<Engine> {
    open_with(dir, start, Some(RETENTION))
}

fn open_with(
    dir: &std::path::Path,
    start: Option<i64>,
    retention: Option<Duration>,
) -> Arc<Engine> {
    let mut config = EngineConfig::new(dir);
    config.start_time = start;
    config.fault_seed = Some(FAULT_SEED);
    config.retention = retention;
    Engine::open(config).unwrap()
}

async fn sleep_until(engine: &Engine, at: i64) {
    tokio::time::sleep_until(engine.clock().instant_at(at)).await;
}

#[tokio::test(start_paused = true)]
async fn objects_older_than_the_retention_period_expire_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Some(START));
    let stack = engine.create_stack("alice").unwrap();
    // Ten objects now (one malformed: no output), ten more ten minutes later.
    for n in 0..10 {
        let body = if n == 0 { malformed(n) } else { lab_message(n) };
        stack
            .put_object(&format!("input/old-{n}.json"), body, "application/json")
            .unwrap();
    }
    sleep_until(&engine, START + 10 * 60_000).await;
    for n in 0..10 {
        stack
            .put_object(
                &format!("input/new-{n}.json"),
                lab_message(n),
                "application/json",
            )
            .unwrap();
    }
    sleep_until(&engine, START + 29 * 60_000 + 30_000).await;
    assert_eq!(stack.accounting().expired, 0, "nothing is old enough yet");
    assert_eq!(stack.list_objects("", 100).unwrap().len(), 10 + 9 + 10 + 10);

    // The first sweep after the old objects turn 30 minutes old: at 31 minutes.
    sleep_until(&engine, START + 31 * 60_000 + 1_000).await;
    let accounting = stack.accounting();
    assert_eq!(accounting.expired, 10 + 9, "{accounting:?}");
    assert!(accounting.balances(), "{accounting:?}");
    assert_eq!(
        (accounting.published, accounting.converted),
        (20, 19),
        "what became of the objects does not change: {accounting:?}"
    );
    let left = stack.list_objects("", 100).unwrap();
    assert_eq!(left.len(), 20, "{left:?}");
    assert!(left.iter().all(|(key, _)| key.contains("new-")), "{left:?}");
    assert!(stack.get_object("input/old-1.json").is_err());
    assert!(stack.get_object("output/old-1.csv").is_err());
    assert!(stack.get_object("output/new-1.csv").is_ok());

    // The count and the deletions are saved: a restart finds both.
    drop(stack);
    engine.shutdown();
    drop(engine);
    let engine = open(dir.path(), Some(START + 32 * 60_000));
    let stack = engine.stack("alice").unwrap();
    assert_eq!(stack.accounting().expired, 19);
    assert_eq!(stack.list_objects("", 100).unwrap().len(), 20);

    // Ten minutes later the rest have aged out too.
    sleep_until(&engine, START + 41 * 60_000 + 1_000).await;
    assert_eq!(stack.accounting().expired, 39);
    assert!(stack.list_objects("", 100).unwrap().is_empty());
    assert!(stack.accounting().balances());
}

#[tokio::test(start_paused = true)]
async fn without_a_retention_period_nothing_expires() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_with(dir.path(), Some(START), None);
    let stack = engine.create_stack("alice").unwrap();
    stack
        .put_object("input/a.json", lab_message(1), "application/json")
        .unwrap();
    sleep_until(&engine, START + 3 * 24 * 60 * 60_000).await;
    assert_eq!(stack.accounting().expired, 0);
    assert_eq!(stack.list_objects("", 10).unwrap().len(), 2);
}

/// The writer commits on a blocking thread of a multi-thread runtime, so that the sweeps below
/// queue their deletes without waiting for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_does_not_count_again_what_an_earlier_sweep_expired_while_its_delete_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(dir.path());
    config.time_scale = 600.0;
    config.retention = None;
    let engine = Engine::open(config).unwrap();
    let stack = engine.create_stack("alice").unwrap();
    for n in 0..5 {
        stack
            .put_object(
                &format!("input/{n}.json"),
                lab_message(n),
                "application/json",
            )
            .unwrap();
    }
    for _ in 0..100 {
        if stack.accounting().converted == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.settled().await.unwrap();
    assert_eq!(stack.list_objects("", 100).unwrap().len(), 10);
    // Two pipeline minutes (0.2 s): every object is more than a minute old.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Another connection holds the database's write lock: the sweeps' deletes wait in the
    // writer's queue, as they do behind a busy writer.
    let blocker = chaoslab::database::open(dir.path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let now = stack.now();
    let first = stack.expire_objects(now - 60_000).unwrap();
    let second = stack.expire_objects(now).unwrap();
    let again = stack.expire_objects(now).unwrap();
    blocker.execute_batch("ROLLBACK").unwrap();
    stack.settled().await.unwrap();

    assert_eq!((first, second, again), (10, 0, 0));
    let accounting = stack.accounting();
    assert_eq!(accounting.expired, 10, "{accounting:?}");
    assert!(stack.list_objects("", 100).unwrap().is_empty());
    engine.shutdown();
}

#[test]
fn a_sweep_on_a_busy_multi_thread_engine_counts_exactly_what_it_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut config = EngineConfig::new(dir.path());
        config.time_scale = 600.0;
        config.retention = None;
        let engine = Engine::open(config).unwrap();
        let stack = engine.create_stack("alice").unwrap();
        let writer = {
            let stack = Arc::clone(&stack);
            tokio::spawn(async move {
                for n in 0..2_000 {
                    stack
                        .put_object_queued(
                            &format!("input/{n}.json"),
                            lab_message(n),
                            "application/json",
                        )
                        .unwrap();
                    if n % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                stack.settled().await.unwrap();
            })
        };
        // Sweep while the writes go on: everything older than 1 pipeline second.
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(3)).await;
            let engine = Arc::clone(&engine);
            tokio::task::spawn_blocking(move || engine.expire_objects(Duration::from_secs(1)))
                .await
                .unwrap();
        }
        writer.await.unwrap();
        // Let every event finish (retries included: 3 pipeline minutes are 0.3 s here), so that
        // nothing is written between the two readings below.
        for _ in 0..100 {
            if stack.accounting().in_flight == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stack.settled().await.unwrap();
        let left = stack.list_objects("", usize::MAX).unwrap().len() as u64;
        let accounting = stack.accounting();
        assert!(
            accounting.expired > 0,
            "the sweeps expired nothing: {accounting:?}"
        );
        let written = 2_000 + accounting.converted;
        assert_eq!(
            accounting.expired + left,
            written,
            "every object written is either still there or counted as expired: {accounting:?}"
        );
        engine.shutdown();
    });
}

/// Messages in either queue: visible and in flight.
fn depth(stack: &Stack, kind: QueueKind) -> u64 {
    let (visible, not_visible) = stack.queue_depth(kind);
    visible + not_visible
}

#[tokio::test(start_paused = true)]
async fn queue_messages_older_than_the_retention_period_expire_and_stay_gone_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Some(START));
    let stack = engine.create_stack("alice").unwrap();
    for n in 0..10 {
        let body = if n < 4 { malformed(n) } else { lab_message(n) };
        stack
            .put_object(&format!("input/{n}.json"), body, "application/json")
            .unwrap();
    }
    // Nobody consumes: six CSV notifications wait in the csv queue, and after Lambda's two
    // retries (about three minutes) four events in the dead-letter queue.
    sleep_until(&engine, START + 10 * 60_000).await;
    assert_eq!(depth(&stack, QueueKind::Csv), 6);
    assert_eq!(depth(&stack, QueueKind::DeadLetter), 4);
    let dead_lettered_at = stack.peek_dead_letters(10, None).0[0].sent_at;
    assert!(dead_lettered_at > START + 60_000, "{dead_lettered_at}");

    // The sweep at 31 minutes removes the notifications (sent in the first minute), not yet
    // the dead letters.
    sleep_until(&engine, START + 31 * 60_000 + 1_000).await;
    assert_eq!(depth(&stack, QueueKind::Csv), 0);
    assert_eq!(depth(&stack, QueueKind::DeadLetter), 4);
    let minute = 60_000;
    let gone_after = dead_lettered_at + 30 * minute;
    sleep_until(
        &engine,
        gone_after - gone_after.rem_euclid(minute) + minute + 1_000,
    )
    .await;
    assert_eq!(depth(&stack, QueueKind::DeadLetter), 0);
    let accounting = stack.accounting();
    assert_eq!(
        accounting.dead_lettered, 4,
        "their objects were still dead-lettered: {accounting:?}"
    );
    assert!(accounting.balances(), "{accounting:?}");

    // The deletions are saved: a restart brings none back.
    drop(stack);
    engine.shutdown();
    drop(engine);
    let engine = open(dir.path(), Some(START + 60 * 60_000));
    let stack = engine.stack("alice").unwrap();
    assert_eq!(depth(&stack, QueueKind::Csv), 0);
    assert_eq!(depth(&stack, QueueKind::DeadLetter), 0);
    assert_eq!(stack.accounting().dead_lettered, 4);
}

#[tokio::test(start_paused = true)]
async fn under_a_long_retention_period_each_queue_keeps_messages_as_long_as_sqs_would() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_with(dir.path(), Some(START), None);
    let stack = engine.create_stack("alice").unwrap();
    stack
        .put_object("input/good.json", lab_message(1), "application/json")
        .unwrap();
    stack
        .put_object("input/bad.json", malformed(2), "application/json")
        .unwrap();
    let day = 24 * 60 * 60_000;
    let month = Duration::from_secs(30 * 24 * 60 * 60);
    // SQS's default retention for the csv queue: four days.
    sleep_until(&engine, START + 4 * day - 60_000).await;
    engine.expire_objects(month);
    assert_eq!(depth(&stack, QueueKind::Csv), 1);
    sleep_until(&engine, START + 4 * day + 60_000).await;
    engine.expire_objects(month);
    assert_eq!(depth(&stack, QueueKind::Csv), 0);
    assert_eq!(depth(&stack, QueueKind::DeadLetter), 1);
    // The dead-letter queue's, as the Terraform sets it: fourteen days.
    sleep_until(&engine, START + 14 * day + 10 * 60_000).await;
    engine.expire_objects(month);
    assert_eq!(depth(&stack, QueueKind::DeadLetter), 0);
}

#[tokio::test(start_paused = true)]
async fn the_sweep_takes_the_stacks_one_after_another_across_half_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Some(START));
    let ids = ["a", "b", "c", "d"];
    for id in ids {
        let stack = engine.create_stack(id).unwrap();
        stack
            .put_object("input/old.json", lab_message(1), "application/json")
            .unwrap();
    }
    let expired = || -> Vec<u64> {
        ids.iter()
            .map(|id| engine.stack(id).unwrap().accounting().expired)
            .collect()
    };
    // Four stacks in 30 s: one every 7.5 s from the minute's start, in the order of their ids,
    // each with its own cut-off. At 30 minutes the first one's cut-off is the objects' time, so
    // they are not older than it yet; the others' cut-offs come 7.5, 15 and 22.5 s later.
    let sweep = START + 30 * 60_000;
    sleep_until(&engine, sweep + 1_000).await;
    assert_eq!(expired(), [0, 0, 0, 0]);
    sleep_until(&engine, sweep + 8_000).await;
    assert_eq!(expired(), [0, 2, 0, 0]);
    sleep_until(&engine, sweep + 16_000).await;
    assert_eq!(expired(), [0, 2, 2, 0]);
    sleep_until(&engine, sweep + 23_000).await;
    assert_eq!(expired(), [0, 2, 2, 2]);
    sleep_until(&engine, sweep + 61_000).await;
    assert_eq!(expired(), [2, 2, 2, 2]);
}
