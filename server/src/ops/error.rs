//! The one error model of the lab's operations, and the table every surface reads it from.
//!
//! Each operation fails with an [`OpError`]. The REST API renders it as JSON `{code, message}`,
//! the pages as the HTML error page (or the form again, with the message beside the field); both
//! take the status and the code from [`OpError::status`] and [`OpError::code`], so a failure
//! looks the same whichever surface met it.
//!
//! | error                      | status | code                | what the user should do                 |
//! |----------------------------|--------|---------------------|-----------------------------------------|
//! | `NotFound`                 | 404    | `not_found`         | check the id; the participant may have been removed |
//! | `Invalid`                  | 422    | `invalid_<what>`    | correct the named value (the message gives the range) |
//! | `Conflict`                 | 409    | e.g. `run_in_progress` | wait for, or halt, what is in the way     |
//! | `Unavailable`              | 503    | `backend_unavailable` | wait and retry; the message says what AWS answered |
//! | `Internal`                 | 500    | `internal`          | retry; quote the error id to the instructor |
//!
//! At the HTTP edge, more rows belong to the request rather than to an operation (the API's
//! policy is in `crate::api::error`): a body the server cannot read (not JSON, not a JSON object)
//! is 400; a request read but not accepted (an unknown field, a wrong type, a bad query
//! parameter) is 422, like a value out of range; a missing or unknown token is 401, and a known
//! caller asking for what only the instructor may do is 403, decided before anything is read.
//!
//! A 5xx never shows internal text: the cause is logged at ERROR with a short id, and the user
//! sees the id (see [`ErrorId`]). 503s keep their message, which is written for people ("AWS is
//! throttling s3:PutObject …"), and add the id too.

use std::fmt;

use crate::backend::BackendError;
use crate::events::EventLogError;
use crate::participants::ParticipantError;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// No such participant, step or stack (or one the caller may not see).
    #[error("{0}")]
    NotFound(String),
    /// A value was refused; the message names it, says what is allowed and what was given.
    #[error("{message}")]
    Invalid {
        /// What was refused, for the API's code: `invalid_<what>`, e.g. `invalid_traffic_settings`.
        code: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// The request clashes with the state of things (a run already in progress).
    #[error("{message}")]
    Conflict {
        /// What is in the way, for the API's code.
        code: &'static str,
        /// What is in the way and what to do.
        message: String,
    },
    /// The pipeline backend cannot serve the request now.
    #[error("{0}")]
    Unavailable(String),
    /// Something on our side failed; the cause is for the log, never for the user.
    #[error("{0}")]
    Internal(String),
}

impl OpError {
    /// A refused value.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status of this error (the table in the module's header).
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::Invalid { code, .. } | Self::Conflict { code, .. } => code,
            Self::Unavailable(_) => "backend_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// What the user should do next, in a sentence.
    pub fn next_step(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "Check the address; the participant may have been removed.",
            Self::Invalid { .. } => "Correct the value and try again.",
            Self::Conflict { .. } => {
                "Wait for what is in the way to finish, or stop it, then try again."
            }
            Self::Unavailable(_) => {
                "Wait a moment and try again. If it persists, tell your instructor."
            }
            Self::Internal(_) => {
                "Try again. If it happens again, tell your instructor the error id."
            }
        }
    }

    /// The message a user may see: the error's own for 4xx and 503, and for a 500 only that it
    /// failed, with the id under which the cause was logged. Logs the cause of any 5xx.
    pub fn public_message(&self) -> String {
        match self {
            Self::NotFound(message)
            | Self::Invalid { message, .. }
            | Self::Conflict { message, .. } => message.clone(),
            Self::Unavailable(message) => {
                let id = ErrorId::log(message);
                format!("{message} (error id {id})")
            }
            Self::Internal(cause) => {
                let id = ErrorId::log(cause);
                format!("something went wrong on our side (error id {id})")
            }
        }
    }
}

impl From<ParticipantError> for OpError {
    fn from(error: ParticipantError) -> Self {
        match error {
            ParticipantError::NotFound(id) => Self::NotFound(format!("no participant {id:?}")),
            ParticipantError::InvalidName => Self::invalid("invalid_name", error.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<BackendError> for OpError {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::UnknownStack(_) => Self::NotFound(error.to_string()),
            BackendError::InvalidRequest(message) => Self::invalid("invalid_request", message),
            BackendError::Unavailable(_) => Self::Unavailable(error.to_string()),
        }
    }
}

impl From<EventLogError> for OpError {
    fn from(error: EventLogError) -> Self {
        Self::Internal(error.to_string())
    }
}

/// A short id under which a server error's cause is logged, for the user to quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorId(String);

impl ErrorId {
    /// Logs `cause` at ERROR under a fresh id, and returns the id.
    pub fn log(cause: &dyn fmt::Display) -> Self {
        let id = Self(format!("{:08x}", fastrand::u32(..)));
        tracing::error!(error_id = %id, cause = %cause, "request failed");
        id
    }
}

impl fmt::Display for ErrorId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_error_shows_an_id_never_its_cause() {
        let error = OpError::Internal("database is locked at /secret/path".into());
        let message = error.public_message();
        assert!(!message.contains("/secret/path"), "{message}");
        assert!(message.contains("error id "), "{message}");
        assert_eq!(error.status().as_u16(), 500);
    }

    #[test]
    fn every_domain_error_has_one_status() {
        let not_found: OpError = ParticipantError::NotFound("p-1".into()).into();
        assert_eq!(
            (not_found.status().as_u16(), not_found.code()),
            (404, "not_found")
        );
        let name: OpError = ParticipantError::InvalidName.into();
        assert_eq!((name.status().as_u16(), name.code()), (422, "invalid_name"));
        let busy: OpError = BackendError::Unavailable("AWS is throttling".into()).into();
        assert_eq!(busy.status().as_u16(), 503);
        assert!(busy.public_message().contains("AWS is throttling"));
        let stack: OpError = BackendError::UnknownStack("p-2".into()).into();
        assert_eq!(stack.status().as_u16(), 404);
    }
}
