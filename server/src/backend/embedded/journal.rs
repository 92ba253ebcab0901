//! The engine's durable state: every state change is one SQLite transaction, written by one
//! writer that commits many changes together.
//!
//! A change to a stack is made in memory under the stack's lock and, still under it, handed to
//! the journal as a list of [`Op`]s ([`Journal::enqueue`]). The writer, a blocking task that runs
//! while there is something to write, takes every change queued since its last commit and commits
//! them in one transaction (group commit): with many stacks changing at once, one commit carries
//! hundreds of changes instead of one. Changes are written in the order they were queued, so what
//! is on disk is always a prefix of what happened: a restart rebuilds exactly the state after the
//! last change that committed. An object is either published with its event queued, or not at
//! all; an event is either still pending, or converted, or in the dead-letter queue, never two of
//! these.
//!
//! Nothing is acknowledged before it is on disk: an operation's caller waits for the commit that
//! carries its change ([`Journal::durable`], or [`Journal::commit`] from synchronous code), so an
//! answer a client saw survives a crash. On a current-thread runtime (the simulations on paused
//! time) the caller writes its own change at once, so waiting never yields.
//!
//! If a commit fails (a full disk, a damaged file), memory is ahead of the disk and the journal
//! refuses every change after it, with the reason, until the server restarts from what was saved.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::Notify;

use super::bucket::StoredObject;
use crate::metrics::EpochMillis;
use crate::metrics::store::StatisticSet;

/// How long a synchronous caller waits for its commit before giving up with an error.
const COMMIT_WAIT: Duration = Duration::from_secs(30);

/// One row-level change.
#[derive(Debug)]
pub(super) enum Op {
    /// Inserts or replaces a stack's own state (JSON).
    SaveStack { stack: String, state: String },
    /// Deletes a stack and, by cascade, everything it holds.
    DeleteStack { stack: String },
    /// Inserts or replaces an object.
    PutObject {
        stack: String,
        key: String,
        body: Bytes,
        content_type: String,
        etag: String,
        last_modified: EpochMillis,
    },
    /// Deletes every object of a stack.
    DeleteObjects { stack: String },
    /// Deletes a stack's objects written before a time (the retention rule).
    ExpireObjects { stack: String, before: EpochMillis },
    /// Inserts or replaces a pending asynchronous event (JSON).
    SaveEvent {
        stack: String,
        id: String,
        state: String,
    },
    /// Deletes an asynchronous event: it was converted or dead-lettered.
    DeleteEvent { stack: String, id: String },
    /// Inserts or replaces a queue message (JSON).
    SaveMessage {
        stack: String,
        queue: String,
        seq: u64,
        state: String,
    },
    /// Deletes a queue message.
    DeleteMessage {
        stack: String,
        queue: String,
        seq: u64,
    },
    /// Deletes a queue's messages up to and including a position (the retention period).
    DeleteMessagesThrough {
        stack: String,
        queue: String,
        seq: u64,
    },
    /// Inserts or replaces one metric's statistic set for one minute (both JSON).
    SaveMetricSet {
        stack: String,
        metric: String,
        minute: EpochMillis,
        statistics: String,
    },
    /// Adds values to one metric's saved set for one minute (both JSON): how values recorded
    /// for a minute no longer kept in memory reach the disk. Read, merged and written by the
    /// writer, so that two of them for one minute never lose each other's values.
    MergeMetricSet {
        stack: String,
        metric: String,
        minute: EpochMillis,
        statistics: StatisticSet,
    },
    /// Deletes every metric set of a stack.
    DeleteMetricSets { stack: String },
    /// Deletes every stack's metric sets of the minutes before a time.
    DeleteMetricSetsBefore { before: EpochMillis },
    /// Records how far pipeline time has run.
    SaveClock { pipeline_millis: EpochMillis },
}

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite failed.
    #[error("the pipeline database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The connection's lock was poisoned by a panic elsewhere.
    #[error("the pipeline database is unavailable after an internal error; restart the server")]
    Poisoned,
    /// An earlier commit failed: memory is ahead of the disk, so no change is accepted any more.
    #[error(
        "the pipeline database failed ({0}); changes are no longer saved: free disk space or \
         fix the data directory, then restart the server"
    )]
    Failed(String),
    /// The writer did not commit in time.
    #[error(
        "the pipeline database did not save a change within {} s; the disk may be overloaded",
        COMMIT_WAIT.as_secs()
    )]
    TimedOut,
}

