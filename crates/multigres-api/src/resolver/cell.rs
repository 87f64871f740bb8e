//! One cell's multigateway: its CellTemplate, then the cell's overrides, then its inline spec,
//! then the built-in defaults (spec-api.md §10.7.3).
//!
//! Like Go's `ResolveCell`, this does not apply `templateDefaults.cellTemplate`: the caller puts
//! it into the cell's `cellTemplate` first when the cell names none (see
//! [`with_default_cell_template`]), because the webhook must tell the two apart.

use crate::defaults;
use crate::v1alpha1::{
    CellConfig, LocalTopoServerSpec, PodPlacementSpec, StatelessSpec, TemplateDefaults,
};

use super::defaulting::{default_etcd_spec, default_external_topo_spec, default_stateless_spec};
use super::lookup::{TemplateError, TemplateSource, select_cell_template};
use super::merge::{merge_pod_placement, merge_stateless_spec};

/// What a cell resolves to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedCell {
    /// The multigateway, fully defaulted.
    pub multigateway: StatelessSpec,
    /// Tolerations of the multigateway pods, if any level gave some.
    pub multigateway_placement: Option<PodPlacementSpec>,
    /// A cell-local topology server: always `None` in practice, every user-reachable path
    /// rejects one (spec-api.md §17 Q13).
    pub local_topo_server: Option<LocalTopoServerSpec>,
}

/// The cell with `templateDefaults.cellTemplate` (Level 2) as its template when it names none
/// (what Go's `reconcile_cells.go` does on a copy).
pub fn with_default_cell_template(cell: &CellConfig, defaults: &TemplateDefaults) -> CellConfig {
    let mut cell = cell.clone();
    if cell.cell_template.is_empty() && !defaults.cell_template.is_empty() {
        cell.cell_template = defaults.cell_template.clone();
    }
    cell
}

/// Go `ResolveCell`.
pub fn resolve_cell(
    cell: &CellConfig,
    source: &dyn TemplateSource,
) -> Result<ResolvedCell, TemplateError> {
    let template = select_cell_template(source, cell.cell_template.as_str())?.spec;
    let mut resolved = ResolvedCell {
        multigateway: template.multigateway.unwrap_or_default(),
        multigateway_placement: template.multigateway_placement,
        local_topo_server: template.local_topo_server,
    };
    if let Some(overrides) = &cell.overrides {
        if let Some(gateway) = &overrides.multigateway {
            merge_stateless_spec(&mut resolved.multigateway, gateway);
        }
        merge_pod_placement(
            &mut resolved.multigateway_placement,
            overrides.multigateway_placement.as_ref(),
        );
    }
    if let Some(inline) = &cell.spec {
        merge_stateless_spec(&mut resolved.multigateway, &inline.multigateway);
        merge_pod_placement(
            &mut resolved.multigateway_placement,
            inline.multigateway_placement.as_ref(),
        );
        if inline.local_topo_server.is_some() {
            resolved
                .local_topo_server
                .clone_from(&inline.local_topo_server);
        }
    }
    default_stateless_spec(
        &mut resolved.multigateway,
        defaults::MULTIGATEWAY_RESOURCES,
        defaults::MULTIGATEWAY_REPLICAS,
    );
    if let Some(local) = resolved.local_topo_server.as_mut() {
        let root_path = defaults::cell_topo_root_path(cell.name.as_str());
        if let Some(etcd) = local.etcd.as_mut() {
            default_etcd_spec(etcd, &root_path);
        }
        if let Some(external) = local.external.as_mut() {
            default_external_topo_spec(external, &root_path);
        }
    }
    Ok(resolved)
}
