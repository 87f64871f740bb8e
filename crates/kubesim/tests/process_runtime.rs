//! A process-backed container's status follows the real process (docs/kubesim.md "Process
//! runtimes"): an etcd that exits at once (an unknown flag) is restarted at once, then waits in
//! CrashLoopBackOff, with `lastState.terminated` carrying its real exit code. Needs /usr/bin/etcd
//! (Debian's etcd-server); skips with a message when it is absent.

mod support;

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::{eventually, start_with};

#[tokio::test]
async fn a_crashing_process_shows_its_exit_code_and_backs_off() {
    if !Path::new(kubesim::process_runtime::DEFAULT_ETCD_BINARY).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "etcd is required under CI (scripts/test.sh installs etcd-server)"
        );
        eprintln!("skipping: /usr/bin/etcd is missing (apt-get install etcd-server)");
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let kubelet = kubesim::kubelet::KubeletConfig::with_time_scale(0.05).with_processes(
        kubesim::process_runtime::ProcessRuntimeConfig {
            root: Some(root.path().to_path_buf()),
            ..Default::default()
        },
    );
    let server = start_with(kubesim::Server::builder().kubelet(kubelet)).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "broken-etcd"},
        "spec": {"containers": [{"name": "etcd", "image": "etcd:3.4",
                                  "args": ["--no-such-flag"]}]}}))
    .expect("a valid pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("pod created");
    let status: Value = eventually("CrashLoopBackOff", Duration::from_secs(60), || async {
        let pod = pods.get("broken-etcd").await.ok()?;
        let status = serde_json::to_value(pod.status?.container_statuses?.first()?).ok()?;
        (status.pointer("/state/waiting/reason") == Some(&json!("CrashLoopBackOff")))
            .then_some(status)
    })
    .await;
    let uid = pods
        .get("broken-etcd")
        .await
        .expect("pod")
        .metadata
        .uid
        .expect("a uid");
    // The first restart is immediate, the second waits 10 s, then 20, 40, ... (scaled).
    let restarts = status["restartCount"].as_u64().expect("a count");
    assert!(
        restarts >= 2,
        "in back-off only from the second restart: {status}"
    );
    let seconds = (10u64 << (restarts - 2)).min(300);
    assert_eq!(status["ready"], json!(false));
    assert_eq!(status["started"], json!(false));
    assert_eq!(
        status["state"]["waiting"]["message"],
        json!(format!(
            "back-off {seconds}s restarting failed container=etcd pod=broken-etcd_default({uid})"
        ))
    );
    // etcd 3.4 exits with 2 on an unknown flag.
    assert_eq!(status["lastState"]["terminated"]["exitCode"], json!(2));
    assert_eq!(status["lastState"]["terminated"]["reason"], json!("Error"));
    let log = std::fs::read_to_string(
        root.path()
            .join("pods")
            .join(&uid)
            .join("containers/etcd/log"),
    )
    .expect("the process log is kept");
    assert!(
        log.lines()
            .any(|l| l.contains("flag provided but not defined: -no-such-flag")),
        "etcd's own error is in the log: {log}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_crash_control_kills_the_real_process_which_restarts() {
    if !Path::new(kubesim::process_runtime::DEFAULT_ETCD_BINARY).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "etcd is required under CI (scripts/test.sh installs etcd-server)"
        );
        eprintln!("skipping: /usr/bin/etcd is missing (apt-get install etcd-server)");
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let kubelet = kubesim::kubelet::KubeletConfig::with_time_scale(0.05).with_processes(
        kubesim::process_runtime::ProcessRuntimeConfig {
            root: Some(root.path().to_path_buf()),
            ..Default::default()
        },
    );
    let server = start_with(kubesim::Server::builder().kubelet(kubelet)).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "etcd-0"},
        "spec": {"containers": [{"name": "etcd", "image": "etcd:3.4",
            "env": [{"name": "ETCD_DATA_DIR", "value": "/var/lib/etcd"},
                    {"name": "ETCD_LISTEN_CLIENT_URLS", "value": "http://0.0.0.0:2379"},
                    {"name": "ETCD_ADVERTISE_CLIENT_URLS", "value": "http://localhost:2379"},
                    {"name": "ETCD_LISTEN_PEER_URLS", "value": "http://0.0.0.0:2380"},
                    {"name": "ETCD_INITIAL_ADVERTISE_PEER_URLS", "value": "http://localhost:2380"},
                    {"name": "ETCD_INITIAL_CLUSTER", "value": "default=http://localhost:2380"}],
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 2379},
                               "periodSeconds": 1}}]}}))
    .expect("a valid pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("pod created");
    let ready = |restarts: u64| {
        let pods = pods.clone();
        move || {
            let pods = pods.clone();
            async move {
                let pod = pods.get("etcd-0").await.ok()?;
                let status = serde_json::to_value(pod.status?.container_statuses?.first()?).ok()?;
                (status["ready"] == json!(true) && status["restartCount"] == json!(restarts))
                    .then_some(status)
            }
        }
    };
    eventually("etcd Ready", Duration::from_secs(60), ready(0)).await;
    server
        .kubelet()
        .expect("the kubelet runs")
        .crash_container("default", "etcd-0", "etcd")
        .await
        .expect("the container is running");
    let status = eventually(
        "etcd Ready after its restart",
        Duration::from_secs(60),
        ready(1),
    )
    .await;
    assert_eq!(status["lastState"]["terminated"]["exitCode"], json!(137));
    assert_eq!(status["lastState"]["terminated"]["reason"], json!("Error"));
    server.shutdown().await;
}
