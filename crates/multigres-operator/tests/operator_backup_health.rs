//! Backup health as the running operator reports it (spec-controllers.md §8): config/samples/
//! minimal.yaml on kubesim with real etcd; a PRIMARY pooler record registered in the shard's
//! topology for one Ready pool pod, pointing at a stand-in multipooler (a tonic gRPC server in
//! this test) on 127.0.0.1. A recent backup gives `BackupHealthy=True` with the backup's time
//! and type and the age metric; a stale one `False BackupStale` and one Warning event; a failing
//! call a `BackupCheckFailed` event and no status change.
//!
//! The operator runs with a 1 s resync, so its Shard passes (and backup checks) follow each
//! other; each step waits for the stand-in to have been asked again.
//!
//! The same registered records drive the wait for a primary (§7.12 step 3): no-templates.yaml's
//! pool pods all registered as REPLICA, a scale-down's drains stay where they are over several
//! shard passes (counted from the metrics), and go on once one pod is registered PRIMARY.

mod support;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use multigres_api::v1alpha1::{LastBackupType, Phase, Shard, ShardStatus};
use multigres_operator::operator::{AddressResolution, RunOptions};
use multigres_operator::pooler::messages::{
    BackupMetadata, BackupStatus, GetBackupsRequest, GetBackupsResponse,
};
use multigres_operator::telemetry::metrics_server::MetricsConfig;
use multigres_operator::topology::records::{
    ComponentType, Id, MultiPooler, PoolerType, pooler_key,
};
use pretty_assertions::assert_eq;
use prost::Message;
use support::cluster::{self as cluster_support, Cluster, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NAMESPACE: &str = "default";
const LONG: Duration = Duration::from_secs(300);
const GET_BACKUPS: &str = "/multipoolermanager.MultiPoolerManager/GetBackups";

/// What the stand-in answers to GetBackups.
#[derive(Clone)]
enum Answer {
    Backups(Vec<BackupMetadata>),
    Fails(String),
}

/// A multipooler manager that answers GetBackups from `answer`, counting calls and keeping the
/// last request.
#[derive(Clone)]
struct StandIn {
    answer: Arc<Mutex<Answer>>,
    calls: Arc<AtomicUsize>,
    last_request: Arc<Mutex<Option<GetBackupsRequest>>>,
}

impl StandIn {
    fn answer(&self, answer: Answer) {
        *self.answer.lock().expect("not poisoned") = answer;
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Waits until the operator has asked `more` more times than now (so at least one whole
    /// check ran on the current answer).
    async fn asked_again(&self, more: usize) {
        let target = self.calls() + more;
        eventually("the operator to ask for backups again", LONG, || async {
            (self.calls() >= target).then_some(())
        })
        .await;
    }
}

impl tonic::server::NamedService for StandIn {
    const NAME: &'static str = "multipoolermanager.MultiPoolerManager";
}

impl tower::Service<http::Request<tonic::body::Body>> for StandIn {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let stand_in = self.clone();
        Box::pin(async move {
            if request.uri().path() != GET_BACKUPS {
                return Ok(
                    tonic::Status::unimplemented(request.uri().path().to_owned()).into_http(),
                );
            }
            let codec = tonic_prost::ProstCodec::<GetBackupsResponse, GetBackupsRequest>::default();
            Ok(tonic::server::Grpc::new(codec)
                .unary(GetBackups(stand_in), request)
                .await)
        })
    }
}

struct GetBackups(StandIn);

impl tonic::server::UnaryService<GetBackupsRequest> for GetBackups {
    type Response = GetBackupsResponse;
    type Future = BoxFuture<'static, Result<tonic::Response<GetBackupsResponse>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<GetBackupsRequest>) -> Self::Future {
        let stand_in = self.0.clone();
        Box::pin(async move {
            *stand_in.last_request.lock().expect("not poisoned") = Some(request.into_inner());
            let answer = stand_in.answer.lock().expect("not poisoned").clone();
            stand_in.calls.fetch_add(1, Ordering::SeqCst);
            match answer {
                Answer::Backups(backups) => {
                    Ok(tonic::Response::new(GetBackupsResponse { backups }))
                }
                Answer::Fails(message) => Err(tonic::Status::unavailable(message)),
            }
        })
    }
}

/// Serves `stand_in` on a free loopback port; returns the port.
async fn serve(stand_in: StandIn) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(stand_in)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    port
}

