//! The Helm chart end to end (issue 16: "separately the Helm chart's rendered output brings up
//! a working operator"), with the real helm (support/helm.rs finds it; scripts/install-helm.sh
//! installs it) against a kubesim with RBAC on whose operator runtime runs the chart's
//! Deployment pod as the locally built operator binary (install_support).
//!
//! `helm install --create-namespace --wait` returns once the operator's Deployment is ready (helm
//! reads it through the Deployment's current ReplicaSet, as it does on a real cluster), with the
//! release stored as helm's Secret; the webhooks answer behind their Service (minimal is
//! defaulted by the mutating webhook, an invalid cluster refused) and minimal converges to
//! Healthy. `helm upgrade --wait` to another image tag rolls the operator to a new pod and
//! process, which serves the webhooks in turn. `helm uninstall --wait` then removes every object
//! of the release and its Secrets, the operator's own certificate Secrets (owned by its
//! Deployment) and the operator process; the CRDs stay, as Helm never deletes what a chart's
//! crds/ installed, and so does the namespace `--create-namespace` made (docs/install.md).
//!
//! Figures (run with `--no-capture`): helm install → operator Ready, → minimal Healthy, and the
//! upgrade's duration; printed, never asserted.

mod install_support;
mod support;
mod webhook_support;

use std::collections::BTreeSet;
use std::time::Instant;

