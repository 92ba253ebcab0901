//! The AWS backend against `moto_server`, an AWS API emulator: `scripts/moto` starts one and
//! prints `export CHAOSLAB_TEST_AWS_ENDPOINT=http://127.0.0.1:<port>`. Without that variable the
//! emulator tests say they are skipped and pass, so a plain `cargo test` works offline.
//!
//! Each emulator test takes the emulator for itself (tests run in parallel, moto is shared),
//! resets it, builds a stack with the SDK the way the Terraform does, and drives it through the
//! backend. What moto cannot do is noted where it matters:
//! - it cannot run function code, so the ETL handler runs in the test, over the emulator's S3;
//! - it drops a function's `DeadLetterConfig`, so the dead-letter target comes from the
//!   event-invoke config's on-failure destination, which the backend reads as a fallback;
//! - it does not speak the current CloudWatch protocol (see `aws_cloudwatch.rs`);
//! - it cannot expire credentials or throttle; `aws_faults.rs` serves AWS's own error responses
//!   for those.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use bytes::Bytes;
use chaoslab::backend::FaultParameter;
use chaoslab::backend::aws::AwsBackend;
use chaoslab::backend::aws::clients::{NO_CREDENTIALS, RegionClients, config_loader};
use chaoslab::backend::aws::stacks::StackCatalog;
use chaoslab::backend::{Backend, BackendError, BackendKind, ErrorFilter, StackNames};
use chaoslab_etl::event::{ObjectCreated, S3Event, S3EventRecord};
use chaoslab_etl::handler::{SkipReason, handle_event};
use chaoslab_etl::store::S3Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, MutexGuard};

const REGION: &str = "us-east-1";
const SKIPPED: &str = "skipped: set CHAOSLAB_TEST_AWS_ENDPOINT (scripts/moto starts an emulator)";
/// An empty ZIP archive (just the end-of-central-directory record): the emulator stores a
/// function's code but never runs it.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws")
        .join(name)
}

