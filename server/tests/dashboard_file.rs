//! `chaoslab serve --dashboard FILE`: an instructor's own dashboard body, checked at start-up and
//! served everywhere the lab reads its dashboard (the API, the pages, the measures), and the
//! widgets' and series' stable ids an API client finds them by.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use chaoslab::dashboard::{DashboardDefinition, DefinitionError};
use chaoslab::serve::{ServeArgs, build_state};
use serde_json::Value;
use support::app::Lab;
use support::binary::{Binary, INSTRUCTOR_TOKEN};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/dashboard/{name}"))
}

/// The ids of the widgets of a dashboard response, and of each widget's series.
fn ids(body: &Value) -> Vec<(String, Vec<String>)> {
    body["widgets"]
        .as_array()
        .unwrap_or_else(|| panic!("no widgets in {body}"))
        .iter()
        .map(|widget| {
            let series = widget["series"]
                .as_array()
                .unwrap()
                .iter()
                .map(|series| series["id"].as_str().unwrap().to_owned())
                .collect();
            (widget["id"].as_str().unwrap().to_owned(), series)
        })
        .collect()
}

fn owned(ids: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    ids.iter()
        .map(|(widget, series)| {
            (
                (*widget).to_owned(),
                series.iter().map(|id| (*id).to_owned()).collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_dashboard_file_is_served_through_the_api_with_stable_widget_and_series_ids() {
    let lab = Lab::with(|args| args.dashboard = Some(fixture("instructor.json")));
    let (id, token) = lab.join_through_api("Ada").await;
    let path = format!("/api/v1/participants/{id}/dashboard");

    let (status, first) = lab.api(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let expected = owned(&[
        ("percent-in-error", &["e1"]),
        ("percent-in-flight", &["e2"]),
        // The title as the file writes it, so every stack's widget has this id.
        ("function-function-name", &["m1", "m2", "m3"]),
    ]);
    assert_eq!(ids(&first), expected);
    assert!(
        first["widgets"][2]["title"]
            .as_str()
            .unwrap()
            .starts_with("Function ChaosTransformer"),
        "{first}"
    );

    let (_, second) = lab.api(Method::GET, &path, Some(&token), None).await;
    assert_eq!(ids(&second), expected, "ids are the same on every call");

    // The SLO reads "Percent in error" from the same file.
    let (status, slo) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/slo"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{slo}");

    // The dashboard page draws the same widgets, the text widget among them, marked with ids.
    let visitor = lab.join("Bea").await;
    let (status, _, page) = lab.get("/dashboard", &visitor.cookie).await;
    assert_eq!(status, StatusCode::OK);
    for part in [
        r#"data-widget-id="function-function-name""#,
        r#"data-widget-id="widget-3""#,
        "Our own dashboard, for this workshop.",
    ] {
        assert!(page.contains(part), "{part:?} is not on the page:\n{page}");
    }
}

#[tokio::test]
async fn without_a_dashboard_file_the_terraform_dashboard_is_served_with_ids_from_its_titles() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let (status, body) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/dashboard"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let widgets: Vec<String> = ids(&body).into_iter().map(|(widget, _)| widget).collect();
    assert_eq!(
        widgets,
        [
            "percent-in-error",
            "percent-in-flight",
            "percent-in-error-and-in-flight-over-time",
            "csv-queue-sqs",
            "etl-errors-dead-letter-queue",
            "etl-function-lambda",
            "sns-topic",
            "injected-faults",
        ]
    );
    assert_eq!(
        lab.state.dashboard.template(),
        chaoslab::dashboard::TEMPLATE
    );
}

#[test]
fn a_dashboard_file_with_a_bad_entry_is_refused_naming_the_file_the_widget_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let args = ServeArgs {
        dashboard: Some(fixture("bad_entry.json")),
        ..ServeArgs::embedded(dir.path())
    };
    let message = format!("{:#}", build_state(&args).err().unwrap());
    for part in [
        "bad_entry.json",
        "dashboard widget \"Dead letters\", metrics[1]",
        "unknown option \"colour\"",
    ] {
        assert!(message.contains(part), "{part:?} is not in: {message}");
    }
    assert!(
        !dir.path().join(chaoslab::database::FILE_NAME).exists(),
        "the pipeline was opened before the dashboard was checked"
    );
}

#[test]
fn a_dashboard_without_a_lab_measure_is_refused_naming_the_measure() {
    let body = std::fs::read_to_string(fixture("instructor.json"))
        .unwrap()
        .replace("\"Percent in flight\", \"id\"", "\"Backlog\", \"id\"");
    let error = DashboardDefinition::from_template(body, "mine.json").unwrap_err();
    assert!(
        matches!(&error, DefinitionError::MissingMeasure { label: "Percent in flight", origin } if origin == "mine.json"),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(
            "the dashboard mine.json has no metric-math expression labelled \"Percent in flight\""
        ),
        "{error}"
    );
}

#[test]
fn percent_in_error_must_read_the_dead_letter_queue_for_the_slo_to_count_it() {
    let body = std::fs::read_to_string(fixture("instructor.json"))
        .unwrap()
        .replacen(
            "[\"...\", \"${dlq_name}\"",
            "[\"...\", \"${csv_queue_name}\"",
            1,
        );
    let error = DashboardDefinition::from_template(body, "mine.json").unwrap_err();
    assert!(
        matches!(
            &error,
            DefinitionError::MeasureInput {
                label: "Percent in error",
                placeholder: "dlq_name",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_missing_dashboard_file_is_refused_naming_it_and_the_option() {
    let error = DashboardDefinition::from_file(&fixture("no_such_file.json")).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("no_such_file.json"), "{message}");
    assert!(message.contains("--dashboard"), "{message}");
}

#[test]
fn the_compiled_in_dashboard_passes_every_start_up_check() {
    let definition = DashboardDefinition::compiled_in().unwrap();
    assert_eq!(
        definition.origin(),
        "terraform/dashboard.json (compiled in)"
    );
    assert_eq!(definition.generic().widgets.len(), 8);
}

#[test]
fn serve_with_a_bad_dashboard_file_exits_non_zero_naming_the_file_the_widget_and_the_entry() {
    let data = tempfile::tempdir().unwrap();
    let bad = fixture("bad_entry.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(["serve", "--listen", "127.0.0.1:0", "--dashboard"])
        .arg(&bad)
        .arg("--data-dir")
        .arg(data.path())
        .args(["--instructor-token", INSTRUCTOR_TOKEN])
        .env_remove("CHAOSLAB_DASHBOARD")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chaoslab serve kept running with a bad dashboard file");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    for part in [
        bad.display().to_string().as_str(),
        "dashboard widget \"Dead letters\", metrics[1]",
        "unknown option \"colour\"",
    ] {
        assert!(stderr.contains(part), "{part:?} is not in: {stderr}");
    }
}

#[test]
fn serve_reads_the_dashboard_file_named_by_chaoslab_dashboard() {
    let path = fixture("instructor.json");
    let server = Binary::start(&[], &[("CHAOSLAB_DASHBOARD", path.to_str().unwrap())]);
    let (status, body) = server.call(
        "POST",
        "/api/v1/participants",
        None,
        Some(r#"{"name": "Ada"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let joined: Value = serde_json::from_str(&body).unwrap();
    let (status, body) = server.call(
        "GET",
        &format!(
            "/api/v1/participants/{}/dashboard",
            joined["id"].as_str().unwrap()
        ),
        joined["token"].as_str(),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let dashboard: Value = serde_json::from_str(&body).unwrap();
    let widgets: Vec<String> = ids(&dashboard).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        widgets,
        [
            "percent-in-error",
            "percent-in-flight",
            "function-function-name"
        ]
    );
}
