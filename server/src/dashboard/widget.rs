//! The dashboard's widgets: a metric widget (where it sits, how it is drawn and what it
//! queries) and a text widget (where it sits and its Markdown).
//!
//! Every widget has a stable id, so an API client (a Chaos Toolkit probe, say) can find a widget
//! without matching on its title's wording. CloudWatch's dashboard body structure defines no
//! widget id, and the same body is published by Terraform through PutDashboard, which validates
//! the body against that structure; so the id is derived from the body rather than written in it:
//! - a widget with a title gets the title's slug: ASCII letters and digits in lower case, every
//!   other run of characters one `-` (`"CSV queue (SQS)"` → `csv-queue-sqs`). The title is taken
//!   as the body writes it, placeholders included (`"${dlq_name} depth"` → `dlq-name-depth`), so
//!   a widget has the same id on every stack;
//! - a widget without a title, and every text widget, gets `widget-<index>`, its 0-based index
//!   in the body's `widgets` array;
//! - an id already taken by an earlier widget gets `-2`, `-3`, … appended.
//!
//! Widgets the server skips (log, alarm, explorer) take no id. A series' id is its query's id
//! (`m1`, `e1` or the entry's own `id`, see [`super::metric_array`]), unique within its widget.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::DashboardError;
use super::metric_array::{self, WidgetDefaults};
use crate::metrics::MetricDataQuery;

/// CloudWatch's default period for a metric widget, in seconds.
pub const DEFAULT_PERIOD: u32 = 300;
/// CloudWatch's default statistic for a metric widget.
pub const DEFAULT_STAT: &str = "Average";

/// How a widget is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum View {
    /// A line chart over the time range (CloudWatch's default view).
    TimeSeries,
    /// The newest value of each series, as a number.
    SingleValue,
}

/// A widget's place on the dashboard's grid, which is 24 columns wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Position {
    /// Column of the left edge, 0 to 23.
    pub x: u32,
    /// Row of the top edge.
    pub y: u32,
    /// Width in columns.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
}

/// One metric widget with its metric array expanded into GetMetricData queries.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Widget {
    /// The widget's stable id (see the module's header), e.g. `percent-in-error`.
    pub id: String,
    /// The widget's title; empty when the template gives none.
    pub title: String,
    /// How it is drawn.
    pub view: View,
    /// Where it sits.
    pub position: Position,
    /// The widget's period in seconds ([`DEFAULT_PERIOD`] unless the template sets one). A
    /// metric's own `period` option overrides it for that metric.
    pub period: u32,
    /// The widget's statistic ([`DEFAULT_STAT`] unless the template sets one). A metric's own
    /// `stat` option overrides it for that metric.
    pub stat: String,
    /// The region the widget queries, as the template states it.
    pub region: Option<String>,
    /// The queries, in the order of the widget's `metrics` array, each with its id, statistic
    /// and period resolved.
    pub queries: Vec<MetricDataQuery>,
}

/// A text widget: Markdown shown among the charts, e.g. how a measure is computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextWidget {
    /// The widget's stable id, `widget-<index>` (see the module's header).
    pub id: String,
    /// Where it sits.
    pub position: Position,
    /// Its text, in Markdown (CloudWatch's `properties.markdown`).
    pub markdown: String,
}

impl TextWidget {
    /// Reads the `"type": "text"` widget at `index` of the dashboard body's `widgets` array.
    pub(super) fn from_json(
        index: usize,
        id: String,
        json: &Value,
    ) -> Result<Self, DashboardError> {
        let widget =
            TextWidgetJson::deserialize(json).map_err(|error| DashboardError::InvalidWidget {
                widget: format!("#{index} (text)"),
                reason: format!("{error}; a text widget needs a \"markdown\" string"),
            })?;
        Ok(Self {
            id,
            position: widget.place.position(),
            markdown: widget.properties.markdown,
        })
    }
}

/// A widget's place as the template gives it.
#[derive(Deserialize)]
struct PlaceJson {
    x: Option<u32>,
    y: Option<u32>,
    width: Option<u32>,
    height: Option<u32>,
}

