//! A stack's metrics: the last few minutes in memory, every older minute on disk only.
//!
//! Values are stamped with the minute their attempt started, so the minutes still being written
//! are the last few. Those, [`IN_MEMORY`] of pipeline time, stay in a [`MetricStore`], which is
//! also what most reads ask for (the overview, lab checks, probes). Every few seconds the changed
//! minutes are saved; a minute older than the window leaves memory once its save is on disk, so
//! memory holds a fixed window however long the workshop runs. A read reaching further back
//! takes the older minutes from the disk.
//!
//! A value for a minute already out of memory (an attempt that ran longer than the window) is
//! kept aside until the next save, which hands it to the journal's writer to merge into the saved
//! set.

use std::collections::BTreeSet;

use crate::backend::embedded::journal::{Journal, JournalError, Op};
use crate::metrics::query::{QueryError, get_metric_data, metrics_read};
use crate::metrics::store::{MINUTE_MILLIS, MetricStore, StatisticSet, minute_of};
use crate::metrics::{EpochMillis, GetMetricDataRequest, GetMetricDataResponse, Metric};

/// How many minutes of pipeline time before the current one stay in memory.
pub(in crate::backend::embedded) const IN_MEMORY_MINUTES: i64 = 10;

/// [`IN_MEMORY_MINUTES`] in milliseconds.
const IN_MEMORY: EpochMillis = IN_MEMORY_MINUTES * MINUTE_MILLIS;

/// Why a metric read failed.
#[derive(Debug, thiserror::Error)]
pub(in crate::backend::embedded) enum MetricReadError {
    /// The request is invalid.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The older minutes could not be read from the disk.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// One stack's metrics.
#[derive(Debug)]
pub(in crate::backend::embedded) struct MetricWindow {
    /// Every value of the minutes from `kept_from` on.
    recent: MetricStore,
    /// The first minute held in `recent`; earlier ones are on disk.
    kept_from: EpochMillis,
    /// Values for minutes before `kept_from` that no save has carried yet.
    late: MetricStore,
    /// Minutes of `recent` changed since the last save.
    dirty: BTreeSet<EpochMillis>,
    /// A move out of memory waiting for its minutes' save to commit: (the save's journal
    /// sequence number, the new `kept_from`).
    eviction: Option<(u64, EpochMillis)>,
}

impl MetricWindow {
    /// An empty window whose memory starts [`IN_MEMORY_MINUTES`] before `now`'s minute.
    pub fn new(now: EpochMillis) -> Self {
        Self {
            recent: MetricStore::new(),
            kept_from: window_start(now),
            late: MetricStore::new(),
            dirty: BTreeSet::new(),
            eviction: None,
        }
    }

    /// Records one value, in memory if its minute is, else aside for the next save.
    pub fn record(&mut self, metric: &Metric, at: EpochMillis, value: f64) {
        let minute = minute_of(at);
        if minute < self.kept_from {
            self.late.record(metric, at, value);
        } else {
            self.recent.record(metric, at, value);
            self.dirty.insert(minute);
        }
    }

    /// How many minutes of metrics are in memory.
    pub fn minutes_in_memory(&self) -> usize {
        let mut minutes = BTreeSet::new();
        for metric in self.recent.metrics() {
            minutes.extend(
                self.recent
                    .sets(metric, EpochMillis::MIN, EpochMillis::MAX)
                    .map(|(minute, _)| minute),
            );
        }
        minutes.len()
    }

    /// Puts back a set read from disk at start-up (a minute from [`Self::kept_from`] on).
    pub fn restore(&mut self, metric: &Metric, minute: EpochMillis, set: &StatisticSet) {
        self.recent.merge_set(metric, minute, set);
    }

    /// Forgets every value (a reset; the saved sets are deleted by the reset's own op).
    pub fn clear(&mut self) {
        self.recent = MetricStore::new();
        self.late = MetricStore::new();
        self.dirty.clear();
        self.eviction = None;
    }

    /// Queues the sets changed since the last save (and the late values) with the journal, then
    /// lets the minutes before the window leave memory once a save carrying them is on disk.
    /// On an error nothing is forgotten: the next save tries again.
    pub fn save(
        &mut self,
        stack: &str,
        journal: &Journal,
        now: EpochMillis,
    ) -> Result<(), JournalError> {
        let ops = self.save_ops(stack);
        let sequence = journal.enqueue(ops)?;
        self.dirty.clear();
        self.late = MetricStore::new();
        if let Some((waiting_for, kept_from)) = self.eviction
            && journal.committed() >= waiting_for
        {
            self.recent.prune_before(kept_from);
            self.kept_from = kept_from;
            self.eviction = None;
        }
        let start = window_start(now);
        if self.eviction.is_none() && start > self.kept_from {
            // Everything in memory is in this save or an earlier one.
            self.eviction = Some((sequence, start));
        }
        Ok(())
    }

