//! The dead-letter queue read without consuming it, and the redrive that hands its events back
//! to the function.

use super::{AsyncEvent, QueueKind, Stack, StackError, new_id};
use crate::backend::dead_letters::ErrorFilter;
use crate::backend::embedded::journal::Op;
use crate::backend::embedded::queue::Message;

impl Stack {
    /// Up to `max` messages of the dead-letter queue that pass `filter`, newest first (what the
    /// latest fault did comes before what older ones left), how many it holds and how many of
    /// them pass. They are read, not received: visibility, receive counts and SQS's metrics stay
    /// as they were.
    pub fn peek_dead_letters(
        &self,
        max: usize,
        filter: Option<&ErrorFilter>,
    ) -> (Vec<Message>, u64, u64) {
        let state = self.lock();
        let total = state.dlq.len() as u64;
        let Some(filter) = filter else {
            let messages = state.dlq.messages().rev().take(max).cloned().collect();
            return (messages, total, total);
        };
        let mut messages = Vec::new();
        let mut matching = 0;
        for message in state.dlq.messages().rev() {
            let error = message
                .attributes
                .iter()
                .find(|attribute| attribute.name == "ErrorMessage")
                .map(|attribute| attribute.string_value.as_str());
            if filter.matches(error) {
                matching += 1;
                if messages.len() < max {
                    messages.push(message.clone());
                }
            }
        }
        (messages, total, matching)
    }

    /// Moves up to `max` visible messages of the dead-letter queue, oldest first, back to the
    /// function: each message's body (the S3 event) is queued as a new asynchronous event, with
    /// fresh attempts, received now, and the message leaves the queue. Each message moves in one
    /// change, so a crash leaves it either in the queue or queued for the function, never both
    /// nor neither. Returns how many moved and how many messages remain.
    ///
    /// As on AWS, where a redrive receives and deletes each message and invokes the function
    /// asynchronously, the queue counts a receive and a delete, and the function an
    /// `AsyncEventsReceived`.
    pub fn redrive_dead_letters(&self, max: usize) -> Result<(u64, u64), StackError> {
        let counts = self.redrive_dead_letters_queued(max)?;
        self.saved()?;
        Ok(counts)
    }

    /// [`Stack::redrive_dead_letters`] without the wait for the journal.
    pub fn redrive_dead_letters_queued(&self, max: usize) -> Result<(u64, u64), StackError> {
        let mut redriven = 0;
        while redriven < max {
            let moved = self.transact(|state, ops, now| {
                let Some(message) = state.queue(QueueKind::DeadLetter).take_oldest_visible(now)
                else {
                    return Ok(false);
                };
                ops.push(Op::DeleteMessage {
                    stack: self.id.clone(),
                    queue: self.names.dlq_name.clone(),
                    seq: message.seq,
                });
                state.record(&self.metric_ids.async_events_received, now, 1.0);
                // The object leaves the dead-letter queue and is in flight again. A message the
                // accounting never counted (none should exist) is counted as published now, so
                // the sum still holds.
                if state.accounting.dead_lettered > 0 {
                    state.accounting.dead_lettered -= 1;
                } else {
                    state.accounting.published += 1;
                }
                state.accounting.in_flight += 1;
                state.enqueue_event(
                    AsyncEvent {
                        id: new_id(),
                        payload: message.body,
                        received_at: now,
                        attempts: 0,
                        next_attempt_at: now,
                        throttles: 0,
                        running: false,
                    },
                    ops,
                    &self.id,
                );
                Ok(true)
            })?;
            if !moved {
                break;
            }
            redriven += 1;
        }
        if redriven > 0 {
            self.invoker_wake.notify_one();
        }
        let remaining = self.lock().dlq.len() as u64;
        Ok((redriven as u64, remaining))
    }
}
