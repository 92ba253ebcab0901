//! The buckets' retention rule, like an S3 lifecycle expiration: once a minute of pipeline time,
//! every object older than the retention period is deleted, and counted as `expired` in its
//! stack's accounting. The same sweep deletes queue messages older than their queue's retention
//! period (SQS's `MessageRetentionPeriod`) or than the retention period, whichever is shorter,
//! and saved metric sets older than the span the engine keeps metrics for, so neither the data
//! folder nor memory grows once the retention period has passed.
//!
//! The stacks are swept one after another across the first half of the minute, not all at once:
//! every stack's deletions queued together made one long commit, behind which every other
//! change waited (and piled up in memory) each minute.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::journal::Op;
use super::stack::Stack;
use super::{Engine, METRIC_RETENTION, MINUTE, millis};
use crate::metrics::EpochMillis;

/// How much of each pipeline minute the sweep spreads the stacks over.
const SPREAD: EpochMillis = MINUTE / 2;

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
        let Some(ids) = engine.upgrade().map(|engine| engine.stack_ids()) else {
            return;
        };
        let spacing = SPREAD / i64::try_from(ids.len().max(1)).unwrap_or(i64::MAX);
        let mut totals = (0, 0);
        for (index, id) in ids.iter().enumerate() {
            let due = at + spacing * i64::try_from(index).unwrap_or(0);
            tokio::time::sleep_until(clock.instant_at(due)).await;
            // Looked up when its turn comes: a stack removed meanwhile is not swept (its saved
            // record would come back).
            let Some(stack) = engine.upgrade().map(|engine| engine.stack(id)) else {
                return;
            };
            let Some(stack) = stack else {
                continue;
            };
            // Each stack counts on disk: off the async workers.
            let swept = tokio::task::spawn_blocking(move || {
                let now = stack.now();
                sweep_stack(&stack, now, retention)
            });
            match swept.await {
                Ok((objects, messages)) => {
                    totals = (totals.0 + objects, totals.1 + messages);
                }
                Err(error) => tracing::error!(%error, "the retention sweep stopped unexpectedly"),
            }
        }
        let Some(engine) = engine.upgrade() else {
            return;
        };
        log_totals(totals);
        delete_old_metrics(&engine);
    }
}

/// One sweep over every stack at once.
pub(super) fn sweep(engine: &Arc<Engine>, retention: Duration) {
    let now = engine.clock.now();
    let mut totals = (0, 0);
    for stack in engine.stacks() {
        let (objects, messages) = sweep_stack(&stack, now, retention);
        totals = (totals.0 + objects, totals.1 + messages);
    }
    log_totals(totals);
    delete_old_metrics(engine);
}

/// Expires one stack's old objects and queue messages; answers how many of each.
fn sweep_stack(stack: &Stack, now: EpochMillis, retention: Duration) -> (u64, u64) {
    let before = now.saturating_sub(millis(retention));
    let objects = stack.expire_objects(before).unwrap_or_else(|error| {
        tracing::error!(stack = stack.id(), %error, "could not expire old objects; will try again in a minute");
        0
    });
    let messages = stack.expire_messages(retention).unwrap_or_else(|error| {
        tracing::error!(stack = stack.id(), %error, "could not expire old queue messages; will try again in a minute");
        0
    });
    (objects, messages)
}

fn log_totals((objects, messages): (u64, u64)) {
    if objects + messages > 0 {
        tracing::debug!(objects, messages, "objects and queue messages expired");
    }
}

fn delete_old_metrics(engine: &Engine) {
    let before = engine.clock.now().saturating_sub(millis(METRIC_RETENTION));
    if let Err(error) = engine
        .journal
        .enqueue(vec![Op::DeleteMetricSetsBefore { before }])
    {
        tracing::error!(%error, "could not delete old metric sets");
    }
}
