//! `multigres-operator status [CLUSTER] [-n NS] [--watch]`: the status tree against the API
//! server of the current kubeconfig (issue 15). Installed as `kubectl-multigres` on the PATH it
//! is also `kubectl multigres status` (docs/local.md).

use std::io::Write;
use std::time::Duration;

use anyhow::Context as _;

use crate::status_tree::{self, Style};

/// Arguments of `status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// The MultigresCluster to show; every cluster of the namespace when left out.
    pub cluster: Option<String>,

    /// The namespace; the kubeconfig's namespace when left out.
    #[arg(short = 'n', long, env = "MULTIGRES_STATUS_NAMESPACE")]
    pub namespace: Option<String>,

    /// Keep showing the tree: redrawn in place on a terminal, printed as lines of what
    /// changed otherwise, every --interval seconds, until Ctrl-C.
    #[arg(short = 'w', long, env = "MULTIGRES_STATUS_WATCH")]
    pub watch: bool,

    /// Seconds between two reads with --watch (0.1 to 86400).
    #[arg(
        long,
        default_value = "2",
        value_parser = parse_interval,
        env = "MULTIGRES_STATUS_INTERVAL"
    )]
    pub interval: Duration,
}

/// The shortest and longest `--interval`: a tenth of a second keeps the API server's load
/// bounded; a day is far beyond any useful watch (and `Duration::from_secs_f64` panics on
/// values past `u64::MAX` seconds, infinity and NaN).
const INTERVAL_SECONDS: std::ops::RangeInclusive<f64> = 0.1..=86_400.0;

fn parse_interval(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if INTERVAL_SECONDS.contains(&seconds) => Ok(Duration::from_secs_f64(seconds)),
        _ => Err(format!(
            "{text:?} is not a number of seconds from {} to {}, e.g. 0.5 or 10",
            INTERVAL_SECONDS.start(),
            INTERVAL_SECONDS.end()
        )),
    }
}

/// Prints the tree once, or until Ctrl-C with `--watch`.
pub fn run(args: StatusArgs, out: &mut impl Write) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?
        .block_on(run_async(args, out))
}

async fn run_async(args: StatusArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let config = kube::Config::infer()
        .await
        .context("cannot find a Kubernetes API server: set KUBECONFIG (or ~/.kube/config)")?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = kube::Client::try_from(config).context("failed to build a Kubernetes client")?;
    let resolver = status_tree::resolver_for(&client);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let style = if terminal { Style::Color } else { Style::Plain };
    let interval = args.interval;
    let mut previous: Vec<status_tree::Tree> = Vec::new();
    let mut height = 0;
    loop {
        let mut trees: Vec<status_tree::Tree> = Vec::new();
        for mut objects in
            status_tree::fetch_clusters(&client, &namespace, args.cluster.as_deref()).await?
        {
            // The pool pods' roles, when the topology can be reached from here.
            status_tree::read_poolers(&mut objects, resolver.clone()).await;
            trees.push(status_tree::build_tree(&objects));
        }
        if !args.watch {
            if trees.is_empty() {
                writeln!(out, "No MultigresCluster in namespace {namespace}.")?;
            }
            for tree in &trees {
                for line in status_tree::tree_lines(tree, style) {
                    writeln!(out, "{line}")?;
                }
            }
            return Ok(());
        }
        if terminal {
            let lines: Vec<String> = trees
                .iter()
                .flat_map(|tree| status_tree::tree_lines(tree, style))
                .collect();
            out.write_all(status_tree::redraw(height, &lines).as_bytes())?;
            height = lines.len();
        } else {
            for tree in &trees {
                let before = previous.iter().find(|p| p.root.name == tree.root.name);
                for line in status_tree::progress_lines(before, tree) {
                    writeln!(out, "{line}")?;
                }
            }
        }
        out.flush()?;
        previous = trees;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
    }
}
