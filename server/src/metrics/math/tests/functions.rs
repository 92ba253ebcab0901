//! Specifications of each metric-math function against the examples of CloudWatch's "Using
//! metric math" page, missing datapoints included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

// ---------------------------------------------------------------------------------------------
// IF

#[test]
fn if_follows_the_documented_tables() {
    // metric1 = [1, 1, 0, 0, -], metric2 = [30, -, 0, 0, 30], metric3 = [0, 0, 20, -, 20].
    let lab = Lab::new(&[
        (
            "metric1",
            &[Some(1.0), Some(1.0), Some(0.0), Some(0.0), None],
        ),
        (
            "metric2",
            &[Some(30.0), None, Some(0.0), Some(0.0), Some(30.0)],
        ),
        (
            "metric3",
            &[Some(0.0), Some(0.0), Some(20.0), None, Some(20.0)],
        ),
    ]);
    assert_eq!(
        lab.series("IF(metric1, metric2, metric3)"),
        vec![Some(30.0), Some(0.0), Some(20.0), None, None]
    );
    assert_eq!(
        lab.series("IF(metric1, 5, metric3)"),
        vec![Some(5.0), Some(5.0), Some(20.0), None, None]
    );
    assert_eq!(
        lab.series("IF(metric1, metric2, 5)"),
        vec![Some(30.0), Some(0.0), Some(5.0), Some(5.0), None]
    );
    assert_eq!(
        lab.series("IF(metric1, metric2)"),
        vec![Some(30.0), Some(0.0), None, None, None]
    );
}

#[test]
fn if_filters_and_maps_with_a_comparison_or_a_number() {
    let lab = Lab::new(&[("metric1", &all(&[100.0, 500.0, 300.0]))]);
    assert_eq!(
        lab.series("IF(metric1<400, metric1)"),
        vec![Some(100.0), None, Some(300.0)]
    );
    assert_eq!(
        lab.series("IF(metric1<400, 10, 2)"),
        vec![Some(10.0), Some(2.0), Some(10.0)]
    );
    // A number as the condition picks a whole series; without a third argument, none.
    assert_eq!(
        lab.series("IF(1, metric1 * 2)"),
        all(&[200.0, 1000.0, 600.0])
    );
    assert_eq!(lab.series("IF(0, metric1)"), vec![None, None, None]);
}

// ---------------------------------------------------------------------------------------------
// Statistics of one series and across an array

#[test]
fn statistics_of_one_series_are_numbers_over_its_datapoints() {
    let lab = Lab::new(&[("m1", &[Some(1.0), None, Some(3.0), Some(8.0)])]);
    assert_eq!(
        lab.series("m1 - AVG(m1)"),
        vec![Some(-3.0), None, Some(-1.0), Some(4.0)]
    );
    assert_eq!(
        lab.series("m1 - MIN(m1)"),
        vec![Some(0.0), None, Some(2.0), Some(7.0)]
    );
    assert_eq!(
        lab.series("MAX(m1)/m1"),
        vec![Some(8.0), None, Some(8.0 / 3.0), Some(1.0)]
    );
    assert_eq!(
        lab.series("m1/SUM(m1)"),
        vec![Some(1.0 / 12.0), None, Some(0.25), Some(8.0 / 12.0)]
    );
    let lab = Lab::new(&[("m1", &all(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]))]);
    assert_eq!(lab.series("m1/STDDEV(m1)")[0], Some(1.0));
}

#[test]
fn a_statistic_alone_is_not_a_series() {
    let lab = Lab::new(&[("m1", &all(&[1.0]))]);
    let error = lab.error("AVG(m1)");
    assert!(matches!(error, MathError::NotASeries { .. }), "{error}");
    assert!(message_of(&error).contains("m1 - AVG(m1)"));
}

#[test]
fn statistics_across_an_array_are_a_series_per_timestamp() {
    let lab = Lab::new(&[
        ("m1", &[Some(1.0), Some(2.0), None]),
        ("m2", &[Some(3.0), None, None]),
    ]);
    assert_eq!(
        lab.series("SUM(METRICS())"),
        vec![Some(4.0), Some(2.0), None]
    );
    // AVG counts a missing value as 0: (2 + 0) / 2.
    assert_eq!(
        lab.series("AVG([m1, m2])"),
        vec![Some(2.0), Some(1.0), None]
    );
    assert_eq!(
        lab.series("MIN(METRICS())"),
        vec![Some(1.0), Some(2.0), None]
    );
    assert_eq!(
        lab.series("MAX(METRICS())"),
        vec![Some(3.0), Some(2.0), None]
    );
    assert_eq!(
        lab.series("STDDEV(METRICS())"),
        vec![Some(1.0), Some(0.0), None]
    );
}

// ---------------------------------------------------------------------------------------------
// Point functions

#[test]
fn abs_ceil_and_floor_apply_to_each_datapoint() {
    let lab = Lab::new(&[("m1", &all(&[1.5, -2.5])), ("m2", &all(&[3.0, 1.0]))]);
    assert_eq!(lab.series("ABS(m1-m2)"), all(&[1.5, 3.5]));
    assert_eq!(lab.series("MIN(ABS([m1, m2]))"), all(&[1.5, 1.0]));
    assert_eq!(lab.series("CEIL(m1)"), all(&[2.0, -2.0]));
    assert_eq!(lab.series("FLOOR(m1)"), all(&[1.0, -3.0]));
    assert_eq!(lab.array("FLOOR(METRICS())").len(), 2);
}

