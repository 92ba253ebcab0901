//! The subscriber: consumes a participant's csv queue, receiving with long polls and deleting
//! each message, at no more than its rate on average, and measures each message's delivery
//! latency against the put times the participant's publisher noted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::latency::{LatencySummary, LatencyWindow, PutTimes, csv_message_id};
use super::pacing::{
    Backoff, Generator, GeneratorState, RunState, lock, millis, sleep_until_or_woken,
};
use super::settings::SubscriberSettings;
use crate::backend::{Backend, BackendError, CsvMessage};
use crate::metrics::EpochMillis;

/// How many delete batches may wait for their answers while the subscriber receives more.
const MAX_DELETES_IN_FLIGHT: usize = 4;

/// How long one receive waits for a message (SQS long polling), in pipeline time.
pub const RECEIVE_WAIT: Duration = Duration::from_secs(1);

/// What a participant's subscriber is doing and has done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct SubscriberStatus {
    /// The settings it runs (or last ran) with.
    pub settings: SubscriberSettings,
    /// Whether it is consuming now.
    pub running: bool,
    /// When the current (or last) run started, epoch ms of pipeline time.
    pub started_at: EpochMillis,
    /// When it stopped, if it has; epoch ms of pipeline time.
    pub stopped_at: Option<EpochMillis>,
    /// Messages received since the controller started (a message received twice counts twice).
    pub received: u64,
    /// Messages deleted.
    pub deleted: u64,
    /// Failed receives and deletes.
    pub failures: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// How long the publisher's objects took to reach the csv queue as CSV notifications, over
    /// the messages received in the last minute of pipeline time (at most 10,000); null when
    /// none of them matched a put of the publisher's.
    pub delivery_latency_ms: Option<LatencySummary>,
}

/// A subscriber's state, shared by its task and the controller. The counters carry on across
/// runs.
#[derive(Debug)]
pub(super) struct SubscriberState {
    settings: SubscriberSettings,
    run: RunState,
    received: u64,
    deleted: u64,
    failures: u64,
    last_error: Option<String>,
    /// When the publisher put each recent message.
    put_times: Arc<Mutex<PutTimes>>,
    /// The latencies of the messages received in the last minute.
    latency: LatencyWindow,
}

impl GeneratorState for SubscriberState {
    fn run_state(&mut self) -> &mut RunState {
        &mut self.run
    }
}

/// One participant's subscriber: its state and, while it runs, its task.
pub(super) type Subscriber = Generator<SubscriberState>;

impl Generator<SubscriberState> {
    /// Starts consuming for `participant`, matching what it receives against `put_times`.
    pub(super) fn start(
        backend: &Arc<dyn Backend>,
        participant: &str,
        settings: SubscriberSettings,
        put_times: Arc<Mutex<PutTimes>>,
    ) -> Self {
        let mut subscriber = Self::new(SubscriberState {
            settings,
            run: RunState::new(backend.clock().now()),
            received: 0,
            deleted: 0,
            failures: 0,
            last_error: None,
            put_times,
            latency: LatencyWindow::default(),
        });
        subscriber.apply(backend, participant, settings);
        subscriber
    }

