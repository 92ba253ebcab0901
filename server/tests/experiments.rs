//! Chaos experiments run by the server: checked as chaoslib checks them and as the server must,
//! played on pipeline time as `chaos run` plays them, halted, and finished after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::app::Lab;
use support::experiments::{http, secrets};

/// An experiment whose hypothesis is "no fault is on", whose method switches an exception on and
/// waits `pause_s`, and whose rollback switches it off.
fn fault_experiment(pause_s: u64, strategy: &str) -> Value {
    json!({
        "version": "1.0.0",
        "title": "An exception in the function is noticed",
        "description": "Switches an exception on and checks that the hypothesis notices.",
        "configuration": {
            "chaoslab_url": {"type": "env", "key": "CHAOSLAB_URL"},
            "participant_id": {"type": "env", "key": "CHAOSLAB_PARTICIPANT_ID"},
            "pause_s": pause_s
        },
        "secrets": secrets(),
        "runtime": {"rollbacks": {"strategy": strategy}},
        "steady-state-hypothesis": {
            "title": "No fault is switched on",
            "probes": [
                {
                    "type": "probe",
                    "name": "the-call-succeeds",
                    "tolerance": 200,
                    "provider": http("GET", "fault-injection", None)
                },
                {
                    "type": "probe",
                    "name": "no-fault-is-on",
                    "tolerance": {"type": "jsonpath", "path": "$.enabled", "expect": false, "target": "body"},
                    "provider": http("GET", "fault-injection", None)
                }
            ]
        },
        "method": [
            {
                "type": "action",
                "name": "switch-an-exception-on",
                "provider": http("PUT", "fault-injection", Some(json!({"isEnabled": true, "failureMode": "exception", "rate": 1, "exceptionMsg": "from an experiment"}))),
                "pauses": {"after": "${pause_s}"}
            }
        ],
        "rollbacks": [
            {
                "type": "action",
                "name": "switch-the-fault-off",
                "provider": http("PUT", "fault-injection", Some(json!({"isEnabled": false})))
            }
        ]
    })
}

async fn save(lab: &Lab, id: &str, token: &str, experiment: Value) -> String {
    let (status, saved) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{id}/experiments"),
            Some(token),
            Some(experiment),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    saved["id"].as_str().unwrap().to_owned()
}

async fn start(lab: &Lab, id: &str, token: &str, experiment: &str) -> String {
    let (status, run) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{id}/experiments/{experiment}/runs"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    assert_eq!(run["status"], "running");
    run["id"].as_str().unwrap().to_owned()
}

async fn run(lab: &Lab, id: &str, token: &str, run: &str) -> Value {
    let (status, run) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/runs/{run}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    run
}

