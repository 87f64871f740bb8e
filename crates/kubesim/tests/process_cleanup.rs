//! The `kubesim` binary with `--process-runtimes` leaves no process behind: a single-member
//! etcd pod runs as a real etcd under `--state-dir`, and it is gone after kubesim stops on
//! SIGTERM (graceful shutdown) and after kubesim is SIGKILLed (the parent-death signal).
//! Needs /usr/bin/etcd (Debian's etcd-server); skips with a message when it is absent.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::json;
use support::eventually;

const ETCD: &str = "/usr/bin/etcd";

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pids of live processes whose environment mentions `dir` (etcd's `ETCD_DATA_DIR`; kubesim
/// itself only has it on its command line).
fn processes_under(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let mentions = |file: &str| {
                std::fs::read(format!("/proc/{pid}/{file}"))
                    .map(|bytes| String::from_utf8_lossy(&bytes).contains(&needle))
                    .unwrap_or(false)
            };
            !stat.contains(") Z ") && mentions("environ")
        })
        .collect()
}

/// Starts the binary, waits for an etcd pod to be Ready, and returns kubesim and the pid of
/// the etcd process.
async fn kubesim_running_etcd(dir: &Path) -> (Child, u32) {
    let kubeconfig = dir.join("kubeconfig");
    let state = dir.join("state");
    let log = std::fs::File::create(dir.join("kubesim.log")).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--state-dir")
        .arg(&state)
        .args(["--http", "--process-runtimes", "--time-scale", "0.05"])
        .env("RUST_LOG", "kubesim=info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("kubesim binary starts");
    let child = Child(child);
    let path = kubeconfig.clone();
    eventually("kubeconfig written", Duration::from_secs(30), || {
        let path = path.clone();
        async move { path.exists().then_some(()) }
    })
    .await;
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig parses"),
        &Default::default(),
    )
    .await
    .expect("client config");
    let pods: Api<Pod> =
        Api::namespaced(kube::Client::try_from(config).expect("client"), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "etcd-0"},
        "spec": {"containers": [{
            "name": "etcd", "image": "quay.io/coreos/etcd:v3.4.23",
            "env": [
                {"name": "ETCD_NAME", "value": "etcd-0"},
                {"name": "ETCD_DATA_DIR", "value": "/var/lib/etcd"},
                {"name": "ETCD_LISTEN_CLIENT_URLS", "value": "http://0.0.0.0:2379"},
                {"name": "ETCD_ADVERTISE_CLIENT_URLS", "value": "http://localhost:2379"},
                {"name": "ETCD_LISTEN_PEER_URLS", "value": "http://0.0.0.0:2380"},
                {"name": "ETCD_INITIAL_ADVERTISE_PEER_URLS", "value": "http://localhost:2380"},
                {"name": "ETCD_INITIAL_CLUSTER", "value": "etcd-0=http://localhost:2380"}],
            "readinessProbe": {"tcpSocket": {"port": 2379}, "periodSeconds": 1}}]}}))
    .expect("a valid pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("pod created");
    eventually("the etcd pod Ready", Duration::from_secs(60), || async {
        let pod = pods.get("etcd-0").await.ok()?;
        let ready = pod
            .status?
            .conditions?
            .into_iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        ready.then_some(())
    })
    .await;
    let etcd = processes_under(&state);
    assert_eq!(
        etcd.len(),
        1,
        "one etcd process under the state dir: {etcd:?}"
    );
    (child, etcd[0])
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

async fn assert_gone(state: PathBuf, etcd: u32) {
    // A killed process lingers briefly in /proc while the kernel tears it down (its cmdline is
    // already empty, so `processes_under` no longer lists it) and then as a zombie until the
    // reaper collects it: both count as gone, anything else within the deadline is a stray.
    eventually(
        &format!("no process left under the state dir and etcd {etcd} gone"),
        Duration::from_secs(20),
        || {
            let left = processes_under(&state);
            let etcd_gone = !Path::new(&format!("/proc/{etcd}/cmdline")).exists()
                || std::fs::read_to_string(format!("/proc/{etcd}/stat"))
                    .is_ok_and(|s| s.contains(") Z ") || s.contains(") X "));
            async move { (left.is_empty() && etcd_gone).then_some(()) }
        },
    )
    .await;
}

#[tokio::test]
async fn etcd_stops_with_kubesim_on_sigterm_and_on_sigkill() {
    if !Path::new(ETCD).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "etcd is required under CI (scripts/test.sh installs etcd-server)"
        );
        eprintln!("skipping: {ETCD} is missing (apt-get install etcd-server)");
        return;
    }
    for (signal_name, graceful) in [("TERM", true), ("KILL", false)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut child, etcd) = kubesim_running_etcd(dir.path()).await;
        signal(&child, signal_name);
        let exit = eventually("kubesim exits", Duration::from_secs(30), || {
            let polled = child.0.try_wait().expect("try_wait");
            async move { polled }
        })
        .await;
        assert_eq!(exit.success(), graceful, "{signal_name}: {exit:?}");
        assert_gone(dir.path().join("state"), etcd).await;
    }
}
