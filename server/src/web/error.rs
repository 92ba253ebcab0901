//! Errors at the web edge, rendered as a page that says what went wrong and what to do next.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::backend::BackendError;
use crate::participants::ParticipantError;

/// What went wrong while serving a page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such page or step.
    #[error("{0}")]
    NotFound(String),
    /// The input is invalid; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// The request is not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The pipeline backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The participant store failed.
    #[error(transparent)]
    Participants(#[from] ParticipantError),
    /// A template failed to render.
    #[error("a page could not be rendered: {0}")]
    Render(#[from] askama::Error),
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    chrome: Option<super::lab::Chrome>,
    status: u16,
    heading: &'a str,
    message: String,
    next: &'a str,
    back: (&'a str, &'a str),
}

/// An error page: `heading` and the error's `message`, what to do `next`, and a link `back`
/// (address, text). Server errors are logged.
pub fn error_page(
    status: StatusCode,
    heading: &str,
    message: &dyn std::fmt::Display,
    next: &str,
    back: (&str, &str),
) -> Response {
    if status.is_server_error() {
        tracing::error!(error = %message, "request failed");
    }
    let page = ErrorPage {
        chrome: None,
        status: status.as_u16(),
        heading,
        message: message.to_string(),
        next,
        back,
    };
    let body = page
        .render()
        .unwrap_or_else(|_| format!("{heading}: {message}"));
    (status, Html(body)).into_response()
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) | Self::Participants(ParticipantError::NotFound(_)) => {
                StatusCode::NOT_FOUND
            }
            Self::BadRequest(_) | Self::Backend(BackendError::InvalidRequest(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Backend(BackendError::UnknownStack(_)) => StatusCode::NOT_FOUND,
            Self::Backend(BackendError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Participants(_) | Self::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (heading, next) = match status {
            StatusCode::NOT_FOUND => (
                "Not found",
                "Go back to the lab and pick a step from the list.",
            ),
            StatusCode::FORBIDDEN => (
                "Not allowed",
                "Reload the page you came from and try again.",
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                "The pipeline is unavailable",
                "Wait a moment and reload. If it persists, tell your instructor.",
            ),
            StatusCode::INTERNAL_SERVER_ERROR => (
                "Something went wrong on our side",
                "Reload the page. If it happens again, tell your instructor.",
            ),
            _ => ("That did not work", "Correct the input and try again."),
        };
        error_page(status, heading, &self, next, ("/", "Back to the lab"))
    }
}

/// The fallback for unknown paths.
pub async fn not_found() -> WebError {
    WebError::NotFound("There is no page at this address.".into())
}
