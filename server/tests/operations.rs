//! The lab's operations as a participant and the instructor meet them: what the newcomer found
//! broken, each as a specification, through the pages and the API of one in-process lab on
//! paused time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chaoslab::ops::traffic::Supervisor;
use serde_json::json;
use support::app::{INSTRUCTOR, Lab, location};

/// Runs `minutes` of pipeline time, letting the supervisor look every 10 s as the server's does.
async fn run(lab: &Lab, supervisor: &mut Supervisor, minutes: u64) {
    for _ in 0..minutes * 6 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        supervisor.look(&lab.state).await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_steps_start_button_starts_what_its_label_says() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    // Ada saves 5/s with 30% malformed on the traffic page, then stops.
    let (status, _, _) = lab
        .post_as(&ada, "/traffic", "publisher_rate=5&error_percent=30")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    lab.post_as(&ada, "/traffic/stop", "").await;
    // Step 5's button says "Start traffic (2 objects/s, 1% malformed)".
    let (_, _, page) = lab.get("/lab/start-traffic", &ada.cookie).await;
    assert!(page.contains("Start traffic (2 objects/s, 1% malformed)"));
    assert!(page.contains(r#"name="standard" value="yes""#));
    let (status, headers, _) = lab
        .post_as(
            &ada,
            "/traffic",
            "return_to=/lab/start-traffic&standard=yes",
        )
        .await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/lab/start-traffic")
    );
    let publisher = lab.state.traffic.status(&ada.id).publisher.unwrap();
    assert!(publisher.running);
    assert_eq!(
        (publisher.settings.rate, publisher.settings.error_rate),
        (2.0, 0.01)
    );
}

#[tokio::test(start_paused = true)]
async fn a_reset_starts_the_pipeline_its_metrics_and_its_traffic_checks_from_zero() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let mut supervisor = Supervisor::default();
    lab.post_as(&ada, "/traffic", "standard=yes").await;
    lab.post_as(&ada, "/slo", "max_percent=5&window_minutes=5")
        .await;
    run(&lab, &mut supervisor, 12).await;
    let (_, _, page) = lab.get("/lab/observe-the-steady-state", &ada.cookie).await;
    assert!(page.contains("Done:"), "steady state seen before the reset");
    let accounting = lab.state.backend.accounting(&ada.id).await.unwrap();
    assert!(accounting.published > 1000 && accounting.dead_lettered > 0);

    let instructor = lab.log_in().await;
    let (status, _, _) = lab
        .act(
            &instructor,
            &format!("action=reset&scope=selected&ids={}&confirm=yes", ada.id),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Two minutes on: the queues' per-minute reports have come and gone.
    run(&lab, &mut supervisor, 2).await;

    let accounting = lab.state.backend.accounting(&ada.id).await.unwrap();
    assert_eq!(accounting, Default::default(), "accounting from zero");
    let (_, dashboard) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{}/dashboard?minutes=60", ada.id),
            Some(&ada.token),
            None,
        )
        .await;
    for widget in dashboard["widgets"].as_array().unwrap() {
        for series in widget["series"].as_array().unwrap() {
            let values = series["values"].as_array().unwrap();
            assert!(
                values.iter().all(|value| value.as_f64() == Some(0.0)),
                "{} / {}: {values:?}",
                widget["title"],
                series["label"]
            );
        }
    }
    let (_, slo) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{}/slo", ada.id),
            Some(&ada.token),
            None,
        )
        .await;
    assert_eq!(slo["status"]["value_percent"], json!(null), "{slo}");
    let (_, steps) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{}/steps", ada.id),
            Some(&ada.token),
            None,
        )
        .await;
    let done: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["done"] == json!(true))
        .map(|step| step["id"].as_str().unwrap())
        .collect();
    // The traffic steps (5, 6 and 7) are undone; the stack's own step stays done.
    assert_eq!(done, ["create-the-pipeline"]);
    assert!(lab.state.traffic.status(&ada.id).publisher.is_none());
    let (_, _, overview) = lab.get("/instructor", &instructor.cookie).await;
    assert!(!overview.contains("SLO met"), "{overview}");
}

