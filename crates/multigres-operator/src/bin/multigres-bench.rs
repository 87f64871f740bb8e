//! `multigres-bench`: the operator's own figures against an in-process kubesim (issue 15,
//! docs/performance.md). The operator runs as its own process (`multigres-operator run`), so
//! its RSS and CPU time are its own; every write is counted from kubesim's request log by the
//! operator's User-Agent. Nothing is estimated and nothing is asserted: it prints tables.
//!
//! Scenarios: minimal and the templated sample from apply to Healthy (writes split into object
//! writes, status writes and events, next to the objects the operator owns), writes during a
//! steady-state window, a CellTemplate edit reaching N clusters, and peak RSS / CPU seconds
//! with 1, 10 and 100 clusters (sharing one external etcd, so the machine runs 100 clusters).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use multigres_operator::local::apply::{Document, apply_documents, install_crds, read_documents};
use multigres_operator::operator::USER_AGENT;
use multigres_operator::status_tree::{build_tree, fetch_clusters};
use serde_json::json;

/// Prints the operator's convergence, write and resource figures as tables.
#[derive(Debug, Parser)]
#[command(name = "multigres-bench", version, about)]
struct Args {
    /// The operator binary (default: `multigres-operator` next to this one).
    #[arg(long, env = "MULTIGRES_BENCH_OPERATOR")]
    operator: Option<PathBuf>,
    /// The repository's config/samples (for the templated sample and its templates).
    #[arg(
        long,
        default_value = "config/samples",
        env = "MULTIGRES_BENCH_SAMPLES"
    )]
    samples: PathBuf,
    /// Seconds of the steady-state window after convergence.
    #[arg(long, default_value_t = 30, env = "MULTIGRES_BENCH_STEADY_SECONDS")]
    steady_seconds: u64,
    /// Clusters referencing the edited CellTemplate.
    #[arg(long, default_value_t = 10, env = "MULTIGRES_BENCH_TEMPLATE_CLUSTERS")]
    template_clusters: usize,
    /// Cluster counts of the RSS and CPU runs.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,10,100",
        env = "MULTIGRES_BENCH_SCALES"
    )]
    scales: Vec<usize>,
    /// Seconds a scenario may take to converge before it is reported as not converged.
    #[arg(long, default_value_t = 600, env = "MULTIGRES_BENCH_DEADLINE_SECONDS")]
    deadline_seconds: u64,
    /// After each apply-to-Healthy run, list the operator's writes (verb, resource, name) and
    /// the Events it published (reason, object, note), to see where the writes go.
    #[arg(long, env = "MULTIGRES_BENCH_EXPLAIN")]
    explain: bool,
    /// Run only the apply-to-Healthy table (skip the template edit and the scale runs).
    #[arg(long, env = "MULTIGRES_BENCH_CONVERGENCE_ONLY")]
    convergence_only: bool,
}

const ETCD: &str = "/usr/bin/etcd";
/// One simulated node per zone, 110 pods each (kubelet's default): 100 minimal clusters run
/// about 700 pods, so ten nodes; the templated sample pins its cells to the us-east ones.
const ZONES: [&str; 10] = [
    "zone-a",
    "zone-b",
    "zone-c",
    "zone-d",
    "zone-e",
    "zone-f",
    "zone-g",
    "zone-h",
    "us-east-1a",
    "us-east-1b",
];

/// The kinds the operator creates, to count what it owns.
const OWNED: [(&str, &str, &str, &str); 12] = [
    ("multigres.com", "v1alpha1", "TopoServer", "toposervers"),
    ("multigres.com", "v1alpha1", "Cell", "cells"),
    ("multigres.com", "v1alpha1", "TableGroup", "tablegroups"),
    ("multigres.com", "v1alpha1", "Shard", "shards"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("", "v1", "Service", "services"),
    ("", "v1", "ConfigMap", "configmaps"),
    ("", "v1", "Secret", "secrets"),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    ("", "v1", "Pod", "pods"),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
    ),
];

/// Operator writes, split as the issue asks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Writes {
    objects: usize,
    status: usize,
    events: usize,
}

impl Writes {
    fn total(&self) -> usize {
        self.objects + self.status + self.events
    }

    /// The operator's mutating requests among `entries` (pure).
    fn classify(entries: &[kubesim::RequestEntry]) -> Writes {
        let mut writes = Writes::default();
        for entry in entries
            .iter()
            .filter(|e| e.is_mutating() && e.user_agent_starts_with(USER_AGENT))
        {
            if entry.resource == "events" {
                writes.events += 1;
            } else if entry.subresource.as_deref() == Some("status") {
                writes.status += 1;
            } else {
                writes.objects += 1;
            }
        }
        writes
    }
}

