//! The API under workshop load: 200 participants with traffic running, each polling their
//! dashboard, and the instructor refreshing the overview, against a real `chaoslab serve` process.
//!
//! `cargo bench -p chaoslab --bench load [-- --seconds N] [--participants N]`. Figures go in
//! BENCHMARKS.md.
//!
//! The server is the release binary (`CARGO_BIN_EXE_chaoslab`, which cargo builds for the bench),
//! started by `support::server` as a child process on a free loopback port, with a temporary data
//! directory and the embedded backend, so its CPU time and resident memory can be read from
//! `/proc/<pid>`. The load runs on a current-thread runtime in this process, so it takes at most
//! one core from the two the server shares with it. Requests are plain HTTP/1.1 over keep-alive
//! loopback connections (`support::http`), one per simulated browser; each is timed from the first
//! byte written to the last byte read.
//!
//! Setup: every participant joins (`POST /api/v1/participants`) and starts traffic at 2 objects/s
//! with a subscriber at 2 messages/s (`PUT /api/v1/participants/{id}/traffic`). Then, for the run:
//! - each participant GETs `/api/v1/participants/{id}/dashboard` every 5 s, the participants
//!   staggered evenly over the 5 s;
//! - the instructor GETs `/api/v1/participants?limit=500` every 2 s and, when the server has the
//!   instructor's web pages, the overview's htmx table `/instructor/table` too (after logging in
//!   with the token at `POST /instructor/login`, with the session cookie and `HX-Request: true`,
//!   as the overview page polls it).
//!
//! Setup requests that the API's per-client rate limit answers with 429 are retried after
//! `Retry-After`; during the run, a 429 counts as an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, Instant};

use support::argument;
use support::http::{Connection, Extras, Response, json, setup_request};
use support::server::{INSTRUCTOR_TOKEN, Server, mib};

mod support;

const DASHBOARD_EVERY: Duration = Duration::from_secs(5);
const OVERVIEW_EVERY: Duration = Duration::from_secs(2);
const WARM_UP: Duration = Duration::from_secs(5);
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// Latencies and failures of one route.
#[derive(Debug, Default)]
struct RouteStats {
    latencies: Vec<Duration>,
    /// Body bytes received.
    bytes: usize,
    /// Non-2xx answers, by status.
    statuses: BTreeMap<u16, usize>,
    /// Requests that got no answer (connection errors).
    failures: usize,
}

impl RouteStats {
    fn record(&mut self, started: Instant, result: &io::Result<Response>) {
        match result {
            Ok(response) => {
                self.latencies.push(started.elapsed());
                self.bytes += response.body.len();
                if !(200..300).contains(&response.status) {
                    *self.statuses.entry(response.status).or_default() += 1;
                }
            }
            Err(_) => self.failures += 1,
        }
    }

    fn merge(&mut self, other: Self) {
        self.latencies.extend(other.latencies);
        self.bytes += other.bytes;
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.failures += other.failures;
    }

    fn errors(&self) -> usize {
        self.statuses.values().sum::<usize>() + self.failures
    }
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted
        .get(index)
        .map_or(0.0, |sample| sample.as_secs_f64() * 1000.0)
}

/// Logs in to the instructor's web pages with the token; `Err` says why not (for example, the
/// server has no such page yet). The overview table is an htmx partial behind the instructor's
/// session cookie, so the cookie is what the table requests send.
async fn instructor_cookie(connection: &mut Connection) -> Result<String, String> {
    let form = format!("token={INSTRUCTOR_TOKEN}");
    let response = connection
        .request(
            "POST",
            "/instructor/login",
            Extras {
                body: Some(("application/x-www-form-urlencoded", &form)),
                ..Extras::default()
            },
        )
        .await
        .map_err(|error| format!("POST /instructor/login failed: {error}"))?;
    if !(300..400).contains(&response.status) {
        return Err(format!(
            "POST /instructor/login answered {}",
            response.status
        ));
    }
    response
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .filter_map(|(_, value)| value.split(';').next())
        .find(|cookie| cookie.starts_with("chaoslab_instructor="))
        .map(|cookie| format!("Cookie: {cookie}"))
        .ok_or_else(|| "POST /instructor/login set no instructor cookie".to_owned())
}

