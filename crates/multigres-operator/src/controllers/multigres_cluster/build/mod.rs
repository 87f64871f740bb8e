//! Pure builders of the objects the MultigresCluster controller applies (spec-controllers.md §2):
//! the global TopoServer, multiadmin and multiadmin-web (Deployment and Service each), the two
//! cluster-wide gateway Services, the optional cert-manager Certificate, and the Cell and
//! TableGroup child resources.
//!
//! They take the resolved cluster (`multigres_api::resolver::ResolvedCluster`: the defaulted
//! spec plus every component through the 4-level template chain). The raw MultigresCluster is
//! read only for its name, namespace, uid and project-ref annotation (style.md §2, "Builders
//! take the resolved spec"). Nothing here does I/O, awaits or reads the clock; the operator's OTEL
//! environment is an argument.

mod certificate;
mod child_resources;
mod gateway_services;
mod multiadmin;
mod multiadmin_web;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::api::DynamicObject;
use multigres_api::labels::{
    ANNOTATION_PROJECT_REF, Component, Labels, cluster_component_labels, merge_labels,
    project_ref_annotation, selector_labels,
};
use multigres_api::naming::{ClusterName, InvalidName};
use multigres_api::resolver::ResolvedCluster;
use multigres_api::v1alpha1::{
    Cell, ExternalGatewayConfig, MultigresCluster, MultigresClusterSpec, StatelessSpec, TableGroup,
    TopoServer,
};

use crate::controllers::image_pull::pod_pull_secrets;
use crate::controllers::otel_env::OperatorOtelEnv;
use crate::controllers::owner_reference::controller_owner_reference;
use crate::controllers::zero_status;

pub use certificate::{
    GROUP as CERTIFICATE_GROUP, KIND as CERTIFICATE_KIND, VERSION as CERTIFICATE_VERSION,
    api_resource as certificate_api_resource,
};

/// Every object the MultigresCluster controller applies, one field per kind, in the Go
/// controller's order within each kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// The global TopoServer; `None` with an external topology server (the controller then
    /// deletes a TopoServer left from a managed etcd, §2.4).
    pub topo_server: Option<TopoServer>,
    /// multiadmin, multiadmin-web, the cluster-wide gateway and gateway-replica Services.
    pub services: Vec<Service>,
    /// The multiadmin and multiadmin-web Deployments.
    pub deployments: Vec<Deployment>,
    /// The multigateway TLS certificate; `None` without `spec.certCommonName`.
    pub certificate: Option<DynamicObject>,
    /// One Cell per `spec.cells[]`, in spec order.
    pub cells: Vec<Cell>,
    /// One TableGroup per table group of each database, in spec order.
    pub table_groups: Vec<TableGroup>,
}

impl Desired {
    /// Every object, in the order `render` prints them: the one list `render` and the golden
    /// tests read, so a kind added here is rendered and tested as soon as it is applied (the
    /// controller destructures `Desired` without `..`, so it cannot be forgotten there either).
    pub fn objects(&self) -> Vec<serde_json::Value> {
        let Desired {
            topo_server,
            services,
            deployments,
            certificate,
            cells,
            table_groups,
        } = self;
        use crate::controllers::erased::Object;
        let mut out: Vec<serde_json::Value> = Vec::new();
        out.extend(topo_server.iter().map(Object::json));
        for (index, deployment) in deployments.iter().enumerate() {
            out.push(deployment.json());
            if let Some(service) = services.get(index) {
                out.push(service.json());
            }
        }
        out.extend(services.iter().skip(deployments.len()).map(Object::json));
        out.extend(certificate.iter().map(Object::json));
        out.extend(cells.iter().map(Object::json));
        out.extend(table_groups.iter().map(Object::json));
        out
    }
}

/// Why the objects of a MultigresCluster cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "MultigresCluster {cluster}: metadata.name {name:?} must be a DNS-1123 label of at most \
         25 characters (a-z, 0-9, '-'), because every object of the cluster is named after it"
    )]
    ClusterName {
        cluster: String,
        name: String,
        #[source]
        source: Box<InvalidName>,
    },
    #[error(
        "MultigresCluster {cluster}: spec.certCommonName {common_name:?} names the cert-manager \
         Certificate, so it must be a DNS-1123 subdomain (lower-case a-z, 0-9, '-' and '.', at \
         most 253 characters)"
    )]
    CertificateName {
        cluster: String,
        common_name: String,
        #[source]
        source: Box<InvalidName>,
    },
}

/// What every object of one cluster shares: its identity, the defaulted spec, the owner.
struct ClusterParts<'a> {
    cluster: ClusterName,
    namespace: Option<String>,
    /// The defaulted spec (images, log levels, observability, exposure, superuser, CN).
    spec: &'a MultigresClusterSpec,
    owner: OwnerReference,
    /// The cluster's `multigres.com/project-ref` annotation when non-empty.
    project_ref: Option<String>,
}

