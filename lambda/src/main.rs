//! `chaos-transformer`: the ETL function as an AWS Lambda binary for the `provided.al2023` runtime.
//!
//! A thin shim: it sets up logging, builds the S3 and SSM clients once per execution
//! environment, and hands every S3 event to [`chaoslab_etl::handler::handle_event`] under the
//! fault wrapper ([`chaoslab_etl::fault`]), as failure-lambda wraps a Node handler:
//! - `FAILURE_INJECTION_PARAM` names the SSM parameter holding the fault-injection document
//!   (unset: no fault);
//! - `FAILURE_CACHE_TTL` is how many seconds a read document is reused (default 5);
//! - latency sleeps in the invocation, so Lambda's own timeout applies to it;
//! - `diskspace` writes real files under `/tmp`;
//! - `statuscode` returns `{"statusCode": n}` as the invocation's result;
//! - the denylist applies to the S3 host (`<bucket>.s3.<region>.amazonaws.com`, or the host of
//!   `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL` when set).
//!
//! A successful result names the fault that fired in `injectedFault`; an error's `errorType`
//! says `InjectedException` or `InjectedDiskSpace`, and a handler error under a fault ends with
//! `[injected fault: …]`.
//!
//! Build the deployment package with [cargo-lambda](https://www.cargo-lambda.info/):
//!
//! ```text
//! cargo lambda build --release --package chaoslab-etl --bin chaos-transformer --features lambda --x86-64 --output-format zip
//! ```
//!
//! (`--arm64` instead of `--x86-64` for Graviton). The package lands in
//! `target/lambda/chaos-transformer/bootstrap.zip`.

use aws_config::{BehaviorVersion, SdkConfig};
use chaoslab_etl::event::S3Event;
use chaoslab_etl::fault::{
    CACHE_TTL_VARIABLE, Clock, DenylistStore, Disk, DocumentSource, FaultInjector, Injection,
    InvocationError, RandomSource, Response, SsmSource, SystemClock, ThreadRandom, TmpDisk,
    TokioTimer, endpoint_host, invoke, parse_cache_ttl, s3_virtual_host,
};
use chaoslab_etl::handler::handle_event;
use chaoslab_etl::store::{ObjectStore, S3Store};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    // A bad FAILURE_CACHE_TTL fails the init, so the configuration error is seen at once.
    let cache_ttl = parse_cache_ttl(environment(CACHE_TTL_VARIABLE).as_deref())?;
    // One client of each per execution environment: warm invocations reuse their connections.
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let store = S3Store::new(aws_sdk_s3::Client::new(&config));
    let source = SsmSource::from_env(aws_sdk_ssm::Client::new(&config));
    match source.name() {
        Some(name) => info!(parameter = name, ?cache_ttl, "fault injection reads SSM"),
        None => warn!("FAILURE_INJECTION_PARAM is not set: no fault will be injected"),
    }
    // As deployed: SSM document, wall clock, system-seeded draws, real /tmp.
    let injector: FaultInjector<SsmSource, SystemClock, ThreadRandom, TmpDisk> =
        FaultInjector::new(
            source,
            SystemClock::new(),
            ThreadRandom,
            TmpDisk::lambda_tmp(),
        )
        .with_cache_ttl(cache_ttl);
    let hosts = S3Hosts::new(&config);
    let (store, injector, hosts) = (&store, &injector, &hosts);
    // Boxed: the runtime's future type is deep enough to overflow the compiler's layout query.
    Box::pin(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<S3Event>| transform_objects(injector, store, hosts, event),
    )))
    .await
}

/// An environment variable's value, if set (lossily decoded if not UTF-8).
fn environment(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// The host each bucket's S3 calls connect to, which the denylist is tested against.
#[derive(Debug)]
struct S3Hosts {
    /// The configured endpoint's host, which every bucket shares.
    endpoint: Option<String>,
    /// The region of the virtual-hosted host.
    region: String,
}

impl S3Hosts {
    fn new(config: &SdkConfig) -> Self {
        let endpoint = environment("AWS_ENDPOINT_URL_S3")
            .filter(|url| !url.trim().is_empty())
            .or_else(|| config.endpoint_url().map(str::to_owned));
        Self {
            endpoint: endpoint
                .as_deref()
                .and_then(endpoint_host)
                .map(str::to_owned),
            region: config
                .region()
                .map_or_else(|| "us-east-1".to_owned(), ToString::to_string),
        }
    }

    fn host(&self, bucket: &str) -> String {
        match &self.endpoint {
            Some(host) => host.clone(),
            None => s3_virtual_host(bucket, &self.region),
        }
    }
}

/// Runs one invocation's event through the fault wrapper and the handler. An error makes
/// Lambda count the invocation in `Errors` and, for S3's asynchronous invocation, retry the
/// event; `{"statusCode": n}` is a success, so the event is dropped without output.
async fn transform_objects<S, Src, C, R, D>(
    injector: &FaultInjector<Src, C, R, D>,
    store: &S,
    hosts: &S3Hosts,
    event: LambdaEvent<S3Event>,
) -> Result<Value, Diagnostic>
where
    S: ObjectStore,
    Src: DocumentSource,
    C: Clock,
    R: RandomSource,
    D: Disk,
{
    let payload = &event.payload;
    let outcome = invoke(injector, &TokioTimer, |block| async move {
        let store = DenylistStore::new(store, block, |bucket: &str| hosts.host(bucket));
        handle_event(&store, payload).await
    })
    .await;
    let injection = outcome.injection;
    if injection.fired() {
        info!(fault = %injection, "fault injected");
        // chaoslab/InjectedFaults, in the embedded metric format: the dashboard marks the
        // periods when a fault was on.
        if let (Some(function), Some(mode)) =
            (environment("AWS_LAMBDA_FUNCTION_NAME"), injection.mode())
        {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| {
                    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
                });
            println!(
                "{}",
                chaoslab_etl::fault::metric::injected_fault_line(&function, mode.as_str(), now)
            );
        }
    }
    // Lambda reports errors as `errorType` and `errorMessage`; the message is what the
    // dead-letter queue's `ErrorMessage` attribute carries.
    match outcome.result {
        Ok(Response::StatusCode(response)) => to_json(&response),
        Ok(Response::Handler(report)) => {
            let mut result = to_json(&report)?;
            if let (Value::Object(fields), true) = (&mut result, injection.fired()) {
                fields.insert("injectedFault".to_owned(), injection.to_string().into());
            }
            Ok(result)
        }
        Err(InvocationError::Injected(fault)) => Err(Diagnostic {
            error_type: fault.error_type().to_owned(),
            error_message: fault.to_string(),
        }),
        Err(InvocationError::Handler(error)) => Err(Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: with_fault(error.to_string(), &injection),
        }),
        // Not reached: `invoke` leaves the timeout to Lambda.
        Err(error @ InvocationError::TimedOut { .. }) => Err(Diagnostic {
            error_type: "TimedOut".to_owned(),
            error_message: error.to_string(),
        }),
    }
}

