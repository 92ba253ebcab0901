//! The dashboard body a server serves: `terraform/dashboard.json` compiled in, or an
//! instructor's own file given with `chaoslab serve --dashboard FILE`.
//!
//! Either is a CloudWatch dashboard body with the same `${name}` placeholders Terraform's
//! `templatefile()` fills in (Terraform takes the same file as its `dashboard_file` variable, so
//! one body drives both backends). It is read once, at start-up, and checked through: every
//! placeholder is a stack name, every widget parses, every metric entry expands, and the two
//! measures the lab reads from it are there ([`MEASURES`]). A body that fails any check is
//! refused before the server listens, with a message naming the file, the widget and the entry.
//!
//! The checked body is also kept rendered once with a marker in place of each stack name
//! (`@csv_queue_name@`), [`DashboardDefinition::generic`]: the SLO and the instructor's overview
//! ask for a measure many times a second, and only the names differ from stack to stack.

use std::path::{Path, PathBuf};

use super::{Dashboard, DashboardError, DashboardNames, TEMPLATE};
use crate::measures::{Measure, PERCENT_IN_ERROR, PERCENT_IN_FLIGHT};

/// The measures the lab reads from the dashboard, by their expressions' labels: the SLO and the
/// instructor's overview compute "Percent in error"; the lab's steps send participants to both.
pub const MEASURES: [&str; 2] = [PERCENT_IN_ERROR, PERCENT_IN_FLIGHT];

/// What surrounds a stack name's placeholder in [`DashboardDefinition::generic`]:
/// `@csv_queue_name@`.
pub const MARKER: &str = "@";

/// Where the compiled-in body comes from, for messages.
const COMPILED_IN: &str = "terraform/dashboard.json (compiled in)";

/// A dashboard body, checked, with where it came from.
#[derive(Debug, Clone)]
pub struct DashboardDefinition {
    template: String,
    origin: String,
    generic: Dashboard,
}

impl DashboardDefinition {
    /// The lab's own dashboard, `terraform/dashboard.json` as compiled into the server.
    pub fn compiled_in() -> Result<Self, DefinitionError> {
        Self::from_template(TEMPLATE, COMPILED_IN)
    }

    /// The dashboard body in the file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, DefinitionError> {
        let template = std::fs::read_to_string(path).map_err(|source| DefinitionError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_template(template, path.display().to_string())
    }

    /// The dashboard body `template`, read from `origin` (a file's path, for messages).
    pub fn from_template(
        template: impl Into<String>,
        origin: impl Into<String>,
    ) -> Result<Self, DefinitionError> {
        let template = template.into();
        let origin = origin.into();
        let generic = Dashboard::from_template(&template, &marked_names()).map_err(|source| {
            DefinitionError::Invalid {
                origin: origin.clone(),
                source,
            }
        })?;
        for label in MEASURES {
            let measure =
                Measure::find(&generic, label).ok_or_else(|| DefinitionError::MissingMeasure {
                    origin: origin.clone(),
                    label,
                })?;
            if label == PERCENT_IN_ERROR {
                check_error_inputs(&measure, &origin)?;
            }
        }
        Ok(Self {
            template,
            origin,
            generic,
        })
    }

    /// The body, with its placeholders.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// Where the body was read from: a file's path, or that it is the compiled-in one.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The dashboard for one stack.
    pub fn for_stack(&self, names: &DashboardNames) -> Result<Dashboard, DashboardError> {
        Dashboard::from_template(&self.template, names)
    }

    /// The dashboard with [`marker`]s in place of the stack names.
    pub fn generic(&self) -> &Dashboard {
        &self.generic
    }
}

/// The marker that stands for the placeholder `${name}` in [`DashboardDefinition::generic`].
pub fn marker(name: &str) -> String {
    format!("{MARKER}{name}{MARKER}")
}

/// The placeholder's name if `value` is a marker, e.g. `csv_queue_name` for `@csv_queue_name@`.
pub fn marked_name(value: &str) -> Option<&str> {
    value
        .strip_prefix(MARKER)
        .and_then(|rest| rest.strip_suffix(MARKER))
}

fn marked_names() -> DashboardNames {
    DashboardNames {
        region: marker("region"),
        function_name: marker("function_name"),
        csv_queue_name: marker("csv_queue_name"),
        dlq_name: marker("dlq_name"),
        topic_name: marker("topic_name"),
    }
}

/// "Percent in error" must read a metric of the dead-letter queue and one of the CSV queue: the
/// SLO counts the objects dead-lettered and processed from them.
fn check_error_inputs(measure: &Measure, origin: &str) -> Result<(), DefinitionError> {
    for placeholder in ["csv_queue_name", "dlq_name"] {
        let reads = measure
            .queries
            .iter()
            .filter_map(|query| query.metric_stat.as_ref())
            .flat_map(|stat| &stat.metric.dimensions)
            .any(|dimension| marked_name(&dimension.value) == Some(placeholder));
        if !reads {
            return Err(DefinitionError::MeasureInput {
                origin: origin.to_owned(),
                label: PERCENT_IN_ERROR,
                placeholder,
            });
        }
    }
    Ok(())
}

/// Why a dashboard body was refused.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// The file could not be read.
    #[error(
        "cannot read the dashboard file {}: {source}; check the path given to --dashboard \
         (or CHAOSLAB_DASHBOARD)",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The body is not a dashboard the server can serve.
    #[error("the dashboard {origin} is invalid: {source}")]
    Invalid {
        /// The file, or the compiled-in body.
        origin: String,
        /// What is wrong, naming the widget and the entry.
        source: DashboardError,
    },
    /// A measure the lab reads is missing.
    #[error(
        "the dashboard {origin} has no metric-math expression labelled {label:?}; the lab reads \
         that measure from the dashboard, so add it to a metric widget as \
         [{{\"expression\": \"…\", \"label\": \"{label}\"}}] (terraform/dashboard.json has one)"
    )]
    MissingMeasure {
        /// The file, or the compiled-in body.
        origin: String,
        /// The measure's label.
        label: &'static str,
    },
    /// A measure does not read a metric the lab's counts come from.
    #[error(
        "the dashboard {origin}'s {label:?} reads no metric of ${{{placeholder}}}; the SLO counts \
         the objects processed and dead-lettered from the csv queue's and the dead-letter queue's \
         metrics, so its expression must use one metric of each (terraform/dashboard.json shows how)"
    )]
    MeasureInput {
        /// The file, or the compiled-in body.
        origin: String,
        /// The measure's label.
        label: &'static str,
        /// The placeholder of the queue it must read.
        placeholder: &'static str,
    },
}
