//! Delivery latency: how long one of the publisher's objects takes to come out of the far end of
//! the pipeline as a CSV notification in the participant's csv queue (issue 13's "publish to CSV
//! message in the queue"), in pipeline milliseconds.
//!
//! - [`PutTimes`]: when the publisher put each of its recent messages; a participant's publisher
//!   writes it and their subscriber reads it;
//! - [`csv_message_id`]: which message a CSV notification is about;
//! - [`LatencyWindow`]: the subscriber's recent latencies, the last minute of them;
//! - [`LatencySummary`]: what the subscriber's status shows of that window.
//!
//! A latency is SQS's `SentTimestamp` of the notification minus the moment the publisher started
//! the object's put. Both are pipeline time on the embedded backend; on AWS the first is AWS's
//! clock and the second this machine's, so clock skew adds to (or takes from) every latency.

use std::collections::VecDeque;

use chaoslab_etl::event::S3Event;
use serde::{Deserialize, Serialize};

use super::message::message_id_of_csv_key;
use crate::metrics::EpochMillis;

/// How many of the publisher's latest puts are remembered: at 100 objects/s, the last 20 s, at
/// the lab's 2 objects/s the last 17 minutes; 48 KiB per participant, so 200 take under 10 MiB.
/// A notification for an older put cannot be matched and counts as unmatched.
pub const PUT_TIMES_CAPACITY: usize = 2_048;
/// How far back the subscriber's latency window reaches, in pipeline milliseconds.
pub const LATENCY_WINDOW_MS: EpochMillis = 60_000;
/// The most notifications the window keeps (100 a second for a minute, with room to spare);
/// beyond that the oldest leave first.
pub const LATENCY_WINDOW_MAX_SAMPLES: usize = 10_000;

/// When each of the publisher's recent messages was put, by message id, in a fixed number of
/// slots: message `n` lives in slot `n % capacity`, so a newer message pushes out the one
/// `capacity` ids before it. The slots grow with the ids up to the capacity, so a publisher that
/// wrote little holds little.
#[derive(Debug)]
pub struct PutTimes {
    capacity: usize,
    slots: Vec<Option<(u64, EpochMillis)>>,
}

impl Default for PutTimes {
    fn default() -> Self {
        Self::with_capacity(PUT_TIMES_CAPACITY)
    }
}

impl PutTimes {
    /// Room for the last `capacity` messages (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            slots: Vec::new(),
        }
    }

    /// Message `message_id` was put at `at` (a retried put replaces the earlier attempt).
    pub fn record(&mut self, message_id: u64, at: EpochMillis) {
        let index = self.slot(message_id);
        if index >= self.slots.len() {
            self.slots.resize(index + 1, None);
        }
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = Some((message_id, at));
        }
    }

    /// When message `message_id` was put, forgetting it: a second notification for the same
    /// message (SQS redelivers one whose delete came too late) is not counted twice. `None` if
    /// it was never recorded or has been pushed out.
    pub fn take(&mut self, message_id: u64) -> Option<EpochMillis> {
        let index = self.slot(message_id);
        let slot = self.slots.get_mut(index)?;
        match *slot {
            Some((id, at)) if id == message_id => {
                *slot = None;
                Some(at)
            }
            _ => None,
        }
    }

    fn slot(&self, message_id: u64) -> usize {
        // The remainder is below the capacity, a usize, so the cast keeps it whole.
        (message_id % self.capacity as u64) as usize
    }
}

/// The envelope SNS wraps around each message it delivers to an SQS subscription (raw message
/// delivery off, as the lab's subscription is); only the field the subscriber reads.
#[derive(Debug, Deserialize)]
struct SnsNotification {
    #[serde(rename = "Message")]
    message: String,
}

/// The publisher's message id behind a CSV notification: the body is an SNS envelope around
/// the S3 event for `output/data_object_msg-<n>.csv`. `None` for anything else (another key, a
/// test event, a body that is not JSON).
pub fn csv_message_id(body: &str) -> Option<u64> {
    let notification: SnsNotification = serde_json::from_str(body).ok()?;
    let event: S3Event = serde_json::from_str(&notification.message).ok()?;
    // S3 sends the key form-URL-encoded; the lab's keys have nothing to encode, but decoding
    // keeps the match right for any key.
    let key = event.records.first()?.decoded_key().ok()?;
    message_id_of_csv_key(&key)
}

