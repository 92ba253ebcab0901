//! The AWS backend: the real pipeline, in the stacks the project's Terraform created, reached
//! with the AWS SDK for Rust.
//!
//! - [`stacks`] reads `terraform output -json`: one stack per participant;
//! - [`assignments`] remembers which participant has which stack;
//! - [`clients`] configures the SDK: credential and region chain, `AWS_ENDPOINT_URL`, retries
//!   and timeouts;
//! - [`bucket`], [`queues`] and [`function`] are the publisher, the subscriber, the inspector and
//!   the fault-injection parameter;
//! - [`invoke`] is the test invocation and the redrive's asynchronous invocations, and
//!   [`dead_letters`] lists and redrives the dead-letter queue;
//! - [`metrics`] maps GetMetricData to and from CloudWatch and derives the accounting;
//! - [`errors`] turns SDK errors into readable [`BackendError`]s.
//!
//! Unlike the embedded engine, AWS keeps no per-object ledger, so [`Backend::accounting`] is an
//! estimate from CloudWatch metrics that trails the pipeline by a minute or more (see
//! [`metrics::accounting_request`]). Pipeline time is the wall clock.

pub mod assignments;
pub mod bucket;
pub mod clients;
pub mod dead_letters;
pub mod errors;
pub mod function;
pub mod invoke;
pub mod metrics;
pub mod queues;
pub mod stacks;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use bytes::Bytes;

use self::assignments::{AssignmentError, Assignments};
use self::clients::{CredentialsProblem, RegionClients};
use self::errors::Call;
use self::stacks::{StackCatalog, StacksFileError};
use super::{
    Accounting, DeadLetterList, ErrorFilter, FaultParameter, FunctionChange, InvocationReport,
    PipelineClock, Redrive,
};
use super::{Backend, BackendError, BackendKind, CsvMessage, FunctionConfiguration, StackNames};
use crate::database::DatabaseError;
use crate::metrics::{EpochMillis, GetMetricDataRequest, GetMetricDataResponse};

/// The highest publisher or subscriber rate on AWS, per second: every object costs S3, Lambda,
/// SNS and SQS requests, so the cap is lower than the embedded backend's.
pub const AWS_MAX_RATE: f64 = 5.0;
/// The publisher's automatic stop on AWS, in seconds: half an hour, so forgotten traffic does not
/// run up a bill.
pub const AWS_DEFAULT_STOP_AFTER_S: u64 = 1800;
/// The latest automatic stop a participant may ask for on AWS, in seconds: two hours.
pub const AWS_MAX_STOP_AFTER_S: u64 = 2 * 3_600;

