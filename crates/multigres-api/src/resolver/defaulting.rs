//! Level 4 of the resolution chain: the built-in defaults, filled into whatever is still unset
//! after templates, overrides and inline specs were merged (spec-api.md §10.6).
//!
//! The values live in [`crate::defaults`]; this module only decides which unset field receives
//! which of them, exactly where Go's `default*` helpers do. It never overrides a set field.

use crate::defaults::{self, DefaultResources, resources_are_zero};
use crate::v1alpha1::{
    BackupConfig, BackupType, EtcdSpec, ExternalTopoServerSpec, FilesystemBackupConfig, PoolSpec,
    StatelessSpec,
};

/// Go `defaultStatelessSpec`: replicas and (zero) resources.
pub fn default_stateless_spec(
    spec: &mut StatelessSpec,
    resources: DefaultResources,
    replicas: i32,
) {
    spec.replicas.get_or_insert(replicas);
    if resources_are_zero(&spec.resources) {
        spec.resources = resources.to_requirements();
    }
}

/// Go `defaultEtcdSpec`: image, storage size, replicas, root path and resources. The storage
/// class and access modes are never defaulted.
pub fn default_etcd_spec(spec: &mut EtcdSpec, root_path: &str) {
    if spec.image.is_empty() {
        spec.image = defaults::ETCD_IMAGE.into();
    }
    if spec.storage.size.is_empty() {
        spec.storage.size = defaults::ETCD_STORAGE_SIZE.to_owned();
    }
    spec.replicas.get_or_insert(defaults::ETCD_REPLICAS);
    if spec.root_path.is_empty() {
        spec.root_path = root_path.to_owned();
    }
    if resources_are_zero(&spec.resources) {
        spec.resources = defaults::ETCD_RESOURCES.to_requirements();
    }
}

/// Go `defaultExternalTopoSpec`: implementation and root path.
pub fn default_external_topo_spec(spec: &mut ExternalTopoServerSpec, root_path: &str) {
    if spec.implementation.is_empty() {
        spec.implementation = defaults::TOPO_IMPLEMENTATION.to_owned();
    }
    if spec.root_path.is_empty() {
        spec.root_path = root_path.to_owned();
    }
}

/// Go `defaultPoolSpec`: replicas per cell, storage size and the two containers' resources.
/// `type`, `cells`, class, access modes, affinity, tolerations, fsGroup and the PVC policy are
/// left alone.
pub fn default_pool_spec(pool: &mut PoolSpec) {
    pool.replicas_per_cell
        .get_or_insert(defaults::POOL_REPLICAS_PER_CELL);
    if pool.storage.size.is_empty() {
        pool.storage.size = defaults::POOL_STORAGE_SIZE.to_owned();
    }
    if resources_are_zero(&pool.postgres.resources) {
        pool.postgres.resources = defaults::POSTGRES_RESOURCES.to_requirements();
    }
    if resources_are_zero(&pool.multipooler.resources) {
        pool.multipooler.resources = defaults::MULTIPOOLER_RESOURCES.to_requirements();
    }
}

/// Go `defaultBackupConfig`: a filesystem backup gets its path and volume size. S3 backups are
/// not defaulted. (Go also defaults an empty type to `filesystem`; ours cannot be empty.)
pub fn default_backup_config(config: &mut BackupConfig) {
    if config.type_ != BackupType::Filesystem {
        return;
    }
    let filesystem = config
        .filesystem
        .get_or_insert_with(FilesystemBackupConfig::default);
    if filesystem.path.is_empty() {
        filesystem.path = defaults::BACKUP_PATH.to_owned();
    }
    if filesystem.storage.size.is_empty() {
        filesystem.storage.size = defaults::BACKUP_STORAGE_SIZE.to_owned();
    }
}

