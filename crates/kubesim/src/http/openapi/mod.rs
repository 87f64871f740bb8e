//! OpenAPI v3 (rust-ecosystem.md §3.4): the `/openapi/v3` index, whose `serverRelativeURL`s
//! carry a hash of each document (kubectl caches documents by URL, so the hash must change when
//! a schema does), and one document per group-version with `components.schemas` and `paths`.
//!
//! kubectl needs both halves (§3.2): `create`/`apply` validate on the server only when the
//! kind's `patch` operation has a `fieldValidation` parameter, and `explain` renders fields from
//! the kind's schema found by its `x-kubernetes-group-version-kind`. Built-in schemas come from
//! [`crate::semantics::builtin_schema`]; custom resources from their stored CRD
//! (`custom_resources`). Documents of group-versions with only built-in kinds never change
//! and are built once per process.
//!
//! Documents of group-versions with custom resources are kept in [`Documents`] while the CRDs
//! they come from keep their `resourceVersion`: kubectl and helm fetch the index before each
//! command, and building the multigres.com document from eight large CRDs took 0.2 s on a quiet
//! machine and over a second on a busy one.
//!
//! Pure: documents from a registry snapshot and the stored CRD objects (the cache only
//! remembers what they gave).

mod custom_resources;
mod paths;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::resources::{Origin, Registry, ResourceDef};
use crate::semantics::builtin_schema::{
    BuiltinSchemas, collect_refs, gvk_extension, list_definition,
};

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

/// A serialized group-version document and its hash.
#[derive(Clone, Debug)]
pub struct Document {
    pub body: Arc<Vec<u8>>,
    pub hash: String,
}

impl Document {
    fn new(value: &Value) -> Document {
        let body = serde_json::to_vec(value).unwrap_or_default();
        let hash = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Document {
            body: Arc::new(body),
            hash,
        }
    }
}

/// The index key and URL path of a group-version: `api/v1`, `apis/apps/v1`.
fn index_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The document of a group-version whose kinds are all built in, built once.
fn builtin_document(group: &str, version: &str) -> Option<Document> {
    static DOCUMENTS: OnceLock<BTreeMap<(String, String), Document>> = OnceLock::new();
    DOCUMENTS
        .get_or_init(|| {
            let registry = Registry::with_builtins();
            registry
                .group_versions()
                .into_iter()
                .flat_map(|(group, versions)| {
                    let registry = &registry;
                    versions.into_iter().map(move |version| {
                        let defs = registry.resources_of(&group, &version);
                        let document = Document::new(&build(&defs, &BTreeMap::new()));
                        ((group.clone(), version), document)
                    })
                })
                .collect()
        })
        .get(&(group.to_string(), version.to_string()))
        .cloned()
}

/// The document of `group`/`version`, `None` when nothing is served there. `crds` are the
/// stored CustomResourceDefinitions by name.
pub fn document(
    registry: &Registry,
    crds: &BTreeMap<String, Value>,
    group: &str,
    version: &str,
) -> Option<Document> {
    let defs = registry.resources_of(group, version);
    if defs.is_empty() {
        return None;
    }
    if defs.iter().all(|d| d.origin == Origin::BuiltIn)
        && let Some(document) = builtin_document(group, version)
    {
        return Some(document);
    }
    Some(Document::new(&build(&defs, crds)))
}

/// What a group-version's document is built from: each resource's CRD name, uid and
/// `resourceVersion` (any change to a CRD's spec, served versions or subresources changes the
/// latter). `None` when a CRD lacks them (never stored), which is then not cached.
fn fingerprint(defs: &[&Arc<ResourceDef>], crds: &BTreeMap<String, Value>) -> Option<Vec<String>> {
    defs.iter()
        .map(|def| match &def.origin {
            Origin::BuiltIn => Some(format!("{}.{}", def.plural, def.group)),
            Origin::Crd { crd_name } => {
                let crd = crds.get(crd_name)?;
                let field = |name: &str| crd.pointer(&format!("/metadata/{name}"))?.as_str();
                Some(format!(
                    "{crd_name}/{}/{}",
                    field("uid")?,
                    field("resourceVersion")?
                ))
            }
        })
        .collect()
}

/// The documents of group-versions with custom resources, by group-version, with the
/// [`fingerprint`] they were built from. One per server (its CRDs).
#[derive(Clone, Debug, Default)]
pub struct Documents(Arc<Mutex<HashMap<(String, String), Built>>>);

#[derive(Debug)]
struct Built {
    from: Vec<String>,
    document: Document,
}

