//! `chaoslab convert`, run as a process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/convert")
        .join(name)
}

fn chaoslab(args: &[&std::ffi::OsStr], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn converts_a_file_to_csv_on_stdout() {
    let output = chaoslab(
        &["convert".as_ref(), fixture("message.json").as_os_str()],
        b"",
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        text(&output.stdout),
        "symbol,messageId,value\nABCD,1,12.5\n"
    );
    assert!(output.stderr.is_empty());
}

#[test]
fn reads_stdin_without_files_or_for_a_dash() {
    for args in [vec!["convert"], vec!["convert", "-"]] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|arg| arg.as_ref()).collect();
        let output = chaoslab(&args, br#"{"a":"b"}"#);
        assert!(output.status.success(), "{output:?}");
        assert_eq!(text(&output.stdout), "a\nb\n");
    }
}

#[test]
fn a_bad_file_exits_nonzero_naming_the_file_line_and_column() {
    let broken = fixture("broken.json");
    let output = chaoslab(&["convert".as_ref(), broken.as_os_str()], b"");
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&broken.display().to_string()), "{stderr}");
    assert!(stderr.contains("line 3 column 15"), "{stderr}");
    assert!(stderr.contains("expected `:`"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn the_other_files_are_still_converted_after_a_failure() {
    let output = chaoslab(
        &[
            "convert".as_ref(),
            fixture("broken.json").as_os_str(),
            fixture("array.json").as_os_str(),
            fixture("missing.json").as_os_str(),
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "a,b\n1,\n,\"x,y\"\n");
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("missing.json: cannot read"), "{stderr}");
}

#[test]
fn stdin_scalar_is_refused_with_a_reason() {
    let output = chaoslab(&["convert".as_ref()], b"42");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "chaoslab: <stdin>: document is a number, but only an object or an array of objects converts to CSV\n"
    );
}

#[test]
fn an_oversize_file_is_refused_by_its_size() {
    let dir = std::env::temp_dir().join(format!("chaoslab-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(20 * 1024 * 1024).unwrap();
    let output = chaoslab(&["convert".as_ref(), path.as_os_str()], b"");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("document is 20971520 bytes, over the 10485760-byte limit"),
        "{output:?}"
    );
}

#[test]
fn unknown_subcommands_are_usage_errors() {
    let output = chaoslab(&["frobnicate".as_ref()], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("frobnicate"));
}
