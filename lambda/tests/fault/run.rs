//! Every mode around the real handler, under tokio's paused time, and the caller's timeout.

use std::time::Duration;

use chaoslab_etl::event::S3Event;
use chaoslab_etl::fault::{
    DenylistStore, FaultError, Injection, InvocationError, InvocationOutcome, Response,
    StatusCodeResponse, TokioTimer, invoke, run_invocation, s3_virtual_host,
};
use chaoslab_etl::handler::{HandlerError, HandlerReport, handle_event};
use chaoslab_etl::store::MemoryStore;
use tokio::time::Instant;

use super::{TestInjector, injector};

const BUCKET: &str = "chaoslab-alice-pipeline";
const INPUT: &str = "input/data_object_msg-1.json";
const OUTPUT: &str = "output/data_object_msg-1.csv";
/// The lab's function timeout.
const TIMEOUT: Duration = Duration::from_secs(3);

fn event() -> S3Event {
    serde_json::from_str(include_str!("../fixtures/put_simple.json")).unwrap()
}

fn store() -> MemoryStore {
    let store = MemoryStore::new();
    store.insert(BUCKET, INPUT, r#"{"a":1}"#, "application/json");
    store
}

/// One invocation of the ETL handler under `injector`, inside the lab's 3 s timeout, with S3
/// in eu-west-1 behind the invocation's denylist.
async fn invocation(
    injector: &TestInjector,
    store: &MemoryStore,
) -> InvocationOutcome<HandlerReport, HandlerError> {
    let event = event();
    run_invocation(injector, &TokioTimer, TIMEOUT, |block| async move {
        let store = DenylistStore::new(store, block, |bucket: &str| {
            s3_virtual_host(bucket, "eu-west-1")
        });
        handle_event(&store, &event).await
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn no_fault_runs_the_handler() {
    let store = store();
    let outcome = invocation(&injector(r#"{"isEnabled": false}"#, 1), &store).await;
    assert_eq!(outcome.injection, Injection::None);
    assert!(matches!(outcome.result, Ok(Response::Handler(_))));
    assert!(store.object(BUCKET, OUTPUT).is_some());
}

#[tokio::test(start_paused = true)]
async fn latency_waits_before_the_handler_within_the_timeout() {
    let store = store();
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "latency", "minLatency": 1000, "maxLatency": 2000}"#,
        3,
    );
    let started = Instant::now();
    let outcome = invocation(&injector, &store).await;
    let Injection::Latency(latency) = outcome.injection else {
        panic!("latency fires at rate 1: {:?}", outcome.injection);
    };
    assert!((1000..2000).contains(&latency.as_millis()));
    assert_eq!(started.elapsed(), latency);
    assert!(matches!(outcome.result, Ok(Response::Handler(_))));
    assert!(store.object(BUCKET, OUTPUT).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_min_latency_equal_to_the_3_s_timeout_times_out() {
    let store = store();
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "latency", "minLatency": 3000, "maxLatency": 3000}"#,
        3,
    );
    let started = Instant::now();
    let outcome = invocation(&injector, &store).await;
    assert_eq!(outcome.injection, Injection::Latency(TIMEOUT));
    let error = outcome.result.unwrap_err();
    assert!(matches!(error, InvocationError::TimedOut { .. }));
    assert_eq!(error.to_string(), "Task timed out after 3.00 seconds");
    assert_eq!(started.elapsed(), TIMEOUT);
    assert!(
        store.object(BUCKET, OUTPUT).is_none(),
        "the handler never ran"
    );
}

#[tokio::test(start_paused = true)]
async fn a_latency_of_3_to_4_s_times_out_every_fired_invocation() {
    let store = store();
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "latency", "rate": 0.5, "minLatency": 3000, "maxLatency": 4000}"#,
        9,
    );
    let (mut fired, mut timed_out) = (0, 0);
    for _ in 0..200 {
        let outcome = invocation(&injector, &store).await;
        fired += usize::from(outcome.injection.fired());
        timed_out += usize::from(matches!(
            outcome.result,
            Err(InvocationError::TimedOut { .. })
        ));
    }
    assert_eq!(fired, timed_out);
    assert!((70..=130).contains(&fired), "{fired} of 200 fired");
}

#[tokio::test(start_paused = true)]
async fn exception_fails_with_the_message_before_the_handler() {
    let store = store();
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "exception", "exceptionMsg": "Injected by lab 3"}"#,
        1,
    );
    let outcome = invocation(&injector, &store).await;
    let error = outcome.result.unwrap_err();
    assert_eq!(error.to_string(), "Injected by lab 3");
    let InvocationError::Injected(fault) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(fault.error_type(), "InjectedException");
    assert!(store.object(BUCKET, OUTPUT).is_none());
}

#[tokio::test(start_paused = true)]
async fn statuscode_returns_the_code_without_running_the_handler() {
    let store = store();
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "statuscode", "statusCode": 503}"#,
        1,
    );
    let outcome = invocation(&injector, &store).await;
    let Ok(Response::StatusCode(response)) = outcome.result else {
        panic!("{:?}", outcome.result);
    };
    assert_eq!(response, StatusCodeResponse { status_code: 503 });
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"statusCode":503}"#
    );
    assert!(
        store.object(BUCKET, OUTPUT).is_none(),
        "silently never converted"
    );
}

