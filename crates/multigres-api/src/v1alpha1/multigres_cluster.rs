//! The MultigresCluster resource (spec-api.md §3): the user-facing root of a Multigres deployment,
//! with its cells, databases, table groups, shards and the template references of each.
//!
//! These are the shapes users write. Template resolution, defaulting and validation beyond the
//! CRD's own rules belong to the resolver and the webhook, not here.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::LocalObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::backup::BackupConfig;
use super::component_specs::{
    ComponentLogLevels, ImagePullPolicy, Phase, PodPlacementSpec, PostgresConfigRef,
    PvcDeletionPolicy, StatelessSpec, TopologyPruningConfig,
};
use super::constrained_strings::{
    CellName, DatabaseName, ImageRef, InitdbArgs, IpAddress, PoolName, Region, ShardName,
    TableGroupName, TemplateRef, Zone,
};
use super::observability::ObservabilityConfig;
use super::shard::{MultiOrchSpec, PoolSpec};
use super::topo_server::{GlobalTopoServerSpec, LocalTopoServerSpec};

/// A distributed, sharded PostgreSQL cluster: the resource users write. The operator derives
/// every other Multigres resource from it.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "MultigresCluster",
    namespaced,
    status = "MultigresClusterStatus",
    shortname = "mgc",
    derive = "PartialEq",
    derive = "Default",
    doc = "MultigresCluster is a distributed, sharded PostgreSQL cluster managed by the Multigres operator.",
    printcolumn = r#"{"name":"Available","type":"string","jsonPath":".status.conditions[?(@.type=='Available')].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    validation = Rule::new("self.metadata.name.size() <= 25")
        .message("MultigresCluster name must be at most 25 characters")
)]
#[serde(rename_all = "camelCase")]
pub struct MultigresClusterSpec {
    /// Container images of every component, and how to pull them.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub images: ClusterImages,

    /// `--log-level` of each data-plane component; `info` when unset.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub log_levels: ComponentLogLevels,

    /// Templates used by components that name none of their own.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub template_defaults: TemplateDefaults,

    /// The cluster-wide topology server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_topo_server: Option<GlobalTopoServerSpec>,

    /// The multiadmin component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin: Option<MultiAdminConfig>,

    /// The multiadmin-web component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin_web: Option<MultiAdminWebConfig>,

    /// Cells (failure domains) of the cluster, at most 50, keyed by name. Cells can be added but
    /// never removed or renamed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 50),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
    )]
    #[x_kube(validation = Rule::new("oldSelf.all(c, c.name in self.map(x, x.name))")
        .message("Cells cannot be removed or renamed (Append-Only)"))]
    pub cells: Vec<CellConfig>,

    /// Logical databases with their table groups and shards. v1alpha1 supports exactly one:
    /// `postgres`, marked `default: true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 1),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
    )]
    #[x_kube(validation = Rule::new("self.all(db, db.name == 'postgres' && db.default == true)")
        .message("in v1alpha1, only the single system database named 'postgres' (marked default: true) is supported"))]
    pub databases: Vec<DatabaseConfig>,

    /// Fate of every volume of the cluster unless a lower level says otherwise. Defaults to
    /// keeping volumes when the cluster is deleted and deleting them on scale-down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::v1alpha1::component_specs::cluster_pvc_deletion_policy_defaults)]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,

    /// OpenTelemetry settings of the data-plane pods. Unset: the pods inherit the operator's own
    /// `OTEL_*` environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityConfig>,

    /// Backups of every shard unless a database, table group or shard says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,

    /// External exposure of the global multigateway Service. Unset or disabled: the Service stays
    /// ClusterIP-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_gateway: Option<ExternalGatewayConfig>,

    /// External exposure of the multiadmin-web Service. Unset or disabled: the Service stays
    /// ClusterIP-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_admin_web: Option<ExternalAdminWebConfig>,

    /// Whether stale topology entries are pruned; enabled when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_pruning: Option<TopologyPruningConfig>,

    /// Durability policy multiorch enforces for every database, e.g. `AT_LEAST_2` (the default:
    /// any two nodes acknowledge a write) or `MULTI_CELL_AT_LEAST_2` (two nodes in different
    /// cells).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub durability_policy: String,

    /// Postgres superuser role used by pgctld, multipooler and multiadmin.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 63), extend("default" = "postgres"))]
    pub postgres_superuser: String,

    /// DNS name (common name and SAN) of the multigateway TLS certificate, issued through
    /// cert-manager. Empty: multigateway serves without TLS.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_common_name: String,
}

