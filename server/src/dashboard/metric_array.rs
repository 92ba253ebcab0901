//! CloudWatch's metric-array shorthand, expanded into GetMetricData queries.
//!
//! A widget's `metrics` array holds one entry per query, as CloudWatch's dashboard body
//! ("Metric Widget: Format for Each Metric in the Array") defines them:
//! - a metric: `[namespace, metricName, dimName1, dimValue1, …, {rendering options}?]`;
//! - an expression: `[{"expression": "100 * m2 / (m1 + m2)", "label": …, "id": …}]`.
//!
//! A metric entry may abbreviate what it shares with the previous metric entry (expression
//! entries are skipped when looking back), as the CloudWatch console writes them:
//! - `"."` at position i repeats the value at position i of the previous metric entry;
//! - `"..."` repeats all the values of the previous metric entry from its own position on, except
//!   the trailing ones the entry gives after it: `["...", "dlq"]` after
//!   `["AWS/SQS", "NumberOfMessagesSent", "QueueName", "csv"]` is
//!   `["AWS/SQS", "NumberOfMessagesSent", "QueueName", "dlq"]`, `["AWS/SQS", "...", "dlq"]` is the
//!   same, and `["...", {"stat": "Maximum"}]` repeats the whole metric with other options. The
//!   expanded entry is as long as the previous one; `"."` after a `"..."` refers to the position
//!   it lands on. An entry may use `"..."` once.
//!
//! Rendering options, the last element of a metric entry: `id`, `stat`, `period`, `label` and
//! `visible` (`false` → `ReturnData: false`) shape the query; `color` and `yAxis` are checked
//! and left to the charts; `region` must be the widget's own (the server reads each stack in its
//! region) and `accountId` is checked and ignored (each stack is read in the account it was
//! deployed to). An expression entry takes `expression`, `id`, `label`, `period`, `visible`,
//! `color`, `yAxis`, `region` and `accountId`. Anything else is refused, naming the option.
//!
//! Entries without an `id` get `m1`, `m2`, … (metrics) or `e1`, `e2`, … (expressions), skipping
//! ids the widget uses explicitly, following the CloudWatch console's m1/e1 naming. These ids
//! are the series' ids in the API: stable for a given dashboard body.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::metrics::{Dimension, Metric, MetricDataQuery, MetricStat};

/// What repeats the value at the same position of the previous metric entry.
const SAME: &str = ".";
/// What repeats the remaining values of the previous metric entry.
const SAME_REST: &str = "...";

/// The rendering options a metric entry may have.
const METRIC_OPTIONS: &str = "id, label, stat, period, visible, color, yAxis, region and accountId";
/// The options an expression entry may have.
const EXPRESSION_OPTIONS: &str =
    "expression, id, label, period, visible, color, yAxis, region and accountId";

