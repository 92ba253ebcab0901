-- The embedded engine's metric sets, keyed by a number per (stack, metric) instead of repeating
-- the metric's JSON in every row: a stack-minute of metrics takes a fraction of the space, and
-- the sets of one metric over a time range are one range of the primary key, which is how
-- queries for minutes no longer kept in memory read them.
CREATE TABLE pipeline_metrics (
    id     INTEGER PRIMARY KEY,
    stack  TEXT NOT NULL REFERENCES pipeline_stacks (id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    UNIQUE (stack, metric)
);

CREATE TABLE pipeline_metric_minutes (
    metric     INTEGER NOT NULL REFERENCES pipeline_metrics (id) ON DELETE CASCADE,
    minute_ms  INTEGER NOT NULL,
    statistics TEXT NOT NULL,
    PRIMARY KEY (metric, minute_ms)
) WITHOUT ROWID;

INSERT INTO pipeline_metrics (stack, metric)
    SELECT DISTINCT stack, metric FROM pipeline_metric_sets;

INSERT INTO pipeline_metric_minutes (metric, minute_ms, statistics)
    SELECT pipeline_metrics.id, sets.minute_ms, sets.statistics
    FROM pipeline_metric_sets AS sets
    JOIN pipeline_metrics ON pipeline_metrics.stack = sets.stack
        AND pipeline_metrics.metric = sets.metric;

DROP TABLE pipeline_metric_sets;