/// Everything loaded back at start-up, row by row.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub stacks: Vec<(String, String)>,
    /// The newest object's write time; the objects themselves stay on disk.
    pub latest_object: Option<EpochMillis>,
    pub events: Vec<(String, String)>,
    pub messages: Vec<(String, String, String)>,
    /// The newest minute with a saved metric set; the sets are read by [`Journal::metric_sets_since`].
    pub latest_metric_minute: Option<EpochMillis>,
    pub clock: Option<EpochMillis>,
}

impl Snapshot {
    /// The newest time any saved row records as past: an object's write, a message's send, a
    /// metric minute.
    pub fn latest_timestamp(&self) -> EpochMillis {
        let objects = self.latest_object.into_iter();
        let minutes = self.latest_metric_minute.into_iter();
        let messages = self.messages.iter().filter_map(|(_, _, state)| {
            serde_json::from_str::<serde_json::Value>(state)
                .ok()
                .and_then(|message| message.get("sent_at").and_then(serde_json::Value::as_i64))
        });
        objects.chain(minutes).chain(messages).max().unwrap_or(0)
    }
}

/// The engine's journal: the queue of changes waiting to be written, and the connection the
/// writer writes them through.
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<WriteQueue>,
    /// Signalled after every commit, for synchronous waiters.
    committed: Condvar,
    /// Notified after every commit, for asynchronous waiters.
    committed_async: Notify,
    /// Used by one writer at a time, and by `load` before any writer starts.
    connection: Mutex<Connection>,
    /// A second connection for reads (objects), which WAL lets run beside the writer.
    reader: Mutex<Connection>,
}

#[derive(Debug, Default)]
struct WriteQueue {
    /// Changes queued and not yet taken by the writer, oldest first.
    changes: Vec<Vec<Op>>,
    /// The sequence number of the newest change queued (changes are numbered from 1).
    enqueued: u64,
    /// The sequence number of the newest change on disk.
    committed: u64,
    /// Whether a writer is running (or spawned) and will take what is queued.
    writing: bool,
    /// Why a commit failed; set for good.
    failure: Option<String>,
    /// Transactions committed so far.
    transactions: u64,
}

