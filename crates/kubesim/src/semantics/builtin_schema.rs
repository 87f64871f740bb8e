//! OpenAPI v3 schemas of the built-in kinds kubesim serves, as `components.schemas`
//! definitions named like the API server names them (`io.k8s.api.core.v1.ConfigMap`).
//!
//! Place: the built-in source of the OpenAPI documents (`http/openapi.rs`; rust-ecosystem.md
//! §3.4 "GET /openapi/v3/...") and of `fieldValidation` for built-in kinds
//! ([`super::unknown_fields`]). Schemas and descriptions come from k8s-openapi's `schemars`
//! impls (generated from the upstream v1.33 spec); what those lack is added here: each kind's
//! `x-kubernetes-group-version-kind`, the `<Kind>List` definitions, and the list-type and
//! patch-strategy extensions recorded in [`super::merge_schema`] (`x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, `x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-map-type`), which kubectl reads to compute
//! client-side apply patches.
//!
//! Must not: depend on the request or the store. The catalogue is computed once per process and
//! shared read-only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use k8s_openapi::api::admissionregistration::v1 as admissionregistration;
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::authentication::v1 as authentication;
use k8s_openapi::api::authorization::v1 as authorization;
use k8s_openapi::api::autoscaling::v1 as autoscaling;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::certificates::v1 as certificates;
use k8s_openapi::api::coordination::v1 as coordination;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::events::v1 as events;
use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::api::storage::v1 as storage;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::merge_schema::{ListPatch, ListType, MergeSchema, Node};

/// Where definitions live in an OpenAPI v3 document.
pub const DEFINITIONS_PREFIX: &str = "#/components/schemas/";

/// The definition names of one built-in kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindSchema {
    /// e.g. `io.k8s.api.core.v1.ConfigMap`.
    pub name: String,
    /// e.g. `io.k8s.api.core.v1.ConfigMapList`.
    pub list_name: String,
}

/// Every definition of the built-in kinds, and which definition each kind has.
#[derive(Debug)]
pub struct BuiltinSchemas {
    definitions: BTreeMap<String, Value>,
    kinds: BTreeMap<(String, String, String), KindSchema>,
}

type Generate = fn(&mut SchemaGenerator) -> Schema;

