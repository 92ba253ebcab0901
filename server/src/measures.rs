//! The lab's two measures, "Percent in error" and "Percent in flight", read from their one
//! definition: the metric-math expressions of the dashboard the server serves
//! (`terraform/dashboard.json`, or the `--dashboard` file, a [`DashboardDefinition`]). The
//! dashboard page, the SLO evaluation (and so the step checks) and the instructor's overview all
//! ask for a measure by its label here, so none of them can compute it differently from the
//! CloudWatch console.

use crate::backend::{Backend, BackendError};
use crate::dashboard::definition::marked_name;
use crate::dashboard::{Dashboard, DashboardDefinition, DashboardNames};
use crate::metrics::{
    EpochMillis, GetMetricDataRequest, GetMetricDataResponse, MetricDataQuery, ScanBy,
};

/// The dashboard's label of the share of processed objects that reached the dead-letter queue.
pub const PERCENT_IN_ERROR: &str = "Percent in error";
/// The dashboard's label of the share of CSV notifications still waiting for the subscriber.
pub const PERCENT_IN_FLIGHT: &str = "Percent in flight";

/// A measure: its expression and the queries it reads, as the dashboard defines them for one
/// stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// The expression's query id, e.g. `e1`.
    pub id: String,
    /// The expression's inputs, then the expression.
    pub queries: Vec<MetricDataQuery>,
}

/// One measure over a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The measure's value for each period that has one, oldest first: (period start, percent).
    pub points: Vec<(EpochMillis, f64)>,
    /// The whole GetMetricData response, inputs included, for the counts behind the value.
    pub response: GetMetricDataResponse,
}

impl Measure {
    /// The measure labelled `label` in `dashboard`: the first metric-math query with that label,
    /// with the queries of its widget that its expression names.
    pub fn find(dashboard: &Dashboard, label: &str) -> Option<Self> {
        dashboard.widgets.iter().find_map(|widget| {
            let expression = widget.queries.iter().find(|query| {
                query.expression.is_some() && query.label.as_deref() == Some(label)
            })?;
            let text = expression.expression.as_deref().unwrap_or_default();
            let named: Vec<&str> = text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .collect();
            let mut queries: Vec<MetricDataQuery> = widget
                .queries
                .iter()
                .filter(|query| query.metric_stat.is_some() && named.contains(&query.id.as_str()))
                .cloned()
                .collect();
            queries.push(expression.clone());
            Some(Self {
                id: expression.id.clone(),
                queries,
            })
        })
    }

    /// The measure labelled `label` in `dashboard` for a participant's stack.
    pub fn for_participant(
        backend: &dyn Backend,
        dashboard: &DashboardDefinition,
        participant: &str,
        label: &str,
    ) -> Result<Self, BackendError> {
        let names = backend
            .stack_names(participant)
            .ok_or_else(|| BackendError::UnknownStack(participant.to_owned()))?;
        Self::for_names(dashboard, &DashboardNames::from(&names), label)
    }

    /// The measure labelled `label` in `dashboard` for the stack with these names, from the
    /// dashboard as read once at start-up.
    pub fn for_names(
        dashboard: &DashboardDefinition,
        names: &DashboardNames,
        label: &str,
    ) -> Result<Self, BackendError> {
        let mut measure = Self::find(dashboard.generic(), label).ok_or_else(|| {
            BackendError::Unavailable(format!(
                "the dashboard definition has no metric-math query labelled {label:?}"
            ))
        })?;
        let dimensions = measure
            .queries
            .iter_mut()
            .filter_map(|query| query.metric_stat.as_mut())
            .flat_map(|stat| stat.metric.dimensions.iter_mut());
        for dimension in dimensions {
            if let Some(value) = marked_name(&dimension.value).and_then(|name| names.value_of(name))
            {
                dimension.value = value.to_owned();
            }
        }
        Ok(measure)
    }

    /// The request for this measure over `[start, end)` in periods of `period` seconds, every
    /// query's data returned (the inputs are the counts behind the value), oldest first.
    pub fn request(
        &self,
        start: EpochMillis,
        end: EpochMillis,
        period: u32,
    ) -> GetMetricDataRequest {
        let queries = self
            .queries
            .iter()
            .cloned()
            .map(|mut query| {
                if let Some(stat) = &mut query.metric_stat {
                    stat.period = period;
                }
                query.return_data = Some(true);
                query
            })
            .collect();
        GetMetricDataRequest {
            metric_data_queries: queries,
            start_time: start,
            end_time: end,
            scan_by: Some(ScanBy::TimestampAscending),
            max_datapoints: None,
            next_token: None,
        }
    }

    /// Measures a participant's stack over `[start, end)` in periods of `period` seconds.
    pub async fn measure(
        &self,
        backend: &dyn Backend,
        participant: &str,
        start: EpochMillis,
        end: EpochMillis,
        period: u32,
    ) -> Result<Measured, BackendError> {
        let response = backend
            .get_metric_data(participant, self.request(start, end, period))
            .await?;
        let mut points: Vec<(EpochMillis, f64)> = response
            .metric_data_results
            .iter()
            .filter(|result| result.id == self.id)
            .flat_map(|result| {
                result
                    .timestamps
                    .iter()
                    .copied()
                    .zip(result.values.iter().copied())
            })
            .collect();
        // Asked for ascending; sorted anyway, so a backend that ignores ScanBy cannot reverse it.
        points.sort_by_key(|&(timestamp, _)| timestamp);
        Ok(Measured { points, response })
    }
}

