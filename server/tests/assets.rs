//! The browser assets: the vendored libraries and our own CSS/JS are embedded, and `/static/` serves
//! them with the right types, cache headers and revalidation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chaoslab::web::assets::{asset, serve_asset};
use tower::ServiceExt;

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

const SERVED: [(&str, &str); 5] = [
    ("htmx.min.js", JAVASCRIPT),
    ("uPlot.iife.min.js", JAVASCRIPT),
    ("uPlot.min.css", CSS),
    ("chaoslab.css", CSS),
    ("chaoslab.js", JAVASCRIPT),
];

fn app() -> Router {
    Router::new().route("/static/{*path}", get(serve_asset))
}

async fn get_path(uri: &str, if_none_match: Option<&str>) -> Response {
    let mut request = Request::get(uri);
    if let Some(etag) = if_none_match {
        request = request.header(IF_NONE_MATCH, etag);
    }
    app()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn header(response: &Response, name: axum::http::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[test]
fn every_served_file_is_embedded_with_its_content_type() {
    for (path, content_type) in SERVED {
        let asset = asset(path).unwrap_or_else(|| panic!("{path} is not embedded"));
        assert!(!asset.body.is_empty(), "{path} is empty");
        assert_eq!(asset.content_type, content_type, "{path}");
        assert!(
            asset.etag.len() > 2 && asset.etag.starts_with('"') && asset.etag.ends_with('"'),
            "{path} has no strong ETag: {}",
            asset.etag
        );
    }
}

#[test]
fn vendored_files_are_the_libraries_from_the_lockfile() {
    let htmx = String::from_utf8_lossy(asset("htmx.min.js").unwrap().body).into_owned();
    assert!(htmx.contains("htmx"), "htmx.min.js does not look like htmx");
    let uplot = String::from_utf8_lossy(asset("uPlot.iife.min.js").unwrap().body).into_owned();
    assert!(
        uplot.contains("uPlot"),
        "uPlot.iife.min.js does not look like uPlot"
    );
    let uplot_css = String::from_utf8_lossy(asset("uPlot.min.css").unwrap().body).into_owned();
    assert!(
        uplot_css.contains(".uplot"),
        "uPlot.min.css does not look like uPlot's CSS"
    );
}

#[test]
fn different_files_have_different_etags() {
    let mut etags: Vec<_> = SERVED
        .iter()
        .map(|(path, _)| asset(path).unwrap().etag)
        .collect();
    etags.sort_unstable();
    etags.dedup();
    assert_eq!(etags.len(), SERVED.len());
}

#[test]
fn unknown_paths_are_not_assets() {
    for path in [
        "",
        "nope.js",
        "/htmx.min.js",
        "../Cargo.toml",
        "css/chaoslab.css",
        "HTMX.MIN.JS",
    ] {
        assert!(asset(path).is_none(), "{path:?} should not be an asset");
    }
}

#[tokio::test]
async fn get_serves_the_file_with_cache_and_safety_headers() {
    for (path, content_type) in SERVED {
        let response = get_path(&format!("/static/{path}"), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, CONTENT_TYPE), content_type, "{path}");
        assert_eq!(header(&response, CACHE_CONTROL), "public, max-age=3600");
        assert_eq!(header(&response, X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header(&response, ETAG), asset(path).unwrap().etag);
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(&body[..], asset(path).unwrap().body, "{path}");
    }
}

#[tokio::test]
async fn matching_if_none_match_gets_not_modified_without_a_body() {
    let etag = asset("htmx.min.js").unwrap().etag;
    for if_none_match in [
        etag.to_owned(),
        format!("W/{etag}"),
        format!("\"something-else\", {etag}"),
        "*".to_owned(),
    ] {
        let response = get_path("/static/htmx.min.js", Some(&if_none_match)).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_MODIFIED,
            "{if_none_match}"
        );
        assert_eq!(header(&response, ETAG), etag);
        assert_eq!(header(&response, CACHE_CONTROL), "public, max-age=3600");
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert!(body.is_empty());
    }
}

#[tokio::test]
async fn stale_if_none_match_gets_the_file() {
    let response = get_path("/static/chaoslab.css", Some("\"an-older-version\"")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_TYPE), CSS);
}

#[tokio::test]
async fn unknown_path_is_not_found_in_plain_text() {
    for uri in [
        "/static/nope.js",
        "/static/css/chaoslab.css",
        "/static/../Cargo.toml",
    ] {
        let response = get_path(uri, None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(header(&response, CONTENT_TYPE), "text/plain; charset=utf-8");
        assert_eq!(header(&response, X_CONTENT_TYPE_OPTIONS), "nosniff");
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert!(!body.is_empty());
    }
}
