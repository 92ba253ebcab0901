//! A soak at workshop scale, black-box through the real binary (issue 13): "200 participants at 2
//! objects/s at `--time-scale 10` (4,000 objects/s) for 10 wall minutes (100 pipeline minutes)
//! with a 30-minute retention: resident memory at the end within 20% of its value after the first
//! 2 minutes; the data folder's size flat once the retention period has passed; the accounting
//! invariant holds; a `kill -9` and restart at the end resumes with nothing lost."
//!
//! `cargo bench -p chaoslab --bench soak [-- --participants N] [--rate R] [--time-scale X]
//! [--minutes M] [--sample-every S] [--retention D] [--server-arg "ARG …"]…`. The table goes to
//! stdout as it is sampled, progress to stderr.
//!
//! The server is the release binary ([`support::server`]) on a temporary data folder: embedded
//! backend, durability on, `RUST_LOG=warn`, `--time-scale` X (default 10) and
//! `--client-address-header`, so that each participant joins from an address of its own.
//! `--retention D` (e.g. `30m`, pipeline time) is passed on to the server as `--retention D` only
//! when given, and sets from when the folder must stay flat; `--server-arg` passes more options
//! (repeatable; one argument split at spaces, so `--server-arg "--max-rate 50"` works).
//!
//! **Rates are pipeline time.** The traffic API's `rate` is objects per second of pipeline time:
//! the publisher and the subscriber pace themselves on the backend's clock
//! (`server/src/traffic/pacing.rs`), which runs `--time-scale` times faster than the wall clock.
//! So N participants at `--rate` R under `--time-scale` X ask for N × R × X objects per wall
//! second: 200 × 2 × 10 = 4,000/s by default. The publisher's automatic stop (`stop_after_s`) is
//! pipeline time too: it is set to outlast the soak and the restart (at most the server's cap of 4
//! hours, 24 wall minutes at `--time-scale 10`).
//!
//! **Samples.** N participants (default 200) join and start traffic at R objects/s (default 2), 1%
//! malformed, with a subscriber at the same rate. From the moment the last one started, every S
//! wall seconds (default 30) for M wall minutes (default 10) the bench reads every participant's
//! accounting (with their own tokens, 16 connections at once), the server's resident memory
//! (`/proc`), the data folder's size (every file under `--data-dir`, SQLite's `-wal` included) and
//! the pipeline time (the `Pipeline-Time` header), and prints a row. Joining and starting 200
//! participants takes a while with the first ones' traffic already running, so the first sample
//! already counts objects.
//!
//! **Criteria.** Resident memory at the last sample within 20% of the first sample at or after 2
//! wall minutes. With `--retention`, the data folder at every sample from the retention period on
//! (pipeline minutes since the traffic started), once every participant's accounting counts
//! expired objects (the first sweep after the period has run: until then nothing has been
//! deleted and the folder is still filling), no more than 10% above the first of those samples;
//! without it the folder is not judged, only its growth shown. Every participant's accounting
//! balances (`published = converted + dead_lettered + dropped + in_flight`) at every sample. Then
//! the server is sent SIGKILL right after the last sample and started again on the same folder:
//! time to `/readyz`; every participant's publisher and subscriber running again; every accounting
//! balancing, no participant's `published` lower than at the last sample; and 20 s later the
//! summed `consumed` higher than at the first reading after the restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::http::{CLIENT_HEADER, Connection};
use support::participants::{
    self, Participant, Reading, read_accountings, read_traffic_running, start_traffic,
    traffic_settings,
};
use support::server::{Server, mib};
use support::{argument, arguments};

