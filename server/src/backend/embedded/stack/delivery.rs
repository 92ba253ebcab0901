//! How a new object travels inside a change: S3 stores it and sends its event notification,
//! `input/*.json` to the function's asynchronous queue, `output/*.csv` through the SNS topic into
//! the csv queue.

use bytes::Bytes;
use tokio::sync::Notify;

use super::{AsyncEvent, QueueKind, Stack, StackError, StackState, new_id};
use crate::backend::embedded::bucket::{Destination, Notification};
use crate::backend::embedded::journal::Op;
use crate::backend::embedded::queue::MessageAttribute;
use crate::backend::embedded::topic;
use crate::metrics::EpochMillis;

impl Stack {
    /// Writes an object, as S3 PutObject does, and delivers the notification it triggers:
    /// `input/*.json` queues an invocation of the function, `output/*.csv` goes through the topic
    /// to the csv queue. Returns the object's ETag once the write is saved.
    pub fn put_object(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<String, StackError> {
        let etag = self.put_object_queued(key, body, content_type)?;
        self.saved()?;
        Ok(etag)
    }

    /// [`Stack::put_object`] without the wait: the write is queued for the journal, and the
    /// caller awaits [`Stack::settled`] before it answers.
    pub fn put_object_queued(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<String, StackError> {
        let request_id = new_id();
        let etag = self.transact(|state, ops, now| {
            let etag = self.put_in_bucket(state, ops, key, body, content_type, now, &request_id)?;
            Ok(etag)
        })?;
        self.invoker_wake.notify_one();
        Ok(etag)
    }

    /// Writes an object only if the key is free (S3's conditional `PutObject` with
    /// `If-None-Match: *`); returns whether it was written. A write is an ordinary upload: its
    /// notification goes out as for any other.
    pub fn put_object_if_absent(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<bool, StackError> {
        let written = self.put_object_if_absent_queued(key, body, content_type)?;
        self.saved()?;
        Ok(written)
    }

    /// [`Stack::put_object_if_absent`] without the wait for the journal.
    pub fn put_object_if_absent_queued(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<bool, StackError> {
        let request_id = new_id();
        let written = self.transact(|state, ops, now| {
            match self.read_object(state, key) {
                Ok(_) => return Ok(false),
                Err(StackError::Bucket(_)) => {}
                Err(error) => return Err(error),
            }
            self.put_in_bucket(state, ops, key, body, content_type, now, &request_id)?;
            Ok(true)
        })?;
        if written {
            self.invoker_wake.notify_one();
        }
        Ok(written)
    }

    /// The put itself, inside a change: stores the object and fans its notification out.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::backend::embedded) fn put_in_bucket(
        &self,
        state: &mut StackState,
        ops: &mut Vec<Op>,
        key: &str,
        body: Bytes,
        content_type: &str,
        now: EpochMillis,
        request_id: &str,
    ) -> Result<String, StackError> {
        let (object, notification) = state.bucket.put(key, body, content_type, now, request_id)?;
        ops.push(Op::PutObject {
            stack: self.id.clone(),
            key: key.to_owned(),
            body: object.body.clone(),
            content_type: object.content_type.clone(),
            etag: object.etag.clone(),
            last_modified: now,
        });
        if let Some(notification) = notification {
            self.deliver(state, ops, notification, now);
        }
        Ok(object.etag)
    }

    fn deliver(
        &self,
        state: &mut StackState,
        ops: &mut Vec<Op>,
        notification: Notification,
        now: EpochMillis,
    ) {
        let event_json = serde_json::to_string(&notification.event).unwrap_or_default();
        match notification.destination {
            Destination::Function => {
                // S3 invokes the function asynchronously: Lambda queues the event and answers at
                // once; the attempt happens later.
                state.accounting.published += 1;
                state.accounting.in_flight += 1;
                state.record(&self.metric_ids.async_events_received, now, 1.0);
                state.enqueue_event(
                    AsyncEvent {
                        id: new_id(),
                        payload: event_json,
                        received_at: now,
                        attempts: 0,
                        next_attempt_at: now,
                        throttles: 0,
                        running: false,
                    },
                    ops,
                    &self.id,
                );
            }
            Destination::Topic => {
                let message_id = new_id();
                state.record(&self.metric_ids.published, now, 1.0);
                let body = topic::envelope(
                    &self.names.topic_arn,
                    &self.names.region,
                    &message_id,
                    &event_json,
                    now,
                );
                // The subscription is the csv queue, with raw message delivery off.
                match self.send_message(state, ops, QueueKind::Csv, body, Vec::new(), now) {
                    Ok(()) => state.record(&self.metric_ids.delivered, now, 1.0),
                    Err(error) => {
                        tracing::warn!(stack = %self.id, %error, "SNS could not deliver to the csv queue");
                        state.record(&self.metric_ids.delivery_failed, now, 1.0);
                    }
                }
            }
        }
    }

    /// Adds a message to a queue inside a change.
    pub(in crate::backend::embedded) fn send_message(
        &self,
        state: &mut StackState,
        ops: &mut Vec<Op>,
        kind: QueueKind,
        body: String,
        attributes: Vec<MessageAttribute>,
        now: EpochMillis,
    ) -> Result<(), StackError> {
        let queue = state.queue(kind);
        let queue_name = queue.name().to_owned();
        let message = queue.send(body, attributes, new_id(), now)?;
        ops.push(Op::SaveMessage {
            stack: self.id.clone(),
            queue: queue_name,
            seq: message.seq,
            state: serde_json::to_string(message).unwrap_or_default(),
        });
        self.arrivals(kind).notify_waiters();
        Ok(())
    }

    pub(super) fn arrivals(&self, kind: QueueKind) -> &Notify {
        match kind {
            QueueKind::Csv => &self.csv_arrivals,
            QueueKind::DeadLetter => &self.dlq_arrivals,
        }
    }
}
