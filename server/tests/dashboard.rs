#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The dashboard is defined once, in `terraform/dashboard.json`. These tests read that file for
//! a stack and check what the server makes of it: the widgets, the expanded metric shorthand,
//! the errors for a malformed template, and the data a widget query returns.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use chaoslab::dashboard::{
    Dashboard, DashboardError, DashboardNames, MetricEntryProblem, MetricSource, Position,
    QueryError, TEMPLATE, TextWidget, TimeRange, Unit, View, Widget, render,
};
use chaoslab::metrics::names::{chaoslab as lab_metrics, lambda, sns, sqs};
use chaoslab::metrics::{
    Dimension, EpochMillis, GetMetricDataRequest, GetMetricDataResponse, Metric, MetricDataQuery,
    MetricDataResult, StatusCode,
};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// The lab's dashboard for one stack
// ---------------------------------------------------------------------------------------------

#[test]
fn every_placeholder_of_the_template_is_filled_in_with_the_stacks_names() {
    let names = alice();
    let rendered = render(TEMPLATE, &names).unwrap();
    assert!(
        TEMPLATE.contains("${"),
        "the template has placeholders to fill in"
    );
    assert!(
        !rendered.contains("${"),
        "a placeholder is left in:\n{rendered}"
    );
    for name in [
        &names.region,
        &names.function_name,
        &names.csv_queue_name,
        &names.dlq_name,
        &names.topic_name,
    ] {
        assert!(rendered.contains(name.as_str()), "{name} is missing");
    }
    let dashboard = Dashboard::for_stack(&names).unwrap();
    for widget in &dashboard.widgets {
        assert_eq!(
            widget.region.as_deref(),
            Some("us-east-1"),
            "{}",
            widget.title
        );
    }
}

#[test]
fn the_dashboard_has_the_lab_widgets_in_the_templates_order() {
    let dashboard = Dashboard::for_stack(&alice()).unwrap();
    let titles: Vec<&str> = dashboard
        .widgets
        .iter()
        .map(|widget| widget.title.as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "Percent in error",
            "Percent in flight",
            "Percent in error and in flight over time",
            "CSV queue (SQS)",
            "ETL errors (dead-letter queue)",
            "ETL function (Lambda)",
            "SNS topic",
            "Injected faults",
        ]
    );
    let view = |title| dashboard.widget(title).unwrap().view;
    assert_eq!(view("Percent in error"), View::SingleValue);
    assert_eq!(view("Percent in flight"), View::SingleValue);
    assert_eq!(view("CSV queue (SQS)"), View::TimeSeries);
    assert_eq!(
        dashboard.widget("Percent in flight").unwrap().position,
        Position {
            x: 6,
            y: 0,
            width: 6,
            height: 6
        }
    );
}

#[test]
fn every_metric_query_names_the_stacks_own_resource_by_its_namespaces_dimension() {
    let names = alice();
    let dashboard = Dashboard::for_stack(&names).unwrap();
    let mut metrics = 0;
    for widget in &dashboard.widgets {
        for query in &widget.queries {
            let Some(stat) = &query.metric_stat else {
                continue;
            };
            metrics += 1;
            let metric = &stat.metric;
            let (dimension, resources) = match metric.namespace.as_str() {
                sqs::NAMESPACE => (sqs::DIMENSION, vec![&names.csv_queue_name, &names.dlq_name]),
                lambda::NAMESPACE => (lambda::DIMENSION, vec![&names.function_name]),
                lab_metrics::NAMESPACE => (lab_metrics::DIMENSION, vec![&names.function_name]),
                sns::NAMESPACE => (sns::DIMENSION, vec![&names.topic_name]),
                other => panic!("{}: unexpected namespace {other}", widget.title),
            };
            assert_eq!(metric.dimensions.len(), 1, "{}: {metric:?}", widget.title);
            assert_eq!(
                metric.dimensions[0].name, dimension,
                "{}: {metric:?}",
                widget.title
            );
            assert!(
                resources.contains(&&metric.dimensions[0].value),
                "{}: {metric:?} names no resource of the stack",
                widget.title
            );
            assert_eq!(stat.period, 300, "{}: {metric:?}", widget.title);
        }
    }
    assert!(metrics >= 20, "only {metrics} metric queries");
}

#[test]
fn percent_in_error_divides_dead_letters_by_all_outcomes_and_returns_only_the_ratio() {
    let names = alice();
    let dashboard = Dashboard::for_stack(&names).unwrap();
    let widget = dashboard.widget("Percent in error").unwrap();
    assert_eq!(
        widget.queries,
        [
            metric_query(
                "m1",
                sqs::NAMESPACE,
                sqs::MESSAGES_SENT,
                sqs::DIMENSION,
                &names.csv_queue_name
            )
            .stat("Sum")
            .label("CSV notifications")
            .hidden(),
            metric_query(
                "m2",
                sqs::NAMESPACE,
                sqs::MESSAGES_SENT,
                sqs::DIMENSION,
                &names.dlq_name
            )
            .stat("Sum")
            .label("Dead-letter events")
            .hidden(),
            expression_query("e1", "100 * FILL(m2, 0) / (FILL(m1, 0) + FILL(m2, 0))")
                .label("Percent in error"),
        ]
    );
}