impl Documents {
    /// [`document`], from the cache while the CRDs it was built from are unchanged.
    pub fn document(
        &self,
        registry: &Registry,
        crds: &BTreeMap<String, Value>,
        group: &str,
        version: &str,
    ) -> Option<Document> {
        let defs = registry.resources_of(group, version);
        if defs.iter().all(|d| d.origin == Origin::BuiltIn) {
            return document(registry, crds, group, version);
        }
        let Some(fingerprint) = fingerprint(&defs, crds) else {
            return document(registry, crds, group, version);
        };
        let key = (group.to_owned(), version.to_owned());
        let cached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .filter(|built| built.from == fingerprint)
            .map(|built| built.document.clone());
        if cached.is_some() {
            return cached;
        }
        let built = document(registry, crds, group, version)?;
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                key,
                Built {
                    from: fingerprint,
                    document: built.clone(),
                },
            );
        Some(built)
    }

    /// `GET /openapi/v3`: every served group-version with the URL of its current document.
    pub fn index(&self, registry: &Registry, crds: &BTreeMap<String, Value>) -> Value {
        index_with(registry, |group, version| {
            self.document(registry, crds, group, version)
        })
    }
}

/// `GET /openapi/v3`: every served group-version with the URL of its current document.
fn index_with(registry: &Registry, document: impl Fn(&str, &str) -> Option<Document>) -> Value {
    let mut paths = Map::new();
    for (group, versions) in registry.group_versions() {
        for version in versions {
            if let Some(document) = document(&group, &version) {
                let key = index_key(&group, &version);
                paths.insert(
                    key.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", document.hash)}),
                );
            }
        }
    }
    json!({"paths": paths})
}

/// Definitions of a built-in kind kubesim has no typed schema for: anything goes.
fn untyped_definitions(def: &ResourceDef) -> (String, String, Vec<(String, Value)>) {
    let name = format!("kubesim.untyped.{}.{}.{}", def.group, def.version, def.kind);
    let list_name = format!("{name}List");
    let schema = json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-group-version-kind": gvk_extension(&def.group, &def.version, &def.kind),
    });
    let list = list_definition(&def.kind, &def.list_kind, &name, &def.group, &def.version);
    (
        name.clone(),
        list_name.clone(),
        vec![(name, schema), (list_name, list)],
    )
}

