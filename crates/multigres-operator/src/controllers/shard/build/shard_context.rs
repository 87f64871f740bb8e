//! What every Shard builder reads from the Shard custom resource besides its spec: its name,
//! namespace, owning cluster, labels, project reference and the controller ownerReference that
//! every child carries (spec-controllers.md §0 "Ownership chain", §1.2, §7.3).
//!
//! Place: built once per pass by [`super::build_shard_objects`] and handed to each builder, so the
//! raw CR is read in one place, for metadata only (style.md §2: builders take the resolved spec).
//! Must not: default or resolve any spec field; that is the resolver's and each builder's job.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use multigres_api::labels::{Labels, project_ref_annotation, resolve_project_ref};
use multigres_api::naming::{ClusterName, PoolParts, ShardParts};
use multigres_api::v1alpha1::{Shard, ShardSpec};

use super::BuildError;
use crate::controllers::cluster_label::owning_cluster;
use crate::controllers::owner_reference::controller_owner_reference;

/// The Shard's identity and metadata as its builders need them.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardContext<'a> {
    /// The resolved spec written by the TableGroup controller.
    pub spec: &'a ShardSpec,
    /// `metadata.name` of the Shard CR (hashed; names only the four `{shardCR}-…` objects).
    pub name: &'a str,
    /// Namespace of the Shard and of every object built for it.
    pub namespace: &'a str,
    /// The cluster named by the Shard's `multigres.com/cluster` label.
    pub cluster: ClusterName,
    /// The Shard CR's own labels, merged under the operator labels of several children.
    pub labels: Labels,
    /// `multigres.com/project-ref` for pod templates: the Shard's annotation, else the cluster.
    pub project_ref: String,
    /// The controller ownerReference naming this Shard.
    pub owner: OwnerReference,
}

impl<'a> ShardContext<'a> {
    /// Reads the metadata of `shard`; fails when it has no name or namespace, or no valid
    /// cluster label (Go would build names such as `-postgres-…` from an empty label).
    pub fn new(shard: &'a Shard) -> Result<Self, BuildError> {
        let name = shard
            .metadata
            .name
            .as_deref()
            .filter(|name| !name.is_empty())
            .ok_or(BuildError::MissingShardName)?;
        let namespace = shard
            .metadata
            .namespace
            .as_deref()
            .filter(|namespace| !namespace.is_empty())
            .ok_or_else(|| BuildError::MissingShardNamespace {
                shard: name.to_owned(),
            })?;
        let cluster = owning_cluster(shard).map_err(|source| BuildError::ShardClusterLabel {
            source: Box::new(source),
        })?;
        let project_ref =
            resolve_project_ref(project_ref_annotation(&shard.metadata), &cluster).to_owned();
        Ok(Self {
            spec: &shard.spec,
            name,
            namespace,
            labels: shard.metadata.labels.clone().unwrap_or_default(),
            project_ref,
            owner: controller_owner_reference(shard),
            cluster,
        })
    }

    /// The logical parts every shard-level name and label is built from (§13.4: the cluster
    /// label and spec names, never the hashed CR name).
    pub fn parts(&self) -> ShardParts<'_> {
        ShardParts {
            cluster: &self.cluster,
            database: self.spec.database_name.as_str(),
            table_group: self.spec.table_group_name.as_str(),
            shard: self.spec.shard_name.as_str(),
        }
    }

    /// The parts of one pool in one cell.
    pub fn pool_parts<'b>(&'b self, pool: &'b str, cell: &'b str) -> PoolParts<'b> {
        PoolParts {
            shard: self.parts(),
            pool,
            cell,
        }
    }

    /// `namespace/name` of the Shard, for error messages.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}
