//! Every built-in default of the operator in one place (spec-api.md §10.2, with the ports of
//! spec-controllers.md §2.5–§7.4).
//!
//! These are Level 4 of the resolver (§10.1): applied only to fields still unset after inline
//! spec, overrides and templates. Images and ports also feed the pool pod spec hash, so a changed
//! value here restarts every pod of a cluster taken over from the Go operator: each constant
//! names the Go constant or literal it mirrors and a test pins its value.
//!
//! Pure: constants and small constructors only. Deciding *when* a default applies is the
//! resolver's job, not this module's.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

// --- Images (Go `api/v1alpha1/image_defaults.go`) --------------------------------------------

/// Go `DefaultPostgresImage`: pgctld bundling PostgreSQL, pgctld and pgBackRest.
pub const POSTGRES_IMAGE: &str = "ghcr.io/multigres/pgctld:sha-d782aa0";
/// Go `DefaultEtcdImage`.
pub const ETCD_IMAGE: &str = "gcr.io/etcd-development/etcd:v3.6.7";
/// Go `DefaultMultiAdminImage`.
pub const MULTIADMIN_IMAGE: &str = "ghcr.io/multigres/multigres:sha-d782aa0";
/// Go `DefaultMultiAdminWebImage`.
pub const MULTIADMIN_WEB_IMAGE: &str = "ghcr.io/multigres/multiadmin-web:sha-d7be6e4";
/// Go `DefaultMultiOrchImage`.
pub const MULTIORCH_IMAGE: &str = "ghcr.io/multigres/multigres:sha-d782aa0";
/// Go `DefaultMultiPoolerImage`.
pub const MULTIPOOLER_IMAGE: &str = "ghcr.io/multigres/multigres:sha-d782aa0";
/// Go `DefaultMultiGatewayImage`.
pub const MULTIGATEWAY_IMAGE: &str = "ghcr.io/multigres/multigres:sha-d782aa0";
/// Go `DefaultPostgresExporterImage`: not in the CRD, the shard controller uses it directly.
pub const POSTGRES_EXPORTER_IMAGE: &str = "quay.io/prometheuscommunity/postgres-exporter:v0.18.1";
/// Go `DefaultImagePullPolicy`, for `spec.images.imagePullPolicy`.
pub const IMAGE_PULL_POLICY: &str = "IfNotPresent";

// --- Replicas (Go `pkg/resolver/defaults.go` and resolver literals) --------------------------

/// Go `DefaultEtcdReplicas`.
pub const ETCD_REPLICAS: i32 = 3;
/// Go `DefaultAdminReplicas` (multiadmin).
pub const MULTIADMIN_REPLICAS: i32 = 1;
/// Go `DefaultMultiAdminWebReplicas`.
pub const MULTIADMIN_WEB_REPLICAS: i32 = 1;
/// Literal `1` in Go `ResolveCell`: multigateway replicas per cell.
pub const MULTIGATEWAY_REPLICAS: i32 = 1;
/// Literal `1` in Go `ResolveShard`: multiorch replicas per cell.
pub const MULTIORCH_REPLICAS: i32 = 1;
/// Literal `3` in Go `defaultPoolSpec`: pool `replicasPerCell`.
pub const POOL_REPLICAS_PER_CELL: i32 = 3;

// --- Names and paths -------------------------------------------------------------------------

