//! The API as a contract a tool can trust: strict input, authorization before validation,
//! partial updates, the pipeline's time on every answer, fair rate limits and a public address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use support::app::Lab;
use support::binary::Binary;

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

async fn slo_of(lab: &Lab, id: &str, token: &str) -> Value {
    let (status, body) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/slo"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_json_array_is_never_read_as_an_object() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let slo = format!("/api/v1/participants/{id}/slo");
    let (status, body) = lab
        .api(Method::PUT, &slo, Some(&token), Some(json!([2.5, 10])))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "not_an_object");
    assert!(body["message"].as_str().unwrap().contains("an array"));
    assert_eq!(slo_of(&lab, &id, &token).await["stated"], false);

    let traffic = format!("/api/v1/participants/{id}/traffic");
    let (status, body) = lab
        .api(
            Method::PUT,
            &traffic,
            Some(&token),
            Some(json!([null, null])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = lab
        .api(
            Method::PUT,
            &traffic,
            Some(&token),
            Some(json!({ "publisher": [1, 0.1] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("publisher"),
        "{body}"
    );
    assert!(
        !lab.state.traffic.status(&id).is_running(),
        "nothing started"
    );
}

#[tokio::test]
async fn an_unknown_field_is_refused_by_name_and_changes_nothing() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let slo = format!("/api/v1/participants/{id}/slo");
    let (status, _) = lab
        .api(
            Method::PUT,
            &slo,
            Some(&token),
            Some(json!({ "max_percent": 3, "window_minutes": 10 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = lab
        .api(
            Method::PUT,
            &slo,
            Some(&token),
            Some(json!({ "max_precent": 50 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(&body), "unknown_field");
    assert!(
        body["message"].as_str().unwrap().contains("max_precent"),
        "{body}"
    );
    let objective = slo_of(&lab, &id, &token).await["status"]["objective"].clone();
    assert_eq!(
        objective,
        json!({ "max_percent": 3.0, "window_minutes": 10 })
    );

    let (status, body) = lab
        .api(
            Method::PATCH,
            &format!("/api/v1/participants/{id}/traffic"),
            Some(&token),
            Some(json!({ "publisher": { "rte": 1 } })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("rte"), "{body}");
}

#[tokio::test]
async fn a_whole_number_may_be_written_with_a_fraction_or_an_exponent() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let slo = format!("/api/v1/participants/{id}/slo");
    let (status, body) = lab
        .api(
            Method::PUT,
            &slo,
            Some(&token),
            Some(json!({ "max_percent": 3, "window_minutes": 10.0 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"]["objective"]["window_minutes"], 10);
    let raw = Request::put(&slo)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"max_percent": 3, "window_minutes": 1.5e1}"#))
        .unwrap();
    let (status, body) = lab.api_raw(raw).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"]["objective"]["window_minutes"], 15);
    let (status, body) = lab
        .api(
            Method::PUT,
            &slo,
            Some(&token),
            Some(json!({ "max_percent": 3, "window_minutes": 10.5 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("window_minutes"));
}

#[tokio::test]
async fn who_may_call_is_decided_before_the_request_is_read() {
    let lab = Lab::open();
    let (_, token) = lab.join_through_api("Ada").await;
    let (other, _) = lab.join_through_api("Grace").await;
    for path in [
        "/api/v1/events?limit=abc",
        "/api/v1/events?format=xml",
        "/api/v1/participants?limit=0",
    ] {
        let (status, body) = lab.api(Method::GET, path, Some(&token), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let (status, body) = lab
        .api(
            Method::POST,
            "/api/v1/participants/actions",
            Some(&token),
            Some(json!([1])),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Someone else's resource is "not found" whatever the body.
    let (status, body) = lab
        .api(
            Method::PUT,
            &format!("/api/v1/participants/{other}/slo"),
            Some(&token),
            Some(json!([1])),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{other}/dashboard?minutes=1"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // And anonymous callers are asked for a token first.
    let (status, _) = lab
        .api(Method::GET, "/api/v1/events?limit=abc", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let request = Request::get(format!("/api/v1/participants/{id}"))
            .header(header::AUTHORIZATION, format!("{scheme} {token}"))
            .body(Body::empty())
            .unwrap();
        let (status, body) = lab.api_raw(request).await;
        assert_eq!(status, StatusCode::OK, "{scheme}: {body}");
    }
    let request = Request::get(format!("/api/v1/participants/{id}"))
        .header(header::AUTHORIZATION, format!("Basic {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, _) = lab.api_raw(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn patching_the_slo_keeps_the_field_left_out() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let slo = format!("/api/v1/participants/{id}/slo");
    lab.api(
        Method::PUT,
        &slo,
        Some(&token),
        Some(json!({ "max_percent": 3, "window_minutes": 10 })),
    )
    .await;
    let (status, body) = lab
        .api(
            Method::PATCH,
            &slo,
            Some(&token),
            Some(json!({ "max_percent": 4.5 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["status"]["objective"],
        json!({ "max_percent": 4.5, "window_minutes": 10 })
    );
    let (status, _) = lab
        .api(
            Method::PATCH,
            &slo,
            Some(&token),
            Some(json!({ "window_minutes": 0 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        slo_of(&lab, &id, &token).await["status"]["objective"],
        json!({ "max_percent": 4.5, "window_minutes": 10 })
    );
}

#[tokio::test]
async fn changing_the_error_rate_keeps_the_rate_and_the_automatic_stop() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let traffic = format!("/api/v1/participants/{id}/traffic");
    let (status, started) = lab
        .api(
            Method::PUT,
            &traffic,
            Some(&token),
            Some(json!({ "publisher": { "rate": 3, "error_rate": 0.01, "stop_after_s": 600 } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let stops_at = started["publisher"]["stops_at"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let (status, changed) = lab
        .api(
            Method::PATCH,
            &traffic,
            Some(&token),
            Some(json!({ "publisher": { "error_rate": 0.1 } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let publisher = &changed["publisher"];
    assert_eq!(publisher["settings"]["error_rate"], 0.1);
    assert_eq!(publisher["settings"]["rate"], 3.0, "the rate is kept");
    assert_eq!(publisher["settings"]["stop_after_s"], 600);
    assert_eq!(
        publisher["stops_at"].as_i64().unwrap(),
        stops_at,
        "the automatic stop did not move"
    );

    let (_, restated) = lab
        .api(
            Method::PATCH,
            &traffic,
            Some(&token),
            Some(json!({ "publisher": { "stop_after_s": 1200 } })),
        )
        .await;
    let moved = restated["publisher"]["stops_at"].as_i64().unwrap();
    assert!(
        moved >= stops_at + 600_000,
        "stating stop_after_s restarts the count: {stops_at} -> {moved}"
    );
    assert_eq!(restated["publisher"]["settings"]["error_rate"], 0.1);
    lab.api(Method::DELETE, &traffic, Some(&token), None).await;
}

#[tokio::test]
async fn every_answer_tells_the_pipeline_time() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    for (path, auth) in [
        ("/healthz".to_owned(), None),
        (format!("/api/v1/participants/{id}"), Some(token.as_str())),
        ("/api/v1/nowhere".to_owned(), None),
        ("/".to_owned(), None),
    ] {
        let mut request = Request::get(&path);
        if let Some(token) = auth {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let before = lab.state.backend.clock().now();
        let (_, headers, _) = lab.send(request.body(Body::empty()).unwrap()).await;
        let after = lab.state.backend.clock().now();
        let told = headers
            .get("pipeline-time")
            .unwrap_or_else(|| panic!("{path} has no pipeline-time"))
            .to_str()
            .unwrap();
        let told = chrono::DateTime::parse_from_rfc3339(told)
            .unwrap()
            .timestamp_millis();
        assert!(
            (before..=after).contains(&told),
            "{path}: {told} not in {before}..={after}"
        );
    }
}

#[tokio::test]
async fn the_document_states_this_servers_caps_and_describes_every_response() {
    let lab = Lab::with(|args| args.max_rate = 50.0);
    let (status, document) = lab.api(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["PublisherChange"]["properties"]["rate"]["maximum"],
        50.0
    );
    assert_eq!(
        schemas["SubscriberChange"]["properties"]["rate"]["maximum"],
        50.0
    );
    assert_eq!(
        schemas["NewParticipant"]["properties"]["name"]["maxLength"],
        40
    );
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|text| !text.is_empty()),
                    "{method} {path} {status} has no description"
                );
                assert!(
                    response["headers"]["pipeline-time"].is_object(),
                    "{method} {path} {status} does not document pipeline-time"
                );
            }
        }
    }
    let events = &document["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"];
    assert!(events["text/csv"].is_object(), "{events}");
}

#[tokio::test]
async fn a_name_over_forty_characters_is_refused_even_if_spaces_make_it_long() {
    let lab = Lab::open();
    let padded = format!("Ada{}", " ".repeat(40));
    let (status, body) = lab
        .api(
            Method::POST,
            "/api/v1/participants",
            None,
            Some(json!({ "name": padded })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = lab
        .api(
            Method::POST,
            "/api/v1/participants",
            None,
            Some(json!({ "name": "\tAda" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn behind_an_https_address_cookies_are_secure_and_hsts_is_sent() {
    let lab = Lab::with(|args| args.public_url = Some("https://lab.example.org".to_owned()));
    let join = |origin: &str| {
        Request::post("/join")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "10.0.0.5:8080")
            .header(header::ORIGIN, origin)
            .body(Body::from("name=Ada"))
            .unwrap()
    };
    let (status, headers, _) = lab.send(join("https://lab.example.org")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(
        headers.get(header::STRICT_TRANSPORT_SECURITY).unwrap(),
        "max-age=31536000"
    );
    // The proxy forwards to 10.0.0.5:8080, but the browser's origin is the public one: a post
    // from the internal address is another origin.
    let (status, _, _) = lab.send(join("http://10.0.0.5:8080")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let plain = Lab::open();
    let (_, headers, _) = plain.get("/", "").await;
    assert!(headers.get(header::STRICT_TRANSPORT_SECURITY).is_none());
}

#[tokio::test]
async fn a_bad_public_url_stops_the_server_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let args = chaoslab::serve::ServeArgs {
        public_url: Some("lab.example.org/chaos".to_owned()),
        ..chaoslab::serve::ServeArgs::embedded(dir.path())
    };
    let error = chaoslab::serve::build_state(&args).err().unwrap();
    assert!(format!("{error:#}").contains("--public-url"), "{error:#}");
}

/// The burst of 60 and some more: the bucket refills at 20 per second while the requests are
/// sent, so a few more may pass on a slow machine.
const OVER_THE_BURST: usize = 100;

fn random_token() -> String {
    format!("clp_{:032x}", fastrand::u128(..))
}

#[test]
fn random_tokens_buy_no_extra_requests() {
    let server = Binary::start(&[], &[]);
    let mut limited_after = None;
    for n in 0..1_000 {
        let (status, body) = server.call("GET", "/api/v1/events", Some(&random_token()), None);
        if status == 429 {
            limited_after = Some(n);
            assert!(body.contains("rate_limited"), "{body}");
            break;
        }
        assert_eq!(status, 401, "{body}");
    }
    let limited_after = limited_after.expect("1,000 random tokens were never limited");
    assert!(
        limited_after < OVER_THE_BURST,
        "limited only after {limited_after} requests"
    );
    // The instructor, identified by a valid token, has a bucket of their own.
    let (status, _) = server.call(
        "GET",
        "/api/v1/events",
        Some(support::binary::INSTRUCTOR_TOKEN),
        None,
    );
    assert_eq!(status, 200);
}

#[test]
fn joins_are_limited_per_address_whatever_token_comes_with_them() {
    let server = Binary::start(&[], &[]);
    let mut created = 0;
    let mut limited = false;
    for _ in 0..80 {
        let (status, body) = server.call(
            "POST",
            "/api/v1/participants",
            Some(&random_token()),
            Some(r#"{"name":"Someone"}"#),
        );
        match status {
            201 => created += 1,
            429 => {
                limited = true;
                break;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(limited, "{created} joins and never limited");
    assert!(created <= 60, "{created} joins before the limit");
}

#[test]
fn behind_a_proxy_the_named_header_tells_clients_apart() {
    let server = Binary::start(&["--client-address-header", "X-Forwarded-For"], &[]);
    let from = |address: &str| {
        let token = format!("Bearer {}", random_token());
        let (status, _, _) = server.send(
            "GET",
            "/api/v1/events",
            &[
                ("Authorization", token.as_str()),
                ("X-Forwarded-For", &format!("198.51.100.1, {address}")),
            ],
            None,
        );
        status
    };
    let first_limited = (0..OVER_THE_BURST).find(|_| from("192.0.2.1") == 429);
    assert!(
        first_limited.is_some(),
        "{OVER_THE_BURST} requests from 192.0.2.1 were never limited"
    );
    assert_eq!(from("192.0.2.2"), 401, "another client has its own bucket");
}

#[tokio::test]
async fn a_metric_query_is_read_as_strictly_as_any_body() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let path = format!("/api/v1/participants/{id}/metrics/query");
    for (body, expected) in [
        (
            json!({ "MetricDataQueries": [["m1", "1"]], "StartTime": "-PT5M" }),
            "item 0",
        ),
        (
            json!({ "MetricDataQueries": [{ "Id": "e1", "Expresion": "1" }], "StartTime": "-PT5M" }),
            "Expresion",
        ),
        (
            json!({ "MetricDataQueries": [{ "Id": "m1", "MetricStat": { "Metric": { "Namespace": "AWS/SQS", "MetricName": "NumberOfMessagesSent", "Dimensions": [["QueueName", "q"]] }, "Period": 60, "Stat": "Sum" } }], "StartTime": "-PT5M" }),
            "expected a JSON object",
        ),
    ] {
        let (status, answer) = lab.api(Method::POST, &path, Some(&token), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(expected),
            "{expected}: {answer}"
        );
    }
}
