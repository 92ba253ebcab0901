//! An SQS standard queue: messages, visibility timeout, receive counts and receipt handles.
//!
//! The queue is plain state: every method takes the current pipeline time, and the stack turns
//! its changes into journal rows and metrics.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::millis;
use crate::metrics::EpochMillis;

/// Most messages one receive call returns.
pub const MAX_RECEIVE_BATCH: usize = 10;
/// Longest long-poll wait SQS allows.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// SQS's default visibility timeout.
pub const DEFAULT_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long after its last activity SQS keeps reporting a queue's metrics.
pub const ACTIVE_AFTER_LAST_USE: Duration = Duration::from_secs(6 * 60 * 60);
/// Largest message body SQS accepts, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SQS's default message retention period: a message older than this is deleted.
pub const DEFAULT_RETENTION_PERIOD: Duration = Duration::from_secs(4 * 24 * 60 * 60);

/// A message attribute: a typed name/value pair sent alongside the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttribute {
    /// e.g. `ErrorMessage`.
    pub name: String,
    /// `String`, `Number` or `Binary`.
    pub data_type: String,
    /// The value as text.
    pub string_value: String,
}

/// One message in a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Position in the queue: older messages have smaller numbers.
    pub seq: u64,
    /// SQS's message id.
    pub message_id: String,
    /// The body.
    pub body: String,
    /// MD5 of the body, hex.
    pub md5_of_body: String,
    /// Message attributes.
    pub attributes: Vec<MessageAttribute>,
    /// When it was sent.
    pub sent_at: EpochMillis,
    /// When it can next be received.
    pub visible_at: EpochMillis,
    /// How many times it has been received.
    pub receive_count: u32,
    /// When it was first received.
    pub first_received_at: Option<EpochMillis>,
    /// The handle from its latest receive; only that one deletes it.
    pub receipt_handle: Option<String>,
}

/// A received message, as a receive call returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedMessage {
    /// SQS's message id.
    pub message_id: String,
    /// The handle to delete it with.
    pub receipt_handle: String,
    /// The body.
    pub body: String,
    /// MD5 of the body, hex.
    pub md5_of_body: String,
    /// Message attributes.
    pub attributes: Vec<MessageAttribute>,
    /// How many times it has been received, this time included.
    pub approximate_receive_count: u32,
    /// When it was sent.
    pub sent_timestamp: EpochMillis,
    /// When it was first received.
    pub approximate_first_receive_timestamp: EpochMillis,
}

/// Why a queue operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The batch size is outside 1–10.
    #[error("MaxNumberOfMessages must be between 1 and {MAX_RECEIVE_BATCH}, got {0}")]
    InvalidBatchSize(usize),
    /// The wait time is over 20 seconds.
    #[error("WaitTimeSeconds must be between 0 and 20, got {0}")]
    InvalidWaitTime(u64),
    /// The receipt handle belongs to no message of this queue.
    #[error(
        "the receipt handle {0:?} is not valid for this queue (was the message already deleted?)"
    )]
    ReceiptHandleIsInvalid(String),
    /// The body is too large.
    #[error("message body is {0} bytes, over SQS's {MAX_MESSAGE_BYTES}-byte limit")]
    MessageTooLong(usize),
}

/// Counts SQS reports for one minute of a queue's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteCounts {
    /// Messages sent.
    pub sent: u64,
    /// Messages returned by receives.
    pub received: u64,
    /// Messages deleted.
    pub deleted: u64,
    /// Receives that returned nothing.
    pub empty_receives: u64,
}

/// The gauges SQS samples each minute.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gauges {
    /// Messages available to receive.
    pub visible: u64,
    /// Messages received and not yet deleted or visible again.
    pub not_visible: u64,
    /// Age of the oldest message, in seconds.
    pub age_of_oldest_seconds: f64,
}

/// An SQS standard queue.
#[derive(Debug, Clone)]
pub struct Queue {
    name: String,
    visibility_timeout: Duration,
    retention_period: Duration,
    messages: BTreeMap<u64, Message>,
    by_handle: HashMap<String, u64>,
    next_seq: u64,
    last_activity: Option<EpochMillis>,
    counts: MinuteCounts,
}

