//! The tree of a converged cluster, of one with a crash-looping pod, and of an invalid one,
//! rendered as plain lines (what `status` prints to a pipe) and as progress lines.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::topology::records::{ComponentType, Id, MultiPooler, PoolerType};

fn from<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a valid fixture")
}

fn labels(component: &str, extra: &[(&str, &str)]) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("app.kubernetes.io/instance".into(), "shop".into());
    map.insert("app.kubernetes.io/component".into(), component.into());
    for (k, v) in extra {
        map.insert((*k).into(), (*v).into());
    }
    Value::Object(map)
}

fn ready_condition(ready: bool) -> Value {
    json!([{"type": "Ready", "status": if ready { "True" } else { "False" }}])
}

fn pod(
    name: &str,
    labels: Value,
    owner: Option<(&str, &str)>,
    ready: bool,
    extra: Value,
) -> k8s_openapi::api::core::v1::Pod {
    let mut pod = json!({
        "metadata": {"name": name, "namespace": "prod", "labels": labels,
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": "Running", "conditions": ready_condition(ready),
                   "containerStatuses": [{"name": "main", "image": "i", "imageID": "", "ready": ready, "restartCount": 0}]}
    });
    if let Some((kind, owner)) = owner {
        pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": owner, "uid": "u", "controller": true}]);
    }
    json_patch::merge(&mut pod, &extra);
    from(pod)
}

fn status_phase(phase: &str, extra: Value) -> Value {
    let mut status = json!({"observedGeneration": 1, "phase": phase});
    json_patch::merge(&mut status, &extra);
    status
}

