//! The dashboard page: every widget of the shared dashboard definition, the metric widgets drawn
//! from the same GetMetricData queries the API answers, the text widgets' Markdown among them.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::WebError;
use super::layout::Chrome;
use super::session::Session;
use crate::dashboard::{DashboardData, Position, SeriesData, TextWidget, Unit, View, WidgetData};
use crate::state::{App, AppState};

/// The time ranges offered, as (query value, label, minutes).
pub const RANGES: [(&str, &str, i64); 5] = [
    ("1h", "Last hour", 60),
    ("3h", "Last 3 hours", 180),
    ("6h", "Last 6 hours", 360),
    ("12h", "Last 12 hours", 720),
    ("24h", "Last 24 hours", 1440),
];

/// A widget ready for the page: its data, the JSON the script draws, and rows for the table
/// shown without JavaScript.
#[derive(Debug)]
pub struct WidgetView {
    /// The widget's data.
    pub widget: WidgetData,
    /// The widget as JSON, safe inside a `<script>` element.
    pub json: String,
    /// Whether it is a single-value widget.
    pub single: bool,
}

/// A value as JSON that is safe inside a `<script type="application/json">` element: `</` would
/// end the element early, so it is written `<\/`.
pub fn script_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace("</", "<\\/")
}

impl WidgetView {
    /// A widget's view, with its JSON for the page's script.
    pub fn new(widget: WidgetData) -> Self {
        let json = script_json(&widget);
        Self {
            single: widget.view == View::SingleValue,
            widget,
            json,
        }
    }

    /// The newest value of each series with its unit, for the tiles shown without JavaScript.
    pub fn latest(&self) -> Vec<(String, String)> {
        self.widget
            .series
            .iter()
            .map(|series| (series.label.clone(), newest(series)))
            .collect()
    }

    /// The newest value of each series with its unit, and how many periods have data, for the
    /// table shown without JavaScript (a sum would mean nothing for gauges and percentages).
    pub fn totals(&self) -> Vec<(String, String, usize)> {
        self.widget
            .series
            .iter()
            .map(|series| (series.label.clone(), newest(series), series.values.len()))
            .collect()
    }
}

/// A series' newest value with its unit, or "no data".
fn newest(series: &SeriesData) -> String {
    series.values.last().map_or_else(
        || "no data".to_owned(),
        |value| format_value(*value, series.unit),
    )
}

/// `value` with at most two decimals and its unit, as the charts write it: `1.5%`, `11.39 ms`,
/// `4 s`, `531 count` (with a non-breaking space, so a unit never wraps onto a line of its own).
pub fn format_value(value: f64, unit: Option<Unit>) -> String {
    // `+ 0.0` turns -0.0 into 0.0, so a zero never reads "-0".
    let fixed = format!("{:.2}", value + 0.0);
    let number = if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.')
    } else {
        &fixed
    };
    let number = if number == "-0" { "0" } else { number };
    match unit {
        None => number.to_owned(),
        Some(Unit::Percent) => format!("{number}%"),
        Some(unit) => format!("{number}\u{a0}{}", unit.symbol()),
    }
}

/// Query parameters of the dashboard page.
#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    range: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/dashboard.html")]
struct DashboardPage {
    chrome: Option<Chrome>,
    ranges: Vec<(&'static str, &'static str, bool)>,
    /// The widgets, rendered as their own template (the htmx partial).
    widgets: WidgetsPartial,
}

/// A text widget ready for the page.
#[derive(Debug)]
pub struct TextView {
    /// The widget's stable id, for its `data-widget-id`.
    pub id: String,
    /// Its Markdown as HTML; raw HTML in the Markdown is escaped.
    pub html: String,
    /// Whether it is as wide as CloudWatch's grid (24 columns), so spans the page's grid too.
    pub full_width: bool,
}

/// One widget of the page's grid.
#[derive(Debug)]
pub enum PageWidget {
    /// A metric widget: a chart over a table.
    Metric(WidgetView),
    /// A text widget: Markdown.
    Text(TextView),
}

/// The dashboard's widgets as the page shows them, also the partial htmx polls.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "partials/widgets.html")]
pub struct WidgetsPartial {
    /// Whether htmx asked for it, so scripts run and the widgets refresh themselves.
    polled: bool,
    range: &'static str,
    widgets: Vec<PageWidget>,
    updated: String,
    empty: bool,
}

