//! The embedded backend: the lab's whole pipeline inside the server, with AWS's semantics.
//!
//! - [`stack`]: one participant's pipeline and every change to it;
//! - [`bucket`]: S3 objects and event notifications;
//! - [`invoker`]: Lambda's asynchronous invocation, retries and dead-letter queue;
//! - [`topic`]: SNS's notification envelope;
//! - [`queue`]: SQS queues;
//! - [`function`]: the function's settings and fault injection;
//! - [`journal`]: the SQLite tables the state is saved in.
//!
//! The [`Engine`] owns the stacks and their background tasks: each stack's invoker, a reporter
//! that publishes SQS's per-minute metrics, and a flusher that saves metric sets.

pub mod bucket;
pub mod function;
pub mod invoker;
pub mod journal;
pub mod queue;
pub mod service;
pub mod stack;
pub mod topic;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::task::AbortHandle;

use self::journal::{Journal, JournalError, Op};
use self::queue::Message;
use self::stack::{AsyncEvent, QueueKind, Stack, StackRecord, StackState};
use super::{EMBEDDED_ACCOUNT_ID, PipelineClock, StackNames, system_now_millis};
use crate::database::{self, DatabaseError};
use crate::metrics::store::{MetricStore, StatisticSet};
use crate::metrics::{EpochMillis, Metric};

/// How often changed metric sets are saved, in wall-clock time: a crash loses at most this much
/// of the metrics (never any accounting, which is saved with every change).
const METRIC_FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// How long metrics stay in memory, in pipeline time. Older sets stay on disk only.
const METRIC_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// One minute in milliseconds.
const MINUTE: EpochMillis = 60_000;

/// How to run the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Pipeline time runs this many times faster than the wall clock (1 = real time).
    pub time_scale: f64,
    /// The region in resource names and events.
    pub region: String,
    /// Pipeline time at start-up; by default the wall clock, or where a previous run stopped if
    /// that is later (pipeline time never runs backwards).
    pub start_time: Option<EpochMillis>,
}

impl EngineConfig {
    /// Real time, `us-east-1`, in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            time_scale: 1.0,
            region: "us-east-1".to_owned(),
            start_time: None,
        }
    }
}

/// Why the engine failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The database could not be opened.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// The database failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A saved row could not be read back.
    #[error(
        "the saved pipeline state is damaged ({what}): {error}; remove the data directory to start afresh"
    )]
    Corrupt {
        /// Which row.
        what: String,
        /// The parse error.
        error: String,
    },
    /// A stack with this id exists already.
    #[error("a stack with id {0:?} exists already")]
    StackExists(String),
    /// The stack id is not usable.
    #[error("stack id must be 1 to 64 characters of letters, digits, '-' and '_', got {0:?}")]
    InvalidStackId(String),
}

/// The embedded pipeline: every participant's stack, in this process.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    clock: PipelineClock,
    journal: Arc<Journal>,
    stacks: Mutex<BTreeMap<String, RunningStack>>,
    background: Mutex<Vec<AbortHandle>>,
}

#[derive(Debug)]
struct RunningStack {
    stack: Arc<Stack>,
    invoker: AbortHandle,
}

impl Engine {
    /// Opens the engine on its data directory, loads every saved stack and starts their tasks.
    /// Must run inside a tokio runtime.
    pub fn open(config: EngineConfig) -> Result<Arc<Self>, EngineError> {
        let journal = Arc::new(Journal::new(database::open(&config.data_dir)?));
        let snapshot = journal.load()?;
        // Pipeline time never runs backwards: it resumes no earlier than the last saved reading
        // or the newest thing that happened (with a time scale above 1 it runs ahead of the wall
        // clock, and a crash can come before the clock was saved).
        let latest = snapshot.latest_timestamp();
        let start = config.start_time.unwrap_or_else(|| {
            system_now_millis()
                .max(snapshot.clock.unwrap_or(0))
                .max(latest)
        });
        let clock = PipelineClock::new(start, config.time_scale);
        let stacks = restore_stacks(snapshot, clock, &journal)?;

        let engine = Self {
            config,
            clock,
            journal,
            stacks: Mutex::new(BTreeMap::new()),
            background: Mutex::new(Vec::new()),
        };
        for stack in stacks {
            engine.start(stack);
        }
        // The tasks hold a weak reference, taken once the Arc exists: a task that started before
        // it (inside `Arc::new_cyclic`) could find nothing to upgrade and stop for good.
        let engine = Arc::new(engine);
        let reporter = tokio::spawn(report_queue_metrics(Arc::downgrade(&engine)));
        let flusher = tokio::spawn(flush_metrics(Arc::downgrade(&engine)));
        *engine
            .background
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            vec![reporter.abort_handle(), flusher.abort_handle()];
        Ok(engine)
    }

