//! Lambda's asynchronous invocation, for one stack: the event queue, attempts under the timeout
//! and the concurrency limit, retries, and the dead-letter queue.
//!
//! AWS's behaviour, kept here:
//! - an event gets 1 + `MaximumRetryAttempts` attempts; the first retry waits about a minute after
//!   the failure, the second about two;
//! - an attempt that runs past the timeout fails with `Task timed out after N.NN seconds`;
//! - an event that finds the function at its concurrency limit is throttled, which is not an
//!   attempt: it goes back to the queue with a backoff growing from 1 second to 5 minutes;
//! - an event older than `MaximumEventAge` is not attempted again;
//! - an event that runs out of attempts or age goes, unmodified, to the dead-letter queue with
//!   the attributes `RequestID`, `ErrorCode` and `ErrorMessage`;
//! - `Invocations`, `Errors`, `Duration` and `ConcurrentExecutions` are stamped at the attempt's
//!   start; every retry is an invocation.
//!
//! Each attempt runs the handler inside the function's fault wrapper (`chaoslab_etl::fault`, the
//! same one the Lambda binary runs), which reads the stack's fault-injection parameter and may add
//! latency, fail, answer a status code without running the handler (a success: the object is
//! never converted, and the accounting counts it as `dropped`), fill `/tmp`, or intercept the
//! handler's calls to hosts on its denylist.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use chaoslab_etl::event::S3Event;
use chaoslab_etl::handler::handle_event;
use chaoslab_etl::store::{ObjectStore, StoreError, StoreOperation};
use tokio::task::JoinSet;

use chaoslab_etl::fault::{DenylistStore, Response, run_invocation, s3_virtual_host};

use super::faults::PipelineTime;
use super::journal::Op;
use super::millis;
use super::queue::MessageAttribute;
use super::stack::{AsyncEvent, QueueKind, Stack, StackError, StackState, save_event};
use crate::metrics::EpochMillis;

/// Longest `ErrorMessage` attribute Lambda sends to a dead-letter queue, in bytes.
const MAX_ERROR_MESSAGE_BYTES: usize = 1024;
/// The HTTP status of an invocation whose function failed: the Invoke call itself succeeded.
const FUNCTION_ERROR_CODE: &str = "200";
/// Backoff bounds for throttled events.
const THROTTLE_BACKOFF_MIN: Duration = Duration::from_secs(1);
const THROTTLE_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// How long Lambda waits before the retry that follows `failed_attempts` failures: about one
/// minute after the first, about two after the second.
pub fn retry_delay(failed_attempts: u32) -> Duration {
    Duration::from_secs(60 * u64::from(failed_attempts.clamp(1, 2)))
}

fn throttle_backoff(throttles: u32) -> Duration {
    let exponent = throttles.saturating_sub(1).min(16);
    (THROTTLE_BACKOFF_MIN * 2u32.pow(exponent)).min(THROTTLE_BACKOFF_MAX)
}

