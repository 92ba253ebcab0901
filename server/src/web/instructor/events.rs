//! The event log for the instructor: the latest events, paged with `?after=`, and the whole log
//! as CSV or JSON downloads.

use std::collections::{HashMap, VecDeque};

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::InstructorError;
use super::session::InstructorSession;
use crate::events::{Event, EventKind, EventLog, EventLogError};
use crate::metrics::rfc3339;
use crate::state::AppState;
use crate::web::layout::Chrome;

/// Events per page.
pub const PAGE: usize = 100;
/// Events read from the log at once when walking all of it.
const BATCH: usize = 1_000;

/// An event as the pages show it.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Position in the log.
    pub seq: i64,
    /// When (wall clock), RFC 3339.
    pub at: String,
    /// What happened, in words.
    pub kind: &'static str,
    /// The participant's id, if any.
    pub participant_id: Option<String>,
    /// Their name if they are still here, else their id; empty for none.
    pub participant: String,
    /// Whether they are still here (and have a page to link to).
    pub present: bool,
    /// Details.
    pub detail: String,
}

/// What an event kind means, in words.
fn kind_label(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Joined => "joined",
        EventKind::StepDone => "step done",
        EventKind::TrafficStarted => "traffic started",
        EventKind::TrafficStopped => "traffic stopped",
        EventKind::SloSet => "SLO stated",
        EventKind::StackReset => "stack reset",
        EventKind::ParticipantRemoved => "removed",
        EventKind::Left => "left",
        EventKind::Resumed => "came back",
        EventKind::InstructorLogin => "instructor logged in",
        EventKind::FaultChanged => "fault injection changed",
        EventKind::FunctionChanged => "function settings changed",
        EventKind::FunctionInvoked => "function test-invoked",
        EventKind::DeadLettersRedriven => "dead letters redriven",
        EventKind::ExperimentStarted => "experiment started",
        EventKind::ExperimentEnded => "experiment ended",
    }
}

/// Events as rows, naming participants by `names` (id to name).
pub fn event_rows(events: Vec<Event>, names: &HashMap<String, String>) -> Vec<EventRow> {
    events
        .into_iter()
        .map(|event| EventRow {
            seq: event.seq,
            at: rfc3339::format(event.at / 1000 * 1000),
            kind: kind_label(event.kind),
            participant: event
                .participant
                .as_ref()
                .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
                .unwrap_or_default(),
            present: event
                .participant
                .as_ref()
                .is_some_and(|id| names.contains_key(id)),
            participant_id: event.participant,
            detail: event.detail,
        })
        .collect()
}

/// Every event, oldest first.
fn all_events(log: &EventLog) -> Result<Vec<Event>, EventLogError> {
    let mut events = Vec::new();
    loop {
        let after = events.last().map_or(0, |event: &Event| event.seq);
        let batch = log.list(after, BATCH, None)?;
        let complete = batch.len() < BATCH;
        events.extend(batch);
        if complete {
            return Ok(events);
        }
    }
}

/// The newest `count` events, oldest first.
fn latest_events(log: &EventLog, count: usize) -> Result<Vec<Event>, EventLogError> {
    let mut latest = VecDeque::with_capacity(count + 1);
    let mut after = 0;
    loop {
        let batch = log.list(after, BATCH, None)?;
        let complete = batch.len() < BATCH;
        for event in batch {
            after = event.seq;
            latest.push_back(event);
            if latest.len() > count {
                latest.pop_front();
            }
        }
        if complete {
            return Ok(latest.into());
        }
    }
}

/// The event log's query string.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Events after this `seq`; absent for the latest.
    after: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "instructor/events.html")]
struct EventsPage {
    chrome: Option<Chrome>,
    section: &'static str,
    csrf: String,
    /// Newest first.
    events: Vec<EventRow>,
    page_caption: String,
    /// `after` for the page of older events.
    older: Option<i64>,
    /// `after` for the page of newer events.
    newer: Option<i64>,
    /// Whether this is the latest page.
    latest: bool,
}

/// `GET /instructor/events`: the latest events, or those after `?after=`, newest first.
pub async fn show_events(
    State(state): State<AppState>,
    session: InstructorSession,
    Query(query): Query<EventsQuery>,
) -> Result<Response, InstructorError> {
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|after| *after >= 0)
                .ok_or_else(|| {
                    InstructorError::invalid(format!(
                        "after must be an event number (0 or more), got {text:?}."
                    ))
                })?,
        ),
    };
    let (events, newer) = match after {
        None => (latest_events(&state.events, PAGE)?, None),
        Some(after) => {
            let mut events = state.events.list(after, PAGE + 1, None)?;
            let more = events.len() > PAGE;
            events.truncate(PAGE);
            let newer = more.then(|| events.last().map(|event| event.seq)).flatten();
            (events, newer)
        }
    };
    // Sequence numbers have no gaps, so the page before starts `PAGE` before this one.
    let older = events
        .first()
        .map(|event| event.seq)
        .filter(|first| *first > 1)
        .map(|first| (first - 1 - PAGE as i64).max(0));
    let names: HashMap<String, String> = state
        .participants
        .list()?
        .into_iter()
        .map(|participant| (participant.id, participant.name))
        .collect();
    let mut rows = event_rows(events, &names);
    rows.reverse();
    let page_caption = match (rows.first(), rows.last()) {
        (Some(newest), Some(oldest)) if after.is_none() => format!(
            "The latest events, {} to {}, newest first",
            oldest.seq, newest.seq
        ),
        (Some(newest), Some(oldest)) => {
            format!("Events {} to {}, newest first", oldest.seq, newest.seq)
        }
        _ => "No events".to_owned(),
    };
    Ok(EventsPage {
        chrome: None,
        section: "events",
        csrf: session.csrf,
        events: rows,
        page_caption,
        older,
        newer,
        latest: after.is_none(),
    }
    .into_response())
}

/// `GET /instructor/events.csv`: the whole log as a CSV download.
pub async fn export_csv(
    State(state): State<AppState>,
    _session: InstructorSession,
) -> Result<Response, InstructorError> {
    let csv = state.events.to_csv()?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"chaoslab-events.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// `GET /instructor/events.json`: the whole log as a JSON download, an array oldest first.
pub async fn export_json(
    State(state): State<AppState>,
    _session: InstructorSession,
) -> Result<Response, InstructorError> {
    let events = all_events(&state.events)?;
    let json = serde_json::to_string_pretty(&events)
        .map_err(|error| InstructorError::internal(format!("the events are not JSON: {error}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"chaoslab-events.json\"",
            ),
        ],
        json,
    )
        .into_response())
}
