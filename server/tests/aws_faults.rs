//! The AWS backend against AWS's own error responses for what the emulator cannot produce:
//! throttling and expired credentials.
//!
//! A small HTTP server on 127.0.0.1 stands in for S3, SQS, Lambda and SSM. It answers each
//! request in the shape the real service uses for the chosen fault (S3's XML `<Error>`, SQS's and
//! SSM's JSON `__type`, Lambda's `x-amzn-ErrorType` header) and counts the attempts, so these
//! tests go through the real SDK clients, their retry policy and the backend's error mapping. They
//! need no emulator and always run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use chaoslab::backend::aws::AwsBackend;
use chaoslab::backend::aws::clients::{MAX_ATTEMPTS, config_loader};
use chaoslab::backend::aws::stacks::StackCatalog;
use chaoslab::backend::{Backend, BackendError};
use chaoslab::traffic::{PublisherSettings, TrafficController, TrafficLimits, TrafficSettings};

const ALICE: &str = "alice";

/// What the fake AWS answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Fault {
    /// Success, for S3 `PutObject` only.
    None = 0,
    /// Every service throttles.
    Throttled = 1,
    /// Every service refuses the session token as expired.
    Expired = 2,
}

/// Which service a request was for, from its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Service {
    S3,
    Sqs,
    Ssm,
    Lambda,
}

#[derive(Default)]
struct Shared {
    fault: AtomicU8,
    /// Requests seen, by service.
    attempts: Mutex<BTreeMap<Service, usize>>,
}

struct FakeAws {
    endpoint: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeAws {
    async fn start(fault: Fault) -> Self {
        let shared = Arc::new(Shared::default());
        shared.fault.store(fault as u8, Ordering::SeqCst);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::clone(&shared);
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let state = Arc::clone(&state);
            async move { answer(&state, &uri, &headers) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            endpoint,
            shared,
            task,
        }
    }

    fn set(&self, fault: Fault) {
        self.shared.fault.store(fault as u8, Ordering::SeqCst);
        self.shared.attempts.lock().unwrap().clear();
    }

    fn attempts(&self, service: Service) -> usize {
        self.shared
            .attempts
            .lock()
            .unwrap()
            .get(&service)
            .copied()
            .unwrap_or(0)
    }

    /// The SDK configuration the server would load, pointed here with fixed test keys.
    async fn config(&self) -> SdkConfig {
        config_loader()
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "tests"))
            .load()
            .await
    }

    async fn backend(&self, data_dir: &Path) -> AwsBackend {
        let catalog = StackCatalog::read(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws/terraform-output.json"),
        )
        .unwrap();
        let backend = AwsBackend::connect(&self.config().await, catalog, data_dir)
            .await
            .unwrap();
        backend.create_stack(ALICE).await.unwrap();
        backend
    }
}

impl Drop for FakeAws {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn service(uri: &Uri, headers: &HeaderMap) -> Service {
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if target.starts_with("AmazonSQS.") {
        Service::Sqs
    } else if target.starts_with("AmazonSSM.") {
        Service::Ssm
    } else if uri.path().starts_with("/20") && uri.path().contains("/functions/") {
        // Lambda's REST paths start with their API version: `/2015-03-31/functions/…`.
        Service::Lambda
    } else {
        // Path-style S3: `PUT /<bucket>/<key>`.
        Service::S3
    }
}

fn answer(shared: &Shared, uri: &Uri, headers: &HeaderMap) -> Response {
    let service = service(uri, headers);
    *shared.attempts.lock().unwrap().entry(service).or_default() += 1;
    let fault = match shared.fault.load(Ordering::SeqCst) {
        1 => Fault::Throttled,
        2 => Fault::Expired,
        _ => Fault::None,
    };
    let xml = |status: StatusCode, code: &str, message: &str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/xml")
            .body(Body::from(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                 <Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
            )))
            .unwrap()
    };
    // The JSON protocols (SQS, SSM): the error's type in `__type`, with a namespace where the
    // service's front end answered. SQS also names its legacy query code in a header.
    let json = |status: StatusCode, kind: &str, message: &str| {
        let mut response = Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0");
        if let Some(("com.amazonaws.sqs", code)) = kind.split_once('#') {
            response = response.header("x-amzn-query-error", format!("{code};Sender"));
        }
        response
            .body(Body::from(format!(
                r#"{{"__type":"{kind}","message":"{message}"}}"#
            )))
            .unwrap()
    };
    let lambda = |status: StatusCode, kind: &str, message: &str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header(
                "x-amzn-errortype",
                format!("{kind}:http://internal.amazon.com/"),
            )
            .body(Body::from(format!(
                r#"{{"message":"{message}","Type":"User"}}"#
            )))
            .unwrap()
    };
    const EXPIRED: &str = "The security token included in the request is expired";
    match (fault, service) {
        (Fault::None, Service::S3) => Response::builder()
            .status(StatusCode::OK)
            .header("etag", "\"d41d8cd98f00b204e9800998ecf8427e\"")
            .body(Body::empty())
            .unwrap(),
        (Fault::None, _) => json(
            StatusCode::BAD_REQUEST,
            "InternalFailure",
            "this fake answers S3 PutObject only",
        ),
        (Fault::Throttled, Service::S3) => xml(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ),
        (Fault::Throttled, Service::Sqs) => json(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.sqs#RequestThrottled",
            "Rate exceeded",
        ),
        (Fault::Throttled, Service::Ssm) => json(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded",
        ),
        (Fault::Throttled, Service::Lambda) => lambda(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate exceeded",
        ),
        (Fault::Expired, Service::S3) => xml(StatusCode::BAD_REQUEST, "ExpiredToken", EXPIRED),
        (Fault::Expired, Service::Sqs | Service::Ssm) => json(
            StatusCode::FORBIDDEN,
            "com.amazon.coral.service#ExpiredTokenException",
            EXPIRED,
        ),
        (Fault::Expired, Service::Lambda) => {
            lambda(StatusCode::FORBIDDEN, "ExpiredTokenException", EXPIRED)
        }
    }
}