/// What is wrong with one entry of a widget's `metrics` array.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricEntryProblem {
    /// The entry is not a JSON array.
    #[error(
        "an entry must be an array, e.g. [\"AWS/SQS\", \"NumberOfMessagesSent\", \"QueueName\", \"…\"]"
    )]
    NotAnArray,
    /// A position before the options object holds something other than a string.
    #[error(
        "position {position} must be a string (only the last position may be an options object)"
    )]
    NotAString {
        /// The 0-based position in the entry.
        position: usize,
    },
    /// The entry has no namespace and metric name.
    #[error("a metric entry needs at least a namespace and a metric name")]
    MissingMetricName,
    /// The dimensions after the metric name are not name/value pairs.
    #[error(
        "the dimensions after the metric name must come in name, value pairs, but there are {count} strings"
    )]
    OddDimensionList {
        /// How many strings follow the metric name.
        count: usize,
    },
    /// A `"."` has no value to repeat: this is the first metric entry, or the previous one is
    /// shorter.
    #[error(
        "\".\" at position {position} repeats the previous metric entry, but there is no value there to repeat"
    )]
    NothingToRepeat {
        /// The 0-based position in the entry.
        position: usize,
    },
    /// A `"..."` in the widget's first metric entry: there is nothing to repeat.
    #[error(
        "\"...\" at position {position} repeats the previous metric entry, but this is the widget's \
         first metric entry; write the namespace, metric name and dimensions out"
    )]
    NothingToRepeatAll {
        /// The 0-based position in the entry.
        position: usize,
    },
    /// A `"..."` with more values around it than the previous metric entry has.
    #[error(
        "\"...\" at position {position} repeats the rest of the previous metric entry, but that \
         entry has {previous} values and this one already gives {given} around the \"...\"; \
         give fewer values after it or write the entry out"
    )]
    RepeatTooShort {
        /// The 0-based position of the `"..."`.
        position: usize,
        /// How many values (namespace, metric name, dimensions) the previous entry has.
        previous: usize,
        /// How many values this entry gives besides the `"..."`.
        given: usize,
    },
    /// A second `"..."` in one entry.
    #[error("\"...\" appears again at position {position}; an entry may use it once")]
    SecondRepeatAll {
        /// The 0-based position of the second `"..."`.
        position: usize,
    },
    /// An entry made of an options object only has no `expression`.
    #[error(
        "an entry holding only an object must be an expression: [{{\"expression\": \"…\", \"id\": \"e1\"}}]"
    )]
    MissingExpression,
    /// An option has the wrong type.
    #[error("option {name:?} must be {expected}")]
    InvalidOption {
        /// The option's name.
        name: String,
        /// What it must be.
        expected: &'static str,
    },
    /// An option CloudWatch's metric array does not have, or the server does not support.
    #[error("unknown option {name:?}; {kind} takes {allowed}")]
    UnknownOption {
        /// The option's name.
        name: String,
        /// `a metric entry` or `an expression entry`.
        kind: &'static str,
        /// The options it takes.
        allowed: &'static str,
    },
    /// A metric in another region than its widget's.
    #[error(
        "option \"region\" is {region:?} but the widget reads {widget_region:?}; the server reads \
         each stack in its own region, so remove the option or make it the widget's"
    )]
    OtherRegion {
        /// The metric's region.
        region: String,
        /// The widget's region.
        widget_region: String,
    },
    /// An id does not start with a lower-case letter or has characters other than letters,
    /// digits and `_`.
    #[error("id {0:?} must start with a lower-case letter and hold only letters, digits and _")]
    InvalidId(String),
    /// Two entries of the widget share an id.
    #[error("id {0:?} is already used by another entry of this widget")]
    DuplicateId(String),
}

/// The widget-wide settings a metric entry falls back to.
#[derive(Debug)]
pub(super) struct WidgetDefaults<'a> {
    /// The widget's period in seconds.
    pub period: u32,
    /// The widget's statistic.
    pub stat: &'a str,
    /// The widget's region, as the template states it.
    pub region: Option<&'a str>,
}

/// One entry, parsed, before ids are assigned.
enum Entry {
    Metric {
        fields: Vec<String>,
        options: Options,
    },
    Expression {
        expression: String,
        options: Options,
    },
}

impl Entry {
    fn options(&self) -> &Options {
        match self {
            Self::Metric { options, .. } | Self::Expression { options, .. } => options,
        }
    }
}

struct Options {
    id: Option<String>,
    stat: Option<String>,
    period: Option<u32>,
    label: Option<String>,
    visible: bool,
}

/// Expands a widget's `metrics` array into queries. On failure, returns the index of the
/// offending entry and its problem.
pub(super) fn expand(
    entries: &[Value],
    defaults: &WidgetDefaults<'_>,
) -> Result<Vec<MetricDataQuery>, (usize, MetricEntryProblem)> {
    let mut parsed = Vec::with_capacity(entries.len());
    let mut previous_metric: Option<Vec<String>> = None;
    for (index, entry) in entries.iter().enumerate() {
        let entry = parse_entry(entry, previous_metric.as_deref(), defaults)
            .map_err(|problem| (index, problem))?;
        if let Entry::Metric { fields, .. } = &entry {
            previous_metric = Some(fields.clone());
        }
        parsed.push(entry);
    }

    let mut explicit_ids = BTreeSet::new();
    for (index, entry) in parsed.iter().enumerate() {
        if let Some(id) = &entry.options().id {
            if !is_valid_id(id) {
                return Err((index, MetricEntryProblem::InvalidId(id.clone())));
            }
            if !explicit_ids.insert(id.clone()) {
                return Err((index, MetricEntryProblem::DuplicateId(id.clone())));
            }
        }
    }

    let mut metric_ids = ImplicitIds::new("m", &explicit_ids);
    let mut expression_ids = ImplicitIds::new("e", &explicit_ids);
    Ok(parsed
        .into_iter()
        .map(|entry| match entry {
            Entry::Metric { fields, options } => MetricDataQuery {
                id: options.id.unwrap_or_else(|| metric_ids.next_id()),
                metric_stat: Some(MetricStat {
                    metric: metric_of(fields),
                    period: options.period.unwrap_or(defaults.period),
                    stat: options.stat.unwrap_or_else(|| defaults.stat.to_owned()),
                }),
                expression: None,
                label: options.label,
                return_data: return_data(options.visible),
                period: None,
            },
            Entry::Expression {
                expression,
                options,
            } => MetricDataQuery {
                id: options.id.unwrap_or_else(|| expression_ids.next_id()),
                metric_stat: None,
                expression: Some(expression),
                label: options.label,
                return_data: return_data(options.visible),
                period: options.period,
            },
        })
        .collect())
}

