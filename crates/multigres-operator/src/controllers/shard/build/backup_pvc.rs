//! The shared backup PVC of one pool cell, `J_S("backup-data", cluster, db, tg, shard, cell)`
//! (spec-controllers.md §7.3.4, §9.2): the pgBackRest filesystem repository that every pool pod
//! of that cell mounts at `/backups`.
//!
//! Place: applied (SSA) on every pass, so a grown `size` expands the claim. Must not: be built
//! for S3 backups (the pods mount an emptyDir instead), or look at pool-level deletion policies:
//! only the Shard-level `whenDeleted` decides its ownerReference.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::defaults::controller_fallbacks::BACKUP_STORAGE_SIZE;
use multigres_api::labels::shared_backup_pvc_labels;
use multigres_api::naming::shared_backup_pvc_name;
use multigres_api::v1alpha1::{BackupType, PvcRetentionPolicyType, ShardSpec, StorageSpec};

use super::storage_claim::claim_spec;
use super::{BuildError, ShardContext};
use crate::controllers::zero_status;

/// Whether the Shard has shared backup PVCs: for filesystem backups, and also when no backup is
/// configured (Go builds them unless the type is `s3`, although the pods then mount an emptyDir).
pub fn has_backup_pvcs(spec: &ShardSpec) -> bool {
    spec.backup
        .as_ref()
        .is_none_or(|backup| backup.type_ != BackupType::S3)
}

/// Go `BuildSharedBackupPVC` for `cell`.
pub fn build_backup_pvc(
    shard: &ShardContext<'_>,
    cell: &str,
) -> Result<PersistentVolumeClaim, BuildError> {
    let no_storage = StorageSpec::default();
    let storage = shard
        .spec
        .backup
        .as_ref()
        .and_then(|backup| backup.filesystem.as_ref())
        .map_or(&no_storage, |filesystem| &filesystem.storage);
    let spec =
        claim_spec(storage, BACKUP_STORAGE_SIZE).map_err(|source| BuildError::StorageSize {
            shard: shard.display_name(),
            field: "spec.backup.filesystem.storage.size".to_owned(),
            source: Box::new(source),
        })?;
    let parts = shard.parts();
    Ok(PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(shared_backup_pvc_name(&parts, cell).into_string()),
            namespace: Some(shard.namespace.to_owned()),
            labels: Some(shared_backup_pvc_labels(&parts, cell)),
            owner_references: shard_deletes_its_pvcs(shard.spec).then(|| vec![shard.owner.clone()]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        // Go's zero `status` struct is part of the apply body.
        status: Some(zero_status::persistent_volume_claim()),
    })
}

/// Go `ShouldDeleteShardLevelPVCOnRemoval`: the Shard's own `pvcDeletionPolicy.whenDeleted` is
/// `Delete` (unset means `Retain`).
pub fn shard_deletes_its_pvcs(spec: &ShardSpec) -> bool {
    spec.pvc_deletion_policy
        .as_ref()
        .and_then(|policy| policy.when_deleted)
        == Some(PvcRetentionPolicyType::Delete)
}
