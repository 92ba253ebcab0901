//! The traffic panel: the form that starts, changes and stops the publisher and the subscriber,
//! and their live counts. The form speaks in its own units (objects per second, percent,
//! minutes), checks what is typed in those units, and shows it again beside any error.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::architecture::ArchitectureView;
use super::error::WebError;
use super::is_htmx;
use super::layout::Chrome;
use super::session::Session;
use crate::lab::checks::minutes_seconds;
use crate::ops::traffic::{PublisherChange, SubscriberChange, TrafficChange, current_settings};
use crate::ops::{Actor, traffic};
use crate::state::{App, AppState};
use crate::traffic::settings::MIN_RATE;
use crate::traffic::{TrafficLimits, TrafficStatus};

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
    /// The form's values: what was typed, else the running settings, else the saved ones,
    /// else the defaults.
    pub settings: FormValues,
    /// The objects' whereabouts.
    pub architecture: ArchitectureView,
    /// The lowest rate allowed.
    pub min_rate: f64,
    /// The highest rate allowed.
    pub max_rate: f64,
    /// The longest automatic stop allowed, in minutes.
    pub max_stop_after_minutes: u64,
    /// Pipeline time now.
    pub now: i64,
}

/// The traffic form's values, as text: a refused value is shown again as typed.
#[derive(Debug, Clone)]
pub struct FormValues {
    /// Objects per second.
    pub publisher_rate: String,
    /// Percent malformed.
    pub error_percent: String,
    /// Automatic stop, in minutes.
    pub stop_after_minutes: String,
    /// Messages per second.
    pub subscriber_rate: String,
}

impl TrafficPanel {
    async fn load(state: &App, session: &Session) -> Result<Self, WebError> {
        let id = &session.participant.id;
        let limits = state.traffic.limits();
        let current = current_settings(state, &session.participant);
        let publisher = current.publisher.unwrap_or_default();
        let subscriber = current.subscriber.unwrap_or_default();
        Ok(Self {
            settings: FormValues {
                publisher_rate: number_text(publisher.rate),
                error_percent: number_text(publisher.error_rate * 100.0),
                stop_after_minutes: number_text(publisher.stop_after_s(&limits) as f64 / 60.0),
                subscriber_rate: number_text(subscriber.rate),
            },
            status: state.traffic.status(id),
            architecture: ArchitectureView::load(state, id).await?,
            min_rate: MIN_RATE,
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
        minutes_seconds(ran)
    }

    /// Time left before the automatic stop.
    pub fn stops_in(&self) -> Option<String> {
        let publisher = self
            .status
            .publisher
            .as_ref()
            .filter(|publisher| publisher.running)?;
        Some(minutes_seconds(publisher.stops_at - self.now))
    }

    /// Whether the publisher stopped by itself, and what the subscriber did then.
    pub fn stopped_by_itself(&self) -> Option<String> {
        stopped_by_itself(&self.status)
    }
}

/// `The publisher stopped by itself after 60 min …`, when it did.
pub fn stopped_by_itself(status: &TrafficStatus) -> Option<String> {
    let publisher = status
        .publisher
        .as_ref()
        .filter(|publisher| publisher.stopped_by_itself())?;
    let subscriber = if status.is_running() {
        "The subscriber keeps running until the csv queue is drained, then stops too."
    } else {
        "The subscriber drained the csv queue and stopped too."
    };
    Some(format!(
        "The publisher stopped by itself after {} of pipeline time, its automatic stop. {subscriber} Start traffic again to continue.",
        minutes_seconds(publisher.running_for_ms(publisher.stops_at))
    ))
}

/// `2`, `0.5`, `1.5`: a number as the form shows it.
fn number_text(value: f64) -> String {
    let rounded = (value * 1000.0).round() / 1000.0;
    format!("{rounded}")
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

/// The traffic form. Every field is optional: an empty or absent field keeps its current value.
/// The step pages' button posts `standard=yes`, which starts the lab's standard traffic.
#[derive(Debug, Deserialize)]
pub struct TrafficForm {
    csrf: String,
    #[serde(flatten)]
    rates: RateFields,
    standard: Option<String>,
    return_to: Option<String>,
}

/// The traffic form's rate fields, as posted (empty or absent: keep the current value).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RateFields {
    /// Objects per second.
    pub publisher_rate: Option<String>,
    /// Percent malformed.
    pub error_percent: Option<String>,
    /// Automatic stop, in minutes.
    pub stop_after_minutes: Option<String>,
    /// Messages per second.
    pub subscriber_rate: Option<String>,
}

/// A field's number, checked against the form's range, with a message in the form's words.
fn field(
    label: &str,
    unit: &str,
    value: Option<&str>,
    (min, max): (f64, f64),
) -> Result<Option<f64>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => match text.parse::<f64>() {
            Ok(number) if number.is_finite() && (min..=max).contains(&number) => Ok(Some(number)),
            Ok(_) => Err(format!(
                "{label} must be from {min} to {max}{unit}; you entered {text}."
            )),
            Err(_) => Err(format!("{label} must be a number; you entered {text:?}.")),
        },
    }
}

