//! Saved experiments and runs, in the data directory's database: a run's journal is saved after
//! every activity, so a restart finds what a run had done, and a run still `running` then was cut
//! off by the restart.

use std::path::Path;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::journal::{Journal, RunStatus};
use crate::database::{DatabaseError, SharedConnection};
use crate::metrics::{EpochMillis, rfc3339};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened.
    #[error(transparent)]
    Open(#[from] DatabaseError),
    /// SQLite refused.
    #[error("the experiment store failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A saved document could not be read back.
    #[error("a saved experiment or journal is unreadable: {0}")]
    Json(#[from] serde_json::Error),
}

/// A saved experiment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SavedExperiment {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The experiment (Chaos Toolkit JSON).
    #[schema(value_type = Object)]
    pub experiment: Value,
    /// When it was saved first (wall clock).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created: EpochMillis,
    /// When it was last changed (wall clock).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated: EpochMillis,
}

/// A run, without its journal.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RunSummary {
    /// Its id.
    pub id: String,
    /// The experiment it ran.
    pub experiment: String,
    /// The experiment's title.
    pub title: String,
    /// Its status.
    pub status: RunStatus,
    /// Whether the hypothesis deviated after the method.
    pub deviated: bool,
    /// Whether the hypothesis held before the method: `false` means the method was skipped
    /// (the run still ends `completed`, as `chaos run` ends it); `null` when it was not checked
    /// (yet, or by the hypothesis strategy).
    pub held_before: Option<bool>,
    /// When it started (pipeline time).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started: EpochMillis,
    /// When it ended (pipeline time).
    #[serde(with = "rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended: Option<EpochMillis>,
}

/// The experiments and runs of every participant.
#[derive(Debug)]
pub struct ExperimentStore {
    connection: SharedConnection,
}