fn converged() -> ClusterObjects {
    let shard_labels = |extra: &[(&str, &str)]| {
        let mut all = vec![
            ("multigres.com/database", "orders"),
            ("multigres.com/tablegroup", "main"),
            ("multigres.com/shard", "0-inf"),
        ];
        all.extend_from_slice(extra);
        labels("shard-pool", &all)
    };
    let pool_pod = |index: u32, ready: bool, extra: Value| {
        pod(
            &format!("shop-orders-main-0-inf-pool-rw-east-{index}"),
            shard_labels(&[("multigres.com/pool", "rw"), ("multigres.com/cell", "east")]),
            None,
            ready,
            // Each index has its own hash, as the operator's pods do (the pod names its index).
            json_patch_merge(
                json!({"metadata": {"annotations": {
                    "multigres.com/spec-hash": format!("aaaa{index}{index}{index}{index}")}}}),
                extra,
            ),
        )
    };
    ClusterObjects {
        cluster: from(json!({
            "apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
            "metadata": {"name": "shop", "namespace": "prod", "generation": 1},
            "spec": {"cells": [{"name": "east"}]},
            "status": status_phase("Healthy", json!({"conditions": [
                {"type": "Available", "status": "True", "reason": "AggregatedStatus", "message": "",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}]}))
        })),
        topo_servers: vec![from(json!({
            "metadata": {"name": "shop-global-topo", "namespace": "prod", "generation": 1,
                         "labels": labels("global-topo", &[])},
            "spec": {},
            "status": status_phase("Healthy", json!({}))
        }))],
        cells: vec![from(json!({
            "metadata": {"name": "shop-east-1234", "namespace": "prod", "generation": 1,
                         "labels": labels("cell", &[])},
            "spec": {"name": "east", "globalTopoServer": {"address": "a", "rootPath": "/r", "implementation": "etcd"}, "multigateway": {}, "images": {"multigateway": "i"}},
            "status": status_phase("Healthy", json!({"gatewayReplicas": 1, "gatewayReadyReplicas": 1}))
        }))],
        table_groups: vec![from(json!({
            "metadata": {"name": "shop-orders-main-1234", "namespace": "prod", "generation": 1,
                         "labels": labels("tablegroup", &[])},
            "spec": {"databaseName": "orders", "tableGroupName": "main", "globalTopoServer": {"address": "a", "rootPath": "/r", "implementation": "etcd"},
                     "images": {"multiorch": "i", "multipooler": "i", "postgres": "i"}, "shards": []},
            "status": status_phase("Healthy", json!({"readyShards": 1, "totalShards": 1}))
        }))],
        shards: vec![from(json!({
            "metadata": {"name": "shop-orders-main-0-inf-1234", "namespace": "prod", "generation": 1,
                         "labels": labels("shard", &[])},
            "spec": {"databaseName": "orders", "tableGroupName": "main", "shardName": "0-inf",
                     "globalTopoServer": {"address": "a", "rootPath": "/r", "implementation": "etcd"}, "images": {"multiorch": "i", "multipooler": "i", "postgres": "i"}, "multiorch": {},
                     "pools": {"rw": {"cells": ["east"], "replicasPerCell": 2, "storage": {},
                                      "postgres": {}, "multipooler": {}}}},
            // The operator's last view; the tree shows the topology's, not this.
            "status": status_phase("Healthy", json!({
                "podRoles": {"shop-orders-main-0-inf-pool-rw-east-0": "REPLICA"}}))
        }))],
        deployments: vec![from(json!({
            "metadata": {"name": "shop-multiadmin", "namespace": "prod",
                         "labels": labels("multiadmin", &[])},
            "spec": {"replicas": 1, "selector": {}, "template": {}}
        }))],
        stateful_sets: vec![from(json!({
            "metadata": {"name": "shop-global-topo", "namespace": "prod",
                         "labels": labels("toposerver", &[]),
                         "ownerReferences": [{"apiVersion": "multigres.com/v1alpha1", "kind": "TopoServer",
                                              "name": "shop-global-topo", "uid": "t", "controller": true}]},
            "spec": {"selector": {}, "template": {}, "serviceName": "x"}
        }))],
        pods: vec![
            pod(
                "shop-global-topo-0",
                labels("toposerver", &[]),
                Some(("StatefulSet", "shop-global-topo")),
                true,
                json!({}),
            ),
            pod(
                "shop-multiadmin-5d8f-abcde",
                labels("multiadmin", &[]),
                None,
                true,
                json!({}),
            ),
            pod(
                "shop-multigateway-east-77-xyz",
                labels("multigateway", &[("multigres.com/cell", "east")]),
                None,
                true,
                json!({}),
            ),
            pod(
                "shop-orders-main-0-inf-multiorch-east-1-q",
                shard_labels(&[("multigres.com/cell", "east")]).tap_component("multiorch"),
                None,
                true,
                json!({}),
            ),
            pool_pod(1, true, json!({})),
            pool_pod(0, true, json!({})),
        ],
        events: vec![],
        poolers: Some(vec![
            // Registered with the pod's address (kubesim's real data plane): found by the
            // service ID the operator gave the pod.
            pooler(
                &multigres_api::naming::multipooler_service_id(
                    "shop-orders-main-0-inf-pool-rw-east-0",
                ),
                "127.0.10.1",
                PoolerType::Primary,
            ),
            // Registered with its FQDN, as in a cluster.
            pooler(
                "p-other",
                "shop-orders-main-0-inf-pool-rw-east-1.shop-orders-main-0-inf-pool-rw-headless.prod.svc.cluster.local",
                PoolerType::Replica,
            ),
        ]),
    }
}

fn pooler(service_id: &str, hostname: &str, role: PoolerType) -> MultiPooler {
    MultiPooler {
        id: Some(Id {
            component: ComponentType::Multipooler as i32,
            cell: "east".into(),
            name: service_id.into(),
        }),
        database: "orders".into(),
        table_group: "main".into(),
        shard: "0-inf".into(),
        r#type: role as i32,
        hostname: hostname.into(),
        ..MultiPooler::default()
    }
}

fn json_patch_merge(mut base: Value, patch: Value) -> Value {
    json_patch::merge(&mut base, &patch);
    base
}

trait TapComponent {
    fn tap_component(self, component: &str) -> Value;
}

impl TapComponent for Value {
    fn tap_component(mut self, component: &str) -> Value {
        self["app.kubernetes.io/component"] = component.into();
        self
    }
}

