//! The service level objective a participant states, and how the pipeline measures up to it.
//!
//! The indicator (SLI) is the lab's steady state: dead-letter messages ÷ objects processed, where
//! an object is processed once it has either become a CSV notification or reached the DLQ. It is
//! the dashboard's "Percent in error", read from its one definition in `terraform/dashboard.json`
//! through [`crate::measures`].
//!
//! - this module holds the [`SloObjective`], its validation, the pure [`judge`] and the
//!   participant-facing [`advice`];
//! - [`measure`] reads the metrics through a [`Backend`](crate::backend::Backend):
//!   [`evaluate`] for the last window, [`history`] for a chart.

pub mod measure;

use serde::{Deserialize, Serialize};

pub use self::measure::{HISTORY_PERIOD_SECONDS, evaluate, history};
use crate::metrics::{EpochMillis, rfc3339};

/// The share of objects the lab's publisher makes malformed on purpose, in percent: the steady
/// state's own error ratio.
pub const STEADY_STATE_PERCENT: f64 = 1.0;

/// The error ratio the lab's own chaos experiment tolerated, in percent.
pub const LAB_TOLERANCE_PERCENT: f64 = 2.0;

/// Objects the lab's publisher writes per second, used to say how many a window holds.
pub const PUBLISH_RATE_PER_SECOND: f64 = 2.0;

/// Shortest window, in minutes: SQS reports its metrics once a minute.
pub const MIN_WINDOW_MINUTES: u32 = 1;

/// Longest window, in minutes.
pub const MAX_WINDOW_MINUTES: u32 = 180;

/// What a participant promises: at most `max_percent` of the objects processed in any window of
/// `window_minutes` end up in the dead-letter queue. The default is a sound objective, 2% over
/// 5 minutes: the lab's 1% steady state with the headroom its own experiment allowed. A missing
/// field in JSON takes its default; an unknown one is refused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", default, deny_unknown_fields)]
pub struct SloObjective {
    /// Largest acceptable share of objects in the DLQ, in percent (1.0 means 1%): greater than
    /// 0, at most 100.
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub max_percent: f64,
    /// Length of the window the ratio is measured over, in whole minutes, 1 to 180.
    #[schema(minimum = 1, maximum = 180)]
    pub window_minutes: u32,
}

impl Default for SloObjective {
    /// No more than 2 in 100 objects need a human, over 5 minutes: the lab's 1% statement
    /// would fail on the noise of its own 1% malformed input.
    fn default() -> Self {
        Self {
            max_percent: LAB_TOLERANCE_PERCENT,
            window_minutes: 5,
        }
    }
}

/// Why an objective was refused. Each message names the field and its allowed range.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ObjectiveError {
    /// `max_percent` is not a number in (0, 100].
    #[error("max_percent must be a number greater than 0 and at most 100 (e.g. 2 for 2%), got {0}")]
    MaxPercentOutOfRange(f64),
    /// `window_minutes` is outside 1..=180.
    #[error(
        "window_minutes must be a whole number of minutes from {MIN_WINDOW_MINUTES} to \
         {MAX_WINDOW_MINUTES} (e.g. 5), got {0}"
    )]
    WindowOutOfRange(u32),
}

impl SloObjective {
    /// Checks both fields: `0 < max_percent ≤ 100` (NaN refused) and `window_minutes` in
    /// `1..=180`.
    pub fn validate(&self) -> Result<(), ObjectiveError> {
        // A NaN fails both comparisons, so it is refused here too.
        if !(self.max_percent > 0.0 && self.max_percent <= 100.0) {
            return Err(ObjectiveError::MaxPercentOutOfRange(self.max_percent));
        }
        if !(MIN_WINDOW_MINUTES..=MAX_WINDOW_MINUTES).contains(&self.window_minutes) {
            return Err(ObjectiveError::WindowOutOfRange(self.window_minutes));
        }
        Ok(())
    }

    /// The window's length in milliseconds.
    pub fn window_millis(&self) -> EpochMillis {
        EpochMillis::from(self.window_minutes) * 60_000
    }
}