/// Recent delivery latencies: one entry per CSV notification received in the last
/// [`LATENCY_WINDOW_MS`] (at most [`LATENCY_WINDOW_MAX_SAMPLES`]), with its latency if it
/// matched a put.
#[derive(Debug, Default)]
pub struct LatencyWindow {
    samples: VecDeque<Sample>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    /// When the notification was received, pipeline time.
    received_at: EpochMillis,
    /// Its latency in milliseconds, or `None` if it matched no put.
    latency_ms: Option<u64>,
}

impl LatencyWindow {
    /// A notification received at `received_at`, with its latency if it matched a put.
    pub fn record(&mut self, received_at: EpochMillis, latency_ms: Option<u64>) {
        if self.samples.len() == LATENCY_WINDOW_MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample {
            received_at,
            latency_ms,
        });
        self.forget_before(received_at);
    }

    /// Forgets what was received more than [`LATENCY_WINDOW_MS`] before `now`.
    pub fn forget_before(&mut self, now: EpochMillis) {
        let since = now.saturating_sub(LATENCY_WINDOW_MS);
        while self
            .samples
            .front()
            .is_some_and(|sample| sample.received_at <= since)
        {
            self.samples.pop_front();
        }
    }

    /// The latencies in the window, summarised; `None` if none matched a put.
    pub fn summary(&self) -> Option<LatencySummary> {
        let mut latencies: Vec<u64> = self
            .samples
            .iter()
            .filter_map(|sample| sample.latency_ms)
            .collect();
        latencies.sort_unstable();
        let unmatched = self.samples.len() - latencies.len();
        LatencySummary::of_sorted(&latencies, unmatched as u64)
    }
}

/// The delivery latency of a participant's objects over the last minute of pipeline time: from
/// the publisher starting an object's put to SQS accepting its CSV notification in the csv queue
/// (the notification's `SentTimestamp`), in milliseconds. Percentiles are nearest-rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct LatencySummary {
    /// Notifications received in the window and matched to a put.
    pub samples: u64,
    /// Notifications received in the window that matched no put the publisher remembers: not
    /// the publisher's objects, a redelivery, or put more than 2,048 objects earlier.
    pub unmatched: u64,
    /// Median latency, ms.
    pub p50: u64,
    /// 99th percentile latency, ms.
    pub p99: u64,
    /// Highest latency, ms.
    pub max: u64,
}

impl LatencySummary {
    /// The summary of `latencies`, sorted in ascending order; `None` if there are none.
    pub fn of_sorted(latencies: &[u64], unmatched: u64) -> Option<Self> {
        Some(Self {
            samples: latencies.len() as u64,
            unmatched,
            p50: nearest_rank(latencies, 50)?,
            p99: nearest_rank(latencies, 99)?,
            max: *latencies.last()?,
        })
    }
}

