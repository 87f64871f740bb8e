//! Pure builders of the objects the TopoServer controller owns (spec-controllers.md §5): the etcd
//! StatefulSet, its headless (peer) Service and its client Service, from a TopoServer CR.
//!
//! The CR is the resolved input: the cluster controller wrote it from the resolved global topology
//! (§2.4). Names and labels derive from the CR's name and its `multigres.com/cluster` label.
//! Nothing here does I/O, awaits or reads the clock (style.md §2).

mod client_service;
mod etcd_stateful_set;
mod headless_service;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::labels::{Labels, selector_labels, topo_server_labels};
use multigres_api::naming::{self, InvalidName};
use multigres_api::quantity::QuantityError;
use multigres_api::v1alpha1::TopoServer;

use crate::controllers::cluster_label::{ClusterLabelError, owning_cluster};
use crate::controllers::owner_reference::controller_owner_reference;

use client_service::build_client_service;
use etcd_stateful_set::build_etcd_stateful_set;
use headless_service::build_headless_service;

pub use etcd_stateful_set::EtcdStatefulSet;

/// Every object of one TopoServer, one field per kind, Services first (they are applied before
/// the workload, style.md §3 step 7).
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// The headless (peer) Service, then the client Service.
    pub services: Vec<Service>,
    /// The etcd StatefulSet.
    pub stateful_set: EtcdStatefulSet,
}

impl Desired {
    /// Every object, in the order `render` prints them (see the cluster's `Desired::objects`).
    pub fn objects(&self) -> Vec<serde_json::Value> {
        use crate::controllers::erased::Object;
        let Desired {
            services,
            stateful_set,
        } = self;
        let mut out = vec![stateful_set.json()];
        out.extend(services.iter().map(Object::json));
        out
    }
}

/// Why the objects of a TopoServer cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot tell which MultigresCluster owns the TopoServer")]
    OwningCluster {
        #[source]
        source: ClusterLabelError,
    },
    #[error(
        "TopoServer {topo_server}: the name is too long or not a DNS-1123 label, so its etcd \
         Services and pods cannot be named"
    )]
    ObjectName {
        topo_server: String,
        #[source]
        source: Box<InvalidName>,
    },
    #[error(
        "TopoServer {topo_server}: spec.etcd.storage.size {size:?} is not a Kubernetes quantity \
         (e.g. 1Gi, 500Mi)"
    )]
    StorageSize {
        topo_server: String,
        size: String,
        #[source]
        source: QuantityError,
    },
}

/// What every object of one TopoServer shares: its identity, labels and owner.
struct TopoServerParts<'a> {
    topo_server: &'a TopoServer,
    /// The CR's name: the StatefulSet's, the client Service's and the etcd token.
    name: String,
    namespace: Option<String>,
    /// The headless Service's name (`<name>-headless`).
    headless_service_name: String,
    /// `MergeLabels(standard(toposerver), CR labels)` (spec-controllers.md §5).
    labels: Labels,
    /// The selector subset of the labels.
    selector: Labels,
}

impl TopoServerParts<'_> {
    /// `namespace/name`, for messages.
    fn describe(&self) -> String {
        format!(
            "{}/{}",
            self.namespace.as_deref().unwrap_or_default(),
            self.name
        )
    }

    /// The metadata all three objects share but their name: the TopoServer's namespace and
    /// labels, and the TopoServer as controller owner (spec-controllers.md §5).
    fn object_meta(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: self.namespace.clone(),
            labels: Some(self.labels.clone()),
            owner_references: Some(vec![controller_owner_reference(self.topo_server)]),
            ..ObjectMeta::default()
        }
    }
}

/// Builds every object the TopoServer controller applies for `topo_server`.
pub fn build_topo_server_objects(topo_server: &TopoServer) -> Result<Desired, Error> {
    let cluster = owning_cluster(topo_server).map_err(|source| Error::OwningCluster { source })?;
    let name = topo_server.metadata.name.clone().unwrap_or_default();
    let namespace = topo_server.metadata.namespace.clone();
    let crd_labels = topo_server.metadata.labels.clone().unwrap_or_default();
    let labels = topo_server_labels(&cluster, &crd_labels);
    let describe = || format!("{}/{name}", namespace.as_deref().unwrap_or_default());
    let headless_service_name = naming::topo_server_headless_service_name(&name)
        .map_err(|source| Error::ObjectName {
            topo_server: describe(),
            source: Box::new(source),
        })?
        .into_string();
    let parts = TopoServerParts {
        topo_server,
        selector: selector_labels(&labels),
        labels,
        headless_service_name,
        namespace: namespace.clone(),
        name: name.clone(),
    };
    Ok(Desired {
        services: vec![build_headless_service(&parts), build_client_service(&parts)],
        stateful_set: build_etcd_stateful_set(&parts)?,
    })
}

#[cfg(test)]
mod tests;
