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
    /// The participant's experiment runs, newest first, and their function's timeout.
    Runs {
        /// What the check asks of them.
        want: RunWant,
        /// The runs, newest first.
        runs: Vec<RunFact>,
        /// The function's timeout now, in seconds.
        timeout_seconds: f64,
    },
    /// The function's timeout now, in seconds.
    Timeout {
        /// Seconds.
        seconds: f64,
    },
    /// The lab 3 hypothesis's three measures now, over the last 5 minutes (None: no data).
    Measures {
        /// SNS notifications failed.
        sns_failed: Option<f64>,
        /// Percent in flight (the original lab's).
        in_flight: Option<f64>,
        /// Percent in error (the original lab's).
        in_error: Option<f64>,
        /// The function's timeout, in seconds: the steady state counts as back once the fix
        /// (a timeout above [`LAB3_MAX_LATENCY_S`]) is in.
        timeout_seconds: f64,
    },
    /// What the dead-letter queue holds of intercepted calls, and what the participant has seen.
    DeadLetters {
        /// Whether the participant has seen an intercepted dead letter on the page.
        seen_intercepted: bool,
        /// Intercepted dead letters in the queue now.
        intercepted_now: u64,
        /// Messages in the queue now.
        total: u64,
        /// Whether a fault is switched on now.
        fault_on: bool,
        /// Whether the check asks that they are gone (else: that they were seen).
        want_gone: bool,
    },
    /// The participant's recent test invokes, newest first, and whether a fault is on now.
    TestInvokes {
        /// What the check asks of them.
        want: TestInvokeWant,
        /// The recent test invokes, newest first.
        recent: Vec<TestInvokeFact>,
        /// Whether the fault document switches a fault on now.
        fault_on: bool,
    },
}

/// What a test-invoke check asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestInvokeWant {
    /// One succeeded.
    Success,
    /// Under injected latency, some succeeded and some timed out, out of
    /// [`LATENCY_TESTS_NEEDED`] or more.
    LatencyTimeouts,
    /// One failed on a call the denylist intercepted.
    Intercepted,
    /// The fault is off and the newest succeeded with no fault injected.
    Recovered,
}

/// What a check on experiment runs asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunWant {
    /// A run of a hypothesis alone (empty method) completed with the hypothesis holding, before
    /// and after.
    HypothesisHeld,
    /// A run with a method deviated and its rollbacks were played.
    Deviated,
    /// A run with a method completed with the hypothesis holding before and after it, with the
    /// timeout above [`LAB3_MAX_LATENCY_S`].
    HeldAfterFix,
    /// A run whose method writes a fault of one of these modes deviated.
    DeviatedUnder(&'static [&'static str]),
}

/// One run, as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFact {
    /// Its method has activities.
    pub has_method: bool,
    /// Its hypothesis has probes.
    pub has_hypothesis: bool,
    /// `completed`, `failed`, `aborted`, `interrupted` or `running`.
    pub status: String,
    /// Whether the hypothesis deviated after the method.
    pub deviated: bool,
    /// Whether the hypothesis held before the method (true without one): when it did not, the
    /// method was skipped and the run ended `completed`, neither holding nor deviating.
    pub held_before: bool,
    /// Whether rollbacks were played.
    pub rolled_back: bool,
    /// The failure modes its method's fault documents switch on.
    pub fault_modes: Vec<String>,
}

/// The largest latency the lab 3 experiment injects, in seconds.
pub const LAB3_MAX_LATENCY_S: f64 = 4.0;

/// Test invokes under injected latency the latency check needs.
pub const LATENCY_TESTS_NEEDED: usize = 6;

/// The error that names a call the denylist intercepted.
pub const INTERCEPTED: &str = "Intercepted network connection to";

/// One test invoke, as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestInvokeFact {
    /// `succeeded`, `failed` or `timed_out`.
    pub outcome: TestOutcome,
    /// The failure mode the wrapper injected, if any (`latency`, `denylist`, …).
    pub fault_mode: Option<String>,
    /// The error message, when it failed.
    pub error: Option<String>,
}

