//! The TableGroup child resource (spec-api.md §5): one per table group of a database, holding the
//! fully resolved specs of its shards.
//!
//! The cluster controller fills it in; turning it into Shards is the TableGroup controller's job.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::backup::BackupConfig;
use super::component_specs::{
    ComponentLogLevels, Phase, PostgresConfigRef, PvcDeletionPolicy, TopologyPruningConfig,
};
use super::constrained_strings::{CellName, DatabaseName, InitdbArgs, PoolName, TableGroupName};
use super::observability::ObservabilityConfig;
use super::shard::{MultiOrchSpec, PoolSpec, ShardImages};
use super::topo_server::GlobalTopoServerRef;

/// The fully resolved spec of one shard, as the cluster controller computed it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardResolvedSpec {
    /// Name of the shard, e.g. `0-inf`.
    #[schemars(length(max = 63))]
    pub name: String,

    /// The resolved multiorch.
    pub multiorch: MultiOrchSpec,

    /// Extra initdb arguments, applied when a pod initialises a new data directory.
    #[serde(default, skip_serializing_if = "InitdbArgs::is_empty")]
    pub initdb_args: InitdbArgs,

    /// ConfigMap key with a postgresql.conf fragment for every pool pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config_ref: Option<PostgresConfigRef>,

    /// The resolved pools, by name (at most 8).
    #[schemars(with = "BTreeMap<String, PoolSpec>", extend("maxProperties" = 8))]
    #[x_kube(validation = Rule::new("self.all(key, size(key) < 63)")
        .message("pool names must be < 63 chars"))]
    pub pools: BTreeMap<PoolName, PoolSpec>,

    /// Shard-level fate of the pools' volumes, from the shard's template or inline spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,

    /// The resolved backup configuration of the shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
}

/// A set of tables sharded together within a database. Written by the MultigresCluster
/// controller; users do not edit TableGroups.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "TableGroup",
    namespaced,
    status = "TableGroupStatus",
    shortname = "tbg",
    derive = "PartialEq",
    derive = "Default",
    doc = "TableGroup is a set of tables of one database that are sharded together. Managed by its MultigresCluster.",
    printcolumn = r#"{"name":"Shards","type":"integer","jsonPath":".status.readyShards"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TableGroupSpec {
    /// Logical database of the table group.
    pub database_name: DatabaseName,

    /// Name of the table group.
    pub table_group_name: TableGroupName,

    /// Whether this is the database's default (unsharded) table group.
    #[serde(
        default,
        rename = "default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub is_default: bool,

    /// Images of the shards' components, from the cluster.
    pub images: ShardImages,

    /// The global topology server.
    pub global_topo_server: GlobalTopoServerRef,

    /// The fully resolved shards (at most 32), keyed by name.
    #[schemars(
        length(max = 32),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
    )]
    pub shards: Vec<ShardResolvedSpec>,

    /// Table-group-level fate of the shards' volumes (merged with the cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,

    /// OpenTelemetry settings of the shards' pods, from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityConfig>,

    /// Log levels of the shards' components, from the cluster.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub log_levels: ComponentLogLevels,

    /// Backup configuration merged from the cluster, the database and the table group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,

    /// nodeSelector labels of each cell with a zone or region, by cell name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, BTreeMap<String, String>>")]
    pub cell_topology_labels: BTreeMap<CellName, BTreeMap<String, String>>,

    /// Topology pruning setting, from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_pruning: Option<TopologyPruningConfig>,

    /// Durability policy of the database, e.g. `AT_LEAST_2`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub durability_policy: String,

    /// Postgres superuser role, from the cluster.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 63))]
    pub postgres_superuser: String,
}

/// Observed state of a TableGroup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableGroupStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "crate::v1alpha1::omit::is_zero_i64")]
    pub observed_generation: i64,

    /// Latest observations: `Available` and `ReadyForDeletion`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::conditions")]
    pub conditions: Vec<Condition>,

    /// Lifecycle phase of the table group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,

    /// Details about the phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,

    /// Shards that are up to date and healthy.
    // Required in the CRD as in Go, yet zero when absent, like Go decodes it (`omit` module doc).
    #[serde(default)]
    #[schemars(!default)]
    pub ready_shards: i32,

    /// Shards declared in the spec.
    #[serde(default)]
    #[schemars(!default)]
    pub total_shards: i32,
}