/// The server's longest automatic stop for the publisher, in pipeline seconds (4 hours).
const MAX_STOP_AFTER_S: u64 = 4 * 3_600;
/// Wall time the publisher's automatic stop is set beyond the soak, for the restart.
const STOP_MARGIN: Duration = Duration::from_secs(10 * 60);
/// When the resident memory that the end is compared with is read, in wall time.
const MEMORY_BASELINE_AT: Duration = Duration::from_secs(2 * 60);
/// How far resident memory at the end may be from its baseline.
const MEMORY_TOLERANCE: f64 = 0.20;
/// How far above its first reading after the retention period the data folder may grow.
const FOLDER_TOLERANCE: f64 = 0.10;
/// How long after the restart the subscriber must have consumed more.
const CONSUMING_AFTER: Duration = Duration::from_secs(20);

/// One sample.
#[derive(Debug)]
struct Sample {
    /// Wall time since the last participant's traffic started.
    wall: Duration,
    /// Pipeline minutes since then.
    pipeline_minutes: f64,
    /// The server's resident memory.
    rss_kib: u64,
    /// The data folder's size.
    folder_bytes: u64,
    /// Every participant's accounting.
    reading: Reading,
    /// How long reading every accounting took.
    read_took: Duration,
}

fn main() {
    let participant_count: usize = argument("--participants", 200);
    let rate: f64 = argument("--rate", 2.0);
    let time_scale: f64 = argument("--time-scale", 10.0);
    let minutes: f64 = argument("--minutes", 10.0);
    let sample_every = Duration::from_secs(argument("--sample-every", 30));
    let retention: Option<String> =
        Some(argument("--retention", String::new())).filter(|value| !value.is_empty());
    let retention_minutes = retention.as_deref().map(|value| {
        pipeline_minutes(value).unwrap_or_else(|| {
            panic!(
                "cannot read --retention {value:?}: give a number and a unit, e.g. 30m, 2h or 90s"
            )
        })
    });

    let mut server_args: Vec<String> = vec![
        "--time-scale".into(),
        time_scale.to_string(),
        "--client-address-header".into(),
        CLIENT_HEADER.into(),
    ];
    if let Some(retention) = &retention {
        server_args.extend(["--retention".into(), retention.clone()]);
    }
    for extra in arguments("--server-arg") {
        server_args.extend(extra.split_whitespace().map(str::to_owned));
    }
    let soak = Duration::from_secs_f64(minutes * 60.0);
    let stop_after_s =
        (((soak + STOP_MARGIN).as_secs_f64() * time_scale).ceil() as u64).min(MAX_STOP_AFTER_S);

    let server_args: Vec<&str> = server_args.iter().map(String::as_str).collect();
    let mut server = Server::start(&server_args);
    eprintln!(
        "server ready (pid {}): chaoslab serve {}",
        server.meter().pid(),
        server_args.join(" ")
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let participants = runtime.block_on(async {
        let mut connection = Connection::new(server.address);
        let settings = traffic_settings(rate, stop_after_s);
        let mut participants = Vec::with_capacity(participant_count);
        for index in 0..participant_count {
            let participant = participants::join(&mut connection, index).await;
            start_traffic(&mut connection, &participant, &settings).await;
            participants.push(participant);
        }
        participants
    });
    let asked = participant_count as f64 * rate * time_scale;
    println!(
        "Soak: {participant_count} participants × {rate} objects/s of pipeline time at --time-scale {time_scale} = {asked:.0} objects per wall second asked, 1% malformed, for {minutes} wall minutes; retention {}",
        retention
            .as_deref()
            .unwrap_or("not given (the server's default)")
    );
    println!();
    println!(
        "| wall | pipeline min | RSS MiB | folder MiB | published | converted | consumed | published/s | balanced | read s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");

    let meter = server.meter();
    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let mut pipeline_start = None;
    for number in 0u32.. {
        let due = sample_every * number;
        if due > soak {
            break;
        }
        std::thread::sleep((started + due).saturating_duration_since(Instant::now()));
        let wall = started.elapsed();
        let reading_started = Instant::now();
        let reading = runtime.block_on(read_accountings(server.address, &participants));
        let read_took = reading_started.elapsed();
        let rss_kib = meter.sample().map_or(0, |sample| sample.rss_kib);
        let folder_bytes = server.data_size();
        let now_ms = reading.pipeline_ms.unwrap_or(0);
        let start_ms = *pipeline_start.get_or_insert(now_ms);
        let sample = Sample {
            wall,
            pipeline_minutes: (now_ms - start_ms) as f64 / 60_000.0,
            rss_kib,
            folder_bytes,
            reading,
            read_took,
        };
        print_row(&sample, samples.last());
        samples.push(sample);
    }
    let last = samples.last().expect("at least the first sample");
    let before_kill = last.reading.clone();

    server.kill();
    let ready_after = server.restart();
    let restarted_rss = server.meter().sample().map_or(0, |sample| sample.rss_kib);
    let (running, after, later) = runtime.block_on(async {
        let running = read_traffic_running(server.address, &participants).await;
        let after = read_accountings(server.address, &participants).await;
        tokio::time::sleep(CONSUMING_AFTER).await;
        let later = read_accountings(server.address, &participants).await;
        (running, after, later)
    });

    println!();
    summarize(&samples, retention_minutes, asked);
    println!();
    println!(
        "Restart after SIGKILL: ready after {:.2} s, RSS {:.0} MiB after ready, data folder {:.0} MiB",
        ready_after.as_secs_f64(),
        mib(restarted_rss),
        mib(server.data_size() / 1024)
    );
    judge_restart(&participants, &before_kill, &running, &after, &later);
}

fn print_row(sample: &Sample, previous: Option<&Sample>) {
    let total = sample.reading.total();
    let published_per_second = previous.map_or(0.0, |previous| {
        total
            .published
            .saturating_sub(previous.reading.total().published) as f64
            / (sample.wall - previous.wall).as_secs_f64()
    });
    println!(
        "| {} | {:.1} | {:.0} | {:.0} | {} | {} | {} | {:.0} | {} | {:.1} |",
        minutes_seconds(sample.wall),
        sample.pipeline_minutes,
        mib(sample.rss_kib),
        mib(sample.folder_bytes / 1024),
        total.published,
        total.converted,
        total.consumed,
        published_per_second,
        if sample.reading.balances() {
            "yes"
        } else {
            "NO"
        },
        sample.read_took.as_secs_f64(),
    );
    let _ = std::io::stdout().flush();
}

/// The verdicts over the samples.
fn summarize(samples: &[Sample], retention_minutes: Option<f64>, asked: f64) {
    let (first, last) = (&samples[0], &samples[samples.len() - 1]);
    let wall = (last.wall - first.wall).as_secs_f64();
    let published = last.reading.total().published - first.reading.total().published;
    let consumed = last.reading.total().consumed - first.reading.total().consumed;
    println!(
        "over {wall:.0} s: {:.0} objects/s published and {:.0}/s consumed of {asked:.0}/s asked",
        published as f64 / wall,
        consumed as f64 / wall
    );

    let baseline = samples
        .iter()
        .find(|sample| sample.wall >= MEMORY_BASELINE_AT)
        .filter(|baseline| baseline.wall < last.wall);
    match baseline {
        Some(baseline) => {
            let ratio = last.rss_kib as f64 / baseline.rss_kib as f64;
            verdict(
                &format!(
                    "resident memory at the end within {:.0}% of its value at {}: {:.0} MiB / {:.0} MiB = {ratio:.2}",
                    MEMORY_TOLERANCE * 100.0,
                    minutes_seconds(baseline.wall),
                    mib(last.rss_kib),
                    mib(baseline.rss_kib)
                ),
                (ratio - 1.0).abs() <= MEMORY_TOLERANCE,
            );
        }
        None => not_judged("resident memory: the soak ends before its 2-minute baseline"),
    }

    match retention_minutes {
        Some(retention) => {
            // The folder fills until the first sweep has deleted something of every
            // participant's; from then on it should hold one retention period of traffic.
            let after: Vec<&Sample> = samples
                .iter()
                .skip_while(|sample| {
                    sample.pipeline_minutes < retention
                        || sample
                            .reading
                            .accountings
                            .iter()
                            .any(|accounting| accounting.expired == 0)
                })
                .collect();
            let sizes: Vec<String> = after
                .iter()
                .map(|sample| {
                    format!(
                        "{:.0} ({:.0} min)",
                        mib(sample.folder_bytes / 1024),
                        sample.pipeline_minutes
                    )
                })
                .collect();
            match after.first() {
                Some(first) if after.len() >= 2 => {
                    let highest = after
                        .iter()
                        .map(|sample| sample.folder_bytes)
                        .max()
                        .unwrap_or(0);
                    verdict(
                        &format!(
                            "data folder flat once the {retention} min retention period has passed and every participant's oldest objects expired (at most {:.0}% above {:.0} MiB): MiB at each sample {}",
                            FOLDER_TOLERANCE * 100.0,
                            mib(first.folder_bytes / 1024),
                            sizes.join(", ")
                        ),
                        highest as f64 <= first.folder_bytes as f64 * (1.0 + FOLDER_TOLERANCE),
                    );
                }
                _ => not_judged(&format!(
                    "data folder: fewer than 2 samples after the {retention} min retention period and the first expiry"
                )),
            }
        }
        None => not_judged(&format!(
            "data folder flat (no --retention given): {:.0} MiB at the first sample, {:.0} MiB at the last, {:.1} MiB per wall minute",
            mib(first.folder_bytes / 1024),
            mib(last.folder_bytes / 1024),
            mib(last.folder_bytes.saturating_sub(first.folder_bytes) / 1024) / (wall / 60.0)
        )),
    }

    let unbalanced = samples
        .iter()
        .filter(|sample| !sample.reading.balances())
        .count();
    verdict(
        &format!(
            "the accounting invariant holds for every participant at every sample ({unbalanced} of {} samples unbalanced)",
            samples.len()
        ),
        unbalanced == 0,
    );
}

fn judge_restart(
    participants: &[Participant],
    before_kill: &Reading,
    running: &[bool],
    after: &Reading,
    later: &Reading,
) {
    let count = participants.len();
    let running = running.iter().filter(|running| **running).count();
    verdict(
        &format!(
            "the traffic resumes: {running}/{count} participants' publisher and subscriber running"
        ),
        running == count,
    );
    let lower = after.published_lower_than(before_kill);
    verdict(
        &format!(
            "nothing lost: every accounting balances ({} after ready, {} {} s later), {lower} participants' published lower than at the last sample ({} then, {} after ready)",
            yes_no(after.balances()),
            yes_no(later.balances()),
            CONSUMING_AFTER.as_secs(),
            before_kill.total().published,
            after.total().published
        ),
        after.balances() && later.balances() && lower == 0,
    );
    let consuming = later
        .accountings
        .iter()
        .zip(&after.accountings)
        .filter(|(later, after)| later.consumed > after.consumed)
        .count();
    let (from, to) = (after.total().consumed, later.total().consumed);
    verdict(
        &format!(
            "consumed keeps rising: {from} after ready, {to} {} s later ({consuming}/{count} participants' rose)",
            CONSUMING_AFTER.as_secs()
        ),
        to > from,
    );
}

fn verdict(criterion: &str, passed: bool) {
    println!("{}: {criterion}", if passed { "PASS" } else { "FAIL" });
}

fn not_judged(why: &str) {
    println!("NOT JUDGED: {why}");
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "NO" }
}

/// `m:ss`.
fn minutes_seconds(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// A retention such as `30m`, `2h`, `90s`, `1d` or `30min`, in minutes; None if it does not read.
fn pipeline_minutes(value: &str) -> Option<f64> {
    let split = value
        .find(|character: char| !(character.is_ascii_digit() || character == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let minutes_per_unit = match unit.trim() {
        "s" => 1.0 / 60.0,
        "m" | "min" => 1.0,
        "h" => 60.0,
        "d" => 24.0 * 60.0,
        _ => return None,
    };
    Some(number * minutes_per_unit)
}
