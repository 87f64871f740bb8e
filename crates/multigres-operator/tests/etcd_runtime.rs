//! The operator's global topology server (spec-controllers.md §5) runs for real in kubesim: the
//! etcd StatefulSet and Services built by the TopoServer builder are applied to a kubesim with
//! process runtimes, three real etcd members form a cluster, a key written through the client
//! Service's name is read back through each member, and a deleted member comes back (same name,
//! same data folder) and catches up. No etcd process outlives the test.
//!
//! Lives in multigres-operator (which already depends on kubesim) so that kubesim needs no
//! dependency on the operator. Needs /usr/bin/etcd (Debian's etcd-server, installed by
//! scripts/test.sh); skips with a message when it is absent.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use etcd_client::{Client as EtcdClient, ConnectOptions};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};
use multigres_api::labels::LABEL_CLUSTER;
use multigres_api::v1alpha1::{TopoServer, TopoServerSpec};
use multigres_operator::controllers::topo_server::build::build_topo_server_objects;
use pretty_assertions::assert_eq;
use tokio::time::Instant;

const NAMESPACE: &str = "default";
const TOPO: &str = "orders-global-topo";
const ETCD: &str = "/usr/bin/etcd";

fn topo_server() -> TopoServer {
    TopoServer {
        metadata: ObjectMeta {
            name: Some(TOPO.into()),
            namespace: Some(NAMESPACE.into()),
            uid: Some("7a1c0f5e-0000-4000-8000-00000000abcd".into()),
            labels: Some(BTreeMap::from([(
                LABEL_CLUSTER.to_owned(),
                "orders".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: TopoServerSpec::default(),
        status: None,
    }
}

/// Waits until `check` returns `Some`, polling every 100 ms, failing after `deadline`.
async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// Pids of processes whose environment or command line mentions `root`.
fn processes_under(root: &Path) -> Vec<u32> {
    let needle = root.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat.contains(") Z ");
            let mentions = |file: &str| {
                std::fs::read(format!("/proc/{pid}/{file}"))
                    .map(|bytes| String::from_utf8_lossy(&bytes).contains(&needle))
                    .unwrap_or(false)
            };
            !zombie && (mentions("environ") || mentions("cmdline"))
        })
        .collect()
}

async fn connect(ip: IpAddr) -> EtcdClient {
    EtcdClient::connect(
        [format!("http://{ip}:2379")],
        Some(ConnectOptions::new().with_connect_timeout(Duration::from_secs(5))),
    )
    .await
    .expect("etcd accepts a client connection")
}

async fn read(ip: IpAddr, key: &str) -> Option<String> {
    let mut client = connect(ip).await;
    let response = client.get(key, None).await.ok()?;
    response
        .kvs()
        .first()
        .and_then(|kv| kv.value_str().ok())
        .map(str::to_string)
}

fn member_name(index: usize) -> String {
    format!("{TOPO}-{index}.{TOPO}-headless.{NAMESPACE}.svc")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_member_topology_server_serves_and_survives_a_member_restart() {
    if !Path::new(ETCD).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "etcd is required under CI (scripts/test.sh installs etcd-server)"
        );
        eprintln!("skipping: {ETCD} is missing (apt-get install etcd-server)");
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let state = tempfile::tempdir().expect("a temporary folder");
    let root: PathBuf = state.path().join("processes");
    let kubelet = kubesim::kubelet::KubeletConfig::with_time_scale(0.05).with_processes(
        kubesim::process_runtime::ProcessRuntimeConfig {
            root: Some(root.clone()),
            ..Default::default()
        },
    );
    let server = kubesim::Server::builder()
        .http(true)
        .kubelet(kubelet)
        .start()
        .await
        .expect("kubesim starts");
    let client = server.client();

    let desired = build_topo_server_objects(&topo_server()).expect("the TopoServer builds");
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    for mut service in desired.services.clone() {
        // No TopoServer object exists here: without the owner, GC would collect them.
        service.metadata.owner_references = None;
        services
            .create(&PostParams::default(), &service)
            .await
            .expect("Service created");
    }
    let mut stateful_set: StatefulSet = desired.stateful_set.0.clone();
    stateful_set.metadata.owner_references = None;
    Api::<StatefulSet>::namespaced(client.clone(), NAMESPACE)
        .create(&PostParams::default(), &stateful_set)
        .await
        .expect("StatefulSet created");

    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let all_ready = || async {
        let list = pods.list(&Default::default()).await.ok()?;
        let ready: Vec<String> = list
            .items
            .iter()
            .filter(|p| is_ready(p))
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        (ready.len() == 3).then_some(ready)
    };
    let mut ready = eventually("three Ready etcd pods", Duration::from_secs(90), all_ready).await;
    ready.sort();
    assert_eq!(
        ready,
        vec![
            format!("{TOPO}-0"),
            format!("{TOPO}-1"),
            format!("{TOPO}-2")
        ]
    );

    // Write through the client Service's name.
    let service_ip = server
        .resolve(&format!("{TOPO}.{NAMESPACE}.svc.cluster.local"))
        .expect("an in-cluster name")
        .first()
        .copied()
        .expect("the client Service has a ready pod");
    connect(service_ip)
        .await
        .put("/multigres/global/cells/zone-a", "registered", None)
        .await
        .expect("the put succeeds");

    // Read it back through each member.
    let member_ips: Vec<IpAddr> = (0..3)
        .map(|i| {
            server
                .resolve(&member_name(i))
                .expect("an in-cluster name")
                .first()
                .copied()
                .expect("each member has an address")
        })
        .collect();
    for ip in &member_ips {
        assert_eq!(
            read(*ip, "/multigres/global/cells/zone-a").await,
            Some("registered".to_string()),
            "member at {ip}"
        );
    }
    let members = connect(member_ips[0])
        .await
        .member_list()
        .await
        .expect("member list");
    let mut names: Vec<String> = members
        .members()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            format!("{TOPO}-0"),
            format!("{TOPO}-1"),
            format!("{TOPO}-2")
        ]
    );

    // Delete member 1: the others keep serving; the recreated pod rejoins with its data.
    let old_uid = pods
        .get(&format!("{TOPO}-1"))
        .await
        .expect("pod 1")
        .metadata
        .uid;
    pods.delete(&format!("{TOPO}-1"), &DeleteParams::default())
        .await
        .expect("pod 1 deleted");
    connect(member_ips[0])
        .await
        .put("/multigres/global/cells/zone-b", "while-one-was-down", None)
        .await
        .expect("two members keep a quorum");
    eventually(
        "pod 1 recreated and Ready",
        Duration::from_secs(90),
        || async {
            let pod = pods.get(&format!("{TOPO}-1")).await.ok()?;
            (pod.metadata.uid != old_uid && is_ready(&pod)).then_some(())
        },
    )
    .await;
    let rejoined = server
        .resolve(&member_name(1))
        .expect("an in-cluster name")
        .first()
        .copied()
        .expect("member 1 has an address again");
    assert_eq!(
        rejoined, member_ips[1],
        "the recreated pod keeps its address"
    );
    eventually("member 1 caught up", Duration::from_secs(30), || async {
        (read(rejoined, "/multigres/global/cells/zone-b")
            .await
            .as_deref()
            == Some("while-one-was-down"))
        .then_some(())
    })
    .await;
    assert_eq!(
        read(rejoined, "/multigres/global/cells/zone-a").await,
        Some("registered".to_string())
    );

    server.shutdown().await;
    eventually("no etcd process left", Duration::from_secs(10), || async {
        processes_under(&root).is_empty().then_some(())
    })
    .await;
}