/// A complete full backup labelled with `at` (pgBackRest's `YYYYMMDD-HHMMSSF`).
fn full_backup(at: jiff::Timestamp) -> BackupMetadata {
    BackupMetadata {
        table_group: "default".into(),
        shard: "0-inf".into(),
        status: BackupStatus::Complete as i32,
        backup_id: format!("{}F", at.strftime("%Y%m%d-%H%M%S")),
        r#type: "full".into(),
        ..Default::default()
    }
}

/// `at` to the second, as the status stores it.
fn whole_seconds(at: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(at.as_second()).expect("in range")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("an address")
        .port()
}

/// `GET /metrics` over plain HTTP/1.0; the body.
async fn scrape(port: u16) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200").then(|| body.to_owned())
}

async fn shard(client: &kube::Client) -> Option<Shard> {
    let shards: Api<Shard> = Api::namespaced(client.clone(), NAMESPACE);
    let mut list = shards.list(&ListParams::default()).await.ok()?.items;
    (list.len() == 1).then(|| list.remove(0))
}

fn backup_condition(status: &ShardStatus) -> Option<&Condition> {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == "BackupHealthy")
}

/// The Events about `object` with `reason`: (type, note, series count).
async fn events(client: &kube::Client, object: &str, reason: &str) -> Vec<(String, String, i32)> {
    let api: Api<Event> = Api::namespaced(client.clone(), NAMESPACE);
    api.list(&ListParams::default())
        .await
        .expect("events list")
        .items
        .into_iter()
        .filter(|e| {
            e.reason.as_deref() == Some(reason)
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(object)
        })
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.note.unwrap_or_default(),
                e.series.map_or(1, |s| s.count),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_primarys_backups_set_backup_healthy_the_metric_and_events() {
    if !cluster_support::etcd_available("backup_health") {
        return;
    }
    let cluster = Cluster::start(&["zone-a"]).await;
    let client = cluster.client.clone();
    let metrics_port = free_port();
    let options = RunOptions {
        metrics: MetricsConfig {
            bind_address: format!("127.0.0.1:{metrics_port}"),
            secure: false,
        },
        ..cluster_support::run_options(Duration::from_secs(1), None, false)
    };
    assert_eq!(options.address_resolution, AddressResolution::ApiServer);
    let operator = cluster_support::spawn_operator(
        multigres_operator::operator::operator_client(cluster.server.client_config(), None)
            .expect("an operator client"),
        options,
    );
    cluster
        .apply_file(&cluster_support::sample("minimal.yaml"))
        .await;
    let healthy = eventually("the Shard to be Healthy", LONG, || async {
        shard(&client)
            .await
            .filter(|s| s.status.as_ref().and_then(|s| s.phase) == Some(Phase::Healthy))
    })
    .await;
    let shard_name = healthy.name_any();
    assert!(
        backup_condition(&healthy.status.clone().unwrap_or_default()).is_none(),
        "no pooler is registered yet, so nothing is checked"
    );

    // The stand-in multipooler, with a full backup an hour old.
    let backup_at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let stand_in = StandIn {
        answer: Arc::new(Mutex::new(Answer::Backups(vec![full_backup(backup_at)]))),
        calls: Arc::default(),
        last_request: Arc::default(),
    };
    let grpc_port = serve(stand_in.clone()).await;

    // pool pod 0 is the primary: its PRIMARY record (found by its service ID, the hostname
    // being the stand-in's address) in the topology etcd.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let mut pool_pods: Vec<String> = pods
        .list(&ListParams::default().labels("app.kubernetes.io/component=shard-pool"))
        .await
        .expect("pods")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    pool_pods.sort();
    let primary_pod = pool_pods.first().expect("pool pods").clone();
    let id = Id {
        component: ComponentType::Multipooler as i32,
        cell: "zone-a".into(),
        name: multigres_api::naming::multipooler_service_id(&primary_pod),
    };
    let record = MultiPooler {
        id: Some(id.clone()),
        database: "postgres".into(),
        table_group: "default".into(),
        shard: "0-inf".into(),
        r#type: PoolerType::Primary as i32,
        hostname: "127.0.0.1".into(),
        port_map: BTreeMap::from([("grpc".to_owned(), i32::from(grpc_port))]),
        ..Default::default()
    };
    let etcd_ip = cluster
        .server
        .resolve("minimal-global-topo.default.svc")
        .expect("an in-cluster name")[0];
    let mut etcd = etcd_client::Client::connect([format!("http://{etcd_ip}:2379")], None)
        .await
        .expect("etcd answers");
    etcd.put(
        pooler_key("/multigres/global", &id),
        record.encode_to_vec(),
        None,
    )
    .await
    .expect("the record is written");

    // Healthy: time, type, condition, the age metric.
    let recent = eventually("BackupHealthy=True", LONG, || async {
        let status = shard(&client).await?.status?;
        (backup_condition(&status)?.status == "True").then_some(status)
    })
    .await;
    let condition = backup_condition(&recent).expect("the condition").clone();
    assert_eq!(
        (
            condition.reason.as_str(),
            condition.message.as_str(),
            condition.observed_generation
        ),
        (
            "BackupRecent",
            "Last full backup completed 1.0h ago",
            healthy.metadata.generation
        )
    );
    assert_eq!(
        recent.last_backup_time.as_ref().map(|t| t.0),
        Some(whole_seconds(backup_at))
    );
    assert_eq!(recent.last_backup_type, Some(LastBackupType::Full));
    assert_eq!(
        recent.pod_roles.get(&primary_pod).map(String::as_str),
        Some("PRIMARY")
    );
    // Every backup is asked for (fix 2: multipooler keeps the oldest `limit` ones).
    assert_eq!(
        *stand_in.last_request.lock().expect("not poisoned"),
        Some(GetBackupsRequest { limit: 0 })
    );
    let age = eventually("the age metric", LONG, || async {
        let text = scrape(metrics_port).await?;
        let exposition = support::exposition::parse(&text).ok()?;
        exposition.value(
            "multigres_operator_last_backup_age_seconds",
            &[
                ("cluster", "minimal"),
                ("shard", shard_name.as_str()),
                ("namespace", NAMESPACE),
            ],
        )
    })
    .await;
    assert!(
        (3600.0..3600.0 + LONG.as_secs_f64()).contains(&age),
        "an hour and the test's time at most: {age}"
    );
    assert_eq!(
        events(&client, &shard_name, "BackupHealthy").await,
        vec![(
            "Normal".to_owned(),
            "Last full backup completed 1.0h ago".to_owned(),
            1
        )]
    );

    // The same answer again changes nothing: the Shard is not written.
    let version = shard(&client).await.expect("the shard").resource_version();
    stand_in.asked_again(2).await;
    assert_eq!(
        shard(&client).await.expect("the shard").resource_version(),
        version,
        "an unchanged result writes nothing"
    );

    // Stale: a 30-hour-old backup.
    let stale_at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(30);
    stand_in.answer(Answer::Backups(vec![full_backup(stale_at)]));
    let stale = eventually("BackupHealthy=False", LONG, || async {
        let status = shard(&client).await?.status?;
        (backup_condition(&status)?.status == "False").then_some(status)
    })
    .await;
    let condition = backup_condition(&stale).expect("the condition").clone();
    assert_eq!(
        (condition.reason.as_str(), condition.message.as_str()),
        ("BackupStale", "Last backup is 30.0h old (threshold: 25h)")
    );
    assert_eq!(
        stale.last_backup_time.as_ref().map(|t| t.0),
        Some(whole_seconds(stale_at))
    );
    stand_in.asked_again(2).await;
    assert_eq!(
        events(&client, &shard_name, "BackupStale").await,
        vec![(
            "Warning".to_owned(),
            "Last backup is 30.0h old (threshold: 25h)".to_owned(),
            1
        )],
        "one warning for the transition"
    );

    // The call fails: a BackupCheckFailed warning, the status as it was.
    stand_in.answer(Answer::Fails("backup in progress".into()));
    let failed = eventually("a BackupCheckFailed event", LONG, || async {
        let found = events(&client, &shard_name, "BackupCheckFailed").await;
        (!found.is_empty()).then_some(found)
    })
    .await;
    let service_id = multigres_api::naming::multipooler_service_id(&primary_pod);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "Warning");
    let expected_start = format!(
        "Failed to check backup health: querying backups from primary \
         multipooler-zone-a-{service_id}: GetBackups on pooler multipooler-zone-a-{service_id} \
         at 127.0.0.1:{grpc_port} failed: code: 'The service is currently unavailable', \
         message: \"backup in progress\""
    );
    assert!(
        failed[0].1.starts_with(&expected_start),
        "{}\nshould start with\n{expected_start}",
        failed[0].1
    );
    stand_in.asked_again(2).await;
    let after = shard(&client)
        .await
        .expect("the shard")
        .status
        .expect("a status");
    assert_eq!(backup_condition(&after), Some(&condition));
    assert_eq!(after.last_backup_time, stale.last_backup_time);
    assert_eq!(after.last_backup_type, stale.last_backup_type);

    operator.stop().await;
}

