//! The command line of `multigres-operator` (clap derive). Each subcommand is a variant of
//! [`Command`]; `main.rs` parses and calls [`Cli::run`].
//!
//! Subcommands that talk to a cluster belong to their own modules; this one only dispatches.

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::crd_manifests;

/// Kubernetes operator for Multigres, sharded PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "multigres-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every CustomResourceDefinition of the operator as multi-document YAML, in install
    /// order (e.g. `multigres-operator crds | kubectl apply --server-side -f -`).
    Crds,
}

impl Cli {
    /// Runs the parsed command, writing its output to `out`.
    pub fn run(self, out: &mut impl Write) -> anyhow::Result<()> {
        match self.command {
            Command::Crds => {
                let yaml = crd_manifests::all_crds_yaml()?;
                match out.write_all(yaml.as_bytes()).and_then(|()| out.flush()) {
                    // The reader stopped early (`crds | head`): nothing went wrong here.
                    Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
                    written => written.context("failed to write the CRDs to standard output")?,
                }
            }
        }
        Ok(())
    }
}
