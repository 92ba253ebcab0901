//! The [`Backend`] interface over the embedded [`Engine`]: one stack per participant.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::stack::{QueueKind, Stack, StackError};
use super::{Engine, EngineError};
use crate::backend::dead_letters::{self, DeadLetter, DeadLetterList, ErrorFilter, Redrive};
use crate::backend::{
    Accounting, Backend, BackendError, BackendKind, CsvMessage, FaultParameter, FunctionChange,
    FunctionConfiguration, InvocationReport, PipelineClock, StackNames, check_delete_batch,
};
use crate::metrics::{GetMetricDataRequest, GetMetricDataResponse};

/// The embedded engine as a [`Backend`].
#[derive(Debug, Clone)]
pub struct EmbeddedBackend {
    engine: Arc<Engine>,
}

impl EmbeddedBackend {
    /// Wraps an open engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn stack(&self, participant: &str) -> Result<Arc<Stack>, BackendError> {
        self.engine
            .stack(participant)
            .ok_or_else(|| BackendError::UnknownStack(participant.to_owned()))
    }
}

impl From<StackError> for BackendError {
    fn from(error: StackError) -> Self {
        match error {
            StackError::Journal(error) => Self::Unavailable(error.to_string()),
            other => Self::InvalidRequest(other.to_string()),
        }
    }
}

impl From<EngineError> for BackendError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::StackExists(_) | EngineError::InvalidStackId(_) => {
                Self::InvalidRequest(error.to_string())
            }
            other => Self::Unavailable(other.to_string()),
        }
    }
}

