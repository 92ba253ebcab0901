//! The event log: joins, steps done, traffic changes and instructor actions, in order, for the
//! instructor's overview and its CSV/JSON export.

use std::path::Path;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::database::{DatabaseError, SharedConnection};
use crate::metrics::{EpochMillis, rfc3339};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A participant joined.
    Joined,
    /// A step's check passed for the first time.
    StepDone,
    /// Traffic started or its settings changed.
    TrafficStarted,
    /// Traffic stopped.
    TrafficStopped,
    /// A participant stated or changed their SLO.
    SloSet,
    /// A stack was reset.
    StackReset,
    /// A participant was removed.
    ParticipantRemoved,
    /// A participant left the lab (their traffic stopped; they may resume).
    Left,
    /// A participant came back with their resume code.
    Resumed,
    /// The instructor logged in.
    InstructorLogin,
    /// The fault-injection parameter was written.
    FaultChanged,
    /// The function's settings were changed.
    FunctionChanged,
    /// The function was invoked once to test it.
    FunctionInvoked,
    /// Dead-letter messages were handed back to the function.
    DeadLettersRedriven,
    /// A chaos experiment started to run.
    ExperimentStarted,
    /// A chaos experiment's run ended.
    ExperimentEnded,
}

impl EventKind {
    /// The kind as stored and exported.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Joined => "joined",
            Self::StepDone => "step_done",
            Self::TrafficStarted => "traffic_started",
            Self::TrafficStopped => "traffic_stopped",
            Self::SloSet => "slo_set",
            Self::StackReset => "stack_reset",
            Self::ParticipantRemoved => "participant_removed",
            Self::Left => "left",
            Self::Resumed => "resumed",
            Self::InstructorLogin => "instructor_login",
            Self::FaultChanged => "fault_changed",
            Self::FunctionChanged => "function_changed",
            Self::FunctionInvoked => "function_invoked",
            Self::DeadLettersRedriven => "dead_letters_redriven",
            Self::ExperimentStarted => "experiment_started",
            Self::ExperimentEnded => "experiment_ended",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Self::Joined,
            Self::StepDone,
            Self::TrafficStarted,
            Self::TrafficStopped,
            Self::SloSet,
            Self::StackReset,
            Self::ParticipantRemoved,
            Self::Left,
            Self::Resumed,
            Self::InstructorLogin,
            Self::FaultChanged,
            Self::FunctionChanged,
            Self::FunctionInvoked,
            Self::DeadLettersRedriven,
            Self::ExperimentStarted,
            Self::ExperimentEnded,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// Position in the log, from 1; stable, for paging.
    pub seq: i64,
    /// When it happened (wall clock), RFC 3339.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: EpochMillis,
    /// The participant concerned, if any.
    pub participant: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// Details, e.g. the step's id or the traffic rates.
    pub detail: String,
}

/// Why the log failed.
#[derive(Debug, thiserror::Error)]
pub enum EventLogError {
    /// The database failed.
    #[error("the event log failed: {0}")]
    Database(#[from] rusqlite::Error),
    /// The database could not be opened.
    #[error(transparent)]
    Open(#[from] DatabaseError),
}

/// The event log, in the database.
#[derive(Debug)]
pub struct EventLog {
    connection: SharedConnection,
}

impl EventLog {
    /// Opens the log in the data directory's database.
    pub fn open(data_dir: &Path) -> Result<Self, EventLogError> {
        Ok(Self {
            connection: SharedConnection::open(data_dir)?,
        })
    }

    /// Appends an event. A failure is logged, not returned: the log must never stop the lab.
    pub fn record(&self, kind: EventKind, participant: Option<&str>, detail: impl Into<String>) {
        let at = chrono::Utc::now().timestamp_millis();
        let detail = detail.into();
        if let Err(error) = self.connection.lock().execute(
            "INSERT INTO events (at_ms, participant, kind, detail) VALUES (?1, ?2, ?3, ?4)",
            params![at, participant, kind.as_str(), detail],
        ) {
            tracing::error!(%error, kind = kind.as_str(), "could not record an event");
        }
    }

    /// Events after `after` (a `seq`), oldest first, at most `limit`, optionally for one
    /// participant.
    pub fn list(
        &self,
        after: i64,
        limit: usize,
        participant: Option<&str>,
    ) -> Result<Vec<Event>, EventLogError> {
        let connection = self.connection.lock();
        let mut statement = connection.prepare_cached(
            "SELECT seq, at_ms, participant, kind, detail FROM events \
             WHERE seq > ?1 AND (?2 IS NULL OR participant = ?2) ORDER BY seq LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![after, participant, limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, at, participant, kind, detail) = row?;
            if let Some(kind) = EventKind::parse(&kind) {
                events.push(Event {
                    seq,
                    at,
                    participant,
                    kind,
                    detail,
                });
            }
        }
        Ok(events)
    }

    /// Every event as CSV: `seq,at,participant,kind,detail`.
    pub fn to_csv(&self) -> Result<String, EventLogError> {
        let mut out = String::from("seq,at,participant,kind,detail\n");
        let mut after = 0;
        loop {
            let page = self.list(after, 1000, None)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for event in &page {
                let cells = [
                    event.seq.to_string(),
                    rfc3339::format_millis(event.at),
                    event.participant.clone().unwrap_or_default(),
                    event.kind.as_str().to_owned(),
                    event.detail.clone(),
                ];
                let row: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
                out.push_str(&row.join(","));
                out.push('\n');
            }
        }
        Ok(out)
    }
}

/// Quotes a CSV cell when it needs it, and defuses spreadsheet formulas (a cell starting with
/// `=`, `+`, `-` or `@` gets a leading apostrophe): names come from participants.
fn csv_cell(cell: &str) -> String {
    let cell = if cell.starts_with(['=', '+', '-', '@']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_page_in_order_and_filter_by_participant() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let log = EventLog::open(dir.path())?;
        log.record(EventKind::Joined, Some("p-1"), "Ada");
        log.record(EventKind::Joined, Some("p-2"), "Bob");
        log.record(EventKind::StepDone, Some("p-1"), "prepare");
        let all = log.list(0, 10, None)?;
        assert_eq!(
            all.iter().map(|event| event.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(
            log.list(1, 1, None)?.first().map(|event| event.seq),
            Some(2)
        );
        let mine = log.list(0, 10, Some("p-1"))?;
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[1].kind, EventKind::StepDone);
        Ok(())
    }

    #[test]
    fn csv_export_quotes_and_defuses_formulas() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let log = EventLog::open(dir.path())?;
        log.record(EventKind::Joined, Some("p-1"), "=HYPERLINK(\"x\"), evil");
        let csv = log.to_csv()?;
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let row = reader.records().next().ok_or("no row")??;
        assert_eq!(&row[4], "'=HYPERLINK(\"x\"), evil");
        assert_eq!(&row[3], "joined");
        Ok(())
    }
}
