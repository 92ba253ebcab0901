//! The pipeline backends, and the stack names both share.
//!
//! - [`embedded`]: the whole pipeline in this process, with AWS's semantics (the default).
//! - [`aws`]: the real pipeline, in the stacks the project's Terraform created.

pub mod accounting;
pub mod aws;
pub mod clock;
pub mod dead_letters;
pub mod embedded;
pub mod fault;
pub mod function;
pub mod invocation;

pub use self::accounting::Accounting;
pub use self::clock::{PipelineClock, system_now_millis};
pub use self::dead_letters::{DeadLetter, DeadLetterList, ErrorFilter, Redrive};
pub use self::fault::FaultParameter;
pub use self::function::FunctionChange;
pub use self::invocation::InvocationReport;

use serde::{Deserialize, Serialize};

/// The account id the embedded backend uses in ARNs and queue URLs.
pub const EMBEDDED_ACCOUNT_ID: &str = "123456789012";

/// One participant's pipeline stack: the names of its resources. The fields and their names are
/// the Terraform module's outputs (see `terraform/README.md`), so an AWS stack and an embedded
/// one are described the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StackNames {
    /// AWS region.
    pub region: String,
    /// S3 bucket, `chaos-bucket-<suffix>`.
    pub bucket: String,
    /// ETL function, `ChaosTransformer-<suffix>`.
    pub function_name: String,
    /// Dead-letter queue URL.
    pub dlq_url: String,
    /// Dead-letter queue, `chaos-error-queue-<suffix>`.
    pub dlq_name: String,
    /// CSV queue URL.
    pub csv_queue_url: String,
    /// CSV queue, `chaos-csv-queue-<suffix>`.
    pub csv_queue_name: String,
    /// SNS topic ARN.
    pub topic_arn: String,
    /// SNS topic, `chaos-csv-topic-<suffix>`.
    pub topic_name: String,
    /// CloudWatch dashboard, `chaos-dashboard-<suffix>`.
    pub dashboard_name: String,
    /// Fault-injection SSM parameter, `/chaoslab/<suffix>/failure-injection`.
    pub parameter_name: String,
    /// The random suffix all names share: 16 hex digits.
    pub suffix: String,
}

impl StackNames {
    /// The names the Terraform module would give a stack with this suffix, in this account.
    pub fn with_suffix(suffix: &str, region: &str, account_id: &str) -> Self {
        let dlq_name = format!("chaos-error-queue-{suffix}");
        let csv_queue_name = format!("chaos-csv-queue-{suffix}");
        let topic_name = format!("chaos-csv-topic-{suffix}");
        Self {
            region: region.to_owned(),
            bucket: format!("chaos-bucket-{suffix}"),
            function_name: format!("ChaosTransformer-{suffix}"),
            dlq_url: format!("https://sqs.{region}.amazonaws.com/{account_id}/{dlq_name}"),
            csv_queue_url: format!(
                "https://sqs.{region}.amazonaws.com/{account_id}/{csv_queue_name}"
            ),
            topic_arn: format!("arn:aws:sns:{region}:{account_id}:{topic_name}"),
            dlq_name,
            csv_queue_name,
            topic_name,
            dashboard_name: format!("chaos-dashboard-{suffix}"),
            parameter_name: format!("/chaoslab/{suffix}/failure-injection"),
            suffix: suffix.to_owned(),
        }
    }

    /// The dead-letter queue's ARN, the function's dead-letter target.
    pub fn dlq_arn(&self) -> String {
        self.queue_arn(&self.dlq_name)
    }

    /// The CSV queue's ARN.
    pub fn csv_queue_arn(&self) -> String {
        self.queue_arn(&self.csv_queue_name)
    }

    fn queue_arn(&self, name: &str) -> String {
        // The account id is the URL's path segment before the queue name.
        let account = self
            .dlq_url
            .rsplit('/')
            .nth(1)
            .unwrap_or(EMBEDDED_ACCOUNT_ID);
        format!("arn:aws:sqs:{}:{account}:{name}", self.region)
    }
}