impl Queue {
    /// An empty queue.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            visibility_timeout: DEFAULT_VISIBILITY_TIMEOUT,
            retention_period: DEFAULT_RETENTION_PERIOD,
            messages: BTreeMap::new(),
            by_handle: HashMap::new(),
            next_seq: 1,
            last_activity: None,
            counts: MinuteCounts::default(),
        }
    }

    /// The same queue keeping messages for `period` (SQS's `MessageRetentionPeriod`).
    pub fn with_retention_period(self, period: Duration) -> Self {
        Self {
            retention_period: period,
            ..self
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long a message stays in the queue before SQS deletes it.
    pub fn retention_period(&self) -> Duration {
        self.retention_period
    }

    /// Messages in the queue, visible or not.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether the queue holds no message.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Every message, oldest first.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &Message> {
        self.messages.values()
    }

    /// When the queue was last sent to, received from or deleted from.
    pub fn last_activity(&self) -> Option<EpochMillis> {
        self.last_activity
    }

    /// Whether SQS would still report metrics for the queue at `now`.
    pub fn is_active(&self, now: EpochMillis) -> bool {
        let window = millis(ACTIVE_AFTER_LAST_USE);
        self.last_activity.is_some_and(|last| now - last <= window)
    }

    /// Adds a message; returns it for the journal.
    pub fn send(
        &mut self,
        body: String,
        attributes: Vec<MessageAttribute>,
        message_id: String,
        now: EpochMillis,
    ) -> Result<&Message, QueueError> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::MessageTooLong(body.len()));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let md5_of_body = hex::encode(<md5::Md5 as md5::Digest>::digest(body.as_bytes()));
        self.touch(now);
        self.counts.sent += 1;
        let message = Message {
            seq,
            message_id,
            body,
            md5_of_body,
            attributes,
            sent_at: now,
            visible_at: now,
            receive_count: 0,
            first_received_at: None,
            receipt_handle: None,
        };
        Ok(self.messages.entry(seq).or_insert(message))
    }

    /// Receives up to `max` visible messages, oldest first, hiding each for the visibility
    /// timeout. Returns them and the changed messages for the journal. Does not count an empty
    /// receive: a long poll counts once, when it gives up.
    pub fn receive(
        &mut self,
        max: usize,
        now: EpochMillis,
        mut new_handle: impl FnMut() -> String,
    ) -> Vec<(ReceivedMessage, Message)> {
        self.touch(now);
        let visibility = millis(self.visibility_timeout);
        let mut received = Vec::new();
        for message in self.messages.values_mut() {
            if received.len() == max {
                break;
            }
            if message.visible_at > now {
                continue;
            }
            if let Some(old) = message.receipt_handle.take() {
                self.by_handle.remove(&old);
            }
            let handle = new_handle();
            self.by_handle.insert(handle.clone(), message.seq);
            message.receipt_handle = Some(handle.clone());
            message.receive_count += 1;
            message.visible_at = now + visibility;
            let first_received = *message.first_received_at.get_or_insert(now);
            received.push((
                ReceivedMessage {
                    message_id: message.message_id.clone(),
                    receipt_handle: handle,
                    body: message.body.clone(),
                    md5_of_body: message.md5_of_body.clone(),
                    attributes: message.attributes.clone(),
                    approximate_receive_count: message.receive_count,
                    sent_timestamp: message.sent_at,
                    approximate_first_receive_timestamp: first_received,
                },
                message.clone(),
            ));
        }
        self.counts.received += received.len() as u64;
        received
    }

    /// Counts a receive call that returned nothing.
    pub fn count_empty_receive(&mut self, now: EpochMillis) {
        self.touch(now);
        self.counts.empty_receives += 1;
    }

    /// When the next hidden message becomes visible again, if any.
    pub fn next_visible_at(&self, now: EpochMillis) -> Option<EpochMillis> {
        self.messages
            .values()
            .map(|message| message.visible_at)
            .filter(|&at| at > now)
            .min()
    }

    /// Deletes the message the handle was issued for; returns it.
    pub fn delete(
        &mut self,
        receipt_handle: &str,
        now: EpochMillis,
    ) -> Result<Message, QueueError> {
        let seq = self
            .by_handle
            .remove(receipt_handle)
            .ok_or_else(|| QueueError::ReceiptHandleIsInvalid(receipt_handle.to_owned()))?;
        let message = self
            .messages
            .remove(&seq)
            .ok_or_else(|| QueueError::ReceiptHandleIsInvalid(receipt_handle.to_owned()))?;
        self.touch(now);
        self.counts.deleted += 1;
        Ok(message)
    }

    /// Takes the oldest visible message out of the queue, as a receive followed at once by a
    /// delete does (and counted as both); returns it for the journal.
    pub fn take_oldest_visible(&mut self, now: EpochMillis) -> Option<Message> {
        let seq = self
            .messages
            .values()
            .find(|message| message.visible_at <= now)
            .map(|message| message.seq)?;
        let message = self.messages.remove(&seq)?;
        if let Some(handle) = &message.receipt_handle {
            self.by_handle.remove(handle);
        }
        self.touch(now);
        self.counts.received += 1;
        self.counts.deleted += 1;
        Some(message)
    }

    /// Deletes the messages older than the queue's retention period at `now`, or than `at_most`
    /// where that is shorter, as [`Queue::expire_sent_before`] does.
    pub fn expire(&mut self, now: EpochMillis, at_most: Duration) -> Option<(usize, u64)> {
        let kept_for = self.retention_period.min(at_most);
        self.expire_sent_before(now.saturating_sub(millis(kept_for)))
    }

    /// Deletes the messages sent before `before`, received or not, as SQS deletes a message
    /// once it is older than the queue's retention period. Messages leave in the order they
    /// were sent: the sweep stops at the first one that is not that old. Returns how many left
    /// and the position of the newest of them, or `None` when none did. Not an activity, nor a
    /// delete in SQS's metrics.
    pub fn expire_sent_before(&mut self, before: EpochMillis) -> Option<(usize, u64)> {
        let mut expired = None;
        while let Some(entry) = self.messages.first_entry() {
            if entry.get().sent_at >= before {
                break;
            }
            let message = entry.remove();
            if let Some(handle) = &message.receipt_handle {
                self.by_handle.remove(handle);
            }
            let count = expired.map_or(0, |(count, _)| count);
            expired = Some((count + 1, message.seq));
        }
        expired
    }

    /// Removes every message.
    pub fn purge(&mut self, now: EpochMillis) -> Vec<u64> {
        self.touch(now);
        self.by_handle.clear();
        let seqs = self.messages.keys().copied().collect();
        self.messages.clear();
        seqs
    }

    /// The gauges at `now`.
    pub fn gauges(&self, now: EpochMillis) -> Gauges {
        let visible = self
            .messages
            .values()
            .filter(|message| message.visible_at <= now)
            .count();
        let oldest = self.messages.values().map(|message| message.sent_at).min();
        Gauges {
            visible: visible as u64,
            not_visible: (self.messages.len() - visible) as u64,
            age_of_oldest_seconds: oldest.map_or(0.0, |sent| ((now - sent).max(0) / 1000) as f64),
        }
    }

    /// Takes the counts gathered since the last call.
    pub fn take_counts(&mut self) -> MinuteCounts {
        std::mem::take(&mut self.counts)
    }

    /// Restores a message loaded from the journal.
    pub fn restore(&mut self, message: Message) {
        self.next_seq = self.next_seq.max(message.seq + 1);
        if let Some(handle) = &message.receipt_handle {
            self.by_handle.insert(handle.clone(), message.seq);
        }
        self.messages.insert(message.seq, message);
    }

    /// Restores the time of the last activity loaded from the journal.
    pub fn restore_activity(&mut self, last_activity: Option<EpochMillis>) {
        self.last_activity = last_activity.max(self.last_activity);
    }

    fn touch(&mut self, now: EpochMillis) {
        self.last_activity = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handles() -> impl FnMut() -> String {
        let mut next = 0;
        move || {
            next += 1;
            format!("handle-{next}")
        }
    }

    #[test]
    fn received_message_is_hidden_until_its_visibility_timeout_ends() {
        let mut queue = Queue::new("q");
        let _ = queue.send("a".into(), vec![], "id-a".into(), 0);
        let mut handle = handles();
        assert_eq!(queue.receive(10, 1_000, &mut handle).len(), 1);
        assert!(queue.receive(10, 30_999, &mut handle).is_empty());
        let again = queue.receive(10, 31_000, &mut handle);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].0.approximate_receive_count, 2);
        assert_eq!(again[0].0.approximate_first_receive_timestamp, 1_000);
    }

    #[test]
    fn only_the_latest_receipt_handle_deletes() {
        let mut queue = Queue::new("q");
        let _ = queue.send("a".into(), vec![], "id-a".into(), 0);
        let mut handle = handles();
        let first = queue.receive(1, 0, &mut handle)[0].0.receipt_handle.clone();
        let second = queue.receive(1, 30_000, &mut handle)[0]
            .0
            .receipt_handle
            .clone();
        assert_eq!(
            queue.delete(&first, 30_001),
            Err(QueueError::ReceiptHandleIsInvalid(first))
        );
        assert!(queue.delete(&second, 30_002).is_ok());
        assert!(queue.is_empty());
        assert_eq!(
            queue.take_counts(),
            MinuteCounts {
                sent: 1,
                received: 2,
                deleted: 1,
                empty_receives: 0
            }
        );
    }

    #[test]
    fn receive_returns_at_most_the_batch_oldest_first() {
        let mut queue = Queue::new("q");
        for n in 0..15 {
            let _ = queue.send(format!("m{n}"), vec![], format!("id-{n}"), n);
        }
        let batch = queue.receive(MAX_RECEIVE_BATCH, 100, handles());
        let bodies: Vec<&str> = batch
            .iter()
            .map(|(received, _)| received.body.as_str())
            .collect();
        assert_eq!(
            bodies,
            ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"]
        );
        let gauges = queue.gauges(100);
        assert_eq!((gauges.visible, gauges.not_visible), (5, 10));
    }

    #[test]
    fn messages_older_than_the_cut_off_expire_received_or_not_and_their_handles_with_them() {
        let mut queue = Queue::new("q");
        for n in 0..5 {
            let _ = queue.send(format!("m{n}"), vec![], format!("id-{n}"), n * 1_000);
        }
        let mut handle = handles();
        let received = queue.receive(1, 5_000, &mut handle);
        let old_handle = received[0].0.receipt_handle.clone();
        let _ = queue.take_counts();
        assert_eq!(queue.expire_sent_before(0), None);
        assert_eq!(queue.expire_sent_before(2_500), Some((3, 3)));
        let bodies: Vec<&str> = queue.messages().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["m3", "m4"]);
        assert_eq!(
            queue.delete(&old_handle, 6_000),
            Err(QueueError::ReceiptHandleIsInvalid(old_handle))
        );
        assert_eq!(queue.take_counts(), MinuteCounts::default());
        assert_eq!(queue.expire_sent_before(i64::MAX), Some((2, 5)));
        assert!(queue.is_empty());
        assert_eq!(queue.expire_sent_before(i64::MAX), None);
    }

    #[test]
    fn a_queue_keeps_messages_four_days_unless_told_otherwise() {
        let queue = Queue::new("q");
        assert_eq!(queue.retention_period(), Duration::from_secs(345_600));
        let queue = queue.with_retention_period(Duration::from_secs(1_209_600));
        assert_eq!(queue.retention_period(), Duration::from_secs(1_209_600));
    }

    #[test]
    fn queue_is_active_for_six_hours_after_its_last_use() {
        let mut queue = Queue::new("q");
        assert!(!queue.is_active(0));
        queue.count_empty_receive(1_000);
        assert!(queue.is_active(1_000 + 6 * 3_600_000));
        assert!(!queue.is_active(1_001 + 6 * 3_600_000));
    }
}
