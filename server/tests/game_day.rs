//! The instructor's game day: one experiment on every participant at once, followed in one
//! table, halted all at once, every journal in one download; through the API and the page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::app::{INSTRUCTOR, Lab};

fn experiment(pause_s: u64) -> Value {
    support::experiments::fault_noticed("Everyone's function fails", pause_s)
}

#[tokio::test(start_paused = true)]
async fn the_instructor_runs_one_experiment_on_everyone_follows_halts_and_downloads() {
    let lab = Lab::open();
    let (ada, ada_token) = lab.join_through_api("Ada").await;
    let (bob, _) = lab.join_through_api("Bob").await;
    let (cy, _) = lab.join_through_api("Cy").await;

    // Only the instructor.
    let (status, _) = lab
        .api(
            Method::POST,
            "/api/v1/gamedays",
            Some(&ada_token),
            Some(json!({"experiment": experiment(60)})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = lab
        .api(Method::GET, "/api/v1/gamedays", Some(INSTRUCTOR), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "none yet");
    // An experiment nobody can run is refused as a whole.
    let (status, body) = lab
        .api(
            Method::POST,
            "/api/v1/gamedays",
            Some(INSTRUCTOR),
            Some(json!({"experiment": {"title": "t"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Ada and Bob: a short one that holds nothing back; Cy is left out.
    let (status, view) = lab
        .api(
            Method::POST,
            "/api/v1/gamedays",
            Some(INSTRUCTOR),
            Some(json!({"experiment": experiment(60), "participants": [ada, bob]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(view["rows"].as_array().unwrap().len(), 2);
    tokio::time::sleep(Duration::from_secs(90)).await;
    let (_, view) = lab
        .api(Method::GET, "/api/v1/gamedays", Some(INSTRUCTOR), None)
        .await;
    for row in view["rows"].as_array().unwrap() {
        assert_eq!(row["verdict"], "deviated", "{row}");
        assert_eq!(row["failing_probe"], "no-fault-is-on");
        assert_eq!(row["values"], json!(["no-fault-is-on = HTTP 200"]));
    }
    let ids: Vec<&str> = view["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["participant"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&cy.as_str()));

    // Everyone, with a long pause: Halt all interrupts every run and rolls each back.
    let (status, _) = lab
        .api(
            Method::POST,
            "/api/v1/gamedays",
            Some(INSTRUCTOR),
            Some(json!({"experiment": experiment(3_600)})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (_, halted) = lab
        .api(
            Method::POST,
            "/api/v1/gamedays/halt",
            Some(INSTRUCTOR),
            None,
        )
        .await;
    assert_eq!(halted, json!({"halted": 3}));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, view) = lab
        .api(Method::GET, "/api/v1/gamedays", Some(INSTRUCTOR), None)
        .await;
    for row in view["rows"].as_array().unwrap() {
        assert_eq!(row["verdict"], "interrupted", "{row}");
        assert_eq!(
            row["interruption"],
            "halted by the instructor (game day: Halt all)"
        );
    }
    let (_, journals) = lab
        .api(
            Method::GET,
            "/api/v1/gamedays/journals",
            Some(INSTRUCTOR),
            None,
        )
        .await;
    let journals = journals.as_array().unwrap();
    assert_eq!(journals.len(), 3);
    for entry in journals {
        assert_eq!(entry["journal"]["status"], "interrupted");
        assert_eq!(entry["journal"]["rollbacks"][0]["output"]["status"], 200);
    }

    // The page: the table, Halt all while running, and the download.
    let instructor = lab.log_in().await;
    let (status, _, page) = lab.get("/instructor/game-day", &instructor.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Everyone&#39;s function fails")
            || page.contains("Everyone's function fails"),
        "{page}"
    );
    assert!(
        page.contains(">interrupted</span>") && page.contains("journals.json"),
        "{page}"
    );
    let (status, headers, body) = lab
        .get("/instructor/game-day/journals.json", &instructor.cookie)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("game-day-journals.json")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // After a restart the game day is still there, each run as it ended.
    let lab = lab.reopen();
    let (status, view) = lab
        .api(Method::GET, "/api/v1/gamedays", Some(INSTRUCTOR), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let rows = view["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{view}");
    assert!(
        rows.iter().all(|row| row["verdict"] == "interrupted"),
        "{view}"
    );
    assert_eq!(view["title"], "Everyone's function fails");
}
