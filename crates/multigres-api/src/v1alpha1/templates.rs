//! The reusable configuration templates (spec-api.md §8): CoreTemplate, CellTemplate and
//! ShardTemplate. Clusters name them; they have no status and nothing watches them directly.
//!
//! Choosing which template applies and merging it with overrides is the resolver's job.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::component_specs::{
    PodPlacementSpec, PostgresConfigRef, PvcDeletionPolicy, StatelessSpec,
};
use super::constrained_strings::{InitdbArgs, PoolName};
use super::shard::{MultiOrchSpec, PoolSpec};
use super::topo_server::{LocalTopoServerSpec, TopoServerSpec};

/// Reusable configuration of a cluster's core components.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "CoreTemplate",
    namespaced,
    shortname = "cot",
    derive = "PartialEq",
    derive = "Default",
    doc = "CoreTemplate is reusable configuration (resources, scheduling) of a MultigresCluster's core components: the global topology server, multiadmin and multiadmin-web."
)]
#[serde(rename_all = "camelCase")]
pub struct CoreTemplateSpec {
    /// The global topology server; a managed etcd only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_topo_server: Option<TopoServerSpec>,

    /// The multiadmin component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin: Option<StatelessSpec>,

    /// The multiadmin-web component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin_web: Option<StatelessSpec>,
}

/// Reusable configuration of a cell.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "CellTemplate",
    namespaced,
    shortname = "cet",
    derive = "PartialEq",
    derive = "Default",
    doc = "CellTemplate is reusable configuration of the cells of a MultigresCluster: their multigateway and its scheduling."
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.localTopoServer)")
    .message("local topology servers (localTopoServer) are not yet supported"))]
pub struct CellTemplateSpec {
    /// The multigateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway: Option<StatelessSpec>,

    /// Tolerations of the multigateway pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway_placement: Option<PodPlacementSpec>,

    /// Cell-local topology server; not supported yet and rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_topo_server: Option<LocalTopoServerSpec>,
}

/// Reusable configuration of a shard.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "ShardTemplate",
    namespaced,
    shortname = "sht",
    derive = "PartialEq",
    derive = "Default",
    doc = "ShardTemplate is reusable configuration of the shards of a MultigresCluster: multiorch, pools, storage and resources."
)]
#[serde(rename_all = "camelCase")]
pub struct ShardTemplateSpec {
    /// The multiorch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiorch: Option<MultiOrchSpec>,

    /// Extra initdb arguments (e.g. `--locale-provider=icu --icu-locale=en_US.UTF-8`), applied
    /// when a pod initialises a new data directory.
    #[serde(default, skip_serializing_if = "InitdbArgs::is_empty")]
    pub initdb_args: InitdbArgs,

    /// ConfigMap key with a postgresql.conf fragment for every pool pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config_ref: Option<PostgresConfigRef>,

    /// Pools by name (at most 8; names are DNS labels of at most 25 characters, checked by the
    /// webhook). Pools can be added but never removed or renamed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, PoolSpec>", extend("maxProperties" = 8))]
    #[x_kube(
        validation = Rule::new("self.all(key, size(key) < 63)")
            .message("pool names must be < 63 chars"),
        validation = Rule::new("oldSelf.all(k, k in self)")
            .message("Pools cannot be removed or renamed in this version (Append-Only)"),
    )]
    pub pools: BTreeMap<PoolName, PoolSpec>,

    /// Fate of the volumes of shards using this template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}