fn subschema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// (group, version, kind, schema of the kind) of every built-in kind with a typed schema.
fn typed_kinds() -> Vec<(&'static str, &'static str, &'static str, Generate)> {
    vec![
        ("", "v1", "Namespace", subschema::<core::Namespace>),
        ("", "v1", "Pod", subschema::<core::Pod>),
        (
            "",
            "v1",
            "PersistentVolumeClaim",
            subschema::<core::PersistentVolumeClaim>,
        ),
        (
            "",
            "v1",
            "PersistentVolume",
            subschema::<core::PersistentVolume>,
        ),
        ("", "v1", "Service", subschema::<core::Service>),
        ("", "v1", "Endpoints", subschema::<core::Endpoints>),
        ("", "v1", "ConfigMap", subschema::<core::ConfigMap>),
        ("", "v1", "Secret", subschema::<core::Secret>),
        (
            "",
            "v1",
            "ServiceAccount",
            subschema::<core::ServiceAccount>,
        ),
        ("", "v1", "Event", subschema::<core::Event>),
        ("", "v1", "Node", subschema::<core::Node>),
        ("apps", "v1", "Deployment", subschema::<apps::Deployment>),
        ("apps", "v1", "StatefulSet", subschema::<apps::StatefulSet>),
        ("apps", "v1", "ReplicaSet", subschema::<apps::ReplicaSet>),
        ("batch", "v1", "Job", subschema::<batch::Job>),
        (
            "policy",
            "v1",
            "PodDisruptionBudget",
            subschema::<policy::PodDisruptionBudget>,
        ),
        (
            "coordination.k8s.io",
            "v1",
            "Lease",
            subschema::<coordination::Lease>,
        ),
        ("events.k8s.io", "v1", "Event", subschema::<events::Event>),
        (
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            subschema::<apiextensions::CustomResourceDefinition>,
        ),
        (
            "admissionregistration.k8s.io",
            "v1",
            "MutatingWebhookConfiguration",
            subschema::<admissionregistration::MutatingWebhookConfiguration>,
        ),
        (
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            subschema::<admissionregistration::ValidatingWebhookConfiguration>,
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            subschema::<rbac::Role>,
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            subschema::<rbac::RoleBinding>,
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            subschema::<rbac::ClusterRole>,
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            subschema::<rbac::ClusterRoleBinding>,
        ),
        (
            "storage.k8s.io",
            "v1",
            "StorageClass",
            subschema::<storage::StorageClass>,
        ),
        (
            "certificates.k8s.io",
            "v1",
            "CertificateSigningRequest",
            subschema::<certificates::CertificateSigningRequest>,
        ),
        (
            "apiregistration.k8s.io",
            "v1",
            "APIService",
            subschema::<apiregistration::APIService>,
        ),
        (
            "authentication.k8s.io",
            "v1",
            "TokenReview",
            subschema::<authentication::TokenReview>,
        ),
        (
            "authentication.k8s.io",
            "v1",
            "SelfSubjectReview",
            subschema::<authentication::SelfSubjectReview>,
        ),
        (
            "authorization.k8s.io",
            "v1",
            "SubjectAccessReview",
            subschema::<authorization::SubjectAccessReview>,
        ),
        (
            "authorization.k8s.io",
            "v1",
            "SelfSubjectAccessReview",
            subschema::<authorization::SelfSubjectAccessReview>,
        ),
        (
            "authorization.k8s.io",
            "v1",
            "LocalSubjectAccessReview",
            subschema::<authorization::LocalSubjectAccessReview>,
        ),
        (
            "",
            "v1",
            "ComponentStatus",
            subschema::<core::ComponentStatus>,
        ),
    ]
}

/// Definitions every document refers to besides the kinds (request and response bodies).
fn shared_types() -> Vec<(&'static str, &'static str, &'static str, Generate)> {
    vec![
        (
            "autoscaling",
            "v1",
            "Scale",
            subschema::<autoscaling::Scale>,
        ),
        ("", "v1", "DeleteOptions", subschema::<meta::DeleteOptions>),
        ("", "v1", "Status", subschema::<meta::Status>),
        ("", "v1", "WatchEvent", subschema::<meta::WatchEvent<Value>>),
        ("", "v1", "Patch", subschema::<meta::Patch>),
        (
            "authentication.k8s.io",
            "v1",
            "TokenRequest",
            subschema::<authentication::TokenRequest>,
        ),
        ("policy", "v1", "Eviction", subschema::<policy::Eviction>),
    ]
}

/// The name a `$ref` points at.
pub fn ref_name(reference: &str) -> Option<&str> {
    reference.strip_prefix(DEFINITIONS_PREFIX)
}

/// The definition a schema position refers to: `{"$ref": ..}` or `{"allOf": [{"$ref": ..}]}`.
pub fn referenced(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .or_else(|| schema.pointer("/allOf/0/$ref"))
        .and_then(Value::as_str)
        .and_then(ref_name)
}

/// `x-kubernetes-group-version-kind` of a definition (a list, as the API server writes it).
pub fn gvk_extension(group: &str, version: &str, kind: &str) -> Value {
    json!([{"group": group, "kind": kind, "version": version}])
}

/// The `<Kind>List` definition (kind `list_kind`) over the definition `item`.
pub fn list_definition(
    kind: &str,
    list_kind: &str,
    item: &str,
    group: &str,
    version: &str,
) -> Value {
    json!({
        "description": format!("{list_kind} is a list of {kind}"),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
                "type": "string",
            },
            "items": {
                "description": format!("List of {kind}."),
                "type": "array",
                "items": {"$ref": format!("{DEFINITIONS_PREFIX}{item}")},
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "type": "string",
            },
            "metadata": {
                "allOf": [{"$ref": format!("{DEFINITIONS_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta")}],
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            },
        },
        "required": ["items"],
        "x-kubernetes-group-version-kind": gvk_extension(group, version, list_kind),
    })
}

