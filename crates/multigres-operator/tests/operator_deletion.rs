//! Deleting a MultigresCluster makes the operator delete, never create: once the API server has
//! accepted the deletion, the operator's only writes are deletes and status writes of objects
//! still present (spec-controllers.md §2.12, §3, §4.1, §7.11). No child is applied or created
//! again while the caches still hold the deleted owner or the deleted child, and no pool pod or
//! PVC comes back. The data volumes are kept or deleted as `pvcDeletionPolicy.whenDeleted`
//! says (§7.9): kept ones are the very volumes of before (same uid), never recreated orphans.
//!
//! Run on kubesim with real etcd, for `config/samples/minimal.yaml` (whenDeleted: Delete,
//! background deletion as `kubectl delete` does) and `config/samples/templated-cluster.yaml`
//! (its shard template says whenDeleted: Retain; foreground deletion, so the cluster
//! controller's §2.12 pass runs too).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kubesim::request_log::RequestEntry;
use multigres_api::v1alpha1::{MultigresCluster, Phase};
use multigres_operator::operator::USER_AGENT;
use support::cluster::{self as cluster_support, Cluster, eventually, owned_kinds};

const NAMESPACE: &str = "default";
const LONG: Duration = Duration::from_secs(300);

/// The controllers whose children the operator creates.
const OUR_KINDS: [&str; 5] = [
    "MultigresCluster",
    "TopoServer",
    "Cell",
    "TableGroup",
    "Shard",
];

fn instance(cluster: &str) -> ListParams {
    ListParams::default().labels(&format!("app.kubernetes.io/instance={cluster}"))
}

async fn healthy(client: &kube::Client, name: &str) -> bool {
    Api::<MultigresCluster>::namespaced(client.clone(), NAMESPACE)
        .get_opt(name)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.status)
        .and_then(|s| s.phase)
        == Some(Phase::Healthy)
}

/// The objects of `cluster` (instance label) whose controller is one of our kinds, as
/// `kind/name`, plus every pod of the cluster (pool pods and the workloads' pods alike).
async fn remaining(client: &kube::Client, cluster: &str) -> Vec<String> {
    let mut left = Vec::new();
    for resource in owned_kinds() {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
        let Ok(list) = api.list(&instance(cluster)).await else {
            left.push(format!("{} (list failed)", resource.kind));
            continue;
        };
        for object in list.items {
            let ours = object
                .owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && OUR_KINDS.contains(&o.kind.as_str()));
            if ours || resource.kind == "Pod" {
                left.push(format!("{}/{}", resource.kind, object.name_any()));
            }
        }
    }
    left.sort();
    left
}

/// The cluster's PVCs without a controller (those `whenDeleted: Retain` keeps), name → uid.
async fn unowned_claims(client: &kube::Client, cluster: &str) -> BTreeMap<String, String> {
    Api::<PersistentVolumeClaim>::namespaced(client.clone(), NAMESPACE)
        .list(&instance(cluster))
        .await
        .expect("a list")
        .items
        .into_iter()
        .filter(|claim| {
            !claim
                .owner_references()
                .iter()
                .any(|o| o.controller == Some(true))
        })
        .map(|claim| (claim.name_any(), claim.uid().unwrap_or_default()))
        .collect()
}

/// How many requests the operator has sent so far (its User-Agent).
fn operator_writes(cluster: &Cluster) -> usize {
    cluster.server.requests().mutating_by_user_agent(USER_AGENT)
}

/// Waits until the operator has sent no write for two seconds (polled), so a pass that was
/// already running before the deletion does not count as one after it.
async fn operator_quiet(cluster: &Cluster, what: &str) {
    let mut last = (operator_writes(cluster), tokio::time::Instant::now());
    eventually(what, LONG, || {
        let now = operator_writes(cluster);
        let since = if now == last.0 {
            last.1
        } else {
            last = (now, tokio::time::Instant::now());
            last.1
        };
        async move { (since.elapsed() >= Duration::from_secs(2)).then_some(()) }
    })
    .await;
}

/// What a write the operator sent after its cluster was deleted was: a delete, a status write
/// of an object still there, an Event (the §2.12 `CleanupComplete`), or anything else, which
/// must not happen (a create or an apply). The operator holds no finalizers, so there are no
/// finalizer removals.
fn class_after_deletion(entry: &RequestEntry) -> &'static str {
    if entry.verb == "delete" {
        "delete"
    } else if entry.subresource.as_deref() == Some("status") {
        "status"
    } else if entry.resource == "events" {
        "event"
    } else {
        FORBIDDEN
    }
}

const FORBIDDEN: &str = "create or apply";

fn describe(entry: &RequestEntry) -> String {
    format!(
        "{} {} {} (manager {}, {})",
        entry.verb,
        entry.qualified_resource(),
        entry.name.as_deref().unwrap_or("<new object>"),
        entry.field_manager.as_deref().unwrap_or("-"),
        entry.content_type.as_deref().unwrap_or("no body"),
    )
}

