//! One synchronous invocation of the function, as the Lambda console's Test button makes it
//! (`Invoke` with `InvocationType=RequestResponse` and `LogType=Tail`), and what it answered: the
//! same report on both backends.
//!
//! Lambda's own shapes, kept here:
//! - the log starts with `START RequestId: <id> Version: $LATEST`, ends with `END RequestId: <id>`
//!   and `REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB`
//!   (fields separated by tabs; a timed-out invocation adds `Status: timeout`);
//! - a timeout is the error `Sandbox.Timedout`, "Task timed out after 3.00 seconds";
//! - a function error is `{"errorType", "errorMessage"}`.
//!
//! The server keeps each participant's recent test invocations in memory ([`RecentInvocations`]),
//! for the lab's checks and pages; a restart forgets them.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::metrics::{EpochMillis, rfc3339};

/// The error type Lambda reports for an invocation that ran past its timeout.
pub const TIMEOUT_ERROR_TYPE: &str = "Sandbox.Timedout";
/// How many test invocations are kept per participant.
pub const RECENT_INVOCATIONS: usize = 20;

/// How a test invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvocationOutcome {
    /// The function returned a result.
    Succeeded,
    /// The function returned an error (a fault, the handler, or Lambda refusing to run it).
    Failed,
    /// The function ran past its timeout.
    TimedOut,
}

impl InvocationOutcome {
    /// The outcome as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
        }
    }
}

/// A function error, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FunctionError {
    /// Lambda's `errorType`, e.g. `InjectedException`, `NoSuchKey`, `Sandbox.Timedout`.
    pub error_type: String,
    /// Lambda's `errorMessage`.
    pub error_message: String,
}

/// The fault the function's wrapper injected during the invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FiredFault {
    /// The failure mode: `latency`, `exception`, `statuscode`, `diskspace` or `denylist`.
    pub mode: String,
    /// What it did, e.g. `latency 3412 ms`.
    pub description: String,
}

impl FiredFault {
    /// The fault a wrapper's description names, e.g. `latency 3412 ms`: the mode is its first
    /// word.
    pub fn from_description(description: &str) -> Self {
        let description = description.trim();
        Self {
            mode: description
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned(),
            description: description.to_owned(),
        }
    }
}

/// What one test invocation of the function answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvocationReport {
    /// The invocation's request id.
    pub request_id: String,
    /// When it started, in pipeline time (RFC 3339).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: EpochMillis,
    /// How it ended.
    pub outcome: InvocationOutcome,
    /// How long it ran, in milliseconds of pipeline time (on AWS, Lambda's `Duration`).
    pub duration_ms: f64,
    /// The function's result on success: the handler's report (with `injectedFault` when a fault
    /// fired), or `{"statusCode": n}` from the `statuscode` fault.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// The function's error, when it failed or timed out.
    pub error: Option<FunctionError>,
    /// The fault that fired, if any.
    pub fault: Option<FiredFault>,
    /// The invocation's log, as Lambda tails it: `START`, the function's lines, `END`, `REPORT`.
    pub log: Vec<String>,
}

impl InvocationReport {
    /// One line for the event log, e.g. `timed_out after 3000 ms (latency 3412 ms)`.
    pub fn summary(&self) -> String {
        let mut line = format!("{} after {:.0} ms", self.outcome.as_str(), self.duration_ms);
        if let Some(fault) = &self.fault {
            line.push_str(&format!(" ({})", fault.description));
        }
        if self.outcome == InvocationOutcome::Failed
            && let Some(error) = &self.error
        {
            line.push_str(&format!(": {}: {}", error.error_type, error.error_message));
        }
        line
    }
}

/// Lambda's first log line of an invocation.
pub fn start_line(request_id: &str) -> String {
    format!("START RequestId: {request_id} Version: $LATEST")
}

/// Lambda's last two log lines of an invocation: `END` and `REPORT`. Lambda bills whole
/// milliseconds, rounded up.
pub fn end_lines(
    request_id: &str,
    duration_ms: f64,
    memory_mb: u32,
    timed_out: bool,
) -> [String; 2] {
    let billed = duration_ms.max(1.0).ceil();
    let mut report = format!(
        "REPORT RequestId: {request_id}\tDuration: {duration_ms:.2} ms\tBilled Duration: {billed:.0} ms\tMemory Size: {memory_mb} MB"
    );
    if timed_out {
        report.push_str("\tStatus: timeout");
    }
    [format!("END RequestId: {request_id}"), report]
}

/// The `Duration` of a `REPORT` line, in milliseconds.
pub fn reported_duration(line: &str) -> Option<f64> {
    let line = line.trim();
    if !line.starts_with("REPORT ") {
        return None;
    }
    line.split('\t')
        .find_map(|field| field.trim().strip_prefix("Duration: "))
        .and_then(|value| value.trim_end_matches(" ms").trim().parse().ok())
}

/// Each participant's last [`RECENT_INVOCATIONS`] test invocations, newest first, in memory.
#[derive(Debug, Default)]
pub struct RecentInvocations {
    by_participant: Mutex<BTreeMap<String, VecDeque<InvocationReport>>>,
}

impl RecentInvocations {
    /// Remembers a participant's invocation, forgetting their oldest beyond the limit.
    pub fn record(&self, participant: &str, report: InvocationReport) {
        let mut all = self
            .by_participant
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let recent = all.entry(participant.to_owned()).or_default();
        recent.push_front(report);
        recent.truncate(RECENT_INVOCATIONS);
    }

    /// A participant's recent invocations, newest first.
    pub fn of(&self, participant: &str) -> Vec<InvocationReport> {
        self.by_participant
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(participant)
            .map(|recent| recent.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets a participant's invocations (on reset or removal).
    pub fn forget(&self, participant: &str) {
        self.by_participant
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(participant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(n: usize) -> InvocationReport {
        InvocationReport {
            request_id: format!("r{n}"),
            at: 0,
            outcome: InvocationOutcome::Succeeded,
            duration_ms: 1.0,
            result: None,
            error: None,
            fault: None,
            log: Vec::new(),
        }
    }

    #[test]
    fn the_report_line_is_lambdas_and_reads_back() {
        let [end, report] = end_lines("abc", 3000.0, 128, true);
        assert_eq!(end, "END RequestId: abc");
        assert_eq!(
            report,
            "REPORT RequestId: abc\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tStatus: timeout"
        );
        assert_eq!(reported_duration(&report), Some(3000.0));
        let [_, short] = end_lines("abc", 12.341, 256, false);
        assert!(short.contains("Billed Duration: 13 ms"), "{short}");
        assert_eq!(reported_duration("START RequestId: abc"), None);
    }

    #[test]
    fn only_the_last_twenty_are_kept_newest_first() {
        let recent = RecentInvocations::default();
        for n in 0..25 {
            recent.record("ada", report(n));
        }
        let kept = recent.of("ada");
        assert_eq!(kept.len(), RECENT_INVOCATIONS);
        assert_eq!(kept[0].request_id, "r24");
        assert_eq!(kept[19].request_id, "r5");
        assert!(recent.of("grace").is_empty());
    }

    #[test]
    fn a_fault_description_names_its_mode_first() {
        let fault = FiredFault::from_description("latency 3412 ms");
        assert_eq!(fault.mode, "latency");
        assert_eq!(fault.description, "latency 3412 ms");
    }
}
