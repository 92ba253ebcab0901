//! The API's per-client rate limit: a token bucket per bearer token, or per address without one.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::state::AppState;

/// Limits API requests per client: by bearer token when there is one, else by address.
pub async fn rate_limit_api(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/api/v1") {
        return next.run(request).await;
    }
    let client = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|token| format!("token:{token}"))
        .or_else(|| {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| format!("ip:{}", address.ip()))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    match state.rate_limiter.check(&client, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many requests from this client; retry in {:.1} s",
                    wait.as_secs_f64()
                ),
            )
            .into_response();
            let seconds = wait.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}
