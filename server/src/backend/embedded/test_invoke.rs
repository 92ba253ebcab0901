//! A synchronous test invocation of a stack's function, as the Lambda console's Test button
//! makes one (`Invoke`, `RequestResponse`, `LogType=Tail`).
//!
//! It runs exactly as one asynchronous attempt does ([`super::invoker`]): the same fault wrapper
//! with the stack's fault-injection parameter and injector cache, the function's timeout, pipeline
//! time, and the handler's writes applied to the bucket on success (so a CSV output and its
//! notification happen). What differs is what Lambda does differently for a synchronous call:
//! - there are no retries and no dead-letter queue: the caller gets the error;
//! - the asynchronous queue and the accounting are untouched: no object was published;
//! - `Invocations`, `Errors`, `Duration`, `ConcurrentExecutions` and `chaoslab/InjectedFaults` are
//!   recorded as for any invocation, and a call that finds the function at its concurrency limit
//!   is throttled (`TooManyRequestsException`, counted in `Throttles`) instead of queued;
//! - the function's log lines of the invocation are captured and returned with Lambda's `START`,
//!   `END` and `REPORT` lines, as `LogType=Tail` returns them.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use chaoslab_etl::event::S3Event;
use chaoslab_etl::fault::{
    DenylistStore, Injection, InvocationError, Response, run_invocation, s3_virtual_host,
};
use chaoslab_etl::handler::handle_event;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::fmt::MakeWriter;

use super::faults::PipelineTime;
use super::invoker::AttemptStore;
use super::stack::{Stack, StackError, new_id};
use crate::backend::invocation::{
    FiredFault, FunctionError, InvocationOutcome, InvocationReport, TIMEOUT_ERROR_TYPE, end_lines,
    start_line,
};
use crate::metrics::rfc3339;

impl Stack {
    /// Runs one synchronous invocation of the function with `payload` (JSON) as its event.
    pub async fn invoke(&self, payload: &str) -> Result<InvocationReport, StackError> {
        invoke(self, payload).await
    }
}

