//! The command line of `multigres-operator` (clap derive). Each subcommand is a variant of
//! [`Command`]; `main.rs` parses and calls [`Cli::run`].
//!
//! Subcommands that talk to a cluster belong to their own modules; this one only dispatches.

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::crd_manifests;
use crate::install::{Variant, install_yaml};
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
    /// Run the controller manager against the API server of the current kubeconfig (or the
    /// pod's service account inside a cluster) until SIGTERM (see docs/operator.md).
    Run(Box<RunArgs>),
    /// A whole Multigres topology on this machine: an embedded API server, real etcd, the
    /// operator and the minimal sample (or -f FILE), shown converging, until Ctrl-C (see
    /// docs/local.md).
    #[cfg(feature = "local")]
    Local(crate::local::LocalArgs),
    /// The status tree of MultigresClusters of the current kubeconfig's API server: phases,
    /// readiness, pods, conditions that are not True, recent Warning events.
    Status(crate::status_command::StatusArgs),
    /// Print the install manifest of the operator (CRDs, namespace, RBAC, Services, Deployment,
    /// webhook configurations) as multi-document YAML, e.g.
    /// `multigres-operator manifests | kubectl apply --server-side -f -` (see docs/install.md).
    Manifests(ManifestsArgs),
}

/// Arguments of `run`: the Go operator's flags (spec-controllers.md §13.2) plus our own.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub metrics: crate::telemetry::metrics_server::MetricsConfig,

    #[command(flatten)]
    pub webhook: crate::webhook::WebhookArgs,

    #[command(flatten)]
    pub log: crate::telemetry::tracing::LogConfig,

    /// The operator's service account, the default of `--webhook-service-account` (the only
    /// identity the child-resource webhook lets write Cells, Shards, TableGroups and
    /// TopoServers); set by the manifest from the pod.
    #[arg(long = "pod-service-account", env = "POD_SERVICE_ACCOUNT")]
    pub pod_service_account: Option<String>,

    /// Where `/healthz` and `/readyz` listen (`:8081`, `127.0.0.1:8081`); `0` disables them.
    #[arg(
        long,
        default_value = ":8081",
        env = "MULTIGRES_HEALTH_PROBE_BIND_ADDRESS"
    )]
    pub health_probe_bind_address: String,

    /// Elect a leader through the Lease `multigres-operator.multigres.com` in the operator's
    /// namespace, so only one replica writes (the Go operator's lease: never both lead).
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true", env = "MULTIGRES_LEADER_ELECT")]
    pub leader_elect: bool,

    /// The operator's namespace (the Lease lives there). Required inside a cluster, where the
    /// manifest sets it from the pod; outside one the kubeconfig's namespace is used.
    #[arg(long, env = "POD_NAMESPACE")]
    pub namespace: Option<String>,

    /// This replica's identity in the Lease; hostname and process id when unset.
    #[arg(long, env = "MULTIGRES_LEADER_ELECTION_ID")]
    pub identity: Option<String>,

    /// How often a converged object is reconciled again without a change, in seconds
    /// (controller-runtime's sync period is 10 hours).
    #[arg(long, default_value_t = 36_000, env = "MULTIGRES_RESYNC_SECONDS")]
    pub resync_seconds: u64,

    /// How the topology server's Service name is reached: `dns` inside a cluster, `api-server`
    /// against kubesim (local mode, tests); `auto` picks by whether this runs in a pod.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        env = "MULTIGRES_ADDRESS_RESOLUTION"
    )]
    pub address_resolution: crate::operator::AddressResolution,
}

/// Arguments of `manifests`.
#[derive(Debug, clap::Args)]
pub struct ManifestsArgs {
    /// Which manifest: `default` (self-managed webhook certificates), `cert-manager`,
    /// `observability` (default plus OTLP tracing) or `no-webhook`.
    #[arg(
        long = "variant",
        value_enum,
        default_value = "default",
        env = "MULTIGRES_MANIFESTS_VARIANT"
    )]
    pub variant: Variant,
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
            Command::Run(args) => run_operator(*args)?,
            #[cfg(feature = "local")]
            Command::Local(args) => crate::local::run(args, out)?,
            Command::Status(args) => crate::status_command::run(args, out)?,
            Command::Manifests(args) => {
                let yaml = install_yaml(args.variant)?;
                match out.write_all(yaml.as_bytes()).and_then(|()| out.flush()) {
                    // The reader stopped early (`manifests | head`): nothing went wrong here.
                    Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
                    written => {
                        written.context("failed to write the manifest to standard output")?
                    }
                }
            }
        }
        Ok(())
    }
}

