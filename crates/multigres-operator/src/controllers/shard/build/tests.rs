//! Branches of the Shard builders the goldens do not reach (golden/README.md "These four cases
//! do not cover every branch"): several cells and pools, S3 with endpoint, key prefix and a
//! service account, custom images, OTEL env and sampling config, storage class and access modes,
//! fsGroup, initdb args, a user's pgBackRest Secret, no backup at all, pull settings (fix 10),
//! per-pool deletion policies, and every error.
//!
//! The fixture's names differ from every default (cluster `orders`, database `inventory`, …) so a
//! swapped or defaulted field shows.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::test_support::{FixedEntropy, fixed_now};
use super::*;
use crate::controllers::otel_env::OperatorOtelEnv;
use crate::controllers::shard::build::pgbackrest_certs::generate_pgbackrest_material;
use crate::controllers::shard::build::spec_hash::spec_hash;

const SHARD: &str = "orders-inventory-items-0-80-1a2b3c4d";

/// A Shard of cluster `orders` in namespace `shop`, pool `main` in cells `east` and `west`,
/// filesystem backups, nothing optional set.
fn shard_json() -> Value {
    json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": "Shard",
        "metadata": {
            "name": SHARD,
            "namespace": "shop",
            "uid": "9d0c1b2a-0000-4000-8000-000000000001",
            "labels": {
                "app.kubernetes.io/component": "shard",
                "app.kubernetes.io/instance": "orders",
                "app.kubernetes.io/managed-by": "multigres-operator",
                "app.kubernetes.io/name": "multigres",
                "app.kubernetes.io/part-of": "multigres",
                "multigres.com/cluster": "orders",
                "multigres.com/database": "inventory",
                "multigres.com/shard": "0-80",
                "multigres.com/tablegroup": "items"
            }
        },
        "spec": {
            "databaseName": "inventory",
            "tableGroupName": "items",
            "shardName": "0-80",
            "images": {
                "multiorch": "registry.example.com/multigres:v9",
                "multipooler": "registry.example.com/multigres:v9",
                "postgres": "registry.example.com/pgctld:v9"
            },
            "globalTopoServer": {
                "address": "etcd.shop.svc:2379",
                "rootPath": "/orders/global",
                "implementation": "etcd"
            },
            "multiorch": {},
            "pools": {
                "main": {
                    "type": "readWrite",
                    "cells": ["west", "east"],
                    "replicasPerCell": 2
                }
            },
            "logLevels": {"pgctld": "debug", "multipooler": "warn", "multiorch": "error"},
            "backup": {"type": "filesystem", "filesystem": {"path": "/backups"}},
            "postgresSuperuser": "dba"
        }
    })
}

fn shard_from(value: Value) -> Shard {
    serde_json::from_value(value).expect("the fixture is a Shard")
}

fn material() -> PgBackRestMaterial {
    generate_pgbackrest_material("shop", fixed_now(), &mut FixedEntropy::new())
        .expect("fixed entropy issues certificates")
}

fn inputs() -> ShardBuildInputs {
    ShardBuildInputs {
        pgbackrest_material: Some(material()),
        ..ShardBuildInputs::default()
    }
}

fn build(value: Value) -> Desired {
    build_shard_objects(&shard_from(value), &inputs()).expect("the fixture builds")
}

fn names<T: serde::Serialize>(objects: &[T]) -> Vec<String> {
    objects
        .iter()
        .map(|object| {
            serde_json::to_value(object).expect("serializes")["metadata"]["name"]
                .as_str()
                .expect("named")
                .to_owned()
        })
        .collect()
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("serializes")
}

fn pod_spec(pod: &Pod) -> Value {
    to_json(pod)["spec"].clone()
}

fn container<'a>(pod: &'a Pod, name: &str) -> &'a Container {
    let spec = pod.spec.as_ref().expect("pods have a spec");
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .find(|container| container.name == name)
        .expect("the container exists")
}

fn env_of(pod: &Pod, name: &str) -> Value {
    to_json(&container(pod, name).env)
}

