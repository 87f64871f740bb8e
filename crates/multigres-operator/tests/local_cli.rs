//! `multigres-operator local` through the real binary (issue 15, "Done when"): minimal becomes
//! Healthy and the KUBECONFIG is printed; kubectl sees the cluster; `status` prints its tree; a
//! `kubectl patch` of a gateway replica count is carried out to the Deployment; SIGINT stops
//! everything, leaving no process it started behind.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::cluster::etcd_available;

const KUBECTL: &str = "/usr/bin/kubectl";

/// The pids of every descendant of `root`, with their start times (so a reused pid is not
/// mistaken for a survivor).
fn descendants(root: u32) -> Vec<(u32, String)> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Some((ppid, start)) = stat(pid) else {
            continue;
        };
        parents.push((pid, ppid, start));
    }
    let mut found: Vec<(u32, String)> = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, ppid, start) in &parents {
            if *ppid == parent {
                found.push((*pid, start.clone()));
                frontier.push(*pid);
            }
        }
    }
    found
}

/// `(ppid, starttime)` of a live process (zombies count as gone).
fn stat(pid: u32) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    Some((fields.get(1)?.parse().ok()?, fields.get(19)?.to_string()))
}

fn kubectl(kubeconfig: &str, home: &Path, args: &[&str]) -> String {
    let output = Command::new(KUBECTL)
        .args(args)
        .arg("--request-timeout=30s")
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Reads lines from `lines` until one satisfies `done`, failing after `deadline`.
fn wait_for_line(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    deadline: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let until = Instant::now() + deadline;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let received = lines.recv_timeout(left);
        assert!(
            received.is_ok(),
            "no such line within {deadline:?}; output so far:\n{}",
            seen.join("\n")
        );
        let line = received.expect("checked above");
        seen.push(line.clone());
        if done(&line) {
            return line;
        }
    }
}

struct Local {
    child: Child,
}

impl Drop for Local {
    fn drop(&mut self) {
        // A failed assertion must not leave the binary (and its etcd) running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn local_mode_converges_serves_kubectl_carries_out_an_edit_and_stops_cleanly() {
    if !etcd_available("local_mode") || !Path::new(KUBECTL).exists() {
        return;
    }
    let state = tempfile::tempdir().expect("a temporary directory");
    let home = tempfile::tempdir().expect("a kubectl home");
    let child = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args(["local", "--state-dir"])
        .arg(state.path().join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let mut local = Local { child };
    let stdout = local.child.stdout.take().expect("piped stdout");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });

