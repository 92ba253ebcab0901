//! Rebuilding the stacks from the journal at start-up: each stack's record, then its queued
//! events, messages and metric sets. Objects stay on disk: buckets read them there.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::EngineError;
use super::journal::{self, Journal};
use super::queue::Message;
use super::stack::{AsyncEvent, QueueKind, Stack, StackRecord, window_start};
use crate::backend::PipelineClock;
use crate::metrics::Metric;
use crate::metrics::store::StatisticSet;

/// Rebuilds the stacks from the saved rows.
pub(super) fn restore_stacks(
    snapshot: journal::Snapshot,
    clock: PipelineClock,
    journal: &Arc<Journal>,
    fault_seed: Option<u64>,
) -> Result<Vec<Arc<Stack>>, EngineError> {
    let corrupt = |what: String| {
        move |error: serde_json::Error| EngineError::Corrupt {
            what,
            error: error.to_string(),
        }
    };
    let mut stacks = BTreeMap::new();
    for (id, state) in snapshot.stacks {
        let record: StackRecord =
            serde_json::from_str(&state).map_err(corrupt(format!("stack {id}")))?;
        stacks.insert(
            id.clone(),
            Stack::new(id, record, clock, Arc::clone(journal), fault_seed),
        );
    }
    for (id, state) in snapshot.events {
        let event: AsyncEvent =
            serde_json::from_str(&state).map_err(corrupt(format!("event of stack {id}")))?;
        if let Some(stack) = stacks.get(&id) {
            let mut stack_state = stack.lock();
            // An attempt that was running when the process stopped is lost; the event runs again.
            stack_state
                .schedule
                .insert((event.next_attempt_at, event.id.clone()));
            stack_state.events.insert(event.id.clone(), event);
        }
    }
    for (id, queue_name, state) in snapshot.messages {
        let message: Message =
            serde_json::from_str(&state).map_err(corrupt(format!("message of stack {id}")))?;
        if let Some(stack) = stacks.get(&id) {
            let kind = if queue_name == stack.names().dlq_name {
                QueueKind::DeadLetter
            } else {
                QueueKind::Csv
            };
            stack.lock().queue(kind).restore(message);
        }
    }
    // Only the minutes the stacks keep in memory; reads take older ones from the disk.
    let sets = journal.metric_sets_since(window_start(clock.now()))?;
    for (id, metric, minute, statistics) in sets {
        let what = || format!("metric set of stack {id}");
        let metric: Metric = serde_json::from_str(&metric).map_err(corrupt(what()))?;
        let set: StatisticSet = serde_json::from_str(&statistics).map_err(corrupt(what()))?;
        if let Some(stack) = stacks.get(&id) {
            stack.lock().metrics.restore(&metric, minute, &set);
        }
    }
    Ok(stacks.into_values().map(Arc::new).collect())
}
