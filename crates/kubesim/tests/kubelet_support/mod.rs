//! Fixtures of the kubelet tests: a kubesim with the simulated kubelet on several zones, and
//! waits on pods with a deadline (never a fixed sleep).

#![allow(dead_code)] // each test binary uses a different subset of these fixtures

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use serde_json::{Value, json};

use super::support;

/// How long any single wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A plain-HTTP kubesim with one node per zone and the kubelet at `time_scale`.
pub async fn start(zones: &[&str], time_scale: f64) -> kubesim::Handle {
    start_with(
        kubesim::Server::builder().zones(zones.iter().map(|z| z.to_string()).collect()),
        time_scale,
    )
    .await
}

/// A plain-HTTP kubesim from a builder, with the kubelet at `time_scale`.
pub async fn start_with(builder: kubesim::ServerBuilder, time_scale: f64) -> kubesim::Handle {
    support::start_with(
        builder.kubelet(kubesim::kubelet::KubeletConfig::with_time_scale(time_scale)),
    )
    .await
}

/// A pod with one container per name (image `nginx:1.27`) and extra spec fields.
pub fn pod(name: &str, containers: &[&str], spec: Value) -> Pod {
    let mut body = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": containers.iter()
            .map(|c| json!({"name": c, "image": "nginx:1.27"}))
            .collect::<Vec<_>>()}});
    if let (Some(target), Some(extra)) = (body["spec"].as_object_mut(), spec.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(body).expect("valid Pod")
}

/// The pod as JSON (for exact-value checks on status fields).
pub async fn get_json(pods: &Api<Pod>, name: &str) -> Option<Value> {
    pods.get_opt(name)
        .await
        .expect("get succeeds")
        .map(|p| serde_json::to_value(p).expect("pods serialize"))
}

/// Waits until the pod satisfies `check` and returns it as JSON.
pub async fn wait_pod(
    pods: &Api<Pod>,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    support::eventually(what, DEADLINE, || async {
        get_json(pods, name).await.filter(|p| check(p))
    })
    .await
}

/// Waits until the pod is gone.
pub async fn wait_gone(pods: &Api<Pod>, name: &str) {
    support::eventually(&format!("pod {name} to be gone"), DEADLINE, || async {
        get_json(pods, name).await.is_none().then_some(())
    })
    .await
}

/// The status of the condition of `type`.
pub fn condition<'a>(object: &'a Value, condition_type: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == condition_type)
}

/// Whether the pod runs and is Ready.
pub fn running_and_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && condition(pod, "Ready").is_some_and(|c| c["status"] == "True")
}
