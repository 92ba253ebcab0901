//! The API's error body and its extractors: every failure is `{"code", "message"}` with a 4xx
//! or 5xx status, never a bare text or an HTML page.
//!
//! **The policy**, in the order a request meets it:
//!
//! | status | when | codes |
//! |---|---|---|
//! | 401 | no token, a malformed `Authorization`, or a token that is not valid | `unauthorized` |
//! | 403 | a valid token whose owner may not call the operation (a participant on an instructor-only operation) | `forbidden` |
//! | 404 | the participant in the path is not the caller's (or does not exist) | `not_found` |
//! | 413, 415 | the body is too large, or not sent as JSON | `body_too_large`, `unsupported_media_type` |
//! | 400 | the body cannot be read: not JSON, or not a JSON object | `invalid_json`, `not_an_object` |
//! | 422 | read but not accepted: an unknown field or parameter (named), a missing field, a wrong type, a value out of range | `unknown_field`, `invalid_body`, `invalid_query`, `invalid_<what>` |
//! | 429 | the rate limit ([`super::limit`]) | `rate_limited` |
//! | 5xx | the operation failed ([`crate::ops::error`]) | |
//!
//! Authorization comes first: the [`super::auth::Instructor`] and [`super::auth::Reach`]
//! extractors stand before the query and the body in every handler, so a participant calling an
//! instructor-only operation gets 403 whatever else is wrong with the request, and someone else's
//! resource is 404 whatever the body. How a body is read (objects only, numbers by value, unknown
//! fields refused) is [`crate::input`]'s rule.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::BackendError;
use crate::events::EventLogError;
use crate::input::InputError;
use crate::ops::OpError;
use crate::participants::ParticipantError;

/// An API error: a stable machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    /// Stable code, e.g. `not_found`, `invalid_request`, `unauthorized`.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// The HTTP status (not serialised).
    #[serde(skip)]
    pub status: StatusCode,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status,
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(&self)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<OpError> for ApiError {
    fn from(error: OpError) -> Self {
        Self::new(error.status(), error.code(), error.public_message())
    }
}

impl From<BackendError> for ApiError {
    fn from(error: BackendError) -> Self {
        OpError::from(error).into()
    }
}

impl From<ParticipantError> for ApiError {
    fn from(error: ParticipantError) -> Self {
        OpError::from(error).into()
    }
}

impl From<EventLogError> for ApiError {
    fn from(error: EventLogError) -> Self {
        OpError::from(error).into()
    }
}

/// JSON body extractor whose rejections are [`ApiError`]s naming the problem. The body is read
/// by [`crate::input::read_object`]'s rules: a JSON object, numbers by value, unknown fields
/// refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let body =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        format!("the body could not be read: {}", rejection.body_text()),
                    )
                })?;
        crate::input::read_object(&body)
            .map(Self)
            .map_err(ApiError::from)
    }
}

impl From<InputError> for ApiError {
    fn from(error: InputError) -> Self {
        let code = match &error {
            InputError::NotJson(_) => "invalid_json",
            InputError::NotAnObject(_) => "not_an_object",
            InputError::DoesNotFit { .. } if error.is_unknown_field() => "unknown_field",
            InputError::DoesNotFit { .. } => "invalid_body",
        };
        let status = if error.is_unreadable() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        Self::new(status, code, error.to_string())
    }
}

/// Whether `Content-Type` says JSON: `application/json`, or any `+json` type, parameters aside.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| essence == "application/json" || essence.ends_with("+json"))
}

impl<T> IntoResponse for Json<T>
where
    axum::Json<T>: IntoResponse,
{
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path extractor with [`ApiError`] rejections.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection: PathRejection| ApiError::invalid(rejection.body_text()))
    }
}

/// Query extractor with [`ApiError`] rejections.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                // Read, but not accepted: an unknown parameter, a wrong type or a bad value.
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_query",
                    format!(
                        "{}; the operation's parameters are listed at /api/docs/",
                        rejection.body_text()
                    ),
                )
            })
    }
}