/// Container images of the cluster's components.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterImages {
    /// Pull policy of every container: `Always`, `Never` or `IfNotPresent` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,

    /// Secrets, in the cluster's namespace, used to pull the images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::image_pull_secrets")]
    pub image_pull_secrets: Vec<LocalObjectReference>,

    /// multigateway image.
    #[serde(default, skip_serializing_if = "ImageRef::is_empty")]
    pub multigateway: ImageRef,

    /// multiorch image.
    #[serde(default, skip_serializing_if = "ImageRef::is_empty")]
    pub multiorch: ImageRef,

    /// multipooler image.
    #[serde(default, skip_serializing_if = "ImageRef::is_empty")]
    pub multipooler: ImageRef,

    /// multiadmin image.
    #[serde(default, skip_serializing_if = "ImageRef::is_empty")]
    pub multiadmin: ImageRef,

    /// multiadmin-web image.
    #[serde(default, skip_serializing_if = "ImageRef::is_empty")]
    pub multiadmin_web: ImageRef,

    /// postgres (pgctld) image.
    #[serde(default, skip_serializing_if = "ImageRef::is_empty")]
    pub postgres: ImageRef,
}

/// Cluster-wide template choices, used by every component that names no template itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateDefaults {
    /// CoreTemplate of the global topology server, multiadmin and multiadmin-web.
    #[serde(default, skip_serializing_if = "TemplateRef::is_empty")]
    pub core_template: TemplateRef,

    /// CellTemplate of the cells.
    #[serde(default, skip_serializing_if = "TemplateRef::is_empty")]
    pub cell_template: TemplateRef,

    /// ShardTemplate of the shards.
    #[serde(default, skip_serializing_if = "TemplateRef::is_empty")]
    pub shard_template: TemplateRef,
}

/// Configuration of multiadmin or multiadmin-web: either inline or from a CoreTemplate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.spec) || has(self.templateRef)")
        .message("must specify either 'spec' or 'templateRef'"),
    validation = Rule::new("!(has(self.spec) && has(self.templateRef))")
        .message("cannot specify both 'spec' and 'templateRef'"),
)]
pub struct MultiAdminConfig {
    /// Inline configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<StatelessSpec>,

    /// CoreTemplate to take the configuration from.
    #[serde(default, skip_serializing_if = "TemplateRef::is_empty")]
    pub template_ref: TemplateRef,
}

/// Configuration of multiadmin-web; the same shape as multiadmin's.
pub type MultiAdminWebConfig = MultiAdminConfig;

/// One cell of the cluster: a failure domain, optionally pinned to a zone or a region.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!(has(self.spec) && has(self.cellTemplate))")
        .message("cannot specify both 'spec' and 'cellTemplate'"),
    validation = Rule::new("!(has(self.spec) && has(self.overrides))")
        .message("cannot specify both 'spec' and 'overrides'"),
    validation = Rule::new("!(has(self.zone) && has(self.region))")
        .message("cannot specify both 'zone' and 'region'"),
)]
pub struct CellConfig {
    /// Logical name of the cell.
    pub name: CellName,

    /// Availability zone to pin the cell's pods to (`topology.kubernetes.io/zone`).
    #[serde(default, skip_serializing_if = "Zone::is_empty")]
    pub zone: Zone,

    /// Region to pin the cell's pods to (`topology.kubernetes.io/region`); exclusive with `zone`.
    #[serde(default, skip_serializing_if = "Region::is_empty")]
    pub region: Region,

    /// CellTemplate to take the configuration from.
    #[serde(default, skip_serializing_if = "TemplateRef::is_empty")]
    pub cell_template: TemplateRef,

    /// Changes applied on top of the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<CellOverrides>,

    /// Inline configuration, instead of a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<CellInlineSpec>,
}

/// Changes to a cell's template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellOverrides {
    /// Changes to the multigateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway: Option<StatelessSpec>,

    /// Replacement tolerations of the multigateway pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway_placement: Option<PodPlacementSpec>,
}

/// A cell configured inline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.localTopoServer)")
    .message("local topology servers (localTopoServer) are not yet supported"))]
pub struct CellInlineSpec {
    /// The multigateway.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub multigateway: StatelessSpec,

    /// Tolerations of the multigateway pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway_placement: Option<PodPlacementSpec>,

    /// Cell-local topology server; not supported yet and rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_topo_server: Option<LocalTopoServerSpec>,
}

