//! The labs and their steps: read once from `templates/lab/labN/*.md` (TOML front matter, then
//! Markdown), with the action buttons and the automatic check of each, and each lab's title and
//! summary from `templates/lab/labN/lab.toml`.
//!
//! A participant sees every lab and moves from one to the next; step ids are unique across the
//! labs, so progress is kept per step whatever lab it belongs to.
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
    /// Open the fault-injection page.
    OpenFaultInjection,
    /// Run a test invoke with the prefilled event.
    TestInvoke,
    /// Write one of the step's fault documents (`fault_documents` in its front matter).
    PutFault,
    /// Open the experiments page.
    OpenExperiments,
    /// Open the dead-letter page.
    OpenDeadLetters,
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
    /// The participant opened the fault-injection page.
    FaultInjectionReviewed,
    /// A test invoke succeeded.
    TestInvokeSucceeded,
    /// Test invokes under an injected latency both succeeded and timed out.
    LatencyTimeoutsObserved,
    /// A test invoke failed on a call the denylist intercepted.
    InterceptedCallObserved,
    /// The fault is off and the latest test invoke succeeded with none injected.
    RecoveredAfterFault,
    /// A run of a hypothesis with an empty method completed with the hypothesis holding.
    HypothesisHeld,
    /// A run with a method deviated, and its rollbacks were played.
    ExperimentDeviated,
    /// The function's timeout is above the lab 3 experiment's largest latency (4 s).
    TimeoutAboveLatency,
    /// The lab 3 hypothesis's three probes are within their tolerances now.
    SteadyStateBack,
    /// A run with a method completed with the hypothesis holding before and after it, with the
    /// timeout above 4 s.
    ExperimentHeld,
    /// A run whose method blocks hosts (a denylist) deviated.
    DenylistExperimentDeviated,
    /// The participant opened the dead-letter page while it listed an intercepted call.
    InterceptedDeadLettersSeen,
    /// After the participant saw intercepted dead letters, none is left and the fault is off.
    InterceptedRedriven,
    /// A run whose method answers a status code (a swallowed failure) deviated.
    HiddenFaultDeviated,
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

/// One step of a lab.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The lab it belongs to, from 1.
    pub lab: usize,
    /// Position in its lab, from 1.
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
    /// Fault documents the `put_fault` action offers, as JSON text.
    pub fault_documents: Vec<String>,
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
    #[serde(default)]
    fault_documents: Vec<String>,
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

/// The lab 2 step files, in order.
const LAB2_FILES: [(&str, &str); 5] = [
    (
        "01-find-the-fault-wrapper.md",
        include_str!("../../../templates/lab/lab2/01-find-the-fault-wrapper.md"),
    ),
    (
        "02-test-the-function.md",
        include_str!("../../../templates/lab/lab2/02-test-the-function.md"),
    ),
    (
        "03-inject-latency.md",
        include_str!("../../../templates/lab/lab2/03-inject-latency.md"),
    ),
    (
        "04-block-a-dependency.md",
        include_str!("../../../templates/lab/lab2/04-block-a-dependency.md"),
    ),
    (
        "05-switch-the-fault-off.md",
        include_str!("../../../templates/lab/lab2/05-switch-the-fault-off.md"),
    ),
];

/// The lab 3 step files, in order.
const LAB3_FILES: [(&str, &str); 5] = [
    (
        "01-state-the-hypothesis.md",
        include_str!("../../../templates/lab/lab3/01-state-the-hypothesis.md"),
    ),
    (
        "02-run-the-experiment.md",
        include_str!("../../../templates/lab/lab3/02-run-the-experiment.md"),
    ),
    (
        "03-find-the-cause.md",
        include_str!("../../../templates/lab/lab3/03-find-the-cause.md"),
    ),
    (
        "04-wait-for-the-steady-state.md",
        include_str!("../../../templates/lab/lab3/04-wait-for-the-steady-state.md"),
    ),
    (
        "05-run-it-again.md",
        include_str!("../../../templates/lab/lab3/05-run-it-again.md"),
    ),
];

