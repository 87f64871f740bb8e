//! The committed install manifests as a user applies them: `kubectl apply --server-side -f` of
//! each variant on kubesim creates every object, a second apply (the upgrade path) succeeds and
//! changes nothing, and `kubectl delete -f` removes them all. The cert-manager variant needs
//! cert-manager's CRDs, which kubesim does not have, so it is applied with those two objects
//! left out.
//!
//! Whether the operator then runs is the end-to-end test's business (it needs `run`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(120);

fn manifest(variant: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../config/install/{variant}.yaml"))
}

fn kubectl_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
}

struct Kubectl {
    binary: PathBuf,
    home: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Kubectl {
    /// Runs kubectl with `stdin`; returns (exit code, stdout, stderr).
    async fn run(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(&self.binary)
            .args(args)
            .arg("--cache-dir")
            .arg(self.home.path().join("cache"))
            .env("HOME", self.home.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("kubectl starts");
        let mut input = child.stdin.take().expect("stdin is piped");
        input
            .write_all(stdin.as_bytes())
            .await
            .expect("stdin written");
        drop(input);
        let output = tokio::time::timeout(DEADLINE, child.wait_with_output())
            .await
            .expect("kubectl finishes in time")
            .expect("kubectl runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// The manifest's documents as (kind, name), and the YAML to apply.
fn load(variant: &str, leave_out: &[&str]) -> (Vec<(String, String)>, String) {
    let text = std::fs::read_to_string(manifest(variant)).expect("the committed manifest");
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("valid YAML");
    let kept: Vec<Value> = documents
        .into_iter()
        .filter(|document| !leave_out.contains(&document["kind"].as_str().unwrap_or_default()))
        .collect();
    let names = kept
        .iter()
        .map(|document| {
            (
                document["kind"].as_str().unwrap_or_default().to_owned(),
                document["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let yaml = kept
        .iter()
        .map(|document| serde_json::to_string(document).expect("JSON"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    (names, yaml)
}

async fn apply_and_delete(variant: &str, leave_out: &[&str]) {
    let Some(binary) = kubectl_binary() else {
        eprintln!("kubectl is not installed (set KUBECTL or add it to PATH): skipping");
        return;
    };
    let server = kubesim::Server::builder()
        .start()
        .await
        .expect("kubesim starts");
    let kubectl = Kubectl {
        binary,
        home: tempfile::tempdir().expect("temporary HOME"),
        kubeconfig: server.kubeconfig_path().to_path_buf(),
    };
    let (objects, yaml) = load(variant, leave_out);

    let apply = ["apply", "--server-side", "-f", "-"];
    let (code, stdout, stderr) = kubectl.run(&apply, &yaml).await;
    assert_eq!(code, 0, "apply of {variant} failed: {stderr}");
    assert_eq!(stdout.lines().count(), objects.len(), "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|line| line.ends_with(" serverside-applied")),
        "{stdout}"
    );

    // Upgrading to the same manifest: every object is applied again, none is rejected.
    let (code, _, stderr) = kubectl.run(&apply, &yaml).await;
    assert_eq!(code, 0, "second apply of {variant} failed: {stderr}");

    // Every object exists, by kind and name.
    for (kind, name) in &objects {
        let (code, _, stderr) = kubectl.run(&get_args(kind, name), "").await;
        assert_eq!(code, 0, "{kind} {name} missing: {stderr}");
    }

    // The Namespace goes first and takes its objects along, so the later deletes of those
    // objects find nothing: docs/install.md says --ignore-not-found for that reason.
    let (code, _, stderr) = kubectl
        .run(
            &["delete", "--ignore-not-found", "--wait=true", "-f", "-"],
            &yaml,
        )
        .await;
    assert_eq!(code, 0, "delete of {variant} failed: {stderr}");
    for (kind, name) in &objects {
        let (code, stdout, stderr) = kubectl.run(&get_args(kind, name), "").await;
        assert_ne!(code, 0, "{kind} {name} is still there: {stdout}");
        assert!(stderr.contains("NotFound"), "{kind} {name}: {stderr}");
    }
}

fn get_args<'a>(kind: &'a str, name: &'a str) -> Vec<&'a str> {
    let mut args = vec!["get", kind, name, "-o", "name"];
    if matches!(
        kind,
        "ServiceAccount" | "Role" | "RoleBinding" | "Service" | "Deployment"
    ) {
        args.extend(["-n", "multigres-operator"]);
    }
    args
}

#[tokio::test]
async fn the_default_manifest_applies_and_deletes_cleanly() {
    apply_and_delete("default", &[]).await;
}

#[tokio::test]
async fn the_no_webhook_manifest_applies_and_deletes_cleanly() {
    apply_and_delete("no-webhook", &[]).await;
}

#[tokio::test]
async fn the_observability_manifest_applies_and_deletes_cleanly() {
    apply_and_delete("observability", &[]).await;
}

#[tokio::test]
async fn the_cert_manager_manifest_applies_without_cert_managers_objects() {
    apply_and_delete("cert-manager", &["Issuer", "Certificate"]).await;
}
