-- Chaos experiments saved by participants, and their runs with the journal so far.

CREATE TABLE experiments (
    id          TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
);

CREATE INDEX experiments_by_participant ON experiments (participant, created_ms);

CREATE TABLE experiment_runs (
    id          TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    experiment  TEXT NOT NULL,
    status      TEXT NOT NULL,
    deviated    INTEGER NOT NULL DEFAULT 0,
    journal     TEXT NOT NULL,
    started_ms  INTEGER NOT NULL,
    ended_ms    INTEGER
);

CREATE INDEX experiment_runs_by_participant ON experiment_runs (participant, started_ms);
CREATE INDEX experiment_runs_by_status ON experiment_runs (status);