/// kubesim in this process, the operator in its own.
struct Bench {
    server: kubesim::Handle,
    client: Client,
    operator: Child,
    dir: tempfile::TempDir,
}

impl Bench {
    async fn start(operator: &Path, processes: bool, explain: bool) -> anyhow::Result<Bench> {
        let dir = tempfile::tempdir()?;
        let mut kubelet = kubesim::kubelet::KubeletConfig::with_time_scale(0.05);
        if processes {
            kubelet = kubelet.with_processes(kubesim::process_runtime::ProcessRuntimeConfig {
                root: Some(dir.path().join("processes")),
                ..Default::default()
            });
        }
        let server = kubesim::Server::builder()
            .http(true)
            .zones(ZONES.iter().map(|z| (*z).to_owned()).collect())
            .kubelet(kubelet)
            .kubeconfig_path(dir.path().join("kubeconfig"))
            .start()
            .await?;
        let client = server.client();
        install_crds(&client).await?;
        let log = std::fs::File::create(dir.path().join("operator.log"))?;
        let operator = Command::new(operator)
            .args([
                "run",
                "--health-probe-bind-address",
                "0",
                "--metrics-bind-address",
                "0",
                "--webhook-enable=false",
                "--address-resolution",
                "api-server",
                "--namespace",
                "default",
            ])
            .env("KUBECONFIG", dir.path().join("kubeconfig"))
            // With --explain the operator logs why it writes (the drift `apply` found).
            .env(
                "RUST_LOG",
                if explain {
                    "warn,multigres_operator::apply=debug"
                } else {
                    "warn"
                },
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", operator.display()))?;
        Ok(Bench {
            server,
            client,
            operator,
            dir,
        })
    }

    /// The operator's writes since the last [`Bench::restart_count`].
    fn writes(&self) -> Writes {
        Writes::classify(&self.server.requests().entries())
    }

    /// Forgets the request log, so [`Bench::writes`] counts from now (the log keeps the newest
    /// 100 000 entries: positions in it are not stable marks).
    fn restart_count(&self) {
        self.server.requests().reset();
    }

    /// Waits until `count` clusters of `default` are Healthy; the seconds it took.
    async fn wait_healthy(&self, count: usize, deadline: Duration) -> Option<f64> {
        let started = Instant::now();
        while started.elapsed() < deadline {
            if let Ok(clusters) = fetch_clusters(&self.client, "default", None).await {
                let healthy = clusters
                    .iter()
                    .filter(|objects| build_tree(objects).converged())
                    .count();
                if healthy >= count {
                    return Some(started.elapsed().as_secs_f64());
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        None
    }

    /// Objects labelled with `cluster` whose controller is the cluster or one of its children,
    /// and the ones the operator created without a controller: pool data and backup volumes
    /// kept under `pvcDeletionPolicy.whenDeleted: Retain` carry no ownerRef (§7.9), so that
    /// garbage collection leaves them (the templated sample's eight).
    async fn owned_objects(&self, cluster: &str) -> anyhow::Result<usize> {
        let mut count = 0;
        for (group, version, kind, plural) in OWNED {
            let resource = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(group, version, kind),
                plural,
            );
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), "default", &resource);
            let list = api
                .list(
                    &ListParams::default().labels(&format!("app.kubernetes.io/instance={cluster}")),
                )
                .await?;
            count += list
                .items
                .iter()
                .filter(|o| {
                    let mut controllers = o
                        .owner_references()
                        .iter()
                        .filter(|r| r.controller == Some(true))
                        .peekable();
                    let retained = controllers.peek().is_none()
                        && o.labels()
                            .get("app.kubernetes.io/managed-by")
                            .map(String::as_str)
                            == Some(multigres_operator::cache::MANAGED_BY);
                    retained
                        || controllers.any(|r| {
                            matches!(
                                r.kind.as_str(),
                                "MultigresCluster" | "TopoServer" | "Cell" | "TableGroup" | "Shard"
                            )
                        })
                })
                .count();
        }
        Ok(count)
    }

    /// Peak RSS (MiB) and CPU seconds of the operator process so far.
    fn operator_resources(&self) -> anyhow::Result<(f64, f64)> {
        let pid = self.operator.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let peak_kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmHWM in /proc/<pid>/status")?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // utime and stime (fields 14 and 15 of stat), in USER_HZ ticks (100 on Linux).
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
            .sum();
        Ok((peak_kib / 1024.0, ticks / 100.0))
    }

    async fn stop(mut self) {
        if let Ok(pid) = i32::try_from(self.operator.id()) {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let _ = self.operator.wait();
        self.server.shutdown().await;
    }
}

/// One etcd on loopback for the clusters of the scale and template runs (external topology
/// server), so 100 clusters do not need 300 etcd processes.
struct SharedEtcd {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl SharedEtcd {
    fn start() -> anyhow::Result<SharedEtcd> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let peer = free_port()?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let child = Command::new(ETCD)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args([
                "--listen-client-urls",
                &endpoint,
                "--advertise-client-urls",
                &endpoint,
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
                "--initial-cluster",
                &format!("default=http://127.0.0.1:{peer}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {ETCD} (apt-get install etcd-server)"))?;
        Ok(SharedEtcd {
            child,
            endpoint,
            _dir: dir,
        })
    }
}

impl Drop for SharedEtcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A minimal cluster on the shared etcd.
fn external_cluster(name: &str, endpoint: &str, cell_template: Option<&str>) -> Document {
    let mut value = json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": "MultigresCluster",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "globalTopoServer": {"external": {"endpoints": [endpoint], "rootPath": format!("/multigres/{name}")}},
            // No zone: the pods may go to any node, as minimal.yaml's.
            "cells": [{"name": "zone-a"}],
        }
    });
    if let Some(template) = cell_template {
        value["spec"]["templateDefaults"] = json!({"cellTemplate": template});
    }
    Document {
        source: "multigres-bench".to_owned(),
        value,
    }
}

