//! The command line of `multigres-operator` (clap derive). Each subcommand is a variant of
//! [`Command`]; `main.rs` parses and calls [`Cli::run`].
//!
//! Subcommands that talk to a cluster belong to their own modules; this one only dispatches.

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::crd_manifests;
use crate::render::{InputFile, OutputFormat, render};

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
    /// Print every object the operator would create for the MultigresClusters in the given
    /// files, without a Kubernetes cluster: webhooks' defaulting and validation, then every
    /// controller's builders (see docs/render.md).
    Render(RenderArgs),
}

/// Arguments of `render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// A YAML or JSON file with one or more documents: a MultigresCluster, the Core, Cell and
    /// ShardTemplates it references and the ConfigMaps its shards name; `-` reads standard
    /// input. Repeat for several files.
    #[arg(
        short = 'f',
        long = "filename",
        required = true,
        env = "MULTIGRES_RENDER_FILES",
        value_delimiter = ','
    )]
    pub files: Vec<String>,

    /// Output format of the objects.
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value = "yaml",
        env = "MULTIGRES_RENDER_OUTPUT"
    )]
    pub output: OutputFormat,
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
            Command::Render(args) => run_render(&args, out)?,
        }
        Ok(())
    }
}

/// Reads the files (standard input for `-`), renders, prints the objects to `out` and the
/// warnings and notes to standard error.
fn run_render(args: &RenderArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for name in &args.files {
        let text = if name == "-" {
            std::io::read_to_string(std::io::stdin()).context("failed to read standard input")?
        } else {
            std::fs::read_to_string(name).with_context(|| format!("failed to read {name}"))?
        };
        files.push(InputFile {
            name: name.clone(),
            text,
        });
    }
    let rendered = render(&files, args.output)?;
    let mut err = std::io::stderr().lock();
    for warning in &rendered.warnings {
        writeln!(err, "Warning: {warning}").context("failed to write to standard error")?;
    }
    for note in &rendered.notes {
        writeln!(err, "Note: {note}").context("failed to write to standard error")?;
    }
    match out
        .write_all(rendered.output.as_bytes())
        .and_then(|()| out.flush())
    {
        // The reader stopped early (`render | head`): nothing went wrong here.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("failed to write the objects to standard output"),
    }
}
