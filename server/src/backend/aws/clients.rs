//! The SDK clients a stack needs, configured once: the standard credential and region chain,
//! `AWS_ENDPOINT_URL` for an emulator, and deliberate retries and timeouts.
//!
//! - Retries: the SDK's standard mode, 3 attempts in all, with its exponential backoff and
//!   jitter. Throttling and 5xx answers are retried; anything else fails at once.
//! - Timeouts: 3 s to connect, 10 s for a whole operation (retries included). A long poll of the
//!   csv queue waits up to `WaitTimeSeconds` on purpose, so it gets that plus 5 s instead.
//! - Credentials are resolved once at start-up, within 5 s, so a server without them refuses to
//!   start instead of failing every request.

use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;

/// Attempts per call, the first one included.
pub const MAX_ATTEMPTS: u32 = 3;
/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one operation may take, all its attempts included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// What a long poll gets on top of its `WaitTimeSeconds`.
pub const LONG_POLL_GRACE: Duration = Duration::from_secs(5);
/// How long resolving the credentials at start-up may take.
pub const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(5);

/// What to tell someone who has no credentials configured.
pub const NO_CREDENTIALS: &str =
    "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";

/// The standard configuration chain (environment, profile, SSO, web identity, container, instance
/// metadata) with this backend's retries and timeouts. Callers may override more before
/// `load()`, e.g. an endpoint and fixed credentials in tests.
pub fn config_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(timeouts(OPERATION_TIMEOUT))
}

/// The timeouts of an operation that may take `operation` in all.
pub fn timeouts(operation: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(operation)
        .build()
}

/// Why the credentials cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsProblem {
    /// No provider in the chain has credentials.
    #[error("{NO_CREDENTIALS}")]
    Missing,
    /// The credentials have expired.
    #[error(
        "the AWS credentials expired: refresh them (for example `aws sso login`) and start again"
    )]
    Expired,
    /// Resolving them took too long (for example, waiting for an instance metadata service).
    #[error(
        "{NO_CREDENTIALS} (resolving the credential chain took more than {} s)",
        CREDENTIALS_TIMEOUT.as_secs()
    )]
    TimedOut,
    /// A provider failed.
    #[error("cannot load the AWS credentials: {0} (check AWS_PROFILE and ~/.aws/config)")]
    Failed(String),
}

/// Resolves the configured credentials once, so a server without usable credentials refuses
/// to start.
pub async fn check_credentials(config: &SdkConfig) -> Result<(), CredentialsProblem> {
    let Some(provider) = config.credentials_provider() else {
        return Err(CredentialsProblem::Missing);
    };
    match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
        Err(_) => Err(CredentialsProblem::TimedOut),
        Ok(Err(CredentialsError::CredentialsNotLoaded(_))) => Err(CredentialsProblem::Missing),
        Ok(Err(error)) => Err(CredentialsProblem::Failed(
            aws_sdk_s3::error::DisplayErrorContext(&error).to_string(),
        )),
        Ok(Ok(credentials))
            if credentials
                .expiry()
                .is_some_and(|expiry| expiry <= SystemTime::now()) =>
        {
            Err(CredentialsProblem::Expired)
        }
        Ok(Ok(_)) => Ok(()),
    }
}

/// The clients of one region, shared by every stack there. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct RegionClients {
    /// S3: the publisher's PutObject and the reset's deletes.
    pub s3: aws_sdk_s3::Client,
    /// SQS: the subscriber and the queues' purges.
    pub sqs: aws_sdk_sqs::Client,
    /// Lambda: the function's configuration.
    pub lambda: aws_sdk_lambda::Client,
    /// SSM: the fault-injection parameter.
    pub ssm: aws_sdk_ssm::Client,
    /// CloudWatch: GetMetricData.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    endpoint_url: Option<String>,
    region: String,
}

impl RegionClients {
    /// Clients for `region` from a loaded configuration. With an endpoint URL (an emulator), S3
    /// uses path-style addressing, since `<bucket>.127.0.0.1` does not resolve.
    pub fn new(config: &SdkConfig, region: &str) -> Self {
        let region_value = Region::new(region.to_owned());
        let path_style =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .region(region_value.clone())
            .force_path_style(path_style)
            .build();
        let sqs = aws_sdk_sqs::config::Builder::from(config)
            .region(region_value.clone())
            .build();
        let lambda = aws_sdk_lambda::config::Builder::from(config)
            .region(region_value.clone())
            .build();
        let ssm = aws_sdk_ssm::config::Builder::from(config)
            .region(region_value.clone())
            .build();
        let cloudwatch = aws_sdk_cloudwatch::config::Builder::from(config)
            .region(region_value)
            .build();
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            lambda: aws_sdk_lambda::Client::from_conf(lambda),
            ssm: aws_sdk_ssm::Client::from_conf(ssm),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch),
            endpoint_url: config.endpoint_url().map(str::to_owned),
            region: region.to_owned(),
        }
    }

    /// Where a service's requests go, for error messages: the emulator's URL when one is set,
    /// else the service's regional endpoint.
    pub fn endpoint(&self, service: &str) -> String {
        match &self.endpoint_url {
            Some(url) => url.clone(),
            None => format!("https://{service}.{}.amazonaws.com", self.region),
        }
    }
}
