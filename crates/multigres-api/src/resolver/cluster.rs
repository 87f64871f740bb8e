//! The cluster-wide defaulting pass (Go `PopulateClusterDefaults`, spec-api.md §10.8): static
//! defaults (images, log levels, policies, backup) and "smart" defaults (the system database,
//! its default table group and its `0-inf` shard).
//!
//! Both the webhook (persisting the result) and the reconciler (in memory, every pass) run it.
//! Unlike Go, the `default` ShardTemplate it looks for is always the one in the cluster's own
//! namespace, which is the namespace of the [`TemplateSource`] it is given (deliberate fix 6,
//! docs/compatibility.md).

use std::collections::BTreeMap;

use crate::defaults;
use crate::v1alpha1::{
    CellName, ComponentLogLevels, DatabaseConfig, DatabaseName, ImagePullPolicy, ImageRef,
    LogLevel, MultiOrchSpec, MultigresClusterSpec, PoolName, PoolSpec, PoolType, PvcDeletionPolicy,
    PvcRetentionPolicyType, ShardConfig, ShardInlineSpec, ShardName, TableGroupConfig,
    TableGroupName, TopologyPruningConfig,
};

use super::defaulting::default_backup;
use super::lookup::{LookupError, TemplateKind, TemplateSource, template_exists};

/// A choice the defaulting pass made for the user, reported as a Normal Event with reason
/// [`DefaultingDecision::EVENT_REASON`] (spec-controllers.md §2.2 step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DefaultingDecision {
    /// A `default` readWrite pool was put into the injected shard because no ShardTemplate
    /// applies.
    ImplicitDefaultPool,
}

impl DefaultingDecision {
    /// Event reason of every decision.
    pub const EVENT_REASON: &'static str = "ImplicitDefault";

    /// The Event message, Go's text verbatim (it names the `default` ShardTemplate although it
    /// is emitted precisely when none applies; kept for parity, spec-api.md §17 Q2).
    pub const fn message(self) -> &'static str {
        match self {
            DefaultingDecision::ImplicitDefaultPool => {
                "Implicitly injected default 'readWrite' pool configuration using the 'default' \
                 ShardTemplate"
            }
        }
    }
}

impl std::fmt::Display for DefaultingDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// Go `PopulateClusterDefaults`, in place. Returns the decisions to report as Events.
///
/// The only lookup is whether the cluster's namespace has a `default` ShardTemplate; a failed
/// lookup is returned (Go: `failed to check for implicit shard template`).
pub fn populate_cluster_defaults(
    spec: &mut MultigresClusterSpec,
    source: &dyn TemplateSource,
) -> Result<Vec<DefaultingDecision>, LookupError> {
    populate_images(spec);
    spec.topology_pruning.get_or_insert(TopologyPruningConfig {
        enabled: Some(true),
    });
    if spec.durability_policy.is_empty() {
        spec.durability_policy = defaults::DURABILITY_POLICY.to_owned();
    }
    populate_log_levels(&mut spec.log_levels);
    populate_pvc_deletion_policy(&mut spec.pvc_deletion_policy);
    spec.backup.get_or_insert_with(default_backup);
    if spec.databases.is_empty() {
        spec.databases.push(DatabaseConfig {
            name: DatabaseName::new(defaults::SYSTEM_DATABASE_NAME),
            default: true,
            ..DatabaseConfig::default()
        });
    }

    let mut decisions = Vec::new();
    let inject_default_pool = spec.template_defaults.shard_template.is_empty()
        && !template_exists(
            source,
            TemplateKind::Shard,
            TemplateKind::Shard.fallback_name(),
        )?;
    if inject_default_pool {
        decisions.push(DefaultingDecision::ImplicitDefaultPool);
    }

    let has_cells = !spec.cells.is_empty();
    for database in &mut spec.databases {
        if database.tablegroups.is_empty() {
            database.tablegroups.push(TableGroupConfig {
                name: TableGroupName::new(defaults::SYSTEM_TABLE_GROUP_NAME),
                default: true,
                ..TableGroupConfig::default()
            });
        }
        for table_group in &mut database.tablegroups {
            if table_group.shards.is_empty() {
                table_group
                    .shards
                    .push(injected_shard(has_cells, inject_default_pool));
            }
        }
    }
    Ok(decisions)
}

/// The `0-inf` shard of a table group without shards. It gets an (empty) inline spec only when
/// the cluster has a cell, and a bare `default` pool only when no ShardTemplate applies; the
/// cells stay empty ("every cell").
fn injected_shard(has_cells: bool, inject_default_pool: bool) -> ShardConfig {
    let spec = has_cells.then(|| {
        let mut pools = BTreeMap::new();
        if inject_default_pool {
            pools.insert(
                PoolName::new(defaults::POOL_NAME),
                PoolSpec {
                    type_: Some(PoolType::ReadWrite),
                    ..PoolSpec::default()
                },
            );
        }
        ShardInlineSpec {
            multiorch: MultiOrchSpec::default(),
            pools,
            ..ShardInlineSpec::default()
        }
    });
    ShardConfig {
        name: ShardName::new(defaults::SHARD_NAME),
        spec,
        ..ShardConfig::default()
    }
}

fn populate_images(spec: &mut MultigresClusterSpec) {
    let images = &mut spec.images;
    for (image, default) in [
        (&mut images.postgres, defaults::POSTGRES_IMAGE),
        (&mut images.multiadmin, defaults::MULTIADMIN_IMAGE),
        (&mut images.multiadmin_web, defaults::MULTIADMIN_WEB_IMAGE),
        (&mut images.multiorch, defaults::MULTIORCH_IMAGE),
        (&mut images.multipooler, defaults::MULTIPOOLER_IMAGE),
        (&mut images.multigateway, defaults::MULTIGATEWAY_IMAGE),
    ] {
        if image.is_empty() {
            *image = ImageRef::new(default);
        }
    }
    images
        .image_pull_policy
        .get_or_insert(ImagePullPolicy::IfNotPresent);
}

fn populate_log_levels(levels: &mut ComponentLogLevels) {
    for level in [
        &mut levels.pgctld,
        &mut levels.multipooler,
        &mut levels.multiorch,
        &mut levels.multiadmin,
        &mut levels.multigateway,
    ] {
        level.get_or_insert(LogLevel::Info);
    }
}

/// The cluster is the top of every PVC-policy chain, so its policy is completed here: absent, it
/// becomes `{whenDeleted: Retain, whenScaled: Delete}` (Go); present with a field unset, that
/// field gets its built-in value, which is also what the cluster-level CRD field default does.
/// Every level below then merges over it by the rule of fix 4 (`merge_pvc_deletion_policy`) and
/// never needs a default of its own.
fn populate_pvc_deletion_policy(policy: &mut Option<PvcDeletionPolicy>) {
    let policy = policy.get_or_insert_with(PvcDeletionPolicy::default);
    policy
        .when_deleted
        .get_or_insert(PvcRetentionPolicyType::Retain);
    policy
        .when_scaled
        .get_or_insert(PvcRetentionPolicyType::Delete);
}

/// The cluster's cell names in spec order.
pub fn cell_names(spec: &MultigresClusterSpec) -> Vec<CellName> {
    spec.cells.iter().map(|cell| cell.name.clone()).collect()
}
