//! Checks that compare a MultigresCluster update with the stored object (Go
//! `validateNoStorageShrink` and `validateEtcdReplicasImmutable`, spec-api.md §12.4): volumes
//! cannot shrink, and a static etcd cluster cannot change its member count.
//!
//! These keep Go's scope (spec-api.md §17 Q8): only inline and override pool sizes, and only
//! the etcd replica count written in the cluster itself, are compared.

use std::collections::BTreeMap;

use crate::defaults;
use crate::quantity::GoQuantity;
use crate::v1alpha1::MultigresClusterSpec;

use super::field_error::{FieldError, FieldPath};
use super::integrity::shard_path;

/// Every rejection of an update from `old` to `new`, sorted by path.
pub fn validate_cluster_update(
    old: &MultigresClusterSpec,
    new: &MultigresClusterSpec,
) -> Vec<FieldError> {
    let mut errors = storage_shrinks(old, new);
    errors.extend(etcd_replica_change(old, new));
    errors.sort();
    errors
}

/// `{db}/{tg}/{shard}/{pool}` → (path of the size in the spec, size) of every pool a shard
/// writes itself: its inline pools when it has an inline spec, else its override pools.
fn pool_sizes(spec: &MultigresClusterSpec) -> BTreeMap<String, (FieldPath, &str)> {
    let mut sizes = BTreeMap::new();
    for (d, database) in spec.databases.iter().enumerate() {
        for (t, table_group) in database.tablegroups.iter().enumerate() {
            for (s, shard) in table_group.shards.iter().enumerate() {
                let (field, pools) = match (&shard.spec, &shard.overrides) {
                    (Some(inline), _) => ("spec", &inline.pools),
                    (None, Some(overrides)) => ("overrides", &overrides.pools),
                    (None, None) => continue,
                };
                for (pool, config) in pools {
                    if config.storage.size.is_empty() {
                        continue;
                    }
                    let key = format!(
                        "{}/{}/{}/{pool}",
                        database.name, table_group.name, shard.name
                    );
                    let path = shard_path(d, t, s)
                        .field(field)
                        .field("pools")
                        .key(pool.as_str())
                        .field("storage")
                        .field("size");
                    sizes.insert(key, (path, config.storage.size.as_str()));
                }
            }
        }
    }
    sizes
}

fn storage_shrinks(old: &MultigresClusterSpec, new: &MultigresClusterSpec) -> Vec<FieldError> {
    let old_sizes = pool_sizes(old);
    pool_sizes(new)
        .into_iter()
        .filter_map(|(key, (path, new_size))| {
            let (_, old_size) = old_sizes.get(&key)?;
            // Unparseable sizes are skipped, as Go does; the schema pattern rejects most.
            let before = GoQuantity::parse(old_size).ok()?;
            let after = GoQuantity::parse(new_size).ok()?;
            after.cmp_value(&before).is_lt().then(|| {
                FieldError::new(
                    path,
                    format!(
                        "storage.size cannot be decreased ({key}: {old_size} \u{2192} {new_size}); \
                         PVC shrink is not supported by Kubernetes"
                    ),
                )
            })
        })
        .collect()
}

/// Go's effective etcd replica count: 0 for an external server (not managed), the written
/// count, or the built-in 3 (a template's count is not seen).
fn etcd_replicas(spec: &MultigresClusterSpec) -> i32 {
    match &spec.global_topo_server {
        Some(topo) if topo.external.is_some() => 0,
        Some(topo) => topo
            .etcd
            .as_ref()
            .and_then(|etcd| etcd.replicas)
            .unwrap_or(defaults::ETCD_REPLICAS),
        None => defaults::ETCD_REPLICAS,
    }
}

fn etcd_replica_change(
    old: &MultigresClusterSpec,
    new: &MultigresClusterSpec,
) -> Option<FieldError> {
    let (before, after) = (etcd_replicas(old), etcd_replicas(new));
    (before != 0 && after != 0 && before != after).then(|| {
        FieldError::new(
            FieldPath::spec()
                .field("globalTopoServer")
                .field("etcd")
                .field("replicas"),
            format!(
                "topology server (etcd) replicas cannot be changed after cluster creation \
                 ({before} \u{2192} {after}); etcd uses static bootstrap which does not support \
                 dynamic member addition"
            ),
        )
    })
}
