//! What the server writes to its log under traffic: INFO is for start-up, participants' and
//! the instructor's actions and problems, never a line per object; no colour codes in a pipe.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::binary::Binary;

#[test]
fn traffic_writes_no_line_per_object_and_no_colour_codes_to_a_pipe() {
    let server = Binary::start(&["--time-scale", "60"], &[]);
    let (status, body) = server.call(
        "POST",
        "/api/v1/participants",
        None,
        Some(r#"{"name": "Ada"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (id, token) = (
        created["id"].as_str().unwrap().to_owned(),
        created["token"].as_str().unwrap().to_owned(),
    );
    // 20 objects/s of pipeline time, a quarter malformed, for 4 s at 60×: thousands of
    // objects and hundreds of failed attempts.
    let (status, body) = server.call(
        "PUT",
        &format!("/api/v1/participants/{id}/traffic"),
        Some(&token),
        Some(r#"{"publisher": {"rate": 20, "error_rate": 0.25}, "subscriber": {"rate": 20}}"#),
    );
    assert_eq!(status, 200, "{body}");
    std::thread::sleep(Duration::from_secs(4));
    let (status, body) = server.call(
        "GET",
        &format!("/api/v1/participants/{id}/accounting"),
        Some(&token),
        None,
    );
    assert_eq!(status, 200);
    let accounting: serde_json::Value = serde_json::from_str(&body).unwrap();
    let published = accounting["published"].as_u64().unwrap();
    assert!(published > 500, "{accounting}");
    let (status, _) = server.call(
        "DELETE",
        &format!("/api/v1/participants/{id}/traffic"),
        Some(&token),
        None,
    );
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let log = server.log();
    assert!(
        log.len() < 20,
        "{} lines for {published} objects:\n{}",
        log.len(),
        log.join("\n")
    );
    assert!(
        log.iter().all(|line| !line.contains('\u{1b}')),
        "colour codes in a pipe:\n{}",
        log.join("\n")
    );
    let joined = log.join("\n");
    for action in ["participant joined", "traffic started", "traffic stopped"] {
        assert!(joined.contains(action), "{action} is logged:\n{joined}");
    }
}
