//! A flood of requests with made-up bearer tokens against a real `chaoslab serve` process: does
//! the server's resident memory stay flat, and does the rate limit answer them?
//!
//! `cargo bench -p chaoslab --bench token_flood [-- --requests N] [--token-bytes N]
//! [--connections N] [--warm-up N] [--checkpoints N]`. Figures go in BENCHMARKS.md.
//!
//! The server is the release binary, started by `support::server` on a free loopback port with a
//! temporary data directory. Each request is `GET /api/v1/events` with
//! `Authorization: Bearer <a fresh random token of --token-bytes hex digits>`, sent over
//! keep-alive HTTP/1.1 connections (`support::http`), one thread each. Resident memory (`VmRSS` of
//! `/proc/<pid>/status`) is read when the server is ready, after ordinary requests with the
//! instructor's token, after a warm-up of the flood's requests, at checkpoints during the flood
//! and after it. The rate limit should refuse all but the first burst (429): a made-up token is
//! not an identity, so every one of them counts against the one client address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::argument;
use support::http::{Connection, Extras};
use support::server::{INSTRUCTOR_TOKEN, Server, mib};

mod support;

/// A made-up bearer token of `bytes` hex digits.
fn random_token(bytes: usize) -> String {
    let mut token = String::with_capacity(bytes);
    while token.len() < bytes {
        token.push_str(&format!("{:032x}", fastrand::u128(..)));
    }
    token.truncate(bytes);
    token
}

/// Sends `requests` requests to `path` over `connections` keep-alive connections, one thread
/// each, with the bearer token `token()` makes for each; returns how many got each status (0: no
/// answer).
fn flood(
    address: SocketAddr,
    requests: usize,
    connections: usize,
    path: &'static str,
    token: impl Fn() -> String + Copy + Send + 'static,
) -> BTreeMap<u16, usize> {
    let per_connection = requests / connections;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let mut counts = BTreeMap::<u16, usize>::new();
                    let mut connection = Connection::new(address);
                    for _ in 0..per_connection {
                        let token = token();
                        let status = connection
                            .request("GET", path, Extras::token(&token))
                            .await
                            .map_or(0, |response| response.status);
                        *counts.entry(status).or_default() += 1;
                    }
                    counts
                })
            })
        })
        .collect();
    let mut counts = BTreeMap::<u16, usize>::new();
    for worker in workers {
        for (status, count) in worker.join().unwrap() {
            *counts.entry(status).or_default() += count;
        }
    }
    counts
}

fn main() {
    let requests = argument("--requests", 100_000);
    let token_bytes = argument("--token-bytes", 4096);
    let connections = argument("--connections", 2).max(1);
    let warm_up = argument("--warm-up", 1_000);
    let checkpoints = argument("--checkpoints", 5).max(1);

    let server = Server::start(&[]);
    let meter = server.meter();
    let resident_kib = || meter.sample().unwrap().rss_kib;
    let at_ready = resident_kib();
    // Ordinary traffic first: the instructor's valid token, over the same connections.
    flood(
        server.address,
        warm_up,
        connections,
        "/api/v1/events?limit=1",
        || INSTRUCTOR_TOKEN.to_owned(),
    );
    let after_ordinary = resident_kib();
    // The first requests bring the server to its working size (connection buffers big enough
    // for 4 KB headers, the database's statements, the runtime's worker stacks); what must not
    // happen is growth with the number of requests after that.
    let random = move || random_token(token_bytes);
    flood(
        server.address,
        warm_up,
        connections,
        "/api/v1/events",
        random,
    );
    std::thread::sleep(Duration::from_millis(200));
    let before = resident_kib();
    println!(
        "resident memory: {:.1} MiB when ready, {:.1} MiB after {warm_up} ordinary requests, \
         {:.1} MiB after {warm_up} warm-up requests with random tokens",
        mib(at_ready),
        mib(after_ordinary),
        mib(before)
    );
    let started = Instant::now();
    let mut counts = BTreeMap::<u16, usize>::new();
    let chunk = requests / checkpoints;
    let mut sent = 0;
    let mut peak = before;
    for _ in 0..checkpoints {
        for (status, count) in flood(server.address, chunk, connections, "/api/v1/events", random) {
            *counts.entry(status).or_default() += count;
            sent += count;
        }
        let now = resident_kib();
        peak = peak.max(now);
        println!(
            "  after {sent:>7} requests: {:.1} MiB ({:+.1} MiB)",
            mib(now),
            mib(now) - mib(before)
        );
    }
    let elapsed = started.elapsed();
    let after = resident_kib();
    println!(
        "{sent} requests with distinct {token_bytes}-byte tokens over {connections} connections in {:.1} s ({:.0} requests/s)",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    println!("statuses: {counts:?}");
    println!(
        "resident memory: {:.1} MiB before, {:.1} MiB after ({:+.1} MiB), peak {:.1} MiB",
        mib(before),
        mib(after),
        mib(after) - mib(before),
        mib(peak)
    );
}
