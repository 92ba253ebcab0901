//! The command line: `chaoslab <subcommand>`.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Control plane for a hands-on serverless chaos-engineering lab.
#[derive(Debug, Parser)]
#[command(name = "chaoslab", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert JSON documents to CSV with the lab's ETL transform, printing the CSV to stdout.
    ///
    /// With no FILE, or when FILE is `-`, reads standard input. Each file's CSV is printed in
    /// turn; a file that cannot be converted is reported on stderr with the reason, the others
    /// are still converted, and the exit status is 1.
    Convert {
        /// JSON files to convert.
        files: Vec<PathBuf>,
    },
    /// Serve the lab: the pages, the API and the pipelines, on 127.0.0.1:8080 by default.
    Serve(crate::serve::ServeArgs),
}

/// Parses `args` and runs the subcommand, returning the process exit status.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    match cli.command {
        Command::Convert { files } => {
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            let failures =
                crate::convert::convert_files(&files, &mut stdout.lock(), &mut stderr.lock());
            let _ = std::io::stdout().flush();
            if failures == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Serve(args) => {
            crate::serve::init_logging(args.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("chaoslab: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(crate::serve::serve(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("chaoslab: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
