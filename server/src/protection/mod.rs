//! Protection every response gets: security headers (a Content Security Policy without inline
//! script, no framing; HSTS and `Secure` cookies behind an HTTPS public address), what the server
//! knows of where it stands ([`edge`]: its public address, the client's address behind a reverse
//! proxy), and the token buckets behind the per-client rate limits ([`rate`], used by
//! [`crate::api::limit`]).

pub mod edge;
pub mod rate;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub use self::edge::{Edge, EdgeError};
pub use self::rate::{ClientKey, RateLimiter};
use crate::state::AppState;

/// HSTS for a server whose public address is HTTPS: a year, this host only.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// The policy for the lab's pages: scripts and styles only from this server, no inline script,
/// no framing, forms only to this server.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The Swagger UI page styles itself inline; scripts stay restricted.
const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response; behind an HTTPS public address (`--public-url
/// https://…`), also HSTS, and `Secure` on every cookie the response sets.
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let docs = request.uri().path().starts_with("/api/docs");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if state.edge.is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
        edge::make_cookies_secure(headers);
    }
    let policy = if docs {
        DOCS_CONTENT_SECURITY_POLICY
    } else {
        CONTENT_SECURITY_POLICY
    };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}
