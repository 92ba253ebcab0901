//! Lab participants: who joined, their API token, their progress through the steps, their
//! traffic settings and their stated SLO. Saved in the SQLite database.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::database::{DatabaseError, SharedConnection};
use crate::metrics::EpochMillis;
use crate::slo::SloObjective;
use crate::traffic::TrafficSettings;

/// Longest display name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// Things a participant has looked at, which some steps' checks ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Viewed {
    /// The architecture picture.
    Architecture,
    /// The dashboard.
    Dashboard,
    /// The function's configuration and code.
    Function,
    /// The fault-injection page.
    FaultInjection,
    /// The dead-letter page while it listed a message whose call the denylist intercepted.
    InterceptedDeadLetters,
}

/// How far a participant has got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// What they have looked at.
    #[serde(default)]
    pub viewed: BTreeSet<Viewed>,
    /// Steps whose check has passed, with when (pipeline time). Once done, a step stays done.
    #[serde(default)]
    pub completed: BTreeMap<String, EpochMillis>,
    /// The step they last opened.
    #[serde(default)]
    pub current_step: Option<String>,
}

/// A participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Their id, which is also their stack's id.
    pub id: String,
    /// Their display name.
    pub name: String,
    /// Their API token, for their own pipeline only.
    #[serde(skip_serializing)]
    pub token: String,
    /// When they joined (wall clock).
    pub created_ms: EpochMillis,
    /// When they last did something (wall clock).
    pub last_seen_ms: EpochMillis,
    /// Their progress.
    pub progress: Progress,
    /// Their traffic settings, once they have started traffic.
    pub traffic: Option<TrafficSettings>,
    /// Whether their traffic was running when the server last stopped.
    pub traffic_running: bool,
    /// Their stated SLO.
    pub slo: Option<SloObjective>,
}

