//! A game day over every participant against a real `chaoslab serve` process (issue 15): how
//! long the instructor waits for every run to start, and for Halt all to stop them.
//!
//! `cargo bench -p chaoslab --bench game_day [-- --participants N] [--rounds N]
//! [--time-scale X] [--without-hypothesis]`. Figures go in BENCHMARKS.md. Progress, and the
//! server's pid (to attach a profiler to), go to stderr.
//!
//! The server is the release binary, started by [`support::server`] (embedded backend, default
//! durability, `RUST_LOG=warn`, `--time-scale` 1 unless told); the requests go over
//! [`support::http`]'s keep-alive HTTP/1.1 connections from a current-thread runtime here.
//!
//! Setup: N participants (default 200) join (`POST /api/v1/participants`) and start traffic at 2
//! objects/s with a subscriber at 2 messages/s, as in the `load` bench. Then the bench waits until
//! the last one's pipeline has a whole pipeline minute of invocations: lab 3's hypothesis reads the
//! last 5 whole minutes, and over an empty window percent in flight reads 0, outside [1, 6].
//!
//! Then R rounds (default 5), each:
//! 1. the instructor POSTs `/api/v1/gamedays` with lab 3's latency experiment
//!    ([`chaoslab::chaos::templates::lab3_latency`]): **(a)** the time until the answer;
//! 2. GETs `/api/v1/gamedays` every 100 ms: **(b)** the time from sending the POST until every
//!    run started shows a status (`running` or ended), and **(d)** until every run has checked its
//!    hypothesis before the method (its probes' values shown) or ended, that is every run has
//!    gone on to switch its fault on and sit in the 360 s pause, or has stopped (without a
//!    hypothesis, (d) is (b));
//! 3. POSTs `/api/v1/gamedays/halt`: **(c)** the time from sending it until no row is `running`
//!    (interrupted, rollbacks played);
//! 4. reads every participant's `GET …/fault-injection` with the instructor's token: `enabled`
//!    must be false again. This also leaves time for the runs to leave the registry of runs going
//!    on, so the next round skips nobody for a run still going.
//!
//! Lab 3's hypothesis does not hold before the method for every participant (percent in flight
//! is often below its 1% floor at 2 objects/s), and a run whose hypothesis does not hold ends at
//! once without its fault. `--without-hypothesis` plays the same experiment without its
//! steady-state hypothesis, so that every run switches its fault on and Halt all meets every run
//! in its pause.
//!
//! The instructor's requests share one rate-limit bucket (bursts of 60, 20/s): the polls stay at
//! 10/s, each round waits for the bucket to refill before its POST, and a 429 in setup or in the
//! fault checks is retried after `Retry-After`; one in a poll is counted and the poll repeated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::argument;
use support::http::{CLIENT_HEADER, Connection, Extras, Response, json, setup_request};
use support::participants::{join, start_traffic};
use support::server::{INSTRUCTOR_TOKEN, Server, mib};

mod support;

/// How often the instructor's table is read while waiting.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// The longest wait for any one condition before giving up on it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(120);
/// Time for the instructor's bucket (60 requests, 20/s) to refill before each round's POST.
const BUCKET_REFILL: Duration = Duration::from_millis(3_500);
/// The longest wait for the pipelines' first whole minute of invocations.
const WARM_UP_WITHIN: Duration = Duration::from_secs(300);

/// One round's figures.
#[derive(Debug, Default)]
struct Round {
    /// Runs the game day started.
    started: usize,
    /// Participants it skipped, by reason.
    skipped: BTreeMap<String, usize>,
    /// (a) The POST's wall time.
    answered: Duration,
    /// (b) Until every run shows a status.
    every_run_started: Option<Duration>,
    /// (d) Until every run has checked its hypothesis before the method, or ended.
    every_hypothesis_checked: Option<Duration>,
    /// Runs still `running` when Halt all was sent.
    running_at_halt: usize,
    /// What Halt all answered it halted.
    halted: usize,
    /// The halt POST's wall time.
    halt_answered: Duration,
    /// (c) Until no run is `running`.
    every_run_stopped: Option<Duration>,
    /// Participants whose fault was still on after the runs stopped.
    faults_left_on: usize,
    /// The runs' verdicts once stopped.
    verdicts: BTreeMap<String, usize>,
    /// The server's resident memory after the round.
    rss_kib: u64,
}

