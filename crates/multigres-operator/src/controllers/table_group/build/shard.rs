//! One Shard of a TableGroup, `J_D(cluster, database, tablegroup, shard)` (spec-controllers.md
//! §3): the resolved shard plus what the table group carries, owned by the TableGroup.
//!
//! Pure: the spec is `multigres_api::resolver::shard_spec` (PVC policy merged shard over table
//! group field by field, replicas summed over pools); this module adds name, labels, the
//! project-ref annotation and the owner reference.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::labels::{ANNOTATION_PROJECT_REF, project_ref_annotation, shard_labels};
use multigres_api::naming::{self, ClusterName, ShardParts};
use multigres_api::resolver::shard_spec;
use multigres_api::v1alpha1::{Shard, ShardResolvedSpec, ShardStatus, TableGroup};

use crate::controllers::owner_reference::controller_owner_reference;

/// Go `BuildShard`.
pub(super) fn build_shard(
    table_group: &TableGroup,
    cluster: &ClusterName,
    resolved: &ShardResolvedSpec,
) -> Shard {
    let parts = ShardParts {
        cluster,
        database: &table_group.spec.database_name,
        table_group: &table_group.spec.table_group_name,
        shard: &resolved.name,
    };
    let project_ref = project_ref_annotation(&table_group.metadata)
        .map(|value| BTreeMap::from([(ANNOTATION_PROJECT_REF.to_owned(), value.to_owned())]));
    Shard {
        metadata: ObjectMeta {
            name: Some(naming::shard_name(&parts).into_string()),
            namespace: table_group.metadata.namespace.clone(),
            labels: Some(shard_labels(&parts)),
            annotations: project_ref,
            owner_references: Some(vec![controller_owner_reference(table_group)]),
            ..ObjectMeta::default()
        },
        spec: shard_spec(&table_group.spec, resolved),
        status: Some(ShardStatus::default()),
    }
}