/// The `percent`th percentile of `sorted` (ascending) by the nearest-rank method: the smallest
/// value with at least `percent`% of the values at or below it. `None` for no values.
pub fn nearest_rank(sorted: &[u64], percent: u32) -> Option<u64> {
    let count = sorted.len();
    let percent = usize::try_from(percent.min(100)).unwrap_or(100);
    // Rank ⌈percent × count / 100⌉, and at least the first value.
    let rank = (percent * count).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chaoslab_etl::event::{S3EventRecord, encode_key};
    use chaoslab_etl::handler::output_key_for;

    use super::*;
    use crate::traffic::message::lab_message;

    #[test]
    fn nearest_rank_takes_the_smallest_value_covering_the_percentage() {
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&hundred, 50), Some(50));
        assert_eq!(nearest_rank(&hundred, 99), Some(99));
        assert_eq!(nearest_rank(&hundred, 100), Some(100));
        // Ten values: the 99th percentile is the 10th (⌈9.9⌉), the median the 5th.
        let ten: Vec<u64> = (1..=10).map(|n| n * 10).collect();
        assert_eq!(nearest_rank(&ten, 50), Some(50));
        assert_eq!(nearest_rank(&ten, 99), Some(100));
        // 201 values: the 99th percentile is the 199th (⌈198.99⌉).
        let many: Vec<u64> = (1..=201).collect();
        assert_eq!(nearest_rank(&many, 99), Some(199));
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 99), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn put_times_remember_the_latest_ids_and_forget_a_taken_one() {
        let mut puts = PutTimes::with_capacity(4);
        for id in 1..=6 {
            puts.record(id, 1_000 + id as EpochMillis);
        }
        // 1 and 2 were pushed out by 5 and 6.
        assert_eq!(puts.take(1), None);
        assert_eq!(puts.take(2), None);
        assert_eq!(puts.take(3), Some(1_003));
        assert_eq!(puts.take(6), Some(1_006));
        // Taken once, not twice.
        assert_eq!(puts.take(3), None);
        // Never recorded.
        assert_eq!(puts.take(7), None);
        // A retried put replaces the earlier attempt.
        puts.record(4, 2_000);
        assert_eq!(puts.take(4), Some(2_000));
    }

    #[test]
    fn put_times_hold_no_more_slots_than_their_capacity() {
        let mut puts = PutTimes::with_capacity(8);
        for id in 1..=1_000 {
            puts.record(id, 0);
        }
        assert_eq!(puts.slots.len(), 8);
        let mut few = PutTimes::default();
        for id in 1..=3 {
            few.record(id, 0);
        }
        assert_eq!(few.slots.len(), 4);
    }

    #[test]
    fn the_window_keeps_the_last_minute_and_counts_the_unmatched() {
        let mut window = LatencyWindow::default();
        assert_eq!(window.summary(), None);
        // One a second for two minutes, latency = the second's number; every tenth unmatched.
        for second in 1..=120u64 {
            let latency = (second % 10 != 0).then_some(second);
            window.record(second as EpochMillis * 1_000, latency);
        }
        // Seconds 61..=120 are in the window: 54 matched (61..=119 without 70, 80, ... 120).
        let summary = window.summary().unwrap();
        assert_eq!(summary.samples, 54);
        assert_eq!(summary.unmatched, 6);
        assert_eq!(summary.max, 119);
        assert_eq!(summary.p50, 89);
        assert_eq!(summary.p99, 119);
        // Nothing more for a minute: the window empties.
        window.forget_before(180_000);
        assert_eq!(window.summary(), None);
    }

    #[test]
    fn the_window_keeps_at_most_its_sample_limit() {
        let mut window = LatencyWindow::default();
        let extra = 500;
        for n in 0..(LATENCY_WINDOW_MAX_SAMPLES + extra) {
            window.record(1_000, Some(n as u64));
        }
        let summary = window.summary().unwrap();
        assert_eq!(summary.samples, LATENCY_WINDOW_MAX_SAMPLES as u64);
        // The oldest went first.
        let sorted: Vec<u64> =
            (extra as u64..(LATENCY_WINDOW_MAX_SAMPLES + extra) as u64).collect();
        assert_eq!(summary.p50, nearest_rank(&sorted, 50).unwrap());
    }

    /// A CSV notification as SNS delivers it to the csv queue, for the CSV of `input_key`.
    fn notification(input_key: &str) -> String {
        let csv_key = output_key_for(input_key).unwrap();
        let mut record = S3EventRecord::default();
        record.s3.object.key = encode_key(&csv_key);
        let event = serde_json::to_string(&S3Event::from_records(vec![record])).unwrap();
        serde_json::json!({ "Type": "Notification", "MessageId": "m-1", "Message": event })
            .to_string()
    }

    #[test]
    fn a_notification_names_the_publishers_message_by_its_csv_key() {
        let mut rng = fastrand::Rng::with_seed(1);
        let (key, _) = lab_message(4_711, 0, false, &mut rng);
        assert_eq!(csv_message_id(&notification(&key)), Some(4_711));
        assert_eq!(csv_message_id(&notification("input/other-7.json")), None);
        assert_eq!(
            csv_message_id(&notification("input/data_object_msg-x.json")),
            None
        );
        assert_eq!(csv_message_id("not json"), None);
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#;
        let envelope = serde_json::json!({ "Type": "Notification", "Message": test_event });
        assert_eq!(csv_message_id(&envelope.to_string()), None);
    }
}