/// `ReturnData` for an entry: left to GetMetricData's default (true) unless the entry is hidden.
fn return_data(visible: bool) -> Option<bool> {
    if visible { None } else { Some(false) }
}

fn parse_entry(
    entry: &Value,
    previous_metric: Option<&[String]>,
    defaults: &WidgetDefaults<'_>,
) -> Result<Entry, MetricEntryProblem> {
    let items = entry.as_array().ok_or(MetricEntryProblem::NotAnArray)?;
    let (positional, options) = match items.split_last() {
        Some((Value::Object(options), positional)) => (positional, Some(options)),
        _ => (items.as_slice(), None),
    };
    if positional.is_empty() {
        let options = options.ok_or(MetricEntryProblem::MissingMetricName)?;
        let expression = match options.get("expression") {
            Some(Value::String(expression)) => expression.clone(),
            Some(_) => return Err(invalid_option("expression", "a string")),
            None => return Err(MetricEntryProblem::MissingExpression),
        };
        return Ok(Entry::Expression {
            expression,
            options: parse_options(options, EntryKind::Expression, defaults)?,
        });
    }

    let fields = expand_shorthand(positional, previous_metric)?;
    if fields.len() < 2 {
        return Err(MetricEntryProblem::MissingMetricName);
    }
    if fields.len() % 2 != 0 {
        return Err(MetricEntryProblem::OddDimensionList {
            count: fields.len() - 2,
        });
    }
    let options = match options {
        Some(options) => parse_options(options, EntryKind::Metric, defaults)?,
        None => parse_options(&Map::new(), EntryKind::Metric, defaults)?,
    };
    Ok(Entry::Metric { fields, options })
}

/// A value of a metric entry before `"."` is resolved.
enum Slot<'a> {
    /// A value written out.
    Given(&'a str),
    /// A `"."`, at this position of the entry as written.
    Same(usize),
    /// A value copied by `"..."`.
    Copied(&'a str),
}

impl<'a> Slot<'a> {
    /// The slot of `text`, written at `position` of the entry.
    fn of(position: usize, text: &'a str) -> Self {
        if text == SAME {
            Self::Same(position)
        } else {
            Self::Given(text)
        }
    }
}

/// The metric entry's namespace, metric name and dimensions with `"..."` and `"."` replaced by
/// the previous metric entry's values.
fn expand_shorthand(
    positional: &[Value],
    previous: Option<&[String]>,
) -> Result<Vec<String>, MetricEntryProblem> {
    let mut texts = Vec::with_capacity(positional.len());
    let mut repeat_all = None;
    for (position, item) in positional.iter().enumerate() {
        let text = item
            .as_str()
            .ok_or(MetricEntryProblem::NotAString { position })?;
        if text == SAME_REST {
            if repeat_all.is_some() {
                return Err(MetricEntryProblem::SecondRepeatAll { position });
            }
            repeat_all = Some(position);
        }
        texts.push(text);
    }

    let slots: Vec<Slot<'_>> = match repeat_all {
        None => texts
            .iter()
            .enumerate()
            .map(|(position, text)| Slot::of(position, text))
            .collect(),
        Some(position) => {
            let previous = previous.ok_or(MetricEntryProblem::NothingToRepeatAll { position })?;
            let given = texts.len() - 1;
            let copied =
                previous
                    .len()
                    .checked_sub(given)
                    .ok_or(MetricEntryProblem::RepeatTooShort {
                        position,
                        previous: previous.len(),
                        given,
                    })?;
            let before = texts[..position]
                .iter()
                .enumerate()
                .map(|(at, text)| Slot::of(at, text));
            let repeated = previous[position..position + copied]
                .iter()
                .map(|value| Slot::Copied(value));
            let after = texts[position + 1..]
                .iter()
                .enumerate()
                .map(|(offset, text)| Slot::of(position + 1 + offset, text));
            before.chain(repeated).chain(after).collect()
        }
    };

    slots
        .into_iter()
        .enumerate()
        .map(|(at, slot)| match slot {
            Slot::Given(text) | Slot::Copied(text) => Ok(text.to_owned()),
            Slot::Same(position) => previous
                .and_then(|previous| previous.get(at))
                .cloned()
                .ok_or(MetricEntryProblem::NothingToRepeat { position }),
        })
        .collect()
}

