-- The instructor's latest game day: which run each participant got, so the table survives a
-- restart (the runs and their journals are in experiment_runs). One row, replaced by the next.
CREATE TABLE game_day (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    title      TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    runs       TEXT NOT NULL,
    skipped    TEXT NOT NULL
);
