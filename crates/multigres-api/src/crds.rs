//! The eight CustomResourceDefinitions of the operator, generated from the v1alpha1 types, in
//! the install order of the Go operator's kustomization (spec-api.md §1.3).
//!
//! kube's derive produces each CRD; this module only normalises the schema so that it has the
//! shape of the Go CRD (see [`finish_schema`]). Printing, writing files and applying them to a
//! cluster happen in the operator crate.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::CustomResourceExt;
use serde_json::{Map, Value, json};

use crate::v1alpha1::{
    Cell, CellTemplate, CoreTemplate, MultigresCluster, Shard, ShardTemplate, TableGroup,
    TopoServer,
};

/// Every CRD, in the order they must be installed.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        finished::<MultigresCluster>(),
        finished::<TableGroup>(),
        finished::<CellTemplate>(),
        finished::<CoreTemplate>(),
        finished::<ShardTemplate>(),
        finished::<Cell>(),
        finished::<Shard>(),
        finished::<TopoServer>(),
    ]
}

/// The CRD of `K` with its schema finished.
fn finished<K: CustomResourceExt>() -> CustomResourceDefinition {
    let mut crd = K::crd();
    // controller-gen always names the list kind; the API server would default it the same way.
    crd.spec.names.list_kind = Some(format!("{}List", crd.spec.names.kind));
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let mut value = serde_json::to_value(&*schema)
            .expect("JSONSchemaProps serializes: it is plain data with string keys");
        finish_schema(&mut value);
        *schema = serde_json::from_value::<JSONSchemaProps>(value)
            .expect("the finished schema only drops and adds JSONSchemaProps fields");
    }
    crd
}

/// Gives a generated root schema the shape of the Go CRD:
///
/// - No `nullable`, and no `null` among enum values: kube marks every `Option` field nullable,
///   Go marks none. Without it the API server drops explicit `null`s (and then applies the
///   field's default) instead of storing them, as Go clients, and our serializers that never
///   write `null`, expect.
/// - No root `title`: schemars names the root type, the Go CRD has no title.
/// - Every `x-kubernetes-int-or-string` node lists its two types in `anyOf`, as controller-gen
///   writes them. (kube's structural rewrite would hoist such an `anyOf` away if the types were
///   given during generation.)
/// - No root `required`: kube requires `spec`; the Go CRDs require nothing at the root
///   (spec-api.md §1.2).
/// - `apiVersion`, `kind` and `metadata` are declared at the root, as controller-gen does, so
///   that `kubectl explain` documents them.
pub fn finish_schema(root: &mut Value) {
    normalise_nodes(root);
    let Some(object) = root.as_object_mut() else {
        return;
    };
    object.remove("required");
    object.remove("title");
    let properties = object
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(properties) = properties.as_object_mut() {
        properties.insert(
            "apiVersion".into(),
            json!({
                "description": "API group and version of the object: multigres.com/v1alpha1.",
                "type": "string",
            }),
        );
        properties.insert(
            "kind".into(),
            json!({
                "description": "Kind of the object, in CamelCase; it cannot change.",
                "type": "string",
            }),
        );
        properties.insert("metadata".into(), json!({ "type": "object" }));
    }
}

fn normalise_nodes(node: &mut Value) {
    match node {
        Value::Object(object) => {
            object.remove("nullable");
            if let Some(Value::Array(values)) = object.get_mut("enum") {
                values.retain(|value| !value.is_null());
            }
            if object.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
                object.insert(
                    "anyOf".into(),
                    json!([{ "type": "integer" }, { "type": "string" }]),
                );
            }
            object.values_mut().for_each(normalise_nodes);
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_nodes),
        _ => {}
    }
}