impl RateFields {
    /// The change the form asks for, checked in the form's units against the server's limits.
    /// Both generators are started or changed: the form always shows both.
    pub fn change(&self, limits: &TrafficLimits) -> Result<TrafficChange, String> {
        let rates = (MIN_RATE, limits.max_rate);
        let publisher_rate = field(
            "Objects per second",
            " per second",
            self.publisher_rate.as_deref(),
            rates,
        )?;
        let error_percent = field(
            "Malformed objects",
            "%",
            self.error_percent.as_deref(),
            (0.0, 100.0),
        )?;
        let stop_minutes = field(
            "Stop automatically after",
            " minutes",
            self.stop_after_minutes.as_deref(),
            (1.0, (limits.max_stop_after_s / 60) as f64),
        )?;
        let subscriber_rate = field(
            "Messages per second",
            " per second",
            self.subscriber_rate.as_deref(),
            rates,
        )?;
        Ok(TrafficChange {
            publisher: Some(PublisherChange {
                rate: publisher_rate,
                error_rate: error_percent.map(|percent| percent / 100.0),
                stop_after_s: stop_minutes.map(|minutes| (minutes * 60.0).round() as u64),
            }),
            subscriber: Some(SubscriberChange {
                rate: subscriber_rate,
            }),
        })
    }

    /// The form's values as typed, over `shown` where a field was left empty.
    fn typed_over(&self, shown: FormValues) -> FormValues {
        let typed = |value: &Option<String>, fallback: String| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map_or(fallback, |text| text.chars().take(40).collect())
        };
        FormValues {
            publisher_rate: typed(&self.publisher_rate, shown.publisher_rate),
            error_percent: typed(&self.error_percent, shown.error_percent),
            stop_after_minutes: typed(&self.stop_after_minutes, shown.stop_after_minutes),
            subscriber_rate: typed(&self.subscriber_rate, shown.subscriber_rate),
        }
    }
}

impl TrafficForm {
    fn return_to(&self) -> &str {
        super::local_path(self.return_to.as_deref(), "/traffic")
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
    let limits = state.traffic.limits();
    let change = if form.standard.as_deref() == Some("yes") {
        Ok(TrafficChange::standard(&limits))
    } else {
        form.rates.change(&limits)
    };
    let result = match change {
        Ok(change) => traffic::start(&state, &session.participant.id, &change, Actor::Participant)
            .map_err(|error| match error {
                crate::ops::OpError::Invalid { message, .. } => Ok(message),
                other => Err(other),
            }),
        Err(message) => Err(Ok(message)),
    };
    match result {
        Ok(_) => changed(state, session, &headers, &form).await,
        Err(Err(error)) => Err(error.into()),
        Err(Ok(message)) => {
            let mut panel = TrafficPanel::load(&state, &session).await?;
            panel.settings = form.rates.typed_over(panel.settings);
            let page = TrafficPage {
                chrome: Some(Chrome::new(&session, None)),
                csrf: session.csrf.clone(),
                panel,
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
    traffic::stop(&state, &session.participant.id, Actor::Participant).await?;
    changed(state, session, &headers, &form).await
}

/// After a change: the live panel for htmx, else back to where the form came from.
async fn changed(
    state: AppState,
    session: Session,
    headers: &HeaderMap,
    form: &TrafficForm,
) -> Result<Response, WebError> {
    if is_htmx(headers) {
        return traffic_partial(State(state), session).await;
    }
    Ok(Redirect::to(form.return_to()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_errors_speak_in_the_forms_units() {
        let limits = TrafficLimits::default();
        let cases = [
            (
                "error_percent",
                "150",
                Some("Malformed objects must be from 0 to 100%; you entered 150."),
            ),
            (
                "stop_after_minutes",
                "500",
                Some("Stop automatically after must be from 1 to 240 minutes; you entered 500."),
            ),
            (
                "publisher_rate",
                "0.0001",
                Some("Objects per second must be from 0.1 to 20 per second; you entered 0.0001."),
            ),
        ];
        for (field, typed, expected) in cases {
            let mut fields = RateFields::default();
            let slot = match field {
                "error_percent" => &mut fields.error_percent,
                "stop_after_minutes" => &mut fields.stop_after_minutes,
                _ => &mut fields.publisher_rate,
            };
            *slot = Some(typed.to_owned());
            assert_eq!(fields.change(&limits).err().as_deref(), expected, "{field}");
        }
    }

    #[test]
    fn an_empty_field_keeps_its_value_and_a_refused_one_is_shown_as_typed() {
        let limits = TrafficLimits::default();
        let fields = RateFields {
            publisher_rate: Some(String::new()),
            error_percent: Some("10".into()),
            ..RateFields::default()
        };
        let change = fields.change(&limits).unwrap_or_default();
        let publisher = change.publisher.unwrap_or_default();
        assert_eq!((publisher.rate, publisher.error_rate), (None, Some(0.1)));
        let shown = FormValues {
            publisher_rate: "2".into(),
            error_percent: "1".into(),
            stop_after_minutes: "60".into(),
            subscriber_rate: "2".into(),
        };
        let typed = RateFields {
            error_percent: Some("150".into()),
            ..RateFields::default()
        }
        .typed_over(shown);
        assert_eq!(
            (typed.error_percent.as_str(), typed.publisher_rate.as_str()),
            ("150", "2")
        );
    }
}
