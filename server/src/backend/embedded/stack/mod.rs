//! One participant's pipeline stack: bucket, function settings, async event queue, topic, queues,
//! metrics and accounting, behind one lock.
//!
//! Every change happens in [`Stack::transact`]: under the lock, the change is made in memory and
//! written to the journal as one transaction, so memory and disk move together and a crash leaves
//! the last committed change. The S3 → SNS → SQS fan-out of a new object happens inside the same
//! change as the write that caused it, so a CSV notification can never be lost between them.
//!
//! - [`state`]: what the stack holds in memory, and its saved record;
//! - [`metric_ids`]: the metrics it records, named as CloudWatch names them;
//! - [`delivery`]: S3's put and the notifications it fans out to the function and the topic;
//! - `dead_letters`: the dead-letter queue read without consuming it, and the redrive.

mod dead_letters;
mod delivery;
mod metric_ids;
mod metric_window;
mod state;

pub(super) use self::metric_ids::StackMetrics;
pub(super) use self::metric_window::window_start;
use self::metric_window::{MetricReadError, MetricWindow};
pub(super) use self::state::{AsyncEvent, StackRecord, StackState, save_event};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::bucket::{Bucket, BucketError, Lookup, StoredObject};
use super::faults::{StackFaults, stack_faults};
use super::function::{ConfigError, FunctionConfig};
use super::journal::{Journal, JournalError, Op};
use super::millis;
use super::queue::{MAX_RECEIVE_BATCH, MAX_WAIT, Queue, QueueError, ReceivedMessage};
use crate::backend::{Accounting, FaultParameter, PipelineClock, StackNames};
use crate::metrics::query::QueryError;
use crate::metrics::store::MetricStore;
use crate::metrics::{EpochMillis, GetMetricDataRequest, GetMetricDataResponse};

/// How long the dead-letter queue keeps a message: SQS's longest, as the project's Terraform
/// sets it, since the events there wait for a person to look at them.
pub const DEAD_LETTER_RETENTION_PERIOD: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// Which of the stack's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    /// The csv queue, subscribed to the topic.
    Csv,
    /// The function's dead-letter queue.
    DeadLetter,
}

