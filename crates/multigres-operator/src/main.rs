//! Entry point of the `multigres-operator` binary: parses the command line and runs it.

use std::process::ExitCode;

use clap::Parser;
use multigres_operator::cli::{Cli, error_report};

/// A failed command prints `Error: ` and the error with its causes ([`error_report`]), then
/// exits with status 1. Not through `main() -> Result`, whose report adds a backtrace under
/// every user error when RUST_BACKTRACE is set; panics keep theirs.
fn main() -> ExitCode {
    match Cli::parse().run(&mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {}", error_report(&err));
            ExitCode::FAILURE
        }
    }
}