/// Why the AWS backend refused to start.
#[derive(Debug, thiserror::Error)]
pub enum AwsStartError {
    /// The stacks file is missing, malformed or empty.
    #[error(transparent)]
    Stacks(#[from] StacksFileError),
    /// The credentials are missing, expired or cannot be loaded.
    #[error(transparent)]
    Credentials(#[from] CredentialsProblem),
    /// The database holding the assignments cannot be opened.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// The assignments cannot be updated.
    #[error(transparent)]
    Assignments(#[from] AssignmentError),
    /// No async runtime could run the start-up.
    #[error("cannot start the AWS backend's runtime: {0}")]
    Runtime(std::io::Error),
}

/// The pipelines on AWS, one Terraform stack per participant.
#[derive(Debug)]
pub struct AwsBackend {
    catalog: StackCatalog,
    assignments: Assignments,
    clients: BTreeMap<String, RegionClients>,
}

impl AwsBackend {
    /// Starts the backend for `chaoslab serve --backend aws`: reads the stacks file, loads the
    /// SDK configuration from the standard chain (honouring `AWS_ENDPOINT_URL`) and checks the
    /// credentials.
    pub async fn start(stacks_file: Option<&Path>, data_dir: &Path) -> Result<Self, AwsStartError> {
        let catalog = StackCatalog::read(stacks_file.ok_or(StacksFileError::NotGiven)?)?;
        let mut loader = clients::config_loader();
        // Each stack names its region; with one given, the chain need not look for a default.
        if let Some(region) = catalog.regions().into_iter().next() {
            loader = loader.region(Region::new(region));
        }
        let config = loader.load().await;
        Self::connect(&config, catalog, data_dir).await
    }

    /// Starts the backend with a loaded SDK configuration: checks its credentials, opens the
    /// assignments in `data_dir` and frees those whose stack is no longer in the catalog.
    pub async fn connect(
        config: &SdkConfig,
        catalog: StackCatalog,
        data_dir: &Path,
    ) -> Result<Self, AwsStartError> {
        clients::check_credentials(config).await?;
        let assignments = Assignments::open(data_dir)?;
        for gone in assignments.release_missing(&catalog)? {
            tracing::warn!(
                participant = %gone.participant,
                stack = %gone.stack,
                "the participant's stack is no longer in the stacks file: it was released"
            );
        }
        let clients = catalog
            .regions()
            .into_iter()
            .map(|region| {
                let clients = RegionClients::new(config, &region);
                (region, clients)
            })
            .collect();
        Ok(Self {
            catalog,
            assignments,
            clients,
        })
    }

    /// The stacks the backend hands out.
    pub fn catalog(&self) -> &StackCatalog {
        &self.catalog
    }

    /// Who has which stack.
    pub fn assignments(&self) -> &Assignments {
        &self.assignments
    }

    /// A participant's stack and the clients of its region.
    fn stack(&self, participant: &str) -> Result<(&StackNames, &RegionClients), BackendError> {
        let unknown = || BackendError::UnknownStack(participant.to_owned());
        let assignment = self.assignments.get(participant).ok_or_else(unknown)?;
        let names = self.catalog.get(&assignment.stack).ok_or_else(unknown)?;
        let clients = self.clients.get(&names.region).ok_or_else(unknown)?;
        Ok((names, clients))
    }
}

fn now_millis() -> EpochMillis {
    chrono::Utc::now().timestamp_millis()
}

fn assignment_error(error: AssignmentError) -> BackendError {
    BackendError::Unavailable(error.to_string())
}

#[async_trait::async_trait]
impl Backend for AwsBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Aws
    }

    fn clock(&self) -> PipelineClock {
        PipelineClock::new(now_millis(), 1.0)
    }

    /// Assigns the first free stack; a participant who already has one keeps it.
    async fn create_stack(&self, participant: &str) -> Result<StackNames, BackendError> {
        let assignment = self
            .assignments
            .assign(participant, &self.catalog, now_millis())
            .map_err(assignment_error)?;
        self.stack_names(participant).ok_or_else(|| {
            BackendError::Unavailable(format!(
                "stack {:?} is not in the stacks file",
                assignment.stack
            ))
        })
    }

    fn stack_names(&self, participant: &str) -> Option<StackNames> {
        let assignment = self.assignments.get(participant)?;
        self.catalog.get(&assignment.stack).cloned()
    }

    fn terraform_key(&self, participant: &str) -> Option<String> {
        self.assignments
            .get(participant)
            .map(|assignment| assignment.stack)
    }

    /// Purges both queues, deletes the `input/` and `output/` objects, puts the fault-injection
    /// parameter back to its initial value and starts the accounting afresh.
    async fn reset_stack(&self, participant: &str) -> Result<(), BackendError> {
        let (names, clients) = self.stack(participant)?;
        queues::purge_queues(clients, names).await?;
        for prefix in bucket::RESET_PREFIXES {
            bucket::delete_prefix(clients, names, prefix).await?;
        }
        function::set_fault_injection(clients, names, &FaultParameter::default()).await?;
        self.assignments
            .restart_counting(participant, now_millis())
            .map_err(assignment_error)
    }

    /// Frees the participant's stack for the next participant; the stack itself stays.
    async fn remove_stack(&self, participant: &str) -> Result<(), BackendError> {
        if self
            .assignments
            .release(participant)
            .map_err(assignment_error)?
        {
            Ok(())
        } else {
            Err(BackendError::UnknownStack(participant.to_owned()))
        }
    }

    async fn put_object(
        &self,
        participant: &str,
        key: &str,
        body: Bytes,
    ) -> Result<(), BackendError> {
        let (names, clients) = self.stack(participant)?;
        bucket::put_object(clients, names, key, body).await
    }

    async fn receive_csv_messages(
        &self,
        participant: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<CsvMessage>, BackendError> {
        let (names, clients) = self.stack(participant)?;
        queues::receive_csv_messages(clients, names, max, wait).await
    }

    async fn delete_csv_message(
        &self,
        participant: &str,
        receipt_handle: &str,
    ) -> Result<(), BackendError> {
        let (names, clients) = self.stack(participant)?;
        queues::delete_csv_message(clients, names, receipt_handle).await
    }

    async fn delete_csv_messages(
        &self,
        participant: &str,
        receipt_handles: &[String],
    ) -> Result<Vec<Option<String>>, BackendError> {
        let (names, clients) = self.stack(participant)?;
        queues::delete_csv_messages(clients, names, receipt_handles).await
    }

    async fn function_configuration(
        &self,
        participant: &str,
    ) -> Result<FunctionConfiguration, BackendError> {
        let (names, clients) = self.stack(participant)?;
        function::function_configuration(clients, names).await
    }

    async fn get_metric_data(
        &self,
        participant: &str,
        request: GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, BackendError> {
        let (names, clients) = self.stack(participant)?;
        get_metric_data(clients, names, &request).await
    }

    /// An estimate from CloudWatch since the stack was assigned or last reset; see
    /// [`metrics::accounting_request`].
    async fn accounting(&self, participant: &str) -> Result<Accounting, BackendError> {
        let since = self
            .assignments
            .get(participant)
            .map(|assignment| assignment.counting_since_ms)
            .ok_or_else(|| BackendError::UnknownStack(participant.to_owned()))?;
        let (names, clients) = self.stack(participant)?;
        let request = metrics::accounting_request(names, since, now_millis());
        let response = get_metric_data(clients, names, &request).await?;
        Ok(metrics::accounting_from(&response))
    }

    async fn update_function(
        &self,
        participant: &str,
        change: &FunctionChange,
    ) -> Result<FunctionConfiguration, BackendError> {
        let (names, clients) = self.stack(participant)?;
        function::update_function(clients, names, change).await?;
        function::function_configuration(clients, names).await
    }

    async fn fault_injection(&self, participant: &str) -> Result<FaultParameter, BackendError> {
        let (names, clients) = self.stack(participant)?;
        function::fault_injection(clients, names).await
    }

    async fn set_fault_injection(
        &self,
        participant: &str,
        fault_injection: FaultParameter,
    ) -> Result<(), BackendError> {
        let (names, clients) = self.stack(participant)?;
        function::set_fault_injection(clients, names, &fault_injection).await
    }

    async fn put_object_if_absent(
        &self,
        participant: &str,
        key: &str,
        body: Bytes,
    ) -> Result<bool, BackendError> {
        let (names, clients) = self.stack(participant)?;
        bucket::put_object_if_absent(clients, names, key, body).await
    }

    async fn invoke_function(
        &self,
        participant: &str,
        event: &str,
    ) -> Result<InvocationReport, BackendError> {
        let (names, clients) = self.stack(participant)?;
        invoke::invoke_function(clients, names, event, now_millis()).await
    }

    /// A sample, not a snapshot: see [`dead_letters`].
    async fn list_dead_letters(
        &self,
        participant: &str,
        limit: usize,
        filter: Option<&ErrorFilter>,
    ) -> Result<DeadLetterList, BackendError> {
        let (names, clients) = self.stack(participant)?;
        dead_letters::list_dead_letters(clients, names, limit, filter).await
    }

    async fn redrive_dead_letters(
        &self,
        participant: &str,
        max: usize,
    ) -> Result<Redrive, BackendError> {
        let (names, clients) = self.stack(participant)?;
        dead_letters::redrive_dead_letters(clients, names, max).await
    }
}

impl AwsBackend {
    /// [`AwsBackend::start`] for a caller that is not async, such as building the server's state:
    /// on a multi-threaded tokio runtime it blocks this worker in place, elsewhere it runs the
    /// start-up on a thread of its own.
    pub fn start_blocking(
        stacks_file: Option<&Path>,
        data_dir: &Path,
    ) -> Result<Self, AwsStartError> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| handle.block_on(Self::start(stacks_file, data_dir)))
            }
            // `block_on` inside a current-thread runtime would panic: use a runtime of our own.
            _ => std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .map_err(AwsStartError::Runtime)?
                            .block_on(Self::start(stacks_file, data_dir))
                    })
                    .join()
                    .unwrap_or_else(|_| {
                        Err(AwsStartError::Runtime(std::io::Error::other(
                            "the AWS start-up thread panicked",
                        )))
                    })
            }),
        }
    }
}

/// CloudWatch's GetMetricData for one stack, named in errors by the stack's suffix.
async fn get_metric_data(
    clients: &RegionClients,
    names: &StackNames,
    request: &GetMetricDataRequest,
) -> Result<GetMetricDataResponse, BackendError> {
    let endpoint = clients.endpoint("monitoring");
    let call = Call {
        action: "cloudwatch:GetMetricData",
        resource_kind: "stack",
        resource_name: &names.suffix,
        endpoint: &endpoint,
    };
    metrics::get_metric_data(&clients.cloudwatch, request, &call).await
}
