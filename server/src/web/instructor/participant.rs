//! One participant, as the instructor sees them: their stack, traffic, SLO, the same dashboard
//! they see, which steps they have done and when, and their events.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::InstructorError;
use super::events::{EventRow, event_rows};
use super::row::ParticipantRow;
use super::session::InstructorSession;
use super::view::View;
use crate::lab::all_steps;
use crate::metrics::rfc3339;
use crate::participants::ParticipantError;
use crate::state::AppState;
use crate::web::architecture::{ArchitectureView, StackRow, stack_rows};
use crate::web::dashboard::{RANGES, WidgetView};
use crate::web::layout::Chrome;

/// Events shown on the page, oldest first.
const EVENT_LIMIT: usize = 500;

/// A step and whether, and when, the participant did it.
#[derive(Debug, Clone)]
pub struct StepHistory {
    /// Its lab.
    pub lab: usize,
    /// Position in its lab, from 1.
    pub number: usize,
    /// Title.
    pub title: String,
    /// When its check passed (pipeline time), if it has.
    pub done_at: Option<String>,
    /// Whether it is the step they last opened.
    pub current: bool,
}

/// The page's query string.
#[derive(Debug, Deserialize)]
pub struct ParticipantQuery {
    range: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "instructor/participant.html")]
struct ParticipantPage {
    chrome: Option<Chrome>,
    section: &'static str,
    csrf: String,
    view: View,
    row: ParticipantRow,
    joined: String,
    stack: Vec<StackRow>,
    counts: Option<ArchitectureView>,
    ranges: Vec<(&'static str, &'static str, bool)>,
    widgets: Vec<WidgetView>,
    dashboard_problem: Option<String>,
    steps: Vec<StepHistory>,
    events: Vec<EventRow>,
}

/// `GET /instructor/participants/{id}`: one participant in detail.
pub async fn show_participant(
    State(state): State<AppState>,
    session: InstructorSession,
    Path(id): Path<String>,
    Query(query): Query<ParticipantQuery>,
) -> Result<Response, InstructorError> {
    let participant = state.participants.get(&id).map_err(|error| match error {
        ParticipantError::NotFound(_) => InstructorError::not_found(format!(
            "There is no participant {id:?}: they may have been removed."
        )),
        other => other.into(),
    })?;
    let (range, minutes) = pick_range(query.range.as_deref())?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let row = ParticipantRow::load(&state, &participant, now_ms).await;
    let names = state.backend.stack_names(&id);
    let (widgets, dashboard_problem) = if names.is_some() {
        match crate::ops::dashboard::data(&state, &id, minutes).await {
            Ok(data) => (
                data.widgets.into_iter().map(WidgetView::new).collect(),
                None,
            ),
            Err(error) => (Vec::new(), Some(error.public_message())),
        }
    } else {
        (
            Vec::new(),
            Some("They have no pipeline stack, so there is no dashboard.".to_owned()),
        )
    };
    let counts = match names {
        Some(_) => ArchitectureView::load(&state, &id).await.ok(),
        None => None,
    };
    let completed = &participant.progress.completed;
    let steps = all_steps()
        .map(|step| StepHistory {
            lab: step.lab,
            number: step.number,
            title: step.title.clone(),
            done_at: completed.get(&step.id).map(|at| rfc3339::format(*at)),
            current: participant.progress.current_step.as_deref() == Some(step.id.as_str()),
        })
        .collect();
    let events = state.events.list(0, EVENT_LIMIT, Some(&id))?;
    let names_by_id = [(participant.id.clone(), participant.name.clone())].into();
    Ok(ParticipantPage {
        chrome: None,
        section: "participant",
        csrf: session.csrf,
        view: View::default(),
        joined: rfc3339::format(participant.created_ms / 1000 * 1000),
        stack: names.map(|names| stack_rows(&names)).unwrap_or_default(),
        counts,
        ranges: RANGES
            .iter()
            .map(|(key, label, _)| (*key, *label, *key == range))
            .collect(),
        widgets,
        dashboard_problem,
        steps,
        events: event_rows(events, &names_by_id),
        row,
    }
    .into_response())
}

/// The dashboard's time range from `?range=`, as on the participant's dashboard page.
fn pick_range(value: Option<&str>) -> Result<(&'static str, i64), InstructorError> {
    crate::web::dashboard::parse_range(value).map_err(InstructorError::invalid)
}
