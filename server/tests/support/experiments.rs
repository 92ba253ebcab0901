//! Chaos Toolkit experiments the experiment tests build on: HTTP calls to the participant's own
//! API, as the server runs them.

use serde_json::{Value, json};

/// An HTTP provider calling `method` on `path` under the participant's API, with the token, and
/// `body` as its arguments.
pub fn http(method: &str, path: &str, body: Option<Value>) -> Value {
    let mut provider = json!({
        "type": "http",
        "method": method,
        "url": format!("${{chaoslab_url}}/api/v1/participants/${{participant_id}}/{path}"),
        "headers": {"Authorization": "Bearer ${chaoslab_token}", "Content-Type": "application/json"},
        "timeout": 10
    });
    if let Some(body) = body {
        provider["arguments"] = body;
    }
    provider
}

/// The configuration and secrets every experiment here reads: the server's URL, the participant
/// and their token, from the environment the server answers.
pub fn configuration() -> Value {
    json!({
        "chaoslab_url": {"type": "env", "key": "CHAOSLAB_URL"},
        "participant_id": {"type": "env", "key": "CHAOSLAB_PARTICIPANT_ID"}
    })
}

/// See [`configuration`].
pub fn secrets() -> Value {
    json!({"chaoslab": {"chaoslab_token": {"type": "env", "key": "CHAOSLAB_TOKEN"}}})
}

/// An experiment titled `title` whose hypothesis is "no fault is on" (probe `no-fault-is-on`),
/// whose method switches an exception on at rate 1 (`switch-an-exception-on`) and waits
/// `pause_s` pipeline seconds, and whose rollback switches it off (`switch-it-off`).
pub fn fault_noticed(title: &str, pause_s: u64) -> Value {
    json!({
        "title": title,
        "description": "Switches an exception on; the hypothesis says no fault is on.",
        "configuration": configuration(),
        "secrets": secrets(),
        "steady-state-hypothesis": {"title": "No fault", "probes": [{
            "type": "probe", "name": "no-fault-is-on",
            "tolerance": {"type": "jsonpath", "path": "$.enabled", "expect": false, "target": "body"},
            "provider": http("GET", "fault-injection", None)
        }]},
        "method": [{
            "type": "action", "name": "switch-an-exception-on",
            "provider": http("PUT", "fault-injection", Some(json!({"isEnabled": true, "failureMode": "exception", "exceptionMsg": "x"}))),
            "pauses": {"after": pause_s}
        }],
        "rollbacks": [{"type": "action", "name": "switch-it-off", "provider": http("PUT", "fault-injection", Some(json!({"isEnabled": false})))}]
    })
}
