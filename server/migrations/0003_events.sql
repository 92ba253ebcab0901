-- The event log the instructor reads and exports: joins, steps done, traffic changes, actions.

CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms       INTEGER NOT NULL,
    participant TEXT,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);

CREATE INDEX events_by_participant ON events (participant, seq);
