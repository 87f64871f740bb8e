//! Entry point of the `multigres-operator` binary: parses the command line and runs it.

use clap::Parser;
use multigres_operator::cli::Cli;

fn main() -> anyhow::Result<()> {
    Cli::parse().run(&mut std::io::stdout().lock())
}
