//! The function's fault-injection parameter: reading it as the function will, and writing a new
//! document (failure-lambda 0.x's flat JSON, field set of 0.2.0).
//!
//! A document is checked strictly before it is written ([`FaultParameter::checked`]): a mistake
//! is refused naming the field, and nothing is stored. What is stored may still be one the
//! function cannot follow (on AWS anyone may write the SSM parameter); the view says so, and why,
//! since the function then injects nothing.

use chaoslab_etl::fault::{FailureMode, FaultDocument};
use serde::Serialize;
use utoipa::ToSchema;

use crate::backend::FaultParameter;
use crate::backend::fault::FaultReading;
use crate::events::EventKind;
use crate::ops::{Actor, OpError};
use crate::state::App;

/// The fault-injection parameter and how the function reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FaultView {
    /// The parameter's value as stored: the document as JSON when it is JSON, else its text.
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    /// Whether the function can follow the document (when not, it injects nothing).
    pub readable: bool,
    /// Why the function cannot follow it, when it cannot.
    pub problem: Option<String>,
    /// Whether a fault is switched on: a readable document with `isEnabled` true.
    pub enabled: bool,
    /// The failure mode the function reads (`latency`, `exception`, `statuscode`, `diskspace`
    /// or `denylist`), when the document is readable.
    pub mode: Option<String>,
    /// The share of invocations a fault is drawn for, 0 to 1, when the document is readable.
    pub rate: Option<f64>,
    /// One line saying what the function does now, for pages and logs.
    pub summary: String,
}

impl FaultView {
    /// The view of `parameter`.
    pub fn of(parameter: &FaultParameter) -> Self {
        let document = serde_json::from_str(parameter.text())
            .unwrap_or_else(|_| serde_json::Value::String(parameter.text().to_owned()));
        match parameter.read() {
            FaultReading::Valid(read) => Self {
                document,
                readable: true,
                problem: None,
                enabled: read.is_enabled,
                mode: Some(read.failure_mode.as_str().to_owned()),
                rate: Some(read.rate),
                summary: summary(&read),
            },
            FaultReading::Invalid(error) => Self {
                document,
                readable: false,
                problem: Some(error.to_string()),
                enabled: false,
                mode: None,
                rate: None,
                summary: format!("no fault: the function cannot follow the document ({error})"),
            },
        }
    }
}

fn summary(document: &FaultDocument) -> String {
    if !document.is_enabled {
        return "no fault: isEnabled is false".to_owned();
    }
    let percent = document.rate * 100.0;
    let what = match document.failure_mode {
        FailureMode::Latency => format!(
            "{}–{} ms of latency",
            document.min_latency, document.max_latency
        ),
        FailureMode::Exception => format!("an exception ({:?})", document.exception_msg),
        FailureMode::StatusCode => format!(
            "status code {} without running the handler",
            document.status_code
        ),
        FailureMode::DiskSpace => format!("{} MB written to /tmp", document.disk_space),
        FailureMode::Denylist => format!(
            "calls to hosts matching {:?} intercepted",
            document.denylist.patterns()
        ),
    };
    format!("{what} in {percent}% of invocations")
}

/// The parameter of participant `id`, as the function reads it.
pub async fn view(app: &App, id: &str) -> Result<FaultView, OpError> {
    app.participants.get(id)?;
    Ok(FaultView::of(&app.backend.fault_injection(id).await?))
}

/// How long the overview reuses a participant's fault reading. On AWS each reading is an SSM
/// `GetParameter`, and the functions' own reads share SSM's throughput (about 40 per second per
/// account and region by default) with the overview's refresh every 2 seconds.
pub const OVERVIEW_READING_TTL: std::time::Duration = std::time::Duration::from_secs(15);

/// Participant `id`'s fault as the overview shows it: read at most every
/// [`OVERVIEW_READING_TTL`], and at once after a write through this server.
pub async fn overview_view(app: &App, id: &str) -> Result<FaultView, OpError> {
    if let Some(parameter) = app.fault_readings.fresh(id, OVERVIEW_READING_TTL) {
        return Ok(FaultView::of(&parameter));
    }
    app.participants.get(id)?;
    let parameter = app.backend.fault_injection(id).await?;
    app.fault_readings.store(id, &parameter);
    Ok(FaultView::of(&parameter))
}

/// The document that switches every fault off, as the lab writes it.
pub const DISABLED: &str = r#"{"isEnabled": false}"#;

/// Switches participant `id`'s faults off; returns whether one was on (only then is anything
/// written and recorded).
pub async fn disable(app: &App, id: &str, actor: Actor) -> Result<bool, OpError> {
    if !view(app, id).await?.enabled {
        return Ok(false);
    }
    put(app, id, DISABLED, actor).await?;
    Ok(true)
}

/// Writes `document` (the JSON text) as participant `id`'s parameter, after checking it
/// strictly; records the change.
pub async fn put(app: &App, id: &str, document: &str, actor: Actor) -> Result<FaultView, OpError> {
    app.participants.get(id)?;
    let parameter = FaultParameter::checked(document)
        .map_err(|error| OpError::invalid("invalid_fault_document", error.to_string()))?;
    app.backend
        .set_fault_injection(id, parameter.clone())
        .await?;
    let view = FaultView::of(&parameter);
    app.fault_readings.store(id, &parameter);
    super::record(
        app,
        id,
        EventKind::FaultChanged,
        actor.describe(&view.summary),
        "fault injection changed",
    );
    Ok(view)
}