    /// Answers a GetMetricData request: from memory when it reads only the window, else with
    /// the older minutes read from disk.
    pub fn metric_data(
        &self,
        stack: &str,
        journal: &Journal,
        request: &GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, MetricReadError> {
        let read = metrics_read(request)?;
        if read.start >= self.kept_from && self.late.is_empty() {
            return Ok(get_metric_data(&self.recent, request)?);
        }
        let mut store = MetricStore::new();
        for metric in &read.metrics {
            if read.start < self.kept_from {
                let Ok(json) = serde_json::to_string(metric) else {
                    continue;
                };
                let saved =
                    journal.metric_sets(stack, &json, read.start, read.end.min(self.kept_from))?;
                for (minute, statistics) in saved {
                    // A set that no longer parses is left out rather than failing every read.
                    if let Ok(set) = serde_json::from_str::<StatisticSet>(&statistics) {
                        store.merge_set(metric, minute, &set);
                    }
                }
            }
            for (minute, set) in self.late.sets(metric, read.start, read.end) {
                store.merge_set(metric, minute, set);
            }
            let from = read.start.max(self.kept_from);
            for (minute, set) in self.recent.sets(metric, from, read.end) {
                store.merge_set(metric, minute, set);
            }
        }
        Ok(get_metric_data(&store, request)?)
    }

    /// The ops saving the changed minutes whole and merging the late values.
    fn save_ops(&self, stack: &str) -> Vec<Op> {
        let mut ops = Vec::new();
        for metric in self.recent.metrics() {
            let Ok(metric_json) = serde_json::to_string(metric) else {
                continue;
            };
            for &minute in &self.dirty {
                for (at, set) in self.recent.sets(metric, minute, minute + MINUTE_MILLIS) {
                    ops.push(Op::SaveMetricSet {
                        stack: stack.to_owned(),
                        metric: metric_json.clone(),
                        minute: at,
                        statistics: serde_json::to_string(set).unwrap_or_default(),
                    });
                }
            }
        }
        for metric in self.late.metrics() {
            let Ok(metric_json) = serde_json::to_string(metric) else {
                continue;
            };
            for (minute, set) in self.late.sets(metric, EpochMillis::MIN, EpochMillis::MAX) {
                ops.push(Op::MergeMetricSet {
                    stack: stack.to_owned(),
                    metric: metric_json.clone(),
                    minute,
                    statistics: set.clone(),
                });
            }
        }
        ops
    }
}

/// The first minute the window keeps in memory at `now`.
pub(in crate::backend::embedded) fn window_start(now: EpochMillis) -> EpochMillis {
    minute_of(now).saturating_sub(IN_MEMORY)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::database;
    use crate::metrics::{MetricDataQuery, MetricStat};

    /// 2026-11-26T00:00:00Z, a minute boundary.
    const START: EpochMillis = 1_795_651_200_000;
    const STACK: &str = "alice";

    fn journal(dir: &std::path::Path) -> Journal {
        let journal = Journal::new(database::open(dir).unwrap(), database::open(dir).unwrap());
        // Metric sets belong to a stack row.
        journal
            .commit(vec![Op::SaveStack {
                stack: STACK.into(),
                state: "{}".into(),
            }])
            .unwrap();
        journal
    }

    fn duration() -> Metric {
        Metric {
            namespace: "AWS/Lambda".into(),
            metric_name: "Duration".into(),
            dimensions: vec![crate::metrics::Dimension {
                name: "FunctionName".into(),
                value: "f".into(),
            }],
        }
    }

    fn request(
        stat: &str,
        period: u32,
        start: EpochMillis,
        end: EpochMillis,
    ) -> GetMetricDataRequest {
        GetMetricDataRequest {
            metric_data_queries: vec![MetricDataQuery {
                id: "q".into(),
                metric_stat: Some(MetricStat {
                    metric: duration(),
                    period,
                    stat: stat.into(),
                }),
                expression: None,
                label: None,
                return_data: None,
                period: None,
            }],
            start_time: start,
            end_time: end,
            scan_by: Some(crate::metrics::ScanBy::TimestampAscending),
            max_datapoints: None,
            next_token: None,
        }
    }

    fn values(
        window: &MetricWindow,
        journal: &Journal,
        request: &GetMetricDataRequest,
    ) -> Vec<f64> {
        let response = window.metric_data(STACK, journal, request).unwrap();
        response.metric_data_results[0].values.clone()
    }

    /// Records minute `m`'s values (m + 1 and m + 1.5, so every minute differs), then saves as
    /// the flusher would at the end of the minute. The journal writes inline here (no runtime).
    fn run_minutes(window: &mut MetricWindow, journal: &Journal, minutes: std::ops::Range<i64>) {
        for m in minutes {
            let at = START + m * MINUTE_MILLIS;
            window.record(&duration(), at + 10_000, (m + 1) as f64);
            window.record(&duration(), at + 20_000, m as f64 + 1.5);
            window.save(STACK, journal, at + MINUTE_MILLIS).unwrap();
        }
    }

    #[test]
    fn memory_keeps_only_the_window_and_older_minutes_are_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let journal = journal(dir.path());
        let mut window = MetricWindow::new(START);
        run_minutes(&mut window, &journal, 0..60);
        let now = START + 60 * MINUTE_MILLIS;

        let in_memory: Vec<_> = window
            .recent
            .sets(&duration(), EpochMillis::MIN, EpochMillis::MAX)
            .map(|(minute, _)| minute)
            .collect();
        assert!(
            in_memory.len() <= IN_MEMORY_MINUTES as usize + 2,
            "{} minutes in memory",
            in_memory.len()
        );
        assert!(window.kept_from > START + 40 * MINUTE_MILLIS);
        assert!(in_memory.iter().all(|&minute| minute >= window.kept_from));

        // Every minute reads back, whether from memory or from disk.
        let sums = values(&window, &journal, &request("Sum", 60, START, now));
        let expected: Vec<f64> = (0..60).map(|m| 2.0 * m as f64 + 2.5).collect();
        assert_eq!(sums, expected);
        // Percentiles over a period spanning disk and memory rank every value: the hour's 120
        // values are 1, 1.5, 2, 2.5, ..., 60.5; the median (rank 60) is 30.5.
        assert_eq!(
            values(&window, &journal, &request("p50", 3600, START, now)),
            [30.5]
        );
        assert_eq!(
            values(&window, &journal, &request("Maximum", 3600, START, now)),
            [60.5]
        );
        // A read inside the window alone gives the same as before.
        let recent = window.kept_from;
        assert_eq!(
            values(&window, &journal, &request("SampleCount", 60, recent, now)).len(),
            ((now - recent) / MINUTE_MILLIS) as usize
        );
    }

