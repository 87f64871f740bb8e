//! The built `kubesim` binary: serves HTTPS, writes its kubeconfig once listening, stops
//! cleanly on SIGTERM; and the installed kubectl creates, reads (`-o yaml`) and deletes a
//! ConfigMap and a custom resource through it (rust-ecosystem.md §3.2). Each kubectl run gets
//! its own HOME and cache directory (pitfall P10).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use pretty_assertions::assert_eq;
use support::eventually;

const KUBECTL: &str = "/usr/bin/kubectl";

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_kubesim(dir: &Path, extra: &[&str]) -> (Child, PathBuf) {
    let kubeconfig = dir.join("kubeconfig");
    let child = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(extra)
        .env("RUST_LOG", "kubesim=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubesim binary starts");
    (Child(child), kubeconfig)
}

async fn client_for(kubeconfig: &Path) -> kube::Client {
    let path = kubeconfig.to_path_buf();
    eventually("kubeconfig written", Duration::from_secs(30), || {
        let path = path.clone();
        async move { path.exists().then_some(()) }
    })
    .await;
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig parses"),
        &Default::default(),
    )
    .await
    .expect("client config");
    kube::Client::try_from(config).expect("client")
}

#[tokio::test]
async fn the_binary_serves_tls_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, kubeconfig) = spawn_kubesim(dir.path(), &["--zones", "zone-a,zone-b"]);
    let client = client_for(&kubeconfig).await;
    let nodes: Api<Node> = Api::all(client);
    let names: Vec<String> = nodes
        .list(&Default::default())
        .await
        .expect("nodes over TLS")
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(names, vec!["kubesim-zone-a", "kubesim-zone-b"]);
    let pid = child.0.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = eventually("kubesim exits", Duration::from_secs(30), || {
        let polled = child.0.try_wait().expect("try_wait");
        async move { polled }
    })
    .await;
    assert!(exit.success(), "{exit:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().expect("stderr piped"), &mut log)
        .expect("log read");
    let request_lines: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("request method=GET uri=/api/v1/nodes") && l.contains(" status=200 ")
        })
        .collect();
    assert_eq!(request_lines.len(), 1, "one debug line per request: {log}");
}

struct Kubectl {
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

impl Kubectl {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        let mut command = Command::new(KUBECTL);
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.home.path().join("cache"))
            .args(args)
            .env("HOME", self.home.path())
            .env_remove("KUBECONFIG")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("kubectl runs");
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin piped")
                .write_all(input.as_bytes())
                .expect("stdin written");
        }
        let output = child.wait_with_output().expect("kubectl finishes");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let (success, stdout, stderr) = self.run(args, stdin);
        assert!(success, "kubectl {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }
}

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.kubesim.test
spec:
  group: kubesim.test
  names: {plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList, shortNames: [gd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: string}}}
"#;

// kubectl runs as a blocking child process while the in-process server answers it, so the
// server needs runtime threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_creates_gets_and_deletes() {
    if !Path::new(KUBECTL).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{KUBECTL} is required under CI (scripts/test.sh installs it)"
        );
        println!("skipping: {KUBECTL} is not installed");
        return;
    }
    let server = kubesim::Server::builder()
        .start()
        .await
        .expect("kubesim starts");
    let kubectl = Kubectl {
        kubeconfig: server.kubeconfig_path().to_path_buf(),
        home: tempfile::tempdir().expect("home"),
    };
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-kubectl\ndata:\n  greeting: hello\n";
    let created = kubectl.ok(&["create", "-f", "-", "--validate=false"], Some(cm));
    assert_eq!(created.trim(), "configmap/from-kubectl created");
    let yaml = kubectl.ok(&["get", "configmap", "from-kubectl", "-o", "yaml"], None);
    let object: serde_json::Value = serde_saphyr::from_str(&yaml).expect("kubectl printed YAML");
    assert_eq!(
        (
            &object["apiVersion"],
            &object["kind"],
            &object["metadata"]["name"],
            &object["data"]
        ),
        (
            &serde_json::json!("v1"),
            &serde_json::json!("ConfigMap"),
            &serde_json::json!("from-kubectl"),
            &serde_json::json!({"greeting": "hello"})
        )
    );
    let short = kubectl.ok(&["get", "cm", "from-kubectl", "-o", "name"], None);
    assert_eq!(short.trim(), "configmap/from-kubectl");
    let deleted = kubectl.ok(&["delete", "configmap", "from-kubectl"], None);
    assert_eq!(deleted.trim(), "configmap \"from-kubectl\" deleted");

    let created = kubectl.ok(&["create", "-f", "-", "--validate=false"], Some(WIDGET_CRD));
    assert_eq!(
        created.trim(),
        "customresourcedefinition.apiextensions.k8s.io/gadgets.kubesim.test created"
    );
    let gadget =
        "apiVersion: kubesim.test/v1\nkind: Gadget\nmetadata:\n  name: g1\nspec:\n  size: large\n";
    // kubectl refreshes its discovery cache when a kind is new; retry until it sees it.
    let out = eventually("gadget created", Duration::from_secs(30), || {
        let result = kubectl.run(&["create", "-f", "-", "--validate=false"], Some(gadget));
        async move { result.0.then_some(result.1) }
    })
    .await;
    assert_eq!(out.trim(), "gadget.kubesim.test/g1 created");
    let yaml = kubectl.ok(&["get", "gadget", "g1", "-o", "yaml"], None);
    let object: serde_json::Value = serde_saphyr::from_str(&yaml).expect("kubectl printed YAML");
    assert_eq!(
        (&object["apiVersion"], &object["kind"], &object["spec"]),
        (
            &serde_json::json!("kubesim.test/v1"),
            &serde_json::json!("Gadget"),
            &serde_json::json!({"size": "large"})
        )
    );
    let deleted = kubectl.ok(&["delete", "gadget", "g1"], None);
    assert_eq!(deleted.trim(), "gadget.kubesim.test \"g1\" deleted");
    server.shutdown().await;
}
