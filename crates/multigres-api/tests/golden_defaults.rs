//! The built-in defaults checked against what the Go operator produced for `case1-minimal`, a
//! cluster that sets nothing but one cell and a PVC policy: every image, replica count,
//! resource set, port and storage size there is a Level 4 default.

mod support;

use multigres_api::defaults::{self, DefaultResources};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn resources(defaults: DefaultResources) -> Value {
    serde_json::to_value(defaults.to_requirements()).expect("resources serialize")
}

/// `[name, image, resources, [[port name, port]...]]` of each container of a pod spec, init
/// containers first.
fn containers(pod_spec: &Value) -> Value {
    let list = |key: &str| {
        pod_spec
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    list("initContainers")
        .iter()
        .chain(list("containers").iter())
        .map(|c| {
            let ports: Vec<Value> = c
                .get("ports")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|p| json!([p["name"], p["containerPort"]]))
                .collect();
            json!([c["name"], c["image"], c["resources"], ports])
        })
        .collect()
}

#[test]
fn minimal_cluster_objects_carry_the_built_in_defaults() {
    let Some(golden) = support::golden_dir("minimal_cluster_objects_carry_the_built_in_defaults")
    else {
        return;
    };
    let objects = golden.join("objects");
    let read = |file: &str| support::read_json(&objects.join(format!("case1-minimal.{file}.json")));
    use defaults::*;

    let multiadmin = read("deployment.minimal-multiadmin");
    assert_eq!(multiadmin["spec"]["replicas"], json!(MULTIADMIN_REPLICAS));
    assert_eq!(
        containers(&multiadmin["spec"]["template"]["spec"]),
        json!([[
            "multiadmin",
            MULTIADMIN_IMAGE,
            resources(MULTIADMIN_RESOURCES),
            [
                ["http", MULTIADMIN_HTTP_PORT],
                ["grpc", MULTIADMIN_GRPC_PORT]
            ]
        ]])
    );

    let web = read("deployment.minimal-multiadmin-web");
    assert_eq!(web["spec"]["replicas"], json!(MULTIADMIN_WEB_REPLICAS));
    assert_eq!(
        containers(&web["spec"]["template"]["spec"]),
        json!([[
            "multiadmin-web",
            MULTIADMIN_WEB_IMAGE,
            resources(MULTIADMIN_WEB_RESOURCES),
            [["http", MULTIADMIN_WEB_HTTP_PORT]]
        ]])
    );

    let gateway = read("deployment.minimal-zone-a-multigateway-0ccc2e8b");
    assert_eq!(gateway["spec"]["replicas"], json!(MULTIGATEWAY_REPLICAS));
    assert_eq!(
        containers(&gateway["spec"]["template"]["spec"]),
        json!([[
            "multigateway",
            MULTIGATEWAY_IMAGE,
            resources(MULTIGATEWAY_RESOURCES),
            [
                ["http", MULTIGATEWAY_HTTP_PORT],
                ["grpc", MULTIGATEWAY_GRPC_PORT],
                ["postgres", POSTGRES_PORT],
                ["pg-replica", MULTIGATEWAY_PG_REPLICA_PORT]
            ]
        ]])
    );

    let orch = read("deployment.minimal-postgres-default-0-inf-multiorch-zone-a-bbe2a333");
    assert_eq!(orch["spec"]["replicas"], json!(MULTIORCH_REPLICAS));
    assert_eq!(
        containers(&orch["spec"]["template"]["spec"]),
        json!([[
            "multiorch",
            MULTIORCH_IMAGE,
            resources(MULTIORCH_RESOURCES),
            [["http", MULTIORCH_HTTP_PORT], ["grpc", MULTIORCH_GRPC_PORT]]
        ]])
    );

    let etcd = read("statefulset.minimal-global-topo");
    assert_eq!(etcd["spec"]["replicas"], json!(ETCD_REPLICAS));
    assert_eq!(
        containers(&etcd["spec"]["template"]["spec"]),
        json!([[
            "etcd",
            ETCD_IMAGE,
            resources(ETCD_RESOURCES),
            [
                ["client", ETCD_CLIENT_PORT],
                ["peer", ETCD_PEER_PORT],
                ["metrics", ETCD_METRICS_PORT]
            ]
        ]])
    );
    assert_eq!(
        etcd["spec"]["volumeClaimTemplates"][0]["spec"],
        json!({"accessModes": [ACCESS_MODE], "resources": {"requests": {"storage": ETCD_STORAGE_SIZE}}})
    );

    let pod = read("pod.minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0");
    assert_eq!(
        containers(&pod["spec"]),
        json!([
            [
                "multipooler",
                MULTIPOOLER_IMAGE,
                resources(MULTIPOOLER_RESOURCES),
                [
                    ["http", MULTIPOOLER_HTTP_PORT],
                    ["grpc", MULTIPOOLER_GRPC_PORT],
                    ["postgres", POSTGRES_PORT]
                ]
            ],
            [
                "postgres",
                POSTGRES_IMAGE,
                resources(POSTGRES_RESOURCES),
                []
            ],
            [
                "postgres-exporter",
                POSTGRES_EXPORTER_IMAGE,
                {},
                [["metrics", POSTGRES_EXPORTER_PORT]]
            ]
        ])
    );
    let pool_pods = support::read_tsv(&objects.join("objects.tsv"))
        .into_iter()
        .filter(|row| row["case"] == "case1-minimal" && row["kind"] == "Pod")
        .count();
    assert_eq!(
        pool_pods,
        usize::try_from(POOL_REPLICAS_PER_CELL).expect("positive")
    );

    let data_pvc = read(
        "persistentvolumeclaim.data-minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0",
    );
    let backup_pvc =
        read("persistentvolumeclaim.backup-data-minimal-postgres-default-0-inf-zone-a-4a84cb77");
    for (pvc, size) in [
        (data_pvc, POOL_STORAGE_SIZE),
        (backup_pvc, BACKUP_STORAGE_SIZE),
    ] {
        assert_eq!(
            [&pvc["spec"]["accessModes"], &pvc["spec"]["resources"]],
            [
                &json!([ACCESS_MODE]),
                &json!({"requests": {"storage": size}})
            ]
        );
    }
}

