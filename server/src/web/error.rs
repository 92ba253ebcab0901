//! Errors at the pages' edge, rendered as a page that says what went wrong and what to do next.
//!
//! An operation's [`OpError`] keeps the status, code and advice of the one error model
//! ([`crate::ops::error`]); the pages add the few errors that belong to a page request (a form
//! from another site, a step that does not exist). A 5xx page shows an error id, never the cause.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::backend::BackendError;
use crate::events::EventLogError;
use crate::ops::OpError;
use crate::participants::ParticipantError;

/// What went wrong while serving a page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// An operation failed.
    #[error(transparent)]
    Op(#[from] OpError),
    /// No such page or step.
    #[error("{0}")]
    NotFound(String),
    /// The input is invalid; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// The form is out of date or came from another site.
    #[error("{0}")]
    Forbidden(String),
    /// The address exists, but not for this method.
    #[error("This address does not take that kind of request.")]
    MethodNotAllowed,
    /// The address is too long.
    #[error("The address is too long.")]
    UriTooLong,
    /// A template failed to render.
    #[error("a page could not be rendered: {0}")]
    Render(#[from] askama::Error),
}

impl From<ParticipantError> for WebError {
    fn from(error: ParticipantError) -> Self {
        Self::Op(error.into())
    }
}

impl From<BackendError> for WebError {
    fn from(error: BackendError) -> Self {
        Self::Op(error.into())
    }
}

impl From<EventLogError> for WebError {
    fn from(error: EventLogError) -> Self {
        Self::Op(error.into())
    }
}

/// Where the error page's "back" link leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A participant: back to the lab.
    Participant,
    /// The instructor: back to the overview.
    Instructor,
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    chrome: Option<super::layout::Chrome>,
    status: u16,
    heading: &'a str,
    message: String,
    next: &'a str,
    back: (&'a str, &'a str),
}

impl WebError {
    /// The status: the error model's for an operation's error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Op(error) => error.status(),
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a person may see: never the cause of a server error.
    fn public_message(&self) -> String {
        match self {
            Self::Op(error) => error.public_message(),
            Self::Render(error) => OpError::Internal(error.to_string()).public_message(),
            other => other.to_string(),
        }
    }

    /// The error as a page for `audience`.
    pub fn render(&self, audience: Audience) -> Response {
        let status = self.status();
        let heading = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::SERVICE_UNAVAILABLE => "The pipeline is unavailable",
            StatusCode::INTERNAL_SERVER_ERROR => "Something went wrong on our side",
            _ => "That did not work",
        };
        let next = match (self, audience) {
            (Self::Op(error), _) => error.next_step(),
            (Self::NotFound(_), Audience::Participant) => {
                "Go back to the lab and pick a step from the list."
            }
            (Self::NotFound(_), Audience::Instructor) => {
                "Go back to the overview: the participant may have been removed."
            }
            (Self::Forbidden(_), _) => {
                "Reload the page you came from and try again: the form was out of date or came from another site."
            }
            (Self::Render(_), _) => "Reload the page. If it happens again, tell your instructor.",
            _ => "Go back, correct the input and try again.",
        };
        let back = match audience {
            Audience::Participant => ("/", "Back to the lab"),
            Audience::Instructor => ("/instructor", "Back to the overview"),
        };
        error_page(status, heading, &self.public_message(), next, back)
    }
}

/// An error page: `heading` and a `message`, what to do `next`, and a link `back` (address,
/// text). The message must already be fit to show (see [`OpError::public_message`]).
pub fn error_page(
    status: StatusCode,
    heading: &str,
    message: &str,
    next: &str,
    back: (&str, &str),
) -> Response {
    let page = ErrorPage {
        chrome: None,
        status: status.as_u16(),
        heading,
        message: message.to_owned(),
        next,
        back,
    };
    let body = page
        .render()
        .unwrap_or_else(|_| format!("{heading}: {message}"));
    (status, Html(body)).into_response()
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.render(Audience::Participant)
    }
}

/// The fallback for unknown paths.
pub async fn not_found() -> WebError {
    WebError::NotFound("There is no page at this address.".into())
}