/// Percentiles of one route, in milliseconds.
fn print_route(route: &str, stats: &mut RouteStats) -> f64 {
    stats.latencies.sort_unstable();
    let p99 = percentile_ms(&stats.latencies, 0.99);
    println!(
        "| `{route}` | {} | {:.1} KiB | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
        stats.latencies.len() + stats.failures,
        stats.bytes as f64 / stats.latencies.len().max(1) as f64 / 1024.0,
        if stats.errors() == 0 {
            "0".to_owned()
        } else {
            format!("{:?} + {} failed", stats.statuses, stats.failures)
        },
        percentile_ms(&stats.latencies, 0.5),
        p99,
        stats
            .latencies
            .last()
            .map_or(0.0, |max| max.as_secs_f64() * 1000.0),
    );
    p99
}

const DASHBOARD_ROUTE: &str = "GET /api/v1/participants/{id}/dashboard";
const LIST_ROUTE: &str = "GET /api/v1/participants?limit=500";
const TABLE_ROUTE: &str = "GET /instructor/table (htmx)";

fn main() {
    let seconds: u64 = argument("--seconds", 60);
    let participant_count: usize = argument("--participants", 200);
    let run_for = Duration::from_secs(seconds);

    let server = Server::start(&[]);
    let address = server.address;
    let meter = server.meter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut probe = Connection::new(address);
        let idle = meter.sample().unwrap();

        // Setup: join, then start traffic.
        let setup_started = Instant::now();
        let mut participants = Vec::with_capacity(participant_count);
        for index in 0..participant_count {
            let body = format!(r#"{{"name":"Participant {index}"}}"#);
            let response = setup_request(
                &mut probe,
                "POST",
                "/api/v1/participants",
                Extras::json(None, &body),
            )
            .await;
            assert_eq!(
                response.status,
                201,
                "{}",
                String::from_utf8_lossy(&response.body)
            );
            let created = json(&response);
            participants.push((
                created["id"].as_str().unwrap().to_owned(),
                created["token"].as_str().unwrap().to_owned(),
            ));
        }
        let joined_in = setup_started.elapsed();
        for (id, token) in &participants {
            let response = setup_request(
                &mut probe,
                "PUT",
                &format!("/api/v1/participants/{id}/traffic"),
                Extras::json(
                    Some(token),
                    r#"{"publisher":{"rate":2},"subscriber":{"rate":2}}"#,
                ),
            )
            .await;
            assert_eq!(
                response.status,
                200,
                "{}",
                String::from_utf8_lossy(&response.body)
            );
        }
        let setup_took = setup_started.elapsed();
        let after_setup = meter.sample().unwrap();
        tokio::time::sleep(WARM_UP).await;

        // The instructor's web overview, if the server has it.
        let overview_cookie = instructor_cookie(&mut probe).await;
        if let Ok(cookie) = &overview_cookie {
            let headers = [cookie.as_str(), "HX-Request: true"];
            let extras = Extras {
                headers: &headers,
                ..Extras::default()
            };
            let response = probe
                .request("GET", "/instructor/table", extras)
                .await
                .unwrap();
            assert_eq!(
                response.status,
                200,
                "{}",
                String::from_utf8_lossy(&response.body)
            );
        }

        // The run.
        let started = Instant::now();
        let before = meter.sample().unwrap();
        let ends = started + run_for;
        let mut tasks = tokio::task::JoinSet::new();
        for (index, (id, token)) in participants.iter().cloned().enumerate() {
            let offset = DASHBOARD_EVERY.mul_f64(index as f64 / participant_count as f64);
            tasks.spawn(async move {
                let mut stats = BTreeMap::<&'static str, RouteStats>::new();
                let mut connection = Connection::new(address);
                let path = format!("/api/v1/participants/{id}/dashboard");
                let mut next = started + offset;
                while next < ends {
                    tokio::time::sleep_until(next.into()).await;
                    let sent = Instant::now();
                    let result = connection
                        .request("GET", &path, Extras::token(&token))
                        .await;
                    stats
                        .entry(DASHBOARD_ROUTE)
                        .or_default()
                        .record(sent, &result);
                    next += DASHBOARD_EVERY;
                }
                stats
            });
        }
        let cookie = overview_cookie.as_ref().ok().cloned();
        tasks.spawn(async move {
            let mut stats = BTreeMap::<&'static str, RouteStats>::new();
            let mut connection = Connection::new(address);
            let mut next = started;
            while next < ends {
                tokio::time::sleep_until(next.into()).await;
                let sent = Instant::now();
                let result = connection
                    .request(
                        "GET",
                        "/api/v1/participants?limit=500",
                        Extras::token(INSTRUCTOR_TOKEN),
                    )
                    .await;
                stats.entry(LIST_ROUTE).or_default().record(sent, &result);
                if let Some(cookie) = &cookie {
                    let headers = [cookie.as_str(), "HX-Request: true"];
                    let extras = Extras {
                        headers: &headers,
                        ..Extras::default()
                    };
                    let sent = Instant::now();
                    let result = connection.request("GET", "/instructor/table", extras).await;
                    stats.entry(TABLE_ROUTE).or_default().record(sent, &result);
                }
                next += OVERVIEW_EVERY;
            }
            stats
        });
        let sampler = tokio::spawn(async move {
            let mut peak_rss_kib = 0;
            while Instant::now() < ends {
                if let Some(sample) = meter.sample() {
                    peak_rss_kib = peak_rss_kib.max(sample.rss_kib);
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
            peak_rss_kib
        });

        let mut routes = BTreeMap::<&'static str, RouteStats>::new();
        while let Some(result) = tasks.join_next().await {
            for (route, stats) in result.unwrap() {
                routes.entry(route).or_default().merge(stats);
            }
        }
        let after = meter.sample().unwrap();
        let wall = started.elapsed().as_secs_f64();
        let peak_rss_kib = sampler.await.unwrap().max(after.rss_kib);

        // Did the traffic really flow? Sum every participant's accounting.
        let mut published = 0;
        let mut converted = 0;
        let mut dead_lettered = 0;
        let mut consumed = 0;
        for (id, token) in &participants {
            let response = setup_request(
                &mut probe,
                "GET",
                &format!("/api/v1/participants/{id}/accounting"),
                Extras::token(token),
            )
            .await;
            let accounting = json(&response);
            published += accounting["published"].as_u64().unwrap_or(0);
            converted += accounting["converted"].as_u64().unwrap_or(0);
            dead_lettered += accounting["dead_lettered"].as_u64().unwrap_or(0);
            consumed += accounting["consumed"].as_u64().unwrap_or(0);
        }
        // The traffic started between `joined_in` and `setup_took`, within a fraction of a second.
        let flowing = (setup_started.elapsed() - joined_in).as_secs_f64();

        println!("API under workshop load: {participant_count} participants, {seconds} s");
        println!(
            "setup: {participant_count} joins in {:.1} s, traffic started for all by {:.1} s; \
             then a {} s warm-up",
            joined_in.as_secs_f64(),
            setup_took.as_secs_f64(),
            WARM_UP.as_secs()
        );
        match &overview_cookie {
            Ok(_) => println!("instructor web overview: /instructor/table polled with htmx"),
            Err(reason) => println!("instructor web overview: not polled ({reason})"),
        }
        println!();
        println!("| route | requests | mean body | non-2xx / failed | p50 | p99 | max |");
        println!("|---|---|---|---|---|---|---|");
        let mut p99_met = true;
        let mut all_ok = true;
        for (route, stats) in &mut routes {
            p99_met &= print_route(route, stats) < 100.0;
            all_ok &= stats.errors() == 0;
        }
        let cpu_seconds = after.cpu_seconds - before.cpu_seconds;
        let cores = cpu_seconds / wall;
        println!();
        println!(
            "server CPU over the run: {cpu_seconds:.1} s in {wall:.1} s = {cores:.3} cores on \
             average (setup took {:.1} s of CPU)",
            after_setup.cpu_seconds - idle.cpu_seconds
        );
        println!(
            "server RSS: {:.1} MiB idle, {:.1} MiB after setup, peak {:.1} MiB, final {:.1} MiB",
            mib(idle.rss_kib),
            mib(after_setup.rss_kib),
            mib(peak_rss_kib),
            mib(after.rss_kib)
        );
        println!(
            "pipeline: {published} objects published in the {flowing:.0} s since traffic started \
             ({:.0}/s), {converted} converted, {dead_lettered} dead-lettered, {consumed} CSV \
             messages consumed",
            published as f64 / flowing
        );
        println!(
            "targets: p99 < 100 ms on every route: {}; under one core on average: {}; \
             no errors: {}",
            if p99_met { "met" } else { "NOT met" },
            if cores < 1.0 { "met" } else { "NOT met" },
            if all_ok { "yes" } else { "NO" }
        );
        drop(server);
    });
}
