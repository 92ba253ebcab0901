//! The lab's step pages: explanation, action buttons and an automatic check (run by
//! [`crate::ops::steps`]), with the progress every page shows.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::architecture::{ArchitectureView, StackRow, stack_rows};
use super::error::WebError;
use super::is_htmx;
use super::layout::Chrome;
use super::session::Session;
use crate::lab::{Action, BodyPart, Lab, Step, lab, next_step, previous_step, step};
use crate::ops::faults::FaultView;
use crate::ops::steps::{CheckOutcome, open_step, run_check};
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "pages/step.html")]
struct StepPage<'a> {
    chrome: Option<Chrome>,
    lab: &'a Lab,
    step: &'a Step,
    previous: Option<&'a Step>,
    next: Option<&'a Step>,
    check: CheckOutcome,
    architecture: Option<ArchitectureView>,
    stack: Vec<StackRow>,
    csrf: String,
    stopped_by_itself: Option<String>,
    /// What the function reads now, on a step that writes fault documents.
    fault: Option<FaultView>,
    /// The newest test invoke, on a step that runs them.
    test_result: Option<super::faults::TestView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/check.html")]
struct CheckPartial<'a> {
    step: &'a Step,
    check: CheckOutcome,
}

fn find_step(id: &str) -> Result<&'static Step, WebError> {
    step(id).ok_or_else(|| WebError::NotFound(format!("No lab has a step {id:?}.")))
}

/// `GET /lab/{step}`: a step page.
pub async fn show_step(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let step = find_step(&id)?;
    let participant = open_step(&state, &session.participant.id, step)?;
    let check = run_check(&state, &participant, step).await?;
    let session = Session {
        participant: state.participants.get(&participant.id)?,
        csrf: session.csrf,
    };
    let id = &session.participant.id;
    let architecture = if step.body.contains(&BodyPart::Architecture) {
        Some(ArchitectureView::load(&state, id).await?)
    } else {
        None
    };
    let stack = state
        .backend
        .stack_names(id)
        .map(|names| stack_rows(&names))
        .unwrap_or_default();
    let traffic = state.traffic.status(id);
    let fault = if step.actions.contains(&Action::PutFault) {
        Some(crate::ops::faults::view(&state, id).await?)
    } else {
        None
    };
    let test_result = if step.actions.contains(&Action::TestInvoke) {
        super::faults::latest_test(&state, id)?
    } else {
        None
    };
    let lab = lab(step.lab).ok_or_else(|| WebError::NotFound(format!("No lab {}.", step.lab)))?;
    Ok(StepPage {
        chrome: Some(Chrome::new(&session, Some(&step.id))),
        lab,
        step,
        previous: previous_step(step),
        next: next_step(step),
        check,
        architecture,
        stack,
        csrf: session.csrf.clone(),
        stopped_by_itself: step
            .actions
            .contains(&Action::StartTraffic)
            .then(|| super::traffic::stopped_by_itself(&traffic))
            .flatten(),
        fault,
        test_result,
    }
    .into_response())
}

/// `GET /lab/{step}/check`: the check's status, for htmx polling (a full page without htmx).
pub async fn check_partial(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if !is_htmx(&headers) {
        return Ok(axum::response::Redirect::to(&format!("/lab/{id}")).into_response());
    }
    let step = find_step(&id)?;
    let check = run_check(&state, &session.participant, step).await?;
    Ok(CheckPartial { step, check }.into_response())
}
