//! `multigres-operator local`: a whole Multigres topology on one machine in one command
//! (issue 15, docs/local.md). Starts an embedded kubesim (three zones, real etcd processes for
//! the TopoServer), installs the CRDs, applies the sample or the given files, runs the five
//! controllers in this process, shows the status tree until every cluster is Healthy, prints
//! the KUBECONFIG and what to try next, and serves until Ctrl-C, which stops everything it
//! started.
//!
//! The steps are in [`prerequisites`] (fail fast with the fix), [`apply`] (CRDs and the
//! user's documents) and [`progress`] (the status tree on a terminal or as lines); this module
//! wires them.

pub mod apply;
pub mod prerequisites;
pub mod progress;
pub mod webhook;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::oneshot;

use crate::operator::{AddressResolution, RunOptions, operator_client, run_with};

/// The sample applied when no file is given: the Go operator's `config/samples/minimal.yaml`.
pub const MINIMAL_SAMPLE: &str = include_str!("../../../../config/samples/minimal.yaml");

/// The field manager of what `local` applies (CRDs and the user's documents).
pub const FIELD_MANAGER: &str = "multigres-operator-local";

/// Arguments of `local`.
#[derive(Debug, Clone, clap::Args)]
pub struct LocalArgs {
    /// YAML or JSON files to apply (MultigresClusters, templates, ConfigMaps; templates and
    /// ConfigMaps go first). Repeat or separate with commas. Default: the minimal sample.
    #[arg(
        short = 'f',
        long = "filename",
        value_delimiter = ',',
        env = "MULTIGRES_LOCAL_FILES"
    )]
    pub files: Vec<PathBuf>,

    /// A directory kept across runs: the API server's objects, etcd's data, the CA, the
    /// kubeconfig and the operator log. A second run with the same directory resumes the same
    /// cluster. Without it everything lives in a temporary directory removed on exit.
    #[arg(long, env = "MULTIGRES_LOCAL_STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    /// Zones of the simulated nodes, one node each (label topology.kubernetes.io/zone).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "zone-a,zone-b,zone-c",
        env = "MULTIGRES_LOCAL_ZONES"
    )]
    pub zones: Vec<String>,

    /// Port of the embedded API server on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0, env = "MULTIGRES_LOCAL_PORT")]
    pub port: u16,

    /// Port of the admission webhook server on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0, env = "MULTIGRES_LOCAL_WEBHOOK_PORT")]
    pub webhook_port: u16,

    /// The etcd binary the TopoServer's pods run (Debian's etcd-server).
    #[arg(long, default_value = kubesim::process_runtime::DEFAULT_ETCD_BINARY, env = "MULTIGRES_LOCAL_ETCD_BINARY")]
    pub etcd_binary: PathBuf,

    /// Real seconds per simulated second of the kubelet's waits (grace periods, probe delays,
    /// crash back-off): 0.1 converges in seconds, 1 behaves like a real kubelet.
    #[arg(long, default_value_t = 0.1, env = "MULTIGRES_LOCAL_TIME_SCALE")]
    pub time_scale: f64,

    /// `real`: the pool pods, multiorch and multigateway run as real multigres processes
    /// (needs the multigres binaries, PostgreSQL, pgBackRest and the en_US.UTF-8 locale; the
    /// missing ones are named with their fix); `simulated`: they are simulated pods; `auto`:
    /// real when everything is found.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        env = "MULTIGRES_LOCAL_DATA_PLANE"
    )]
    pub data_plane: DataPlane,

    /// The folder of the multigres binaries built from source (README "Real data plane");
    /// without it they are looked up on PATH.
    #[arg(long, env = "MULTIGRES_BIN_DIR")]
    pub multigres_bin: Option<PathBuf>,
}

/// Whether the data plane runs for real (`--data-plane`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DataPlane {
    Real,
    Simulated,
    Auto,
}

