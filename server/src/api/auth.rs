//! Who is calling: the instructor, one participant, or nobody, from `Authorization: Bearer`.
//!
//! A participant's token reaches only that participant's resources. Asking for another
//! participant's resource answers 404, the same as for an id that does not exist, so tokens
//! cannot be used to discover who else takes part.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::error::{ApiError, Path};
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
        // The rate limit identifies the caller first; its answer is kept with the request.
        if let Some(identified) = parts.extensions.get::<Identified>() {
            return identified.0.clone();
        }
        let caller = identify(&parts.headers, state);
        parts.extensions.insert(Identified(caller.clone()));
        caller
    }
}

/// A caller already identified for this request (or the reason they could not be).
#[derive(Debug, Clone)]
pub struct Identified(pub Result<Caller, ApiError>);

/// Who sent `headers`: the token in `Authorization`, checked against the instructor's and the
/// participants'.
pub fn identify(headers: &HeaderMap, state: &AppState) -> Result<Caller, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(bearer_token)
        .ok_or_else(|| ApiError::unauthorized("use `Authorization: Bearer <token>`"))?;
    if state.is_instructor_token(token) {
        return Ok(Caller::Instructor);
    }
    match state.participants.by_token(token)? {
        Some(participant) => Ok(Caller::Participant(Box::new(participant))),
        None => Err(ApiError::unauthorized(
            "the token is not valid: check it, or join again to get a new one",
        )),
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme's name is case-insensitive
/// (RFC 7235, section 2.1), so `bearer` and `BEARER` do as well.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The instructor, required before anything else of the request is read: a participant asking
/// for an instructor-only operation is refused with 403 whatever else is wrong with the request.
#[derive(Debug, Clone, Copy)]
pub struct Instructor;

impl FromRequestParts<AppState> for Instructor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Caller::from_request_parts(parts, state)
            .await?
            .instructor()
            .map(|()| Self)
    }
}

/// A caller who may reach the participant named by the path's `{id}`: the instructor, or that
/// participant. Decided before the query string or the body is read, so a request for someone
/// else's resource is 404 whatever else is wrong with it.
#[derive(Debug, Clone)]
pub struct Reach {
    /// Who is calling.
    pub caller: Caller,
    /// The participant reached.
    pub id: String,
}

impl FromRequestParts<AppState> for Reach {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Path(id) = Path::<String>::from_request_parts(parts, state).await?;
        caller.may_access(&id)?;
        Ok(Self { caller, id })
    }
}

/// [`Reach`] for a path with a second parameter after `{id}`, e.g.
/// `/participants/{id}/runs/{run}`: the caller may reach participant `id`, and `item` names one
/// of their things.
#[derive(Debug, Clone)]
pub struct ReachItem {
    /// Who is calling.
    pub caller: Caller,
    /// The participant reached.
    pub id: String,
    /// The path's second parameter.
    pub item: String,
}

impl FromRequestParts<AppState> for ReachItem {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Path((id, item)) = Path::<(String, String)>::from_request_parts(parts, state).await?;
        caller.may_access(&id)?;
        Ok(Self { caller, id, item })
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
