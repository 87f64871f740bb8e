//! The data PVC `data-{pod base}-{index}` of one pool pod (spec-controllers.md §7.9), mounted as
//! `pgdata` at `/var/lib/pooler`.
//!
//! Place: created once, when missing (plain Create, like the Go operator); later passes only
//! grow its request or toggle its ownerReference. Must not: carry an ownerReference unless the
//! effective `whenDeleted` is `Delete` (spec-api.md §10.9): a Retain claim must outlive the
//! Shard, so garbage collection must not know it belongs to it.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::defaults::controller_fallbacks::DATA_VOLUME_SIZE;
use multigres_api::labels::pool_data_pvc_labels;
use multigres_api::naming::pool_data_pvc_name;
use multigres_api::resolver::effective_pool_pvc_policy;
use multigres_api::v1alpha1::{PoolSpec, PvcRetentionPolicyType, ShardSpec};

use super::storage_claim::claim_spec;
use super::{BuildError, ShardContext};
use crate::controllers::zero_status;

/// Go `BuildPoolDataPVC` for pod `index` of `pool` in `cell`.
pub fn build_pool_data_pvc(
    shard: &ShardContext<'_>,
    pool_name: &str,
    pool: &PoolSpec,
    cell: &str,
    index: u32,
) -> Result<PersistentVolumeClaim, BuildError> {
    let spec =
        claim_spec(&pool.storage, DATA_VOLUME_SIZE).map_err(|source| BuildError::StorageSize {
            shard: shard.display_name(),
            field: format!("spec.pools[{pool_name}].storage.size"),
            source: Box::new(source),
        })?;
    let parts = shard.pool_parts(pool_name, cell);
    Ok(PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(pool_data_pvc_name(&parts, index).into_string()),
            namespace: Some(shard.namespace.to_owned()),
            labels: Some(pool_data_pvc_labels(&parts, &shard.labels)),
            owner_references: pool_deletes_its_pvcs(pool, shard.spec)
                .then(|| vec![shard.owner.clone()]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        // Go's zero `status` struct, as in the object passed to Create.
        status: Some(zero_status::persistent_volume_claim()),
    })
}

/// Go `ShouldDeletePVCOnShardRemoval`: the effective `whenDeleted` of the pool
/// (`effective_pool_pvc_policy`, the one rule of deliberate fix 4) is `Delete`.
pub fn pool_deletes_its_pvcs(pool: &PoolSpec, shard: &ShardSpec) -> bool {
    effective_pool_pvc_policy(pool, shard).when_deleted == PvcRetentionPolicyType::Delete
}

/// The effective `whenScaled` of a pool's claims (spec-controllers.md §7.9, scale-down cleanup).
pub fn pool_when_scaled(pool: &PoolSpec, shard: &ShardSpec) -> PvcRetentionPolicyType {
    effective_pool_pvc_policy(pool, shard).when_scaled
}
