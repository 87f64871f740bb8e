//! What the running operator does when the world changes (spec-controllers.md §14.2): a template
//! edit reaches every cluster that uses it; a pool scaled up gets its new index and, scaled back
//! down, drains and removes the extra pod while its data PVC follows the pool's `whenScaled`
//! policy; deleting a cluster removes everything it created, its data PVCs kept or deleted as
//! `whenDeleted` says.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use multigres_api::v1alpha1::{CellTemplate, MultigresCluster, Phase, Shard};
use serde_json::json;
use support::cluster::{self as cluster_support, Cluster, eventually};

const NAMESPACE: &str = "default";
const LONG: Duration = Duration::from_secs(300);

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

fn instance(cluster: &str) -> ListParams {
    ListParams::default().labels(&format!("app.kubernetes.io/instance={cluster}"))
}

async fn gateway_replicas(client: &kube::Client, cluster: &str) -> Vec<i32> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let mut replicas: Vec<i32> = deployments
        .list(&ListParams::default().labels(&format!(
            "app.kubernetes.io/instance={cluster},app.kubernetes.io/component=multigateway"
        )))
        .await
        .map(|list| {
            list.items
                .iter()
                .filter_map(|d| d.spec.as_ref().and_then(|s| s.replicas))
                .collect()
        })
        .unwrap_or_default();
    replicas.sort();
    replicas
}

async fn names<K>(api: &Api<K>, params: &ListParams) -> Vec<String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut names: Vec<String> = api
        .list(params)
        .await
        .map(|list| list.items.iter().map(ResourceExt::name_any).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn templates_scaling_and_deletion_behave_as_the_go_operator_with_our_fixes() {
    if !cluster_support::etcd_available("behaviour") {
        return;
    }
    let cluster = Cluster::start(&["us-east-1a", "us-east-1b", "zone-a"]).await;
    let client = cluster.client.clone();
    let operator = cluster.start_operator(Duration::from_secs(36_000));
    for file in [
        "templates/core.yaml",
        "templates/cell.yaml",
        "templates/shard.yaml",
    ] {
        cluster.apply_file(&cluster_support::sample(file)).await;
    }
    // Two clusters on the same templates, a cluster that retains its volumes, one that does not.
    let templated = std::fs::read_to_string(cluster_support::sample("templated-cluster.yaml"))
        .expect("the sample");
    let mut second: serde_json::Value = serde_saphyr::from_str(&templated).expect("YAML");
    second["metadata"]["name"] = json!("templated-two");
    cluster
        .apply_file(&cluster_support::sample("templated-cluster.yaml"))
        .await;
    cluster.apply_value(&second).await;
    cluster
        .apply_file(&cluster_support::sample("no-templates.yaml"))
        .await;
    cluster
        .apply_file(&cluster_support::sample("minimal.yaml"))
        .await;
    for name in ["templated", "templated-two", "inline", "minimal"] {
        eventually(&format!("{name} to be Healthy"), LONG, || async {
            healthy(&client, name).await.then_some(())
        })
        .await;
    }

    // A CellTemplate edit reaches both clusters that use it.
    assert_eq!(gateway_replicas(&client, "templated").await, vec![2, 2]);
    Api::<CellTemplate>::namespaced(client.clone(), NAMESPACE)
        .patch(
            "standard-cell",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"multigateway": {"replicas": 3}}})),
        )
        .await
        .expect("the template is edited");
    for name in ["templated", "templated-two"] {
        eventually(
            &format!("{name}'s gateways to follow the template"),
            LONG,
            || async { (gateway_replicas(&client, name).await == vec![3, 3]).then_some(()) },
        )
        .await;
    }

    // Scale the inline cluster's pool from 3 to 4 pods per cell: index 3 appears.
    let clusters: Api<MultigresCluster> = Api::namespaced(client.clone(), NAMESPACE);
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NAMESPACE);
    let pool =
        ListParams::default().labels("app.kubernetes.io/instance=inline,multigres.com/pool=main");
    let set_replicas = |replicas: i32| {
        let clusters = clusters.clone();
        async move {
            let mut inline = clusters.get("inline").await.expect("the cluster");
            inline.metadata.managed_fields = None;
            let shards = &mut inline.spec.databases[0].tablegroups[0].shards[0];
            let spec = shards.spec.as_mut().expect("an inline shard spec");
            let main = spec
                .pools
                .iter_mut()
                .find(|(name, _)| name.as_str() == "main")
                .expect("pool main")
                .1;
            main.replicas_per_cell = Some(replicas);
            let body = json!({"spec": {"databases": serde_json::to_value(&inline.spec.databases).expect("json")}});
            clusters
                .patch("inline", &PatchParams::default(), &Patch::Merge(body))
                .await
                .expect("the cluster is scaled");
        }
    };
    set_replicas(4).await;
    let fourth = eventually("the fourth pool pod", LONG, || async {
        let found = names(&pods, &pool).await;
        (found.len() == 4).then(|| {
            found
                .into_iter()
                .find(|n| n.ends_with("-3"))
                .expect("index 3")
        })
    })
    .await;
    eventually("the scaled cluster to be Healthy again", LONG, || async {
        let shard = Api::<Shard>::namespaced(client.clone(), NAMESPACE)
            .list(&instance("inline"))
            .await
            .ok()?
            .items
            .pop()?;
        (shard.status?.ready_replicas == 4).then_some(())
    })
    .await;

    // Back to 3: the extra pod is drained and deleted; its PVC stays (the shard says
    // `whenScaled: Retain`, which the pool inherits: fix 4).
    set_replicas(3).await;
    eventually("the extra pod to be drained and removed", LONG, || async {
        (!names(&pods, &pool).await.contains(&fourth)).then_some(())
    })
    .await;
    assert!(
        names(&claims, &pool)
            .await
            .contains(&format!("data-{fourth}")),
        "a Retain volume survives the scale-down"
    );

    // Deleting clusters: everything they created goes, their data volumes as their policy says.
    for name in ["inline", "minimal"] {
        clusters
            .delete(name, &DeleteParams::background())
            .await
            .expect("the cluster is deleted");
    }
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    for name in ["inline", "minimal"] {
        eventually(
            &format!("{name}'s objects to be collected"),
            LONG,
            || async {
                let left = names(&services, &instance(name)).await.len()
                    + names(&deployments, &instance(name)).await.len()
                    + names(&pods, &instance(name)).await.len();
                (left == 0).then_some(())
            },
        )
        .await;
    }
    let retained = names(&claims, &instance("inline")).await;
    assert_eq!(
        retained
            .iter()
            .filter(|n| n.starts_with("data-inline-postgres"))
            .count(),
        4,
        "whenDeleted: Retain keeps every data volume: {retained:?}"
    );
    eventually("minimal's data volumes to be deleted", LONG, || async {
        names(&claims, &instance("minimal"))
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(healthy(&client, "templated").await);

    // The same cluster applied again under the same name is a new cluster (a new uid, its
    // generation back at 1): it converges again without waiting for a resync (10 h here).
    let clusters: Api<MultigresCluster> = Api::namespaced(client.clone(), NAMESPACE);
    eventually("minimal to be gone", LONG, || async {
        matches!(clusters.get_opt("minimal").await, Ok(None)).then_some(())
    })
    .await;
    cluster
        .apply_file(&cluster_support::sample("minimal.yaml"))
        .await;
    eventually("minimal applied again to be Healthy", LONG, || async {
        healthy(&client, "minimal").await.then_some(())
    })
    .await;
    operator.stop().await;
    cluster.server.shutdown().await;
}
