//! Schemas of the Kubernetes types our CRDs embed (Affinity, ResourceRequirements, image pull
//! secrets, Conditions), with the server-side-apply and validation markers their Go definitions
//! carry.
//!
//! k8s-openapi's schemas describe fields, types and `required`, but not the
//! `x-kubernetes-list-type` / `x-kubernetes-map-type` markers nor the validations of
//! `metav1.Condition`, which controller-gen copies into the Go CRDs. Without the markers a
//! server-side apply would merge lists the API server treats as atomic, so each function adds
//! them at the same places as the Go CRD (spec-api.md §2; the upstream
//! `config/crd/bases/*.yaml`). Used only through `#[schemars(schema_with = ...)]`.

use k8s_openapi::api::core::v1::{Affinity, LocalObjectReference, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

/// A step from a schema node to one of its children.
#[derive(Clone, Copy)]
enum Step {
    /// `properties.<name>`
    Property(&'static str),
    /// `items`
    Items,
}

use Step::{Items, Property};

/// The schema node at `path` below `node`, if k8s-openapi's schema has it.
fn node_at<'a>(
    node: &'a mut Map<String, Value>,
    path: &[Step],
) -> Option<&'a mut Map<String, Value>> {
    path.iter().try_fold(node, |node, step| {
        let child = match step {
            Property(name) => node
                .get_mut("properties")?
                .as_object_mut()?
                .get_mut(*name)?,
            Items => node.get_mut("items")?,
        };
        child.as_object_mut()
    })
}

/// Sets `extensions` on the node at `path`; a path k8s-openapi lacks is left alone (the CRD
/// tests compare every marker with the Go CRD, so a missing one fails there).
fn mark(node: &mut Map<String, Value>, path: &[Step], extensions: &[(&str, Value)]) {
    if let Some(target) = node_at(node, path) {
        for (key, value) in extensions {
            target.insert((*key).to_owned(), value.clone());
        }
    }
}