    /// The engine's clock.
    pub fn clock(&self) -> PipelineClock {
        self.clock
    }

    fn running(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, RunningStack>> {
        self.stacks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn start(&self, stack: Arc<Stack>) {
        let invoker = tokio::spawn(invoker::run(Arc::clone(&stack))).abort_handle();
        self.running()
            .insert(stack.id().to_owned(), RunningStack { stack, invoker });
    }

    /// Creates a stack with fresh random names, as `terraform apply` would for a participant.
    pub fn create_stack(&self, id: &str) -> Result<Arc<Stack>, EngineError> {
        let valid = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(EngineError::InvalidStackId(id.to_owned()));
        }
        if self.running().contains_key(id) {
            return Err(EngineError::StackExists(id.to_owned()));
        }
        let suffix = format!("{:016x}", fastrand::u64(..));
        let record = StackRecord {
            names: StackNames::with_suffix(&suffix, &self.config.region, EMBEDDED_ACCOUNT_ID),
            config: function::FunctionConfig::default(),
            fault_injection: crate::backend::FaultInjection::default(),
            accounting: crate::backend::Accounting::default(),
            csv_queue_activity: None,
            dlq_activity: None,
        };
        let stack = Arc::new(Stack::new(
            id.to_owned(),
            record,
            self.clock,
            Arc::clone(&self.journal),
        ));
        let save = stack.save_record(&stack.lock());
        self.journal.commit(&[save])?;
        self.start(Arc::clone(&stack));
        Ok(stack)
    }

    /// A stack by id.
    pub fn stack(&self, id: &str) -> Option<Arc<Stack>> {
        self.running()
            .get(id)
            .map(|running| Arc::clone(&running.stack))
    }

    /// Every stack, by id.
    pub fn stacks(&self) -> Vec<Arc<Stack>> {
        self.running()
            .values()
            .map(|running| Arc::clone(&running.stack))
            .collect()
    }

    /// Deletes a stack and everything in it. Returns whether it existed.
    pub fn remove_stack(&self, id: &str) -> Result<bool, EngineError> {
        let Some(running) = self.running().remove(id) else {
            return Ok(false);
        };
        running.invoker.abort();
        self.journal.commit(&[Op::DeleteStack {
            stack: id.to_owned(),
        }])?;
        Ok(true)
    }

    /// Stops every task and saves what is only in memory: metric sets and the clock. The engine
    /// must not be used afterwards.
    pub fn shutdown(&self) {
        for handle in self
            .background
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            handle.abort();
        }
        let stacks: Vec<RunningStack> =
            std::mem::take(&mut *self.running()).into_values().collect();
        for running in &stacks {
            running.invoker.abort();
        }
        for running in &stacks {
            publish_queue_metrics(&running.stack);
            save_metrics(&running.stack);
        }
        let _ = self.journal.commit(&[Op::SaveClock {
            pipeline_millis: self.clock.now(),
        }]);
    }
}

impl Drop for Engine {
    /// Dropping the engine stops its tasks without saving anything more: like a crash, which is
    /// what the crash tests rely on.
    fn drop(&mut self) {
        for handle in self
            .background
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            handle.abort();
        }
        for running in self.running().values() {
            running.invoker.abort();
        }
    }
}

/// Rebuilds the stacks from the saved rows.
fn restore_stacks(
    snapshot: journal::Snapshot,
    clock: PipelineClock,
    journal: &Arc<Journal>,
) -> Result<Vec<Arc<Stack>>, EngineError> {
    let corrupt = |what: String| {
        move |error: serde_json::Error| EngineError::Corrupt {
            what,
            error: error.to_string(),
        }
    };
    let mut stacks = BTreeMap::new();
    for (id, state) in snapshot.stacks {
        let record: StackRecord =
            serde_json::from_str(&state).map_err(corrupt(format!("stack {id}")))?;
        stacks.insert(
            id.clone(),
            Stack::new(id, record, clock, Arc::clone(journal)),
        );
    }
    for row in snapshot.objects {
        if let Some(stack) = stacks.get(&row.stack) {
            let object = bucket::StoredObject {
                body: Bytes::from(row.body),
                content_type: row.content_type,
                etag: row.etag,
                last_modified: row.last_modified,
            };
            stack.lock().bucket.restore(row.key, object);
        }
    }
    for (id, state) in snapshot.events {
        let event: AsyncEvent =
            serde_json::from_str(&state).map_err(corrupt(format!("event of stack {id}")))?;
        if let Some(stack) = stacks.get(&id) {
            let mut stack_state = stack.lock();
            // An attempt that was running when the process stopped is lost; the event runs again.
            stack_state
                .schedule
                .insert((event.next_attempt_at, event.id.clone()));
            stack_state.events.insert(event.id.clone(), event);
        }
    }
    for (id, queue_name, state) in snapshot.messages {
        let message: Message =
            serde_json::from_str(&state).map_err(corrupt(format!("message of stack {id}")))?;
        if let Some(stack) = stacks.get(&id) {
            let kind = if queue_name == stack.names().dlq_name {
                QueueKind::DeadLetter
            } else {
                QueueKind::Csv
            };
            stack.lock().queue(kind).restore(message);
        }
    }
    for (id, metric, minute, statistics) in snapshot.metric_sets {
        let what = || format!("metric set of stack {id}");
        let metric: Metric = serde_json::from_str(&metric).map_err(corrupt(what()))?;
        let set: StatisticSet = serde_json::from_str(&statistics).map_err(corrupt(what()))?;
        if let Some(stack) = stacks.get(&id) {
            stack.lock().metrics.merge_set(&metric, minute, &set);
        }
    }
    Ok(stacks.into_values().map(Arc::new).collect())
}