fn row(cells: &[String], widths: &[usize]) -> String {
    cells
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect::<Vec<_>>()
        .join("  ")
        .trim_end()
        .to_owned()
}

fn print_table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    println!("\n{title}");
    println!(
        "{}",
        row(
            &header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
            &widths
        )
    );
    println!(
        "{}",
        row(
            &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
            &widths
        )
    );
    for r in rows {
        println!("{}", row(r, &widths));
    }
}

fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "not converged".to_owned(), |s| format!("{s:.1}"))
}

/// Apply → Healthy for one sample (its own TopoServer with real etcd processes), then the
/// steady-state window.
async fn convergence(
    args: &Args,
    operator: &Path,
    name: &str,
    files: &[PathBuf],
) -> anyhow::Result<Vec<String>> {
    let bench = Bench::start(operator, true, args.explain).await?;
    let documents = read_documents(files)?;
    let statuses = args.explain.then(|| StatusLog::start(&bench.client));
    bench.restart_count();
    apply_documents(&bench.client, &documents).await?;
    let took = bench
        .wait_healthy(1, Duration::from_secs(args.deadline_seconds))
        .await;
    let writes = bench.writes();
    if let Some(statuses) = statuses {
        explain(&bench, name).await?;
        statuses.print(name);
    }
    let cluster = documents
        .iter()
        .find(|d| d.value["kind"] == "MultigresCluster")
        .map(|d| {
            d.value["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default();
    let owned = bench.owned_objects(&cluster).await?;
    bench.restart_count();
    tokio::time::sleep(Duration::from_secs(args.steady_seconds)).await;
    let steady = bench.writes();
    bench.stop().await;
    Ok(vec![
        name.to_owned(),
        seconds(took),
        owned.to_string(),
        writes.objects.to_string(),
        writes.status.to_string(),
        writes.events.to_string(),
        writes.total().to_string(),
        format!("{:.2}", writes.objects as f64 / owned.max(1) as f64),
        format!("{:.2}", writes.total() as f64 / owned.max(1) as f64),
        steady.total().to_string(),
    ])
}

/// Every status the custom resources went through, in order (`--explain`): what each status
/// write changed.
struct StatusLog {
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, serde_json::Value)>>>,
    watches: Vec<tokio::task::JoinHandle<()>>,
}

impl StatusLog {
    fn start(client: &Client) -> StatusLog {
        use futures::StreamExt as _;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let watches = OWNED[..4]
            .iter()
            .copied()
            .chain([(
                "multigres.com",
                "v1alpha1",
                "MultigresCluster",
                "multigresclusters",
            )])
            .map(|(group, version, kind, plural)| {
                let resource = ApiResource::from_gvk_with_plural(
                    &GroupVersionKind::gvk(group, version, kind),
                    plural,
                );
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), "default", &resource);
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut last: std::collections::HashMap<String, serde_json::Value> =
                        std::collections::HashMap::new();
                    let mut stream = kube::runtime::watcher(api, Default::default()).boxed();
                    while let Some(Ok(event)) = stream.next().await {
                        let kube::runtime::watcher::Event::Apply(object) = event else {
                            continue;
                        };
                        let status = object.data.get("status").cloned().unwrap_or_default();
                        let name = object.name_any();
                        if last.get(&name) != Some(&status) {
                            last.insert(name.clone(), status.clone());
                            if let Ok(mut seen) = seen.lock() {
                                seen.push((kind.to_owned(), name, status));
                            }
                        }
                    }
                })
            })
            .collect();
        StatusLog { seen, watches }
    }

    fn print(self, sample: &str) {
        for watch in &self.watches {
            watch.abort();
        }
        println!("{sample}: statuses as watched (kind name: status)");
        if let Ok(seen) = self.seen.lock() {
            for (kind, name, status) in seen.iter() {
                println!("  {kind} {name}: {status}");
            }
        }
    }
}