#[async_trait::async_trait]
impl Backend for EmbeddedBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Embedded
    }

    fn clock(&self) -> PipelineClock {
        self.engine.clock()
    }

    async fn create_stack(&self, participant: &str) -> Result<StackNames, BackendError> {
        Ok(self.engine.create_stack(participant)?.names().clone())
    }

    fn stack_names(&self, participant: &str) -> Option<StackNames> {
        self.engine
            .stack(participant)
            .map(|stack| stack.names().clone())
    }

    async fn reset_stack(&self, participant: &str) -> Result<(), BackendError> {
        let stack = self.stack(participant)?;
        stack.reset_queued()?;
        Ok(stack.settled().await?)
    }

    async fn remove_stack(&self, participant: &str) -> Result<(), BackendError> {
        if self.engine.remove_stack(participant)? {
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
        let stack = self.stack(participant)?;
        stack.put_object_queued(key, body, "application/json")?;
        Ok(stack.settled().await?)
    }

    async fn receive_csv_messages(
        &self,
        participant: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<CsvMessage>, BackendError> {
        let messages = self
            .stack(participant)?
            .receive_messages(QueueKind::Csv, max, wait)
            .await?;
        Ok(messages
            .into_iter()
            .map(|message| CsvMessage {
                message_id: message.message_id,
                receipt_handle: message.receipt_handle,
                body: message.body,
                receive_count: message.approximate_receive_count,
                sent_timestamp: Some(message.sent_timestamp),
            })
            .collect())
    }

    async fn delete_csv_message(
        &self,
        participant: &str,
        receipt_handle: &str,
    ) -> Result<(), BackendError> {
        let stack = self.stack(participant)?;
        stack.delete_message_queued(QueueKind::Csv, receipt_handle)?;
        Ok(stack.settled().await?)
    }

    async fn delete_csv_messages(
        &self,
        participant: &str,
        receipt_handles: &[String],
    ) -> Result<Vec<Option<String>>, BackendError> {
        check_delete_batch(receipt_handles)?;
        let stack = self.stack(participant)?;
        let outcomes = stack.delete_messages_queued(QueueKind::Csv, receipt_handles)?;
        stack.settled().await?;
        Ok(outcomes)
    }

    async fn function_configuration(
        &self,
        participant: &str,
    ) -> Result<FunctionConfiguration, BackendError> {
        let stack = self.stack(participant)?;
        let config = stack.function_config();
        Ok(FunctionConfiguration {
            function_name: stack.names().function_name.clone(),
            runtime: config.runtime,
            handler: config.handler,
            architecture: config.architecture,
            memory_mb: config.memory_mb,
            timeout_seconds: config.timeout.as_secs_f64(),
            maximum_retry_attempts: config.maximum_retry_attempts,
            maximum_event_age_seconds: config.maximum_event_age.as_secs(),
            dead_letter_target_arn: stack.names().dlq_arn(),
            reserved_concurrency: config.reserved_concurrency,
            environment: stack.environment(),
        })
    }

    async fn update_function(
        &self,
        participant: &str,
        change: &FunctionChange,
    ) -> Result<FunctionConfiguration, BackendError> {
        let stack = self.stack(participant)?;
        let mut config = stack.function_config();
        if let Some(seconds) = change.timeout_seconds {
            config.timeout = Duration::from_secs(u64::from(seconds));
        }
        if let Some(memory) = change.memory_mb {
            config.memory_mb = memory;
        }
        if let Some(retries) = change.maximum_retry_attempts {
            config.maximum_retry_attempts = retries;
        }
        if let Some(seconds) = change.maximum_event_age_seconds {
            config.maximum_event_age = Duration::from_secs(seconds);
        }
        config.reserved_concurrency = change.reserved_over(config.reserved_concurrency);
        stack.update_function_config_queued(config)?;
        stack.settled().await?;
        self.function_configuration(participant).await
    }

    async fn get_metric_data(
        &self,
        participant: &str,
        request: GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, BackendError> {
        Ok(self.stack(participant)?.metric_data(&request)?)
    }

    async fn accounting(&self, participant: &str) -> Result<Accounting, BackendError> {
        let stack = self.stack(participant)?;
        let accounting = stack.accounting();
        // Nothing is reported that a crash could still take back.
        stack.settled().await?;
        Ok(accounting)
    }

    async fn fault_injection(&self, participant: &str) -> Result<FaultParameter, BackendError> {
        Ok(self.stack(participant)?.fault_injection())
    }

    async fn set_fault_injection(
        &self,
        participant: &str,
        fault_injection: FaultParameter,
    ) -> Result<(), BackendError> {
        let stack = self.stack(participant)?;
        stack.set_fault_injection_queued(fault_injection)?;
        Ok(stack.settled().await?)
    }

    async fn put_object_if_absent(
        &self,
        participant: &str,
        key: &str,
        body: Bytes,
    ) -> Result<bool, BackendError> {
        let stack = self.stack(participant)?;
        let written = stack.put_object_if_absent_queued(key, body, "application/json")?;
        stack.settled().await?;
        Ok(written)
    }

    async fn invoke_function(
        &self,
        participant: &str,
        event: &str,
    ) -> Result<InvocationReport, BackendError> {
        Ok(self.stack(participant)?.invoke(event).await?)
    }

    async fn list_dead_letters(
        &self,
        participant: &str,
        limit: usize,
        filter: Option<&ErrorFilter>,
    ) -> Result<DeadLetterList, BackendError> {
        let (messages, total, matching) = self.stack(participant)?.peek_dead_letters(limit, filter);
        let messages = messages
            .into_iter()
            .map(|message| {
                let attribute = |name| {
                    dead_letters::attribute(
                        message
                            .attributes
                            .iter()
                            .map(|found| (found.name.as_str(), found.string_value.as_str())),
                        name,
                    )
                };
                DeadLetter {
                    request_id: attribute("RequestID"),
                    error_code: attribute("ErrorCode"),
                    error_message: attribute("ErrorMessage"),
                    object_keys: dead_letters::object_keys(&message.body),
                    message_id: message.message_id.clone(),
                    sent_at: message.sent_at,
                    body: message.body.clone(),
                }
            })
            .collect();
        Ok(DeadLetterList {
            total,
            matching,
            messages,
        })
    }

    async fn redrive_dead_letters(
        &self,
        participant: &str,
        max: usize,
    ) -> Result<Redrive, BackendError> {
        let stack = self.stack(participant)?;
        let (redriven, remaining) = stack.redrive_dead_letters_queued(max)?;
        stack.settled().await?;
        Ok(Redrive {
            redriven,
            remaining,
        })
    }

    fn shutdown(&self) {
        self.engine.shutdown();
    }
}