/// The shard controller's passes so far, from the scrape.
async fn shard_passes(port: u16) -> Option<u64> {
    let body = scrape(port).await?;
    Some(
        body.lines()
            .filter(|line| {
                line.starts_with("controller_runtime_reconcile_total{")
                    && line.contains("controller=\"shard\"")
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum(),
    )
}

/// The pool pods of the `inline` cluster with their drain state, by name.
async fn inline_pool_pods(pods: &Api<Pod>) -> BTreeMap<String, (Pod, Option<String>)> {
    let params =
        ListParams::default().labels("app.kubernetes.io/instance=inline,multigres.com/pool=main");
    pods.list(&params)
        .await
        .map(|list| list.items)
        .unwrap_or_default()
        .into_iter()
        .map(|pod| {
            let state = pod
                .annotations()
                .get(multigres_api::labels::ANNOTATION_DRAIN_STATE)
                .cloned();
            (pod.name_any(), (pod, state))
        })
        .collect()
}

/// spec-controllers.md §7.12 step 3: while the shard's registered poolers have no PRIMARY
/// (multiorch electing), a Healthy shard's data-plane step stops after the roles, so the drains
/// of a scale-down do not advance; once a PRIMARY is registered they do.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scale_down_drains_nothing_while_the_registered_poolers_have_no_primary() {
    if !cluster_support::etcd_available("primary_wait") {
        return;
    }
    let cluster = Cluster::start(&["us-east-1a", "us-east-1b", "zone-a"]).await;
    let client = cluster.client.clone();
    let metrics_port = free_port();
    let options = RunOptions {
        metrics: MetricsConfig {
            bind_address: format!("127.0.0.1:{metrics_port}"),
            secure: false,
        },
        ..cluster_support::run_options(Duration::from_secs(1), None, false)
    };
    let operator = cluster_support::spawn_operator(
        multigres_operator::operator::operator_client(cluster.server.client_config(), None)
            .expect("an operator client"),
        options,
    );
    cluster
        .apply_file(&cluster_support::sample("no-templates.yaml"))
        .await;
    let healthy = eventually("the Shard to be Healthy", LONG, || async {
        shard(&client)
            .await
            .filter(|s| s.status.as_ref().and_then(|s| s.phase) == Some(Phase::Healthy))
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let pool = inline_pool_pods(&pods).await;
    assert!(pool.len() >= 3, "{:?}", pool.keys());

    // Every pool pod registered as a REPLICA: multiorch has not elected a primary yet.
    let etcd_ip = cluster
        .server
        .resolve("inline-global-topo.default.svc")
        .expect("an in-cluster name")[0];
    let mut etcd = etcd_client::Client::connect([format!("http://{etcd_ip}:2379")], None)
        .await
        .expect("etcd answers");
    let spec = &healthy.spec;
    let record = |pod: &Pod, kind: PoolerType| {
        let id = Id {
            component: ComponentType::Multipooler as i32,
            cell: pod
                .labels()
                .get(multigres_api::labels::LABEL_CELL)
                .cloned()
                .expect("a pool pod's cell"),
            name: multigres_api::naming::multipooler_service_id(&pod.name_any()),
        };
        let pooler = MultiPooler {
            id: Some(id.clone()),
            database: spec.database_name.as_str().to_owned(),
            table_group: spec.table_group_name.as_str().to_owned(),
            shard: spec.shard_name.as_str().to_owned(),
            r#type: kind as i32,
            hostname: "127.0.0.1".into(),
            ..Default::default()
        };
        (pooler_key("/multigres/global", &id), pooler.encode_to_vec())
    };
    for (pod, _) in pool.values() {
        let (key, value) = record(pod, PoolerType::Replica);
        etcd.put(key, value, None).await.expect("a REPLICA record");
    }
    eventually("every pool pod's role to be REPLICA", LONG, || async {
        let roles = shard(&client).await?.status?.pod_roles;
        (pool
            .keys()
            .all(|pod| roles.get(pod).map(String::as_str) == Some("REPLICA")))
        .then_some(())
    })
    .await;

    // 3 -> 2 pods per cell: each cell's index 2 is asked to drain. The pass that asks still
    // computed its phase with the pod counted (not Healthy), so its drain may take the first
    // step, as in Go; from then on the shard is Healthy with 2 of 2 ready and the drain stays
    // where it is over several passes of the shard controller: the pod is not removed.
    let clusters: Api<multigres_api::v1alpha1::MultigresCluster> =
        Api::namespaced(client.clone(), NAMESPACE);
    let mut inline = clusters.get("inline").await.expect("the cluster");
    let shards = &mut inline.spec.databases[0].tablegroups[0].shards[0];
    let main = shards
        .spec
        .as_mut()
        .expect("an inline shard spec")
        .pools
        .iter_mut()
        .find(|(name, _)| name.as_str() == "main")
        .expect("pool main")
        .1;
    main.replicas_per_cell = Some(2);
    let body = serde_json::json!({"spec": {"databases": serde_json::to_value(&inline.spec.databases).expect("json")}});
    clusters
        .patch(
            "inline",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(body),
        )
        .await
        .expect("the cluster is scaled down");
    let extra: Vec<String> = pool
        .keys()
        .filter(|name| name.ends_with("-2"))
        .cloned()
        .collect();
    assert!(!extra.is_empty(), "{:?}", pool.keys());
    let started = |state: Option<&str>| matches!(state, Some("requested" | "draining"));
    let in_drain = |pods: &BTreeMap<String, (Pod, Option<String>)>| {
        extra.iter().all(|name| {
            pods.get(name)
                .is_some_and(|(_, state)| started(state.as_deref()))
        })
    };
    eventually("the extra pods' drains to start", LONG, || async {
        in_drain(&inline_pool_pods(&pods).await).then_some(())
    })
    .await;
    let passes_after = |more: u64| async move {
        let passes = eventually("a scrape", LONG, || shard_passes(metrics_port)).await;
        eventually("more shard passes", LONG, || async {
            (shard_passes(metrics_port).await? >= passes + more).then_some(())
        })
        .await;
    };
    // Three passes for the caches to show the requests; without the wait a drain would be over
    // (and its pod gone) by then.
    passes_after(3).await;
    let before = inline_pool_pods(&pods).await;
    assert!(
        in_drain(&before),
        "no primary, yet a drain went past its first step"
    );
    passes_after(3).await;
    let now = inline_pool_pods(&pods).await;
    let states = |pods: &BTreeMap<String, (Pod, Option<String>)>| -> Vec<Option<String>> {
        extra
            .iter()
            .map(|name| pods.get(name).and_then(|(_, state)| state.clone()))
            .collect()
    };
    assert_eq!(
        states(&now),
        states(&before),
        "no drain advances without a primary"
    );

    // multiorch elects a pod that stays: the drains go on and the extra pods go.
    let elected = pool
        .iter()
        .find(|(name, _)| name.ends_with("-0"))
        .map(|(_, (pod, _))| pod)
        .expect("a pod of index 0");
    let (key, value) = record(elected, PoolerType::Primary);
    etcd.put(key, value, None).await.expect("a PRIMARY record");
    eventually("the extra pods to be drained and removed", LONG, || async {
        let now = inline_pool_pods(&pods).await;
        extra
            .iter()
            .all(|name| !now.contains_key(name))
            .then_some(())
    })
    .await;

    operator.stop().await;
}
