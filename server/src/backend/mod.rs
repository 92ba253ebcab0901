//! The pipeline backends, and the stack names both share.
//!
//! - [`embedded`]: the whole pipeline in this process, with AWS's semantics (the default).

pub mod embedded;

use serde::{Deserialize, Serialize};

/// The account id the embedded backend uses in ARNs and queue URLs.
pub const EMBEDDED_ACCOUNT_ID: &str = "123456789012";

/// One participant's pipeline stack: the names of its resources. The fields and their names are
/// the Terraform module's outputs (see `terraform/README.md`), so an AWS stack and an embedded
/// one are described the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
