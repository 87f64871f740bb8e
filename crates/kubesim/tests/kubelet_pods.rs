//! The simulated kubelet and scheduler over HTTP: pods scheduled by nodeSelector, node
//! affinity and tolerations per zone, the unschedulable case, Running/Ready status with unique
//! loopback IPs, and graceful deletion with finalizers.

mod kubelet_support;
mod support;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, PostParams, WatchEvent, WatchParams};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use kubelet_support::{condition, get_json, pod, running_and_ready, start, wait_gone, wait_pod};

const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

#[tokio::test]
async fn pods_run_ready_with_conditions_and_unique_loopback_ips() {
    let server = start(&ZONES, 1.0).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    for name in ["web-1", "web-2", "web-3"] {
        pods.create(
            &PostParams::default(),
            &pod(name, &["app", "sidecar"], json!({})),
        )
        .await
        .expect("created");
    }
    let mut ips = BTreeSet::new();
    for name in ["web-1", "web-2", "web-3"] {
        let running = wait_pod(&pods, name, "the pod to run", running_and_ready).await;
        let status = &running["status"];
        let types: Vec<&str> = status["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .map(|c| c["type"].as_str().expect("type"))
            .collect();
        assert_eq!(
            types,
            vec![
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled"
            ]
        );
        assert!(
            status["conditions"]
                .as_array()
                .expect("conditions")
                .iter()
                .all(|c| c["status"] == "True" && c["lastTransitionTime"].is_string())
        );
        assert_eq!(status["qosClass"], "BestEffort");
        assert!(status["startTime"].is_string());
        let node = running["spec"]["nodeName"].as_str().expect("bound");
        let node_object: Node = Api::all(server.client())
            .get(node)
            .await
            .expect("node exists");
        let internal = node_object
            .status
            .and_then(|s| s.addresses)
            .and_then(|a| a.into_iter().find(|a| a.type_ == "InternalIP"))
            .expect("an InternalIP")
            .address;
        assert_eq!(status["hostIP"], json!(internal));
        assert_eq!(status["hostIPs"], json!([{"ip": internal}]));
        let ip: Ipv4Addr = status["podIP"]
            .as_str()
            .expect("podIP")
            .parse()
            .expect("IPv4");
        assert!(ip.is_loopback() && ip != Ipv4Addr::LOCALHOST, "{ip}");
        assert_eq!(status["podIPs"], json!([{"ip": ip.to_string()}]));
        ips.insert(ip);
        let app = &status["containerStatuses"][0];
        assert_eq!(app["name"], "app");
        assert_eq!(app["ready"], true);
        assert_eq!(app["started"], true);
        assert_eq!(app["restartCount"], 0);
        assert_eq!(app["image"], "docker.io/library/nginx:1.27");
        assert!(
            app["imageID"]
                .as_str()
                .expect("imageID")
                .starts_with("docker.io/library/nginx@sha256:")
        );
        assert!(
            app["containerID"]
                .as_str()
                .expect("containerID")
                .starts_with("containerd://")
        );
        assert!(app["state"]["running"]["startedAt"].is_string());
        assert_eq!(app["lastState"], json!({}));
        assert_eq!(status["containerStatuses"][1]["name"], "sidecar");
    }
    assert_eq!(ips.len(), 3, "every pod has its own IP");
    server.shutdown().await;
}

#[tokio::test]
async fn node_selector_and_required_affinity_pick_the_zone() {
    let server = start(&ZONES, 1.0).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let zone_term = |operator: &str, values: &[&str]| {
        json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": operator, "values": values}]}]}}})
    };
    let cases = [
        (
            "by-selector",
            json!({"nodeSelector": {"topology.kubernetes.io/zone": "zone-b"}}),
            "kubesim-zone-b",
        ),
        (
            "by-in",
            json!({"affinity": zone_term("In", &["zone-c"])}),
            "kubesim-zone-c",
        ),
        (
            "by-notin",
            json!({"affinity": zone_term("NotIn", &["zone-b", "zone-c"])}),
            "kubesim-zone-a",
        ),
        (
            "by-field",
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["kubesim-zone-b"]}]}]}}}}),
            "kubesim-zone-b",
        ),
    ];
    for (name, spec, _) in &cases {
        pods.create(&PostParams::default(), &pod(name, &["app"], spec.clone()))
            .await
            .expect("created");
    }
    for (name, _, node) in &cases {
        let running = wait_pod(&pods, name, "the pod to run", running_and_ready).await;
        assert_eq!(running["spec"]["nodeName"], json!(node), "{name}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_unschedulable_pod_stays_pending_with_the_schedulers_message() {
    let server = start(&ZONES, 1.0).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let spec = json!({"nodeSelector": {"topology.kubernetes.io/zone": "zone-x"}});
    pods.create(&PostParams::default(), &pod("nowhere", &["app"], spec))
        .await
        .expect("created");
    let pending = wait_pod(&pods, "nowhere", "the scheduler's verdict", |p| {
        condition(p, "PodScheduled").is_some()
    })
    .await;
    assert_eq!(pending["status"]["phase"], "Pending");
    let scheduled = condition(&pending, "PodScheduled")
        .expect("condition")
        .clone();
    assert_eq!(
        scheduled,
        // (`lastProbeTime: null` does not survive the typed client.)
        json!({"type": "PodScheduled", "status": "False",
               "lastTransitionTime": scheduled["lastTransitionTime"],
               "reason": "Unschedulable",
               "message": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. \
                           preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."})
    );
    assert_eq!(pending["spec"].get("nodeName"), None);
    server.shutdown().await;
}

#[tokio::test]
async fn taints_keep_pods_away_unless_tolerated() {
    let server = start(&ZONES, 1.0).await;
    let nodes: Api<Node> = Api::all(server.client());
    let mut node = nodes.get("kubesim-zone-a").await.expect("node");
    node.spec.get_or_insert_default().taints = Some(vec![
        serde_json::from_value(json!({"key": "dedicated", "value": "db", "effect": "NoSchedule"}))
            .expect("taint"),
    ]);
    nodes
        .replace("kubesim-zone-a", &PostParams::default(), &node)
        .await
        .expect("tainted");
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let zone_a = json!({"nodeSelector": {"topology.kubernetes.io/zone": "zone-a"}});
    pods.create(
        &PostParams::default(),
        &pod("intolerant", &["app"], zone_a.clone()),
    )
    .await
    .expect("created");
    let mut tolerant_spec = zone_a;
    tolerant_spec["tolerations"] =
        json!([{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]);
    pods.create(
        &PostParams::default(),
        &pod("tolerant", &["app"], tolerant_spec),
    )
    .await
    .expect("created");
    let running = wait_pod(
        &pods,
        "tolerant",
        "the tolerant pod to run",
        running_and_ready,
    )
    .await;
    assert_eq!(running["spec"]["nodeName"], "kubesim-zone-a");
    let pending = wait_pod(&pods, "intolerant", "the scheduler's verdict", |p| {
        condition(p, "PodScheduled").is_some()
    })
    .await;
    assert_eq!(
        condition(&pending, "PodScheduled").expect("condition")["message"],
        "0/3 nodes are available: 1 node(s) had untolerated taint(s), \
         2 node(s) didn't match Pod's node affinity/selector. \
         preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_deleted_pod_waits_out_its_grace_period_and_its_finalizers() {
    // 20 simulated seconds of grace are 1 real second at this scale.
    let server = start(&ZONES, 0.05).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let mut held = pod(
        "held",
        &["app"],
        json!({"terminationGracePeriodSeconds": 20}),
    );
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    pods.create(&PostParams::default(), &held)
        .await
        .expect("created");
    wait_pod(&pods, "held", "the pod to run", running_and_ready).await;
    let started = std::time::Instant::now();
    let marked = pods
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete accepted")
        .left()
        .expect("the pod stays while it terminates");
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(20));
    assert!(marked.metadata.deletion_timestamp.is_some());
    let confirmed = wait_pod(&pods, "held", "the kubelet to confirm the deletion", |p| {
        p["metadata"]["deletionGracePeriodSeconds"] == 0
    })
    .await;
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1000),
        "the grace period (20 s at scale 0.05) is honoured, took {:?}",
        started.elapsed()
    );
    assert_eq!(confirmed["status"]["phase"], "Succeeded");
    assert_eq!(
        confirmed["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    assert_eq!(
        confirmed["metadata"]["finalizers"],
        json!(["example.com/hold"])
    );
    let mut released: Pod = serde_json::from_value(confirmed).expect("pod");
    released.metadata.finalizers = None;
    pods.replace("held", &PostParams::default(), &released)
        .await
        .expect("finalizer removed");
    wait_gone(&pods, "held").await;
    server.shutdown().await;
}

#[tokio::test]
async fn grace_zero_and_unscheduled_pods_go_at_once() {
    let server = start(&ZONES, 1.0).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    pods.create(&PostParams::default(), &pod("quick", &["app"], json!({})))
        .await
        .expect("created");
    wait_pod(&pods, "quick", "the pod to run", running_and_ready).await;
    let gone = pods
        .delete(
            "quick",
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..DeleteParams::default()
            },
        )
        .await
        .expect("deleted");
    assert!(gone.is_left(), "the API returns the last state");
    assert_eq!(get_json(&pods, "quick").await, None);
    let spec = json!({"nodeSelector": {"topology.kubernetes.io/zone": "zone-x"}});
    pods.create(&PostParams::default(), &pod("pending", &["app"], spec))
        .await
        .expect("created");
    pods.delete("pending", &DeleteParams::default())
        .await
        .expect("deleted");
    assert_eq!(
        get_json(&pods, "pending").await,
        None::<Value>,
        "no node, no grace"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_kubelet_relists_after_its_watch_expires() {
    // Two watch events per resource: writes made while the kubelet's task cannot run expire its
    // watch (410 in-stream), and it must list again, including the deletions it missed.
    let server = kubelet_support::start_with(
        kubesim::Server::builder()
            .zones(vec!["zone-a".into()])
            .watch_history(2),
        1.0,
    )
    .await;
    let cluster = server.cluster().clone();
    let pods_def = cluster.resource("", "v1", "pods").expect("pods are served");
    // A single-threaded test runtime: the kubelet's task does not run during this loop.
    for i in 0..20 {
        let body = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("burst-{i}")},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}});
        cluster
            .create(&pods_def, Some("default"), body, &Default::default())
            .expect("created");
    }
    for i in 0..10 {
        cluster
            .delete(
                &pods_def,
                Some("default"),
                &format!("burst-{i}"),
                &Default::default(),
            )
            .expect("deleted before it was scheduled");
    }
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    support::eventually(
        "the ten remaining pods to run",
        kubelet_support::DEADLINE,
        || async {
            let listed = pods.list(&Default::default()).await.expect("list").items;
            let names: Vec<String> = listed
                .iter()
                .filter_map(|p| p.metadata.name.clone())
                .collect();
            let all_running = listed
                .iter()
                .all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
            (names.len() == 10 && all_running).then_some(names)
        },
    )
    .await;
    server.shutdown().await;
}

