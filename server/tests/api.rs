//! The REST API: every operation, its errors, and an authorization matrix built from the OpenAPI
//! document so a new route cannot be left out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use support::app::{INSTRUCTOR, Lab};

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{body}"
    );
}

/// A valid body for each operation that takes one. A new operation with a body must be added here.
fn body_for(operation: &str) -> Option<Value> {
    match operation {
        "create_participant" => Some(json!({ "name": "Someone" })),
        "put_traffic" => Some(
            json!({ "publisher": { "rate": 1, "error_rate": 0.01, "stop_after_s": 60 }, "subscriber": { "rate": 1 } }),
        ),
        "put_slo" => Some(json!({ "max_percent": 2.0, "window_minutes": 5 })),
        "patch_traffic" => Some(json!({ "publisher": { "error_rate": 0.02 } })),
        "patch_slo" => Some(json!({ "window_minutes": 10 })),
        "put_fault_injection" => Some(json!({ "isEnabled": false })),
        "put_function" => Some(json!({ "timeout_seconds": 5 })),
        "invoke_function" => Some(json!({})),
        "redrive_dead_letters" => Some(json!({ "max": 10 })),
        "validate_experiment" | "create_experiment" | "put_experiment" => Some(quick_experiment()),
        "start_run" | "halt_run" => Some(json!({})),
        "start_game_day" => Some(json!({ "experiment": quick_experiment() })),
        "halt_game_day" => Some(json!({})),
        "act_on_participants" => Some(json!({ "action": "stop_traffic" })),
        "import_experiment" => Some(json!({ "experiment": {
            "title": "t", "description": "d",
            "method": [{ "type": "action", "name": "off", "provider": { "type": "process", "path": "aws",
                "arguments": "ssm put-parameter --name p --value '{\"isEnabled\": false}'" } }] } })),
        "query_metrics" => Some(json!({
            "MetricDataQueries": [{ "Id": "m1", "MetricStat": { "Metric": { "Namespace": "AWS/Lambda", "MetricName": "Invocations",
                "Dimensions": [{ "Name": "FunctionName", "Value": "f" }] }, "Period": 300, "Stat": "Sum" } }],
            "StartTime": "2026-11-26T00:00:00Z", "EndTime": "2026-11-26T01:00:00Z" })),
        _ => None,
    }
}

/// An experiment with nothing to do: a run of it ends at once.
fn quick_experiment() -> Value {
    json!({ "title": "Nothing", "description": "A run that ends at once.", "method": [] })
}

/// Who may call an operation. Anything not listed is a participant's own resource.
fn access(operation: &str) -> &'static str {
    match operation {
        "create_participant" => "open",
        "list_participants"
        | "delete_participant"
        | "list_events"
        | "reset_participant"
        | "act_on_participants"
        | "start_game_day"
        | "get_game_day"
        | "halt_game_day"
        | "game_day_journals" => "instructor",
        _ => "own",
    }
}

