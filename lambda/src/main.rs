//! `chaos-transformer`: the ETL function as an AWS Lambda binary for the `provided.al2023` runtime.
//!
//! A thin shim: it sets up logging, builds the S3 client once per execution environment, and
//! hands every S3 event to [`chaoslab_etl::handler::handle_event`].
//!
//! Build the deployment package with [cargo-lambda](https://www.cargo-lambda.info/):
//!
//! ```text
//! cargo lambda build --release --package chaoslab-etl --bin chaos-transformer --features lambda --x86-64 --output-format zip
//! ```
//!
//! (`--arm64` instead of `--x86-64` for Graviton). The package lands in
//! `target/lambda/chaos-transformer/bootstrap.zip`.

use aws_config::BehaviorVersion;
use chaoslab_etl::event::S3Event;
use chaoslab_etl::handler::{HandlerReport, handle_event};
use chaoslab_etl::store::{ObjectStore, S3Store};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    // One client per execution environment: warm invocations reuse its connections.
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let store = S3Store::new(aws_sdk_s3::Client::new(&config));
    let store = &store;
    // Boxed: the runtime's future type is deep enough to overflow the compiler's layout query.
    Box::pin(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<S3Event>| transform_objects(store, event),
    )))
    .await
}

/// Runs the handler on one invocation's event; an error makes Lambda count the invocation in
/// `Errors` and, for S3's asynchronous invocation, retry the event.
async fn transform_objects<S: ObjectStore>(
    store: &S,
    event: LambdaEvent<S3Event>,
) -> Result<HandlerReport, Diagnostic> {
    handle_event(store, &event.payload)
        .await
        .map_err(|error| Diagnostic {
            // Lambda reports these as `errorType` and `errorMessage`; the message is what the
            // dead-letter queue's `ErrorMessage` attribute carries.
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
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
