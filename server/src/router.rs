//! The whole router: the lab and instructor pages ([`crate::web`]), the REST API
//! ([`crate::api`]), `/healthz` and `/readyz`, and the layers every request passes through.
//!
//! Under `/api` every answer is JSON, errors included: an unknown path (404), a wrong method
//! (405), an oversized body (413), an over-long URI (414) or a wrong content type (415) get the
//! API's `{code, message}` body. Everywhere else they get the HTML error page.

use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::api::error::ApiError;
use crate::protection;
use crate::state::{AppState, MAX_BODY_BYTES, MAX_METRIC_QUERY_BODY_BYTES};
use crate::web;

/// Longest request target accepted, in bytes: far above anything the pages or the API build.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The response header that tells the pipeline's time when the answer was made, in RFC 3339
/// with milliseconds. Pipeline time runs `--time-scale` times faster than the wall clock on the
/// embedded backend; steps, the SLO, traffic and metric queries use it, while `created`,
/// `last_seen` and the event log's `at` are wall time.
pub const PIPELINE_TIME_HEADER: &str = "pipeline-time";

/// The whole application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(web::routes())
        .merge(crate::api::router(state.traffic.limits()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::api::limit::rate_limit_api,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::session::refuse_cross_site,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            protection::security_headers,
        ))
        .layer(axum::middleware::from_fn(limit_bodies))
        .layer(axum::middleware::from_fn(api_errors_as_json))
        .layer(axum::middleware::from_fn(refuse_long_uris))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            tell_pipeline_time,
        ))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    if state.ready.load(Ordering::Acquire) {
        (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "backend": state.backend.kind() })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "starting" })),
        )
    }
}

fn is_api(uri: &Uri) -> bool {
    let path = uri.path();
    path == "/api" || path.starts_with("/api/")
}

async fn not_found(uri: Uri) -> Response {
    if is_api(&uri) {
        ApiError::not_found(format!(
            "there is no API operation at {}; the operations are listed at /api/docs/",
            uri.path()
        ))
        .into_response()
    } else {
        web::error::not_found().await.into_response()
    }
}

async fn method_not_allowed(uri: Uri, method: axum::http::Method) -> Response {
    if is_api(&uri) {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "{method} is not an operation of {}; the operations are listed at /api/docs/",
                uri.path()
            ),
        )
        .into_response()
    } else {
        web::error::WebError::MethodNotAllowed.into_response()
    }
}

/// Adds [`PIPELINE_TIME_HEADER`] to every response, read once the answer is made.
async fn tell_pipeline_time(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let now = crate::metrics::rfc3339::format_millis(state.backend.clock().now());
    if let Ok(value) = header::HeaderValue::from_str(&now) {
        response.headers_mut().insert(PIPELINE_TIME_HEADER, value);
    }
    response
}

/// Refuses a request whose target is longer than [`MAX_URI_BYTES`], before anything reads it.
async fn refuse_long_uris(request: Request, next: Next) -> Response {
    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if length <= MAX_URI_BYTES {
        return next.run(request).await;
    }
    if is_api(request.uri()) {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "the request's address is {length} bytes long, over the limit of {MAX_URI_BYTES}; \
                 send long queries in a request body"
            ),
        )
        .into_response()
    } else {
        web::error::WebError::UriTooLong.into_response()
    }
}

/// The body limit of a path: [`MAX_BODY_BYTES`], but [`MAX_METRIC_QUERY_BODY_BYTES`] for a
/// metrics query, which may carry GetMetricData's 500 queries.
fn body_limit(uri: &Uri) -> usize {
    let path = uri.path();
    if path.starts_with("/api/v1/participants/") && path.ends_with("/metrics/query") {
        MAX_METRIC_QUERY_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// Refuses a body over the path's limit with 413, as tower-http's `RequestBodyLimit` does: at
/// once when `Content-Length` says so, else when the handler reads past the limit.
async fn limit_bodies(request: Request, next: Next) -> Response {
    let limit = body_limit(request.uri());
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let request =
        request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    next.run(request).await
}

/// Under `/api`, turns an error answered by a layer rather than a handler (the body limit's 413,
/// say) into the API's JSON error body, so that no API client ever has to parse text.
async fn api_errors_as_json(request: Request, next: Next) -> Response {
    if !is_api(request.uri()) {
        return next.run(request).await;
    }
    let limit = body_limit(request.uri());
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body_too_large",
            format!("the body is over the limit of {} KiB", limit / 1024),
        ),
        StatusCode::FORBIDDEN => (
            "cross_site_refused",
            "a browser sent this request from another site; call the API with a bearer token, \
             without cookies"
                .to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`".to_owned(),
        ),
        other => (
            "request_refused",
            format!(
                "the request was refused: {}",
                other.canonical_reason().unwrap_or("error")
            ),
        ),
    };
    let (parts, _) = response.into_parts();
    let mut json = ApiError::new(status, code, message).into_response();
    // Keep what the layer said about retrying or allowed methods.
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(value) = parts.headers.get(&name) {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}
