//! Restart on a large data folder, black-box through the real binary (issue 13: "starting on a
//! data folder that holds 1 million objects takes under 5 seconds to `/readyz`, and the traffic
//! that was running resumes").
//!
//! `cargo bench -p chaoslab --bench restart [-- --objects N] [--participants P] [--dir PATH]
//! [--restarts K] [--max-rate R] [--rate R]`. Progress goes to stderr, the table to stdout.
//!
//! The server is the release binary ([`support::server`]): embedded backend, durability on,
//! `RUST_LOG=warn`, `--max-rate` (default 500) and `--client-address-header`, so that each
//! participant joins from an address of its own.
//!
//! **Preparation.** The server starts on the folder (`--dir`, kept afterwards; without it a
//! temporary one). On a new folder P participants (default 40) join, each running traffic at
//! `--rate` objects/s (default: the `--max-rate`), 1% malformed, with a subscriber at the same rate
//! and an automatic stop 4 hours of pipeline time away (the embedded server's longest), so that it
//! is still running at every restart. The bench waits until the buckets hold N objects (default
//! 1,000,000), counted from the accounting as published + converted: every published object stays
//! in the input bucket (`input/data_object_msg-<id>.json`), and each converted one adds its CSV to
//! the output bucket; nothing expires on today's engine. The count, read right before the first
//! kill, and the participants' ids and tokens are saved beside the data (`prepared.json`), and a
//! folder that holds at least N is used again as it is (its traffic restarted if it had stopped).
//!
//! That count is only exact before the first restart: a restarted publisher numbers its messages
//! from 1 again, so what it writes replaces objects under the same keys rather than adding to
//! them. The accounting's published + converted ("objects written" in the table) keeps growing;
//! the folder holds about the prepared count until a publisher passes its old count.
//!
//! **Restarts.** With the traffic still running, the server is sent SIGKILL (`kill -9`). Then K
//! times (default 5): a new process starts on the same folder, timed from its spawn to its first
//! 200 from `/readyz` (polled every 10 ms); its resident memory is read at once; every
//! participant's `GET …/traffic` must show the publisher and the subscriber running again (the
//! server resumes the traffic that was running), and every accounting must balance (`published =
//! converted + dead_lettered + dropped + in_flight`) with `published` no lower than at the last
//! reading before the kill (nothing committed was lost). 5 s later the accounting is read again:
//! `published` must have grown (the traffic really flows), and that reading is the one the next
//! kill is compared with. Then SIGKILL again, so that every restart faces traffic that was running.
//!
//! The data folder is in the page cache at every restart (it was just written or just read), as
//! after a crash on a server that keeps running; a cold start from disk would be slower.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use support::argument;
use support::http::{CLIENT_HEADER, Connection, Extras, json, setup_request};
use support::participants::{
    self, Participant, Reading, read_accountings, read_traffic_running, start_traffic,
    traffic_settings,
};
use support::server::{INSTRUCTOR_TOKEN, Server, mib};

/// The publisher's automatic stop, in pipeline seconds: the embedded server's longest (4 hours),
/// so that the traffic outlives the preparation and every restart (each restart counts it again).
const STOP_AFTER_S: u64 = 4 * 3_600;
/// How often the preparation reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How long after a restart's checks the accounting is read again, to see the traffic flow.
const FLOWING_AFTER: Duration = Duration::from_secs(5);
/// The target for the time to `/readyz`.
const READY_TARGET: Duration = Duration::from_secs(5);

/// What one restart showed.
#[derive(Debug)]
struct Restart {
    /// From spawn to the first 200 from `/readyz`.
    ready_after: Duration,
    /// Resident memory right after that.
    rss_kib: u64,
    /// Objects written (published + converted) at the first reading after the restart.
    objects_written: u64,
    /// The data folder's size right after ready.
    folder_bytes: u64,
    /// Participants whose publisher and subscriber were both running.
    traffic_running: usize,
    /// Whether every accounting balanced at both readings after the restart.
    balanced: bool,
    /// Participants whose `published` was lower than before the kill.
    published_lower: usize,
    /// Participants whose `published` grew in the [`FLOWING_AFTER`] after the checks.
    publishing: usize,
}

