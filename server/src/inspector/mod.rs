//! The Lambda inspector: the ETL function's settings, each with why it matters to the lab, and
//! the function's own source code, highlighted.
//!
//! - [`inspect`] turns a [`FunctionConfiguration`] into [`Setting`] rows for the page and the API;
//! - [`source`] holds the function's source files, highlighted once into class-based HTML, and
//!   the stylesheet for those classes.
//!
//! The explanations are the lab's lesson in short: the later labs inject latency and failures into
//! the function, and what a participant then sees on the dashboard follows from these settings.

pub mod source;

use serde::Serialize;

pub use self::source::{SourceFile, highlight_css, highlight_rust, source_files};
use crate::backend::FunctionConfiguration;

/// One row of the inspector: a setting, its value and why it matters to the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The setting's name as the page shows it, e.g. `Timeout`.
    pub name: &'static str,
    /// Its value, with its unit, e.g. `3 s`.
    pub value: String,
    /// One sentence on why it matters to the lab.
    pub why: String,
}

/// The rows for a function's configuration, in the order the page shows them: runtime,
/// architecture, memory, timeout, maximum retry attempts, maximum event age, dead-letter target
/// and reserved concurrency.
pub fn inspect(config: &FunctionConfiguration) -> Vec<Setting> {
    vec![
        Setting {
            name: "Runtime",
            value: config.runtime.clone(),
            why: format!(
                "The function is a compiled Rust program (handler {}) rather than a script, so \
                 it starts fast and its duration is almost all real work, which makes any latency \
                 injected later stand out plainly on the Duration chart.",
                config.handler
            ),
        },
        Setting {
            name: "Architecture",
            value: config.architecture.clone(),
            why: "The instruction set the binary is built for changes the price of a millisecond, \
                  not the pipeline's behaviour, so the lab's numbers come out the same on either."
                .to_owned(),
        },
        Setting {
            name: "Memory",
            value: format!("{} MB", config.memory_mb),
            why: format!(
                "Lambda hands out CPU in proportion to memory, so {} MB buys a thin slice of a \
                 core: plenty for a lab message of a few hundred bytes, but nothing to spare \
                 when the later labs make each attempt slower.",
                config.memory_mb
            ),
        },
        timeout_setting(config.timeout_seconds),
        retry_setting(config.maximum_retry_attempts),
        event_age_setting(
            config.maximum_event_age_seconds,
            config.maximum_retry_attempts,
        ),
        dead_letter_setting(&config.dead_letter_target_arn),
        concurrency_setting(config.reserved_concurrency),
    ]
    .into_iter()
    .chain(fault_settings(config))
    .collect()
}

/// The fault wrapper's two environment variables, when the function has them.
fn fault_settings(config: &FunctionConfiguration) -> Vec<Setting> {
    use chaoslab_etl::fault::{CACHE_TTL_VARIABLE, PARAMETER_VARIABLE};
    let mut settings = Vec::new();
    if let Some(parameter) = config.environment.get(PARAMETER_VARIABLE) {
        settings.push(Setting {
            name: PARAMETER_VARIABLE,
            value: parameter.clone(),
            why: "The SSM parameter the fault wrapper reads before every invocation's handler:                   the fault document written there decides whether this invocation is slowed,                   failed or cut off."
                .to_owned(),
        });
    }
    if let Some(ttl) = config.environment.get(CACHE_TTL_VARIABLE) {
        settings.push(Setting {
            name: CACHE_TTL_VARIABLE,
            value: format!("{ttl} s"),
            why: format!(
                "The wrapper reuses a document it has read for {ttl} seconds, so a new fault, or                  switching one off, reaches the function up to that long after it is written."
            ),
        });
    }
    settings
}

fn timeout_setting(seconds: f64) -> Setting {
    let value = format_seconds(seconds);
    Setting {
        name: "Timeout",
        why: format!(
            "An attempt still running after {value} is stopped and counts as an error, so the \
             3–4 s of latency that lab 3 injects turns perfectly good objects into retries and, \
             once the retries are used up, into dead-letter messages that break the SLO."
        ),
        value,
    }
}

fn retry_setting(retries: u32) -> Setting {
    // Lambda's asynchronous invocation retries a failed event about 1 minute after the first
    // failure and about 2 minutes after the second.
    let why = match retries {
        0 => "A failing object gets a single attempt and no second chance, so it reaches the \
              dead-letter queue at once and even a passing fault turns straight into work for a \
              human."
            .to_owned(),
        1 => "Each failing object is attempted twice, about a minute apart, so its dead-letter \
              message arrives about a minute after the object was written."
            .to_owned(),
        n => format!(
            "Each failing object is attempted 1 + {n} times, about 1 and then 2 minutes apart, \
             so its dead-letter message arrives about 3 minutes after the object was written and \
             the SLO reacts to a fault that late."
        ),
    };
    Setting {
        name: "Maximum retry attempts",
        value: retries.to_string(),
        why,
    }
}