/// A logical database.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseConfig {
    /// Name of the database; `postgres` in v1alpha1.
    pub name: DatabaseName,

    /// Whether this is the system default database; must be true in v1alpha1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,

    /// Table groups of the database (at most 20, keyed by name); exactly one is the default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 20),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
    )]
    #[x_kube(validation = Rule::new("self.filter(x, has(x.default) && x.default).size() == 1")
        .message("every database must have exactly one tablegroup marked as default"))]
    pub tablegroups: Vec<TableGroupConfig>,

    /// Backups of this database's shards, over the cluster's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,

    /// Durability policy of this database, over the cluster's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub durability_policy: String,
}

/// A table group: tables sharded together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.default) || !self.default || self.name == 'default'")
    .message("the default tablegroup must be named 'default'"))]
pub struct TableGroupConfig {
    /// Name of the table group.
    pub name: TableGroupName,

    /// Whether this is the database's default (unsharded) table group, named `default`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,

    /// Shards of the table group (keyed by name); only `0-inf` exists in v1alpha1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 32),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
    )]
    pub shards: Vec<ShardConfig>,

    /// Backups of this table group's shards, over the database's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,

    /// Fate of this table group's volumes, over the cluster's policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

/// One shard of a table group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!(has(self.spec) && has(self.shardTemplate))")
        .message("cannot specify both 'spec' and 'shardTemplate'"),
    validation = Rule::new("!(has(self.spec) && has(self.overrides))")
        .message("cannot specify both 'spec' and 'overrides'"),
)]
pub struct ShardConfig {
    /// Name of the shard; must be `0-inf` in v1alpha1.
    #[x_kube(validation = Rule::new("self == '0-inf'")
        .message("shardName must be strictly equal to '0-inf' in this version"))]
    pub name: ShardName,

    /// ShardTemplate to take the configuration from.
    #[serde(default, skip_serializing_if = "TemplateRef::is_empty")]
    pub shard_template: TemplateRef,

    /// Changes applied on top of the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<ShardOverrides>,

    /// Inline configuration, instead of a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ShardInlineSpec>,

    /// Backups of this shard, over the table group's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
}

/// Changes to a shard's template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardOverrides {
    /// Changes to the multiorch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiorch: Option<MultiOrchSpec>,

    /// Replacement initdb arguments.
    #[serde(default, skip_serializing_if = "InitdbArgs::is_empty")]
    pub initdb_args: InitdbArgs,

    /// Replacement postgresql.conf fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config_ref: Option<PostgresConfigRef>,

    /// Changes to the template's pools, by pool name (at most 8); an unknown name adds a pool.
    /// Pools can be added but never removed or renamed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, PoolSpec>", extend("maxProperties" = 8))]
    #[x_kube(
        validation = Rule::new("self.all(key, size(key) <= 25)")
            .message("pool names must be <= 25 chars"),
        validation = Rule::new("oldSelf.all(k, k in self)")
            .message("Pools cannot be removed or renamed in this version (Append-Only)"),
    )]
    pub pools: BTreeMap<PoolName, PoolSpec>,
}

/// A shard configured inline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardInlineSpec {
    /// The multiorch.
    #[serde(default)]
    #[schemars(skip_serializing_if = "crate::v1alpha1::omit::no_schema_default")]
    pub multiorch: MultiOrchSpec,

    /// Extra initdb arguments (e.g. `--locale-provider=icu --icu-locale=en_US.UTF-8`), applied
    /// when a pod initialises a new data directory.
    #[serde(default, skip_serializing_if = "InitdbArgs::is_empty")]
    pub initdb_args: InitdbArgs,

    /// ConfigMap key with a postgresql.conf fragment for every pool pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config_ref: Option<PostgresConfigRef>,

    /// Pools by name (at most 8). Pools can be added but never removed or renamed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, PoolSpec>", extend("maxProperties" = 8))]
    #[x_kube(
        validation = Rule::new("self.all(key, size(key) <= 25)")
            .message("pool names must be <= 25 chars"),
        validation = Rule::new("oldSelf.all(k, k in self)")
            .message("Pools cannot be removed or renamed in this version (Append-Only)"),
    )]
    pub pools: BTreeMap<PoolName, PoolSpec>,

    /// Fate of this shard's volumes, over the table group's policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

/// External exposure of a global Service (multigateway or multiadmin-web) through externally
/// routable IPs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "!has(self.annotations) || self.annotations.all(k, !k.startsWith('multigres.com/'))"
).message("annotations must not use multigres.com/ prefix (reserved for operator)"))]
pub struct ExternalGatewayConfig {
    /// Expose the Service externally. It stays of type ClusterIP; reachability comes from the
    /// external IPs and the platform's networking.
    pub enabled: bool,

    /// Externally routable addresses set as the Service's `spec.externalIPs` (at most 10).
    #[serde(default, rename = "externalIPs", skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub external_ips: Vec<IpAddress>,

