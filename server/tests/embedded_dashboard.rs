//! The shared dashboard definition, run against the embedded engine with traffic: the same
//! template Terraform publishes loads for a stack, expands, and every widget gets data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use chaoslab::dashboard::{Dashboard, DashboardNames, TimeRange, View};
use support::{TestPipeline, lab_message, malformed};

#[tokio::test(start_paused = true)]
async fn the_terraform_dashboard_shows_the_embedded_pipeline() {
    let pipeline = TestPipeline::open();
    let stack = pipeline.stack();
    let t0 = stack.now();
    // Ten minutes at 2 objects/s, every 50th malformed, with a subscriber keeping up.
    for n in 1..=1_200u64 {
        let body = if n % 50 == 0 {
            malformed(n)
        } else {
            lab_message(n)
        };
        stack
            .put_object(
                &format!("input/data_object_msg-{n}.json"),
                body,
                "application/json",
            )
            .unwrap();
        for message in stack
            .receive_messages(
                chaoslab::backend::embedded::stack::QueueKind::Csv,
                10,
                Duration::ZERO,
            )
            .await
            .unwrap()
        {
            stack
                .delete_message(
                    chaoslab::backend::embedded::stack::QueueKind::Csv,
                    &message.receipt_handle,
                )
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stopped = stack.now();
    pipeline.sleep(Duration::from_secs(300)).await;

    let dashboard = Dashboard::for_stack(&DashboardNames::from(stack.names())).unwrap();
    let range = TimeRange {
        start: t0,
        end: stack.now(),
        period: None,
    };
    let data = dashboard.query(stack.as_ref(), range).await.unwrap();
    assert_eq!(data.widgets.len(), dashboard.widgets.len());
    for widget in &data.widgets {
        assert!(
            !widget.series.is_empty(),
            "widget {:?} has no series",
            widget.title
        );
        let points: usize = widget.series.iter().map(|series| series.values.len()).sum();
        assert!(points > 0, "widget {:?} has no datapoints", widget.title);
        assert_eq!(widget.period, 300);
        for series in &widget.series {
            assert!(
                series.timestamps.windows(2).all(|pair| pair[0] < pair[1]),
                "{series:?}"
            );
            assert!(
                series
                    .timestamps
                    .iter()
                    .all(|&at| (at - t0).rem_euclid(300_000) == 0),
                "{series:?}"
            );
        }
    }
    let by_title = |title: &str| {
        data.widgets
            .iter()
            .find(|widget| widget.title == title)
            .unwrap()
    };

    // Lambda: every object once, every malformed one three times.
    let lambda = by_title("ETL function (Lambda)");
    let invocations = lambda
        .series
        .iter()
        .find(|series| series.label == "Invocations")
        .unwrap();
    assert_eq!(invocations.values.iter().sum::<f64>(), 1_200.0 + 2.0 * 24.0);

    // Percent in error: a single value. While traffic flows (after the first retries, 3 minutes
    // in), it sits near the 2% of malformed input; once traffic stops, the last retries arrive
    // with nothing else and the newest window reads 100%, as it would on CloudWatch.
    let percent = by_title("Percent in error");
    assert_eq!(percent.view, View::SingleValue);
    assert_eq!(percent.series[0].latest, Some(100.0));
    let series = &percent.series[0];
    let steady: Vec<f64> = series
        .timestamps
        .iter()
        .zip(&series.values)
        .filter(|&(&at, _)| at >= t0 + 300_000 && at + 300_000 <= stopped)
        .map(|(_, &value)| value)
        .collect();
    assert!(!steady.is_empty());
    let mean = steady.iter().sum::<f64>() / steady.len() as f64;
    assert!(
        (mean - 2.0).abs() <= 0.5,
        "steady percent in error {mean}, windows {steady:?}"
    );
    let total: f64 = data
        .widgets
        .iter()
        .filter(|widget| widget.title == "ETL errors (dead-letter queue)")
        .flat_map(|widget| widget.series.iter())
        .filter(|series| series.label.contains("NumberOfMessagesSent") || series.id == "m1")
        .map(|series| series.values.iter().sum::<f64>())
        .sum();
    assert_eq!(total, 24.0, "DLQ messages sent");
}
