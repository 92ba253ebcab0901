//! The engine's background reporting: SQS's per-minute queue metrics, and saving changed metric
//! sets every few seconds.

use super::journal::Op;
use super::stack::{QueueKind, Stack, StackState};
use super::{Engine, METRIC_FLUSH_INTERVAL, METRIC_RETENTION, MINUTE};
use crate::metrics::EpochMillis;

/// Publishes SQS's metrics at every minute boundary of pipeline time, as SQS does: one datapoint
/// per counter per minute, zeros included, and the gauges, while each queue is active.
pub(super) async fn report_queue_metrics(engine: std::sync::Weak<Engine>) {
    loop {
        let Some(next_minute) = engine.upgrade().map(|engine| {
            let now = engine.clock.now();
            (engine.clock, now - now.rem_euclid(MINUTE) + MINUTE)
        }) else {
            return;
        };
        let (clock, at) = next_minute;
        tokio::time::sleep_until(clock.instant_at(at)).await;
        let Some(engine) = engine.upgrade() else {
            return;
        };
        // The minute that ended at `at`: the timer fires a little after the boundary, so the
        // clock already reads the next minute by then.
        for stack in engine.stacks() {
            publish_queue_metrics(&stack, at - MINUTE);
        }
    }
}

/// Records the counts since the last report, and the gauges now, for both of a stack's queues,
/// as the datapoints of the minute starting at `minute`.
pub(super) fn publish_queue_metrics(stack: &Stack, minute: EpochMillis) {
    let now = stack.now();
    let mut state = stack.lock();
    for kind in [QueueKind::Csv, QueueKind::DeadLetter] {
        let ids = match kind {
            QueueKind::Csv => &stack.metric_ids.csv_queue,
            QueueKind::DeadLetter => &stack.metric_ids.dlq,
        };
        let queue = state.queue(kind);
        let counts = queue.take_counts();
        if !queue.is_active(now) {
            continue;
        }
        let gauges = queue.gauges(now);
        let samples = [
            (&ids.sent, counts.sent as f64),
            (&ids.received, counts.received as f64),
            (&ids.deleted, counts.deleted as f64),
            (&ids.empty_receives, counts.empty_receives as f64),
            (&ids.visible, gauges.visible as f64),
            (&ids.not_visible, gauges.not_visible as f64),
            (&ids.age_of_oldest, gauges.age_of_oldest_seconds),
        ];
        for (metric, value) in samples {
            state.record(metric, minute, value);
        }
    }
    prune_metrics(&mut state, now);
}

fn prune_metrics(state: &mut StackState, now: EpochMillis) {
    let retention = i64::try_from(METRIC_RETENTION.as_millis()).unwrap_or(i64::MAX);
    state.metrics.prune_before(now - retention);
}

/// Saves changed metric sets every few seconds of wall time.
pub(super) async fn flush_metrics(engine: std::sync::Weak<Engine>) {
    let mut interval = tokio::time::interval(METRIC_FLUSH_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(engine) = engine.upgrade() else {
            return;
        };
        for stack in engine.stacks() {
            save_metrics(&stack);
        }
        let _ = engine.journal.commit(&[Op::SaveClock {
            pipeline_millis: engine.clock.now(),
        }]);
    }
}

/// Writes every metric set of the minutes that changed since the last save.
pub(super) fn save_metrics(stack: &Stack) {
    let mut state = stack.lock();
    if state.dirty_minutes.is_empty() {
        return;
    }
    let minutes = std::mem::take(&mut state.dirty_minutes);
    let mut ops = Vec::new();
    for metric in state.metrics.metrics() {
        let Ok(metric_json) = serde_json::to_string(metric) else {
            continue;
        };
        for &minute in &minutes {
            for (at, set) in state.metrics.sets(metric, minute, minute + MINUTE) {
                ops.push(Op::SaveMetricSet {
                    stack: stack.id().to_owned(),
                    metric: metric_json.clone(),
                    minute: at,
                    statistics: serde_json::to_string(set).unwrap_or_default(),
                });
            }
        }
    }
    if let Err(error) = stack.journal.commit(&ops) {
        tracing::error!(stack = stack.id(), %error, "could not save metrics; will retry");
        state.dirty_minutes.extend(minutes);
    }
}
