//! GetMetricData over the metric store, as CloudWatch answers it: statistics, period alignment,
//! time edges, order, dimension matching, metric math, validation and the JSON shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chaoslab::backend::system_now_millis;
use chaoslab::metrics::{
    Dimension, EpochMillis, GetMetricDataRequest, GetMetricDataResponse, Metric, MetricDataQuery,
    MetricDataResult, MetricStat, ScanBy, StatusCode as DataStatus,
    names::lambda,
    query::{QueryError, get_metric_data},
    rfc3339,
    store::{MINUTE_MILLIS, MetricStore, minute_of},
};
use serde_json::{Value, json};
use support::app::Lab;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A time on the lab day, e.g. `at("12:02:30")`.
fn at(time: &str) -> EpochMillis {
    rfc3339::parse(&format!("2026-11-26T{time}Z")).unwrap()
}

/// The time of day of a timestamp, e.g. `"12:02:00"`.
fn time_of(millis: EpochMillis) -> String {
    rfc3339::format(millis)["2026-11-26T".len()..]
        .trim_end_matches('Z')
        .to_owned()
}

fn metric(name: &str, dimensions: &[(&str, &str)]) -> Metric {
    Metric {
        namespace: lambda::NAMESPACE.to_owned(),
        metric_name: name.to_owned(),
        dimensions: dimensions
            .iter()
            .map(|(name, value)| Dimension {
                name: (*name).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
    }
}

/// A Lambda metric of function `f`.
fn lambda_metric(name: &str) -> Metric {
    metric(name, &[(lambda::DIMENSION, "f")])
}

fn metric_query(id: &str, metric: Metric, period: u32, stat: &str) -> MetricDataQuery {
    MetricDataQuery {
        id: id.to_owned(),
        metric_stat: Some(MetricStat {
            metric,
            period,
            stat: stat.to_owned(),
        }),
        expression: None,
        label: None,
        return_data: None,
        period: None,
    }
}

fn expression(id: &str, text: &str) -> MetricDataQuery {
    MetricDataQuery {
        id: id.to_owned(),
        metric_stat: None,
        expression: Some(text.to_owned()),
        label: None,
        return_data: None,
        period: None,
    }
}

fn hidden(query: MetricDataQuery) -> MetricDataQuery {
    MetricDataQuery {
        return_data: Some(false),
        ..query
    }
}

fn request(queries: Vec<MetricDataQuery>, start: &str, end: &str) -> GetMetricDataRequest {
    GetMetricDataRequest {
        metric_data_queries: queries,
        start_time: at(start),
        end_time: at(end),
        scan_by: Some(ScanBy::TimestampAscending),
        max_datapoints: None,
        next_token: None,
    }
}

fn answer(store: &MetricStore, request: &GetMetricDataRequest) -> GetMetricDataResponse {
    get_metric_data(store, request).unwrap()
}

/// The datapoints of a result as `(time of day, value)`, in the order returned.
fn points(result: &MetricDataResult) -> Vec<(String, f64)> {
    assert_eq!(result.timestamps.len(), result.values.len());
    result
        .timestamps
        .iter()
        .zip(&result.values)
        .map(|(&timestamp, &value)| (time_of(timestamp), value))
        .collect()
}

fn point(time: &str, value: f64) -> (String, f64) {
    (time.to_owned(), value)
}

/// The datapoints of the only result of a one-query request over the hour from 12:00.
fn single_stat(store: &MetricStore, name: &str, period: u32, stat: &str) -> Vec<(String, f64)> {
    let request = request(
        vec![metric_query("m1", lambda_metric(name), period, stat)],
        "12:00:00",
        "13:00:00",
    );
    let response = answer(store, &request);
    assert_eq!(response.metric_data_results.len(), 1);
    points(&response.metric_data_results[0])
}

fn refused(request: &GetMetricDataRequest) -> QueryError {
    get_metric_data(&MetricStore::new(), request).unwrap_err()
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// Durations 1, 2, ..., 100 ms, spread over the five minutes from 12:00.
fn durations_one_to_hundred() -> MetricStore {
    let mut store = MetricStore::new();
    let duration = lambda_metric(lambda::DURATION);
    for value in 1..=100 {
        let second = (value * 7) % 300;
        store.record(&duration, at("12:00:00") + second * 1000, value as f64);
    }
    store
}

#[test]
fn sum_adds_every_value_in_the_period() {
    let store = durations_one_to_hundred();
    assert_eq!(
        single_stat(&store, lambda::DURATION, 300, "Sum"),
        vec![point("12:00:00", 5050.0)]
    );
}

#[test]
fn average_is_sum_over_sample_count() {
    let store = durations_one_to_hundred();
    assert_eq!(
        single_stat(&store, lambda::DURATION, 300, "Average"),
        vec![point("12:00:00", 50.5)]
    );
}

#[test]
fn average_weighs_every_value_not_every_minute() {
    let mut store = MetricStore::new();
    let duration = lambda_metric(lambda::DURATION);
    for _ in 0..4 {
        store.record(&duration, at("12:00:10"), 1.0);
    }
    store.record(&duration, at("12:01:10"), 6.0);
    assert_eq!(
        single_stat(&store, lambda::DURATION, 300, "Average"),
        vec![point("12:00:00", 2.0)]
    );
}

#[test]
fn minimum_and_maximum_are_the_extremes() {
    let store = durations_one_to_hundred();
    assert_eq!(
        single_stat(&store, lambda::DURATION, 300, "Minimum"),
        vec![point("12:00:00", 1.0)]
    );
    assert_eq!(
        single_stat(&store, lambda::DURATION, 300, "Maximum"),
        vec![point("12:00:00", 100.0)]
    );
}

#[test]
fn sample_count_counts_values() {
    let store = durations_one_to_hundred();
    assert_eq!(
        single_stat(&store, lambda::DURATION, 300, "SampleCount"),
        vec![point("12:00:00", 100.0)]
    );
}

#[test]
fn percentiles_rank_every_value_of_the_period() {
    let store = durations_one_to_hundred();
    assert_eq!(
        single_stat(&store, lambda::DURATION, 300, "p50"),
        vec![point("12:00:00", 50.0)]
    );
    assert_eq!(
        single_stat(&store, lambda::DURATION, 300, "p99"),
        vec![point("12:00:00", 99.0)]
    );
    assert_eq!(
        single_stat(&store, lambda::DURATION, 300, "p99.5"),
        vec![point("12:00:00", 100.0)]
    );
}

#[test]
fn percentiles_keep_fractional_milliseconds() {
    let mut store = MetricStore::new();
    let duration = lambda_metric(lambda::DURATION);
    for value in [12.25, 3.5, 7.125] {
        store.record(&duration, at("12:00:30"), value);
    }
    assert_eq!(
        single_stat(&store, lambda::DURATION, 60, "p50"),
        vec![point("12:00:00", 7.125)]
    );
}

// ---------------------------------------------------------------------------------------------
// Time: alignment, edges, order

#[test]
fn periods_start_at_start_time_rounded_down_to_the_minute() {
    let mut store = MetricStore::new();
    let invocations = lambda_metric(lambda::INVOCATIONS);
    for time in ["12:02:10", "12:06:59", "12:07:00", "12:13:30", "12:16:59"] {
        store.record(&invocations, at(time), 1.0);
    }
    let request = request(
        vec![metric_query("m1", invocations, 300, "Sum")],
        "12:02:30",
        "12:17:00",
    );
    let response = answer(&store, &request);
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![
            point("12:02:00", 2.0),
            point("12:07:00", 1.0),
            point("12:12:00", 2.0),
        ]
    );
}

#[test]
fn a_point_at_start_time_is_included_and_one_at_end_time_is_not() {
    let mut store = MetricStore::new();
    let invocations = lambda_metric(lambda::INVOCATIONS);
    for time in ["11:59:59", "12:00:00", "12:09:59", "12:10:00"] {
        store.record(&invocations, at(time), 1.0);
    }
    let request = request(
        vec![metric_query("m1", invocations, 60, "Sum")],
        "12:00:00",
        "12:10:00",
    );
    let response = answer(&store, &request);
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![point("12:00:00", 1.0), point("12:09:00", 1.0)]
    );
}

#[test]
fn the_last_period_stops_at_end_time() {
    let mut store = MetricStore::new();
    let invocations = lambda_metric(lambda::INVOCATIONS);
    for time in ["12:05:30", "12:06:30", "12:07:30"] {
        store.record(&invocations, at(time), 1.0);
    }
    let request = request(
        vec![metric_query("m1", invocations, 300, "Sum")],
        "12:00:00",
        "12:07:00",
    );
    let response = answer(&store, &request);
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![point("12:05:00", 2.0)]
    );
}

