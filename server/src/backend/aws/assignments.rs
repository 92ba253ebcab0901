//! Which Terraform stack each participant was given, saved in the data directory's database so
//! a restarted server hands every participant the same stack again.
//!
//! The assignments are kept in memory too: the pages ask for a participant's stack names on
//! every request, and that must not touch the database.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, params};

use super::stacks::StackCatalog;
use crate::database::{self, DatabaseError};
use crate::metrics::EpochMillis;

/// One participant's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The participant's id.
    pub participant: String,
    /// The stack's key in the stacks file (the Terraform participant id).
    pub stack: String,
    /// When the stack was assigned, in epoch milliseconds.
    pub assigned_ms: EpochMillis,
    /// Where the participant's accounting starts: the assignment or the last reset.
    pub counting_since_ms: EpochMillis,
}

/// Why an assignment could not be made or saved.
#[derive(Debug, thiserror::Error)]
pub enum AssignmentError {
    /// Every stack already serves a participant.
    #[error("all {total} stacks are assigned; add participants to the Terraform and apply")]
    AllAssigned {
        /// How many stacks there are.
        total: usize,
    },
    /// The database refused.
    #[error("cannot save the stack assignment: {0}")]
    Database(#[from] rusqlite::Error),
}

/// The saved assignments.
#[derive(Debug)]
pub struct Assignments {
    connection: Mutex<Connection>,
    by_participant: Mutex<BTreeMap<String, Assignment>>,
}

impl Assignments {
    /// Opens the assignments in the data directory's database.
    pub fn open(data_dir: &Path) -> Result<Self, DatabaseError> {
        Self::from_connection(database::open(data_dir)?).map_err(|source| DatabaseError::Open {
            path: data_dir.join(database::FILE_NAME),
            source,
        })
    }

    fn from_connection(connection: Connection) -> Result<Self, rusqlite::Error> {
        let rows = {
            let mut statement = connection.prepare(
                "SELECT participant, stack, assigned_ms, counting_since_ms FROM aws_assignments",
            )?;
            statement
                .query_map([], |row| {
                    Ok(Assignment {
                        participant: row.get(0)?,
                        stack: row.get(1)?,
                        assigned_ms: row.get(2)?,
                        counting_since_ms: row.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(Self {
            connection: Mutex::new(connection),
            by_participant: Mutex::new(
                rows.into_iter()
                    .map(|row| (row.participant.clone(), row))
                    .collect(),
            ),
        })
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Assignment>> {
        self.by_participant
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A participant's assignment.
    pub fn get(&self, participant: &str) -> Option<Assignment> {
        self.memory().get(participant).cloned()
    }

    /// Every assignment, by participant id.
    pub fn all(&self) -> Vec<Assignment> {
        self.memory().values().cloned().collect()
    }

    /// Gives `participant` the first free stack of `catalog` (in the stacks' key order), or
    /// returns the one they already have.
    pub fn assign(
        &self,
        participant: &str,
        catalog: &StackCatalog,
        now: EpochMillis,
    ) -> Result<Assignment, AssignmentError> {
        // Holding the memory lock across the choice and the insert: two participants joining at
        // once never get the same stack.
        let mut memory = self.memory();
        if let Some(existing) = memory.get(participant) {
            return Ok(existing.clone());
        }
        let taken: Vec<&str> = memory.values().map(|row| row.stack.as_str()).collect();
        let Some((stack, _)) = catalog.iter().find(|(key, _)| !taken.contains(key)) else {
            return Err(AssignmentError::AllAssigned {
                total: catalog.len(),
            });
        };
        let assignment = Assignment {
            participant: participant.to_owned(),
            stack: stack.to_owned(),
            assigned_ms: now,
            counting_since_ms: now,
        };
        self.connection().execute(
            "INSERT INTO aws_assignments (participant, stack, assigned_ms, counting_since_ms) \
             VALUES (?1, ?2, ?3, ?4)",
            params![participant, stack, now, now],
        )?;
        memory.insert(participant.to_owned(), assignment.clone());
        Ok(assignment)
    }

    /// Frees a participant's stack; false if they had none.
    pub fn release(&self, participant: &str) -> Result<bool, AssignmentError> {
        let mut memory = self.memory();
        self.connection().execute(
            "DELETE FROM aws_assignments WHERE participant = ?1",
            params![participant],
        )?;
        Ok(memory.remove(participant).is_some())
    }

    /// Starts a participant's accounting afresh at `now` (after a reset).
    pub fn restart_counting(
        &self,
        participant: &str,
        now: EpochMillis,
    ) -> Result<(), AssignmentError> {
        let mut memory = self.memory();
        self.connection().execute(
            "UPDATE aws_assignments SET counting_since_ms = ?2 WHERE participant = ?1",
            params![participant, now],
        )?;
        if let Some(row) = memory.get_mut(participant) {
            row.counting_since_ms = now;
        }
        Ok(())
    }

    /// Frees the assignments whose stack is no longer in `catalog` (the Terraform destroyed it),
    /// and returns them.
    pub fn release_missing(
        &self,
        catalog: &StackCatalog,
    ) -> Result<Vec<Assignment>, AssignmentError> {
        let missing: Vec<Assignment> = self
            .all()
            .into_iter()
            .filter(|row| catalog.get(&row.stack).is_none())
            .collect();
        for row in &missing {
            self.release(&row.participant)?;
        }
        Ok(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::StackNames;

    fn catalog(keys: &[&str]) -> StackCatalog {
        StackCatalog::from_stacks(keys.iter().enumerate().map(|(index, key)| {
            (
                (*key).to_owned(),
                StackNames::with_suffix(&format!("{index:016x}"), "us-east-1", "123456789012"),
            )
        }))
    }

    #[test]
    fn stacks_go_out_in_order_survive_a_restart_and_run_out() {
        let dir = std::env::temp_dir().join(format!("chaoslab-aws-{}", uuid::Uuid::new_v4()));
        let stacks = catalog(&["alice", "bob"]);
        {
            let Ok(assignments) = Assignments::open(&dir) else {
                panic!("open")
            };
            let first = assignments.assign("p-1", &stacks, 10).map(|row| row.stack);
            assert_eq!(first.ok().as_deref(), Some("alice"));
            let again = assignments
                .assign("p-1", &stacks, 20)
                .map(|row| row.assigned_ms);
            assert_eq!(again.ok(), Some(10));
            let second = assignments.assign("p-2", &stacks, 30).map(|row| row.stack);
            assert_eq!(second.ok().as_deref(), Some("bob"));
            let third = assignments.assign("p-3", &stacks, 40);
            assert_eq!(
                third.err().map(|error| error.to_string()).as_deref(),
                Some("all 2 stacks are assigned; add participants to the Terraform and apply")
            );
        }
        let Ok(reopened) = Assignments::open(&dir) else {
            panic!("reopen")
        };
        assert_eq!(
            reopened.get("p-2").map(|row| row.stack).as_deref(),
            Some("bob")
        );
        assert!(matches!(reopened.release("p-1"), Ok(true)));
        let reused = reopened.assign("p-3", &stacks, 50).map(|row| row.stack);
        assert_eq!(reused.ok().as_deref(), Some("alice"));
        let gone = reopened.release_missing(&catalog(&["alice"]));
        assert_eq!(gone.ok().map(|rows| rows.len()), Some(1));
        assert!(reopened.get("p-2").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