/// What `main` prints after `Error: `: the error and its causes joined with `: `, in the
/// words a user can act on. A cause is left out when the text before it already says it
/// (kube's and hyper's errors repeat their source in their own message, so anyhow's `{:#}`
/// would print "client error (Connect): client error (Connect)"), and an API server refusal is
/// its Status message alone (kube's own text adds the whole Status in Rust debug syntax).
pub fn error_report(error: &anyhow::Error) -> String {
    let mut report = String::new();
    let mut after_api_error = false;
    for cause in error.chain() {
        let text = match cause.downcast_ref::<kube::Error>() {
            Some(kube::Error::Api(status)) => status.message.clone(),
            // kube's `Api` variant names its boxed Status as its source.
            _ if after_api_error
                && (cause.is::<kube::core::Status>() || cause.is::<Box<kube::core::Status>>()) =>
            {
                continue;
            }
            _ => cause.to_string(),
        };
        after_api_error = matches!(
            cause.downcast_ref::<kube::Error>(),
            Some(kube::Error::Api(_))
        );
        if text.is_empty() || report.contains(&text) {
            continue;
        }
        if !report.is_empty() {
            report.push_str(": ");
        }
        report.push_str(&text);
    }
    report
}

/// Starts a Tokio runtime, logging and tracing, and the controller manager.
fn run_operator(args: RunArgs) -> anyhow::Result<()> {
    // Checked before anything starts: the metrics server runs on its own task, whose failure
    // is only logged, so a typo here would leave an operator running without metrics.
    crate::telemetry::metrics_server::parse_bind_address(&args.metrics.bind_address)?;
    let webhook = args
        .webhook
        .config(
            args.namespace.as_deref(),
            args.pod_service_account.as_deref(),
        )
        .context("invalid webhook flags")?;
    let options = crate::operator::RunOptions {
        metrics: args.metrics,
        webhook,
        health_probe_bind_address: args.health_probe_bind_address,
        leader_elect: args.leader_elect,
        namespace: args.namespace,
        identity: args.identity,
        resync: std::time::Duration::from_secs(args.resync_seconds),
        address_resolution: args.address_resolution,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(async move {
        let telemetry =
            crate::telemetry::tracing::init(&args.log).context("failed to set up logging")?;
        let result = crate::operator::run(options).await;
        telemetry.shutdown().await;
        result
    })
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_error_report_says_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect): {source}")]
        struct Repeats {
            source: std::io::Error,
        }
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = anyhow::Error::new(Repeats { source: io }).context("failed to list pods");
        assert_eq!(
            error_report(&error),
            "failed to list pods: client error (Connect): connection refused"
        );
    }

    #[test]
    fn an_api_server_refusal_is_reported_by_its_message() {
        let status = kube::core::Status::failure(
            r#"MultigresCluster.multigres.com "Bad_Name" is invalid: metadata.name: Invalid value"#,
            "Invalid",
        );
        let error = anyhow::Error::new(kube::Error::Api(status.boxed()))
            .context("cluster.yaml: MultigresCluster Bad_Name was not applied");
        assert_eq!(
            error_report(&error),
            r#"cluster.yaml: MultigresCluster Bad_Name was not applied: MultigresCluster.multigres.com "Bad_Name" is invalid: metadata.name: Invalid value"#
        );
    }

    #[test]
    fn run_takes_the_go_operators_flags() {
        let cli = Cli::try_parse_from([
            "multigres-operator",
            "run",
            "--leader-elect",
            "--metrics-bind-address=:8443",
            "--health-probe-bind-address=:8081",
            "--webhook-enable=false",
            "--namespace=multigres-operator",
        ])
        .expect("the Go operator's flags parse");
        let Command::Run(args) = cli.command else {
            unreachable!("run parses as Run");
        };
        assert!(args.leader_elect);
        assert!(!args.webhook.enable);
        assert_eq!(args.metrics.bind_address, ":8443");
    }
}
