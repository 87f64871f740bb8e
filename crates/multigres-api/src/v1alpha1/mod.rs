//! `multigres.com/v1alpha1`: every custom resource kind of the Multigres operator and the types
//! they embed (spec-api.md §1–§8), with the CEL rules of §9 attached where the Go CRD has them.
//!
//! The JSON produced by these types matches Go's `encoding/json` output for the same objects:
//! pointers, strings, slices and maps are left out when empty, value structs are always written,
//! and nothing is ever `null`. Defaulting, resolution and validation beyond the schema live
//! elsewhere; these modules only define shapes.

mod backup;
mod cell;
mod component_specs;
mod constrained_strings;
mod kubernetes_schema;
mod multigres_cluster;
mod observability;
mod omit;
mod shard;
mod table_group;
mod templates;
mod topo_server;

pub use backup::{
    BackupConfig, BackupType, FilesystemBackupConfig, PgBackRestTlsConfig, S3BackupConfig,
};
pub use cell::{Cell, CellImages, CellSpec, CellStatus, TopologyReconciliation};
pub use component_specs::{
    ComponentLogLevels, ContainerConfig, ImagePullPolicy, LogLevel, Phase, PodPlacementSpec,
    PoolType, PostgresConfigRef, PvcDeletionPolicy, PvcRetentionPolicyType, StatelessSpec,
    StorageSpec, TopologyPruningConfig,
};
pub use constrained_strings::{
    CellName, DNS_LABEL_PATTERN, DatabaseName, EndpointUrl, IP_ADDRESS_PATTERN, ImageRef,
    InitdbArgs, IpAddress, PoolName, Region, ShardName, TableGroupName, TemplateRef, Zone,
};
pub use multigres_cluster::{
    AdminWebStatus, CellConfig, CellInlineSpec, CellOverrides, CellStatusSummary, ClusterImages,
    DatabaseConfig, DatabaseStatusSummary, ExternalAdminWebConfig, ExternalGatewayConfig,
    GatewayStatus, MultiAdminConfig, MultiAdminWebConfig, MultigresCluster, MultigresClusterSpec,
    MultigresClusterStatus, ResolvedTemplates, ShardConfig, ShardInlineSpec, ShardOverrides,
    TableGroupConfig, TemplateDefaults,
};
pub use observability::{
    HistogramAggregation, MetricsTemporality, ObservabilityConfig, OtlpProtocol, SamplingConfigRef,
    TelemetryExporter,
};
pub use shard::{
    LastBackupType, MultiOrchSpec, PoolSpec, Shard, ShardImages, ShardSpec, ShardStatus,
};
pub use table_group::{ShardResolvedSpec, TableGroup, TableGroupSpec, TableGroupStatus};
pub use templates::{
    CellTemplate, CellTemplateSpec, CoreTemplate, CoreTemplateSpec, ShardTemplate,
    ShardTemplateSpec,
};
pub use topo_server::{
    EtcdSpec, ExternalTopoServerSpec, GlobalTopoServerRef, GlobalTopoServerSpec,
    LocalTopoServerSpec, TopoServer, TopoServerSpec, TopoServerStatus,
};
