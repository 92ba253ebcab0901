//! Running the dashboard's queries and shaping the results for the browser and the REST API.
//!
//! Each widget is one GetMetricData request: ids such as `m1` repeat from widget to widget, and
//! expressions refer to the ids of their own widget only. The widgets are queried one after
//! the other. Results come back newest first (GetMetricData's default order) and are turned
//! around here, oldest first, as the charts want them.

use serde::{Deserialize, Serialize};

use super::{Dashboard, Position, Unit, View, Widget};
use crate::metrics::{EpochMillis, GetMetricDataRequest, GetMetricDataResponse, MetricDataResult};

/// Anything that answers GetMetricData: the embedded metric store or CloudWatch.
pub trait MetricSource: Send + Sync {
    /// Why a request failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Runs one GetMetricData request.
    fn get_metric_data(
        &self,
        request: GetMetricDataRequest,
    ) -> impl Future<Output = Result<GetMetricDataResponse, Self::Error>> + Send;
}

/// The time range a dashboard shows, and optionally a period for every query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeRange {
    /// Start, inclusive, in epoch milliseconds of pipeline time.
    pub start: EpochMillis,
    /// End, exclusive, in epoch milliseconds of pipeline time.
    pub end: EpochMillis,
    /// When set, the period in seconds of every query of every widget, overriding the widgets'
    /// and the metrics' own periods (like the CloudWatch console's period override).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
}

/// Every metric widget's results, in the dashboard's order. Text widgets have no data and are
/// left out; the dashboard page shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DashboardData {
    /// One entry per metric widget.
    pub widgets: Vec<WidgetData>,
}

/// One widget's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WidgetData {
    /// The widget's stable id, the same on every call and every stack for a given dashboard
    /// body: the slug of its title as the body writes it (`percent-in-error`), else
    /// `widget-<index>` (its index in the body's widgets); `-2`, `-3`, … set apart equal slugs.
    pub id: String,
    /// The widget's title.
    pub title: String,
    /// How to draw it.
    pub view: View,
    /// Where it sits on the dashboard's grid.
    pub position: Position,
    /// The period of its queries in seconds: the time range's override, else the widget's.
    pub period: u32,
    /// One series per result of its visible queries, in the order of the widget's metrics.
    pub series: Vec<SeriesData>,
}

/// One query's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesData {
    /// The series' stable id within its widget: its query's id, e.g. `m1`, `e1` or the id the
    /// dashboard body gives the metric.
    pub id: String,
    /// The legend: the result's label from the metric source (the query's `label` when it has
    /// one), or, when that is empty, the query's expression, metric name or id.
    pub label: String,
    /// Start of each period that has a value, oldest first, in epoch milliseconds of pipeline time.
    pub timestamps: Vec<EpochMillis>,
    /// The value at each timestamp.
    pub values: Vec<f64>,
    /// The unit of the values, from the query: CloudWatch's unit for a metric and statistic
    /// (`Milliseconds` for Lambda's `Duration`, `Count` for `Invocations`), `Percent` for an
    /// expression that computes a percentage; `null` when it is not known.
    pub unit: Option<Unit>,
    /// For a single-value widget, the value at the newest timestamp (`None` without data);
    /// always `None`, and left out when serialised, for a time-series widget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<f64>,
}

/// Why a dashboard's data could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum QueryError<E> {
    /// The time range ends before it starts.
    #[error(
        "the time range is empty: it starts at {start} and ends at {end} (epoch milliseconds); the start must come first"
    )]
    EmptyRange {
        /// The range's start.
        start: EpochMillis,
        /// The range's end.
        end: EpochMillis,
    },
    /// The metric source failed.
    #[error("GetMetricData failed for dashboard widget {widget:?}: {source}")]
    Source {
        /// The widget's title.
        widget: String,
        /// The metric source's error.
        source: E,
    },
    /// A result does not pair each timestamp with one value.
    #[error(
        "the metric source returned {timestamps} timestamps but {values} values for query {id:?} of dashboard widget {widget:?}"
    )]
    MismatchedResult {
        /// The widget's title.
        widget: String,
        /// The query's id.
        id: String,
        /// How many timestamps the result has.
        timestamps: usize,
        /// How many values the result has.
        values: usize,
    },
}

