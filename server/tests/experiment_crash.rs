//! A run cut off by `kill -9`: the real binary is killed with SIGKILL while an experiment's fault
//! is on, restarted on the same data directory, and must mark the run interrupted, play its
//! rollback (the fault goes off) and keep every object accounted for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::binary::Binary;

fn call(binary: &Binary, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
    let body = body.map(|body| body.to_string());
    let (status, text) = binary.call(method, path, Some(token), body.as_deref());
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Polls `read` every 100 ms until `done` says so, for at most `seconds` of wall time.
fn wait_for(
    seconds: u64,
    what: &str,
    mut read: impl FnMut() -> Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let value = read();
        if done(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "waited {seconds} s for {what}: {value}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_run_killed_with_its_fault_on_is_interrupted_and_rolled_back_at_the_restart() {
    let mut binary = Binary::start(&["--time-scale", "60"], &[]);
    let (status, joined) = binary.call(
        "POST",
        "/api/v1/participants",
        None,
        Some(r#"{"name": "Ada"}"#),
    );
    assert_eq!(status, 201, "{joined}");
    let joined: Value = serde_json::from_str(&joined).unwrap();
    let (id, token) = (
        joined["id"].as_str().unwrap().to_owned(),
        joined["token"].as_str().unwrap().to_owned(),
    );
    let participant = format!("/api/v1/participants/{id}");
    call(
        &binary,
        "PUT",
        &format!("{participant}/traffic"),
        &token,
        Some(json!({"publisher": {"rate": 5, "error_rate": 0.01}, "subscriber": {"rate": 5}})),
    );
    // An hour's pause (a wall minute at 60×) with the fault on, and a rollback that never plays
    // by strategy: only the restart's recovery can switch the fault off.
    let mut experiment = support::experiments::fault_noticed("Killed mid-run", 3_600);
    experiment["runtime"] = json!({"rollbacks": {"strategy": "never"}});
    let saved = call(
        &binary,
        "POST",
        &format!("{participant}/experiments"),
        &token,
        Some(experiment),
    );
    let run = call(
        &binary,
        "POST",
        &format!(
            "{participant}/experiments/{}/runs",
            saved["id"].as_str().unwrap()
        ),
        &token,
        None,
    );
    let run_path = format!("{participant}/runs/{}", run["id"].as_str().unwrap());
    wait_for(
        30,
        "the method to switch the fault on",
        || call(&binary, "GET", &run_path, &token, None),
        |run| {
            run["journal"]["run"]
                .as_array()
                .is_some_and(|runs| !runs.is_empty())
        },
    );
    let fault = call(
        &binary,
        "GET",
        &format!("{participant}/fault-injection"),
        &token,
        None,
    );
    assert_eq!(fault["enabled"], true, "{fault}");

    binary.kill_and_restart();

    let run = wait_for(
        30,
        "the restart to interrupt the run",
        || call(&binary, "GET", &run_path, &token, None),
        |run| run["status"] != "running",
    );
    assert_eq!(run["status"], "interrupted", "{run}");
    assert_eq!(
        run["journal"]["interruption"],
        "the server stopped during the run"
    );
    assert_eq!(
        run["journal"]["rollbacks"][0]["status"], "succeeded",
        "{run}"
    );
    let fault = call(
        &binary,
        "GET",
        &format!("{participant}/fault-injection"),
        &token,
        None,
    );
    assert_eq!(
        fault["enabled"], false,
        "the rollback switched the fault off: {fault}"
    );
    // Every object published before the kill is still somewhere, and traffic resumed.
    let before = call(
        &binary,
        "GET",
        &format!("{participant}/accounting"),
        &token,
        None,
    );
    assert!(before["published"].as_u64().unwrap() > 0, "{before}");
    let balances = |accounting: &Value| {
        let field = |name: &str| accounting[name].as_u64().unwrap();
        field("published")
            == field("converted") + field("dead_lettered") + field("dropped") + field("in_flight")
    };
    assert!(balances(&before), "{before}");
    wait_for(
        30,
        "traffic to resume after the restart",
        || {
            call(
                &binary,
                "GET",
                &format!("{participant}/accounting"),
                &token,
                None,
            )
        },
        |now| now["published"].as_u64() > before["published"].as_u64() && balances(now),
    );

    // Traffic stopped before a kill stays stopped after the restart.
    call(
        &binary,
        "DELETE",
        &format!("{participant}/traffic"),
        &token,
        None,
    );
    binary.kill_and_restart();
    let traffic = call(
        &binary,
        "GET",
        &format!("{participant}/traffic"),
        &token,
        None,
    );
    assert!(
        traffic["publisher"].is_null() || traffic["publisher"]["running"] == false,
        "{traffic}"
    );
}