#[test]
fn the_csv_queue_widget_repeats_namespace_and_queue_with_dots() {
    let names = alice();
    let dashboard = Dashboard::for_stack(&names).unwrap();
    let widget = dashboard.widget("CSV queue (SQS)").unwrap();
    let csv = |id, metric, stat| {
        metric_query(
            id,
            sqs::NAMESPACE,
            metric,
            sqs::DIMENSION,
            &names.csv_queue_name,
        )
        .stat(stat)
    };
    assert_eq!(
        widget.queries,
        [
            csv("m1", sqs::MESSAGES_SENT, "Sum"),
            csv("m2", sqs::MESSAGES_RECEIVED, "Sum"),
            csv("m3", sqs::MESSAGES_DELETED, "Sum"),
            csv("m4", sqs::MESSAGES_VISIBLE, "Maximum"),
            csv("m5", sqs::AGE_OF_OLDEST_MESSAGE, "Maximum"),
        ]
    );
}

#[test]
fn every_series_of_the_lab_dashboard_has_cloudwatchs_unit_for_its_metric_or_expression() {
    let dashboard = Dashboard::for_stack(&alice()).unwrap();
    let mut units = Vec::new();
    for widget in &dashboard.widgets {
        for query in &widget.queries {
            if query.return_data == Some(false) {
                continue;
            }
            let name = query.label.clone().unwrap_or_else(|| {
                query
                    .metric_stat
                    .as_ref()
                    .map(|stat| stat.metric.metric_name.clone())
                    .unwrap_or_else(|| query.id.clone())
            });
            units.push((widget.title.as_str(), name, widget.unit_of(&query.id)));
        }
    }
    let unit_of = |title: &str, name: &str| {
        units
            .iter()
            .find(|(widget, series, _)| *widget == title && series == name)
            .unwrap_or_else(|| panic!("{title}: no series {name}"))
            .2
    };
    assert_eq!(
        unit_of("Percent in error", "Percent in error"),
        Some(Unit::Percent)
    );
    assert_eq!(
        unit_of("Percent in flight", "Percent in flight"),
        Some(Unit::Percent)
    );
    assert_eq!(
        unit_of("ETL function (Lambda)", lambda::DURATION),
        Some(Unit::Milliseconds)
    );
    assert_eq!(
        unit_of("ETL function (Lambda)", lambda::INVOCATIONS),
        Some(Unit::Count)
    );
    assert_eq!(
        unit_of("ETL function (Lambda)", lambda::CONCURRENT_EXECUTIONS),
        Some(Unit::Count)
    );
    assert_eq!(
        unit_of("CSV queue (SQS)", sqs::AGE_OF_OLDEST_MESSAGE),
        Some(Unit::Seconds)
    );
    assert_eq!(
        unit_of("CSV queue (SQS)", sqs::MESSAGES_VISIBLE),
        Some(Unit::Count)
    );
    assert_eq!(
        unit_of("SNS topic", sns::NOTIFICATIONS_DELIVERED),
        Some(Unit::Count)
    );
    assert_eq!(
        unit_of("Injected faults", "Invocations with an injected fault"),
        Some(Unit::Count)
    );
    let unknown: Vec<_> = units.iter().filter(|(_, _, unit)| unit.is_none()).collect();
    assert!(unknown.is_empty(), "series without a unit: {unknown:?}");
}

#[test]
fn an_expressions_unit_comes_from_its_label_id_or_arithmetic_never_from_the_widget_title() {
    let template = r#"{"widgets": [{"type": "metric", "properties": {
        "title": "Percent of everything",
        "metrics": [
            ["AWS/SQS", "NumberOfMessagesSent", "QueueName", "q", {"stat": "Sum"}],
            [".", "NumberOfMessagesDeleted", ".", ".", {"stat": "Sum"}],
            ["AWS/Lambda", "Duration", "FunctionName", "f", {"stat": "p99"}],
            [".", "Duration", ".", ".", {"stat": "SampleCount"}],
            ["Custom", "Widgets", "Shop", "s"],
            [{"expression": "100 * m2 / m1", "id": "ratio"}],
            [{"expression": "m2/m1*100", "id": "ratio_again"}],
            [{"expression": "m2 / m1", "id": "share_percent"}],
            [{"expression": "m2 / m1", "label": "Percent deleted"}],
            [{"expression": "m1 - (m2 + m4)", "label": "Backlog"}],
            [{"expression": "m1 + m3", "label": "Mixed"}],
            [{"expression": "m3 / 1000", "label": "Seconds, really"}],
            [{"expression": "m1 / m2", "label": "Ratio"}],
            [{"expression": "e2 + m2", "label": "Backlog and deleted"}]
        ]}}]}"#;
    let widget = Dashboard::from_template(template, &alice())
        .unwrap()
        .widgets
        .remove(0);
    let units: Vec<(&str, Option<Unit>)> = widget
        .queries
        .iter()
        .map(|query| (query.id.as_str(), widget.unit_of(&query.id)))
        .collect();
    assert_eq!(
        units,
        [
            ("m1", Some(Unit::Count)),
            ("m2", Some(Unit::Count)),
            ("m3", Some(Unit::Milliseconds)),
            // SampleCount counts data points, whatever the metric measures.
            ("m4", Some(Unit::Count)),
            ("m5", None),
            ("ratio", Some(Unit::Percent)),
            ("ratio_again", Some(Unit::Percent)),
            ("share_percent", Some(Unit::Percent)),
            ("e1", Some(Unit::Percent)),
            ("e2", Some(Unit::Count)),
            ("e3", None),
            ("e4", None),
            ("e5", None),
            // An expression over an expression: e2 is a count, so this is too.
            ("e6", Some(Unit::Count)),
        ]
    );
    assert_eq!(widget.unit_of("nope"), None);
}

#[test]
fn the_dashboard_names_deserialise_from_a_stack_in_terraform_output() {
    let output: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/terraform_output.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let names: DashboardNames =
        serde_json::from_value(output["stacks"]["value"]["alice"].clone()).unwrap();
    assert_eq!(names, alice());
}