/// The lab 4 step files, in order.
const LAB4_FILES: [(&str, &str); 4] = [
    (
        "01-cut-off-s3.md",
        include_str!("../../../templates/lab/lab4/01-cut-off-s3.md"),
    ),
    (
        "02-read-the-dead-letters.md",
        include_str!("../../../templates/lab/lab4/02-read-the-dead-letters.md"),
    ),
    (
        "03-redrive.md",
        include_str!("../../../templates/lab/lab4/03-redrive.md"),
    ),
    (
        "04-a-fault-that-hides.md",
        include_str!("../../../templates/lab/lab4/04-a-fault-that-hides.md"),
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

/// Parses one step file: step `number` of lab `lab`.
pub fn parse_step(lab: usize, number: usize, file: &str, text: &str) -> Result<Step, StepError> {
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
        lab,
        number,
        id: front.id,
        title: front.title,
        summary: front.summary,
        actions: front.actions,
        check: front.check,
        check_label: front.check_label,
        hint: front.hint,
        fault_documents: front.fault_documents,
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

/// One lab: a title, a summary and its steps in order.
#[derive(Debug, Clone)]
pub struct Lab {
    /// Position, from 1: lab 1, lab 2, …
    pub number: usize,
    /// Heading, e.g. "Fault injection".
    pub title: String,
    /// One or two sentences for the list of labs.
    pub summary: String,
    /// Its steps, in order.
    pub steps: Vec<Step>,
}

impl Lab {
    /// Its first step, where the lab starts.
    pub fn first_step(&self) -> Option<&Step> {
        self.steps.first()
    }

    /// How many of its steps a participant has done.
    pub fn done_by(&self, completed: &std::collections::BTreeMap<String, i64>) -> usize {
        self.steps
            .iter()
            .filter(|step| completed.contains_key(&step.id))
            .count()
    }
}

/// `lab.toml`: a lab's title and summary.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabFile {
    title: String,
    summary: String,
}

/// A lab's files, compiled in: its `lab.toml` and its step files in order.
struct LabSource {
    about: &'static str,
    steps: &'static [(&'static str, &'static str)],
}

/// Every lab's files, in order.
const LAB_SOURCES: [LabSource; 4] = [
    LabSource {
        about: include_str!("../../../templates/lab/lab1/lab.toml"),
        steps: &LAB1_FILES,
    },
    LabSource {
        about: include_str!("../../../templates/lab/lab2/lab.toml"),
        steps: &LAB2_FILES,
    },
    LabSource {
        about: include_str!("../../../templates/lab/lab3/lab.toml"),
        steps: &LAB3_FILES,
    },
    LabSource {
        about: include_str!("../../../templates/lab/lab4/lab.toml"),
        steps: &LAB4_FILES,
    },
];

/// Reads one lab from its files.
fn parse_lab(number: usize, source: &LabSource) -> Result<Lab, StepError> {
    let about: LabFile = toml::from_str(source.about).map_err(|source| StepError::FrontMatter {
        file: format!("lab{number}/lab.toml"),
        source,
    })?;
    let steps = source
        .steps
        .iter()
        .enumerate()
        .map(|(index, (file, text))| parse_step(number, index + 1, file, text))
        .collect::<Result<_, _>>()?;
    Ok(Lab {
        number,
        title: about.title,
        summary: about.summary,
        steps,
    })
}

/// The labs, parsed once. A file that does not parse is a build-time mistake caught by the
/// tests; at run time its lab is left out with an error in the log.
pub static LABS: LazyLock<Vec<Lab>> = LazyLock::new(|| {
    LAB_SOURCES
        .iter()
        .enumerate()
        .filter_map(|(index, source)| match parse_lab(index + 1, source) {
            Ok(lab) => Some(lab),
            Err(error) => {
                tracing::error!(%error, "a lab could not be read");
                None
            }
        })
        .collect()
});

/// A lab by number.
pub fn lab(number: usize) -> Option<&'static Lab> {
    LABS.iter().find(|lab| lab.number == number)
}

/// Every step of every lab, in order.
pub fn all_steps() -> impl Iterator<Item = &'static Step> {
    LABS.iter().flat_map(|lab| lab.steps.iter())
}