#[tokio::test(start_paused = true)]
async fn the_automatic_stop_is_shown_recorded_and_the_subscriber_drains_then_stops() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let mut supervisor = Supervisor::default();
    // 10% malformed: some object is always still being retried when the publisher stops.
    lab.post_as(&ada, "/traffic", "stop_after_minutes=5&error_percent=10")
        .await;
    run(&lab, &mut supervisor, 6).await;
    let status = lab.state.traffic.status(&ada.id);
    let publisher = status.publisher.as_ref().unwrap();
    assert!(!publisher.running && publisher.stopped_by_itself());
    assert!(
        status.subscriber.as_ref().unwrap().running,
        "the subscriber drains what is still in the pipeline"
    );
    let (_, _, page) = lab.get("/traffic", &ada.cookie).await;
    assert!(
        page.contains("The publisher stopped by itself after 5 min 00 s"),
        "{page}"
    );
    let (_, _, step) = lab.get("/lab/start-traffic", &ada.cookie).await;
    assert!(step.contains("The publisher stopped by itself"), "{step}");
    // A malformed object takes 3 minutes to reach the DLQ; then nothing is in flight.
    run(&lab, &mut supervisor, 5).await;
    let status = lab.state.traffic.status(&ada.id);
    assert!(!status.is_running(), "the subscriber stopped once drained");
    let accounting = lab.state.backend.accounting(&ada.id).await.unwrap();
    assert_eq!(accounting.in_flight, 0);
    assert_eq!(accounting.consumed, accounting.converted);
    let events = lab.events_of(&ada.id);
    let stops: Vec<&str> = events
        .iter()
        .filter(|(kind, _)| kind == "traffic_stopped")
        .map(|(_, detail)| detail.as_str())
        .collect();
    assert_eq!(stops.len(), 2, "{events:?}");
    assert!(stops[0].starts_with("publisher stopped by itself after 5 min"));
    assert_eq!(
        stops[1],
        "subscriber stopped by itself: the csv queue is drained"
    );
    let (_, _, page) = lab.get("/traffic", &ada.cookie).await;
    assert!(
        page.contains("The subscriber drained the csv queue and stopped too."),
        "{page}"
    );
}

#[tokio::test(start_paused = true)]
async fn after_the_automatic_stop_the_subscriber_works_off_a_long_backlog() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let mut supervisor = Supervisor::default();
    // 5 objects/s against a subscriber at 2/s for 10 minutes: a backlog of about 1,800
    // notifications, 15 minutes of work at the subscriber's pace.
    lab.post_as(
        &ada,
        "/traffic",
        "publisher_rate=5&stop_after_minutes=10&subscriber_rate=2",
    )
    .await;
    run(&lab, &mut supervisor, 20).await;
    assert!(
        lab.state.traffic.status(&ada.id).is_running(),
        "still draining"
    );
    run(&lab, &mut supervisor, 10).await;
    assert!(!lab.state.traffic.status(&ada.id).is_running());
    let accounting = lab.state.backend.accounting(&ada.id).await.unwrap();
    assert_eq!(accounting.consumed, accounting.converted, "{accounting:?}");
    assert!(
        lab.events_of(&ada.id)
            .iter()
            .any(|(_, detail)| detail == "subscriber stopped by itself: the csv queue is drained")
    );
}

#[tokio::test(start_paused = true)]
async fn a_finished_steps_check_describes_the_present() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    lab.post_as(&ada, "/traffic", "standard=yes").await;
    let (_, check) = lab.htmx("/lab/start-traffic/check", &ada.cookie).await;
    assert!(check.contains("Done:"), "{check}");
    lab.post_as(&ada, "/traffic/stop", "").await;
    let (_, check) = lab.htmx("/lab/start-traffic/check", &ada.cookie).await;
    assert!(check.contains("Done:"), "done stays done: {check}");
    assert!(
        check.contains("Right now the publisher is stopped and the subscriber is stopped."),
        "{check}"
    );
    assert!(!check.contains("both running"), "{check}");
}