/// Runs the stack's invoker until the task is aborted: starts due attempts, and sleeps until the
/// next is due or something changes.
pub(super) async fn run(stack: Arc<Stack>) {
    let mut attempts = JoinSet::new();
    loop {
        let next_due = dispatch_due(&stack, &mut attempts);
        let sleep = async {
            match next_due {
                Some(at) => tokio::time::sleep_until(stack.clock.instant_at(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stack.invoker_wake.notified() => {}
            () = sleep => {}
            Some(_) = attempts.join_next(), if !attempts.is_empty() => {}
        }
    }
}

/// An attempt to start, decided under the lock.
struct Attempt {
    event: AsyncEvent,
    started_at: EpochMillis,
    concurrency: u32,
}

/// Starts every due event that fits under the concurrency limit, throttles the others, sends
/// expired ones to the dead-letter queue. Returns when the next event is due.
fn dispatch_due(stack: &Arc<Stack>, attempts: &mut JoinSet<()>) -> Option<EpochMillis> {
    let result = stack.transact(|state, ops, now| {
        let mut starting = Vec::new();
        while let Some((due, id)) = state.schedule.first().cloned() {
            if due > now {
                break;
            }
            state.schedule.pop_first();
            let Some(event) = state.events.get_mut(&id) else {
                continue;
            };
            let max_age = millis(state.config.maximum_event_age);
            if now - event.received_at > max_age {
                let error = format!(
                    "Event age exceeded the function's maximum event age of {} seconds",
                    state.config.maximum_event_age.as_secs()
                );
                let event = event.clone();
                dead_letter(stack, state, ops, &event, &error, now);
                continue;
            }
            if state.running >= state.config.concurrency_limit() {
                event.throttles += 1;
                event.next_attempt_at = now + millis(throttle_backoff(event.throttles));
                let (at, event) = (event.next_attempt_at, event.clone());
                state.schedule.insert((at, id));
                ops.push(save_event(stack.id(), &event));
                state.record(&stack.metric_ids.throttles, now, 1.0);
                continue;
            }
            event.running = true;
            state.running += 1;
            starting.push(Attempt {
                event: event.clone(),
                started_at: now,
                concurrency: state.running,
            });
        }
        Ok((starting, state.schedule.first().map(|(at, _)| *at)))
    });
    match result {
        Ok((starting, next_due)) => {
            for attempt in starting {
                attempts.spawn(run_attempt(Arc::clone(stack), attempt));
            }
            next_due
        }
        Err(error) => {
            tracing::error!(stack = stack.id(), %error, "the invoker could not save its state; retrying in a second");
            Some(stack.now() + 1000)
        }
    }
}

/// How one attempt ended.
enum Outcome {
    /// The handler succeeded; these objects are to be written.
    Succeeded(Vec<StagedPut>),
    /// The fault wrapper answered a status code instead of running the handler: for an
    /// asynchronous invocation that is a success, and nothing was written.
    Answered,
    /// The handler failed, timed out or had a fault injected.
    Failed(String),
}

async fn run_attempt(stack: Arc<Stack>, attempt: Attempt) {
    let timeout = stack.lock().config.timeout;
    let started = tokio::time::Instant::now();
    let store = AttemptStore::new(&stack);
    let region = stack.names().region.clone();
    let invocation = run_invocation(
        &stack.faults,
        &PipelineTime(stack.clock),
        timeout,
        |block| {
            let store = DenylistStore::new(&store, block, move |bucket: &str| {
                s3_virtual_host(bucket, &region)
            });
            let payload = &attempt.event.payload;
            async move {
                let event: S3Event = serde_json::from_str(payload)
                    .map_err(|error| format!("cannot parse the event: {error}"))?;
                handle_event(&store, &event)
                    .await
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            }
        },
    )
    .await;
    if let Some(issue) = &invocation.issue {
        tracing::debug!(stack = stack.id(), %issue, "the fault-injection parameter cannot be followed; no fault injected");
    }
    let fault_fired = invocation.injection.fired();
    let outcome = match invocation.result {
        Ok(Response::Handler(())) => Outcome::Succeeded(store.into_staged()),
        Ok(Response::StatusCode(_)) => Outcome::Answered,
        Err(error) => Outcome::Failed(error.to_string()),
    };
    // Duration in pipeline milliseconds, with sub-millisecond precision.
    let duration_ms = (started.elapsed().as_secs_f64() * 1000.0 * stack.clock.scale())
        .min(timeout.as_secs_f64() * 1000.0);
    let finished = stack.transact(|state, ops, now| {
        state.running = state.running.saturating_sub(1);
        let ended = Ended {
            outcome,
            fault_fired,
            duration_ms,
        };
        finish_attempt(&stack, state, ops, &attempt, ended, now);
        Ok(())
    });
    if let Err(error) = finished {
        tracing::error!(stack = stack.id(), event = attempt.event.id, %error, "could not save an attempt's outcome; the event will run again after a restart");
    }
    stack.invoker_wake.notify_one();
}

/// What an attempt came to.
struct Ended {
    outcome: Outcome,
    /// Whether the fault wrapper injected a fault.
    fault_fired: bool,
    /// In pipeline milliseconds.
    duration_ms: f64,
}

fn finish_attempt(
    stack: &Stack,
    state: &mut StackState,
    ops: &mut Vec<Op>,
    attempt: &Attempt,
    ended: Ended,
    now: EpochMillis,
) {
    let Ended {
        outcome,
        fault_fired,
        duration_ms,
    } = ended;
    let ids = &stack.metric_ids;
    let start = attempt.started_at;
    state.record(&ids.invocations, start, 1.0);
    state.record(&ids.duration, start, duration_ms);
    state.record(
        &ids.concurrent_executions,
        start,
        f64::from(attempt.concurrency),
    );
    state.record(
        &ids.async_event_age,
        start,
        (start - attempt.event.received_at) as f64,
    );
    if matches!(outcome, Outcome::Failed(_)) {
        state.record(&ids.errors, start, 1.0);
    }
    if fault_fired {
        state.record(&ids.injected_faults, start, 1.0);
    }
    let attempts_allowed = 1 + state.config.maximum_retry_attempts;
    let Some(event) = state.events.get_mut(&attempt.event.id) else {
        // The stack was reset while the attempt ran: the event is gone, and so is its outcome.
        return;
    };
    event.running = false;
    event.attempts += 1;
    match outcome {
        Outcome::Succeeded(puts) => {
            let event = event.clone();
            for put in puts {
                if let Err(error) = stack.put_in_bucket(
                    state,
                    ops,
                    &put.key,
                    put.body,
                    &put.content_type,
                    now,
                    &event.id,
                ) {
                    tracing::warn!(stack = stack.id(), key = put.key, %error, "the function's output was refused");
                }
            }
            state.events.remove(&event.id);
            ops.push(Op::DeleteEvent {
                stack: stack.id().to_owned(),
                id: event.id,
            });
            state.accounting.converted += 1;
            state.accounting.in_flight = state.accounting.in_flight.saturating_sub(1);
        }
        Outcome::Answered => {
            // A success to Lambda: the event is done, but nothing was converted.
            let id = event.id.clone();
            state.events.remove(&id);
            ops.push(Op::DeleteEvent {
                stack: stack.id().to_owned(),
                id,
            });
            state.accounting.dropped += 1;
            state.accounting.in_flight = state.accounting.in_flight.saturating_sub(1);
        }
        Outcome::Failed(error) => {
            if event.attempts >= attempts_allowed {
                let event = event.clone();
                dead_letter(stack, state, ops, &event, &error, now);
            } else {
                event.next_attempt_at = now + millis(retry_delay(event.attempts));
                let event = event.clone();
                state
                    .schedule
                    .insert((event.next_attempt_at, event.id.clone()));
                ops.push(save_event(stack.id(), &event));
            }
        }
    }
}

/// Sends an event that will not be attempted again to the dead-letter queue.
fn dead_letter(
    stack: &Stack,
    state: &mut StackState,
    ops: &mut Vec<Op>,
    event: &AsyncEvent,
    error: &str,
    now: EpochMillis,
) {
    let attributes = vec![
        MessageAttribute {
            name: "RequestID".to_owned(),
            data_type: "String".to_owned(),
            string_value: event.id.clone(),
        },
        MessageAttribute {
            name: "ErrorCode".to_owned(),
            data_type: "Number".to_owned(),
            string_value: FUNCTION_ERROR_CODE.to_owned(),
        },
        MessageAttribute {
            name: "ErrorMessage".to_owned(),
            data_type: "String".to_owned(),
            string_value: truncate(error, MAX_ERROR_MESSAGE_BYTES).to_owned(),
        },
    ];
    if let Err(error) = stack.send_message(
        state,
        ops,
        QueueKind::DeadLetter,
        event.payload.clone(),
        attributes,
        now,
    ) {
        // Lambda counts a failed dead-letter delivery as DeadLetterErrors and drops the event.
        tracing::error!(stack = stack.id(), %error, "could not send an event to the dead-letter queue");
        state.record(&stack.metric_ids.dead_letter_errors, now, 1.0);
    }
    state.events.remove(&event.id);
    ops.push(Op::DeleteEvent {
        stack: stack.id().to_owned(),
        id: event.id.clone(),
    });
    state.accounting.dead_lettered += 1;
    state.accounting.in_flight = state.accounting.in_flight.saturating_sub(1);
}

fn truncate(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An object the handler wrote, applied only if the attempt succeeds, as one change with the
/// event's completion.
pub(super) struct StagedPut {
    pub key: String,
    pub body: Bytes,
    pub content_type: String,
}

/// The object store one attempt's handler sees: reads from the bucket, stages its writes.
pub(super) struct AttemptStore<'a> {
    stack: &'a Stack,
    staged: Mutex<Vec<StagedPut>>,
}

impl<'a> AttemptStore<'a> {
    /// A store over `stack`'s bucket with nothing staged.
    pub(super) fn new(stack: &'a Stack) -> Self {
        Self {
            stack,
            staged: Mutex::new(Vec::new()),
        }
    }

    /// The objects the handler wrote, in order.
    pub(super) fn into_staged(self) -> Vec<StagedPut> {
        self.staged
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl ObjectStore for AttemptStore<'_> {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        let state = self.stack.lock();
        if bucket != state.bucket.name() {
            return Err(StoreError::NotFound {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            });
        }
        match self.stack.read_object(&state, key) {
            Ok(object) => Ok(object.body.to_vec()),
            Err(StackError::Bucket(_)) => Err(StoreError::NotFound {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }),
            Err(error) => Err(StoreError::Failed {
                operation: StoreOperation::GetObject,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                message: error.to_string(),
                source: None,
            }),
        }
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        if bucket != self.stack.names().bucket {
            return Err(StoreError::Failed {
                operation: StoreOperation::PutObject,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                message: "the function may only write to its own bucket".to_owned(),
                source: None,
            });
        }
        self.staged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(StagedPut {
                key: key.to_owned(),
                body: Bytes::from(body),
                content_type: content_type.to_owned(),
            });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_one_then_two_minutes() {
        assert_eq!(retry_delay(1), Duration::from_secs(60));
        assert_eq!(retry_delay(2), Duration::from_secs(120));
    }

    #[test]
    fn throttle_backoff_doubles_from_one_second_to_five_minutes() {
        assert_eq!(throttle_backoff(1), Duration::from_secs(1));
        assert_eq!(throttle_backoff(2), Duration::from_secs(2));
        assert_eq!(throttle_backoff(5), Duration::from_secs(16));
        assert_eq!(throttle_backoff(30), Duration::from_secs(300));
    }

    #[test]
    fn error_messages_are_cut_at_a_character_boundary() {
        let text = "é".repeat(600);
        let cut = truncate(&text, MAX_ERROR_MESSAGE_BYTES);
        assert_eq!(cut.len(), 1024);
        assert_eq!(truncate("short", 1024), "short");
        assert_eq!(truncate("aé", 2), "a");
    }
}
