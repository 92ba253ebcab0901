//! `/gamedays`: the instructor runs one experiment on every participant (or the ones chosen),
//! follows the runs in one table, halts them all at once and downloads every journal.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Instructor;
use super::error::{ApiError, Json};
use crate::ops::game_day::{self, GameDayJournal, GameDayView};
use crate::state::AppState;

/// A game day to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GameDayRequest {
    /// The Chaos Toolkit experiment, as for `POST /participants/{id}/experiments`; each
    /// participant gets their own copy, checked for them.
    #[schema(value_type = Object)]
    pub experiment: serde_json::Value,
    /// The participants to run it on (default: everyone).
    pub participants: Option<Vec<String>>,
}

/// Starts a game day: the experiment saved and run for each participant at once. One who cannot
/// run it (a run of theirs going on) is skipped, with the reason; it replaces the last game day.
#[utoipa::path(post, path = "/gamedays", tag = "experiments", request_body = GameDayRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Started: each participant's run", body = GameDayView),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Only the instructor may start a game day", body = ApiError),
        (status = 409, description = "Nobody could run it (`nobody_could_run`, each reason named)", body = ApiError),
        (status = 422, description = "The experiment is not valid here, or nobody to run it on", body = ApiError),
    ))]
pub async fn start_game_day(
    State(state): State<AppState>,
    _: Instructor,
    Json(request): Json<GameDayRequest>,
) -> Result<(StatusCode, Json<GameDayView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(game_day::start(
            &state,
            &request.experiment,
            request.participants,
        )?),
    ))
}

/// The latest game day: each participant's run, its state, verdict, failing probe and values.
#[utoipa::path(get, path = "/gamedays", tag = "experiments", security(("bearer" = [])),
    responses(
        (status = 200, description = "The game day", body = GameDayView),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Only the instructor may follow a game day", body = ApiError),
        (status = 404, description = "No game day yet", body = ApiError),
    ))]
pub async fn get_game_day(
    State(state): State<AppState>,
    _: Instructor,
) -> Result<Json<GameDayView>, ApiError> {
    game_day::view(&state)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no game day has been started"))
}

/// Halts every run of the game day still going on (each plays its rollbacks).
#[utoipa::path(post, path = "/gamedays/halt", tag = "experiments", security(("bearer" = [])),
    responses(
        (status = 200, description = "How many runs were halted", body = HaltAll),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Only the instructor may halt a game day", body = ApiError),
    ))]
pub async fn halt_game_day(
    State(state): State<AppState>,
    _: Instructor,
) -> Result<Json<HaltAll>, ApiError> {
    Ok(Json(HaltAll {
        halted: game_day::halt_all(&state)?,
    }))
}

/// What Halt all did.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct HaltAll {
    /// Runs that were going on and were halted.
    pub halted: usize,
}

/// Every journal of the game day, as one JSON download.
#[utoipa::path(get, path = "/gamedays/journals", tag = "experiments", security(("bearer" = [])),
    responses(
        (status = 200, description = "The journals", body = Vec<GameDayJournal>),
        (status = 401, description = "No or invalid token", body = ApiError),
        (status = 403, description = "Only the instructor may download them", body = ApiError),
    ))]
pub async fn game_day_journals(
    State(state): State<AppState>,
    _: Instructor,
) -> Result<Json<Vec<GameDayJournal>>, ApiError> {
    Ok(Json(game_day::journals(&state)?))
}
