//! The upstream end-to-end scenarios of spec-controllers.md §14.1 that need no running multigres
//! process, against the running operator: stateless scaling (multiadmin 1→2, gateways 1→5→1),
//! log levels reaching every container, PDBs and the multiadmin-web Service, and the CRD's
//! append-only rules refusing to remove a cell or a pool.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ListParams, Patch, PatchParams};
use multigres_api::v1alpha1::{MultigresCluster, Phase};
use serde_json::{Value, json};
use support::cluster::{self as cluster_support, Cluster, eventually};

const NAMESPACE: &str = "default";
const LONG: Duration = Duration::from_secs(300);

/// Go's `test/e2e/fixtures/base.yaml` with the log levels of `log-levels.yaml` and a second
/// pool and cell for the rejection scenarios.
fn base() -> Value {
    json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": "MultigresCluster",
        "metadata": {"name": "base", "namespace": NAMESPACE},
        "spec": {
            "logLevels": {"pgctld": "debug", "multipooler": "warn", "multiorch": "debug",
                          "multiadmin": "warn", "multigateway": "debug"},
            "cells": [{"name": "zone-a"}, {"name": "zone-b"}],
            "databases": [{"name": "postgres", "default": true, "tablegroups": [{
                "name": "default", "default": true, "shards": [{"name": "0-inf", "spec": {
                    "multiorch": {"replicas": 1},
                    "pools": {
                        "default": {"type": "readWrite", "cells": ["zone-a"], "replicasPerCell": 1,
                                    "storage": {"size": "1Gi"}},
                        "extra": {"type": "readWrite", "cells": ["zone-b"], "replicasPerCell": 1,
                                  "storage": {"size": "1Gi"}}
                    }
                }}]
            }]}]
        }
    })
}

async fn ready_replicas(client: &kube::Client, component: &str) -> Vec<i32> {
    let mut ready: Vec<i32> = Api::<Deployment>::namespaced(client.clone(), NAMESPACE)
        .list(&ListParams::default().labels(&format!(
            "app.kubernetes.io/instance=base,app.kubernetes.io/component={component}"
        )))
        .await
        .map(|list| {
            list.items
                .iter()
                .map(|d| {
                    d.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0)
                })
                .collect()
        })
        .unwrap_or_default();
    ready.sort();
    ready
}

async fn merge(client: &kube::Client, patch: Value) -> Result<(), kube::Error> {
    Api::<MultigresCluster>::namespaced(client.clone(), NAMESPACE)
        .patch("base", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_upstream_scenarios_without_a_data_plane() {
    if !cluster_support::etcd_available("scenarios") {
        return;
    }
    let cluster = Cluster::start(&["zone-a"]).await;
    let client = cluster.client.clone();
    let operator = cluster.start_operator(Duration::from_secs(36_000));
    cluster.apply_value(&base()).await;
    eventually("base to be Healthy", LONG, || async {
        let phase = Api::<MultigresCluster>::namespaced(client.clone(), NAMESPACE)
            .get("base")
            .await
            .ok()?
            .status?
            .phase;
        (phase == Some(Phase::Healthy)).then_some(())
    })
    .await;

    // LogLevels: every multipooler/multiorch/multiadmin/multigateway container has its level.
    let deployments = Api::<Deployment>::namespaced(client.clone(), NAMESPACE)
        .list(&ListParams::default().labels("app.kubernetes.io/instance=base"))
        .await
        .expect("a list");
    let pods = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client.clone(), NAMESPACE)
        .list(&ListParams::default().labels("app.kubernetes.io/component=shard-pool"))
        .await
        .expect("a list");
    let mut containers: Vec<k8s_openapi::api::core::v1::Container> = Vec::new();
    for deployment in &deployments.items {
        if let Some(spec) = deployment
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
        {
            containers.extend(spec.containers.iter().cloned());
        }
    }
    for pod in &pods.items {
        if let Some(spec) = &pod.spec {
            containers.extend(spec.containers.iter().cloned());
            containers.extend(spec.init_containers.iter().flatten().cloned());
        }
    }
    let expected = [
        ("multipooler", "warn"),
        ("multiorch", "debug"),
        ("multiadmin", "warn"),
        ("multigateway", "debug"),
        ("postgres", "debug"),
    ];
    for (name, level) in expected {
        let matching: Vec<_> = containers.iter().filter(|c| c.name == name).collect();
        assert!(!matching.is_empty(), "a {name} container exists");
        for container in matching {
            let args = container.args.clone().unwrap_or_default();
            let flag = format!("--log-level={level}");
            let has = args.contains(&flag)
                || args
                    .windows(2)
                    .any(|pair| pair[0] == "--log-level" && pair[1] == level);
            assert!(has, "{name} runs with {flag}: {args:?}");
        }
    }

    // PDBs have matchLabels and maxUnavailable; multiadmin-web has its Service on 18100.
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), NAMESPACE)
        .list(&ListParams::default().labels("app.kubernetes.io/instance=base"))
        .await
        .expect("a list");
    assert_eq!(pdbs.items.len(), 2, "one PDB per pool and cell");
    for pdb in &pdbs.items {
        let spec = pdb.spec.as_ref().expect("a spec");
        assert!(spec.max_unavailable.is_some());
        assert!(
            spec.selector
                .as_ref()
                .and_then(|s| s.match_labels.as_ref())
                .is_some_and(|m| !m.is_empty())
        );
    }
    let web = Api::<Service>::namespaced(client.clone(), NAMESPACE)
        .get("base-multiadmin-web")
        .await
        .expect("the multiadmin-web Service");
    let port = &web.spec.expect("a spec").ports.expect("ports")[0];
    assert_eq!((port.name.as_deref(), port.port), (Some("http"), 18100));

    // Stateless scaling: multiadmin 1 → 2; gateways 1 → 5 → 1.
    assert_eq!(ready_replicas(&client, "multiadmin").await, vec![1]);
    merge(
        &client,
        json!({"spec": {"multiadmin": {"spec": {"replicas": 2}}}}),
    )
    .await
    .expect("multiadmin scales");
    eventually("two multiadmin replicas", LONG, || async {
        (ready_replicas(&client, "multiadmin").await == vec![2]).then_some(())
    })
    .await;
    let mut cells = base()["spec"]["cells"].clone();
    for replicas in [5, 1] {
        cells[0]["spec"] = json!({"multigateway": {"replicas": replicas}});
        merge(&client, json!({"spec": {"cells": cells}}))
            .await
            .expect("the gateway scales");
        eventually(
            &format!("{replicas} gateway replicas in zone-a"),
            LONG,
            || async {
                ready_replicas(&client, "multigateway")
                    .await
                    .contains(&replicas)
                    .then_some(())
            },
        )
        .await;
    }

    // The CRD refuses to remove a cell or a pool ("cannot be removed", Append-Only).
    let refused = merge(&client, json!({"spec": {"cells": [cells[0].clone()]}}))
        .await
        .expect_err("a cell cannot be removed");
    assert!(
        refused.to_string().contains("cannot be removed"),
        "{refused}"
    );
    let mut databases = base()["spec"]["databases"].clone();
    databases[0]["tablegroups"][0]["shards"][0]["spec"]["pools"]
        .as_object_mut()
        .expect("pools")
        .remove("extra");
    let refused = merge(&client, json!({"spec": {"databases": databases}}))
        .await
        .expect_err("a pool cannot be removed");
    assert!(
        refused.to_string().contains("cannot be removed"),
        "{refused}"
    );

    operator.stop().await;
    cluster.server.shutdown().await;
}
