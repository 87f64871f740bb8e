//! Fault injection and request counts (library handle and `/kubesim/v1/...`), discovery and
//! version documents, and HTTPS with the kubeconfig's CA (rust-ecosystem.md §3.4).

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kubesim::FaultRule;
use pretty_assertions::assert_eq;
use serde_json::json;
use support::{raw, start};

#[tokio::test]
async fn injected_errors_carry_their_code_and_retry_after() {
    let server = start().await;
    server.faults().add(FaultRule {
        verb: Some("get".into()),
        resource: Some("configmaps".into()),
        error_rate: 1.0,
        codes: vec![429],
        retry_after_seconds: Some(3),
        ..FaultRule::default()
    });
    let throttled = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/x",
        &[],
        "",
    )
    .await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("3"));
    assert_eq!(
        throttled.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message":"kubesim injected fault: 429 TooManyRequests","reason":"TooManyRequests",
               "details":{"retryAfterSeconds":3},"code":429})
    );
    let other_verb = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps",
        &[],
        "",
    )
    .await;
    assert_eq!(other_verb.status, 200);
    server.faults().clear();
    let cleared = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/x",
        &[],
        "",
    )
    .await;
    assert_eq!(cleared.status, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn faults_are_configurable_over_http_and_deterministic_when_seeded() {
    let run = || async {
        let server = start().await;
        let body = r#"{"seed": 42, "rules": [{"verb": "list", "resource": "configmaps", "errorRate": 0.5, "codes": [500, 503]}]}"#;
        let put = raw(
            &server,
            "PUT",
            "/kubesim/v1/faults",
            &[("Content-Type", "application/json")],
            body,
        )
        .await;
        assert_eq!(put.status, 200);
        let mut codes = Vec::new();
        for _ in 0..20 {
            codes.push(
                raw(
                    &server,
                    "GET",
                    "/api/v1/namespaces/default/configmaps",
                    &[],
                    "",
                )
                .await
                .status,
            );
        }
        let rules = raw(&server, "GET", "/kubesim/v1/faults", &[], "")
            .await
            .json();
        assert_eq!(
            rules,
            json!({"rules": [{"verb": "list", "resource": "configmaps", "errorRate": 0.5,
                              "codes": [500, 503], "latencyMs": 0}]})
        );
        server.shutdown().await;
        codes
    };
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(
        first.contains(&200) && first.iter().any(|c| *c >= 500),
        "{first:?}"
    );
}

#[tokio::test]
async fn latency_is_added_and_watches_are_dropped() {
    let server = start().await;
    server.faults().add(FaultRule {
        verb: Some("watch".into()),
        drop_watch_after_ms: Some(100),
        latency_ms: 50,
        ..FaultRule::default()
    });
    let started = std::time::Instant::now();
    let response = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=60",
        &[],
        "",
    )
    .await;
    assert_eq!(response.status, 200);
    // The stream was cut long before its 60s timeout.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn requests_are_counted_per_verb_and_resource() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "counted"}})).expect("valid");
    api.create(&PostParams::default(), &cm)
        .await
        .expect("created");
    api.get("counted").await.expect("got");
    api.get("counted").await.expect("got");
    api.list(&Default::default()).await.expect("listed");
    assert_eq!(server.requests().count("create", "configmaps"), 1);
    assert_eq!(server.requests().count("get", "configmaps"), 2);
    assert_eq!(server.requests().count("list", "configmaps"), 1);
    let over_http = raw(&server, "GET", "/kubesim/v1/requests", &[], "")
        .await
        .json();
    assert_eq!(
        over_http["requests"],
        json!([
            {"verb": "create", "resource": "configmaps", "count": 1},
            {"verb": "get", "resource": "configmaps", "count": 2},
            {"verb": "list", "resource": "configmaps", "count": 1}])
    );
    let verbs: Vec<&str> = over_http["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["verb"].as_str())
        .collect();
    assert_eq!(verbs, ["create", "get", "get", "list"]);
    server.shutdown().await;
}

#[tokio::test]
async fn the_request_log_names_agent_field_manager_and_user() {
    let server = start().await;
    let body = r#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db"},
        "spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},
        "spec":{"containers":[{"name":"c","image":"i"}]}}}}"#;
    let operator = ("User-Agent", "multigres-operator/0.1.0 (linux/amd64)");
    let admin = ("Authorization", "Bearer kubesim-token");
    let created = raw(
        &server,
        "PATCH",
        "/apis/apps/v1/namespaces/default/statefulsets/db/status?fieldManager=multigres",
        &[
            operator,
            admin,
            ("Content-Type", "application/apply-patch+yaml"),
        ],
        r#"{"apiVersion":"apps/v1","kind":"StatefulSet","status":{"replicas":0}}"#,
    )
    .await;
    assert_eq!(created.status, 404, "{}", created.body);
    let applied = raw(
        &server,
        "PATCH",
        "/apis/apps/v1/namespaces/default/statefulsets/db?fieldManager=multigres",
        &[
            operator,
            admin,
            ("Content-Type", "application/apply-patch+yaml"),
        ],
        body,
    )
    .await;
    assert_eq!(applied.status, 201, "{}", applied.body);
    let read = raw(
        &server,
        "GET",
        "/apis/apps/v1/namespaces/default/statefulsets/db",
        &[operator, admin],
        "",
    )
    .await;
    assert_eq!(read.status, 200);
    let kubectl = raw(
        &server,
        "DELETE",
        "/apis/apps/v1/namespaces/default/statefulsets/db",
        &[("User-Agent", "kubectl/v1.33.0 (linux/amd64) kubernetes/abc")],
        "",
    )
    .await;
    assert_eq!(kubectl.status, 200, "{}", kubectl.body);

    let log = server.requests();
    assert_eq!(log.mutating_by_user_agent("multigres-operator"), 2);
    assert_eq!(log.mutating_by_user_agent("kubectl"), 1);
    assert_eq!(log.mutating_by_field_manager("multigres"), 2);
    assert_eq!(log.count("patch", "statefulsets.apps/status"), 1);
    let first = &log.entries()[0];
    assert_eq!(
        (
            first.verb.as_str(),
            first.group.as_str(),
            first.resource.as_str(),
            first.subresource.as_deref(),
            first.namespace.as_deref(),
            first.name.as_deref(),
            first.field_manager.as_deref(),
            first.user.as_str(),
        ),
        (
            "patch",
            "apps",
            "statefulsets",
            Some("status"),
            Some("default"),
            Some("db"),
            Some("multigres"),
            kubesim::auth::ADMIN_USERNAME,
        )
    );
    assert_eq!(log.by_user(kubesim::auth::ADMIN_USERNAME), 3);
    assert_eq!(
        log.by_user("system:anonymous"),
        1,
        "no credentials: anonymous"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_and_version_documents() {
    let server = start().await;
    let version = raw(&server, "GET", "/version", &[], "").await.json();
    assert_eq!(
        (version["major"].as_str(), version["minor"].as_str()),
        (Some("1"), Some("33"))
    );
    let core = raw(&server, "GET", "/api", &[], "").await.json();
    assert_eq!(core["kind"], "APIVersions");
    assert_eq!(core["versions"], json!(["v1"]));
    let groups = raw(&server, "GET", "/apis", &[], "").await.json();
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["name"].as_str())
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
            "storage.k8s.io"
        ]
    );
    let apps = raw(&server, "GET", "/apis/apps/v1", &[], "").await.json();
    let deployments = apps["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "deployments")
        .cloned()
        .expect("deployments listed");
    assert_eq!(
        deployments,
        json!({"name": "deployments", "singularName": "deployment", "namespaced": true,
               "kind": "Deployment", "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
               "shortNames": ["deploy"], "categories": ["all"]})
    );
    let discovery = kube::Discovery::new(server.client())
        .run()
        .await
        .expect("kube discovery");
    assert!(discovery.has_group("coordination.k8s.io"));
    assert_eq!(raw(&server, "GET", "/readyz", &[], "").await.body, "ok");
    server.shutdown().await;
}

