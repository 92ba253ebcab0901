//! The participant's pipeline: the live architecture picture, the traffic panel and the function
//! inspector.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::WebError;
use super::lab::Chrome;
use super::session::Session;
use super::{AppState, is_htmx};
use crate::backend::{FunctionConfiguration, StackNames};
use crate::inspector::{Setting, SourceFile, inspect, source_files};
use crate::participants::Viewed;
use crate::traffic::{TrafficSettings, TrafficStatus};

/// A row of the resource-name table.
#[derive(Debug, Clone)]
pub struct StackRow {
    /// What kind of resource.
    pub resource: &'static str,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub purpose: &'static str,
}

/// The participant's resources, as a table.
pub fn stack_rows(names: &StackNames) -> Vec<StackRow> {
    vec![
        StackRow {
            resource: "S3 bucket",
            name: names.bucket.clone(),
            purpose: "Holds the JSON objects under input/ and the CSV files under output/.",
        },
        StackRow {
            resource: "Lambda function",
            name: names.function_name.clone(),
            purpose: "Converts each new input/*.json object to output/*.csv.",
        },
        StackRow {
            resource: "SNS topic",
            name: names.topic_name.clone(),
            purpose: "Announces every new output/*.csv object.",
        },
        StackRow {
            resource: "SQS csv queue",
            name: names.csv_queue_name.clone(),
            purpose: "Receives the topic's notifications for the subscriber.",
        },
        StackRow {
            resource: "SQS dead-letter queue",
            name: names.dlq_name.clone(),
            purpose: "Receives the events the function failed three times.",
        },
        StackRow {
            resource: "CloudWatch dashboard",
            name: names.dashboard_name.clone(),
            purpose: "Shows the pipeline's metrics.",
        },
        StackRow {
            resource: "SSM parameter",
            name: names.parameter_name.clone(),
            purpose: "Switches fault injection (later labs).",
        },
    ]
}

/// The counts drawn on the architecture picture's edges.
#[derive(Debug, Clone, Default)]
pub struct ArchitectureView {
    /// Objects written to input/.
    pub published: u64,
    /// Events waiting, running or retrying.
    pub in_flight: u64,
    /// Objects converted to CSV (each one a notification through SNS into the csv queue).
    pub converted: u64,
    /// Events in the dead-letter queue.
    pub dead_lettered: u64,
    /// Notifications the subscriber consumed.
    pub consumed: u64,
}

