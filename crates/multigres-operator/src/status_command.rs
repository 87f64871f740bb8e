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
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?
        .block_on(run_async(args, out));
    match result {
        // The reader stopped early (`status | head`): nothing went wrong here.
        Err(error)
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|error| error.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        result => result,
    }
}

async fn run_async(args: StatusArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let config = kube::Config::infer().await.map_err(explain_no_config)?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).context("failed to build a Kubernetes client")?;
    let resolver = status_tree::resolver_for(&client);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let style = if terminal { Style::Color } else { Style::Plain };
    let interval = args.interval;
    // With --watch, one listener for the whole watch, raced with the reads too: tokio reports
    // a signal only to the listeners that exist when it arrives, so a Ctrl-C pressed while the
    // tree was being read (a listener made per pause) was lost. Without --watch Ctrl-C keeps
    // its default action.
    let mut interrupt = if args.watch {
        Some(
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .context("cannot handle Ctrl-C")?,
        )
    } else {
        None
    };
    let mut previous: Vec<status_tree::Tree> = Vec::new();
    let mut height = 0;
    loop {
        let read = read_trees(
            &client,
            &namespace,
            args.cluster.as_deref(),
            &resolver,
            &server,
        );
        let trees = tokio::select! {
            trees = read => trees?,
            () = interrupted(&mut interrupt) => return Ok(()),
        };
        if !args.watch {
            if trees.is_empty() {
                writeln!(
                    out,
                    "No MultigresCluster in namespace {namespace} (choose another with -n \
                     NAMESPACE; `kubectl get multigresclusters -A` lists them all)."
                )?;
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
            () = interrupted(&mut interrupt) => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Resolves at the next Ctrl-C, never without a listener.
async fn interrupted(interrupt: &mut Option<tokio::signal::unix::Signal>) {
    match interrupt {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// The trees of the clusters to show, with the pool pods' roles where the topology can be
/// reached from here.
async fn read_trees(
    client: &kube::Client,
    namespace: &str,
    cluster: Option<&str>,
    resolver: &std::sync::Arc<dyn crate::topology::AddressResolver>,
    server: &str,
) -> anyhow::Result<Vec<status_tree::Tree>> {
    let clusters = status_tree::fetch_clusters(client, namespace, cluster)
        .await
        .map_err(|error| explain_fetch_error(error, server))?;
    let mut trees = Vec::new();
    for mut objects in clusters {
        status_tree::read_poolers(&mut objects, resolver.clone()).await;
        trees.push(status_tree::build_tree(&objects));
    }
    Ok(trees)
}

/// The fix for each way of having no kubeconfig; kube's own error lists what it tried, each
/// cause twice.
fn explain_no_config(error: kube::config::InferConfigError) -> anyhow::Error {
    const FIX: &str = "set KUBECONFIG to the cluster's kubeconfig (`multigres-operator local` \
                       prints the `export KUBECONFIG=...` line of its own)";
    if let Some(paths) = std::env::var_os("KUBECONFIG").filter(|paths| !paths.is_empty()) {
        let missing: Vec<String> = std::env::split_paths(&paths)
            .filter(|path| !path.is_file())
            .map(|path| path.display().to_string())
            .collect();
        if !missing.is_empty() {
            return anyhow::anyhow!(
                "KUBECONFIG names {}, which is not a file: {FIX}",
                missing.join(", ")
            );
        }
    } else if std::env::var_os("KUBERNETES_SERVICE_HOST").is_none() {
        let default = std::env::var_os("HOME")
            .map(|home| std::path::Path::new(&home).join(".kube/config"))
            .filter(|path| !path.is_file());
        if let Some(default) = default {
            return anyhow::anyhow!(
                "no Kubernetes API server to ask: KUBECONFIG is not set and {} does not exist: \
                 {FIX}",
                default.display()
            );
        }
    }
    anyhow::Error::new(error).context(format!("cannot read the kubeconfig ({FIX})"))
}

/// A failed read says which server it asked and what to do: install the CRDs when the server
/// does not know MultigresClusters, check the server runs when it cannot be reached.
fn explain_fetch_error(error: status_tree::FetchError, server: &str) -> anyhow::Error {
    let context = match &error {
        status_tree::FetchError::List {
            source: kube::Error::Api(status),
            kind,
            ..
        } if status.code == 404 => format!(
            "the API server {server} does not serve {kind}: install the operator's CRDs \
             (`multigres-operator crds | kubectl apply --server-side -f -`)"
        ),
        status_tree::FetchError::List {
            source: kube::Error::Api(_),
            ..
        }
        | status_tree::FetchError::NotFound { .. } => return error.into(),
        status_tree::FetchError::List { .. } => format!(
            "cannot reach the API server {server} (is it running? `multigres-operator local` \
             serves its cluster only until Ctrl-C)"
        ),
    };
    anyhow::Error::new(error).context(context)
}