impl From<&StackNames> for crate::dashboard::DashboardNames {
    /// The names the shared dashboard template's placeholders stand for.
    fn from(names: &StackNames) -> Self {
        Self {
            region: names.region.clone(),
            function_name: names.function_name.clone(),
            csv_queue_name: names.csv_queue_name.clone(),
            dlq_name: names.dlq_name.clone(),
            topic_name: names.topic_name.clone(),
        }
    }
}

/// Which backend runs the pipelines.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// In this process, with AWS's semantics.
    Embedded,
    /// On AWS, in stacks created by the project's Terraform.
    Aws,
}

/// The ETL function's configuration as a participant inspects it: Lambda's function
/// configuration, its asynchronous invocation config and its dead-letter target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FunctionConfiguration {
    /// The function's name.
    pub function_name: String,
    /// Lambda runtime, e.g. `provided.al2023`.
    pub runtime: String,
    /// Handler.
    pub handler: String,
    /// Instruction set.
    pub architecture: String,
    /// Memory in MB.
    pub memory_mb: u32,
    /// Timeout of one attempt, in seconds (may be fractional).
    pub timeout_seconds: f64,
    /// Retries after a failed asynchronous attempt.
    pub maximum_retry_attempts: u32,
    /// How long an event may wait, in seconds.
    pub maximum_event_age_seconds: u64,
    /// Where events go after the last attempt.
    pub dead_letter_target_arn: String,
    /// Reserved concurrency, if any.
    pub reserved_concurrency: Option<u32>,
    /// Environment variables, e.g. `FAILURE_INJECTION_PARAM` (the fault document's SSM
    /// parameter) and `FAILURE_CACHE_TTL`.
    #[serde(default)]
    pub environment: std::collections::BTreeMap<String, String>,
}

/// A CSV notification received from a stack's csv queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsvMessage {
    /// SQS's message id.
    pub message_id: String,
    /// Handle to delete it with.
    pub receipt_handle: String,
    /// The body: an SNS envelope around the S3 event.
    pub body: String,
    /// How many times it has been received.
    pub receive_count: u32,
    /// When SQS accepted it into the queue (its `SentTimestamp` attribute), epoch ms of pipeline
    /// time; `None` if SQS did not say.
    pub sent_timestamp: Option<crate::metrics::EpochMillis>,
}

/// Why a backend call failed. The API maps these to HTTP statuses.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The participant has no stack.
    #[error("no pipeline stack for participant {0:?}")]
    UnknownStack(String),
    /// The request is invalid (a bad query, an out-of-range setting, a bad receipt handle).
    #[error("{0}")]
    InvalidRequest(String),
    /// The backend cannot serve the request now (AWS unreachable, throttled, no credentials).
    #[error("the pipeline backend is unavailable: {0}")]
    Unavailable(String),
}

/// What the control plane needs from a pipeline backend. Both backends implement it, so the
/// pages, the API and the traffic generators work the same on either.
/// The most entries one `DeleteMessageBatch` takes.
pub const MAX_DELETE_BATCH: usize = 10;

/// Refuses a batch SQS would refuse: empty, over ten entries, or with an empty handle.
pub fn check_delete_batch(receipt_handles: &[String]) -> Result<(), BackendError> {
    if !(1..=MAX_DELETE_BATCH).contains(&receipt_handles.len()) {
        return Err(BackendError::InvalidRequest(format!(
            "a delete batch holds 1 to {MAX_DELETE_BATCH} receipt handles, got {}",
            receipt_handles.len()
        )));
    }
    if receipt_handles.iter().any(String::is_empty) {
        return Err(BackendError::InvalidRequest(
            "a receipt handle is empty".to_owned(),
        ));
    }
    Ok(())
}

