//! Delivery latency under load, black-box through the REST API (issue 13: "p99 from publish to
//! CSV message in the queue < 50 ms at 2,000 objects/s").
//!
//! `cargo bench -p chaoslab --bench latency [-- --participants N] [--rate R] [--seconds S]
//! [--warm-up S] [--max-rate R]`. Figures go in BENCHMARKS.md.
//!
//! The server is the release binary (`benches/support`): embedded backend, durability on,
//! `RUST_LOG=warn`, `--max-rate` (default 500) and `--client-address-header`, as in the
//! throughput bench. Every participant (default 20) starts traffic at `--rate` objects/s
//! (default 100), 1% malformed, with a subscriber at the same rate: 2,000 objects/s asked in
//! all. After the warm-up (default 15 s) the bench reads every participant's accounting, waits
//! `--seconds` (default 60), reads it again, and reads every participant's traffic state
//! (`GET …/traffic`). Each subscriber's `delivery_latency_ms` summarises the latencies of the
//! CSV notifications it received in the last minute of pipeline time: from the publisher
//! starting an object's put to SQS accepting the object's CSV notification in the csv queue
//! (`SentTimestamp`). With `--seconds 60` that minute is the measured interval.
//!
//! The API gives each participant's percentiles, not their samples, so the merged p99 over
//! every participant is not known exactly; it is at most the worst participant's p99 (each
//! participant has at least 99% of its samples at or below its own p99, so at least 99% of all
//! samples lie at or below the highest of them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::argument;
use support::http::{CLIENT_HEADER, Connection};
use support::participants::{join_with_traffic, read_accountings, read_traffic};
use support::server::{Server, mib};

/// One participant's `delivery_latency_ms`.
#[derive(Debug, Clone, Copy)]
struct Latency {
    samples: u64,
    unmatched: u64,
    p50: u64,
    p99: u64,
    max: u64,
}

impl Latency {
    fn from_traffic(traffic: &Value) -> Option<Self> {
        let latency = &traffic["subscriber"]["delivery_latency_ms"];
        let field = |name: &str| latency[name].as_u64();
        Some(Self {
            samples: field("samples")?,
            unmatched: field("unmatched")?,
            p50: field("p50")?,
            p99: field("p99")?,
            max: field("max")?,
        })
    }
}

/// The `percent`th percentile (nearest rank) of `values`, which it sorts.
fn nearest_rank(values: &mut [u64], percent: usize) -> u64 {
    values.sort_unstable();
    let rank = (percent * values.len()).div_ceil(100).max(1);
    values.get(rank - 1).copied().unwrap_or(0)
}

fn main() {
    let participant_count: usize = argument("--participants", 20);
    let rate: u32 = argument("--rate", 100);
    let seconds: u64 = argument("--seconds", 60);
    let warm_up: u64 = argument("--warm-up", 15);
    let max_rate: u32 = argument("--max-rate", 500);

    let server = Server::start(&[
        "--max-rate",
        &max_rate.to_string(),
        "--client-address-header",
        CLIENT_HEADER,
    ]);
    let meter = server.meter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut connection = Connection::new(server.address);
        let participants =
            join_with_traffic(&mut connection, participant_count, f64::from(rate)).await;
        let asked = participant_count as u64 * u64::from(rate);
        eprintln!(
            "{participant_count} participants at {rate} objects/s each ({asked} asked for); warming up {warm_up} s"
        );
        tokio::time::sleep(Duration::from_secs(warm_up)).await;

        let before = read_accountings(server.address, &participants).await;
        let cpu_before = meter.sample().unwrap();
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let after = read_accountings(server.address, &participants).await;
        let elapsed = started.elapsed().as_secs_f64();
        let cpu_after = meter.sample().unwrap();
        let traffic = read_traffic(server.address, &participants).await;

        let latencies: Vec<Latency> = traffic.iter().filter_map(Latency::from_traffic).collect();
        let per_second = |from: u64, to: u64| to.saturating_sub(from) as f64 / elapsed;
        let (before, after) = (before.total(), after.total());
        println!(
            "Delivery latency (publish → CSV notification in the queue): {participant_count} participants × {rate} objects/s asked ({asked}), 1% malformed, --max-rate {max_rate}, {elapsed:.1} s measured after {warm_up} s of warm-up"
        );
        println!();
        println!(
            "objects/s: published {:.0}, converted {:.0}, consumed (end to end) {:.0}",
            per_second(before.published, after.published),
            per_second(before.converted, after.converted),
            per_second(before.consumed, after.consumed)
        );
        println!(
            "participants reporting a latency: {} of {participant_count}; samples {} (unmatched {}) in the last minute",
            latencies.len(),
            latencies.iter().map(|latency| latency.samples).sum::<u64>(),
            latencies.iter().map(|latency| latency.unmatched).sum::<u64>()
        );
        if latencies.is_empty() {
            println!("no participant reported a delivery latency");
            return;
        }
        let mut p50s: Vec<u64> = latencies.iter().map(|latency| latency.p50).collect();
        let mut p99s: Vec<u64> = latencies.iter().map(|latency| latency.p99).collect();
        let mut maxes: Vec<u64> = latencies.iter().map(|latency| latency.max).collect();
        println!();
        println!("| over participants (ms) | lowest | median | highest |");
        println!("|---|---|---|---|");
        for (name, values) in [
            ("p50", &mut p50s),
            ("p99", &mut p99s),
            ("max", &mut maxes),
        ] {
            let median = nearest_rank(values, 50);
            println!(
                "| {name} | {} | {median} | {} |",
                values.first().copied().unwrap_or(0),
                values.last().copied().unwrap_or(0)
            );
        }
        let worst_p99 = p99s.last().copied().unwrap_or(0);
        println!();
        println!(
            "**worst participant p99: {worst_p99} ms** (the merged p99 over every sample is at most this); highest latency seen: {} ms",
            maxes.last().copied().unwrap_or(0)
        );
        println!(
            "server CPU: {:.1} s in {elapsed:.1} s = {:.2} cores; RSS {:.1} MiB before, {:.1} MiB after",
            cpu_after.cpu_seconds - cpu_before.cpu_seconds,
            (cpu_after.cpu_seconds - cpu_before.cpu_seconds) / elapsed,
            mib(cpu_before.rss_kib),
            mib(cpu_after.rss_kib)
        );
        println!(
            "server log (warn and above): {} lines",
            server.log().lines().count()
        );
    });
}
