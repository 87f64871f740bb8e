//! What kube-controller-manager puts in every namespace: the root CA publisher's
//! `kube-root-ca.crt` ConfigMap (key `ca.crt`: the CA that signs the API server's serving
//! certificate, for clients inside pods) and the serviceaccounts controller's `default`
//! ServiceAccount. Like those controllers, this one acts on every namespace that exists and is
//! not terminating, re-creates either object when it is deleted, and puts the ConfigMap's data
//! back when it is edited; a terminating namespace is left alone, so deleting a namespace still
//! removes its content.
//!
//! [`ensure`] does one namespace, through the in-process API like any client (each write a
//! separate watch event, field manager `kube-controller-manager`). [`NamespaceControllers`]
//! runs it for every namespace at start, then on every change a watch reports.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::api::{Cluster, Subresource, WatchEvent, WatchOptions, WriteOptions};
use crate::error::ApiError;
use crate::resources::ResourceDef;

/// The ConfigMap the root CA publisher writes in every namespace.
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
/// The key of the CA bundle in [`ROOT_CA_CONFIG_MAP`].
pub const ROOT_CA_KEY: &str = "ca.crt";
/// The ServiceAccount the serviceaccounts controller writes in every namespace.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// The field manager of kube-controller-manager's writes.
const FIELD_MANAGER: &str = "kube-controller-manager";
/// The description annotation the root CA publisher sets (`rootcacertpublisher`).
const DESCRIPTION_KEY: &str = "kubernetes.io/description";
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver \
    when using internal endpoints such as the internal service IP or kubernetes.default.svc. No \
    other usage is guaranteed across distributions of Kubernetes clusters.";

/// The `kube-root-ca.crt` ConfigMap for the CA `ca_pem`.
pub fn root_ca_config_map(ca_pem: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": ROOT_CA_CONFIG_MAP,
                        "annotations": {DESCRIPTION_KEY: DESCRIPTION}},
           "data": {ROOT_CA_KEY: ca_pem}})
}

/// Whether a stored `kube-root-ca.crt` differs from what the publisher writes (it then
/// replaces data and annotation, keeping other metadata).
pub fn root_ca_is_stale(stored: &Value, ca_pem: &str) -> bool {
    stored.get("data") != Some(&json!({ROOT_CA_KEY: ca_pem}))
        || stored.pointer(&format!(
            "/metadata/annotations/{}",
            DESCRIPTION_KEY.replace('/', "~1")
        )) != Some(&json!(DESCRIPTION))
}

/// Whether the controllers act in this namespace object (it exists and is not terminating).
fn is_active(namespace: &Value) -> bool {
    namespace.pointer("/metadata/deletionTimestamp").is_none()
        && namespace.pointer("/status/phase").and_then(Value::as_str) != Some("Terminating")
}

/// The resources the controllers read and write.
#[derive(Clone, Debug)]
struct Defs {
    namespaces: Arc<ResourceDef>,
    config_maps: Arc<ResourceDef>,
    service_accounts: Arc<ResourceDef>,
}

impl Defs {
    fn of(cluster: &Cluster) -> Result<Defs, ApiError> {
        Ok(Defs {
            namespaces: cluster.resource("", "v1", "namespaces")?,
            config_maps: cluster.resource("", "v1", "configmaps")?,
            service_accounts: cluster.resource("", "v1", "serviceaccounts")?,
        })
    }
}

fn write_options() -> WriteOptions {
    WriteOptions {
        field_manager: Some(FIELD_MANAGER.into()),
        ..WriteOptions::default()
    }
}

