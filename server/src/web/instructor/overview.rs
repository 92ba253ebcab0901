//! The overview: the counts and the participant table, sorted and filtered by its [`View`], as
//! a full page with the bulk-action form and as the htmx partial it polls every 2 seconds.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::row::{ParticipantRow, load_rows};
use super::session::InstructorSession;
use super::view::View;
use super::{InstructorError, participants};
use crate::metrics::rfc3339;
use crate::state::AppState;
use crate::web::is_htmx;
use crate::web::layout::Chrome;

/// Counts over every participant, shown above the table.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Participants.
    pub total: usize,
    /// With traffic running.
    pub traffic: usize,
    /// Whose SLO does not hold.
    pub slo_broken: usize,
    /// With every step done.
    pub done: usize,
}

impl Summary {
    fn of(rows: &[ParticipantRow]) -> Self {
        Self {
            total: rows.len(),
            traffic: rows.iter().filter(|row| row.running).count(),
            slo_broken: rows.iter().filter(|row| row.slo_broken()).count(),
            done: rows
                .iter()
                .filter(|row| row.steps_done == row.steps_total)
                .count(),
        }
    }
}

/// The live part of the overview: the counts and the table.
#[derive(Debug)]
pub struct Table {
    /// Sort and filter.
    pub view: View,
    /// The rows shown.
    pub rows: Vec<ParticipantRow>,
    /// Counts over everyone, shown or not.
    pub summary: Summary,
    /// Pipeline time of the measurement.
    pub updated: String,
    /// The instructor's CSRF token, for the rows' forms.
    pub csrf: String,
}

impl Table {
    async fn load(
        state: &AppState,
        view: View,
        session: &InstructorSession,
    ) -> Result<Self, InstructorError> {
        let rows = load_rows(state).await?;
        Ok(Self {
            summary: Summary::of(&rows),
            rows: view.apply(rows),
            view,
            updated: rfc3339::format(state.backend.clock().now() / 1000 * 1000),
            csrf: session.csrf.clone(),
        })
    }
}

/// The overview's query string: the view, and the outcome of the last action.
#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    sort: Option<String>,
    order: Option<String>,
    status: Option<String>,
    /// What the last action did: `stopped`, `started`, `reset` or `removed`.
    done: Option<String>,
    /// On how many participants.
    count: Option<String>,
    /// How many selected participants no longer existed.
    skipped: Option<String>,
    /// How many it failed for.
    failed: Option<String>,
}

impl OverviewQuery {
    fn view(&self) -> Result<View, InstructorError> {
        View::parse(
            self.sort.as_deref(),
            self.order.as_deref(),
            self.status.as_deref(),
        )
    }

    /// The last action's outcome in words. Only the verb and the numbers come from the query
    /// string, so a crafted link cannot put its own words on the page.
    fn flash(&self) -> Option<String> {
        let verb = match self.done.as_deref()? {
            "stopped" => "Stopped the traffic of",
            "started" => "Started traffic for",
            "reset" => "Reset the pipeline of",
            "removed" => "Removed",
            "faults_off" => "Switched the faults off for",
            _ => return None,
        };
        let number = |value: &Option<String>| {
            value
                .as_deref()
                .and_then(|value| value.parse::<usize>().ok())
                .unwrap_or(0)
        };
        let mut message = format!("{verb} {}.", participants(number(&self.count)));
        match number(&self.skipped) {
            0 => {}
            1 => message.push_str(" 1 selected participant no longer exists and was skipped."),
            skipped => message.push_str(&format!(
                " {skipped} selected participants no longer exist and were skipped."
            )),
        }
        let failed = number(&self.failed);
        if failed > 0 {
            message.push_str(&format!(
                " It failed for {}: the server log says why.",
                participants(failed)
            ));
        }
        Some(message)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "instructor/overview.html")]
struct OverviewPage {
    chrome: Option<Chrome>,
    section: &'static str,
    csrf: String,
    table: Table,
    flash: Option<String>,
    max_rate: f64,
}

#[derive(Template, WebTemplate)]
#[template(path = "instructor/table.html")]
struct TablePartial {
    table: Table,
}

/// `GET /instructor`: every participant, with actions.
pub async fn show_overview(
    State(state): State<AppState>,
    session: InstructorSession,
    Query(query): Query<OverviewQuery>,
) -> Result<Response, InstructorError> {
    let view = query.view()?;
    Ok(OverviewPage {
        chrome: None,
        section: "overview",
        csrf: session.csrf.clone(),
        table: Table::load(&state, view, &session).await?,
        flash: query.flash(),
        max_rate: state.traffic.limits().max_rate,
    }
    .into_response())
}

/// `GET /instructor/table`: the counts and the table alone, for htmx polling; without htmx, the
/// whole overview.
pub async fn table_partial(
    State(state): State<AppState>,
    session: InstructorSession,
    headers: HeaderMap,
    Query(query): Query<OverviewQuery>,
) -> Result<Response, InstructorError> {
    let view = query.view()?;
    if !is_htmx(&headers) {
        return Ok(Redirect::to(&format!("/instructor?{}", view.query())).into_response());
    }
    Ok(TablePartial {
        table: Table::load(&state, view, &session).await?,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flash_is_built_from_known_words_only() {
        let query = OverviewQuery {
            done: Some("stopped".into()),
            count: Some("3".into()),
            skipped: Some("1".into()),
            ..OverviewQuery::default()
        };
        assert_eq!(
            query.flash().as_deref(),
            Some(
                "Stopped the traffic of 3 participants. 1 selected participant no longer exists and was skipped."
            )
        );
        let crafted = OverviewQuery {
            done: Some("Your token expired, log in at evil.example".into()),
            ..OverviewQuery::default()
        };
        assert_eq!(crafted.flash(), None);
    }
}
