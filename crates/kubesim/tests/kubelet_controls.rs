//! The kubelet's test controls, through the Handle and over HTTP: hold a pod unready and
//! release it, crash a container into CrashLoopBackOff and out again, fail a node (its pods
//! lose Ready and are evicted; a Deployment replaces them elsewhere) and recover it.

mod kubelet_support;
mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use kubelet_support::{DEADLINE, condition, pod, running_and_ready, start, wait_pod};

#[tokio::test]
async fn a_pod_held_unready_and_released() {
    let server = start(&["zone-a"], 1.0).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    pods.create(
        &PostParams::default(),
        &pod("web", &["app", "proxy"], json!({})),
    )
    .await
    .expect("created");
    wait_pod(&pods, "web", "the pod to run", running_and_ready).await;
    let kubelet = server.kubelet().expect("kubelet runs");
    kubelet
        .set_pod_ready("default", "web", false)
        .await
        .expect("held unready");
    let unready = wait_pod(&pods, "web", "the pod to be unready", |p| {
        !running_and_ready(p)
    })
    .await;
    let ready = condition(&unready, "Ready").expect("Ready");
    assert_eq!(
        (
            ready["status"].as_str(),
            ready["reason"].as_str(),
            ready["message"].as_str()
        ),
        (
            Some("False"),
            Some("ContainersNotReady"),
            Some("containers with unready status: [app proxy]")
        )
    );
    assert_eq!(
        condition(&unready, "ContainersReady").expect("condition")["status"],
        "False"
    );
    assert_eq!(unready["status"]["containerStatuses"][0]["ready"], false);
    assert_eq!(unready["status"]["phase"], "Running");

    // The same control over HTTP.
    let response = support::raw(
        &server,
        "PUT",
        "/kubesim/v1/namespaces/default/pods/web/ready",
        &[("Content-Type", "application/json")],
        r#"{"ready": true}"#,
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
    );
    wait_pod(&pods, "web", "the pod to be ready again", running_and_ready).await;

    let missing = support::raw(
        &server,
        "PUT",
        "/kubesim/v1/namespaces/default/pods/nope/ready",
        &[("Content-Type", "application/json")],
        r#"{"ready": false}"#,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "pod default/nope not found", "reason": "NotFound", "code": 404})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_crashing_container_restarts_then_backs_off() {
    // The second crash's 10 s back-off lasts 3 s at this scale: long enough to observe the
    // waiting state on a loaded machine, short enough to wait for the restart.
    let server = start(&["zone-a"], 0.3).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    pods.create(&PostParams::default(), &pod("db", &["postgres"], json!({})))
        .await
        .expect("created");
    let running = wait_pod(&pods, "db", "the pod to run", running_and_ready).await;
    let first_id = running["status"]["containerStatuses"][0]["containerID"].clone();
    let kubelet = server.kubelet().expect("kubelet runs");
    kubelet
        .crash_container("default", "db", "postgres")
        .await
        .expect("crashed");
    let restarted = wait_pod(&pods, "db", "the first restart", |p| {
        p["status"]["containerStatuses"][0]["restartCount"] == 1
    })
    .await;
    let container = &restarted["status"]["containerStatuses"][0];
    assert_eq!(container["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(container["lastState"]["terminated"]["reason"], "Error");
    assert_eq!(
        container["lastState"]["terminated"]["containerID"],
        first_id
    );
    assert!(container["state"]["running"].is_object());
    assert_ne!(container["containerID"], first_id, "a new container");

    let response = support::raw(
        &server,
        "POST",
        "/kubesim/v1/namespaces/default/pods/db/containers/postgres/crash",
        &[],
        "",
    )
    .await;
    assert_eq!(response.status, 200);
    let waiting = wait_pod(&pods, "db", "CrashLoopBackOff", |p| {
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    })
    .await;
    let container = &waiting["status"]["containerStatuses"][0];
    let uid = waiting["metadata"]["uid"].as_str().expect("uid");
    assert_eq!(
        container["state"]["waiting"]["message"],
        json!(format!(
            "back-off 10s restarting failed container=postgres pod=db_default({uid})"
        ))
    );
    assert_eq!(container["ready"], false);
    assert_eq!(container["restartCount"], 1);
    assert_eq!(
        condition(&waiting, "Ready").expect("Ready")["status"],
        "False"
    );

    let crash_again = kubelet.crash_container("default", "db", "postgres").await;
    assert_eq!(
        crash_again.map_err(|e| std::error::Error::source(&e).map(|s| s.to_string())),
        Err(Some(
            "container \"postgres\" of pod default/db is not running (it is waiting)".into()
        ))
    );

    let back = wait_pod(
        &pods,
        "db",
        "the restart after the back-off",
        running_and_ready,
    )
    .await;
    assert_eq!(back["status"]["containerStatuses"][0]["restartCount"], 2);
    server.shutdown().await;
}

fn web_deployment() -> Deployment {
    serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}))
    .expect("valid Deployment")
}

async fn web_pods(pods: &Api<Pod>) -> Vec<Value> {
    pods.list(&ListParams::default().labels("app=web"))
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|p| serde_json::to_value(p).expect("serializes"))
        .collect()
}