/// Go `FallbackCoreTemplate`: the implicit namespace-default CoreTemplate (Level 3).
pub const FALLBACK_CORE_TEMPLATE: &str = "default";
/// Go `FallbackCellTemplate`.
pub const FALLBACK_CELL_TEMPLATE: &str = "default";
/// Go `FallbackShardTemplate`.
pub const FALLBACK_SHARD_TEMPLATE: &str = "default";
/// Go `DefaultPoolName`: the pool created when a shard resolves to no pools.
pub const POOL_NAME: &str = "default";
/// Literal `readWrite`: the type of the injected default pool.
pub const POOL_TYPE: &str = "readWrite";
/// Go `DefaultSystemDatabaseName`: the database injected when none is given.
pub const SYSTEM_DATABASE_NAME: &str = "postgres";
/// Go `DefaultSystemTableGroupName`: the tablegroup injected into a database without one.
pub const SYSTEM_TABLE_GROUP_NAME: &str = "default";
/// Literal `0-inf`: the shard injected into a tablegroup without one.
pub const SHARD_NAME: &str = "0-inf";
/// Go `DefaultTopoRootPath`: root path of the global etcd or external topology.
pub const TOPO_ROOT_PATH: &str = "/multigres/global";
/// Go `DefaultTopoImplementation`: `implementation` of an external topology.
pub const TOPO_IMPLEMENTATION: &str = "etcd";
/// Go `DefaultBackupPath`: the filesystem backup path.
pub const BACKUP_PATH: &str = "/backups";
/// Literal `filesystem`: the backup type when the cluster sets none.
pub const BACKUP_TYPE: &str = "filesystem";
/// Go `DefaultDurabilityPolicy`, for `spec.durabilityPolicy`.
pub const DURABILITY_POLICY: &str = "AT_LEAST_2";
/// Go `DefaultLogLevel`, for each `spec.logLevels.*`.
pub const LOG_LEVEL: &str = "info";
/// CRD default of `spec.postgresSuperuser` (also the controller's fallback for `POSTGRES_USER`).
pub const POSTGRES_SUPERUSER: &str = "postgres";
/// CRD default of `observability.samplingConfigRef.key`.
pub const SAMPLING_CONFIG_KEY: &str = "sampling-config.yaml";
/// `topologyPruning` nil ⇒ `{enabled: true}` (Go `PopulateClusterDefaults`).
pub const TOPOLOGY_PRUNING_ENABLED: bool = true;
/// `pvcDeletionPolicy.whenDeleted` of a cluster without a policy (CRD default and
/// `PopulateClusterDefaults`).
pub const PVC_WHEN_DELETED: &str = "Retain";
/// `pvcDeletionPolicy.whenScaled` of a cluster without a policy; also the shard controller's
/// fallback when the merged policy leaves it unset.
pub const PVC_WHEN_SCALED: &str = "Delete";

/// Go `fmt.Sprintf("/multigres/%s", cellName)` in `ResolveCell`: a cell-local topology root.
pub fn cell_topo_root_path(cell: &str) -> String {
    format!("/multigres/{cell}")
}

// --- Storage ----------------------------------------------------------------------------------

/// Go `DefaultEtcdStorageSize`: etcd storage **and** pool storage (the resolver reuses it).
pub const ETCD_STORAGE_SIZE: &str = "1Gi";
/// Pool data storage size: Go reuses `DefaultEtcdStorageSize` (spec-api.md §17.1).
pub const POOL_STORAGE_SIZE: &str = ETCD_STORAGE_SIZE;
/// Go `DefaultBackupStorageSize`: the filesystem backup PVC.
pub const BACKUP_STORAGE_SIZE: &str = "10Gi";
/// Access mode of data, backup and etcd PVCs that name none.
pub const ACCESS_MODE: &str = "ReadWriteOnce";

/// Fallbacks inside the controllers that differ from the resolver. They are unreachable with
/// resolved specs but decide the objects built from a hand-written child CR (§10.2 last
/// paragraph), so they are kept apart from the resolver defaults above.
pub mod controller_fallbacks {
    /// Shard controller `DefaultPoolReplicas`: pool replicas per cell when unset.
    pub const POOL_REPLICAS_PER_CELL: i32 = 1;
    /// Shard controller `DefaultDataVolumeSize`: data PVC size when unset.
    pub const DATA_VOLUME_SIZE: &str = "1Gi";
    /// TableGroup `calculateTotalReplicas`: replicas per cell of a pool without a value.
    pub const TABLE_GROUP_POOL_REPLICAS_PER_CELL: i32 = 1;
    /// Multigateway controller `DefaultMultiGatewayReplicas`.
    pub const MULTIGATEWAY_REPLICAS: i32 = 1;
    /// TopoServer controller `DefaultReplicas`: etcd StatefulSet replicas when unset.
    pub const ETCD_REPLICAS: i32 = 3;
    /// TopoServer controller `DefaultStorageSize`: etcd volume size when unset (10Gi, not the
    /// resolver's 1Gi).
    pub const ETCD_STORAGE_SIZE: &str = "10Gi";
    /// Backup PVC builder default size.
    pub const BACKUP_STORAGE_SIZE: &str = "10Gi";
    /// Multiorch Deployment replicas when unset (`multiorch.replicas or 1`).
    pub const MULTIORCH_REPLICAS: i32 = 1;
}

