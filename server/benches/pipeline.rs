//! The embedded pipeline under load, durability on (SQLite in a temporary directory on disk).
//!
//! `cargo bench -p chaoslab --bench pipeline [-- --seconds N]` prints:
//! - throughput: objects per second from publish to CSV message in the csv queue, many stacks at
//!   once, publishers going as fast as the engine lets them, 1% malformed;
//! - latency: p50/p99 from publish to CSV message received, 200 stacks at 2 objects/s each;
//! - memory: resident memory per idle stack.
//!
//! Figures go in BENCHMARKS.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chaoslab::backend::embedded::stack::{QueueKind, Stack};
use chaoslab::backend::embedded::{Engine, EngineConfig};

fn message(n: u64, malformed: bool) -> Bytes {
    let text = format!(
        r#"{{"symbol":"ABCD","messageId":{n},"value":{}.25,"objectName":"data_object_msg-{n}","submissionDate":"26-Nov-2026 00:00:00","author":"bench","version":"1.0"}}"#,
        100 + n % 50
    );
    Bytes::from(if malformed {
        text.replacen('"', "", 1)
    } else {
        text
    })
}

fn open(dir: &std::path::Path) -> Arc<Engine> {
    match Engine::open(EngineConfig::new(dir)) {
        Ok(engine) => engine,
        Err(error) => panic!("cannot open the engine: {error}"),
    }
}

fn create_stacks(engine: &Engine, count: usize) -> Vec<Arc<Stack>> {
    let first = engine.stacks().len();
    (first..first + count)
        .map(|n| match engine.create_stack(&format!("participant-{n}")) {
            Ok(stack) => stack,
            Err(error) => panic!("cannot create a stack: {error}"),
        })
        .collect()
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn throughput(stacks_count: usize, seconds: u64) {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let engine = open(dir.path());
    let stacks = create_stacks(&engine, stacks_count);
    let stop = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicU64::new(0));
    let mut publishers = Vec::new();
    for stack in &stacks {
        let (stack, stop, published) =
            (Arc::clone(stack), Arc::clone(&stop), Arc::clone(&published));
        publishers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let key = format!("input/data_object_msg-{n}.json");
                if stack
                    .put_object(&key, message(n, n.is_multiple_of(100)), "application/json")
                    .is_ok()
                {
                    published.fetch_add(1, Ordering::Relaxed);
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    let converted = |stacks: &[Arc<Stack>]| {
        stacks
            .iter()
            .map(|stack| stack.accounting().converted)
            .sum::<u64>()
    };
    // Warm up for a few seconds, then measure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (start_converted, start_published, started) = (
        converted(&stacks),
        published.load(Ordering::Relaxed),
        Instant::now(),
    );
    let mut per_second = Vec::new();
    let mut last = start_converted;
    for _ in 0..seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = converted(&stacks);
        per_second.push(now - last);
        last = now;
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for publisher in publishers {
        let _ = publisher.await;
    }
    let converted_total = last - start_converted;
    let csv_messages: u64 = stacks
        .iter()
        .map(|stack| stack.queue_depth(QueueKind::Csv).0)
        .sum();
    per_second.sort_unstable();
    println!(
        "throughput: {stacks_count} stacks, {seconds} s: {:.0} objects/s published→CSV message \
         ({converted_total} converted, {:.0} puts/s accepted); slowest second {}, median second {}; \
         {csv_messages} CSV messages waiting at the end",
        converted_total as f64 / elapsed,
        (published.load(Ordering::Relaxed) - start_published) as f64 / elapsed,
        per_second.first().copied().unwrap_or(0),
        per_second.get(per_second.len() / 2).copied().unwrap_or(0),
    );
    engine.shutdown();
}

async fn latency(stacks_count: usize, seconds: u64) {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let engine = open(dir.path());
    let stacks = create_stacks(&engine, stacks_count);
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let mut subscribers = Vec::new();
    for (index, stack) in stacks.iter().enumerate() {
        let sent: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
        // Publisher: 2 objects per second, the stacks' ticks spread over the half second.
        let (publisher_stack, publisher_sent, publisher_stop) =
            (Arc::clone(stack), Arc::clone(&sent), Arc::clone(&stop));
        let offset = Duration::from_micros((index as u64 * 500_000) / stacks_count as u64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut ticker = tokio::time::interval(Duration::from_millis(500));
            let mut n = 0u64;
            while !publisher_stop.load(Ordering::Relaxed) {
                ticker.tick().await;
                n += 1;
                let key = format!("data_object_msg-{n}");
                let malformed = n.is_multiple_of(100);
                let started = Instant::now();
                if !malformed {
                    publisher_sent
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(key.clone(), started);
                }
                let _ = publisher_stack.put_object(
                    &format!("input/{key}.json"),
                    message(n, malformed),
                    "application/json",
                );
            }
        }));
        // Subscriber: long-polls the csv queue and times each CSV notification.
        let (subscriber_stack, subscriber_stop) = (Arc::clone(stack), Arc::clone(&stop));
        subscribers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !subscriber_stop.load(Ordering::Relaxed) {
                let Ok(messages) = subscriber_stack
                    .receive_messages(QueueKind::Csv, 10, Duration::from_secs(1))
                    .await
                else {
                    continue;
                };
                let received = Instant::now();
                for message in messages {
                    let key = serde_json::from_str::<serde_json::Value>(&message.body)
                        .ok()
                        .and_then(|envelope| envelope["Message"].as_str().map(str::to_owned))
                        .and_then(|event| serde_json::from_str::<serde_json::Value>(&event).ok())
                        .and_then(|event| {
                            event["Records"][0]["s3"]["object"]["key"]
                                .as_str()
                                .map(str::to_owned)
                        })
                        .unwrap_or_default();
                    let name = key
                        .trim_start_matches("output/")
                        .trim_end_matches(".csv")
                        .to_owned();
                    if let Some(started) =
                        sent.lock().unwrap_or_else(|e| e.into_inner()).remove(&name)
                    {
                        latencies.push(received.duration_since(started));
                    }
                    let _ =
                        subscriber_stack.delete_message(QueueKind::Csv, &message.receipt_handle);
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let mut latencies = Vec::new();
    for subscriber in subscribers {
        latencies.extend(subscriber.await.unwrap_or_default());
    }
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies
            .get(index)
            .map_or(0.0, |latency| latency.as_secs_f64() * 1000.0)
    };
    println!(
        "latency: {stacks_count} stacks at 2 objects/s ({} objects/s), {seconds} s, {} samples: \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        stacks_count * 2,
        latencies.len(),
        percentile(0.50),
        percentile(0.99),
        latencies
            .last()
            .map_or(0.0, |latency| latency.as_secs_f64() * 1000.0),
    );
    engine.shutdown();
}

async fn memory(stacks_count: usize) {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let engine = open(dir.path());
    create_stacks(&engine, 10);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = resident_bytes();
    let stacks = create_stacks(&engine, stacks_count);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = resident_bytes();
    println!(
        "memory: {stacks_count} idle stacks: {:.1} KiB resident per stack ({:.1} MiB in all)",
        after.saturating_sub(before) as f64 / 1024.0 / stacks_count as f64,
        after.saturating_sub(before) as f64 / 1024.0 / 1024.0,
    );
    drop(stacks);
    engine.shutdown();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds = args
        .iter()
        .position(|arg| arg == "--seconds")
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(60);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("{error}"));
    println!(
        "machine: {} cores; durability on (SQLite WAL, synchronous=NORMAL)",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    runtime.block_on(async {
        memory(1_000).await;
        throughput(200, seconds).await;
        latency(200, seconds).await;
    });
}