fn three_minutes_of_invocations() -> MetricStore {
    let mut store = MetricStore::new();
    let invocations = lambda_metric(lambda::INVOCATIONS);
    for (minute, count) in [("12:00:05", 1), ("12:01:05", 2), ("12:02:05", 3)] {
        for _ in 0..count {
            store.record(&invocations, at(minute), 1.0);
        }
    }
    store
}

#[test]
fn datapoints_come_newest_first_by_default() {
    let store = three_minutes_of_invocations();
    let mut request = request(
        vec![metric_query(
            "m1",
            lambda_metric(lambda::INVOCATIONS),
            60,
            "Sum",
        )],
        "12:00:00",
        "12:05:00",
    );
    request.scan_by = None;
    let response = answer(&store, &request);
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![
            point("12:02:00", 3.0),
            point("12:01:00", 2.0),
            point("12:00:00", 1.0),
        ]
    );
}

#[test]
fn datapoints_come_oldest_first_when_scanning_ascending() {
    let store = three_minutes_of_invocations();
    let mut request = request(
        vec![metric_query(
            "m1",
            lambda_metric(lambda::INVOCATIONS),
            60,
            "Sum",
        )],
        "12:00:00",
        "12:05:00",
    );
    request.scan_by = Some(ScanBy::TimestampAscending);
    let response = answer(&store, &request);
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![
            point("12:00:00", 1.0),
            point("12:01:00", 2.0),
            point("12:02:00", 3.0),
        ]
    );
}

