//! Referential integrity (Go `ValidateClusterIntegrity`, spec-api.md §11.2): every template a
//! cluster names must exist in its namespace, an explicit `default` included (the resolver
//! tolerates a missing `default`; the webhook does not let one be named).
//!
//! Go stops at the first missing template; every missing one is reported here.

use crate::resolver::{LookupError, TemplateKind, TemplateSource, template_exists};
use crate::v1alpha1::{MultigresClusterSpec, TemplateRef};

use super::field_error::{FieldError, FieldPath};

/// Every template reference of `spec` that names a template absent from `source` (the
/// namespace `namespace`). A failed lookup is returned as such.
pub fn validate_cluster_integrity(
    spec: &MultigresClusterSpec,
    namespace: &str,
    source: &dyn TemplateSource,
) -> Result<Vec<FieldError>, LookupError> {
    let mut errors = Vec::new();
    for (kind, path, name) in template_references(spec) {
        if name.is_empty() || template_exists(source, kind, name.as_str())? {
            continue;
        }
        errors.push(FieldError::new(
            path,
            format!("referenced {kind} '{name}' not found in namespace '{namespace}'"),
        ));
    }
    Ok(errors)
}

/// Every template reference of a spec with its field path, in Go's check order.
pub fn template_references(
    spec: &MultigresClusterSpec,
) -> Vec<(TemplateKind, FieldPath, &TemplateRef)> {
    let root = FieldPath::spec();
    let defaults = root.field("templateDefaults");
    let mut references = vec![(
        TemplateKind::Core,
        defaults.field("coreTemplate"),
        &spec.template_defaults.core_template,
    )];
    if let Some(admin) = &spec.multiadmin {
        references.push((
            TemplateKind::Core,
            root.field("multiadmin").field("templateRef"),
            &admin.template_ref,
        ));
    }
    if let Some(topo) = &spec.global_topo_server {
        references.push((
            TemplateKind::Core,
            root.field("globalTopoServer").field("templateRef"),
            &topo.template_ref,
        ));
    }
    if let Some(web) = &spec.multiadmin_web {
        references.push((
            TemplateKind::Core,
            root.field("multiadminWeb").field("templateRef"),
            &web.template_ref,
        ));
    }
    references.push((
        TemplateKind::Cell,
        defaults.field("cellTemplate"),
        &spec.template_defaults.cell_template,
    ));
    for (index, cell) in spec.cells.iter().enumerate() {
        references.push((
            TemplateKind::Cell,
            root.field("cells").index(index).field("cellTemplate"),
            &cell.cell_template,
        ));
    }
    references.push((
        TemplateKind::Shard,
        defaults.field("shardTemplate"),
        &spec.template_defaults.shard_template,
    ));
    for (d, database) in spec.databases.iter().enumerate() {
        for (t, table_group) in database.tablegroups.iter().enumerate() {
            for (s, shard) in table_group.shards.iter().enumerate() {
                references.push((
                    TemplateKind::Shard,
                    shard_path(d, t, s).field("shardTemplate"),
                    &shard.shard_template,
                ));
            }
        }
    }
    references
}

/// `spec.databases[d].tablegroups[t].shards[s]`.
pub(crate) fn shard_path(database: usize, table_group: usize, shard: usize) -> FieldPath {
    FieldPath::spec()
        .field("databases")
        .index(database)
        .field("tablegroups")
        .index(table_group)
        .field("shards")
        .index(shard)
}
