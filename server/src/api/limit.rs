//! The per-client rate limits: on every API request, and on joins (through the API or the join
//! page).
//!
//! A request is counted against who sent it, decided as follows: a valid participant's or the
//! instructor's token counts against that identity (so a room of participants behind one
//! address do not share a bucket); anything else (no token, or a token that is not valid)
//! counts against the client's address ([`crate::protection::Edge::client_address`]). A made-up
//! token therefore buys nothing: 1,000 requests with 1,000 random tokens share one bucket, and
//! the limiter's table never holds a token. The identity found is kept with the request, so the
//! handler does not look the token up again ([`super::auth::Identified`]).
//!
//! A join creates a stack, so it is also counted against the client's address in a bucket of its
//! own, whatever token comes with it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::{Caller, Identified, identify};
use super::error::ApiError;
use crate::protection::ClientKey;
use crate::state::AppState;

/// Limits API requests per client, and joins per address.
pub async fn rate_limit_api(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let api = path.starts_with("/api/v1");
    let join =
        *request.method() == Method::POST && (path == "/api/v1/participants" || path == "/join");
    if !api && !join {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let address = state
        .edge
        .client_address(request.headers(), peer)
        .map_or(ClientKey::Unknown, ClientKey::address);
    let now = Instant::now();

    if join && let Err(wait) = state.join_limiter.check(&address, now) {
        return too_many(api, wait, "joins from this address");
    }
    if api {
        let identified = identify(request.headers(), &state);
        let client = match &identified {
            Ok(Caller::Participant(participant)) => ClientKey::Participant(participant.id.clone()),
            Ok(Caller::Instructor) => ClientKey::Instructor,
            Ok(Caller::Anonymous) | Err(_) => address,
        };
        request.extensions_mut().insert(Identified(identified));
        if let Err(wait) = state.rate_limiter.check(&client, now) {
            return too_many(true, wait, "requests from this client");
        }
    }
    next.run(request).await
}

/// 429 with `Retry-After`: the API's JSON error, or a page's plain notice.
fn too_many(api: bool, wait: Duration, what: &str) -> Response {
    let message = format!(
        "too many {what}; retry in {:.1} s",
        wait.as_secs_f64().max(0.1)
    );
    let mut response = if api {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).into_response()
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many people joined from your network just now: wait a moment and try again ({message})."),
        )
            .into_response()
    };
    let seconds = wait.as_secs().max(1).to_string();
    if let Ok(value) = HeaderValue::from_str(&seconds) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