#[async_trait::async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug + 'static {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;
    /// Pipeline time (on AWS, the wall clock).
    fn clock(&self) -> PipelineClock;
    /// Creates (embedded) or assigns (AWS) a stack for a participant.
    async fn create_stack(&self, participant: &str) -> Result<StackNames, BackendError>;
    /// A participant's stack names, if they have a stack.
    fn stack_names(&self, participant: &str) -> Option<StackNames>;
    /// The key of a participant's stack in the Terraform (its entry in `participants`), when
    /// the stack comes from Terraform. None in the embedded backend.
    fn terraform_key(&self, _participant: &str) -> Option<String> {
        None
    }
    /// Empties a participant's stack and restores its defaults.
    async fn reset_stack(&self, participant: &str) -> Result<(), BackendError>;
    /// Deletes (embedded) or releases (AWS) a participant's stack.
    async fn remove_stack(&self, participant: &str) -> Result<(), BackendError>;
    /// Writes an object into the stack's bucket (the publisher's S3 PutObject).
    async fn put_object(
        &self,
        participant: &str,
        key: &str,
        body: bytes::Bytes,
    ) -> Result<(), BackendError>;
    /// Receives CSV notifications (the subscriber's SQS ReceiveMessage, long polling).
    async fn receive_csv_messages(
        &self,
        participant: &str,
        max: usize,
        wait: std::time::Duration,
    ) -> Result<Vec<CsvMessage>, BackendError>;
    /// Deletes a received CSV notification.
    async fn delete_csv_message(
        &self,
        participant: &str,
        receipt_handle: &str,
    ) -> Result<(), BackendError>;
    /// Deletes up to [`MAX_DELETE_BATCH`] received CSV notifications in one call, as SQS's
    /// `DeleteMessageBatch` does: answers, for each receipt handle in order, `None` when it was
    /// deleted, or why it was not. An error means the call as a whole failed.
    async fn delete_csv_messages(
        &self,
        participant: &str,
        receipt_handles: &[String],
    ) -> Result<Vec<Option<String>>, BackendError>;
    /// The function's configuration.
    async fn function_configuration(
        &self,
        participant: &str,
    ) -> Result<FunctionConfiguration, BackendError>;
    /// Changes the function's settings (a field left out keeps its value) and answers the
    /// configuration that results. The change has been checked against Lambda's limits.
    async fn update_function(
        &self,
        participant: &str,
        change: &FunctionChange,
    ) -> Result<FunctionConfiguration, BackendError>;
    /// Runs a GetMetricData request against the stack's metrics.
    async fn get_metric_data(
        &self,
        participant: &str,
        request: crate::metrics::GetMetricDataRequest,
    ) -> Result<crate::metrics::GetMetricDataResponse, BackendError>;
    /// Where each published object is.
    async fn accounting(&self, participant: &str) -> Result<Accounting, BackendError>;
    /// The fault-injection parameter.
    async fn fault_injection(&self, participant: &str) -> Result<FaultParameter, BackendError>;
    /// Replaces the fault-injection parameter.
    async fn set_fault_injection(
        &self,
        participant: &str,
        fault_injection: FaultParameter,
    ) -> Result<(), BackendError>;
    /// Writes an object into the stack's bucket unless its key is taken (S3's conditional
    /// `PutObject`, `If-None-Match: *`); returns whether it was written. A write is an ordinary
    /// upload: S3 notifies the function of it as of any other.
    async fn put_object_if_absent(
        &self,
        participant: &str,
        key: &str,
        body: bytes::Bytes,
    ) -> Result<bool, BackendError>;
    /// Invokes the function once, synchronously (Lambda's `Invoke` with `RequestResponse` and
    /// `LogType=Tail`), with `event` (JSON text) as its payload: no retries, no dead-letter queue.
    /// A function error is a report, not an error: an error means the call could not be made.
    async fn invoke_function(
        &self,
        participant: &str,
        event: &str,
    ) -> Result<InvocationReport, BackendError>;
    /// Up to `limit` messages of the dead-letter queue that pass `filter`, read without
    /// consuming them (newest first where the backend can tell; SQS answers a sample), how many
    /// it holds and how many pass.
    async fn list_dead_letters(
        &self,
        participant: &str,
        limit: usize,
        filter: Option<&ErrorFilter>,
    ) -> Result<DeadLetterList, BackendError>;
    /// Hands up to `max` dead-letter messages back to the function: each message's event is
    /// invoked asynchronously again, then the message is deleted.
    async fn redrive_dead_letters(
        &self,
        participant: &str,
        max: usize,
    ) -> Result<Redrive, BackendError>;
    /// Saves what must survive a restart and stops background work; called once, when the
    /// server stops. Nothing to do by default (AWS keeps its own state).
    fn shutdown(&self) {}
}
