//! Branches of the Cell builders that the goldens do not reach: a region instead of a zone, a
//! custom image, OTEL variables with a sampling file, the TLS certificate of `certCommonName`,
//! pull settings (fix 10), placement, user pod labels and annotations, and the errors.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LocalObjectReference, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::labels::{ANNOTATION_PROJECT_REF, LABEL_CLUSTER};
use multigres_api::v1alpha1::{
    Cell, CellImages, CellSpec, ComponentLogLevels, GlobalTopoServerRef, ImagePullPolicy, LogLevel,
    ObservabilityConfig, PodPlacementSpec, SamplingConfigRef, StatelessSpec,
    TopologyReconciliation,
};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::{Error, build_cell_objects};
use crate::controllers::otel_env::OperatorOtelEnv;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn cell(spec: CellSpec) -> Cell {
    Cell {
        metadata: ObjectMeta {
            name: Some("orders-eu-central-7c1d2e3f".into()),
            namespace: Some("shop".into()),
            uid: Some("c0ffee00-0000-4000-8000-000000000001".into()),
            labels: Some(map(&[(LABEL_CLUSTER, "orders")])),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    }
}

fn base_spec() -> CellSpec {
    CellSpec {
        name: "eu-central".into(),
        images: CellImages {
            multigateway: "registry.example.com/multigres/multigres:v1.2.3".into(),
            ..CellImages::default()
        },
        global_topo_server: GlobalTopoServerRef {
            address: "orders-global-topo.shop.svc:2379".into(),
            root_path: "/multigres/orders".into(),
            implementation: "etcd".into(),
        },
        log_levels: ComponentLogLevels {
            multigateway: Some(LogLevel::Debug),
            ..ComponentLogLevels::default()
        },
        topology_reconciliation: TopologyReconciliation {
            register_cell: true,
            prune_poolers: true,
        },
        ..CellSpec::default()
    }
}

#[test]
fn a_fully_configured_cell_builds_the_whole_gateway_deployment() {
    let mut spec = base_spec();
    spec.region = "eu-central-1".into();
    spec.images.image_pull_policy = Some(ImagePullPolicy::Always);
    spec.images.image_pull_secrets = vec![LocalObjectReference {
        name: "registry-credentials".into(),
    }];
    spec.multigateway = StatelessSpec {
        replicas: Some(4),
        resources: ResourceRequirements {
            requests: Some(BTreeMap::from([(
                "cpu".to_owned(),
                Quantity("250m".into()),
            )])),
            ..ResourceRequirements::default()
        },
        affinity: None,
        pod_annotations: map(&[
            ("prometheus.io/scrape", "false"),
            ("example.com/owner", "gateway-team"),
        ]),
        pod_labels: map(&[
            ("app.kubernetes.io/component", "not-a-gateway"),
            ("tier", "edge"),
        ]),
    };
    spec.multigateway_placement = Some(PodPlacementSpec {
        tolerations: vec![Toleration {
            key: Some("dedicated".into()),
            operator: Some("Equal".into()),
            value: Some("gateway".into()),
            effect: Some("NoSchedule".into()),
            toleration_seconds: None,
        }],
    });
    spec.observability = Some(ObservabilityConfig {
        otlp_endpoint: "http://collector.observability:4318".into(),
        traces_sampler: "multigres_custom".into(),
        sampling_config_ref: Some(SamplingConfigRef {
            name: "trace-sampling".into(),
            key: String::new(),
        }),
        ..ObservabilityConfig::default()
    });
    spec.cert_common_name = "db.orders.example.com".into();
    let mut cell = cell(spec);
    cell.metadata.annotations = Some(map(&[(ANNOTATION_PROJECT_REF, "proj-42")]));

    let operator_env = OperatorOtelEnv::from_vars([("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
    let desired = build_cell_objects(&cell, &operator_env).expect("the Cell builds");
    let labels = json!({
        "app.kubernetes.io/component": "multigateway",
        "app.kubernetes.io/instance": "orders",
        "app.kubernetes.io/managed-by": "multigres-operator",
        "app.kubernetes.io/name": "multigres",
        "app.kubernetes.io/part-of": "multigres",
        "multigres.com/cell": "eu-central",
        "multigres.com/region": "eu-central-1"
    });
    let selector = json!({
        "app.kubernetes.io/component": "multigateway",
        "app.kubernetes.io/instance": "orders",
        "multigres.com/cell": "eu-central"
    });
    let owner = json!([{
        "apiVersion": "multigres.com/v1alpha1",
        "kind": "Cell",
        "name": "orders-eu-central-7c1d2e3f",
        "uid": "c0ffee00-0000-4000-8000-000000000001",
        "controller": true,
        "blockOwnerDeletion": true
    }]);
    assert_eq!(
        serde_json::to_value(&desired.deployment).expect("a Deployment serializes"),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "orders-eu-central-multigateway-5f723b75",
                "namespace": "shop",
                "labels": labels,
                "ownerReferences": owner
            },
            "spec": {
                "replicas": 4,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {
                        "labels": {
                            "app.kubernetes.io/component": "multigateway",
                            "app.kubernetes.io/instance": "orders",
                            "app.kubernetes.io/managed-by": "multigres-operator",
                            "app.kubernetes.io/name": "multigres",
                            "app.kubernetes.io/part-of": "multigres",
                            "multigres.com/cell": "eu-central",
                            "multigres.com/region": "eu-central-1",
                            "tier": "edge"
                        },
                        "annotations": {
                            "example.com/owner": "gateway-team",
                            "multigres.com/project-ref": "proj-42"
                        }
                    },
                    "spec": {
                        "containers": [{
                            "name": "multigateway",
                            "image": "registry.example.com/multigres/multigres:v1.2.3",
                            "imagePullPolicy": "Always",
                            "args": [
                                "multigateway",
                                "--http-port", "15100",
                                "--grpc-port", "15170",
                                "--pg-port", "5432",
                                "--pg-replica-port", "5433",
                                "--topo-global-server-addresses", "orders-global-topo.shop.svc:2379",
                                "--topo-global-root", "/multigres/orders",
                                "--cell", "eu-central",
                                "--log-level", "debug",
                                "--pg-tls-cert-file", "/etc/multigateway/tls/tls.crt",
                                "--pg-tls-key-file", "/etc/multigateway/tls/tls.key"
                            ],
                            "ports": [
                                {"name": "http", "containerPort": 15100, "protocol": "TCP"},
                                {"name": "grpc", "containerPort": 15170, "protocol": "TCP"},
                                {"name": "postgres", "containerPort": 5432, "protocol": "TCP"},
                                {"name": "pg-replica", "containerPort": 5433, "protocol": "TCP"}
                            ],
                            "env": [
                                {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector.observability:4318"},
                                {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "grpc"},
                                {"name": "OTEL_TRACES_SAMPLER", "value": "multigres_custom"},
                                {"name": "OTEL_TRACES_SAMPLER_CONFIG", "value": "/etc/otel/sampling-config.yaml"}
                            ],
                            "resources": {"requests": {"cpu": "250m"}},
                            "volumeMounts": [
                                {"name": "otel-sampling-config", "mountPath": "/etc/otel", "readOnly": true},
                                {"name": "tls-certs", "mountPath": "/etc/multigateway/tls", "readOnly": true}
                            ],
                            "startupProbe": {"httpGet": {"path": "/ready", "port": 15100}, "periodSeconds": 5, "failureThreshold": 30},
                            "livenessProbe": {"httpGet": {"path": "/live", "port": 15100}, "periodSeconds": 10},
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 15100}, "periodSeconds": 5}
                        }],
                        "imagePullSecrets": [{"name": "registry-credentials"}],
                        "nodeSelector": {"topology.kubernetes.io/region": "eu-central-1"},
                        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gateway", "effect": "NoSchedule"}],
                        "volumes": [
                            {"name": "otel-sampling-config", "configMap": {"name": "trace-sampling"}},
                            {"name": "tls-certs", "secret": {"secretName": "generated-certs", "defaultMode": 288}}
                        ]
                    }
                },
                "strategy": {}
            },
            "status": {}
        })
    );
    assert_eq!(
        serde_json::to_value(&desired.service).expect("a Service serializes"),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "orders-eu-central-multigateway-5f723b75",
                "namespace": "shop",
                "labels": labels,
                "ownerReferences": owner
            },
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [
                    {"name": "http", "protocol": "TCP", "port": 15100, "targetPort": "http"},
                    {"name": "grpc", "protocol": "TCP", "port": 15170, "targetPort": "grpc"},
                    {"name": "postgres", "protocol": "TCP", "port": 5432, "targetPort": "postgres"}
                ]
            },
            "status": {"loadBalancer": {}}
        })
    );
}

