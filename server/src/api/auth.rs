//! Who is calling: the instructor, one participant, or nobody, from `Authorization: Bearer`.
//!
//! A participant's token reaches only that participant's resources. Asking for another
//! participant's resource answers 404, the same as for an id that does not exist, so tokens
//! cannot be used to discover who else takes part.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::participants::Participant;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No `Authorization` header.
    Anonymous,
    /// A participant, by their token.
    Participant(Box<Participant>),
    /// The instructor.
    Instructor,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self::Anonymous);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ApiError::unauthorized("use `Authorization: Bearer <token>`"))?;
        if state.is_instructor_token(token) {
            return Ok(Self::Instructor);
        }
        match state.participants.by_token(token)? {
            Some(participant) => Ok(Self::Participant(Box::new(participant))),
            None => Err(ApiError::unauthorized(
                "the token is not valid: check it, or join again to get a new one",
            )),
        }
    }
}

impl Caller {
    /// Requires the instructor.
    pub fn instructor(&self) -> Result<(), ApiError> {
        match self {
            Self::Instructor => Ok(()),
            Self::Anonymous => Err(ApiError::unauthorized("this needs the instructor's token")),
            Self::Participant(_) => Err(ApiError::forbidden("only the instructor may do this")),
        }
    }

    /// Requires the instructor or the participant `id` themself.
    pub fn may_access(&self, id: &str) -> Result<(), ApiError> {
        match self {
            Self::Instructor => Ok(()),
            Self::Participant(participant) if participant.id == id => Ok(()),
            Self::Participant(_) => Err(ApiError::not_found(format!("no participant {id:?}"))),
            Self::Anonymous => Err(ApiError::unauthorized(
                "send your participant token as `Authorization: Bearer <token>`",
            )),
        }
    }

    /// Who this caller is, as the event log names them.
    pub fn actor(&self) -> crate::ops::Actor {
        match self {
            Self::Instructor => crate::ops::Actor::Instructor,
            _ => crate::ops::Actor::Participant,
        }
    }

    /// Participant `id`, if this caller may reach them and they exist (the operations on the
    /// participant's record and traffic start with this).
    pub fn participant(&self, state: &AppState, id: &str) -> Result<Participant, ApiError> {
        self.may_access(id)?;
        Ok(state.participants.get(id)?)
    }
}
