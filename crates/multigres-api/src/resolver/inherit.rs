//! How resolved values flow into the child resources (spec-api.md §10.9, spec-controllers.md
//! §2.4, §2.9, §2.10, §3): the whole cluster resolved at once into the specs of its TopoServer,
//! Cells and TableGroups, and a TableGroup's shard entry into its Shard's spec.
//!
//! Builders take these specs; they never read the raw MultigresCluster for configuration. Names,
//! labels and owner references are the builders' concern, not this module's.

use std::collections::{BTreeMap, BTreeSet};

use crate::labels;
use crate::naming::ClusterName;
use crate::v1alpha1::{
    CellConfig, CellImages, CellName, CellSpec, DatabaseConfig, GlobalTopoServerRef,
    GlobalTopoServerSpec, MultigresClusterSpec, PoolName, PoolSpec, PvcRetentionPolicyType,
    ResolvedTemplates, ShardImages, ShardResolvedSpec, ShardSpec, StatelessSpec, TableGroupConfig,
    TableGroupSpec, TemplateRef, TopoServerSpec, TopologyReconciliation,
};

use super::admin::{resolve_multiadmin, resolve_multiadmin_web};
use super::cell::{ResolvedCell, resolve_cell, with_default_cell_template};
use super::cluster::{DefaultingDecision, cell_names, populate_cluster_defaults};
use super::merge::{merge_backup_config, merge_pvc_deletion_policy};
use super::shard::{resolve_shard, with_default_shard_template};
use super::topo::{global_topo_ref, resolve_global_topo, topo_server_spec};
use super::{ResolveError, TemplateSource};

/// Everything the cluster controller derives from a MultigresCluster in one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedCluster {
    /// The spec after the in-memory defaulting pass: images, log levels, policies, and the
    /// injected database, table group and shard. Never written back.
    pub spec: MultigresClusterSpec,
    /// Decisions of the defaulting pass, to report as Events.
    pub decisions: Vec<DefaultingDecision>,
    /// The resolved global topology server: a managed etcd or an external server.
    pub global_topo_server: GlobalTopoServerSpec,
    /// The `{cluster}-global-topo` TopoServer's spec; `None` for an external server.
    pub topo_server: Option<TopoServerSpec>,
    /// Where every child finds the global topology server.
    pub global_topo_ref: GlobalTopoServerRef,
    /// The multiadmin Deployment's configuration.
    pub multiadmin: StatelessSpec,
    /// The multiadmin-web Deployment's configuration.
    pub multiadmin_web: StatelessSpec,
    /// One Cell spec per `spec.cells[]`, in spec order.
    pub cells: Vec<CellSpec>,
    /// One TableGroup spec per table group of each database, in spec order.
    pub table_groups: Vec<TableGroupSpec>,
    /// The templates the spec names (`status.resolvedTemplates`).
    pub resolved_templates: ResolvedTemplates,
}

impl ResolvedCluster {
    /// The three `multigres.com/uses-*-template` labels of the cluster (spec-controllers.md
    /// §2.3).
    pub fn tracking_labels(&self) -> labels::Labels {
        let t = &self.resolved_templates;
        labels::template_tracking_labels(
            !t.core_templates.is_empty(),
            !t.cell_templates.is_empty(),
            !t.shard_templates.is_empty(),
        )
    }
}

/// Resolves a whole cluster, as the cluster controller does each pass: the defaulting pass, then
/// the global topology server, multiadmin, multiadmin-web, every cell and every shard, each
/// through the 4-level chain. `source` holds the templates of the cluster's `namespace`.
///
/// The first failure is returned, in that order (the controller's order).
pub fn resolve_cluster(
    cluster: &ClusterName,
    namespace: &str,
    spec: &MultigresClusterSpec,
    source: &dyn TemplateSource,
) -> Result<ResolvedCluster, ResolveError> {
    let mut spec = spec.clone();
    let decisions = populate_cluster_defaults(&mut spec, source)
        .map_err(|source| ResolveError::ImplicitShardTemplate { source })?;

    let global_topo_server = resolve_global_topo(&spec, source)
        .map_err(|source| ResolveError::GlobalTopoServer { source })?;
    let topo_server = topo_server_spec(&global_topo_server, spec.pvc_deletion_policy.as_ref());
    let topo_ref = global_topo_ref(cluster, namespace, &global_topo_server);
    let multiadmin =
        resolve_multiadmin(&spec, source).map_err(|source| ResolveError::MultiAdmin { source })?;
    let multiadmin_web = resolve_multiadmin_web(&spec, source)
        .map_err(|source| ResolveError::MultiAdminWeb { source })?;

    let cells = spec
        .cells
        .iter()
        .map(|cell| {
            let resolved = resolve_cell(
                &with_default_cell_template(cell, &spec.template_defaults),
                source,
            )
            .map_err(|source| ResolveError::Cell {
                cell: cell.name.to_string(),
                source,
            })?;
            Ok(cell_spec(&spec, cell, resolved, &topo_ref))
        })
        .collect::<Result<Vec<_>, ResolveError>>()?;

    let all_cells = cell_names(&spec);
    let mut table_groups = Vec::new();
    for database in &spec.databases {
        let database_backup = merge_backup_config(database.backup.as_ref(), spec.backup.as_ref());
        for table_group in &database.tablegroups {
            let table_group_backup =
                merge_backup_config(table_group.backup.as_ref(), database_backup.as_ref());
            let shards = table_group
                .shards
                .iter()
                .map(|shard| {
                    let config = with_default_shard_template(shard, &spec.template_defaults);
                    resolve_shard(&config, &all_cells, table_group_backup.as_ref(), source)
                        .map(|resolved| resolved.into_resolved_spec(shard.name.as_str()))
                        .map_err(|source| ResolveError::Shard {
                            database: database.name.to_string(),
                            table_group: table_group.name.to_string(),
                            shard: shard.name.to_string(),
                            source,
                        })
                })
                .collect::<Result<Vec<_>, ResolveError>>()?;
            table_groups.push(table_group_spec(
                &spec,
                database,
                table_group,
                shards,
                &topo_ref,
            ));
        }
    }

    Ok(ResolvedCluster {
        resolved_templates: referenced_templates(&spec),
        spec,
        decisions,
        global_topo_server,
        topo_server,
        global_topo_ref: topo_ref,
        multiadmin,
        multiadmin_web,
        cells,
        table_groups,
    })
}