/// Creates `body` unless it exists (another writer may have just created it).
fn create_missing(
    cluster: &Cluster,
    def: &ResourceDef,
    namespace: &str,
    body: Value,
) -> Result<(), ApiError> {
    match cluster.create(def, Some(namespace), body, &write_options()) {
        Ok(_) | Err(ApiError::AlreadyExists { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Brings one namespace to what the controllers maintain: the `default` ServiceAccount and
/// the `kube-root-ca.crt` ConfigMap for `ca_pem`. Nothing for a missing or terminating
/// namespace.
fn ensure_with(
    cluster: &Cluster,
    defs: &Defs,
    namespace: &str,
    ca_pem: &str,
) -> Result<(), ApiError> {
    let Ok(object) = cluster.get(&defs.namespaces, None, namespace, Subresource::Main) else {
        return Ok(());
    };
    if !is_active(&object) {
        return Ok(());
    }
    match cluster.get(
        &defs.service_accounts,
        Some(namespace),
        DEFAULT_SERVICE_ACCOUNT,
        Subresource::Main,
    ) {
        Ok(_) => {}
        Err(ApiError::NotFound { .. }) => create_missing(
            cluster,
            &defs.service_accounts,
            namespace,
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": DEFAULT_SERVICE_ACCOUNT}}),
        )?,
        Err(error) => return Err(error),
    }
    match cluster.get(
        &defs.config_maps,
        Some(namespace),
        ROOT_CA_CONFIG_MAP,
        Subresource::Main,
    ) {
        Ok(stored) if root_ca_is_stale(&stored, ca_pem) => {
            let mut updated = stored;
            updated["data"] = json!({ROOT_CA_KEY: ca_pem});
            updated["metadata"]["annotations"][DESCRIPTION_KEY] = json!(DESCRIPTION);
            updated.as_object_mut().map(|o| o.remove("binaryData"));
            match cluster.update(
                &defs.config_maps,
                Some(namespace),
                ROOT_CA_CONFIG_MAP,
                Subresource::Main,
                updated,
                &write_options(),
            ) {
                // A conflict means another write came in between: its watch event brings
                // this namespace back here.
                Ok(_) | Err(ApiError::Conflict { .. } | ApiError::NotFound { .. }) => Ok(()),
                Err(error) => Err(error),
            }
        }
        Ok(_) => Ok(()),
        Err(ApiError::NotFound { .. }) => create_missing(
            cluster,
            &defs.config_maps,
            namespace,
            root_ca_config_map(ca_pem),
        ),
        Err(error) => Err(error),
    }
}

/// [`ensure_with`] for one namespace.
pub fn ensure(cluster: &Cluster, namespace: &str, ca_pem: &str) -> Result<(), ApiError> {
    ensure_with(cluster, &Defs::of(cluster)?, namespace, ca_pem)
}

/// [`ensure`] for every namespace.
pub fn ensure_all(cluster: &Cluster, ca_pem: &str) -> Result<(), ApiError> {
    let defs = Defs::of(cluster)?;
    let list = cluster.list(&defs.namespaces, None, &Default::default())?;
    for namespace in list["items"].as_array().into_iter().flatten() {
        let name = namespace
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        ensure_with(cluster, &defs, name, ca_pem)?;
    }
    Ok(())
}

/// The namespace a watch event concerns: the namespace itself, or the namespace of one of the
/// two maintained objects.
fn namespace_of(event: &WatchEvent, defs: &Defs, def: &ResourceDef) -> Option<String> {
    if event.event_type == "BOOKMARK" || event.event_type == "ERROR" {
        return None;
    }
    let meta = |pointer: &str| {
        event
            .object
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if def.plural == defs.namespaces.plural {
        meta("/metadata/name")
    } else {
        meta("/metadata/namespace")
    }
}

/// The controllers running in a task; stopped when dropped.
#[derive(Debug)]
pub struct NamespaceControllers {
    task: JoinHandle<()>,
}

impl Drop for NamespaceControllers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl NamespaceControllers {
    /// Brings every namespace up to date now, then keeps them so from a task.
    pub fn start(cluster: Cluster, ca_pem: String) -> Result<NamespaceControllers, ApiError> {
        ensure_all(&cluster, &ca_pem)?;
        let defs = Defs::of(&cluster)?;
        let task = tokio::spawn(run(cluster, defs, ca_pem));
        Ok(NamespaceControllers { task })
    }
}

/// Watches namespaces and the two maintained objects (by name); each event re-checks its
/// namespace. A watch that ends (410 Expired) is restarted with a full pass.
async fn run(cluster: Cluster, defs: Defs, ca_pem: String) {
    let watched = [
        (defs.namespaces.clone(), None),
        (
            defs.config_maps.clone(),
            Some(format!("metadata.name={ROOT_CA_CONFIG_MAP}")),
        ),
        (
            defs.service_accounts.clone(),
            Some(format!("metadata.name={DEFAULT_SERVICE_ACCOUNT}")),
        ),
    ];
    loop {
        let mut streams = futures::stream::SelectAll::new();
        for (def, field_selector) in &watched {
            let options = WatchOptions {
                field_selector: field_selector.clone(),
                ..WatchOptions::default()
            };
            match cluster.watch(def.clone(), None, &options) {
                Ok(stream) => {
                    let def = def.clone();
                    let ended = futures::stream::once(async { None });
                    streams.push(
                        stream
                            .map(move |event| Some((def.clone(), event)))
                            .chain(ended)
                            .boxed(),
                    );
                }
                Err(error) => {
                    tracing::warn!(
                        error = &error as &dyn std::error::Error,
                        resource = %def.plural,
                        "namespace controllers failed to watch"
                    );
                }
            }
        }
        // Whatever changed while no watch ran.
        if let Err(error) = ensure_all(&cluster, &ca_pem) {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "namespace controllers failed a full pass"
            );
        }
        // Until one of the watches ends or reports an error.
        while let Some(Some((def, event))) = streams.next().await {
            if event.event_type == "ERROR" {
                break;
            }
            let Some(namespace) = namespace_of(&event, &defs, &def) else {
                continue;
            };
            if let Err(error) = ensure_with(&cluster, &defs, &namespace, &ca_pem) {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    %namespace,
                    "namespace controllers failed"
                );
            }
        }
        // A watch ended: back off briefly so a persistent failure does not spin.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_ca_config_map_is_rewritten_when_its_data_or_description_changes() {
        let fresh = root_ca_config_map("PEM");
        assert!(!root_ca_is_stale(&fresh, "PEM"));
        assert!(root_ca_is_stale(&fresh, "OTHER"));
        let mut edited = fresh.clone();
        edited["data"]["extra"] = json!("x");
        assert!(root_ca_is_stale(&edited, "PEM"));
        let mut undescribed = fresh;
        undescribed["metadata"]["annotations"] = json!({});
        assert!(root_ca_is_stale(&undescribed, "PEM"));
    }
}
