//! kubectl scenarios, writes (rust-ecosystem.md §3.2): client-side apply twice with a change,
//! server-side apply with a conflict and `--force-conflicts`, diff, label, annotate and patch
//! of each type, all with kubectl's own validation (no `--validate=false`), each step
//! asserting on what kubectl prints.

#[path = "support/kubectl.rs"]
mod kubectl;
mod support;

use kubectl::{Kubectl, Output};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const SETTINGS: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels:
    app: db
data:
  mode: fast
";

fn ok(output: &Output) -> &str {
    assert_eq!(output.code, 0, "kubectl failed: {}", output.stderr);
    &output.stdout
}

async fn start() -> Option<(kubesim::Handle, Kubectl)> {
    let server = kubesim::Server::builder()
        .start()
        .await
        .expect("kubesim starts");
    let kubectl = Kubectl::new(&server)?;
    Some((server, kubectl))
}

async fn json_of(kubectl: &Kubectl, args: &[&str]) -> Value {
    let mut with_output = args.to_vec();
    with_output.extend(["-o", "json"]);
    serde_json::from_str(ok(&kubectl.run(&with_output).await)).expect("kubectl prints JSON")
}

#[tokio::test]
async fn client_side_apply_then_server_side_apply_with_a_conflict() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    let apply = ["apply", "-f", "-"];
    let created = kubectl.run_with_stdin(&apply, SETTINGS).await;
    assert_eq!(ok(&created), "configmap/settings created\n");
    let unchanged = kubectl.run_with_stdin(&apply, SETTINGS).await;
    assert_eq!(ok(&unchanged), "configmap/settings unchanged\n");
    let changed = SETTINGS.replace("mode: fast", "mode: safe");
    let configured = kubectl.run_with_stdin(&apply, &changed).await;
    assert_eq!(ok(&configured), "configmap/settings configured\n");
    let mode = kubectl
        .run(&[
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.mode}",
        ])
        .await;
    assert_eq!(ok(&mode), "safe");

    // The client-side applier owns .data.mode, so a server-side apply changing it conflicts.
    let server_side = SETTINGS.replace("mode: fast", "mode: turbo");
    let conflict = kubectl
        .run_with_stdin(&["apply", "--server-side", "-f", "-"], &server_side)
        .await;
    assert_eq!(conflict.code, 1);
    assert_eq!(
        conflict.stderr.lines().next(),
        Some(
            "error: Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .data.mode"
        )
    );
    let forced = kubectl
        .run_with_stdin(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            &server_side,
        )
        .await;
    assert_eq!(ok(&forced), "configmap/settings serverside-applied\n");
    let object = json_of(
        &kubectl,
        &["get", "configmap", "settings", "--show-managed-fields"],
    )
    .await;
    assert_eq!(object["data"], json!({"mode": "turbo"}));
    let owners: Vec<(String, String)> = object["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap_or_default().to_string(),
                m["operation"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        owners.contains(&("kubectl".to_string(), "Apply".to_string())),
        "{owners:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn diff_shows_what_apply_would_change_without_changing_it() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    ok(&kubectl.run_with_stdin(&["apply", "-f", "-"], WEB).await);
    let same = kubectl.run_with_stdin(&["diff", "-f", "-"], WEB).await;
    assert_eq!((same.code, same.stdout.as_str()), (0, ""));
    let changed = WEB.replace("replicas: 2", "replicas: 3");
    let diff = kubectl.run_with_stdin(&["diff", "-f", "-"], &changed).await;
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    let changes: Vec<&str> = diff
        .stdout
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    // The dry run bumps the generation as a real update of the spec would.
    assert_eq!(
        changes,
        vec![
            "-  generation: 1",
            "+  generation: 2",
            "-  replicas: 2",
            "+  replicas: 3",
        ]
    );
    let replicas = kubectl
        .run(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .await;
    assert_eq!(ok(&replicas), "2");
    server.shutdown().await;
}

const WEB: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.27
      - name: sidecar
        image: envoy:1.30
";

#[tokio::test]
async fn label_annotate_and_every_patch_type() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    ok(&kubectl
        .run_with_stdin(&["apply", "-f", "-"], SETTINGS)
        .await);
    let labeled = kubectl
        .run(&["label", "configmap", "settings", "tier=backend"])
        .await;
    assert_eq!(ok(&labeled), "configmap/settings labeled\n");
    let annotated = kubectl
        .run(&["annotate", "configmap", "settings", "owner=team-a"])
        .await;
    assert_eq!(ok(&annotated), "configmap/settings annotated\n");
    let relabel = kubectl
        .run(&["label", "configmap", "settings", "tier=frontend"])
        .await;
    assert_eq!(relabel.code, 1);
    assert_eq!(
        relabel.stderr,
        "error: 'tier' already has a value (backend), and --overwrite is false\n"
    );
    let unlabeled = kubectl
        .run(&["label", "configmap", "settings", "tier-"])
        .await;
    assert_eq!(ok(&unlabeled), "configmap/settings unlabeled\n");

    let merge = kubectl
        .run(&[
            "patch",
            "configmap",
            "settings",
            "--type=merge",
            "-p",
            r#"{"data":{"extra":"1"}}"#,
        ])
        .await;
    assert_eq!(ok(&merge), "configmap/settings patched\n");
    let json_patch = kubectl
        .run(&[
            "patch",
            "configmap",
            "settings",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/data/mode","value":"slow"},{"op":"remove","path":"/data/extra"}]"#,
        ])
        .await;
    assert_eq!(ok(&json_patch), "configmap/settings patched\n");
    let again = kubectl
        .run(&[
            "patch",
            "configmap",
            "settings",
            "--type=merge",
            "-p",
            r#"{"data":{"mode":"slow"}}"#,
        ])
        .await;
    assert_eq!(ok(&again), "configmap/settings patched (no change)\n");
    let object = json_of(&kubectl, &["get", "configmap", "settings"]).await;
    assert_eq!(object["data"], json!({"mode": "slow"}));
    assert_eq!(object["metadata"]["labels"], json!({"app": "db"}));
    assert_eq!(object["metadata"]["annotations"]["owner"], "team-a");

    ok(&kubectl.run_with_stdin(&["apply", "-f", "-"], WEB).await);
    // Strategic merge (kubectl's default for built-ins) merges containers by name.
    let strategic = kubectl
        .run(&[
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"envoy:1.31"}]}}}}"#,
        ])
        .await;
    assert_eq!(ok(&strategic), "deployment.apps/web patched\n");
    let images = kubectl
        .run(&[
            "get",
            "deployment",
            "web",
            "-o",
            r#"jsonpath={range .spec.template.spec.containers[*]}{.name}={.image}{" "}{end}"#,
        ])
        .await;
    assert_eq!(ok(&images), "app=nginx:1.27 sidecar=envoy:1.31 ");
    server.shutdown().await;
}

#[tokio::test]
async fn create_validates_on_the_server() {
    let Some((server, kubectl)) = start().await else {
        return;
    };
    let typo = SETTINGS.replace("\ndata:", "\ndataa:");
    let strict = kubectl.run_with_stdin(&["create", "-f", "-"], &typo).await;
    assert_eq!(strict.code, 1);
    assert_eq!(
        strict.stderr,
        "Error from server (BadRequest): error when creating \"STDIN\": ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dataa\"\n"
    );
    let warned = kubectl
        .run_with_stdin(&["create", "--validate=warn", "-f", "-"], &typo)
        .await;
    assert_eq!(ok(&warned), "configmap/settings created\n");
    assert_eq!(warned.stderr, "Warning: unknown field \"dataa\"\n");
    server.shutdown().await;
}
