//! The embedded backend: the lab's whole pipeline inside the server, with AWS's semantics.
//!
//! - [`stack`]: one participant's pipeline and every change to it;
//! - [`bucket`]: S3 objects and event notifications;
//! - [`invoker`]: Lambda's asynchronous invocation, retries and dead-letter queue;
//! - `test_invoke`: one synchronous invocation, as the console's Test button makes it;
//! - [`topic`]: SNS's notification envelope;
//! - [`queue`]: SQS queues;
//! - [`function`]: the function's settings;
//! - `faults`: the function's fault wrapper (`chaoslab_etl::fault`) on the engine's clock, draw
//!   and `/tmp`;
//! - [`journal`]: the SQLite tables the state is saved in; `restore` rebuilds the stacks from
//!   them at start-up;
//! - `reporting`: SQS's per-minute metrics and the periodic save of metric sets;
//! - `retention`: the buckets' lifecycle rule, which expires old objects.
//!
//! The [`Engine`] owns the stacks and their background tasks: each stack's invoker, a reporter
//! that publishes SQS's per-minute metrics, a flusher that saves metric sets, and the retention
//! sweep.

pub mod bucket;
mod faults;
pub mod function;
pub mod invoker;
pub mod journal;
pub mod queue;
mod reporting;
mod restore;
mod retention;
pub mod service;
pub mod stack;
mod test_invoke;
pub mod topic;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::AbortHandle;

use self::journal::{Journal, JournalError, Op};
use self::reporting::{flush_metrics, publish_queue_metrics, report_queue_metrics, save_metrics};
use self::restore::restore_stacks;
use self::stack::{Stack, StackRecord};
use super::{EMBEDDED_ACCOUNT_ID, PipelineClock, StackNames, system_now_millis};
use crate::database::{self, DatabaseError};
use crate::metrics::EpochMillis;

/// How often changed metric sets are saved, in wall-clock time: a crash loses at most this much
/// of the metrics (never any accounting, which is saved with every change).
const METRIC_FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// How long metrics are kept, in pipeline time, in memory and on disk: a day of 1-minute data,
/// shorter than CloudWatch's 15 days, and longer than any lab looks back.
const METRIC_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// How long objects stay in the buckets by default, in pipeline time.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// One minute in milliseconds.
const MINUTE: EpochMillis = 60_000;

/// A span of pipeline time in milliseconds, saturating at the largest.
fn millis(duration: Duration) -> EpochMillis {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

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
    /// Seeds the injected faults' draws: with a seed, each stack draws the same faults in the
    /// same order on every run (each stack's own seed derives from this one and its id); without
    /// one, each stack gets a random seed.
    pub fault_seed: Option<u64>,
    /// Objects older than this (pipeline time) expire from the buckets; `None` keeps them all.
    pub retention: Option<Duration>,
}

