//! The owning MultigresCluster of a child resource, read from its `multigres.com/cluster` label
//! (spec-controllers.md §4.2, §5, §3: the Cell, TopoServer and TableGroup controllers name every
//! object after that label, never after the hashed CR name).
//!
//! Pure. It must not guess a cluster name: Go uses an empty string when the label is missing and
//! then builds names such as `-zone-a-…`; here a missing or invalid label is an error that names
//! the object and the label.

use kube::Resource;
use multigres_api::labels::LABEL_CLUSTER;
use multigres_api::naming::{ClusterName, InvalidName};

/// Why a child resource does not name its cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterLabelError {
    /// `object` is `Kind namespace/name`.
    #[error(
        "{object}: label {LABEL_CLUSTER} is missing; it must hold the name of the \
         MultigresCluster that owns this object"
    )]
    Missing { object: String },
    #[error("{object}: label {LABEL_CLUSTER} value {value:?} is not a MultigresCluster name")]
    Invalid {
        object: String,
        value: String,
        #[source]
        source: Box<InvalidName>,
    },
}

/// The cluster named by `object`'s `multigres.com/cluster` label.
pub fn owning_cluster<K: Resource<DynamicType = ()>>(
    object: &K,
) -> Result<ClusterName, ClusterLabelError> {
    let meta = object.meta();
    let describe = || {
        format!(
            "{} {}/{}",
            K::kind(&()),
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default()
        )
    };
    let value = meta
        .labels
        .as_ref()
        .and_then(|labels| labels.get(LABEL_CLUSTER))
        .ok_or_else(|| ClusterLabelError::Missing { object: describe() })?;
    ClusterName::parse(value.as_str()).map_err(|source| ClusterLabelError::Invalid {
        object: describe(),
        value: value.clone(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ObjectMeta;
    use multigres_api::v1alpha1::{TopoServer, TopoServerSpec};
    use pretty_assertions::assert_eq;

    fn topo_server(labels: &[(&str, &str)]) -> TopoServer {
        TopoServer {
            metadata: ObjectMeta {
                name: Some("orders-global-topo".into()),
                namespace: Some("shop".into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            spec: TopoServerSpec::default(),
            status: None,
        }
    }

    #[test]
    fn reads_the_cluster_label() {
        let cluster = owning_cluster(&topo_server(&[(LABEL_CLUSTER, "orders")]))
            .expect("a valid cluster label");
        assert_eq!(cluster.as_str(), "orders");
    }

    #[test]
    fn a_missing_label_names_the_object_and_the_label() {
        let err = owning_cluster(&topo_server(&[])).expect_err("no cluster label");
        assert_eq!(
            err.to_string(),
            "TopoServer shop/orders-global-topo: label multigres.com/cluster is missing; it must \
             hold the name of the MultigresCluster that owns this object"
        );
    }

    #[test]
    fn an_invalid_label_names_the_value() {
        let err = owning_cluster(&topo_server(&[(LABEL_CLUSTER, "Orders.EU")]))
            .expect_err("not a cluster name");
        assert_eq!(
            err.to_string(),
            "TopoServer shop/orders-global-topo: label multigres.com/cluster value \"Orders.EU\" \
             is not a MultigresCluster name"
        );
    }
}