/// A handler error's message, naming the fault that fired during the invocation, if any.
fn with_fault(message: String, injection: &Injection) -> String {
    if injection.fired() {
        format!("{message} [injected fault: {injection}]")
    } else {
        message
    }
}

/// The invocation's result as JSON.
fn to_json(result: &impl serde::Serialize) -> Result<Value, Diagnostic> {
    serde_json::to_value(result).map_err(|error| Diagnostic {
        error_type: "SerializationError".to_owned(),
        error_message: format!("cannot serialise the invocation's result: {error}"),
    })
}

/// Logs for CloudWatch Logs: one line per event, no ANSI colours and no timestamp (CloudWatch
/// stamps every line). JSON lines when the function's log format is JSON, plain text otherwise.
/// The level comes from `RUST_LOG` and defaults to `info`.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false)
        .without_time();
    // Lambda's advanced logging controls set AWS_LAMBDA_LOG_FORMAT to JSON or Text.
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    if json {
        builder.json().with_current_span(true).init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    //! The binary's results and errors under each fault, against an in-memory store and document.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chaoslab_etl::fault::{ManualClock, MemoryDisk, MemorySource, SeededRandom};
    use chaoslab_etl::store::MemoryStore;
    use lambda_runtime::Context;

    use super::*;

    const BUCKET: &str = "chaoslab-alice-pipeline";
    const INPUT: &str = "input/data_object_msg-1.json";

    /// Invokes the binary's handler once with `document` over a store holding the input.
    async fn invoke_with(document: &str) -> (Result<Value, Diagnostic>, MemoryStore) {
        let injector = FaultInjector::new(
            MemorySource::new(document),
            ManualClock::new(),
            SeededRandom::new(1),
            MemoryDisk::new(),
        );
        let store = MemoryStore::new();
        store.insert(BUCKET, INPUT, r#"{"a":1}"#, "application/json");
        let hosts = S3Hosts {
            endpoint: None,
            region: "eu-west-1".to_owned(),
        };
        let payload: S3Event =
            serde_json::from_str(include_str!("../tests/fixtures/put_simple.json")).unwrap();
        let event = LambdaEvent::new(payload, Context::default());
        let result = transform_objects(&injector, &store, &hosts, event).await;
        (result, store)
    }

    #[tokio::test]
    async fn without_a_fault_the_result_is_the_handler_report_alone() {
        let (result, store) = invoke_with(r#"{"isEnabled": false}"#).await;
        let result = result.unwrap();
        assert_eq!(result["converted"][0]["input_key"], INPUT);
        assert!(result.get("injectedFault").is_none());
        assert_eq!(store.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fired_latency_is_named_in_the_result() {
        let (result, _) = invoke_with(
            r#"{"isEnabled": true, "failureMode": "latency", "minLatency": 10, "maxLatency": 10}"#,
        )
        .await;
        assert_eq!(result.unwrap()["injectedFault"], "latency 10 ms");
    }

    #[tokio::test]
    async fn statuscode_returns_exactly_the_status_code_object() {
        let (result, store) =
            invoke_with(r#"{"isEnabled": true, "failureMode": "statuscode", "statusCode": 404}"#)
                .await;
        assert_eq!(result.unwrap(), serde_json::json!({"statusCode": 404}));
        assert_eq!(store.len(), 1, "nothing converted");
    }

    #[tokio::test]
    async fn exception_is_an_injected_exception_with_the_message() {
        let (result, _) = invoke_with(
            r#"{"isEnabled": true, "failureMode": "exception", "exceptionMsg": "boom"}"#,
        )
        .await;
        let error = result.unwrap_err();
        assert_eq!(error.error_type, "InjectedException");
        assert_eq!(error.error_message, "boom");
    }

    #[tokio::test]
    async fn an_intercepted_call_names_the_denylist_fault_in_the_error() {
        let (result, _) = invoke_with(
            r#"{"isEnabled": true, "failureMode": "denylist", "denylist": ["s3.*.amazonaws.com"]}"#,
        )
        .await;
        let error = result.unwrap_err();
        assert_eq!(error.error_type, "StoreError");
        assert!(
            error.error_message.ends_with(
                "Intercepted network connection to chaoslab-alice-pipeline.s3.eu-west-1.amazonaws.com [injected fault: denylist s3.*.amazonaws.com]"
            ),
            "{}",
            error.error_message
        );
    }
}
