//! The `kubesim` binary: a loopback Kubernetes API server for local mode and tests.
//!
//! `kubesim --kubeconfig FILE [--port N] [--http] [--zones a,b,c] [--state-dir DIR]
//! [--no-kubelet] [--time-scale F] [--process-runtimes [--etcd-binary PATH] [--multigres-bin DIR]
//! [--postgres-bin DIR] [--no-namespaces] [--operator-bin PATH]]` serves
//! until SIGINT/SIGTERM, writing FILE once the listener accepts. Logs at info by default; one
//! line per request with `RUST_LOG=kubesim=debug`.

use std::path::PathBuf;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// A loopback Kubernetes API server (kubesim).
#[derive(Debug, Parser)]
#[command(name = "kubesim", version, about)]
struct Cli {
    /// Where to write the kubeconfig for clients (written once the server accepts connections).
    #[arg(long, env = "MULTIGRES_KUBESIM_KUBECONFIG")]
    kubeconfig: PathBuf,

    /// Port on 127.0.0.1 to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 0, env = "MULTIGRES_KUBESIM_PORT")]
    port: u16,

    /// Serve plain HTTP instead of HTTPS with a self-signed CA.
    #[arg(long, env = "MULTIGRES_KUBESIM_HTTP")]
    http: bool,

    /// Zones to create one Node each for (labels topology.kubernetes.io/zone and region).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "zone-a",
        env = "MULTIGRES_KUBESIM_ZONES"
    )]
    zones: Vec<String>,

    /// Directory kept across restarts: the CA (so kubeconfigs stay valid) and, saved on a
    /// graceful stop, every object (restored on the next start instead of bootstrapping).
    #[arg(long, env = "MULTIGRES_KUBESIM_STATE_DIR")]
    state_dir: Option<PathBuf>,

    /// Do not run the simulated kubelet and workload controllers (pods then stay unscheduled).
    #[arg(long, env = "MULTIGRES_KUBESIM_NO_KUBELET")]
    no_kubelet: bool,

    /// Real seconds per simulated second for grace periods, back-offs and evictions.
    #[arg(long, default_value_t = 1.0, env = "MULTIGRES_KUBESIM_TIME_SCALE")]
    time_scale: f64,

    /// Simulated seconds a pod's containers stay `ContainerCreating` before they run (scaled
    /// by --time-scale).
    #[arg(long, default_value_t = kubesim::kubelet::CONTAINER_START_SECONDS,
          env = "MULTIGRES_KUBESIM_CONTAINER_START_SECONDS")]
    container_start_seconds: f64,

    /// Run containers of `*etcd*` images as real etcd processes, and of multigres images as
    /// real multigres processes when their binaries are found, bound to their pod's address
    /// (docs/kubesim.md "Process runtimes"); their data lives under --state-dir.
    #[arg(long, env = "MULTIGRES_KUBESIM_PROCESS_RUNTIMES")]
    process_runtimes: bool,

    /// The etcd the process runtimes run.
    #[arg(long, default_value = kubesim::process_runtime::DEFAULT_ETCD_BINARY,
          env = "MULTIGRES_KUBESIM_ETCD_BINARY")]
    etcd_binary: PathBuf,

    /// How requests are authorized: `always-allow` (any bearer token is the administrator) or
    /// `rbac` (Roles and bindings decide; unknown tokens get 401). docs/kubesim.md "Identities
    /// and RBAC".
    #[arg(
        long,
        value_enum,
        default_value = "always-allow",
        env = "MULTIGRES_KUBESIM_AUTHORIZATION"
    )]
    authorization: kubesim::auth::Authorization,

    /// The folder of the multigres binaries built from source (multipooler, multiorch,
    /// multigateway, multiadmin, pgctld); without it they are looked up on PATH. Pods whose
    /// binaries are missing stay simulated (an Event says why).
    #[arg(long, env = "MULTIGRES_BIN_DIR")]
    multigres_bin: Option<PathBuf>,

    /// The folder of PostgreSQL's server binaries (initdb, pg_ctl, postgres); found by itself
    /// when absent (Debian's newest /usr/lib/postgresql/<major>/bin).
    #[arg(long, env = "MULTIGRES_POSTGRES_BIN")]
    postgres_bin: Option<PathBuf>,

    /// Do not run multigres processes in private mount and PID namespaces even when this
    /// machine allows them (container paths are then rewritten to host folders).
    #[arg(long, env = "MULTIGRES_KUBESIM_NO_NAMESPACES")]
    no_namespaces: bool,

    /// The `multigres-operator` binary that runs the pods of the operator's own Deployment
    /// (image `ghcr.io/multigres/multigres-operator-rs`, config/install/*.yaml); without it,
    /// `multigres-operator` on PATH. Without one those pods stay simulated (an Event says why).
    #[arg(long, env = "MULTIGRES_OPERATOR_BIN")]
    operator_bin: Option<PathBuf>,
}