#[test]
fn several_cells_get_one_multiorch_and_backup_pvc_each_and_pods_in_spec_order() {
    let desired = build(shard_json());
    // Multiorch and backup PVCs follow the sorted union of pool cells; pods follow the pool's
    // own cell order, then the index.
    assert_eq!(
        names(&desired.multiorch_deployments),
        [
            "orders-inventory-items-0-80-multiorch-east-6b1377e7",
            "orders-inventory-items-0-80-multiorch-west-88880f05"
        ]
    );
    assert_eq!(
        names(&desired.multiorch_services),
        names(&desired.multiorch_deployments)
    );
    assert_eq!(
        names(&desired.backup_pvcs),
        [
            "backup-data-orders-inventory-items-0-80-east-576330a5",
            "backup-data-orders-inventory-items-0-80-west-1faa6fe7"
        ]
    );
    assert_eq!(
        names(&desired.pool_pods),
        [
            "orders-inventory-items-0-80-pool-main-west-73a3f84d-0",
            "orders-inventory-items-0-80-pool-main-west-73a3f84d-1",
            "orders-inventory-items-0-80-pool-main-east-c5297eef-0",
            "orders-inventory-items-0-80-pool-main-east-c5297eef-1"
        ]
    );
    assert_eq!(
        names(&desired.pool_data_pvcs),
        names(&desired.pool_pods)
            .iter()
            .map(|pod| format!("data-{pod}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(desired.pool_pdbs.len(), 2);
    assert_eq!(desired.pool_services.len(), 2);
    let east = &desired.pool_pods[2];
    assert_eq!(
        container(east, "multipooler")
            .args
            .iter()
            .flatten()
            .filter(|arg| arg.starts_with("--cell="))
            .collect::<Vec<_>>(),
        ["--cell=east"]
    );
    assert_eq!(
        to_json(&desired.multiorch_deployments[1])["spec"]["template"]["spec"]["containers"][0]["args"],
        json!([
            "multiorch",
            "--http-port=15300",
            "--grpc-port=15370",
            "--topo-global-server-addresses=etcd.shop.svc:2379",
            "--topo-global-root=/orders/global",
            "--cell=west",
            "--watch-targets=inventory/items/0-80",
            "--log-level=error"
        ])
    );
}

#[test]
fn explicit_multiorch_cells_are_kept_as_written() {
    let mut value = shard_json();
    value["spec"]["multiorch"] = json!({"cells": ["west"], "replicas": 3});
    let desired = build(value);
    assert_eq!(
        names(&desired.multiorch_deployments),
        ["orders-inventory-items-0-80-multiorch-west-88880f05"]
    );
    assert_eq!(
        to_json(&desired.multiorch_deployments[0])["spec"]["replicas"],
        json!(3)
    );
}

/// One pod with every optional branch on at once, compared whole.
#[test]
fn a_fully_configured_pool_pod_is_built_exactly() {
    let mut value = shard_json();
    value["metadata"]["annotations"] = json!({"multigres.com/project-ref": "proj-7"});
    value["spec"]["images"]["imagePullPolicy"] = json!("Always");
    value["spec"]["images"]["imagePullSecrets"] = json!([{"name": "registry-credentials"}]);
    value["spec"]["initdbArgs"] = json!("--data-checksums --locale=C");
    value["spec"]["postgresConfigRef"] = json!({"name": "pg-tuning", "key": "tuning.conf"});
    value["spec"]["cellTopologyLabels"] =
        json!({"east": {"topology.kubernetes.io/region": "eu-1"}});
    value["spec"]["observability"] = json!({
        "otlpEndpoint": "http://collector.telemetry:4318",
        "tracesSampler": "multigres_custom",
        "samplingConfigRef": {"name": "sampling", "key": "rules.yaml"}
    });
    value["spec"]["backup"] = json!({
        "type": "s3",
        "s3": {
            "bucket": "orders-backups",
            "region": "eu-central-1",
            "endpoint": "https://s3.example.com",
            "keyPrefix": "prod/orders",
            "serviceAccountName": "orders-backup"
        },
        "pgbackrestTLS": {"secretName": "orders-pgbackrest"}
    });
    value["spec"]["pools"]["main"]["fsGroup"] = json!(999);
    value["spec"]["pools"]["main"]["cells"] = json!(["east"]);
    value["spec"]["pools"]["main"]["replicasPerCell"] = json!(1);
    value["spec"]["pools"]["main"]["tolerations"] =
        json!([{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]);
    value["spec"]["pools"]["main"]["postgres"] =
        json!({"resources": {"requests": {"cpu": "2", "memory": "4Gi"}}});
    let shard = shard_from(value);
    let inputs = ShardBuildInputs {
        postgres_config_hash: Some(pool_pod::postgres_config_hash("shared_buffers = 1GB\n")),
        pgbackrest_material: None,
        operator_otel_env: OperatorOtelEnv::from_vars([(
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "http/protobuf",
        )]),
    };
    let desired = build_shard_objects(&shard, &inputs).expect("builds");
    assert_eq!(
        desired.pgbackrest_tls,
        PgBackRestTls::UserSecret {
            name: "orders-pgbackrest".into()
        }
    );
    assert_eq!(desired.backup_pvcs, Vec::new(), "S3 has no backup PVC");
    let pod = &desired.pool_pods[0];
    let pod_name = "orders-inventory-items-0-80-pool-main-east-c5297eef-0";
    let password =
        json!({"secretKeyRef": {"name": format!("{SHARD}-postgres-password"), "key": "password"}});
    let otel = [
        json!({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector.telemetry:4318"}),
        json!({"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "http/protobuf"}),
        json!({"name": "OTEL_TRACES_SAMPLER", "value": "multigres_custom"}),
        json!({"name": "OTEL_TRACES_SAMPLER_CONFIG", "value": "/etc/otel/rules.yaml"}),
    ];
    let security = json!({"runAsNonRoot": true, "runAsUser": 999, "runAsGroup": 999});
    let mut ours = to_json(pod);
    let hash = ours["metadata"]["annotations"]["multigres.com/spec-hash"].take();
    assert_eq!(hash, json!(spec_hash(pod)));
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name,
            "namespace": "shop",
            "labels": {
                "app.kubernetes.io/component": "shard-pool",
                "app.kubernetes.io/instance": "orders",
                "app.kubernetes.io/managed-by": "multigres-operator",
                "app.kubernetes.io/name": "multigres",
                "app.kubernetes.io/part-of": "multigres",
                "multigres.com/cell": "east",
                "multigres.com/cluster": "orders",
                "multigres.com/database": "inventory",
                "multigres.com/pool": "main",
                "multigres.com/shard": "0-80",
                "multigres.com/tablegroup": "items"
            },
            "annotations": {
                "multigres.com/postgres-config-hash":
                    "294ba9380ae310d82e31d8639d79f254fb1b31c4fb0d744916ac5952fe5d69e3",
                "multigres.com/project-ref": "proj-7",
                "multigres.com/spec-hash": null,
                "prometheus.io/path": "/metrics",
                "prometheus.io/port": "9187",
                "prometheus.io/scrape": "true"
            },
            "ownerReferences": [{
                "apiVersion": "multigres.com/v1alpha1",
                "kind": "Shard",
                "name": SHARD,
                "uid": "9d0c1b2a-0000-4000-8000-000000000001",
                "controller": true,
                "blockOwnerDeletion": true
            }]
        },
        "spec": {
            "hostname": pod_name,
            "subdomain": "orders-inventory-items-0-80-pool-main-east-headless-6f72f858",
            "securityContext": {"fsGroup": 999},
            "serviceAccountName": "orders-backup",
            "terminationGracePeriodSeconds": 30,
            "nodeSelector": {"topology.kubernetes.io/region": "eu-1"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}],
            "imagePullSecrets": [{"name": "registry-credentials"}],
            "initContainers": [{
                "name": "multipooler",
                "image": "registry.example.com/multigres:v9",
                "imagePullPolicy": "Always",
                "args": [
                    "multipooler",
                    "--http-port=15200",
                    "--grpc-port=15270",
                    "--pooler-dir=/var/lib/pooler",
                    "--socket-file=/var/lib/pooler/pg_sockets/.s.PGSQL.5432",
                    "--service-map=grpc-pooler",
                    "--topo-global-server-addresses=etcd.shop.svc:2379",
                    "--topo-global-root=/orders/global",
                    "--cell=east",
                    "--database=inventory",
                    "--table-group=items",
                    "--shard=0-80",
                    format!("--service-id={}", multigres_api::naming::multipooler_service_id(pod_name)),
                    "--pgctld-addr=localhost:15470",
                    "--pg-port=5432",
                    "--connpool-global-capacity=40",
                    "--connpool-admin-capacity=5",
                    "--log-level=warn",
                    "--pgbackrest-cert-file=/certs/pgbackrest/pgbackrest.crt",
                    "--pgbackrest-key-file=/certs/pgbackrest/pgbackrest.key",
                    "--pgbackrest-ca-file=/certs/pgbackrest/ca.crt"
                ],
                "ports": [
                    {"name": "http", "containerPort": 15200, "protocol": "TCP"},
                    {"name": "grpc", "containerPort": 15270, "protocol": "TCP"},
                    {"name": "postgres", "containerPort": 5432, "protocol": "TCP"}
                ],
                "env": [
                    {"name": "PGDATA", "value": "/var/lib/pooler/pg_data"},
                    {"name": "POSTGRES_USER", "value": "dba"},
                    {"name": "POSTGRES_PASSWORD", "valueFrom": password},
                    {"name": "AWS_REGION", "value": "eu-central-1"},
                    otel[0], otel[1], otel[2], otel[3]
                ],
                "resources": {},
                "restartPolicy": "Always",
                "volumeMounts": [
                    {"name": "pgdata", "mountPath": "/var/lib/pooler"},
                    {"name": "backup-data", "mountPath": "/backups"},
                    {"name": "socket-dir", "mountPath": "/var/run/postgresql"},
                    {"name": "pgbackrest-certs", "mountPath": "/certs/pgbackrest", "readOnly": true},
                    {"name": "otel-sampling-config", "mountPath": "/etc/otel", "readOnly": true}
                ],
                "startupProbe": {"httpGet": {"path": "/live", "port": 15200}, "periodSeconds": 5, "failureThreshold": 30},
                "livenessProbe": {"httpGet": {"path": "/live", "port": 15200}, "periodSeconds": 10},
                "readinessProbe": {"httpGet": {"path": "/live", "port": 15200}, "periodSeconds": 5},
                "securityContext": security
            }],
            "containers": [
                {
                    "name": "postgres",
                    "image": "registry.example.com/pgctld:v9",
                    "imagePullPolicy": "Always",
                    "command": ["/usr/local/bin/pgctld"],
                    "args": [
                        "server",
                        "--pooler-dir=/var/lib/pooler",
                        "--grpc-port=15470",
                        "--pg-port=5432",
                        "--pg-listen-addresses=*",
                        "--log-level=debug",
                        "--grpc-socket-file=/var/lib/pooler/pgctld.sock",
                        "--pg-hba-template=/etc/pgctld/pg_hba_template.conf",
                        "--http-port=15400",
                        "--postgres-config-template=/etc/pgctld/postgres/postgresql.conf.tmpl",
                        "--pgbackrest-cert-dir=/certs/pgbackrest",
                        "--pgbackrest-port=8432"
                    ],
                    "env": [
                        {"name": "PGDATA", "value": "/var/lib/pooler/pg_data"},
                        {"name": "POSTGRES_USER", "value": "dba"},
                        {"name": "POSTGRES_PASSWORD", "valueFrom": password},
                        {"name": "POSTGRES_INITDB_ARGS", "value": "--data-checksums --locale=C"},
                        {"name": "AWS_REGION", "value": "eu-central-1"},
                        otel[0], otel[1], otel[2], otel[3]
                    ],
                    "resources": {"requests": {"cpu": "2", "memory": "4Gi"}},
                    "volumeMounts": [
                        {"name": "pgdata", "mountPath": "/var/lib/pooler"},
                        {"name": "backup-data", "mountPath": "/backups"},
                        {"name": "socket-dir", "mountPath": "/var/run/postgresql"},
                        {"name": "pg-hba-template", "mountPath": "/etc/pgctld", "readOnly": true},
                        {"name": "postgres-config-template", "mountPath": "/etc/pgctld/postgres", "readOnly": true},
                        {"name": "pgbackrest-certs", "mountPath": "/certs/pgbackrest", "readOnly": true},
                        {"name": "otel-sampling-config", "mountPath": "/etc/otel", "readOnly": true}
                    ],
                    "startupProbe": {"httpGet": {"path": "/live", "port": 15400}, "periodSeconds": 5, "failureThreshold": 30},
                    "livenessProbe": {"httpGet": {"path": "/live", "port": 15400}, "periodSeconds": 10},
                    "readinessProbe": {"httpGet": {"path": "/live", "port": 15400}, "periodSeconds": 5},
                    "securityContext": security
                },
                {
                    "name": "postgres-exporter",
                    "image": "quay.io/prometheuscommunity/postgres-exporter:v0.18.1",
                    "imagePullPolicy": "Always",
                    "args": ["--web.listen-address=:9187"],
                    "ports": [{"name": "metrics", "containerPort": 9187, "protocol": "TCP"}],
                    "env": [
                        {"name": "DATA_SOURCE_URI", "value": "localhost:5432/postgres?sslmode=disable"},
                        {"name": "DATA_SOURCE_USER", "value": "dba"},
                        {"name": "DATA_SOURCE_PASS", "valueFrom": password}
                    ],
                    "resources": {},
                    "securityContext": security
                }
            ],
            "volumes": [
                {"name": "pgdata", "persistentVolumeClaim": {"claimName": format!("data-{pod_name}")}},
                {"name": "backup-data", "emptyDir": {}},
                {"name": "socket-dir", "emptyDir": {}},
                {"name": "pg-hba-template", "configMap": {"name": format!("{SHARD}-pg-hba")}},
                {"name": "postgres-config-template", "configMap": {
                    "name": "pg-tuning",
                    "items": [{"key": "tuning.conf", "path": "postgresql.conf.tmpl"}]
                }},
                {"name": "pgbackrest-certs", "projected": {
                    "sources": [{"secret": {"name": "orders-pgbackrest", "items": [
                        {"key": "ca.crt", "path": "ca.crt"},
                        {"key": "tls.crt", "path": "pgbackrest.crt"},
                        {"key": "tls.key", "path": "pgbackrest.key"}
                    ]}}],
                    "defaultMode": 288
                }},
                {"name": "otel-sampling-config", "configMap": {"name": "sampling"}}
            ]
        },
        "status": {}
    });
    assert_eq!(ours, expected);
}

#[test]
fn s3_credentials_come_from_the_named_secret_and_nothing_else_reaches_the_env() {
    let mut value = shard_json();
    value["spec"]["backup"] = json!({
        "type": "s3",
        "s3": {
            "bucket": "orders-backups",
            "region": "",
            "endpoint": "https://minio.shop:9000",
            "keyPrefix": "orders/",
            "useEnvCredentials": true,
            "credentialsSecret": "minio-keys"
        }
    });
    let desired = build(value);
    let pod = &desired.pool_pods[0];
    let key = |name: &str| json!({"name": name, "valueFrom": {"secretKeyRef": {"name": "minio-keys", "key": name}}});
    let env = env_of(pod, "multipooler");
    assert_eq!(
        env.as_array().expect("a list")[3..].to_vec(),
        [key("AWS_ACCESS_KEY_ID"), key("AWS_SECRET_ACCESS_KEY")]
    );
    assert_eq!(
        env_of(pod, "postgres").as_array().expect("a list")[3..].to_vec(),
        [key("AWS_ACCESS_KEY_ID"), key("AWS_SECRET_ACCESS_KEY")]
    );
    assert_eq!(pod_spec(pod).get("serviceAccountName"), None);
    assert!(matches!(
        desired.pgbackrest_tls,
        PgBackRestTls::Generated { .. }
    ));
}

#[test]
fn storage_class_and_access_modes_reach_data_and_backup_pvcs() {
    let mut value = shard_json();
    value["spec"]["pools"]["main"]["storage"] =
        json!({"size": "20480Mi", "class": "fast-ssd", "accessModes": ["ReadWriteOncePod"]});
    value["spec"]["backup"]["filesystem"]["storage"] =
        json!({"size": "50Gi", "class": "shared-nfs", "accessModes": ["ReadWriteMany"]});
    let desired = build(value);
    assert_eq!(
        to_json(&desired.pool_data_pvcs[0])["spec"],
        json!({
            "accessModes": ["ReadWriteOncePod"],
            "resources": {"requests": {"storage": "20Gi"}},
            "storageClassName": "fast-ssd"
        })
    );
    assert_eq!(
        to_json(&desired.backup_pvcs[0])["spec"],
        json!({
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": "50Gi"}},
            "storageClassName": "shared-nfs"
        })
    );
    // The pods mount the shared backup PVC of their own cell.
    assert_eq!(
        pod_spec(&desired.pool_pods[3])["volumes"][1],
        json!({"name": "backup-data", "persistentVolumeClaim": {
            "claimName": "backup-data-orders-inventory-items-0-80-east-576330a5"
        }})
    );
}

#[test]
fn without_backup_the_pods_mount_an_empty_dir_and_no_certificates() {
    let mut value = shard_json();
    value["spec"]
        .as_object_mut()
        .expect("an object")
        .remove("backup");
    let shard = shard_from(value);
    let desired =
        build_shard_objects(&shard, &ShardBuildInputs::default()).expect("needs no material");
    assert_eq!(desired.pgbackrest_tls, PgBackRestTls::None);
    // Go still builds the backup PVCs (its type is not `s3`), although nothing mounts them.
    assert_eq!(desired.backup_pvcs.len(), 2);
    let pod = &desired.pool_pods[0];
    let volumes: Vec<Value> = pod_spec(pod)["volumes"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|volume| volume["name"].clone())
        .collect();
    assert_eq!(
        volumes,
        [
            json!("pgdata"),
            json!("backup-data"),
            json!("socket-dir"),
            json!("pg-hba-template")
        ]
    );
    assert_eq!(pod_spec(pod)["volumes"][1]["emptyDir"], json!({}));
    let postgres_args = container(pod, "postgres").args.clone().expect("args");
    assert_eq!(
        postgres_args.last().map(String::as_str),
        Some("--http-port=15400")
    );
    let pooler_args = container(pod, "multipooler").args.clone().expect("args");
    assert_eq!(
        pooler_args.last().map(String::as_str),
        Some("--log-level=warn")
    );
}

#[test]
fn pull_settings_reach_every_container_and_pod_without_changing_the_hash() {
    let plain = build(shard_json());
    let mut value = shard_json();
    value["spec"]["images"]["imagePullPolicy"] = json!("Always");
    value["spec"]["images"]["imagePullSecrets"] = json!([{"name": "regcred"}]);
    let pulled = build(value);
    for pod in &pulled.pool_pods {
        let spec = pod_spec(pod);
        assert_eq!(spec["imagePullSecrets"], json!([{"name": "regcred"}]));
        for list in ["initContainers", "containers"] {
            for container in spec[list].as_array().expect("a list") {
                assert_eq!(container["imagePullPolicy"], json!("Always"));
            }
        }
    }
    let orch = to_json(&pulled.multiorch_deployments[0]);
    assert_eq!(
        orch["spec"]["template"]["spec"]["imagePullSecrets"],
        json!([{"name": "regcred"}])
    );
    assert_eq!(
        orch["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        json!("Always")
    );
    let hashes = |desired: &Desired| -> Vec<Option<String>> {
        desired
            .pool_pods
            .iter()
            .map(|pod| {
                pod.metadata
                    .annotations
                    .as_ref()
                    .and_then(|annotations| annotations.get("multigres.com/spec-hash").cloned())
            })
            .collect()
    };
    assert_eq!(hashes(&pulled), hashes(&plain));
    // Without settings nothing is written, as the Go operator writes nothing.
    let plain_pod = pod_spec(&plain.pool_pods[0]);
    assert_eq!(plain_pod.get("imagePullSecrets"), None);
    assert_eq!(plain_pod["containers"][0].get("imagePullPolicy"), None);
}

/// Fix 10: `IfNotPresent` is what the API server fills in for the tagged images we use, so it
/// is left out and the objects stay the Go operator's (docs/compatibility.md).
#[test]
fn the_if_not_present_policy_builds_the_same_objects_as_no_policy() {
    let plain = build(shard_json());
    let mut value = shard_json();
    value["spec"]["images"]["imagePullPolicy"] = json!("IfNotPresent");
    let defaulted = build(value);
    let as_json = |desired: &Desired| -> (Vec<Value>, Vec<Value>) {
        (
            desired.pool_pods.iter().map(to_json).collect(),
            desired.multiorch_deployments.iter().map(to_json).collect(),
        )
    };
    assert_eq!(as_json(&defaulted), as_json(&plain));
}

#[test]
fn each_pool_gets_its_own_objects_and_its_policy_decides_the_owner_reference() {
    let mut value = shard_json();
    value["spec"]["pvcDeletionPolicy"] = json!({"whenDeleted": "Delete"});
    value["spec"]["pools"]["main"]["cells"] = json!(["east"]);
    value["spec"]["pools"]["main"]["replicasPerCell"] = json!(1);
    value["spec"]["pools"]["archive"] = json!({
        "type": "readWrite",
        "cells": ["east"],
        "pvcDeletionPolicy": {"whenDeleted": "Retain"}
    });
    let desired = build(value);
    // Pools in name order; `archive` defaults to one replica per cell.
    assert_eq!(
        names(&desired.pool_pods),
        [
            "orders-inventory-items-0-80-pool-archive-east-6e4a245e-0",
            "orders-inventory-items-0-80-pool-main-east-c5297eef-0"
        ]
    );
    let owners: Vec<bool> = desired
        .pool_data_pvcs
        .iter()
        .map(|pvc| pvc.metadata.owner_references.is_some())
        .collect();
    assert_eq!(
        owners,
        [false, true],
        "archive retains, main inherits Delete"
    );
    // The backup PVC follows only the Shard-level policy.
    assert!(desired.backup_pvcs[0].metadata.owner_references.is_some());
    assert_eq!(
        names(&desired.pool_pdbs),
        [
            "orders-inventory-items-0-80-pool-archive-east-pdb-83bc3ca8",
            "orders-inventory-items-0-80-pool-main-east-pdb-ddb64591"
        ]
    );
    assert_eq!(desired.pool_services.len(), 2);
}

#[test]
fn a_pool_policy_can_delete_what_the_shard_retains() {
    let mut value = shard_json();
    value["spec"]["pools"]["main"]["pvcDeletionPolicy"] = json!({"whenDeleted": "Delete"});
    let desired = build(value);
    assert!(
        desired
            .pool_data_pvcs
            .iter()
            .all(|pvc| pvc.metadata.owner_references.is_some())
    );
    assert!(
        desired
            .backup_pvcs
            .iter()
            .all(|pvc| pvc.metadata.owner_references.is_none())
    );
}

#[test]
fn multiorch_carries_placement_pod_metadata_and_otel_sampling() {
    let mut value = shard_json();
    value["metadata"]["annotations"] = json!({"multigres.com/project-ref": "proj-7"});
    value["spec"]["cellTopologyLabels"] = json!({"east": {"topology.kubernetes.io/zone": "eu-1a"}});
    value["spec"]["observability"] = json!({"samplingConfigRef": {"name": "sampling"}});
    value["spec"]["multiorch"] = json!({
        "podLabels": {"team": "db", "app.kubernetes.io/component": "overridden"},
        "podAnnotations": {"note": "x", "prometheus.io/scrape": "false"},
        "placement": {"tolerations": [{"operator": "Exists"}]},
        "affinity": {"podAntiAffinity": {}}
    });
    let desired = build(value);
    let orch = to_json(&desired.multiorch_deployments[0]);
    let template = &orch["spec"]["template"];
    assert_eq!(
        template["metadata"]["annotations"],
        json!({"note": "x", "multigres.com/project-ref": "proj-7"})
    );
    assert_eq!(template["metadata"]["labels"]["team"], json!("db"));
    assert_eq!(
        template["metadata"]["labels"]["app.kubernetes.io/component"],
        json!("multiorch")
    );
    assert_eq!(
        template["spec"]["nodeSelector"],
        json!({"topology.kubernetes.io/zone": "eu-1a"})
    );
    assert_eq!(
        template["spec"]["tolerations"],
        json!([{"operator": "Exists"}])
    );
    assert_eq!(template["spec"]["affinity"], json!({"podAntiAffinity": {}}));
    assert_eq!(
        template["spec"]["volumes"],
        json!([{"name": "otel-sampling-config", "configMap": {"name": "sampling"}}])
    );
    // No endpoint anywhere: telemetry is off, so no env, but the volume is still mounted.
    assert_eq!(template["spec"]["containers"][0].get("env"), None);
    assert_eq!(
        template["spec"]["containers"][0]["volumeMounts"],
        json!([{"name": "otel-sampling-config", "mountPath": "/etc/otel", "readOnly": true}])
    );
    assert_eq!(template["spec"]["containers"][0]["resources"], json!({}));
}

#[test]
fn the_generated_secrets_hold_the_supplied_material() {
    // Signatures draw a fresh nonce, so the Secrets are compared with the very material given.
    let material = material();
    let inputs = ShardBuildInputs {
        pgbackrest_material: Some(material.clone()),
        ..ShardBuildInputs::default()
    };
    let desired = build_shard_objects(&shard_from(shard_json()), &inputs).expect("builds");
    let (ca_secret, tls_secret) = match &desired.pgbackrest_tls {
        PgBackRestTls::Generated {
            ca_secret,
            tls_secret,
        } => Some((ca_secret, tls_secret)),
        PgBackRestTls::None | PgBackRestTls::UserSecret { .. } => None,
    }
    .expect("filesystem backups without a user Secret generate certificates");
    let data = |secret: &k8s_openapi::api::core::v1::Secret| -> BTreeMap<String, String> {
        secret
            .data
            .iter()
            .flatten()
            .map(|(key, value)| {
                (
                    key.clone(),
                    String::from_utf8(value.0.clone()).expect("PEM is text"),
                )
            })
            .collect()
    };
    assert_eq!(
        data(ca_secret),
        BTreeMap::from([
            ("ca.crt".to_owned(), material.ca.cert_pem.clone()),
            ("ca.key".to_owned(), material.ca.key_pem.clone()),
        ])
    );
    assert_eq!(
        data(tls_secret),
        BTreeMap::from([
            ("tls.crt".to_owned(), material.server.cert_pem.clone()),
            ("tls.key".to_owned(), material.server.key_pem.clone()),
        ])
    );
    assert_eq!(
        to_json(&**tls_secret)["metadata"]["labels"],
        json!({
            "app.kubernetes.io/component": "pgbackrest-tls",
            "app.kubernetes.io/instance": "orders",
            "app.kubernetes.io/managed-by": "multigres-operator",
            "app.kubernetes.io/name": "multigres",
            "app.kubernetes.io/part-of": "multigres"
        })
    );
}

#[test]
fn errors_name_the_shard_and_the_field() {
    let message = |value: Value, inputs: &ShardBuildInputs| {
        build_shard_objects(&shard_from(value), inputs)
            .expect_err("does not build")
            .to_string()
    };
    let mut no_cells = shard_json();
    no_cells["spec"]["pools"]["main"]["cells"] = json!([]);
    assert_eq!(
        message(no_cells, &inputs()),
        "Shard shop/orders-inventory-items-0-80-1a2b3c4d: cannot determine the MultiOrch cells: \
         spec.multiorch.cells is empty and no pool lists a cell"
    );

    let mut pool_without_cells = shard_json();
    pool_without_cells["spec"]["multiorch"] = json!({"cells": ["east"]});
    pool_without_cells["spec"]["pools"]["main"]["cells"] = json!([]);
    assert_eq!(
        message(pool_without_cells, &inputs()),
        "Shard shop/orders-inventory-items-0-80-1a2b3c4d: spec.pools[main].cells is empty; pool \
         main has no cells specified - cannot deploy without cell information"
    );

    let mut bad_size = shard_json();
    bad_size["spec"]["pools"]["main"]["storage"] = json!({"size": "lots"});
    let err = build_shard_objects(&shard_from(bad_size), &inputs()).expect_err("bad size");
    assert_eq!(
        err.to_string(),
        "Shard shop/orders-inventory-items-0-80-1a2b3c4d: spec.pools[main].storage.size is invalid"
    );
    assert_eq!(
        std::error::Error::source(&err).map(ToString::to_string),
        Some("size \"lots\" is not a Kubernetes quantity (e.g. 10Gi)".to_owned())
    );

    let mut config = shard_json();
    config["spec"]["postgresConfigRef"] = json!({"name": "pg-tuning", "key": "tuning.conf"});
    assert_eq!(
        message(config, &inputs()),
        "Shard shop/orders-inventory-items-0-80-1a2b3c4d: spec.postgresConfigRef names ConfigMap \
         \"pg-tuning\" key \"tuning.conf\", but no hash of its content was supplied to the builders"
    );

    assert_eq!(
        message(shard_json(), &ShardBuildInputs::default()),
        "Shard shop/orders-inventory-items-0-80-1a2b3c4d: spec.backup uses operator-generated \
         pgBackRest certificates, but no certificate material was supplied to the builders"
    );

    let mut unlabelled = shard_json();
    unlabelled["metadata"]["labels"] = json!({});
    assert_eq!(
        message(unlabelled, &inputs()),
        "failed to read the owning cluster of a Shard"
    );

    let mut no_namespace = shard_json();
    no_namespace["metadata"]
        .as_object_mut()
        .expect("an object")
        .remove("namespace");
    assert_eq!(
        message(no_namespace, &inputs()),
        "Shard orders-inventory-items-0-80-1a2b3c4d has no metadata.namespace"
    );
}
