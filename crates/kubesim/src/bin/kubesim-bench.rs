//! `kubesim-bench`: one bounded run measuring kubesim through a real kube client over loopback
//! HTTP: GET and LIST (1,000 objects) throughput, server-side apply throughput, watch fan-out to
//! 10 watchers, and resident memory per 10,000 stored objects. Prints one line per figure.
//!
//! Run with `cargo run --release -p kubesim --bin kubesim-bench`. Every loop has a fixed count;
//! nothing runs unbounded.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::json;

const GETS: usize = 4_000;
const LISTS: usize = 40;
const LISTED_OBJECTS: usize = 1_000;
const APPLIES: usize = 1_000;
const WATCHERS: usize = 10;
const WATCHED_WRITES: usize = 500;
const STORED_FOR_MEMORY: usize = 10_000;
const CONCURRENCY: usize = 4;

fn rss_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").context("reading /proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .context("statm has a resident field")?
        .parse()
        .context("resident pages are a number")?;
    Ok(pages * 4096)
}

fn configmap(name: &str, value: usize) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "labels": {"app": "bench", "shard": (value % 8).to_string()}},
           "data": {"value": value.to_string(), "payload": "x".repeat(64)}})
}

/// Creates objects through the in-process API (setup, not measured).
fn seed(
    cluster: &kubesim::Cluster,
    namespace: &str,
    prefix: &str,
    count: usize,
) -> anyhow::Result<()> {
    let namespaces = cluster.resource("", "v1", "namespaces")?;
    let _ = cluster.create(
        &namespaces,
        None,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        &Default::default(),
    );
    let cms = cluster.resource("", "v1", "configmaps")?;
    for i in 0..count {
        cluster.create(
            &cms,
            Some(namespace),
            configmap(&format!("{prefix}-{i:05}"), i),
            &Default::default(),
        )?;
    }
    Ok(())
}

fn report(what: &str, count: usize, elapsed: Duration) {
    println!(
        "{what:<40} {:>10.0} req/s  ({count} in {:.2}s)",
        count as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
}

async fn bench_get(api: &Api<ConfigMap>) -> anyhow::Result<()> {
    let started = Instant::now();
    let per_task = GETS / CONCURRENCY;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|t| {
            let api = api.clone();
            tokio::spawn(async move {
                for i in 0..per_task {
                    api.get(&format!("obj-{:05}", (t * per_task + i) % LISTED_OBJECTS))
                        .await?;
                }
                Ok::<(), kube::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    report("get", GETS, started.elapsed());
    Ok(())
}

async fn bench_list(api: &Api<ConfigMap>) -> anyhow::Result<()> {
    let started = Instant::now();
    for _ in 0..LISTS {
        let list = api.list(&ListParams::default()).await?;
        anyhow::ensure!(
            list.items.len() == LISTED_OBJECTS,
            "listed {}",
            list.items.len()
        );
    }
    report("list of 1,000 objects", LISTS, started.elapsed());
    Ok(())
}

async fn bench_apply(api: &Api<ConfigMap>) -> anyhow::Result<()> {
    let params = PatchParams::apply("bench").force();
    let started = Instant::now();
    for i in 0..APPLIES {
        let name = format!("applied-{:03}", i % 100);
        api.patch(&name, &params, &Patch::Apply(configmap(&name, i)))
            .await?;
    }
    report(
        "server-side apply (create + update)",
        APPLIES,
        started.elapsed(),
    );
    Ok(())
}

async fn bench_watch(api: &Api<ConfigMap>) -> anyhow::Result<()> {
    let rv = api
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let stream = api
            .watch(
                &WatchParams::default().labels("app=fanout").timeout(120),
                &rv,
            )
            .await?
            .boxed();
        watchers.push(tokio::spawn(async move {
            let mut stream = stream;
            let mut seen = 0usize;
            while seen < WATCHED_WRITES {
                match stream.next().await {
                    Some(Ok(WatchEvent::Added(_) | WatchEvent::Modified(_))) => seen += 1,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(anyhow::Error::from(e)),
                    None => anyhow::bail!("watch ended after {seen} events"),
                }
            }
            Ok(Instant::now())
        }));
    }
    let started = Instant::now();
    for i in 0..WATCHED_WRITES {
        let name = format!("fanout-{i:04}");
        let mut object = configmap(&name, i);
        object["metadata"]["labels"]["app"] = json!("fanout");
        api.create(&Default::default(), &serde_json::from_value(object)?)
            .await?;
    }
    let writes_done = started.elapsed();
    let mut last = started;
    for watcher in watchers {
        last = last.max(watcher.await??);
    }
    let delivered = WATCHERS * WATCHED_WRITES;
    let elapsed = last - started;
    report("watch fan-out: writes", WATCHED_WRITES, writes_done);
    println!(
        "{:<40} {:>10.0} events/s ({delivered} events to {WATCHERS} watchers in {:.2}s)",
        "watch fan-out: deliveries",
        delivered as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

fn bench_memory(cluster: &kubesim::Cluster) -> anyhow::Result<()> {
    let before = rss_bytes()?;
    seed(cluster, "memory", "mem", STORED_FOR_MEMORY)?;
    let after = rss_bytes()?;
    let delta = after.saturating_sub(before);
    println!(
        "{:<40} {:>10.1} MiB RSS delta for {STORED_FOR_MEMORY} ConfigMaps ({} bytes/object, watch history included)",
        "memory per 10,000 objects",
        delta as f64 / (1024.0 * 1024.0),
        delta / STORED_FOR_MEMORY as u64
    );
    Ok(())
}

/// A failure prints `Error: ` and the error with its causes, with no backtrace whatever
/// RUST_BACKTRACE says (that is for panics).
fn main() -> std::process::ExitCode {
    match bench() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn bench() -> anyhow::Result<()> {
    let server = kubesim::Server::builder().http(true).start().await?;
    let cluster = server.cluster().clone();
    bench_memory(&cluster)?;
    seed(&cluster, "bench", "obj", LISTED_OBJECTS)?;
    let client = server.client();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "bench");
    bench_get(&api).await?;
    bench_list(&api).await?;
    let applied: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    bench_apply(&applied).await?;
    let watched: Api<ConfigMap> = Api::namespaced(client, "default");
    bench_watch(&watched).await?;
    server.shutdown().await;
    Ok(())
}