impl Journal {
    /// Wraps two open, migrated connections to one database: one to write, one to read.
    pub fn new(connection: Connection, reader: Connection) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue: Mutex::new(WriteQueue::default()),
                committed: Condvar::new(),
                committed_async: Notify::new(),
                connection: Mutex::new(connection),
                reader: Mutex::new(reader),
            }),
        }
    }

    /// The number of the newest change on disk.
    pub(super) fn committed(&self) -> u64 {
        self.shared.lock_queue().committed
    }

    fn reader(&self) -> Result<MutexGuard<'_, Connection>, JournalError> {
        self.shared
            .reader
            .lock()
            .map_err(|_| JournalError::Poisoned)
    }

    /// A committed object.
    pub(super) fn object(
        &self,
        stack: &str,
        key: &str,
    ) -> Result<Option<StoredObject>, JournalError> {
        let reader = self.reader()?;
        let mut statement = reader.prepare_cached(
            "SELECT body, content_type, etag, last_modified_ms FROM pipeline_objects \
             WHERE stack = ?1 AND key = ?2",
        )?;
        let mut rows = statement.query(params![stack, key])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        Ok(Some(StoredObject {
            body: Bytes::from(row.get::<_, Vec<u8>>(0)?),
            content_type: row.get(1)?,
            etag: row.get(2)?,
            last_modified: row.get(3)?,
        }))
    }

    /// How many committed objects of a stack were written from `since` up to `before`, less
    /// those of them under `replaced` (keys with a newer write still on its way to the disk):
    /// both read from one snapshot, so a commit in between cannot make them disagree.
    pub(super) fn count_objects_between(
        &self,
        stack: &str,
        since: EpochMillis,
        before: EpochMillis,
        replaced: &[&str],
    ) -> Result<u64, JournalError> {
        let reader = self.reader()?;
        let snapshot = reader.unchecked_transaction()?;
        let count: i64 = snapshot
            .prepare_cached(
                "SELECT COUNT(*) FROM pipeline_objects \
                 WHERE stack = ?1 AND last_modified_ms >= ?2 AND last_modified_ms < ?3",
            )?
            .query_row(params![stack, since, before], |row| row.get(0))?;
        let mut replaced_count = 0;
        let mut statement = snapshot.prepare_cached(
            "SELECT 1 FROM pipeline_objects \
             WHERE stack = ?1 AND key = ?2 AND last_modified_ms >= ?3 AND last_modified_ms < ?4",
        )?;
        for key in replaced {
            if statement.exists(params![stack, key, since, before])? {
                replaced_count += 1;
            }
        }
        drop(statement);
        snapshot.commit()?;
        Ok(u64::try_from(count)
            .unwrap_or(0)
            .saturating_sub(replaced_count))
    }

    /// Committed objects' keys and sizes under a prefix, in key order, at most `max`, leaving
    /// out those written before `expired_before`.
    pub(super) fn object_sizes(
        &self,
        stack: &str,
        prefix: &str,
        expired_before: EpochMillis,
        max: usize,
    ) -> Result<Vec<(String, usize)>, JournalError> {
        let reader = self.reader()?;
        let mut statement = reader.prepare_cached(
            "SELECT key, length(body) FROM pipeline_objects \
             WHERE stack = ?1 AND key >= ?2 AND last_modified_ms >= ?4 ORDER BY key LIMIT ?3",
        )?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let mut rows = statement.query(params![stack, prefix, limit, expired_before])?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            if !key.starts_with(prefix) {
                break;
            }
            let size: i64 = row.get(1)?;
            found.push((key, usize::try_from(size).unwrap_or(0)));
        }
        Ok(found)
    }

    /// Every saved metric set of the minutes from `since` on, as (stack, metric, minute,
    /// statistics), the metric and statistics in JSON: what start-up keeps in memory. (CROSS
    /// JOIN keeps SQLite going metric by metric, one range of the primary key each, instead of
    /// scanning every minute ever saved.)
    pub(super) fn metric_sets_since(
        &self,
        since: EpochMillis,
    ) -> Result<Vec<(String, String, EpochMillis, String)>, JournalError> {
        let reader = self.reader()?;
        let mut statement = reader.prepare(
            "SELECT pipeline_metrics.stack, pipeline_metrics.metric, minutes.minute_ms, \
             minutes.statistics FROM pipeline_metrics \
             CROSS JOIN pipeline_metric_minutes AS minutes \
             ON minutes.metric = pipeline_metrics.id AND minutes.minute_ms >= ?1",
        )?;
        let sets = statement
            .query_map([since], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(sets)
    }

    /// One metric's committed sets of the minutes in `[start, end)`, oldest first, the
    /// statistics in JSON. `metric` is the metric's JSON, with its dimensions in order.
    pub(super) fn metric_sets(
        &self,
        stack: &str,
        metric: &str,
        start: EpochMillis,
        end: EpochMillis,
    ) -> Result<Vec<(EpochMillis, String)>, JournalError> {
        let reader = self.reader()?;
        let mut statement = reader.prepare_cached(
            "SELECT minute_ms, statistics FROM pipeline_metric_minutes \
             WHERE metric = (SELECT id FROM pipeline_metrics WHERE stack = ?1 AND metric = ?2) \
             AND minute_ms >= ?3 AND minute_ms < ?4 ORDER BY minute_ms",
        )?;
        let sets = statement
            .query_map(params![stack, metric, start, end], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(sets)
    }

    /// Queues one change (its ops, written together) and returns its sequence number; the
    /// writer commits it soon. Call it under the lock of whatever the change is about, so that
    /// changes to one thing are queued in the order they were made.
    pub(super) fn enqueue(&self, ops: Vec<Op>) -> Result<u64, JournalError> {
        let mut queue = self.shared.lock_queue();
        if let Some(failure) = &queue.failure {
            return Err(JournalError::Failed(failure.clone()));
        }
        if ops.is_empty() {
            return Ok(queue.enqueued);
        }
        queue.changes.push(ops);
        queue.enqueued += 1;
        let sequence = queue.enqueued;
        if !queue.writing {
            queue.writing = true;
            drop(queue);
            Shared::start_writer(&self.shared);
        }
        Ok(sequence)
    }

    /// Queues one change and waits, blocking the thread, until it is on disk.
    pub(super) fn commit(&self, ops: Vec<Op>) -> Result<(), JournalError> {
        let sequence = self.enqueue(ops)?;
        self.wait_blocking(sequence)
    }

    /// Blocks the thread until change `sequence` (and every one before it) is on disk.
    pub(super) fn wait_blocking(&self, sequence: u64) -> Result<(), JournalError> {
        let queue = self.shared.lock_queue();
        let (queue, timeout) = self
            .shared
            .committed
            .wait_timeout_while(queue, COMMIT_WAIT, |queue| {
                queue.failure.is_none() && queue.committed < sequence
            })
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(failure) = &queue.failure {
            return Err(JournalError::Failed(failure.clone()));
        }
        if timeout.timed_out() && queue.committed < sequence {
            return Err(JournalError::TimedOut);
        }
        Ok(())
    }

    /// Waits until every change queued so far is on disk: an operation calls it before it
    /// answers, so that nothing it answers can be lost in a crash.
    pub async fn durable(&self) -> Result<(), JournalError> {
        let target = self.shared.lock_queue().enqueued;
        self.durable_through(target).await
    }

    /// Waits until change `target` (and every one before it) is on disk.
    pub(super) async fn durable_through(&self, target: u64) -> Result<(), JournalError> {
        let deadline = tokio::time::Instant::now() + COMMIT_WAIT;
        loop {
            // Register before looking, so a commit in between still wakes us.
            let committed = self.shared.committed_async.notified();
            tokio::pin!(committed);
            committed.as_mut().enable();
            {
                let queue = self.shared.lock_queue();
                if let Some(failure) = &queue.failure {
                    return Err(JournalError::Failed(failure.clone()));
                }
                if queue.committed >= target {
                    return Ok(());
                }
            }
            if tokio::time::timeout_at(deadline, committed).await.is_err() {
                return Err(JournalError::TimedOut);
            }
        }
    }

    /// How many changes were queued, committed, and in how many transactions.
    #[cfg(test)]
    fn progress(&self) -> (u64, u64, u64) {
        let queue = self.shared.lock_queue();
        (queue.enqueued, queue.committed, queue.transactions)
    }

    /// Reads every row back.
    pub(super) fn load(&self) -> Result<Snapshot, JournalError> {
        let connection = self
            .shared
            .connection
            .lock()
            .map_err(|_| JournalError::Poisoned)?;
        let mut snapshot = Snapshot::default();
        let mut statement = connection.prepare("SELECT id, state FROM pipeline_stacks")?;
        snapshot.stacks = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        // Per stack, so that the index on (stack, last_modified_ms) answers each at once.
        let mut statement = connection
            .prepare("SELECT MAX(last_modified_ms) FROM pipeline_objects WHERE stack = ?1")?;
        for (stack, _) in &snapshot.stacks {
            let latest: Option<EpochMillis> = statement.query_row([stack], |row| row.get(0))?;
            snapshot.latest_object = snapshot.latest_object.max(latest);
        }
        let mut statement = connection.prepare("SELECT stack, state FROM pipeline_async_events")?;
        snapshot.events = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut statement = connection.prepare(
            "SELECT stack, queue, state FROM pipeline_messages ORDER BY stack, queue, seq",
        )?;
        snapshot.messages = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?;
        // Per metric, so that the primary key answers each at once.
        let mut statement = connection.prepare(
            "SELECT (SELECT MAX(minute_ms) FROM pipeline_metric_minutes WHERE metric = id) \
             FROM pipeline_metrics",
        )?;
        snapshot.latest_metric_minute = statement
            .query_map([], |row| row.get::<_, Option<EpochMillis>>(0))?
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .max();
        snapshot.clock = connection
            .query_row(
                "SELECT pipeline_ms FROM pipeline_clock WHERE id = 1",
                [],
                |row| row.get(0),
            )
            .ok();
        Ok(snapshot)
    }
}

impl Shared {
    fn lock_queue(&self) -> MutexGuard<'_, WriteQueue> {
        // The queue's invariants hold between statements; a panic elsewhere leaves it usable.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a writer: a blocking task on a multi-thread tokio runtime (the server's), so the
    /// workers go on making changes while it commits. On a current-thread runtime, or outside
    /// any, the calling thread writes at once: nothing else could run meanwhile to add to the
    /// batch, and the change is on disk before the call returns, as a simulation on paused time
    /// needs.
    fn start_writer(shared: &Arc<Self>) {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime)
                if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread =>
            {
                let shared = Arc::clone(shared);
                runtime.spawn_blocking(move || shared.write_until_idle());
            }
            _ => shared.write_until_idle(),
        }
    }

    /// Commits what is queued, batch after batch, until the queue is empty.
    fn write_until_idle(&self) {
        loop {
            let (changes, last) = {
                let mut queue = self.lock_queue();
                if queue.changes.is_empty() || queue.failure.is_some() {
                    queue.writing = false;
                    return;
                }
                (std::mem::take(&mut queue.changes), queue.enqueued)
            };
            let written = self.write(&changes);
            {
                let mut queue = self.lock_queue();
                match written {
                    Ok(()) => {
                        queue.committed = last;
                        queue.transactions += 1;
                    }
                    Err(error) => {
                        tracing::error!(%error, changes = changes.len(), "could not save pipeline changes; refusing every change from now on");
                        queue.failure = Some(error.to_string());
                    }
                }
            }
            self.committed.notify_all();
            self.committed_async.notify_waiters();
        }
    }

    /// Writes `changes` in one transaction. A stack's own row is written once, from its last
    /// change in the batch: each save replaces the whole row, so the earlier ones would be
    /// overwritten anyway.
    fn write(&self, changes: &[Vec<Op>]) -> Result<(), JournalError> {
        let mut last_save: HashMap<&str, (usize, usize)> = HashMap::new();
        for (change, ops) in changes.iter().enumerate() {
            for (index, op) in ops.iter().enumerate() {
                if let Op::SaveStack { stack, .. } = op {
                    last_save.insert(stack, (change, index));
                }
            }
        }
        let mut connection = self.connection.lock().map_err(|_| JournalError::Poisoned)?;
        let transaction = connection.transaction()?;
        for (change, ops) in changes.iter().enumerate() {
            for (index, op) in ops.iter().enumerate() {
                if let Op::SaveStack { stack, .. } = op
                    && last_save.get(stack.as_str()) != Some(&(change, index))
                {
                    continue;
                }
                apply(&transaction, op)?;
            }
        }
        transaction.commit()?;
        Ok(())
    }
}