#[test]
fn a_minimal_cell_gets_the_fallbacks_and_no_optional_fields() {
    let mut spec = base_spec();
    spec.zone = "eu-central-1a".into();
    spec.images.multigateway = "".into();
    spec.log_levels = ComponentLogLevels::default();
    let desired =
        build_cell_objects(&cell(spec), &OperatorOtelEnv::default()).expect("the Cell builds");
    let value = serde_json::to_value(&desired.deployment).expect("a Deployment serializes");
    let pod = &value["spec"]["template"]["spec"];
    assert_eq!(value["spec"]["replicas"], json!(1));
    assert_eq!(
        pod["containers"][0]["image"],
        json!("ghcr.io/multigres/multigres:sha-d782aa0")
    );
    assert_eq!(
        pod["containers"][0]["args"]
            .as_array()
            .map(|args| args[15..].to_vec()),
        Some(vec![json!("--log-level"), json!("info")])
    );
    assert_eq!(
        pod["nodeSelector"],
        json!({"topology.kubernetes.io/zone": "eu-central-1a"})
    );
    assert_eq!(
        value["metadata"]["labels"]["multigres.com/zone"],
        json!("eu-central-1a")
    );
    assert_eq!(
        value["spec"]["template"]["metadata"]["annotations"],
        json!({"multigres.com/project-ref": "orders"})
    );
    for absent in ["imagePullSecrets", "tolerations", "volumes", "affinity"] {
        assert_eq!(pod.get(absent), None, "{absent}");
    }
    for absent in ["env", "volumeMounts", "imagePullPolicy"] {
        assert_eq!(pod["containers"][0].get(absent), None, "{absent}");
    }
}

#[test]
fn a_cell_without_cluster_label_is_an_error() {
    let mut unlabelled = cell(base_spec());
    unlabelled.metadata.labels = None;
    let err =
        build_cell_objects(&unlabelled, &OperatorOtelEnv::default()).expect_err("no cluster label");
    assert!(matches!(err, Error::OwningCluster { .. }));
    assert_eq!(
        std::error::Error::source(&err).map(ToString::to_string),
        Some(
            "Cell shop/orders-eu-central-7c1d2e3f: label multigres.com/cluster is missing; it \
             must hold the name of the MultigresCluster that owns this object"
                .to_owned()
        )
    );
}