impl WidgetsPartial {
    /// The metric widgets' `data` and the `text_widgets`, in the order of their places on
    /// CloudWatch's grid (top to bottom, then left to right), over the time range `range` (a key
    /// of [`RANGES`]), with the pipeline time they were `updated` at. `polled` says whether htmx
    /// asked for them.
    pub fn new(
        range: &'static str,
        data: DashboardData,
        text_widgets: &[TextWidget],
        updated: String,
        polled: bool,
    ) -> Self {
        let empty = data
            .widgets
            .iter()
            .all(|widget| widget.series.iter().all(|series| series.values.is_empty()));
        let mut placed: Vec<(Position, PageWidget)> = data
            .widgets
            .into_iter()
            .map(|widget| (widget.position, PageWidget::Metric(WidgetView::new(widget))))
            .chain(text_widgets.iter().map(|text| {
                let view = TextView {
                    id: text.id.clone(),
                    html: crate::lab::markdown_to_html(&text.markdown),
                    full_width: text.position.width >= GRID_COLUMNS,
                };
                (text.position, PageWidget::Text(view))
            }))
            .collect();
        // A stable sort: widgets on the same place keep the template's order.
        placed.sort_by_key(|(position, _)| (position.y, position.x));
        Self {
            polled,
            range,
            widgets: placed.into_iter().map(|(_, widget)| widget).collect(),
            updated,
            empty,
        }
    }
}

/// The width of CloudWatch's dashboard grid, in columns.
const GRID_COLUMNS: u32 = 24;

/// A `?range=` value as (key, minutes); absent or empty is the last hour. The error message names
/// the choices.
pub fn parse_range(value: Option<&str>) -> Result<(&'static str, i64), String> {
    match value {
        None | Some("") => Ok(("1h", 60)),
        Some(value) => RANGES
            .iter()
            .find(|(key, _, _)| *key == value)
            .map(|(key, _, minutes)| (*key, *minutes))
            .ok_or_else(|| {
                format!("Unknown time range {value:?}: choose one of 1h, 3h, 6h, 12h or 24h.")
            }),
    }
}

fn pick_range(query: &DashboardQuery) -> Result<(&'static str, i64), WebError> {
    parse_range(query.range.as_deref()).map_err(WebError::Invalid)
}

/// The pipeline time now, as the page writes it: `HH:MM:SS UTC`.
fn updated(state: &App) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(state.backend.clock().now())
        .map_or_else(String::new, |time| time.format("%H:%M:%S UTC").to_string())
}

/// The text widgets of the participant's dashboard.
fn text_widgets(state: &App, participant: &str) -> Result<Vec<TextWidget>, WebError> {
    Ok(crate::ops::dashboard::dashboard_of(state, participant)?.text_widgets)
}

/// `GET /dashboard`: the dashboard page.
pub async fn show_dashboard(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, WebError> {
    let (range, minutes) = pick_range(&query)?;
    let (data, participant) =
        crate::ops::dashboard::open(&state, &session.participant.id, minutes).await?;
    let session = Session {
        participant,
        csrf: session.csrf,
    };
    Ok(DashboardPage {
        chrome: Some(Chrome::new(&session, None)),
        ranges: RANGES
            .iter()
            .map(|(key, label, _)| (*key, *label, *key == range))
            .collect(),
        // The full page cannot know whether scripts will run.
        widgets: widgets(&state, &session, range, data, false)?,
    }
    .into_response())
}

/// `GET /dashboard/live`: the widgets alone, for htmx polling.
pub async fn dashboard_partial(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, WebError> {
    let (range, minutes) = pick_range(&query)?;
    let participant = &session.participant.id;
    let data = crate::ops::dashboard::data(&state, participant, minutes).await?;
    Ok(widgets(&state, &session, range, data, true)?.into_response())
}

/// The widgets with the dashboard's text widgets among them.
fn widgets(
    state: &App,
    session: &Session,
    range: &'static str,
    data: DashboardData,
    polled: bool,
) -> Result<WidgetsPartial, WebError> {
    let texts = text_widgets(state, &session.participant.id)?;
    Ok(WidgetsPartial::new(
        range,
        data,
        &texts,
        updated(state),
        polled,
    ))
}