impl BuiltinSchemas {
    /// The catalogue, generated on first use.
    pub fn get() -> &'static BuiltinSchemas {
        static SCHEMAS: OnceLock<BuiltinSchemas> = OnceLock::new();
        SCHEMAS.get_or_init(generate)
    }

    /// Every definition by name.
    pub fn definitions(&self) -> &BTreeMap<String, Value> {
        &self.definitions
    }

    /// A definition by name.
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.definitions.get(name)
    }

    /// The definitions of a built-in kind, `None` when kubesim has no typed schema for it.
    pub fn kind(&self, group: &str, version: &str, kind: &str) -> Option<&KindSchema> {
        self.kinds
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
    }

    /// `roots` and every definition they reach through `$ref`, by name.
    pub fn closure<'a>(&'a self, roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut pending: Vec<String> = roots.into_iter().map(str::to_string).collect();
        while let Some(name) = pending.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = self.definitions.get(&name) {
                collect_refs(schema, &mut pending);
            }
        }
        seen
    }
}

/// Names of every definition `schema` refers to directly.
pub fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(ref_name) {
                out.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn generate() -> BuiltinSchemas {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let mut roots = Vec::new();
    for (group, version, kind, generate) in typed_kinds() {
        let reference = generate(&mut generator);
        if let Some(name) = reference
            .as_value()
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(ref_name)
        {
            roots.push((group, version, kind, name.to_string()));
        }
    }
    for (_, _, _, generate) in shared_types() {
        generate(&mut generator);
    }
    let mut definitions: BTreeMap<String, Value> =
        generator.take_definitions(true).into_iter().collect();
    let mut kinds = BTreeMap::new();
    for (group, version, kind, name) in roots {
        let list_name = format!("{name}List");
        if let Some(Value::Object(schema)) = definitions.get_mut(&name) {
            schema.insert(
                "x-kubernetes-group-version-kind".into(),
                gvk_extension(group, version, kind),
            );
            // k8s-openapi requires `metadata` because its Rust field is not optional; the API
            // server's schema does not.
            if let Some(Value::Array(required)) = schema.get_mut("required") {
                required.retain(|r| r != "metadata");
                if required.is_empty() {
                    schema.remove("required");
                }
            }
        }
        definitions.insert(
            list_name.clone(),
            list_definition(kind, &format!("{kind}List"), &name, group, version),
        );
        let merge = MergeSchema::for_builtin(group, version, kind);
        let mut annotated = BTreeSet::new();
        annotate(&mut definitions, &name, merge.root(), &mut annotated);
        kinds.insert(
            (group.to_string(), version.to_string(), kind.to_string()),
            KindSchema { name, list_name },
        );
    }
    BuiltinSchemas { definitions, kinds }
}

/// A key no built-in struct declares, to ask a node for the schema of map entries.
const ANY_ENTRY: &str = "\u{0}entry";

/// Adds the list/map extensions the merge schema knows to the definition `name` and to the
/// definitions it reaches. Only catalogued (object) nodes are followed: loose positions have
/// nothing to add.
fn annotate(
    definitions: &mut BTreeMap<String, Value>,
    name: &str,
    node: &Node,
    annotated: &mut BTreeSet<String>,
) {
    if !matches!(node, Node::Object(_)) || !annotated.insert(name.to_string()) {
        return;
    }
    let Some(mut schema) = definitions.remove(name) else {
        return;
    };
    let mut follow = Vec::new();
    annotate_object(&mut schema, node, &mut follow);
    definitions.insert(name.to_string(), schema);
    for (child, child_node) in follow {
        annotate(definitions, &child, &child_node, annotated);
    }
}

/// Annotates an object schema in place; collects the referenced definitions to visit.
fn annotate_object(schema: &mut Value, node: &Node, follow: &mut Vec<(String, Node)>) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if node.is_atomic_object() {
        map.insert("x-kubernetes-map-type".into(), json!("atomic"));
    }
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (key, property) in properties.iter_mut() {
            let (child, _) = node.field(key);
            annotate_position(property, child, follow);
        }
    }
    if let Some(entries) = map.get_mut("additionalProperties") {
        let (child, _) = node.field(ANY_ENTRY);
        annotate_position(entries, child, follow);
    }
}

