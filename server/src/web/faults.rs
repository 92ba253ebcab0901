//! The fault-injection page: the function's fault document (failure-lambda's flat JSON), what the
//! function makes of it, forms to write a new one, and the test invoke that shows its effect one
//! attempt at a time.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::WebError;
use super::layout::Chrome;
use super::local_path;
use super::session::Session;
use crate::backend::BackendKind;
use crate::backend::invocation::{InvocationOutcome, InvocationReport};
use crate::ops::faults::{self, FaultView};
use crate::ops::steps::mark_viewed;
use crate::ops::{Actor, OpError};
use crate::participants::Viewed;
use crate::state::{App, AppState};

/// A ready-made document the page offers, with what it does.
#[derive(Debug, Clone)]
pub struct Preset {
    /// What it does, as the button says it.
    pub label: &'static str,
    /// The document, as failure-lambda writes it.
    pub document: &'static str,
}

/// The documents the page offers: each mode once, and the one that switches faults off.
pub const PRESETS: [Preset; 6] = [
    Preset {
        label: "Latency 1–5 s, every invocation",
        document: r#"{"isEnabled": true, "failureMode": "latency", "rate": 1, "minLatency": 1000, "maxLatency": 5000}"#,
    },
    Preset {
        label: "Exception, half the invocations",
        document: r#"{"isEnabled": true, "failureMode": "exception", "rate": 0.5, "exceptionMsg": "Injected by chaoslab"}"#,
    },
    Preset {
        label: "Status code 502 without running the handler",
        document: r#"{"isEnabled": true, "failureMode": "statuscode", "rate": 0.5, "statusCode": 502}"#,
    },
    Preset {
        label: "Fill 400 MB of /tmp",
        document: r#"{"isEnabled": true, "failureMode": "diskspace", "rate": 1, "diskSpace": 400}"#,
    },
    Preset {
        label: "Block S3",
        document: r#"{"isEnabled": true, "failureMode": "blacklist", "rate": 1, "blacklist": ["s3.*.amazonaws.com"]}"#,
    },
    Preset {
        label: "Switch faults off",
        document: faults::DISABLED,
    },
];

#[derive(Template, WebTemplate)]
#[template(path = "pages/faults.html")]
struct FaultsPage {
    chrome: Option<Chrome>,
    csrf: String,
    panel: FaultPanel,
    /// What the document form got wrong.
    error: Option<String>,
    /// What the test-invoke form got wrong.
    test_error: Option<String>,
}

/// What the page shows about the parameter.
#[derive(Debug, Clone)]
struct FaultPanel {
    /// The SSM parameter's name.
    parameter: String,
    /// The wrapper's cache, in seconds, as the function's environment says.
    cache_ttl: String,
    /// How the function reads the stored document.
    view: FaultView,
    /// The text in the editor: the stored document, pretty-printed, or what was typed.
    editor: String,
    /// Whether the pipeline runs on AWS (the page then names the Terraform variable).
    on_aws: bool,
    presets: &'static [Preset],
    /// The test event in its editor: the prefilled one, pretty-printed, or what was typed.
    event_editor: String,
    /// The recent test invokes, newest first.
    tests: Vec<TestView>,
}

/// A test invoke as the pages show it.
#[derive(Debug, Clone)]
pub struct TestView {
    /// `succeeded`, `failed` or `timed out`.
    pub outcome: &'static str,
    /// The badge's class for the outcome.
    pub badge: &'static str,
    /// `2,998.6 ms`.
    pub duration: String,
    /// When it ran, pipeline time.
    pub at: String,
    /// The fault injected, described, if any.
    pub fault: Option<String>,
    /// `Sandbox.Timedout: Task timed out after 3.00 seconds`, when it failed.
    pub error: Option<String>,
    /// The function's answer, pretty-printed JSON, when it succeeded.
    pub answer: Option<String>,
    /// The log, one line each.
    pub log: Vec<String>,
}

impl TestView {
    /// The view of a report.
    pub fn of(report: &InvocationReport) -> Self {
        let (outcome, badge) = match report.outcome {
            InvocationOutcome::Succeeded => ("succeeded", "badge--met"),
            InvocationOutcome::Failed => ("failed", "badge--not-met"),
            InvocationOutcome::TimedOut => ("timed out", "badge--not-met"),
        };
        Self {
            outcome,
            badge,
            duration: format!("{:.1} ms", report.duration_ms),
            at: crate::metrics::rfc3339::format(report.at),
            fault: report.fault.as_ref().map(|fault| fault.description.clone()),
            error: report
                .error
                .as_ref()
                .map(|error| format!("{}: {}", error.error_type, error.error_message)),
            answer: report
                .result
                .as_ref()
                .map(|result| serde_json::to_string_pretty(result).unwrap_or_default()),
            log: report.log.clone(),
        }
    }
}

