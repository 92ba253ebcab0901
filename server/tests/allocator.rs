//! The `chaoslab` binary allocates through mimalloc, not glibc's malloc: under steady traffic
//! glibc's arenas kept freed memory and resident memory crept up (BENCHMARKS.md, issue 13).
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn the_binary_runs_on_mimalloc() {
    // With MIMALLOC_VERBOSE set, mimalloc announces itself on stderr as the process starts;
    // glibc's malloc ignores the variable.
    let output = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .arg("--version")
        .env("MIMALLOC_VERBOSE", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("mimalloc: process init"),
        "no mimalloc banner on stderr: {stderr}"
    );
    // The banner goes to stderr only: stdout is still just the version.
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("chaoslab "),
        "{output:?}"
    );
}