// --- Ports (spec-controllers.md §2.5, §2.6, §4.2, §5, §7.3, §7.4) -----------------------------

/// multiadmin `--http-port` and container/Service port `http`.
pub const MULTIADMIN_HTTP_PORT: i32 = 18000;
/// multiadmin `--grpc-port` and port `grpc`.
pub const MULTIADMIN_GRPC_PORT: i32 = 18070;
/// multiadmin-web port `http`.
pub const MULTIADMIN_WEB_HTTP_PORT: i32 = 18100;
/// multigateway `--http-port` and port `http`.
pub const MULTIGATEWAY_HTTP_PORT: i32 = 15100;
/// multigateway `--grpc-port` and port `grpc`.
pub const MULTIGATEWAY_GRPC_PORT: i32 = 15170;
/// multigateway `--pg-replica-port` and port `pg-replica` (global replica Service).
pub const MULTIGATEWAY_PG_REPLICA_PORT: i32 = 5433;
/// multiorch `--http-port` and port `http`.
pub const MULTIORCH_HTTP_PORT: i32 = 15300;
/// multiorch `--grpc-port` and port `grpc`.
pub const MULTIORCH_GRPC_PORT: i32 = 15370;
/// multipooler `--http-port` and port `http`.
pub const MULTIPOOLER_HTTP_PORT: i32 = 15200;
/// multipooler `--grpc-port` and port `grpc`.
pub const MULTIPOOLER_GRPC_PORT: i32 = 15270;
/// pgctld `--http-port` (probes of the postgres container).
pub const PGCTLD_HTTP_PORT: i32 = 15400;
/// pgctld `--grpc-port` (`--pgctld-addr=localhost:15470` of multipooler).
pub const PGCTLD_GRPC_PORT: i32 = 15470;
/// pgctld `--pgbackrest-port` when backups are configured.
pub const PGBACKREST_PORT: i32 = 8432;
/// PostgreSQL port: `--pg-port`, the `postgres` ports of pools and gateways.
pub const POSTGRES_PORT: i32 = 5432;
/// postgres-exporter `--web.listen-address` and port `metrics`.
pub const POSTGRES_EXPORTER_PORT: i32 = 9187;
/// etcd client port (`client`, and the `:2379` of the global topo address).
pub const ETCD_CLIENT_PORT: i32 = 2379;
/// etcd peer port (`peer`).
pub const ETCD_PEER_PORT: i32 = 2380;
/// etcd metrics port (`metrics`, the probes' port).
pub const ETCD_METRICS_PORT: i32 = 2381;

// --- Resources (Go `DefaultResources*`; no CPU limits anywhere) ------------------------------

/// A default `ResourceRequirements` of the Go operator: CPU and memory requests, a memory limit
/// and never a CPU limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultResources {
    pub cpu_request: &'static str,
    pub memory_request: &'static str,
    pub memory_limit: &'static str,
}

impl DefaultResources {
    /// The Kubernetes value, as Go's builders write it: `limits` and `requests` only, no
    /// `claims`.
    pub fn to_requirements(&self) -> ResourceRequirements {
        let quantities = |pairs: &[(&str, &str)]| -> BTreeMap<String, Quantity> {
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), Quantity((*value).to_owned())))
                .collect()
        };
        ResourceRequirements {
            claims: None,
            limits: Some(quantities(&[("memory", self.memory_limit)])),
            requests: Some(quantities(&[
                ("cpu", self.cpu_request),
                ("memory", self.memory_request),
            ])),
        }
    }
}