/// How a test invoke ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOutcome {
    /// The function answered.
    Succeeded,
    /// The function failed.
    Failed,
    /// The attempt ran past the timeout.
    TimedOut,
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
        Facts::TestInvokes {
            want,
            recent,
            fault_on,
        } => judge_test_invokes(*want, recent, *fault_on),
        Facts::Runs {
            want,
            runs,
            timeout_seconds,
        } => judge_runs(*want, runs, *timeout_seconds),
        Facts::DeadLetters {
            seen_intercepted,
            intercepted_now,
            total,
            fault_on,
            want_gone,
        } => {
            let now = format!(
                "The dead-letter queue holds {total} message(s), {intercepted_now} of them intercepted calls to S3; the fault is {}.",
                if *fault_on { "still on" } else { "off" }
            );
            if *want_gone {
                Judgement {
                    passes: *seen_intercepted && *intercepted_now == 0 && !*fault_on,
                    detail: now,
                }
            } else {
                Judgement {
                    passes: *seen_intercepted,
                    detail: if *seen_intercepted {
                        "You have read the intercepted calls on the dead-letter page.".to_owned()
                    } else {
                        now
                    },
                }
            }
        }
        Facts::Timeout { seconds } => Judgement {
            passes: *seconds > LAB3_MAX_LATENCY_S,
            detail: format!(
                "The function's timeout is {seconds} s{}.",
                if *seconds > LAB3_MAX_LATENCY_S {
                    ", above the experiment's largest latency of 4 s"
                } else {
                    ": the experiment's slowest attempts need 4 s"
                }
            ),
        },
        Facts::Measures {
            sns_failed,
            in_flight,
            in_error,
            timeout_seconds,
        } => {
            let within = |value: &Option<f64>, low: f64, high: f64| {
                value.is_some_and(|value| (low..=high).contains(&value))
            };
            let show = |value: &Option<f64>| {
                value.map_or_else(|| "no data".to_owned(), |value| format!("{value:.2}"))
            };
            let fixed = *timeout_seconds > LAB3_MAX_LATENCY_S;
            Judgement {
                passes: fixed
                    && within(sns_failed, 0.0, 0.0)
                    && within(in_flight, 1.0, 6.0)
                    && within(in_error, 0.0, 2.0),
                detail: format!(
                    "Over the last 5 minutes: SNS failures {} (0 needed), in flight {}% (1 to 6), in error {}% (0 to 2).{}",
                    show(sns_failed),
                    show(in_flight),
                    show(in_error),
                    if fixed {
                        String::new()
                    } else {
                        format!(
                            " The function's timeout is {timeout_seconds} s: the steady state to wait for is the one after the fix, a timeout above {LAB3_MAX_LATENCY_S} s."
                        )
                    }
                ),
            }
        }
    }
}

fn judge_runs(want: RunWant, runs: &[RunFact], timeout_seconds: f64) -> Judgement {
    let ended = |run: &&RunFact| run.status != "running";
    let found = match want {
        RunWant::HypothesisHeld => runs.iter().filter(ended).any(|run| {
            run.has_hypothesis
                && !run.has_method
                && run.status == "completed"
                && run.held_before
                && !run.deviated
        }),
        RunWant::Deviated => runs
            .iter()
            .filter(ended)
            .any(|run| run.has_method && run.deviated && run.rolled_back),
        RunWant::DeviatedUnder(modes) => runs.iter().filter(ended).any(|run| {
            run.deviated
                && run
                    .fault_modes
                    .iter()
                    .any(|mode| modes.contains(&mode.as_str()))
        }),
        RunWant::HeldAfterFix => {
            timeout_seconds > LAB3_MAX_LATENCY_S
                && runs.iter().filter(ended).any(|run| {
                    run.has_method
                        && run.has_hypothesis
                        && run.status == "completed"
                        && run.held_before
                        && !run.deviated
                })
        }
    };
    let latest = runs.iter().find(ended).map_or_else(
        || "You have not run an experiment to the end yet.".to_owned(),
        |run| {
            format!(
                "Your latest run {}{}.",
                run.status,
                if run.deviated {
                    " and deviated"
                } else if !run.held_before {
                    ", but its hypothesis did not hold before the method, so the method was skipped"
                } else {
                    ""
                }
            )
        },
    );
    Judgement {
        passes: found,
        detail: latest,
    }
}

