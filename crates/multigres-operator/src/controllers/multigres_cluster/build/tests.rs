//! Branches of the cluster builders that the goldens do not reach: several cells with zones and
//! regions, custom images and pull settings, observability, the TLS certificate, external
//! exposure, an external topology server, templates at each level of the chain, the project-ref
//! annotation, and the errors.

use multigres_api::naming::ClusterName;
use multigres_api::resolver::{NamespaceTemplates, resolve_cluster};
use multigres_api::v1alpha1::{CoreTemplateSpec, MultigresCluster, StatelessSpec};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{Desired, Error, build_cluster_objects};
use crate::controllers::otel_env::OperatorOtelEnv;

fn cluster(spec: Value) -> MultigresCluster {
    serde_json::from_value(json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": "MultigresCluster",
        "metadata": {"name": "orders", "namespace": "shop", "uid": "0a0b0c0d-1111-4222-8333-444455556666"},
        "spec": spec,
    }))
    .expect("a valid MultigresCluster")
}

fn build_with(cluster: &MultigresCluster, templates: &NamespaceTemplates) -> Desired {
    let name = ClusterName::parse(cluster.metadata.name.clone().unwrap_or_default())
        .expect("a valid cluster name");
    let resolved =
        resolve_cluster(&name, "shop", &cluster.spec, templates).expect("the cluster resolves");
    build_cluster_objects(cluster, &resolved, &OperatorOtelEnv::default())
        .expect("the cluster builds")
}

fn build(spec: Value) -> Desired {
    build_with(&cluster(spec), &NamespaceTemplates::empty())
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("objects serialize")
}

fn multiadmin(desired: &Desired) -> Value {
    to_json(&desired.deployments[0])
}

