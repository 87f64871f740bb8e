//! The topology server types (spec-api.md §2.13, §7): the etcd and external topology specs users
//! write, the reference children receive, and the TopoServer child resource itself.
//!
//! Resolving which topology a cluster uses (inline, external or template) is the resolver's job.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::component_specs::{Phase, PvcDeletionPolicy, StorageSpec};
use super::constrained_strings::{EndpointUrl, ImageRef, TemplateRef};

/// A managed etcd cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EtcdSpec {
    /// etcd container image.
    #[serde(default, skip_serializing_if = "ImageRef::is_empty")]
    pub image: ImageRef,

    /// Number of etcd members: an odd number, fixed once the cluster exists (etcd is bootstrapped
    /// statically and cannot add members later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    #[x_kube(validation = Rule::new("self % 2 == 1").message(
        "etcd replicas must be an odd number (1, 3, 5); even numbers provide no additional fault tolerance over the next lower odd number"
    ))]
    pub replicas: Option<i32>,

    /// Data volume of each member.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub storage: StorageSpec,

    /// CPU and memory requests and limits of the etcd container.
    #[serde(default)]
    #[schemars(
        schema_with = "crate::v1alpha1::kubernetes_schema::resource_requirements",
        skip_serializing_if = "crate::v1alpha1::omit::no_schema_default"
    )]
    pub resources: ResourceRequirements,

    /// Key prefix of this cluster's records in etcd.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(min = 1, max = 512))]
    pub root_path: String,

    /// Fate of the members' volumes; takes precedence over the global topology server's and the
    /// cluster's policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

/// The cluster-wide topology server: exactly one of a managed etcd, an external server, or a
/// CoreTemplate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "[has(self.etcd), has(self.external), has(self.templateRef)].filter(x, x).size() == 1"
).message("must specify exactly one of 'etcd', 'external', or 'templateRef'"))]
pub struct GlobalTopoServerSpec {
    /// A managed etcd cluster, configured inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<EtcdSpec>,

    /// An existing topology server the operator does not manage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalTopoServerSpec>,

    /// CoreTemplate whose `globalTopoServer` to use.
    #[serde(default, skip_serializing_if = "TemplateRef::is_empty")]
    pub template_ref: TemplateRef,

    /// Fate of the topology server's volumes; takes precedence over the cluster's policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

/// Connection to a topology server the operator does not manage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalTopoServerSpec {
    /// Client URLs (`http://` or `https://`) of the server; the first one is used.
    #[schemars(length(min = 1, max = 20), extend("x-kubernetes-list-type" = "set"))]
    #[x_kube(validation = Rule::new("self.all(x, x.matches('^https?://'))")
        .message("endpoints must be valid URLs"))]
    pub endpoints: Vec<EndpointUrl>,

    /// Topology implementation, e.g. `etcd` (the default) or `memory`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub implementation: String,

    /// Secret holding the CA certificate of the server.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 253))]
    pub ca_secret: String,

    /// Secret holding the client certificate and key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 253))]
    pub client_cert_secret: String,

    /// Key prefix of this cluster's records.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(min = 1, max = 512))]
    pub root_path: String,
}

/// A cell-local topology server: either a managed etcd or an external server. Kept for API
/// compatibility; every place a user could set one rejects it (spec-api.md §9 rule 6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.etcd) || has(self.external)")
        .message("must specify either 'etcd' or 'external'"),
    validation = Rule::new("!(has(self.etcd) && has(self.external))")
        .message("only one of 'etcd' or 'external' can be set"),
)]
pub struct LocalTopoServerSpec {
    /// A managed etcd cluster, configured inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<EtcdSpec>,

    /// An existing topology server the operator does not manage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalTopoServerSpec>,
}

/// Where the global topology server is, as written by the operator into Cell, TableGroup and
/// Shard.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GlobalTopoServerRef {
    /// Client address, e.g. `{cluster}-global-topo.{namespace}.svc:2379`.
    #[schemars(length(min = 1, max = 512))]
    pub address: String,

    /// Key prefix of the cluster's records.
    #[schemars(length(min = 1, max = 512))]
    pub root_path: String,

    /// Topology implementation, e.g. `etcd`.
    #[schemars(length(min = 1, max = 63))]
    pub implementation: String,
}

/// The managed global etcd cluster of a MultigresCluster. Written by the operator; the same shape
/// is a CoreTemplate's `globalTopoServer`.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "TopoServer",
    namespaced,
    status = "TopoServerStatus",
    shortname = "tps",
    derive = "PartialEq",
    derive = "Default",
    doc = "TopoServer is the etcd topology server holding a Multigres cluster's metadata and routing state. Managed by its MultigresCluster.",
    // The column reads `Available`, which the TopoServer never sets, so it stays empty; kept
    // byte-identical to the Go CRD (spec-api.md §1.2, §17 Q4).
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type=='Available')].status"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.etcd)").message("must specify 'etcd' configuration"))]
pub struct TopoServerSpec {
    /// The etcd cluster to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<EtcdSpec>,

    /// Fate of the etcd volumes when the TopoServer is deleted or scaled down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

/// Observed state of a TopoServer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopoServerStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "crate::v1alpha1::omit::is_zero_i64")]
    pub observed_generation: i64,

    /// Latest observations: `Ready` and `StorageClassValid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::conditions")]
    pub conditions: Vec<Condition>,

    /// Lifecycle phase of the etcd StatefulSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,

    /// Details about the phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,

    /// Name of the client Service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_service: String,

    /// Name of the peer (headless) Service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub peer_service: String,
}