impl ClusterParts<'_> {
    /// `namespace/name`, for messages.
    fn describe(&self) -> String {
        format!("{}/{}", self.namespace_str(), self.cluster)
    }

    fn namespace_str(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }

    /// Metadata of an object the cluster owns.
    fn object_meta(
        &self,
        name: String,
        labels: Labels,
        annotations: Option<BTreeMap<String, String>>,
    ) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: self.namespace.clone(),
            labels: Some(labels),
            annotations,
            owner_references: Some(vec![self.owner.clone()]),
            ..ObjectMeta::default()
        }
    }

    /// The project-ref annotation copied to Cells and TableGroups (spec-controllers.md §1.2).
    fn project_ref_annotations(&self) -> Option<BTreeMap<String, String>> {
        self.project_ref
            .as_ref()
            .map(|value| BTreeMap::from([(ANNOTATION_PROJECT_REF.to_owned(), value.clone())]))
    }
}

/// Builds every object the MultigresCluster controller applies. `cluster` gives the identity
/// (name, namespace, uid, project-ref annotation) and `resolved` all configuration;
/// `operator_env` is the operator's own OTEL environment (spec-controllers.md §12.5).
pub fn build_cluster_objects(
    cluster: &MultigresCluster,
    resolved: &ResolvedCluster,
    operator_env: &OperatorOtelEnv,
) -> Result<Desired, Error> {
    let namespace = cluster.metadata.namespace.clone();
    let raw_name = cluster.metadata.name.clone().unwrap_or_default();
    let name = ClusterName::parse(raw_name.as_str()).map_err(|source| Error::ClusterName {
        cluster: format!("{}/{raw_name}", namespace.as_deref().unwrap_or_default()),
        name: raw_name.clone(),
        source: Box::new(source),
    })?;
    let project_ref = project_ref_annotation(&cluster.metadata).map(str::to_owned);
    let parts = ClusterParts {
        cluster: name,
        namespace,
        spec: &resolved.spec,
        owner: controller_owner_reference(cluster),
        project_ref,
    };
    Ok(Desired {
        topo_server: resolved
            .topo_server
            .as_ref()
            .map(|spec| child_resources::build_global_topo_server(&parts, spec)),
        services: vec![
            multiadmin::build_multiadmin_service(&parts),
            multiadmin_web::build_multiadmin_web_service(&parts),
            gateway_services::build_gateway_service(&parts),
            gateway_services::build_gateway_replica_service(&parts),
        ],
        deployments: vec![
            multiadmin::build_multiadmin_deployment(&parts, &resolved.multiadmin, operator_env),
            multiadmin_web::build_multiadmin_web_deployment(&parts, &resolved.multiadmin_web),
        ],
        certificate: certificate::build_certificate(&parts)?,
        cells: resolved
            .cells
            .iter()
            .map(|spec| child_resources::build_cell(&parts, spec))
            .collect(),
        table_groups: resolved
            .table_groups
            .iter()
            .map(|spec| child_resources::build_table_group(&parts, spec))
            .collect(),
    })
}

/// The Deployment shape multiadmin and multiadmin-web share (Go `BuildMultiAdmin*Deployment`):
/// standard + cluster labels, the identity subset as selector, the user's pod labels under the
/// operator's, their pod annotations verbatim, the cluster's pull secrets, the resolved affinity.
fn stateless_deployment(
    parts: &ClusterParts<'_>,
    name: String,
    component: Component,
    resolved: &StatelessSpec,
    container: Container,
) -> Deployment {
    let labels = cluster_component_labels(&parts.cluster, component);
    Deployment {
        metadata: parts.object_meta(name, labels.clone(), None),
        spec: Some(DeploymentSpec {
            replicas: resolved.replicas,
            selector: LabelSelector {
                match_labels: Some(selector_labels(&labels)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(merge_labels(&labels, &resolved.pod_labels)),
                    annotations: (!resolved.pod_annotations.is_empty())
                        .then(|| resolved.pod_annotations.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    image_pull_secrets: pod_pull_secrets(&parts.spec.images.image_pull_secrets),
                    containers: vec![container],
                    affinity: resolved.affinity.clone(),
                    ..PodSpec::default()
                }),
            },
            strategy: Some(DeploymentStrategy::default()),
            ..DeploymentSpec::default()
        }),
        status: Some(zero_status::deployment()),
    }
}

/// The external exposure of a cluster-wide Service: its IPs and annotations while enabled,
/// nothing otherwise (so the next apply removes them).
struct Exposure {
    external_ips: Option<Vec<String>>,
    annotations: Option<BTreeMap<String, String>>,
}

fn exposure(config: Option<&ExternalGatewayConfig>) -> Exposure {
    match config.filter(|config| config.enabled) {
        Some(config) => Exposure {
            external_ips: (!config.external_ips.is_empty()).then(|| {
                config
                    .external_ips
                    .iter()
                    .map(|ip| ip.as_str().to_owned())
                    .collect()
            }),
            annotations: (!config.annotations.is_empty()).then(|| config.annotations.clone()),
        },
        None => Exposure {
            external_ips: None,
            annotations: None,
        },
    }
}

#[cfg(test)]
mod tests;
