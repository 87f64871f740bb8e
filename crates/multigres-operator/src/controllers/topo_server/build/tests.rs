//! Branches of the TopoServer builders that the goldens do not reach: a hand-written CR without
//! etcd settings, storage class and access modes, quantity spelling, retention mapping, member
//! lists of other sizes, and the errors.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::labels::LABEL_CLUSTER;
use multigres_api::v1alpha1::{
    EtcdSpec, PvcDeletionPolicy, PvcRetentionPolicyType, StorageSpec, TopoServer, TopoServerSpec,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{Error, build_topo_server_objects};

fn topo_server(spec: TopoServerSpec) -> TopoServer {
    TopoServer {
        metadata: ObjectMeta {
            name: Some("orders-global-topo".into()),
            namespace: Some("shop".into()),
            uid: Some("7a1c0f5e-0000-4000-8000-00000000abcd".into()),
            labels: Some(BTreeMap::from([
                (LABEL_CLUSTER.to_owned(), "orders".to_owned()),
                ("team".to_owned(), "payments".to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    }
}

fn stateful_set_json(topo_server: &TopoServer) -> Value {
    let desired = build_topo_server_objects(topo_server).expect("the TopoServer builds");
    serde_json::to_value(&desired.stateful_set).expect("a StatefulSet serializes")
}

fn env_value(stateful_set: &Value, name: &str) -> Value {
    stateful_set["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .and_then(|env| env.iter().find(|var| var["name"] == name))
        .map(|var| var["value"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn a_cr_without_etcd_settings_gets_the_controller_fallbacks() {
    let value = stateful_set_json(&topo_server(TopoServerSpec::default()));
    assert_eq!(value["spec"]["replicas"], json!(3));
    assert_eq!(
        value["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("gcr.io/etcd-development/etcd:v3.6.7")
    );
    assert_eq!(
        value["spec"]["template"]["spec"]["containers"][0]["resources"],
        json!({})
    );
    // The controller's own fallback is 10Gi, not the resolver's 1Gi (spec-api.md §10.2).
    assert_eq!(
        value["spec"]["volumeClaimTemplates"],
        json!([{
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
            "status": {}
        }])
    );
    assert_eq!(
        value["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
}

#[test]
fn storage_class_access_modes_and_size_are_go_spelled() {
    let value = stateful_set_json(&topo_server(TopoServerSpec {
        etcd: Some(EtcdSpec {
            storage: StorageSpec {
                size: "2048Mi".into(),
                class: "fast-ssd".into(),
                access_modes: vec!["ReadWriteOncePod".into()],
            },
            ..EtcdSpec::default()
        }),
        pvc_deletion_policy: None,
    }));
    assert_eq!(
        value["spec"]["volumeClaimTemplates"][0]["spec"],
        json!({
            "accessModes": ["ReadWriteOncePod"],
            "resources": {"requests": {"storage": "2Gi"}},
            "storageClassName": "fast-ssd"
        })
    );
}

#[test]
fn retention_is_delete_only_where_the_policy_says_delete() {
    let value = stateful_set_json(&topo_server(TopoServerSpec {
        etcd: Some(EtcdSpec::default()),
        pvc_deletion_policy: Some(PvcDeletionPolicy {
            when_deleted: None,
            when_scaled: Some(PvcRetentionPolicyType::Delete),
        }),
    }));
    assert_eq!(
        value["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Delete"})
    );
}

#[test]
fn the_member_list_has_one_entry_per_replica() {
    let with_replicas = |replicas| {
        stateful_set_json(&topo_server(TopoServerSpec {
            etcd: Some(EtcdSpec {
                replicas: Some(replicas),
                ..EtcdSpec::default()
            }),
            pvc_deletion_policy: None,
        }))
    };
    assert_eq!(
        env_value(&with_replicas(1), "ETCD_INITIAL_CLUSTER"),
        json!(
            "orders-global-topo-0=http://orders-global-topo-0.orders-global-topo-headless.shop.svc.cluster.local:2380"
        )
    );
    let five = env_value(&with_replicas(5), "ETCD_INITIAL_CLUSTER");
    let members: Vec<&str> = five
        .as_str()
        .expect("a string value")
        .split(',')
        .map(|member| member.split('=').next().unwrap_or_default())
        .collect();
    assert_eq!(
        members,
        [
            "orders-global-topo-0",
            "orders-global-topo-1",
            "orders-global-topo-2",
            "orders-global-topo-3",
            "orders-global-topo-4"
        ]
    );
    assert_eq!(
        env_value(&with_replicas(5), "ETCD_INITIAL_CLUSTER_TOKEN"),
        json!("orders-global-topo")
    );
}

#[test]
fn labels_carry_the_crs_own_labels_and_the_selector_only_identity_keys() {
    let desired =
        build_topo_server_objects(&topo_server(TopoServerSpec::default())).expect("builds");
    let client = serde_json::to_value(&desired.services[1]).expect("a Service serializes");
    assert_eq!(
        client["metadata"]["labels"],
        json!({
            "app.kubernetes.io/component": "toposerver",
            "app.kubernetes.io/instance": "orders",
            "app.kubernetes.io/managed-by": "multigres-operator",
            "app.kubernetes.io/name": "multigres",
            "app.kubernetes.io/part-of": "multigres",
            "multigres.com/cluster": "orders",
            "team": "payments"
        })
    );
    assert_eq!(
        client["spec"]["selector"],
        json!({
            "app.kubernetes.io/component": "toposerver",
            "app.kubernetes.io/instance": "orders",
            "multigres.com/cluster": "orders"
        })
    );
    assert_eq!(
        client["metadata"]["ownerReferences"],
        json!([{
            "apiVersion": "multigres.com/v1alpha1",
            "kind": "TopoServer",
            "name": "orders-global-topo",
            "uid": "7a1c0f5e-0000-4000-8000-00000000abcd",
            "controller": true,
            "blockOwnerDeletion": true
        }])
    );
}

#[test]
fn an_invalid_storage_size_names_the_field_and_the_value() {
    let err = build_topo_server_objects(&topo_server(TopoServerSpec {
        etcd: Some(EtcdSpec {
            storage: StorageSpec {
                size: "10 gigabytes".into(),
                ..StorageSpec::default()
            },
            ..EtcdSpec::default()
        }),
        pvc_deletion_policy: None,
    }))
    .expect_err("not a quantity");
    assert!(matches!(err, Error::StorageSize { .. }));
    assert_eq!(
        err.to_string(),
        "TopoServer shop/orders-global-topo: spec.etcd.storage.size \"10 gigabytes\" is not a \
         Kubernetes quantity (e.g. 1Gi, 500Mi)"
    );
}

#[test]
fn a_name_too_long_for_the_headless_service_is_an_error() {
    let mut long = topo_server(TopoServerSpec::default());
    long.metadata.name = Some("a".repeat(60));
    let err = build_topo_server_objects(&long).expect_err("the headless name exceeds 63");
    assert_eq!(
        err.to_string(),
        format!(
            "TopoServer shop/{}: the name is too long or not a DNS-1123 label, so its etcd \
             Services and pods cannot be named",
            "a".repeat(60)
        )
    );
}

#[test]
fn a_cr_without_cluster_label_is_an_error() {
    let mut unlabelled = topo_server(TopoServerSpec::default());
    unlabelled.metadata.labels = None;
    let err = build_topo_server_objects(&unlabelled).expect_err("no cluster label");
    assert!(matches!(err, Error::OwningCluster { .. }));
}