#[test]
fn minimal_table_group_spec_carries_the_resolver_defaults() {
    let Some(golden) =
        support::golden_dir("minimal_table_group_spec_carries_the_resolver_defaults")
    else {
        return;
    };
    let table_group = support::read_json(&golden.join("case1-minimal.tablegroup.json"));
    use defaults::*;
    let spec = &table_group["spec"];
    let backup = json!({
        "type": BACKUP_TYPE,
        "filesystem": {"path": BACKUP_PATH, "storage": {"size": BACKUP_STORAGE_SIZE}}
    });
    assert_eq!(
        json!([
            spec["databaseName"],
            spec["tableGroupName"],
            spec["images"],
            spec["globalTopoServer"]["rootPath"],
            spec["globalTopoServer"]["implementation"],
            spec["logLevels"],
            spec["backup"],
            spec["topologyPruning"],
            spec["durabilityPolicy"],
            spec["postgresSuperuser"],
        ]),
        json!([
            SYSTEM_DATABASE_NAME,
            SYSTEM_TABLE_GROUP_NAME,
            {
                "imagePullPolicy": IMAGE_PULL_POLICY,
                "multiorch": MULTIORCH_IMAGE,
                "multipooler": MULTIPOOLER_IMAGE,
                "postgres": POSTGRES_IMAGE
            },
            TOPO_ROOT_PATH,
            TOPO_IMPLEMENTATION,
            {
                "pgctld": LOG_LEVEL,
                "multipooler": LOG_LEVEL,
                "multiorch": LOG_LEVEL,
                "multiadmin": LOG_LEVEL,
                "multigateway": LOG_LEVEL
            },
            backup,
            {"enabled": TOPOLOGY_PRUNING_ENABLED},
            DURABILITY_POLICY,
            POSTGRES_SUPERUSER,
        ])
    );
    assert_eq!(
        spec["shards"],
        json!([{
            "name": SHARD_NAME,
            "multiorch": {
                "replicas": MULTIORCH_REPLICAS,
                "resources": resources(MULTIORCH_RESOURCES),
                "cells": ["zone-a"]
            },
            "pools": {
                POOL_NAME: {
                    "type": POOL_TYPE,
                    "cells": ["zone-a"],
                    "replicasPerCell": POOL_REPLICAS_PER_CELL,
                    "storage": {"size": POOL_STORAGE_SIZE},
                    "postgres": {"resources": resources(POSTGRES_RESOURCES)},
                    "multipooler": {"resources": resources(MULTIPOOLER_RESOURCES)}
                }
            },
            "backup": backup
        }])
    );
}
