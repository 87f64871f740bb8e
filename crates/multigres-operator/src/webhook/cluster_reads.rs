//! What the webhooks read from the API server before deciding: the templates and the
//! MultigresClusters of a namespace, the nodes' labels and the StorageClasses (spec-api.md
//! §11.4). Uncached reads, as Go's webhook makes them, so a decision never rests on a stale
//! cache.
//!
//! The only I/O of the webhook handlers; the decisions themselves are in [`super::defaulting`]
//! and [`super::validation`]. A failed read becomes a denial carrying the API server's own
//! status (spec-api.md §11.1).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use multigres_api::resolver::NamespaceTemplates;
use multigres_api::v1alpha1::{CellTemplate, CoreTemplate, MultigresCluster, ShardTemplate};
use multigres_api::validation::{ClusterFacts, StorageClassFacts};
use serde::de::DeserializeOwned;

use super::review::Verdict;

/// A read the decision needed failed.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct ReadError {
    /// What was being read, in Go's words where Go has them.
    pub what: String,
    #[source]
    pub source: kube::Error,
}

impl ReadError {
    /// The answer: the API server's status when it refused the read (its code, reason and
    /// message, as Go returns it), a 500 otherwise.
    pub fn verdict(&self) -> Verdict {
        match &self.source {
            kube::Error::Api(status) => Verdict::Deny {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
                causes: Vec::new(),
                warnings: Vec::new(),
            },
            other => Verdict::internal(format!("{}: {other}", self.what)),
        }
    }
}

async fn list_all<K>(api: Api<K>, what: impl Fn() -> String) -> Result<Vec<K>, ReadError>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default())
        .await
        .map(|list| list.items)
        .map_err(|source| ReadError {
            what: what(),
            source,
        })
}

/// Every template of `namespace`.
pub async fn namespace_templates(
    client: &Client,
    namespace: &str,
) -> Result<NamespaceTemplates, ReadError> {
    let (core, cell, shard) = futures::try_join!(
        list_all(
            Api::<CoreTemplate>::namespaced(client.clone(), namespace),
            || { format!("failed to list CoreTemplates in namespace '{namespace}'") }
        ),
        list_all(
            Api::<CellTemplate>::namespaced(client.clone(), namespace),
            || { format!("failed to list CellTemplates in namespace '{namespace}'") }
        ),
        list_all(
            Api::<ShardTemplate>::namespaced(client.clone(), namespace),
            || format!("failed to list ShardTemplates in namespace '{namespace}'")
        ),
    )?;
    Ok(NamespaceTemplates::from_objects(core, cell, shard))
}

/// Every MultigresCluster of `namespace`, labelled by the controller or not (deliberate fix 5:
/// Go filters by the `multigres.com/uses-*-template` labels and so misses new clusters).
pub async fn namespace_clusters(
    client: &Client,
    namespace: &str,
) -> Result<Vec<MultigresCluster>, ReadError> {
    list_all(
        Api::<MultigresCluster>::namespaced(client.clone(), namespace),
        || "failed to list clusters for validation".to_owned(),
    )
    .await
}

/// The nodes' labels (`None` when they cannot be listed: Go then skips the zone and region
/// warnings) and the StorageClasses (a failed list is an error).
pub async fn cluster_facts(client: &Client) -> Result<ClusterFacts, ReadError> {
    let nodes = Api::<Node>::all(client.clone())
        .list_metadata(&ListParams::default())
        .await;
    let node_labels = nodes.ok().map(|list| {
        list.items
            .into_iter()
            .map(|node| node.metadata.labels.unwrap_or_default())
            .collect::<Vec<BTreeMap<String, String>>>()
    });
    let storage_classes = list_all(Api::<StorageClass>::all(client.clone()), || {
        "failed to check for default StorageClass".to_owned()
    })
    .await?
    .into_iter()
    .map(|class| StorageClassFacts {
        name: class.metadata.name.unwrap_or_default(),
        annotations: class.metadata.annotations.unwrap_or_default(),
    })
    .collect();
    Ok(ClusterFacts {
        node_labels,
        storage_classes,
    })
}