/// The Cell spec of one cell (spec-controllers.md §2.9). `spec` is the defaulted cluster spec.
pub fn cell_spec(
    spec: &MultigresClusterSpec,
    cell: &CellConfig,
    resolved: ResolvedCell,
    topo_ref: &GlobalTopoServerRef,
) -> CellSpec {
    CellSpec {
        name: cell.name.clone(),
        zone: cell.zone.clone(),
        region: cell.region.clone(),
        images: CellImages {
            image_pull_policy: spec.images.image_pull_policy,
            image_pull_secrets: spec.images.image_pull_secrets.clone(),
            multigateway: spec.images.multigateway.clone(),
        },
        multigateway: resolved.multigateway,
        multigateway_placement: resolved.multigateway_placement,
        global_topo_server: topo_ref.clone(),
        topo_server: resolved.local_topo_server,
        all_cells: cell_names(spec),
        topology_reconciliation: TopologyReconciliation {
            register_cell: true,
            prune_poolers: pruning_enabled(spec),
        },
        observability: spec.observability.clone(),
        log_levels: spec.log_levels.clone(),
        cert_common_name: spec.cert_common_name.clone(),
    }
}

/// The TableGroup spec of one table group (spec-controllers.md §2.10). `spec` is the defaulted
/// cluster spec; `shards` its resolved shards.
pub fn table_group_spec(
    spec: &MultigresClusterSpec,
    database: &DatabaseConfig,
    table_group: &TableGroupConfig,
    shards: Vec<ShardResolvedSpec>,
    topo_ref: &GlobalTopoServerRef,
) -> TableGroupSpec {
    let database_backup = merge_backup_config(database.backup.as_ref(), spec.backup.as_ref());
    TableGroupSpec {
        database_name: database.name.clone(),
        table_group_name: table_group.name.clone(),
        is_default: table_group.default,
        images: ShardImages {
            image_pull_policy: spec.images.image_pull_policy,
            image_pull_secrets: spec.images.image_pull_secrets.clone(),
            multiorch: spec.images.multiorch.clone(),
            multipooler: spec.images.multipooler.clone(),
            postgres: spec.images.postgres.clone(),
        },
        global_topo_server: topo_ref.clone(),
        shards,
        pvc_deletion_policy: merge_pvc_deletion_policy(
            table_group.pvc_deletion_policy.as_ref(),
            spec.pvc_deletion_policy.as_ref(),
        ),
        observability: spec.observability.clone(),
        log_levels: spec.log_levels.clone(),
        backup: merge_backup_config(table_group.backup.as_ref(), database_backup.as_ref()),
        cell_topology_labels: cell_topology_labels(spec),
        topology_pruning: spec.topology_pruning.clone(),
        durability_policy: if database.durability_policy.is_empty() {
            spec.durability_policy.clone()
        } else {
            database.durability_policy.clone()
        },
        postgres_superuser: spec.postgres_superuser.clone(),
    }
}

/// The Shard spec the TableGroup controller writes for one of its shards (spec-controllers.md
/// §3): the resolved shard plus everything the table group carries, with the PVC policy merged
/// shard over table group, field by field.
pub fn shard_spec(table_group: &TableGroupSpec, shard: &ShardResolvedSpec) -> ShardSpec {
    ShardSpec {
        database_name: table_group.database_name.clone(),
        table_group_name: table_group.table_group_name.clone(),
        shard_name: shard.name.as_str().into(),
        images: table_group.images.clone(),
        global_topo_server: table_group.global_topo_server.clone(),
        multiorch: shard.multiorch.clone(),
        initdb_args: shard.initdb_args.clone(),
        postgres_config_ref: shard.postgres_config_ref.clone(),
        pools: shard.pools.clone(),
        pvc_deletion_policy: merge_pvc_deletion_policy(
            shard.pvc_deletion_policy.as_ref(),
            table_group.pvc_deletion_policy.as_ref(),
        ),
        observability: table_group.observability.clone(),
        log_levels: table_group.log_levels.clone(),
        backup: shard.backup.clone(),
        topology_pruning: table_group.topology_pruning.clone(),
        durability_policy: table_group.durability_policy.clone(),
        postgres_superuser: table_group.postgres_superuser.clone(),
        cell_topology_labels: table_group.cell_topology_labels.clone(),
        replicas: Some(shard_replicas(&shard.pools)),
    }
}

