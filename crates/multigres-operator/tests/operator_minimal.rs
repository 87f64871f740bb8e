//! The operator operates: config/samples/minimal.yaml applied to kubesim (with real etcd for the
//! topology server) converges to Healthy with exactly the Go operator's objects (golden case 1)
//! and the etcd records of spec-controllers.md §14.4; a second operator over the converged world,
//! with a short resync, writes nothing; a manual edit of a child is reverted and a foreign label
//! survives.

mod golden_objects;
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use etcd_client::Client as EtcdClient;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use multigres_api::v1alpha1::{Cell, MultigresCluster, Phase};
use multigres_operator::operator::USER_AGENT;
use multigres_operator::topology::records::{Cell as CellRecord, Database, Location};
use prost::Message;
use serde_json::{Value, json};
use support::cluster::{self as cluster_support, Cluster, eventually};

const NAMESPACE: &str = "default";

/// The kinds the operator creates, with their API resources.
fn owned_kinds() -> Vec<(&'static str, ApiResource)> {
    let ar = |group: &str, version: &str, kind: &str, plural: &str| {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    };
    vec![
        (
            "toposerver",
            ar("multigres.com", "v1alpha1", "TopoServer", "toposervers"),
        ),
        ("cell", ar("multigres.com", "v1alpha1", "Cell", "cells")),
        (
            "tablegroup",
            ar("multigres.com", "v1alpha1", "TableGroup", "tablegroups"),
        ),
        ("shard", ar("multigres.com", "v1alpha1", "Shard", "shards")),
        ("deployment", ar("apps", "v1", "Deployment", "deployments")),
        (
            "statefulset",
            ar("apps", "v1", "StatefulSet", "statefulsets"),
        ),
        ("service", ar("", "v1", "Service", "services")),
        ("configmap", ar("", "v1", "ConfigMap", "configmaps")),
        ("secret", ar("", "v1", "Secret", "secrets")),
        (
            "persistentvolumeclaim",
            ar("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
        ),
        ("pod", ar("", "v1", "Pod", "pods")),
        (
            "poddisruptionbudget",
            ar(
                "policy",
                "v1",
                "PodDisruptionBudget",
                "poddisruptionbudgets",
            ),
        ),
    ]
}

/// Every object the cluster `minimal` owns, by (kind, name): those labelled with its instance
/// whose controller is the cluster or one of its child resources.
async fn owned_objects(client: &kube::Client) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (kind, resource) in owned_kinds() {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
        let list = api
            .list(&ListParams::default().labels("app.kubernetes.io/instance=minimal"))
            .await
            .expect("a list");
        for object in list.items {
            let owner_kind = object
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true))
                .map(|o| o.kind.clone());
            // Objects the workload controllers make (ReplicaSets' pods, the etcd StatefulSet's
            // pods and volumes) are not the operator's.
            let ours = matches!(
                owner_kind.as_deref(),
                Some("MultigresCluster" | "TopoServer" | "Cell" | "TableGroup" | "Shard")
            );
            if !ours {
                continue;
            }
            let value = serde_json::to_value(&object).expect("json");
            found.push((kind.to_owned(), object.name_any(), value));
        }
    }
    found
}

/// Whether `live` holds every field of `want` (maps: subset; lists: same length, element-wise),
/// so server-filled fields (defaults, uid, status, managedFields) are ignored. Returns the
/// first differing path.
fn contains(want: &Value, live: &Value, path: &str) -> Option<String> {
    match (want, live) {
        (Value::Object(w), Value::Object(l)) => w.iter().find_map(|(key, value)| {
            let child = format!("{path}.{key}");
            match l.get(key) {
                Some(found) => contains(value, found, &child),
                None if value.as_object().is_some_and(|m| m.is_empty())
                    || value.as_array().is_some_and(|a| a.is_empty()) =>
                {
                    None
                }
                None => Some(child),
            }
        }),
        (Value::Array(w), Value::Array(l)) => {
            if w.len() != l.len() {
                return Some(format!("{path} (length {} vs {})", w.len(), l.len()));
            }
            w.iter()
                .zip(l)
                .enumerate()
                .find_map(|(i, (a, b))| contains(a, b, &format!("{path}[{i}]")))
        }
        (Value::Number(a), Value::Number(b)) => (a.as_f64() != b.as_f64()).then(|| path.to_owned()),
        (a, b) => (a != b).then(|| format!("{path}: want {a}, have {b}")),
    }
}

