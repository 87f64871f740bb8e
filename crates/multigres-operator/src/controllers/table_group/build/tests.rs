//! Branches of the TableGroup builder that the goldens do not reach: several shards and pools,
//! the project-ref annotation, the PVC policy merged field by field, and the errors.

use multigres_api::v1alpha1::TableGroup;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{Error, build_table_group_objects};

fn table_group(annotations: Value, spec_extra: Value) -> TableGroup {
    let mut spec = json!({
        "databaseName": "postgres",
        "tableGroupName": "orders",
        "images": {"multiorch": "orch:v1", "multipooler": "pooler:v1", "postgres": "pgctld:v1"},
        "globalTopoServer": {"address": "shop-global-topo.retail.svc:2379", "rootPath": "/multigres/global", "implementation": "etcd"},
        "pvcDeletionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
        "shards": [
            {"name": "0-80", "multiorch": {"cells": ["eu-a"]}, "pvcDeletionPolicy": {"whenScaled": "Delete"},
             "pools": {
                "main": {"cells": ["eu-a", "eu-b"], "replicasPerCell": 3},
                "analytics": {"cells": ["eu-b"]}
             }},
            {"name": "80-inf", "multiorch": {"cells": ["eu-a"]}, "pools": {}}
        ]
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": "TableGroup",
        "metadata": {
            "name": "shop-postgres-orders-5d8c7e1a",
            "namespace": "retail",
            "uid": "9e9e9e9e-0000-4000-8000-000000000042",
            "labels": {"multigres.com/cluster": "shop"},
            "annotations": annotations
        },
        "spec": spec
    }))
    .expect("a valid TableGroup")
}

#[test]
fn one_shard_per_entry_with_merged_policy_and_summed_replicas() {
    let desired = build_table_group_objects(&table_group(
        json!({"multigres.com/project-ref": "proj-7"}),
        json!({}),
    ))
    .expect("the TableGroup builds");
    let shards: Vec<Value> = desired
        .shards
        .iter()
        .map(|shard| serde_json::to_value(shard).expect("a Shard serializes"))
        .collect();
    assert_eq!(
        shards
            .iter()
            .map(|shard| shard["metadata"]["name"].clone())
            .collect::<Vec<_>>(),
        vec![
            json!("shop-postgres-orders-0-80-2fb31bfc"),
            json!("shop-postgres-orders-80-inf-ce8e4d3b")
        ]
    );
    let first = &shards[0];
    assert_eq!(
        first["metadata"]["labels"],
        json!({
            "app.kubernetes.io/component": "shard",
            "app.kubernetes.io/instance": "shop",
            "app.kubernetes.io/managed-by": "multigres-operator",
            "app.kubernetes.io/name": "multigres",
            "app.kubernetes.io/part-of": "multigres",
            "multigres.com/cluster": "shop",
            "multigres.com/database": "postgres",
            "multigres.com/shard": "0-80",
            "multigres.com/tablegroup": "orders"
        })
    );
    assert_eq!(
        first["metadata"]["annotations"],
        json!({"multigres.com/project-ref": "proj-7"})
    );
    assert_eq!(
        first["metadata"]["ownerReferences"],
        json!([{
            "apiVersion": "multigres.com/v1alpha1",
            "kind": "TableGroup",
            "name": "shop-postgres-orders-5d8c7e1a",
            "uid": "9e9e9e9e-0000-4000-8000-000000000042",
            "controller": true,
            "blockOwnerDeletion": true
        }])
    );
    // 3 per cell × 2 cells, plus 1 (unset) × 1 cell.
    assert_eq!(first["spec"]["replicas"], json!(7));
    // The shard's own policy over the table group's (deliberate fix 4): its whenScaled wins, and
    // the whenDeleted it leaves out is Retain, as Go's API server would store it, not the table
    // group's Delete.
    assert_eq!(
        first["spec"]["pvcDeletionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Delete"})
    );
    assert_eq!(shards[1]["spec"]["replicas"], json!(0));
    assert_eq!(
        shards[1]["spec"]["pvcDeletionPolicy"],
        json!({"whenDeleted": "Delete", "whenScaled": "Retain"})
    );
    assert_eq!(
        first["status"],
        json!({"orchReady": false, "poolsReady": false})
    );
}

#[test]
fn an_empty_project_ref_is_not_copied() {
    let desired = build_table_group_objects(&table_group(
        json!({"multigres.com/project-ref": ""}),
        json!({}),
    ))
    .expect("the TableGroup builds");
    assert_eq!(desired.shards[0].metadata.annotations, None);
}

#[test]
fn a_table_group_without_cluster_label_is_an_error() {
    let mut unlabelled = table_group(json!({}), json!({}));
    unlabelled.metadata.labels = None;
    let err = build_table_group_objects(&unlabelled).expect_err("no cluster label");
    assert!(matches!(err, Error::OwningCluster { .. }));
}