fn plain(objects: &ClusterObjects) -> String {
    tree_lines(&build_tree(objects), Style::Plain).join("\n")
}

#[test]
fn a_converged_cluster_is_all_ticks() {
    let objects = converged();
    assert_eq!(
        plain(&objects),
        "\
✓ MultigresCluster prod/shop: Healthy
├── ✓ TopoServer shop-global-topo: Healthy, etcd 1/1 ready
│   └── ✓ pod shop-global-topo-0: Ready
├── ✓ multiadmin shop-multiadmin: 1/1 ready
│   └── ✓ pod shop-multiadmin-5d8f-abcde: Ready
├── ✓ Cell east: Healthy, multigateway 1/1 ready
│   └── ✓ pod shop-multigateway-east-77-xyz: Ready
└── ✓ TableGroup orders/main: Healthy, shards 1/1 ready
    └── ✓ Shard 0-inf: Healthy
        ├── ✓ multiorch east: 1/1 ready
        │   └── ✓ pod shop-orders-main-0-inf-multiorch-east-1-q: Ready
        └── ✓ pool rw in east: 2/2 ready
            ├── ✓ pod shop-orders-main-0-inf-pool-rw-east-0: Ready, role PRIMARY, index 0, spec-hash aaaa0000
            └── ✓ pod shop-orders-main-0-inf-pool-rw-east-1: Ready, role REPLICA, index 1, spec-hash aaaa1111"
    );
    assert!(build_tree(&objects).converged());
}