#[test]
fn an_idle_period_has_no_datapoint_rather_than_a_zero() {
    let mut store = MetricStore::new();
    let invocations = lambda_metric(lambda::INVOCATIONS);
    store.record(&invocations, at("12:00:30"), 1.0);
    store.record(&invocations, at("12:03:30"), 1.0);
    assert_eq!(
        single_stat(&store, lambda::INVOCATIONS, 60, "Sum"),
        vec![point("12:00:00", 1.0), point("12:03:00", 1.0)]
    );
    assert_eq!(
        single_stat(&store, lambda::INVOCATIONS, 60, "SampleCount"),
        vec![point("12:00:00", 1.0), point("12:03:00", 1.0)]
    );
}

#[test]
fn a_metric_without_data_gives_an_empty_result_not_an_error() {
    let store = three_minutes_of_invocations();
    let request = request(
        vec![metric_query(
            "m1",
            lambda_metric(lambda::THROTTLES),
            60,
            "Sum",
        )],
        "12:00:00",
        "13:00:00",
    );
    let response = answer(&store, &request);
    let result = &response.metric_data_results[0];
    assert_eq!(result.id, "m1");
    assert!(result.timestamps.is_empty() && result.values.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Which metric

#[test]
fn a_metric_matches_on_its_exact_set_of_dimensions() {
    let mut store = MetricStore::new();
    let f = metric(lambda::ERRORS, &[("FunctionName", "f")]);
    let g = metric(lambda::ERRORS, &[("FunctionName", "g")]);
    let f_alias = metric(
        lambda::ERRORS,
        &[("FunctionName", "f"), ("Resource", "f:live")],
    );
    store.record(&f, at("12:00:10"), 1.0);
    store.record(&g, at("12:00:20"), 10.0);
    store.record(&f_alias, at("12:00:30"), 100.0);

    let alias_reordered = metric(
        lambda::ERRORS,
        &[("Resource", "f:live"), ("FunctionName", "f")],
    );
    let no_dimensions = metric(lambda::ERRORS, &[]);
    let other_namespace = Metric {
        namespace: "AWS/SQS".to_owned(),
        ..f.clone()
    };
    let request = request(
        vec![
            metric_query("f", f, 60, "Sum"),
            metric_query("alias", alias_reordered, 60, "Sum"),
            metric_query("all", no_dimensions, 60, "Sum"),
            metric_query("sqs", other_namespace, 60, "Sum"),
        ],
        "12:00:00",
        "12:05:00",
    );
    let response = answer(&store, &request);
    let sums: Vec<Vec<(String, f64)>> = response.metric_data_results.iter().map(points).collect();
    assert_eq!(
        sums,
        vec![
            vec![point("12:00:00", 1.0)],
            vec![point("12:00:00", 100.0)],
            vec![],
            vec![],
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Results and metric math

/// Invocations and errors of `f`, with errors in only some minutes.
fn invocations_and_errors() -> MetricStore {
    let mut store = MetricStore::new();
    let invocations = lambda_metric(lambda::INVOCATIONS);
    let errors = lambda_metric(lambda::ERRORS);
    for (time, invoked, failed) in [
        ("12:00:10", 10, 0),
        ("12:01:10", 8, 2),
        ("12:02:10", 0, 4),
        ("12:03:10", 5, 5),
    ] {
        for _ in 0..invoked {
            store.record(&invocations, at(time), 1.0);
        }
        for _ in 0..failed {
            store.record(&errors, at(time), 1.0);
        }
    }
    store
}

#[test]
fn results_come_in_request_order_with_default_labels() {
    let store = invocations_and_errors();
    let mut labelled = metric_query("errors", lambda_metric(lambda::ERRORS), 60, "Sum");
    labelled.label = Some("Failed attempts".to_owned());
    let request = request(
        vec![
            expression("total", "invocations + errors"),
            metric_query("invocations", lambda_metric(lambda::INVOCATIONS), 60, "Sum"),
            labelled,
        ],
        "12:00:00",
        "12:05:00",
    );
    let response = answer(&store, &request);
    let ids_and_labels: Vec<(&str, &str)> = response
        .metric_data_results
        .iter()
        .map(|result| (result.id.as_str(), result.label.as_str()))
        .collect();
    assert_eq!(
        ids_and_labels,
        vec![
            ("total", "invocations + errors"),
            ("invocations", "Invocations"),
            ("errors", "Failed attempts"),
        ]
    );
}

#[test]
fn hidden_queries_are_not_returned_but_feed_expressions() {
    let store = invocations_and_errors();
    let request = request(
        vec![
            hidden(metric_query(
                "m1",
                lambda_metric(lambda::INVOCATIONS),
                60,
                "Sum",
            )),
            expression("doubled", "m1 * 2"),
        ],
        "12:00:00",
        "12:05:00",
    );
    let response = answer(&store, &request);
    assert_eq!(response.metric_data_results.len(), 1);
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![
            point("12:00:00", 20.0),
            point("12:01:00", 16.0),
            point("12:03:00", 10.0),
        ]
    );
}

#[test]
fn arithmetic_between_series_counts_a_missing_value_as_zero() {
    let store = invocations_and_errors();
    let request = request(
        vec![
            hidden(metric_query(
                "m1",
                lambda_metric(lambda::INVOCATIONS),
                60,
                "Sum",
            )),
            hidden(metric_query("m2", lambda_metric(lambda::ERRORS), 60, "Sum")),
            expression("percent", "100 * m2 / (m1 + m2)"),
        ],
        "12:00:00",
        "12:05:00",
    );
    let response = answer(&store, &request);
    // CloudWatch treats a missing value as 0: 12:00 has no error point (0 %) and 12:02 no
    // invocation point (100 %).
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![
            point("12:00:00", 0.0),
            point("12:01:00", 20.0),
            point("12:02:00", 100.0),
            point("12:03:00", 50.0)
        ]
    );
}

#[test]
fn division_by_zero_gives_no_point() {
    let mut store = MetricStore::new();
    let duration = lambda_metric(lambda::DURATION);
    store.record(&duration, at("12:00:10"), 0.0);
    store.record(&duration, at("12:01:10"), 4.0);
    let request = request(
        vec![
            hidden(metric_query("m1", duration, 60, "Maximum")),
            expression("inverse", "1 / m1"),
        ],
        "12:00:00",
        "12:05:00",
    );
    let response = answer(&store, &request);
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![point("12:01:00", 0.25)]
    );
}

#[test]
fn integer_constants_divide_as_floats() {
    let store = three_minutes_of_invocations();
    let request = request(
        vec![
            hidden(metric_query(
                "m1",
                lambda_metric(lambda::INVOCATIONS),
                60,
                "Sum",
            )),
            expression("half", "m1 / 2"),
            expression("also_half", "1 / 2 * m1"),
        ],
        "12:00:00",
        "12:01:00",
    );
    let response = answer(&store, &request);
    for result in &response.metric_data_results {
        assert_eq!(
            points(result),
            vec![point("12:00:00", 0.5)],
            "{}",
            result.id
        );
    }
}

#[test]
fn expressions_can_use_expressions_defined_later_in_the_request() {
    let store = invocations_and_errors();
    let request = request(
        vec![
            expression("percent", "100 * ratio"),
            hidden(expression("ratio", "errors / attempts")),
            hidden(expression("attempts", "invocations")),
            hidden(metric_query(
                "invocations",
                lambda_metric(lambda::INVOCATIONS),
                60,
                "Sum",
            )),
            hidden(metric_query(
                "errors",
                lambda_metric(lambda::ERRORS),
                60,
                "Sum",
            )),
        ],
        "12:00:00",
        "12:05:00",
    );
    let response = answer(&store, &request);
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![
            point("12:00:00", 0.0),
            point("12:01:00", 25.0),
            point("12:03:00", 100.0)
        ]
    );
}

#[test]
fn fill_gives_a_sparse_metric_a_value_where_the_others_have_points() {
    let store = invocations_and_errors();
    let request = request(
        vec![
            hidden(metric_query(
                "m1",
                lambda_metric(lambda::INVOCATIONS),
                60,
                "Sum",
            )),
            hidden(metric_query("m2", lambda_metric(lambda::ERRORS), 60, "Sum")),
            expression("percent", "100 * FILL(m2, 0) / m1"),
        ],
        "12:00:00",
        "12:05:00",
    );
    let response = answer(&store, &request);
    assert_eq!(
        points(&response.metric_data_results[0]),
        vec![
            point("12:00:00", 0.0),
            point("12:01:00", 25.0),
            point("12:03:00", 100.0),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Validation: every refusal names what to fix

fn invocations_query(id: &str) -> MetricDataQuery {
    metric_query(id, lambda_metric(lambda::INVOCATIONS), 60, "Sum")
}

fn assert_names(error: &QueryError, words: &[&str]) {
    let message = error.to_string();
    for word in words {
        assert!(
            message.contains(word),
            "{message:?} should mention {word:?}"
        );
    }
}

#[test]
fn a_request_without_queries_is_refused() {
    let error = refused(&request(vec![], "12:00:00", "13:00:00"));
    assert_eq!(error, QueryError::NoQueries);
    assert_names(&error, &["MetricDataQueries"]);
}

#[test]
fn more_than_500_queries_are_refused() {
    let queries = (0..501)
        .map(|i| invocations_query(&format!("m{i}")))
        .collect();
    let error = refused(&request(queries, "12:00:00", "12:01:00"));
    assert_eq!(error, QueryError::TooManyQueries { count: 501 });
    assert_names(&error, &["501", "500"]);

    let queries = (0..500)
        .map(|i| invocations_query(&format!("m{i}")))
        .collect();
    assert!(
        get_metric_data(
            &MetricStore::new(),
            &request(queries, "12:00:00", "12:01:00")
        )
        .is_ok()
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let error = refused(&request(
        vec![invocations_query("m1"), expression("m1", "m1 * 2")],
        "12:00:00",
        "13:00:00",
    ));
    assert!(matches!(error, QueryError::DuplicateId { ref id } if id == "m1"));
    assert_names(&error, &["`m1`"]);
}

#[test]
fn ids_must_start_with_a_lower_case_letter_and_hold_only_letters_digits_and_underscores() {
    for id in ["M1", "1m", "_m", "m-1", "m 1", ""] {
        let error = refused(&request(
            vec![invocations_query(id)],
            "12:00:00",
            "13:00:00",
        ));
        assert!(
            matches!(error, QueryError::InvalidId { id: ref bad } if bad == id),
            "{id:?}"
        );
        assert_names(&error, &[&format!("{id:?}"), "lower-case letter"]);
    }
}

#[test]
fn a_query_needs_exactly_one_of_metric_stat_and_expression() {
    let mut both = invocations_query("m1");
    both.expression = Some("1 * m1".to_owned());
    let error = refused(&request(vec![both], "12:00:00", "13:00:00"));
    assert!(matches!(error, QueryError::MetricAndExpression { ref id } if id == "m1"));
    assert_names(&error, &["`m1`", "MetricStat", "Expression"]);

    let mut neither = invocations_query("m2");
    neither.metric_stat = None;
    let error = refused(&request(vec![neither], "12:00:00", "13:00:00"));
    assert!(matches!(error, QueryError::NothingToQuery { ref id } if id == "m2"));
    assert_names(&error, &["`m2`", "MetricStat", "Expression"]);
}

#[test]
fn periods_must_be_positive_multiples_of_60() {
    for period in [0, 30, 90, 301] {
        let query = metric_query("m1", lambda_metric(lambda::INVOCATIONS), period, "Sum");
        let error = refused(&request(vec![query], "12:00:00", "13:00:00"));
        assert_eq!(
            error,
            QueryError::InvalidPeriod {
                id: "m1".to_owned(),
                period
            }
        );
        assert_names(&error, &["`m1`", &period.to_string(), "multiple of 60"]);
    }
}

#[test]
fn unknown_statistics_are_refused() {
    for stat in ["Avg", "sum", "p101", "p99.999", "tm90"] {
        let query = metric_query("m1", lambda_metric(lambda::DURATION), 60, stat);
        let error = refused(&request(vec![query], "12:00:00", "13:00:00"));
        assert!(
            matches!(error, QueryError::UnknownStat { ref id, stat: ref bad } if id == "m1" && bad == stat),
            "{stat}"
        );
        assert_names(&error, &["`m1`", stat, "SampleCount"]);
    }
}

#[test]
fn start_time_must_be_before_end_time() {
    for (start, end) in [("12:00:00", "12:00:00"), ("13:00:00", "12:00:00")] {
        let error = refused(&request(vec![invocations_query("m1")], start, end));
        assert!(matches!(error, QueryError::InvalidTimeRange { .. }));
        assert_names(&error, &[&format!("2026-11-26T{start}Z"), "before"]);
    }
}

#[test]
fn expressions_referencing_unknown_ids_are_refused() {
    let error = refused(&request(
        vec![invocations_query("m1"), expression("e1", "m1 / M2")],
        "12:00:00",
        "13:00:00",
    ));
    assert!(matches!(
        error,
        QueryError::UnknownReference { ref id, ref reference } if id == "e1" && reference == "M2"
    ));
    assert_names(&error, &["`e1`", "`M2`"]);
}

#[test]
fn cyclic_expressions_are_refused() {
    let error = refused(&request(
        vec![
            invocations_query("m1"),
            expression("e1", "e2 + m1"),
            expression("e2", "e1 * 2"),
        ],
        "12:00:00",
        "13:00:00",
    ));
    assert_eq!(
        error,
        QueryError::CyclicExpressions {
            cycle: vec!["e1".to_owned(), "e2".to_owned(), "e1".to_owned()]
        }
    );
    assert_names(&error, &["e1 → e2 → e1"]);

    let error = refused(&request(
        vec![expression("e1", "e1 + 1")],
        "12:00:00",
        "13:00:00",
    ));
    assert!(matches!(error, QueryError::CyclicExpressions { .. }));
}

#[test]
fn expression_syntax_errors_are_refused() {
    for text in [
        "m1 +",
        "(m1 * 2",
        "m1 m1",
        "m1 % 2",
        "SQRT(m1)",
        "FILL(m1, UP)",
        "",
    ] {
        let error = refused(&request(
            vec![invocations_query("m1"), expression("e1", text)],
            "12:00:00",
            "13:00:00",
        ));
        assert!(
            matches!(error, QueryError::InvalidExpression { ref id, .. } if id == "e1"),
            "{text:?}: {error}"
        );
        assert_names(&error, &["`e1`"]);
    }
}

#[test]
fn more_than_100800_datapoints_are_refused() {
    // 70 days of one-minute periods is 100,800 datapoints: the most one request may ask for.
    let start = "2026-09-17T12:00:00Z";
    let end = "2026-11-26T12:00:00Z";
    let mut request = request(vec![invocations_query("m1")], "12:00:00", "12:00:00");
    request.start_time = rfc3339::parse(start).unwrap();
    request.end_time = rfc3339::parse(end).unwrap();
    assert!(get_metric_data(&MetricStore::new(), &request).is_ok());

    request.metric_data_queries.push(metric_query(
        "m2",
        lambda_metric(lambda::ERRORS),
        3600,
        "Sum",
    ));
    let error = get_metric_data(&MetricStore::new(), &request).unwrap_err();
    assert_eq!(
        error,
        QueryError::TooManyDatapoints {
            requested: 100_800 + 70 * 24
        }
    );
    assert_names(&error, &["102480", "100800"]);
}

// ---------------------------------------------------------------------------------------------
// JSON shape

#[test]
fn a_request_in_aws_json_shape_parses() {
    let json = include_str!("fixtures/metrics/get_metric_data_request.json");
    let request: GetMetricDataRequest = serde_json::from_str(json).unwrap();
    assert_eq!(
        request.start_time,
        rfc3339::parse("2026-11-26T10:00:00Z").unwrap()
    );
    assert_eq!(
        request.end_time,
        rfc3339::parse("2026-11-26T11:00:00Z").unwrap()
    );
    assert_eq!(request.scan_by, None);
    let query = &request.metric_data_queries[0];
    assert_eq!(query.id, "m1");
    let stat = query.metric_stat.as_ref().unwrap();
    assert_eq!((stat.period, stat.stat.as_str()), (300, "Sum"));
    assert_eq!(
        stat.metric,
        metric(lambda::INVOCATIONS, &[("FunctionName", "f")])
    );

    let mut store = MetricStore::new();
    store.record(
        &stat.metric,
        rfc3339::parse("2026-11-26T10:07:00Z").unwrap(),
        1.0,
    );
    let response = get_metric_data(&store, &request).unwrap();
    assert_eq!(response.metric_data_results[0].values, vec![1.0]);
}

#[test]
fn a_response_serialises_in_aws_json_shape() {
    let store = three_minutes_of_invocations();
    let mut request = request(vec![invocations_query("m1")], "12:00:00", "12:02:00");
    request.scan_by = None;
    let response = answer(&store, &request);
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "MetricDataResults": [{
                "Id": "m1",
                "Label": "Invocations",
                "Timestamps": ["2026-11-26T12:01:00Z", "2026-11-26T12:00:00Z"],
                "Values": [2.0, 1.0],
                "StatusCode": "Complete"
            }]
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Several series from one expression, MaxDatapoints and NextToken

#[test]
fn an_expression_giving_several_series_returns_one_result_per_series_under_its_id() {
    let store = invocations_and_errors();
    let mut doubled = expression("doubled", "METRICS()*2");
    doubled.label = Some("Doubled".to_owned());
    let request = request(
        vec![
            hidden(metric_query(
                "m1",
                lambda_metric(lambda::INVOCATIONS),
                60,
                "Sum",
            )),
            hidden(metric_query("m2", lambda_metric(lambda::ERRORS), 60, "Sum")),
            doubled,
            expression("total", "SUM(METRICS())"),
        ],
        "12:00:00",
        "12:05:00",
    );
    let response = answer(&store, &request);
    let shape: Vec<(&str, &str)> = response
        .metric_data_results
        .iter()
        .map(|result| (result.id.as_str(), result.label.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("doubled", "Doubled Invocations"),
            ("doubled", "Doubled Errors"),
            ("total", "SUM(METRICS())"),
        ]
    );
    assert_eq!(
        points(&response.metric_data_results[1]),
        vec![
            point("12:01:00", 4.0),
            point("12:02:00", 8.0),
            point("12:03:00", 10.0)
        ]
    );
    assert_eq!(
        points(&response.metric_data_results[2]),
        vec![
            point("12:00:00", 10.0),
            point("12:01:00", 10.0),
            point("12:02:00", 4.0),
            point("12:03:00", 10.0)
        ]
    );
}

/// Datapoints as `(id, timestamp, value)`, and each page's result statuses.
type Pages = (Vec<(String, EpochMillis, f64)>, Vec<Vec<DataStatus>>);

/// Every datapoint of every page of `request`, following NextToken, with each page's statuses.
fn all_pages(store: &MetricStore, request: &GetMetricDataRequest) -> Pages {
    let mut request = request.clone();
    let mut datapoints = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..100 {
        let response = answer(store, &request);
        statuses.push(
            response
                .metric_data_results
                .iter()
                .map(|result| result.status_code)
                .collect(),
        );
        for result in &response.metric_data_results {
            for (&at, &value) in result.timestamps.iter().zip(&result.values) {
                datapoints.push((result.id.clone(), at, value));
            }
        }
        match response.next_token {
            Some(token) => request.next_token = Some(token),
            None => return (datapoints, statuses),
        }
    }
    panic!("more than 100 pages");
}

#[test]
fn max_datapoints_pages_return_every_datapoint_exactly_once() {
    let store = invocations_and_errors();
    let mut request = request(
        vec![
            metric_query("m1", lambda_metric(lambda::INVOCATIONS), 60, "Sum"),
            metric_query("m2", lambda_metric(lambda::ERRORS), 60, "Sum"),
            expression("e1", "FILL(m1, 0)"),
        ],
        "12:00:00",
        "12:10:00",
    );
    let (whole, statuses) = all_pages(&store, &request);
    assert_eq!(statuses.len(), 1, "one page without MaxDatapoints");
    assert_eq!(whole.len(), 3 + 3 + 10);

    request.max_datapoints = Some(4);
    let (paged, statuses) = all_pages(&store, &request);
    assert_eq!(paged, whole);
    // 16 datapoints by 4: m1's 3 and one of m2, m2's last 2 and e1's first 2, then e1.
    use DataStatus::{Complete, PartialData};
    assert_eq!(
        statuses,
        [
            vec![Complete, PartialData],
            vec![Complete, PartialData],
            vec![PartialData],
            vec![Complete],
        ]
    );
}

#[test]
fn a_result_without_datapoints_comes_on_the_first_page() {
    let store = invocations_and_errors();
    let mut request = request(
        vec![
            metric_query("m1", lambda_metric(lambda::INVOCATIONS), 60, "Sum"),
            metric_query("none", lambda_metric(lambda::THROTTLES), 60, "Sum"),
        ],
        "12:00:00",
        "12:10:00",
    );
    request.max_datapoints = Some(2);
    let first = answer(&store, &request);
    let ids: Vec<&str> = first
        .metric_data_results
        .iter()
        .map(|result| result.id.as_str())
        .collect();
    assert_eq!(ids, ["m1", "none"]);
    request.next_token = first.next_token;
    let second = answer(&store, &request);
    assert_eq!(second.metric_data_results.len(), 1);
    assert_eq!(second.next_token, None);
}

#[test]
fn a_garbage_or_foreign_next_token_is_refused_clearly() {
    let store = invocations_and_errors();
    let mut request = request(
        vec![metric_query(
            "m1",
            lambda_metric(lambda::INVOCATIONS),
            60,
            "Sum",
        )],
        "12:00:00",
        "12:10:00",
    );
    request.max_datapoints = Some(1);
    let token = answer(&store, &request).next_token.unwrap();

    for garbage in [
        "",
        "xyz",
        "00",
        &token[..token.len() - 2],
        &format!("{token}00"),
    ] {
        request.next_token = Some(garbage.to_owned());
        let error = get_metric_data(&store, &request).unwrap_err();
        assert!(
            matches!(error, QueryError::InvalidNextToken { .. }),
            "{garbage}: {error}"
        );
        assert_names(&error, &["NextToken", "unchanged"]);
    }
    // One digit changed: the checksum no longer matches.
    let mut tampered = token.clone().into_bytes();
    tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
    request.next_token = Some(String::from_utf8(tampered).unwrap());
    assert!(matches!(
        get_metric_data(&store, &request).unwrap_err(),
        QueryError::InvalidNextToken { .. }
    ));

    request.next_token = Some(token);
    request.end_time = at("12:09:00");
    let error = get_metric_data(&store, &request).unwrap_err();
    assert_eq!(error, QueryError::NextTokenOfAnotherRequest);
    assert_names(&error, &["another request", "StartTime"]);
}

#[test]
fn max_datapoints_must_be_from_1_to_100800() {
    let mut request = request(vec![invocations_query("m1")], "12:00:00", "13:00:00");
    for given in [0, 100_801] {
        request.max_datapoints = Some(given);
        let error = refused(&request);
        assert_eq!(error, QueryError::InvalidMaxDatapoints { given });
        assert_names(&error, &["MaxDatapoints", "100800"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Through the API

/// A lab with one participant: the path of their metrics query and their token.
async fn api_lab() -> (Lab, String, String) {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("ada").await;
    (
        lab,
        format!("/api/v1/participants/{id}/metrics/query"),
        token,
    )
}

/// A query on a Lambda metric the participant's pipeline has no data for: what FILL turns
/// into a series of known values.
fn lambda_json(id: &str, name: &str, period: Value) -> Value {
    json!({ "Id": id, "ReturnData": false, "MetricStat": {
        "Metric": { "Namespace": "AWS/Lambda", "MetricName": name,
                    "Dimensions": [{ "Name": "FunctionName", "Value": "ChaosTransformer-ada" }] },
        "Period": period, "Stat": "Sum" } })
}

/// The last `minutes` whole minutes of pipeline time, as absolute RFC 3339 times.
fn last_minutes(lab: &Lab, minutes: i64) -> (String, String) {
    let end = minute_of(lab.state.backend.clock().now());
    (
        rfc3339::format(end - minutes * MINUTE_MILLIS),
        rfc3339::format(end),
    )
}

/// The values of the result with `id`.
fn values_of(body: &Value, id: &str) -> Vec<f64> {
    body["MetricDataResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["Id"] == id)
        .unwrap_or_else(|| panic!("no result {id} in {body}"))["Values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_api_answers_metric_math_as_cloudwatch_does() {
    let (lab, path, token) = api_lab().await;
    let (start, end) = last_minutes(&lab, 6);
    // e1: 1 at the first minute and 4 at the fourth, none elsewhere.
    let ramp = "RUNNING_SUM(FILL(m1, 1))";
    let body = json!({
        "MetricDataQueries": [
            lambda_json("m1", "Invocations", json!(60)),
            lambda_json("m2", "Errors", json!(60)),
            { "Id": "e1", "ReturnData": false,
              "Expression": format!("IF({ramp} == 1 OR {ramp} == 4, {ramp})") },
            { "Id": "sum", "Expression": "SUM(FILL(METRICS(), 1))" },
            { "Id": "scientific", "Expression": "2e2*FILL(m1, 1)" },
            { "Id": "repeat", "Expression": "FILL(e1, REPEAT)" },
            { "Id": "linear", "Expression": "FILL(e1, LINEAR)" },
            { "Id": "total", "Expression": "SUM(METRICS())" },
        ],
        "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending",
    });
    let (status, body) = lab.api(Method::POST, &path, Some(&token), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(values_of(&body, "sum"), [2.0; 6]);
    assert_eq!(values_of(&body, "scientific"), [200.0; 6]);
    assert_eq!(values_of(&body, "repeat"), [1.0, 1.0, 1.0, 4.0, 4.0, 4.0]);
    assert_eq!(values_of(&body, "linear"), [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(values_of(&body, "total"), Vec::<f64>::new());
}

#[tokio::test]
async fn a_whole_period_written_as_a_float_is_that_period() {
    let (lab, path, token) = api_lab().await;
    let (start, end) = last_minutes(&lab, 10);
    let body = |period: Value| {
        json!({
            "MetricDataQueries": [
                lambda_json("m1", "Invocations", period),
                { "Id": "e1", "Expression": "FILL(m1, 0)" },
            ],
            "StartTime": start, "EndTime": end,
        })
    };
    let (status, answer) = lab
        .api(Method::POST, &path, Some(&token), Some(body(json!(300.0))))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(values_of(&answer, "e1"), [0.0, 0.0], "two periods of 300 s");

    let (status, answer) = lab
        .api(Method::POST, &path, Some(&token), Some(body(json!(300.5))))
        .await;
    assert!(status.is_client_error(), "{status}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("Period must be a whole number"),
        "{message}"
    );
}

#[tokio::test]
async fn five_hundred_realistic_queries_fit_in_one_request() {
    let (lab, path, token) = api_lab().await;
    let (start, end) = last_minutes(&lab, 5);
    let queries: Vec<Value> = (0..500)
        .map(|n| {
            json!({
                "Id": format!("invocations_of_function_{n:03}"),
                "Label": format!("Invocations of ChaosTransformer replica number {n}"),
                "ReturnData": true,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Invocations",
                        "Dimensions": [
                            { "Name": "FunctionName", "Value": format!("ChaosTransformer-0123456789abcdef-{n:03}") },
                            { "Name": "Resource", "Value": format!("ChaosTransformer-0123456789abcdef-{n:03}:live") },
                        ],
                    },
                    "Period": 300,
                    "Stat": "Sum",
                },
            })
        })
        .collect();
    let body = json!({ "MetricDataQueries": queries, "StartTime": start, "EndTime": end });
    let size = body.to_string().len();
    assert!(
        size > 2 * 64 * 1024,
        "the body is {size} bytes: over twice the usual limit"
    );
    let (status, answer) = lab.api(Method::POST, &path, Some(&token), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["MetricDataResults"].as_array().unwrap().len(), 500);

    // The larger limit is this route's only: another API body of that size is still refused.
    let (status, answer) = lab
        .api(
            Method::PUT,
            &path.replace("/metrics/query", "/slo"),
            Some(&token),
            Some(json!({ "padding": "x".repeat(100 * 1024) })),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
}

#[tokio::test]
async fn max_datapoints_and_next_token_page_through_the_api() {
    let (lab, path, token) = api_lab().await;
    let (start, end) = last_minutes(&lab, 30);
    let mut body = json!({
        "MetricDataQueries": [
            lambda_json("m1", "Invocations", json!(60)),
            lambda_json("m2", "Errors", json!(60)),
            { "Id": "e1", "Expression": "FILL(METRICS(), 0)" },
        ],
        "StartTime": start, "EndTime": end, "MaxDatapoints": 7.0,
    });
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, answer) = lab
            .api(Method::POST, &path, Some(&token), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        pages += 1;
        let mut on_page = 0;
        for result in answer["MetricDataResults"].as_array().unwrap() {
            for timestamp in result["Timestamps"].as_array().unwrap() {
                seen.push(format!("{} {} {timestamp}", result["Id"], result["Label"]));
                on_page += 1;
            }
        }
        assert!(on_page <= 7, "{answer}");
        match answer.get("NextToken") {
            Some(next) => body["NextToken"] = next.clone(),
            None => break,
        }
    }
    assert_eq!(pages, 9, "60 datapoints by 7");
    let count = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((count, seen.len()), (60, 60), "each datapoint exactly once");

    body["NextToken"] = json!("not-a-token");
    let (status, answer) = lab.api(Method::POST, &path, Some(&token), Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("NextToken"),
        "{answer}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_relative_start_time_counts_from_the_pipeline_clock() {
    let (lab, path, token) = api_lab().await;
    // Pipeline time runs two hours ahead of the wall clock.
    tokio::time::advance(Duration::from_secs(2 * 3600)).await;
    let before = lab.state.backend.clock().now();
    let body = json!({
        "MetricDataQueries": [
            lambda_json("m1", "Invocations", json!(60)),
            { "Id": "e1", "Expression": "FILL(m1, 0)" },
        ],
        "StartTime": "-PT5M", "ScanBy": "TimestampAscending",
    });
    let (status, answer) = lab.api(Method::POST, &path, Some(&token), Some(body)).await;
    let after = lab.state.backend.clock().now();
    assert_eq!(status, StatusCode::OK, "{answer}");
    let timestamps: Vec<EpochMillis> = answer["MetricDataResults"][0]["Timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|text| rfc3339::parse(text.as_str().unwrap()).unwrap())
        .collect();
    let first = timestamps[0];
    assert!(
        (minute_of(before - 5 * MINUTE_MILLIS)..=minute_of(after - 5 * MINUTE_MILLIS))
            .contains(&first),
        "the first period starts five minutes before the pipeline's now"
    );
    assert!(
        *timestamps.last().unwrap() < after,
        "EndTime omitted is now"
    );
    assert!(
        first > system_now_millis() + 3600 * 1000,
        "not the wall clock's now"
    );

    let (status, answer) = lab
        .api(
            Method::POST,
            &path,
            Some(&token),
            Some(
                json!({ "MetricDataQueries": [lambda_json("m1", "Invocations", json!(60))],
                         "StartTime": "-P1M" }),
            ),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("years and months"),
        "{answer}"
    );
}
