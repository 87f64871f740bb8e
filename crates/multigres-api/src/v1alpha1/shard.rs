//! The Shard child resource (spec-api.md §6) and the shard components every level shares:
//! `MultiOrchSpec` and `PoolSpec` (spec-api.md §2.11, §2.12).
//!
//! A Shard carries a fully resolved spec written by its TableGroup; nothing here resolves,
//! defaults or builds pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, LocalObjectReference, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::backup::BackupConfig;
use super::component_specs::{
    ComponentLogLevels, ContainerConfig, ImagePullPolicy, Phase, PodPlacementSpec, PoolType,
    PostgresConfigRef, PvcDeletionPolicy, StatelessSpec, StorageSpec, TopologyPruningConfig,
};
use super::constrained_strings::{
    CellName, DatabaseName, ImageRef, InitdbArgs, PoolName, ShardName, TableGroupName,
};
use super::observability::ObservabilityConfig;
use super::topo_server::GlobalTopoServerRef;

/// The multiorch orchestrator of a shard: one Deployment per cell, `replicas` pods each.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultiOrchSpec {
    /// Replicas, resources, affinity and pod metadata; inlined in the JSON like Go's embedded
    /// struct.
    #[serde(flatten)]
    pub stateless: StatelessSpec,

    /// Tolerations of the multiorch pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<PodPlacementSpec>,

    /// Cells that run a multiorch (at most 50). Empty means every cell of the cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "set"))]
    pub cells: Vec<CellName>,
}

/// One data pool of a shard: `replicasPerCell` postgres pods (with their multipooler) in each of
/// its cells, each with its own data volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpec {
    /// Kind of pool; only `readWrite` exists.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<PoolType>,

    /// Cells the pool runs in (1 to 10). Cells can be added but never removed. Empty means every
    /// cell of the cluster; to say so, leave the field out rather than writing an empty list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 10), extend("x-kubernetes-list-type" = "set"))]
    #[x_kube(validation = Rule::new("oldSelf.all(c, c in self)")
        .message("Cells cannot be removed from a pool (Append-Only)"))]
    pub cells: Vec<CellName>,

    /// Postgres pods per cell, 1 to 32. Three or more keep a quorum while a pod is drained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 32))]
    pub replicas_per_cell: Option<i32>,

    /// Data volume of each pod.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub storage: StorageSpec,

    /// The postgres container.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub postgres: ContainerConfig,

    /// The multipooler container.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub multipooler: ContainerConfig,

    /// Scheduling constraints of the pool's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::optional_affinity")]
    pub affinity: Option<Affinity>,

    /// Tolerations of the pool's pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,

    /// fsGroup of the pods (at least 1); the pool's containers then also run as this user and
    /// group. Unset: the runtime's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub fs_group: Option<i64>,

    /// Fate of the pool's volumes; takes precedence over every other level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

/// Images and pull settings of a shard's pods, taken from the cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardImages {
    /// Pull policy of every container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,

    /// Secrets, in the same namespace, used to pull the images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::image_pull_secrets")]
    pub image_pull_secrets: Vec<LocalObjectReference>,

    /// multiorch image.
    pub multiorch: ImageRef,

    /// multipooler image.
    pub multipooler: ImageRef,

    /// postgres (pgctld) image.
    pub postgres: ImageRef,
}

/// Last backup kind reported by pgBackRest.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LastBackupType {
    Full,
    Diff,
    Incr,
}

/// A horizontal partition of a table group: its multiorch and its data pools. Written by the
/// TableGroup controller; users do not edit Shards.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "Shard",
    namespaced,
    status = "ShardStatus",
    shortname = "srd",
    derive = "PartialEq",
    derive = "Default",
    doc = "Shard is a horizontal partition of a table group: its multiorch and its pools of postgres pods. Managed by its TableGroup.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type=='Available')].status"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.readyReplicas"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ShardSpec {
    /// Logical database of the shard.
    pub database_name: DatabaseName,

    /// Table group of the shard.
    pub table_group_name: TableGroupName,

    /// Name of the shard within its table group, e.g. `0-inf`.
    pub shard_name: ShardName,

    /// Images of the shard's components.
    pub images: ShardImages,

    /// The global topology server.
    pub global_topo_server: GlobalTopoServerRef,

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

    /// Shard-level fate of the pools' volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,

    /// OpenTelemetry settings of the shard's pods, from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityConfig>,

    /// Log levels of the shard's components, from the cluster.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub log_levels: ComponentLogLevels,

    /// The resolved backup configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,

    /// Topology pruning setting, from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_pruning: Option<TopologyPruningConfig>,

    /// Durability policy of the shard's database, e.g. `AT_LEAST_2`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub durability_policy: String,

    /// Postgres superuser role, from the cluster.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 63))]
    pub postgres_superuser: String,

    /// nodeSelector labels of each cell with a zone or region, by cell name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, BTreeMap<String, String>>")]
    pub cell_topology_labels: BTreeMap<CellName, BTreeMap<String, String>>,

    /// Desired pods over all pools and cells; the scale subresource's replica count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// Observed state of a Shard.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "crate::v1alpha1::omit::is_zero_i64")]
    pub observed_generation: i64,

    /// Latest observations: `Available`, `RollingUpdate`, `BackupHealthy`, `StorageClassValid`,
    /// `ReadyForDeletion`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::conditions")]
    pub conditions: Vec<Condition>,

    /// Lifecycle phase of the shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,

    /// Details about the phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,

    /// Cells the shard runs in (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "set"))]
    pub cells: Vec<CellName>,

    /// Whether every multiorch Deployment is ready.
    // Required in the CRD as in Go, yet zero when absent, like Go decodes it (`omit` module doc).
    #[serde(default)]
    #[schemars(!default)]
    pub orch_ready: bool,

    /// Whether every pool pod is ready.
    #[serde(default)]
    #[schemars(!default)]
    pub pools_ready: bool,

    /// Completion time of the newest backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_time: Option<Time>,

    /// Kind of the newest backup: `full`, `diff` or `incr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_type: Option<LastBackupType>,

    /// Database role of each pool pod, by pod name (e.g. `PRIMARY`, `REPLICA`, `DRAINED`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_roles: BTreeMap<String, String>,

    /// Ready pods over all pools; the scale subresource's status replica count.
    #[serde(default, skip_serializing_if = "crate::v1alpha1::omit::is_zero_i32")]
    pub ready_replicas: i32,
}
