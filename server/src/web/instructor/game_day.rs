//! The instructor's game day page: run one experiment on everyone (or the participants ticked),
//! follow every run in one live table, halt them all, and download every journal.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::InstructorError;
use super::session::InstructorSession;
use crate::ops::OpError;
use crate::ops::game_day::{self, GameDayView};
use crate::participants::Participant;
use crate::state::AppState;
use crate::web::is_htmx;
use crate::web::layout::Chrome;

#[derive(Template, WebTemplate)]
#[template(path = "instructor/game_day.html")]
struct GameDayPage {
    chrome: Option<Chrome>,
    section: &'static str,
    csrf: String,
    participants: Vec<Participant>,
    editor: String,
    error: Option<String>,
    live: GameDayLive,
}

/// The live table, also the partial htmx polls.
#[derive(Template, WebTemplate)]
#[template(path = "instructor/game_day_live.html")]
struct GameDayLive {
    view: Option<GameDayView>,
    running: bool,
    csrf: String,
}

fn live(state: &AppState, csrf: &str) -> Result<GameDayLive, InstructorError> {
    let view = game_day::view(state).map_err(crate::web::error::WebError::from)?;
    let running = view
        .as_ref()
        .is_some_and(|view| view.rows.iter().any(|row| row.verdict == "running"));
    Ok(GameDayLive {
        view,
        running,
        csrf: csrf.to_owned(),
    })
}

fn page(
    state: &AppState,
    session: &InstructorSession,
    editor: String,
    error: Option<String>,
) -> Result<GameDayPage, InstructorError> {
    Ok(GameDayPage {
        chrome: None,
        section: "game-day",
        csrf: session.csrf.clone(),
        participants: state
            .participants
            .list()
            .map_err(|error| crate::web::error::WebError::from(OpError::from(error)))?,
        editor,
        error,
        live: live(state, &session.csrf)?,
    })
}

/// `GET /instructor/game-day` (the live table alone for htmx).
pub async fn show_game_day(
    State(state): State<AppState>,
    session: InstructorSession,
    headers: HeaderMap,
) -> Result<Response, InstructorError> {
    if is_htmx(&headers) {
        return Ok(live(&state, &session.csrf)?.into_response());
    }
    let editor =
        serde_json::to_string_pretty(&crate::chaos::templates::lab3_latency()).unwrap_or_default();
    Ok(page(&state, &session, editor, None)?.into_response())
}

/// The start form. It has repeated `ids`, so it is read from the raw pairs.
#[derive(Debug, Default)]
struct StartForm {
    csrf: String,
    experiment: String,
    scope: Option<String>,
    ids: Vec<String>,
}

impl StartForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "experiment" => form.experiment = value,
                "scope" => form.scope = Some(value),
                "ids" if !value.trim().is_empty() && !form.ids.contains(&value) => {
                    form.ids.push(value)
                }
                _ => {}
            }
        }
        form
    }
}

/// `POST /instructor/game-day`: starts the experiment on everyone or on the participants ticked.
pub async fn start_game_day(
    State(state): State<AppState>,
    session: InstructorSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, InstructorError> {
    let form = StartForm::from_pairs(pairs);
    session.check_csrf(&form.csrf)?;
    let refuse = |message: String| -> Result<Response, InstructorError> {
        let page = page(&state, &session, form.experiment.clone(), Some(message))?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let experiment: serde_json::Value = match serde_json::from_str(&form.experiment) {
        Ok(value @ serde_json::Value::Object(_)) => value,
        Ok(_) => return refuse("The experiment must be a JSON object.".to_owned()),
        Err(error) => return refuse(format!("The experiment is not valid JSON: {error}.")),
    };
    let participants = match form.scope.as_deref() {
        Some("selected") if form.ids.is_empty() => {
            return refuse("Tick at least one participant, or choose everyone.".to_owned());
        }
        Some("selected") => Some(form.ids.clone()),
        _ => None,
    };
    match game_day::start(&state, &experiment, participants) {
        Ok(_) => Ok(Redirect::to("/instructor/game-day#live").into_response()),
        Err(OpError::Invalid { message, .. } | OpError::Conflict { message, .. }) => {
            refuse(message)
        }
        Err(other) => Err(crate::web::error::WebError::from(other).into()),
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// `POST /instructor/game-day/halt`: halts every run still going on.
pub async fn halt_all(
    State(state): State<AppState>,
    session: InstructorSession,
    Form(form): Form<TokenForm>,
) -> Result<Response, InstructorError> {
    session.check_csrf(&form.csrf)?;
    game_day::halt_all(&state).map_err(crate::web::error::WebError::from)?;
    Ok(Redirect::to("/instructor/game-day#live").into_response())
}

/// `GET /instructor/game-day/journals.json`: every journal, one download.
pub async fn journals(
    State(state): State<AppState>,
    _: InstructorSession,
) -> Result<Response, InstructorError> {
    let journals = game_day::journals(&state).map_err(crate::web::error::WebError::from)?;
    Ok(crate::web::json_download(
        "game-day-journals.json",
        &journals,
    ))
}
