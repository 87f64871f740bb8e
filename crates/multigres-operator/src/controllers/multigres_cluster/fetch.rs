//! Every read of a MultigresCluster pass, from the informer cache (spec-controllers.md §2.2):
//! the templates of its namespace, the StorageClasses validation needs, and its children.
//!
//! Reads only; it must not write.

use std::collections::BTreeMap;

use kube::ResourceExt;
use multigres_api::labels::LABEL_CLUSTER;
use multigres_api::resolver::NamespaceTemplates;
use multigres_api::v1alpha1::{Cell, TableGroup, TopoServer};
use multigres_api::validation::{ClusterFacts, StorageClassFacts};

use crate::cache;
use crate::context::Context;

/// The templates of `namespace` (malformed ones are left out: they resolve as missing).
pub fn templates(context: &Context, namespace: &str) -> NamespaceTemplates {
    let in_namespace =
        |meta_namespace: Option<String>| meta_namespace.as_deref() == Some(namespace);
    NamespaceTemplates::from_objects(
        context
            .cache
            .core_templates
            .state()
            .iter()
            .filter_map(|t| cache::valid(t).cloned())
            .filter(|t| in_namespace(t.namespace())),
        context
            .cache
            .cell_templates
            .state()
            .iter()
            .filter_map(|t| cache::valid(t).cloned())
            .filter(|t| in_namespace(t.namespace())),
        context
            .cache
            .shard_templates
            .state()
            .iter()
            .filter_map(|t| cache::valid(t).cloned())
            .filter(|t| in_namespace(t.namespace())),
    )
}

/// What validation needs to know of the cluster: its StorageClasses. Node labels are not
/// cached, so the topology warnings (a webhook concern) are skipped here.
pub fn facts(context: &Context) -> ClusterFacts {
    ClusterFacts {
        node_labels: None,
        storage_classes: context
            .cache
            .storage_classes
            .state()
            .iter()
            .map(|class| StorageClassFacts {
                name: class.name_any(),
                annotations: class
                    .annotations()
                    .clone()
                    .into_iter()
                    .collect::<BTreeMap<_, _>>(),
            })
            .collect(),
    }
}

/// The cluster's children of one kind, by the `multigres.com/cluster` label.
pub fn children<K>(
    store: &kube::runtime::reflector::Store<kube::core::DeserializeGuard<K>>,
    namespace: &str,
    cluster: &str,
) -> Vec<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    cache::select(store, namespace, &[(LABEL_CLUSTER, cluster)])
        .iter()
        .filter_map(|guarded| cache::valid(guarded).cloned())
        .collect()
}

/// Every child CR of the cluster.
pub struct Children {
    pub cells: Vec<Cell>,
    pub table_groups: Vec<TableGroup>,
    pub topo_servers: Vec<TopoServer>,
}

pub fn all_children(context: &Context, namespace: &str, cluster: &str) -> Children {
    Children {
        cells: children(&context.cache.cells, namespace, cluster),
        table_groups: children(&context.cache.table_groups, namespace, cluster),
        topo_servers: children(&context.cache.topo_servers, namespace, cluster),
    }
}