/// Go `DefaultResourcesAdmin` (multiadmin).
pub const MULTIADMIN_RESOURCES: DefaultResources = DefaultResources {
    cpu_request: "100m",
    memory_request: "128Mi",
    memory_limit: "256Mi",
};
/// Go `DefaultResourcesAdminWeb` (multiadmin-web).
pub const MULTIADMIN_WEB_RESOURCES: DefaultResources = DefaultResources {
    cpu_request: "50m",
    memory_request: "64Mi",
    memory_limit: "128Mi",
};
/// Go `DefaultResourcesEtcd`.
pub const ETCD_RESOURCES: DefaultResources = DefaultResources {
    cpu_request: "100m",
    memory_request: "256Mi",
    memory_limit: "512Mi",
};
/// Go `DefaultResourcesGateway` (multigateway).
pub const MULTIGATEWAY_RESOURCES: DefaultResources = DefaultResources {
    cpu_request: "100m",
    memory_request: "128Mi",
    memory_limit: "256Mi",
};
/// Go `DefaultResourcesOrch` (multiorch).
pub const MULTIORCH_RESOURCES: DefaultResources = DefaultResources {
    cpu_request: "50m",
    memory_request: "64Mi",
    memory_limit: "128Mi",
};
/// Go `DefaultResourcesPostgres` (pool postgres container).
pub const POSTGRES_RESOURCES: DefaultResources = DefaultResources {
    cpu_request: "100m",
    memory_request: "256Mi",
    memory_limit: "512Mi",
};
/// Go `DefaultResourcesPooler` (pool multipooler container).
pub const MULTIPOOLER_RESOURCES: DefaultResources = DefaultResources {
    cpu_request: "100m",
    memory_request: "128Mi",
    memory_limit: "256Mi",
};