/// The process runtime settings for `args`, and whether the data plane is real. `real` with a
/// prerequisite missing fails with every fix.
fn process_settings(
    args: &LocalArgs,
    root: PathBuf,
) -> anyhow::Result<(kubesim::process_runtime::ProcessRuntimeConfig, bool)> {
    let mut processes = kubesim::process_runtime::ProcessRuntimeConfig {
        root: Some(root),
        etcd_binary: args.etcd_binary.clone(),
        multigres_bin: args.multigres_bin.clone(),
        ..Default::default()
    };
    let real = match args.data_plane {
        DataPlane::Simulated => false,
        DataPlane::Real | DataPlane::Auto => {
            let missing = processes.detect_tools().missing_for_data_plane();
            if args.data_plane == DataPlane::Real && !missing.is_empty() {
                let list: Vec<String> = missing.iter().map(|m| format!("  - {m}")).collect();
                anyhow::bail!(
                    "--data-plane real needs what this machine lacks:\n{}",
                    list.join("\n")
                );
            }
            missing.is_empty()
        }
    };
    processes.multigres = real;
    Ok((processes, real))
}

/// Where the kubeconfig, the operator log and (with `--state-dir`) the cluster live.
struct StateDir {
    path: PathBuf,
    /// Kept alive so the temporary directory is removed on exit.
    _temp: Option<tempfile::TempDir>,
    kept: bool,
}

impl StateDir {
    fn open(dir: Option<&PathBuf>) -> anyhow::Result<StateDir> {
        match dir {
            Some(path) => {
                std::fs::create_dir_all(path)
                    .with_context(|| format!("cannot create --state-dir {}", path.display()))?;
                let path = std::fs::canonicalize(path)
                    .with_context(|| format!("cannot resolve --state-dir {}", path.display()))?;
                Ok(StateDir {
                    path,
                    _temp: None,
                    kept: true,
                })
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("multigres-local-")
                    .tempdir()
                    .context("cannot create a temporary directory")?;
                // A real data plane's processes run as a non-root user (initdb refuses root,
                // spec-local-data-plane.md §1) and must reach their folders under this one:
                // traversable, not listable (the kubeconfig inside is 0600).
                std::fs::set_permissions(
                    temp.path(),
                    std::os::unix::fs::PermissionsExt::from_mode(0o711),
                )
                .context("cannot open the temporary directory to the pods' user")?;
                Ok(StateDir {
                    path: temp.path().to_path_buf(),
                    _temp: Some(temp),
                    kept: false,
                })
            }
        }
    }

    /// Whether a previous run saved its objects here.
    fn has_saved_cluster(&self) -> bool {
        self.kept && self.path.join("objects.json").exists()
    }
}

/// Runs local mode until Ctrl-C (or SIGTERM). Progress goes to `out`.
pub fn run(args: LocalArgs, out: &mut impl Write) -> anyhow::Result<()> {
    prerequisites::check(&args)?;
    let state = StateDir::open(args.state_dir.as_ref())?;
    let log_path = state.path.join("operator.log");
    init_file_logging(&log_path)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?
        .block_on(run_async(args, state, log_path, out))
}

