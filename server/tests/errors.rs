//! The one error model at the HTTP edge: everything under `/api` answers JSON `{code, message}`,
//! pages get the HTML error page, and a server error shows an id, never its cause.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use support::app::{INSTRUCTOR, Lab};

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

#[tokio::test]
async fn the_api_answers_json_for_unknown_paths_wrong_methods_and_long_addresses() {
    let lab = Lab::open();
    let (status, headers, body) = lab.get("/api/v1/nothing-here", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(json(&body)["code"], "not_found");

    let (status, _, body) = lab
        .send(
            Request::builder()
                .method(Method::PATCH)
                .uri("/api/v1/participants")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json(&body)["code"], "method_not_allowed");

    let long = format!("/api/v1/events?participant={}", "x".repeat(9 * 1024));
    let (status, _, body) = lab.get(&long, "").await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert_eq!(json(&body)["code"], "uri_too_long");

    // The body limit's own refusal (the length is declared up front) is JSON too.
    let huge = "x".repeat(100 * 1024);
    let (status, _, body) = lab
        .send(
            Request::put("/api/v1/participants/p-1/slo")
                .header(header::AUTHORIZATION, format!("Bearer {INSTRUCTOR}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, huge.len())
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(&body)["code"], "body_too_large");

    // A cross-site browser request to the API is refused in JSON as well.
    let (status, _, body) = lab
        .send(
            Request::post("/api/v1/participants")
                .header("sec-fetch-site", "cross-site")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"name":"x"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json(&body)["code"], "cross_site_refused");
}

#[tokio::test]
async fn pages_answer_the_html_error_page() {
    let lab = Lab::open();
    let (status, headers, body) = lab.get("/no/such/page", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("Not found"));
    let (status, _, body) = lab
        .send(
            Request::builder()
                .method(Method::DELETE)
                .uri("/traffic")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body.contains("<html"), "{body}");
    let (status, _, body) = lab.get(&format!("/lab/{}", "x".repeat(9 * 1024)), "").await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert!(body.contains("<html"), "{body}");
}

#[tokio::test]
async fn a_server_error_shows_an_id_and_never_its_cause() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    // The participant store fails under the running server: its table is gone.
    let database =
        rusqlite::Connection::open(lab.data_dir().join(chaoslab::database::FILE_NAME)).unwrap();
    database
        .execute_batch("PRAGMA foreign_keys = OFF; DROP TABLE participants;")
        .unwrap();
    let (status, _, page) = lab.get("/traffic", &ada.cookie).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{page}");
    assert!(page.contains("error id "), "{page}");
    assert!(!page.contains("no such table"), "{page}");
    assert!(
        !page.contains("Join the lab"),
        "a failing store is not an unknown participant: {page}"
    );
    let (status, body) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{}", ada.id),
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "internal");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("error id ") && !message.contains("no such table"),
        "{message}"
    );
}

#[test]
fn with_the_aws_backend_no_embedded_engine_is_opened() {
    // Refused for want of a stacks file: before the fix, the embedded engine had already
    // opened (and migrated) the database in the data directory by then.
    let dir = tempfile::tempdir().unwrap();
    let args = chaoslab::serve::ServeArgs {
        backend: chaoslab::backend::BackendKind::Aws,
        stacks: None,
        ..chaoslab::serve::ServeArgs::embedded(dir.path())
    };
    let error = chaoslab::serve::build_state(&args).err().unwrap();
    assert!(format!("{error:#}").contains("stacks"), "{error:#}");
    assert!(
        !dir.path().join(chaoslab::database::FILE_NAME).exists(),
        "the embedded pipeline's database was opened"
    );
}