impl PlaceJson {
    fn position(&self) -> Position {
        // CloudWatch's defaults for a widget without a size; a widget without x and y is placed
        // automatically by the console, here at the top left.
        Position {
            x: self.x.unwrap_or(0),
            y: self.y.unwrap_or(0),
            width: self.width.unwrap_or(6),
            height: self.height.unwrap_or(6),
        }
    }
}

/// The fields of a text widget that the server reads (`background` is ignored).
#[derive(Deserialize)]
struct TextWidgetJson {
    #[serde(flatten)]
    place: PlaceJson,
    properties: TextPropertiesJson,
}

#[derive(Deserialize)]
struct TextPropertiesJson {
    markdown: String,
}

/// The fields of a metric widget that the server reads; others (`stacked`, `yAxis`, …) are
/// ignored.
#[derive(Deserialize)]
struct MetricWidgetJson {
    #[serde(flatten)]
    place: PlaceJson,
    properties: PropertiesJson,
}

#[derive(Deserialize)]
struct PropertiesJson {
    title: Option<String>,
    view: Option<String>,
    period: Option<u32>,
    stat: Option<String>,
    region: Option<String>,
    metrics: Option<Vec<Value>>,
}

impl Widget {
    /// Reads the `"type": "metric"` widget at `index` of the dashboard body's `widgets` array,
    /// giving it the id `id`.
    pub(super) fn from_json(
        index: usize,
        id: String,
        json: &Value,
    ) -> Result<Self, DashboardError> {
        let title = json
            .pointer("/properties/title")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = if title.is_empty() {
            format!("#{index}")
        } else {
            title.to_owned()
        };
        let invalid = |reason: String| DashboardError::InvalidWidget {
            widget: name.clone(),
            reason,
        };
        let widget =
            MetricWidgetJson::deserialize(json).map_err(|error| invalid(error.to_string()))?;
        let properties = widget.properties;
        let view = match properties.view.as_deref() {
            None | Some("timeSeries") => View::TimeSeries,
            Some("singleValue") => View::SingleValue,
            Some(other) => {
                return Err(invalid(format!(
                    "view {other:?} cannot be drawn by the server; use \"timeSeries\" or \"singleValue\""
                )));
            }
        };
        let metrics = properties.metrics.ok_or_else(|| {
            invalid(
                "has no \"metrics\" array (Metrics Insights queries are not supported)".to_owned(),
            )
        })?;
        let period = properties.period.unwrap_or(DEFAULT_PERIOD);
        let stat = properties.stat.unwrap_or_else(|| DEFAULT_STAT.to_owned());
        let queries = metric_array::expand(
            &metrics,
            &WidgetDefaults {
                period,
                stat: &stat,
                region: properties.region.as_deref(),
            },
        )
        .map_err(|(entry, problem)| DashboardError::MetricEntry {
            widget: name.clone(),
            entry,
            problem,
        })?;
        Ok(Self {
            id,
            title: properties.title.unwrap_or_default(),
            view,
            position: widget.place.position(),
            period,
            stat,
            region: properties.region,
            queries,
        })
    }
}

/// Hands out the widgets' ids in the body's order (see the module's header).
#[derive(Debug, Default)]
pub(super) struct WidgetIds {
    taken: BTreeSet<String>,
}

impl WidgetIds {
    /// The id of the widget at `index` of the body's `widgets` array, titled `title` as the body
    /// writes it.
    pub(super) fn assign(&mut self, index: usize, title: Option<&str>) -> String {
        let base = title
            .map(slug)
            .filter(|slug| !slug.is_empty())
            .unwrap_or_else(|| format!("widget-{index}"));
        let mut id = base.clone();
        let mut suffix = 2;
        while !self.taken.insert(id.clone()) {
            id = format!("{base}-{suffix}");
            suffix += 1;
        }
        id
    }
}

/// `title` in lower-case ASCII letters and digits, every other run of characters one `-`.
fn slug(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    let mut separated = false;
    for character in title.chars() {
        if character.is_ascii_alphanumeric() {
            if separated && !slug.is_empty() {
                slug.push('-');
            }
            separated = false;
            slug.push(character.to_ascii_lowercase());
        } else {
            separated = true;
        }
    }
    slug
}
