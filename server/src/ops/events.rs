//! Reading the event log: a page of it, or all of it as CSV.

use serde::Serialize;
use utoipa::ToSchema;

use crate::events::Event;
use crate::ops::OpError;
use crate::state::App;

/// Most events in one page.
pub const MAX_PAGE: usize = 1000;

/// A page of events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPage {
    /// Oldest first.
    pub items: Vec<Event>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<i64>,
}

/// Events after `after` (a `seq`), at most `limit` (1 to [`MAX_PAGE`]), optionally for one
/// participant.
pub fn page(
    app: &App,
    after: i64,
    limit: usize,
    participant: Option<&str>,
) -> Result<EventPage, OpError> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(OpError::invalid(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PAGE}, got {limit}"),
        ));
    }
    let items = app.events.list(after, limit + 1, participant)?;
    let more = items.len() > limit;
    let items: Vec<Event> = items.into_iter().take(limit).collect();
    let next = if more {
        items.last().map(|event| event.seq)
    } else {
        None
    };
    Ok(EventPage { items, next })
}

/// The whole log as CSV, for a spreadsheet.
pub fn csv(app: &App) -> Result<String, OpError> {
    Ok(app.events.to_csv()?)
}