fn judge_test_invokes(
    want: TestInvokeWant,
    recent: &[TestInvokeFact],
    fault_on: bool,
) -> Judgement {
    let count = |outcome: TestOutcome, of: &[&TestInvokeFact]| {
        of.iter().filter(|test| test.outcome == outcome).count()
    };
    match want {
        TestInvokeWant::Success => {
            let passes = recent
                .iter()
                .any(|test| test.outcome == TestOutcome::Succeeded);
            Judgement {
                passes,
                detail: match recent.first() {
                    None => "You have not run a test invoke yet.".to_owned(),
                    Some(_) if passes => "A recent test invoke succeeded.".to_owned(),
                    Some(latest) => format!(
                        "None of your {} recent test invoke(s) succeeded; the latest: {}.",
                        recent.len(),
                        describe(latest)
                    ),
                },
            }
        }
        TestInvokeWant::LatencyTimeouts => {
            let slowed: Vec<&TestInvokeFact> = recent
                .iter()
                .filter(|test| test.fault_mode.as_deref() == Some("latency"))
                .collect();
            let (succeeded, timed_out) = (
                count(TestOutcome::Succeeded, &slowed),
                count(TestOutcome::TimedOut, &slowed),
            );
            Judgement {
                passes: slowed.len() >= LATENCY_TESTS_NEEDED && succeeded > 0 && timed_out > 0,
                detail: format!(
                    "Of your recent test invokes, {} ran with injected latency ({LATENCY_TESTS_NEEDED} needed): {succeeded} succeeded and {timed_out} timed out.",
                    slowed.len()
                ),
            }
        }
        TestInvokeWant::Intercepted => {
            let intercepted = recent.iter().find(|test| {
                test.error
                    .as_deref()
                    .is_some_and(|error| error.contains(INTERCEPTED))
            });
            Judgement {
                passes: intercepted.is_some(),
                detail: match intercepted.and_then(|test| test.error.as_deref()) {
                    Some(error) => format!("A test invoke failed with “{error}”."),
                    None => "No recent test invoke has had a call intercepted yet.".to_owned(),
                },
            }
        }
        TestInvokeWant::Recovered => {
            let latest = recent.first();
            let clean = latest.is_some_and(|test| {
                test.outcome == TestOutcome::Succeeded && test.fault_mode.is_none()
            });
            Judgement {
                passes: !fault_on && clean,
                detail: format!(
                    "The fault is {} now; {}.",
                    if fault_on { "still on" } else { "off" },
                    match latest {
                        None => "you have not run a test invoke yet".to_owned(),
                        Some(test) => format!("your latest test invoke {}", describe(test)),
                    }
                ),
            }
        }
    }
}