/// Go `isResourcesZero` (§10.3): true iff `requests`, `limits` and `claims` are all absent. A
/// present but empty map is not zero, so `resources: {requests: {}}` suppresses the defaults.
pub fn resources_are_zero(resources: &ResourceRequirements) -> bool {
    resources.requests.is_none() && resources.limits.is_none() && resources.claims.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn images_are_pinned() {
        assert_eq!(
            [
                POSTGRES_IMAGE,
                ETCD_IMAGE,
                MULTIADMIN_IMAGE,
                MULTIADMIN_WEB_IMAGE,
                MULTIORCH_IMAGE,
                MULTIPOOLER_IMAGE,
                MULTIGATEWAY_IMAGE,
                POSTGRES_EXPORTER_IMAGE,
                IMAGE_PULL_POLICY,
            ],
            [
                "ghcr.io/multigres/pgctld:sha-d782aa0",
                "gcr.io/etcd-development/etcd:v3.6.7",
                "ghcr.io/multigres/multigres:sha-d782aa0",
                "ghcr.io/multigres/multiadmin-web:sha-d7be6e4",
                "ghcr.io/multigres/multigres:sha-d782aa0",
                "ghcr.io/multigres/multigres:sha-d782aa0",
                "ghcr.io/multigres/multigres:sha-d782aa0",
                "quay.io/prometheuscommunity/postgres-exporter:v0.18.1",
                "IfNotPresent",
            ]
        );
    }

    #[test]
    fn replicas_are_pinned() {
        assert_eq!(
            [
                ETCD_REPLICAS,
                MULTIADMIN_REPLICAS,
                MULTIADMIN_WEB_REPLICAS,
                MULTIGATEWAY_REPLICAS,
                MULTIORCH_REPLICAS,
                POOL_REPLICAS_PER_CELL,
            ],
            [3, 1, 1, 1, 1, 3]
        );
    }

    #[test]
    fn names_paths_and_policies_are_pinned() {
        assert_eq!(
            [
                FALLBACK_CORE_TEMPLATE,
                FALLBACK_CELL_TEMPLATE,
                FALLBACK_SHARD_TEMPLATE,
                POOL_NAME,
                POOL_TYPE,
                SYSTEM_DATABASE_NAME,
                SYSTEM_TABLE_GROUP_NAME,
                SHARD_NAME,
                TOPO_ROOT_PATH,
                TOPO_IMPLEMENTATION,
                BACKUP_PATH,
                BACKUP_TYPE,
                DURABILITY_POLICY,
                LOG_LEVEL,
                POSTGRES_SUPERUSER,
                SAMPLING_CONFIG_KEY,
                PVC_WHEN_DELETED,
                PVC_WHEN_SCALED,
            ],
            [
                "default",
                "default",
                "default",
                "default",
                "readWrite",
                "postgres",
                "default",
                "0-inf",
                "/multigres/global",
                "etcd",
                "/backups",
                "filesystem",
                "AT_LEAST_2",
                "info",
                "postgres",
                "sampling-config.yaml",
                "Retain",
                "Delete",
            ]
        );
        assert_eq!(
            (TOPOLOGY_PRUNING_ENABLED, cell_topo_root_path("zone-b")),
            (true, "/multigres/zone-b".to_owned())
        );
    }

    #[test]
    fn storage_sizes_are_pinned() {
        assert_eq!(
            [
                ETCD_STORAGE_SIZE,
                POOL_STORAGE_SIZE,
                BACKUP_STORAGE_SIZE,
                ACCESS_MODE
            ],
            ["1Gi", "1Gi", "10Gi", "ReadWriteOnce"]
        );
    }

    #[test]
    fn controller_fallbacks_are_pinned() {
        use controller_fallbacks as f;
        assert_eq!(
            [
                f::POOL_REPLICAS_PER_CELL,
                f::TABLE_GROUP_POOL_REPLICAS_PER_CELL,
                f::MULTIGATEWAY_REPLICAS,
                f::ETCD_REPLICAS,
                f::MULTIORCH_REPLICAS,
            ],
            [1, 1, 1, 3, 1]
        );
        assert_eq!(
            [
                f::DATA_VOLUME_SIZE,
                f::ETCD_STORAGE_SIZE,
                f::BACKUP_STORAGE_SIZE
            ],
            ["1Gi", "10Gi", "10Gi"]
        );
    }

    #[test]
    fn ports_are_pinned() {
        assert_eq!(
            [
                MULTIADMIN_HTTP_PORT,
                MULTIADMIN_GRPC_PORT,
                MULTIADMIN_WEB_HTTP_PORT,
                MULTIGATEWAY_HTTP_PORT,
                MULTIGATEWAY_GRPC_PORT,
                MULTIGATEWAY_PG_REPLICA_PORT,
                MULTIORCH_HTTP_PORT,
                MULTIORCH_GRPC_PORT,
                MULTIPOOLER_HTTP_PORT,
                MULTIPOOLER_GRPC_PORT,
                PGCTLD_HTTP_PORT,
                PGCTLD_GRPC_PORT,
                PGBACKREST_PORT,
                POSTGRES_PORT,
                POSTGRES_EXPORTER_PORT,
                ETCD_CLIENT_PORT,
                ETCD_PEER_PORT,
                ETCD_METRICS_PORT,
            ],
            [
                18000, 18070, 18100, 15100, 15170, 5433, 15300, 15370, 15200, 15270, 15400, 15470,
                8432, 5432, 9187, 2379, 2380, 2381
            ]
        );
        // The scrape annotation names the exporter port.
        assert_eq!(
            crate::labels::PROMETHEUS_PORT,
            POSTGRES_EXPORTER_PORT.to_string()
        );
    }

    #[test]
    fn resources_are_pinned() {
        let table = [
            MULTIADMIN_RESOURCES,
            MULTIADMIN_WEB_RESOURCES,
            ETCD_RESOURCES,
            MULTIGATEWAY_RESOURCES,
            MULTIORCH_RESOURCES,
            POSTGRES_RESOURCES,
            MULTIPOOLER_RESOURCES,
        ]
        .map(|r| (r.cpu_request, r.memory_request, r.memory_limit));
        assert_eq!(
            table,
            [
                ("100m", "128Mi", "256Mi"),
                ("50m", "64Mi", "128Mi"),
                ("100m", "256Mi", "512Mi"),
                ("100m", "128Mi", "256Mi"),
                ("50m", "64Mi", "128Mi"),
                ("100m", "256Mi", "512Mi"),
                ("100m", "128Mi", "256Mi"),
            ]
        );
    }

    #[test]
    fn default_resources_serialize_like_go() {
        assert_eq!(
            serde_json::to_string(&POSTGRES_RESOURCES.to_requirements())
                .expect("resources serialize"),
            r#"{"limits":{"memory":"512Mi"},"requests":{"cpu":"100m","memory":"256Mi"}}"#
        );
    }

    #[test]
    fn only_absent_maps_make_resources_zero() {
        assert!(resources_are_zero(&ResourceRequirements::default()));
        let empty_requests = ResourceRequirements {
            requests: Some(BTreeMap::new()),
            ..ResourceRequirements::default()
        };
        assert!(!resources_are_zero(&empty_requests));
        let claims_only = ResourceRequirements {
            claims: Some(Vec::new()),
            ..ResourceRequirements::default()
        };
        assert!(!resources_are_zero(&claims_only));
    }
}