#[tokio::test]
async fn authorization_matrix_over_every_documented_operation() {
    let lab = Lab::open();
    let (_, a_token) = lab.join_through_api("A").await;
    let (b_id, b_token) = lab.join_through_api("B").await;
    // B's experiment and a run of it, for the paths that name one.
    let (_, experiment) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{b_id}/experiments"),
            Some(&b_token),
            Some(quick_experiment()),
        )
        .await;
    let experiment = experiment["id"].as_str().unwrap().to_owned();
    let (_, run) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{b_id}/experiments/{experiment}/runs"),
            Some(&b_token),
            None,
        )
        .await;
    let run = run["id"].as_str().unwrap().to_owned();
    let document = serde_json::to_value(chaoslab::api::openapi()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            let path = path
                .replace("{id}", &b_id)
                .replace("{experiment}", &experiment)
                .replace("{run}", &run);
            operations.push((path, method.to_uppercase(), id));
        }
    }
    assert!(operations.len() >= 15, "{operations:?}");
    let expected_calls = operations.len() * 4 - 1;
    // Deleting B goes last.
    operations.sort_by_key(|(_, method, _)| method == "DELETE");
    let mut checked = 0;
    for (path, method, operation) in operations {
        let method: Method = method.parse().unwrap();
        let body = || body_for(&operation);
        if matches!(method, Method::POST | Method::PUT | Method::PATCH)
            && !matches!(operation.as_str(), "reset_participant" | "leave_lab")
        {
            assert!(body().is_some(), "add a body for {operation} to body_for()");
        }
        let callers = [
            ("anonymous", None),
            ("A", Some(a_token.as_str())),
            ("B", Some(b_token.as_str())),
            ("instructor", Some(INSTRUCTOR)),
        ];
        for (caller, token) in callers {
            if operation == "delete_participant" && caller == "instructor" {
                continue; // checked at the very end, as it removes B
            }
            let (status, response) = lab.api(method.clone(), &path, token, body()).await;
            let expected_ok = match (access(&operation), caller) {
                ("open", _) => true,
                ("instructor", "instructor") => true,
                ("instructor", _) => false,
                (_, "B" | "instructor") => true,
                _ => false,
            };
            // Reached, but in the way of the thing itself: the instructor starting a second run
            // while B's goes on, or deleting the experiment B has just deleted.
            let in_the_way = matches!(
                (operation.as_str(), caller, status),
                ("start_run", _, StatusCode::CONFLICT)
                    | ("get_game_day", "instructor", StatusCode::NOT_FOUND)
                    | ("delete_experiment", "instructor", StatusCode::NOT_FOUND)
            );
            if expected_ok {
                assert!(
                    status.is_success() || in_the_way,
                    "{caller} {method} {path} ({operation}): {status} {response}"
                );
            } else {
                let expected = match (access(&operation), caller) {
                    (_, "anonymous") => StatusCode::UNAUTHORIZED,
                    ("instructor", _) => StatusCode::FORBIDDEN,
                    _ => StatusCode::NOT_FOUND,
                };
                assert_eq!(
                    status, expected,
                    "{caller} {method} {path} ({operation}): {response}"
                );
                assert!(response["code"].is_string(), "{response}");
            }
            checked += 1;
        }
    }
    let (status, _) = lab
        .api(
            Method::DELETE,
            &format!("/api/v1/participants/{b_id}"),
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(checked, expected_calls);
    // A participant never sees another's data: B's resources are gone for everyone now.
    let (status, _) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{b_id}"),
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn creating_a_participant_returns_their_token_and_stack() {
    let lab = Lab::open();
    let (status, body) = lab
        .api(
            Method::POST,
            "/api/v1/participants",
            None,
            Some(json!({ "name": "Ada" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["name"], "Ada");
    assert!(body["token"].as_str().unwrap().starts_with("clp_"));
    assert!(
        body["stack"]["bucket"]
            .as_str()
            .unwrap()
            .starts_with("chaos-bucket-")
    );
    let id = body["id"].as_str().unwrap();
    let token = body["token"].as_str().unwrap();
    let (status, me) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["stack"], body["stack"]);
    assert!(
        me.get("token").is_none(),
        "the token is shown only at creation"
    );
}

#[tokio::test]
async fn bad_bodies_get_the_documented_errors() {
    let lab = Lab::open();
    let (status, body) = lab
        .api(
            Method::POST,
            "/api/v1/participants",
            None,
            Some(json!({ "name": 5 })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a wrong type is read but not accepted"
    );
    assert_error(&body, "invalid_body");
    let (status, body) = lab
        .api(Method::POST, "/api/v1/participants", None, Some(json!({})))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a missing field is read but not accepted"
    );
    assert_error(&body, "invalid_body");
    let (status, body) = lab
        .api(
            Method::POST,
            "/api/v1/participants",
            None,
            Some(json!({ "name": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "invalid_name");
    let malformed = Request::post("/api/v1/participants")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"name\":"))
        .unwrap();
    let (status, body) = lab.api_raw(malformed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "invalid_json");
    let no_type = Request::post("/api/v1/participants")
        .body(Body::from("{\"name\":\"x\"}"))
        .unwrap();
    let (status, body) = lab.api_raw(no_type).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&body, "unsupported_media_type");
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(100 * 1024));
    let oversize = Request::post("/api/v1/participants")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(huge))
        .unwrap();
    let (status, body) = lab.api_raw(oversize).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&body, "body_too_large");
    assert!(
        lab.state.participants.list().unwrap().is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn unknown_ids_and_forged_tokens_are_refused() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let (status, body) = lab
        .api(
            Method::GET,
            "/api/v1/participants/p-nope/accounting",
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
    let (status, body) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}"),
            Some("clp_forged"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "unauthorized");
    let request = Request::get(format!("/api/v1/participants/{id}"))
        .header(header::AUTHORIZATION, token.clone())
        .body(Body::empty())
        .unwrap();
    let (status, body) = lab.api_raw(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a token without 'Bearer'");
    assert_error(&body, "unauthorized");
}

#[tokio::test]
async fn traffic_slo_and_metrics_round_trip_with_validation() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let t = Some(token.as_str());
    let base = format!("/api/v1/participants/{id}");
    let (status, body) = lab
        .api(
            Method::PUT,
            &format!("{base}/traffic"),
            t,
            Some(json!({ "publisher": { "rate": 50 } })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "invalid_traffic_settings");
    assert!(body["message"].as_str().unwrap().contains("publisher.rate"));
    let (status, body) = lab
        .api(
            Method::PUT,
            &format!("{base}/traffic"),
            t,
            Some(json!({ "subscriber": { "rate": 3 } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["subscriber"]["running"], true);
    assert!(body["publisher"].is_null(), "the publisher was left out");
    let (_, body) = lab
        .api(Method::GET, &format!("{base}/traffic"), t, None)
        .await;
    assert_eq!(body["subscriber"]["settings"]["rate"], 3.0);
    let (status, body) = lab
        .api(Method::DELETE, &format!("{base}/traffic"), t, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["subscriber"]["running"], false);

    let (status, body) = lab
        .api(
            Method::PUT,
            &format!("{base}/slo"),
            t,
            Some(json!({ "max_percent": 0, "window_minutes": 5 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "invalid_slo");
    let (status, body) = lab
        .api(
            Method::PUT,
            &format!("{base}/slo"),
            t,
            Some(json!({ "max_percent": 2.0, "window_minutes": 5 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["stated"], true);
    assert!(
        body["status"]["met"].is_null(),
        "no traffic: not enough data"
    );

    let (status, body) = lab
        .api(
            Method::POST,
            &format!("{base}/metrics/query"),
            t,
            body_for("query_metrics"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["MetricDataResults"][0]["Id"], "m1");
    let mut bad = body_for("query_metrics").unwrap();
    bad["MetricDataQueries"][0]["MetricStat"]["Period"] = json!(61);
    let (status, body) = lab
        .api(Method::POST, &format!("{base}/metrics/query"), t, Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("60"), "{body}");

    let (status, body) = lab
        .api(Method::GET, &format!("{base}/dashboard?minutes=2"), t, None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a value out of range"
    );
    assert_error(&body, "invalid_range");
    let (_, body) = lab
        .api(Method::GET, &format!("{base}/dashboard"), t, None)
        .await;
    assert_eq!(body["widgets"].as_array().unwrap().len(), 8);
    let (_, body) = lab
        .api(Method::GET, &format!("{base}/function"), t, None)
        .await;
    assert_eq!(
        (
            body["timeout_seconds"].as_f64(),
            body["maximum_retry_attempts"].as_u64()
        ),
        (Some(3.0), Some(2))
    );
    let (_, body) = lab
        .api(Method::GET, &format!("{base}/accounting"), t, None)
        .await;
    assert_eq!(
        body,
        json!({ "published": 0, "converted": 0, "dead_lettered": 0, "dropped": 0, "in_flight": 0, "consumed": 0, "expired": 0 })
    );
    let (_, steps) = lab
        .api(Method::GET, &format!("{base}/steps"), t, None)
        .await;
    assert_eq!(
        steps.as_array().unwrap().len(),
        21,
        "lab 1's 7 steps, lab 2's 5, lab 3's 5 and lab 4's 4"
    );
    assert_eq!(steps[1]["id"], "create-the-pipeline");
    assert_eq!(
        (steps[7]["lab"].clone(), steps[7]["number"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(steps[1]["done"], true, "the stack exists");
    assert_eq!(steps[0]["done"], false);
}

#[tokio::test]
async fn the_event_log_pages_and_exports_csv() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    lab.api(
        Method::PUT,
        &format!("/api/v1/participants/{id}/traffic"),
        Some(&token),
        Some(json!({ "subscriber": { "rate": 1 } })),
    )
    .await;
    lab.join_through_api("Bob").await;
    let (status, page) = lab
        .api(
            Method::GET,
            "/api/v1/events?limit=2",
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["kind"], "joined");
    assert_eq!(page["items"][1]["kind"], "traffic_started");
    let next = page["next"].as_i64().unwrap();
    let (_, rest) = lab
        .api(
            Method::GET,
            &format!("/api/v1/events?after={next}"),
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next"].is_null());
    let (_, mine) = lab
        .api(
            Method::GET,
            &format!("/api/v1/events?participant={id}"),
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    let (status, csv) = lab
        .api(
            Method::GET,
            "/api/v1/events?format=csv",
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().unwrap().to_owned();
    assert!(csv.starts_with("seq,at,participant,kind,detail\n"));
    assert_eq!(csv.lines().count(), 4);
    let (status, body) = lab
        .api(
            Method::GET,
            "/api/v1/events?format=xml",
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "invalid_query");
}

#[tokio::test]
async fn the_instructor_lists_participants_in_pages() {
    let lab = Lab::open();
    for name in ["A", "B", "C"] {
        lab.join_through_api(name).await;
    }
    let (_, page) = lab
        .api(
            Method::GET,
            "/api/v1/participants?limit=2",
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap().to_owned();
    let (_, rest) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants?limit=2&after={next}"),
            Some(INSTRUCTOR),
            None,
        )
        .await;
    // Participants created in the same millisecond are ordered by id, so compare as a set.
    let mut names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|item| item["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["A", "B", "C"],
        "every participant once across the pages"
    );
    assert!(rest["next"].is_null());
    let (status, body) = lab
        .api(
            Method::GET,
            "/api/v1/participants?limit=0",
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "invalid_limit");
    let (status, body) = lab
        .api(
            Method::GET,
            "/api/v1/participants?limit=abc",
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "invalid_query");
}

#[test]
fn the_openapi_document_matches_its_snapshot() {
    // The document describes chaoslab's API, not the crate that builds it.
    let info = serde_json::to_value(chaoslab::api::openapi()).unwrap()["info"].clone();
    assert_eq!(info["title"], "chaoslab API", "{info}");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"), "{info}");
    assert!(info.get("contact").is_none(), "{info}");
    // One-space indents: still one field per line for review, and a fifth smaller than two.
    let mut document = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    serde::Serialize::serialize(
        &chaoslab::api::openapi(),
        &mut serde_json::Serializer::with_formatter(&mut document, formatter),
    )
    .unwrap();
    let document = String::from_utf8(document).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &document).unwrap();
    }
    // Every reference resolves: a client generator or schemathesis refuses a document that
    // names a schema it does not hold.
    let value: Value = serde_json::from_str(&document).unwrap();
    let mut references = Vec::new();
    collect_references(&value, &mut references);
    for reference in &references {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("an unexpected reference {reference}"));
        assert!(
            value["components"]["schemas"].get(name).is_some(),
            "{reference} is not in the document"
        );
    }
    assert!(!references.is_empty());
    let pinned = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        pinned == document,
        "the OpenAPI document changed; review it and run `UPDATE_SNAPSHOTS=1 cargo test -p chaoslab --test api` to pin it"
    );
}

#[tokio::test]
async fn the_document_and_its_browsable_ui_are_served() {
    let lab = Lab::open();
    let (status, document) = lab.api(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["paths"]["/api/v1/participants/{id}/accounting"].is_object());
    let (status, page) = lab
        .api_raw(Request::get("/api/docs/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.as_str().unwrap().contains("swagger"),
        "offline Swagger UI"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let lab = Lab::open();
    for path in ["/", "/api/openapi.json", "/static/chaoslab.css", "/nope"] {
        let (_, headers, _) = lab
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        let policy = headers
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
            "{path}: {policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        assert_eq!(
            headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
            "nosniff"
        );
    }
}

#[tokio::test]
async fn a_client_that_floods_the_api_is_rate_limited() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let mut limited = None;
    for attempt in 0..200 {
        let (status, body) = lab
            .api(
                Method::GET,
                &format!("/api/v1/participants/{id}/accounting"),
                Some(&token),
                None,
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_error(&body, "rate_limited");
            limited = Some(attempt);
            break;
        }
        assert_eq!(status, StatusCode::OK);
    }
    let limited = limited.expect("the limit never applied");
    assert!(
        (50..=70).contains(&limited),
        "limited after {limited} requests"
    );
    // Another client is not affected.
    let (status, _) = lab
        .api(Method::GET, "/api/v1/participants", Some(INSTRUCTOR), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Every `$ref` in `value`, depth first.
fn collect_references(value: &Value, references: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                match (key.as_str(), member.as_str()) {
                    ("$ref", Some(reference)) => references.push(reference.to_owned()),
                    _ => collect_references(member, references),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_references(item, references);
            }
        }
        _ => {}
    }
}
