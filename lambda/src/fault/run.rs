//! Running one invocation under its drawn fault, and inside the function's timeout.
//!
//! failure-lambda wraps the handler: it reads the document, draws, applies the fault, then calls
//! the handler unless the fault replaces it. Everything happens inside the invocation, so the
//! function's timeout covers the latency as well as the handler: a latency of at least the
//! timeout ends the invocation with Lambda's "Task timed out after 3.00 seconds".
//!
//! - [`invoke`] applies the fault and runs the handler; the Lambda binary uses it, since Lambda
//!   enforces the timeout itself.
//! - [`run_invocation`] does the same inside a timeout, for a caller that plays Lambda (the
//!   embedded engine). Its [`Timer`] may scale time (pipeline time to wall time).

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::info;

use super::clock::Clock;
use super::denylist::NetworkBlock;
use super::disk::{Disk, DiskError};
use super::injector::{DocumentIssue, FaultInjector, Injection};
use super::random::RandomSource;
use super::source::DocumentSource;

/// Sleeps: the injected latency, and the timeout of [`run_invocation`].
pub trait Timer: Send + Sync {
    /// Completes after `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// Tokio's timer, in wall time (or tokio's paused time in tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// The `statuscode` mode's result, `{"statusCode": n}`, returned instead of the handler's.
///
/// For an asynchronous invocation (S3 events) this is a success: Lambda neither retries nor
/// sends the event to the dead-letter queue, and the object is silently never converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCodeResponse {
    /// The document's `statusCode`.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
}

/// What a successful invocation returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response<T> {
    /// The handler ran and returned this.
    Handler(T),
    /// The `statuscode` fault answered instead of the handler.
    StatusCode(StatusCodeResponse),
}

/// A fault that fails the invocation before the handler.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The `exception` mode: the document's `exceptionMsg`, as the error message.
    #[error("{message}")]
    Exception {
        /// `exceptionMsg`.
        message: String,
    },
    /// The `diskspace` mode could not write (typically `/tmp` is full).
    ///
    /// failure-lambda ignores `dd`'s failure and runs the handler anyway; the ETL handler does
    /// not use `/tmp`, so the failure is reported instead, to make a full disk visible.
    #[error(transparent)]
    Disk(#[from] DiskError),
}

impl FaultError {
    /// A name for Lambda's `errorType`, saying which fault fired.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Exception { .. } => "InjectedException",
            Self::Disk(_) => "InjectedDiskSpace",
        }
    }
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError<E> {
    /// A fault failed it before the handler ran.
    #[error(transparent)]
    Injected(FaultError),
    /// The handler failed (under the denylist, possibly from an intercepted call).
    #[error(transparent)]
    Handler(E),
    /// The fault and handler together ran past the function's timeout.
    #[error("Task timed out after {:.2} seconds", .timeout.as_secs_f64())]
    TimedOut {
        /// The function's timeout.
        timeout: Duration,
    },
}

/// One invocation: the fault drawn, why the document gave none (if so), and the result.
#[derive(Debug)]
pub struct InvocationOutcome<T, E> {
    /// The fault drawn for this invocation ([`Injection::None`] if none fired).
    pub injection: Injection,
    /// Why no document applied, when it was unreadable or invalid.
    pub issue: Option<DocumentIssue>,
    /// What the invocation returned.
    pub result: Result<Response<T>, InvocationError<E>>,
}

/// Draws this invocation's fault, applies it and runs `handler` unless the fault replaces it.
///
/// `handler` gets the invocation's [`NetworkBlock`], to wrap its object store in a
/// [`DenylistStore`](super::DenylistStore); the block is on only when the denylist fault fired.
pub async fn invoke<S, C, R, D, T, H, Fut, O, E>(
    injector: &FaultInjector<S, C, R, D>,
    timer: &T,
    handler: H,
) -> InvocationOutcome<O, E>
where
    S: DocumentSource,
    C: Clock,
    R: RandomSource,
    D: Disk,
    T: Timer,
    H: FnOnce(NetworkBlock) -> Fut,
    Fut: Future<Output = Result<O, E>>,
{
    let (injection, loaded) = injector.draw().await;
    let result = apply(injector.disk(), timer, &injection, handler).await;
    InvocationOutcome {
        injection,
        issue: loaded.issue().cloned(),
        result,
    }
}

/// [`invoke`] inside `timeout`: the document read, the fault and the handler all count, as
/// they run inside the handler in failure-lambda. Past the timeout the invocation is dropped
/// and fails with "Task timed out after N.NN seconds"; finishing exactly at the timeout counts
/// as timed out too.
pub async fn run_invocation<S, C, R, D, T, H, Fut, O, E>(
    injector: &FaultInjector<S, C, R, D>,
    timer: &T,
    timeout: Duration,
    handler: H,
) -> InvocationOutcome<O, E>
where
    S: DocumentSource,
    C: Clock,
    R: RandomSource,
    D: Disk,
    T: Timer,
    H: FnOnce(NetworkBlock) -> Fut,
    Fut: Future<Output = Result<O, E>>,
{
    let mut drawn = None;
    let finished = {
        let run = async {
            let (injection, loaded) = injector.draw().await;
            drawn = Some((injection.clone(), loaded.issue().cloned()));
            apply(injector.disk(), timer, &injection, handler).await
        };
        before_deadline(run, timer.sleep(timeout)).await
    };
    let (injection, issue) = drawn.unwrap_or((Injection::None, None));
    InvocationOutcome {
        injection,
        issue,
        result: finished.unwrap_or(Err(InvocationError::TimedOut { timeout })),
    }
}

/// `work`'s output, or `None` once `deadline` completes; the deadline wins a tie.
async fn before_deadline<W, L>(work: W, deadline: L) -> Option<W::Output>
where
    W: Future,
    L: Future<Output = ()>,
{
    let mut work = pin!(work);
    let mut deadline = pin!(deadline);
    poll_fn(|context| {
        if deadline.as_mut().poll(context).is_ready() {
            return Poll::Ready(None);
        }
        work.as_mut().poll(context).map(Some)
    })
    .await
}

/// Applies a drawn fault and runs the handler unless the fault replaces it. The log lines are
/// failure-lambda's.
async fn apply<D, T, H, Fut, O, E>(
    disk: &D,
    timer: &T,
    injection: &Injection,
    handler: H,
) -> Result<Response<O>, InvocationError<E>>
where
    D: Disk,
    T: Timer,
    H: FnOnce(NetworkBlock) -> Fut,
    Fut: Future<Output = Result<O, E>>,
{
    match injection {
        Injection::None => {}
        Injection::Latency(latency) => {
            info!("Injecting {} ms latency.", latency.as_millis());
            timer.sleep(*latency).await;
        }
        Injection::Exception(message) => {
            info!("Injecting exception message: {message}");
            return Err(InvocationError::Injected(FaultError::Exception {
                message: message.clone(),
            }));
        }
        Injection::StatusCode(status_code) => {
            info!("Injecting status code: {status_code}");
            return Ok(Response::StatusCode(StatusCodeResponse {
                status_code: *status_code,
            }));
        }
        Injection::DiskSpace(megabytes) => {
            info!("Injecting disk space: {megabytes} MB");
            disk.fill(*megabytes)
                .await
                .map_err(|error| InvocationError::Injected(error.into()))?;
        }
        Injection::Denylist(denylist) => {
            info!(
                "Injecting dependency failure through a network block for denylisted sites: {}",
                denylist.patterns().join(",")
            );
        }
    }
    handler(injection.network_block())
        .await
        .map(Response::Handler)
        .map_err(InvocationError::Handler)
}