/// The OpenAPI document of `defs` (one group-version).
fn build(defs: &[&Arc<ResourceDef>], crds: &BTreeMap<String, Value>) -> Value {
    let schemas = BuiltinSchemas::get();
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    let mut roots: Vec<String> = ["DeleteOptions", "Status", "Patch", "WatchEvent", "ListMeta"]
        .iter()
        .map(|t| format!("{META}.{t}"))
        .collect();
    let mut paths = BTreeMap::new();
    for def in defs {
        let typed = match &def.origin {
            Origin::BuiltIn => schemas
                .kind(&def.group, &def.version, &def.kind)
                .map(|kind| (kind.name.clone(), kind.list_name.clone(), Vec::new())),
            Origin::Crd { crd_name } => crds
                .get(crd_name)
                .map(|crd| custom_resources::definitions(crd, def)),
        };
        let (kind_name, list_name, own) = typed.unwrap_or_else(|| untyped_definitions(def));
        if own.is_empty() {
            roots.push(kind_name.clone());
            roots.push(list_name.clone());
        }
        for (name, schema) in own {
            collect_refs(&schema, &mut roots);
            components.insert(name, schema);
        }
        if def.scale.is_some() {
            roots.push("io.k8s.api.autoscaling.v1.Scale".into());
        }
        paths.extend(paths::resource_paths(def, &kind_name, &list_name));
    }
    for name in schemas.closure(roots.iter().map(String::as_str)) {
        if let Some(schema) = schemas.definition(&name) {
            components.entry(name).or_insert_with(|| schema.clone());
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": components},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(document: &Document) -> Value {
        serde_json::from_slice(&document.body).expect("document is JSON")
    }

    #[test]
    fn every_reference_of_a_document_resolves() {
        let registry = Registry::with_builtins();
        for (group, versions) in registry.group_versions() {
            for version in versions {
                let doc = parse(
                    &document(&registry, &BTreeMap::new(), &group, &version)
                        .expect("served group-version"),
                );
                let mut refs = Vec::new();
                collect_refs(&doc, &mut refs);
                let schemas = doc["components"]["schemas"].as_object().expect("schemas");
                let missing: Vec<&String> =
                    refs.iter().filter(|r| !schemas.contains_key(*r)).collect();
                assert_eq!(missing, Vec::<&String>::new(), "{group}/{version}");
            }
        }
    }

    #[test]
    fn the_index_links_each_group_version_with_its_hash() {
        let registry = Registry::with_builtins();
        let index = Documents::default().index(&registry, &BTreeMap::new());
        let core = document(&registry, &BTreeMap::new(), "", "v1").expect("core");
        assert_eq!(
            index["paths"]["api/v1"],
            json!({"serverRelativeURL": format!("/openapi/v3/api/v1?hash={}", core.hash)})
        );
        assert_eq!(core.hash.len(), 64);
        assert!(index["paths"].get("apis/apps/v1").is_some());
        assert_eq!(
            document(&registry, &BTreeMap::new(), "nope", "v1").map(|d| d.hash),
            None
        );
    }

    /// The built-in kinds and `widgets.kubesim.test`, a custom resource.
    fn widget_registry() -> Registry {
        let mut registry = Registry::with_builtins();
        registry.insert(ResourceDef {
            group: "kubesim.test".into(),
            version: "v1".into(),
            storage_version: "v1".into(),
            kind: "Widget".into(),
            list_kind: "WidgetList".into(),
            plural: "widgets".into(),
            singular: "widget".into(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            status_subresource: false,
            scale: None,
            field_selectors: vec![],
            table: "widgets.kubesim.test".into(),
            representation: crate::resources::Representation::Native,
            origin: Origin::Crd {
                crd_name: "widgets.kubesim.test".into(),
            },
            verbs: &crate::resources::STANDARD_VERBS,
            extra_subresources: &[],
        });
        registry
    }

    #[test]
    fn a_crd_schema_change_changes_the_hash() {
        let registry = widget_registry();
        let crd = |description: &str| {
            BTreeMap::from([(
                "widgets.kubesim.test".to_string(),
                json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
                    "type": "object", "description": description}}}]}}),
            )])
        };
        let first = document(&registry, &crd("one"), "kubesim.test", "v1").expect("served");
        let second = document(&registry, &crd("two"), "kubesim.test", "v1").expect("served");
        assert_ne!(first.hash, second.hash);
        let doc = parse(&second);
        assert_eq!(
            doc["components"]["schemas"]["test.kubesim.v1.Widget"]["description"],
            "two"
        );
        assert!(
            doc["components"]["schemas"]
                .get("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
                .is_some()
        );
        let patch =
            &doc["paths"]["/apis/kubesim.test/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
        assert_eq!(
            patch["requestBody"]["content"]
                .as_object()
                .map(|c| c.keys().cloned().collect::<Vec<_>>()),
            Some(vec![
                "application/apply-patch+yaml".to_string(),
                "application/json-patch+json".to_string(),
                "application/merge-patch+json".to_string(),
            ])
        );
    }

    #[test]
    fn documents_are_kept_while_their_crds_resource_version_is() {
        let registry = widget_registry();
        let stored = |description: &str, resource_version: &str| {
            BTreeMap::from([(
                "widgets.kubesim.test".to_string(),
                json!({"metadata": {"uid": "u-1", "resourceVersion": resource_version},
                       "spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
                    "type": "object", "description": description}}}]}}),
            )])
        };
        let documents = Documents::default();
        let first = documents
            .document(&registry, &stored("one", "5"), "kubesim.test", "v1")
            .expect("served");
        let again = documents
            .document(&registry, &stored("one", "5"), "kubesim.test", "v1")
            .expect("served");
        assert!(Arc::ptr_eq(&first.body, &again.body), "not built again");
        assert_eq!(
            documents.index(&registry, &stored("one", "5"))["paths"]["apis/kubesim.test/v1"],
            json!({"serverRelativeURL": format!("/openapi/v3/apis/kubesim.test/v1?hash={}", first.hash)})
        );
        let changed = documents
            .document(&registry, &stored("two", "6"), "kubesim.test", "v1")
            .expect("served");
        assert_ne!(changed.hash, first.hash);
        assert_eq!(
            Some(changed.hash),
            document(&registry, &stored("two", "6"), "kubesim.test", "v1").map(|d| d.hash),
            "what the uncached document is"
        );
        // Built-in group-versions come from their own once-built documents.
        let core = documents
            .document(&registry, &BTreeMap::new(), "", "v1")
            .expect("core");
        assert_eq!(
            Some(core.hash),
            document(&registry, &BTreeMap::new(), "", "v1").map(|d| d.hash)
        );
    }
}
