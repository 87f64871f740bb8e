//! Structural pruning of unknown fields and of nulls the schema cannot hold.
//!
//! Place: the first thing done to a custom resource body on create, update,
//! patch and read, before defaulting (`unstructuredSchemaCoercer.apply` in
//! `apiextensions-apiserver/pkg/apiserver/customresource_handler.go`, v0.33).
//!
//! Follows `pruning/algorithm.go`: fields not in `properties` (and no
//! `additionalProperties`) are dropped; `x-kubernetes-preserve-unknown-fields`
//! keeps them (while still pruning inside known children);
//! `x-kubernetes-embedded-resource` keeps `apiVersion`, `kind` and `metadata`; the
//! resource root always keeps them. Unknown paths are reported sorted, as
//! `spec.foo`, `spec.items[0].bar`. `fieldValidation=Strict` turns them into the
//! 400 `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`,
//! `Warn` into one warning each, `Ignore` drops them silently. Afterwards
//! `PruneNonNullableNullsWithoutDefaults` removes `null` members whose schema is
//! neither nullable nor defaulted.
//!
//! Must not: validate values, apply defaults, touch `metadata` contents (its members
//! are `crate::object_meta`'s concern).

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};
use thiserror::Error;

use super::structural::Schema;

/// The `fieldValidation` query parameter of create/update/patch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Reject unknown fields with a 400.
    Strict,
    /// Accept, prune and return a warning per unknown field (the default since 1.27).
    #[default]
    Warn,
    /// Accept and prune silently.
    Ignore,
}

impl FromStr for FieldValidation {
    type Err = UnsupportedFieldValidation;

    /// Parses the query value; an empty value means the default (`Warn`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Strict" => Ok(FieldValidation::Strict),
            "Warn" | "" => Ok(FieldValidation::Warn),
            "Ignore" => Ok(FieldValidation::Ignore),
            other => Err(UnsupportedFieldValidation {
                value: other.to_owned(),
            }),
        }
    }
}

/// An unknown `fieldValidation` value; the message is the API server's 400 text.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {value:?}")]
pub struct UnsupportedFieldValidation {
    /// The value the client sent.
    pub value: String,
}

/// The 400 `BadRequest` of `fieldValidation=Strict`: every unknown field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrictDecodingError {
    /// Unknown field paths, sorted (`spec.foo`, `spec.items[0].bar`).
    pub unknown_fields: Vec<String>,
}

impl fmt::Display for StrictDecodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .unknown_fields
            .iter()
            .map(|p| unknown_field_text(p))
            .collect();
        write!(f, "strict decoding error: {}", parts.join(", "))
    }
}

impl std::error::Error for StrictDecodingError {}

/// `unknown field "<path>"`, the text of one strict error and of one warning.
pub fn unknown_field_text(path: &str) -> String {
    format!("unknown field \"{path}\"")
}

/// Prunes `obj` (a whole resource) and returns the unknown field paths, sorted.
pub(crate) fn prune_resource(obj: &mut Value, schema: &Schema) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut path = String::new();
    prune_object_root(obj, schema, &mut path, &mut unknown);
    unknown.sort();
    prune_nulls(obj, Some(schema));
    unknown
}

/// Prunes a value below the root (a schema `default`), discarding the paths.
pub(crate) fn prune_value(x: &mut Value, schema: &Schema) {
    let mut unknown = Vec::new();
    let mut path = String::new();
    prune(x, Some(schema), &mut path, &mut unknown);
}

/// The root is pruned as an embedded resource (`isResourceRoot`).
fn prune_object_root(
    obj: &mut Value,
    schema: &Schema,
    path: &mut String,
    unknown: &mut Vec<String>,
) {
    if schema.preserve_unknown_fields {
        skip_prune(obj, schema, true, path, unknown);
        return;
    }
    if let Value::Object(map) = obj {
        prune_map(map, schema, true, path, unknown);
    }
}

fn prune(x: &mut Value, schema: Option<&Schema>, path: &mut String, unknown: &mut Vec<String>) {
    if let Some(s) = schema
        && s.preserve_unknown_fields
    {
        skip_prune(x, s, s.embedded_resource, path, unknown);
        return;
    }
    match x {
        Value::Object(map) => match schema {
            None => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    record(path, &k, unknown);
                }
                map.clear();
            }
            Some(s) => prune_map(map, s, s.embedded_resource, path, unknown),
        },
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.items.as_deref());
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                prune(item, item_schema, path, unknown);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn prune_map(
    map: &mut Map<String, Value>,
    schema: &Schema,
    keep_meta: bool,
    path: &mut String,
    unknown: &mut Vec<String>,
) {
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        let is_meta = matches!(k.as_str(), "apiVersion" | "kind" | "metadata");
        if keep_meta && is_meta {
            continue;
        }
        let child_schema = schema
            .properties
            .get(&k)
            .or_else(|| schema.additional_schema());
        let additional_allowed = schema.additional_properties.is_some();
        if schema.properties.contains_key(&k) || additional_allowed {
            let len = path.len();
            append_key(path, &k);
            if let Some(child) = map.get_mut(&k) {
                prune(child, child_schema, path, unknown);
            }
            path.truncate(len);
        } else {
            // Meta fields at the very root are never reported (the root keeps them anyway).
            if !is_meta || !path.is_empty() {
                record(path, &k, unknown);
            }
            map.remove(&k);
        }
    }
}

/// `skipPrune`: keep unknown fields but still prune inside known children.
fn skip_prune(
    x: &mut Value,
    schema: &Schema,
    keep_meta: bool,
    path: &mut String,
    unknown: &mut Vec<String>,
) {
    match x {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if keep_meta && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let Some(child_schema) = schema.field_schema(&k) else {
                    continue;
                };
                let len = path.len();
                append_key(path, &k);
                if let Some(child) = map.get_mut(&k) {
                    prune(child, Some(child_schema), path, unknown);
                }
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.items.as_deref() else {
                return;
            };
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                skip_prune(
                    item,
                    item_schema,
                    item_schema.embedded_resource,
                    path,
                    unknown,
                );
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn append_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn record(path: &str, key: &str, unknown: &mut Vec<String>) {
    let mut full = path.to_owned();
    append_key(&mut full, key);
    unknown.push(full);
}

/// `PruneNonNullableNullsWithoutDefaults`.
fn prune_nulls(x: &mut Value, schema: Option<&Schema>) {
    match x {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let child_schema = schema.and_then(|s| s.field_schema(&k));
                let drop = map.get(&k).is_some_and(Value::is_null)
                    && child_schema.is_some_and(|s| !s.nullable && s.default.is_none());
                if drop {
                    map.remove(&k);
                } else if let Some(child) = map.get_mut(&k) {
                    prune_nulls(child, child_schema);
                }
            }
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.items.as_deref());
            for item in items {
                prune_nulls(item, item_schema);
            }
        }
        _ => {}
    }
}