fn unavailable(result: Result<impl std::fmt::Debug, BackendError>) -> String {
    match result {
        Err(BackendError::Unavailable(message)) => message,
        other => panic!("expected an Unavailable error, got {other:?}"),
    }
}

#[tokio::test]
async fn throttling_is_retried_then_reported_with_what_to_do_for_every_service() {
    let aws = FakeAws::start(Fault::Throttled).await;
    let data = tempfile::tempdir().unwrap();
    let backend = aws.backend(data.path()).await;

    let message = unavailable(
        backend
            .put_object(ALICE, "input/x.json", Bytes::from_static(b"{}"))
            .await,
    );
    assert!(
        message.starts_with("AWS is throttling s3:PutObject on bucket ")
            && message.ends_with("lower the traffic rate or wait a moment, then try again"),
        "{message}"
    );
    let message = unavailable(
        backend
            .receive_csv_messages(ALICE, 10, Duration::from_secs(1))
            .await,
    );
    assert!(
        message.starts_with("AWS is throttling sqs:ReceiveMessage on csv queue "),
        "{message}"
    );
    let message = unavailable(backend.function_configuration(ALICE).await);
    assert!(
        message.starts_with("AWS is throttling lambda:GetFunctionConfiguration on function "),
        "{message}"
    );
    let message = unavailable(backend.fault_injection(ALICE).await);
    assert!(
        message.starts_with("AWS is throttling ssm:GetParameter on "),
        "{message}"
    );
    // Throttling is transient: the SDK tried each call as often as the backend allows. The
    // function's configuration is three Lambda calls (configuration, event-invoke config and
    // reserved concurrency).
    let max = MAX_ATTEMPTS as usize;
    for (service, calls) in [
        (Service::S3, 1),
        (Service::Sqs, 1),
        (Service::Lambda, 3),
        (Service::Ssm, 1),
    ] {
        assert_eq!(aws.attempts(service), calls * max, "{service:?}");
    }
}

#[tokio::test]
async fn expired_credentials_are_reported_once_with_how_to_refresh_them() {
    let aws = FakeAws::start(Fault::Expired).await;
    let data = tempfile::tempdir().unwrap();
    let backend = aws.backend(data.path()).await;

    let refresh = "refresh them (for example `aws sso login` or new keys) and try again";
    let message = unavailable(
        backend
            .put_object(ALICE, "input/x.json", Bytes::from_static(b"{}"))
            .await,
    );
    assert_eq!(
        message,
        format!("AWS credentials have expired (ExpiredToken): {refresh}")
    );
    for message in [
        unavailable(
            backend
                .receive_csv_messages(ALICE, 10, Duration::from_secs(1))
                .await,
        ),
        unavailable(backend.function_configuration(ALICE).await),
        unavailable(backend.fault_injection(ALICE).await),
    ] {
        assert_eq!(
            message,
            format!("AWS credentials have expired (ExpiredTokenException): {refresh}")
        );
    }
    // Expired credentials are not transient: no call was retried.
    for (service, calls) in [
        (Service::S3, 1),
        (Service::Sqs, 1),
        (Service::Lambda, 3),
        (Service::Ssm, 1),
    ] {
        assert_eq!(aws.attempts(service), calls, "{service:?}");
    }
}

#[tokio::test]
async fn the_publisher_backs_off_under_throttling_reports_it_and_recovers() {
    let aws = FakeAws::start(Fault::Throttled).await;
    let data = tempfile::tempdir().unwrap();
    let backend: Arc<dyn Backend> = Arc::new(aws.backend(data.path()).await);
    let traffic = TrafficController::new(backend, TrafficLimits::default());
    let settings = TrafficSettings {
        publisher: Some(PublisherSettings {
            rate: 20.0,
            error_rate: 0.0,
            stop_after_s: Some(60),
        }),
        subscriber: None,
    };
    traffic.start(ALICE, settings).unwrap();

    // Wait (real time: this backend's clock is the wall clock) for the first failure.
    let failed = wait_for(|| {
        let publisher = traffic.status(ALICE).publisher.unwrap();
        (publisher.failures > 0).then_some(publisher)
    })
    .await;
    assert_eq!(failed.published, 0);
    let last_error = failed.last_error.unwrap();
    assert!(
        last_error.contains("AWS is throttling s3:PutObject"),
        "{last_error}"
    );
    assert!(traffic.status(ALICE).publisher.unwrap().running);

    // Backing off: at 20 objects/s, 2 s of pure throttling would be 40 calls of 3 attempts
    // each without it; with it, a handful.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = aws.attempts(Service::S3) / MAX_ATTEMPTS as usize;
    assert!(calls <= 6, "{calls} PutObject calls in ~2 s of throttling");

    aws.set(Fault::None);
    let recovered = wait_for(|| {
        let publisher = traffic.status(ALICE).publisher.unwrap();
        (publisher.published >= 3).then_some(publisher)
    })
    .await;
    assert!(recovered.running);
    assert!(aws.attempts(Service::S3) >= 3);
    traffic.stop(ALICE).await;
}

/// Polls `check` every 50 ms for up to 30 s.
async fn wait_for<T>(mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(value) = check() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after 30 s");
}