async fn run_async(
    args: LocalArgs,
    state: StateDir,
    log_path: PathBuf,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let started = Instant::now();
    // Ctrl-C and SIGTERM are taken over before anything starts. tokio reports a signal only to
    // the listeners that exist when it arrives, so one pressed while the API server, the CRDs
    // and the webhooks come up was lost and local mode went on serving; now it is remembered
    // and the serve loop stops as soon as it starts.
    let interrupted = Arc::new(tokio::sync::Notify::new());
    let signals = {
        let shutdown = crate::operator::shutdown_signals()?;
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            shutdown.await;
            interrupted.notify_one();
        })
    };
    let resume = state.has_saved_cluster();
    // The user's files are read before anything starts, so a typo in a path or in the YAML
    // fails at once instead of after the API server and etcd came up.
    let documents = if resume && args.files.is_empty() {
        None
    } else {
        Some(apply::read_documents(&args.files)?)
    };
    if let Some(documents) = &documents {
        prerequisites::check_cell_placement(documents, &args.zones)?;
    }
    // Likewise a webhook port in use (docs/local.md "What it checks first").
    let webhook_address = webhook::webhook_address(args.webhook_port)?;
    let (processes, real) = process_settings(&args, state.path.join("processes"))?;
    let kubelet =
        kubesim::kubelet::KubeletConfig::with_time_scale(args.time_scale).with_processes(processes);
    let mut builder = kubesim::Server::builder()
        .port(args.port)
        .zones(args.zones.clone())
        .kubeconfig_path(state.path.join("kubeconfig"))
        .kubelet(kubelet);
    if state.kept {
        builder = builder.state_dir(&state.path);
    }
    let server = builder
        .start()
        .await
        .map_err(|error| prerequisites::explain_start_error(error, args.port))?;
    let client = server.client();
    writeln!(
        out,
        "API server {} (kubeconfig {})",
        server.url(),
        server.kubeconfig_path().display()
    )?;

    writeln!(
        out,
        "Data plane: {}",
        if real {
            "real multigres processes"
        } else {
            "simulated pods (--data-plane real runs multigres for real)"
        }
    )?;
    let result = serve(
        &state,
        &interrupted,
        documents,
        webhook_address,
        &server,
        client,
        &log_path,
        started,
        real,
        out,
    )
    .await;
    writeln!(out, "Stopping the operator, the API server and etcd...")?;
    out.flush()?;
    server.shutdown().await;
    signals.abort();
    if state.kept {
        writeln!(
            out,
            "Stopped. The cluster is saved in {}; run again with --state-dir to resume it.",
            state.path.display()
        )?;
    } else {
        writeln!(out, "Stopped.")?;
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    state: &StateDir,
    interrupted: &tokio::sync::Notify,
    documents: Option<Vec<apply::Document>>,
    webhook_address: std::net::SocketAddr,
    server: &kubesim::Handle,
    client: kube::Client,
    log_path: &std::path::Path,
    started: Instant,
    real: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    apply::install_crds(&client).await?;
    let webhook_config = webhook::register(
        &client,
        server,
        webhook_address,
        state.path.join("webhook-certs"),
    )
    .await?;

    let (stop, stopped) = oneshot::channel::<()>();
    let options = RunOptions {
        metrics: crate::telemetry::metrics_server::MetricsConfig {
            bind_address: "0".to_owned(),
            secure: false,
        },
        webhook: Some(webhook_config),
        health_probe_bind_address: "0".to_owned(),
        leader_elect: false,
        namespace: Some("default".to_owned()),
        identity: Some("local".to_owned()),
        resync: Duration::from_secs(36_000),
        address_resolution: AddressResolution::ApiServer,
    };
    // The operator authenticates as its ServiceAccount, as in its pod, so the child-resource
    // validators tell its writes from the user's.
    let mut operator_config = server.client_config();
    operator_config.auth_info = kube::config::AuthInfo {
        token: Some(webhook::operator_token(&client).await?.into()),
        ..kube::config::AuthInfo::default()
    };
    let operator = tokio::spawn(run_with(
        operator_client(operator_config, None)?,
        options,
        async move {
            let _ = stopped.await;
        },
    ));
    writeln!(out, "Operator running (log: {})", log_path.display())?;
    out.flush()?;
    // The user's documents go through the webhooks, as `kubectl apply` would.
    let mut operator = operator;
    tokio::select! {
        ready = webhook::wait_until_serving(&client, webhook_address) => ready?,
        result = &mut operator => return Err(operator_ended(result)),
    }
    let namespaces = match &documents {
        None => {
            writeln!(
                out,
                "Resuming the cluster saved in {}",
                state.path.display()
            )?;
            apply::cluster_namespaces(&client).await?
        }
        Some(documents) => apply::apply_documents(&client, documents).await?,
    };
    writeln!(out, "Waiting for the cluster to be Healthy...")?;
    out.flush()?;

    let mut display = progress::Display::new(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let mut converged = false;
    let outcome = loop {
        tokio::select! {
            () = interrupted.notified() => break Ok(()),
            result = &mut operator => break Err(operator_ended(result)),
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let trees = match progress::trees(&client, &namespaces).await {
            Ok(trees) => trees,
            Err(error) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "status tree read failed"
                );
                continue;
            }
        };
        display.show(&trees, out)?;
        if !converged && !trees.is_empty() && trees.iter().all(|t| t.converged()) {
            converged = true;
            display.freeze();
            progress::print_next_steps(
                out,
                &trees,
                server.kubeconfig_path(),
                started.elapsed(),
                state.kept.then_some(state.path.as_path()),
                &progress::program_to_suggest(
                    std::env::args_os().next().as_deref(),
                    std::env::current_exe().ok().as_deref(),
                ),
            )?;
            if real {
                print_psql(out, server, &trees)?;
            }
        }
        out.flush()?;
    };
    // Stop the controllers before the API server goes away, so they end their passes cleanly.
    if !operator.is_finished() {
        let _ = stop.send(());
        match tokio::time::timeout(Duration::from_secs(30), &mut operator).await {
            Ok(Ok(Err(error))) => {
                tracing::warn!(error = %error, "the operator stopped with an error");
            }
            Ok(_) => {}
            Err(_) => {
                operator.abort();
            }
        }
    }
    outcome
}

