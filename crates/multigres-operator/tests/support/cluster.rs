//! Test support for the operator's integration tests: a kubesim with real etcd processes, the
//! CRDs installed, the operator running in process with its own client, and waits on
//! conditions with deadlines.
//!
//! Nothing here builds Multigres objects: the tests compare what the running operator made with
//! the golden files and the specs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use multigres_operator::operator::{AddressResolution, RunOptions, operator_client, run_with};
use tokio::sync::oneshot;
use tokio::time::Instant;

pub const ETCD: &str = "/usr/bin/etcd";

/// Whether real etcd processes can run here; when not, a test says so and returns (and fails
/// under CI, where scripts/test.sh installs etcd).
pub fn etcd_available(test: &str) -> bool {
    if Path::new(ETCD).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {ETCD} is missing; scripts/test.sh installs Debian's etcd-server"
    );
    eprintln!("{test}: skipped, {ETCD} is missing (apt-get install etcd-server)");
    false
}

/// `config/samples/<name>` of the repository.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/samples")
        .join(name)
}

/// A kubesim with three zones named like the samples' cells, the kubelet at 1/20 of real time
/// and real etcd processes for the TopoServer.
pub struct Cluster {
    pub server: kubesim::Handle,
    pub client: Client,
    _state: tempfile::TempDir,
}

impl Cluster {
    pub async fn start(zones: &[&str]) -> Cluster {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let state = tempfile::tempdir().expect("a temporary folder");
        let kubelet = kubesim::kubelet::KubeletConfig::with_time_scale(0.05).with_processes(
            kubesim::process_runtime::ProcessRuntimeConfig {
                root: Some(state.path().join("processes")),
                ..Default::default()
            },
        );
        let server = kubesim::Server::builder()
            .http(true)
            .kubeconfig_path(state.path().join("kubeconfig"))
            .zones(zones.iter().map(|z| (*z).to_owned()).collect())
            .kubelet(kubelet)
            .start()
            .await
            .expect("kubesim starts");
        let client = server.client();
        install_crds(&client).await;
        Cluster {
            server,
            client,
            _state: state,
        }
    }

    /// Starts the operator in this process with its own client (its own User-Agent).
    pub fn start_operator(&self, resync: Duration) -> Operator {
        self.start_operator_with(resync, None, false)
    }

    /// Starts an operator replica named `identity` (in its User-Agent and Lease), with leader
    /// election when `leader_elect`.
    pub fn start_operator_with(
        &self,
        resync: Duration,
        identity: Option<&str>,
        leader_elect: bool,
    ) -> Operator {
        let client =
            operator_client(self.server.client_config(), identity).expect("an operator client");
        spawn_operator(client, run_options(resync, identity, leader_elect))
    }

    /// Applies every document of a YAML file with server-side apply (as `kubectl apply
    /// --server-side` would).
    pub async fn apply_file(&self, path: &Path) {
        let text = std::fs::read_to_string(path).expect("the sample is readable");
        for document in serde_saphyr::from_multiple::<serde_json::Value>(&text)
            .expect("the sample is YAML")
            .into_iter()
            .filter(|d| !d.is_null())
        {
            self.apply_value(&document).await;
        }
    }

    pub async fn apply_value(&self, document: &serde_json::Value) {
        let object: kube::api::DynamicObject =
            serde_json::from_value(document.clone()).expect("an object");
        let gvk = kube::core::GroupVersionKind::try_from(
            object.types.as_ref().expect("apiVersion and kind"),
        )
        .expect("a group version kind");
        let (resource, _) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .expect("the kind is served");
        let namespace = object.namespace().unwrap_or_else(|| "default".into());
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(self.client.clone(), &namespace, &resource);
        api.patch(
            &object.name_any(),
            &PatchParams::apply("test").force(),
            &Patch::Apply(document),
        )
        .await
        .expect("the object applies");
    }
}

/// The options of an in-process operator: no metrics endpoint, no webhooks, namespace
/// `default`, resolving Services through kubesim.
pub fn run_options(resync: Duration, identity: Option<&str>, leader_elect: bool) -> RunOptions {
    RunOptions {
        metrics: multigres_operator::telemetry::metrics_server::MetricsConfig {
            bind_address: "0".into(),
            secure: false,
        },
        webhook: None,
        health_probe_bind_address: "0".into(),
        leader_elect,
        namespace: Some("default".into()),
        identity: Some(identity.unwrap_or("test").to_owned()),
        resync,
        address_resolution: AddressResolution::ApiServer,
    }
}