#[test]
fn diff_diff_time_and_rate_compare_each_datapoint_with_the_one_before() {
    let lab = Lab::new(&[("m1", &[Some(10.0), Some(40.0), None, Some(10.0)])]);
    assert_eq!(
        lab.series("DIFF(m1)"),
        vec![None, Some(30.0), None, Some(-30.0)]
    );
    assert_eq!(
        lab.series("DIFF_TIME(m1)"),
        vec![None, Some(60.0), None, Some(120.0)]
    );
    assert_eq!(
        lab.series("RATE(m1)"),
        vec![None, Some(0.5), None, Some(-0.25)]
    );
}

#[test]
fn running_sum_adds_up_the_datapoints_so_far() {
    let lab = Lab::new(&[
        ("m1", &[Some(1.0), None, Some(2.0)]),
        ("m2", &all(&[5.0, 5.0, 5.0])),
    ]);
    assert_eq!(
        lab.series("RUNNING_SUM(m1)"),
        vec![Some(1.0), None, Some(3.0)]
    );
    assert_eq!(
        lab.array("RUNNING_SUM([m1,m2])")[1].1,
        all(&[5.0, 10.0, 15.0])
    );
}

#[test]
fn period_is_the_series_period_in_seconds() {
    let lab = Lab::new(&[("m1", &all(&[120.0]))]);
    assert_eq!(lab.series("m1/PERIOD(m1)"), vec![Some(2.0)]);
    assert_eq!(lab.series("PERIOD(m1)/60 * m1"), vec![Some(120.0)]);
}

// ---------------------------------------------------------------------------------------------
// Arrays

#[test]
fn metrics_returns_the_metric_queries_whose_id_contains_the_text() {
    let lab = Lab::new(&[
        ("errors4xx", &all(&[1.0])),
        ("errors5xx", &all(&[2.0])),
        ("requests", &all(&[10.0])),
    ])
    // An expression is never among METRICS().
    .with_expression("errors_total", Value::Series(minutes(&all(&[99.0]))));
    assert_eq!(lab.series("SUM(METRICS(\"errors\"))"), vec![Some(3.0)]);
    assert_eq!(lab.series("SUM(METRICS())"), vec![Some(13.0)]);
    assert_eq!(
        lab.series("SUM([METRICS(\"4xx\"), METRICS(\"5xx\")])"),
        vec![Some(3.0)]
    );
    assert_eq!(lab.array("METRICS(\"nothing\")"), vec![]);
}

#[test]
fn sort_orders_by_a_statistic_and_limits_and_first_and_last_pick() {
    let lab = Lab::new(&[
        ("a", &all(&[1.0, 1.0])),
        ("b", &all(&[5.0, 7.0])),
        ("c", &all(&[3.0, 3.0])),
        ("empty", &[None, None]),
    ]);
    let labels = |text: &str| -> Vec<String> {
        lab.array(text)
            .into_iter()
            .map(|(label, _)| label)
            .collect()
    };
    assert_eq!(
        labels("SORT(METRICS(), AVG, DESC)"),
        ["label of b", "label of c", "label of a", "label of empty"]
    );
    assert_eq!(
        labels("SORT(METRICS(), MAX, ASC, 2)"),
        ["label of a", "label of c"]
    );
    assert_eq!(
        lab.series("FIRST(SORT(METRICS(), AVG, DESC))"),
        all(&[5.0, 7.0])
    );
    assert_eq!(
        lab.series("IF(FIRST(SORT(METRICS(), AVG, DESC))>6, 1, 0)"),
        all(&[0.0, 1.0])
    );
    assert_eq!(
        lab.series("LAST(SORT(REMOVE_EMPTY(METRICS()), SUM, DESC))"),
        all(&[1.0, 1.0])
    );
    assert_eq!(labels("REMOVE_EMPTY(METRICS())").len(), 3);
}

// ---------------------------------------------------------------------------------------------
// FILL

#[test]
fn fill_with_a_number_fills_every_period_of_the_range() {
    let lab = Lab::new(&[("m1", &[None, Some(1.0), None, None])]);
    assert_eq!(
        lab.series("FILL(m1, 10)"),
        vec![Some(10.0), Some(1.0), Some(10.0), Some(10.0)]
    );
    assert_eq!(lab.series("FILL(m1, MIN(m1))"), all(&[1.0, 1.0, 1.0, 1.0]));
}

#[test]
fn fill_with_a_series_takes_its_value_at_the_same_timestamp() {
    let lab = Lab::new(&[
        ("m1", &[None, Some(1.0), None]),
        ("m2", &[Some(7.0), Some(8.0), None]),
    ]);
    assert_eq!(lab.series("FILL(m1, m2)"), vec![Some(7.0), Some(1.0), None]);
}

#[test]
fn fill_repeat_uses_the_last_real_value_before_the_gap() {
    let lab = Lab::new(&[("m1", &[None, Some(1.0), None, Some(4.0), None])]);
    assert_eq!(
        lab.series("FILL(m1, REPEAT)"),
        vec![None, Some(1.0), Some(1.0), Some(4.0), Some(4.0)]
    );
}

#[test]
fn fill_linear_interpolates_between_the_values_around_the_gap() {
    let lab = Lab::new(&[("m1", &[None, Some(1.0), None, None, Some(4.0), None])]);
    assert_eq!(
        lab.series("FILL(m1, LINEAR)"),
        vec![None, Some(1.0), Some(2.0), Some(3.0), Some(4.0), None]
    );
}

#[test]
fn fill_applies_to_each_series_of_an_array() {
    let lab = Lab::new(&[("m1", &[None, Some(1.0)]), ("m2", &[Some(2.0), None])]);
    assert_eq!(
        lab.array("FILL(METRICS(), 0)"),
        vec![
            ("label of m1".to_owned(), all(&[0.0, 1.0])),
            ("label of m2".to_owned(), all(&[2.0, 0.0])),
        ]
    );
    assert_eq!(lab.array("FILL(METRICS(), LINEAR)").len(), 2);
}
