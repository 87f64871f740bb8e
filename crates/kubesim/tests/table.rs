//! `as=Table` over HTTP (rust-ecosystem.md §3.2 "get", §3.3 "Table"): built-in printers, CRD
//! printer columns with a filter JSONPath, and Table-shaped watch events whose column
//! definitions come only with the first event.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use kube::runtime::wait::{await_condition, conditions};
use kubesim::http::table::human_duration::since;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// The ages a cell may show for `created`, measured around the request (a second may tick).
fn possible_ages(created: &str, before: jiff::Timestamp) -> Vec<String> {
    vec![
        since(Some(created), before),
        since(Some(created), jiff::Timestamp::now()),
    ]
}

fn column_names(table: &Value) -> Vec<String> {
    table["columnDefinitions"]
        .as_array()
        .expect("column definitions")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn configmaps_list_as_a_table_with_data_counts() {
    let server = support::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "settings", "labels": {"app": "db"}},
        "data": {"a": "1", "b": "2"},
    }))
    .expect("valid ConfigMap");
    let created = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect("created");
    let timestamp = created
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .expect("creationTimestamp");
    let before = jiff::Timestamp::now();
    let response = support::raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps?limit=500",
        &[("Accept", TABLE_ACCEPT)],
        "",
    )
    .await;
    assert_eq!(response.status, 200);
    let table = response.json();
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(column_names(&table), vec!["Name", "Data", "Age"]);
    // Rows in name order: the namespace's kube-root-ca.crt, then ours.
    assert_eq!(table["rows"][0]["cells"][0], support::ROOT_CA);
    let row = &table["rows"][1];
    assert_eq!(row["cells"][0], "settings");
    assert_eq!(row["cells"][1], 2);
    let age = row["cells"][2].as_str().unwrap_or_default().to_string();
    assert!(
        possible_ages(&timestamp, before).contains(&age),
        "age {age} of {timestamp}"
    );
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["metadata"]["labels"], json!({"app": "db"}));
    assert_eq!(
        table["metadata"]["resourceVersion"],
        json!(server.cluster().revision().to_string())
    );
    server.shutdown().await;
}

fn gadget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.kubesim.test"},
        "spec": {
            "group": "kubesim.test",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "additionalPrinterColumns": [
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Available", "type": "string",
                     "jsonPath": ".status.conditions[?(@.type=='Available')].status"},
                    {"name": "Size", "type": "string", "jsonPath": ".spec.size", "priority": 1},
                ],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "replicas": {"type": "integer"}, "size": {"type": "string"}}},
                    "status": {"type": "object", "properties": {
                        "conditions": {"type": "array", "items": {"type": "object", "properties": {
                            "type": {"type": "string"}, "status": {"type": "string"}}}}}}}}}
            }]
        }
    }))
    .expect("valid CRD")
}

#[tokio::test]
async fn custom_resources_use_their_printer_columns() {
    let server = support::start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    crds.create(&PostParams::default(), &gadget_crd())
        .await
        .expect("CRD created");
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(
            crds,
            "gadgets.kubesim.test",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("established in time")
    .expect("watch works");
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubesim.test", "v1", "Gadget"),
        "gadgets",
    );
    let gadgets: Api<DynamicObject> = Api::namespaced_with(server.client(), "default", &resource);
    let gadget: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kubesim.test/v1", "kind": "Gadget",
        "metadata": {"name": "g1"},
        "spec": {"replicas": 3},
        "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Available", "status": "True"}]},
    }))
    .expect("valid Gadget");
    gadgets
        .create(&PostParams::default(), &gadget)
        .await
        .expect("created");
    let table = support::raw(
        &server,
        "GET",
        "/apis/kubesim.test/v1/namespaces/default/gadgets/g1?includeObject=None",
        &[("Accept", TABLE_ACCEPT)],
        "",
    )
    .await
    .json();
    assert_eq!(
        table["columnDefinitions"]
            .as_array()
            .expect("definitions")
            .iter()
            .map(|c| (c["name"].clone(), c["type"].clone(), c["priority"].clone()))
            .collect::<Vec<_>>(),
        vec![
            (json!("Name"), json!("string"), json!(0)),
            (json!("Replicas"), json!("integer"), json!(0)),
            (json!("Available"), json!("string"), json!(0)),
            (json!("Size"), json!("string"), json!(1)),
        ]
    );
    // The CRD has no status subresource, so the status written on create is kept.
    assert_eq!(table["rows"], json!([{"cells": ["g1", 3, "True", null]}]));
    server.shutdown().await;
}

#[tokio::test]
async fn table_watch_events_carry_headers_once() {
    let server = support::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let address = server.url().trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let request = format!(
        "GET /api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=30 HTTP/1.1\r\nHost: {address}\r\nAccept: {TABLE_ACCEPT}\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut reader = BufReader::new(stream);
    for name in ["one", "two"] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name}})).expect("valid ConfigMap");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("created");
    }
    let mut events = Vec::new();
    let mut line = String::new();
    while events.len() < 3 {
        line.clear();
        tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line))
            .await
            .expect("event within 10s")
            .expect("read");
        if let Ok(event) = serde_json::from_str::<Value>(line.trim()) {
            events.push(event);
        }
    }
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["kind"], "Table");
    assert_eq!(
        column_names(&events[0]["object"]),
        vec!["Name", "Data", "Age"]
    );
    // The watch starts with the namespace's existing kube-root-ca.crt (published in every
    // namespace), whose row carries the headers; later rows do not.
    assert_eq!(events[0]["object"]["rows"][0]["cells"][0], support::ROOT_CA);
    assert_eq!(events[1]["object"]["columnDefinitions"], Value::Null);
    assert_eq!(events[1]["object"]["rows"][0]["cells"][0], "one");
    assert_eq!(events[2]["object"]["columnDefinitions"], Value::Null);
    assert_eq!(events[2]["object"]["rows"][0]["cells"][0], "two");
    server.shutdown().await;
}
