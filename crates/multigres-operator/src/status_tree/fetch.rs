//! The reads behind the status tree: every MultigresCluster of a namespace (or one), and the
//! objects labelled with its instance, in one list per kind however many clusters there are.
//!
//! I/O only: no decisions; [`super::model::build_tree`] makes the tree.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use kube::{Client, Resource, ResourceExt};
use multigres_api::labels::LABEL_APP_INSTANCE;
use multigres_api::v1alpha1::{Cell, MultigresCluster, Shard, TableGroup, TopoServer};
use serde::de::DeserializeOwned;

use super::model::ClusterObjects;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("failed to list {kind} in namespace {namespace}")]
    List {
        kind: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "MultigresCluster {namespace}/{name} not found: {}",
        others_hint(namespace, others)
    )]
    NotFound {
        namespace: String,
        name: String,
        /// The clusters the namespace does hold, to name the fix.
        others: Vec<String>,
    },
}

fn others_hint(namespace: &str, others: &[String]) -> String {
    if others.is_empty() {
        format!(
            "namespace {namespace} holds no MultigresCluster (choose another namespace with \
             -n NAMESPACE)"
        )
    } else {
        format!(
            "namespace {namespace} holds only {} (choose another namespace with -n NAMESPACE)",
            others.join(", ")
        )
    }
}

async fn list<K>(client: &Client, namespace: &str, labelled: bool) -> Result<Vec<K>, FetchError>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let params = if labelled {
        ListParams::default().labels(LABEL_APP_INSTANCE)
    } else {
        ListParams::default()
    };
    api.list(&params)
        .await
        .map(|list| list.items)
        .map_err(|source| FetchError::List {
            kind: K::kind(&()).into_owned(),
            namespace: namespace.to_owned(),
            source,
        })
}

fn instance<K: Resource>(object: &K) -> Option<&str> {
    object
        .meta()
        .labels
        .as_ref()?
        .get(LABEL_APP_INSTANCE)
        .map(String::as_str)
}

fn of<K: Resource + Clone>(objects: &[K], cluster: &str) -> Vec<K> {
    objects
        .iter()
        .filter(|o| instance(*o) == Some(cluster))
        .cloned()
        .collect()
}

/// The objects of every MultigresCluster in `namespace` (only `name` when given), sorted by
/// cluster name. A missing named cluster is [`FetchError::NotFound`].
pub async fn fetch_clusters(
    client: &Client,
    namespace: &str,
    name: Option<&str>,
) -> Result<Vec<ClusterObjects>, FetchError> {
    let mut clusters: Vec<MultigresCluster> = list(client, namespace, false).await?;
    if let Some(name) = name {
        if !clusters.iter().any(|c| c.name_any() == name) {
            let mut others: Vec<String> = clusters.iter().map(ResourceExt::name_any).collect();
            others.sort();
            return Err(FetchError::NotFound {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                others,
            });
        }
        clusters.retain(|c| c.name_any() == name);
    }
    clusters.sort_by_key(|c| c.name_any());
    if clusters.is_empty() {
        return Ok(Vec::new());
    }
    let topo_servers: Vec<TopoServer> = list(client, namespace, true).await?;
    let cells: Vec<Cell> = list(client, namespace, true).await?;
    let table_groups: Vec<TableGroup> = list(client, namespace, true).await?;
    let shards: Vec<Shard> = list(client, namespace, true).await?;
    let deployments: Vec<Deployment> = list(client, namespace, true).await?;
    let stateful_sets: Vec<StatefulSet> = list(client, namespace, true).await?;
    let pods: Vec<Pod> = list(client, namespace, true).await?;
    let events: Vec<Event> = list(client, namespace, false).await?;
    // Events name their object, not its cluster: each tree keeps the ones about its objects.
    let mut by_cluster = BTreeMap::new();
    for cluster in clusters {
        let name = cluster.name_any();
        by_cluster.insert(
            name.clone(),
            ClusterObjects {
                topo_servers: of(&topo_servers, &name),
                cells: of(&cells, &name),
                table_groups: of(&table_groups, &name),
                shards: of(&shards, &name),
                deployments: of(&deployments, &name),
                stateful_sets: of(&stateful_sets, &name),
                pods: of(&pods, &name),
                events: events.clone(),
                // Filled by `super::topology::read_poolers` where the topology is reachable.
                poolers: None,
                cluster,
            },
        );
    }
    Ok(by_cluster.into_values().collect())
}
