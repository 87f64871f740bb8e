//! The install manifests on a simulated cluster (issue 16): a kubesim with RBAC on and process
//! runtimes, whose operator runtime runs the manifest's Deployment pod as the locally built
//! operator binary, kubectl pointed at it, and the checks every install variant shares (the
//! operator pod Ready, the webhooks' defaulting, `minimal` Healthy, `kubectl delete -f` leaving
//! nothing behind). Used by install_e2e.rs, install_cert_manager_e2e.rs and install_helm_e2e.rs;
//! needs the test binary to declare `mod support;` and `mod webhook_support;` too.

#![allow(dead_code)] // each test binary uses a different subset

pub mod cert_manager;

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use multigres_api::v1alpha1::{MultigresCluster, Phase};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::cluster::eventually;
use crate::webhook_support::{Kubectl, repo_root};

pub const OPERATOR_NAMESPACE: &str = "multigres-operator";
pub const OPERATOR_ACCOUNT: &str = "multigres-operator-controller-manager";
pub const CLUSTER: &str = "minimal";
pub const NAMESPACE: &str = "default";
/// Generous: the whole test takes well under a minute on two busy cores.
pub const DEADLINE: Duration = Duration::from_secs(120);

pub fn operator_user() -> String {
    format!("system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_ACCOUNT}")
}

pub fn manifest(variant: &str) -> String {
    repo_root()
        .join(format!("config/install/{variant}.yaml"))
        .display()
        .to_string()
}

/// A kubesim as a cluster would be: RBAC on, the kubelet running etcd and the operator as
/// processes (the operator from this build), kubectl pointed at it.
pub struct Simulated {
    pub server: kubesim::Handle,
    pub kubectl: Kubectl,
    pub client: kube::Client,
    /// The folder of kubesim's state; the operator pod's processes run under `processes/`.
    pub dir: PathBuf,
    _state: tempfile::TempDir,
}

impl Simulated {
    pub async fn start() -> Option<Simulated> {
        if !crate::support::cluster::etcd_available("install_e2e") {
            return None;
        }
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let state = tempfile::tempdir().expect("a temporary folder");
        let dir = state.path().to_path_buf();
        let kubelet = kubesim::kubelet::KubeletConfig::with_time_scale(0.05).with_processes(
            kubesim::process_runtime::ProcessRuntimeConfig {
                root: Some(dir.join("processes")),
                operator_binary: Some(PathBuf::from(env!("CARGO_BIN_EXE_multigres-operator"))),
                ..Default::default()
            },
        );
        let server = kubesim::Server::builder()
            .zones(vec!["zone-a".to_owned()])
            .authorization(kubesim::auth::Authorization::Rbac)
            .kubeconfig_path(dir.join("kubeconfig"))
            .kubelet(kubelet)
            .start()
            .await
            .expect("kubesim starts");
        let Some(kubectl) = Kubectl::new(&server) else {
            server.shutdown().await;
            return None;
        };
        let client = server.client();
        Some(Simulated {
            server,
            kubectl,
            client,
            dir,
            _state: state,
        })
    }

    pub async fn kubectl_ok(&self, args: &[&str], stdin: &str) -> String {
        let output = self.kubectl.run(args, stdin).await;
        assert_eq!(output.code, 0, "kubectl {args:?}: {}", output.stderr);
        output.stdout
    }

    /// The operator pod, once Ready.
    pub async fn ready_operator_pod(&self) -> Pod {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), OPERATOR_NAMESPACE);
        eventually("the operator pod to be Ready", DEADLINE, || async {
            pods.list(&ListParams::default().labels("control-plane=controller-manager"))
                .await
                .ok()?
                .items
                .into_iter()
                .find(|pod| {
                    pod.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|conditions| {
                            conditions
                                .iter()
                                .any(|c| c.type_ == "Ready" && c.status == "True")
                        })
                })
        })
        .await
    }

    pub async fn healthy(&self) {
        let clusters: Api<MultigresCluster> = Api::namespaced(self.client.clone(), NAMESPACE);
        eventually(&format!("{CLUSTER} to be Healthy"), DEADLINE, || async {
            let phase = clusters.get(CLUSTER).await.ok()?.status?.phase;
            (phase == Some(Phase::Healthy)).then_some(())
        })
        .await;
    }

    /// `kubectl delete -f` of the manifest: every object goes, and no process started for the
    /// operator pod is left on this machine.
    pub async fn uninstall(&self, variant: &str) {
        let path = manifest(variant);
        self.kubectl_ok(
            &["delete", "--ignore-not-found", "--wait=true", "-f", &path],
            "",
        )
        .await;
        for (kind, name) in manifest_objects(variant) {
            let output = self
                .kubectl
                .run(&["get", &kind, &name, "-n", OPERATOR_NAMESPACE], "")
                .await;
            assert_ne!(
                output.code, 0,
                "{kind} {name} is still there: {}",
                output.stdout
            );
        }
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), OPERATOR_NAMESPACE);
        eventually("the operator pod to be gone", DEADLINE, || async {
            pods.list(&ListParams::default())
                .await
                .ok()?
                .items
                .is_empty()
                .then_some(())
        })
        .await;
        let root = self.dir.join("processes");
        eventually("no operator process to be left", DEADLINE, || async {
            operator_processes(&root).is_empty().then_some(())
        })
        .await;
    }
}