/// Why a participant operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ParticipantError {
    /// The display name is empty, too long or has control characters.
    #[error("a name must be 1 to {MAX_NAME_CHARS} characters, without control characters")]
    InvalidName,
    /// No participant has this id.
    #[error("no participant {0:?}")]
    NotFound(String),
    /// The database failed.
    #[error("the participant database failed: {0}")]
    Database(#[from] rusqlite::Error),
    /// The database could not be opened.
    #[error(transparent)]
    Open(#[from] DatabaseError),
    /// A saved row could not be read.
    #[error("a saved participant row is damaged: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// Cleans a display name: refuses one over [`MAX_NAME_CHARS`] characters as sent, one that is
/// only spaces, or one with control characters; trims the rest. (The length counts before
/// trimming, as the API's schema states it.)
pub fn clean_name(name: &str) -> Result<String, ParticipantError> {
    let refused = name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control);
    let name = name.trim();
    if name.is_empty() || refused {
        return Err(ParticipantError::InvalidName);
    }
    Ok(name.to_owned())
}

/// The participants, saved in the database.
#[derive(Debug)]
pub struct Participants {
    connection: SharedConnection,
}

const COLUMNS: &str =
    "id, name, token, created_ms, last_seen_ms, progress, traffic, slo, traffic_running";

fn from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(Participant, String, Option<String>, Option<String>)> {
    Ok((
        Participant {
            id: row.get(0)?,
            name: row.get(1)?,
            token: row.get(2)?,
            created_ms: row.get(3)?,
            last_seen_ms: row.get(4)?,
            progress: Progress::default(),
            traffic: None,
            traffic_running: row.get(8)?,
            slo: None,
        },
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

fn decode(
    (mut participant, progress, traffic, slo): (
        Participant,
        String,
        Option<String>,
        Option<String>,
    ),
) -> Result<Participant, ParticipantError> {
    participant.progress = serde_json::from_str(&progress)?;
    participant.traffic = traffic.as_deref().map(serde_json::from_str).transpose()?;
    participant.slo = slo.as_deref().map(serde_json::from_str).transpose()?;
    Ok(participant)
}

impl Participants {
    /// Opens the participant table in the data directory's database.
    pub fn open(data_dir: &Path) -> Result<Self, ParticipantError> {
        Ok(Self {
            connection: SharedConnection::open(data_dir)?,
        })
    }

    /// Adds a participant with a fresh id and token.
    pub fn create(&self, name: &str, now: EpochMillis) -> Result<Participant, ParticipantError> {
        let name = clean_name(name)?;
        let participant = Participant {
            id: format!("p-{:016x}", fastrand::u64(..)),
            name,
            token: format!("clp_{}", uuid::Uuid::new_v4().simple()),
            created_ms: now,
            last_seen_ms: now,
            progress: Progress::default(),
            traffic: None,
            traffic_running: false,
            slo: None,
        };
        self.connection.lock().execute(
            "INSERT INTO participants (id, name, token, created_ms, last_seen_ms, progress) \
             VALUES (?1, ?2, ?3, ?4, ?5, '{}')",
            params![
                participant.id,
                participant.name,
                participant.token,
                now,
                now
            ],
        )?;
        Ok(participant)
    }

    /// A participant by id.
    pub fn get(&self, id: &str) -> Result<Participant, ParticipantError> {
        let row = self
            .connection
            .lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM participants WHERE id = ?1"),
                params![id],
                from_row,
            )
            .optional()?;
        row.map(decode)
            .transpose()?
            .ok_or_else(|| ParticipantError::NotFound(id.to_owned()))
    }

    /// The participant an API token belongs to.
    pub fn by_token(&self, token: &str) -> Result<Option<Participant>, ParticipantError> {
        let row = self
            .connection
            .lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM participants WHERE token = ?1"),
                params![token],
                from_row,
            )
            .optional()?;
        row.map(decode).transpose()
    }

    /// Every participant, oldest first.
    pub fn list(&self) -> Result<Vec<Participant>, ParticipantError> {
        let connection = self.connection.lock();
        let mut statement = connection.prepare(&format!(
            "SELECT {COLUMNS} FROM participants ORDER BY created_ms, id"
        ))?;
        let rows = statement
            .query_map([], from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(decode).collect()
    }

    /// Changes a participant's saved state with `change` and saves it.
    pub fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Participant),
    ) -> Result<Participant, ParticipantError> {
        let mut participant = self.get(id)?;
        change(&mut participant);
        let traffic = participant
            .traffic
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        let slo = participant
            .slo
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        self.connection.lock().execute(
            "UPDATE participants SET name = ?2, last_seen_ms = ?3, progress = ?4, traffic = ?5, slo = ?6, \
             traffic_running = ?7 WHERE id = ?1",
            params![
                participant.id,
                participant.name,
                participant.last_seen_ms,
                serde_json::to_string(&participant.progress)?,
                traffic,
                slo,
                participant.traffic_running
            ],
        )?;
        Ok(participant)
    }

    /// Removes a participant. Returns whether they existed.
    pub fn remove(&self, id: &str) -> Result<bool, ParticipantError> {
        Ok(self
            .connection
            .lock()
            .execute("DELETE FROM participants WHERE id = ?1", params![id])?
            > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(clean_name("  Ada ").ok().as_deref(), Some("Ada"));
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(clean_name("a\u{0}b").is_err());
        assert!(clean_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn a_participant_round_trips_with_progress_and_settings()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let participants = Participants::open(dir.path())?;
        let created = participants.create("Ada", 1_000)?;
        assert!(created.token.starts_with("clp_"));
        participants.update(&created.id, |participant| {
            participant.progress.viewed.insert(Viewed::Dashboard);
            participant
                .progress
                .completed
                .insert("prepare".into(), 2_000);
            participant.slo = Some(SloObjective::default());
        })?;
        drop(participants);
        let reopened = Participants::open(dir.path())?;
        let loaded = reopened.get(&created.id)?;
        assert!(loaded.progress.viewed.contains(&Viewed::Dashboard));
        assert_eq!(loaded.progress.completed.get("prepare"), Some(&2_000));
        assert_eq!(loaded.slo, Some(SloObjective::default()));
        assert_eq!(
            reopened.by_token(&created.token)?.map(|p| p.id),
            Some(created.id.clone())
        );
        assert!(reopened.by_token("clp_nope")?.is_none());
        assert!(reopened.remove(&created.id)?);
        assert!(matches!(
            reopened.get(&created.id),
            Err(ParticipantError::NotFound(_))
        ));
        Ok(())
    }
}
