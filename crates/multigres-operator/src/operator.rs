//! `multigres-operator run`: the controller manager (spec-controllers.md §13). Wires the informer
//! cache, the five controllers, leader election, the health endpoints and graceful shutdown.
//!
//! Startup order (§13.3): client → health server → leader election (when enabled) → cache →
//! controllers. On SIGTERM or SIGINT the controllers stop taking new work, in-flight passes
//! finish, and the lease is released so a successor takes over at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use futures::StreamExt;
use kube::Client;
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};

use crate::apply::Apply;
use crate::cache::Feeds;
use crate::context::{Context, Settings};
use crate::controllers::otel_env::OperatorOtelEnv;
use crate::controllers::{cell, multigres_cluster, shard, table_group, topo_server};
use crate::events::Events;
use crate::telemetry::deleted_series::SeriesRegister;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::metrics_server::{MetricsConfig, MetricsServer};
use crate::topology::{AddressResolver, ApiServerResolver, ClusterDns};
use crate::webhook::{WebhookConfig, WebhookServer, prepare_certificates, run_rotation};

/// How often the series of deleted objects are removed from the metrics.
const SERIES_SWEEP: Duration = Duration::from_secs(30);

/// The leader-election Lease of the Go operator (§13.3), so the two never lead together.
pub const LEASE_NAME: &str = "multigres-operator.multigres.com";
/// controller-runtime's defaults: lease 15 s, renewed well before it lapses.
const LEASE_DURATION_SECONDS: u64 = 15;
const LEASE_GRACE_SECONDS: u64 = 5;

/// How the operator reaches in-cluster Services (the topology server) from where it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AddressResolution {
    /// Cluster DNS inside a cluster; the API server's name resolution (kubesim) outside.
    Auto,
    /// Cluster DNS (the operator runs in the cluster).
    Dns,
    /// Ask the API server (`/kubesim/v1/resolve`); for kubesim and local mode.
    ApiServer,
}

/// What `run` needs, from the command line.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The metrics endpoint (`--metrics-bind-address=0` disables it).
    pub metrics: MetricsConfig,
    /// The admission webhooks; `None` under `--webhook-enable=false`.
    pub webhook: Option<WebhookConfig>,
    pub health_probe_bind_address: String,
    pub leader_elect: bool,
    pub namespace: Option<String>,
    pub identity: Option<String>,
    pub resync: Duration,
    pub address_resolution: AddressResolution,
}

/// Whether this process runs inside a Kubernetes pod.
fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

/// The User-Agent of every request the operator sends, so an API server's audit log (and
/// kubesim's request log) tells its writes apart.
pub const USER_AGENT: &str = concat!("multigres-operator/", env!("CARGO_PKG_VERSION"));

/// A client for `config` that names itself [`USER_AGENT`], followed by ` (<identity>)` when
/// given, so the requests of each replica can be told apart.
pub fn operator_client(mut config: kube::Config, identity: Option<&str>) -> anyhow::Result<Client> {
    let agent = match identity {
        Some(identity) => format!("{USER_AGENT} ({identity})"),
        None => USER_AGENT.to_owned(),
    };
    let agent = http::HeaderValue::from_str(&agent)
        .with_context(|| format!("the identity {identity:?} cannot be sent in a User-Agent"))?;
    config.headers.push((http::header::USER_AGENT, agent));
    Client::try_from(config).context("failed to build a Kubernetes client")
}

/// Runs the manager until SIGTERM/SIGINT (or until leadership is lost).
pub async fn run(options: RunOptions) -> anyhow::Result<()> {
    // Before anything slow: a SIGTERM that arrives while the process still starts (a pod
    // deleted right after it was created) must be a clean stop, not the signal's default
    // action.
    let shutdown = shutdown_signals()?;
    let config = kube::Config::infer().await.context(
        "cannot find a Kubernetes API server: set KUBECONFIG (or ~/.kube/config) outside a \
         cluster, or run inside a pod with a service account",
    )?;
    let client = operator_client(config, options.identity.as_deref())?;
    run_with(client, options, shutdown).await
}