/// SQLite integers are signed; message sequence numbers never come near the limit.
fn sql_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Inserts or replaces one metric's set for one minute, numbering the metric if it is new.
fn save_metric_set(
    transaction: &rusqlite::Transaction<'_>,
    stack: &str,
    metric: &str,
    minute: EpochMillis,
    statistics: &str,
) -> rusqlite::Result<usize> {
    transaction
        .prepare_cached("INSERT OR IGNORE INTO pipeline_metrics (stack, metric) VALUES (?1, ?2)")?
        .execute(params![stack, metric])?;
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO pipeline_metric_minutes (metric, minute_ms, statistics) \
             VALUES ((SELECT id FROM pipeline_metrics WHERE stack = ?1 AND metric = ?2), ?3, ?4)",
        )?
        .execute(params![stack, metric, minute, statistics])
}

fn apply(transaction: &rusqlite::Transaction<'_>, op: &Op) -> rusqlite::Result<()> {
    match op {
        Op::SaveStack { stack, state } => transaction
            // An upsert, not INSERT OR REPLACE: REPLACE deletes the row first, and the delete would
            // cascade to everything the stack holds.
            .prepare_cached(
                "INSERT INTO pipeline_stacks (id, state) VALUES (?1, ?2) \
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state",
            )?
            .execute(params![stack, state]),
        Op::DeleteStack { stack } => transaction
            .prepare_cached("DELETE FROM pipeline_stacks WHERE id = ?1")?
            .execute(params![stack]),
        Op::PutObject {
            stack,
            key,
            body,
            content_type,
            etag,
            last_modified,
        } => transaction
            .prepare_cached(
                "INSERT OR REPLACE INTO pipeline_objects \
                 (stack, key, body, content_type, etag, last_modified_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![stack, key, body.as_ref(), content_type, etag, last_modified]),
        Op::ExpireObjects { stack, before } => transaction
            .prepare_cached("DELETE FROM pipeline_objects WHERE stack = ?1 AND last_modified_ms < ?2")?
            .execute(params![stack, before]),
        Op::DeleteMetricSetsBefore { before } => transaction
            // One range of the primary key per metric.
            .prepare_cached(
                "DELETE FROM pipeline_metric_minutes \
                 WHERE metric IN (SELECT id FROM pipeline_metrics) AND minute_ms < ?1",
            )?
            .execute(params![before]),
        Op::DeleteObjects { stack } => transaction
            .prepare_cached("DELETE FROM pipeline_objects WHERE stack = ?1")?
            .execute(params![stack]),
        Op::SaveEvent { stack, id, state } => transaction
            .prepare_cached(
                "INSERT OR REPLACE INTO pipeline_async_events (stack, id, state) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![stack, id, state]),
        Op::DeleteEvent { stack, id } => transaction
            .prepare_cached("DELETE FROM pipeline_async_events WHERE stack = ?1 AND id = ?2")?
            .execute(params![stack, id]),
        Op::SaveMessage {
            stack,
            queue,
            seq,
            state,
        } => transaction
            .prepare_cached(
                "INSERT OR REPLACE INTO pipeline_messages (stack, queue, seq, state) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![stack, queue, sql_seq(*seq), state]),
        Op::DeleteMessage { stack, queue, seq } => transaction
            .prepare_cached(
                "DELETE FROM pipeline_messages WHERE stack = ?1 AND queue = ?2 AND seq = ?3",
            )?
            .execute(params![stack, queue, sql_seq(*seq)]),
        Op::DeleteMessagesThrough { stack, queue, seq } => transaction
            .prepare_cached(
                "DELETE FROM pipeline_messages WHERE stack = ?1 AND queue = ?2 AND seq <= ?3",
            )?
            .execute(params![stack, queue, sql_seq(*seq)]),
        Op::SaveMetricSet {
            stack,
            metric,
            minute,
            statistics,
        } => save_metric_set(transaction, stack, metric, *minute, statistics),
        Op::MergeMetricSet {
            stack,
            metric,
            minute,
            statistics,
        } => {
            let mut merged = statistics.clone();
            let saved: Option<String> = transaction
                .prepare_cached(
                    "SELECT statistics FROM pipeline_metric_minutes WHERE minute_ms = ?3 \
                     AND metric = (SELECT id FROM pipeline_metrics WHERE stack = ?1 AND metric = ?2)",
                )?
                .query_row(params![stack, metric, minute], |row| row.get(0))
                .optional()?;
            // A saved set that no longer parses is replaced rather than blocking every commit.
            if let Some(saved) = saved.and_then(|saved| serde_json::from_str(&saved).ok()) {
                merged.merge(&saved);
            }
            let json = serde_json::to_string(&merged)
                .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
            save_metric_set(transaction, stack, metric, *minute, &json)
        }
        Op::DeleteMetricSets { stack } => transaction
            // The sets go with their metrics, by cascade.
            .prepare_cached("DELETE FROM pipeline_metrics WHERE stack = ?1")?
            .execute(params![stack]),
        Op::SaveClock { pipeline_millis } => transaction
            .prepare_cached(
                "INSERT INTO pipeline_clock (id, pipeline_ms) VALUES (1, ?1) \
                 ON CONFLICT (id) DO UPDATE SET pipeline_ms = max(pipeline_ms, excluded.pipeline_ms)",
            )?
            .execute(params![pipeline_millis]),
    }
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use super::*;
    use crate::database;

    fn save_stack(id: &str) -> Op {
        Op::SaveStack {
            stack: id.to_owned(),
            state: format!("{{\"id\": \"{id}\"}}"),
        }
    }

    fn stack_rows(dir: &std::path::Path) -> i64 {
        database::open(dir)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM pipeline_stacks", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn concurrent_changes_share_commits_and_all_reach_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::new(
            database::open(dir.path()).unwrap(),
            database::open(dir.path()).unwrap(),
        ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for task in 0..8 {
                let journal = Arc::clone(&journal);
                tasks.spawn(async move {
                    for change in 0..250 {
                        journal
                            .enqueue(vec![save_stack(&format!("s{task}-{change}"))])
                            .unwrap();
                        if change % 10 == 0 {
                            journal.durable().await.unwrap();
                        }
                    }
                    journal.durable().await.unwrap();
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.unwrap();
            }
        });
        let (enqueued, committed, transactions) = journal.progress();
        assert_eq!((enqueued, committed), (2000, 2000));
        assert!(
            transactions < enqueued / 4,
            "{transactions} transactions for {enqueued} changes"
        );
        assert_eq!(stack_rows(dir.path()), 2000);
    }

    #[test]
    fn on_a_current_thread_runtime_a_change_is_on_disk_when_enqueue_returns() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(
            database::open(dir.path()).unwrap(),
            database::open(dir.path()).unwrap(),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let sequence = journal.enqueue(vec![save_stack("a")]).unwrap();
            assert_eq!(journal.progress(), (sequence, sequence, 1));
        });
        assert_eq!(stack_rows(dir.path()), 1);
    }

    #[test]
    fn a_failed_commit_refuses_every_later_change_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(
            database::open(dir.path()).unwrap(),
            database::open(dir.path()).unwrap(),
        );
        // An object of a stack that does not exist breaks the foreign key.
        let orphan = Op::PutObject {
            stack: "nobody".to_owned(),
            key: "input/a.json".to_owned(),
            body: Bytes::from_static(b"{}"),
            content_type: "application/json".to_owned(),
            etag: String::new(),
            last_modified: 0,
        };
        let failed = journal.commit(vec![save_stack("a"), orphan]);
        assert!(
            matches!(&failed, Err(JournalError::Failed(why)) if why.contains("FOREIGN KEY")),
            "{failed:?}"
        );
        let later = journal.enqueue(vec![save_stack("b")]);
        assert!(matches!(later, Err(JournalError::Failed(_))), "{later:?}");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let waited = runtime.block_on(journal.durable());
        assert!(matches!(waited, Err(JournalError::Failed(_))), "{waited:?}");
        assert!(
            later
                .unwrap_err()
                .to_string()
                .contains("restart the server")
        );
        // Nothing of the failed change was written.
        assert_eq!(stack_rows(dir.path()), 0);
    }
}