fn main() {
    let target_objects: u64 = argument("--objects", 1_000_000);
    let participant_count: usize = argument("--participants", 40);
    let restarts: usize = argument("--restarts", 5);
    let max_rate: u32 = argument("--max-rate", 500);
    let rate: u32 = argument("--rate", max_rate);
    let kept: Option<PathBuf> = Some(argument("--dir", String::new()))
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from);
    let temporary = kept.is_none().then(|| tempfile::tempdir().unwrap());
    let folder = kept
        .clone()
        .unwrap_or_else(|| temporary.as_ref().unwrap().path().to_owned());

    let opened = Instant::now();
    let mut server = Server::start_in(
        &folder,
        &[
            "--max-rate",
            &max_rate.to_string(),
            "--client-address-header",
            CLIENT_HEADER,
        ],
    );
    eprintln!(
        "server ready on {} after {:.2} s (pid {})",
        folder.display(),
        opened.elapsed().as_secs_f64(),
        server.meter().pid()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (participants, prepared_objects) = runtime.block_on(prepare(
        &server,
        &folder,
        participant_count,
        rate,
        target_objects,
    ));
    let mut before_kill = runtime.block_on(read_accountings(server.address, &participants));
    let objects = prepared_objects.unwrap_or_else(|| {
        // A new folder: its count is the one right before its first kill.
        let objects = before_kill.total().objects();
        Prepared::save(&folder, objects, &participants);
        objects
    });
    eprintln!(
        "the folder holds {objects} objects, {:.0} MiB; killing the server (SIGKILL) with the traffic running",
        mib(server.data_size() / 1024)
    );
    server.kill();

    let mut rows = Vec::with_capacity(restarts);
    for number in 1..=restarts {
        let ready_after = server.restart();
        let rss_kib = server.meter().sample().map_or(0, |sample| sample.rss_kib);
        let folder_bytes = server.data_size();
        let (row, reading) = runtime.block_on(check_restart(
            &server,
            &participants,
            &before_kill,
            ready_after,
            (rss_kib, folder_bytes),
        ));
        eprintln!(
            "restart {number}: ready after {:.2} s, RSS {:.0} MiB, {} objects written",
            ready_after.as_secs_f64(),
            mib(rss_kib),
            row.objects_written
        );
        rows.push(row);
        before_kill = reading;
        server.kill();
    }
    report(&rows, participants.len(), objects, &server);
    if let Some(dir) = kept {
        eprintln!(
            "the prepared folder stays in {} (pass --dir again to reuse it)",
            dir.display()
        );
    }
}

/// What `prepared.json` holds: the objects in the folder before its first kill, and who wrote
/// them.
#[derive(Debug, Serialize, Deserialize)]
struct Prepared {
    objects: u64,
    participants: Vec<Participant>,
}

impl Prepared {
    fn path(folder: &Path) -> PathBuf {
        folder.join("prepared.json")
    }

    fn load(folder: &Path) -> Option<Self> {
        let path = Self::path(folder);
        let text = std::fs::read(&path).ok()?;
        Some(
            serde_json::from_slice(&text)
                .unwrap_or_else(|error| panic!("{} is not this bench's: {error}", path.display())),
        )
    }

    fn save(folder: &Path, objects: u64, participants: &[Participant]) {
        let prepared = Self {
            objects,
            participants: participants.to_vec(),
        };
        let path = Self::path(folder);
        std::fs::write(&path, serde_json::to_vec_pretty(&prepared).unwrap())
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }
}

