//! The lab's steps: read once from `templates/lab/lab1/*.md` (TOML front matter, then Markdown),
//! with the action buttons and the automatic check of each.
//!
//! - [`checks`]: what each step's check asks for, judged from facts about the participant.

pub mod checks;

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// A button a step offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Open the architecture picture.
    OpenArchitecture,
    /// Show the stack's resource names.
    ShowStack,
    /// Open the dashboard.
    OpenDashboard,
    /// Open the function inspector.
    OpenInspector,
    /// Start traffic.
    StartTraffic,
    /// Stop traffic.
    StopTraffic,
    /// State the SLO.
    SetSlo,
}

/// What marks a step done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The participant opened the architecture picture.
    ArchitectureViewed,
    /// The participant's stack exists.
    StackReady,
    /// The participant opened the dashboard.
    DashboardViewed,
    /// The participant viewed the function's configuration and code.
    FunctionReviewed,
    /// Publisher and subscriber are both running.
    TrafficStarted,
    /// Traffic has run for five minutes of pipeline time and the DLQ has received a message.
    SteadyStateObserved,
    /// The participant has stated an SLO and it holds over its window.
    SloHolds,
}

impl Check {
    /// Whether the check reads the pipeline's traffic, so that resetting the stack undoes it.
    pub fn depends_on_traffic(self) -> bool {
        matches!(
            self,
            Self::TrafficStarted | Self::SteadyStateObserved | Self::SloHolds
        )
    }
}

/// One step of the lab.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Position, from 1.
    pub number: usize,
    /// Kebab-case id, used in URLs and progress.
    pub id: String,
    /// Heading.
    pub title: String,
    /// One sentence for the step list.
    pub summary: String,
    /// Buttons.
    pub actions: Vec<Action>,
    /// What marks it done.
    pub check: Check,
    /// What "done" means.
    pub check_label: String,
    /// What to do while the check fails.
    pub hint: String,
    /// The body, rendered to HTML, split at the `{{…}}` markers.
    #[serde(skip)]
    pub body: Vec<BodyPart>,
}

/// A piece of a step's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyPart {
    /// Rendered Markdown from the project's own step file.
    Html(String),
    /// Where the architecture picture goes.
    Architecture,
    /// Where the table of the participant's resource names goes.
    StackNames,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    title: String,
    summary: String,
    actions: Vec<Action>,
    check: Check,
    check_label: String,
    hint: String,
}

/// The lab 1 step files, in order.
const LAB1_FILES: [(&str, &str); 7] = [
    (
        "01-prepare.md",
        include_str!("../../../templates/lab/lab1/01-prepare.md"),
    ),
    (
        "02-create-the-pipeline.md",
        include_str!("../../../templates/lab/lab1/02-create-the-pipeline.md"),
    ),
    (
        "03-open-the-dashboard.md",
        include_str!("../../../templates/lab/lab1/03-open-the-dashboard.md"),
    ),
    (
        "04-review-the-function.md",
        include_str!("../../../templates/lab/lab1/04-review-the-function.md"),
    ),
    (
        "05-start-traffic.md",
        include_str!("../../../templates/lab/lab1/05-start-traffic.md"),
    ),
    (
        "06-observe-the-steady-state.md",
        include_str!("../../../templates/lab/lab1/06-observe-the-steady-state.md"),
    ),
    (
        "07-define-the-slo.md",
        include_str!("../../../templates/lab/lab1/07-define-the-slo.md"),
    ),
];

/// Why a step file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The file has no `+++` front matter.
    #[error("{file}: the step file must start with TOML front matter between +++ lines")]
    NoFrontMatter {
        /// The file.
        file: String,
    },
    /// The front matter is invalid.
    #[error("{file}: invalid front matter: {source}")]
    FrontMatter {
        /// The file.
        file: String,
        /// The TOML error.
        source: toml::de::Error,
    },
}