/// Publishes SQS's metrics at every minute boundary of pipeline time, as SQS does: one datapoint
/// per counter per minute, zeros included, and the gauges, while each queue is active.
async fn report_queue_metrics(engine: std::sync::Weak<Engine>) {
    loop {
        let Some(next_minute) = engine.upgrade().map(|engine| {
            let now = engine.clock.now();
            (engine.clock, now - now.rem_euclid(MINUTE) + MINUTE)
        }) else {
            return;
        };
        let (clock, at) = next_minute;
        tokio::time::sleep_until(clock.instant_at(at)).await;
        let Some(engine) = engine.upgrade() else {
            return;
        };
        for stack in engine.stacks() {
            publish_queue_metrics(&stack);
        }
    }
}

/// Records the minute that just ended for both of a stack's queues.
fn publish_queue_metrics(stack: &Stack) {
    let now = stack.now();
    let minute = MetricStore::minute_of(now - 1);
    let mut state = stack.lock();
    for kind in [QueueKind::Csv, QueueKind::DeadLetter] {
        let ids = match kind {
            QueueKind::Csv => &stack.metric_ids.csv_queue,
            QueueKind::DeadLetter => &stack.metric_ids.dlq,
        };
        let queue = state.queue(kind);
        let counts = queue.take_counts();
        if !queue.is_active(now) {
            continue;
        }
        let gauges = queue.gauges(now);
        let samples = [
            (&ids.sent, counts.sent as f64),
            (&ids.received, counts.received as f64),
            (&ids.deleted, counts.deleted as f64),
            (&ids.empty_receives, counts.empty_receives as f64),
            (&ids.visible, gauges.visible as f64),
            (&ids.not_visible, gauges.not_visible as f64),
            (&ids.age_of_oldest, gauges.age_of_oldest_seconds),
        ];
        for (metric, value) in samples {
            state.record(metric, minute, value);
        }
    }
    prune_metrics(&mut state, now);
}

fn prune_metrics(state: &mut StackState, now: EpochMillis) {
    let retention = i64::try_from(METRIC_RETENTION.as_millis()).unwrap_or(i64::MAX);
    state.metrics.prune_before(now - retention);
}

/// Saves changed metric sets every few seconds of wall time.
async fn flush_metrics(engine: std::sync::Weak<Engine>) {
    let mut interval = tokio::time::interval(METRIC_FLUSH_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(engine) = engine.upgrade() else {
            return;
        };
        for stack in engine.stacks() {
            save_metrics(&stack);
        }
        let _ = engine.journal.commit(&[Op::SaveClock {
            pipeline_millis: engine.clock.now(),
        }]);
    }
}

/// Writes every metric set of the minutes that changed since the last save.
fn save_metrics(stack: &Stack) {
    let mut state = stack.lock();
    if state.dirty_minutes.is_empty() {
        return;
    }
    let minutes = std::mem::take(&mut state.dirty_minutes);
    let mut ops = Vec::new();
    for metric in state.metrics.metrics() {
        let Ok(metric_json) = serde_json::to_string(metric) else {
            continue;
        };
        for &minute in &minutes {
            for (at, set) in state.metrics.sets(metric, minute, minute + MINUTE) {
                ops.push(Op::SaveMetricSet {
                    stack: stack.id().to_owned(),
                    metric: metric_json.clone(),
                    minute: at,
                    statistics: serde_json::to_string(set).unwrap_or_default(),
                });
            }
        }
    }
    if let Err(error) = stack.journal.commit(&ops) {
        tracing::error!(stack = stack.id(), %error, "could not save metrics; will retry");
        state.dirty_minutes.extend(minutes);
    }
}
