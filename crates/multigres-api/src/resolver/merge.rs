//! Merge primitives: how a higher-precedence level (overrides, inline spec, a lower level of the
//! backup and PVC-policy chains) is laid over a lower one (spec-api.md §10.5, §2.18).
//!
//! The rules, exactly as Go applies them:
//! - scalars and strings override when non-empty, pointers when non-nil;
//! - lists replace when non-empty, never append;
//! - string maps (`podAnnotations`, `podLabels`) are a key-wise union, the override winning;
//! - pool maps are keyed: each key merges with [`merge_pool_spec`], new keys are added as given;
//! - structured Kubernetes objects (affinity, resources, placement) replace as a whole, and
//!   resources only when "not zero" (§10.3: any of `requests`, `limits`, `claims` present).
//!
//! Nothing can be unset by an override. These functions never fill built-in defaults (that is
//! `defaulting`) and never look templates up (that is `lookup`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;

use crate::defaults::resources_are_zero;
use crate::v1alpha1::{
    BackupConfig, BackupType, EtcdSpec, FilesystemBackupConfig, MultiOrchSpec, PodPlacementSpec,
    PoolName, PoolSpec, PvcDeletionPolicy, PvcRetentionPolicyType, S3BackupConfig, StatelessSpec,
    StorageSpec,
};

/// Go `mergeStatelessSpec`: replicas, resources (if not zero) and affinity replace; pod
/// annotations and labels are merged key by key.
pub fn merge_stateless_spec(base: &mut StatelessSpec, over: &StatelessSpec) {
    if over.replicas.is_some() {
        base.replicas = over.replicas;
    }
    merge_resources(&mut base.resources, &over.resources);
    if over.affinity.is_some() {
        base.affinity.clone_from(&over.affinity);
    }
    union_strings(&mut base.pod_annotations, &over.pod_annotations);
    union_strings(&mut base.pod_labels, &over.pod_labels);
}

/// Go `mergePodPlacementSpec`: a present placement replaces the base one as a whole (tolerations
/// are not merged).
pub fn merge_pod_placement(base: &mut Option<PodPlacementSpec>, over: Option<&PodPlacementSpec>) {
    if let Some(over) = over {
        *base = Some(over.clone());
    }
}

/// Go `mergeEtcdSpec`.
pub fn merge_etcd_spec(base: &mut EtcdSpec, over: &EtcdSpec) {
    if !over.image.is_empty() {
        base.image.clone_from(&over.image);
    }
    if over.replicas.is_some() {
        base.replicas = over.replicas;
    }
    merge_storage(&mut base.storage, &over.storage);
    merge_resources(&mut base.resources, &over.resources);
    if !over.root_path.is_empty() {
        base.root_path.clone_from(&over.root_path);
    }
    if over.pvc_deletion_policy.is_some() {
        base.pvc_deletion_policy = merge_pvc_deletion_policy(
            over.pvc_deletion_policy.as_ref(),
            base.pvc_deletion_policy.as_ref(),
        );
    }
}

/// Go `mergeMultiOrchSpec`: the stateless part merges, the placement replaces, and a non-empty
/// cell list replaces.
pub fn merge_multiorch_spec(base: &mut MultiOrchSpec, over: &MultiOrchSpec) {
    merge_stateless_spec(&mut base.stateless, &over.stateless);
    merge_pod_placement(&mut base.placement, over.placement.as_ref());
    if !over.cells.is_empty() {
        base.cells.clone_from(&over.cells);
    }
}

/// Go `mergePoolSpec`: a new pool, `base` with every set field of `over` laid on it.
pub fn merge_pool_spec(base: &PoolSpec, over: &PoolSpec) -> PoolSpec {
    let mut merged = base.clone();
    if over.type_.is_some() {
        merged.type_ = over.type_;
    }
    if !over.cells.is_empty() {
        merged.cells.clone_from(&over.cells);
    }
    if over.replicas_per_cell.is_some() {
        merged.replicas_per_cell = over.replicas_per_cell;
    }
    merge_storage(&mut merged.storage, &over.storage);
    merge_resources(&mut merged.postgres.resources, &over.postgres.resources);
    merge_resources(
        &mut merged.multipooler.resources,
        &over.multipooler.resources,
    );
    if over.affinity.is_some() {
        merged.affinity.clone_from(&over.affinity);
    }
    if !over.tolerations.is_empty() {
        merged.tolerations.clone_from(&over.tolerations);
    }
    if over.fs_group.is_some() {
        merged.fs_group = over.fs_group;
    }
    if over.pvc_deletion_policy.is_some() {
        merged.pvc_deletion_policy = merge_pvc_deletion_policy(
            over.pvc_deletion_policy.as_ref(),
            merged.pvc_deletion_policy.as_ref(),
        );
    }
    merged
}

