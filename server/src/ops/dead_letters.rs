//! The function's dead-letter queue: the events Lambda gave up on, listed without consuming them,
//! and redriven, i.e. handed back to the function to be invoked asynchronously again.
//!
//! On the embedded backend the listing is exact and leaves the queue untouched, and each message
//! moves in one saved change (a crash loses and doubles nothing). On AWS, SQS cannot be read
//! without receiving, so the listing is a sample that may repeat or miss a message under load,
//! and a redrive moves each message at least once (see `backend::aws::dead_letters`).

pub use crate::backend::dead_letters::{
    DEFAULT_LIST, DeadLetter, DeadLetterList, ErrorFilter, MAX_FILTER_CHARS, MAX_LIST, MAX_REDRIVE,
    Redrive,
};
use crate::events::EventKind;
use crate::ops::{Actor, OpError};
use crate::state::App;

/// `value`, or `default`, checked to lie in 1..=`max`.
fn count(
    code: &'static str,
    name: &str,
    value: Option<i64>,
    default: usize,
    max: usize,
) -> Result<usize, OpError> {
    let Some(value) = value else {
        return Ok(default);
    };
    usize::try_from(value)
        .ok()
        .filter(|value| (1..=max).contains(value))
        .ok_or_else(|| {
            OpError::invalid(
                code,
                format!("{name} must be between 1 and {max}, got {value}"),
            )
        })
}

/// The filter on `error_contains`: none when absent or blank, an error past
/// [`MAX_FILTER_CHARS`].
pub fn error_filter(error_contains: Option<&str>) -> Result<Option<ErrorFilter>, OpError> {
    let Some(text) = error_contains else {
        return Ok(None);
    };
    let chars = text.trim().chars().count();
    if chars > MAX_FILTER_CHARS {
        return Err(OpError::invalid(
            "invalid_error_contains",
            format!("error_contains must be at most {MAX_FILTER_CHARS} characters, got {chars}"),
        ));
    }
    Ok(ErrorFilter::new(text))
}

/// Up to `limit` (1–100, default 20) messages of participant `id`'s dead-letter queue, newest
/// first, with the attributes Lambda sent them with, and how many the queue holds. With
/// `error_contains`, only the messages whose `ErrorMessage` contains that text (in any case),
/// and how many those are.
pub async fn list(
    app: &App,
    id: &str,
    limit: Option<i64>,
    error_contains: Option<&str>,
) -> Result<DeadLetterList, OpError> {
    let limit = count("invalid_limit", "limit", limit, DEFAULT_LIST, MAX_LIST)?;
    let filter = error_filter(error_contains)?;
    app.participants.get(id)?;
    Ok(app
        .backend
        .list_dead_letters(id, limit, filter.as_ref())
        .await?)
}

/// Hands up to `max` (1–1000, default 1000) of participant `id`'s dead-letter messages back to
/// the function, oldest first: each message's event is invoked asynchronously again, with fresh
/// attempts, and the message leaves the queue. Records the redrive when anything moved.
pub async fn redrive(
    app: &App,
    id: &str,
    max: Option<i64>,
    actor: Actor,
) -> Result<Redrive, OpError> {
    let max = count("invalid_max", "max", max, MAX_REDRIVE, MAX_REDRIVE)?;
    app.participants.get(id)?;
    let redrive = app.backend.redrive_dead_letters(id, max).await?;
    if redrive.redriven > 0 {
        let detail = format!(
            "{} redriven to the function, {} left in the dead-letter queue",
            redrive.redriven, redrive.remaining
        );
        super::record(
            app,
            id,
            EventKind::DeadLettersRedriven,
            actor.describe(&detail),
            "dead letters redriven",
        );
    }
    Ok(redrive)
}