/// Waits (pipeline time passes by itself under paused tokio time) until the run has ended, then
/// reads it through the API. Polls the store, not the API, whose rate limit counts wall time.
async fn ended(lab: &Lab, id: &str, token: &str, run_id: &str) -> Value {
    for _ in 0..2_000 {
        let (summary, _) = chaoslab::ops::experiments::run(&lab.state, id, run_id).unwrap();
        if summary.status != chaoslab::chaos::journal::RunStatus::Running {
            return run(lab, id, token, run_id).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("the run did not end");
}

async fn fault_enabled(lab: &Lab, id: &str, token: &str) -> bool {
    let (_, view) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/fault-injection"),
            Some(token),
            None,
        )
        .await;
    view["enabled"].as_bool().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_run_checks_the_hypothesis_plays_the_method_deviates_and_rolls_back() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let experiment = save(&lab, &id, &token, fault_experiment(360, "default")).await;
    let started = lab.state.backend.clock().now();
    let run_id = start(&lab, &id, &token, &experiment).await;
    let run = ended(&lab, &id, &token, &run_id).await;
    let journal = &run["journal"];

    // chaoslib's keys and meanings.
    for key in [
        "chaoslib-version",
        "platform",
        "node",
        "experiment",
        "start",
        "end",
        "duration",
        "status",
        "deviated",
        "steady_states",
        "run",
        "rollbacks",
    ] {
        assert!(
            journal.get(key).is_some(),
            "the journal has {key}: {journal}"
        );
    }
    assert_eq!(journal["chaoslib-version"], "1.45.0");
    assert_eq!(
        journal["experiment"]["title"],
        "An exception in the function is noticed"
    );
    assert_eq!(journal["status"], "completed");
    assert_eq!(journal["deviated"], true);
    assert_eq!(run["deviated"], true);
    let before = &journal["steady_states"]["before"];
    assert_eq!(before["steady_state_met"], true);
    assert_eq!(before["probes"].as_array().unwrap().len(), 2);
    assert_eq!(before["probes"][0]["tolerance_met"], true);
    // After the method the first probe still passes (status 200), the second does not, and the
    // check stops there.
    let after = &journal["steady_states"]["after"];
    assert_eq!(after["steady_state_met"], false);
    assert_eq!(after["probes"][1]["tolerance_met"], false);
    assert_eq!(after["probes"][1]["output"]["body"]["enabled"], true);
    assert_eq!(journal["steady_states"]["during"], json!([]));
    // The method's action answered 200; its pause lasted 360 s of pipeline time.
    assert_eq!(journal["run"][0]["status"], "succeeded");
    assert_eq!(journal["run"][0]["output"]["status"], 200);
    let duration = journal["duration"].as_f64().unwrap();
    assert!((360.0..370.0).contains(&duration), "{duration}");
    assert!(
        chaoslab::metrics::rfc3339::parse(journal["start"].as_str().unwrap()).unwrap() >= started
    );
    // Default strategy, completed run: the rollback was played, and the fault is off again.
    assert_eq!(journal["rollbacks"][0]["output"]["status"], 200);
    assert!(!fault_enabled(&lab, &id, &token).await);
    // The journal alone, as `chaos run` writes it; another participant cannot read it.
    let (status, alone) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/runs/{run_id}/journal"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{alone}");
    assert_eq!(&alone, journal);
    let (bob, bob_token) = lab.join_through_api("Bob").await;
    let (status, refused) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{bob}/runs/{run_id}/journal"),
            Some(&bob_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    // The event log has the run.
    let kinds: Vec<String> = lab
        .events_of(&id)
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    assert!(
        kinds.contains(&"experiment_started".to_owned())
            && kinds.contains(&"experiment_ended".to_owned()),
        "{kinds:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hypothesis_that_does_not_hold_first_skips_the_method() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let (status, _) = lab
        .api(Method::PUT, &format!("/api/v1/participants/{id}/fault-injection"), Some(&token), Some(json!({"isEnabled": true, "failureMode": "latency", "minLatency": 1, "maxLatency": 2})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let experiment = save(&lab, &id, &token, fault_experiment(60, "never")).await;
    let run_id = start(&lab, &id, &token, &experiment).await;
    let run = ended(&lab, &id, &token, &run_id).await;
    let journal = &run["journal"];
    assert_eq!(journal["status"], "completed");
    assert_eq!(journal["deviated"], false);
    assert_eq!(
        journal["steady_states"]["before"]["steady_state_met"],
        false
    );
    assert_eq!(journal["steady_states"]["after"], Value::Null);
    assert_eq!(journal["run"], json!([]));
    assert_eq!(journal["rollbacks"], json!([]), "strategy never");
}

#[tokio::test(start_paused = true)]
async fn a_halt_interrupts_a_pause_and_plays_the_rollbacks_whatever_the_strategy() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let experiment = save(&lab, &id, &token, fault_experiment(3_600, "never")).await;
    let run_id = start(&lab, &id, &token, &experiment).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        fault_enabled(&lab, &id, &token).await,
        "the method's action has run"
    );
    // One run at a time.
    let (status, body) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{id}/experiments/{experiment}/runs"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "run_in_progress");
    let (status, _) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{id}/runs/{run_id}/halt"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let run = ended(&lab, &id, &token, &run_id).await;
    let journal = &run["journal"];
    assert_eq!(journal["status"], "interrupted");
    assert_eq!(journal["interruption"], "halted by hand");
    assert!(
        journal["duration"].as_f64().unwrap() < 120.0,
        "the pause was cut short"
    );
    assert_eq!(journal["steady_states"]["after"], Value::Null);
    assert_eq!(journal["rollbacks"].as_array().unwrap().len(), 1);
    assert!(!fault_enabled(&lab, &id, &token).await);
    // Now another run may start.
    let (status, _) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{id}/experiments/{experiment}/runs"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test(start_paused = true)]
async fn a_run_a_restart_cut_off_is_marked_interrupted_and_rolled_back() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let experiment = fault_experiment(3_600, "never");
    let saved = save(&lab, &id, &token, experiment.clone()).await;
    // What a run that had switched the fault on left in the store when the server stopped.
    let (status, _) = lab
        .api(
            Method::PUT,
            &format!("/api/v1/participants/{id}/fault-injection"),
            Some(&token),
            Some(json!({"isEnabled": true, "failureMode": "exception", "exceptionMsg": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let journal =
        chaoslab::chaos::journal::Journal::new(experiment, "2026-12-02T00:00:00.000Z".to_owned());
    lab.state
        .experiments
        .store()
        .save_run(&id, "r-cut", &saved, &journal, 0, None)
        .unwrap();
    chaoslab::ops::experiments::recover(&lab.state).await;
    let run = run(&lab, &id, &token, "r-cut").await;
    assert_eq!(run["status"], "interrupted");
    assert_eq!(
        run["journal"]["interruption"],
        "the server stopped during the run"
    );
    assert_eq!(run["journal"]["rollbacks"][0]["status"], "succeeded");
    assert!(
        !fault_enabled(&lab, &id, &token).await,
        "the rollback switched the fault off"
    );
}

#[tokio::test]
async fn experiments_are_checked_as_chaoslib_does_and_refused_where_the_server_cannot_run_them() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let (bob, _) = lab.join_through_api("Bob").await;
    let validate = |experiment: Value| {
        let path = format!("/api/v1/participants/{id}/experiments/validate");
        let token = token.clone();
        let lab = &lab;
        async move {
            lab.api(Method::POST, &path, Some(&token), Some(experiment))
                .await
                .1
        }
    };
    let fine = validate(fault_experiment(60, "default")).await;
    assert_eq!(fine, json!({"valid": true, "problems": []}));

    let empty = validate(json!({"title": "t"})).await;
    let paths: Vec<&str> = empty["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["description", "method"]);

    let mut process = fault_experiment(60, "default");
    process["method"][0]["provider"] =
        json!({"type": "process", "path": "aws", "arguments": "ssm put-parameter"});
    let refused = validate(process).await;
    assert_eq!(refused["valid"], false);
    let message = refused["problems"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("switch-an-exception-on") && message.contains("process"),
        "{message}"
    );
    assert_eq!(refused["problems"][0]["path"], "method[0].provider.type");

    let mut elsewhere = fault_experiment(60, "default");
    elsewhere["rollbacks"][0]["provider"]["url"] = json!(format!(
        "${{chaoslab_url}}/api/v1/participants/{bob}/fault-injection"
    ));
    let refused = validate(elsewhere).await;
    assert_eq!(refused["problems"][0]["path"], "rollbacks[0].provider.url");

    let mut outside = fault_experiment(60, "default");
    outside["method"][0]["provider"]["url"] = json!("https://example.org/steal");
    assert_eq!(validate(outside).await["valid"], false);

    let mut bad_tolerance = fault_experiment(60, "default");
    bad_tolerance["steady-state-hypothesis"]["probes"][0]["tolerance"] = json!(2.5);
    bad_tolerance["steady-state-hypothesis"]["probes"][1]["tolerance"] =
        json!({"type": "range", "range": [1]});
    let refused = validate(bad_tolerance).await;
    assert_eq!(
        refused["problems"].as_array().unwrap().len(),
        2,
        "{refused}"
    );

    let mut unread = fault_experiment(60, "default");
    unread["configuration"]["home"] = json!({"type": "env", "key": "HOME"});
    let refused = validate(unread).await;
    assert!(
        refused["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("HOME"),
        "{refused}"
    );

    // Saving refuses the same, with 422 naming the problem; nothing is saved.
    let (status, body) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{id}/experiments"),
            Some(&token),
            Some(json!({"title": "t"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "invalid_experiment");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("description: experiment requires a description")
    );
    let (_, list) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/experiments"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(list, json!([]));
    // Someone else's experiments are out of reach.
    let (status, _) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{bob}/experiments"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Runs until the pipeline clock is 5 s into the next minute: SQS reports each minute when it
/// ends, so a read of the last whole minutes then finds the minute just ended counted.
async fn to_five_seconds_into_a_minute(lab: &Lab) {
    let now = lab.state.backend.clock().now();
    let left = 60_000 - now.rem_euclid(60_000) + 5_000;
    tokio::time::sleep(Duration::from_millis(left as u64)).await;
}

async fn run_to_the_end(lab: &Lab, id: &str, token: &str, experiment: Value) -> Value {
    let saved = save(lab, id, token, experiment).await;
    to_five_seconds_into_a_minute(lab).await;
    let run_id = start(lab, id, token, &saved).await;
    ended(lab, id, token, &run_id).await["journal"].clone()
}

fn probe_values(state: &Value) -> Vec<(String, Value, bool)> {
    state["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|probe| {
            (
                probe["activity"]["name"].as_str().unwrap().to_owned(),
                probe["output"]["body"].clone(),
                probe["tolerance_met"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// A participant whose lab traffic (2 objects/s, 1% malformed, a subscriber keeping up) has run
/// for 11 pipeline minutes.
///
/// The publisher's malformed draws come from a fixed seed (see tests/probes.rs). The original
/// lab's in-flight band [1, 6] is sensitive to them: a malformed object adds two retried
/// invocations, about half a point, and a 5-minute window holds 6 ± 2.4 of them, so a window
/// with two or fewer reads below 1% and fails the hypothesis by chance (seed 2 does that to lab
/// 3's re-run; seeds 3, 5 and 7 do not). Lab 3's first step says so.
async fn at_steady_state() -> (Lab, String, String) {
    fastrand::seed(5);
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let (status, body) = lab
        .api(
            Method::PUT,
            &format!("/api/v1/participants/{id}/traffic"),
            Some(&token),
            Some(json!({
                "publisher": {"rate": 2, "error_rate": 0.01, "stop_after_s": 7200},
                "subscriber": {"rate": 2}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tokio::time::sleep(Duration::from_secs(11 * 60)).await;
    (lab, id, token)
}

#[tokio::test(start_paused = true)]
async fn lab_3_the_latency_experiment_deviates_until_the_timeout_is_raised() {
    let (lab, id, token) = at_steady_state().await;

    // The hypothesis alone holds at steady state.
    let journal = run_to_the_end(
        &lab,
        &id,
        &token,
        chaoslab::chaos::templates::lab3_hypothesis(),
    )
    .await;
    let before = &journal["steady_states"]["before"];
    eprintln!("steady state: {:?}", probe_values(before));
    assert_eq!(before["steady_state_met"], true, "{before}");
    assert_eq!(
        (journal["status"].clone(), journal["deviated"].clone()),
        (json!("completed"), json!(false))
    );

    // Latency of 3-4 s on half the invocations: in flight leaves [1, 6] and the run deviates;
    // the rollback switches the fault off.
    let journal = run_to_the_end(
        &lab,
        &id,
        &token,
        chaoslab::chaos::templates::lab3_latency(),
    )
    .await;
    let after = &journal["steady_states"]["after"];
    eprintln!("under latency: {:?}", probe_values(after));
    assert_eq!(journal["steady_states"]["before"]["steady_state_met"], true);
    assert_eq!(journal["deviated"], true, "{journal}");
    let (name, value, met) = probe_values(after)
        .into_iter()
        .find(|(_, _, met)| !met)
        .unwrap();
    assert_eq!(name, "percent-in-flight");
    assert!(!met);
    let in_flight: f64 = value.as_str().unwrap().parse().unwrap();
    assert!((in_flight - 50.9).abs() < 8.0, "in flight {in_flight}");
    assert_eq!(journal["rollbacks"][0]["output"]["status"], 200);
    assert!(!fault_enabled(&lab, &id, &token).await);
    // The run page's chart of the probes' measures, minute by minute, shows what the probe
    // read: in flight within the band before the fault, far above it under latency.
    let at = |key: &str| chaoslab::metrics::rfc3339::parse(journal[key].as_str().unwrap()).unwrap();
    let (start, end) = (at("start"), at("end"));
    let widgets =
        chaoslab::ops::dashboard::probe_measures_between(&lab.state, &id, start - 600_000, end)
            .await
            .unwrap();
    let in_flight = widgets[0]
        .series
        .iter()
        .find(|series| series.id == "in_flight")
        .unwrap();
    let minutes = |from: i64, to: i64| -> Vec<f64> {
        in_flight
            .timestamps
            .iter()
            .zip(&in_flight.values)
            .filter(|(at, _)| (from..to).contains(*at))
            .map(|(_, value)| *value)
            .collect()
    };
    let before: Vec<f64> = minutes(start - 600_000, start - 60_000);
    let under: Vec<f64> = minutes(start + 120_000, end - 60_000);
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    assert!(before.len() >= 8 && mean(&before) < 6.0, "{before:?}");
    assert!(under.len() >= 3 && mean(&under) > 30.0, "{under:?}");
    // The minute in progress is not drawn: its queue messages are not counted yet.
    let now = lab.state.backend.clock().now();
    assert!(
        in_flight
            .timestamps
            .iter()
            .all(|at| *at < now - now.rem_euclid(60_000)),
        "{:?}",
        in_flight.timestamps
    );
    // The duration of a slowed attempt stops at the 3 s timeout: the reason it deviated.
    let durations = chaoslab::ops::function::recent_invocations(&lab.state, &id).unwrap();
    assert!(durations.is_empty(), "no test invokes were made");

    // Raise the timeout above the largest latency, let the dead letters of the faulted minutes
    // drain out of the window, and the same experiment holds.
    let (status, body) = lab
        .api(
            Method::PUT,
            &format!("/api/v1/participants/{id}/function"),
            Some(&token),
            Some(json!({"timeout_seconds": 10})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    let journal = run_to_the_end(
        &lab,
        &id,
        &token,
        chaoslab::chaos::templates::lab3_latency(),
    )
    .await;
    eprintln!(
        "with a 10 s timeout: {:?}",
        probe_values(&journal["steady_states"]["after"])
    );
    assert_eq!(
        journal["steady_states"]["before"]["steady_state_met"], true,
        "{journal}"
    );
    assert_eq!(journal["deviated"], false, "{journal}");
    assert_eq!(journal["status"], "completed");
}

#[tokio::test]
async fn an_export_runs_with_chaos_run_pauses_in_wall_seconds_and_no_token_inside() {
    let lab = Lab::with(|args| args.time_scale = 60.0);
    let (id, token) = lab.join_through_api("Ada").await;
    let mut experiment = fault_experiment(360, "default");
    experiment["rollbacks"][0]["pauses"] = json!({"before": 120});
    let saved = save(&lab, &id, &token, experiment).await;
    let (status, exported) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/experiments/{saved}/export"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{exported}");
    let configuration = &exported["configuration"];
    assert_eq!(
        configuration["chaoslab_url"],
        json!({"type": "env", "key": "CHAOSLAB_URL", "default": "http://127.0.0.1:8080"})
    );
    assert_eq!(configuration["participant_id"]["default"], json!(id));
    // 360 pipeline seconds are 6 wall seconds at --time-scale 60; a literal pause becomes a value.
    assert_eq!(configuration["pause_s"], json!(6));
    assert_eq!(exported["rollbacks"][0]["pauses"]["before"], "${pause_1_s}");
    assert_eq!(configuration["pause_1_s"], json!(2));
    assert_eq!(
        exported["secrets"]["chaoslab"]["chaoslab_token"],
        json!({"type": "env", "key": "CHAOSLAB_TOKEN"})
    );
    assert!(
        !exported.to_string().contains(&token),
        "the token never goes into the file"
    );
    // Still an experiment the server accepts.
    let (status, body) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{id}/experiments/validate"),
            Some(&token),
            Some(exported),
        )
        .await;
    assert_eq!(
        (status, body["valid"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
}

#[tokio::test]
async fn an_aws_export_uses_chaosaws_on_the_participants_stack_and_refuses_what_aws_cannot_do() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let names = lab.state.backend.stack_names(&id).unwrap();
    let saved = save(
        &lab,
        &id,
        &token,
        chaoslab::chaos::templates::lab3_latency(),
    )
    .await;
    let export = |experiment: &str, query: &str| {
        format!("/api/v1/participants/{id}/experiments/{experiment}/export{query}")
    };
    let (status, exported) = lab
        .api(
            Method::GET,
            &export(&saved, "?variant=aws"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{exported}");
    assert_eq!(
        exported["method"][0]["provider"]["module"],
        "chaosaws.ssm.actions"
    );
    let configuration = &exported["configuration"];
    assert_eq!(
        configuration["failure_injection_parameter"],
        json!({"type": "env", "key": "FAILURE_INJECTION_PARAM", "default": names.parameter_name})
    );
    assert_eq!(
        configuration["lambda_function"]["default"],
        json!(names.function_name)
    );
    assert_eq!(configuration["pause_s"], 360, "AWS time is wall time");
    assert!(!exported.to_string().contains(&token));

    // Traffic is chaoslab's own: an experiment that changes it does not export for AWS.
    let mut experiment = fault_experiment(60, "default");
    experiment["method"].as_array_mut().unwrap().push(json!({
        "type": "action",
        "name": "stop-the-traffic",
        "provider": http("DELETE", "traffic", None)
    }));
    let saved = save(&lab, &id, &token, experiment).await;
    let (status, refused) = lab
        .api(
            Method::GET,
            &export(&saved, "?variant=aws"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["code"], "not_exportable_to_aws");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains(r#"method[1]: activity "stop-the-traffic" changes the traffic"#),
        "{message}"
    );
    // The probe reading the fault document has no AWS equivalent either.
    assert!(
        message.contains("steady-state-hypothesis.probes[1]"),
        "{message}"
    );
    // The same experiment still exports for this server; an unknown variant is named.
    let (status, _) = lab
        .api(Method::GET, &export(&saved, ""), Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = lab
        .api(
            Method::GET,
            &export(&saved, "?variant=gcp"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_query")),
        "{refused}"
    );
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("expected `chaoslab` or `aws`")
    );
}

#[tokio::test(start_paused = true)]
async fn a_breached_stop_condition_halts_the_run_and_plays_the_rollbacks() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    // No SNS notification failed, so "fewer than 1" is breached at the first check, a minute in.
    let mut breached = fault_experiment(3_600, "never");
    breached["extensions"] = json!([{"name": "chaoslab", "stop_conditions": [
        {"name": "no failures", "probe": "sns-notifications-failed", "minutes": 5, "below": 1}
    ]}]);
    let saved = save(&lab, &id, &token, breached).await;
    let run_id = start(&lab, &id, &token, &saved).await;
    let run = ended(&lab, &id, &token, &run_id).await;
    let journal = &run["journal"];
    assert_eq!(journal["status"], "interrupted");
    assert_eq!(
        journal["interruption"],
        "stop condition \"no failures\" breached: 0.00 over the last 5 min, below 1"
    );
    let duration = journal["duration"].as_f64().unwrap();
    assert!(
        (60.0..=62.0).contains(&duration),
        "checked every pipeline minute: {duration}"
    );
    assert_eq!(
        journal["rollbacks"].as_array().unwrap().len(),
        1,
        "played whatever the strategy"
    );
    assert!(!fault_enabled(&lab, &id, &token).await);

    // A condition that holds lets the run finish; a query-based one reads GetMetricData.
    let mut holding = fault_experiment(180, "default");
    holding["extensions"] = json!([{"name": "chaoslab", "stop_conditions": [
        {"name": "error budget", "probe": "percent-in-error", "above": 50},
        {"name": "invocations", "minutes": 5, "above": 1000000, "metric_data_queries": [
            {"Id": "invocations", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations",
                "Dimensions": [{"Name": "FunctionName", "Value": "any"}]}, "Period": 300, "Stat": "Sum"}}
        ]}
    ]}]);
    let saved = save(&lab, &id, &token, holding).await;
    let run_id = start(&lab, &id, &token, &saved).await;
    let run = ended(&lab, &id, &token, &run_id).await;
    assert_eq!(run["journal"]["status"], "completed", "{}", run["journal"]);

    // Badly written conditions are refused, naming where.
    let mut bad = fault_experiment(60, "default");
    bad["extensions"] = json!([{"name": "chaoslab", "stop_conditions": [
        {"name": "x", "probe": "cpu", "above": 1},
        {"name": "y", "probe": "percent-in-error"},
        {"name": "z", "probe": "percent-in-error", "metric_data_queries": [], "above": 1}
    ]}]);
    let (_, body) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{id}/experiments/validate"),
            Some(&token),
            Some(bad),
        )
        .await;
    let paths: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "extensions[0].stop_conditions[0].probe",
            "extensions[0].stop_conditions[1]",
            "extensions[0].stop_conditions[2]"
        ],
        "{body}"
    );
}

#[tokio::test(start_paused = true)]
async fn lab_4_a_blocked_s3_deviates_and_a_swallowed_failure_shows_only_in_flight() {
    let (lab, id, token) = at_steady_state().await;

    // S3 out of reach for half the invocations: the run deviates, and the dead-letter queue
    // fills with the intercepted host in ErrorMessage (a few minutes after, as retries end).
    let journal = run_to_the_end(
        &lab,
        &id,
        &token,
        chaoslab::chaos::templates::lab4_s3_denylist(),
    )
    .await;
    eprintln!(
        "S3 blocked: {:?}",
        probe_values(&journal["steady_states"]["after"])
    );
    assert_eq!(journal["deviated"], true, "{journal}");
    assert!(!fault_enabled(&lab, &id, &token).await, "rolled back");
    tokio::time::sleep(Duration::from_secs(4 * 60)).await;
    let (_, letters) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/dead-letters?limit=100"),
            Some(&token),
            None,
        )
        .await;
    let intercepted = letters["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| {
            message["error_message"]
                .as_str()
                .unwrap_or_default()
                .contains("Intercepted network connection to chaos-bucket-")
        })
        .count();
    eprintln!(
        "{} dead letters, {intercepted} intercepted",
        letters["total"]
    );
    assert!(intercepted >= 10, "{letters}");
    // Fixed (the fault is off): a redrive converts them.
    let (status, redrive) = lab
        .api(
            Method::POST,
            &format!("/api/v1/participants/{id}/dead-letters/redrive"),
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{redrive}");
    assert!(redrive["redriven"].as_u64().unwrap() >= intercepted as u64);
    tokio::time::sleep(Duration::from_secs(4 * 60)).await;
    let (_, letters) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/dead-letters?limit=100"),
            Some(&token),
            None,
        )
        .await;
    assert!(
        letters["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|message| !message["error_message"]
                .as_str()
                .unwrap_or_default()
                .contains("Intercepted")),
        "only malformed objects come back: {letters}"
    );

    // A fault that hides: half the invocations answer 200 without converting. The error measure
    // stays within its band; only in flight sees it.
    tokio::time::sleep(Duration::from_secs(6 * 60)).await;
    let journal = run_to_the_end(
        &lab,
        &id,
        &token,
        chaoslab::chaos::templates::lab4_statuscode(),
    )
    .await;
    let after = probe_values(&journal["steady_states"]["after"]);
    eprintln!("status code: {after:?}");
    assert_eq!(
        journal["steady_states"]["before"]["steady_state_met"], true,
        "{journal}"
    );
    assert_eq!(journal["deviated"], true);
    let in_flight = after
        .iter()
        .find(|(name, _, _)| name == "percent-in-flight")
        .unwrap();
    assert!(
        !in_flight.2,
        "in flight sees the swallowed objects: {after:?}"
    );
    let value: f64 = in_flight.1.as_str().unwrap().parse().unwrap();
    assert!((value - 50.9).abs() < 8.0, "{value}");
    // Percent in error is the last probe; chaoslib stops at the first failing one, so ask it now.
    let (_, error) = lab
        .api(
            Method::GET,
            &format!("/api/v1/participants/{id}/probes/percent-in-error"),
            Some(&token),
            None,
        )
        .await;
    let in_error = error["value"].as_f64().unwrap();
    assert!(
        in_error <= 2.0,
        "the error measure does not see it: {in_error}"
    );
    let accounting = lab.state.backend.accounting(&id).await.unwrap();
    assert!(
        accounting.dropped > 200 && accounting.balances(),
        "{accounting:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_background_activity_runs_alongside_the_rest_of_the_method() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let mut experiment = fault_experiment(10, "never");
    // A background action that waits 100 s, then the (foreground) action with its 10 s pause.
    let mut background = experiment["method"][0].clone();
    background["name"] = json!("later-in-the-background");
    background["background"] = json!(true);
    background["pauses"] = json!({"before": 100});
    experiment["method"] = json!([background, experiment["method"][0].clone()]);
    let saved = save(&lab, &id, &token, experiment).await;
    let run_id = start(&lab, &id, &token, &saved).await;
    let run = ended(&lab, &id, &token, &run_id).await;
    let journal = &run["journal"];
    let started = |name: &str| {
        let run = journal["run"]
            .as_array()
            .unwrap()
            .iter()
            .find(|run| run["activity"]["name"] == name)
            .unwrap();
        chaoslab::metrics::rfc3339::parse(run["start"].as_str().unwrap()).unwrap()
    };
    let run_start = chaoslab::metrics::rfc3339::parse(journal["start"].as_str().unwrap()).unwrap();
    // The foreground action did not wait for the background one, which started 100 s in; the
    // method lasted as long as the longer of the two, not their sum.
    assert!(
        started("switch-an-exception-on") - run_start < 1_000,
        "{journal}"
    );
    let background_start = started("later-in-the-background") - run_start;
    assert!(
        (100_000..101_000).contains(&background_start),
        "{background_start}"
    );
    let duration = journal["duration"].as_f64().unwrap();
    assert!((100.0..105.0).contains(&duration), "{duration}");
}

#[tokio::test(start_paused = true)]
async fn the_hypothesis_is_checked_during_the_method_when_the_strategy_says_so() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;

    // Continuously, every 60 s: before, during the 300 s pause, after.
    let mut experiment = fault_experiment(300, "always");
    experiment["runtime"]["hypothesis"] = json!({"strategy": "continuously", "frequency": 60});
    let saved = save(&lab, &id, &token, experiment).await;
    let run = ended(&lab, &id, &token, &start(&lab, &id, &token, &saved).await).await;
    let journal = &run["journal"];
    assert_eq!(journal["steady_states"]["before"]["steady_state_met"], true);
    let during = journal["steady_states"]["during"].as_array().unwrap();
    // Checks at 0, 60, …, 300 s of the method: five or six, as the last races the method's end.
    assert!((5..=6).contains(&during.len()), "{}", during.len());
    // From the second on, the fault is on and no check holds.
    assert!(
        during[1..]
            .iter()
            .all(|state| state["steady_state_met"] == false),
        "{during:?}"
    );
    assert_eq!(journal["steady_states"]["after"]["steady_state_met"], false);
    assert_eq!(journal["deviated"], true);
    assert_eq!(journal["status"], "completed");

    // During the method only, every 30 s, failing fast: the run ends at the first check that
    // does not hold, long before the pause would, with status failed and no check before or
    // after; the rollback (strategy always) switches the fault off.
    let mut experiment = fault_experiment(600, "always");
    experiment["runtime"]["hypothesis"] =
        json!({"strategy": "during-method-only", "frequency": 30, "fail_fast": true});
    let saved = save(&lab, &id, &token, experiment).await;
    let run = ended(&lab, &id, &token, &start(&lab, &id, &token, &saved).await).await;
    let journal = &run["journal"];
    assert_eq!(journal["status"], "failed", "{journal}");
    assert_eq!(journal["deviated"], false);
    assert_eq!(journal["steady_states"]["before"], Value::Null);
    assert_eq!(journal["steady_states"]["after"], Value::Null);
    let during = journal["steady_states"]["during"].as_array().unwrap();
    assert_eq!(during.last().unwrap()["steady_state_met"], false);
    let duration = journal["duration"].as_f64().unwrap();
    assert!(
        duration < 65.0,
        "ended at the first failing check: {duration}"
    );
    assert_eq!(journal["rollbacks"][0]["output"]["status"], 200);
    assert!(!fault_enabled(&lab, &id, &token).await);

    // A strategy or a frequency the server cannot follow is named, and nothing is saved.
    for (hypothesis, path) in [
        (
            json!({"strategy": "sometimes"}),
            "runtime.hypothesis.strategy",
        ),
        (json!({"frequency": 0}), "runtime.hypothesis.frequency"),
        (json!({"fail_fast": "yes"}), "runtime.hypothesis.fail_fast"),
    ] {
        let mut experiment = fault_experiment(60, "default");
        experiment["runtime"]["hypothesis"] = hypothesis;
        let (status, refused) = lab
            .api(
                Method::POST,
                &format!("/api/v1/participants/{id}/experiments"),
                Some(&token),
                Some(experiment),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert!(
            refused["message"].as_str().unwrap().contains(path),
            "{refused}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn removing_a_participant_halts_their_run_and_forgets_their_experiments() {
    let lab = Lab::open();
    let (id, token) = lab.join_through_api("Ada").await;
    let saved = save(&lab, &id, &token, fault_experiment(3_600, "always")).await;
    let run_id = start(&lab, &id, &token, &saved).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        chaoslab::ops::experiments::active_run(&lab.state, &id).as_deref(),
        Some(run_id.as_str())
    );
    let (status, body) = lab
        .api(
            Method::DELETE,
            &format!("/api/v1/participants/{id}"),
            Some(support::app::INSTRUCTOR),
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    // The run's task ends (halted, its rollback meeting a stack that is gone) and saves nothing.
    for _ in 0..100 {
        if chaoslab::ops::experiments::active_run(&lab.state, &id).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(
        chaoslab::ops::experiments::active_run(&lab.state, &id),
        None
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    let store = lab.state.experiments.store();
    assert!(store.list(&id).unwrap().is_empty());
    assert!(store.runs(&id, 10).unwrap().is_empty());
    assert!(store.running().unwrap().is_empty());
}
