//! The publisher: writes the lab's messages into a participant's bucket at a steady pace in
//! pipeline time, a share of them malformed, until it is stopped or its time is up.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::StopTimer;
use super::latency::PutTimes;
use super::message::lab_message;
use super::pacing::{
    Backoff, Generator, GeneratorState, RunState, lock, millis, sleep_until_or_woken,
};
use super::settings::{DEFAULT_STOP_AFTER_S, PublisherSettings};
use crate::backend::{Backend, BackendError};
use crate::metrics::EpochMillis;

/// What a participant's publisher is doing and has done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct PublisherStatus {
    /// The settings it runs (or last ran) with.
    pub settings: PublisherSettings,
    /// Whether it is publishing now.
    pub running: bool,
    /// When the current (or last) run started, epoch ms of pipeline time.
    pub started_at: EpochMillis,
    /// When it stops by itself, epoch ms of pipeline time.
    pub stops_at: EpochMillis,
    /// When it stopped, if it has: stopped by request or by itself; epoch ms of pipeline time.
    pub stopped_at: Option<EpochMillis>,
    /// Objects written, malformed ones included, since the controller started.
    pub published: u64,
    /// Of those, how many were malformed.
    pub malformed: u64,
    /// Failed writes.
    pub failures: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
}

impl PublisherStatus {
    /// How long the current (or last) run has lasted at pipeline time `now`, in milliseconds.
    pub fn running_for_ms(&self, now: EpochMillis) -> EpochMillis {
        let end = if self.running {
            now
        } else {
            self.stopped_at.unwrap_or(self.started_at)
        };
        (end - self.started_at).max(0)
    }

    /// Whether the last run ended at its automatic stop rather than by request.
    pub fn stopped_by_itself(&self) -> bool {
        !self.running && self.stopped_at.is_some_and(|at| at >= self.stops_at)
    }
}

/// A publisher's state, shared by its task and the controller. The counters carry on across runs.
#[derive(Debug)]
pub(super) struct PublisherState {
    settings: PublisherSettings,
    run: RunState,
    stops_at: EpochMillis,
    next_message_id: u64,
    published: u64,
    malformed: u64,
    failures: u64,
    last_error: Option<String>,
    /// When each recent message was put, for the subscriber's delivery latency.
    put_times: Arc<Mutex<PutTimes>>,
}

impl GeneratorState for PublisherState {
    fn run_state(&mut self) -> &mut RunState {
        &mut self.run
    }
}

/// One participant's publisher: its state and, while it runs, its task.
pub(super) type Publisher = Generator<PublisherState>;

impl Generator<PublisherState> {
    /// Starts publishing for `participant`, noting each put's time in `put_times`.
    pub(super) fn start(
        backend: &Arc<dyn Backend>,
        participant: &str,
        settings: PublisherSettings,
        put_times: Arc<Mutex<PutTimes>>,
    ) -> Self {
        let now = backend.clock().now();
        let mut publisher = Self::new(PublisherState {
            settings,
            run: RunState::new(now),
            stops_at: now,
            next_message_id: 1,
            published: 0,
            malformed: 0,
            failures: 0,
            last_error: None,
            put_times,
        });
        publisher.apply(backend, participant, settings, StopTimer::Restart);
        publisher
    }

    /// Applies new settings. A running publisher takes the new rate and error rate at once and
    /// keeps its start time; its automatic stop counts again from now only with
    /// [`StopTimer::Restart`]. A stopped one starts a new run, with its counters and message ids
    /// carrying on, and its stop `stop_after_s` from now.
    pub(super) fn apply(
        &mut self,
        backend: &Arc<dyn Backend>,
        participant: &str,
        settings: PublisherSettings,
        timer: StopTimer,
    ) {
        let now = backend.clock().now();
        self.update_or_start(
            now,
            |state| {
                let keep = timer == StopTimer::Keep && state.run.running && state.stops_at > now;
                state.settings = settings;
                if !keep {
                    state.stops_at = now.saturating_add(stop_after_ms(&settings));
                }
            },
            |state, wake, run| {
                publish(
                    Arc::clone(backend),
                    participant.to_owned(),
                    state,
                    wake,
                    run,
                )
            },
        );
    }

    /// A snapshot of its state.
    pub(super) fn status(&self) -> PublisherStatus {
        let running = self.is_running();
        let state = self.state();
        PublisherStatus {
            settings: state.settings,
            running,
            started_at: state.run.started_at,
            stops_at: state.stops_at,
            stopped_at: state.run.stopped_at,
            published: state.published,
            malformed: state.malformed,
            failures: state.failures,
            last_error: state.last_error.clone(),
        }
    }
}