fn describe(test: &TestInvokeFact) -> String {
    let outcome = match test.outcome {
        TestOutcome::Succeeded => "succeeded",
        TestOutcome::Failed => "failed",
        TestOutcome::TimedOut => "timed out",
    };
    match &test.fault_mode {
        Some(mode) => format!("{outcome} with a {mode} fault injected"),
        None => format!("{outcome} with no fault injected"),
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
    fn the_steady_state_is_back_only_after_the_fix_and_within_every_band() {
        let facts = |in_flight, timeout_seconds| Facts::Measures {
            sns_failed: Some(0.0),
            in_flight: Some(in_flight),
            in_error: Some(1.0),
            timeout_seconds,
        };
        assert!(judge(&facts(2.9, 120.0)).passes);
        assert!(!judge(&facts(7.5, 120.0)).passes);
        // In the bands before any experiment, with the 3 s timeout: not the steady state the
        // step waits for.
        let before_the_fix = judge(&facts(2.9, 3.0));
        assert!(!before_the_fix.passes);
        assert!(
            before_the_fix
                .detail
                .contains("The function's timeout is 3 s"),
            "{}",
            before_the_fix.detail
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

    fn test(outcome: TestOutcome, fault: Option<&str>, error: Option<&str>) -> TestInvokeFact {
        TestInvokeFact {
            outcome,
            fault_mode: fault.map(str::to_owned),
            error: error.map(str::to_owned),
        }
    }

    fn verdict(want: TestInvokeWant, recent: &[TestInvokeFact], fault_on: bool) -> bool {
        judge(&Facts::TestInvokes {
            want,
            recent: recent.to_vec(),
            fault_on,
        })
        .passes
    }

    #[test]
    fn the_latency_check_needs_six_slowed_tests_some_passing_and_some_timing_out() {
        let slow_ok = test(TestOutcome::Succeeded, Some("latency"), None);
        let slow_out = test(
            TestOutcome::TimedOut,
            Some("latency"),
            Some("Task timed out after 3.00 seconds"),
        );
        let plain = test(TestOutcome::Succeeded, None, None);
        let mixed = [
            &slow_ok, &slow_out, &slow_ok, &slow_out, &slow_ok, &slow_out,
        ];
        let mixed: Vec<TestInvokeFact> = mixed.into_iter().cloned().collect();
        assert!(verdict(TestInvokeWant::LatencyTimeouts, &mixed, true));
        assert!(!verdict(TestInvokeWant::LatencyTimeouts, &mixed[..5], true));
        let all_out = vec![slow_out.clone(); 6];
        assert!(!verdict(TestInvokeWant::LatencyTimeouts, &all_out, true));
        let unslowed = vec![plain; 6];
        assert!(!verdict(TestInvokeWant::LatencyTimeouts, &unslowed, true));
    }

    fn run(has_method: bool, held_before: bool, deviated: bool) -> RunFact {
        RunFact {
            has_method,
            has_hypothesis: true,
            status: "completed".to_owned(),
            deviated,
            held_before,
            rolled_back: has_method,
            fault_modes: Vec::new(),
        }
    }

    fn runs_verdict(want: RunWant, run: RunFact, timeout_seconds: f64) -> Judgement {
        judge(&Facts::Runs {
            want,
            runs: vec![run],
            timeout_seconds,
        })
    }

    #[test]
    fn a_run_whose_hypothesis_missed_before_the_method_has_not_held() {
        // The runner skips the method and ends such a run `completed`, without deviating.
        assert!(runs_verdict(RunWant::HypothesisHeld, run(false, true, false), 3.0).passes);
        let missed = runs_verdict(RunWant::HypothesisHeld, run(false, false, false), 3.0);
        assert!(!missed.passes);
        assert_eq!(
            missed.detail,
            "Your latest run completed, but its hypothesis did not hold before the method, so the method was skipped."
        );
        assert!(runs_verdict(RunWant::HeldAfterFix, run(true, true, false), 10.0).passes);
        assert!(!runs_verdict(RunWant::HeldAfterFix, run(true, false, false), 10.0).passes);
        assert!(!runs_verdict(RunWant::HeldAfterFix, run(true, true, false), 3.0).passes);
    }

    #[test]
    fn recovery_needs_the_fault_off_and_the_newest_test_clean() {
        let clean = test(TestOutcome::Succeeded, None, None);
        let faulted = test(
            TestOutcome::Failed,
            Some("denylist"),
            Some("Intercepted network connection to chaos-bucket-1.s3.us-east-1.amazonaws.com"),
        );
        assert!(verdict(
            TestInvokeWant::Recovered,
            &[clean.clone(), faulted.clone()],
            false
        ));
        assert!(!verdict(
            TestInvokeWant::Recovered,
            &[clean.clone(), faulted.clone()],
            true
        ));
        assert!(!verdict(
            TestInvokeWant::Recovered,
            &[faulted.clone(), clean.clone()],
            false
        ));
        assert!(!verdict(TestInvokeWant::Recovered, &[], false));
        assert!(verdict(
            TestInvokeWant::Intercepted,
            &[clean.clone(), faulted],
            false
        ));
        assert!(!verdict(
            TestInvokeWant::Intercepted,
            std::slice::from_ref(&clean),
            false
        ));
        assert!(verdict(TestInvokeWant::Success, &[clean], true));
        assert!(!verdict(TestInvokeWant::Success, &[], true));
    }
}
