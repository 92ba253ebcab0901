//! CloudWatch GetMetricData through the AWS backend's mapping, against a mocked CloudWatch
//! client (`aws-smithy-mocks`): moto does not speak the current CloudWatch protocol, so these
//! tests pin what goes out (namespaces, dimensions, periods, statistics, the dashboard's
//! metric-math expressions) and what comes back (timestamps, values, labels, status codes and
//! CloudWatch's newest-first order).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::ErrorMetadata;
use aws_sdk_cloudwatch::operation::get_metric_data::{
    GetMetricDataError, GetMetricDataInput, GetMetricDataOutput,
};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types as sdk;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use chaoslab::backend::aws::errors::Call;
use chaoslab::backend::aws::metrics::{
    accounting_from, accounting_request, get_metric_data, to_sdk_query,
};
use chaoslab::backend::{BackendError, StackNames};
use chaoslab::dashboard::{Dashboard, DashboardNames, MetricSource, TimeRange};
use chaoslab::metrics::{GetMetricDataRequest, GetMetricDataResponse, ScanBy, StatusCode};

const CALL: Call<'static> = Call {
    action: "cloudwatch:GetMetricData",
    resource_kind: "stack",
    resource_name: "3f9a0c1d2b4e5f67",
    endpoint: "https://monitoring.us-east-1.amazonaws.com",
};

/// 2026-11-26T10:00:00Z.
const T0: i64 = 1_795_687_200_000;

fn names() -> StackNames {
    StackNames::with_suffix("3f9a0c1d2b4e5f67", "us-east-1", "123456789012")
}

fn dashboard() -> Dashboard {
    Dashboard::for_stack(&DashboardNames::from(&names())).unwrap()
}

/// A rule that records every request and answers with `answer(request)`.
fn recording(
    answer: impl Fn(&GetMetricDataInput) -> GetMetricDataOutput + Send + Sync + 'static,
) -> (Rule, Arc<Mutex<Vec<GetMetricDataInput>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let rule = mock!(Client::get_metric_data)
        .match_requests(move |input| {
            record.lock().unwrap().push(input.clone());
            true
        })
        .then_compute_output(answer);
    (rule, seen)
}

fn result(
    id: &str,
    label: &str,
    points: &[(i64, f64)],
    status: sdk::StatusCode,
) -> sdk::MetricDataResult {
    sdk::MetricDataResult::builder()
        .id(id)
        .label(label)
        .set_timestamps(Some(
            points
                .iter()
                .map(|(millis, _)| DateTime::from_millis(*millis))
                .collect(),
        ))
        .set_values(Some(points.iter().map(|(_, value)| *value).collect()))
        .status_code(status)
        .build()
}

/// The dashboard's widgets as a [`MetricSource`] over the backend's CloudWatch mapping.
struct CloudWatch(Client);

impl MetricSource for CloudWatch {
    type Error = BackendError;