    /// Annotations of the Service (at most 20), e.g. for a load balancer controller. Keys under
    /// `multigres.com/` are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 20))]
    pub annotations: BTreeMap<String, String>,
}

/// External exposure of the multiadmin-web Service; the same shape as the gateway's.
pub type ExternalAdminWebConfig = ExternalGatewayConfig;

/// Observed external endpoint of an exposed Service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    /// Hostname or IP clients use: the Service's first external IP, else its load balancer's
    /// first ingress. Empty until one exists.
    // Required in the CRD as in Go, yet zero when absent, like Go decodes it (`omit` module doc).
    #[serde(default)]
    #[schemars(!default)]
    pub external_endpoint: String,
}

/// Observed external endpoint of the multiadmin-web Service; the same shape as the gateway's.
pub type AdminWebStatus = GatewayStatus;

/// Observed state of a MultigresCluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultigresClusterStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "crate::v1alpha1::omit::is_zero_i64")]
    pub observed_generation: i64,

    /// Latest observations: `Available`, `GatewayExternalReady`, `AdminWebExternalReady`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::v1alpha1::kubernetes_schema::conditions")]
    pub conditions: Vec<Condition>,

    /// Lifecycle phase aggregated over the cluster's cells, table groups and topology server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,

    /// Details about the phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,

    /// Summary of each cell, by name (at most 50).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, CellStatusSummary>", extend("maxProperties" = 50))]
    pub cells: BTreeMap<CellName, CellStatusSummary>,

    /// External gateway endpoint; only while `externalGateway` is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayStatus>,

    /// External multiadmin-web endpoint; only while `externalAdminWeb` is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_web: Option<AdminWebStatus>,

    /// Summary of each database, by name (at most 50).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, DatabaseStatusSummary>", extend("maxProperties" = 50))]
    pub databases: BTreeMap<DatabaseName, DatabaseStatusSummary>,

    /// Templates the spec names explicitly, used to find the clusters a template change affects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_templates: Option<ResolvedTemplates>,
}

/// Templates named by a cluster's spec, each list sorted and without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedTemplates {
    /// CoreTemplates named by the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub core_templates: Vec<TemplateRef>,

    /// CellTemplates named by the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cell_templates: Vec<TemplateRef>,

    /// ShardTemplates named by the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shard_templates: Vec<TemplateRef>,
}

/// Summary of one cell in the cluster status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellStatusSummary {
    /// Whether the Cell is up to date and available.
    // Required in the CRD as in Go, yet zero when absent, like Go decodes it (`omit` module doc).
    #[serde(default)]
    #[schemars(!default)]
    pub ready: bool,

    /// Pods of the cell's multigateway.
    #[serde(default)]
    #[schemars(!default)]
    pub gateway_replicas: i32,
}

/// Summary of one database in the cluster status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatusSummary {
    /// Shards that are up to date and healthy.
    // Required in the CRD as in Go, yet zero when absent, like Go decodes it (`omit` module doc).
    #[serde(default)]
    #[schemars(!default)]
    pub ready_shards: i32,

    /// Shards of the database.
    #[serde(default)]
    #[schemars(!default)]
    pub total_shards: i32,
}

impl MultigresCluster {
    /// Reads a MultigresCluster as the Go operator's webhooks decode one: an absent or `null`
    /// `spec` is the zero spec. The CRD does not require `spec`, so the API server stores such
    /// an object unless the webhooks refuse it; the defaulter then fills in the zero spec and
    /// the validator judges the result (spec-api.md §10.8, §12.3, §12.4), which `render` and
    /// our webhooks must reproduce rather than fail to decode.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        let mut value = value.clone();
        if let Some(object) = value.as_object_mut()
            && object.get("spec").is_none_or(serde_json::Value::is_null)
        {
            object.insert(
                "spec".to_owned(),
                serde_json::Value::Object(serde_json::Map::new()),
            );
        }
        serde_json::from_value(value)
    }
}

#[cfg(test)]
mod from_json_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cluster_without_spec_reads_as_the_zero_spec() {
        for spec in [None, Some(json!(null))] {
            let mut value = json!({"apiVersion": "multigres.com/v1alpha1",
                "kind": "MultigresCluster", "metadata": {"name": "bare"}});
            if let Some(spec) = spec {
                value["spec"] = spec;
            }
            let cluster = MultigresCluster::from_json(&value).expect("decodes");
            assert_eq!(cluster.spec, MultigresClusterSpec::default());
        }
        let typo = json!({"metadata": {"name": "bare"}, "spec": {"cells": 3}});
        assert!(MultigresCluster::from_json(&typo).is_err());
    }
}
