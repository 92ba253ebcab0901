//! The lab's dashboard, defined once in `terraform/dashboard.json` and read here.
//!
//! Terraform publishes that file as the stack's CloudWatch dashboard; the server reads the same
//! text, fills in the same placeholders and runs every widget's queries through the backend's
//! GetMetricData, so the CloudWatch console and the lab pages show the same numbers. An
//! instructor may give both another body of the same form (`chaoslab serve --dashboard FILE`,
//! Terraform's `dashboard_file`).
//!
//! - [`definition`] holds the body the server serves, checked at start-up;
//! - [`template`] fills in the `${name}` placeholders, as Terraform's `templatefile()` does;
//! - [`widget`] turns each `"type": "metric"` widget into a typed [`Widget`], and each
//!   `"type": "text"` widget into a [`TextWidget`];
//! - [`metric_array`] expands CloudWatch's metric-array shorthand into GetMetricData queries;
//! - [`data`] runs the queries through a [`MetricSource`] and shapes the results for charts;
//! - [`unit`] decides each series' [`Unit`] from its query.
//!
//! Metric widgets are queried; text widgets are kept as Markdown for the dashboard page. Log,
//! alarm and explorer widgets have nothing the server can query or show, so they are skipped
//! (the CloudWatch console still shows them).

pub mod data;
pub mod definition;
pub mod metric_array;
pub mod template;
pub mod unit;
pub mod widget;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use data::{DashboardData, MetricSource, QueryError, SeriesData, TimeRange, WidgetData};
pub use definition::{DashboardDefinition, DefinitionError};
pub use metric_array::MetricEntryProblem;
pub use template::render;
pub use unit::Unit;
pub use widget::{Position, TextWidget, View, Widget};

use widget::WidgetIds;

/// The dashboard definition, `terraform/dashboard.json`, compiled into the server.
pub const TEMPLATE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../terraform/dashboard.json"
));

/// A stack's resource names: the values of the template's placeholders.
///
/// The field names are those of a stack in `terraform output -json`, so one stack's output
/// object deserialises into this directly (its other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardNames {
    /// `${region}`: the region of the stack's resources, e.g. `us-east-1`.
    pub region: String,
    /// `${function_name}`: the ETL function, the `FunctionName` dimension.
    pub function_name: String,
    /// `${csv_queue_name}`: the queue the subscriber reads, a `QueueName` dimension.
    pub csv_queue_name: String,
    /// `${dlq_name}`: the dead-letter queue, a `QueueName` dimension.
    pub dlq_name: String,
    /// `${topic_name}`: the topic between the bucket and the csv queue, the `TopicName` dimension.
    pub topic_name: String,
}

impl DashboardNames {
    /// Every placeholder the template may use, without `${` and `}`.
    pub const PLACEHOLDERS: [&'static str; 5] = [
        "region",
        "function_name",
        "csv_queue_name",
        "dlq_name",
        "topic_name",
    ];

    /// The value of the placeholder `${name}`, or `None` for a name the template may not use.
    pub fn value_of(&self, name: &str) -> Option<&str> {
        match name {
            "region" => Some(&self.region),
            "function_name" => Some(&self.function_name),
            "csv_queue_name" => Some(&self.csv_queue_name),
            "dlq_name" => Some(&self.dlq_name),
            "topic_name" => Some(&self.topic_name),
            _ => None,
        }
    }
}

/// One stack's dashboard: its metric widgets, in the template's order, with their queries
/// expanded and naming the stack's own resources, and its text widgets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// The metric widgets.
    pub widgets: Vec<Widget>,
    /// The text widgets, in the template's order.
    pub text_widgets: Vec<TextWidget>,
}

impl Dashboard {
    /// The compiled-in dashboard ([`TEMPLATE`]) for one stack. A server serves its
    /// [`DashboardDefinition`] instead, which may come from `--dashboard FILE`.
    pub fn for_stack(names: &DashboardNames) -> Result<Self, DashboardError> {
        Self::from_template(TEMPLATE, names)
    }

