//! Merge schemas of custom resources, read from a CRD version's `openAPIV3Schema`.
//!
//! Place: the CRD half of [`super::MergeSchema`]. The rules are the API server's conversion of a
//! structural schema to a structured-merge-diff schema (rust-ecosystem.md §3.3):
//! `x-kubernetes-list-type` (`atomic` by default, `set`, `map` with
//! `x-kubernetes-list-map-keys`, whose `default`s fill missing keys), `x-kubernetes-map-type`
//! (`granular` by default, `atomic`), `additionalProperties` maps whose keys are entries, and
//! `x-kubernetes-preserve-unknown-fields` subtrees that are deduced ([`Node::Untyped`]).
//! `metadata`, `apiVersion` and `kind` follow the built-in rules whatever the CRD declares, at the
//! root and in `x-kubernetes-embedded-resource` objects.
//!
//! Custom resources are unstructured, so no field has a typed zero value, and strategic merge
//! patch does not apply to them (the API server answers 415), so every list is `Replace`.
//!
//! Must not: validate the schema (the CRD engine does), or fail: whatever it does not understand
//! becomes [`Node::Untyped`].

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::build::{f, scalar};
use super::builtin::object_meta;
use super::{ListNode, ListPatch, ListType, MergeSchema, Node, ObjectNode, Rest};

/// The schema of a custom resource whose version schema is `schema`.
pub(super) fn schema(schema: &Value) -> MergeSchema {
    let mut root = node(schema);
    add_type_meta(&mut root);
    MergeSchema::new(root)
}

/// Declares `apiVersion`, `kind` and `metadata` on an object node (turning anything else into an
/// object), as the API server does for a resource root.
fn add_type_meta(node: &mut Node) {
    if !matches!(node, Node::Object(_)) {
        *node = Node::Object(ObjectNode {
            fields: BTreeMap::new(),
            rest: Rest::Entries(Arc::new(Node::Untyped)),
            atomic: false,
            replace_in_strategic_merge: false,
        });
    }
    if let Node::Object(object) = node {
        object.fields.insert("apiVersion".to_owned(), f(scalar()));
        object.fields.insert("kind".to_owned(), f(scalar()));
        // Custom resources are unstructured: no field has a typed zero value, `metadata` included.
        object
            .fields
            .insert("metadata".to_owned(), f(object_meta()));
    }
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn node(schema: &Value) -> Node {
    if !schema.is_object() {
        return Node::Untyped;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        return Node::Scalar;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => object(schema),
        Some("array") => list(schema),
        Some("string" | "integer" | "number" | "boolean") => Node::Scalar,
        _ if schema.get("properties").is_some() => object(schema),
        _ => Node::Untyped,
    }
}

fn object(schema: &Value) -> Node {
    let fields = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| (name.clone(), f(node(property))))
                .collect()
        })
        .unwrap_or_default();
    let rest = match schema.get("additionalProperties") {
        Some(additional @ Value::Object(_)) => Rest::Entries(Arc::new(node(additional))),
        _ => Rest::Entries(Arc::new(Node::Untyped)),
    };
    let atomic = schema.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic");
    let mut node = Node::Object(ObjectNode {
        fields,
        rest,
        atomic,
        replace_in_strategic_merge: false,
    });
    if flag(schema, "x-kubernetes-embedded-resource") {
        add_type_meta(&mut node);
    }
    node
}

fn list(schema: &Value) -> Node {
    let items_schema = schema.get("items").unwrap_or(&Value::Null);
    let items = node(items_schema);
    let list_type = match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => ListType::Set,
        Some("map") => {
            let keys: Vec<String> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let key_defaults = keys
                .iter()
                .filter_map(|key| {
                    items_schema
                        .get("properties")
                        .and_then(|properties| properties.get(key))
                        .and_then(|property| property.get("default"))
                        .map(|default| (key.clone(), default.clone()))
                })
                .collect();
            ListType::Map { keys, key_defaults }
        }
        _ => ListType::Atomic,
    };
    Node::List(ListNode {
        list_type,
        items: Arc::new(items),
        patch: ListPatch::Replace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn list_and_map_extensions_become_merge_semantics() {
        let schema = MergeSchema::from_openapi(&json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "cells": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name", "zone"],
                            "items": {"type": "object", "properties": {
                                "name": {"type": "string"},
                                "zone": {"type": "string", "default": "a"}
                            }}
                        },
                        "tags": {"type": "array", "x-kubernetes-list-type": "set",
                                 "items": {"type": "string"}},
                        "args": {"type": "array", "items": {"type": "string"}},
                        "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                                     "additionalProperties": {"type": "string"}},
                        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "port": {"x-kubernetes-int-or-string": true}
                    }
                }
            }
        }));
        let spec = schema.root().field("spec").0;
        assert_eq!(
            spec.field("cells").0.list().0,
            &ListType::Map {
                keys: vec!["name".to_owned(), "zone".to_owned()],
                key_defaults: BTreeMap::from([("zone".to_owned(), json!("a"))]),
            }
        );
        assert_eq!(spec.field("tags").0.list().0, &ListType::Set);
        assert_eq!(spec.field("args").0.list().0, &ListType::Atomic);
        assert!(spec.field("selector").0.is_atomic_object());
        assert_eq!(spec.field("selector").0.field("k"), (&Node::Scalar, false));
        assert_eq!(spec.field("extra").0.field("any"), (&Node::Untyped, false));
        assert_eq!(spec.field("port").0, &Node::Scalar);
        assert_eq!(spec.field("cells").0.list_patch(), &ListPatch::Replace);
    }

    #[test]
    fn metadata_is_the_builtin_object_meta_at_the_root_and_in_embedded_resources() {
        let schema = MergeSchema::from_openapi(&json!({
            "type": "object",
            "properties": {
                "metadata": {"type": "object"},
                "spec": {"type": "object", "properties": {
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                 "x-kubernetes-preserve-unknown-fields": true}
                }}
            }
        }));
        assert_eq!(schema.root().field("metadata").0, &object_meta());
        assert_eq!(schema.root().field("kind"), (&Node::Scalar, true));
        let template = schema.root().field("spec").0.field("template").0;
        assert_eq!(template.field("metadata").0, &object_meta());
        assert_eq!(template.field("other"), (&Node::Untyped, false));
    }
}