/// The (kind, name) of every object of a committed manifest.
pub fn manifest_objects(variant: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(manifest(variant)).expect("the committed manifest");
    serde_saphyr::from_multiple::<Value>(&text)
        .expect("valid YAML")
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or_default().to_ascii_lowercase(),
                d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// Processes of this machine running the operator binary with a kubeconfig under `root` (the
/// pods of this test's kubesim: other tests may run operators of their own).
pub fn operator_processes(root: &Path) -> Vec<u32> {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_multigres-operator"));
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let ours = environ
                .split(|b| *b == 0)
                .filter_map(|var| std::str::from_utf8(var).ok())
                .any(|var| {
                    var.strip_prefix("KUBECONFIG=")
                        .is_some_and(|path| Path::new(path).starts_with(root))
                });
            exe.is_some_and(|exe| exe == binary) && ours
        })
        .collect()
}

pub fn dynamic(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub async fn names_of(client: &kube::Client, resource: &ApiResource) -> Vec<String> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, resource);
    let mut names: Vec<String> = api
        .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={CLUSTER}")))
        .await
        .map(|list| list.items.iter().map(ResourceExt::name_any).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// An invalid cluster, refused by the validating webhook (after the defaulting one ran).
pub const INVALID_CLUSTER: &str = "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\n\
     metadata:\n  name: invalid\nspec:\n  cells:\n  - name: zone-a\n  templateDefaults:\n    \
     cellTemplate: nowhere\n";
/// The validating webhook's refusal of [`INVALID_CLUSTER`].
pub const INVALID_REFUSAL: &str = "admission webhook \"vmultigrescluster.kb.io\" denied the \
     request: spec.templateDefaults.cellTemplate: referenced CellTemplate 'nowhere' not found";

/// `kubectl apply` of [`INVALID_CLUSTER`] fails with the validating webhook's message: the
/// webhook answered behind its Service.
pub async fn assert_invalid_cluster_refused(kubectl: &Kubectl) {
    let invalid = kubectl.run(&["apply", "-f", "-"], INVALID_CLUSTER).await;
    assert_eq!(invalid.code, 1, "{}", invalid.stdout);
    assert!(
        invalid.stderr.contains(INVALID_REFUSAL),
        "{}",
        invalid.stderr
    );
}

/// The stored spec of `minimal` must be what the CRD's schema defaults and then the defaulting
/// webhook make of the sample, and differ from the schema defaults alone: the mutating webhook
/// ran, behind its Service.
pub async fn assert_defaulted_by_the_webhook(client: &kube::Client) {
    use multigres_api::resolver::NamespaceTemplates;
    use multigres_operator::render::admission::Admission;
    use multigres_operator::webhook::defaulting::default_cluster;
    let text = std::fs::read_to_string(repo_root().join("config/samples/minimal.yaml"))
        .expect("the sample");
    let mut document: Value = serde_saphyr::from_str(&text).expect("YAML");
    document["metadata"]["namespace"] = json!(NAMESPACE);
    let admission = Admission::new().expect("the CRDs compile");
    assert_eq!(
        admission.admit_custom_resource("MultigresCluster", &mut document),
        Vec::<String>::new()
    );
    let schema_only = document["spec"].clone();
    let no_templates = NamespaceTemplates::from_objects(Vec::new(), Vec::new(), Vec::new());
    let expected = default_cluster(&document, &no_templates, &Default::default())
        .expect("minimal defaults")
        .object["spec"]
        .clone();
    assert_ne!(
        schema_only, expected,
        "the defaulter adds fields to minimal"
    );
    let clusters = dynamic(
        "multigres.com",
        "v1alpha1",
        "MultigresCluster",
        "multigresclusters",
    );
    let stored = Api::<DynamicObject>::namespaced_with(client.clone(), NAMESPACE, &clusters)
        .get(CLUSTER)
        .await
        .expect("the cluster is stored");
    assert_eq!(stored.data["spec"], expected);
}

/// Waits until the operator has injected its CA into every webhook of both configurations
/// (self-managed certificates): only then are clusters admitted.
pub async fn wait_for_ca_bundles(client: &kube::Client) {
    use k8s_openapi::api::admissionregistration::v1::{
        MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
    };
    let injected =
        |bundle: Option<&k8s_openapi::ByteString>| bundle.is_some_and(|b| !b.0.is_empty());
    eventually("the caBundle in every webhook", DEADLINE, || async {
        let mutating = Api::<MutatingWebhookConfiguration>::all(client.clone())
            .get("multigres-operator-mutating-webhook-configuration")
            .await
            .ok()?;
        let validating = Api::<ValidatingWebhookConfiguration>::all(client.clone())
            .get("multigres-operator-validating-webhook-configuration")
            .await
            .ok()?;
        let bundles: Vec<bool> = mutating
            .webhooks
            .unwrap_or_default()
            .iter()
            .map(|w| injected(w.client_config.ca_bundle.as_ref()))
            .chain(
                validating
                    .webhooks
                    .unwrap_or_default()
                    .iter()
                    .map(|w| injected(w.client_config.ca_bundle.as_ref())),
            )
            .collect();
        (!bundles.is_empty() && bundles.iter().all(|b| *b)).then_some(())
    })
    .await;
}
