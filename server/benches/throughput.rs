//! The embedded engine's end-to-end throughput, black-box through the REST API (issue 13): many
//! participants push objects through their pipelines as fast as the server lets them, and the bench
//! counts what comes out the far end.
//!
//! `cargo bench -p chaoslab --bench throughput [-- --participants N] [--rate R] [--seconds S]
//! [--warm-up S] [--max-rate R]`. Figures go in BENCHMARKS.md.
//!
//! The server is the release binary (`benches/support`): embedded backend, durability on,
//! `RUST_LOG=warn`, `--max-rate` (default 500) so a participant may ask for that many objects per
//! second, and `--client-address-header`, so that each participant's calls come from an address
//! of its own (the join limit is per address). Every participant (default 40) starts traffic at
//! `--rate` objects/s (default 200), 1% malformed, with a subscriber at the same rate, so the
//! whole asks for participants × rate objects/s. After the warm-up (default 10 s) the bench reads
//! every participant's accounting (`GET …/accounting`, with the instructor's token), waits
//! `--seconds` (default 60), and reads it again: the difference of `consumed` (CSV notifications
//! received and deleted by the subscriber: the object went all the way) per second is the
//! end-to-end rate; `published` and `converted` are shown beside it. The server's CPU time and
//! resident memory come from `/proc`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::argument;
use support::http::{CLIENT_HEADER, Connection, Extras, json, setup_request};
use support::participants::join_with_traffic;
use support::server::{INSTRUCTOR_TOKEN, Server, mib};

/// Counters summed over every participant's accounting.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    published: u64,
    converted: u64,
    dead_lettered: u64,
    in_flight: u64,
    consumed: u64,
    balanced: bool,
}

async fn totals(connection: &mut Connection, ids: &[String]) -> Totals {
    let mut totals = Totals {
        balanced: true,
        ..Totals::default()
    };
    for id in ids {
        let response = setup_request(
            connection,
            "GET",
            &format!("/api/v1/participants/{id}/accounting"),
            Extras::token(INSTRUCTOR_TOKEN),
        )
        .await;
        let accounting: Value = json(&response);
        let field = |name: &str| accounting[name].as_u64().unwrap_or(0);
        totals.published += field("published");
        totals.converted += field("converted");
        totals.dead_lettered += field("dead_lettered");
        totals.in_flight += field("in_flight");
        totals.consumed += field("consumed");
        totals.balanced &= field("published")
            == field("converted") + field("dead_lettered") + field("dropped") + field("in_flight");
    }
    totals
}

fn main() {
    let participant_count: usize = argument("--participants", 40);
    let rate: u32 = argument("--rate", 200);
    let seconds: u64 = argument("--seconds", 60);
    let warm_up: u64 = argument("--warm-up", 10);
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
        let ids: Vec<String> =
            join_with_traffic(&mut connection, participant_count, f64::from(rate))
                .await
                .into_iter()
                .map(|participant| participant.id)
                .collect();
        eprintln!(
            "{participant_count} participants at {rate} objects/s each ({} asked for); warming up {warm_up} s",
            participant_count as u64 * u64::from(rate)
        );
        tokio::time::sleep(Duration::from_secs(warm_up)).await;

        let before = totals(&mut connection, &ids).await;
        let cpu_before = meter.sample().unwrap();
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let after = totals(&mut connection, &ids).await;
        let elapsed = started.elapsed().as_secs_f64();
        let cpu_after = meter.sample().unwrap();

        let per_second = |from: u64, to: u64| to.saturating_sub(from) as f64 / elapsed;
        println!(
            "End-to-end throughput: {participant_count} participants × {rate} objects/s asked, 1% malformed, --max-rate {max_rate}, {elapsed:.1} s measured after {warm_up} s of warm-up"
        );
        println!();
        println!("| measure | per second |");
        println!("|---|---|");
        println!(
            "| published | {:.0} |",
            per_second(before.published, after.published)
        );
        println!(
            "| converted | {:.0} |",
            per_second(before.converted, after.converted)
        );
        println!(
            "| dead-lettered | {:.1} |",
            per_second(before.dead_lettered, after.dead_lettered)
        );
        println!(
            "| **consumed (end to end)** | **{:.0}** |",
            per_second(before.consumed, after.consumed)
        );
        println!();
        println!(
            "in flight at the end: {}; accounting balanced at both readings: {}",
            after.in_flight,
            before.balanced && after.balanced
        );
        println!(
            "server CPU: {:.1} s in {elapsed:.1} s = {:.2} cores; RSS {:.1} MiB before, {:.1} MiB after ({} objects published in all)",
            cpu_after.cpu_seconds - cpu_before.cpu_seconds,
            (cpu_after.cpu_seconds - cpu_before.cpu_seconds) / elapsed,
            mib(cpu_before.rss_kib),
            mib(cpu_after.rss_kib),
            after.published
        );
        let log = server.log();
        println!(
            "server log (warn and above): {} lines",
            log.lines().count()
        );
    });
}
