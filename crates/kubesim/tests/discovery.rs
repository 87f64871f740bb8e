//! Discovery over HTTP: the aggregated v2 document with its parameterised Content-Type, the
//! legacy documents, and kube's aggregated and legacy `Discovery` agreeing on what is served.

mod support;

use kube::discovery::{Discovery, Scope};
use serde_json::json;

const AGGREGATED_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

#[tokio::test]
async fn aggregated_discovery_is_served_with_its_content_type() {
    let server = support::start().await;
    let core = support::raw(&server, "GET", "/api", &[("Accept", AGGREGATED_ACCEPT)], "").await;
    assert_eq!(core.status, 200);
    assert_eq!(
        core.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    let body = core.json();
    let configmaps = body["items"][0]["versions"][0]["resources"]
        .as_array()
        .expect("core resources")
        .iter()
        .find(|r| r["resource"] == "configmaps")
        .cloned();
    assert_eq!(
        configmaps,
        Some(json!({
            "resource": "configmaps",
            "responseKind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "scope": "Namespaced",
            "singularResource": "configmap",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": ["cm"],
        }))
    );
    let groups = support::raw(
        &server,
        "GET",
        "/apis",
        &[("Accept", AGGREGATED_ACCEPT)],
        "",
    )
    .await;
    let names: Vec<String> = groups.json()["items"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            g["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        vec![
            "admissionregistration.k8s.io",
            "apiextensions.k8s.io",
            "apiregistration.k8s.io",
            "apps",
            "authentication.k8s.io",
            "authorization.k8s.io",
            "batch",
            "certificates.k8s.io",
            "coordination.k8s.io",
            "events.k8s.io",
            "policy",
            "rbac.authorization.k8s.io",
            "storage.k8s.io",
        ]
    );
    let legacy = support::raw(
        &server,
        "GET",
        "/api",
        &[("Accept", "application/json")],
        "",
    )
    .await;
    assert_eq!(legacy.header("content-type"), Some("application/json"));
    assert_eq!(legacy.json()["kind"], "APIVersions");
    server.shutdown().await;
}

#[tokio::test]
async fn kube_aggregated_and_legacy_discovery_agree() {
    let server = support::start().await;
    let aggregated = Discovery::new(server.client())
        .run_aggregated()
        .await
        .expect("aggregated discovery");
    let legacy = Discovery::new(server.client())
        .run()
        .await
        .expect("legacy discovery");
    let summary = |discovery: &Discovery| {
        let mut rows: Vec<(String, String, bool)> = discovery
            .groups()
            .flat_map(|group| {
                group
                    .recommended_resources()
                    .into_iter()
                    .map(|(resource, caps)| {
                        (
                            resource.api_version.clone(),
                            resource.plural.clone(),
                            caps.scope == Scope::Namespaced,
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        rows.sort();
        rows
    };
    let rows = summary(&aggregated);
    assert_eq!(rows, summary(&legacy));
    assert!(
        rows.contains(&("apps/v1".to_string(), "statefulsets".to_string(), true)),
        "{rows:?}"
    );
    server.shutdown().await;
}