/// Why a stack operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The bucket refused the operation.
    #[error(transparent)]
    Bucket(#[from] BucketError),
    /// The queue refused the operation.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A function setting is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A metric query is invalid.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The change could not be saved.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// One participant's pipeline.
#[derive(Debug)]
pub struct Stack {
    id: String,
    names: StackNames,
    pub(super) clock: PipelineClock,
    pub(super) journal: Arc<Journal>,
    pub(super) metric_ids: StackMetrics,
    pub(super) state: Mutex<StackState>,
    /// The function's fault wrapper, reading the stack's fault-injection parameter.
    pub(super) faults: StackFaults,
    /// Wakes the invoker when an event is queued or a slot frees up.
    pub(super) invoker_wake: Notify,
    /// The journal's sequence number of the stack's newest change.
    last_change: AtomicU64,
    csv_arrivals: Notify,
    dlq_arrivals: Notify,
}

impl Stack {
    pub(super) fn new(
        id: String,
        record: StackRecord,
        clock: PipelineClock,
        journal: Arc<Journal>,
        fault_seed: Option<u64>,
    ) -> Self {
        let names = record.names;
        let seed = fault_seed.map_or_else(
            || fastrand::u64(..),
            // FNV-1a of the id, so stacks with the same engine seed draw differently.
            |seed| {
                id.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |hash, byte| {
                    (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
                })
            },
        );
        let faults = stack_faults(&record.fault_injection, clock, seed);
        let mut csv_queue = Queue::new(names.csv_queue_name.clone());
        csv_queue.restore_activity(record.csv_queue_activity);
        let mut dlq =
            Queue::new(names.dlq_name.clone()).with_retention_period(DEAD_LETTER_RETENTION_PERIOD);
        dlq.restore_activity(record.dlq_activity);
        let state = StackState {
            config: record.config,
            fault_injection: record.fault_injection,
            // S3's sequencers only grow; this one starts above any earlier run's.
            bucket: Bucket::new(
                names.bucket.clone(),
                names.region.clone(),
                u64::try_from(clock.now()).unwrap_or(0) << 20,
            ),
            events: BTreeMap::new(),
            schedule: BTreeSet::new(),
            running: 0,
            csv_queue,
            dlq,
            metrics: MetricWindow::new(clock.now()),
            // What was counted before this process started is not in its counts.
            queue_metrics_published: MetricStore::minute_of(clock.now()) - super::MINUTE,
            accounting: record.accounting,
            settings_changed: false,
        };
        Self {
            id,
            metric_ids: StackMetrics::new(&names),
            names,
            clock,
            journal,
            state: Mutex::new(state),
            faults,
            invoker_wake: Notify::new(),
            last_change: AtomicU64::new(0),
            csv_arrivals: Notify::new(),
            dlq_arrivals: Notify::new(),
        }
    }

    /// The stack's id (the participant's).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The names of the stack's resources.
    pub fn names(&self) -> &StackNames {
        &self.names
    }

    /// The current pipeline time.
    pub fn now(&self) -> EpochMillis {
        self.clock.now()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, StackState> {
        // A panic while holding the lock leaves consistent-enough state for a lab; keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one change under the lock and queues it, with the stack's own row, for the journal
    /// to commit as one unit. If the change fails, nothing is written (it must not have changed
    /// memory). The change is visible in memory at once and on disk after the next commit: an
    /// operation that answers a caller waits for it first ([`Stack::saved`], [`Stack::settled`]).
    pub(super) fn transact<R>(
        &self,
        change: impl FnOnce(&mut StackState, &mut Vec<Op>, EpochMillis) -> Result<R, StackError>,
    ) -> Result<R, StackError> {
        let mut state = self.lock();
        state.bucket.forget_saved(self.journal.committed());
        let now = self.clock.now();
        let mut ops = Vec::new();
        let result = change(&mut state, &mut ops, now)?;
        // A change that wrote no row and touched no setting (an attempt starting, an empty
        // receive) has nothing to save.
        if ops.is_empty() && !state.settings_changed {
            return Ok(result);
        }
        state.settings_changed = false;
        ops.push(self.save_record(&state));
        match self.journal.enqueue(ops) {
            Ok(sequence) => {
                state.bucket.stamp(sequence);
                self.last_change.fetch_max(sequence, Ordering::AcqRel);
                Ok(result)
            }
            Err(error) => {
                tracing::error!(stack = %self.id, %error, "could not save a pipeline change");
                Err(error.into())
            }
        }
    }

    /// Blocks the thread until every change made to the stack so far is on disk.
    pub fn saved(&self) -> Result<(), StackError> {
        Ok(self
            .journal
            .wait_blocking(self.last_change.load(Ordering::Acquire))?)
    }

    /// Waits until every change made to the stack so far is on disk: an operation calls it
    /// before it answers, so that what it answers survives a crash.
    pub async fn settled(&self) -> Result<(), StackError> {
        Ok(self
            .journal
            .durable_through(self.last_change.load(Ordering::Acquire))
            .await?)
    }

    pub(super) fn save_record(&self, state: &StackState) -> Op {
        let record = StackRecord {
            names: self.names.clone(),
            config: state.config.clone(),
            fault_injection: state.fault_injection.clone(),
            accounting: state.accounting,
            csv_queue_activity: state.csv_queue.last_activity(),
            dlq_activity: state.dlq.last_activity(),
        };
        Op::SaveStack {
            stack: self.id.clone(),
            state: serde_json::to_string(&record).unwrap_or_default(),
        }
    }

    /// Reads an object, as S3 GetObject does.
    pub fn get_object(&self, key: &str) -> Result<StoredObject, StackError> {
        let state = self.lock();
        self.read_object(&state, key)
    }

    /// Reads an object under the lock: the bucket's unsaved write if it has one, else the disk.
    /// The lock keeps the bucket from forgetting a write between the two looks.
    pub(super) fn read_object(
        &self,
        state: &StackState,
        key: &str,
    ) -> Result<StoredObject, StackError> {
        let missing = || StackError::Bucket(BucketError::NoSuchKey(key.to_owned()));
        match state.bucket.lookup(key) {
            Lookup::Unsaved(object) if !state.bucket.is_expired(object) => Ok(object.clone()),
            Lookup::Unsaved(_) | Lookup::Gone => Err(missing()),
            Lookup::Saved => self
                .journal
                .object(&self.id, key)?
                .filter(|object| !state.bucket.is_expired(object))
                .ok_or_else(missing),
        }
    }

    /// Keys under a prefix with their sizes, in key order, at most `max`.
    pub fn list_objects(
        &self,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<(String, usize)>, StackError> {
        let state = self.lock();
        let mut found: BTreeMap<String, usize> = if state.bucket.hides_saved() {
            BTreeMap::new()
        } else {
            self.journal
                .object_sizes(&self.id, prefix, state.bucket.expired_before(), max)?
                .into_iter()
                .collect()
        };
        for (key, object) in state.bucket.unsaved_under(prefix) {
            if state.bucket.is_expired(object) {
                found.remove(key);
            } else {
                found.insert(key.clone(), object.body.len());
            }
        }
        Ok(found.into_iter().take(max).collect())
    }

    /// Receives up to `max` messages, as SQS ReceiveMessage does: waits up to `wait` for one to
    /// arrive (long polling) and hides each one it returns for the visibility timeout.
    pub async fn receive_messages(
        &self,
        kind: QueueKind,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, StackError> {
        if !(1..=MAX_RECEIVE_BATCH).contains(&max) {
            return Err(QueueError::InvalidBatchSize(max).into());
        }
        if wait > MAX_WAIT {
            return Err(QueueError::InvalidWaitTime(wait.as_secs()).into());
        }
        let deadline = self.clock.now() + millis(wait);
        loop {
            // Register for arrivals before looking, so a message sent in between still wakes us.
            let arrival = self.arrivals(kind).notified();
            tokio::pin!(arrival);
            arrival.as_mut().enable();
            let (received, next_visible) = self.transact(|state, ops, now| {
                let queue = state.queue(kind);
                let received = queue.receive(max, now, new_id);
                let queue_name = queue.name().to_owned();
                let next_visible = queue.next_visible_at(now);
                if received.is_empty() && now >= deadline {
                    queue.count_empty_receive(now);
                }
                for (_, message) in &received {
                    ops.push(Op::SaveMessage {
                        stack: self.id.clone(),
                        queue: queue_name.clone(),
                        seq: message.seq,
                        state: serde_json::to_string(message).unwrap_or_default(),
                    });
                }
                Ok((received, next_visible))
            })?;
            if !received.is_empty() || self.clock.now() >= deadline {
                // The messages are handed out only once their new receipts are saved.
                self.settled().await?;
                return Ok(received.into_iter().map(|(message, _)| message).collect());
            }
            let wake_at = next_visible.map_or(deadline, |visible| visible.min(deadline));
            tokio::select! {
                () = &mut arrival => {}
                () = tokio::time::sleep_until(self.clock.instant_at(wake_at)) => {}
            }
        }
    }

    /// Deletes a received message, as SQS DeleteMessage does; returns once the delete is saved.
    pub fn delete_message(&self, kind: QueueKind, receipt_handle: &str) -> Result<(), StackError> {
        self.delete_message_queued(kind, receipt_handle)?;
        self.saved()
    }

    /// [`Stack::delete_message`] without the wait for the journal.
    pub fn delete_message_queued(
        &self,
        kind: QueueKind,
        receipt_handle: &str,
    ) -> Result<(), StackError> {
        self.transact(|state, ops, now| {
            self.delete_in_change(state, ops, kind, receipt_handle, now)
        })
    }

    /// One delete inside a change: the message leaves the queue, and a CSV notification counts
    /// as consumed.
    fn delete_in_change(
        &self,
        state: &mut StackState,
        ops: &mut Vec<Op>,
        kind: QueueKind,
        receipt_handle: &str,
        now: EpochMillis,
    ) -> Result<(), StackError> {
        let queue = state.queue(kind);
        let message = queue.delete(receipt_handle, now)?;
        ops.push(Op::DeleteMessage {
            stack: self.id.clone(),
            queue: queue.name().to_owned(),
            seq: message.seq,
        });
        if kind == QueueKind::Csv {
            state.accounting.consumed += 1;
        }
        Ok(())
    }

    /// Deletes several received messages in one change, as SQS DeleteMessageBatch does: for
    /// each receipt handle, `None` when it was deleted, or why not. The journal is not waited
    /// for; the caller awaits [`Stack::settled`].
    pub fn delete_messages_queued(
        &self,
        kind: QueueKind,
        receipt_handles: &[String],
    ) -> Result<Vec<Option<String>>, StackError> {
        self.transact(|state, ops, now| {
            Ok(receipt_handles
                .iter()
                .map(|handle| {
                    self.delete_in_change(state, ops, kind, handle, now)
                        .err()
                        .map(|error| error.to_string())
                })
                .collect())
        })
    }

    /// Messages in a queue right now: (visible, not visible).
    pub fn queue_depth(&self, kind: QueueKind) -> (u64, u64) {
        let now = self.clock.now();
        let gauges = self.lock().queue(kind).gauges(now);
        (gauges.visible, gauges.not_visible)
    }

    /// The function's environment variables, as the Terraform module sets them: where the fault
    /// wrapper reads its document, and how long it keeps it.
    pub fn environment(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                chaoslab_etl::fault::PARAMETER_VARIABLE.to_owned(),
                self.names.parameter_name.clone(),
            ),
            (
                chaoslab_etl::fault::CACHE_TTL_VARIABLE.to_owned(),
                self.faults.cache_ttl().as_secs().to_string(),
            ),
        ])
    }

    /// The function's configuration.
    pub fn function_config(&self) -> FunctionConfig {
        self.lock().config.clone()
    }

    /// Changes the function's configuration; applies from the next attempt. Returns once the
    /// change is saved.
    pub fn update_function_config(&self, config: FunctionConfig) -> Result<(), StackError> {
        self.update_function_config_queued(config)?;
        self.saved()
    }

    /// [`Stack::update_function_config`] without the wait for the journal.
    pub fn update_function_config_queued(&self, config: FunctionConfig) -> Result<(), StackError> {
        config.validate()?;
        // The stack row, which every change saves, carries the new settings.
        self.transact(|state, _, _| {
            state.config = config;
            state.settings_changed = true;
            Ok(())
        })?;
        // A configuration change starts new execution environments, with an empty /tmp.
        self.faults.disk().clear();
        // A higher concurrency limit may let throttled events run now.
        self.invoker_wake.notify_one();
        Ok(())
    }

    /// The fault-injection parameter.
    pub fn fault_injection(&self) -> FaultParameter {
        self.lock().fault_injection.clone()
    }

    /// Replaces the fault-injection parameter. As on AWS, the function sees it once its cached
    /// copy is older than `FAILURE_CACHE_TTL` (5 s of pipeline time). Returns once the change is
    /// saved.
    pub fn set_fault_injection(&self, fault_injection: FaultParameter) -> Result<(), StackError> {
        self.set_fault_injection_queued(fault_injection)?;
        self.saved()
    }

    /// [`Stack::set_fault_injection`] without the wait for the journal.
    pub fn set_fault_injection_queued(
        &self,
        fault_injection: FaultParameter,
    ) -> Result<(), StackError> {
        let text = fault_injection.text().to_owned();
        self.transact(|state, _, _| {
            state.fault_injection = fault_injection;
            state.settings_changed = true;
            Ok(())
        })?;
        self.faults.source().set(text);
        Ok(())
    }

    /// Answers a GetMetricData request from the stack's metrics.
    pub fn metric_data(
        &self,
        request: &GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, StackError> {
        let now = self.now();
        let mut state = self.lock();
        // SQS reports a minute when it ends. The reporter's timer fires a little after the
        // boundary (later on a busy machine, and at --time-scale 60 a 20 ms delay is over a
        // pipeline second); a read in between would see the minute's Lambda invocations without
        // its queue messages, so it publishes the minute itself first.
        let ended = MetricStore::minute_of(now) - super::MINUTE;
        super::reporting::publish_queue_minute(self, &mut state, ended, now);
        state
            .metrics
            .metric_data(&self.id, &self.journal, request)
            .map_err(|error| match error {
                MetricReadError::Query(error) => StackError::Query(error),
                MetricReadError::Journal(error) => StackError::Journal(error),
            })
    }

    /// How many minutes of metrics the stack holds in memory: the last few, however long it has
    /// run (older ones are read from disk).
    pub fn metric_minutes_in_memory(&self) -> usize {
        self.lock().metrics.minutes_in_memory()
    }

    /// Deletes the objects written before `before`, as an S3 lifecycle rule expires them, and
    /// counts them in the accounting; they are gone for reads at once. Reads the disk (so call it
    /// off the async workers) but waits for no commit. Returns how many expired.
    pub fn expire_objects(&self, before: EpochMillis) -> Result<u64, StackError> {
        let mut state = self.lock();
        if state.bucket.hides_saved() {
            // A reset on its way to the disk deletes everything; the next sweep finds nothing.
            return Ok(0);
        }
        // What earlier sweeps expired was counted then, though their deletes may still be on
        // their way to the disk: this one counts only what was written since.
        let since = state.bucket.expired_before();
        if before <= since {
            return Ok(0);
        }
        state.bucket.forget_saved(self.journal.committed());
        // The delete is queued behind every write made so far, so it removes what the disk holds
        // from before `before` except keys a queued write replaces (S3 keeps only the newest
        // write of a key), plus any queued write that is itself that old. No wait for the
        // writer: the stack's traffic goes on while every stack is swept.
        let expiring = |object: &StoredObject| (since..before).contains(&object.last_modified);
        let mut replaced: Vec<&str> = Vec::new();
        let mut unsaved_old = 0u64;
        for (key, object) in state.bucket.unsaved_under("") {
            replaced.push(key.as_str());
            unsaved_old += u64::from(expiring(object));
        }
        let saved = self
            .journal
            .count_objects_between(&self.id, since, before, &replaced)?;
        let expired = saved + unsaved_old;
        if expired == 0 {
            return Ok(0);
        }
        state.accounting.expired += expired;
        let ops = vec![
            Op::ExpireObjects {
                stack: self.id.clone(),
                before,
            },
            self.save_record(&state),
        ];
        let sequence = self.journal.enqueue(ops)?;
        state.bucket.expire_before(before);
        self.last_change.fetch_max(sequence, Ordering::AcqRel);
        Ok(expired)
    }

    /// Deletes the queues' messages older than their retention period, or than `retention`
    /// where that is shorter (the engine's own rule, which bounds what it keeps). The objects
    /// whose events expire from the dead-letter queue stay counted as dead-lettered: that is
    /// what became of them. Returns how many messages expired.
    pub fn expire_messages(&self, retention: Duration) -> Result<u64, StackError> {
        self.transact(|state, ops, now| {
            let mut expired = 0;
            for kind in [QueueKind::Csv, QueueKind::DeadLetter] {
                let queue = state.queue(kind);
                if let Some((count, seq)) = queue.expire(now, retention) {
                    ops.push(Op::DeleteMessagesThrough {
                        stack: self.id.clone(),
                        queue: queue.name().to_owned(),
                        seq,
                    });
                    expired += count as u64;
                }
            }
            Ok(expired)
        })
    }

    /// Where every published object is now.
    pub fn accounting(&self) -> Accounting {
        self.lock().accounting
    }

    /// Events in the function's asynchronous queue, running or waiting.
    pub fn pending_events(&self) -> usize {
        self.lock().events.len()
    }

    /// Empties the stack: objects, events, messages and metrics go, settings return to their
    /// defaults, and the accounting starts from zero. Returns once the reset is saved.
    pub fn reset(&self) -> Result<(), StackError> {
        self.reset_queued()?;
        self.saved()
    }

    /// [`Stack::reset`] without the wait for the journal.
    pub fn reset_queued(&self) -> Result<(), StackError> {
        self.transact(|state, ops, now| {
            for id in state.events.keys() {
                ops.push(Op::DeleteEvent {
                    stack: self.id.clone(),
                    id: id.clone(),
                });
            }
            for kind in [QueueKind::Csv, QueueKind::DeadLetter] {
                let queue = state.queue(kind);
                let name = queue.name().to_owned();
                for seq in queue.purge(now) {
                    ops.push(Op::DeleteMessage {
                        stack: self.id.clone(),
                        queue: name.clone(),
                        seq,
                    });
                }
                // What the queue counted in the minute in progress goes too, or the next
                // per-minute report would bring the old traffic back onto the dashboard.
                let _ = queue.take_counts();
            }
            ops.push(Op::DeleteObjects {
                stack: self.id.clone(),
            });
            ops.push(Op::DeleteMetricSets {
                stack: self.id.clone(),
            });
            state.bucket.clear();
            state.events.clear();
            state.schedule.clear();
            state.config = FunctionConfig::default();
            state.fault_injection = FaultParameter::default();
            self.faults.source().set(FaultParameter::default().text());
            // New execution environments, with an empty /tmp.
            self.faults.disk().clear();
            // Attempts still running find their event gone and leave no trace.
            state.accounting = Accounting::default();
            state.metrics.clear();
            state.settings_changed = true;
            Ok(())
        })
    }
}

/// A fresh random id in AWS's UUID form.
pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl crate::dashboard::MetricSource for Stack {
    type Error = StackError;

    async fn get_metric_data(
        &self,
        request: GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, StackError> {
        self.metric_data(&request)
    }
}