    async fn get_metric_data(
        &self,
        request: GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, BackendError> {
        get_metric_data(&self.0, &request, &CALL).await
    }
}

#[tokio::test]
async fn dashboard_queries_go_out_with_their_namespaces_dimensions_periods_stats_and_math() {
    let (rule, seen) = recording(|_| GetMetricDataOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    let dashboard = dashboard();
    let widget = dashboard
        .widget("Percent in error and in flight over time")
        .unwrap();
    let range = TimeRange {
        start: T0,
        end: T0 + 3_600_000,
        period: None,
    };
    get_metric_data(&client, &widget.request(&range), &CALL)
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let input = &seen[0];
    assert_eq!(input.start_time(), Some(&DateTime::from_millis(T0)));
    assert_eq!(
        input.end_time(),
        Some(&DateTime::from_millis(T0 + 3_600_000))
    );
    assert_eq!(
        input.scan_by(),
        None,
        "CloudWatch's default order: newest first"
    );
    let queries = input.metric_data_queries();
    let ids: Vec<&str> = queries.iter().filter_map(|query| query.id()).collect();
    assert_eq!(ids, ["m1", "m2", "m3", "m4", "m5", "e1", "e2"]);

    let stat = |index: usize| queries[index].metric_stat().unwrap();
    let metric = |index: usize| stat(index).metric().unwrap();
    let dimension = |index: usize| {
        let dimension = &metric(index).dimensions()[0];
        (dimension.name().unwrap(), dimension.value().unwrap())
    };
    let names = names();
    assert_eq!(metric(0).namespace(), Some("AWS/SQS"));
    assert_eq!(metric(0).metric_name(), Some("NumberOfMessagesSent"));
    assert_eq!(dimension(0), ("QueueName", names.csv_queue_name.as_str()));
    // The "." shorthand repeats the namespace and the metric; only the queue changes.
    assert_eq!(metric(1).metric_name(), Some("NumberOfMessagesSent"));
    assert_eq!(dimension(1), ("QueueName", names.dlq_name.as_str()));
    assert_eq!(metric(2).metric_name(), Some("NumberOfMessagesDeleted"));
    assert_eq!(dimension(2), ("QueueName", names.csv_queue_name.as_str()));
    for query in &queries[..3] {
        let stat = query.metric_stat().unwrap();
        assert_eq!(stat.period(), Some(300));
        assert_eq!(stat.stat(), Some("Sum"));
        assert_eq!(query.return_data(), Some(false), "inputs stay hidden");
        assert_eq!(query.expression(), None);
    }
    assert_eq!(queries[0].label(), Some("CSV notifications"));
    assert_eq!(
        metric(3).metric_name(),
        Some("ApproximateNumberOfMessagesVisible")
    );
    assert_eq!(stat(3).stat(), Some("Maximum"));
    assert_eq!(
        queries[5].expression(),
        Some("100 * FILL(m2, 0) / (FILL(m1, 0) + FILL(m2, 0))")
    );
    assert_eq!(queries[5].label(), Some("Percent in error"));
    assert_eq!(
        queries[6].expression(),
        Some("100 * (m4 + m5) / (m4 + m5 + m3)")
    );
    assert_eq!(queries[6].label(), Some("Percent in flight"));
    assert!(queries[5].metric_stat().is_none());
}

#[test]
fn every_dashboard_query_maps_field_for_field() {
    for widget in &dashboard().widgets {
        for query in &widget.queries {
            let sdk = to_sdk_query(query);
            assert_eq!(sdk.id(), Some(query.id.as_str()));
            assert_eq!(sdk.expression(), query.expression.as_deref());
            assert_eq!(sdk.label(), query.label.as_deref());
            assert_eq!(sdk.return_data(), query.return_data);
            assert_eq!(sdk.period(), query.period.map(|period| period as i32));
            match (&query.metric_stat, sdk.metric_stat()) {
                (None, None) => {}
                (Some(ours), Some(theirs)) => {
                    assert_eq!(theirs.period(), Some(ours.period as i32));
                    assert_eq!(theirs.stat(), Some(ours.stat.as_str()));
                    let metric = theirs.metric().unwrap();
                    assert_eq!(metric.namespace(), Some(ours.metric.namespace.as_str()));
                    assert_eq!(metric.metric_name(), Some(ours.metric.metric_name.as_str()));
                    let dimensions: Vec<(&str, &str)> = metric
                        .dimensions()
                        .iter()
                        .map(|dimension| (dimension.name().unwrap(), dimension.value().unwrap()))
                        .collect();
                    let expected: Vec<(&str, &str)> = ours
                        .metric
                        .dimensions
                        .iter()
                        .map(|dimension| (dimension.name.as_str(), dimension.value.as_str()))
                        .collect();
                    assert_eq!(dimensions, expected);
                }
                (ours, theirs) => panic!("{}: {ours:?} became {theirs:?}", query.id),
            }
        }
    }
}

#[tokio::test]
async fn results_keep_cloudwatchs_order_labels_and_status() {
    let (rule, _) = recording(|_| {
        GetMetricDataOutput::builder()
            .metric_data_results(result(
                "e1",
                "Percent in error",
                &[(T0 + 600_000, 1.5), (T0 + 300_000, 0.0), (T0, 2.25)],
                sdk::StatusCode::Complete,
            ))
            .metric_data_results(result(
                "e2",
                "",
                &[(T0 + 600_000, 10.0)],
                sdk::StatusCode::PartialData,
            ))
            .build()
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    let request = dashboard()
        .widget("Percent in error and in flight over time")
        .unwrap()
        .request(&TimeRange {
            start: T0,
            end: T0 + 900_000,
            period: None,
        });
    let response = get_metric_data(&client, &request, &CALL).await.unwrap();
    let results = &response.metric_data_results;
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].id, "e1");
    assert_eq!(results[0].label, "Percent in error");
    assert_eq!(results[0].timestamps, [T0 + 600_000, T0 + 300_000, T0]);
    assert_eq!(results[0].values, [1.5, 0.0, 2.25]);
    assert_eq!(results[0].status_code, StatusCode::Complete);
    assert_eq!(results[1].label, "");
    assert_eq!(results[1].status_code, StatusCode::PartialData);

    // The dashboard turns them around, oldest first, for the charts.
    let data = dashboard()
        .query(
            &CloudWatch(client),
            TimeRange {
                start: T0,
                end: T0 + 900_000,
                period: None,
            },
        )
        .await
        .unwrap();
    let series = &data.widgets[0].series[0];
    assert_eq!(series.timestamps, [T0, T0 + 300_000, T0 + 600_000]);
    assert_eq!(series.values, [2.25, 0.0, 1.5]);
}

#[tokio::test]
async fn scan_by_and_period_overrides_pass_through() {
    let (rule, seen) = recording(|_| GetMetricDataOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    let mut request = dashboard()
        .widget("Percent in error")
        .unwrap()
        .request(&TimeRange {
            start: T0,
            end: T0 + 3_600_000,
            period: Some(60),
        });
    request.scan_by = Some(ScanBy::TimestampAscending);
    get_metric_data(&client, &request, &CALL).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].scan_by(), Some(&sdk::ScanBy::TimestampAscending));
    let periods: Vec<Option<i32>> = seen[0]
        .metric_data_queries()
        .iter()
        .filter_map(|query| query.metric_stat())
        .map(|stat| stat.period())
        .collect();
    assert_eq!(periods, [Some(60), Some(60)]);
}

#[tokio::test]
async fn pages_are_followed_and_joined_per_query() {
    let rule = mock!(Client::get_metric_data)
        .sequence()
        .output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(result(
                    "m1",
                    "CSV notifications",
                    &[(T0 + 120_000, 3.0), (T0 + 60_000, 2.0)],
                    sdk::StatusCode::PartialData,
                ))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(result(
                    "m1",
                    "CSV notifications",
                    &[(T0, 1.0)],
                    sdk::StatusCode::Complete,
                ))
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&rule]);
    let request = dashboard()
        .widget("CSV queue (SQS)")
        .unwrap()
        .request(&TimeRange {
            start: T0,
            end: T0 + 180_000,
            period: Some(60),
        });
    let response = get_metric_data(&client, &request, &CALL).await.unwrap();
    assert_eq!(rule.num_calls(), 2);
    let m1 = &response.metric_data_results[0];
    assert_eq!(m1.timestamps, [T0 + 120_000, T0 + 60_000, T0]);
    assert_eq!(m1.values, [3.0, 2.0, 1.0]);
    assert_eq!(m1.status_code, StatusCode::Complete);
}