/// A failure prints `Error: ` and the error with its causes, then exits with status 1; not
/// through `main() -> Result`, whose report adds a backtrace when RUST_BACKTRACE is set.
fn main() -> std::process::ExitCode {
    match serve() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn serve() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("kubesim=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let mut builder = kubesim::Server::builder()
        .port(cli.port)
        .http(cli.http)
        .zones(cli.zones)
        .kubeconfig_path(cli.kubeconfig.clone())
        .authorization(cli.authorization);
    if let Some(dir) = cli.state_dir {
        builder = builder.state_dir(dir);
    }
    if !cli.no_kubelet {
        let mut kubelet = kubesim::kubelet::KubeletConfig::with_time_scale(cli.time_scale)
            .with_container_start(cli.container_start_seconds);
        if cli.process_runtimes {
            let processes = kubesim::process_runtime::ProcessRuntimeConfig {
                root: None,
                etcd_binary: cli.etcd_binary.clone(),
                multigres_bin: cli.multigres_bin.clone(),
                postgres_bin: cli.postgres_bin.clone(),
                namespaces: !cli.no_namespaces,
                multigres: true,
                operator_binary: cli.operator_bin.clone(),
            };
            // Host prerequisites up front, each with its fix (spec-local-data-plane.md §3).
            for missing in processes.detect_tools().missing_for_data_plane() {
                eprintln!("kubesim: multigres pods stay simulated without {missing}");
            }
            kubelet = kubelet.with_processes(processes);
        }
        builder = builder.kubelet(kubelet);
    }
    let handle = builder.start().await?;
    tracing::info!(url = handle.url(), kubeconfig = %cli.kubeconfig.display(), "kubesim serving");
    shutdown_signal().await?;
    tracing::info!("kubesim shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent_and_parses_zones() {
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["kubesim", "--kubeconfig", "k", "--zones", "a,b,c", "--http"])
                .expect("valid arguments");
        assert_eq!(cli.zones, vec!["a", "b", "c"]);
        assert!(cli.http);
        assert_eq!(cli.port, 0);
        assert!(!cli.no_kubelet);
        assert_eq!(cli.time_scale, 1.0);
        let quiet = Cli::try_parse_from([
            "kubesim",
            "--kubeconfig",
            "k",
            "--no-kubelet",
            "--time-scale",
            "0.01",
        ])
        .expect("valid arguments");
        assert!(quiet.no_kubelet);
        assert_eq!(quiet.time_scale, 0.01);
        assert!(!quiet.process_runtimes);
        let real = Cli::try_parse_from([
            "kubesim",
            "--kubeconfig",
            "k",
            "--process-runtimes",
            "--etcd-binary",
            "/opt/etcd",
            "--multigres-bin",
            "/opt/multigres/bin",
            "--no-namespaces",
        ])
        .expect("valid arguments");
        assert!(real.process_runtimes);
        assert_eq!(real.etcd_binary, PathBuf::from("/opt/etcd"));
        assert_eq!(
            real.multigres_bin,
            Some(PathBuf::from("/opt/multigres/bin"))
        );
        assert!(real.no_namespaces);
    }
}