/// The backup every level leaves unset: `{type: filesystem, filesystem: {path: /backups,
/// storage: {size: 10Gi}}}` (Go `PopulateClusterDefaults` step 6 and `ResolveShard` step 4).
pub fn default_backup() -> BackupConfig {
    let mut backup = BackupConfig::default();
    default_backup_config(&mut backup);
    backup
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1alpha1::{ContainerConfig, EndpointUrl, S3BackupConfig, StorageSpec};
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use pretty_assertions::assert_eq;
    use std::collections::BTreeMap;

    #[test]
    fn stateless_defaults_fill_only_unset_fields() {
        let mut empty = StatelessSpec::default();
        default_stateless_spec(&mut empty, defaults::MULTIADMIN_RESOURCES, 1);
        assert_eq!(
            empty,
            StatelessSpec {
                replicas: Some(1),
                resources: defaults::MULTIADMIN_RESOURCES.to_requirements(),
                ..StatelessSpec::default()
            }
        );

        let claims_only = ResourceRequirements {
            claims: Some(Vec::new()),
            ..ResourceRequirements::default()
        };
        let mut set = StatelessSpec {
            replicas: Some(0),
            resources: claims_only.clone(),
            ..StatelessSpec::default()
        };
        default_stateless_spec(&mut set, defaults::MULTIADMIN_RESOURCES, 1);
        assert_eq!(
            set,
            StatelessSpec {
                replicas: Some(0),
                resources: claims_only,
                ..StatelessSpec::default()
            }
        );
    }

    #[test]
    fn etcd_defaults() {
        let mut etcd = EtcdSpec::default();
        default_etcd_spec(&mut etcd, "/multigres/global");
        assert_eq!(
            etcd,
            EtcdSpec {
                image: "gcr.io/etcd-development/etcd:v3.6.7".into(),
                replicas: Some(3),
                storage: StorageSpec {
                    size: "1Gi".to_owned(),
                    ..StorageSpec::default()
                },
                resources: defaults::ETCD_RESOURCES.to_requirements(),
                root_path: "/multigres/global".to_owned(),
                pvc_deletion_policy: None,
            }
        );
        let custom = EtcdSpec {
            image: "mine".into(),
            replicas: Some(1),
            storage: StorageSpec {
                size: "5Gi".to_owned(),
                class: "fast".to_owned(),
                access_modes: Vec::new(),
            },
            resources: ResourceRequirements {
                limits: Some(BTreeMap::new()),
                ..ResourceRequirements::default()
            },
            root_path: "/mine".to_owned(),
            pvc_deletion_policy: None,
        };
        let mut defaulted = custom.clone();
        default_etcd_spec(&mut defaulted, "/multigres/global");
        assert_eq!(defaulted, custom);
    }

    #[test]
    fn external_topo_defaults() {
        let mut external = ExternalTopoServerSpec {
            endpoints: vec![EndpointUrl::new("http://etcd:2379")],
            ..ExternalTopoServerSpec::default()
        };
        default_external_topo_spec(&mut external, "/multigres/global");
        assert_eq!(
            (
                external.implementation.as_str(),
                external.root_path.as_str()
            ),
            ("etcd", "/multigres/global")
        );
    }

    #[test]
    fn pool_defaults() {
        let mut pool = PoolSpec::default();
        default_pool_spec(&mut pool);
        assert_eq!(
            pool,
            PoolSpec {
                replicas_per_cell: Some(3),
                storage: StorageSpec {
                    size: "1Gi".to_owned(),
                    ..StorageSpec::default()
                },
                postgres: ContainerConfig {
                    resources: defaults::POSTGRES_RESOURCES.to_requirements()
                },
                multipooler: ContainerConfig {
                    resources: defaults::MULTIPOOLER_RESOURCES.to_requirements()
                },
                ..PoolSpec::default()
            }
        );
    }

    #[test]
    fn backup_defaults_only_touch_filesystem() {
        assert_eq!(
            serde_json::to_value(default_backup()).expect("serializes"),
            serde_json::json!({
                "type": "filesystem",
                "filesystem": {"path": "/backups", "storage": {"size": "10Gi"}}
            })
        );
        let s3 = BackupConfig {
            type_: BackupType::S3,
            s3: Some(S3BackupConfig::default()),
            ..BackupConfig::default()
        };
        let mut defaulted = s3.clone();
        default_backup_config(&mut defaulted);
        assert_eq!(defaulted, s3);
    }
}