/// Runs the manager on `client` until `shutdown` resolves (or leadership is lost): what `run`
/// does after connecting, for callers that bring their own client (local mode, tests).
pub async fn run_with(
    client: Client,
    options: RunOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let namespace = match &options.namespace {
        Some(namespace) => namespace.clone(),
        None if in_cluster() => anyhow::bail!(
            "POD_NAMESPACE environment variable must be set (the manifest sets it from \
             metadata.namespace)"
        ),
        None => client.default_namespace().to_owned(),
    };
    let identity = options
        .identity
        .clone()
        .unwrap_or_else(|| format!("{}_{}", hostname(), std::process::id()));

    let ready = Arc::new(AtomicBool::new(false));
    let health = serve_health(&options.health_probe_bind_address, ready.clone()).await?;
    let metrics = Arc::new(Metrics::new());
    for source in [
        crate::events::Source::MultigresCluster,
        crate::events::Source::TableGroup,
        crate::events::Source::Cell,
        crate::events::Source::TopoServer,
        crate::events::Source::Shard,
    ] {
        metrics.register_controller(source.metric_label());
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutdown requested; finishing in-flight work");
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut stop_rx = stop_rx.clone();
        async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        }
    };

    // Bound here, before anything else starts, so a port in use stops the operator with the
    // flag to change (as controller-runtime's manager fails to start) instead of leaving it
    // running unscraped.
    let metrics_server = {
        let bound = MetricsServer::bind(&options.metrics, metrics.clone(), client.clone())
            .with_context(|| {
                format!(
                    "cannot serve metrics on {:?}; choose another with --metrics-bind-address, \
                     or 0 to disable",
                    options.metrics.bind_address
                )
            })?;
        let stopped = stopped();
        let secure = options.metrics.secure;
        tokio::spawn(async move {
            let Some(server) = bound else { return };
            tracing::info!(address = %server.local_addr(), secure, "serving metrics");
            if let Err(error) = server.serve(stopped).await {
                tracing::error!(
                    error = &error as &dyn std::error::Error,
                    "metrics server failed"
                );
            }
        })
    };

    // Webhooks serve on every replica (the API server calls any of them); their certificates
    // are bootstrapped before anything else runs, as Go does (fatal on error).
    let webhook = match &options.webhook {
        None => None,
        Some(config) => {
            let strategy = prepare_certificates(client.clone(), config)
                .await
                .context("failed to prepare the admission webhook certificates")?;
            let server = WebhookServer::bind(client.clone(), config, &strategy)
                .await
                .context("failed to start the admission webhook server")?
                .with_metrics(metrics.clone());
            let stopped = stopped();
            let serving = tokio::spawn(async move {
                if let Err(error) = server.serve(stopped).await {
                    tracing::error!(
                        error = &error as &dyn std::error::Error,
                        "webhook server failed"
                    );
                }
            });
            Some((strategy, serving))
        }
    };

    let lease = if options.leader_elect {
        let manager = LeaseManagerBuilder::new(client.clone(), LEASE_NAME)
            .with_namespace(namespace.clone())
            .with_identity(identity.clone())
            .with_duration(LEASE_DURATION_SECONDS)
            .with_grace(LEASE_GRACE_SECONDS)
            .build()
            .await
            .context("failed to prepare leader election")?;
        tracing::info!(lease = LEASE_NAME, %namespace, %identity, "waiting for leadership");
        tokio::select! {
            acquired = wait_for_leadership(&manager) => acquired?,
            () = stopped() => {
                health.abort();
                return Ok(());
            }
        }
        tracing::info!("became the leader");
        Some(Arc::new(manager))
    } else {
        None
    };

    let resolver: Arc<dyn AddressResolver> = match options.address_resolution {
        AddressResolution::Dns => Arc::new(ClusterDns),
        AddressResolution::ApiServer => Arc::new(ApiServerResolver::new(client.clone())),
        AddressResolution::Auto if in_cluster() => Arc::new(ClusterDns),
        AddressResolution::Auto => Arc::new(ApiServerResolver::new(client.clone())),
    };
    let apply = Apply::new(client.clone());
    let feeds = Feeds::new(&client, apply.in_flight());
    let context = Arc::new(Context {
        cache: feeds.cache(),
        apply,
        events: Events::new(&client, Some(identity.clone())),
        settings: Settings {
            operator_otel_env: OperatorOtelEnv::from_vars(std::env::vars()),
            resync: options.resync,
        },
        resolver,
        backoff: Default::default(),
        owners: Default::default(),
        metrics: metrics.clone(),
        series: SeriesRegister::default(),
        client: client.clone(),
    });
    // Leader-only background work: certificate rotation and the metric series sweep.
    let rotation = webhook.as_ref().map(|(strategy, _)| {
        let strategy = strategy.clone();
        let stopped = stopped();
        tokio::spawn(async move { run_rotation(&strategy, stopped).await })
    });
    let sweep = {
        let context = context.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(SERIES_SWEEP);
            loop {
                ticks.tick().await;
                let forgotten = context.series.sweep(&context.cache, &context.metrics);
                if forgotten > 0 {
                    tracing::debug!(forgotten, "removed the metric series of deleted objects");
                }
            }
        })
    };
    let controllers = futures::stream::select_all([
        multigres_cluster::run(&feeds, context.clone(), stopped()).boxed(),
        table_group::run(&feeds, context.clone(), stopped()).boxed(),
        cell::run(&feeds, context.clone(), stopped()).boxed(),
        topo_server::run(&feeds, context.clone(), stopped()).boxed(),
        shard::run(&feeds, context.clone(), stopped()).boxed(),
    ]);
    let watches = feeds.spawn();
    // A stop while the caches still fill (the API server unreachable, a pod deleted as it
    // starts) ends the process like any other: the signal handlers took over SIGTERM and
    // SIGINT, so nothing else would.
    let filled = tokio::select! {
        filled = context.cache.wait_until_ready() => Some(filled),
        () = stopped() => None,
    };
    let result = match filled {
        None => Ok(()),
        Some(filled) => {
            filled.context("the informer cache stopped before it was filled")?;
            ready.store(true, Ordering::Release);
            tracing::info!("caches synced; controllers running");
            let lost = match &lease {
                Some(manager) => {
                    let manager = manager.clone();
                    futures::future::Either::Left(async move { keep_leadership(&manager).await })
                }
                None => futures::future::Either::Right(futures::future::pending()),
            };
            tokio::select! {
                () = controllers.for_each(|()| futures::future::ready(())) => Ok(()),
                error = lost => Err(error),
            }
        }
    };
    for watch in watches {
        watch.abort();
    }
    sweep.abort();
    if let Some(rotation) = rotation {
        let _ = rotation.await;
    }
    if let Some((_, serving)) = webhook {
        let _ = serving.await;
    }
    let _ = metrics_server.await;
    if let Some(manager) = lease {
        if let Err(error) = manager.release().await {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "failed to release the lease"
            );
        } else {
            tracing::info!("released the leader lease");
        }
    }
    signals.abort();
    health.abort();
    result
}

