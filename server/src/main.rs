//! The `chaoslab` binary: a thin shim over [`chaoslab::cli`].

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: under the embedded engine's steady traffic, glibc kept
/// freed memory as holes in its per-thread arenas and resident memory crept up for as long as the
/// traffic ran; mimalloc hands freed pages back to the system (BENCHMARKS.md, issue 13).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    chaoslab::cli::run(std::env::args_os())
}
