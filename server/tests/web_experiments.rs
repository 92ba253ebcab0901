//! The experiments pages: saving from the editor (with problems named), running, the run's
//! timeline and Halt, driven through the router.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use support::app::{Lab, location};

fn form_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn experiment(pause_s: u64) -> serde_json::Value {
    let provider = |method: &str, body: Option<serde_json::Value>| {
        let mut provider = json!({
            "type": "http", "method": method,
            "url": "${chaoslab_url}/api/v1/participants/${participant_id}/fault-injection",
            "headers": {"Authorization": "Bearer ${chaoslab_token}", "Content-Type": "application/json"}
        });
        if let Some(body) = body {
            provider["arguments"] = body;
        }
        provider
    };
    json!({
        "title": "A fault is noticed",
        "description": "Switches an exception on; the hypothesis says no fault is on.",
        "configuration": {
            "chaoslab_url": {"type": "env", "key": "CHAOSLAB_URL"},
            "participant_id": {"type": "env", "key": "CHAOSLAB_PARTICIPANT_ID"}
        },
        "secrets": {"chaoslab": {"chaoslab_token": {"type": "env", "key": "CHAOSLAB_TOKEN"}}},
        "steady-state-hypothesis": {"title": "No fault", "probes": [{
            "type": "probe", "name": "no-fault-is-on",
            "tolerance": {"type": "jsonpath", "path": "$.enabled", "expect": false, "target": "body"},
            "provider": provider("GET", None)
        }]},
        "method": [{
            "type": "action", "name": "switch-an-exception-on",
            "provider": provider("PUT", Some(json!({"isEnabled": true, "failureMode": "exception", "exceptionMsg": "x"}))),
            "pauses": {"after": pause_s}
        }],
        "rollbacks": [{"type": "action", "name": "switch-it-off", "provider": provider("PUT", Some(json!({"isEnabled": false})))}]
    })
}

#[tokio::test(start_paused = true)]
async fn a_participant_saves_runs_follows_and_halts_an_experiment() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (status, _, page) = lab.get("/experiments", &ada.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Lab 3: the hypothesis alone"), "{page}");
    assert!(
        page.contains("probes/percent-in-flight?minutes=5"),
        "{page}"
    );

    // A problem is named and nothing is saved.
    let (status, _, page) = lab
        .post_as(
            &ada,
            "/experiments",
            &format!(
                "intent=save&experiment={}",
                form_encode(r#"{"title": "t"}"#)
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("description: experiment requires a description"),
        "{page}"
    );
    assert!(
        page.contains("You have not saved an experiment yet"),
        "{page}"
    );
    let (status, _, page) = lab
        .post_as(
            &ada,
            "/experiments",
            &format!(
                "intent=check&experiment={}",
                form_encode(&experiment(600).to_string())
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("The experiment is valid"), "{page}");

    // Saved, then run.
    let (status, headers, _) = lab
        .post_as(
            &ada,
            "/experiments",
            &format!(
                "intent=save&experiment={}",
                form_encode(&experiment(600).to_string())
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let saved = location(&headers)
        .trim_start_matches("/experiments?edit=")
        .trim_end_matches("#editor")
        .to_owned();
    let (status, headers, _) = lab
        .post_as(&ada, &format!("/experiments/{saved}/run"), "")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let run_page = location(&headers).to_owned();
    assert!(run_page.starts_with("/experiments/runs/r-"), "{run_page}");
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (_, _, page) = lab.get(&run_page, &ada.cookie).await;
    assert!(
        page.contains(">running</span>") && page.contains(">Halt</button>"),
        "{page}"
    );
    assert!(
        page.contains("Hypothesis before") && page.contains("<code>switch-an-exception-on</code>"),
        "{page}"
    );
    assert!(
        page.contains(r#"hx-trigger="every 2s""#),
        "the page follows the run: {page}"
    );
    assert!(
        page.contains("Injected faults"),
        "the fault chart beside the timeline: {page}"
    );

    // Halt: interrupted, rolled back.
    let (status, _, _) = lab.post_as(&ada, &format!("{run_page}/halt"), "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, _, page) = lab.get(&run_page, &ada.cookie).await;
    assert!(
        page.contains("Interrupted: halted by hand. The rollbacks were played."),
        "{page}"
    );
    assert!(page.contains("<code>switch-it-off</code>"), "{page}");
    assert!(!page.contains(">Halt</button>"), "{page}");
    let (_, _, page) = lab.get("/experiments", &ada.cookie).await;
    assert!(page.contains("interrupted"), "{page}");
}
