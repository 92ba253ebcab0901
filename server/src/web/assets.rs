//! The static files the browser loads, embedded in the binary and served under `/static/`.
//!
//! Two kinds of file:
//! - third-party libraries (htmx, uPlot), which `build.rs` installs with npm from
//!   `static/package-lock.json` into `OUT_DIR`: they are pinned by the lockfile and never committed;
//! - the project's own stylesheet and script, from `static/css/` and `static/js/`.
//!
//! Every response carries a strong ETag (a digest of the file's bytes), so a browser revalidates
//! with `If-None-Match` after the cache lifetime and gets `304 Not Modified` while the binary is the
//! same.

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// How long a browser may use a file without asking again. Short, because the URLs carry no
/// version: after an upgrade, browsers pick up the new files within the hour.
const CACHE_CONTROL_VALUE: &str = "public, max-age=3600";

/// Every served file, as (path under `/static/`, bytes, content type).
const FILES: [(&str, &[u8], &str); 5] = [
    (
        "htmx.min.js",
        include_bytes!(concat!(env!("OUT_DIR"), "/assets/htmx.min.js")),
        JAVASCRIPT,
    ),
    (
        "uPlot.iife.min.js",
        include_bytes!(concat!(env!("OUT_DIR"), "/assets/uPlot.iife.min.js")),
        JAVASCRIPT,
    ),
    (
        "uPlot.min.css",
        include_bytes!(concat!(env!("OUT_DIR"), "/assets/uPlot.min.css")),
        CSS,
    ),
    (
        "chaoslab.css",
        include_bytes!("../../../static/css/chaoslab.css"),
        CSS,
    ),
    (
        "chaoslab.js",
        include_bytes!("../../../static/js/chaoslab.js"),
        JAVASCRIPT,
    ),
];

/// One embedded file, ready to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The file's bytes.
    pub body: &'static [u8],
    /// The `Content-Type` header value, with the charset for text.
    pub content_type: &'static str,
    /// A strong entity tag, quoted as it goes in the `ETag` header: `"<md5 of the bytes>"`.
    pub etag: &'static str,
}

/// An embedded file with its ETag.
struct EmbeddedFile {
    path: &'static str,
    body: &'static [u8],
    content_type: &'static str,
    etag: String,
}

/// The files with their ETags, digested once on first use.
static EMBEDDED_FILES: LazyLock<Vec<EmbeddedFile>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(path, body, content_type)| EmbeddedFile {
            path,
            body,
            content_type,
            etag: format!("\"{}\"", hex::encode(Md5::digest(body))),
        })
        .collect()
});

/// The embedded file at `path`, relative to `/static/` (e.g. `"htmx.min.js"`), if there is one.
pub fn asset(path: &str) -> Option<Asset> {
    EMBEDDED_FILES
        .iter()
        .find(|file| file.path == path)
        .map(|file| Asset {
            body: file.body,
            content_type: file.content_type,
            etag: &file.etag,
        })
}

/// `GET /static/{*path}`: serves an embedded file, `304 Not Modified` when the request's
/// `If-None-Match` names its ETag, or `404 Not Found` with a plain-text body.
pub async fn serve_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = asset(path.trim_start_matches('/')) else {
        return (
            StatusCode::NOT_FOUND,
            [
                (CONTENT_TYPE, "text/plain; charset=utf-8"),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            format!("No static file named {path:?}.\n"),
        )
            .into_response();
    };
    let cache_headers = [
        (ETAG, HeaderValue::from_static(asset.etag)),
        (CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE)),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if if_none_match_includes(&headers, asset.etag) {
        return (StatusCode::NOT_MODIFIED, cache_headers).into_response();
    }
    (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static(asset.content_type))],
        cache_headers,
        Body::from(asset.body),
    )
        .into_response()
}

/// Whether any `If-None-Match` header lists `etag` or is `*`. RFC 9110 §13.1.2 compares entity
/// tags weakly here, so `W/"x"` matches `"x"`.
fn if_none_match_includes(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|candidate| {
            candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
        })
}