/// The stacks of `fixtures/aws/terraform-output.json`: alice's and bob's.
fn fixture_catalog() -> StackCatalog {
    StackCatalog::read(&fixture("terraform-output.json")).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The emulator

/// moto is one process for every test: each emulator test holds this while it runs.
static EMULATOR: Mutex<()> = Mutex::const_new(());

/// The emulator, reset and held for one test.
struct Moto {
    endpoint: String,
    address: String,
    _turn: MutexGuard<'static, ()>,
}

impl Moto {
    /// The emulator for this test, or `None` (after saying so) when none is configured.
    async fn take() -> Option<Self> {
        let Ok(endpoint) = std::env::var("CHAOSLAB_TEST_AWS_ENDPOINT") else {
            // Straight to stderr: the test harness would hide a println! of a passing test.
            let _ = writeln!(std::io::stderr(), "aws_backend: {SKIPPED}");
            return None;
        };
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let address = endpoint
            .strip_prefix("http://")
            .unwrap_or(&endpoint)
            .to_owned();
        let turn = EMULATOR.lock().await;
        let moto = Self {
            endpoint,
            address,
            _turn: turn,
        };
        // A previous test may have switched authentication on.
        moto.set_authentication(false).await;
        let (status, body) = http(&moto.address, "POST", "/moto-api/reset", &[], "")
            .await
            .unwrap();
        assert_eq!(status, 200, "resetting moto: {body}");
        Some(moto)
    }

    /// Switches moto's IAM authentication on (every request must be signed by a known key and be
    /// allowed by its policies) or off (the default: anything goes).
    async fn set_authentication(&self, on: bool) {
        let count = if on { "0" } else { "inf" };
        let (status, body) = http(&self.address, "POST", "/moto-api/reset-auth", &[], count)
            .await
            .unwrap();
        assert_eq!(status, 200, "moto reset-auth: {body}");
    }

    /// An SDK configuration for the emulator with these keys.
    async fn config_with(&self, endpoint: &str, key: &str, secret: &str) -> SdkConfig {
        config_loader()
            .endpoint_url(endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(key, secret, None, None, "tests"))
            .load()
            .await
    }

    async fn config(&self) -> SdkConfig {
        self.config_with(&self.endpoint, "testing", "testing").await
    }
}

/// One HTTP/1.1 request with `Connection: close`: the status and the body.
async fn http(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

// ---------------------------------------------------------------------------------------------
// A stack, built as the Terraform builds it

/// Creates alice's stack in the emulator, mirroring `terraform/modules/pipeline`, and returns its
/// names with the emulator's queue URLs.
async fn provision(config: &SdkConfig, names: &StackNames) -> StackNames {
    let clients = RegionClients::new(config, REGION);
    let iam = aws_sdk_iam::Client::new(config);
    let sns = aws_sdk_sns::Client::new(config);

    clients
        .s3
        .create_bucket()
        .bucket(&names.bucket)
        .send()
        .await
        .unwrap();
    let dlq_url = create_queue(&clients, &names.dlq_name).await;
    let csv_queue_url = create_queue(&clients, &names.csv_queue_name).await;
    let dlq_arn = queue_arn(&clients, &dlq_url).await;
    let csv_queue_arn = queue_arn(&clients, &csv_queue_url).await;

    let topic = sns
        .create_topic()
        .name(&names.topic_name)
        .send()
        .await
        .unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_owned();
    // The subscriber reads the SNS envelope, so raw delivery stays off.
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&csv_queue_arn)
        .send()
        .await
        .unwrap();

    let role = iam
        .create_role()
        .role_name(format!("chaos-transformer-role-{}", names.suffix))
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_owned();
    use aws_sdk_lambda::types::{
        Architecture, DeadLetterConfig, DestinationConfig, Environment, FunctionCode, OnFailure,
        Runtime,
    };
    let function = clients
        .lambda
        .create_function()
        .function_name(&names.function_name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role_arn)
        .architectures(Architecture::X8664)
        .memory_size(128)
        .timeout(3)
        .code(
            FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(EMPTY_ZIP.to_vec()))
                .build(),
        )
        .environment(
            Environment::builder()
                .variables("FAILURE_INJECTION_PARAM", &names.parameter_name)
                .build(),
        )
        .dead_letter_config(DeadLetterConfig::builder().target_arn(&dlq_arn).build())
        .send()
        .await
        .unwrap();
    let function_arn = function.function_arn().unwrap().to_owned();
    clients
        .lambda
        .put_function_event_invoke_config()
        .function_name(&names.function_name)
        .maximum_retry_attempts(2)
        .maximum_event_age_in_seconds(21_600)
        // moto drops DeadLetterConfig; its on-failure destination stands in for it here.
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(&dlq_arn).build())
                .build(),
        )
        .send()
        .await
        .unwrap();

    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
        NotificationConfigurationFilter, S3KeyFilter, TopicConfiguration,
    };
    let filter = |prefix: &str, suffix: &str| {
        NotificationConfigurationFilter::builder()
            .key(
                S3KeyFilter::builder()
                    .filter_rules(
                        FilterRule::builder()
                            .name(FilterRuleName::Prefix)
                            .value(prefix)
                            .build(),
                    )
                    .filter_rules(
                        FilterRule::builder()
                            .name(FilterRuleName::Suffix)
                            .value(suffix)
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(&names.bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .lambda_function_configurations(
                    LambdaFunctionConfiguration::builder()
                        .id("input-json-to-etl")
                        .lambda_function_arn(function_arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .filter(filter("input/", ".json"))
                        .build()
                        .unwrap(),
                )
                .topic_configurations(
                    TopicConfiguration::builder()
                        .id("output-csv-to-topic")
                        .topic_arn(&topic_arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .filter(filter("output/", ".csv"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Saving the configuration sends an s3:TestEvent through the topic, as S3 does; it is not
    // part of what the tests look at. (Not a purge: SQS allows one a minute, and reset needs it.)
    loop {
        let received = clients
            .sqs
            .receive_message()
            .queue_url(&csv_queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            clients
                .sqs
                .delete_message()
                .queue_url(&csv_queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }

    // The Terraform's initial document: every fault off.
    clients
        .ssm
        .put_parameter()
        .name(&names.parameter_name)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .value(chaoslab::backend::fault::INITIAL_DOCUMENT)
        .send()
        .await
        .unwrap();

    StackNames {
        dlq_url,
        csv_queue_url,
        topic_arn,
        ..names.clone()
    }
}

async fn create_queue(clients: &RegionClients, name: &str) -> String {
    clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

async fn queue_arn(clients: &RegionClients, url: &str) -> String {
    clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|attributes| attributes.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .unwrap()
        .clone()
}

/// A provisioned stack and a backend that gave it to participant `p-alice`.
struct Lab {
    moto: Moto,
    names: StackNames,
    clients: RegionClients,
    backend: AwsBackend,
    _data: tempfile::TempDir,
}

const ALICE: &str = "p-alice";

impl Lab {
    async fn open() -> Option<Self> {
        let moto = Moto::take().await?;
        let config = moto.config().await;
        let template = fixture_catalog().get("alice").unwrap().clone();
        let names = provision(&config, &template).await;
        let data = tempfile::tempdir().unwrap();
        let catalog = StackCatalog::from_stacks([("alice".to_owned(), names.clone())]);
        let backend = AwsBackend::connect(&config, catalog, data.path())
            .await
            .unwrap();
        assert_eq!(backend.create_stack(ALICE).await.unwrap(), names);
        Some(Self {
            clients: RegionClients::new(&config, REGION),
            moto,
            names,
            backend,
            _data: data,
        })
    }

    async fn object(&self, key: &str) -> Option<(String, Vec<u8>)> {
        let object = self
            .clients
            .s3
            .get_object()
            .bucket(&self.names.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        let content_type = object.content_type().unwrap_or_default().to_owned();
        let body = object.body.collect().await.unwrap().into_bytes().to_vec();
        Some((content_type, body))
    }

    async fn keys(&self) -> Vec<String> {
        let listing = self
            .clients
            .s3
            .list_objects_v2()
            .bucket(&self.names.bucket)
            .send()
            .await
            .unwrap();
        listing
            .contents()
            .iter()
            .filter_map(|object| object.key().map(str::to_owned))
            .collect()
    }

    async fn send(&self, queue_url: &str, body: &str) {
        self.clients
            .sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    async fn visible_messages(&self, queue_url: &str) -> usize {
        let attributes = self
            .clients
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        attributes
            .attributes()
            .and_then(|attributes| {
                attributes.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|count| count.parse().ok())
            .unwrap()
    }
}

fn unavailable(result: Result<impl std::fmt::Debug, BackendError>) -> String {
    match result {
        Err(BackendError::Unavailable(message)) => message,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The publisher, the subscriber, the inspector and the fault-injection parameter

#[tokio::test]
async fn publisher_puts_json_objects_into_the_stack_bucket() {
    let Some(lab) = Lab::open().await else { return };
    lab.backend
        .put_object(ALICE, "input/obj-1.json", Bytes::from_static(b"{\"a\":1}"))
        .await
        .unwrap();
    let (content_type, body) = lab.object("input/obj-1.json").await.unwrap();
    assert_eq!(content_type, "application/json");
    assert_eq!(body, b"{\"a\":1}");
    assert_eq!(lab.backend.kind(), BackendKind::Aws);
    drop(lab.moto);
}

#[tokio::test]
async fn a_received_csv_notification_carries_the_time_sqs_accepted_it() {
    let Some(lab) = Lab::open().await else { return };
    // Whole milliseconds on either side: SQS's SentTimestamp is epoch ms, and moto runs on this
    // machine's clock.
    let before = chaoslab::backend::system_now_millis();
    lab.send(&lab.names.csv_queue_url, "sent").await;
    let after = chaoslab::backend::system_now_millis();
    let received = lab
        .backend
        .receive_csv_messages(ALICE, 10, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    let sent = received[0].sent_timestamp.unwrap();
    assert!(
        (before - 1_000..=after + 1_000).contains(&sent),
        "sent {sent}, sent between {before} and {after}"
    );
    drop(lab.moto);
}

#[tokio::test]
async fn subscriber_long_polls_receives_and_deletes_csv_notifications() {
    let Some(lab) = Lab::open().await else { return };
    // Nothing there: the long poll waits about its WaitTimeSeconds, then answers empty.
    let started = Instant::now();
    let none = lab
        .backend
        .receive_csv_messages(ALICE, 10, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    lab.send(&lab.names.csv_queue_url, "first").await;
    lab.send(&lab.names.csv_queue_url, "second").await;
    let received = lab
        .backend
        .receive_csv_messages(ALICE, 10, Duration::from_secs(2))
        .await
        .unwrap();
    let mut bodies: Vec<&str> = received
        .iter()
        .map(|message| message.body.as_str())
        .collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["first", "second"]);
    assert!(received.iter().all(|message| message.receive_count == 1));
    for message in &received {
        lab.backend
            .delete_csv_message(ALICE, &message.receipt_handle)
            .await
            .unwrap();
    }
    assert_eq!(lab.visible_messages(&lab.names.csv_queue_url).await, 0);

    // A DeleteMessageBatch: each entry deleted or refused on its own.
    lab.send(&lab.names.csv_queue_url, "third").await;
    lab.send(&lab.names.csv_queue_url, "fourth").await;
    let received = lab
        .backend
        .receive_csv_messages(ALICE, 10, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(received.len(), 2);
    let mut handles: Vec<String> = received
        .iter()
        .map(|message| message.receipt_handle.clone())
        .collect();
    handles.push("not-a-receipt-handle".to_owned());
    let outcomes = lab
        .backend
        .delete_csv_messages(ALICE, &handles)
        .await
        .unwrap();
    assert_eq!(outcomes[..2], [None, None], "{outcomes:?}");
    assert_eq!(lab.visible_messages(&lab.names.csv_queue_url).await, 0);

    // SQS's limits are checked before any request is sent.
    assert!(matches!(
        lab.backend
            .receive_csv_messages(ALICE, 11, Duration::ZERO)
            .await,
        Err(BackendError::InvalidRequest(_))
    ));
    assert!(matches!(
        lab.backend
            .receive_csv_messages(ALICE, 1, Duration::from_secs(21))
            .await,
        Err(BackendError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn inspector_reads_timeout_retries_and_dead_letter_target() {
    let Some(lab) = Lab::open().await else { return };
    let configuration = lab.backend.function_configuration(ALICE).await.unwrap();
    assert_eq!(configuration.function_name, lab.names.function_name);
    assert_eq!(configuration.runtime, "provided.al2023");
    assert_eq!(configuration.handler, "bootstrap");
    assert_eq!(configuration.architecture, "x86_64");
    assert_eq!(configuration.memory_mb, 128);
    assert_eq!(configuration.timeout_seconds, 3.0);
    assert_eq!(configuration.maximum_retry_attempts, 2);
    assert_eq!(configuration.maximum_event_age_seconds, 21_600);
    assert_eq!(configuration.dead_letter_target_arn, lab.names.dlq_arn());
    assert_eq!(configuration.reserved_concurrency, None);
}

#[tokio::test]
async fn the_function_is_changed_through_lambdas_own_calls() {
    let Some(lab) = Lab::open().await else { return };
    let change: chaoslab::backend::FunctionChange = serde_json::from_str(
        r#"{"timeout_seconds": 10, "memory_mb": 256, "maximum_retry_attempts": 1, "reserved_concurrency": 5}"#,
    )
    .unwrap();
    let configuration = lab.backend.update_function(ALICE, &change).await.unwrap();
    assert_eq!(configuration.timeout_seconds, 10.0);
    assert_eq!(configuration.memory_mb, 256);
    assert_eq!(configuration.reserved_concurrency, Some(5));
    // The retry and event-age settings go through PutFunctionEventInvokeConfig, which moto
    // 5.2 does not keep as Lambda does (Get answers the first config ever put, and the SDK
    // cannot read its List answer), so they are not checked here.
    let unreserve: chaoslab::backend::FunctionChange =
        serde_json::from_str(r#"{"reserved_concurrency": "none"}"#).unwrap();
    let configuration = lab
        .backend
        .update_function(ALICE, &unreserve)
        .await
        .unwrap();
    assert_eq!(configuration.reserved_concurrency, None);
    assert_eq!(configuration.timeout_seconds, 10.0, "kept");
}

#[tokio::test]
async fn fault_injection_round_trips_through_the_ssm_parameter() {
    let Some(lab) = Lab::open().await else { return };
    assert_eq!(
        lab.backend.fault_injection(ALICE).await.unwrap(),
        FaultParameter::default()
    );
    let injected = FaultParameter::checked(
        r#"{"isEnabled": true, "failureMode": "exception", "rate": 0.5, "exceptionMsg": "chaos!"}"#,
    )
    .unwrap();
    lab.backend
        .set_fault_injection(ALICE, injected.clone())
        .await
        .unwrap();
    assert_eq!(lab.backend.fault_injection(ALICE).await.unwrap(), injected);
    // The parameter holds the JSON the function reads, in its camelCase shape.
    let stored = lab
        .clients
        .ssm
        .get_parameter()
        .name(&lab.names.parameter_name)
        .send()
        .await
        .unwrap();
    let stored: serde_json::Value =
        serde_json::from_str(stored.parameter().unwrap().value().unwrap()).unwrap();
    assert_eq!(stored["isEnabled"], true);
    assert_eq!(stored["failureMode"], "exception");
    assert_eq!(stored["exceptionMsg"], "chaos!");
    // Whatever the parameter holds is read back as it is: the function decides what it means.
    let unreadable = FaultParameter::stored("not a document");
    lab.backend
        .set_fault_injection(ALICE, unreadable.clone())
        .await
        .unwrap();
    assert_eq!(
        lab.backend.fault_injection(ALICE).await.unwrap(),
        unreadable
    );
}

// ---------------------------------------------------------------------------------------------
// The ETL function's handler over the emulator's S3, and the S3 → SNS → SQS delivery

#[tokio::test]
async fn etl_handler_converts_the_input_and_the_csv_notification_reaches_the_subscriber() {
    let Some(lab) = Lab::open().await else { return };
    let document = br#"{"id": 7, "name": "a b", "tags": ["x"]}"#;
    lab.backend
        .put_object(ALICE, "input/x y.json", Bytes::from_static(document))
        .await
        .unwrap();

    // moto cannot run the function, so the test is Lambda: it hands the handler the event S3
    // sends, with the key form-URL-encoded ("input/x+y.json").
    let record = S3EventRecord::object_created(&ObjectCreated {
        region: REGION,
        bucket: &lab.names.bucket,
        key: "input/x y.json",
        size: document.len() as u64,
        e_tag: "0123456789abcdef0123456789abcdef",
        sequencer: "0055AED6DCD90281E5",
        event_time: "2026-11-26T10:15:00.000Z",
        event_name: "ObjectCreated:Put",
        configuration_id: "input-json-to-etl",
        principal_id: "AWS:AIDAEXAMPLE",
        source_ip_address: "127.0.0.1",
        request_id: "C3D13FE58DE4C810",
        host_id: "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
    });
    assert_eq!(record.s3.object.key, "input/x+y.json");
    let store = S3Store::new(lab.clients.s3.clone());
    let report = handle_event(&store, &S3Event::from_records(vec![record]))
        .await
        .unwrap();
    assert_eq!(report.converted.len(), 1);
    assert_eq!(report.converted[0].output_key, "output/x y.csv");
    let (content_type, csv) = lab.object("output/x y.csv").await.unwrap();
    assert_eq!(content_type, "text/csv");
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "id,name,tags\n7,a b,\"[\"\"x\"\"]\"\n"
    );

    // The emulator's S3 → SNS → SQS delivery brings the CSV notification to the subscriber.
    let messages = lab
        .backend
        .receive_csv_messages(ALICE, 10, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let envelope: serde_json::Value = serde_json::from_str(&messages[0].body).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], lab.names.topic_arn.as_str());
    let event: S3Event = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    let delivered = &event.records[0];
    assert_eq!(delivered.event_name, "ObjectCreated:Put");
    assert_eq!(delivered.s3.bucket.name, lab.names.bucket);
    // moto encodes the key with Python's quote_plus ("output%2Fx+y.csv", slash included); S3
    // leaves the slash alone. Form-URL decoding reads both as the stored key.
    assert_eq!(delivered.decoded_key().unwrap(), "output/x y.csv");

    // The emulator's own event, given to the handler: it is an output object, so it is skipped.
    let report = handle_event(&store, &event).await.unwrap();
    assert!(report.converted.is_empty());
    assert_eq!(report.skipped[0].key, "output/x y.csv");
    assert_eq!(report.skipped[0].reason, SkipReason::OutsideInputFilter);

    lab.backend
        .delete_csv_message(ALICE, &messages[0].receipt_handle)
        .await
        .unwrap();
    assert_eq!(lab.visible_messages(&lab.names.csv_queue_url).await, 0);
}

#[tokio::test]
async fn etl_handler_reads_the_emulators_own_event_for_an_input_object() {
    // The stack's input notification goes to the function, which moto cannot run. A probe bucket
    // notifying a queue instead shows the handler the event exactly as moto writes it.
    let Some(moto) = Moto::take().await else {
        return;
    };
    let config = moto.config().await;
    let clients = RegionClients::new(&config, REGION);
    clients
        .s3
        .create_bucket()
        .bucket("chaos-probe")
        .send()
        .await
        .unwrap();
    let queue_url = create_queue(&clients, "chaos-probe-events").await;
    let queue = queue_arn(&clients, &queue_url).await;
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration,
        NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    };
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket("chaos-probe")
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(queue)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .filter(
                            NotificationConfigurationFilter::builder()
                                .key(
                                    S3KeyFilter::builder()
                                        .filter_rules(
                                            FilterRule::builder()
                                                .name(FilterRuleName::Prefix)
                                                .value("input/")
                                                .build(),
                                        )
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    clients
        .s3
        .put_object()
        .bucket("chaos-probe")
        .key("input/a b+c.json")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            br#"[{"a": 1}, {"b": 2}]"#,
        ))
        .send()
        .await
        .unwrap();
    let received = clients
        .sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(5)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let event = received
        .messages()
        .iter()
        .filter_map(|message| serde_json::from_str::<S3Event>(message.body()?).ok())
        .find(|event| !event.records.is_empty())
        .expect("moto delivered the input object's event");
    let report = handle_event(&S3Store::new(clients.s3.clone()), &event)
        .await
        .unwrap();
    assert_eq!(report.converted.len(), 1, "{report:?}");
    assert_eq!(report.converted[0].input_key, "input/a b+c.json");
    let csv = clients
        .s3
        .get_object()
        .bucket("chaos-probe")
        .key("output/a b+c.csv")
        .send()
        .await
        .unwrap();
    let csv = csv.body.collect().await.unwrap().into_bytes();
    assert_eq!(&csv[..], b"a,b\n1,\n,2\n");
}

// ---------------------------------------------------------------------------------------------
// Stacks: assignment, reset

#[tokio::test]
async fn each_stack_goes_to_one_participant_and_is_freed_on_removal() {
    // Assignment touches no AWS API: this runs without the emulator.
    let data = tempfile::tempdir().unwrap();
    let config = config_loader()
        .endpoint_url("http://127.0.0.1:9")
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await;
    let catalog = fixture_catalog();
    let backend = AwsBackend::connect(&config, catalog.clone(), data.path())
        .await
        .unwrap();
    let first = backend.create_stack("p-1").await.unwrap();
    assert_eq!(&first, catalog.get("alice").unwrap());
    let second = backend.create_stack("p-2").await.unwrap();
    assert_eq!(&second, catalog.get("bob").unwrap());
    assert_eq!(backend.create_stack("p-1").await.unwrap(), first);
    assert_eq!(
        unavailable(backend.create_stack("p-3").await),
        "all 2 stacks are assigned; add participants to the Terraform and apply"
    );
    backend.remove_stack("p-1").await.unwrap();
    assert!(backend.stack_names("p-1").is_none());
    assert!(matches!(
        backend.remove_stack("p-1").await,
        Err(BackendError::UnknownStack(_))
    ));
    assert!(matches!(
        backend.function_configuration("p-1").await,
        Err(BackendError::UnknownStack(_))
    ));
    drop(backend);

    // A restarted server gives the same participants the same stacks.
    let restarted = AwsBackend::connect(&config, catalog.clone(), data.path())
        .await
        .unwrap();
    assert_eq!(restarted.stack_names("p-2"), Some(second));
    assert_eq!(restarted.create_stack("p-3").await.unwrap(), first);
    let clock = restarted.clock();
    assert_eq!(clock.scale(), 1.0);
    assert!((clock.now() - chrono::Utc::now().timestamp_millis()).abs() < 5_000);
}

#[tokio::test]
async fn reset_purges_both_queues_empties_input_and_output_and_disables_faults() {
    let Some(lab) = Lab::open().await else { return };
    for key in ["input/a.json", "output/a.csv", "notes/keep.txt"] {
        lab.clients
            .s3
            .put_object()
            .bucket(&lab.names.bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    lab.send(&lab.names.csv_queue_url, "csv").await;
    lab.send(&lab.names.dlq_url, "dead").await;
    lab.backend
        .set_fault_injection(
            ALICE,
            FaultParameter::checked(r#"{"isEnabled": true}"#).unwrap(),
        )
        .await
        .unwrap();

    lab.backend.reset_stack(ALICE).await.unwrap();

    assert_eq!(lab.keys().await, ["notes/keep.txt"]);
    assert_eq!(lab.visible_messages(&lab.names.csv_queue_url).await, 0);
    assert_eq!(lab.visible_messages(&lab.names.dlq_url).await, 0);
    assert_eq!(
        lab.backend.fault_injection(ALICE).await.unwrap(),
        FaultParameter::default()
    );
    // Still the participant's stack.
    assert_eq!(lab.backend.stack_names(ALICE), Some(lab.names.clone()));
}

#[tokio::test]
async fn the_dead_letter_queue_is_listed_with_lambdas_attributes_filtered_and_stays_visible() {
    let Some(lab) = Lab::open().await else { return };
    let string = |value: &str, data_type: &str| {
        aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type(data_type)
            .string_value(value)
            .build()
            .unwrap()
    };
    let error_of = |n| {
        if n == 1 {
            "GetObject failed: Intercepted network connection to the bucket"
        } else {
            "cannot convert"
        }
    };
    for n in 0..3 {
        let event = S3Event::from_records(vec![S3EventRecord::object_created(&ObjectCreated {
            region: REGION,
            bucket: &lab.names.bucket,
            key: &format!("input/bad {n}.json"),
            size: 10,
            e_tag: "0",
            sequencer: "01",
            event_time: "2026-11-26T00:00:00.000Z",
            event_name: "ObjectCreated:Put",
            configuration_id: "invoke-etl-function",
            principal_id: "AWS:test",
            source_ip_address: "127.0.0.1",
            request_id: "r",
            host_id: "h",
        })]);
        // As Lambda sends an event that ran out of attempts.
        lab.clients
            .sqs
            .send_message()
            .queue_url(&lab.names.dlq_url)
            .message_body(serde_json::to_string(&event).unwrap())
            .message_attributes("RequestID", string(&format!("request-{n}"), "String"))
            .message_attributes("ErrorCode", string("200", "Number"))
            .message_attributes("ErrorMessage", string(error_of(n), "String"))
            .send()
            .await
            .unwrap();
    }
    let list = lab
        .backend
        .list_dead_letters(ALICE, 20, None)
        .await
        .unwrap();
    assert_eq!((list.total, list.matching), (3, 3));
    let mut keys: Vec<String> = list
        .messages
        .iter()
        .flat_map(|message| message.object_keys.clone())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["input/bad 0.json", "input/bad 1.json", "input/bad 2.json"]
    );
    for message in &list.messages {
        assert_eq!(message.error_code.as_deref(), Some("200"));
        let n = message.object_keys[0]
            .trim_start_matches("input/bad ")
            .trim_end_matches(".json")
            .parse::<i32>()
            .unwrap();
        assert_eq!(message.error_message.as_deref(), Some(error_of(n)));
        assert!(
            message
                .request_id
                .as_deref()
                .unwrap()
                .starts_with("request-")
        );
        assert!(message.sent_at > 0, "{message:?}");
    }
    assert!(
        list.messages
            .windows(2)
            .all(|pair| pair[0].sent_at >= pair[1].sent_at),
        "newest first: {:?}",
        list.messages
    );
    // VisibilityTimeout=0: nothing was hidden, so listing again finds them all.
    assert_eq!(lab.visible_messages(&lab.names.dlq_url).await, 3);
    let again = lab.backend.list_dead_letters(ALICE, 2, None).await.unwrap();
    assert_eq!((again.total, again.messages.len()), (3, 2));
    // Filtered on the error, in any case: the one intercepted call, and still nothing hidden.
    let filter = ErrorFilter::new("INTERCEPTED network").unwrap();
    let intercepted = lab
        .backend
        .list_dead_letters(ALICE, 20, Some(&filter))
        .await
        .unwrap();
    assert_eq!((intercepted.total, intercepted.matching), (3, 1));
    assert_eq!(intercepted.messages.len(), 1);
    assert_eq!(intercepted.messages[0].object_keys, ["input/bad 1.json"]);
    let none = ErrorFilter::new("timed out").unwrap();
    let nothing = lab
        .backend
        .list_dead_letters(ALICE, 20, Some(&none))
        .await
        .unwrap();
    assert_eq!((nothing.total, nothing.matching), (3, 0));
    assert!(nothing.messages.is_empty());
    assert_eq!(lab.visible_messages(&lab.names.dlq_url).await, 3);
}

/// Moto runs no function code without Docker: each `Invoke` answers the next of the results
/// queued here (moto's "lambda-simple" backend).
async fn queue_function_results(lab: &Lab, results: &[&str]) {
    let (status, body) = http(
        &lab.moto.address,
        "POST",
        "/moto-api/config",
        &[("Content-Type", "application/json")],
        r#"{"lambda": {"use_docker": false}}"#,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "moto config: {body}");
    let queued = serde_json::json!({ "results": results, "region": REGION }).to_string();
    let (status, body) = http(
        &lab.moto.address,
        "POST",
        "/moto-api/static/lambda-simple/response",
        &[("Content-Type", "application/json")],
        &queued,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "moto lambda-simple: {body}");
}

#[tokio::test]
async fn a_redrive_invokes_each_event_and_then_deletes_its_message() {
    let Some(lab) = Lab::open().await else { return };
    queue_function_results(&lab, &["", ""]).await;
    lab.send(&lab.names.dlq_url, r#"{"Records":[]}"#).await;
    lab.send(&lab.names.dlq_url, r#"{"Records":[]}"#).await;
    let redrive = lab.backend.redrive_dead_letters(ALICE, 1000).await.unwrap();
    assert_eq!((redrive.redriven, redrive.remaining), (2, 0));
    assert_eq!(lab.visible_messages(&lab.names.dlq_url).await, 0);
}

#[tokio::test]
async fn a_test_invoke_reports_the_functions_result() {
    let Some(lab) = Lab::open().await else { return };
    queue_function_results(
        &lab,
        &[r#"{"converted":[],"skipped":[],"injectedFault":"latency 12 ms"}"#],
    )
    .await;
    let report = lab
        .backend
        .invoke_function(ALICE, r#"{"Records":[]}"#)
        .await
        .unwrap();
    assert_eq!(
        report.outcome,
        chaoslab::backend::invocation::InvocationOutcome::Succeeded,
        "{report:?}"
    );
    assert_eq!(report.result.unwrap()["injectedFault"], "latency 12 ms");
    assert_eq!(report.fault.unwrap().mode, "latency");
}

#[tokio::test]
async fn the_sample_object_is_written_only_when_its_key_is_free() {
    let Some(lab) = Lab::open().await else { return };
    let written = lab
        .backend
        .put_object_if_absent(
            ALICE,
            "input/test-invoke.json",
            Bytes::from_static(b"{\"a\":1}"),
        )
        .await
        .unwrap();
    assert!(written);
    let again = lab
        .backend
        .put_object_if_absent(
            ALICE,
            "input/test-invoke.json",
            Bytes::from_static(b"{\"b\":2}"),
        )
        .await
        .unwrap();
    assert!(!again, "the key is taken");
    let (_, body) = lab.object("input/test-invoke.json").await.unwrap();
    assert_eq!(body, b"{\"a\":1}");
}

// ---------------------------------------------------------------------------------------------
// Failures: each one a readable Unavailable, never a panic, and the backend recovers

/// A TCP relay in front of the emulator, which the test can take down and bring back on the same
/// port: the emulator "stops" and "returns" for the backend behind it.
struct Relay {
    port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    async fn start(target: &str) -> Self {
        let mut relay = Self {
            port: 0,
            target: target.to_owned(),
            task: None,
        };
        relay.resume().await;
        relay
    }

    async fn resume(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.port = listener.local_addr().unwrap().port();
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            // The connections live in this set, so stopping the relay closes them too.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

#[tokio::test]
async fn emulator_stopping_mid_run_is_unavailable_and_the_backend_recovers_when_it_returns() {
    let Some(lab) = Lab::open().await else { return };
    let mut relay = Relay::start(&lab.moto.address).await;
    let config = lab
        .moto
        .config_with(&relay.endpoint(), "testing", "testing")
        .await;
    let data = tempfile::tempdir().unwrap();
    let catalog = StackCatalog::from_stacks([("alice".to_owned(), lab.names.clone())]);
    let backend = AwsBackend::connect(&config, catalog, data.path())
        .await
        .unwrap();
    backend.create_stack(ALICE).await.unwrap();
    let body = || Bytes::from_static(b"{}");
    backend
        .put_object(ALICE, "input/before.json", body())
        .await
        .unwrap();

    relay.stop().await;
    let expected = format!("cannot reach AWS at {}", relay.endpoint());
    let message = unavailable(backend.put_object(ALICE, "input/during.json", body()).await);
    assert!(message.starts_with(&expected), "{message}");
    let message = unavailable(
        backend
            .receive_csv_messages(ALICE, 10, Duration::from_secs(1))
            .await,
    );
    assert!(message.starts_with(&expected), "{message}");
    let message = unavailable(backend.function_configuration(ALICE).await);
    assert!(message.starts_with(&expected), "{message}");
    let message = unavailable(backend.fault_injection(ALICE).await);
    assert!(message.starts_with(&expected), "{message}");

    relay.resume().await;
    backend
        .put_object(ALICE, "input/after.json", body())
        .await
        .unwrap();
    backend.function_configuration(ALICE).await.unwrap();
    assert_eq!(lab.keys().await, ["input/after.json", "input/before.json"]);
    relay.stop().await;
}

#[tokio::test]
async fn a_deleted_resource_is_reported_as_missing_with_what_to_do() {
    let Some(lab) = Lab::open().await else { return };
    lab.clients
        .sqs
        .delete_queue()
        .queue_url(&lab.names.csv_queue_url)
        .send()
        .await
        .unwrap();
    let message = unavailable(
        lab.backend
            .receive_csv_messages(ALICE, 10, Duration::from_secs(1))
            .await,
    );
    assert_eq!(
        message,
        format!(
            "the stack's csv queue {} is missing: re-run terraform apply",
            lab.names.csv_queue_name
        )
    );

    lab.clients
        .s3
        .delete_bucket()
        .bucket(&lab.names.bucket)
        .send()
        .await
        .unwrap();
    let message = unavailable(
        lab.backend
            .put_object(ALICE, "input/x.json", Bytes::from_static(b"{}"))
            .await,
    );
    assert_eq!(
        message,
        format!(
            "the stack's bucket {} is missing: re-run terraform apply",
            lab.names.bucket
        )
    );

    lab.clients
        .ssm
        .delete_parameter()
        .name(&lab.names.parameter_name)
        .send()
        .await
        .unwrap();
    let message = unavailable(lab.backend.fault_injection(ALICE).await);
    assert!(
        message.contains("is missing: re-run terraform apply"),
        "{message}"
    );

    lab.clients
        .lambda
        .delete_function()
        .function_name(&lab.names.function_name)
        .send()
        .await
        .unwrap();
    let message = unavailable(lab.backend.function_configuration(ALICE).await);
    assert_eq!(
        message,
        format!(
            "the stack's function {} is missing: re-run terraform apply",
            lab.names.function_name
        )
    );
}

#[tokio::test]
async fn bad_credentials_and_missing_permissions_are_readable_and_recoverable() {
    let Some(lab) = Lab::open().await else { return };
    // A real identity, with no policy at all.
    let iam = aws_sdk_iam::Client::new(&lab.moto.config().await);
    iam.create_user()
        .user_name("no-rights")
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("no-rights")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let data = tempfile::tempdir().unwrap();
    let catalog = StackCatalog::from_stacks([("alice".to_owned(), lab.names.clone())]);
    let config = lab
        .moto
        .config_with(
            &lab.moto.endpoint,
            key.access_key_id(),
            key.secret_access_key(),
        )
        .await;
    let unprivileged = AwsBackend::connect(&config, catalog, data.path())
        .await
        .unwrap();
    unprivileged.create_stack(ALICE).await.unwrap();

    // From here on moto checks every signature and policy.
    lab.moto.set_authentication(true).await;
    let body = || Bytes::from_static(b"{}");
    // `lab.backend` signs with keys moto has never issued.
    let message = unavailable(lab.backend.put_object(ALICE, "input/x.json", body()).await);
    assert!(
        message.starts_with("AWS credentials are invalid"),
        "{message}"
    );
    assert!(message.contains("AWS_ACCESS_KEY_ID"), "{message}");
    let message = unavailable(
        lab.backend
            .receive_csv_messages(ALICE, 1, Duration::ZERO)
            .await,
    );
    assert!(
        message.starts_with("AWS credentials are invalid"),
        "{message}"
    );

    let message = unavailable(unprivileged.put_object(ALICE, "input/x.json", body()).await);
    assert!(
        message.starts_with(&format!(
            "permission denied for s3:PutObject on bucket {}",
            lab.names.bucket
        )),
        "{message}"
    );
    let message = unavailable(
        unprivileged
            .receive_csv_messages(ALICE, 1, Duration::ZERO)
            .await,
    );
    assert!(
        message.starts_with("permission denied for sqs:ReceiveMessage on csv queue"),
        "{message}"
    );

    // Credentials fixed (here: moto accepting anything again), the same backend works.
    lab.moto.set_authentication(false).await;
    lab.backend
        .put_object(ALICE, "input/x.json", body())
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Start-up

#[tokio::test]
async fn start_up_refuses_without_credentials() {
    let data = tempfile::tempdir().unwrap();
    let config = config_loader()
        .no_credentials()
        .region(Region::new(REGION))
        .load()
        .await;
    let error = AwsBackend::connect(&config, fixture_catalog(), data.path())
        .await
        .err()
        .map(|error| error.to_string());
    assert_eq!(error.as_deref(), Some(NO_CREDENTIALS));
}

/// Runs `chaoslab serve --backend aws` with only `env` in its environment (no AWS variables, no
/// profile, no instance metadata) until it exits, and returns its stderr.
fn serve_refusal(args: &[&str], env: &[(&str, &str)]) -> String {
    let home = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .arg("serve")
        .args(["--backend", "aws", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(home.path().join("data"))
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("no-credentials"),
        )
        // The credential chain would otherwise ask an instance metadata service on the network.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!output.status.success(), "chaoslab serve started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn serve_refuses_to_start_without_stacks_or_credentials() {
    let stacks = fixture("terraform-output.json");
    let stacks = stacks.to_str().unwrap();

    let stderr = serve_refusal(&[], &[]);
    assert!(stderr.contains("pass --stacks <file>"), "{stderr}");

    let missing = fixture("no-such-file.json");
    let stderr = serve_refusal(&["--stacks", missing.to_str().unwrap()], &[]);
    assert!(stderr.contains("cannot read the stacks file"), "{stderr}");

    let truncated = fixture("truncated.json");
    let stderr = serve_refusal(&["--stacks", truncated.to_str().unwrap()], &[]);
    assert!(stderr.contains("is not JSON"), "{stderr}");

    let empty = fixture("no-stacks.json");
    let stderr = serve_refusal(&["--stacks", empty.to_str().unwrap()], &[]);
    assert!(stderr.contains("lists no stacks"), "{stderr}");

    let stderr = serve_refusal(&[], &[("CHAOSLAB_STACKS", stacks)]);
    assert!(
        stderr.contains(
            "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ),
        "{stderr}"
    );
}

/// The whole server on the AWS backend against the emulator: a participant joins and gets a
/// stack, the inspector reads it, the rate cap is AWS's, and a deleted function is a 503 with
/// the readable message.
#[tokio::test]
async fn serve_runs_the_lab_on_the_emulator_and_answers_503_for_a_missing_function() {
    let Some(lab) = Lab::open().await else { return };
    let home = tempfile::tempdir().unwrap();
    let stacks = home.path().join("stacks.json");
    let document =
        serde_json::json!({"stacks": {"sensitive": false, "value": {"alice": lab.names}}});
    std::fs::write(&stacks, document.to_string()).unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let token = "instructor-token-for-tests";
    let server = std::process::Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .arg("serve")
        .args(["--backend", "aws", "--max-rate", "20", "--stacks"])
        .arg(&stacks)
        .arg("--data-dir")
        .arg(home.path().join("data"))
        .args([
            "--listen",
            &address.to_string(),
            "--instructor-token",
            token,
        ])
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", &lab.moto.endpoint)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _server = Stopped(server);
    let address = address.to_string();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok((200, _)) = http(&address, "GET", "/readyz", &[], "").await {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "chaoslab serve did not become ready");

    let bearer = format!("Bearer {token}");
    let json = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, body) = http(
        &address,
        "POST",
        "/api/v1/participants",
        &json,
        r#"{"name": "Alice"}"#,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["stack"]["bucket"], lab.names.bucket.as_str());
    let id = created["id"].as_str().unwrap().to_owned();

    let function = format!("/api/v1/participants/{id}/function");
    let (status, body) = http(&address, "GET", &function, &json, "").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let configuration: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(configuration["timeout_seconds"], 3.0);
    assert_eq!(configuration["maximum_retry_attempts"], 2);

    // --max-rate 20 is lowered to AWS's cap of 5 per second.
    let traffic = format!("/api/v1/participants/{id}/traffic");
    let (status, body) = http(
        &address,
        "PUT",
        &traffic,
        &json,
        r#"{"publisher": {"rate": 10}}"#,
    )
    .await
    .unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("at most 5 per second"), "{body}");

    lab.clients
        .lambda
        .delete_function()
        .function_name(&lab.names.function_name)
        .send()
        .await
        .unwrap();
    let (status, body) = http(&address, "GET", &function, &json, "").await.unwrap();
    assert_eq!(status, 503, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["code"], "backend_unavailable");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("is missing: re-run terraform apply"),
        "{body}"
    );
}

/// Kills the server when the test ends, passed or failed.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
