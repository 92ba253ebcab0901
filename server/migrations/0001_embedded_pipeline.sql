-- The embedded backend's durable state. Rows hold JSON for the parts whose shape belongs to the
-- engine (stack state, async events, queue messages, statistic sets); object bodies are BLOBs.

CREATE TABLE pipeline_stacks (
    id    TEXT PRIMARY KEY,
    state TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE pipeline_objects (
    stack            TEXT NOT NULL REFERENCES pipeline_stacks (id) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    body             BLOB NOT NULL,
    content_type     TEXT NOT NULL,
    etag             TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    PRIMARY KEY (stack, key)
) WITHOUT ROWID;

CREATE TABLE pipeline_async_events (
    stack TEXT NOT NULL REFERENCES pipeline_stacks (id) ON DELETE CASCADE,
    id    TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (stack, id)
) WITHOUT ROWID;

CREATE TABLE pipeline_messages (
    stack TEXT NOT NULL REFERENCES pipeline_stacks (id) ON DELETE CASCADE,
    queue TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (stack, queue, seq)
) WITHOUT ROWID;

CREATE TABLE pipeline_metric_sets (
    stack      TEXT NOT NULL REFERENCES pipeline_stacks (id) ON DELETE CASCADE,
    metric     TEXT NOT NULL,
    minute_ms  INTEGER NOT NULL,
    statistics TEXT NOT NULL,
    PRIMARY KEY (stack, metric, minute_ms)
) WITHOUT ROWID;

CREATE TABLE pipeline_clock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    pipeline_ms INTEGER NOT NULL
);