/// Runs the operator in this process on `client` with `options`.
pub fn spawn_operator(client: Client, options: RunOptions) -> Operator {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run_with(client, options, async move {
        let _ = stopped.await;
    }));
    Operator {
        stop: Some(stop),
        task,
    }
}

/// The operator running in a task; stopped (gracefully) on drop of [`Operator::stop`].
pub struct Operator {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Operator {
    /// Asks for a graceful stop and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("the operator stops within 30 s");
        result
            .expect("the operator task does not panic")
            .expect("the operator stops cleanly");
    }
}

async fn install_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in multigres_api::crds::crds() {
        api.patch(
            &crd.name_any(),
            &PatchParams::apply("test").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("the CRD installs");
    }
    // The API server serves the kinds once the CRDs are established.
    eventually("the CRDs to be served", Duration::from_secs(30), || async {
        let discovery = kube::Discovery::new(client.clone()).run().await.ok()?;
        discovery
            .groups()
            .any(|group| group.name() == "multigres.com")
            .then_some(())
    })
    .await;
}

/// Waits until `check` returns `Some`, polling every 200 ms, failing after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The kinds the operator creates, as API resources.
pub fn owned_kinds() -> Vec<kube::core::ApiResource> {
    use kube::core::{ApiResource, GroupVersionKind};
    let ar = |group: &str, version: &str, kind: &str, plural: &str| {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    };
    vec![
        ar("multigres.com", "v1alpha1", "TopoServer", "toposervers"),
        ar("multigres.com", "v1alpha1", "Cell", "cells"),
        ar("multigres.com", "v1alpha1", "TableGroup", "tablegroups"),
        ar("multigres.com", "v1alpha1", "Shard", "shards"),
        ar("apps", "v1", "Deployment", "deployments"),
        ar("apps", "v1", "StatefulSet", "statefulsets"),
        ar("", "v1", "Service", "services"),
        ar("", "v1", "ConfigMap", "configmaps"),
        ar("", "v1", "Secret", "secrets"),
        ar("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
        ar("", "v1", "Pod", "pods"),
        ar(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
        ),
    ]
}

/// Every object of `cluster` (by its instance label) whose controller is the cluster or one of
/// its child resources, as `(kind, name, controller uid)`; panics on an object whose
/// controller does not exist (an orphan) or on two objects of a kind with one name.
pub async fn owned_objects(
    client: &Client,
    namespace: &str,
    cluster: &str,
) -> Vec<(String, String)> {
    use kube::api::{DynamicObject, ListParams};
    let mut uids = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    let mut controllers = Vec::new();
    for resource in owned_kinds() {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        let list = api
            .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={cluster}")))
            .await
            .expect("a list");
        for object in list.items {
            uids.insert(object.uid().unwrap_or_default());
            let Some(owner) = object
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true))
                .cloned()
            else {
                continue;
            };
            if !matches!(
                owner.kind.as_str(),
                "MultigresCluster" | "TopoServer" | "Cell" | "TableGroup" | "Shard"
            ) {
                continue;
            }
            controllers.push((resource.kind.clone(), object.name_any(), owner));
            found.push((resource.kind.clone(), object.name_any()));
        }
    }
    let clusters: Api<multigres_api::v1alpha1::MultigresCluster> =
        Api::namespaced(client.clone(), namespace);
    if let Some(uid) = clusters
        .get_opt(cluster)
        .await
        .expect("a get")
        .and_then(|c| c.uid())
    {
        uids.insert(uid);
    }
    for (kind, name, owner) in &controllers {
        assert!(
            uids.contains(&owner.uid),
            "{kind}/{name} is an orphan: its controller {}/{} ({}) is gone",
            owner.kind,
            owner.name,
            owner.uid
        );
    }
    let unique: std::collections::BTreeSet<_> = found.iter().cloned().collect();
    assert_eq!(unique.len(), found.len(), "duplicate objects: {found:?}");
    found.sort();
    found
}
