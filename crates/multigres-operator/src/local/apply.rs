//! What `local` writes before the operator starts: the CRDs, then the user's documents
//! (templates and ConfigMaps before the clusters that reference them), with server-side apply
//! as `kubectl apply --server-side` would.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::{Client, ResourceExt};
use multigres_api::v1alpha1::MultigresCluster;
use serde_json::Value;

use super::{FIELD_MANAGER, MINIMAL_SAMPLE};

/// One document to apply and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub source: String,
    pub value: Value,
}

/// Installs every CRD of the operator and waits until the API server serves them.
pub async fn install_crds(client: &Client) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in multigres_api::crds::crds() {
        api.patch(
            &crd.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .with_context(|| format!("failed to install the CRD {}", crd.name_any()))?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let served = kube::Discovery::new(client.clone())
            .filter(&["multigres.com"])
            .run()
            .await
            .is_ok_and(|discovery| discovery.groups().any(|g| g.name() == "multigres.com"));
        if served {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("the API server did not serve the multigres.com CRDs within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The documents of `files` (the minimal sample when there are none), templates and
/// ConfigMaps first, MultigresClusters last, each group in file order.
pub fn read_documents(files: &[PathBuf]) -> anyhow::Result<Vec<Document>> {
    let mut sources = Vec::new();
    if files.is_empty() {
        sources.push((
            "config/samples/minimal.yaml".to_owned(),
            MINIMAL_SAMPLE.to_owned(),
        ));
    }
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        sources.push((file.display().to_string(), text));
    }
    let mut documents = Vec::new();
    for (source, text) in sources {
        let values = serde_saphyr::from_multiple::<Value>(&text)
            .with_context(|| format!("{source} is not YAML or JSON"))?;
        for value in values.into_iter().filter(|v| !v.is_null()) {
            if value.get("kind").and_then(Value::as_str).is_none()
                || value.get("apiVersion").and_then(Value::as_str).is_none()
            {
                anyhow::bail!("{source}: a document without apiVersion and kind");
            }
            documents.push(Document {
                source: source.clone(),
                value,
            });
        }
    }
    documents.sort_by_key(|d| is_cluster(&d.value));
    Ok(documents)
}

fn is_cluster(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str) == Some("MultigresCluster")
}

/// Applies every document; returns the namespaces of the MultigresClusters.
pub async fn apply_documents(
    client: &Client,
    documents: &[Document],
) -> anyhow::Result<BTreeSet<String>> {
    let mut namespaces = BTreeSet::new();
    for document in documents {
        let object: DynamicObject = serde_json::from_value(document.value.clone())
            .with_context(|| format!("{}: not a Kubernetes object", document.source))?;
        let types = object.types.as_ref().context("apiVersion and kind")?;
        let gvk = GroupVersionKind::try_from(types)
            .with_context(|| format!("{}: apiVersion {:?}", document.source, types.api_version))?;
        let (resource, capabilities) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .with_context(|| {
                format!(
                    "{}: the API server does not serve {} {}",
                    document.source, types.api_version, types.kind
                )
            })?;
        let name = object.name_any();
        let api: Api<DynamicObject> = if capabilities.scope == kube::discovery::Scope::Namespaced {
            let namespace = object.namespace().unwrap_or_else(|| "default".to_owned());
            if is_cluster(&document.value) {
                namespaces.insert(namespace.clone());
            }
            ensure_namespace(client, &namespace).await?;
            Api::namespaced_with(client.clone(), &namespace, &resource)
        } else {
            Api::all_with(client.clone(), &resource)
        };
        // Strict, as `kubectl apply` is by default: a misspelt field is refused, not dropped.
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER)
                .force()
                .validation_strict(),
            &Patch::Apply(&document.value),
        )
        .await
        .with_context(|| format!("{}: {} {name} was not applied", document.source, types.kind))?;
    }
    if namespaces.is_empty() {
        namespaces.insert("default".to_owned());
    }
    Ok(namespaces)
}

/// Creates `namespace` when it does not exist. Unlike `kubectl apply`, which refuses an object
/// whose namespace is missing, local mode is for trying a file out on a fresh API server: a
/// cluster in `shop` should not need a Namespace document first.
async fn ensure_namespace(client: &Client, namespace: &str) -> anyhow::Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let exists = api
        .get_opt(namespace)
        .await
        .with_context(|| format!("failed to read the namespace {namespace}"))?
        .is_some();
    if !exists {
        let object = serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}
        });
        api.patch(
            namespace,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&object),
        )
        .await
        .with_context(|| format!("failed to create the namespace {namespace}"))?;
    }
    Ok(())
}

/// The namespaces holding MultigresClusters (a resumed run), `default` when there are none.
pub async fn cluster_namespaces(client: &Client) -> anyhow::Result<BTreeSet<String>> {
    let api: Api<MultigresCluster> = Api::all(client.clone());
    let mut namespaces: BTreeSet<String> = api
        .list(&ListParams::default())
        .await
        .context("failed to list the saved MultigresClusters")?
        .items
        .iter()
        .filter_map(|c| c.namespace())
        .collect();
    if namespaces.is_empty() {
        namespaces.insert("default".to_owned());
    }
    Ok(namespaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_and_config_maps_go_before_the_clusters_that_use_them() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("all.yaml");
        std::fs::write(
            &file,
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata: {name: a}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pg}\n---\n\
             apiVersion: multigres.com/v1alpha1\nkind: ShardTemplate\nmetadata: {name: t}\n",
        )
        .expect("written");
        let kinds: Vec<String> = read_documents(&[file])
            .expect("documents")
            .iter()
            .map(|d| d.value["kind"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(kinds, ["ConfigMap", "ShardTemplate", "MultigresCluster"]);
    }

    #[test]
    fn without_files_the_minimal_sample_is_applied() {
        let documents = read_documents(&[]).expect("documents");
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0].value["metadata"]["name"], "minimal");
        assert_eq!(documents[0].source, "config/samples/minimal.yaml");
    }
}