#[tokio::test]
async fn leaving_asks_first_stops_the_traffic_and_the_resume_code_brings_them_back() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    lab.post_as(&ada, "/traffic", "standard=yes").await;
    // The top bar's Leave is a link to a page that asks, not a one-click form.
    let (_, _, step) = lab.get("/lab/prepare", &ada.cookie).await;
    assert!(step.contains(r#"href="/leave""#), "{step}");
    let (status, _, page) = lab.get("/leave", &ada.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Leave the lab?") && page.contains(&ada.token));
    assert!(lab.state.traffic.status(&ada.id).is_running());
    let (status, headers, _) = lab.post_as(&ada, "/leave", "").await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/?reason=left")
    );
    assert!(!lab.state.traffic.status(&ada.id).is_running());
    let (_, _, landing) = lab.get("/?reason=left", "").await;
    assert!(landing.contains("Resume"), "{landing}");

    let (status, _, page) = lab.post("/resume", "", "code=clp_wrong").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("does not belong to anyone"), "{page}");
    let (status, headers, _) = lab
        .post("/resume", "", &format!("code={}", ada.token))
        .await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/lab/prepare")
    );
    assert_eq!(
        lab.state.participants.list().unwrap().len(),
        1,
        "no second Ada"
    );
    let kinds: Vec<String> = lab
        .events_of(&ada.id)
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    assert!(kinds.ends_with(&["traffic_stopped".into(), "left".into(), "resumed".into()]));
}

#[tokio::test]
async fn the_dashboard_page_says_how_each_measure_is_computed() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (_, _, page) = lab.get("/dashboard", &ada.cookie).await;
    assert!(
        page.contains("How the two measures are computed."),
        "{page}"
    );
    assert!(page.contains("<em>Percent in flight</em>"), "{page}");
}

#[tokio::test]
async fn the_architecture_picture_claims_to_refresh_only_where_scripts_run() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (_, _, page) = lab.get("/architecture", &ada.cookie).await;
    assert!(
        page.contains("<span data-refresh-note hidden>; they refresh every few"),
        "{page}"
    );
    assert!(page.contains("<noscript> Reload the page for newer counts.</noscript>"));
}