/// A step of any lab by id.
pub fn step(id: &str) -> Option<&'static Step> {
    all_steps().find(|step| step.id == id)
}

/// The step after `step`: the next in its lab, else the first of the next lab.
pub fn next_step(step: &Step) -> Option<&'static Step> {
    let lab = lab(step.lab)?;
    lab.steps
        .get(step.number)
        .or_else(|| self::lab(step.lab + 1).and_then(Lab::first_step))
}

/// The step before `step`: the previous in its lab, else the last of the previous lab.
pub fn previous_step(step: &Step) -> Option<&'static Step> {
    let lab = lab(step.lab)?;
    match step.number {
        0 | 1 => step
            .lab
            .checked_sub(1)
            .and_then(self::lab)
            .and_then(|previous| previous.steps.last()),
        number => lab.steps.get(number - 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lab_parses_in_order_with_ids_unique_across_the_labs() {
        let labs: Vec<Lab> = LAB_SOURCES
            .iter()
            .enumerate()
            .map(|(index, source)| {
                parse_lab(index + 1, source).unwrap_or_else(|error| panic!("{error}"))
            })
            .collect();
        assert_eq!(labs.len(), 4);
        assert_eq!(LABS.len(), 4);
        assert_eq!(labs[0].steps.len(), 7);
        assert_eq!(labs[1].steps.len(), 5);
        assert_eq!(labs[2].steps.len(), 5);
        assert_eq!(labs[3].steps.len(), 4);
        let ids: std::collections::BTreeSet<&str> = labs
            .iter()
            .flat_map(|lab| lab.steps.iter().map(|step| step.id.as_str()))
            .collect();
        assert_eq!(ids.len(), 21, "step ids must be unique across the labs");
        let lab1 = &labs[0].steps;
        assert_eq!(lab1[0].check, Check::ArchitectureViewed);
        assert_eq!(lab1[6].check, Check::SloHolds);
        assert!(lab1[0].body.contains(&BodyPart::Architecture));
        assert!(lab1[1].body.contains(&BodyPart::StackNames));
        for lab in &labs {
            for (index, step) in lab.steps.iter().enumerate() {
                assert_eq!((step.lab, step.number), (lab.number, index + 1));
            }
        }
    }

    #[test]
    fn a_step_that_writes_faults_offers_documents_the_function_accepts() {
        for step in all_steps() {
            let offers = step.actions.contains(&Action::PutFault);
            assert_eq!(
                offers,
                !step.fault_documents.is_empty(),
                "{}: put_fault and fault_documents go together",
                step.id
            );
            for document in &step.fault_documents {
                if let Err(error) = crate::backend::FaultParameter::checked(document) {
                    panic!("{}: {document}: {error}", step.id);
                }
            }
        }
    }

    #[test]
    fn steps_lead_from_one_lab_into_the_next() {
        let last_of_lab1 = LABS[0].steps.last().unwrap_or_else(|| panic!("no steps"));
        let first_of_lab2 = LABS[1].first_step().unwrap_or_else(|| panic!("no steps"));
        assert_eq!(
            next_step(last_of_lab1).map(|step| &step.id),
            Some(&first_of_lab2.id)
        );
        assert_eq!(
            previous_step(first_of_lab2).map(|step| &step.id),
            Some(&last_of_lab1.id)
        );
        assert!(previous_step(&LABS[0].steps[0]).is_none());
        assert!(next_step(LABS[3].steps.last().unwrap_or_else(|| panic!())).is_none());
        assert_eq!(step("inject-latency").map(|step| step.lab), Some(2));
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
        let error = parse_step(1, 1, "x.md", "+++\nid = 1\n+++\nbody")
            .err()
            .map(|error| error.to_string());
        assert!(error.is_some_and(|message| message.starts_with("x.md: invalid front matter")));
        assert!(matches!(
            parse_step(1, 1, "y.md", "no front matter"),
            Err(StepError::NoFrontMatter { .. })
        ));
    }
}