/// A `psql` line per cluster that reaches its multigateway Service (`<cluster>-multigateway`)
/// at the address kubesim's DNS gives it.
fn print_psql(
    out: &mut impl Write,
    server: &kubesim::Handle,
    trees: &[crate::status_tree::Tree],
) -> std::io::Result<()> {
    for tree in trees {
        let Some((namespace, name)) = tree.root.name.split_once('/') else {
            continue;
        };
        let service = format!("{name}-multigateway.{namespace}.svc");
        match kubesim::dns::resolve(server.cluster(), &service)
            .ok()
            .and_then(|ips| ips.first().copied())
        {
            Some(ip) => writeln!(
                out,
                "  psql -h {ip} -p 5432 -U postgres postgres    # {name} through multigateway \
                 (replicas: -p 5433)"
            )?,
            None => writeln!(out, "  ({service} has no ready address yet)")?,
        }
    }
    Ok(())
}

fn operator_ended(result: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Error {
    match result {
        Ok(Ok(())) => anyhow::anyhow!("the operator stopped unexpectedly"),
        Ok(Err(error)) => error.context("the operator failed"),
        Err(error) => anyhow::Error::new(error).context("the operator task failed"),
    }
}

/// The operator's logs go to a file: the terminal shows the status tree.
fn init_file_logging(path: &std::path::Path) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the operator log {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Arc::new(file))
        .with_ansi(false)
        .try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        local: LocalArgs,
    }

    fn args(extra: &[&str]) -> LocalArgs {
        let mut argv = vec!["local"];
        argv.extend_from_slice(extra);
        Wrapper::try_parse_from(argv)
            .expect("valid arguments")
            .local
    }

    #[test]
    fn the_temporary_state_dir_can_be_traversed_by_the_pods_user() {
        use std::os::unix::fs::PermissionsExt;
        let state = StateDir::open(None).expect("a temporary state dir");
        let mode = std::fs::metadata(&state.path)
            .expect("it exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o711);
    }

    #[test]
    fn the_data_plane_is_real_only_with_every_prerequisite() {
        let empty = tempfile::tempdir().expect("temp dir");
        let bin = empty.path().display().to_string();
        let root = empty.path().join("processes");
        let (simulated, real) =
            process_settings(&args(&["--data-plane", "simulated"]), root.clone())
                .expect("simulated always works");
        assert!(!real && !simulated.multigres);
        let (auto, real) = process_settings(&args(&["--multigres-bin", &bin]), root.clone())
            .expect("auto falls back");
        assert!(!real && !auto.multigres, "no binaries in {bin}: simulated");
        let error = process_settings(
            &args(&["--data-plane", "real", "--multigres-bin", &bin]),
            root,
        )
        .expect_err("real without binaries fails")
        .to_string();
        assert!(
            error.starts_with("--data-plane real needs what this machine lacks:\n  - the multigres binary multipooler"),
            "{error}"
        );
        assert!(error.contains("set MULTIGRES_BIN_DIR"), "{error}");
    }
}
