//! The import rules that keep each operation in one home, checked over the source tree:
//!
//! - `api/` never imports `web/`, and `web/` never imports `api/`;
//! - the operations (`ops/`) import neither;
//! - the domain code (backends, metrics, dashboard, traffic, SLO, lab, participants, events,
//!   inspector) imports neither;
//! - `backend/mod.rs`, the types the trait speaks in and `backend/aws/` never import
//!   `backend/embedded/`.
//!
//! A rule is broken by any mention of the forbidden module's path, in a `use` line or inline.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The lines of the files under `under` (a file or a folder of `src/`) that mention any of
/// `forbidden`, outside comments.
fn offences(under: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(SOURCE).join(under);
    let files = if root.is_dir() {
        rust_files(&root)
    } else {
        vec![root]
    };
    assert!(!files.is_empty(), "nothing under {under}");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for path in forbidden {
                if code.contains(path) {
                    found.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn the_api_and_the_pages_never_import_each_other() {
    assert_eq!(offences("api", &["crate::web"]), Vec::<String>::new());
    assert_eq!(offences("web", &["crate::api"]), Vec::<String>::new());
}

#[test]
fn the_operations_import_neither_surface() {
    assert_eq!(
        offences("ops", &["crate::api", "crate::web", "crate::router"]),
        Vec::<String>::new()
    );
}

#[test]
fn the_domain_code_imports_neither_surface() {
    for module in [
        "backend",
        "dashboard",
        "metrics",
        "traffic",
        "slo",
        "lab",
        "inspector",
        "participants.rs",
        "events.rs",
        "database.rs",
        "state.rs",
        "protection",
        "input.rs",
        "chaos",
    ] {
        assert_eq!(
            offences(module, &["crate::api", "crate::web", "crate::ops"]),
            Vec::<String>::new(),
            "{module}"
        );
    }
}

#[test]
fn the_backend_trait_and_the_aws_backend_never_import_the_embedded_engine() {
    for module in [
        "backend/mod.rs",
        "backend/aws",
        "backend/clock.rs",
        "backend/fault.rs",
        "backend/accounting.rs",
    ] {
        assert_eq!(
            offences(module, &["embedded::", "embedded::{"]),
            Vec::<String>::new(),
            "{module}"
        );
    }
}

#[test]
fn the_rules_see_a_forbidden_import() {
    // The check itself: `router.rs` puts the two surfaces together, so it mentions both.
    assert!(!offences("router.rs", &["crate::api"]).is_empty());
    assert!(!offences("router.rs", &["crate::web"]).is_empty());
}
