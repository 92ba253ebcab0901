//! The steps' automatic checks: what each one asks for, judged from facts about the participant
//! that [`crate::ops::steps`] gathers. Each judgement describes the present, so a step done
//! earlier never claims that something still runs when it has stopped.

use crate::slo::{SloObjective, SloStatus};

/// Pipeline time the publisher must have run for the steady-state check.
pub const STEADY_STATE_MILLIS: i64 = 5 * 60 * 1000;

/// What a check needs to know, gathered for one check.
#[derive(Debug, Clone, PartialEq)]
pub enum Facts {
    /// Whether the participant has looked at something, and what it is called.
    Viewed {
        /// Whether they have.
        seen: bool,
        /// `architecture picture`, `dashboard`, …
        label: &'static str,
    },
    /// Whether the participant's stack exists.
    Stack {
        /// Whether it does.
        exists: bool,
    },
    /// Whether the generators run now.
    Traffic {
        /// The publisher runs.
        publishing: bool,
        /// The subscriber runs.
        subscribing: bool,
    },
    /// How long the publisher has run, and what reached the dead-letter queue.
    SteadyState {
        /// Pipeline milliseconds the running publisher has run (0 when stopped).
        publishing_for_ms: i64,
        /// Objects in the dead-letter queue since the stack was created or reset.
        dead_lettered: u64,
    },
    /// The stated objective and its evaluation, if one was stated.
    Slo(Option<(SloObjective, SloStatus)>),
}

/// A check's verdict now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// Whether the check passes now.
    pub passes: bool,
    /// What was found, in the present tense.
    pub detail: String,
}

/// Judges a check from its facts.
pub fn judge(facts: &Facts) -> Judgement {
    match facts {
        Facts::Viewed { seen, label } => Judgement {
            passes: *seen,
            detail: if *seen {
                format!("You have opened the {label}.")
            } else {
                format!("You have not opened the {label} yet.")
            },
        },
        Facts::Stack { exists } => Judgement {
            passes: *exists,
            detail: if *exists {
                "Your stack exists."
            } else {
                "Your stack does not exist yet."
            }
            .to_owned(),
        },
        Facts::Traffic {
            publishing,
            subscribing,
        } => {
            let state = |running: bool| if running { "running" } else { "stopped" };
            Judgement {
                passes: *publishing && *subscribing,
                detail: format!(
                    "Right now the publisher is {} and the subscriber is {}.",
                    state(*publishing),
                    state(*subscribing)
                ),
            }
        }
        Facts::SteadyState {
            publishing_for_ms,
            dead_lettered,
        } => Judgement {
            passes: *publishing_for_ms >= STEADY_STATE_MILLIS && *dead_lettered > 0,
            detail: format!(
                "{} {} object(s) have reached the dead-letter queue (1 needed).",
                if *publishing_for_ms > 0 {
                    format!(
                        "The publisher has been running for {} of pipeline time (5 min needed).",
                        minutes_seconds(*publishing_for_ms)
                    )
                } else {
                    "The publisher is not running now.".to_owned()
                },
                dead_lettered
            ),
        },
        Facts::Slo(None) => Judgement {
            passes: false,
            detail: "You have not stated an SLO yet.".to_owned(),
        },
        Facts::Slo(Some((objective, status))) => Judgement {
            passes: status.met == Some(true),
            detail: match status.value_percent {
                Some(value) => format!(
                    "Over the last {} min: {value:.2}% of objects needed a human (objective ≤ {}%): {}.",
                    objective.window_minutes,
                    objective.max_percent,
                    status.verdict()
                ),
                None => format!(
                    "No object was processed in the last {} min, so there is nothing to judge yet.",
                    objective.window_minutes
                ),
            },
        },
    }
}

/// `3 min 05 s`.
pub fn minutes_seconds(millis: i64) -> String {
    let seconds = millis.max(0) / 1000;
    format!("{} min {:02} s", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traffic_check_describes_the_present() {
        let stopped = judge(&Facts::Traffic {
            publishing: false,
            subscribing: false,
        });
        assert!(!stopped.passes);
        assert_eq!(
            stopped.detail,
            "Right now the publisher is stopped and the subscriber is stopped."
        );
        assert!(
            judge(&Facts::Traffic {
                publishing: true,
                subscribing: true
            })
            .passes
        );
    }

    #[test]
    fn the_steady_state_needs_five_minutes_and_a_dead_letter() {
        let facts = |ms, dead| Facts::SteadyState {
            publishing_for_ms: ms,
            dead_lettered: dead,
        };
        assert!(judge(&facts(STEADY_STATE_MILLIS, 1)).passes);
        assert!(!judge(&facts(STEADY_STATE_MILLIS - 1, 1)).passes);
        assert!(!judge(&facts(STEADY_STATE_MILLIS, 0)).passes);
        assert!(
            judge(&facts(0, 3))
                .detail
                .starts_with("The publisher is not running now.")
        );
        assert_eq!(minutes_seconds(185_000), "3 min 05 s");
    }
}
