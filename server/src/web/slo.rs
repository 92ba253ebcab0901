//! The SLO page: the participant states an objective; the page evaluates it live and charts the
//! ratio over time.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::WebError;
use super::layout::Chrome;
use super::session::Session;
use crate::dashboard::{SeriesData, View, WidgetData};
use crate::ops::{Actor, slo};
use crate::slo::{SloObjective, SloStatus, advice, evaluate, history};
use crate::state::{App, AppState};

/// The SLO's live evaluation, for the page and its partial.
#[derive(Debug)]
pub struct SloView {
    /// The objective shown (the participant's, or the lab's default if they have none yet).
    pub objective: SloObjective,
    /// Whether the participant has stated it.
    pub stated: bool,
    /// The evaluation over the last window.
    pub status: SloStatus,
    /// Advice on headroom.
    pub advice: String,
    /// The ratio per 5-minute period over the last 3 hours, with the objective, as a chart widget.
    pub chart_json: String,
    /// Points in the chart.
    pub points: usize,
}

impl SloView {
    async fn load(state: &App, session: &Session) -> Result<Self, WebError> {
        let id = &session.participant.id;
        let objective = session.participant.slo.unwrap_or_default();
        let status = evaluate(state.backend.as_ref(), &state.dashboard, id, &objective).await?;
        let now = state.backend.clock().now();
        let points = history(
            state.backend.as_ref(),
            &state.dashboard,
            id,
            &objective,
            now - 3 * 3_600_000,
            now,
        )
        .await?;
        let timestamps: Vec<i64> = points.iter().map(|(at, _)| *at).collect();
        let chart = WidgetData {
            id: "sli".to_owned(),
            title: "DLQ ÷ processed (%)".to_owned(),
            view: View::TimeSeries,
            position: crate::dashboard::Position {
                x: 0,
                y: 0,
                width: 24,
                height: 6,
            },
            period: 300,
            series: vec![
                SeriesData {
                    id: "sli".to_owned(),
                    label: "Percent needing a human".to_owned(),
                    values: points.iter().map(|(_, value)| *value).collect(),
                    timestamps: timestamps.clone(),
                    latest: None,
                    unit: Some(crate::dashboard::Unit::Percent),
                },
                SeriesData {
                    id: "objective".to_owned(),
                    label: "Objective".to_owned(),
                    values: vec![objective.max_percent; timestamps.len()],
                    timestamps,
                    latest: None,
                    unit: Some(crate::dashboard::Unit::Percent),
                },
            ],
        };
        let chart_json = super::dashboard::script_json(&chart);
        Ok(Self {
            stated: session.participant.slo.is_some(),
            advice: advice(&objective),
            objective,
            status,
            chart_json,
            points: points.len(),
        })
    }

    /// The value, formatted.
    pub fn value(&self) -> String {
        self.status
            .value_percent
            .map_or_else(|| "no data".to_owned(), |value| format!("{value:.2}%"))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/slo.html")]
struct SloPage {
    chrome: Option<Chrome>,
    csrf: String,
    view: SloView,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/slo_live.html")]
struct SloLive {
    view: SloView,
}

/// `GET /slo`.
pub async fn show_slo(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    Ok(SloPage {
        chrome: Some(Chrome::new(&session, None)),
        csrf: session.csrf.clone(),
        view: SloView::load(&state, &session).await?,
        error: None,
    }
    .into_response())
}

/// `GET /slo/live`: the evaluation alone, for htmx polling.
pub async fn slo_partial(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    Ok(SloLive {
        view: SloView::load(&state, &session).await?,
    }
    .into_response())
}

/// The objective form.
#[derive(Debug, Deserialize)]
pub struct SloForm {
    csrf: String,
    max_percent: String,
    window_minutes: String,
}

/// `POST /slo`: states the objective.
pub async fn set_slo(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<SloForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let parsed = match (
        form.max_percent.trim().parse::<f64>(),
        form.window_minutes.trim().parse::<u32>(),
    ) {
        (Ok(max_percent), Ok(window_minutes)) => {
            let objective = SloObjective {
                max_percent,
                window_minutes,
            };
            objective
                .validate()
                .map(|()| objective)
                .map_err(|error| error.to_string())
        }
        (Err(_), _) => Err(format!(
            "The objective must be a percentage such as 2, got {:?}.",
            form.max_percent
        )),
        (_, Err(_)) => Err(format!(
            "The window must be a whole number of minutes, got {:?}.",
            form.window_minutes
        )),
    };
    match parsed {
        Ok(objective) => {
            slo::state(
                &state,
                &session.participant.id,
                objective,
                Actor::Participant,
            )
            .await?;
            Ok(Redirect::to("/slo").into_response())
        }
        Err(message) => {
            let page = SloPage {
                chrome: Some(Chrome::new(&session, None)),
                csrf: session.csrf.clone(),
                view: SloView::load(&state, &session).await?,
                error: Some(message),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