impl Measured {
    /// The sum over the range of the input query on the metric whose dimension value is
    /// `resource` (e.g. a queue's name); 0 when it has no point.
    pub fn input_sum(&self, measure: &Measure, resource: &str) -> f64 {
        let ids: Vec<&str> = measure
            .queries
            .iter()
            .filter(|query| {
                query.metric_stat.as_ref().is_some_and(|stat| {
                    stat.metric
                        .dimensions
                        .iter()
                        .any(|dimension| dimension.value == resource)
                })
            })
            .map(|query| query.id.as_str())
            .collect();
        self.response
            .metric_data_results
            .iter()
            .filter(|result| ids.contains(&result.id.as_str()))
            .flat_map(|result| &result.values)
            .sum::<f64>()
            // A float sum starts from -0.0; an empty range is plain 0.
            + 0.0
    }

    /// The newest value, if any period has one.
    pub fn latest(&self) -> Option<f64> {
        self.points.last().map(|&(_, value)| value)
    }
}

/// "Percent in error" over the last whole minutes of pipeline time, with the counts behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorWindow {
    /// Start of the window, inclusive: a whole minute.
    pub start: EpochMillis,
    /// End of the window, exclusive: the start of the minute in progress.
    pub end: EpochMillis,
    /// Events sent to the dead-letter queue in the window.
    pub dead_lettered: f64,
    /// Objects processed in the window: converted to a CSV notification or dead-lettered.
    pub processed: f64,
    /// The measure's value; `None` when nothing was processed.
    pub percent: Option<f64>,
}

/// "Percent in error" over the last `minutes` whole minutes of pipeline time, read as a single
/// period. SQS reports each minute when it ends, so the minute in progress is left out.
pub async fn percent_in_error(
    backend: &dyn Backend,
    dashboard: &DashboardDefinition,
    participant: &str,
    minutes: u32,
) -> Result<ErrorWindow, BackendError> {
    let names = backend
        .stack_names(participant)
        .ok_or_else(|| BackendError::UnknownStack(participant.to_owned()))?;
    let measure = Measure::for_participant(backend, dashboard, participant, PERCENT_IN_ERROR)?;
    let now = backend.clock().now();
    let end = now - now.rem_euclid(MINUTE);
    let start = end - EpochMillis::from(minutes) * MINUTE;
    let measured = measure
        .measure(backend, participant, start, end, minutes * 60)
        .await?;
    // A queue without a point sent nothing: SQS stops reporting an idle queue, and the DLQ
    // reports nothing before its first message.
    let converted = measured.input_sum(&measure, &names.csv_queue_name);
    let dead_lettered = measured.input_sum(&measure, &names.dlq_name);
    Ok(ErrorWindow {
        start,
        end,
        dead_lettered,
        processed: converted + dead_lettered,
        percent: measured.latest().filter(|value| value.is_finite()),
    })
}

const MINUTE: EpochMillis = 60_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_dashboard() -> Dashboard {
        Dashboard::for_stack(&DashboardNames {
            region: "us-east-1".into(),
            function_name: "f".into(),
            csv_queue_name: "csv".into(),
            dlq_name: "dlq".into(),
            topic_name: "t".into(),
        })
        .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn both_measures_are_defined_in_the_dashboard_with_their_inputs() {
        let dashboard = lab_dashboard();
        let error =
            Measure::find(&dashboard, PERCENT_IN_ERROR).unwrap_or_else(|| panic!("no measure"));
        let ids: Vec<&str> = error
            .queries
            .iter()
            .map(|query| query.id.as_str())
            .collect();
        assert_eq!(ids, ["m1", "m2", "e1"]);
        let flight =
            Measure::find(&dashboard, PERCENT_IN_FLIGHT).unwrap_or_else(|| panic!("no measure"));
        assert!(flight.queries.len() >= 2);
        assert!(Measure::find(&dashboard, "Percent of nothing").is_none());
    }

    #[test]
    fn the_dashboard_read_once_gives_each_stack_the_measure_its_own_dashboard_has() {
        let names = DashboardNames {
            region: "eu-west-1".into(),
            function_name: "ChaosTransformer-1".into(),
            csv_queue_name: "chaos-csv-queue-1".into(),
            dlq_name: "chaos-error-queue-1".into(),
            topic_name: "chaos-csv-topic-1".into(),
        };
        let own = Dashboard::for_stack(&names).unwrap_or_else(|error| panic!("{error}"));
        let definition =
            DashboardDefinition::compiled_in().unwrap_or_else(|error| panic!("{error}"));
        for label in [PERCENT_IN_ERROR, PERCENT_IN_FLIGHT] {
            let cached = Measure::for_names(&definition, &names, label)
                .unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(Some(cached), Measure::find(&own, label), "{label}");
        }
    }

    #[test]
    fn a_request_returns_every_input_at_the_asked_period() {
        let measure = Measure::find(&lab_dashboard(), PERCENT_IN_ERROR)
            .unwrap_or_else(|| panic!("no measure"));
        let request = measure.request(0, 600_000, 600);
        assert!(
            request
                .metric_data_queries
                .iter()
                .all(|query| query.return_data == Some(true))
        );
        assert!(
            request
                .metric_data_queries
                .iter()
                .filter_map(|query| query.metric_stat.as_ref())
                .all(|stat| stat.period == 600)
        );
    }
}