impl ExperimentStore {
    /// Opens the store in the data directory's database.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            connection: SharedConnection::open(data_dir)?,
        })
    }

    /// Saves a new experiment or replaces one.
    pub fn save(
        &self,
        participant: &str,
        id: &str,
        title: &str,
        experiment: &Value,
        now: EpochMillis,
    ) -> Result<(), StoreError> {
        self.connection.lock().execute(
            "INSERT INTO experiments (id, participant, title, body, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (id) DO UPDATE SET title = ?3, body = ?4, updated_ms = ?5",
            params![id, participant, title, experiment.to_string(), now],
        )?;
        Ok(())
    }

    /// A participant's experiment.
    pub fn get(&self, participant: &str, id: &str) -> Result<Option<SavedExperiment>, StoreError> {
        let row = self
            .connection
            .lock()
            .query_row(
                "SELECT id, title, body, created_ms, updated_ms FROM experiments WHERE participant = ?1 AND id = ?2",
                params![participant, id],
                experiment_row,
            )
            .optional()?;
        row.map(parse_experiment).transpose()
    }

    /// A participant's experiments, oldest first.
    pub fn list(&self, participant: &str) -> Result<Vec<SavedExperiment>, StoreError> {
        let connection = self.connection.lock();
        let mut statement = connection.prepare(
            "SELECT id, title, body, created_ms, updated_ms FROM experiments WHERE participant = ?1 ORDER BY created_ms, id",
        )?;
        let rows = statement
            .query_map(params![participant], experiment_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(parse_experiment).collect()
    }

    /// Deletes a participant's experiment; answers whether there was one.
    pub fn delete(&self, participant: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.connection.lock().execute(
            "DELETE FROM experiments WHERE participant = ?1 AND id = ?2",
            params![participant, id],
        )? > 0)
    }

    /// Saves a run's journal as it stands.
    pub fn save_run(
        &self,
        participant: &str,
        id: &str,
        experiment: &str,
        journal: &Journal,
        started: EpochMillis,
        ended: Option<EpochMillis>,
    ) -> Result<(), StoreError> {
        self.connection.lock().execute(
            "INSERT INTO experiment_runs (id, participant, experiment, status, deviated, journal, started_ms, ended_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (id) DO UPDATE SET status = ?4, deviated = ?5, journal = ?6, ended_ms = ?8",
            params![id, participant, experiment, journal.status.as_str(), journal.deviated, serde_json::to_string(journal)?, started, ended],
        )?;
        Ok(())
    }

    /// A participant's run: its summary and journal.
    pub fn run(
        &self,
        participant: &str,
        id: &str,
    ) -> Result<Option<(RunSummary, Journal)>, StoreError> {
        let row = self
            .connection
            .lock()
            .query_row(
                "SELECT id, experiment, status, deviated, started_ms, ended_ms, journal FROM experiment_runs WHERE participant = ?1 AND id = ?2",
                params![participant, id],
                run_row,
            )
            .optional()?;
        row.map(parse_run).transpose()
    }

    /// A participant's runs, newest first, at most `limit`.
    pub fn runs(&self, participant: &str, limit: usize) -> Result<Vec<RunSummary>, StoreError> {
        let connection = self.connection.lock();
        let mut statement = connection.prepare(
            "SELECT id, experiment, status, deviated, started_ms, ended_ms, journal FROM experiment_runs WHERE participant = ?1 ORDER BY started_ms DESC, id DESC LIMIT ?2",
        )?;
        let rows = statement
            .query_map(params![participant, limit as i64], run_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|row| parse_run(row).map(|(summary, _)| summary))
            .collect()
    }

    /// Every run still marked running, with its participant: after a restart, those the restart
    /// cut off.
    pub fn running(&self) -> Result<Vec<(String, RunSummary, Journal)>, StoreError> {
        let connection = self.connection.lock();
        let mut statement = connection.prepare(
            "SELECT id, experiment, status, deviated, started_ms, ended_ms, journal, participant FROM experiment_runs WHERE status = 'running'",
        )?;
        let rows = statement
            .query_map([], |row| Ok((run_row(row)?, row.get::<_, String>(7)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(row, participant)| {
                parse_run(row).map(|(summary, journal)| (participant, summary, journal))
            })
            .collect()
    }

    /// Saves the instructor's latest game day, replacing the one before.
    pub fn save_game_day(&self, game_day: &super::registry::GameDay) -> Result<(), StoreError> {
        let connection = self.connection.lock();
        connection.execute(
            "INSERT INTO game_day (id, title, started_ms, runs, skipped) VALUES (1, ?1, ?2, ?3, ?4) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, started_ms = excluded.started_ms, \
             runs = excluded.runs, skipped = excluded.skipped",
            params![
                game_day.title,
                game_day.started,
                serde_json::to_string(&game_day.runs)?,
                serde_json::to_string(&game_day.skipped)?
            ],
        )?;
        Ok(())
    }

    /// The latest game day saved, if any.
    pub fn game_day(&self) -> Result<Option<super::registry::GameDay>, StoreError> {
        let connection = self.connection.lock();
        let row = connection
            .query_row(
                "SELECT title, started_ms, runs, skipped FROM game_day WHERE id = 1",
                [],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(title, started, runs, skipped)| {
            Ok(super::registry::GameDay {
                title,
                started,
                runs: serde_json::from_str(&runs)?,
                skipped: serde_json::from_str(&skipped)?,
            })
        })
        .transpose()
    }

    /// Forgets a participant's experiments and runs (they were removed).
    pub fn forget(&self, participant: &str) -> Result<(), StoreError> {
        let connection = self.connection.lock();
        connection.execute(
            "DELETE FROM experiments WHERE participant = ?1",
            params![participant],
        )?;
        connection.execute(
            "DELETE FROM experiment_runs WHERE participant = ?1",
            params![participant],
        )?;
        Ok(())
    }
}

type ExperimentRow = (String, String, String, i64, i64);

fn experiment_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ExperimentRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn parse_experiment(
    (id, title, body, created, updated): ExperimentRow,
) -> Result<SavedExperiment, StoreError> {
    Ok(SavedExperiment {
        id,
        title,
        experiment: serde_json::from_str(&body)?,
        created,
        updated,
    })
}

type RunRow = (String, String, String, bool, i64, Option<i64>, String);

fn run_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn parse_run(
    (id, experiment, status, deviated, started, ended, journal): RunRow,
) -> Result<(RunSummary, Journal), StoreError> {
    let journal: Journal = serde_json::from_str(&journal)?;
    let title = journal
        .experiment
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok((
        RunSummary {
            id,
            experiment,
            title,
            status: RunStatus::parse(&status).unwrap_or(journal.status),
            deviated,
            held_before: journal
                .steady_states
                .before
                .as_ref()
                .map(|before| before.steady_state_met),
            started,
            ended,
        },
        journal,
    ))
}