/// Prints every operator write of the request log and every Event of `default` (`--explain`).
async fn explain(bench: &Bench, sample: &str) -> anyhow::Result<()> {
    println!("\n{sample}: operator writes in order");
    for entry in bench
        .server
        .requests()
        .entries()
        .iter()
        .filter(|e| e.is_mutating() && e.user_agent_starts_with(USER_AGENT))
    {
        println!(
            "  {:<7} {}{} {}",
            entry.verb,
            entry.resource,
            entry
                .subresource
                .as_deref()
                .map(|s| format!("/{s}"))
                .unwrap_or_default(),
            entry.name.as_deref().unwrap_or("-"),
        );
    }
    let log = std::fs::read_to_string(bench.dir.path().join("operator.log")).unwrap_or_default();
    println!("{sample}: why the operator wrote (its drift log)");
    for line in log
        .lines()
        .filter(|l| l.contains("applying") || l.contains("already written"))
    {
        println!("  {line}");
    }
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(bench.client.clone(), "default");
    println!("{sample}: events (type reason object count: note)");
    for event in events.list(&ListParams::default()).await?.items {
        let regarding = event.regarding.unwrap_or_default();
        println!(
            "  {} {} {}/{} x{}: {}",
            event.type_.as_deref().unwrap_or("-"),
            event.reason.as_deref().unwrap_or("-"),
            regarding.kind.as_deref().unwrap_or("-"),
            regarding.name.as_deref().unwrap_or("-"),
            event.series.map_or(1, |s| s.count),
            event.note.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

/// N clusters use a CellTemplate; its gateway replica count changes; seconds and writes until
/// every cluster's gateway Deployment follows.
async fn template_edit(args: &Args, operator: &Path) -> anyhow::Result<Vec<String>> {
    let etcd = SharedEtcd::start()?;
    let bench = Bench::start(operator, false, false).await?;
    let mut documents = read_documents(&[args.samples.join("templates/cell.yaml")])?;
    for i in 0..args.template_clusters {
        documents.push(external_cluster(
            &format!("tpl-{i}"),
            &etcd.endpoint,
            Some("standard-cell"),
        ));
    }
    apply_documents(&bench.client, &documents).await?;
    let converged = bench
        .wait_healthy(
            args.template_clusters,
            Duration::from_secs(args.deadline_seconds),
        )
        .await;
    bench.restart_count();
    let started = Instant::now();
    let templates: Api<DynamicObject> = Api::namespaced_with(
        bench.client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("multigres.com", "v1alpha1", "CellTemplate"),
            "celltemplates",
        ),
    );
    templates
        .patch(
            "standard-cell",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"multigateway": {"replicas": 3}}})),
        )
        .await?;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(bench.client.clone(), "default");
    let mut reached = None;
    while converged.is_some() && started.elapsed() < Duration::from_secs(args.deadline_seconds) {
        let list = deployments
            .list(&ListParams::default().labels("app.kubernetes.io/component=multigateway"))
            .await?;
        let done: BTreeSet<String> = list
            .items
            .iter()
            .filter(|d| d.spec.as_ref().and_then(|s| s.replicas) == Some(3))
            .filter_map(|d| d.labels().get("app.kubernetes.io/instance").cloned())
            .collect();
        if done.len() >= args.template_clusters {
            reached = Some(started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let writes = bench.writes();
    bench.stop().await;
    Ok(vec![
        args.template_clusters.to_string(),
        seconds(reached),
        writes.objects.to_string(),
        writes.status.to_string(),
        writes.events.to_string(),
        writes.total().to_string(),
    ])
}

/// N minimal clusters on a shared etcd: seconds to all Healthy, then peak RSS and CPU seconds
/// of the operator after a steady window.
async fn scale(args: &Args, operator: &Path, clusters: usize) -> anyhow::Result<Vec<String>> {
    let etcd = SharedEtcd::start()?;
    let bench = Bench::start(operator, false, false).await?;
    let documents: Vec<Document> = (0..clusters)
        .map(|i| external_cluster(&format!("scale-{i}"), &etcd.endpoint, None))
        .collect();
    bench.restart_count();
    apply_documents(&bench.client, &documents).await?;
    let took = bench
        .wait_healthy(clusters, Duration::from_secs(args.deadline_seconds))
        .await;
    let writes = bench.writes();
    bench.restart_count();
    tokio::time::sleep(Duration::from_secs(args.steady_seconds.min(10))).await;
    let steady = bench.writes();
    let (rss, cpu) = bench.operator_resources()?;
    bench.stop().await;
    Ok(vec![
        clusters.to_string(),
        seconds(took),
        writes.total().to_string(),
        steady.total().to_string(),
        format!("{rss:.1}"),
        format!("{cpu:.1}"),
    ])
}

fn operator_path(args: &Args) -> anyhow::Result<PathBuf> {
    if let Some(path) = &args.operator {
        return Ok(path.clone());
    }
    let here = std::env::current_exe().context("cannot find this binary")?;
    let path = here
        .parent()
        .context("this binary has no folder")?
        .join("multigres-operator");
    anyhow::ensure!(
        path.exists(),
        "no operator binary at {}: build it (`cargo build --release -p multigres-operator`) or \
         pass --operator",
        path.display()
    );
    Ok(path)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    multigres_operator::local::prerequisites::check_etcd(Path::new(ETCD))?;
    let operator = operator_path(&args)?;
    let started = Instant::now();

    let mut rows = vec![
        convergence(
            &args,
            &operator,
            "minimal",
            &[args.samples.join("minimal.yaml")],
        )
        .await?,
    ];
    rows.push(
        convergence(
            &args,
            &operator,
            "templated",
            &[
                args.samples.join("templates/core.yaml"),
                args.samples.join("templates/cell.yaml"),
                args.samples.join("templates/shard.yaml"),
                args.samples.join("templated-cluster.yaml"),
            ],
        )
        .await?,
    );
    print_table(
        &format!(
            "Apply to Healthy (operator writes; steady state = the {} s after Healthy)",
            args.steady_seconds
        ),
        &[
            "sample",
            "seconds",
            "owned objects",
            "object writes",
            "status writes",
            "events",
            "all writes",
            "object writes/owned",
            "all writes/owned",
            "steady-state writes",
        ],
        &rows,
    );

    if args.convergence_only {
        println!("\nTotal: {:.0} s", started.elapsed().as_secs_f64());
        return Ok(());
    }
    let edit = template_edit(&args, &operator).await?;
    print_table(
        "CellTemplate edit (multigateway replicas 2 -> 3) reaching every referencing cluster",
        &[
            "clusters",
            "seconds",
            "object writes",
            "status writes",
            "events",
            "all writes",
        ],
        &[edit],
    );

    let mut rows = Vec::new();
    for clusters in &args.scales {
        rows.push(scale(&args, &operator, *clusters).await?);
    }
    print_table(
        "Minimal clusters on one operator (shared external etcd)",
        &[
            "clusters",
            "seconds to all Healthy",
            "all writes",
            "steady-state writes (10 s)",
            "peak RSS MiB",
            "CPU seconds",
        ],
        &rows,
    );
    println!("\nTotal: {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        verb: &str,
        resource: &str,
        subresource: Option<&str>,
        agent: &str,
    ) -> kubesim::RequestEntry {
        kubesim::RequestEntry {
            verb: verb.to_owned(),
            group: String::new(),
            resource: resource.to_owned(),
            subresource: subresource.map(str::to_owned),
            namespace: Some("default".to_owned()),
            name: Some("x".to_owned()),
            user_agent: Some(agent.to_owned()),
            field_manager: None,
            content_type: None,
            user: "admin".to_owned(),
            groups: Vec::new(),
        }
    }

    #[test]
    fn writes_are_split_into_objects_status_and_events_of_the_operator_only() {
        let entries = [
            entry("patch", "pods", None, USER_AGENT),
            entry("patch", "shards", Some("status"), USER_AGENT),
            entry("create", "events", None, USER_AGENT),
            entry("get", "pods", None, USER_AGENT),
            entry("patch", "pods", None, "kubectl/v1.33"),
        ];
        assert_eq!(
            Writes::classify(&entries),
            Writes {
                objects: 1,
                status: 1,
                events: 1
            }
        );
    }
}
