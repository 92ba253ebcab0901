//! Lab 2 in the pages: moving between the labs, the fault-injection page and its forms, and the
//! function's settings form, driven through the router.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use support::app::{Lab, location};

fn form_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn the_last_step_of_lab_1_leads_into_lab_2_and_each_lab_keeps_its_progress() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (status, _, page) = lab.get("/lab/define-the-slo", &ada.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Lab 1, The pipeline and its steady state · Step 7 of 7"),
        "{page}"
    );
    assert!(
        page.contains(r#"href="/lab/find-the-fault-wrapper" rel="next">On to lab 2: 1. Find the fault wrapper →</a>"#),
        "{page}"
    );
    // Both labs are listed, with the participant's progress in each.
    assert!(
        page.contains(r#"Lab 1<span class="labs__title">The pipeline and its steady state</span>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"Lab 2<span class="labs__title">Fault injection</span>"#),
        "{page}"
    );

    let (status, _, page) = lab.get("/lab/find-the-fault-wrapper", &ada.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Lab 2, Fault injection · Step 1 of 5"),
        "{page}"
    );
    assert!(page.contains("Lab 2: 0 of 5 steps done"), "{page}");
    assert!(
        page.contains(r#"rel="prev">← Lab 1, 7. Define the SLO</a>"#),
        "{page}"
    );
    assert!(page.contains(r#"href="/faults">Open fault injection</a>"#));
    // Lab 1's entry in the list goes to its first step not done.
    assert!(
        page.contains(r#"<a href="/lab/prepare">Lab 1<span"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<span class="labs__progress">0/7<"#),
        "{page}"
    );

    // Opening the fault page passes lab 2's first check; lab 1 keeps its progress.
    let (status, _, page) = lab.get("/faults", &ada.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("/failure-injection</code>"), "{page}");
    let (_, _, page) = lab.get("/lab/find-the-fault-wrapper", &ada.cookie).await;
    assert!(page.contains("Lab 2: 1 of 5 steps done"), "{page}");
    let (_, _, page) = lab.get("/lab/prepare", &ada.cookie).await;
    assert!(page.contains("Lab 1: 1 of 7 steps done"), "{page}");
    assert!(
        page.contains(r#"<span class="labs__progress">1/5<"#),
        "{page}"
    );
}

#[tokio::test]
async fn the_fault_page_writes_a_document_and_names_a_mistake_without_writing() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (_, _, page) = lab.get("/faults", &ada.cookie).await;
    assert!(page.contains("no fault: isEnabled is false"), "{page}");
    assert!(
        page.contains("<strong>5 s</strong>"),
        "the cache TTL: {page}"
    );

    let document = r#"{"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 1000, "maxLatency": 5000}"#;
    let (status, headers, _) = lab
        .post_as(
            &ada,
            "/faults",
            &format!("document={}", form_encode(document)),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/faults");
    let (_, _, page) = lab.get("/faults", &ada.cookie).await;
    assert!(page.contains("A fault is switched on"), "{page}");
    assert!(page.contains("1000–5000 ms of latency"), "{page}");

    // A mistake: the page says which field, keeps the text, and nothing is written.
    let wrong = r#"{"isEnabled": true, "rate": 2}"#;
    let (status, _, page) = lab
        .post_as(&ada, "/faults", &format!("document={}", form_encode(wrong)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains(r#"role="alert""#) && page.contains("rate"),
        "{page}"
    );
    assert!(
        page.contains("&#34;rate&#34;: 2") || page.contains("&quot;rate&quot;: 2"),
        "the text as typed: {page}"
    );
    let (status, _, page) = lab
        .post_as(
            &ada,
            "/faults",
            &format!("document={}", form_encode("not json")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"role="alert""#), "{page}");
    let (_, _, page) = lab.get("/faults", &ada.cookie).await;
    assert!(
        page.contains("1000–5000 ms of latency"),
        "unchanged: {page}"
    );

    // A step's preset goes back to the step.
    let (status, headers, _) = lab
        .post_as(
            &ada,
            "/faults",
            &format!(
                "return_to=%2Flab%2Fswitch-the-fault-off&document={}",
                form_encode(r#"{"isEnabled": false}"#)
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/lab/switch-the-fault-off");
    let (_, _, page) = lab.get("/lab/switch-the-fault-off", &ada.cookie).await;
    assert!(
        page.contains("Fault injection now: no fault: isEnabled is false."),
        "{page}"
    );
    // Somewhere else is not a place to go back to.
    let (_, headers, _) = lab
        .post_as(
            &ada,
            "/faults",
            &format!(
                "return_to=https%3A%2F%2Fevil.example&document={}",
                form_encode(r#"{"isEnabled": false}"#)
            ),
        )
        .await;
    assert_eq!(location(&headers), "/faults");
    // Without the form token nothing is written.
    let (status, _, _) = lab
        .post(
            "/faults",
            &ada.cookie,
            &format!("csrf=wrong&document={}", form_encode(document)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, page) = lab.get("/faults", &ada.cookie).await;
    assert!(!page.contains("A fault is switched on"), "{page}");
}

#[tokio::test]
async fn the_function_page_changes_settings_within_lambdas_limits() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (_, _, page) = lab.get("/function", &ada.cookie).await;
    assert!(page.contains(r#"id="timeout_seconds" name="timeout_seconds" type="number" min="1" max="900" step="1" value="3""#), "{page}");
    assert!(page.contains("FAILURE_INJECTION_PARAM"), "{page}");
    assert!(
        !page.contains("function_settings"),
        "no Terraform on the embedded backend"
    );

    let (status, headers, _) = lab
        .post_as(
            &ada,
            "/function",
            "timeout_seconds=120&memory_mb=256&maximum_retry_attempts=1&maximum_event_age_seconds=3600&reserved_concurrency=",
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/function?saved=1#settings");
    let config = lab
        .state
        .backend
        .function_configuration(&ada.id)
        .await
        .unwrap();
    assert_eq!(config.timeout_seconds, 120.0);
    assert_eq!(config.memory_mb, 256);
    assert_eq!(config.maximum_retry_attempts, 1);
    assert_eq!(config.maximum_event_age_seconds, 3600);
    assert_eq!(config.reserved_concurrency, None);
    let (_, _, page) = lab.get("/function?saved=1", &ada.cookie).await;
    assert!(page.contains("Settings saved: timeout 120 s"), "{page}");

    // Out of Lambda's range, or not a whole number: named, and nothing changes.
    let (status, _, page) = lab
        .post_as(&ada, "/function", "timeout_seconds=901&memory_mb=256&maximum_retry_attempts=1&maximum_event_age_seconds=3600")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("timeout_seconds must be between 1 and 900, got 901"),
        "{page}"
    );
    assert!(
        page.contains(r#"value="901""#),
        "the value as typed: {page}"
    );
    let (status, _, page) = lab.post_as(&ada, "/function", "timeout_seconds=abc").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Timeout must be a whole number"), "{page}");
    let config = lab
        .state
        .backend
        .function_configuration(&ada.id)
        .await
        .unwrap();
    assert_eq!(config.timeout_seconds, 120.0);
}

#[tokio::test]
async fn the_overview_shows_each_participants_fault_and_lab() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let _ = lab.get("/lab/inject-latency", &ada.cookie).await;
    let document =
        r#"{"isEnabled": true, "failureMode": "exception", "rate": 0.5, "exceptionMsg": "boom"}"#;
    let (status, _, _) = lab
        .post_as(
            &ada,
            "/faults",
            &format!("document={}", form_encode(document)),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let instructor = lab.log_in().await;
    let page = lab.overview("", &instructor).await;
    assert!(page.contains("Lab 2, 3. Inject latency"), "{page}");
    assert!(
        page.contains(r#"<span class="badge badge--not-met">on</span> an exception"#),
        "{page}"
    );
}

/// Runs a test invoke from a step's button and answers the step page it returns to.
async fn test_from_step(lab: &Lab, visitor: &support::app::Visitor, step: &str) -> String {
    let (status, headers, page) = lab
        .post_as(
            visitor,
            "/faults/test",
            &format!("return_to=%2Flab%2F{step}%23test-result"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location(&headers), format!("/lab/{step}#test-result"));
    lab.get(&format!("/lab/{step}"), &visitor.cookie).await.2
}

async fn write_fault(lab: &Lab, visitor: &support::app::Visitor, document: &str) {
    let (status, _, page) = lab
        .post_as(
            visitor,
            "/faults",
            &format!("document={}", form_encode(document)),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    // The function's cached copy of the document expires after 5 s.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
}

fn step_done(page: &str) -> bool {
    page.contains(r#"<p class="badge badge--met" role="status">Done: "#)
}

#[tokio::test(start_paused = true)]
async fn lab_2_end_to_end_through_the_pages() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;

    // 1. Find the wrapper.
    let (_, _, page) = lab.get("/lab/find-the-fault-wrapper", &ada.cookie).await;
    assert!(!step_done(&page), "{page}");
    let _ = lab.get("/faults", &ada.cookie).await;
    let (_, _, page) = lab.get("/lab/find-the-fault-wrapper", &ada.cookie).await;
    assert!(step_done(&page), "{page}");

    // 2. A test invoke succeeds, and the step shows it with the function's log.
    let page = test_from_step(&lab, &ada, "test-the-function").await;
    assert!(
        page.contains(r#"<span class="badge badge--met">succeeded</span>"#),
        "{page}"
    );
    assert!(
        page.contains("no fault injected") && page.contains("START RequestId: "),
        "{page}"
    );
    assert!(page.contains("REPORT RequestId: "), "{page}");
    assert!(step_done(&page), "{page}");

    // 3. Latency of 1 to 5 s: some tests succeed, some time out at 3 s.
    write_fault(
        &lab,
        &ada,
        r#"{"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 1000, "maxLatency": 5000}"#,
    )
    .await;
    let mut page = String::new();
    for _ in 0..20 {
        page = test_from_step(&lab, &ada, "inject-latency").await;
    }
    assert!(page.contains("fault injected: <strong>latency "), "{page}");
    assert!(step_done(&page), "{page}");
    let (_, _, faults_page) = lab.get("/faults", &ada.cookie).await;
    assert!(
        faults_page.contains(">timed out</span>") && faults_page.contains("3000.0 ms"),
        "{faults_page}"
    );
    assert!(
        faults_page.contains("Sandbox.Timedout: Task timed out after 3.00 seconds")
            || faults_page.contains(">succeeded</span>")
    );

    // 4. DynamoDB blocked changes nothing; S3 blocked fails on the intercepted host.
    write_fault(
        &lab,
        &ada,
        r#"{"isEnabled": true, "failureMode": "blacklist", "rate": 1, "blacklist": ["dynamodb.*.amazonaws.com"]}"#,
    )
    .await;
    let page = test_from_step(&lab, &ada, "block-a-dependency").await;
    assert!(
        page.contains(">succeeded</span>")
            && page.contains("fault injected: <strong>denylist dynamodb"),
        "{page}"
    );
    assert!(!step_done(&page), "{page}");
    write_fault(
        &lab,
        &ada,
        r#"{"isEnabled": true, "failureMode": "blacklist", "rate": 1, "blacklist": ["s3.*.amazonaws.com"]}"#,
    )
    .await;
    let page = test_from_step(&lab, &ada, "block-a-dependency").await;
    let names = lab.state.backend.stack_names(&ada.id).unwrap();
    assert!(
        page.contains(&format!(
            "Intercepted network connection to {}.s3.us-east-1.amazonaws.com",
            names.bucket
        )),
        "{page}"
    );
    assert!(step_done(&page), "{page}");

    // 5. Off again: a test right away may still see the cached fault; after 5 s it is clean.
    let page = test_from_step(&lab, &ada, "switch-the-fault-off").await;
    assert!(!step_done(&page), "the fault is still on: {page}");
    write_fault(&lab, &ada, r#"{"isEnabled": false}"#).await;
    let page = test_from_step(&lab, &ada, "switch-the-fault-off").await;
    assert!(
        page.contains(">succeeded</span>") && page.contains("no fault injected"),
        "{page}"
    );
    assert!(step_done(&page), "{page}");
    assert!(page.contains("Lab 2: 5 of 5 steps done"), "{page}");
}

#[tokio::test]
async fn a_test_event_that_is_not_an_object_is_named_and_nothing_runs() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (status, _, page) = lab.post_as(&ada, "/faults/test", "event=%5B1%2C2%5D").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("The test event must be a JSON object"),
        "{page}"
    );
    assert!(page.contains("[1,2]"), "the event as typed: {page}");
    let (status, _, page) = lab.post_as(&ada, "/faults/test", "event=%7B").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("The test event is not valid JSON"), "{page}");
    assert!(
        chaoslab::ops::function::recent_invocations(&lab.state, &ada.id)
            .unwrap()
            .is_empty()
    );
    // An event the function cannot read runs, and fails inside the function.
    let (status, _, _) = lab
        .post_as(&ada, "/faults/test", "event=%7B%22Records%22%3A5%7D")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = lab.get("/faults", &ada.cookie).await;
    assert!(
        page.contains(r#"<span class="badge badge--not-met">failed</span>"#),
        "{page}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_dead_letter_page_lists_why_and_redrives_after_the_fix() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (_, _, page) = lab.get("/dead-letters", &ada.cookie).await;
    assert!(page.contains("The queue is empty."), "{page}");
    // How long a message stays, and that the embedded server's retention can shorten it.
    assert!(page.contains("14 days here"), "{page}");
    assert!(
        page.contains("a shorter <code>--retention</code>"),
        "{page}"
    );
    assert!(
        page.contains(" disabled>Redrive to the function</button>"),
        "{page}"
    );

    // An exception on every attempt sends the test sample's asynchronous twin to the queue.
    write_fault(
        &lab,
        &ada,
        r#"{"isEnabled": true, "failureMode": "exception", "rate": 1, "exceptionMsg": "Injected by the test"}"#,
    )
    .await;
    let (status, _, _) = lab.post_as(&ada, "/faults/test", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    tokio::time::sleep(std::time::Duration::from_secs(200)).await;
    let (_, _, page) = lab.get("/dead-letters", &ada.cookie).await;
    assert!(
        page.contains("<code>input/test-invoke.json</code>"),
        "{page}"
    );
    assert!(page.contains("<td>Injected by the test</td>"), "{page}");
    assert!(page.contains("<td>200</td>"), "ErrorCode: {page}");
    let accounting = lab.state.backend.accounting(&ada.id).await.unwrap();
    assert_eq!(accounting.dead_lettered, 1, "{accounting:?}");

    // A bad count is named; nothing moves.
    let (status, _, page) = lab.post_as(&ada, "/dead-letters/redrive", "max=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("max must be between 1 and 1000, got 0"),
        "{page}"
    );

    // Fix the cause, then redrive: the event is converted.
    write_fault(&lab, &ada, r#"{"isEnabled": false}"#).await;
    let (status, headers, _) = lab.post_as(&ada, "/dead-letters/redrive", "max=").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/dead-letters?redriven=1&remaining=0");
    let (_, _, page) = lab.get(location(&headers), &ada.cookie).await;
    assert!(
        page.contains("1 message(s) handed back to the function; 0 left in the queue."),
        "{page}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let accounting = lab.state.backend.accounting(&ada.id).await.unwrap();
    assert_eq!(
        (accounting.dead_lettered, accounting.in_flight),
        (0, 0),
        "{accounting:?}"
    );
    assert!(accounting.balances(), "{accounting:?}");
}