/// The golden object as the operator sends it, without what an API server replaces: the fixed
/// uids of ownerReferences, zero status, random Secret data.
fn comparable_golden(mut golden: Value) -> Value {
    let map = golden.as_object_mut().expect("an object");
    map.remove("status");
    map.remove("kind");
    map.remove("apiVersion");
    if let Some(references) = golden["metadata"]["ownerReferences"].as_array_mut() {
        for reference in references {
            reference
                .as_object_mut()
                .expect("a reference")
                .remove("uid");
        }
    }
    if let Some(data) = golden["data"].as_object_mut() {
        for value in data.values_mut() {
            if value == "RANDOM" {
                *value = Value::Null;
            }
        }
    }
    // Pods and StatefulSet templates: metadata.creationTimestamp null is Go's zero value.
    golden
}

fn strip_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_null);
        }
        Value::Array(list) => list.iter_mut().for_each(strip_null),
        _ => {}
    }
}

async fn cluster_phase(client: &kube::Client) -> Option<Phase> {
    Api::<MultigresCluster>::namespaced(client.clone(), NAMESPACE)
        .get_opt("minimal")
        .await
        .ok()
        .flatten()
        .and_then(|c| c.status)
        .and_then(|s| s.phase)
}

/// Whether the cluster and every child resource report Healthy for their current generation.
/// The cluster's phase alone is not enough after a child was deleted: a recreated Cell starts
/// with no status while its cluster may still show the phase of before the deletion.
async fn everything_healthy(client: &kube::Client) -> bool {
    if cluster_phase(client).await != Some(Phase::Healthy) {
        return false;
    }
    for (kind, plural) in [
        ("Cell", "cells"),
        ("TableGroup", "tablegroups"),
        ("Shard", "shards"),
        ("TopoServer", "toposervers"),
    ] {
        let gvk = GroupVersionKind::gvk("multigres.com", "v1alpha1", kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
        let Ok(list) = api.list(&ListParams::default()).await else {
            return false;
        };
        if list.items.is_empty() {
            return false;
        }
        for object in &list.items {
            let status = &object.data["status"];
            if status["phase"] != "Healthy"
                || status["observedGeneration"].as_i64() != object.metadata.generation
            {
                return false;
            }
        }
    }
    true
}

/// The first object of kind `K` (by name) in the test namespace whose controller is a `owner`.
async fn first_owned<K>(client: &kube::Client, owner: &str) -> K
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), NAMESPACE);
    let mut owned: Vec<K> = api
        .list(&ListParams::default())
        .await
        .expect("a list")
        .items
        .into_iter()
        .filter(|object| {
            object
                .owner_references()
                .iter()
                .any(|owner_ref| owner_ref.controller == Some(true) && owner_ref.kind == owner)
        })
        .collect();
    owned.sort_by_key(ResourceExt::name_any);
    assert!(!owned.is_empty(), "no {} owned by a {owner}", K::kind(&()));
    owned.swap_remove(0)
}

