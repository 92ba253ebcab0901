-- Lab participants, their progress, traffic settings and stated SLO.

CREATE TABLE participants (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token        TEXT NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    progress     TEXT NOT NULL DEFAULT '{}',
    traffic      TEXT,
    -- Whether traffic was running when the server last stopped, to resume it.
    traffic_running INTEGER NOT NULL DEFAULT 0,
    slo          TEXT
) WITHOUT ROWID;