/// Deletes `name` with `propagation`, waits until everything it owned is gone and the operator
/// is quiet again, and returns the operator's writes after the deletion was sent, each as
/// (class, description).
async fn delete_and_collect_writes(
    cluster: &Cluster,
    name: &str,
    propagation: DeleteParams,
) -> Vec<(&'static str, String)> {
    let client = cluster.client.clone();
    let clusters: Api<MultigresCluster> = Api::namespaced(client.clone(), NAMESPACE);
    let before = cluster.server.requests().entries().len();
    clusters
        .delete(name, &propagation)
        .await
        .expect("the cluster is deleted");
    eventually(&format!("{name} to be gone"), LONG, || async {
        matches!(clusters.get_opt(name).await, Ok(None)).then_some(())
    })
    .await;
    eventually(
        &format!("everything {name} owned to be gone"),
        LONG,
        || async { remaining(&client, name).await.is_empty().then_some(()) },
    )
    .await;
    operator_quiet(cluster, "the operator to stop writing after the deletion").await;
    let entries = cluster.server.requests().entries();
    let delete_at = entries[before..]
        .iter()
        .position(|e| {
            e.verb == "delete"
                && e.resource == "multigresclusters"
                && e.name.as_deref() == Some(name)
        })
        .map(|i| before + i)
        .expect("the test's delete is in the request log");
    entries[delete_at + 1..]
        .iter()
        .filter(|e| e.is_mutating() && e.user_agent_starts_with(USER_AGENT))
        .map(|e| (class_after_deletion(e), describe(e)))
        .collect()
}

/// Fails, printing every write after the deletion, when one of them is a create or an apply.
fn assert_only_deletes_and_status(name: &str, writes: &[(&'static str, String)]) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (class, _) in writes {
        *counts.entry(class).or_default() += 1;
    }
    eprintln!("{name}: operator writes after the deletion: {counts:?}");
    let forbidden: Vec<&String> = writes
        .iter()
        .filter(|(class, _)| *class == FORBIDDEN)
        .map(|(_, text)| text)
        .collect();
    assert!(
        forbidden.is_empty(),
        "{name}: after the deletion the operator created or applied {} object(s): \
         {forbidden:#?}\nall its writes after the deletion: {writes:#?}",
        forbidden.len()
    );
}

async fn start_and_converge(cluster: &Cluster, files: &[&str], name: &str) {
    for file in files {
        cluster.apply_file(&cluster_support::sample(file)).await;
    }
    let client = cluster.client.clone();
    eventually(&format!("{name} to be Healthy"), LONG, || async {
        healthy(&client, name).await.then_some(())
    })
    .await;
    operator_quiet(cluster, "the operator to be quiet at steady state").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_minimal_makes_the_operator_delete_and_never_create() {
    if !cluster_support::etcd_available("deleting_minimal") {
        return;
    }
    let cluster = Cluster::start(&["zone-a", "zone-b", "zone-c"]).await;
    let operator = cluster.start_operator(Duration::from_secs(36_000));
    // Twice: which watch delivers first is a race, so one deletion may not show a stale pass;
    // the second cluster has the first one's name and a new uid, which a stale pass of the
    // first must not take for its own.
    for round in ["first", "second"] {
        start_and_converge(&cluster, &["minimal.yaml"], "minimal").await;
        let writes =
            delete_and_collect_writes(&cluster, "minimal", DeleteParams::background()).await;
        // whenDeleted: Delete: no volume is left.
        let claims = Api::<PersistentVolumeClaim>::namespaced(cluster.client.clone(), NAMESPACE)
            .list(&instance("minimal"))
            .await
            .expect("a list");
        let claims: Vec<String> = claims.items.iter().map(ResourceExt::name_any).collect();
        assert_only_deletes_and_status(&format!("minimal ({round} deletion)"), &writes);
        assert!(
            claims.is_empty(),
            "whenDeleted: Delete leaves no volume: {claims:?}"
        );
    }
    operator.stop().await;
    cluster.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_templated_in_foreground_keeps_its_retained_volumes_and_creates_nothing() {
    if !cluster_support::etcd_available("deleting_templated") {
        return;
    }
    let cluster = Cluster::start(&["us-east-1a", "us-east-1b", "zone-a"]).await;
    let operator = cluster.start_operator(Duration::from_secs(36_000));
    start_and_converge(
        &cluster,
        &[
            "templates/core.yaml",
            "templates/cell.yaml",
            "templates/shard.yaml",
            "templated-cluster.yaml",
        ],
        "templated",
    )
    .await;
    let retained = unowned_claims(&cluster.client, "templated").await;
    assert_eq!(
        retained.keys().filter(|n| n.contains("-pool-")).count(),
        6,
        "two cells of three pool pods, each with a retained data volume: {retained:?}"
    );

    let writes = delete_and_collect_writes(&cluster, "templated", DeleteParams::foreground()).await;
    let after = unowned_claims(&cluster.client, "templated").await;
    assert_only_deletes_and_status("templated", &writes);
    assert_eq!(
        after, retained,
        "whenDeleted: Retain keeps exactly the volumes of before, none recreated"
    );
    let pods: Vec<String> = Api::<Pod>::namespaced(cluster.client.clone(), NAMESPACE)
        .list(&instance("templated"))
        .await
        .expect("a list")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert!(pods.is_empty(), "no pod is left or recreated: {pods:?}");
    operator.stop().await;
    cluster.server.shutdown().await;
}
