//! The buckets' retention rule, like an S3 lifecycle expiration: once a minute of pipeline time,
//! every object older than the retention period is deleted, and counted as `expired` in its
//! stack's accounting. The same sweep deletes queue messages older than their queue's retention
//! period (SQS's `MessageRetentionPeriod`) or than the retention period, whichever is shorter,
//! and saved metric sets older than the span the engine keeps metrics for, so neither the data
//! folder nor memory grows once the retention period has passed.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::journal::Op;
use super::{Engine, METRIC_RETENTION, MINUTE};
use crate::metrics::EpochMillis;

fn millis(duration: Duration) -> EpochMillis {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Runs the sweep at every minute boundary of pipeline time until the engine is gone.
pub(super) async fn expire_objects(engine: Weak<Engine>, retention: Duration) {
    loop {
        let Some((clock, at)) = engine.upgrade().map(|engine| {
            let now = engine.clock.now();
            (engine.clock, now - now.rem_euclid(MINUTE) + MINUTE)
        }) else {
            return;
        };
        tokio::time::sleep_until(clock.instant_at(at)).await;
        let Some(engine) = engine.upgrade() else {
            return;
        };
        // Each stack counts on disk: off the async workers.
        let sweep = tokio::task::spawn_blocking(move || sweep(&engine, retention));
        if let Err(error) = sweep.await {
            tracing::error!(%error, "the retention sweep stopped unexpectedly");
        }
    }
}

/// One sweep over every stack.
pub(super) fn sweep(engine: &Arc<Engine>, retention: Duration) {
    let now = engine.clock.now();
    let before = now.saturating_sub(millis(retention));
    let mut expired = 0;
    for stack in engine.stacks() {
        match stack.expire_objects(before) {
            Ok(count) => expired += count,
            Err(error) => {
                tracing::error!(stack = stack.id(), %error, "could not expire old objects; will try again in a minute");
            }
        }
    }
    if expired > 0 {
        tracing::debug!(expired, "objects expired");
    }
    let mut messages = 0;
    for stack in engine.stacks() {
        match stack.expire_messages(retention) {
            Ok(count) => messages += count,
            Err(error) => {
                tracing::error!(stack = stack.id(), %error, "could not expire old queue messages; will try again in a minute");
            }
        }
    }
    if messages > 0 {
        tracing::debug!(messages, "queue messages expired");
    }
    let metrics_before = now.saturating_sub(millis(METRIC_RETENTION));
    if let Err(error) = engine.journal.enqueue(vec![Op::DeleteMetricSetsBefore {
        before: metrics_before,
    }]) {
        tracing::error!(%error, "could not delete old metric sets");
    }
}