/// Parses one step file.
pub fn parse_step(number: usize, file: &str, text: &str) -> Result<Step, StepError> {
    let no_front_matter = || StepError::NoFrontMatter {
        file: file.to_owned(),
    };
    let rest = text.strip_prefix("+++\n").ok_or_else(no_front_matter)?;
    let (front, body) = rest.split_once("\n+++\n").ok_or_else(no_front_matter)?;
    let front: FrontMatter = toml::from_str(front).map_err(|source| StepError::FrontMatter {
        file: file.to_owned(),
        source,
    })?;
    Ok(Step {
        number,
        id: front.id,
        title: front.title,
        summary: front.summary,
        actions: front.actions,
        check: front.check,
        check_label: front.check_label,
        hint: front.hint,
        body: render_body(body),
    })
}

/// Renders a step's Markdown, cut at the marker lines.
fn render_body(markdown: &str) -> Vec<BodyPart> {
    let mut parts = Vec::new();
    let mut chunk = String::new();
    let flush = |chunk: &mut String, parts: &mut Vec<BodyPart>| {
        if !chunk.trim().is_empty() {
            parts.push(BodyPart::Html(markdown_to_html(chunk)));
        }
        chunk.clear();
    };
    for line in markdown.lines() {
        let marker = match line.trim_end() {
            "{{architecture}}" => Some(BodyPart::Architecture),
            "{{stack_names}}" => Some(BodyPart::StackNames),
            _ => None,
        };
        match marker {
            Some(marker) => {
                flush(&mut chunk, &mut parts);
                parts.push(marker);
            }
            None => {
                chunk.push_str(line);
                chunk.push('\n');
            }
        }
    }
    flush(&mut chunk, &mut parts);
    parts
}

/// Markdown to HTML with tables; raw HTML in the source is escaped, not passed through.
pub fn markdown_to_html(markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

/// Lab 1's steps, parsed once. A step file that does not parse is a build-time mistake caught by
/// the tests; at run time it is left out with an error in the log.
pub static LAB1: LazyLock<Vec<Step>> = LazyLock::new(|| {
    LAB1_FILES
        .iter()
        .enumerate()
        .filter_map(
            |(index, (file, text))| match parse_step(index + 1, file, text) {
                Ok(step) => Some(step),
                Err(error) => {
                    tracing::error!(%error, "a lab step could not be read");
                    None
                }
            },
        )
        .collect()
});

/// A step of lab 1 by id.
pub fn step(id: &str) -> Option<&'static Step> {
    LAB1.iter().find(|step| step.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lab1_step_parses_in_order_with_unique_ids() {
        let steps: Vec<Step> = LAB1_FILES
            .iter()
            .enumerate()
            .map(|(index, (file, text))| {
                parse_step(index + 1, file, text).unwrap_or_else(|error| panic!("{error}"))
            })
            .collect();
        assert_eq!(steps.len(), 7);
        assert_eq!(LAB1.len(), 7);
        let ids: std::collections::BTreeSet<&str> =
            steps.iter().map(|step| step.id.as_str()).collect();
        assert_eq!(ids.len(), 7);
        assert_eq!(steps[0].check, Check::ArchitectureViewed);
        assert_eq!(steps[6].check, Check::SloHolds);
        assert!(steps[0].body.contains(&BodyPart::Architecture));
        assert!(steps[1].body.contains(&BodyPart::StackNames));
    }

    #[test]
    fn raw_html_in_markdown_is_escaped() {
        let html = markdown_to_html("Hello <script>alert(1)</script> **bold**");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<strong>bold</strong>"));
    }

    #[test]
    fn front_matter_errors_name_the_file() {
        let error = parse_step(1, "x.md", "+++\nid = 1\n+++\nbody")
            .err()
            .map(|error| error.to_string());
        assert!(error.is_some_and(|message| message.starts_with("x.md: invalid front matter")));
        assert!(matches!(
            parse_step(1, "y.md", "no front matter"),
            Err(StepError::NoFrontMatter { .. })
        ));
    }
}