use install_support::{
    CLUSTER, DEADLINE, NAMESPACE, OPERATOR_NAMESPACE, Simulated, assert_defaulted_by_the_webhook,
    assert_invalid_cluster_refused, operator_processes, wait_for_ca_bundles,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use multigres_api::v1alpha1::MultigresCluster;
use pretty_assertions::assert_eq;
use serde_json::Value;
use support::cluster::eventually;
use support::helm::Helm;
use webhook_support::repo_root;

const TEST: &str = "the_helm_chart_installs_upgrades_and_uninstalls_a_working_operator";
const RELEASE: &str = "multigres-operator";
const OPERATOR_DEPLOYMENT: &str = "multigres-operator-controller-manager";
/// The tag `helm upgrade` moves the operator to (kubesim's operator runtime runs any tag of
/// the operator's image as this build's binary).
const UPGRADE_TAG: &str = "0.1.0-upgrade";

fn chart() -> String {
    repo_root()
        .join("charts/multigres-operator")
        .display()
        .to_string()
}

fn sample() -> String {
    repo_root()
        .join("config/samples/minimal.yaml")
        .display()
        .to_string()
}

/// Runs helm, which must succeed; its stdout.
async fn helm_ok(helm: &Helm, args: &[&str]) -> String {
    let output = helm.run(args, DEADLINE).await;
    assert_eq!(
        output.code, 0,
        "helm {args:?}: {}{}",
        output.stdout, output.stderr
    );
    output.stdout
}

/// (revision, status) of every revision of the release, from `helm history`.
async fn history(helm: &Helm) -> Vec<(u64, String)> {
    let text = helm_ok(
        helm,
        &["history", RELEASE, "-n", OPERATOR_NAMESPACE, "-o", "json"],
    )
    .await;
    let revisions: Vec<Value> = serde_json::from_str(&text).expect("helm history's JSON");
    revisions
        .iter()
        .map(|r| {
            (
                r["revision"].as_u64().unwrap_or_default(),
                r["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The names of helm's release Secrets (`sh.helm.release.v1.<release>.v<revision>`).
async fn release_secrets(client: &kube::Client) -> Vec<String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), OPERATOR_NAMESPACE);
    let mut names: Vec<String> = secrets
        .list(&ListParams::default().labels(&format!("owner=helm,name={RELEASE}")))
        .await
        .expect("secrets are listed")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    names.sort();
    names
}

/// The operator pods not being deleted: (name, image).
async fn operator_pods(client: &kube::Client) -> Vec<(String, String)> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), OPERATOR_NAMESPACE);
    pods.list(&ListParams::default().labels("control-plane=controller-manager"))
        .await
        .map(|list| {
            list.items
                .iter()
                .filter(|pod| pod.metadata.deletion_timestamp.is_none())
                .map(|pod| {
                    let image = pod
                        .spec
                        .as_ref()
                        .and_then(|s| s.containers.first())
                        .and_then(|c| c.image.clone())
                        .unwrap_or_default();
                    (pod.name_any(), image)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// (kind, namespace, name) of every object of a rendered manifest.
fn objects_of(manifest: &str) -> Vec<(String, String, String)> {
    serde_saphyr::from_multiple::<Value>(manifest)
        .expect("helm's manifest is YAML")
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|d| {
            let field = |pointer: &str| d.pointer(pointer).and_then(Value::as_str).unwrap_or("");
            (
                field("/kind").to_ascii_lowercase(),
                field("/metadata/namespace").to_owned(),
                field("/metadata/name").to_owned(),
            )
        })
        .collect()
}

/// The names of the CRDs in the chart's crds/.
fn chart_crds() -> BTreeSet<String> {
    let dir = repo_root().join("charts/multigres-operator/crds");
    std::fs::read_dir(&dir)
        .expect("the chart's crds/")
        .map(|entry| {
            let text = std::fs::read_to_string(entry.expect("an entry").path()).expect("a CRD");
            let crd: Value = serde_saphyr::from_str(&text).expect("YAML");
            crd["metadata"]["name"]
                .as_str()
                .expect("a named CRD")
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_helm_chart_installs_upgrades_and_uninstalls_a_working_operator() {
    let test_started = Instant::now();
    let Some(simulated) = Simulated::start().await else {
        return;
    };
    let Some(helm) = Helm::new(TEST, Some(simulated.server.kubeconfig_path())) else {
        simulated.server.shutdown().await;
        return;
    };
    let client = simulated.client.clone();
    let chart = chart();

    // Install: --wait returns once the Deployment is ready.
    let started = Instant::now();
    helm_ok(
        &helm,
        &[
            "install",
            RELEASE,
            &chart,
            "--namespace",
            OPERATOR_NAMESPACE,
            "--create-namespace",
            "--wait",
            "--timeout",
            "2m",
        ],
    )
    .await;
    let installed = started.elapsed();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), OPERATOR_NAMESPACE);
    let deployment = deployments
        .get(OPERATOR_DEPLOYMENT)
        .await
        .expect("the chart's Deployment");
    assert_eq!(
        deployment.status.and_then(|s| s.ready_replicas),
        Some(1),
        "helm --wait returned before the operator was ready"
    );
    simulated.ready_operator_pod().await;
    let operator_ready = started.elapsed();
    assert_eq!(history(&helm).await, vec![(1, "deployed".to_owned())]);
    assert_eq!(
        release_secrets(&client).await,
        vec![format!("sh.helm.release.v1.{RELEASE}.v1")]
    );

    // The webhooks behind their Service, and minimal to Healthy.
    wait_for_ca_bundles(&client).await;
    simulated
        .kubectl_ok(&["apply", "--server-side", "-f", &sample()], "")
        .await;
    assert_defaulted_by_the_webhook(&client).await;
    simulated.healthy().await;
    let healthy = started.elapsed();
    assert_invalid_cluster_refused(&simulated.kubectl).await;
    eprintln!(
        "{TEST}: helm install --wait {:.1} s, operator Ready {:.1} s, minimal Healthy {:.1} s \
         (from the start of helm install)",
        installed.as_secs_f64(),
        operator_ready.as_secs_f64(),
        healthy.as_secs_f64()
    );

    // Upgrade to another tag: a new pod (through a new ReplicaSet) and process take over.
    let before = operator_pods(&client).await;
    assert_eq!(before.len(), 1, "{before:?}");
    let upgrade_started = Instant::now();
    helm_ok(
        &helm,
        &[
            "upgrade",
            RELEASE,
            &chart,
            "--namespace",
            OPERATOR_NAMESPACE,
            "--set",
            &format!("image.tag={UPGRADE_TAG}"),
            "--wait",
            "--timeout",
            "2m",
        ],
    )
    .await;
    let upgraded = upgrade_started.elapsed();
    assert_eq!(
        history(&helm).await,
        vec![(1, "superseded".to_owned()), (2, "deployed".to_owned())]
    );
    let after = eventually("the old operator pod to go", DEADLINE, || async {
        let pods = operator_pods(&client).await;
        (pods.len() == 1).then_some(pods)
    })
    .await;
    assert_ne!(after[0].0, before[0].0, "a new pod");
    assert_eq!(
        after[0].1,
        format!("ghcr.io/multigres/multigres-operator-rs:{UPGRADE_TAG}")
    );
    let root = simulated.dir.join("processes");
    eventually("one operator process", DEADLINE, || async {
        (operator_processes(&root).len() == 1).then_some(())
    })
    .await;
    assert_invalid_cluster_refused(&simulated.kubectl).await;
    simulated.healthy().await;
    eprintln!(
        "{TEST}: helm upgrade --wait {:.1} s",
        upgraded.as_secs_f64()
    );

    // Uninstall, once no cluster needs the operator's finalizers.
    simulated
        .kubectl_ok(&["delete", "-f", &sample(), "--wait=true"], "")
        .await;
    let clusters: Api<MultigresCluster> = Api::namespaced(client.clone(), NAMESPACE);
    assert!(
        clusters.get_opt(CLUSTER).await.expect("a get").is_none(),
        "minimal is gone"
    );
    let manifest = helm_ok(
        &helm,
        &["get", "manifest", RELEASE, "-n", OPERATOR_NAMESPACE],
    )
    .await;
    let objects = objects_of(&manifest);
    assert!(objects.len() > 10, "{objects:?}");
    helm_ok(
        &helm,
        &[
            "uninstall",
            RELEASE,
            "--namespace",
            OPERATOR_NAMESPACE,
            "--wait",
            "--timeout",
            "2m",
        ],
    )
    .await;
    for (kind, namespace, name) in &objects {
        let mut args = vec!["get", kind.as_str(), name.as_str()];
        if !namespace.is_empty() {
            args.extend(["-n", namespace.as_str()]);
        }
        let output = simulated.kubectl.run(&args, "").await;
        assert_ne!(
            output.code, 0,
            "{kind} {name} is still there: {}",
            output.stdout
        );
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), OPERATOR_NAMESPACE);
    eventually(
        "the release's and the operator's Secrets to go",
        DEADLINE,
        || async {
            secrets
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .is_empty()
                .then_some(())
        },
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), OPERATOR_NAMESPACE);
    eventually("the operator pod to be gone", DEADLINE, || async {
        pods.list(&ListParams::default())
            .await
            .ok()?
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    eventually("no operator process to be left", DEADLINE, || async {
        operator_processes(&root).is_empty().then_some(())
    })
    .await;
    let left = helm
        .run(&["status", RELEASE, "-n", OPERATOR_NAMESPACE], DEADLINE)
        .await;
    assert_ne!(left.code, 0, "the release is gone: {}", left.stdout);

    // What helm keeps: the CRDs of crds/ and the namespace --create-namespace made.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let kept: BTreeSet<String> = crds
        .list(&ListParams::default())
        .await
        .expect("CRDs are listed")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    let shipped = chart_crds();
    assert_eq!(shipped.len(), 8, "{shipped:?}");
    assert!(shipped.is_subset(&kept), "{shipped:?} stay in {kept:?}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(
        namespaces
            .get_opt(OPERATOR_NAMESPACE)
            .await
            .expect("a get")
            .is_some(),
        "helm uninstall leaves the namespace"
    );
    eprintln!(
        "{TEST}: the whole test {:.1} s",
        test_started.elapsed().as_secs_f64()
    );
    simulated.server.shutdown().await;
}
