//! The architecture picture with live counts, and the table of the participant's resources.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::layout::Chrome;
use super::session::Session;
use crate::backend::StackNames;
use crate::ops::steps::mark_viewed;
use crate::participants::Viewed;
use crate::state::{App, AppState};

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
    pub async fn load(state: &App, participant: &str) -> Result<Self, WebError> {
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

/// `GET /architecture`: the pipeline picture with live counts.
pub async fn show_architecture(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, WebError> {
    let session = Session {
        participant: mark_viewed(&state, &session.participant.id, Viewed::Architecture)?,
        csrf: session.csrf,
    };
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
