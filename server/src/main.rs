//! The `chaoslab` binary: a thin shim over [`chaoslab::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    chaoslab::cli::run(std::env::args_os())
}
