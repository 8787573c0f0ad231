//! `acs-identity`: manage Azure Communication Services identities and access tokens from the
//! command line, or run the local ACS Identity emulator.
//!
//! Results go to stdout (JSON by default, `--output table` for people); errors go to stderr.
//! Exit status: 0 success, 1 service or network error, 2 usage error. `RUST_LOG=debug` logs
//! each request to stderr (never a key or a token).

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod output;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with status 2 (0 for --help and --version).
    let cli = Cli::parse();

    // Diagnostics only on request: RUST_LOG=debug (or any filter) logs requests to stderr.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_env_filter(filter)
            .init();
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };

    let result = runtime.block_on(commands::run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let mut stderr = std::io::stderr().lock();
            // Nothing sensible is left to do if stderr itself is gone.
            // The message may carry the service's code, message and target: escaped.
            let _ = writeln!(
                stderr,
                "error: {}",
                output::terminal_safe(failure.message())
            );
            ExitCode::from(failure.exit_code())
        }
    }
}