#[tokio::test]
async fn https_with_the_kubeconfig_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("config");
    let server = kubesim::Server::builder()
        .kubeconfig_path(&kubeconfig)
        .start()
        .await
        .expect("kubesim starts with TLS");
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );
    let text = std::fs::read_to_string(&kubeconfig).expect("kubeconfig written");
    assert!(text.contains("certificate-authority-data: "), "{text}");
    assert!(
        text.contains(&format!("server: {}", server.url())),
        "{text}"
    );
    // A client built only from the written file trusts the server.
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&kubeconfig).expect("parses"),
        &Default::default(),
    )
    .await
    .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let version = client.apiserver_version().await.expect("version over TLS");
    assert_eq!(version.minor, "33");
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "tls"}})).expect("valid");
    api.create(&PostParams::default(), &cm)
        .await
        .expect("created over TLS");
    server.shutdown().await;
}

#[tokio::test]
async fn many_servers_run_side_by_side() {
    let a = start().await;
    let b = start().await;
    assert_ne!(a.url(), b.url());
    let api_a: Api<ConfigMap> = Api::namespaced(a.client(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "only-in-a"}})).expect("valid");
    api_a
        .create(&PostParams::default(), &cm)
        .await
        .expect("created");
    let api_b: Api<ConfigMap> = Api::namespaced(b.client(), "default");
    assert_eq!(api_b.get_opt("only-in-a").await.expect("get"), None);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_state_directory_keeps_objects_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = support::start_with(kubesim::Server::builder().state_dir(dir.path())).await;
    let api: Api<ConfigMap> = Api::namespaced(first.client(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "durable"}, "data": {"k": "v"}}))
            .expect("valid");
    let created = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("created");
    first.shutdown().await;

    let second = support::start_with(kubesim::Server::builder().state_dir(dir.path())).await;
    let api: Api<ConfigMap> = Api::namespaced(second.client(), "default");
    let restored = api.get("durable").await.expect("restored");
    assert_eq!(restored.metadata.uid, created.metadata.uid);
    assert_eq!(
        restored.metadata.resource_version,
        created.metadata.resource_version
    );
    let rv: u64 = created
        .metadata
        .resource_version
        .clone()
        .expect("rv")
        .parse()
        .expect("number");
    let next = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "after"}})).expect("valid"),
        )
        .await
        .expect("created after restart");
    let next_rv: u64 = next
        .metadata
        .resource_version
        .expect("rv")
        .parse()
        .expect("number");
    assert!(next_rv > rv, "{next_rv} > {rv}");
    // Bootstrap objects came back from the file, not from a second bootstrap.
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(second.client());
    assert_eq!(
        namespaces
            .list(&Default::default())
            .await
            .expect("listed")
            .items
            .len(),
        4
    );
    second.shutdown().await;
}
