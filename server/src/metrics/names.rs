//! Every CloudWatch namespace, metric and dimension name the pipeline uses, defined once.
//! The names and meanings are AWS's, so what a participant learns here holds on AWS.

/// `AWS/Lambda`, by `FunctionName`.
pub mod lambda {
    /// Namespace.
    pub const NAMESPACE: &str = "AWS/Lambda";
    /// Dimension holding the function's name.
    pub const DIMENSION: &str = "FunctionName";
    /// Attempts to run the function, successful or not; every retry counts. Stamped at the
    /// attempt's start.
    pub const INVOCATIONS: &str = "Invocations";
    /// Attempts that ended in a function error, including timeouts. Stamped at the attempt's start.
    pub const ERRORS: &str = "Errors";
    /// Time spent running the function, in milliseconds.
    pub const DURATION: &str = "Duration";
    /// Attempts refused because the function was at its concurrency limit.
    pub const THROTTLES: &str = "Throttles";
    /// Instances running at once; read it with `Maximum`.
    pub const CONCURRENT_EXECUTIONS: &str = "ConcurrentExecutions";
    /// Events that could not be sent to the dead-letter queue.
    pub const DEAD_LETTER_ERRORS: &str = "DeadLetterErrors";
    /// Events queued for asynchronous invocation.
    pub const ASYNC_EVENTS_RECEIVED: &str = "AsyncEventsReceived";
    /// Time from queueing an event to an attempt to run it, in milliseconds.
    pub const ASYNC_EVENT_AGE: &str = "AsyncEventAge";
}

/// `AWS/SQS`, by `QueueName`. Reported every minute, zeros included, while the queue is active.
pub mod sqs {
    /// Namespace.
    pub const NAMESPACE: &str = "AWS/SQS";
    /// Dimension holding the queue's name.
    pub const DIMENSION: &str = "QueueName";
    /// Messages added to the queue.
    pub const MESSAGES_SENT: &str = "NumberOfMessagesSent";
    /// Messages returned by receive calls (a message received twice counts twice).
    pub const MESSAGES_RECEIVED: &str = "NumberOfMessagesReceived";
    /// Messages deleted.
    pub const MESSAGES_DELETED: &str = "NumberOfMessagesDeleted";
    /// Receive calls that returned no message.
    pub const EMPTY_RECEIVES: &str = "NumberOfEmptyReceives";
    /// Messages available to receive, sampled each minute.
    pub const MESSAGES_VISIBLE: &str = "ApproximateNumberOfMessagesVisible";
    /// Messages received but neither deleted nor back to visible, sampled each minute.
    pub const MESSAGES_NOT_VISIBLE: &str = "ApproximateNumberOfMessagesNotVisible";
    /// Age of the oldest message in the queue, in seconds, sampled each minute.
    pub const AGE_OF_OLDEST_MESSAGE: &str = "ApproximateAgeOfOldestMessage";
}

/// `AWS/SNS`, by `TopicName`.
pub mod sns {
    /// Namespace.
    pub const NAMESPACE: &str = "AWS/SNS";
    /// Dimension holding the topic's name.
    pub const DIMENSION: &str = "TopicName";
    /// Messages published to the topic.
    pub const MESSAGES_PUBLISHED: &str = "NumberOfMessagesPublished";
    /// Deliveries to subscriptions that succeeded.
    pub const NOTIFICATIONS_DELIVERED: &str = "NumberOfNotificationsDelivered";
    /// Deliveries to subscriptions that failed.
    pub const NOTIFICATIONS_FAILED: &str = "NumberOfNotificationsFailed";
}

/// The lab's own metrics, in a namespace of their own (on AWS the function writes them in the
/// embedded metric format, which CloudWatch turns into metrics of this namespace).
pub mod chaoslab {
    /// Namespace, and the invocations in which the fault wrapper injected a fault (stamped at
    /// the attempt's start, like `Invocations`), as the Lambda binary writes them.
    pub use chaoslab_etl::fault::metric::{INJECTED_FAULTS, NAMESPACE};
    /// Dimension holding the function's name.
    pub const DIMENSION: &str = "FunctionName";
}