#[tokio::test]
async fn max_datapoints_and_next_token_pass_through_and_partial_data_comes_back() {
    let (rule, seen) = recording(|_| {
        GetMetricDataOutput::builder()
            .metric_data_results(result(
                "m1",
                "CSV notifications",
                &[(T0 + 60_000, 2.0)],
                sdk::StatusCode::PartialData,
            ))
            .next_token("page-3")
            .build()
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    let mut request = dashboard()
        .widget("CSV queue (SQS)")
        .unwrap()
        .request(&TimeRange {
            start: T0,
            end: T0 + 180_000,
            period: Some(60),
        });
    request.max_datapoints = Some(1);
    request.next_token = Some("page-2".to_owned());
    let response = get_metric_data(&client, &request, &CALL).await.unwrap();

    // One call: the caller pages, so the token is handed back rather than followed.
    assert_eq!(rule.num_calls(), 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].max_datapoints(), Some(1));
    assert_eq!(seen[0].next_token(), Some("page-2"));
    assert_eq!(response.next_token.as_deref(), Some("page-3"));
    let m1 = &response.metric_data_results[0];
    assert_eq!(m1.status_code, StatusCode::PartialData);
    assert_eq!(m1.values, [2.0]);
}

#[tokio::test]
async fn without_max_datapoints_or_next_token_none_is_sent() {
    let (rule, seen) = recording(|_| GetMetricDataOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    let request = dashboard()
        .widget("CSV queue (SQS)")
        .unwrap()
        .request(&TimeRange {
            start: T0,
            end: T0 + 180_000,
            period: Some(60),
        });
    let response = get_metric_data(&client, &request, &CALL).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].max_datapoints(), None);
    assert_eq!(seen[0].next_token(), None);
    assert_eq!(response.next_token, None);
}