/// The keyed pool merge of `mergeShardConfig`: a pool of the same name merges, a new one is
/// added as given.
pub fn merge_pools(base: &mut BTreeMap<PoolName, PoolSpec>, over: &BTreeMap<PoolName, PoolSpec>) {
    for (name, pool) in over {
        let merged = match base.get(name) {
            Some(existing) => merge_pool_spec(existing, pool),
            None => pool.clone(),
        };
        base.insert(name.clone(), merged);
    }
}

/// Go `MergePVCDeletionPolicy(child, parent)` (spec-api.md §2.18) with deliberate fix 4
/// (docs/compatibility.md "`pvcDeletionPolicy` is never less safe than Go"): every edge of a
/// policy chain, lower level over higher and inline section over template, goes through here.
///
/// * No child: the parent's policy, as in Go.
/// * `whenScaled` the child leaves unset inherits the parent's. Go's API server would have
///   written the CRD default `Delete` there, so inheriting can only keep a volume Go deletes.
/// * `whenDeleted` the child leaves unset is `Retain`, the CRD default Go's API server writes
///   into every policy object. Inheriting a parent's `Delete` here would delete volumes Go keeps.
pub fn merge_pvc_deletion_policy(
    child: Option<&PvcDeletionPolicy>,
    parent: Option<&PvcDeletionPolicy>,
) -> Option<PvcDeletionPolicy> {
    let Some(child) = child else {
        return parent.cloned();
    };
    Some(PvcDeletionPolicy {
        when_deleted: Some(child.when_deleted.unwrap_or(PvcRetentionPolicyType::Retain)),
        when_scaled: child.when_scaled.or(parent.and_then(|p| p.when_scaled)),
    })
}

/// Go `MergeBackupConfig(child, parent)` (spec-api.md §2.18), used down the chain cluster →
/// database → table group → shard.
///
/// A child of another backend replaces the parent as a whole; one of the same backend overrides
/// the parent's fields that it sets. `useEnvCredentials` is the exception Go makes: a child `s3`
/// block always carries its own value, so omitting it resets the flag to false.
pub fn merge_backup_config(
    child: Option<&BackupConfig>,
    parent: Option<&BackupConfig>,
) -> Option<BackupConfig> {
    let (child, parent) = match (child, parent) {
        (None, None) => return None,
        (None, Some(parent)) => return Some(parent.clone()),
        (Some(child), None) => return Some(child.clone()),
        (Some(child), Some(parent)) => (child, parent),
    };
    // Go compares a possibly empty type string; ours is required by the schema, so a child always
    // names its backend.
    if child.type_ != parent.type_ {
        return Some(child.clone());
    }
    let mut merged = parent.clone();
    match merged.type_ {
        BackupType::Filesystem => {
            let filesystem = merged
                .filesystem
                .get_or_insert_with(FilesystemBackupConfig::default);
            if let Some(over) = &child.filesystem {
                if !over.path.is_empty() {
                    filesystem.path.clone_from(&over.path);
                }
                merge_storage(&mut filesystem.storage, &over.storage);
            }
        }
        BackupType::S3 => {
            let s3 = merged.s3.get_or_insert_with(S3BackupConfig::default);
            if let Some(over) = &child.s3 {
                for (field, value) in [
                    (&mut s3.bucket, &over.bucket),
                    (&mut s3.region, &over.region),
                    (&mut s3.endpoint, &over.endpoint),
                    (&mut s3.key_prefix, &over.key_prefix),
                    (&mut s3.credentials_secret, &over.credentials_secret),
                    (&mut s3.service_account_name, &over.service_account_name),
                ] {
                    if !value.is_empty() {
                        field.clone_from(value);
                    }
                }
                s3.use_env_credentials = over.use_env_credentials;
            }
        }
    }
    if child.pgbackrest_tls.is_some() {
        merged.pgbackrest_tls.clone_from(&child.pgbackrest_tls);
    }
    Some(merged)
}