async fn invoke(stack: &Stack, payload: &str) -> Result<InvocationReport, StackError> {
    let request_id = new_id();
    let at = stack.now();
    let Some(slot) = Slot::take(stack) else {
        // Lambda refuses a synchronous call over the concurrency limit instead of queueing it.
        let mut state = stack.lock();
        state.record(&stack.metric_ids.throttles, at, 1.0);
        return Ok(InvocationReport {
            request_id,
            at,
            outcome: InvocationOutcome::Failed,
            duration_ms: 0.0,
            result: None,
            error: Some(FunctionError {
                error_type: "TooManyRequestsException".to_owned(),
                error_message: "Rate Exceeded.".to_owned(),
            }),
            fault: None,
            log: Vec::new(),
        });
    };
    let (timeout, memory_mb) = {
        let state = stack.lock();
        (state.config.timeout, state.config.memory_mb)
    };
    let started = tokio::time::Instant::now();
    let store = AttemptStore::new(stack);
    let region = stack.names().region.clone();
    let log = LogBuffer::default();
    let run = async {
        let invocation = run_invocation(
            &stack.faults,
            &PipelineTime(stack.clock),
            timeout,
            |block| {
                let store = DenylistStore::new(&store, block, move |bucket: &str| {
                    s3_virtual_host(bucket, &region)
                });
                async move {
                    // The Lambda runtime deserialises the payload into the handler's event type
                    // before the handler runs; a payload that does not fit fails there.
                    let event: S3Event =
                        serde_json::from_str(payload).map_err(|error| FunctionError {
                            error_type: "DeserializeError".to_owned(),
                            error_message: format!(
                                "failed to deserialize the incoming data into the function's payload type: {error}"
                            ),
                        })?;
                    handle_event(&store, &event)
                        .await
                        .map_err(|error| FunctionError {
                            error_type: error.error_type().to_owned(),
                            error_message: error.to_string(),
                        })
                }
            },
        )
        .await;
        if invocation.injection.fired()
            && !matches!(invocation.result, Err(InvocationError::TimedOut { .. }))
        {
            // The Lambda binary's line (see lambda/src/main.rs).
            tracing::info!(fault = %invocation.injection, "fault injected");
        }
        invocation
    };
    let invocation = run.with_subscriber(log.subscriber()).await;

    let timeout_ms = timeout.as_secs_f64() * 1000.0;
    // From nanoseconds, so a whole number of milliseconds stays whole.
    let duration_ms =
        (started.elapsed().as_nanos() as f64 / 1e6 * stack.clock.scale()).min(timeout_ms);
    let injection = invocation.injection;
    let fault = injection
        .fired()
        .then(|| FiredFault::from_description(&injection.to_string()));
    let mut staged = Vec::new();
    let (outcome, result, error) = match invocation.result {
        Ok(Response::Handler(report)) => {
            staged = store.into_staged();
            let mut result = serde_json::to_value(&report).unwrap_or_default();
            if let (serde_json::Value::Object(fields), true) = (&mut result, injection.fired()) {
                fields.insert("injectedFault".to_owned(), injection.to_string().into());
            }
            (InvocationOutcome::Succeeded, Some(result), None)
        }
        Ok(Response::StatusCode(answer)) => (
            InvocationOutcome::Succeeded,
            serde_json::to_value(answer).ok(),
            None,
        ),
        Err(InvocationError::Injected(fault)) => (
            InvocationOutcome::Failed,
            None,
            Some(FunctionError {
                error_type: fault.error_type().to_owned(),
                error_message: fault.to_string(),
            }),
        ),
        Err(InvocationError::Handler(error)) => (
            InvocationOutcome::Failed,
            None,
            Some(FunctionError {
                error_type: error.error_type,
                error_message: with_fault(error.error_message, &injection),
            }),
        ),
        Err(InvocationError::TimedOut { timeout }) => (
            InvocationOutcome::TimedOut,
            None,
            Some(FunctionError {
                error_type: TIMEOUT_ERROR_TYPE.to_owned(),
                error_message: format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
            }),
        ),
    };

    let concurrency = slot.concurrency;
    stack.transact(|state, ops, now| {
        let ids = &stack.metric_ids;
        state.record(&ids.invocations, at, 1.0);
        state.record(&ids.duration, at, duration_ms);
        state.record(&ids.concurrent_executions, at, f64::from(concurrency));
        if outcome != InvocationOutcome::Succeeded {
            state.record(&ids.errors, at, 1.0);
        }
        if injection.fired() {
            state.record(&ids.injected_faults, at, 1.0);
        }
        // The handler's writes land as a real invocation's would: the CSV, and its notification
        // through the topic to the csv queue.
        for put in staged {
            if let Err(error) = stack.put_in_bucket(
                state,
                ops,
                &put.key,
                put.body,
                &put.content_type,
                now,
                &request_id,
            ) {
                tracing::warn!(stack = stack.id(), key = put.key, %error, "the function's output was refused");
            }
        }
        Ok(())
    })?;
    drop(slot);
    // What the invocation wrote is saved before the caller sees its report.
    stack.settled().await?;

    let mut lines = vec![start_line(&request_id)];
    lines.extend(log.lines());
    if outcome == InvocationOutcome::TimedOut
        && let Some(error) = &error
    {
        // Lambda's own line when it stops a function at its timeout.
        let ended = rfc3339::format_millis(at + duration_ms as i64);
        lines.push(format!("{ended} {request_id} {}", error.error_message));
    }
    lines.extend(end_lines(
        &request_id,
        duration_ms,
        memory_mb,
        outcome == InvocationOutcome::TimedOut,
    ));
    Ok(InvocationReport {
        request_id,
        at,
        outcome,
        duration_ms,
        result,
        error,
        fault,
        log: lines,
    })
}

/// A handler error's message, naming the fault that fired, as the Lambda binary writes it.
fn with_fault(message: String, injection: &Injection) -> String {
    if injection.fired() {
        format!("{message} [injected fault: {injection}]")
    } else {
        message
    }
}

/// One execution slot under the function's concurrency limit, given back when dropped (also
/// when the caller goes away mid-invocation).
struct Slot<'a> {
    stack: &'a Stack,
    /// Concurrent executions with this one.
    concurrency: u32,
}

impl<'a> Slot<'a> {
    fn take(stack: &'a Stack) -> Option<Self> {
        let mut state = stack.lock();
        if state.running >= state.config.concurrency_limit() {
            return None;
        }
        state.running += 1;
        Some(Self {
            stack,
            concurrency: state.running,
        })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.stack.lock();
        state.running = state.running.saturating_sub(1);
        drop(state);
        // A freed slot may let a throttled asynchronous event run.
        self.stack.invoker_wake.notify_one();
    }
}

/// The function's log lines during one invocation, as its subscriber in Lambda writes them: no
/// colours, no timestamps (CloudWatch stamps each line), INFO and above.
#[derive(Debug, Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// A subscriber writing here, for the invocation's future only.
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .with_max_level(tracing::Level::INFO)
            .finish()
    }

    /// The lines written, trimmed.
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}