    /// The dashboard defined by `template`, a CloudWatch dashboard body with placeholders, for
    /// one stack.
    pub fn from_template(template: &str, names: &DashboardNames) -> Result<Self, DashboardError> {
        let body: Value = serde_json::from_str(&render(template, names)?)
            .map_err(|source| DashboardError::InvalidJson { source })?;
        let widgets = body
            .get("widgets")
            .and_then(Value::as_array)
            .ok_or(DashboardError::NoWidgets)?;
        // The titles as the body writes them, placeholders included, for the widgets' ids: a
        // body whose placeholders all sit in strings is JSON before it is filled in too.
        let written: Option<Value> = serde_json::from_str(template).ok();
        let mut ids = WidgetIds::default();
        let mut parsed = Vec::with_capacity(widgets.len());
        let mut text_widgets = Vec::new();
        for (index, widget) in widgets.iter().enumerate() {
            let title = written
                .as_ref()
                .and_then(|written| written.pointer(&format!("/widgets/{index}")))
                .unwrap_or(widget)
                .pointer("/properties/title")
                .and_then(Value::as_str);
            match widget.get("type").and_then(Value::as_str) {
                Some("text") => {
                    let id = ids.assign(index, None);
                    text_widgets.push(TextWidget::from_json(index, id, widget)?);
                }
                Some("metric") => {
                    let id = ids.assign(index, title);
                    parsed.push(Widget::from_json(index, id, widget)?);
                }
                // Log, alarm and explorer widgets: nothing the server can query or show.
                Some(_) => {}
                None => {
                    let rendered_title =
                        widget.pointer("/properties/title").and_then(Value::as_str);
                    return Err(DashboardError::InvalidWidget {
                        widget: rendered_title.map_or_else(|| format!("#{index}"), str::to_owned),
                        reason: "has no \"type\"".to_owned(),
                    });
                }
            }
        }
        Ok(Self {
            widgets: parsed,
            text_widgets,
        })
    }

    /// The metric widget whose id is `id`, if any.
    pub fn widget_by_id(&self, id: &str) -> Option<&Widget> {
        self.widgets.iter().find(|widget| widget.id == id)
    }

    /// The widget titled `title`, if any.
    pub fn widget(&self, title: &str) -> Option<&Widget> {
        self.widgets.iter().find(|widget| widget.title == title)
    }
}

/// Why a dashboard template could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The template uses a placeholder that [`DashboardNames`] has no value for.
    #[error(
        "the dashboard template uses ${{{name}}} on line {line}, which is not a stack name; \
         use one of ${{region}}, ${{function_name}}, ${{csv_queue_name}}, ${{dlq_name}}, \
         ${{topic_name}}, or write $${{...}} for a literal ${{...}}"
    )]
    UnknownPlaceholder {
        /// The text between `${` and `}`.
        name: String,
        /// The 1-based line of the template where it appears.
        line: usize,
    },
    /// A `${` has no closing `}`.
    #[error(
        "the dashboard template opens a placeholder with ${{ on line {line} but never closes it with }}"
    )]
    UnterminatedPlaceholder {
        /// The 1-based line of the template where it appears.
        line: usize,
    },
    /// The template uses a Terraform template directive (`%{ if … }`), which the server does not
    /// evaluate.
    #[error(
        "the dashboard template uses a Terraform directive %{{ on line {line}; the server only \
         fills in placeholders, so remove it or write %%{{ for a literal %{{"
    )]
    UnsupportedDirective {
        /// The 1-based line of the template where it appears.
        line: usize,
    },
    /// The filled-in template is not JSON, e.g. a placeholder outside a string.
    #[error(
        "the dashboard template is not valid JSON once its placeholders are filled in: {source}"
    )]
    InvalidJson {
        /// The parser's error, with line and column.
        source: serde_json::Error,
    },
    /// The template has no top-level `widgets` array.
    #[error("the dashboard template has no top-level \"widgets\" array")]
    NoWidgets,
    /// A metric widget is malformed or uses a view the server cannot draw.
    #[error("dashboard widget {widget:?}: {reason}")]
    InvalidWidget {
        /// The widget's title, or `#<index>` when it has none.
        widget: String,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// One entry of a widget's `metrics` array is malformed.
    #[error("dashboard widget {widget:?}, metrics[{entry}]: {problem}")]
    MetricEntry {
        /// The widget's title, or `#<index>` when it has none.
        widget: String,
        /// The 0-based index of the entry in the widget's `metrics` array.
        entry: usize,
        /// What is wrong with the entry.
        problem: MetricEntryProblem,
    },
}