impl ArchitectureView {
    /// The counts for a participant's stack.
    pub async fn load(state: &AppState, participant: &str) -> Result<Self, WebError> {
        let accounting = state.backend.accounting(participant).await?;
        Ok(Self {
            published: accounting.published,
            in_flight: accounting.in_flight,
            converted: accounting.converted,
            dead_lettered: accounting.dead_lettered,
            consumed: accounting.consumed,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/architecture.html")]
struct ArchitecturePage {
    chrome: Option<Chrome>,
    architecture: ArchitectureView,
    stack: Vec<StackRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/architecture.html")]
struct ArchitecturePartial {
    architecture: ArchitectureView,
}

fn mark_viewed(state: &AppState, session: &Session, what: Viewed) -> Result<Session, WebError> {
    let participant = state
        .participants
        .update(&session.participant.id, |participant| {
            participant.progress.viewed.insert(what);
            participant.last_seen_ms = chrono::Utc::now().timestamp_millis();
        })?;
    Ok(Session {
        participant,
        csrf: session.csrf.clone(),
    })
}

/// `GET /architecture`: the pipeline picture with live counts.
pub async fn show_architecture(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    let session = mark_viewed(&state, &session, Viewed::Architecture)?;
    let id = &session.participant.id;
    Ok(ArchitecturePage {
        chrome: Some(Chrome::new(&session, None)),
        architecture: ArchitectureView::load(&state, id).await?,
        stack: state
            .backend
            .stack_names(id)
            .map(|names| stack_rows(&names))
            .unwrap_or_default(),
    }
    .into_response())
}

/// `GET /architecture/live`: the picture alone, for htmx polling.
pub async fn architecture_partial(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    Ok(ArchitecturePartial {
        architecture: ArchitectureView::load(&state, &session.participant.id).await?,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/traffic.html")]
struct TrafficPage {
    chrome: Option<Chrome>,
    csrf: String,
    panel: TrafficPanel,
    error: Option<String>,
}

/// The traffic panel's contents.
#[derive(Debug, Clone)]
pub struct TrafficPanel {
    /// The generators' status.
    pub status: TrafficStatus,
    /// The form's values: the running settings, else the saved ones, else the defaults.
    pub settings: FormValues,
    /// The objects' whereabouts.
    pub architecture: ArchitectureView,
    /// The highest rate allowed.
    pub max_rate: f64,
    /// The longest automatic stop allowed, in minutes.
    pub max_stop_after_minutes: u64,
    /// Pipeline time now.
    pub now: i64,
}

/// The traffic form's values.
#[derive(Debug, Clone)]
pub struct FormValues {
    /// Objects per second.
    pub publisher_rate: f64,
    /// Percent malformed.
    pub error_percent: f64,
    /// Automatic stop, in minutes.
    pub stop_after_minutes: f64,
    /// Messages per second.
    pub subscriber_rate: f64,
}

impl TrafficPanel {
    async fn load(state: &AppState, session: &Session) -> Result<Self, WebError> {
        let id = &session.participant.id;
        let status = state.traffic.status(id);
        let limits = state.traffic.limits();
        let saved = session
            .participant
            .traffic
            .unwrap_or_else(TrafficSettings::standard);
        let publisher = status
            .publisher
            .as_ref()
            .map(|publisher| publisher.settings)
            .or(saved.publisher)
            .unwrap_or_default();
        let subscriber = status
            .subscriber
            .as_ref()
            .map(|subscriber| subscriber.settings)
            .or(saved.subscriber)
            .unwrap_or_default();
        Ok(Self {
            settings: FormValues {
                publisher_rate: publisher.rate,
                error_percent: publisher.error_rate * 100.0,
                stop_after_minutes: publisher.stop_after_s(&limits) as f64 / 60.0,
                subscriber_rate: subscriber.rate,
            },
            status,
            architecture: ArchitectureView::load(state, id).await?,
            max_rate: limits.max_rate,
            max_stop_after_minutes: limits.max_stop_after_s / 60,
            now: state.backend.clock().now(),
        })
    }

    /// `3 min 05 s` the publisher has run.
    pub fn publishing_for(&self) -> String {
        let ran = self
            .status
            .publisher
            .as_ref()
            .map_or(0, |publisher| publisher.running_for_ms(self.now));
        super::lab::minutes_seconds(ran)
    }

    /// Time left before the automatic stop.
    pub fn stops_in(&self) -> Option<String> {
        let publisher = self
            .status
            .publisher
            .as_ref()
            .filter(|publisher| publisher.running)?;
        Some(super::lab::minutes_seconds(publisher.stops_at - self.now))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/traffic_live.html")]
struct TrafficLive {
    panel: TrafficPanel,
}

/// `GET /traffic`: the traffic panel.
pub async fn show_traffic(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    Ok(TrafficPage {
        chrome: Some(Chrome::new(&session, None)),
        csrf: session.csrf.clone(),
        panel: TrafficPanel::load(&state, &session).await?,
        error: None,
    }
    .into_response())
}

/// `GET /traffic/live`: live counts, for htmx polling.
pub async fn traffic_partial(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    Ok(TrafficLive {
        panel: TrafficPanel::load(&state, &session).await?,
    }
    .into_response())
}

/// The traffic form. Every field is optional: the step pages post only the CSRF token and start
/// traffic with the saved or default settings.
#[derive(Debug, Deserialize)]
pub struct TrafficForm {
    csrf: String,
    publisher_rate: Option<String>,
    error_percent: Option<String>,
    stop_after_minutes: Option<String>,
    subscriber_rate: Option<String>,
    return_to: Option<String>,
}

fn number(field: &str, value: Option<&str>) -> Result<Option<f64>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .map(Some)
            .ok_or_else(|| format!("{field} must be a number, got {text:?}.")),
    }
}

/// The traffic form's rate fields, as posted (empty or absent: keep the current value).
#[derive(Debug, Clone, Copy, Default)]
pub struct RateFields<'a> {
    /// Objects per second.
    pub publisher_rate: Option<&'a str>,
    /// Percent malformed.
    pub error_percent: Option<&'a str>,
    /// Automatic stop, in minutes.
    pub stop_after_minutes: Option<&'a str>,
    /// Messages per second.
    pub subscriber_rate: Option<&'a str>,
}

impl RateFields<'_> {
    /// `base` with every field the form filled in; the caps are checked when traffic starts.
    pub fn apply(&self, base: TrafficSettings) -> Result<TrafficSettings, String> {
        let mut publisher = base.publisher.unwrap_or_default();
        let mut subscriber = base.subscriber.unwrap_or_default();
        if let Some(rate) = number("The publisher rate", self.publisher_rate)? {
            publisher.rate = rate;
        }
        if let Some(percent) = number("The error rate", self.error_percent)? {
            publisher.error_rate = percent / 100.0;
        }
        if let Some(minutes) = number("The automatic stop", self.stop_after_minutes)? {
            if minutes <= 0.0 {
                return Err(format!(
                    "The automatic stop must be at least 1 minute, got {minutes}."
                ));
            }
            publisher.stop_after_s = Some((minutes * 60.0).round() as u64);
        }
        if let Some(rate) = number("The subscriber rate", self.subscriber_rate)? {
            subscriber.rate = rate;
        }
        Ok(TrafficSettings {
            publisher: Some(publisher),
            subscriber: Some(subscriber),
        })
    }
}

impl TrafficForm {
    fn settings(&self, base: TrafficSettings) -> Result<TrafficSettings, String> {
        RateFields {
            publisher_rate: self.publisher_rate.as_deref(),
            error_percent: self.error_percent.as_deref(),
            stop_after_minutes: self.stop_after_minutes.as_deref(),
            subscriber_rate: self.subscriber_rate.as_deref(),
        }
        .apply(base)
    }

    fn return_to(&self) -> &str {
        // Only a local path: never redirect to another site.
        match self.return_to.as_deref() {
            Some(path) if path.starts_with('/') && !path.starts_with("//") => path,
            _ => "/traffic",
        }
    }
}

/// `POST /traffic`: starts or updates the publisher and the subscriber.
pub async fn start_traffic(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<TrafficForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let base = session
        .participant
        .traffic
        .unwrap_or_else(TrafficSettings::standard);
    let result = form.settings(base).and_then(|settings| {
        state
            .traffic
            .start(&session.participant.id, settings)
            .map(|_| settings)
            .map_err(|error| error.to_string())
    });
    match result {
        Ok(settings) => {
            state
                .participants
                .update(&session.participant.id, |participant| {
                    participant.traffic = Some(settings);
                })?;
            tracing::info!(participant = %session.participant.id, "traffic started");
            state.events.record(
                crate::events::EventKind::TrafficStarted,
                Some(&session.participant.id),
                crate::api::traffic::describe(&settings, &state.traffic.limits()),
            );
            if is_htmx(&headers) {
                return traffic_partial(State(state), session).await;
            }
            Ok(Redirect::to(form.return_to()).into_response())
        }
        Err(message) => {
            let page = TrafficPage {
                chrome: Some(Chrome::new(&session, None)),
                csrf: session.csrf.clone(),
                panel: TrafficPanel::load(&state, &session).await?,
                error: Some(message),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `POST /traffic/stop`: stops both generators.
pub async fn stop_traffic(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<TrafficForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    state.traffic.stop(&session.participant.id).await;
    tracing::info!(participant = %session.participant.id, "traffic stopped");
    state.events.record(
        crate::events::EventKind::TrafficStopped,
        Some(&session.participant.id),
        "",
    );
    if is_htmx(&headers) {
        return traffic_partial(State(state), session).await;
    }
    Ok(Redirect::to(form.return_to()).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/function.html")]
struct FunctionPage {
    chrome: Option<Chrome>,
    config: FunctionConfiguration,
    settings: Vec<Setting>,
    sources: &'static [SourceFile],
}

/// `GET /function`: the function's configuration and code.
pub async fn show_function(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    let config = state
        .backend
        .function_configuration(&session.participant.id)
        .await?;
    let session = mark_viewed(&state, &session, Viewed::Function)?;
    Ok(FunctionPage {
        chrome: Some(Chrome::new(&session, None)),
        settings: inspect(&config),
        config,
        sources: source_files(),
    }
    .into_response())
}

/// `GET /static/highlight.css`: the colours of the highlighted code.
pub async fn highlight_css() -> Response {
    static CSS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(crate::inspector::highlight_css);
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS.as_str(),
    )
        .into_response()
}