#[test]
fn several_cells_with_zones_and_regions_become_cells_and_topology_labels() {
    let desired = build(json!({"cells": [
        {"name": "eu-a", "zone": "eu-west-1a"},
        {"name": "eu-b", "region": "eu-central-1"},
        {"name": "lab"}
    ]}));
    let cells: Vec<Value> = desired.cells.iter().map(to_json).collect();
    let summary: Vec<Value> = cells
        .iter()
        .map(|cell| {
            json!([
                cell["metadata"]["name"],
                cell["metadata"]["labels"]["multigres.com/cell"],
                cell["spec"]["zone"],
                cell["spec"]["region"],
                cell["spec"]["allCells"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            json!([
                "orders-eu-a-ba97298c",
                "eu-a",
                "eu-west-1a",
                null,
                ["eu-a", "eu-b", "lab"]
            ]),
            json!([
                "orders-eu-b-2c9e98c7",
                "eu-b",
                null,
                "eu-central-1",
                ["eu-a", "eu-b", "lab"]
            ]),
            json!([
                "orders-lab-f7cb1ba1",
                "lab",
                null,
                null,
                ["eu-a", "eu-b", "lab"]
            ]),
        ]
    );
    let table_group = to_json(&desired.table_groups[0]);
    assert_eq!(
        table_group["spec"]["cellTopologyLabels"],
        json!({
            "eu-a": {"topology.kubernetes.io/zone": "eu-west-1a"},
            "eu-b": {"topology.kubernetes.io/region": "eu-central-1"}
        })
    );
    assert_eq!(
        table_group["spec"]["shards"][0]["pools"]["default"]["cells"],
        json!(["eu-a", "eu-b", "lab"])
    );
}

#[test]
fn custom_images_and_pull_settings_reach_every_component() {
    let desired = build(json!({
        "cells": [{"name": "eu-a"}],
        "images": {
            "imagePullPolicy": "Always",
            "imagePullSecrets": [{"name": "registry-credentials"}],
            "multiadmin": "registry.example.com/multigres:v2",
            "multiadminWeb": "registry.example.com/multiadmin-web:v2",
            "multigateway": "registry.example.com/gateway:v2",
            "multiorch": "registry.example.com/orch:v2",
            "multipooler": "registry.example.com/pooler:v2",
            "postgres": "registry.example.com/pgctld:v2"
        }
    }));
    for (index, image) in [
        "registry.example.com/multigres:v2",
        "registry.example.com/multiadmin-web:v2",
    ]
    .into_iter()
    .enumerate()
    {
        let pod = &to_json(&desired.deployments[index])["spec"]["template"]["spec"];
        assert_eq!(pod["containers"][0]["image"], json!(image));
        assert_eq!(pod["containers"][0]["imagePullPolicy"], json!("Always"));
        assert_eq!(
            pod["imagePullSecrets"],
            json!([{"name": "registry-credentials"}])
        );
    }
    assert_eq!(
        to_json(&desired.cells[0])["spec"]["images"],
        json!({
            "imagePullPolicy": "Always",
            "imagePullSecrets": [{"name": "registry-credentials"}],
            "multigateway": "registry.example.com/gateway:v2"
        })
    );
    assert_eq!(
        to_json(&desired.table_groups[0])["spec"]["images"],
        json!({
            "imagePullPolicy": "Always",
            "imagePullSecrets": [{"name": "registry-credentials"}],
            "multiorch": "registry.example.com/orch:v2",
            "multipooler": "registry.example.com/pooler:v2",
            "postgres": "registry.example.com/pgctld:v2"
        })
    );
}

#[test]
fn observability_reaches_multiadmin_and_the_children_but_not_multiadmin_web() {
    let observability = json!({
        "otlpEndpoint": "http://collector.observability:4318",
        "tracesSampler": "multigres_custom",
        "samplingConfigRef": {"name": "trace-sampling", "key": "rules.yaml"}
    });
    let desired = build(json!({"cells": [{"name": "eu-a"}], "observability": observability}));
    let admin = multiadmin(&desired);
    let pod = &admin["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["env"],
        json!([
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector.observability:4318"},
            {"name": "OTEL_TRACES_SAMPLER", "value": "multigres_custom"},
            {"name": "OTEL_TRACES_SAMPLER_CONFIG", "value": "/etc/otel/rules.yaml"}
        ])
    );
    assert_eq!(
        pod["volumes"],
        json!([{"name": "otel-sampling-config", "configMap": {"name": "trace-sampling"}}])
    );
    assert_eq!(
        pod["containers"][0]["volumeMounts"],
        json!([{"name": "otel-sampling-config", "mountPath": "/etc/otel", "readOnly": true}])
    );
    let web = to_json(&desired.deployments[1]);
    let web_pod = &web["spec"]["template"]["spec"];
    assert_eq!(web_pod.get("volumes"), None);
    assert_eq!(
        web_pod["containers"][0]["env"].as_array().map(|env| env
            .iter()
            .map(|var| var["name"].clone())
            .collect::<Vec<_>>()),
        Some(vec![
            json!("HOSTNAME"),
            json!("MULTIADMIN_API_URL"),
            json!("POSTGRES_HOST"),
            json!("POSTGRES_PORT"),
            json!("POSTGRES_DATABASE"),
            json!("POSTGRES_USER")
        ])
    );
    assert_eq!(
        to_json(&desired.cells[0])["spec"]["observability"],
        observability
    );
    assert_eq!(
        to_json(&desired.table_groups[0])["spec"]["observability"],
        observability
    );
}

#[test]
fn cert_common_name_builds_the_certificate_and_reaches_the_cells() {
    let desired =
        build(json!({"cells": [{"name": "eu-a"}], "certCommonName": "db.orders.example.com"}));
    assert_eq!(
        to_json(&desired.certificate),
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {
                "name": "db.orders.example.com",
                "namespace": "shop",
                "ownerReferences": [{
                    "apiVersion": "multigres.com/v1alpha1",
                    "kind": "MultigresCluster",
                    "name": "orders",
                    "uid": "0a0b0c0d-1111-4222-8333-444455556666",
                    "controller": true,
                    "blockOwnerDeletion": true
                }]
            },
            "spec": {
                "secretName": "generated-certs",
                "dnsNames": ["db.orders.example.com", "orders.example.com"],
                "duration": "44640h0m0s",
                "literalSubject": "C=US, ST=Delware, L=New Castle,O=Supabase Inc, CN=db.orders.example.com",
                "issuerRef": {"name": "supabase-issuer", "kind": "ClusterIssuer", "group": "cert-manager.io"},
                "privateKey": {"algorithm": "RSA", "size": 2048},
                "usages": ["digital signature", "key encipherment", "server auth"]
            }
        })
    );
    assert_eq!(
        to_json(&desired.cells[0])["spec"]["certCommonName"],
        json!("db.orders.example.com")
    );
    let plain =
        build(json!({"cells": [{"name": "eu-a"}], "certCommonName": "gateway.example.com"}));
    assert_eq!(
        to_json(&plain.certificate)["spec"]["dnsNames"],
        json!(["gateway.example.com"])
    );
    assert_eq!(
        build(json!({"cells": [{"name": "eu-a"}]})).certificate,
        None
    );
}

#[test]
fn a_common_name_that_cannot_name_a_certificate_is_an_error() {
    let cluster =
        cluster(json!({"cells": [{"name": "eu-a"}], "certCommonName": "DB.Orders.example.com"}));
    let name = ClusterName::parse("orders").expect("a valid name");
    let resolved = resolve_cluster(&name, "shop", &cluster.spec, &NamespaceTemplates::empty())
        .expect("the cluster resolves");
    let err = build_cluster_objects(&cluster, &resolved, &OperatorOtelEnv::default())
        .expect_err("an upper-case common name");
    assert!(matches!(err, Error::CertificateName { .. }));
    assert_eq!(
        err.to_string(),
        "MultigresCluster shop/orders: spec.certCommonName \"DB.Orders.example.com\" names the \
         cert-manager Certificate, so it must be a DNS-1123 subdomain (lower-case a-z, 0-9, '-' \
         and '.', at most 253 characters)"
    );
}

#[test]
fn external_exposure_only_while_enabled() {
    let exposed = build(json!({
        "cells": [{"name": "eu-a"}],
        "externalGateway": {"enabled": true, "externalIPs": ["203.0.113.10"], "annotations": {"lb.example.com/pool": "edge"}},
        "externalAdminWeb": {"enabled": true, "externalIPs": ["203.0.113.11"]}
    }));
    let gateway = to_json(&exposed.services[2]);
    assert_eq!(gateway["metadata"]["name"], json!("orders-multigateway"));
    assert_eq!(
        gateway["metadata"]["annotations"],
        json!({"lb.example.com/pool": "edge"})
    );
    assert_eq!(gateway["spec"]["externalIPs"], json!(["203.0.113.10"]));
    let web = to_json(&exposed.services[1]);
    assert_eq!(web["metadata"]["name"], json!("orders-multiadmin-web"));
    assert_eq!(web["metadata"].get("annotations"), None);
    assert_eq!(web["spec"]["externalIPs"], json!(["203.0.113.11"]));
    assert_eq!(
        to_json(&exposed.services[3])["spec"].get("externalIPs"),
        None
    );

    let disabled = build(json!({
        "cells": [{"name": "eu-a"}],
        "externalGateway": {"enabled": false, "externalIPs": ["203.0.113.10"], "annotations": {"lb.example.com/pool": "edge"}}
    }));
    let gateway = to_json(&disabled.services[2]);
    assert_eq!(gateway["metadata"].get("annotations"), None);
    assert_eq!(gateway["spec"].get("externalIPs"), None);
}

#[test]
fn an_external_topology_server_builds_no_topo_server() {
    let desired = build(json!({
        "cells": [{"name": "eu-a"}],
        "globalTopoServer": {"external": {
            "endpoints": ["https://etcd-0.infra:2379", "https://etcd-1.infra:2379"],
            "rootPath": "/multigres/orders"
        }}
    }));
    assert_eq!(desired.topo_server, None);
    assert_eq!(
        to_json(&desired.cells[0])["spec"]["globalTopoServer"],
        json!({"address": "https://etcd-0.infra:2379", "rootPath": "/multigres/orders", "implementation": "etcd"})
    );
    // Go's multiadmin always points at the managed address and root (spec-controllers.md §16
    // quirk 4); kept so that a swap does not roll it.
    let args = &multiadmin(&desired)["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(
        args.as_array().map(|args| args[2..4].to_vec()),
        Some(vec![
            json!("--topo-global-server-addresses=orders-global-topo.shop.svc:2379"),
            json!("--topo-global-root=/multigres/global")
        ])
    );
}

#[test]
fn multiadmin_takes_its_template_from_each_level_of_the_chain() {
    let core = |replicas: i32| CoreTemplateSpec {
        multiadmin: Some(StatelessSpec {
            replicas: Some(replicas),
            ..StatelessSpec::default()
        }),
        ..CoreTemplateSpec::default()
    };
    let templates = NamespaceTemplates::empty()
        .with_core("admin-large", core(5))
        .with_core("team-defaults", core(4))
        .with_core("default", core(3));
    let replicas = |spec: Value, templates: &NamespaceTemplates| {
        multiadmin(&build_with(&cluster(spec), templates))["spec"]["replicas"].clone()
    };
    let cells = json!([{"name": "eu-a"}]);
    // Level 1: the component's own reference.
    assert_eq!(
        replicas(
            json!({"cells": cells, "multiadmin": {"templateRef": "admin-large"}, "templateDefaults": {"coreTemplate": "team-defaults"}}),
            &templates
        ),
        json!(5)
    );
    // Level 2: the cluster's templateDefaults.
    assert_eq!(
        replicas(
            json!({"cells": cells, "templateDefaults": {"coreTemplate": "team-defaults"}}),
            &templates
        ),
        json!(4)
    );
    // Level 3: the namespace's `default` template.
    assert_eq!(replicas(json!({"cells": cells}), &templates), json!(3));
    // Level 4: the built-in default.
    assert_eq!(
        replicas(json!({"cells": cells}), &NamespaceTemplates::empty()),
        json!(1)
    );
    // An inline spec wins over every template.
    assert_eq!(
        replicas(
            json!({"cells": cells, "multiadmin": {"spec": {"replicas": 2}}}),
            &templates
        ),
        json!(2)
    );
}

#[test]
fn the_project_ref_annotation_goes_to_cells_and_table_groups_only() {
    let mut annotated = cluster(json!({"cells": [{"name": "eu-a"}]}));
    annotated.metadata.annotations = Some(
        [("multigres.com/project-ref".to_owned(), "proj-42".to_owned())]
            .into_iter()
            .collect(),
    );
    let desired = build_with(&annotated, &NamespaceTemplates::empty());
    let annotation = json!({"multigres.com/project-ref": "proj-42"});
    assert_eq!(
        to_json(&desired.cells[0])["metadata"]["annotations"],
        annotation
    );
    assert_eq!(
        to_json(&desired.table_groups[0])["metadata"]["annotations"],
        annotation
    );
    assert_eq!(
        to_json(&desired.topo_server)["metadata"].get("annotations"),
        None
    );
    assert_eq!(
        multiadmin(&desired)["spec"]["template"]["metadata"].get("annotations"),
        None
    );
}

#[test]
fn the_postgres_superuser_reaches_multiadmin_web() {
    let desired = build(json!({"cells": [{"name": "eu-a"}], "postgresSuperuser": "dbadmin"}));
    let env = &to_json(&desired.deployments[1])["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(env[5], json!({"name": "POSTGRES_USER", "value": "dbadmin"}));
    assert_eq!(
        env[1],
        json!({"name": "MULTIADMIN_API_URL", "value": "http://orders-multiadmin:18000"})
    );
    assert_eq!(
        env[2],
        json!({"name": "POSTGRES_HOST", "value": "orders-multigateway"})
    );
}

#[test]
fn a_cluster_name_that_cannot_name_objects_is_an_error() {
    let mut dotted = cluster(json!({"cells": [{"name": "eu-a"}]}));
    let name = ClusterName::parse("orders").expect("a valid name");
    let resolved = resolve_cluster(&name, "shop", &dotted.spec, &NamespaceTemplates::empty())
        .expect("the cluster resolves");
    dotted.metadata.name = Some("orders.eu".into());
    let err = build_cluster_objects(&dotted, &resolved, &OperatorOtelEnv::default())
        .expect_err("a dotted name");
    assert_eq!(
        err.to_string(),
        "MultigresCluster shop/orders.eu: metadata.name \"orders.eu\" must be a DNS-1123 label \
         of at most 25 characters (a-z, 0-9, '-'), because every object of the cluster is named \
         after it"
    );
}
