//! The Cell child resource (spec-api.md §4): one failure domain of a cluster and its multigateway.
//!
//! The cluster controller writes the resolved spec; building the gateway Deployment and talking
//! to the topology server are the Cell controller's job.

use k8s_openapi::api::core::v1::LocalObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::component_specs::{
    ComponentLogLevels, ImagePullPolicy, Phase, PodPlacementSpec, StatelessSpec,
};
use super::constrained_strings::{CellName, ImageRef, Region, Zone};
use super::observability::ObservabilityConfig;
use super::topo_server::{GlobalTopoServerRef, LocalTopoServerSpec};

/// Images and pull settings of a cell's pods, taken from the cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellImages {
    /// Pull policy of every container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,

    /// Secrets, in the same namespace, used to pull the images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::image_pull_secrets")]
    pub image_pull_secrets: Vec<LocalObjectReference>,

    /// multigateway image.
    pub multigateway: ImageRef,
}

/// What the Cell controller does with the topology server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopologyReconciliation {
    /// Register the cell in the global topology.
    pub register_cell: bool,

    /// Remove topology entries of poolers that no longer exist.
    pub prune_poolers: bool,
}

/// A failure domain of a cluster (typically one availability zone) with its multigateway.
/// Written by the MultigresCluster controller; users do not edit Cells.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "Cell",
    namespaced,
    status = "CellStatus",
    shortname = "cel",
    derive = "PartialEq",
    derive = "Default",
    doc = "Cell is a failure domain of a MultigresCluster (typically an availability zone) with its multigateway. Managed by its MultigresCluster.",
    printcolumn = r#"{"name":"Gateway","type":"integer","jsonPath":".status.gatewayReadyReplicas"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type=='Available')].status"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.zone) && has(self.region))")
    .message("cannot specify both 'zone' and 'region'"))]
pub struct CellSpec {
    /// Logical name of the cell.
    pub name: CellName,

    /// Availability zone the cell's pods are pinned to (`topology.kubernetes.io/zone`).
    #[serde(default, skip_serializing_if = "Zone::is_empty")]
    pub zone: Zone,

    /// Region the cell's pods are pinned to (`topology.kubernetes.io/region`).
    #[serde(default, skip_serializing_if = "Region::is_empty")]
    pub region: Region,

    /// Images of the cell's components.
    pub images: CellImages,

    /// The resolved multigateway.
    pub multigateway: StatelessSpec,

    /// Tolerations of the multigateway pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway_placement: Option<PodPlacementSpec>,

    /// The global topology server.
    pub global_topo_server: GlobalTopoServerRef,

    /// Cell-local topology server; never set in v1alpha1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topo_server: Option<LocalTopoServerSpec>,

    /// Every cell of the cluster, in spec order (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "set"))]
    pub all_cells: Vec<CellName>,

    /// What the Cell controller registers and prunes in the topology.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub topology_reconciliation: TopologyReconciliation,

    /// OpenTelemetry settings of the cell's pods, from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityConfig>,

    /// Log levels of the cell's components, from the cluster.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub log_levels: ComponentLogLevels,

    /// DNS name of the multigateway TLS certificate, from the cluster; no TLS when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_common_name: String,
}

/// Observed state of a Cell.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "crate::v1alpha1::omit::is_zero_i64")]
    pub observed_generation: i64,

    /// Latest observations: `Available`, `Ready` and `ReadyForDeletion`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::conditions")]
    pub conditions: Vec<Condition>,

    /// Lifecycle phase of the cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,

    /// Details about the phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,

    /// Pods of the multigateway Deployment.
    // Required in the CRD as in Go, yet zero when absent, like Go decodes it (`omit` module doc).
    #[serde(default)]
    #[schemars(!default)]
    pub gateway_replicas: i32,

    /// Ready pods of the multigateway Deployment.
    #[serde(default)]
    #[schemars(!default)]
    pub gateway_ready_replicas: i32,

    /// Name of the multigateway Service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 253))]
    pub gateway_service_name: String,
}