    /// Applies new settings: a running subscriber takes the new rate at once; a stopped one
    /// starts a new run, with its counters carrying on.
    pub(super) fn apply(
        &mut self,
        backend: &Arc<dyn Backend>,
        participant: &str,
        settings: SubscriberSettings,
    ) {
        self.update_or_start(
            backend.clock().now(),
            |state| state.settings = settings,
            |state, wake, run| {
                consume(
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
    pub(super) fn status(&self) -> SubscriberStatus {
        let running = self.is_running();
        let state = self.state();
        SubscriberStatus {
            settings: state.settings,
            running,
            started_at: state.run.started_at,
            stopped_at: state.run.stopped_at,
            received: state.received,
            deleted: state.deleted,
            failures: state.failures,
            last_error: state.last_error.clone(),
            delivery_latency_ms: state.latency.summary(),
        }
    }
}

/// The subscriber's task: receive a batch, delete each message, and wait so that a batch of n
/// (or an empty poll) takes at least n/rate (1/rate) seconds of pipeline time.
async fn consume(
    backend: Arc<dyn Backend>,
    participant: String,
    state: Arc<Mutex<SubscriberState>>,
    wake: Arc<Notify>,
    run: u64,
) {
    let clock = backend.clock();
    let put_times = Arc::clone(&lock(&state).put_times);
    let mut backoff = Backoff::default();
    // When the last receive was due on the schedule, and how many messages it brought.
    let mut last_poll: Option<(f64, usize)> = None;
    // After a failure, when to try again.
    let mut retry_at: Option<f64> = None;
    // Delete batches sent and not answered yet.
    let mut deleting = FuturesUnordered::new();
    loop {
        // Count the deletes answered meanwhile; with too many unanswered, wait for one.
        while let Some(Some(outcome)) = deleting.next().now_or_never() {
            if !record_deletes(&state, outcome) {
                retry_at = Some(clock.now() as f64 + millis(backoff.failed()));
            }
        }
        if deleting.len() >= MAX_DELETES_IN_FLIGHT {
            if let Some(outcome) = deleting.next().await
                && !record_deletes(&state, outcome)
            {
                retry_at = Some(clock.now() as f64 + millis(backoff.failed()));
            }
            continue;
        }
        let now = clock.now() as f64;
        let settings = {
            let state = lock(&state);
            if !state.run.is_current(run) {
                break;
            }
            state.settings
        };
        let period = millis(settings.period());
        let due = retry_at
            .or(last_poll.map(|(at, count)| at + count.max(1) as f64 * period))
            .unwrap_or(now);
        if now < due {
            sleep_until_or_woken(&clock, due, &wake).await;
            continue;
        }

        let receive = backend.receive_csv_messages(
            &participant,
            batch_size(settings, now - due, period),
            RECEIVE_WAIT,
        );
        // A stop or a new rate cuts the long poll short; a receive is safe to abandon (an SQS
        // message it had taken would only come back after its visibility timeout).
        let received = tokio::select! {
            received = receive => received,
            () = wake.notified() => continue,
        };
        let messages = match received {
            Ok(messages) => messages,
            Err(error) => {
                record_failure(&state, &error);
                retry_at = Some(clock.now() as f64 + millis(backoff.failed()));
                continue;
            }
        };
        let received_at = clock.now();
        let latencies: Vec<Option<u64>> = {
            let mut put_times = lock(&put_times);
            messages
                .iter()
                .map(|message| delivery_latency(&mut put_times, message))
                .collect()
        };
        {
            let mut state = lock(&state);
            state.received += messages.len() as u64;
            for latency in latencies {
                state.latency.record(received_at, latency);
            }
            state.latency.forget_before(received_at);
        }
        // One DeleteMessageBatch for the whole receive (at most ten messages, as SQS allows),
        // answered while the next receive goes out.
        if !messages.is_empty() {
            let handles: Vec<String> = messages
                .iter()
                .map(|message| message.receipt_handle.clone())
                .collect();
            let backend = Arc::clone(&backend);
            let participant = participant.clone();
            deleting.push(async move { backend.delete_csv_messages(&participant, &handles).await });
        }
        // The next receive is due `count` periods after this one was *due*, not after it woke
        // up: a timer fires up to a millisecond late, and at a high time scale that millisecond
        // is a large share of a period, so counting from the wake-up would slow the subscriber
        // below its rate and let the queue grow. Lateness beyond one batch (a long poll on an
        // empty queue, a slow backend) is not made up, so the rate holds on average.
        let count = messages.len().max(1) as f64;
        last_poll = Some((due.max(now - count * period), messages.len()));
        retry_at = None;
        backoff.succeeded();
    }
    // Stopped: the deletes already sent finish and are counted.
    while let Some(outcome) = deleting.next().await {
        record_deletes(&state, outcome);
    }
}

/// How many messages to ask for: the rate's batch, plus one for every period the subscriber is
/// behind its schedule, up to SQS's ten. On a busy backend a receive can take longer than the
/// periods its batch covers; without this, a subscriber at 2 messages/s asks for two at a time
/// and falls further behind with every receive. The schedule still holds it to its rate on
/// average: a batch of n moves the next receive n periods on.
fn batch_size(settings: SubscriberSettings, late_ms: f64, period_ms: f64) -> usize {
    let behind = if period_ms > 0.0 {
        (late_ms / period_ms).floor().clamp(0.0, 10.0) as usize
    } else {
        0
    };
    (settings.batch_size() + behind).min(10)
}

/// Counts one delete batch's outcome; whether every message was deleted.
fn record_deletes(
    state: &Mutex<SubscriberState>,
    outcome: Result<Vec<Option<String>>, BackendError>,
) -> bool {
    match outcome {
        Ok(outcomes) => {
            let mut state = lock(state);
            let mut all = true;
            for outcome in outcomes {
                match outcome {
                    None => state.deleted += 1,
                    Some(reason) => {
                        state.failures += 1;
                        state.last_error = Some(reason);
                        all = false;
                    }
                }
            }
            all
        }
        Err(error) => {
            record_failure(state, &error);
            false
        }
    }
}

/// How long `message` took from its object's put to the csv queue (its `SentTimestamp`), in
/// pipeline ms; `None` if it matches no put the publisher remembers, or SQS gave no time.
fn delivery_latency(put_times: &mut PutTimes, message: &CsvMessage) -> Option<u64> {
    let put_at = put_times.take(csv_message_id(&message.body)?)?;
    // A time before the put can only come from another run's object with the same id (after a
    // reset) or, on AWS, from clock skew: neither is a latency.
    u64::try_from(message.sent_timestamp? - put_at).ok()
}

fn record_failure(state: &Mutex<SubscriberState>, error: &impl ToString) {
    let mut state = lock(state);
    state.failures += 1;
    state.last_error = Some(error.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscriber_behind_its_schedule_asks_for_more_up_to_ten() {
        let two_a_second = SubscriberSettings { rate: 2.0 };
        let period = 500.0;
        assert_eq!(batch_size(two_a_second, 0.0, period), 2);
        assert_eq!(batch_size(two_a_second, 499.0, period), 2);
        assert_eq!(batch_size(two_a_second, 1_500.0, period), 5);
        assert_eq!(batch_size(two_a_second, 60_000.0, period), 10);
        assert_eq!(batch_size(SubscriberSettings { rate: 50.0 }, 0.0, 20.0), 10);
    }
}