/// Storage fields: size and class when non-empty, access modes when the list is non-empty.
fn merge_storage(base: &mut StorageSpec, over: &StorageSpec) {
    if !over.size.is_empty() {
        base.size.clone_from(&over.size);
    }
    if !over.class.is_empty() {
        base.class.clone_from(&over.class);
    }
    if !over.access_modes.is_empty() {
        base.access_modes.clone_from(&over.access_modes);
    }
}

/// Resources replace as a whole, and only when the override is not zero (§10.3).
fn merge_resources(base: &mut ResourceRequirements, over: &ResourceRequirements) {
    if !resources_are_zero(over) {
        *base = over.clone();
    }
}

fn union_strings(base: &mut BTreeMap<String, String>, over: &BTreeMap<String, String>) {
    base.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1alpha1::{
        CellName, ContainerConfig, PgBackRestTlsConfig, PoolType, PvcRetentionPolicyType,
    };
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, Toleration};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use pretty_assertions::assert_eq;

    use PvcRetentionPolicyType::{Delete, Retain};

    fn memory_request(value: &str) -> ResourceRequirements {
        ResourceRequirements {
            requests: Some(BTreeMap::from([(
                "memory".to_owned(),
                Quantity(value.to_owned()),
            )])),
            ..ResourceRequirements::default()
        }
    }

    fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn toleration(key: &str) -> Toleration {
        Toleration {
            key: Some(key.to_owned()),
            operator: Some("Exists".to_owned()),
            ..Toleration::default()
        }
    }

    fn node_affinity() -> Affinity {
        Affinity {
            node_affinity: Some(NodeAffinity::default()),
            ..Affinity::default()
        }
    }

    fn policy(
        when_deleted: Option<PvcRetentionPolicyType>,
        when_scaled: Option<PvcRetentionPolicyType>,
    ) -> PvcDeletionPolicy {
        PvcDeletionPolicy {
            when_deleted,
            when_scaled,
        }
    }

    #[test]
    fn stateless_scalars_and_objects_override_and_maps_union() {
        let mut base = StatelessSpec {
            replicas: Some(3),
            resources: memory_request("1Gi"),
            affinity: None,
            pod_annotations: strings(&[("team", "platform"), ("tier", "base")]),
            pod_labels: strings(&[("size", "large")]),
        };
        let over = StatelessSpec {
            replicas: Some(5),
            resources: memory_request("2Gi"),
            affinity: Some(node_affinity()),
            pod_annotations: strings(&[("tier", "override"), ("owner", "me")]),
            pod_labels: BTreeMap::new(),
        };
        merge_stateless_spec(&mut base, &over);
        assert_eq!(
            base,
            StatelessSpec {
                replicas: Some(5),
                resources: memory_request("2Gi"),
                affinity: Some(node_affinity()),
                pod_annotations: strings(&[
                    ("owner", "me"),
                    ("team", "platform"),
                    ("tier", "override")
                ]),
                pod_labels: strings(&[("size", "large")]),
            }
        );
    }

    #[test]
    fn unset_override_fields_keep_the_base() {
        let base = StatelessSpec {
            replicas: Some(3),
            resources: memory_request("1Gi"),
            affinity: Some(node_affinity()),
            pod_annotations: strings(&[("a", "1")]),
            pod_labels: strings(&[("b", "2")]),
        };
        let mut merged = base.clone();
        merge_stateless_spec(&mut merged, &StatelessSpec::default());
        assert_eq!(merged, base);
    }

    #[test]
    fn present_but_empty_resources_are_not_zero_and_replace() {
        let mut base = StatelessSpec {
            resources: memory_request("1Gi"),
            ..StatelessSpec::default()
        };
        let empty_requests = ResourceRequirements {
            requests: Some(BTreeMap::new()),
            ..ResourceRequirements::default()
        };
        merge_stateless_spec(
            &mut base,
            &StatelessSpec {
                resources: empty_requests.clone(),
                ..StatelessSpec::default()
            },
        );
        assert_eq!(base.resources, empty_requests);
    }

    #[test]
    fn placement_replaces_as_a_whole() {
        let mut base = Some(PodPlacementSpec {
            tolerations: vec![toleration("a"), toleration("b")],
        });
        merge_pod_placement(&mut base, None);
        assert_eq!(
            base,
            Some(PodPlacementSpec {
                tolerations: vec![toleration("a"), toleration("b")]
            })
        );
        let over = PodPlacementSpec {
            tolerations: vec![toleration("c")],
        };
        merge_pod_placement(&mut base, Some(&over));
        assert_eq!(base, Some(over));
    }

    #[test]
    fn etcd_fields_override_when_set() {
        let mut base = EtcdSpec {
            image: "etcd:base".into(),
            replicas: Some(3),
            storage: StorageSpec {
                size: "1Gi".to_owned(),
                class: "standard".to_owned(),
                access_modes: vec!["ReadWriteOnce".to_owned()],
            },
            resources: memory_request("1Gi"),
            root_path: "/base".to_owned(),
            pvc_deletion_policy: Some(policy(Some(Retain), None)),
        };
        merge_etcd_spec(
            &mut base,
            &EtcdSpec {
                replicas: Some(5),
                storage: StorageSpec {
                    class: "fast".to_owned(),
                    ..StorageSpec::default()
                },
                pvc_deletion_policy: Some(policy(Some(Delete), None)),
                ..EtcdSpec::default()
            },
        );
        assert_eq!(
            base,
            EtcdSpec {
                image: "etcd:base".into(),
                replicas: Some(5),
                storage: StorageSpec {
                    size: "1Gi".to_owned(),
                    class: "fast".to_owned(),
                    access_modes: vec!["ReadWriteOnce".to_owned()],
                },
                resources: memory_request("1Gi"),
                root_path: "/base".to_owned(),
                pvc_deletion_policy: Some(policy(Some(Delete), None)),
            }
        );
    }

    #[test]
    fn multiorch_cells_replace_only_when_given() {
        let mut base = MultiOrchSpec {
            cells: vec![CellName::new("a"), CellName::new("b")],
            ..MultiOrchSpec::default()
        };
        merge_multiorch_spec(&mut base, &MultiOrchSpec::default());
        assert_eq!(base.cells, vec![CellName::new("a"), CellName::new("b")]);
        merge_multiorch_spec(
            &mut base,
            &MultiOrchSpec {
                cells: vec![CellName::new("c")],
                ..MultiOrchSpec::default()
            },
        );
        assert_eq!(base.cells, vec![CellName::new("c")]);
    }

    #[test]
    fn pools_merge_by_key_and_lists_replace() {
        let template_pool = PoolSpec {
            type_: Some(PoolType::ReadWrite),
            cells: vec![CellName::new("a")],
            replicas_per_cell: Some(2),
            storage: StorageSpec {
                size: "20Gi".to_owned(),
                class: "fast".to_owned(),
                access_modes: Vec::new(),
            },
            postgres: ContainerConfig {
                resources: memory_request("2Gi"),
            },
            tolerations: vec![toleration("x"), toleration("y")],
            ..PoolSpec::default()
        };
        let mut pools = BTreeMap::from([(PoolName::new("main"), template_pool.clone())]);
        let over_main = PoolSpec {
            cells: vec![CellName::new("b"), CellName::new("c")],
            storage: StorageSpec {
                size: "50Gi".to_owned(),
                ..StorageSpec::default()
            },
            multipooler: ContainerConfig {
                resources: memory_request("512Mi"),
            },
            tolerations: vec![toleration("z")],
            fs_group: Some(999),
            ..PoolSpec::default()
        };
        let extra = PoolSpec {
            replicas_per_cell: Some(1),
            ..PoolSpec::default()
        };
        merge_pools(
            &mut pools,
            &BTreeMap::from([
                (PoolName::new("main"), over_main),
                (PoolName::new("extra"), extra.clone()),
            ]),
        );
        assert_eq!(
            pools,
            BTreeMap::from([
                (PoolName::new("extra"), extra),
                (
                    PoolName::new("main"),
                    PoolSpec {
                        cells: vec![CellName::new("b"), CellName::new("c")],
                        storage: StorageSpec {
                            size: "50Gi".to_owned(),
                            class: "fast".to_owned(),
                            access_modes: Vec::new(),
                        },
                        multipooler: ContainerConfig {
                            resources: memory_request("512Mi"),
                        },
                        tolerations: vec![toleration("z")],
                        fs_group: Some(999),
                        ..template_pool
                    }
                ),
            ])
        );
    }

    #[test]
    fn pvc_policy_when_scaled_inherits_and_when_deleted_defaults_to_retain() {
        let parent = policy(Some(Retain), Some(Retain));
        assert_eq!(
            merge_pvc_deletion_policy(Some(&policy(Some(Delete), None)), Some(&parent)),
            Some(policy(Some(Delete), Some(Retain)))
        );
        assert_eq!(
            merge_pvc_deletion_policy(Some(&policy(None, Some(Delete))), Some(&parent)),
            Some(policy(Some(Retain), Some(Delete)))
        );
        assert_eq!(
            merge_pvc_deletion_policy(None, Some(&parent)),
            Some(parent.clone())
        );
        assert_eq!(
            merge_pvc_deletion_policy(Some(&policy(Some(Delete), None)), None),
            Some(policy(Some(Delete), None))
        );
        // A parent's Delete never reaches an unset whenDeleted: Go would have Retain there.
        let deleting = policy(Some(Delete), Some(Delete));
        assert_eq!(
            merge_pvc_deletion_policy(Some(&policy(None, Some(Retain))), Some(&deleting)),
            Some(policy(Some(Retain), Some(Retain)))
        );
        assert_eq!(
            merge_pvc_deletion_policy(Some(&policy(None, None)), None),
            Some(policy(Some(Retain), None))
        );
        assert_eq!(merge_pvc_deletion_policy(None, None), None);
    }

    fn filesystem(path: &str, size: &str) -> BackupConfig {
        BackupConfig {
            type_: BackupType::Filesystem,
            filesystem: Some(FilesystemBackupConfig {
                path: path.to_owned(),
                storage: StorageSpec {
                    size: size.to_owned(),
                    ..StorageSpec::default()
                },
            }),
            ..BackupConfig::default()
        }
    }

    fn s3(bucket: &str, use_env_credentials: bool) -> BackupConfig {
        BackupConfig {
            type_: BackupType::S3,
            s3: Some(S3BackupConfig {
                bucket: bucket.to_owned(),
                region: "eu-west-1".to_owned(),
                use_env_credentials,
                ..S3BackupConfig::default()
            }),
            ..BackupConfig::default()
        }
    }

    #[test]
    fn backup_of_another_backend_replaces_the_parent() {
        let child = s3("bucket", false);
        assert_eq!(
            merge_backup_config(Some(&child), Some(&filesystem("/backups", "10Gi"))),
            Some(child)
        );
    }

    #[test]
    fn backup_of_the_same_backend_overrides_set_fields() {
        assert_eq!(
            merge_backup_config(
                Some(&filesystem("", "50Gi")),
                Some(&filesystem("/backups", "10Gi"))
            ),
            Some(filesystem("/backups", "50Gi"))
        );
        let mut child = s3("", false);
        if let Some(s3) = child.s3.as_mut() {
            s3.region = String::new();
            s3.key_prefix = "shard-a".to_owned();
        }
        let merged = merge_backup_config(Some(&child), Some(&s3("bucket", true)));
        assert_eq!(
            merged,
            Some(BackupConfig {
                s3: Some(S3BackupConfig {
                    bucket: "bucket".to_owned(),
                    region: "eu-west-1".to_owned(),
                    key_prefix: "shard-a".to_owned(),
                    // Always the child's: leaving it out resets it (Go's rule).
                    use_env_credentials: false,
                    ..S3BackupConfig::default()
                }),
                ..s3("", false)
            })
        );
    }

    #[test]
    fn backup_tls_replaces_and_missing_levels_pass_through() {
        let tls = PgBackRestTlsConfig {
            secret_name: "mine".to_owned(),
        };
        let child = BackupConfig {
            pgbackrest_tls: Some(tls.clone()),
            filesystem: None,
            ..filesystem("", "")
        };
        assert_eq!(
            merge_backup_config(Some(&child), Some(&filesystem("/backups", "10Gi"))),
            Some(BackupConfig {
                pgbackrest_tls: Some(tls),
                ..filesystem("/backups", "10Gi")
            })
        );
        let parent = filesystem("/p", "1Gi");
        assert_eq!(
            merge_backup_config(None, Some(&parent)),
            Some(parent.clone())
        );
        assert_eq!(merge_backup_config(Some(&parent), None), Some(parent));
        assert_eq!(merge_backup_config(None, None), None);
    }
}