/// Deletes `object` as a user would and waits for the operator to create it again (a new uid).
async fn recreated_after_delete<K>(client: &kube::Client, object: &K)
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), NAMESPACE);
    let name = object.name_any();
    let old_uid = object.uid();
    api.delete(&name, &kube::api::DeleteParams::default())
        .await
        .expect("a user's delete");
    eventually(
        &format!("{} {name} to be created again", K::kind(&())),
        Duration::from_secs(30),
        || async {
            let again = api.get_opt(&name).await.ok().flatten()?;
            (again.uid() != old_uid && again.meta().deletion_timestamp.is_none()).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn minimal_converges_to_the_go_operators_objects_and_then_writes_nothing() {
    if !cluster_support::etcd_available("minimal_converges") {
        return;
    }
    let Some(golden) = golden_objects::golden_dir("minimal_converges") else {
        return;
    };
    let cluster = Cluster::start(&["zone-a", "zone-b", "zone-c"]).await;
    let operator = cluster.start_operator(Duration::from_secs(36_000));
    cluster
        .apply_file(&cluster_support::sample("minimal.yaml"))
        .await;
    let client = cluster.client.clone();
    eventually(
        "minimal to be Healthy",
        Duration::from_secs(300),
        || async { (cluster_phase(&client).await == Some(Phase::Healthy)).then_some(()) },
    )
    .await;

    // Exactly the golden objects of case 1, each holding every field the Go operator sets.
    let live = owned_objects(&client).await;
    let live_names: BTreeSet<(String, String)> = live
        .iter()
        .map(|(k, n, _)| (k.clone(), n.clone()))
        .collect();
    let objects = golden.join("objects");
    let mut golden_names = BTreeSet::new();
    let mut mismatches = Vec::new();
    for entry in std::fs::read_dir(&objects).expect("golden objects") {
        let file = entry
            .expect("an entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(rest) = file.strip_prefix("case1-minimal.") else {
            continue;
        };
        if file.ends_with(".pretty.json") || !file.ends_with(".json") {
            continue;
        }
        let rest = rest.trim_end_matches(".json");
        let (kind, name) = rest.split_once('.').expect("<kind>.<name>");
        golden_names.insert((kind.to_owned(), name.to_owned()));
        let text = std::fs::read_to_string(objects.join(&file)).expect("readable");
        let mut want = comparable_golden(serde_json::from_str(&text).expect("json"));
        strip_null(&mut want);
        if let Some((_, _, have)) = live.iter().find(|(k, n, _)| k == kind && n == name) {
            let mut have = have.clone();
            if let Some(references) = have["metadata"]["ownerReferences"].as_array_mut() {
                for reference in references {
                    reference
                        .as_object_mut()
                        .expect("a reference")
                        .remove("uid");
                }
            }
            if let Some(path) = contains(&want, &have, "") {
                mismatches.push(format!("{kind}/{name}: {path}"));
            }
        }
    }
    assert_eq!(live_names, golden_names, "the objects the operator owns");
    assert!(
        mismatches.is_empty(),
        "differences from the Go operator: {mismatches:#?}"
    );

    // The etcd records of §14.4, decoded and compared field by field.
    let address = cluster
        .server
        .resolve("minimal-global-topo.default.svc")
        .expect("an in-cluster name")[0];
    let mut etcd = EtcdClient::connect([format!("http://{address}:2379")], None)
        .await
        .expect("etcd answers");
    let cell = etcd
        .get("/multigres/global/cells/zone-a/Cell", None)
        .await
        .expect("a get");
    let cell = CellRecord::decode(cell.kvs()[0].value()).expect("a Cell record");
    assert_eq!(cell.name, "zone-a");
    assert_eq!(
        cell.server_addresses,
        vec!["minimal-global-topo.default.svc:2379"]
    );
    assert_eq!(cell.root, "/multigres/global");
    let database = etcd
        .get("/multigres/global/databases/postgres/Database", None)
        .await
        .expect("a get");
    let database = Database::decode(database.kvs()[0].value()).expect("a Database record");
    assert_eq!(database.name, "postgres");
    assert_eq!(database.cells, vec!["zone-a"]);
    let location = database.backup_location.and_then(|b| b.location);
    assert!(
        matches!(&location, Some(Location::Filesystem(fs)) if fs.path == "/backups"),
        "expected the filesystem backup location /backups, got {location:?}"
    );
    let policy = database
        .bootstrap_durability_policy
        .expect("a durability policy");
    assert_eq!(
        (
            policy.policy_name.as_str(),
            policy.quorum_type,
            policy.required_count
        ),
        ("AT_LEAST_2", 3, 2)
    );

    // Deleted children come back from the watch, not from a resync (this operator's is 10 h):
    // a pool pod (owned by its Shard), a Cell's Service and a Cell (owned by the cluster).
    let pool_pod = first_owned::<Pod>(&client, "Shard").await;
    let cell_service = first_owned::<Service>(&client, "Cell").await;
    let cell = first_owned::<Cell>(&client, "MultigresCluster").await;
    recreated_after_delete(&client, &pool_pod).await;
    recreated_after_delete(&client, &cell_service).await;
    recreated_after_delete(&client, &cell).await;
    eventually(
        "minimal and all its children to be Healthy again after the deletions",
        Duration::from_secs(120),
        || async { everything_healthy(&client).await.then_some(()) },
    )
    .await;

    // A second operator with a 1 s resync re-reconciles everything; nobody writes.
    operator.stop().await;
    let writes_before = cluster.server.requests().mutating_by_user_agent(USER_AGENT);
    let resyncing = cluster.start_operator(Duration::from_secs(1));
    let reads = || {
        cluster
            .server
            .requests()
            .count_matching(|e| !e.is_mutating() && e.user_agent_starts_with(USER_AGENT))
    };
    let start_reads = reads();
    // Wait until the new operator listed and watched everything (its caches are full) and a few
    // resync periods passed; its watch requests are counted as reads.
    eventually(
        "the second operator to start watching",
        Duration::from_secs(30),
        || async { (reads() >= start_reads + 17).then_some(()) },
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    eventually("five resync periods", Duration::from_secs(10), || async {
        (tokio::time::Instant::now() >= deadline).then_some(())
    })
    .await;
    let writes_after = cluster.server.requests().mutating_by_user_agent(USER_AGENT);
    let written: Vec<String> = cluster
        .server
        .requests()
        .entries()
        .iter()
        .filter(|e| e.is_mutating() && e.user_agent_starts_with(USER_AGENT))
        .skip(writes_before)
        .map(|e| format!("{} {} {:?}", e.verb, e.qualified_resource(), e.name))
        .collect();
    assert_eq!(
        writes_after, writes_before,
        "writes at steady state: {written:#?}"
    );

    // A manual edit of a Cell is reverted; a foreign label on a Deployment survives.
    let cells: Api<Cell> = Api::namespaced(client.clone(), NAMESPACE);
    let cell_name = "minimal-zone-a-96c88ae0";
    cells
        .patch(
            cell_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"multigateway": {"replicas": 4}}})),
        )
        .await
        .expect("a user edit");
    eventually(
        "the Cell edit to be reverted",
        Duration::from_secs(30),
        || async {
            let cell = cells.get(cell_name).await.ok()?;
            (cell.spec.multigateway.replicas == Some(1)).then_some(())
        },
    )
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    deployments
        .patch(
            "minimal-multiadmin",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"labels": {"team": "payments"}}, "spec": {"replicas": 3}}),
            ),
        )
        .await
        .expect("a user edit");
    eventually(
        "the Deployment edit to be reverted",
        Duration::from_secs(30),
        || async {
            let deployment = deployments.get("minimal-multiadmin").await.ok()?;
            let replicas = deployment.spec.as_ref()?.replicas;
            (replicas == Some(1)).then_some(deployment)
        },
    )
    .await;
    let deployment = deployments.get("minimal-multiadmin").await.expect("a get");
    assert_eq!(
        deployment.labels().get("team").map(String::as_str),
        Some("payments"),
        "a foreign label survives"
    );
    resyncing.stop().await;
    cluster.server.shutdown().await;
}
