//! OpenAPI v3 over HTTP and `fieldValidation` for built-in kinds (rust-ecosystem.md §3.2
//! "create -f", §3.4): the index links each group-version document by hash, a CRD schema change
//! changes its hash, and unknown fields of built-ins are rejected, warned about or dropped.

mod support;

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

async fn index(server: &kubesim::Handle) -> Value {
    let response = support::raw(server, "GET", "/openapi/v3", &[], "").await;
    assert_eq!(response.status, 200);
    response.json()
}

fn url_of(index: &Value, key: &str) -> String {
    index["paths"][key]["serverRelativeURL"]
        .as_str()
        .expect("the group-version is in the index")
        .to_string()
}

#[tokio::test]
async fn group_version_documents_describe_kinds_and_patch_operations() {
    let server = support::start().await;
    let index = index(&server).await;
    let url = url_of(&index, "api/v1");
    assert!(url.starts_with("/openapi/v3/api/v1?hash="), "{url}");
    let response = support::raw(&server, "GET", &url, &[("Accept", "application/json")], "").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let doc = response.json();
    assert_eq!(doc["openapi"], "3.0.0");
    let cm = &doc["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"];
    assert_eq!(
        cm["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "ConfigMap", "version": "v1"}])
    );
    assert_eq!(cm["properties"]["data"]["type"], "object");
    let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "", "version": "v1", "kind": "ConfigMap"})
    );
    assert_eq!(
        patch["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == "fieldValidation")
            .map(|p| p["in"].clone()),
        Some(json!("query"))
    );
    let protobuf_only = support::raw(
        &server,
        "GET",
        &url,
        &[(
            "Accept",
            "application/com.github.proto-openapi.spec.v3@v1.0+protobuf",
        )],
        "",
    )
    .await;
    assert_eq!(protobuf_only.status, 406);
    let missing = support::raw(&server, "GET", "/openapi/v3/apis/nope/v1", &[], "").await;
    assert_eq!(missing.status, 404);
    server.shutdown().await;
}

fn crd(description: &str) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.kubesim.test"},
        "spec": {
            "group": "kubesim.test",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "description": description,
                             "properties": {"size": {"type": "integer"}}}}}}
            }]
        }
    }))
    .expect("valid CRD")
}

#[tokio::test]
async fn a_crd_appears_in_the_index_and_its_schema_changes_the_hash() {
    let server = support::start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    crds.create(&PostParams::default(), &crd("first"))
        .await
        .expect("CRD created");
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(
            crds.clone(),
            "gizmos.kubesim.test",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("established in time")
    .expect("watch works");
    let first = url_of(&index(&server).await, "apis/kubesim.test/v1");
    let doc = support::raw(&server, "GET", &first, &[], "").await.json();
    assert_eq!(
        doc["components"]["schemas"]["test.kubesim.v1.Gizmo"]["properties"]["spec"]["description"],
        "first"
    );
    crds.patch(
        "gizmos.kubesim.test",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"versions": [{
            "name": "v1", "served": true, "storage": true,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "description": "second",
                         "properties": {"size": {"type": "integer"}}}}}}
        }]}})),
    )
    .await
    .expect("CRD updated");
    let second = url_of(&index(&server).await, "apis/kubesim.test/v1");
    assert_ne!(first, second);
    let doc = support::raw(&server, "GET", &second, &[], "").await.json();
    assert_eq!(
        doc["components"]["schemas"]["test.kubesim.v1.Gizmo"]["properties"]["spec"]["description"],
        "second"
    );
    crds.delete("gizmos.kubesim.test", &Default::default())
        .await
        .expect("CRD deleted");
    support::eventually(
        "the group leaves the index",
        Duration::from_secs(10),
        || async {
            index(&server)
                .await
                .pointer("/paths/apis~1kubesim.test~1v1")
                .is_none()
                .then_some(())
        },
    )
    .await;
    server.shutdown().await;
}

const BODY: &str = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","colour":"red"},"data":{"a":"1"},"datta":{}}"#;

#[tokio::test]
async fn unknown_fields_of_built_ins_follow_field_validation() {
    let server = support::start().await;
    let strict = support::raw(
        &server,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
        &[("Content-Type", "application/json")],
        BODY,
    )
    .await;
    assert_eq!(strict.status, 400);
    assert_eq!(
        strict.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"metadata.colour\", unknown field \"datta\"",
            "reason": "BadRequest", "code": 400,
        })
    );
    let warn = support::raw(
        &server,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &[("Content-Type", "application/json")],
        BODY,
    )
    .await;
    assert_eq!(warn.status, 201);
    let warnings: Vec<&str> = warn
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("warning"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        warnings,
        vec![
            r#"299 - "unknown field \"metadata.colour\"""#,
            r#"299 - "unknown field \"datta\"""#,
        ]
    );
    let stored = warn.json();
    assert_eq!(stored.get("datta"), None);
    assert_eq!(stored["metadata"].get("colour"), None);
    let ignore = support::raw(
        &server,
        "PUT",
        "/api/v1/namespaces/default/configmaps/c?fieldValidation=Ignore",
        &[("Content-Type", "application/json")],
        BODY,
    )
    .await;
    assert_eq!(ignore.status, 200);
    assert_eq!(ignore.header("warning"), None);
    assert_eq!(ignore.json().get("datta"), None);
    server.shutdown().await;
}

#[tokio::test]
async fn bodies_in_media_types_kubesim_cannot_decode_are_refused() {
    let server = support::start().await;
    let cbor = support::raw(
        &server,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &[("Content-Type", "application/cbor")],
        "\u{a0}",
    )
    .await;
    assert_eq!(
        cbor.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
            "reason": "UnsupportedMediaType", "code": 415,
        })
    );
    server.shutdown().await;
}
