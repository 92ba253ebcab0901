//! Installs the third-party browser libraries (htmx, uPlot) from `static/package-lock.json` with
//! `npm ci`, and copies the files the server embeds into `$OUT_DIR/assets/`.
//!
//! Everything this script writes goes under `OUT_DIR`; the only download is npm's, pinned by the
//! committed lockfile (exact versions and integrity hashes). npm runs only when the lockfile or
//! `package.json` changed since the last successful install, so incremental builds stay offline.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files the server serves, as (path under `node_modules/`, file name under `assets/`).
const VENDORED_FILES: [(&str, &str); 3] = [
    ("htmx.org/dist/htmx.min.js", "htmx.min.js"),
    ("uplot/dist/uPlot.iife.min.js", "uPlot.iife.min.js"),
    ("uplot/dist/uPlot.min.css", "uPlot.min.css"),
];

/// The npm project files copied next to the install, in `static/`.
const NPM_FILES: [&str; 2] = ["package.json", "package-lock.json"];

/// Records which lockfile the last successful install came from.
const STAMP_FILE: &str = "npm-install.stamp";

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env_var("OUT_DIR"));
    let static_dir = manifest_dir
        .parent()
        .unwrap_or(&manifest_dir)
        .join("static");

    for file in NPM_FILES {
        println!("cargo:rerun-if-changed={}", static_dir.join(file).display());
    }
    // Our own CSS and JS are embedded with `include_bytes!`, which rebuilds on change already;
    // watching them here too costs only the stamp check below.
    println!(
        "cargo:rerun-if-changed={}",
        static_dir.join("css").display()
    );
    println!("cargo:rerun-if-changed={}", static_dir.join("js").display());
    println!("cargo:rerun-if-env-changed=CHAOSLAB_NPM");

    let npm_dir = out_dir.join("npm");
    let assets_dir = out_dir.join("assets");
    let stamp_path = out_dir.join(STAMP_FILE);

    let stamp = npm_stamp(&static_dir);
    let up_to_date = fs::read_to_string(&stamp_path).is_ok_and(|previous| previous == stamp)
        && VENDORED_FILES
            .iter()
            .all(|(_, name)| assets_dir.join(name).is_file());
    if up_to_date {
        return;
    }

    // A failed or interrupted install must not look successful on the next build.
    remove_if_present(&stamp_path);
    create_dir(&npm_dir);
    for file in NPM_FILES {
        copy(&static_dir.join(file), &npm_dir.join(file));
    }
    run_npm_ci(&npm_dir);

    create_dir(&assets_dir);
    for (source, name) in VENDORED_FILES {
        copy(
            &npm_dir.join("node_modules").join(source),
            &assets_dir.join(name),
        );
    }
    write(&stamp_path, stamp.as_bytes());
}

/// Runs `npm ci` in `dir`, or fails the build with a message that names npm and what to do.
fn run_npm_ci(dir: &Path) {
    let npm = env::var_os("CHAOSLAB_NPM").map_or_else(
        // On Windows npm is a batch file, which `Command` only finds by its full name.
        || PathBuf::from(if cfg!(windows) { "npm.cmd" } else { "npm" }),
        PathBuf::from,
    );
    let output = Command::new(&npm)
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .env("npm_config_update_notifier", "false")
        .current_dir(dir)
        .output();
    let (failure, what_to_do) = match output {
        Ok(output) if output.status.success() => return,
        Ok(output) => (
            format!(
                "`{} ci` in {} exited with {}:\n{}",
                npm.display(),
                dir.display(),
                output.status,
                first_lines(&output.stderr, 20),
            ),
            "Check that static/package.json and static/package-lock.json agree (regenerate the \
             lockfile with `npm install --package-lock-only` in static/) and that the npm \
             registry is reachable, then rebuild.",
        ),
        Err(error) => (
            format!("could not run `{}`: {error}", npm.display()),
            "Install Node.js/npm (e.g. `apt-get install nodejs npm`) and rebuild, or set \
             CHAOSLAB_NPM to the npm executable.",
        ),
    };
    panic!(
        "chaoslab needs npm (Node.js 20+) at build time to fetch htmx and uPlot from \
         static/package-lock.json: {failure}\n{what_to_do}"
    );
}

/// The first `count` lines of a command's output, without the long usage text npm adds to some
/// errors.
fn first_lines(output: &[u8], count: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let mut lines: Vec<&str> = text
        .lines()
        .take_while(|line| !line.ends_with("Usage:"))
        .take(count + 1)
        .collect();
    if lines.len() > count {
        lines[count] = "...";
    }
    lines.join("\n")
}

/// A fingerprint of the npm project files: FNV-1a (64 bit) over each file's name and bytes. It is
/// stable across Rust versions, unlike `DefaultHasher`, and needs no build dependency.
fn npm_stamp(static_dir: &Path) -> String {
    const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0100_0000_01b3;
    let mut hash = FNV_OFFSET_BASIS;
    for file in NPM_FILES {
        let bytes = fs::read(static_dir.join(file)).unwrap_or_else(|error| {
            panic!("cannot read static/{file}, which pins htmx and uPlot: {error}")
        });
        for byte in file.bytes().chain([0]).chain(bytes) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    format!("fnv1a64:{hash:016x}\n")
}

fn env_var(name: &str) -> String {
    env::var(name).unwrap_or_else(|error| panic!("cargo did not set {name}: {error}"))
}

fn create_dir(dir: &Path) {
    fs::create_dir_all(dir)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
}

fn copy(from: &Path, to: &Path) {
    fs::copy(from, to).unwrap_or_else(|error| {
        panic!(
            "cannot copy {} to {}: {error}",
            from.display(),
            to.display()
        )
    });
}

fn write(path: &Path, contents: &[u8]) {
    fs::write(path, contents)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
}

fn remove_if_present(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => panic!("cannot remove {}: {error}", path.display()),
    }
}