#[tokio::test]
async fn a_failed_node_loses_its_pods_and_recovers() {
    // The default 300 s toleration of an unreachable node lasts 0.3 s at this scale.
    let server = start(&["zone-a", "zone-b"], 0.001).await;
    let deployments: Api<Deployment> = Api::namespaced(server.client(), "default");
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let nodes: Api<Node> = Api::all(server.client());
    deployments
        .create(&PostParams::default(), &web_deployment())
        .await
        .expect("created");
    support::eventually("two running pods", DEADLINE, || async {
        let live = web_pods(&pods).await;
        (live.len() == 2 && live.iter().all(running_and_ready)).then_some(())
    })
    .await;
    let on_a: Vec<String> = web_pods(&pods)
        .await
        .iter()
        .filter(|p| p["spec"]["nodeName"] == "kubesim-zone-a")
        .map(|p| p["metadata"]["name"].as_str().expect("name").to_string())
        .collect();
    assert_eq!(on_a.len(), 1, "one replica per zone");

    let response = support::raw(
        &server,
        "POST",
        "/kubesim/v1/nodes/kubesim-zone-a/fail",
        &[],
        "",
    )
    .await;
    assert_eq!(response.status, 200);
    let failed =
        serde_json::to_value(nodes.get("kubesim-zone-a").await.expect("node")).expect("json");
    let ready = condition(&failed, "Ready").expect("Ready");
    assert_eq!(
        (
            ready["status"].as_str(),
            ready["reason"].as_str(),
            ready["message"].as_str()
        ),
        (
            Some("Unknown"),
            Some("NodeStatusUnknown"),
            Some("Kubelet stopped posting node status.")
        )
    );
    let taints: Vec<(String, String)> = failed["spec"]["taints"]
        .as_array()
        .expect("taints")
        .iter()
        .map(|t| {
            (
                t["key"].as_str().expect("key").into(),
                t["effect"].as_str().expect("effect").into(),
            )
        })
        .collect();
    assert_eq!(
        taints,
        vec![
            (
                "node.kubernetes.io/unreachable".to_string(),
                "NoSchedule".to_string()
            ),
            (
                "node.kubernetes.io/unreachable".to_string(),
                "NoExecute".to_string()
            )
        ]
    );
    // The pod on the failed node is evicted and replaced on the healthy node.
    support::eventually(
        "the evicted pod to be replaced on zone-b",
        DEADLINE,
        || async {
            let live = web_pods(&pods).await;
            let replaced = live.len() == 2
                && live
                    .iter()
                    .all(|p| p["spec"]["nodeName"] == "kubesim-zone-b" && running_and_ready(p))
                && !live.iter().any(|p| p["metadata"]["name"] == json!(on_a[0]));
            replaced.then_some(())
        },
    )
    .await;

    server
        .kubelet()
        .expect("kubelet")
        .recover_node("kubesim-zone-a")
        .await
        .expect("recovered");
    let recovered =
        serde_json::to_value(nodes.get("kubesim-zone-a").await.expect("node")).expect("json");
    assert_eq!(
        condition(&recovered, "Ready").expect("Ready")["status"],
        "True"
    );
    assert_eq!(recovered["spec"].get("taints"), None);
    pods.create(
        &PostParams::default(),
        &pod(
            "back-on-a",
            &["app"],
            json!({"nodeSelector": {"topology.kubernetes.io/zone": "zone-a"}}),
        ),
    )
    .await
    .expect("created");
    let running = wait_pod(
        &pods,
        "back-on-a",
        "a pod on the recovered node",
        running_and_ready,
    )
    .await;
    assert_eq!(running["spec"]["nodeName"], "kubesim-zone-a");
    server.shutdown().await;
}

#[tokio::test]
async fn pods_of_a_failed_node_are_not_ready_until_evicted() {
    // Tolerating the unreachable taint for an hour keeps the pod on the failed node.
    let server = start(&["zone-a"], 1.0).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let tolerant = json!({"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                          "effect": "NoExecute", "tolerationSeconds": 3600}]});
    pods.create(&PostParams::default(), &pod("patient", &["app"], tolerant))
        .await
        .expect("created");
    wait_pod(&pods, "patient", "the pod to run", running_and_ready).await;
    let kubelet = server.kubelet().expect("kubelet");
    kubelet.fail_node("kubesim-zone-a").await.expect("failed");
    let lost = wait_pod(&pods, "patient", "the pod to lose Ready", |p| {
        !running_and_ready(p)
    })
    .await;
    assert_eq!(lost["status"]["phase"], "Running");
    assert_eq!(
        lost["status"]["containerStatuses"][0]["ready"], true,
        "the kubelet stopped reporting"
    );
    assert_eq!(lost["metadata"].get("deletionTimestamp"), None);
    kubelet
        .recover_node("kubesim-zone-a")
        .await
        .expect("recovered");
    wait_pod(
        &pods,
        "patient",
        "the pod to be ready again",
        running_and_ready,
    )
    .await;
    assert_eq!(
        kubelet
            .fail_node("kubesim-zone-x")
            .await
            .map_err(|e| e.to_string()),
        Err("node kubesim-zone-x not found".to_string())
    );
    server.shutdown().await;
}