async fn wait_for_leadership(manager: &LeaseManager) -> anyhow::Result<()> {
    loop {
        if manager.changed().await.context("leader election failed")? {
            return Ok(());
        }
    }
}

/// Renews the lease; returns the error that ends leadership.
async fn keep_leadership(manager: &LeaseManager) -> anyhow::Error {
    loop {
        match manager.changed().await {
            Ok(true) => {}
            Ok(false) => return anyhow::anyhow!("leader election lost"),
            Err(error) => return anyhow::Error::new(error).context("leader election lost"),
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|| "multigres-operator".to_owned())
}

/// Takes over SIGTERM and SIGINT now (from then on neither ends the process by itself) and
/// returns the future that resolves at the first of them.
pub(crate) fn shutdown_signals() -> anyhow::Result<impl std::future::Future<Output = ()> + Send> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// `/healthz` (alive) and `/readyz` (caches synced) on `address` (Go's `:8081` form accepted);
/// `0` disables the server.
async fn serve_health(
    address: &str,
    ready: Arc<AtomicBool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    if address == "0" {
        return Ok(tokio::spawn(async {}));
    }
    let socket: SocketAddr = if let Some(port) = address.strip_prefix(':') {
        format!("0.0.0.0:{port}").parse()
    } else {
        address.parse()
    }
    .with_context(|| {
        format!("--health-probe-bind-address {address:?} is not an address such as :8081 or 127.0.0.1:8081")
    })?;
    let listener = tokio::net::TcpListener::bind(socket)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {socket} for health probes (in use?); choose another with \
             --health-probe-bind-address, or 0 to disable"
            )
        })?;
    let router = Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    if ready.load(Ordering::Acquire) {
                        (StatusCode::OK, "ok")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced")
                    }
                }
            }),
        );
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "health server failed"
            );
        }
    }))
}
