//! The metric identities a stack records, with CloudWatch's names and dimensions.

use crate::backend::StackNames;
use crate::metrics::names::{chaoslab, lambda, sns, sqs};
use crate::metrics::{Dimension, Metric};

/// The metric identities a stack records, built once so recording allocates nothing.
#[derive(Debug)]
pub(in crate::backend::embedded) struct StackMetrics {
    pub invocations: Metric,
    pub errors: Metric,
    pub duration: Metric,
    pub throttles: Metric,
    pub concurrent_executions: Metric,
    pub async_events_received: Metric,
    pub async_event_age: Metric,
    pub dead_letter_errors: Metric,
    pub injected_faults: Metric,
    pub published: Metric,
    pub delivered: Metric,
    pub delivery_failed: Metric,
    pub csv_queue: QueueMetrics,
    pub dlq: QueueMetrics,
}

/// One queue's metric identities.
#[derive(Debug)]
pub(in crate::backend::embedded) struct QueueMetrics {
    pub sent: Metric,
    pub received: Metric,
    pub deleted: Metric,
    pub empty_receives: Metric,
    pub visible: Metric,
    pub not_visible: Metric,
    pub age_of_oldest: Metric,
}

fn metric(namespace: &str, name: &str, dimension: &str, value: &str) -> Metric {
    Metric {
        namespace: namespace.to_owned(),
        metric_name: name.to_owned(),
        dimensions: vec![Dimension {
            name: dimension.to_owned(),
            value: value.to_owned(),
        }],
    }
}

impl QueueMetrics {
    pub(super) fn new(queue: &str) -> Self {
        let metric = |name| metric(sqs::NAMESPACE, name, sqs::DIMENSION, queue);
        Self {
            sent: metric(sqs::MESSAGES_SENT),
            received: metric(sqs::MESSAGES_RECEIVED),
            deleted: metric(sqs::MESSAGES_DELETED),
            empty_receives: metric(sqs::EMPTY_RECEIVES),
            visible: metric(sqs::MESSAGES_VISIBLE),
            not_visible: metric(sqs::MESSAGES_NOT_VISIBLE),
            age_of_oldest: metric(sqs::AGE_OF_OLDEST_MESSAGE),
        }
    }
}

impl StackMetrics {
    pub(super) fn new(names: &StackNames) -> Self {
        let function = |name| {
            metric(
                lambda::NAMESPACE,
                name,
                lambda::DIMENSION,
                &names.function_name,
            )
        };
        let topic = |name| metric(sns::NAMESPACE, name, sns::DIMENSION, &names.topic_name);
        Self {
            invocations: function(lambda::INVOCATIONS),
            injected_faults: metric(
                chaoslab::NAMESPACE,
                chaoslab::INJECTED_FAULTS,
                chaoslab::DIMENSION,
                &names.function_name,
            ),
            errors: function(lambda::ERRORS),
            duration: function(lambda::DURATION),
            throttles: function(lambda::THROTTLES),
            concurrent_executions: function(lambda::CONCURRENT_EXECUTIONS),
            async_events_received: function(lambda::ASYNC_EVENTS_RECEIVED),
            async_event_age: function(lambda::ASYNC_EVENT_AGE),
            dead_letter_errors: function(lambda::DEAD_LETTER_ERRORS),
            published: topic(sns::MESSAGES_PUBLISHED),
            delivered: topic(sns::NOTIFICATIONS_DELIVERED),
            delivery_failed: topic(sns::NOTIFICATIONS_FAILED),
            csv_queue: QueueMetrics::new(&names.csv_queue_name),
            dlq: QueueMetrics::new(&names.dlq_name),
        }
    }
}