fn atomic_list() -> [(&'static str, Value); 1] {
    [("x-kubernetes-list-type", json!("atomic"))]
}

fn atomic_map() -> [(&'static str, Value); 1] {
    [("x-kubernetes-map-type", json!("atomic"))]
}

/// Markers of a `NodeSelectorTerm` (Go: `+structType=atomic`, atomic requirement lists).
fn mark_node_selector_term(term: &mut Map<String, Value>) {
    mark(term, &[], &atomic_map());
    for list in ["matchExpressions", "matchFields"] {
        mark(term, &[Property(list)], &atomic_list());
        mark(
            term,
            &[Property(list), Items, Property("values")],
            &atomic_list(),
        );
    }
}

/// Markers of a `LabelSelector` (Go: `+structType=atomic`, atomic requirement lists).
fn mark_label_selector(selector: &mut Map<String, Value>) {
    mark(selector, &[], &atomic_map());
    mark(selector, &[Property("matchExpressions")], &atomic_list());
    mark(
        selector,
        &[Property("matchExpressions"), Items, Property("values")],
        &atomic_list(),
    );
}

/// Markers of a `PodAffinityTerm`.
fn mark_pod_affinity_term(term: &mut Map<String, Value>) {
    for selector in ["labelSelector", "namespaceSelector"] {
        if let Some(selector) = node_at(term, &[Property(selector)]) {
            mark_label_selector(selector);
        }
    }
    for list in ["namespaces", "matchLabelKeys", "mismatchLabelKeys"] {
        mark(term, &[Property(list)], &atomic_list());
    }
}

/// Schema of an `Option<Affinity>` field: the Affinity schema with every atomic list and struct
/// marked as in `k8s.io/api/core/v1`.
pub(crate) fn optional_affinity(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = Affinity::json_schema(generator);
    let root = schema.ensure_object();

    let node = [Property("nodeAffinity")];
    let required_node = [
        node[0],
        Property("requiredDuringSchedulingIgnoredDuringExecution"),
    ];
    let preferred_node = [
        node[0],
        Property("preferredDuringSchedulingIgnoredDuringExecution"),
    ];
    if let Some(selector) = node_at(root, &required_node) {
        mark(selector, &[], &atomic_map());
        mark(selector, &[Property("nodeSelectorTerms")], &atomic_list());
        if let Some(term) = node_at(selector, &[Property("nodeSelectorTerms"), Items]) {
            mark_node_selector_term(term);
        }
    }
    mark(root, &preferred_node, &atomic_list());
    if let Some(term) = node_at(
        root,
        &[
            preferred_node[0],
            preferred_node[1],
            Items,
            Property("preference"),
        ],
    ) {
        mark_node_selector_term(term);
    }

    for kind in ["podAffinity", "podAntiAffinity"] {
        let required = [
            Property(kind),
            Property("requiredDuringSchedulingIgnoredDuringExecution"),
        ];
        let preferred = [
            Property(kind),
            Property("preferredDuringSchedulingIgnoredDuringExecution"),
        ];
        mark(root, &required, &atomic_list());
        mark(root, &preferred, &atomic_list());
        if let Some(term) = node_at(root, &[required[0], required[1], Items]) {
            mark_pod_affinity_term(term);
        }
        if let Some(term) = node_at(
            root,
            &[
                preferred[0],
                preferred[1],
                Items,
                Property("podAffinityTerm"),
            ],
        ) {
            mark_pod_affinity_term(term);
        }
    }
    schema
}

/// The pattern every `resource.Quantity` must match (apimachinery's quantity grammar).
const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// Schema of a `ResourceRequirements` field: `claims` is a list map keyed by `name`, and each
/// quantity must match the quantity grammar. k8s-openapi's quantity schema has the
/// int-or-string marker but no pattern, and a long description repeated at every use.
/// (`crds::finish_schema` adds the integer-or-string `anyOf` of every int-or-string node.)
pub(crate) fn resource_requirements(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = ResourceRequirements::json_schema(generator);
    let root = schema.ensure_object();
    mark(
        root,
        &[Property("claims")],
        &[
            ("x-kubernetes-list-type", json!("map")),
            ("x-kubernetes-list-map-keys", json!(["name"])),
        ],
    );
    for quantities in ["limits", "requests"] {
        if let Some(map) = node_at(root, &[Property(quantities)]) {
            map.insert(
                "additionalProperties".to_owned(),
                json!({ "pattern": QUANTITY_PATTERN, "x-kubernetes-int-or-string": true }),
            );
        }
    }
    schema
}

/// Schema of an `imagePullSecrets` list. As in Go, each reference is an atomic struct whose
/// `name` defaults to the empty string rather than being required.
pub(crate) fn image_pull_secrets(generator: &mut SchemaGenerator) -> Schema {
    let mut item = LocalObjectReference::json_schema(generator);
    let item_object = item.ensure_object();
    item_object.remove("required");
    mark(item_object, &[], &atomic_map());
    mark(item_object, &[Property("name")], &[("default", json!(""))]);
    json_schema!({ "type": "array", "items": item })
}

/// Schema of a `conditions` list: a list map keyed by `type` whose items carry the validations
/// of `metav1.Condition`.
pub(crate) fn conditions(generator: &mut SchemaGenerator) -> Schema {
    let mut item = Condition::json_schema(generator);
    let condition = item.ensure_object();
    mark(
        condition,
        &[Property("message")],
        &[("maxLength", json!(32768))],
    );
    mark(
        condition,
        &[Property("observedGeneration")],
        &[("minimum", json!(0))],
    );
    mark(
        condition,
        &[Property("reason")],
        &[
            ("maxLength", json!(1024)),
            ("minLength", json!(1)),
            ("pattern", json!("^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")),
        ],
    );
    mark(
        condition,
        &[Property("status")],
        &[("enum", json!(["True", "False", "Unknown"]))],
    );
    mark(
        condition,
        &[Property("type")],
        &[
            ("maxLength", json!(316)),
            (
                "pattern",
                json!(
                    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
                ),
            ),
        ],
    );
    json_schema!({
        "type": "array",
        "items": item,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
    })
}