#[tokio::test(start_paused = true)]
async fn diskspace_fills_tmp_before_the_handler_until_it_is_full() {
    let store = store();
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "diskspace", "diskSpace": 100}"#,
        1,
    );
    // 512 MiB holds five fills of 100 MB; the sixth finds the disk full.
    for fill in 1..=5 {
        let outcome = invocation(&injector, &store).await;
        assert!(
            matches!(outcome.result, Ok(Response::Handler(_))),
            "fill {fill}"
        );
        assert_eq!(injector.disk().used(), fill * 100_000_000);
    }
    let outcome = invocation(&injector, &store).await;
    let error = outcome.result.unwrap_err();
    assert!(
        matches!(error, InvocationError::Injected(FaultError::Disk(_))),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("ENOSPC: no space left on device"),
        "{error}"
    );
    assert_eq!(injector.disk().used(), injector.disk().capacity());
}

#[tokio::test(start_paused = true)]
async fn denylist_intercepts_the_handlers_s3_calls_only_while_the_fault_is_on() {
    let store = store();
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "blacklist", "blacklist": ["s3.*.amazonaws.com"]}"#,
        1,
    );
    let outcome = invocation(&injector, &store).await;
    let error = outcome.result.unwrap_err();
    assert!(
        error.to_string().ends_with(
            "failed: Intercepted network connection to chaoslab-alice-pipeline.s3.eu-west-1.amazonaws.com"
        ),
        "{error}"
    );
    assert!(store.object(BUCKET, OUTPUT).is_none());

    // The rollback: once the document is disabled, the same warm injector lets calls through.
    injector.source().set(
        r#"{"isEnabled": false, "failureMode": "blacklist", "blacklist": ["s3.*.amazonaws.com"]}"#,
    );
    injector.clock().advance(Duration::from_secs(5));
    let outcome = invocation(&injector, &store).await;
    assert!(matches!(outcome.result, Ok(Response::Handler(_))));
    assert!(store.object(BUCKET, OUTPUT).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_denylist_for_another_host_lets_s3_through() {
    let store = store();
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "denylist", "denylist": ["dynamodb.*.amazonaws.com"]}"#,
        1,
    );
    let outcome = invocation(&injector, &store).await;
    assert!(outcome.injection.fired());
    assert!(matches!(outcome.result, Ok(Response::Handler(_))));
}

#[tokio::test(start_paused = true)]
async fn an_invalid_document_runs_the_handler_and_reports_why() {
    let store = store();
    let injector = injector(r#"{"isEnabled": true, "failureMode": "chaos"}"#, 1);
    let outcome = invocation(&injector, &store).await;
    assert_eq!(outcome.injection, Injection::None);
    assert!(matches!(outcome.result, Ok(Response::Handler(_))));
    let issue = outcome.issue.expect("the reason");
    assert!(
        issue
            .to_string()
            .contains("\"chaos\" is not a failure mode"),
        "{issue}"
    );
}

#[tokio::test(start_paused = true)]
async fn invoke_without_a_timeout_waits_out_any_latency() {
    let injector = injector(
        r#"{"isEnabled": true, "failureMode": "latency", "minLatency": 5000, "maxLatency": 5000}"#,
        1,
    );
    let started = Instant::now();
    let outcome: InvocationOutcome<u8, std::convert::Infallible> =
        invoke(&injector, &TokioTimer, |block| async move {
            assert!(!block.is_active());
            Ok(7)
        })
        .await;
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(matches!(outcome.result, Ok(Response::Handler(7))));
}

/// How one invocation came out, comparable across the two paths.
fn shape(outcome: &InvocationOutcome<HandlerReport, HandlerError>) -> (Injection, String) {
    let result = match &outcome.result {
        Ok(Response::Handler(report)) => format!("converted {}", report.converted.len()),
        Ok(Response::StatusCode(code)) => format!("status {}", code.status_code),
        Err(error) => format!("error {error}"),
    };
    (outcome.injection.clone(), result)
}

#[tokio::test(start_paused = true)]
async fn the_lambda_binarys_path_and_the_engines_give_the_same_outcomes_for_one_seed_and_document()
{
    // The Lambda binary calls `invoke` (Lambda enforces the timeout); the embedded engine calls
    // `run_invocation` (it plays Lambda). With the same seed and document, invocation by
    // invocation, they draw the same faults and end the same way.
    for document in [
        r#"{"isEnabled": true, "failureMode": "exception", "rate": 0.5, "exceptionMsg": "boom"}"#,
        r#"{"isEnabled": true, "failureMode": "statuscode", "rate": 0.5, "statusCode": 502}"#,
        r#"{"isEnabled": true, "failureMode": "denylist", "rate": 0.5, "denylist": ["s3.*.amazonaws.com"]}"#,
        r#"{"isEnabled": true, "failureMode": "latency", "rate": 0.5, "minLatency": 100, "maxLatency": 2000}"#,
    ] {
        let (binary, engine) = (injector(document, 42), injector(document, 42));
        let store = store();
        let mut fired = 0;
        for _ in 0..200 {
            let event = event();
            let by_binary = invoke(&binary, &TokioTimer, |block| {
                let store = &store;
                let event = &event;
                async move {
                    let store = DenylistStore::new(store, block, |bucket: &str| {
                        s3_virtual_host(bucket, "eu-west-1")
                    });
                    handle_event(&store, event).await
                }
            })
            .await;
            let by_engine = invocation(&engine, &store).await;
            assert_eq!(shape(&by_binary), shape(&by_engine), "{document}");
            fired += usize::from(by_engine.injection.fired());
        }
        // Both paths really drew: about half of 200 fired.
        assert!((70..=130).contains(&fired), "{document}: {fired}");
    }
}
