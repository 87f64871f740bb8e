//! kubesim's name resolution over HTTP (`GET /kubesim/v1/resolve`) and through
//! `Handle::resolve`: Services and pod host names answer with pod addresses (crate::dns).

mod support;

use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, Patch, PatchParams, PostParams};
use pretty_assertions::assert_eq;
use serde_json::json;

use support::{raw, start};

async fn create_pod(pods: &Api<Pod>, name: &str, ip: &str, ready: bool) {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "etcd"}},
        "spec": {"hostname": name, "subdomain": "topo-headless",
                 "containers": [{"name": "etcd", "image": "etcd"}]}}))
    .expect("a valid pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("pod created");
    let status = json!({"status": {"podIP": ip, "conditions": [
        {"type": "Ready", "status": if ready { "True" } else { "False" }}]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("status written");
}

async fn create_service(services: &Api<Service>, name: &str, headless: bool) {
    let mut spec = json!({"selector": {"app": "etcd"}, "ports": [{"port": 2379}],
                          "publishNotReadyAddresses": headless});
    if headless {
        spec["clusterIP"] = json!("None");
    }
    let service: Service =
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec}))
            .expect("a valid service");
    services
        .create(&PostParams::default(), &service)
        .await
        .expect("service created");
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter()
        .map(|s| s.parse().expect("valid test address"))
        .collect()
}

#[tokio::test]
async fn services_and_pod_hostnames_resolve_to_pod_addresses() {
    let server = start().await;
    let client = server.client();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let services: Api<Service> = Api::namespaced(client, "default");
    create_service(&services, "topo", false).await;
    create_service(&services, "topo-headless", true).await;
    create_pod(&pods, "topo-0", "127.0.0.2", false).await;
    create_pod(&pods, "topo-1", "127.0.0.3", true).await;

    assert_eq!(
        server.resolve("topo.default.svc").expect("a cluster name"),
        ips(&["127.0.0.3"])
    );
    assert_eq!(
        server
            .resolve("topo-headless.default.svc.cluster.local")
            .expect("a cluster name"),
        ips(&["127.0.0.2", "127.0.0.3"])
    );
    assert_eq!(
        server
            .resolve("topo-0.topo-headless.default.svc")
            .expect("a cluster name"),
        ips(&["127.0.0.2"])
    );
    assert_eq!(
        server
            .resolve("nothing.default.svc")
            .expect("a cluster name"),
        ips(&[])
    );

    let answer = raw(
        &server,
        "GET",
        "/kubesim/v1/resolve?name=topo-headless.default.svc",
        &[],
        "",
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        json!({"name": "topo-headless.default.svc", "addresses": ["127.0.0.2", "127.0.0.3"]})
    );
    let bad = raw(
        &server,
        "GET",
        "/kubesim/v1/resolve?name=example.com",
        &[],
        "",
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["message"],
        json!(
            "name \"example.com\" is not an in-cluster name: expected <service>.<namespace>.svc \
             or <hostname>.<subdomain>.<namespace>.svc, optionally followed by .cluster.local"
        )
    );
    let missing = raw(&server, "GET", "/kubesim/v1/resolve", &[], "").await;
    assert_eq!(missing.status, 400);
    server.shutdown().await;
}
