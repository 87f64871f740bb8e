//! The committed install manifests as a user applies them: `kubectl apply --server-side -f` of
//! each variant on kubesim creates every object, a second apply (the upgrade path) succeeds and
//! changes nothing, and `kubectl delete -f` removes them all. The cert-manager variant needs
//! cert-manager's CRDs, which kubesim does not have, so it is applied with those two objects
//! left out.
//!
//! Whether the operator then runs is the end-to-end test's business (it needs `run`).

mod webhook_support;

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::Value;
use webhook_support::{Kubectl, Output};

fn manifest(variant: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../config/install/{variant}.yaml"))
}

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
    let server = kubesim::Server::builder()
        .start()
        .await
        .expect("kubesim starts");
    let Some(kubectl) = Kubectl::new(&server) else {
        return;
    };
    let (objects, yaml) = load(variant, leave_out);

    let apply = ["apply", "--server-side", "-f", "-"];
    let Output {
        code,
        stdout,
        stderr,
    } = kubectl.run(&apply, &yaml).await;
    assert_eq!(code, 0, "apply of {variant} failed: {stderr}");
    assert_eq!(stdout.lines().count(), objects.len(), "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|line| line.ends_with(" serverside-applied")),
        "{stdout}"
    );

    // Upgrading to the same manifest: every object is applied again, none is rejected.
    let Output { code, stderr, .. } = kubectl.run(&apply, &yaml).await;
    assert_eq!(code, 0, "second apply of {variant} failed: {stderr}");

    // Every object exists, by kind and name.
    for (kind, name) in &objects {
        let Output { code, stderr, .. } = kubectl.run(&get_args(kind, name), "").await;
        assert_eq!(code, 0, "{kind} {name} missing: {stderr}");
    }

    // The Namespace goes first and takes its objects along, so the later deletes of those
    // objects find nothing: docs/install.md says --ignore-not-found for that reason.
    let Output { code, stderr, .. } = kubectl
        .run(
            &["delete", "--ignore-not-found", "--wait=true", "-f", "-"],
            &yaml,
        )
        .await;
    assert_eq!(code, 0, "delete of {variant} failed: {stderr}");
    for (kind, name) in &objects {
        let Output {
            code,
            stdout,
            stderr,
        } = kubectl.run(&get_args(kind, name), "").await;
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
