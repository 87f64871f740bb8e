//! What the mutating webhook writes into a MultigresCluster (Go `MultigresClusterDefaulter`,
//! spec-api.md §12.3): the defaulting pass, the promotion of the namespace's `default` templates
//! into `templateDefaults`, and, for every component that no template configures, its fully
//! resolved inline spec. Components a template configures stay dynamic: a later template edit
//! still reaches them.
//!
//! Two deliberate differences from Go (docs/compatibility.md):
//! - fix 6: the `default` ShardTemplate of the defaulting pass is looked up in the cluster's
//!   namespace, like every other lookup (the [`TemplateSource`] is that namespace's);
//! - fix 7: a cell or shard with `overrides` and no template keeps its overrides and gets no
//!   inline `spec`, because CEL rules #4 and #19 reject `spec` together with `overrides`; the
//!   controller resolves the overrides over the built-in defaults anyway.
//!
//! Cell lists (`multiorch.cells`, `pools.*.cells`) stay empty in the stored object, meaning
//! "every cell of the cluster", and `observability` is never materialised.
//!
//! Pure: the webhook turns the difference between the request and the result into a patch.

use crate::v1alpha1::{CellInlineSpec, MultigresClusterSpec, ShardInlineSpec, TemplateRef};

use super::ResolveError;
use super::admin::{resolve_multiadmin, resolve_multiadmin_web};
use super::cell::resolve_cell;
use super::cluster::{DefaultingDecision, populate_cluster_defaults};
use super::lookup::{TemplateKind, TemplateSource, template_exists};
use super::merge::merge_backup_config;
use super::shard::resolve_shard;
use super::topo::resolve_global_topo;

/// Go `MultigresClusterDefaulter.Default`, on the spec in place. Returns the decisions of the
/// defaulting pass.
pub fn materialize_defaults(
    spec: &mut MultigresClusterSpec,
    source: &dyn TemplateSource,
) -> Result<Vec<DefaultingDecision>, ResolveError> {
    let decisions = populate_cluster_defaults(spec, source)
        .map_err(|source| ResolveError::ImplicitShardTemplate { source })?;

    // Go ignores lookup failures here and treats them as "no such template"; a failure that
    // matters resurfaces below, where the template is actually read.
    let exists =
        |kind: TemplateKind| template_exists(source, kind, kind.fallback_name()).unwrap_or(false);
    let implicit_core = exists(TemplateKind::Core);
    let implicit_cell = exists(TemplateKind::Cell);
    let implicit_shard = exists(TemplateKind::Shard);
    let defaults = &mut spec.template_defaults;
    for (slot, present, kind) in [
        (
            &mut defaults.core_template,
            implicit_core,
            TemplateKind::Core,
        ),
        (
            &mut defaults.cell_template,
            implicit_cell,
            TemplateKind::Cell,
        ),
        (
            &mut defaults.shard_template,
            implicit_shard,
            TemplateKind::Shard,
        ),
    ] {
        if slot.is_empty() && present {
            *slot = TemplateRef::new(kind.fallback_name());
        }
    }

    let core_applies = !spec.template_defaults.core_template.is_empty() || implicit_core;
    let names_template =
        |reference: Option<&TemplateRef>| reference.is_some_and(|name| !name.is_empty());

    if !(core_applies || names_template(spec.global_topo_server.as_ref().map(|t| &t.template_ref)))
    {
        let resolved = resolve_global_topo(spec, source)
            .map_err(|source| ResolveError::GlobalTopoServer { source })?;
        spec.global_topo_server = Some(resolved);
    }
    if !(core_applies || names_template(spec.multiadmin.as_ref().map(|a| &a.template_ref))) {
        let resolved = resolve_multiadmin(spec, source)
            .map_err(|source| ResolveError::MultiAdmin { source })?;
        spec.multiadmin.get_or_insert_with(Default::default).spec = Some(resolved);
    }
    if !(core_applies || names_template(spec.multiadmin_web.as_ref().map(|a| &a.template_ref))) {
        let resolved = resolve_multiadmin_web(spec, source)
            .map_err(|source| ResolveError::MultiAdminWeb { source })?;
        spec.multiadmin_web
            .get_or_insert_with(Default::default)
            .spec = Some(resolved);
    }

    let cell_template_applies = !spec.template_defaults.cell_template.is_empty() || implicit_cell;
    for cell in &mut spec.cells {
        if cell_template_applies || !cell.cell_template.is_empty() || cell.overrides.is_some() {
            continue;
        }
        let resolved = resolve_cell(cell, source).map_err(|source| ResolveError::Cell {
            cell: cell.name.to_string(),
            source,
        })?;
        cell.spec = Some(CellInlineSpec {
            multigateway: resolved.multigateway,
            multigateway_placement: resolved.multigateway_placement,
            local_topo_server: resolved.local_topo_server,
        });
    }

    let shard_template_applies =
        !spec.template_defaults.shard_template.is_empty() || implicit_shard;
    let cluster_backup = spec.backup.clone();
    for database in &mut spec.databases {
        let database_backup =
            merge_backup_config(database.backup.as_ref(), cluster_backup.as_ref());
        for table_group in &mut database.tablegroups {
            let table_group_backup =
                merge_backup_config(table_group.backup.as_ref(), database_backup.as_ref());
            for shard in &mut table_group.shards {
                if shard_template_applies
                    || !shard.shard_template.is_empty()
                    || shard.overrides.is_some()
                {
                    continue;
                }
                // No cells: the stored spec keeps "every cell" dynamic.
                let resolved = resolve_shard(shard, &[], table_group_backup.as_ref(), source)
                    .map_err(|source| ResolveError::Shard {
                        database: database.name.to_string(),
                        table_group: table_group.name.to_string(),
                        shard: shard.name.to_string(),
                        source,
                    })?;
                let own_policy = shard
                    .spec
                    .as_ref()
                    .and_then(|inline| inline.pvc_deletion_policy.clone());
                shard.spec = Some(ShardInlineSpec {
                    multiorch: resolved.multiorch,
                    initdb_args: resolved.initdb_args,
                    postgres_config_ref: resolved.postgres_config_ref,
                    pools: resolved.pools,
                    pvc_deletion_policy: own_policy.or(resolved.pvc_deletion_policy),
                });
                shard.backup = Some(resolved.backup);
            }
        }
    }
    Ok(decisions)
}
