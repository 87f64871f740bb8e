//! The child custom resources of a MultigresCluster (spec-controllers.md §2.4, §2.9, §2.10): the
//! global TopoServer, one Cell per cell and one TableGroup per table group, each wrapping the
//! spec the resolver computed.
//!
//! Pure: the specs come resolved (multigres_api resolver, spec-api.md §10.9); this module only
//! adds names, labels, the project-ref annotation and the owner reference. It must not resolve
//! or default anything.

use multigres_api::labels::{cell_labels, global_topo_server_labels, table_group_labels};
use multigres_api::naming;
use multigres_api::v1alpha1::{
    Cell, CellSpec, CellStatus, TableGroup, TableGroupSpec, TableGroupStatus, TopoServer,
    TopoServerSpec, TopoServerStatus,
};

use super::ClusterParts;

/// Go `BuildGlobalTopoServer`: `{cluster}-global-topo`. It carries no project-ref annotation.
pub(super) fn build_global_topo_server(
    parts: &ClusterParts<'_>,
    spec: &TopoServerSpec,
) -> TopoServer {
    TopoServer {
        metadata: parts.object_meta(
            naming::global_topo_server_name(&parts.cluster).into_string(),
            global_topo_server_labels(&parts.cluster),
            None,
        ),
        spec: spec.clone(),
        status: Some(TopoServerStatus::default()),
    }
}

/// Go `BuildCell`: `J_D(cluster, cell)`.
pub(super) fn build_cell(parts: &ClusterParts<'_>, spec: &CellSpec) -> Cell {
    Cell {
        metadata: parts.object_meta(
            naming::cell_name(&parts.cluster, &spec.name).into_string(),
            cell_labels(&parts.cluster, &spec.name),
            parts.project_ref_annotations(),
        ),
        spec: spec.clone(),
        status: Some(CellStatus::default()),
    }
}

/// Go `BuildTableGroup`: `J_D(cluster, database, tablegroup)`.
pub(super) fn build_table_group(parts: &ClusterParts<'_>, spec: &TableGroupSpec) -> TableGroup {
    TableGroup {
        metadata: parts.object_meta(
            naming::table_group_name(&parts.cluster, &spec.database_name, &spec.table_group_name)
                .into_string(),
            table_group_labels(&parts.cluster, &spec.database_name, &spec.table_group_name),
            parts.project_ref_annotations(),
        ),
        spec: spec.clone(),
        status: Some(TableGroupStatus::default()),
    }
}
