//! One shard: its ShardTemplate, then its overrides, then its inline spec, then the built-in
//! defaults, with the backup inherited down the cluster → database → table group → shard chain
//! and the cells filled from the cluster (spec-api.md §10.7.4).
//!
//! Like Go's `ResolveShard`, this does not apply `templateDefaults.shardTemplate`: callers do
//! (see [`with_default_shard_template`]), because the webhook and one validation pass must not.

use std::collections::BTreeMap;

use crate::defaults;
use crate::v1alpha1::{
    BackupConfig, CellName, InitdbArgs, MultiOrchSpec, PoolName, PoolSpec, PoolType,
    PostgresConfigRef, PvcDeletionPolicy, ShardConfig, ShardResolvedSpec, TemplateDefaults,
};

use super::defaulting::{default_backup_config, default_pool_spec, default_stateless_spec};
use super::lookup::{TemplateError, TemplateSource, select_shard_template};
use super::merge::{
    merge_backup_config, merge_multiorch_spec, merge_pools, merge_pvc_deletion_policy,
};

/// What a shard resolves to: the content of a TableGroup's `shards[]` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedShard {
    /// The multiorch, with its cells when the cluster's cells were given.
    pub multiorch: MultiOrchSpec,
    /// Every pool, defaulted; a `default` pool when no level defines one.
    pub pools: BTreeMap<PoolName, PoolSpec>,
    /// The shard-level PVC policy from the template or the inline spec (not yet merged with the
    /// table group's and the cluster's).
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    /// The backup, fully merged and defaulted.
    pub backup: BackupConfig,
    /// Extra initdb arguments.
    pub initdb_args: InitdbArgs,
    /// postgresql.conf fragment.
    pub postgres_config_ref: Option<PostgresConfigRef>,
}

impl ResolvedShard {
    /// The TableGroup `spec.shards[]` entry of the shard called `name`.
    pub fn into_resolved_spec(self, name: &str) -> ShardResolvedSpec {
        ShardResolvedSpec {
            name: name.to_owned(),
            multiorch: self.multiorch,
            initdb_args: self.initdb_args,
            postgres_config_ref: self.postgres_config_ref,
            pools: self.pools,
            pvc_deletion_policy: self.pvc_deletion_policy,
            backup: Some(self.backup),
        }
    }
}

/// The shard with `templateDefaults.shardTemplate` (Level 2) as its template when it names none
/// (what Go's `reconcile_databases.go` and the validator do on a copy).
pub fn with_default_shard_template(
    shard: &ShardConfig,
    defaults: &TemplateDefaults,
) -> ShardConfig {
    let mut shard = shard.clone();
    if shard.shard_template.is_empty() && !defaults.shard_template.is_empty() {
        shard.shard_template = defaults.shard_template.clone();
    }
    shard
}

/// Go `ResolveShard(shard, allCellNames, inheritedBackup)`.
///
/// `all_cells` are the cluster's cell names: the multiorch and every pool without cells get all
/// of them, sorted. The webhook passes none, so that the stored spec keeps "every cell" dynamic.
/// `inherited_backup` is the backup merged from the cluster, database and table group.
pub fn resolve_shard(
    shard: &ShardConfig,
    all_cells: &[CellName],
    inherited_backup: Option<&BackupConfig>,
    source: &dyn TemplateSource,
) -> Result<ResolvedShard, TemplateError> {
    let template = select_shard_template(source, shard.shard_template.as_str())?.spec;
    let mut multiorch = template.multiorch.unwrap_or_default();
    let mut pools = template.pools;
    let mut pvc_deletion_policy = template.pvc_deletion_policy;
    let mut initdb_args = template.initdb_args;
    let mut postgres_config_ref = template.postgres_config_ref;

    if let Some(overrides) = &shard.overrides {
        if let Some(over) = &overrides.multiorch {
            merge_multiorch_spec(&mut multiorch, over);
        }
        merge_pools(&mut pools, &overrides.pools);
        if !overrides.initdb_args.is_empty() {
            initdb_args.clone_from(&overrides.initdb_args);
        }
        if overrides.postgres_config_ref.is_some() {
            postgres_config_ref.clone_from(&overrides.postgres_config_ref);
        }
    }
    if let Some(inline) = &shard.spec {
        merge_multiorch_spec(&mut multiorch, &inline.multiorch);
        merge_pools(&mut pools, &inline.pools);
        if inline.pvc_deletion_policy.is_some() {
            // The inline section wins over the template field by field, as for every field.
            pvc_deletion_policy = merge_pvc_deletion_policy(
                inline.pvc_deletion_policy.as_ref(),
                pvc_deletion_policy.as_ref(),
            );
        }
        if !inline.initdb_args.is_empty() {
            initdb_args.clone_from(&inline.initdb_args);
        }
        if inline.postgres_config_ref.is_some() {
            postgres_config_ref.clone_from(&inline.postgres_config_ref);
        }
    }
    let backup = match &shard.backup {
        Some(own) => merge_backup_config(Some(own), inherited_backup),
        None => inherited_backup.cloned(),
    };

    default_stateless_spec(
        &mut multiorch.stateless,
        defaults::MULTIORCH_RESOURCES,
        defaults::MULTIORCH_REPLICAS,
    );
    let mut backup = backup.unwrap_or_default();
    default_backup_config(&mut backup);

    let mut sorted_cells = all_cells.to_vec();
    sorted_cells.sort();
    if multiorch.cells.is_empty() && !sorted_cells.is_empty() {
        multiorch.cells.clone_from(&sorted_cells);
    }
    if pools.is_empty() {
        pools.insert(
            PoolName::new(defaults::POOL_NAME),
            PoolSpec {
                type_: Some(PoolType::ReadWrite),
                cells: multiorch.cells.clone(),
                ..PoolSpec::default()
            },
        );
    }
    for pool in pools.values_mut() {
        default_pool_spec(pool);
        if pool.cells.is_empty() && !sorted_cells.is_empty() {
            pool.cells.clone_from(&sorted_cells);
        }
    }

    Ok(ResolvedShard {
        multiorch,
        pools,
        pvc_deletion_policy,
        backup,
        initdb_args,
        postgres_config_ref,
    })
}
