//! Pure builders of the objects the TableGroup controller applies (spec-controllers.md §3): one
//! Shard per `spec.shards[]` of a TableGroup CR.
//!
//! The TableGroup is the resolved input (the cluster controller wrote its shards through the
//! template chain); the Shard's spec comes from `multigres_api::resolver::shard_spec`, its name
//! and labels from the TableGroup's `multigres.com/cluster` label and spec names. Nothing here
//! does I/O, awaits or reads the clock.

mod shard;

use multigres_api::v1alpha1::{Shard, TableGroup};

use crate::controllers::cluster_label::{ClusterLabelError, owning_cluster};

/// Every object of one TableGroup: its Shards, in `spec.shards` order.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub shards: Vec<Shard>,
}

impl Desired {
    /// Every object, in the order `render` prints them (see the cluster's `Desired::objects`).
    pub fn objects(&self) -> Vec<serde_json::Value> {
        use crate::controllers::erased::Object;
        let Desired { shards } = self;
        shards.iter().map(Object::json).collect()
    }
}

/// Why the objects of a TableGroup cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot tell which MultigresCluster owns the TableGroup")]
    OwningCluster {
        #[source]
        source: ClusterLabelError,
    },
}

/// Builds every Shard the TableGroup controller applies for `table_group`.
pub fn build_table_group_objects(table_group: &TableGroup) -> Result<Desired, Error> {
    let cluster = owning_cluster(table_group).map_err(|source| Error::OwningCluster { source })?;
    Ok(Desired {
        shards: table_group
            .spec
            .shards
            .iter()
            .map(|resolved| shard::build_shard(table_group, &cluster, resolved))
            .collect(),
    })
}

#[cfg(test)]
mod tests;