/// The newest test invoke of participant `id`, as the pages show it.
pub fn latest_test(app: &App, id: &str) -> Result<Option<TestView>, WebError> {
    Ok(crate::ops::function::recent_invocations(app, id)?
        .first()
        .map(TestView::of))
}

impl FaultPanel {
    async fn load(app: &App, id: &str) -> Result<Self, WebError> {
        let view = faults::view(app, id).await?;
        let configuration = app.backend.function_configuration(id).await?;
        let environment = &configuration.environment;
        let parameter = environment
            .get(chaoslab_etl::fault::PARAMETER_VARIABLE)
            .cloned()
            .or_else(|| {
                app.backend
                    .stack_names(id)
                    .map(|names| names.parameter_name)
            })
            .unwrap_or_default();
        let cache_ttl = environment
            .get(chaoslab_etl::fault::CACHE_TTL_VARIABLE)
            .cloned()
            .unwrap_or_else(|| "5".to_owned());
        let editor = serde_json::to_string_pretty(&view.document)
            .unwrap_or_else(|_| view.document.to_string());
        let event = crate::ops::function::sample_event(app, id)?;
        let tests = crate::ops::function::recent_invocations(app, id)?
            .iter()
            .map(TestView::of)
            .collect();
        Ok(Self {
            event_editor: serde_json::to_string_pretty(&event).unwrap_or_default(),
            tests,
            parameter,
            cache_ttl,
            editor,
            view,
            on_aws: app.backend.kind() == BackendKind::Aws,
            presets: &PRESETS,
        })
    }
}

/// `GET /faults`: the fault-injection page. Opening it counts as having found the parameter.
pub async fn show_faults(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    let participant = mark_viewed(&state, &session.participant.id, Viewed::FaultInjection)?;
    let session = Session {
        participant,
        csrf: session.csrf,
    };
    Ok(FaultsPage {
        chrome: Some(Chrome::new(&session, None)),
        csrf: session.csrf.clone(),
        panel: FaultPanel::load(&state, &session.participant.id).await?,
        error: None,
        test_error: None,
    }
    .into_response())
}

/// The document form: the JSON text, and where to go back to.
#[derive(Debug, Deserialize)]
pub struct DocumentForm {
    csrf: String,
    document: String,
    return_to: Option<String>,
}

/// `POST /faults`: writes a fault document after checking it as the API does. A mistake comes
/// back on the page, naming the field, with the text as typed; nothing is written.
pub async fn put_fault(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<DocumentForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let id = &session.participant.id;
    // The same check as the API's: a mistake is named, and nothing is written.
    let written = match faults::put(&state, id, form.document.trim(), Actor::Participant).await {
        Ok(_) => Ok(()),
        Err(OpError::Invalid { message, .. }) => Err(message),
        Err(other) => return Err(other.into()),
    };
    match written {
        Ok(()) => {
            Ok(Redirect::to(local_path(form.return_to.as_deref(), "/faults")).into_response())
        }
        Err(message) => {
            let mut panel = FaultPanel::load(&state, id).await?;
            panel.editor = form.document.chars().take(8_192).collect();
            let page = FaultsPage {
                chrome: Some(Chrome::new(&session, None)),
                csrf: session.csrf.clone(),
                panel,
                error: Some(message),
                test_error: None,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// The test-invoke form: the event (empty: the prefilled one), and where to go back to.
#[derive(Debug, Deserialize)]
pub struct TestForm {
    csrf: String,
    event: Option<String>,
    return_to: Option<String>,
}

/// `POST /faults/test`: invokes the function once with the event, synchronously (the page waits
/// for the answer, up to the function's timeout), and goes back to show the result. An event
/// that is not a JSON object comes back on the page; one the function cannot read is passed to
/// it, as Lambda would, and fails inside it.
pub async fn test_invoke(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<TestForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let id = &session.participant.id;
    let typed = form
        .event
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty());
    let event = match typed.map(serde_json::from_str::<serde_json::Value>) {
        None => Ok(None),
        Some(Ok(serde_json::Value::Object(event))) => Ok(Some(event)),
        Some(Ok(_)) => Err(
            "The test event must be a JSON object: an S3 event, {\"Records\": [ … ]}.".to_owned(),
        ),
        Some(Err(error)) => Err(format!("The test event is not valid JSON: {error}.")),
    };
    match event {
        Ok(event) => {
            crate::ops::function::invoke(&state, id, event, Actor::Participant).await?;
            Ok(
                Redirect::to(local_path(form.return_to.as_deref(), "/faults#test-result"))
                    .into_response(),
            )
        }
        Err(message) => {
            let mut panel = FaultPanel::load(&state, id).await?;
            panel.event_editor = typed.unwrap_or_default().chars().take(65_536).collect();
            let page = FaultsPage {
                chrome: Some(Chrome::new(&session, None)),
                csrf: session.csrf.clone(),
                panel,
                error: None,
                test_error: Some(message),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