#[test]
fn a_crash_looping_pod_fails_its_pool_and_shows_in_progress_lines() {
    let before = converged();
    let mut objects = before.clone();
    let crashing = objects
        .pods
        .iter_mut()
        .find(|p| p.metadata.name.as_deref() == Some("shop-orders-main-0-inf-pool-rw-east-1"))
        .expect("the pod");
    *crashing = from(json_patch_merge(
        serde_json::to_value(&*crashing).expect("json"),
        json!({
            "metadata": {"annotations": {"multigres.com/spec-hash": "bbbb2222"},
                         "creationTimestamp": "2026-01-02T00:00:00Z"},
            "status": {"conditions": ready_condition(false),
                "containerStatuses": [{"name": "postgres", "image": "i", "imageID": "", "ready": false,
                    "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
        }),
    ));
    // Another index has its own spec hash (each desired pod names its index), so a different
    // hash marks nothing; the drain the operator started on the primary does show.
    let draining = objects
        .pods
        .iter_mut()
        .find(|p| p.metadata.name.as_deref() == Some("shop-orders-main-0-inf-pool-rw-east-0"))
        .expect("the pod");
    *draining = from(json_patch_merge(
        serde_json::to_value(&*draining).expect("json"),
        json!({"metadata": {"annotations": {"drain.multigres.com/state": "requested"}}}),
    ));
    let shard = &mut objects.shards[0];
    shard.status.as_mut().expect("a status").phase = Some(multigres_api::v1alpha1::Phase::Degraded);
    shard.status.as_mut().expect("a status").conditions = vec![from(json!({
        "type": "Available", "status": "False", "reason": "NotAllPodsReady",
        "message": "1/2 pods ready", "lastTransitionTime": "2026-01-02T00:00:00Z"}))];
    objects.events = vec![
        from(json!({
            "metadata": {"name": "e1", "namespace": "prod"},
            "eventTime": "2026-01-02T00:00:01.000000Z",
            "type": "Warning", "reason": "BackOff", "note": "Back-off restarting failed container",
            "regarding": {"kind": "Pod", "name": "shop-orders-main-0-inf-pool-rw-east-1"},
            "series": {"count": 4, "lastObservedTime": "2026-01-02T00:00:09.000000Z"}
        })),
        from(json!({
            "metadata": {"name": "e2", "namespace": "prod"},
            "eventTime": "2026-01-02T00:00:01.000000Z",
            "type": "Warning", "reason": "Unrelated", "note": "another cluster's pod",
            "regarding": {"kind": "Pod", "name": "other-0"}
        })),
    ];
    let tree = build_tree(&objects);
    let lines = tree_lines(&tree, Style::Plain);
    assert_eq!(
        lines[7..].join("\n"),
        "\
└── ✓ TableGroup orders/main: Healthy, shards 1/1 ready
    └── ✗ Shard 0-inf: Degraded
            ! Available=False (NotAllPodsReady): 1/2 pods ready
        ├── ✓ multiorch east: 1/1 ready
        │   └── ✓ pod shop-orders-main-0-inf-multiorch-east-1-q: Ready
        └── ✗ pool rw in east: 1/2 ready
            ├── ✓ pod shop-orders-main-0-inf-pool-rw-east-0: Ready, role PRIMARY, index 0, spec-hash aaaa0000, drain requested
            └── ✗ pod shop-orders-main-0-inf-pool-rw-east-1: CrashLoopBackOff, role REPLICA, 4 restarts, index 1, spec-hash bbbb2222
Warning events:
  Pod/shop-orders-main-0-inf-pool-rw-east-1 BackOff (x4): Back-off restarting failed container"
    );
    assert_eq!(
        progress_lines(Some(&build_tree(&before)), &tree),
        [
            "TableGroup orders/main / Shard 0-inf: Degraded",
            "  ! Available=False (NotAllPodsReady): 1/2 pods ready",
            "TableGroup orders/main / Shard 0-inf / pool rw in east: 1/2 ready",
            // A pod with a role is listed when its line changes (here: its drain started).
            "TableGroup orders/main / Shard 0-inf / pool rw in east / pod shop-orders-main-0-inf-pool-rw-east-0: Ready, role PRIMARY, index 0, spec-hash aaaa0000, drain requested",
            "TableGroup orders/main / Shard 0-inf / pool rw in east / pod shop-orders-main-0-inf-pool-rw-east-1: CrashLoopBackOff, role REPLICA, 4 restarts, index 1, spec-hash bbbb2222",
            "Warning Pod/shop-orders-main-0-inf-pool-rw-east-1 BackOff (x4): Back-off restarting failed container",
        ]
    );
    // Nothing changed, nothing printed.
    assert_eq!(progress_lines(Some(&tree), &tree), Vec::<String>::new());
}

#[test]
fn an_invalid_cluster_says_so_with_the_reason() {
    let objects = ClusterObjects {
        cluster: from(json!({
            "apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
            "metadata": {"name": "shop", "namespace": "prod", "generation": 2},
            "spec": {"cells": [{"name": "east"}]},
            "status": {"observedGeneration": 1, "conditions": [{
                "type": "Available", "status": "False", "reason": "InvalidSpec",
                "message": "spec.cells[0].name \"East\": must be a DNS-1123 label",
                "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        })),
        events: vec![from(json!({
            "metadata": {"name": "e1", "namespace": "prod"},
            "eventTime": "2026-01-02T00:00:01.000000Z",
            "type": "Warning", "reason": "ConfigError", "note": "spec.cells[0].name \"East\": must be a DNS-1123 label",
            "regarding": {"kind": "MultigresCluster", "name": "shop"}
        }))],
        ..ClusterObjects::default()
    };
    let tree = build_tree(&objects);
    assert!(!tree.converged());
    assert_eq!(
        tree_lines(&tree, Style::Plain),
        [
            "✗ MultigresCluster prod/shop: Invalid spec",
            "    ! Available=False (InvalidSpec): spec.cells[0].name \"East\": must be a DNS-1123 label",
            "Warning events:",
            "  MultigresCluster/shop ConfigError: spec.cells[0].name \"East\": must be a DNS-1123 label",
        ]
    );
    assert_eq!(
        progress_lines(None, &tree),
        [
            "MultigresCluster prod/shop: Invalid spec",
            "  ! Available=False (InvalidSpec): spec.cells[0].name \"East\": must be a DNS-1123 label",
            "Warning MultigresCluster/shop ConfigError: spec.cells[0].name \"East\": must be a DNS-1123 label",
        ]
    );
}

#[test]
fn an_edit_not_yet_observed_is_not_converged() {
    let mut objects = converged();
    objects.cluster.metadata.generation = Some(2);
    let tree = build_tree(&objects);
    assert!(!tree.converged());
    assert_eq!(tree.root.summary, "Healthy (generation 2 not observed yet)");
}

#[test]
fn a_terminal_frame_replaces_the_previous_one() {
    let lines = vec!["a".to_owned(), "b".to_owned()];
    assert_eq!(redraw(0, &lines), "\x1b[J\x1b[?7la\nb\n\x1b[?7h");
    assert_eq!(redraw(3, &lines), "\x1b[3F\x1b[J\x1b[?7la\nb\n\x1b[?7h");
}

#[test]
fn roles_come_from_the_topology_or_are_not_shown() {
    let roles = |objects: &ClusterObjects| -> Vec<String> {
        tree_lines(&build_tree(objects), Style::Plain)
            .into_iter()
            .filter(|line| line.contains("pool-rw-east-"))
            .collect()
    };
    // The topology could not be reached: no role, not the Shard's older podRoles.
    let mut objects = converged();
    objects.poolers = None;
    assert_eq!(
        roles(&objects),
        [
            "            ├── ✓ pod shop-orders-main-0-inf-pool-rw-east-0: Ready, index 0, spec-hash aaaa0000",
            "            └── ✓ pod shop-orders-main-0-inf-pool-rw-east-1: Ready, index 1, spec-hash aaaa1111",
        ]
    );
    // Records of another shard, another cell or no known pod give no role.
    let mut objects = converged();
    let records = objects.poolers.as_mut().expect("records");
    records[0].shard = "inf-0".into();
    records[1].id.as_mut().expect("an id").cell = "west".into();
    records.push(pooler("p-gone", "127.0.10.9", PoolerType::Primary));
    assert!(roles(&objects).iter().all(|line| !line.contains("role")));
    // After a failover the dead primary's record still says PRIMARY (spec-local-data-plane.md
    // §2): the claim of the pod that is not Ready is shown as stale.
    let mut objects = converged();
    objects.poolers.as_mut().expect("records")[1].r#type = PoolerType::Primary as i32;
    let old = objects
        .pods
        .iter_mut()
        .find(|p| p.metadata.name.as_deref() == Some("shop-orders-main-0-inf-pool-rw-east-0"))
        .expect("pod 0");
    old.status.as_mut().expect("a status").conditions = Some(from(ready_condition(false)));
    assert_eq!(
        roles(&objects),
        [
            "            ├── … pod shop-orders-main-0-inf-pool-rw-east-0: Running, not ready, role PRIMARY (stale record), index 0, spec-hash aaaa0000",
            "            └── ✓ pod shop-orders-main-0-inf-pool-rw-east-1: Ready, role PRIMARY, index 1, spec-hash aaaa1111",
        ]
    );
}

#[test]
fn a_failover_shows_as_the_pods_new_roles_in_progress_lines() {
    let before = converged();
    let mut after = before.clone();
    let records = after.poolers.as_mut().expect("records");
    records[0].r#type = PoolerType::Replica as i32;
    records[1].r#type = PoolerType::Primary as i32;
    assert_eq!(
        progress_lines(Some(&build_tree(&before)), &build_tree(&after)),
        [
            "TableGroup orders/main / Shard 0-inf / pool rw in east / pod shop-orders-main-0-inf-pool-rw-east-0: Ready, role REPLICA, index 0, spec-hash aaaa0000",
            "TableGroup orders/main / Shard 0-inf / pool rw in east / pod shop-orders-main-0-inf-pool-rw-east-1: Ready, role PRIMARY, index 1, spec-hash aaaa1111",
        ]
    );
    // Without roles (a simulated data plane) healthy pods are not listed.
    let mut quiet = converged();
    quiet.poolers = None;
    let lines = progress_lines(None, &build_tree(&quiet));
    assert!(
        lines.iter().all(|line| !line.contains(" / pod ")),
        "{lines:#?}"
    );
}