    // Not a terminal: progress lines, then the Healthy summary and the KUBECONFIG.
    let mut seen = Vec::new();
    wait_for_line(&lines, &mut seen, Duration::from_secs(300), |line| {
        line == "MultigresCluster default/minimal: Healthy"
    });
    let export = wait_for_line(&lines, &mut seen, Duration::from_secs(30), |line| {
        line.starts_with("export KUBECONFIG=")
    });
    let kubeconfig = export
        .strip_prefix("export KUBECONFIG=")
        .expect("the prefix")
        .to_owned();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("Healthy: default/minimal after ")),
        "a summary line: {seen:#?}"
    );
    // The suggested `status` runs this very binary, which no PATH holds here: it is named by
    // its absolute path.
    let program = env!("CARGO_BIN_EXE_multigres-operator");
    wait_for_line(&lines, &mut seen, Duration::from_secs(30), |line| {
        line == format!("  {program} status minimal --watch")
    });

    let listed = kubectl(
        &kubeconfig,
        home.path(),
        &["get", "multigresclusters,cells,shards,pods", "-o", "name"],
    );
    for expected in [
        "multigrescluster.multigres.com/minimal",
        "cell.multigres.com/minimal-zone-a-96c88ae0",
        "shard.multigres.com/minimal-postgres-default-0-inf-1e3c045c",
        "pod/minimal-global-topo-0",
        "pod/minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0",
    ] {
        assert!(
            listed.lines().any(|l| l == expected),
            "{expected} in {listed}"
        );
    }

    // `status` against the same API server: the converged tree's root.
    let status = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args(["status", "minimal"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("status runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let tree = String::from_utf8_lossy(&status.stdout);
    assert_eq!(
        tree.lines().next(),
        Some("✓ MultigresCluster default/minimal: Healthy"),
        "{tree}"
    );

    // A reader that stops early (`status | head`) is no error.
    let mut early = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args(["status", "minimal"])
        .env("KUBECONFIG", &kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("status runs");
    // Closed before the tree can be written: it is written only after the API server answered.
    drop(early.stdout.take());
    let early = early.wait_with_output().expect("status ends");
    assert_eq!(
        (
            early.status.code(),
            String::from_utf8_lossy(&early.stderr).into_owned()
        ),
        (Some(0), String::new())
    );

    // A cluster name that does not exist: the error names the ones that do.
    let missing = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args(["status", "minimall"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("status runs");
    assert_eq!(
        (
            missing.status.code(),
            String::from_utf8_lossy(&missing.stderr).into_owned()
        ),
        (
            Some(1),
            "Error: MultigresCluster default/minimall not found: namespace default holds only \
             minimal (choose another namespace with -n NAMESPACE)\n"
                .to_owned()
        )
    );

    // An edit while it runs: two gateways in zone-a.
    kubectl(
        &kubeconfig,
        home.path(),
        &[
            "patch",
            "multigrescluster",
            "minimal",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/cells/0/spec/multigateway/replicas","value":2}]"#,
        ],
    );
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let replicas = kubectl(
            &kubeconfig,
            home.path(),
            &[
                "get",
                "deployments",
                "-l",
                "app.kubernetes.io/component=multigateway",
                "-o",
                "jsonpath={.items[*].spec.replicas}",
            ],
        );
        if replicas.trim() == "2" {
            break;
        }
        assert!(
            Instant::now() < until,
            "the gateway Deployment still has {replicas} replicas"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A direct edit of an operator-owned Cell is refused by the child webhook, as in a cluster
    // (the operator's own writes above passed it: it authenticates as its ServiceAccount).
    let cell = kubectl(
        &kubeconfig,
        home.path(),
        &["get", "cells", "-o", "jsonpath={.items[0].metadata.name}"],
    );
    let refused = Command::new(KUBECTL)
        .args([
            "patch",
            "cell",
            cell.trim(),
            "--type=merge",
            "-p",
            r#"{"spec":{"multigateway":{"replicas":5}}}"#,
            "--request-timeout=30s",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", home.path())
        .output()
        .expect("kubectl runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("direct modification"),
        "a user's patch of Cell {cell} was not refused by the child webhook: {stderr}"
    );

    // Ctrl-C: everything it started goes away.
    let pid = local.child.id();
    let started = descendants(pid);
    assert!(
        started.len() >= 3,
        "the three etcd members run as processes of local mode: {started:?}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).expect("a pid")),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT delivered");
    let until = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = local.child.try_wait().expect("waitable") {
            break status;
        }
        assert!(
            Instant::now() < until,
            "local mode did not stop within 60 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status {status:?}");
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let survivors: Vec<&(u32, String)> = started
            .iter()
            .filter(|(pid, start)| stat(*pid).is_some_and(|(_, now)| &now == start))
            .collect();
        if survivors.is_empty() {
            break;
        }
        assert!(
            Instant::now() < until,
            "processes left behind: {survivors:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    while let Ok(line) = lines.try_recv() {
        seen.push(line);
    }
    assert!(
        seen.iter()
            .any(|l| l.starts_with("Stopped. The cluster is saved in ")),
        "{seen:#?}"
    );
}

/// Runs `local` with `args` to its end (it must fail) with an etcd that is never started.
fn local_failing(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .arg("local")
        .args(["--etcd-binary", "/bin/true"])
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env_remove("MULTIGRES_LOCAL_FILES")
        .env_remove("MULTIGRES_LOCAL_STATE_DIR")
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_file_that_cannot_be_read_fails_before_anything_starts() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("cluster.yaml");
    let missing = missing.to_str().expect("a UTF-8 path");
    assert_eq!(
        local_failing(&["-f", missing]),
        (
            Some(1),
            // Nothing started: no API server line, no stop line.
            String::new(),
            format!("Error: cannot read {missing}: No such file or directory (os error 2)\n")
        )
    );
}

#[test]
fn a_refused_document_is_reported_in_the_api_servers_words() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("cluster.yaml");
    std::fs::write(
        &file,
        "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata: {name: orders}\n\
         spec:\n  cells:\n  - name: zone-a\n    zome: zone-a\n",
    )
    .expect("the file is written");
    let file = file.to_str().expect("a UTF-8 path");
    let (code, stdout, stderr) = local_failing(&["-f", file]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    // Strict as `kubectl apply`: the misspelt field is refused, not dropped; the message is the
    // API server's, once, without kube's debug dump of the Status.
    assert_eq!(
        stderr,
        format!(
            "Error: {file}: MultigresCluster orders was not applied: strict decoding error: \
             unknown field \"spec.cells[0].zome\"\n"
        )
    );
    assert!(stdout.ends_with("Stopped.\n"), "{stdout}");
}

#[test]
fn a_webhook_port_in_use_fails_before_anything_starts() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = taken.local_addr().expect("an address").port().to_string();
    assert_eq!(
        local_failing(&["--webhook-port", &port]),
        (
            Some(1),
            String::new(),
            format!(
                "Error: port {port} on 127.0.0.1 is in use: choose another for the admission \
                 webhooks with --webhook-port (0 picks a free one): Address already in use (os \
                 error 98)\n"
            )
        )
    );
}

#[test]
fn a_cluster_in_a_namespace_that_does_not_exist_yet_converges_and_the_next_steps_name_it() {
    if !etcd_available("local_mode") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("orders.yaml");
    std::fs::write(
        &file,
        "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\n\
         metadata: {name: orders, namespace: shop}\nspec:\n  cells:\n  - name: zone-a\n",
    )
    .expect("the file is written");
    let child = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .arg("local")
        .arg("-f")
        .arg(&file)
        .env_remove("MULTIGRES_LOCAL_STATE_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let mut local = Local { child };
    let stdout = local.child.stdout.take().expect("piped stdout");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    wait_for_line(&lines, &mut seen, Duration::from_secs(300), |line| {
        line.starts_with("Healthy: shop/orders after ")
    });
    let program = env!("CARGO_BIN_EXE_multigres-operator");
    for expected in [
        "  kubectl get multigresclusters,cells,tablegroups,shards,pods -n shop".to_owned(),
        "  kubectl edit multigrescluster orders -n shop    # e.g. \
         spec.cells[0].spec.multigateway.replicas"
            .to_owned(),
        format!("  {program} status orders -n shop --watch"),
    ] {
        wait_for_line(&lines, &mut seen, Duration::from_secs(30), |line| {
            line == expected
        });
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(local.child.id()).expect("a pid")),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT delivered");
    wait_for_line(&lines, &mut seen, Duration::from_secs(60), |line| {
        line == "Stopped."
    });
    // It removes its temporary folder after that line: let it exit rather than kill it.
    let until = Instant::now() + Duration::from_secs(30);
    while local.child.try_wait().expect("waitable").is_none() {
        assert!(Instant::now() < until, "local mode did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_cell_in_a_zone_no_simulated_node_has_fails_before_anything_starts() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("cluster.yaml");
    std::fs::write(
        &file,
        "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata: {name: orders}\n\
         spec:\n  cells:\n  - name: east\n    zone: us-east-1a\n",
    )
    .expect("the file is written");
    let file = file.to_str().expect("a UTF-8 path");
    assert_eq!(
        local_failing(&["-f", file, "--zones", "zone-a"]),
        (
            Some(1),
            String::new(),
            format!(
                "Error: no simulated node can run the pods of this cell (they would stay \
                 Pending):\n  - {file}: MultigresCluster default/orders: spec.cells[0].zone \
                 \"us-east-1a\" is not a zone of the simulated nodes (zone-a)\nStart local with \
                 --zones zone-a,us-east-1a\n"
            )
        )
    );
}

#[test]
fn ctrl_c_while_local_mode_starts_stops_it() {
    if !etcd_available("local_mode") {
        return;
    }
    let child = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .arg("local")
        .env_remove("MULTIGRES_LOCAL_STATE_DIR")
        .env_remove("MULTIGRES_LOCAL_FILES")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let mut local = Local { child };
    let stdout = local.child.stdout.take().expect("piped stdout");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    // The first line: the API server is up, the CRDs, webhooks and the cluster are not.
    wait_for_line(&lines, &mut seen, Duration::from_secs(60), |line| {
        line.starts_with("API server ")
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(local.child.id()).expect("a pid")),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT delivered");
    wait_for_line(&lines, &mut seen, Duration::from_secs(60), |line| {
        line == "Stopped."
    });
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = local.child.try_wait().expect("waitable") {
            break status;
        }
        assert!(Instant::now() < until, "local mode did not exit");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(
        !seen.iter().any(|line| line.starts_with("Healthy: ")),
        "it went on to serve the cluster: {seen:#?}"
    );
}
