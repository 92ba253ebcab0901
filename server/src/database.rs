//! The SQLite database in the data directory, with its embedded migrations.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// The database's file name inside the data directory.
pub const FILE_NAME: &str = "chaoslab.sqlite3";

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(include_str!("../migrations/0001_embedded_pipeline.sql")),
        M::up(include_str!("../migrations/0002_participants.sql")),
        M::up(include_str!("../migrations/0003_events.sql")),
        M::up(include_str!("../migrations/0004_aws_assignments.sql")),
        M::up(include_str!("../migrations/0005_experiments.sql")),
        M::up(include_str!("../migrations/0006_game_days.sql")),
        M::up(include_str!("../migrations/0007_object_age_index.sql")),
        M::up(include_str!("../migrations/0008_metric_minutes.sql")),
    ])
});

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite refused to open or configure the file.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The schema could not be brought up to date.
    #[error(
        "cannot migrate the database {path}: {source} (was it written by a newer chaoslab? \
         use another --data-dir or remove the directory to start afresh)"
    )]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The migration error.
        source: rusqlite_migration::Error,
    },
}

/// Opens (creating if needed) the database in `data_dir` and applies pending migrations.
///
/// WAL with `synchronous = NORMAL`: a committed transaction survives the process being killed,
/// which is the failure the engine must survive; only a power loss can take the last commits.
pub fn open(data_dir: &Path) -> Result<Connection, DatabaseError> {
    std::fs::create_dir_all(data_dir).map_err(|source| DatabaseError::CreateDirectory {
        path: data_dir.to_owned(),
        source,
    })?;
    let path = data_dir.join(FILE_NAME);
    let open_error = |source| DatabaseError::Open {
        path: path.clone(),
        source,
    };
    let mut connection = Connection::open(&path).map_err(open_error)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )
        .map_err(open_error)?;
    MIGRATIONS
        .to_latest(&mut connection)
        .map_err(|source| DatabaseError::Migrate {
            path: path.clone(),
            source,
        })?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(MIGRATIONS.validate().is_ok());
    }

    #[test]
    fn metric_sets_saved_before_version_8_keep_their_values()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut connection = Connection::open_in_memory()?;
        connection.execute_batch("PRAGMA foreign_keys = ON;")?;
        MIGRATIONS.to_version(&mut connection, 7)?;
        connection.execute_batch(
            "INSERT INTO pipeline_stacks (id, state) VALUES ('a', '{}'), ('b', '{}');
             INSERT INTO pipeline_metric_sets VALUES
                 ('a', 'duration', 60000, '{\"Sum\":1}'),
                 ('a', 'duration', 120000, '{\"Sum\":2}'),
                 ('b', 'duration', 60000, '{\"Sum\":3}');",
        )?;
        MIGRATIONS.to_latest(&mut connection)?;
        let mut statement = connection.prepare(
            "SELECT stack, pipeline_metrics.metric, minute_ms, statistics FROM pipeline_metrics \
             JOIN pipeline_metric_minutes ON pipeline_metric_minutes.metric = pipeline_metrics.id \
             ORDER BY stack, minute_ms",
        )?;
        let rows: Vec<(String, String, i64, String)> = statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let expected = [
            ("a", 60000, "{\"Sum\":1}"),
            ("a", 120000, "{\"Sum\":2}"),
            ("b", 60000, "{\"Sum\":3}"),
        ];
        assert_eq!(rows.len(), expected.len());
        for (row, (stack, minute, statistics)) in rows.iter().zip(expected) {
            assert_eq!(
                (row.0.as_str(), row.1.as_str(), row.2, row.3.as_str()),
                (stack, "duration", minute, statistics)
            );
        }
        // Deleting a stack takes its metrics and their minutes with it.
        connection.execute("DELETE FROM pipeline_stacks WHERE id = 'a'", [])?;
        let left: i64 =
            connection.query_row("SELECT COUNT(*) FROM pipeline_metric_minutes", [], |row| {
                row.get(0)
            })?;
        assert_eq!(left, 1);
        Ok(())
    }

    #[test]
    fn opening_twice_keeps_the_schema() {
        let dir = std::env::temp_dir().join(format!("chaoslab-db-{}", uuid::Uuid::new_v4()));
        let first = open(&dir);
        assert!(first.is_ok());
        drop(first);
        assert!(open(&dir).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// One connection to the database, shared by the threads of a store (the participants, the
/// event log): SQLite serialises writers anyway, and a store's calls are short.
#[derive(Debug)]
pub struct SharedConnection(std::sync::Mutex<Connection>);

impl SharedConnection {
    /// Opens the data directory's database, migrated.
    pub fn open(data_dir: &Path) -> Result<Self, DatabaseError> {
        Ok(Self(std::sync::Mutex::new(open(data_dir)?)))
    }

    /// The connection, for one call. A panic elsewhere while holding it leaves SQLite's own
    /// state consistent, so a poisoned lock is taken over.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