/// A Shard's `spec.replicas` (its scale subresource): Σ over pools of `replicasPerCell` (1 when
/// unset) × the pool's cell count.
pub fn shard_replicas(pools: &BTreeMap<PoolName, PoolSpec>) -> i32 {
    pools
        .values()
        .map(|pool| {
            let per_cell = pool.replicas_per_cell.unwrap_or(
                crate::defaults::controller_fallbacks::TABLE_GROUP_POOL_REPLICAS_PER_CELL,
            );
            let cells = i32::try_from(pool.cells.len()).unwrap_or(i32::MAX);
            per_cell.saturating_mul(cells)
        })
        .fold(0, i32::saturating_add)
}

/// The PVC policy in force for one pool's volumes, every field decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectivePvcPolicy {
    /// `Delete`: the data PVCs get an owner reference to the Shard and go with it.
    pub when_deleted: PvcRetentionPolicyType,
    /// `Delete`: PVCs of pods removed by a scale-down are deleted.
    pub when_scaled: PvcRetentionPolicyType,
}

/// The policy of a pool's PVCs (spec-api.md §10.9, §16): the pool's own fields over the Shard's,
/// field by field; a field no level sets is `Retain` (whenDeleted) or `Delete` (whenScaled), the
/// built-in values.
pub fn effective_pool_pvc_policy(pool: &PoolSpec, shard: &ShardSpec) -> EffectivePvcPolicy {
    let merged = merge_pvc_deletion_policy(
        pool.pvc_deletion_policy.as_ref(),
        shard.pvc_deletion_policy.as_ref(),
    )
    .unwrap_or_default();
    EffectivePvcPolicy {
        when_deleted: merged
            .when_deleted
            .unwrap_or(PvcRetentionPolicyType::Retain),
        when_scaled: merged.when_scaled.unwrap_or(PvcRetentionPolicyType::Delete),
    }
}

/// The nodeSelector labels of each cell pinned to a zone or a region; cells with neither are
/// left out.
pub fn cell_topology_labels(
    spec: &MultigresClusterSpec,
) -> BTreeMap<CellName, BTreeMap<String, String>> {
    spec.cells
        .iter()
        .filter_map(|cell| {
            let (key, value) = if !cell.zone.is_empty() {
                (labels::LABEL_TOPOLOGY_ZONE, cell.zone.as_str())
            } else if !cell.region.is_empty() {
                (labels::LABEL_TOPOLOGY_REGION, cell.region.as_str())
            } else {
                return None;
            };
            Some((
                cell.name.clone(),
                BTreeMap::from([(key.to_owned(), value.to_owned())]),
            ))
        })
        .collect()
}

/// Whether stale topology entries are pruned: unless `topologyPruning.enabled` is `false`.
pub fn pruning_enabled(spec: &MultigresClusterSpec) -> bool {
    spec.topology_pruning
        .as_ref()
        .and_then(|pruning| pruning.enabled)
        .unwrap_or(true)
}

/// The templates a spec names explicitly (`status.resolvedTemplates`, spec-api.md §3.9), each
/// list sorted and without duplicates. Implicit `default` templates are not listed.
pub fn referenced_templates(spec: &MultigresClusterSpec) -> ResolvedTemplates {
    fn sorted<'a>(names: impl IntoIterator<Item = &'a TemplateRef>) -> Vec<TemplateRef> {
        names
            .into_iter()
            .filter(|name| !name.is_empty())
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
    let defaults = &spec.template_defaults;
    ResolvedTemplates {
        core_templates: sorted(
            [Some(&defaults.core_template)]
                .into_iter()
                .chain([
                    spec.global_topo_server.as_ref().map(|t| &t.template_ref),
                    spec.multiadmin.as_ref().map(|a| &a.template_ref),
                    spec.multiadmin_web.as_ref().map(|a| &a.template_ref),
                ])
                .flatten(),
        ),
        cell_templates: sorted(
            std::iter::once(&defaults.cell_template)
                .chain(spec.cells.iter().map(|cell| &cell.cell_template)),
        ),
        shard_templates: sorted(
            std::iter::once(&defaults.shard_template).chain(
                spec.databases
                    .iter()
                    .flat_map(|d| &d.tablegroups)
                    .flat_map(|t| &t.shards)
                    .map(|s| &s.shard_template),
            ),
        ),
    }
}
