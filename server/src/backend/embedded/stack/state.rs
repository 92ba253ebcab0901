//! What a stack holds in memory, and the rows it is saved as: the function's queued events and
//! the stack's own record.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::QueueKind;
use super::metric_window::MetricWindow;
use crate::backend::embedded::bucket::Bucket;
use crate::backend::embedded::function::FunctionConfig;
use crate::backend::embedded::journal::Op;
use crate::backend::embedded::queue::Queue;
use crate::backend::{Accounting, FaultParameter, StackNames};
use crate::metrics::{EpochMillis, Metric};

/// An event waiting in the function's asynchronous queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(in crate::backend::embedded) struct AsyncEvent {
    /// The invocation's request id; the same for every attempt, as on AWS.
    pub id: String,
    /// The S3 event JSON, exactly as the function and the dead-letter queue receive it.
    pub payload: String,
    /// When Lambda accepted the event.
    pub received_at: EpochMillis,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt may start.
    pub next_attempt_at: EpochMillis,
    /// Times the event was throttled.
    pub throttles: u32,
    /// Whether an attempt is running now (not saved: after a restart the attempt is lost and the
    /// event runs again).
    #[serde(skip)]
    pub running: bool,
}

/// The stack's own state row: everything but objects, events, messages and metric sets.
#[derive(Debug, Serialize, Deserialize)]
pub(in crate::backend::embedded) struct StackRecord {
    pub names: StackNames,
    pub config: FunctionConfig,
    pub fault_injection: FaultParameter,
    pub accounting: Accounting,
    pub csv_queue_activity: Option<EpochMillis>,
    pub dlq_activity: Option<EpochMillis>,
}

/// Everything a stack holds in memory.
#[derive(Debug)]
pub(in crate::backend::embedded) struct StackState {
    pub config: FunctionConfig,
    pub fault_injection: FaultParameter,
    pub bucket: Bucket,
    pub events: BTreeMap<String, AsyncEvent>,
    /// Pending events by next attempt time.
    pub schedule: BTreeSet<(EpochMillis, String)>,
    pub running: u32,
    pub csv_queue: Queue,
    pub dlq: Queue,
    /// The recent minutes of metrics, and what is not saved yet.
    pub metrics: MetricWindow,
    /// The last minute whose SQS metrics were published (reporting.rs): a minute is published
    /// once, by the reporter's timer or by a metric read that comes first.
    pub queue_metrics_published: EpochMillis,
    pub accounting: Accounting,
    /// Whether a setting in the stack's own row changed without a row op to carry it.
    pub settings_changed: bool,
}

impl StackState {
    /// Records one metric sample, saved by the next flush.
    pub fn record(&mut self, metric: &Metric, at: EpochMillis, value: f64) {
        self.metrics.record(metric, at, value);
    }

    pub fn queue(&mut self, kind: QueueKind) -> &mut Queue {
        match kind {
            QueueKind::Csv => &mut self.csv_queue,
            QueueKind::DeadLetter => &mut self.dlq,
        }
    }

    /// Queues an event for the function and schedules its first attempt.
    pub fn enqueue_event(&mut self, event: AsyncEvent, ops: &mut Vec<Op>, stack: &str) {
        ops.push(save_event(stack, &event));
        self.schedule
            .insert((event.next_attempt_at, event.id.clone()));
        self.events.insert(event.id.clone(), event);
    }
}

pub(in crate::backend::embedded) fn save_event(stack: &str, event: &AsyncEvent) -> Op {
    Op::SaveEvent {
        stack: stack.to_owned(),
        id: event.id.clone(),
        state: serde_json::to_string(event).unwrap_or_default(),
    }
}
