//! The engine's background reporting: SQS's per-minute queue metrics, and saving changed metric
//! sets every few seconds.

use super::journal::Op;
use super::stack::{QueueKind, Stack, StackState};
use super::{Engine, METRIC_FLUSH_INTERVAL, MINUTE};
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
    publish_queue_minute(stack, &mut state, minute, now);
}

/// [`publish_queue_metrics`] under the stack's lock; a minute already published is left alone.
pub(super) fn publish_queue_minute(
    stack: &Stack,
    state: &mut StackState,
    minute: EpochMillis,
    now: EpochMillis,
) {
    if minute <= state.queue_metrics_published {
        return;
    }
    state.queue_metrics_published = minute;
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
        let _ = engine.journal.enqueue(vec![Op::SaveClock {
            pipeline_millis: engine.clock.now(),
        }]);
    }
}

/// Writes every metric set of the minutes that changed since the last save, and lets the
/// minutes before the stack's window leave memory once they are on disk.
pub(super) fn save_metrics(stack: &Stack) {
    let now = stack.now();
    let mut state = stack.lock();
    if let Err(error) = state.metrics.save(stack.id(), &stack.journal, now) {
        tracing::error!(stack = stack.id(), %error, "could not save metrics; will retry");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::Bytes;

    use super::*;
    use crate::backend::embedded::EngineConfig;
    use crate::metrics::{Dimension, GetMetricDataRequest, Metric, MetricDataQuery, MetricStat};

    /// 2026-11-26T00:00:00Z, a minute boundary.
    const START: EpochMillis = 1_795_651_200_000;

    fn csv_messages_sent(stack: &Stack, minute: EpochMillis) -> Vec<f64> {
        let request = GetMetricDataRequest {
            metric_data_queries: vec![MetricDataQuery {
                id: "sent".into(),
                metric_stat: Some(MetricStat {
                    metric: Metric {
                        namespace: "AWS/SQS".into(),
                        metric_name: "NumberOfMessagesSent".into(),
                        dimensions: vec![Dimension {
                            name: "QueueName".into(),
                            value: stack.names().csv_queue_name.clone(),
                        }],
                    },
                    period: 60,
                    stat: "Sum".into(),
                }),
                expression: None,
                label: None,
                return_data: None,
                period: None,
            }],
            start_time: minute,
            end_time: minute + MINUTE,
            scan_by: None,
            max_datapoints: None,
            next_token: None,
        };
        let response = stack.metric_data(&request).unwrap();
        response.metric_data_results[0].values.clone()
    }

    #[tokio::test(start_paused = true)]
    async fn a_minute_that_ended_reads_with_its_queue_metrics_before_the_reporter_has_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(dir.path());
        config.start_time = Some(START);
        let engine = Engine::open(config).unwrap();
        // The reporter's timer fires late: here, never.
        engine.abort_background();
        let stack = engine.create_stack("alice").unwrap();
        tokio::time::sleep_until(engine.clock().instant_at(START + 30_000)).await;
        stack
            .put_object("output/one.csv", Bytes::from_static(b"a,b\n"), "text/csv")
            .unwrap();
        tokio::time::sleep_until(engine.clock().instant_at(START + MINUTE + 1)).await;

        assert_eq!(csv_messages_sent(&stack, START), [1.0]);
        // Read again, and once the reporter's turn comes: still one message, counted once.
        assert_eq!(csv_messages_sent(&stack, START), [1.0]);
        publish_queue_metrics(&stack, START);
        assert_eq!(csv_messages_sent(&stack, START), [1.0]);
    }
}