/// The controller resolves the stop before a publisher starts; the default here only guards a
/// publisher built some other way.
fn stop_after_ms(settings: &PublisherSettings) -> EpochMillis {
    let stop_after_s = settings.stop_after_s.unwrap_or(DEFAULT_STOP_AFTER_S);
    EpochMillis::try_from(stop_after_s.saturating_mul(1_000)).unwrap_or(EpochMillis::MAX)
}

/// How many writes one publisher may have waiting for the backend at once. A write is answered
/// once it is on disk, a few milliseconds on a busy engine; starting each one on schedule rather
/// than after the previous answer keeps a high rate from being capped by that wait (at 12 ms a
/// write, one at a time tops out near 80 objects/s).
const MAX_IN_FLIGHT: usize = 8;

/// The publisher's task: one object every 1/rate seconds of pipeline time, from the start, until
/// the run is stopped, replaced or out of time. Each write starts when it is due, with up to
/// [`MAX_IN_FLIGHT`] still waiting for their answers once writes succeed (one at a time before
/// the first success and after a failure); a write that fails is tried again, with the same
/// message id, after a backoff.
async fn publish(
    backend: Arc<dyn Backend>,
    participant: String,
    state: Arc<Mutex<PublisherState>>,
    wake: Arc<Notify>,
    run: u64,
) {
    let clock = backend.clock();
    let put_times = Arc::clone(&lock(&state).put_times);
    let mut rng = fastrand::Rng::new();
    let mut backoff = Backoff::default();
    // When the last object was due: the schedule is kept in pipeline time, so it does not drift.
    let mut last_due: Option<f64> = None;
    // After a failure, when to start writing again.
    let mut retry_at: Option<f64> = None;
    // Messages whose write failed, tried again first with the same ids.
    let mut failed: VecDeque<(u64, bool)> = VecDeque::new();
    let mut in_flight = FuturesUnordered::new();
    // Whether the last write answered succeeded. Until one has (at the start, and after a
    // failure), one write at a time probes the backend, so a throttled or failing backend is not
    // sent a burst of writes that all fail.
    let mut healthy = false;
    loop {
        let now = clock.now();
        let (settings, stops_at) = {
            let mut state = lock(&state);
            if !state.run.is_current(run) {
                break;
            }
            if now >= state.stops_at {
                state.run.stop(now);
                break;
            }
            (state.settings, state.stops_at)
        };
        let period = millis(settings.period());
        let due = retry_at
            .or(last_due.map(|due| due + period))
            .unwrap_or(now as f64);
        let limit = if healthy { MAX_IN_FLIGHT } else { 1 };
        let may_start = in_flight.len() < limit;
        if may_start && (now as f64) >= due {
            let (message_id, malformed) = failed.pop_front().unwrap_or_else(|| {
                let mut state = lock(&state);
                let id = state.next_message_id;
                state.next_message_id += 1;
                (id, rng.f64() < settings.error_rate)
            });
            let (key, body) = lab_message(message_id, now, malformed, &mut rng);
            // Noted before the put: its CSV notification can reach the queue before the put
            // returns. A malformed object never comes out as CSV, so it has nothing to note.
            if !malformed {
                lock(&put_times).record(message_id, now);
            }
            let backend = Arc::clone(&backend);
            let participant = participant.clone();
            in_flight.push(async move {
                let result = backend.put_object(&participant, &key, body).await;
                (message_id, malformed, result)
            });
            retry_at = None;
            // Far behind (a slow backend), skip the missed objects rather than burst.
            last_due = Some(due.max(now as f64 - period));
            continue;
        }
        let finished = tokio::select! {
            Some(finished) = in_flight.next(), if !in_flight.is_empty() => finished,
            () = sleep_until_or_woken(&clock, due.min(stops_at as f64), &wake), if may_start => continue,
        };
        let (message_id, malformed, result) = finished;
        healthy = record_write(&state, malformed, result);
        if healthy {
            backoff.succeeded();
        } else {
            failed.push_back((message_id, malformed));
            retry_at = Some(clock.now() as f64 + millis(backoff.failed()));
        }
    }
    // Stopped: the writes already started finish and are counted, so the counts match what
    // the bucket received.
    while let Some((_, malformed, result)) = in_flight.next().await {
        record_write(&state, malformed, result);
    }
}

/// Counts one write's outcome; whether it succeeded.
fn record_write(
    state: &Mutex<PublisherState>,
    malformed: bool,
    result: Result<(), BackendError>,
) -> bool {
    let mut state = lock(state);
    match result {
        Ok(()) => {
            state.published += 1;
            state.malformed += u64::from(malformed);
            true
        }
        Err(error) => {
            state.failures += 1;
            state.last_error = Some(error.to_string());
            false
        }
    }
}
