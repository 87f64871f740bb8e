//! What clients see the same as from a real API server (issue 12): DELETE answers per
//! registry, `kind` before `apiVersion` in every answer, server-side apply to `/status`
//! recorded with `subresource: status` and its conflicts, and HTTP/2 404s.

mod support;

use std::time::Duration;

use axum::body::Body;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::{raw, start};

async fn send(
    server: &kubesim::Handle,
    method: &str,
    path: &str,
    content_type: &str,
    body: Value,
) -> (u16, Value) {
    let answer = raw(
        server,
        method,
        path,
        &[("Content-Type", content_type)],
        &body.to_string(),
    )
    .await;
    (answer.status, answer.json())
}

#[tokio::test]
async fn deletes_answer_a_status_or_the_object_as_each_registry_does() {
    let server = start().await;
    let (code, cm) = send(
        &server,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone"}}),
    )
    .await;
    assert_eq!(code, 201);
    let (code, answer) = send(
        &server,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/gone",
        "application/json",
        json!({}),
    )
    .await;
    assert_eq!(
        (code, answer),
        (
            200,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                     "details": {"name": "gone", "kind": "configmaps", "uid": cm["metadata"]["uid"]}})
        )
    );
    let (_, deployment) = send(&server, "POST", "/apis/apps/v1/namespaces/default/deployments", "application/json",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                        "spec": {"containers": [{"name": "c", "image": "i"}]}}}})).await;
    let (_, answer) = send(
        &server,
        "DELETE",
        "/apis/apps/v1/namespaces/default/deployments/web",
        "application/json",
        json!({}),
    )
    .await;
    assert_eq!(
        answer["details"],
        json!({"name": "web", "group": "apps", "kind": "deployments", "uid": deployment["metadata"]["uid"]})
    );
    // Held by a finalizer: the object, marked for deletion.
    send(&server, "POST", "/api/v1/namespaces/default/configmaps", "application/json",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/hold"]}})).await;
    let (_, answer) = send(
        &server,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/held",
        "application/json",
        json!({}),
    )
    .await;
    assert_eq!(answer["kind"], "ConfigMap");
    assert!(answer["metadata"]["deletionTimestamp"].is_string());
    // Pods' registry returns the deleted pod.
    send(&server, "POST", "/api/v1/namespaces/default/pods", "application/json",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})).await;
    let (_, answer) = send(
        &server,
        "DELETE",
        "/api/v1/namespaces/default/pods/p",
        "application/json",
        json!({}),
    )
    .await;
    assert_eq!(
        (answer["kind"].as_str(), answer["metadata"]["name"].as_str()),
        (Some("Pod"), Some("p"))
    );
    server.shutdown().await;
}

/// The first two keys of a JSON text, in order.
fn leading_keys(text: &str) -> Vec<String> {
    let object: serde_json::Map<String, Value> = serde_json::from_str(text).expect("a JSON object");
    object.keys().take(2).cloned().collect()
}

#[tokio::test]
async fn kind_comes_before_api_version_in_every_answer() {
    let server = start().await;
    // The client writes apiVersion first, as most do.
    let created = raw(
        &server,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &[],
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"order"}}"#,
    )
    .await;
    assert_eq!(leading_keys(&created.body), ["kind", "apiVersion"]);
    let read = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/order",
        &[],
        "",
    )
    .await;
    assert_eq!(leading_keys(&read.body), ["kind", "apiVersion"]);
    let list = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps",
        &[],
        "",
    )
    .await;
    assert_eq!(leading_keys(&list.body), ["kind", "apiVersion"]);
    let updated = raw(&server, "PUT", "/api/v1/namespaces/default/configmaps/order", &[],
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "order"}, "data": {"a": "b"}}).to_string()).await;
    assert_eq!(leading_keys(&updated.body), ["kind", "apiVersion"]);
    let watch = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1",
        &[],
        "",
    )
    .await;
    let event: Value =
        serde_json::from_str(watch.body.lines().next().expect("an event")).expect("JSON");
    let object = serde_json::to_string(&event["object"]).expect("serialises");
    assert_eq!(leading_keys(&object), ["kind", "apiVersion"]);
    server.shutdown().await;
}

#[tokio::test]
async fn status_applies_are_managed_as_the_status_subresource() {
    let server = start().await;
    let path = "/apis/apps/v1/namespaces/default/deployments/web";
    send(&server, "POST", "/apis/apps/v1/namespaces/default/deployments", "application/json",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                        "spec": {"containers": [{"name": "c", "image": "i"}]}}}})).await;
    let status = |replicas: i64| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                                        "status": {"observedGeneration": 1, "replicas": replicas}})
    };
    let (code, applied) = send(
        &server,
        "PATCH",
        &format!("{path}/status?fieldManager=controller"),
        "application/apply-patch+yaml",
        status(2),
    )
    .await;
    assert_eq!(code, 200, "{applied}");
    let entry = applied["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .find(|e| e["manager"] == "controller")
        .cloned()
        .expect("the applier's entry");
    assert_eq!(
        (&entry["operation"], &entry["subresource"]),
        (&json!("Apply"), &json!("status"))
    );
    assert_eq!(
        entry["fieldsV1"],
        json!({"f:status": {"f:observedGeneration": {}, "f:replicas": {}}})
    );
    let (code, conflict) = send(
        &server,
        "PATCH",
        &format!("{path}/status?fieldManager=other"),
        "application/apply-patch+yaml",
        status(3),
    )
    .await;
    assert_eq!(code, 409);
    assert_eq!(
        conflict["message"],
        "Apply failed with 1 conflict: conflict with \"controller\" with subresource \"status\": .status.replicas"
    );
    let (code, _) = send(
        &server,
        "PATCH",
        &format!("{path}/status?fieldManager=other&force=true"),
        "application/apply-patch+yaml",
        status(3),
    )
    .await;
    assert_eq!(code, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn http2_requests_to_unknown_paths_get_a_404() {
    let server = support::start_with(
        kubesim::Server::builder().kubelet(kubesim::kubelet::KubeletConfig::with_time_scale(0.01)),
    )
    .await;
    let address = server.url().trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("HTTP/2 handshake (prior knowledge)");
    tokio::spawn(connection);
    for path in [
        "/nope",
        "/kubesim/v1/unknown",
        "/apis/nope.example.com/v1/things",
        "/api/v1/namespaces/default/pods/p/unknown",
    ] {
        let request = axum::http::Request::get(format!("http://{address}{path}"))
            .body(Body::empty())
            .expect("a request");
        let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
            .await
            .expect("answered in time")
            .expect("an answer, not a reset stream");
        assert_eq!(response.status(), 404, "{path}");
        let body = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20)
            .await
            .expect("body");
        let status: Value = serde_json::from_slice(&body).expect("a Status");
        assert_eq!(status["reason"], "NotFound", "{path}");
    }
    server.shutdown().await;
}
