//! The small specs and enums that the cluster, the child resources and the templates all embed
//! (spec-api.md §2): pod and storage settings, log levels, pool types, phases and the PVC
//! deletion policy.
//!
//! Only data shapes live here. Merging and defaulting these values is the resolver's job, and
//! naming child objects after them is `naming`'s; neither belongs in this module.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements, Toleration};
use kube::KubeSchema;
use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Log level of a multigres component (`--log-level`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Access pattern of a data pool; only read-write pools exist in v1alpha1.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum PoolType {
    #[serde(rename = "readWrite")]
    ReadWrite,
}

/// Lifecycle phase reported in `status.phase` (spec-api.md §2.16).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Phase {
    /// Being created, nothing to count yet.
    Initializing,
    /// Desired state not reached yet.
    Progressing,
    /// Desired state reached.
    Healthy,
    /// Crash-looping or failing.
    Degraded,
    /// Declared by the API, never assigned by a controller.
    Unknown,
}

impl Phase {
    /// The value written to `status.phase`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Initializing => "Initializing",
            Phase::Progressing => "Progressing",
            Phase::Healthy => "Healthy",
            Phase::Degraded => "Degraded",
            Phase::Unknown => "Unknown",
        }
    }

    /// Reads a `status.phase` value; `None` for anything else (including an absent phase).
    pub fn parse(value: &str) -> Option<Phase> {
        [
            Phase::Initializing,
            Phase::Progressing,
            Phase::Healthy,
            Phase::Degraded,
            Phase::Unknown,
        ]
        .into_iter()
        .find(|phase| phase.as_str() == value)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a PersistentVolumeClaim when its owner is deleted or scaled down.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum PvcRetentionPolicyType {
    Retain,
    Delete,
}

/// Image pull policy of every container the operator creates.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum ImagePullPolicy {
    Always,
    Never,
    IfNotPresent,
}

/// Scaling, resources and pod metadata of a stateless component (multiadmin, multiadmin-web,
/// multigateway, and the inline part of multiorch).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatelessSpec {
    /// Number of pods (per cell for multigateway and multiorch), from 0 to 128.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 128))]
    pub replicas: Option<i32>,

    /// CPU and memory requests and limits of the component's container.
    #[serde(default)]
    #[schemars(
        schema_with = "crate::v1alpha1::kubernetes_schema::resource_requirements",
        skip_serializing_if = "crate::v1alpha1::omit::no_schema_default"
    )]
    pub resources: ResourceRequirements,

    /// Scheduling constraints of the pods; replaces any inherited affinity as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::optional_affinity")]
    pub affinity: Option<Affinity>,

    /// Extra annotations on the pods (at most 20; keys under 64 and values under 256 characters).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 20))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) < 64 && size(self[k]) < 256)")
        .message("annotation keys must be <64 chars and values <256 chars"))]
    pub pod_annotations: BTreeMap<String, String>,

    /// Extra labels on the pods (at most 20; keys and values under 64 characters).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 20))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) < 64 && size(self[k]) < 64)")
        .message("label keys and values must be <64 chars"))]
    pub pod_labels: BTreeMap<String, String>,
}

/// Scheduling settings offered only to the components that need them (multigateway, multiorch).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodPlacementSpec {
    /// Tolerations that let the pods run on tainted nodes; replaces inherited tolerations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

/// A persistent volume request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Requested volume size as a Kubernetes quantity, e.g. `10Gi`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 63), regex(pattern = "^([0-9]+)(.+)$"))]
    pub size: String,

    /// StorageClass of the volume; the cluster's default StorageClass when unset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(min = 1, max = 63))]
    pub class: String,

    /// Access modes of the volume (e.g. `ReadWriteOnce`, `ReadWriteMany`); `ReadWriteOnce` when
    /// unset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
}

/// Whether PersistentVolumeClaims survive the deletion or the scale-down of what owns them.
///
/// A policy may be set at many levels (cluster, global topo server, etcd, table group, shard,
/// pool, templates, child resources) and an unset field inherits the next level up, one field at
/// a time (deliberate fix 4, docs/compatibility.md). So only the cluster's own
/// `spec.pvcDeletionPolicy`, the root of that chain, has schema defaults
/// ([`cluster_pvc_deletion_policy_defaults`]); anywhere else a default filled in by the API
/// server would override the parent's value instead of inheriting it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvcDeletionPolicy {
    /// `Retain` keeps the claims when the owner is deleted, for manual recovery; `Delete` removes
    /// them with it. Unset inherits the level above; `Retain` when no level sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_deleted: Option<PvcRetentionPolicyType>,

    /// `Delete` removes the claims of pods removed by a scale-down; `Retain` keeps them. Unset
    /// inherits the level above; `Delete` when no level sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_scaled: Option<PvcRetentionPolicyType>,
}

/// Schema transform of `MultigresCluster.spec.pvcDeletionPolicy` alone: the object default
/// `{whenDeleted: Retain, whenScaled: Delete}` and the same per-field defaults, as the Go CRD
/// has them (spec-api.md §2.5). This level is the root of the inheritance chain, so defaulting
/// it here takes nothing away from a parent. Used only through `#[schemars(transform = ...)]`.
pub(crate) fn cluster_pvc_deletion_policy_defaults(schema: &mut Schema) {
    let when_deleted = json!(crate::defaults::PVC_WHEN_DELETED);
    let when_scaled = json!(crate::defaults::PVC_WHEN_SCALED);
    if let Some(properties) = schema
        .get_mut("properties")
        .and_then(|properties| properties.as_object_mut())
    {
        for (field, default) in [("whenDeleted", &when_deleted), ("whenScaled", &when_scaled)] {
            if let Some(Value::Object(field_schema)) = properties.get_mut(field) {
                field_schema.insert("default".to_owned(), default.clone());
            }
        }
    }
    schema.insert(
        "default".to_owned(),
        json!({ "whenDeleted": when_deleted, "whenScaled": when_scaled }),
    );
}

/// Whether the operator removes stale entries from the topology server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopologyPruningConfig {
    /// Prune stale topology entries. Unset means enabled; `false` keeps registering entries but
    /// never removes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Settings of one container of a pool pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerConfig {
    /// CPU and memory requests and limits of the container.
    #[serde(default)]
    #[schemars(
        schema_with = "crate::v1alpha1::kubernetes_schema::resource_requirements",
        skip_serializing_if = "crate::v1alpha1::omit::no_schema_default"
    )]
    pub resources: ResourceRequirements,
}

/// A ConfigMap key holding a postgresql.conf fragment applied to every pool pod of a shard.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresConfigRef {
    /// Name of the ConfigMap, in the cluster's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// Key of the ConfigMap's data holding the configuration.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// The `--log-level` of each multigres data-plane component; unset levels become `info`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentLogLevels {
    /// Log level of pgctld, the postgres supervisor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgctld: Option<LogLevel>,

    /// Log level of multipooler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipooler: Option<LogLevel>,

    /// Log level of multiorch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiorch: Option<LogLevel>,

    /// Log level of multiadmin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin: Option<LogLevel>,

    /// Log level of multigateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway: Option<LogLevel>,
}