/// The instructor's reads of the game day table.
#[derive(Debug, Default)]
struct Polls {
    latencies: Vec<Duration>,
    /// Non-200 answers, by status (0: no answer).
    statuses: BTreeMap<u16, usize>,
}

impl Polls {
    /// Reads `GET /api/v1/gamedays` every [`POLL_EVERY`] until `done` holds for its rows;
    /// answers the time from `since` to the answer it held for (None after [`GIVE_UP_AFTER`]),
    /// and the last rows read.
    async fn until(
        &mut self,
        instructor: &mut Connection,
        since: Instant,
        done: impl Fn(&[Value]) -> bool,
    ) -> (Option<Duration>, Vec<Value>) {
        let mut rows = Vec::new();
        let mut next = Instant::now();
        while since.elapsed() < GIVE_UP_AFTER {
            tokio::time::sleep_until(next.into()).await;
            next = Instant::now() + POLL_EVERY;
            let sent = Instant::now();
            let response = instructor
                .request("GET", "/api/v1/gamedays", Extras::token(INSTRUCTOR_TOKEN))
                .await;
            let answered = Instant::now();
            self.latencies.push(answered - sent);
            match response {
                Ok(response) if response.status == 200 => {
                    rows = json(&response)["rows"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if done(&rows) {
                        return (Some(answered - since), rows);
                    }
                }
                Ok(response) => {
                    *self.statuses.entry(response.status).or_default() += 1;
                    if response.status == 429 {
                        next = Instant::now() + retry_after(&response);
                    }
                }
                Err(_) => *self.statuses.entry(0).or_default() += 1,
            }
        }
        (None, rows)
    }
}

fn retry_after(response: &Response) -> Duration {
    Duration::from_secs(
        response
            .header("retry-after")
            .and_then(|seconds| seconds.parse().ok())
            .unwrap_or(1),
    )
}

fn status(row: &Value) -> &str {
    row["status"].as_str().unwrap_or("")
}

fn running(row: &Value) -> bool {
    status(row) == "running"
}

/// Joins `count` participants, each from its own (made-up) client address as a room of laptops
/// joins, then starts their traffic; answers their ids and tokens.
async fn set_up(connection: &mut Connection, count: usize) -> Vec<(String, String)> {
    let mut participants = Vec::with_capacity(count);
    for index in 0..count {
        participants.push(join(connection, index).await);
    }
    for participant in &participants {
        start_traffic(
            connection,
            participant,
            r#"{"publisher":{"rate":2},"subscriber":{"rate":2}}"#,
        )
        .await;
    }
    participants
        .into_iter()
        .map(|participant| (participant.id, participant.token))
        .collect()
}

/// Waits until the participant's percent in flight over the last 5 minutes has a value, i.e. a
/// whole pipeline minute of invocations; answers the probe's reading.
async fn wait_for_a_whole_minute(connection: &mut Connection, id: &str, token: &str) -> Value {
    let path = format!("/api/v1/participants/{id}/probes/percent-in-flight?minutes=5");
    let started = Instant::now();
    loop {
        let response = setup_request(connection, "GET", &path, Extras::token(token)).await;
        let reading = json(&response);
        if !reading["value"].is_null() {
            return reading;
        }
        assert!(
            started.elapsed() < WARM_UP_WITHIN,
            "no whole minute of invocations after {} s: {reading}",
            WARM_UP_WITHIN.as_secs()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One game day: start, wait for every run, halt, wait until they have stopped, check faults.
async fn play_round(
    instructor: &mut Connection,
    polls: &mut Polls,
    experiment: &str,
    has_hypothesis: bool,
    participants: &[(String, String)],
) -> Round {
    let mut round = Round::default();
    let sent = Instant::now();
    let response = instructor
        .request(
            "POST",
            "/api/v1/gamedays",
            Extras::json(Some(INSTRUCTOR_TOKEN), experiment),
        )
        .await
        .unwrap();
    round.answered = sent.elapsed();
    assert_eq!(
        response.status,
        201,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let view = json(&response);
    round.started = view["rows"].as_array().map_or(0, Vec::len);
    for skipped in view["skipped"].as_array().into_iter().flatten() {
        let reason = skipped["reason"].as_str().unwrap_or("").to_owned();
        *round.skipped.entry(reason).or_default() += 1;
    }
    let started = round.started;
    let mut rows;
    (round.every_run_started, rows) = polls
        .until(instructor, sent, |rows| {
            rows.len() == started && rows.iter().all(|row| !status(row).is_empty())
        })
        .await;
    // Without a hypothesis, a run's first activity is its fault: nothing to wait for.
    round.every_hypothesis_checked = round.every_run_started;
    if has_hypothesis {
        (round.every_hypothesis_checked, rows) = polls
            .until(instructor, sent, |rows| {
                rows.len() == started
                    && rows.iter().all(|row| {
                        !running(row)
                            || row["values"]
                                .as_array()
                                .is_some_and(|values| !values.is_empty())
                    })
            })
            .await;
    }
    round.running_at_halt = rows.iter().filter(|row| running(row)).count();

    let sent = Instant::now();
    let response = instructor
        .request(
            "POST",
            "/api/v1/gamedays/halt",
            Extras::token(INSTRUCTOR_TOKEN),
        )
        .await
        .unwrap();
    round.halt_answered = sent.elapsed();
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    round.halted = json(&response)["halted"].as_u64().unwrap_or(0) as usize;
    (round.every_run_stopped, rows) = polls
        .until(instructor, sent, |rows| !rows.iter().any(running))
        .await;
    for row in &rows {
        let verdict = row["verdict"].as_str().unwrap_or("?").to_owned();
        *round.verdicts.entry(verdict).or_default() += 1;
    }

    for (id, _) in participants {
        let response = setup_request(
            instructor,
            "GET",
            &format!("/api/v1/participants/{id}/fault-injection"),
            Extras::token(INSTRUCTOR_TOKEN),
        )
        .await;
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        if json(&response)["enabled"] != Value::Bool(false) {
            round.faults_left_on += 1;
        }
    }
    round
}

fn seconds(duration: Option<Duration>) -> String {
    duration.map_or("gave up".to_owned(), |duration| {
        format!("{:.3} s", duration.as_secs_f64())
    })
}

/// Median, lowest and highest, in seconds; None when a wait gave up.
fn spread(durations: impl Iterator<Item = Option<Duration>>) -> String {
    let Some(mut durations) = durations.collect::<Option<Vec<_>>>() else {
        return "a wait gave up".to_owned();
    };
    durations.sort_unstable();
    let middle = durations.len() / 2;
    let median = if durations.len() % 2 == 0 {
        (durations[middle - 1] + durations[middle]) / 2
    } else {
        durations[middle]
    };
    format!(
        "median {:.3} s (range {:.3}–{:.3} s)",
        median.as_secs_f64(),
        durations[0].as_secs_f64(),
        durations[durations.len() - 1].as_secs_f64()
    )
}

fn main() {
    let participant_count: usize = argument("--participants", 200);
    let round_count: usize = argument("--rounds", 5);
    let time_scale: f64 = argument("--time-scale", 1.0);
    let without_hypothesis = std::env::args().any(|arg| arg == "--without-hypothesis");

    let server = Server::start(&[
        "--time-scale",
        &time_scale.to_string(),
        "--client-address-header",
        CLIENT_HEADER,
    ]);
    let address = server.address;
    let meter = server.meter();
    let mut experiment = chaoslab::chaos::templates::lab3_latency();
    if without_hypothesis {
        experiment
            .as_object_mut()
            .unwrap()
            .remove("steady-state-hypothesis");
    }
    let experiment = serde_json::json!({ "experiment": experiment }).to_string();
    eprintln!("server pid {}; setting up", meter.pid());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut instructor = Connection::new(address);
        let setup_started = Instant::now();
        let participants = set_up(&mut instructor, participant_count).await;
        let setup_took = setup_started.elapsed();
        let (last_id, last_token) = participants.last().unwrap();
        let reading = wait_for_a_whole_minute(&mut instructor, last_id, last_token).await;
        let warm_up_took = setup_started.elapsed() - setup_took;
        let before = meter.sample().unwrap();
        let rounds_started = Instant::now();

        let mut polls = Polls::default();
        let mut rounds = Vec::with_capacity(round_count);
        eprintln!(
            "set up in {:.1} s, warmed up in {:.1} s; playing {round_count} rounds",
            setup_took.as_secs_f64(),
            warm_up_took.as_secs_f64()
        );
        for index in 0..round_count {
            tokio::time::sleep(BUCKET_REFILL).await;
            let mut round = play_round(
                &mut instructor,
                &mut polls,
                &experiment,
                !without_hypothesis,
                &participants,
            )
            .await;
            round.rss_kib = meter.sample().unwrap().rss_kib;
            eprintln!("round {} played", index + 1);
            rounds.push(round);
        }
        let after = meter.sample().unwrap();
        let wall = rounds_started.elapsed().as_secs_f64();

        println!(
            "Game day over {participant_count} participants, {round_count} rounds, \
             --time-scale {time_scale}, lab 3's latency experiment{}",
            if without_hypothesis {
                " without its hypothesis"
            } else {
                ""
            }
        );
        println!(
            "setup: {participant_count} joins and traffic started in {:.1} s; a whole pipeline \
             minute of invocations {:.1} s later (the last participant's percent in flight: {})",
            setup_took.as_secs_f64(),
            warm_up_took.as_secs_f64(),
            reading["value"]
        );
        println!();
        println!(
            "| round | runs started | skipped | (a) POST answered | (b) every run started | \
             (d) every hypothesis checked | running at halt | halted | halt answered | \
             (c) every run stopped | faults left on | verdicts | server RSS after |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (index, round) in rounds.iter().enumerate() {
            println!(
                "| {} | {} | {} | {:.3} s | {} | {} | {} | {} | {:.3} s | {} | {} | {:?} | {:.1} MiB |",
                index + 1,
                round.started,
                if round.skipped.is_empty() {
                    "0".to_owned()
                } else {
                    format!("{:?}", round.skipped)
                },
                round.answered.as_secs_f64(),
                seconds(round.every_run_started),
                seconds(round.every_hypothesis_checked),
                round.running_at_halt,
                round.halted,
                round.halt_answered.as_secs_f64(),
                seconds(round.every_run_stopped),
                round.faults_left_on,
                round.verdicts,
                mib(round.rss_kib)
            );
        }
        println!();
        println!(
            "(a) POST /gamedays answered: {}",
            spread(rounds.iter().map(|round| Some(round.answered)))
        );
        println!(
            "(b) every run started: {}",
            spread(rounds.iter().map(|round| round.every_run_started))
        );
        println!(
            "(d) every hypothesis checked: {}",
            spread(rounds.iter().map(|round| round.every_hypothesis_checked))
        );
        println!(
            "halt answered: {}",
            spread(rounds.iter().map(|round| Some(round.halt_answered)))
        );
        println!(
            "(c) every run stopped: {}",
            spread(rounds.iter().map(|round| round.every_run_stopped))
        );
        polls.latencies.sort_unstable();
        println!(
            "polls of GET /gamedays: {}, {}; non-200: {:?}",
            polls.latencies.len(),
            spread(polls.latencies.iter().copied().map(Some)),
            polls.statuses
        );
        let cpu_seconds = after.cpu_seconds - before.cpu_seconds;
        println!(
            "server CPU over the rounds: {cpu_seconds:.1} s in {wall:.1} s = {:.3} cores; RSS \
             {:.1} MiB before the rounds, {:.1} MiB at the end",
            cpu_seconds / wall,
            mib(before.rss_kib),
            mib(after.rss_kib)
        );
        let log = server.log();
        let lines: Vec<&str> = log.lines().collect();
        println!("server log (warn and above): {} lines", lines.len());
        for line in lines.iter().take(5) {
            println!("  {line}");
        }

        let started_within_a_second = rounds.iter().all(|round| {
            round.skipped.is_empty()
                && round
                    .every_run_started
                    .is_some_and(|took| took <= Duration::from_secs(1))
        });
        let halt_stops_them = rounds.iter().all(|round| {
            round.halted == round.running_at_halt
                && round.every_run_stopped.is_some()
                && round.faults_left_on == 0
        });
        println!(
            "targets: every run started within 1 s in every round: {}; Halt all stops them: {}",
            if started_within_a_second {
                "met"
            } else {
                "NOT met"
            },
            if halt_stops_them { "met" } else { "NOT met" }
        );
        drop(server);
    });
}