/// Reads back the participants of a folder prepared before and makes sure their traffic runs;
/// or, on a new folder, joins the participants, starts their traffic and waits until the buckets
/// hold `target_objects`. Answers the participants, and the folder's count if it was prepared
/// before (else the caller reads it right before the first kill).
async fn prepare(
    server: &Server,
    folder: &Path,
    participant_count: usize,
    rate: u32,
    target_objects: u64,
) -> (Vec<Participant>, Option<u64>) {
    let settings = traffic_settings(f64::from(rate), STOP_AFTER_S);
    let mut connection = Connection::new(server.address);
    if let Some(prepared) = Prepared::load(folder) {
        let objects = prepared.objects;
        assert!(
            objects >= target_objects,
            "{} holds {objects} objects, fewer than --objects {target_objects} (a restarted publisher replaces objects rather than adding to them): remove it, or ask for at most {objects}",
            folder.display()
        );
        eprintln!(
            "reusing {}: {objects} objects, {} participants",
            folder.display(),
            prepared.participants.len()
        );
        let running = read_traffic_running(server.address, &prepared.participants).await;
        for (participant, running) in prepared.participants.iter().zip(running) {
            if !running {
                start_traffic(&mut connection, participant, &settings).await;
            }
        }
        return (prepared.participants, Some(objects));
    }
    let listed = setup_request(
        &mut connection,
        "GET",
        "/api/v1/participants",
        Extras::token(INSTRUCTOR_TOKEN),
    )
    .await;
    assert!(
        json(&listed)["items"]
            .as_array()
            .is_none_or(|items| items.is_empty()),
        "{} holds participants but no prepared.json: this bench did not prepare it, or stopped before it was ready; remove it or pick another --dir",
        folder.display()
    );
    let mut participants = Vec::with_capacity(participant_count);
    for index in 0..participant_count {
        let participant = participants::join(&mut connection, index).await;
        start_traffic(&mut connection, &participant, &settings).await;
        participants.push(participant);
    }
    eprintln!(
        "{} participants at {rate} objects/s each; filling the buckets to {target_objects} objects",
        participants.len()
    );
    let meter = server.meter();
    let started = Instant::now();
    let mut last = (started, 0u64);
    loop {
        let total = read_accountings(server.address, &participants)
            .await
            .total();
        let objects = total.objects();
        let now = Instant::now();
        if now.duration_since(last.0) >= PROGRESS_EVERY || objects >= target_objects {
            eprintln!(
                "  {:>5.0} s: {objects} objects ({:.0}/s), {} published, {} converted, RSS {:.0} MiB",
                started.elapsed().as_secs_f64(),
                objects.saturating_sub(last.1) as f64 / now.duration_since(last.0).as_secs_f64(),
                total.published,
                total.converted,
                mib(meter.sample().map_or(0, |sample| sample.rss_kib))
            );
            last = (now, objects);
        }
        if objects >= target_objects {
            return (participants, None);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The checks after one restart; answers its row and the last reading, which the next kill is
/// compared with.
async fn check_restart(
    server: &Server,
    participants: &[Participant],
    before_kill: &Reading,
    ready_after: Duration,
    (rss_kib, folder_bytes): (u64, u64),
) -> (Restart, Reading) {
    let running = read_traffic_running(server.address, participants).await;
    let after = read_accountings(server.address, participants).await;
    tokio::time::sleep(FLOWING_AFTER).await;
    let later = read_accountings(server.address, participants).await;
    let publishing = later
        .accountings
        .iter()
        .zip(&after.accountings)
        .filter(|(later, after)| later.published > after.published)
        .count();
    let row = Restart {
        ready_after,
        rss_kib,
        objects_written: after.total().objects(),
        folder_bytes,
        traffic_running: running.iter().filter(|running| **running).count(),
        balanced: after.balances() && later.balances(),
        published_lower: after.published_lower_than(before_kill),
        publishing,
    };
    (row, later)
}

fn report(rows: &[Restart], participant_count: usize, objects: u64, server: &Server) {
    println!(
        "Restart on a data folder of {objects} objects: {participant_count} participants' traffic running at each SIGKILL; data folder {:.0} MiB at the end",
        mib(server.data_size() / 1024)
    );
    println!();
    println!(
        "| restart | s to /readyz | RSS after ready (MiB) | objects written | data folder (MiB) | traffic running | balanced | published lower than before the kill | publishing 5 s later |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (number, row) in rows.iter().enumerate() {
        println!(
            "| {} | {:.2} | {:.0} | {} | {:.0} | {}/{participant_count} | {} | {} | {}/{participant_count} |",
            number + 1,
            row.ready_after.as_secs_f64(),
            mib(row.rss_kib),
            row.objects_written,
            mib(row.folder_bytes / 1024),
            row.traffic_running,
            if row.balanced { "yes" } else { "NO" },
            row.published_lower,
            row.publishing,
        );
    }
    println!();
    let median = median(rows.iter().map(|row| row.ready_after).collect());
    println!(
        "median time to /readyz: {:.2} s over {} restarts",
        median.as_secs_f64(),
        rows.len()
    );
    verdict(
        &format!("median time to /readyz under {} s", READY_TARGET.as_secs()),
        median < READY_TARGET,
    );
    verdict(
        "the traffic that was running resumes (every participant's publisher and subscriber running, and publishing)",
        rows.iter().all(|row| {
            row.traffic_running == participant_count && row.publishing == participant_count
        }),
    );
    verdict(
        "nothing lost (every accounting balances, no participant's published lower than before the kill)",
        rows.iter()
            .all(|row| row.balanced && row.published_lower == 0),
    );
}

fn verdict(criterion: &str, passed: bool) {
    println!("{}: {criterion}", if passed { "PASS" } else { "FAIL" });
}

/// The middle duration (the mean of the two middle ones for an even count); zero for none.
fn median(mut durations: Vec<Duration>) -> Duration {
    durations.sort();
    match durations.len() {
        0 => Duration::ZERO,
        count if count % 2 == 1 => durations[count / 2],
        count => (durations[count / 2 - 1] + durations[count / 2]) / 2,
    }
}