impl EngineConfig {
    /// Real time, `us-east-1`, in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            time_scale: 1.0,
            region: "us-east-1".to_owned(),
            start_time: None,
            fault_seed: None,
            retention: Some(DEFAULT_RETENTION),
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

/// SQLite's page cache for the journal's writer, in KiB. A commit touches a few pages of every
/// busy stack (its objects, their age index, events, messages); SQLite's default 2 MiB holds
/// those of a few dozen stacks, and every other page was read again through the kernel on each
/// commit (a quarter of the engine's CPU time at 200 stacks).
///
/// This is a share, not a cap: the bundled SQLite is built with `SQLITE_ENABLE_MEMORY_MANAGEMENT`,
/// which puts every connection of the process in one page-cache pool whose limit is the sum of
/// their `cache_size`, and a busy connection takes the idle ones' share. The writer is the busy
/// one: measured in the soak, it held 32–33 MiB until the first retention sweep and 42 MiB from
/// then on (this, the reader's 4 and the 2 MiB default of the participants', events' and
/// experiments' connections), until [`SQLITE_MEMORY_LIMIT`] capped the pool.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
/// The reader's page cache, in KiB: the newest objects, which the function reads back within
/// milliseconds of their write (at 4,000 objects/s, about a second of them), and the pages the
/// retention sweep counts, which no one reads again. The soak ran as fast with 4 MiB as with 16
/// and ended 4 MiB lower.
const READER_CACHE_KIB: i64 = 4 * 1024;
/// The most memory, in bytes, SQLite should hold in this process: the writer's and the reader's
/// page caches. Above it SQLite recycles its least recently used pages instead of allocating more
/// (`PRAGMA soft_heap_limit`, one limit for the whole process), so the idle connections' shares
/// of the pool stay unused. Measured in the soak (200 stacks, 4,000 objects/s): SQLite held
/// 43.7 MiB from the first retention sweep on without it and 36 MiB with it, at the same
/// throughput.
const SQLITE_MEMORY_LIMIT: i64 = (WRITER_CACHE_KIB + READER_CACHE_KIB) * 1024;
/// The write-ahead log is cut back to this many bytes after a checkpoint, so that one large
/// commit (a retention sweep) does not leave a large file behind.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Sizes a connection's page cache and limits the log it leaves after checkpoints.
fn tuned(
    connection: rusqlite::Connection,
    cache_kib: i64,
) -> Result<rusqlite::Connection, EngineError> {
    connection
        .execute_batch(&format!(
            "PRAGMA cache_size = -{cache_kib}; PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
        ))
        .map_err(JournalError::from)?;
    Ok(connection)
}

/// Sets [`SQLITE_MEMORY_LIMIT`] for every connection of the process.
fn limit_sqlite_memory(connection: &rusqlite::Connection) -> Result<(), EngineError> {
    connection
        .pragma_update(None, "soft_heap_limit", SQLITE_MEMORY_LIMIT)
        .map_err(JournalError::from)?;
    Ok(())
}

impl Engine {
    /// Opens the engine on its data directory, loads every saved stack and starts their tasks.
    /// Must run inside a tokio runtime.
    pub fn open(config: EngineConfig) -> Result<Arc<Self>, EngineError> {
        let writer = tuned(database::open(&config.data_dir)?, WRITER_CACHE_KIB)?;
        limit_sqlite_memory(&writer)?;
        let journal = Arc::new(Journal::new(
            writer,
            tuned(database::open(&config.data_dir)?, READER_CACHE_KIB)?,
        ));
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
        let stacks = restore_stacks(snapshot, clock, &journal, config.fault_seed)?;

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
        let mut background = vec![reporter.abort_handle(), flusher.abort_handle()];
        if let Some(retention) = engine.config.retention {
            let sweeper = tokio::spawn(retention::expire_objects(
                Arc::downgrade(&engine),
                retention,
            ));
            background.push(sweeper.abort_handle());
        }
        *engine
            .background
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = background;
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
            fault_injection: crate::backend::FaultParameter::default(),
            accounting: crate::backend::Accounting::default(),
            csv_queue_activity: None,
            dlq_activity: None,
        };
        let stack = Arc::new(Stack::new(
            id.to_owned(),
            record,
            self.clock,
            Arc::clone(&self.journal),
            self.config.fault_seed,
        ));
        let save = stack.save_record(&stack.lock());
        self.journal.commit(vec![save])?;
        self.start(Arc::clone(&stack));
        Ok(stack)
    }

    /// A stack by id.
    pub fn stack(&self, id: &str) -> Option<Arc<Stack>> {
        self.running()
            .get(id)
            .map(|running| Arc::clone(&running.stack))
    }

    /// Every stack's id.
    pub fn stack_ids(&self) -> Vec<String> {
        self.running().keys().cloned().collect()
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
        self.journal.commit(vec![Op::DeleteStack {
            stack: id.to_owned(),
        }])?;
        Ok(true)
    }

    /// Runs the retention sweep now, as the engine does once a minute of pipeline time: objects
    /// older than `retention` expire, and queue messages older than their queue's retention
    /// period or `retention`. Blocks the thread while it runs.
    pub fn expire_objects(self: &Arc<Self>, retention: Duration) {
        retention::sweep(self, retention);
    }

    /// Aborts the reporter, the flusher and the retention sweep.
    fn abort_background(&self) {
        for handle in self
            .background
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            handle.abort();
        }
    }

    /// Stops every task and saves what is only in memory: metric sets and the clock. The engine
    /// must not be used afterwards.
    pub fn shutdown(&self) {
        self.abort_background();
        let stacks: Vec<RunningStack> =
            std::mem::take(&mut *self.running()).into_values().collect();
        for running in &stacks {
            running.invoker.abort();
        }
        // The minute in progress keeps what it counted so far.
        let minute = crate::metrics::store::MetricStore::minute_of(self.clock.now());
        for running in &stacks {
            publish_queue_metrics(&running.stack, minute);
            save_metrics(&running.stack);
        }
        let _ = self.journal.commit(vec![Op::SaveClock {
            pipeline_millis: self.clock.now(),
        }]);
    }
}

impl Drop for Engine {
    /// Dropping the engine stops its tasks without saving anything more: like a crash, which is
    /// what the crash tests rely on.
    fn drop(&mut self) {
        self.abort_background();
        for running in self.running().values() {
            running.invoker.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn opening_the_engine_caps_sqlite_memory_for_the_whole_process() {
        let dir = tempfile::tempdir().unwrap();
        let _engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
        // Any connection, even one the engine never uses, reports the process-wide limit.
        let other = rusqlite::Connection::open_in_memory().unwrap();
        let limit: i64 = other
            .query_row("PRAGMA soft_heap_limit", [], |row| row.get(0))
            .unwrap();
        assert_eq!(limit, 36 * 1024 * 1024);
    }
}