fn event_age_setting(seconds: u64, retries: u32) -> Setting {
    let value = format_duration(seconds);
    let retries_end = match retries {
        0 => "there are no retries to wait for".to_owned(),
        1 => "the retry is over within about a minute".to_owned(),
        _ => "the retries are over within about 3 minutes".to_owned(),
    };
    Setting {
        name: "Maximum event age",
        why: format!(
            "An event that has waited {value} is sent to the dead-letter queue without another \
             attempt; {retries_end}, so this limit only bites when throttling or an outage holds \
             events back."
        ),
        value,
    }
}

fn dead_letter_setting(arn: &str) -> Setting {
    if arn.is_empty() {
        return Setting {
            name: "Dead-letter target",
            value: "none".to_owned(),
            why: "Without a target, an event whose attempts are used up is thrown away, so the \
                  failures that the SLO counts would vanish without a trace."
                .to_owned(),
        };
    }
    Setting {
        name: "Dead-letter target",
        value: arn.to_owned(),
        why: "When the last attempt fails, Lambda sends the original S3 event here, unchanged and \
              with the error in its message attributes: these are the objects that need a human, \
              and counting them is what the SLO measures."
            .to_owned(),
    }
}

fn concurrency_setting(reserved: Option<u32>) -> Setting {
    match reserved {
        None => Setting {
            name: "Reserved concurrency",
            value: "none (shares the account's pool)".to_owned(),
            why: "The function draws on the account's unreserved concurrency, so at the lab's 2 \
                  objects per second it is never throttled and every delay you see comes from \
                  the function itself."
                .to_owned(),
        },
        Some(0) => Setting {
            name: "Reserved concurrency",
            value: "0".to_owned(),
            why: "A reserve of 0 switches the function off: every event is throttled and retried \
                  with backoff until it is older than the maximum event age, then dead-lettered."
                .to_owned(),
        },
        Some(limit) => Setting {
            name: "Reserved concurrency",
            value: limit.to_string(),
            why: format!(
                "At most {limit} attempts run at once; beyond that Lambda throttles events and \
                 retries them with backoff, which delays objects without failing them unless they \
                 outlive the maximum event age."
            ),
        },
    }
}

/// Seconds as the page shows them: `3 s`, `2.5 s`.
fn format_seconds(seconds: f64) -> String {
    if seconds.fract() == 0.0 {
        format!("{seconds:.0} s")
    } else {
        let text = format!("{seconds:.3}");
        format!("{} s", text.trim_end_matches('0'))
    }
}

/// A whole number of seconds in the largest units that fit: `6 h`, `1 h 30 min`, `90 s`.
fn format_duration(seconds: u64) -> String {
    let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if rest != 0 {
        return format!("{seconds} s");
    }
    match (hours, minutes) {
        (0, minutes) => format!("{minutes} min"),
        (hours, 0) => format!("{hours} h"),
        (hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_read_naturally() {
        assert_eq!(format_seconds(3.0), "3 s");
        assert_eq!(format_seconds(2.5), "2.5 s");
        assert_eq!(format_seconds(0.125), "0.125 s");
    }

    #[test]
    fn durations_use_the_largest_units_that_fit() {
        assert_eq!(format_duration(21_600), "6 h");
        assert_eq!(format_duration(5_400), "1 h 30 min");
        assert_eq!(format_duration(60), "1 min");
        assert_eq!(format_duration(90), "90 s");
        assert_eq!(format_duration(0), "0 min");
    }

    #[test]
    fn every_explanation_is_one_sentence() {
        let config = FunctionConfiguration {
            function_name: "ChaosTransformer-0123456789abcdef".to_owned(),
            runtime: "provided.al2023".to_owned(),
            handler: "bootstrap".to_owned(),
            architecture: "x86_64".to_owned(),
            memory_mb: 128,
            timeout_seconds: 3.0,
            maximum_retry_attempts: 2,
            maximum_event_age_seconds: 21_600,
            dead_letter_target_arn: "arn:aws:sqs:us-east-1:123456789012:chaos-error-queue-x"
                .to_owned(),
            reserved_concurrency: None,
            environment: std::collections::BTreeMap::from([
                (
                    "FAILURE_INJECTION_PARAM".to_owned(),
                    "/chaoslab/x/failure-injection".to_owned(),
                ),
                ("FAILURE_CACHE_TTL".to_owned(), "5".to_owned()),
            ]),
        };
        assert_eq!(
            inspect(&config).len(),
            10,
            "the two fault variables are shown"
        );
        for retries in 0..=2 {
            for reserved in [None, Some(0), Some(5)] {
                let config = FunctionConfiguration {
                    maximum_retry_attempts: retries,
                    reserved_concurrency: reserved,
                    ..config.clone()
                };
                for setting in inspect(&config) {
                    let why = setting.why.trim_end();
                    assert!(why.ends_with('.'), "{why}");
                    assert!(
                        !why[..why.len() - 1].contains(". "),
                        "more than one sentence: {why}"
                    );
                }
            }
        }
    }
}