    #[test]
    fn a_value_for_a_minute_out_of_memory_is_added_to_its_saved_set() {
        let dir = tempfile::tempdir().unwrap();
        let journal = journal(dir.path());
        let mut window = MetricWindow::new(START);
        run_minutes(&mut window, &journal, 0..30);
        let now = START + 30 * MINUTE_MILLIS;
        let minute_two = request(
            "Sum",
            60,
            START + 2 * MINUTE_MILLIS,
            START + 3 * MINUTE_MILLIS,
        );
        assert_eq!(values(&window, &journal, &minute_two), [6.5]);

        // An attempt that started in minute two ends now: its values are read at once, and
        // after two saves both are in the saved set.
        window.record(&duration(), START + 2 * MINUTE_MILLIS + 1, 100.0);
        assert_eq!(values(&window, &journal, &minute_two), [106.5]);
        window.save(STACK, &journal, now).unwrap();
        window.record(&duration(), START + 2 * MINUTE_MILLIS + 2, 1000.0);
        window.save(STACK, &journal, now).unwrap();
        assert_eq!(values(&window, &journal, &minute_two), [1106.5]);
        let count = request(
            "SampleCount",
            60,
            START + 2 * MINUTE_MILLIS,
            START + 3 * MINUTE_MILLIS,
        );
        assert_eq!(values(&window, &journal, &count), [4.0]);
        // Still the minute's four values after a restart reads the disk alone.
        let reopened = MetricWindow::new(now);
        assert_eq!(values(&reopened, &journal, &minute_two), [1106.5]);
    }

    #[test]
    fn a_cleared_window_reads_nothing_once_the_reset_deletes_the_saved_sets() {
        let dir = tempfile::tempdir().unwrap();
        let journal = journal(dir.path());
        let mut window = MetricWindow::new(START);
        run_minutes(&mut window, &journal, 0..20);
        let now = START + 20 * MINUTE_MILLIS;
        window.clear();
        journal
            .commit(vec![Op::DeleteMetricSets {
                stack: STACK.into(),
            }])
            .unwrap();
        assert!(values(&window, &journal, &request("Sum", 60, START, now)).is_empty());
    }
}