fn annotate_position(schema: &mut Value, node: &Node, follow: &mut Vec<(String, Node)>) {
    if let Some(name) = referenced(schema) {
        follow.push((name.to_string(), node.clone()));
        return;
    }
    match node {
        Node::List(list) if schema.get("type") == Some(&json!("array")) => {
            let Some(map) = schema.as_object_mut() else {
                return;
            };
            list_extensions(map, &list.list_type, &list.patch);
            if let Some(items) = map.get_mut("items") {
                annotate_position(items, &list.items, follow);
            }
        }
        Node::Object(_) => annotate_object(schema, node, follow),
        _ => {}
    }
}

fn list_extensions(map: &mut Map<String, Value>, list_type: &ListType, patch: &ListPatch) {
    match list_type {
        ListType::Atomic => {
            map.insert("x-kubernetes-list-type".into(), json!("atomic"));
        }
        ListType::Set => {
            map.insert("x-kubernetes-list-type".into(), json!("set"));
        }
        ListType::Map { keys, .. } => {
            map.insert("x-kubernetes-list-type".into(), json!("map"));
            map.insert("x-kubernetes-list-map-keys".into(), json!(keys));
        }
    }
    if let ListPatch::Merge { key } = patch {
        map.insert("x-kubernetes-patch-strategy".into(), json!("merge"));
        if let Some(key) = key {
            map.insert("x-kubernetes-patch-merge-key".into(), json!(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{Origin, Registry};

    #[test]
    fn every_built_in_resource_has_a_typed_schema() {
        let registry = Registry::with_builtins();
        let schemas = BuiltinSchemas::get();
        for (group, versions) in registry.group_versions() {
            for version in versions {
                for def in registry.resources_of(&group, &version) {
                    if def.origin == Origin::BuiltIn {
                        assert!(
                            schemas.kind(&def.group, &def.version, &def.kind).is_some(),
                            "no schema for {}/{} {}",
                            def.group,
                            def.version,
                            def.kind
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn kinds_carry_their_gvk_and_lists_exist() {
        let schemas = BuiltinSchemas::get();
        let kind = schemas.kind("", "v1", "ConfigMap").expect("ConfigMap");
        assert_eq!(kind.name, "io.k8s.api.core.v1.ConfigMap");
        let cm = schemas.definition(&kind.name).expect("definition");
        assert_eq!(
            cm["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "ConfigMap", "version": "v1"}])
        );
        assert_eq!(cm.get("required"), None);
        assert_eq!(
            cm["properties"]["metadata"]["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}])
        );
        let list = schemas.definition(&kind.list_name).expect("list");
        assert_eq!(
            list["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "ConfigMapList", "version": "v1"}])
        );
        assert!(
            schemas
                .definition("io.k8s.api.autoscaling.v1.Scale")
                .is_some()
        );
    }

    #[test]
    fn merge_facts_become_list_extensions() {
        let schemas = BuiltinSchemas::get();
        let pod_spec = schemas
            .definition("io.k8s.api.core.v1.PodSpec")
            .expect("PodSpec");
        let containers = &pod_spec["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        let container = schemas
            .definition("io.k8s.api.core.v1.Container")
            .expect("Container");
        assert_eq!(
            container["properties"]["ports"]["x-kubernetes-list-map-keys"],
            json!(["containerPort", "protocol"])
        );
        let meta = schemas
            .definition("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            .expect("ObjectMeta");
        assert_eq!(
            meta["properties"]["finalizers"]["x-kubernetes-list-type"],
            "set"
        );
        assert_eq!(
            meta["properties"]["ownerReferences"]["x-kubernetes-list-map-keys"],
            json!(["uid"])
        );
    }
}