#[tokio::test]
async fn leaving_through_the_api_stops_the_traffic_as_the_page_does() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    lab.post_as(&ada, "/traffic", "standard=yes").await;
    let (status, _) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{}/leave", ada.id),
            Some(&ada.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!lab.state.traffic.status(&ada.id).is_running());
    let kinds: Vec<String> = lab
        .events_of(&ada.id)
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    assert!(
        kinds.ends_with(&["traffic_stopped".into(), "left".into()]),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn every_lab_page_links_to_the_api_access_page() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    for page in [
        "/lab/prepare",
        "/traffic",
        "/dashboard",
        "/slo",
        "/function",
    ] {
        let (_, _, body) = lab.get(page, &ada.cookie).await;
        assert!(body.contains(r#"<a href="/api-access">"#), "{page}");
    }
}

#[tokio::test]
async fn an_slo_stated_on_the_page_is_in_the_event_log_as_from_the_api() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    lab.post_as(&ada, "/slo", "max_percent=3&window_minutes=10")
        .await;
    let (status, _) = lab
        .api(
            Method::PUT,
            &format!("/api/v1/participants/{}/slo", ada.id),
            Some(&ada.token),
            Some(json!({ "max_percent": 2.5, "window_minutes": 5 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let slo_events: Vec<String> = lab
        .events_of(&ada.id)
        .into_iter()
        .filter(|(kind, _)| kind == "slo_set")
        .map(|(_, detail)| detail)
        .collect();
    assert_eq!(slo_events, ["≤ 3% over 10 min", "≤ 2.5% over 5 min"]);
    // The form's default is a sound objective, not the 1% trap.
    let bob = lab.join("Bob").await;
    let (_, _, page) = lab.get("/slo", &bob.cookie).await;
    assert!(page.contains(r#"id="max_percent" name="max_percent" type="number" min="0.01" max="100" step="0.01" value="2""#), "{page}");
}

#[tokio::test]
async fn a_bulk_stop_counts_only_the_participants_it_stopped() {
    let lab = Lab::open();
    let mut running = Vec::new();
    for name in ["Ada", "Bob", "Cy", "Dee"] {
        running.push(lab.join(name).await);
    }
    for visitor in &running[..2] {
        lab.post_as(visitor, "/traffic", "standard=yes").await;
    }
    let instructor = lab.log_in().await;
    let (_, headers, _) = lab.act(&instructor, "action=stop&scope=all").await;
    let target = location(&headers);
    assert!(target.contains("done=stopped&count=2"), "{target}");
    assert!(target.contains("skipped=2"), "{target}");
    // The API's bulk action counts the same way.
    lab.post_as(&running[0], "/traffic", "standard=yes").await;
    let (status, outcome) = lab
        .api(
            Method::POST,
            "/api/v1/participants/actions",
            Some(INSTRUCTOR),
            Some(json!({ "action": "stop_traffic" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcome, json!({ "done": 1, "skipped": 3, "failed": 0 }));
}

#[tokio::test]
async fn the_instructors_reset_is_in_the_api_too() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    lab.post_as(&ada, "/traffic", "standard=yes").await;
    let path = format!("/api/v1/participants/{}/reset", ada.id);
    let (status, body) = lab.api(Method::POST, &path, Some(&ada.token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = lab.api(Method::POST, &path, Some(INSTRUCTOR), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!lab.state.traffic.status(&ada.id).is_running());
    assert!(
        lab.events_of(&ada.id)
            .contains(&("stack_reset".to_owned(), "by the instructor".to_owned()))
    );
}

/// Every value of the series labelled `label` in the dashboard's widget titled `title`.
fn series_values(dashboard: &serde_json::Value, title: &str, label: &str) -> Vec<f64> {
    dashboard["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|widget| widget["title"] == title)
        .flat_map(|widget| widget["series"].as_array().unwrap())
        .filter(|series| series["label"] == label)
        .flat_map(|series| series["values"].as_array().unwrap())
        .map(|value| value.as_f64().unwrap())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn percent_in_flight_is_never_below_zero_over_three_hours_of_starts_and_stops() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let mut supervisor = Supervisor::default();
    let path = format!("/api/v1/participants/{}/traffic", ada.id);
    let put = |body: serde_json::Value| lab.api(Method::PUT, &path, Some(&ada.token), Some(body));
    for _ in 0..3 {
        // Steady traffic, then the subscriber stops while the publisher goes on (a backlog),
        // then the subscriber drains it much faster than CSV arrives, then everything stops.
        put(json!({ "publisher": { "rate": 2 }, "subscriber": { "rate": 2 } })).await;
        run(&lab, &mut supervisor, 15).await;
        lab.state.traffic.stop_subscriber(&ada.id).await;
        run(&lab, &mut supervisor, 15).await;
        put(json!({ "subscriber": { "rate": 20 } })).await;
        run(&lab, &mut supervisor, 10).await;
        lab.api(Method::DELETE, &path, Some(&ada.token), None).await;
        run(&lab, &mut supervisor, 20).await;
    }
    let (status, dashboard) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{}/dashboard?minutes=180", ada.id),
            Some(&ada.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let over_time = series_values(
        &dashboard,
        "Percent in error and in flight over time",
        "Percent in flight",
    );
    assert!(over_time.len() >= 20, "{over_time:?}");
    assert!(
        over_time.iter().all(|value| (0.0..=100.0).contains(value)),
        "{over_time:?}"
    );
    assert!(
        over_time.iter().any(|value| *value > 50.0),
        "the backlog shows: {over_time:?}"
    );
    // The old definition, (sent − deleted) ÷ sent, on the same metrics: negative while the
    // subscriber drained the backlog.
    let now = lab.state.backend.clock().now();
    let csv_queue = lab
        .state
        .backend
        .stack_names(&ada.id)
        .unwrap()
        .csv_queue_name;
    let metric = |id: &str, name: &str| {
        json!({ "Id": id, "ReturnData": false, "MetricStat": { "Metric": { "Namespace": "AWS/SQS",
            "MetricName": name, "Dimensions": [{ "Name": "QueueName", "Value": csv_queue }] },
            "Period": 300, "Stat": "Sum" } })
    };
    let (_, old) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{}/metrics/query", ada.id),
            Some(&ada.token),
            Some(json!({
                "MetricDataQueries": [
                    metric("m1", "NumberOfMessagesSent"),
                    metric("m3", "NumberOfMessagesDeleted"),
                    { "Id": "old", "Expression": "100 * (m1 - m3) / m1" }
                ],
                "StartTime": chaoslab::metrics::rfc3339::format(now - 180 * 60_000),
                "EndTime": chaoslab::metrics::rfc3339::format(now),
            })),
        )
        .await;
    let old_values: Vec<f64> = old["MetricDataResults"][0]["Values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_f64().unwrap())
        .collect();
    assert!(
        old_values.iter().any(|value| *value < -100.0),
        "the old definition went below 0: {old_values:?}"
    );
}