#[tokio::test]
async fn failures_become_readable_unavailable_errors() {
    let request = dashboard()
        .widget("Percent in error")
        .unwrap()
        .request(&TimeRange {
            start: T0,
            end: T0 + 3_600_000,
            period: None,
        });
    let cases = [
        (
            "AccessDenied",
            "permission denied for cloudwatch:GetMetricData",
        ),
        ("Throttling", "AWS is throttling cloudwatch:GetMetricData"),
        ("ExpiredToken", "AWS credentials have expired"),
        ("InvalidClientTokenId", "AWS credentials are invalid"),
    ];
    for (code, expected) in cases {
        let rule = mock!(Client::get_metric_data).then_error(move || {
            GetMetricDataError::generic(
                ErrorMetadata::builder()
                    .code(code)
                    .message("from the mock")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
        match get_metric_data(&client, &request, &CALL).await {
            Err(BackendError::Unavailable(message)) => {
                assert!(message.starts_with(expected), "{code}: {message}")
            }
            other => panic!("{code}: {other:?}"),
        }
    }

    // A result CloudWatch would not compute for lack of permission names its query.
    let rule = mock!(Client::get_metric_data).then_output(|| {
        GetMetricDataOutput::builder()
            .metric_data_results(result("m1", "", &[], sdk::StatusCode::Forbidden))
            .build()
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    match get_metric_data(&client, &request, &CALL).await {
        Err(BackendError::Unavailable(message)) => {
            assert!(message.contains("query \"m1\""), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn accounting_sums_the_pipeline_metrics_since_the_assignment() {
    let names = names();
    // Assigned at 10:00:30, asked at 10:42:10: one period from 10:00 to 10:43.
    let request = accounting_request(&names, T0 + 30_000, T0 + 2_530_000);
    assert_eq!(request.start_time, T0);
    assert_eq!(request.end_time, T0 + 43 * 60_000);
    let (rule, seen) = recording(|_| {
        GetMetricDataOutput::builder()
            .metric_data_results(result(
                "published",
                "",
                &[(T0, 100.0)],
                sdk::StatusCode::Complete,
            ))
            .metric_data_results(result(
                "converted",
                "",
                &[(T0, 95.0)],
                sdk::StatusCode::Complete,
            ))
            .metric_data_results(result(
                "dead_lettered",
                "",
                &[(T0, 1.0)],
                sdk::StatusCode::Complete,
            ))
            .metric_data_results(result(
                "consumed",
                "",
                &[(T0, 90.0)],
                sdk::StatusCode::Complete,
            ))
            .build()
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    let response = get_metric_data(&client, &request, &CALL).await.unwrap();
    let accounting = accounting_from(&response);
    assert_eq!(accounting.published, 100);
    assert_eq!(accounting.converted, 95);
    assert_eq!(accounting.dead_lettered, 1);
    assert_eq!(accounting.in_flight, 4);
    assert_eq!(accounting.consumed, 90);
    assert!(accounting.balances());

    let seen = seen.lock().unwrap();
    let queries = seen[0].metric_data_queries();
    let described: Vec<(&str, &str, &str, &str, Option<i32>)> = queries
        .iter()
        .map(|query| {
            let stat = query.metric_stat().unwrap();
            let metric = stat.metric().unwrap();
            (
                metric.namespace().unwrap(),
                metric.metric_name().unwrap(),
                metric.dimensions()[0].value().unwrap(),
                stat.stat().unwrap(),
                stat.period(),
            )
        })
        .collect();
    let period = Some(43 * 60);
    assert_eq!(
        described,
        [
            (
                "AWS/Lambda",
                "AsyncEventsReceived",
                names.function_name.as_str(),
                "Sum",
                period
            ),
            (
                "AWS/SQS",
                "NumberOfMessagesSent",
                names.csv_queue_name.as_str(),
                "Sum",
                period
            ),
            (
                "AWS/SQS",
                "NumberOfMessagesSent",
                names.dlq_name.as_str(),
                "Sum",
                period
            ),
            (
                "AWS/SQS",
                "NumberOfMessagesDeleted",
                names.csv_queue_name.as_str(),
                "Sum",
                period
            ),
        ]
    );

    // Metrics trail the pipeline: more converted than published yet is never negative in flight.
    let early = GetMetricDataResponse {
        metric_data_results: vec![],
        next_token: None,
    };
    assert_eq!(accounting_from(&early).in_flight, 0);
}
