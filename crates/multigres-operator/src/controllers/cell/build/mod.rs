//! Pure builders of the objects the Cell controller owns (spec-controllers.md §4.2, §4.3): the
//! cell's multigateway Deployment and its Service, from a Cell CR.
//!
//! The CR is the resolved input: the cluster controller wrote its multigateway spec, images, log
//! levels and topology reference (§2.9). Names and labels derive from the CR's
//! `multigres.com/cluster` label and `spec.name`, never from the hashed CR name. Nothing here does
//! I/O, awaits or reads the clock (style.md §2); the operator's OTEL environment is an argument.

mod gateway_deployment;
mod gateway_service;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use multigres_api::labels::{
    Labels, cell_gateway_labels, project_ref_annotation, resolve_project_ref, selector_labels,
};
use multigres_api::naming::ClusterName;
use multigres_api::v1alpha1::Cell;

use crate::controllers::cluster_label::{ClusterLabelError, owning_cluster};
use crate::controllers::otel_env::OperatorOtelEnv;
use crate::controllers::owner_reference::controller_owner_reference;

use gateway_deployment::build_gateway_deployment;
use gateway_service::build_gateway_service;

/// Every object of one Cell, one field per kind, the Service first (applied before the workload,
/// style.md §3 step 7).
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// The cell's multigateway Service.
    pub service: Service,
    /// The cell's multigateway Deployment.
    pub deployment: Deployment,
}

impl Desired {
    /// Every object, in the order `render` prints them (see the cluster's `Desired::objects`).
    pub fn objects(&self) -> Vec<serde_json::Value> {
        let Desired {
            service,
            deployment,
        } = self;
        vec![
            crate::controllers::erased::Object::json(deployment),
            crate::controllers::erased::Object::json(service),
        ]
    }
}

/// Why the objects of a Cell cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot tell which MultigresCluster owns the Cell")]
    OwningCluster {
        #[source]
        source: ClusterLabelError,
    },
}

/// What every object of one Cell shares.
struct CellParts<'a> {
    cell: &'a Cell,
    cluster: ClusterName,
    namespace: Option<String>,
    /// Standard(`multigateway`) + cell (+ zone, region) labels (spec-controllers.md §4.2).
    labels: Labels,
    /// Component, instance and cell: the gateway pods of this cell only.
    selector: Labels,
    /// The Cell's `multigres.com/project-ref` annotation, else the cluster name.
    project_ref: String,
}

impl CellParts<'_> {
    fn owner_references(&self) -> Vec<OwnerReference> {
        vec![controller_owner_reference(self.cell)]
    }
}

/// Builds every object the Cell controller applies for `cell`; `operator_env` is the operator's
/// own OTEL environment, inherited by the gateway container (spec-controllers.md §12.5).
pub fn build_cell_objects(cell: &Cell, operator_env: &OperatorOtelEnv) -> Result<Desired, Error> {
    let cluster = owning_cluster(cell).map_err(|source| Error::OwningCluster { source })?;
    let spec = &cell.spec;
    let labels = cell_gateway_labels(
        &cluster,
        &spec.name,
        Some(spec.zone.as_str()),
        Some(spec.region.as_str()),
    );
    let project_ref =
        resolve_project_ref(project_ref_annotation(&cell.metadata), &cluster).to_owned();
    let parts = CellParts {
        cell,
        namespace: cell.metadata.namespace.clone(),
        selector: selector_labels(&labels),
        labels,
        project_ref,
        cluster,
    };
    Ok(Desired {
        service: build_gateway_service(&parts),
        deployment: build_gateway_deployment(&parts, operator_env),
    })
}

#[cfg(test)]
mod tests;
