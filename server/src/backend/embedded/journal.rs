//! The engine's durable state: every state change is one SQLite transaction.
//!
//! A change to a stack is made in memory under the stack's lock and, still under it, written here
//! as one transaction of [`Op`]s. A committed transaction survives the process being killed, so a
//! restart rebuilds exactly the state of the last change that committed: an object is either
//! published with its event queued, or not at all; an event is either still pending, or converted,
//! or in the dead-letter queue — never two of these.

use std::sync::Mutex;

use bytes::Bytes;
use rusqlite::{Connection, params};

use crate::metrics::EpochMillis;

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
    /// Inserts or replaces one metric's statistic set for one minute (both JSON).
    SaveMetricSet {
        stack: String,
        metric: String,
        minute: EpochMillis,
        statistics: String,
    },
    /// Deletes every metric set of a stack.
    DeleteMetricSets { stack: String },
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
}

/// Everything loaded back at start-up, row by row.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub stacks: Vec<(String, String)>,
    pub objects: Vec<StoredRow>,
    pub events: Vec<(String, String)>,
    pub messages: Vec<(String, String, String)>,
    pub metric_sets: Vec<(String, String, EpochMillis, String)>,
    pub clock: Option<EpochMillis>,
}

impl Snapshot {
    /// The newest time any saved row records as past: an object's write, a message's send, a
    /// metric minute.
    pub fn latest_timestamp(&self) -> EpochMillis {
        let objects = self.objects.iter().map(|object| object.last_modified);
        let minutes = self.metric_sets.iter().map(|(_, _, minute, _)| *minute);
        let messages = self.messages.iter().filter_map(|(_, _, state)| {
            serde_json::from_str::<serde_json::Value>(state)
                .ok()
                .and_then(|message| message.get("sent_at").and_then(serde_json::Value::as_i64))
        });
        objects.chain(minutes).chain(messages).max().unwrap_or(0)
    }
}

/// An object row.
#[derive(Debug)]
pub(super) struct StoredRow {
    pub stack: String,
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: String,
    pub etag: String,
    pub last_modified: EpochMillis,
}

/// The SQLite connection the engine writes through.
#[derive(Debug)]
pub struct Journal {
    connection: Mutex<Connection>,
}

impl Journal {
    /// Wraps an open, migrated connection.
    pub fn new(connection: Connection) -> Self {
        Self {
            connection: Mutex::new(connection),
        }
    }

    /// Applies `ops` in one transaction.
    pub(super) fn commit(&self, ops: &[Op]) -> Result<(), JournalError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut connection = self.connection.lock().map_err(|_| JournalError::Poisoned)?;
        let transaction = connection.transaction()?;
        for op in ops {
            apply(&transaction, op)?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Reads every row back.
    pub(super) fn load(&self) -> Result<Snapshot, JournalError> {
        let connection = self.connection.lock().map_err(|_| JournalError::Poisoned)?;
        let mut snapshot = Snapshot::default();
        let mut statement = connection.prepare("SELECT id, state FROM pipeline_stacks")?;
        snapshot.stacks = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut statement = connection.prepare(
            "SELECT stack, key, body, content_type, etag, last_modified_ms FROM pipeline_objects",
        )?;
        snapshot.objects = statement
            .query_map([], |row| {
                Ok(StoredRow {
                    stack: row.get(0)?,
                    key: row.get(1)?,
                    body: row.get(2)?,
                    content_type: row.get(3)?,
                    etag: row.get(4)?,
                    last_modified: row.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
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
        let mut statement = connection
            .prepare("SELECT stack, metric, minute_ms, statistics FROM pipeline_metric_sets")?;
        snapshot.metric_sets = statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
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

/// SQLite integers are signed; message sequence numbers never come near the limit.
fn sql_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
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
        Op::SaveMetricSet {
            stack,
            metric,
            minute,
            statistics,
        } => transaction
            .prepare_cached(
                "INSERT OR REPLACE INTO pipeline_metric_sets (stack, metric, minute_ms, statistics) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![stack, metric, minute, statistics]),
        Op::DeleteMetricSets { stack } => transaction
            .prepare_cached("DELETE FROM pipeline_metric_sets WHERE stack = ?1")?
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