/// How the pipeline measured up to an objective over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SloStatus {
    /// The objective judged.
    pub objective: SloObjective,
    /// Start of the window, inclusive (a whole minute of pipeline time).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub window_start: EpochMillis,
    /// End of the window, exclusive (a whole minute of pipeline time, at or before now).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub window_end: EpochMillis,
    /// Events sent to the dead-letter queue in the window.
    pub dlq_messages: f64,
    /// Objects processed in the window: CSV notifications plus dead-letter events.
    pub processed: f64,
    /// The SLI in percent; `None` when nothing was processed.
    pub value_percent: Option<f64>,
    /// Whether the objective holds; `None` when there is not enough data to say.
    pub met: Option<bool>,
    /// The objective minus the SLI, in percentage points: how much worse the pipeline may get
    /// before the objective breaks (negative when it is broken). `None` without data.
    pub headroom_percent: Option<f64>,
}

/// The verdict on an objective, as the pages word it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The SLI is at or below the objective.
    Met,
    /// The SLI is above the objective: the pipeline has left its steady state.
    NotMet,
    /// Nothing was processed in the window, so there is nothing to judge: not a pass.
    NotEnoughData,
}

impl Verdict {
    /// The verdict in words: `met`, `not met` or `not enough data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::NotMet => "not met",
            Self::NotEnoughData => "not enough data",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl SloStatus {
    /// The status of a window whose SLI `value_percent` was measured by the dashboard's
    /// "Percent in error" expression, with the counts behind it: met when the value is at most
    /// the objective, not enough data without a value.
    pub fn measured(
        objective: SloObjective,
        window_start: EpochMillis,
        window_end: EpochMillis,
        dlq_messages: f64,
        processed: f64,
        value_percent: Option<f64>,
    ) -> Self {
        let value_percent = value_percent.filter(|value| value.is_finite());
        Self {
            objective,
            window_start,
            window_end,
            dlq_messages,
            processed,
            value_percent,
            met: value_percent.map(|value| value <= objective.max_percent),
            headroom_percent: value_percent.map(|value| objective.max_percent - value),
        }
    }

    /// Met, not met, or not enough data.
    pub fn verdict(&self) -> Verdict {
        match self.met {
            Some(true) => Verdict::Met,
            Some(false) => Verdict::NotMet,
            None => Verdict::NotEnoughData,
        }
    }
}

/// The SLI in percent and whether it meets the objective: `(None, None)` when nothing was
/// processed, since an empty window proves nothing. A ratio exactly at the objective meets it.
pub fn judge(dlq: f64, processed: f64, objective: &SloObjective) -> (Option<f64>, Option<bool>) {
    if !(processed > 0.0 && processed.is_finite() && dlq.is_finite()) {
        return (None, None);
    }
    // 100 × dlq is exact for any count, so a ratio equal to the objective (1 in 100 against 1%)
    // rounds to the same double as the objective and compares equal.
    let value = 100.0 * dlq / processed;
    (Some(value), Some(value <= objective.max_percent))
}

/// Advice on an objective's headroom and window, in the lab's terms, for the page to show next to
/// the participant's choice.
pub fn advice(objective: &SloObjective) -> String {
    let threshold = if objective.max_percent < STEADY_STATE_PERCENT {
        "This objective is stricter than the steady state itself: the publisher makes 1 object \
         in 100 malformed on purpose, so it is broken in normal operation, with no fault at all."
    } else if objective.max_percent < 1.5 * STEADY_STATE_PERCENT {
        "With 1 object in 100 malformed on purpose, the ratio hovers around 1% and wobbles from \
         one window to the next, so an objective at 1% sits right on that noise and flaps \
         between met and not met with no fault at all; give it headroom, as the lab's own \
         experiment did by tolerating 0–2%."
    } else if objective.max_percent <= 3.0 * STEADY_STATE_PERCENT {
        "This leaves headroom above the 1% of malformed input, so normal noise stays inside the \
         objective while a real fault, such as lab 3's latency against the 3 s timeout, still \
         breaks it; the lab's own experiment tolerated 0–2%."
    } else {
        "This is a loose objective: a fault has to send several percent of all objects to the \
         dead-letter queue before it notices, so a partial outage could go unseen; the lab's \
         own experiment tolerated 0–2%."
    };
    let objects = PUBLISH_RATE_PER_SECOND * 60.0 * f64::from(objective.window_minutes);
    let per_message = 100.0 / objects;
    let window = if objective.window_minutes < 5 {
        format!(
            "A {}-minute window holds only about {objects:.0} objects at the lab's 2 per second, \
             so a single dead-letter message moves the ratio by {per_message:.2} percentage \
             points; a longer window smooths that out.",
            objective.window_minutes
        )
    } else {
        format!(
            "A {}-minute window holds about {objects:.0} objects at the lab's 2 per second, so \
             each dead-letter message moves the ratio by {per_message:.2} percentage points, and \
             a failing object reaches the DLQ about 3 minutes after it was written.",
            objective.window_minutes
        )
    };
    format!("{threshold} {window}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(max_percent: f64) -> SloObjective {
        SloObjective {
            max_percent,
            window_minutes: 5,
        }
    }

    #[test]
    fn exactly_at_the_objective_is_met() {
        assert_eq!(judge(1.0, 100.0, &objective(1.0)), (Some(1.0), Some(true)));
        assert_eq!(judge(6.0, 600.0, &objective(1.0)), (Some(1.0), Some(true)));
        assert_eq!(judge(3.0, 1000.0, &objective(0.3)), (Some(0.3), Some(true)));
        assert_eq!(judge(11.0, 1000.0, &objective(1.1)).1, Some(true));
    }

    #[test]
    fn just_above_the_objective_is_not_met() {
        let (value, met) = judge(7.0, 600.0, &objective(1.0));
        assert!(value.is_some_and(|value| value > 1.0));
        assert_eq!(met, Some(false));
        assert_eq!(judge(2.0, 100.0, &objective(1.0)).1, Some(false));
    }

    #[test]
    fn nothing_processed_is_not_enough_data() {
        assert_eq!(judge(0.0, 0.0, &objective(1.0)), (None, None));
        assert_eq!(judge(0.0, f64::NAN, &objective(1.0)), (None, None));
    }

    #[test]
    fn no_dead_letters_is_zero_percent_and_met() {
        assert_eq!(judge(0.0, 600.0, &objective(1.0)), (Some(0.0), Some(true)));
    }

    #[test]
    fn everything_dead_lettered_is_one_hundred_percent() {
        assert_eq!(
            judge(5.0, 5.0, &objective(100.0)),
            (Some(100.0), Some(true))
        );
        assert_eq!(judge(5.0, 5.0, &objective(99.9)).1, Some(false));
    }

    #[test]
    fn status_reports_headroom_and_verdict() {
        let status = SloStatus::measured(
            objective(2.0),
            0,
            300_000,
            6.0,
            600.0,
            judge(6.0, 600.0, &objective(2.0)).0,
        );
        assert_eq!(status.value_percent, Some(1.0));
        assert_eq!(status.headroom_percent, Some(1.0));
        assert_eq!(status.verdict(), Verdict::Met);
        let empty = SloStatus::measured(objective(2.0), 0, 300_000, 0.0, 0.0, None);
        assert_eq!(empty.verdict(), Verdict::NotEnoughData);
        assert_eq!(empty.verdict().to_string(), "not enough data");
        assert_eq!(empty.headroom_percent, None);
    }

    #[test]
    fn advice_warns_about_an_objective_on_the_noise() {
        assert!(advice(&objective(1.0)).contains("flaps"));
        assert!(advice(&objective(0.5)).contains("broken in normal operation"));
        assert!(advice(&objective(2.0)).contains("headroom"));
        assert!(advice(&objective(10.0)).contains("loose"));
        let short = advice(&SloObjective {
            max_percent: 2.0,
            window_minutes: 1,
        });
        assert!(short.contains("about 120 objects"), "{short}");
        assert!(short.contains("0.83 percentage points"), "{short}");
    }
}