/// Which kind of entry an options object belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Metric,
    Expression,
}

fn parse_options(
    options: &Map<String, Value>,
    kind: EntryKind,
    defaults: &WidgetDefaults<'_>,
) -> Result<Options, MetricEntryProblem> {
    for name in options.keys() {
        let known = match name.as_str() {
            "id" | "label" | "period" | "visible" | "color" | "yAxis" | "region" | "accountId" => {
                true
            }
            "stat" => kind == EntryKind::Metric,
            "expression" => kind == EntryKind::Expression,
            _ => false,
        };
        if !known {
            return Err(match kind {
                EntryKind::Metric => MetricEntryProblem::UnknownOption {
                    name: name.clone(),
                    kind: "a metric entry",
                    allowed: METRIC_OPTIONS,
                },
                EntryKind::Expression => MetricEntryProblem::UnknownOption {
                    name: name.clone(),
                    kind: "an expression entry",
                    allowed: EXPRESSION_OPTIONS,
                },
            });
        }
    }
    let string = |name: &str| match options.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid_option(name, "a string")),
    };
    let period = match options.get("period") {
        None => None,
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|period| u32::try_from(period).ok())
                .filter(|period| *period > 0)
                .ok_or_else(|| invalid_option("period", "a positive number of seconds"))?,
        ),
    };
    let visible = match options.get("visible") {
        None => true,
        Some(Value::Bool(visible)) => *visible,
        Some(_) => return Err(invalid_option("visible", "true or false")),
    };
    // Display options: checked as CloudWatch checks them, drawn by the charts as they see fit.
    string("color")?;
    string("accountId")?;
    match options.get("yAxis") {
        None => {}
        Some(Value::String(side)) if side == "left" || side == "right" => {}
        Some(_) => return Err(invalid_option("yAxis", "\"left\" or \"right\"")),
    }
    if let (Some(region), Some(widget_region)) = (string("region")?, defaults.region)
        && region != widget_region
    {
        return Err(MetricEntryProblem::OtherRegion {
            region,
            widget_region: widget_region.to_owned(),
        });
    }
    Ok(Options {
        id: string("id")?,
        stat: string("stat")?,
        period,
        label: string("label")?,
        visible,
    })
}

fn invalid_option(name: &str, expected: &'static str) -> MetricEntryProblem {
    MetricEntryProblem::InvalidOption {
        name: name.to_owned(),
        expected,
    }
}

/// `[namespace, metricName, name1, value1, …]` (already checked to have an even length ≥ 2).
fn metric_of(fields: Vec<String>) -> Metric {
    let mut fields = fields.into_iter();
    let namespace = fields.next().unwrap_or_default();
    let metric_name = fields.next().unwrap_or_default();
    let mut dimensions = Vec::new();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        dimensions.push(Dimension { name, value });
    }
    Metric {
        namespace,
        metric_name,
        dimensions,
    }
}

/// GetMetricData's rule for an id: a lower-case letter, then letters, digits and `_`.
fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|rest| rest.is_ascii_alphanumeric() || rest == '_')
}

/// Hands out `<prefix>1`, `<prefix>2`, … skipping ids already taken.
struct ImplicitIds<'a> {
    prefix: &'static str,
    next: usize,
    taken: &'a BTreeSet<String>,
}

impl<'a> ImplicitIds<'a> {
    fn new(prefix: &'static str, taken: &'a BTreeSet<String>) -> Self {
        Self {
            prefix,
            next: 1,
            taken,
        }
    }

    fn next_id(&mut self) -> String {
        loop {
            let id = format!("{}{}", self.prefix, self.next);
            self.next += 1;
            if !self.taken.contains(&id) {
                return id;
            }
        }
    }
}