impl Dashboard {
    /// Runs every widget's queries through `source` over `range`, one request per widget.
    pub async fn query<S: MetricSource>(
        &self,
        source: &S,
        range: TimeRange,
    ) -> Result<DashboardData, QueryError<S::Error>> {
        check(&range)?;
        let mut widgets = Vec::with_capacity(self.widgets.len());
        for widget in &self.widgets {
            widgets.push(widget.query(source, range).await?);
        }
        Ok(DashboardData { widgets })
    }
}

impl Widget {
    /// The period of this widget's queries over `range`: the range's override, else the
    /// widget's own.
    pub fn period_for(&self, range: &TimeRange) -> u32 {
        range.period.unwrap_or(self.period)
    }

    /// The GetMetricData request for this widget over `range`.
    pub fn request(&self, range: &TimeRange) -> GetMetricDataRequest {
        let metric_data_queries = self
            .queries
            .iter()
            .cloned()
            .map(|mut query| {
                if let Some(period) = range.period {
                    if let Some(stat) = &mut query.metric_stat {
                        stat.period = period;
                    }
                    if query.period.is_some() {
                        query.period = Some(period);
                    }
                }
                query
            })
            .collect();
        GetMetricDataRequest {
            metric_data_queries,
            start_time: range.start,
            end_time: range.end,
            scan_by: None,
            max_datapoints: None,
            next_token: None,
        }
    }

    /// Runs this widget's queries through `source` over `range`.
    pub async fn query<S: MetricSource>(
        &self,
        source: &S,
        range: TimeRange,
    ) -> Result<WidgetData, QueryError<S::Error>> {
        check(&range)?;
        let response = source
            .get_metric_data(self.request(&range))
            .await
            .map_err(|source| QueryError::Source {
                widget: self.title.clone(),
                source,
            })?;
        let series = response
            .metric_data_results
            .into_iter()
            .map(|result| self.series(result))
            .collect::<Result<_, _>>()?;
        Ok(WidgetData {
            id: self.id.clone(),
            title: self.title.clone(),
            view: self.view,
            position: self.position,
            period: self.period_for(&range),
            series,
        })
    }

    /// One result as a series, oldest first.
    fn series<E>(&self, result: MetricDataResult) -> Result<SeriesData, QueryError<E>> {
        let MetricDataResult {
            id,
            label,
            timestamps,
            values,
            ..
        } = result;
        if timestamps.len() != values.len() {
            return Err(QueryError::MismatchedResult {
                widget: self.title.clone(),
                id,
                timestamps: timestamps.len(),
                values: values.len(),
            });
        }
        let mut points: Vec<(EpochMillis, f64)> = timestamps.into_iter().zip(values).collect();
        points.sort_by_key(|(timestamp, _)| *timestamp);
        let (timestamps, values): (Vec<_>, Vec<_>) = points.into_iter().unzip();
        let latest = match self.view {
            View::SingleValue => values.last().copied(),
            View::TimeSeries => None,
        };
        // GetMetricData labels a result with its query's label, else a default of its own; a
        // source that leaves it empty still gets a legend.
        let label = if label.is_empty() {
            self.fallback_label(&id)
        } else {
            label
        };
        Ok(SeriesData {
            unit: self.unit_of(&id),
            id,
            label,
            timestamps,
            values,
            latest,
        })
    }

    /// The unit of the values of query `id`, if the widget has that query and its unit is known.
    pub fn unit_of(&self, id: &str) -> Option<Unit> {
        let query = self.queries.iter().find(|query| query.id == id)?;
        Unit::of_query(query, &self.queries)
    }

    /// The query's own label, else its expression or metric name, else its id.
    fn fallback_label(&self, id: &str) -> String {
        let query = self.queries.iter().find(|query| query.id == id);
        query
            .and_then(|query| {
                query
                    .label
                    .clone()
                    .or_else(|| query.expression.clone())
                    .or_else(|| {
                        query
                            .metric_stat
                            .as_ref()
                            .map(|stat| stat.metric.metric_name.clone())
                    })
            })
            .unwrap_or_else(|| id.to_owned())
    }
}

fn check<E>(range: &TimeRange) -> Result<(), QueryError<E>> {
    if range.start < range.end {
        Ok(())
    } else {
        Err(QueryError::EmptyRange {
            start: range.start,
            end: range.end,
        })
    }
}