/// What a watcher of one pod can tell apart: phase, PodScheduled, each container's state
/// (waiting reason or running) and readiness, and the Ready condition.
fn lifecycle_view(pod: &Value) -> String {
    let status = &pod["status"];
    let condition_status = |condition_type: &str| {
        condition(pod, condition_type)
            .and_then(|c| c["status"].as_str())
            .unwrap_or("-")
            .to_string()
    };
    let scheduled = condition_status("PodScheduled");
    let containers: Vec<String> = status["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let state = match c["state"]["waiting"]["reason"].as_str() {
                Some(reason) => reason.to_string(),
                None if c["state"]["running"].is_object() => "Running".to_string(),
                None => "?".to_string(),
            };
            format!(
                "{}={state}/ready={}",
                c["name"].as_str().unwrap_or_default(),
                c["ready"]
            )
        })
        .collect();
    format!(
        "{} scheduled={scheduled} ready={} [{}]",
        status["phase"].as_str().unwrap_or("-"),
        condition_status("Ready"),
        containers.join(" ")
    )
}

#[tokio::test]
async fn a_watcher_sees_scheduled_then_container_creating_then_running_then_ready() {
    let scale = 0.05;
    let server = support::start_with(
        kubesim::Server::builder()
            .zones(vec!["zone-a".into()])
            .kubelet(
                kubesim::kubelet::KubeletConfig::with_time_scale(scale).with_container_start(4.0),
            ),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let probed = pod(
        "probed",
        &["app", "log"],
        json!({"containers": [
            {"name": "app", "image": "nginx:1.27",
             "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 4}},
            {"name": "log", "image": "busybox"}]}),
    );
    let created = pods
        .create(&PostParams::default(), &probed)
        .await
        .expect("created");
    let version = created
        .metadata
        .resource_version
        .clone()
        .expect("a version");
    let mut events = pods
        .watch(
            &WatchParams::default().fields("metadata.name=probed"),
            &version,
        )
        .await
        .expect("a watch")
        .boxed();
    let mut seen: Vec<String> = Vec::new();
    let mut arrived = Vec::new();
    let ready_view =
        "Running scheduled=True ready=True [app=Running/ready=true log=Running/ready=true]";
    let finished = tokio::time::timeout(kubelet_support::DEADLINE, async {
        while seen.last().map(String::as_str) != Some(ready_view) {
            let event = events
                .try_next()
                .await
                .expect("the watch continues")
                .expect("the watch does not end");
            assert!(
                matches!(event, WatchEvent::Modified(_)),
                "unexpected event {event:?}"
            );
            if let WatchEvent::Modified(pod) = event {
                let view = lifecycle_view(&serde_json::to_value(pod).expect("JSON"));
                // Writes that change nothing a watcher sees here (the binding) repeat.
                if seen.last() != Some(&view) {
                    seen.push(view);
                    arrived.push(tokio::time::Instant::now());
                }
            }
        }
    })
    .await;
    assert!(finished.is_ok(), "the pod did not become ready: {seen:#?}");
    assert_eq!(
        seen,
        [
            "Pending scheduled=- ready=- []",
            "Pending scheduled=True ready=- []",
            "Pending scheduled=True ready=False [app=ContainerCreating/ready=false \
             log=ContainerCreating/ready=false]",
            "Running scheduled=True ready=False [app=Running/ready=false log=Running/ready=true]",
            ready_view,
        ]
    );
    // The waits are simulated durations at the time scale: containers are created for 4 s,
    // the probe first passes after its 4 s initial delay (200 ms each here). The timers never
    // fire early; a quarter is left for the watch's delivery jitter between two events.
    let at_least = Duration::from_secs_f64(0.75 * 4.0 * scale);
    let gaps: Vec<Duration> = arrived.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[2] >= at_least && gaps[3] >= at_least, "{gaps:?}");
    server.shutdown().await;
}