#[test]
fn names_with_characters_json_escapes_do_not_break_the_template() {
    let names = DashboardNames {
        region: "us-east-1".to_owned(),
        function_name: r#"Chaos"Transformer\1"#.to_owned(),
        csv_queue_name: "csv\nqueue".to_owned(),
        dlq_name: "dlq-${topic_name}".to_owned(),
        topic_name: "topic".to_owned(),
    };
    let dashboard = Dashboard::for_stack(&names).unwrap();
    let dimension_values: Vec<&str> = dashboard
        .widgets
        .iter()
        .flat_map(|widget| &widget.queries)
        .filter_map(|query| query.metric_stat.as_ref())
        .map(|stat| stat.metric.dimensions[0].value.as_str())
        .collect();
    assert!(dimension_values.contains(&r#"Chaos"Transformer\1"#));
    assert!(dimension_values.contains(&"csv\nqueue"));
    // A value is inserted as it is, never scanned for placeholders itself.
    assert!(dimension_values.contains(&"dlq-${topic_name}"));
}

// ---------------------------------------------------------------------------------------------
// The metric shorthand
// ---------------------------------------------------------------------------------------------

#[test]
fn dots_repeat_namespace_and_dimensions_of_the_previous_metric_skipping_expressions() {
    let widget = shorthand_widget();
    // metrics[2] follows the expression at metrics[1] and repeats metrics[0].
    let deleted = widget.queries[2].metric_stat.as_ref().unwrap();
    assert_eq!(
        deleted.metric,
        metric(
            sqs::NAMESPACE,
            sqs::MESSAGES_DELETED,
            sqs::DIMENSION,
            "chaos-csv-queue-3f9a0c1d2b4e5f67"
        )
    );
    let oldest = widget.queries[3].metric_stat.as_ref().unwrap();
    assert_eq!(
        oldest.metric,
        metric(
            sqs::NAMESPACE,
            sqs::AGE_OF_OLDEST_MESSAGE,
            sqs::DIMENSION,
            "chaos-error-queue-3f9a0c1d2b4e5f67"
        )
    );
}

/// The metrics of a widget titled "W" in us-east-1 whose `metrics` array is `metrics`, with
/// alice's names filled in.
fn expand(metrics: serde_json::Value) -> Result<Vec<MetricDataQuery>, DashboardError> {
    let template = json!({"widgets": [{"type": "metric", "properties": {
        "title": "W", "region": "${region}", "metrics": metrics,
    }}]});
    Dashboard::from_template(&template.to_string(), &alice())
        .map(|dashboard| dashboard.widgets[0].queries.clone())
}

/// The metric of each metric query, as `[namespace, name, dimension name, value, …]`.
fn flat_metrics(queries: &[MetricDataQuery]) -> Vec<Vec<String>> {
    queries
        .iter()
        .filter_map(|query| query.metric_stat.as_ref())
        .map(|stat| {
            let mut flat = vec![
                stat.metric.namespace.clone(),
                stat.metric.metric_name.clone(),
            ];
            for dimension in &stat.metric.dimensions {
                flat.extend([dimension.name.clone(), dimension.value.clone()]);
            }
            flat
        })
        .collect()
}

#[test]
fn three_dots_repeat_the_previous_metric_with_the_values_after_them_replacing_its_last_ones() {
    // The example of CloudWatch's documentation: one metric for each instance.
    let queries = expand(json!([
        ["AWS/EC2", "CPUUtilization", "InstanceId", "i-111111111111"],
        ["...", "i-222222222222"],
        ["...", "i-333333333333"]
    ]))
    .unwrap();
    assert_eq!(
        flat_metrics(&queries),
        [
            ["AWS/EC2", "CPUUtilization", "InstanceId", "i-111111111111"],
            ["AWS/EC2", "CPUUtilization", "InstanceId", "i-222222222222"],
            ["AWS/EC2", "CPUUtilization", "InstanceId", "i-333333333333"],
        ]
    );
}

#[test]
fn the_original_labs_dead_letter_entry_repeats_the_csv_queue_metric_for_the_dlq() {
    let queries = expand(json!([
        ["AWS/SQS", "NumberOfMessagesSent", "QueueName", "${csv_queue_name}", {"id": "m1", "visible": false}],
        ["...", "${dlq_name}", {"id": "m3", "visible": false}],
        [{"expression": "100 * m3 / (m1 + m3)", "id": "e1", "label": "Percent in error"}]
    ]))
    .unwrap();
    assert_eq!(
        queries[1],
        metric_query(
            "m3",
            sqs::NAMESPACE,
            sqs::MESSAGES_SENT,
            sqs::DIMENSION,
            "chaos-error-queue-3f9a0c1d2b4e5f67"
        )
        .hidden()
    );
}

#[test]
fn three_dots_in_the_middle_keep_the_values_written_before_and_after_them() {
    let queries = expand(json!([
        ["AWS/Lambda", "Errors", "FunctionName", "f", "Resource", "f:1"],
        [".", "Throttles", "...", "f:2"],
        ["AWS/Lambda", "...", "Resource", "."],
        [{"expression": "m1 + m2", "id": "e1"}],
        ["...", {"stat": "Maximum", "color": "#d62728", "yAxis": "right"}]
    ]))
    .unwrap();
    assert_eq!(
        flat_metrics(&queries),
        [
            [
                "AWS/Lambda",
                "Errors",
                "FunctionName",
                "f",
                "Resource",
                "f:1"
            ],
            [
                "AWS/Lambda",
                "Throttles",
                "FunctionName",
                "f",
                "Resource",
                "f:2"
            ],
            // A "." after the "..." repeats the value at the position it lands on.
            [
                "AWS/Lambda",
                "Throttles",
                "FunctionName",
                "f",
                "Resource",
                "f:2"
            ],
            // "..." alone, after an expression: the previous metric again, with its own options.
            [
                "AWS/Lambda",
                "Throttles",
                "FunctionName",
                "f",
                "Resource",
                "f:2"
            ],
        ]
    );
    let stat = queries[4].metric_stat.as_ref().unwrap();
    assert_eq!(
        (stat.stat.as_str(), queries[4].id.as_str()),
        ("Maximum", "m4")
    );
}

#[test]
fn rendering_options_shape_the_query_or_are_checked_and_left_to_the_chart() {
    let queries = expand(json!([
        ["AWS/SQS", "NumberOfMessagesSent", "QueueName", "q", {
            "id": "sent", "label": "Sent", "stat": "Sum", "period": 60, "visible": false,
            "color": "#1f77b4", "yAxis": "left", "region": "us-east-1", "accountId": "123456789012"
        }],
        [{"expression": "sent * 2", "id": "twice", "label": "Twice", "period": 60,
          "color": "#ff7f0e", "yAxis": "right", "visible": true}]
    ]))
    .unwrap();
    let mut sent = metric_query(
        "sent",
        sqs::NAMESPACE,
        sqs::MESSAGES_SENT,
        sqs::DIMENSION,
        "q",
    )
    .stat("Sum")
    .label("Sent")
    .hidden();
    if let Some(stat) = &mut sent.metric_stat {
        stat.period = 60;
    }
    assert_eq!(queries[0], sent);
    let mut twice = expression_query("twice", "sent * 2").label("Twice");
    twice.period = Some(60);
    assert_eq!(queries[1], twice);
}

#[test]
fn shorthand_and_option_mistakes_are_refused_naming_the_widget_and_the_entry() {
    let refused = |metrics: serde_json::Value| match expand(metrics) {
        Err(error @ DashboardError::MetricEntry { .. }) => error,
        other => panic!("{other:?}"),
    };
    let sent = json!(["AWS/SQS", "NumberOfMessagesSent", "QueueName", "q"]);
    let cases = [
        (
            json!([["...", "q"]]),
            0,
            MetricEntryProblem::NothingToRepeatAll { position: 0 },
        ),
        (
            json!([sent, ["...", "A", "B", "C", "D", "E", "F"]]),
            1,
            MetricEntryProblem::RepeatTooShort {
                position: 0,
                previous: 4,
                given: 6,
            },
        ),
        (
            json!([sent, ["...", "..."]]),
            1,
            MetricEntryProblem::SecondRepeatAll { position: 1 },
        ),
        (
            json!([sent, ["...", {"colour": "#000000"}]]),
            1,
            MetricEntryProblem::UnknownOption {
                name: "colour".to_owned(),
                kind: "a metric entry",
                allowed: "id, label, stat, period, visible, color, yAxis, region and accountId",
            },
        ),
        (
            json!([sent, [{"expression": "m1", "stat": "Sum"}]]),
            1,
            MetricEntryProblem::UnknownOption {
                name: "stat".to_owned(),
                kind: "an expression entry",
                allowed: "expression, id, label, period, visible, color, yAxis, region and accountId",
            },
        ),
        (
            json!([sent, ["...", {"region": "eu-west-1"}]]),
            1,
            MetricEntryProblem::OtherRegion {
                region: "eu-west-1".to_owned(),
                widget_region: "us-east-1".to_owned(),
            },
        ),
        (
            json!([sent, ["...", {"yAxis": "top"}]]),
            1,
            MetricEntryProblem::InvalidOption {
                name: "yAxis".to_owned(),
                expected: "\"left\" or \"right\"",
            },
        ),
    ];
    for (metrics, expected_entry, expected_problem) in cases {
        let error = refused(metrics);
        let DashboardError::MetricEntry {
            widget,
            entry,
            problem,
        } = &error
        else {
            unreachable!()
        };
        assert_eq!(
            (widget.as_str(), *entry, problem),
            ("W", expected_entry, &expected_problem)
        );
        assert!(
            error.to_string().starts_with(&format!(
                "dashboard widget \"W\", metrics[{expected_entry}]: "
            )),
            "{error}"
        );
    }
}

#[test]
fn an_untitled_widgets_mistake_names_it_by_its_index() {
    let template = json!({"widgets": [
        {"type": "text", "properties": {"markdown": "Hello"}},
        {"type": "metric", "properties": {"metrics": [["AWS/SQS", "X"], ["...", {"bogus": 1}]]}}
    ]});
    let error = Dashboard::from_template(&template.to_string(), &alice()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("dashboard widget \"#1\", metrics[1]: unknown option \"bogus\""),
        "{error}"
    );
}

#[test]
fn entries_without_an_id_are_numbered_around_the_explicit_ones() {
    let widget = shorthand_widget();
    let ids: Vec<&str> = widget
        .queries
        .iter()
        .map(|query| query.id.as_str())
        .collect();
    // m1 is taken explicitly by metrics[2]; expressions are numbered e1, e2, ….
    assert_eq!(ids, ["m2", "e1", "m1", "m3", "m4", "seconds"]);
}

#[test]
fn a_metrics_stat_and_period_override_the_widgets() {
    let widget = shorthand_widget();
    let stats: Vec<(&str, u32)> = widget
        .queries
        .iter()
        .filter_map(|query| query.metric_stat.as_ref())
        .map(|stat| (stat.stat.as_str(), stat.period))
        .collect();
    assert_eq!(
        stats,
        [("Sum", 60), ("Sum", 60), ("Maximum", 120), ("p99", 60)]
    );
    assert_eq!(
        widget.queries[3].label.as_deref(),
        Some("Oldest in the DLQ")
    );
}

#[test]
fn invisible_entries_are_queried_without_returning_data() {
    let return_data: Vec<Option<bool>> = shorthand_widget()
        .queries
        .iter()
        .map(|query| query.return_data)
        .collect();
    assert_eq!(
        return_data,
        [None, None, Some(false), None, None, Some(false)]
    );
}

#[test]
fn expression_entries_become_expression_queries() {
    let widget = shorthand_widget();
    assert_eq!(
        widget.queries[1],
        expression_query("e1", "m1 + m2").label("Sent and deleted")
    );
    assert_eq!(
        widget.queries[5],
        expression_query("seconds", "m4 / 1000").hidden()
    );
}

#[test]
fn text_widgets_are_kept_apart_with_their_place_and_markdown() {
    let dashboard = Dashboard::from_template(&fixture("shorthand.json"), &alice()).unwrap();
    let titles: Vec<&str> = dashboard
        .widgets
        .iter()
        .map(|widget| widget.title.as_str())
        .collect();
    assert_eq!(titles, ["Shorthand"], "a text widget has nothing to query");
    assert_eq!(
        dashboard.text_widgets,
        [TextWidget {
            id: "widget-0".to_owned(),
            position: Position {
                x: 0,
                y: 0,
                width: 24,
                height: 2
            },
            markdown: "# Text widgets have nothing to query".to_owned(),
        }]
    );
    // Placeholders are filled in there too, as Terraform does in the whole file.
    let template =
        r#"{"widgets": [{"type": "text", "properties": {"markdown": "Queue ${csv_queue_name}"}}]}"#;
    let dashboard = Dashboard::from_template(template, &alice()).unwrap();
    assert_eq!(
        dashboard.text_widgets[0].markdown,
        "Queue chaos-csv-queue-3f9a0c1d2b4e5f67"
    );
    assert_eq!(dashboard.text_widgets[0].position.width, 6);
}

#[test]
fn a_text_widget_without_markdown_is_refused_naming_it() {
    let template = r#"{"widgets": [{"type": "text", "properties": {"text": "Hello"}}]}"#;
    let error = Dashboard::from_template(template, &alice()).unwrap_err();
    assert!(
        matches!(&error, DashboardError::InvalidWidget { widget, .. } if widget == "#0 (text)"),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"markdown\""), "{error}");
}

#[test]
fn a_widget_without_view_period_stat_or_size_gets_cloudwatchs_defaults() {
    let dashboard = Dashboard::from_template(&fixture("query.json"), &alice()).unwrap();
    let widget = dashboard.widget("Error rate").unwrap();
    assert_eq!(widget.view, View::SingleValue);
    assert_eq!((widget.period, widget.stat.as_str()), (300, "Average"));
    assert_eq!(
        widget.position,
        Position {
            x: 0,
            y: 0,
            width: 6,
            height: 6
        }
    );
    let stat = widget.queries[0].metric_stat.as_ref().unwrap();
    assert_eq!((stat.period, stat.stat.as_str()), (300, "Average"));

    let bare = r#"{"widgets": [{"type": "metric", "properties": {"metrics": [["AWS/Lambda", "Errors"]]}}]}"#;
    let widget = &Dashboard::from_template(bare, &alice()).unwrap().widgets[0];
    assert_eq!((widget.title.as_str(), widget.view), ("", View::TimeSeries));
    assert_eq!(
        widget.queries[0]
            .metric_stat
            .as_ref()
            .unwrap()
            .metric
            .dimensions,
        []
    );
}

#[test]
fn widget_ids_are_the_written_titles_slugs_made_unique_else_the_widgets_index() {
    let template = json!({"widgets": [
        {"type": "metric", "properties": {"title": "Queue ${dlq_name}: depth (max.)",
            "metrics": [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${dlq_name}"]]}},
        {"type": "log", "properties": {"title": "Skipped", "query": "fields @message"}},
        {"type": "metric", "properties": {"title": "Queue ${dlq_name} depth max",
            "metrics": [["AWS/SQS", "NumberOfMessagesSent"]]}},
        {"type": "metric", "properties": {"metrics": [["AWS/SQS", "NumberOfMessagesSent"]]}},
        {"type": "text", "properties": {"markdown": "Notes"}},
        {"type": "metric", "properties": {"title": "¿…?", "metrics": [["AWS/SQS", "NumberOfMessagesSent"]]}}
    ]})
    .to_string();
    let ids = |names: &DashboardNames| {
        let dashboard = Dashboard::from_template(&template, names).unwrap();
        let widgets: Vec<String> = dashboard
            .widgets
            .iter()
            .map(|widget| widget.id.clone())
            .collect();
        let texts: Vec<String> = dashboard
            .text_widgets
            .iter()
            .map(|text| text.id.clone())
            .collect();
        (widgets, texts)
    };
    let (widgets, texts) = ids(&alice());
    assert_eq!(
        widgets,
        [
            "queue-dlq-name-depth-max",
            "queue-dlq-name-depth-max-2",
            "widget-3",
            "widget-5"
        ]
    );
    assert_eq!(texts, ["widget-4"]);
    let bob = DashboardNames {
        dlq_name: "chaos-error-queue-0000000000000000".to_owned(),
        ..alice()
    };
    assert_eq!(ids(&bob), (widgets, texts), "the same ids on every stack");
}

#[test]
fn the_lab_dashboards_widgets_are_found_by_id() {
    let dashboard = Dashboard::for_stack(&alice()).unwrap();
    let widget = dashboard.widget_by_id("percent-in-error").unwrap();
    assert_eq!(widget.title, "Percent in error");
    assert_eq!(dashboard.text_widgets[0].id, "widget-3");
    assert!(dashboard.widget_by_id("Percent in error").is_none());
}

// ---------------------------------------------------------------------------------------------
// Malformed templates
// ---------------------------------------------------------------------------------------------

#[test]
fn a_dot_with_no_previous_metric_is_refused_naming_the_widget_and_entry() {
    let error =
        Dashboard::from_template(&fixture("repeat_on_first_entry.json"), &alice()).unwrap_err();
    assert!(
        matches!(
            &error,
            DashboardError::MetricEntry {
                widget,
                entry: 1,
                problem: MetricEntryProblem::NothingToRepeat { position: 0 },
            } if widget == "Starts with a repeat"
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "dashboard widget \"Starts with a repeat\", metrics[1]: \".\" at position 0 repeats the \
         previous metric entry, but there is no value there to repeat"
    );
}

#[test]
fn an_odd_dimension_list_is_refused_naming_the_widget_and_entry() {
    let error =
        Dashboard::from_template(&fixture("odd_dimension_list.json"), &alice()).unwrap_err();
    assert!(
        matches!(
            &error,
            DashboardError::MetricEntry {
                widget,
                entry: 1,
                problem: MetricEntryProblem::OddDimensionList { count: 1 },
            } if widget == "Dimension without a value"
        ),
        "{error:?}"
    );
}

#[test]
fn an_unknown_placeholder_is_refused_with_its_name_and_line() {
    let error =
        Dashboard::from_template(&fixture("unknown_placeholder.json"), &alice()).unwrap_err();
    assert!(
        matches!(&error, DashboardError::UnknownPlaceholder { name, line: 12 } if name == "bucket"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("${bucket} on line 12"),
        "{error}"
    );
}

#[test]
fn other_malformed_entries_are_refused() {
    let problem = |metrics: serde_json::Value| {
        let template = json!({"widgets": [{"type": "metric", "properties": {"title": "W", "metrics": metrics}}]});
        match Dashboard::from_template(&template.to_string(), &alice()) {
            Err(DashboardError::MetricEntry { problem, .. }) => problem,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        problem(json!([["AWS/SQS", 7]])),
        MetricEntryProblem::NotAString { position: 1 }
    );
    assert_eq!(
        problem(json!([["AWS/SQS"]])),
        MetricEntryProblem::MissingMetricName
    );
    assert_eq!(problem(json!(["AWS/SQS"])), MetricEntryProblem::NotAnArray);
    assert_eq!(
        problem(json!([[{"id": "e1"}]])),
        MetricEntryProblem::MissingExpression
    );
    assert_eq!(
        problem(json!([["AWS/SQS", "X", {"id": "m1"}], [{"expression": "m1", "id": "m1"}]])),
        MetricEntryProblem::DuplicateId("m1".to_owned())
    );
    assert_eq!(
        problem(json!([["AWS/SQS", "X", {"id": "Sent"}]])),
        MetricEntryProblem::InvalidId("Sent".to_owned())
    );
    assert_eq!(
        problem(json!([["AWS/SQS", "X", {"period": "300"}]])),
        MetricEntryProblem::InvalidOption {
            name: "period".to_owned(),
            expected: "a positive number of seconds"
        }
    );
}

#[test]
fn a_view_the_server_cannot_draw_is_refused() {
    let template = r#"{"widgets": [{"type": "metric", "properties": {"title": "Pie", "view": "pie", "metrics": []}}]}"#;
    let error = Dashboard::from_template(template, &alice()).unwrap_err();
    assert!(
        matches!(&error, DashboardError::InvalidWidget { widget, .. } if widget == "Pie"),
        "{error:?}"
    );
}

#[test]
fn the_template_follows_terraforms_escapes_and_refuses_its_directives() {
    let names = alice();
    assert_eq!(
        render("$${LAST} of ${ dlq_name }", &names).unwrap(),
        "${LAST} of chaos-error-queue-3f9a0c1d2b4e5f67"
    );
    assert_eq!(render("100% %%{x}", &names).unwrap(), "100% %{x}");
    assert!(matches!(
        render("a\n%{ if true }", &names),
        Err(DashboardError::UnsupportedDirective { line: 2 })
    ));
    assert!(matches!(
        render("${region", &names),
        Err(DashboardError::UnterminatedPlaceholder { line: 1 })
    ));
    assert!(matches!(
        render(r#"{"region": ${region}}"#, &names)
            .map(|text| Dashboard::from_template(&text, &names)),
        Ok(Err(DashboardError::InvalidJson { .. }))
    ));
}

// ---------------------------------------------------------------------------------------------
// Querying
// ---------------------------------------------------------------------------------------------

const START: EpochMillis = 1_795_000_000_000;
const MINUTE: EpochMillis = 60_000;

#[test]
fn each_widget_is_one_request_over_the_time_range_with_the_widgets_period_and_stat() {
    let dashboard = Dashboard::from_template(&fixture("query.json"), &alice()).unwrap();
    let source = RecordingSource::default();
    let range = TimeRange {
        start: START,
        end: START + 30 * MINUTE,
        period: None,
    };
    block_on(dashboard.query(&source, range)).unwrap();

    let requests = source.requests.into_inner().unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            (request.start_time, request.end_time),
            (START, START + 30 * MINUTE)
        );
    }
    assert_eq!(stats_of(&requests[0]), [("Average", 300), ("Average", 300)]);
    assert_eq!(stats_of(&requests[1]), [("Sum", 60), ("Maximum", 120)]);
    assert_eq!(
        requests[0].metric_data_queries[2],
        expression_query("e1", "100 * m2 / m1").label("Percent of attempts in error")
    );
}

#[test]
fn the_time_ranges_period_overrides_every_widgets_and_metrics_period() {
    let dashboard = Dashboard::from_template(&fixture("query.json"), &alice()).unwrap();
    let source = RecordingSource::default();
    let range = TimeRange {
        start: START,
        end: START + 60 * MINUTE,
        period: Some(900),
    };
    let data = block_on(dashboard.query(&source, range)).unwrap();

    let requests = source.requests.into_inner().unwrap();
    assert_eq!(stats_of(&requests[0]), [("Average", 900), ("Average", 900)]);
    assert_eq!(stats_of(&requests[1]), [("Sum", 900), ("Maximum", 900)]);
    let periods: Vec<u32> = data.widgets.iter().map(|widget| widget.period).collect();
    assert_eq!(periods, [900, 900]);
}

#[test]
fn results_come_back_oldest_first_with_the_latest_value_for_single_value_widgets() {
    let dashboard = Dashboard::from_template(&fixture("query.json"), &alice()).unwrap();
    let source = RecordingSource::with_points([
        (
            "e1",
            vec![
                (START, 1.0),
                (START + 5 * MINUTE, 2.0),
                (START + 10 * MINUTE, 1.5),
            ],
        ),
        ("m1", vec![(START, 120.0), (START + MINUTE, 118.0)]),
    ]);
    let range = TimeRange {
        start: START,
        end: START + 15 * MINUTE,
        period: None,
    };
    let data = block_on(dashboard.query(&source, range)).unwrap();

    let error_rate = &data.widgets[0];
    assert_eq!(
        (
            error_rate.title.as_str(),
            error_rate.view,
            error_rate.period
        ),
        ("Error rate", View::SingleValue, 300)
    );
    // Only the visible expression is returned.
    assert_eq!(error_rate.series.len(), 1);
    let ratio = &error_rate.series[0];
    assert_eq!(
        (ratio.id.as_str(), ratio.label.as_str()),
        ("e1", "Percent of attempts in error")
    );
    assert_eq!(
        ratio.timestamps,
        [START, START + 5 * MINUTE, START + 10 * MINUTE]
    );
    assert_eq!(ratio.values, [1.0, 2.0, 1.5]);
    assert_eq!(ratio.latest, Some(1.5));

    let traffic = &data.widgets[1];
    let labels: Vec<&str> = traffic
        .series
        .iter()
        .map(|series| series.label.as_str())
        .collect();
    assert_eq!(labels, ["Sent", "ApproximateAgeOfOldestMessage"]);
    assert_eq!(traffic.series[0].timestamps, [START, START + MINUTE]);
    assert_eq!(traffic.series[0].values, [120.0, 118.0]);
    assert_eq!(
        traffic.series[0].latest, None,
        "time series have no latest value"
    );
    assert!(traffic.series[1].timestamps.is_empty());
}

#[test]
fn dashboard_data_serialises_for_the_browser() {
    let dashboard = Dashboard::from_template(&fixture("query.json"), &alice()).unwrap();
    let source =
        RecordingSource::with_points([("e1", vec![(START, 1.0)]), ("m1", vec![(START, 3.0)])]);
    let range = TimeRange {
        start: START,
        end: START + 5 * MINUTE,
        period: None,
    };
    let data = block_on(dashboard.query(&source, range)).unwrap();
    assert_eq!(
        serde_json::to_value(&data).unwrap(),
        json!({"widgets": [
            {
                "id": "error-rate",
                "title": "Error rate",
                "view": "singleValue",
                "position": {"x": 0, "y": 0, "width": 6, "height": 6},
                "period": 300,
                "series": [{"id": "e1", "label": "Percent of attempts in error", "timestamps": [START], "values": [1.0], "unit": "Percent", "latest": 1.0}]
            },
            {
                "id": "queue-traffic",
                "title": "Queue traffic",
                "view": "timeSeries",
                "position": {"x": 6, "y": 0, "width": 18, "height": 6},
                "period": 60,
                "series": [
                    {"id": "m1", "label": "Sent", "timestamps": [START], "values": [3.0], "unit": "Count"},
                    {"id": "m2", "label": "ApproximateAgeOfOldestMessage", "timestamps": [], "values": [], "unit": "Seconds"}
                ]
            }
        ]})
    );
}

#[test]
fn a_failing_metric_source_is_reported_with_the_widget() {
    let dashboard = Dashboard::from_template(&fixture("query.json"), &alice()).unwrap();
    let range = TimeRange {
        start: START,
        end: START + 5 * MINUTE,
        period: None,
    };
    let error = block_on(dashboard.query(&FailingSource, range)).unwrap_err();
    assert!(
        matches!(&error, QueryError::Source { widget, .. } if widget == "Error rate"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "GetMetricData failed for dashboard widget \"Error rate\": Rate exceeded"
    );
}

#[test]
fn an_empty_time_range_is_refused_before_any_request() {
    let dashboard = Dashboard::from_template(&fixture("query.json"), &alice()).unwrap();
    let source = RecordingSource::default();
    let range = TimeRange {
        start: START,
        end: START,
        period: None,
    };
    let error = block_on(dashboard.query(&source, range)).unwrap_err();
    assert!(matches!(error, QueryError::EmptyRange { .. }), "{error:?}");
    assert!(source.requests.into_inner().unwrap().is_empty());
}

#[test]
fn the_query_future_can_be_awaited_by_a_web_handler() {
    fn assert_send<T: Send>(_: &T) {}
    let dashboard = Dashboard::for_stack(&alice()).unwrap();
    let source = RecordingSource::default();
    let range = TimeRange {
        start: START,
        end: START + MINUTE,
        period: None,
    };
    assert_send(&dashboard.query(&source, range));
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The names of the stack in `fixtures/terraform_output.json`.
fn alice() -> DashboardNames {
    DashboardNames {
        region: "us-east-1".to_owned(),
        function_name: "ChaosTransformer-3f9a0c1d2b4e5f67".to_owned(),
        csv_queue_name: "chaos-csv-queue-3f9a0c1d2b4e5f67".to_owned(),
        dlq_name: "chaos-error-queue-3f9a0c1d2b4e5f67".to_owned(),
        topic_name: "chaos-csv-topic-3f9a0c1d2b4e5f67".to_owned(),
    }
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/dashboard/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn shorthand_widget() -> Widget {
    let dashboard = Dashboard::from_template(&fixture("shorthand.json"), &alice()).unwrap();
    dashboard.widget("Shorthand").unwrap().clone()
}

fn metric(namespace: &str, metric_name: &str, dimension: &str, value: &str) -> Metric {
    Metric {
        namespace: namespace.to_owned(),
        metric_name: metric_name.to_owned(),
        dimensions: vec![Dimension {
            name: dimension.to_owned(),
            value: value.to_owned(),
        }],
    }
}

fn metric_query(
    id: &str,
    namespace: &str,
    metric_name: &str,
    dimension: &str,
    value: &str,
) -> MetricDataQuery {
    MetricDataQuery {
        id: id.to_owned(),
        metric_stat: Some(chaoslab::metrics::MetricStat {
            metric: metric(namespace, metric_name, dimension, value),
            period: 300,
            stat: "Average".to_owned(),
        }),
        expression: None,
        label: None,
        return_data: None,
        period: None,
    }
}

fn expression_query(id: &str, expression: &str) -> MetricDataQuery {
    MetricDataQuery {
        id: id.to_owned(),
        metric_stat: None,
        expression: Some(expression.to_owned()),
        label: None,
        return_data: None,
        period: None,
    }
}

/// Small builders for the expected queries.
trait QueryBuilder {
    fn stat(self, stat: &str) -> Self;
    fn label(self, label: &str) -> Self;
    fn hidden(self) -> Self;
}

impl QueryBuilder for MetricDataQuery {
    fn stat(mut self, stat: &str) -> Self {
        if let Some(metric_stat) = &mut self.metric_stat {
            metric_stat.stat = stat.to_owned();
        }
        self
    }

    fn label(mut self, label: &str) -> Self {
        self.label = Some(label.to_owned());
        self
    }

    fn hidden(mut self) -> Self {
        self.return_data = Some(false);
        self
    }
}

/// The (stat, period) of each metric query of a request.
fn stats_of(request: &GetMetricDataRequest) -> Vec<(&str, u32)> {
    request
        .metric_data_queries
        .iter()
        .filter_map(|query| query.metric_stat.as_ref())
        .map(|stat| (stat.stat.as_str(), stat.period))
        .collect()
}

/// A metric source that records each request and answers with canned points per query id,
/// newest first as GetMetricData does, labelled as GetMetricData labels them.
#[derive(Default)]
struct RecordingSource {
    requests: Mutex<Vec<GetMetricDataRequest>>,
    points: HashMap<String, Vec<(EpochMillis, f64)>>,
}

impl RecordingSource {
    fn with_points<const N: usize>(points: [(&str, Vec<(EpochMillis, f64)>); N]) -> Self {
        Self {
            requests: Mutex::default(),
            points: points
                .into_iter()
                .map(|(id, points)| (id.to_owned(), points))
                .collect(),
        }
    }
}

impl MetricSource for RecordingSource {
    type Error = std::convert::Infallible;

    async fn get_metric_data(
        &self,
        request: GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, Self::Error> {
        let metric_data_results = request
            .metric_data_queries
            .iter()
            .filter(|query| query.return_data != Some(false))
            .map(|query| {
                let mut points = self.points.get(&query.id).cloned().unwrap_or_default();
                points.sort_by_key(|(timestamp, _)| std::cmp::Reverse(*timestamp));
                let default_label = query
                    .metric_stat
                    .as_ref()
                    .map(|stat| stat.metric.metric_name.clone())
                    .unwrap_or_else(|| query.id.clone());
                MetricDataResult {
                    id: query.id.clone(),
                    label: query.label.clone().unwrap_or(default_label),
                    timestamps: points.iter().map(|(timestamp, _)| *timestamp).collect(),
                    values: points.iter().map(|(_, value)| *value).collect(),
                    status_code: StatusCode::Complete,
                }
            })
            .collect();
        self.requests.lock().unwrap().push(request);
        Ok(GetMetricDataResponse {
            metric_data_results,
            next_token: None,
        })
    }
}

/// A metric source whose every request is throttled.
struct FailingSource;

impl MetricSource for FailingSource {
    type Error = std::io::Error;

    async fn get_metric_data(
        &self,
        _request: GetMetricDataRequest,
    ) -> Result<GetMetricDataResponse, Self::Error> {
        Err(std::io::Error::other("Rate exceeded"))
    }
}

/// Runs a future that never waits: the fake metric sources answer at once.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the fake metric sources answer at once, so a query never waits"),
    }
}
