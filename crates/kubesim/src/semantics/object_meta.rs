//! ObjectMeta rules every write applies: Go-`omitempty` normalisation (pitfall P6), the fields a
//! client cannot change, name syntax and the "only one controller ownerReference" rule
//! (rust-ecosystem.md §3.3).
//!
//! Pure; returns causes, the pipeline turns them into a 422.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use crate::semantics::field_cause::{FieldCause, FieldPath};

/// Metadata fields the server owns: an update keeps the stored values.
const SYSTEM_FIELDS: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
];

/// Metadata fields Go serialises with `omitempty`: dropped when empty or null.
const OMIT_EMPTY: &[&str] = &[
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "managedFields",
    "generateName",
    "namespace",
    "selfLink",
];

/// Drops empty/null metadata fields (never `finalizers: []`, P6) and, for built-in kinds, null
/// values anywhere (Go omits nil pointers; a typed decode never keeps an explicit null).
pub fn normalize(object: &mut Value, builtin: bool) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.retain(|key, value| {
            !(value.is_null() || (OMIT_EMPTY.contains(&key.as_str()) && is_empty(value)))
        });
    }
    if builtin {
        drop_nulls(object);
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for v in map.values_mut() {
                drop_nulls(v);
            }
        }
        Value::Array(items) => {
            for v in items {
                drop_nulls(v);
            }
        }
        _ => {}
    }
}

/// Copies the server-owned metadata fields of `stored` into `incoming` (an update cannot change
/// uid, creationTimestamp, deletion fields or generation; name and namespace were checked).
pub fn keep_system_fields(stored: &Value, incoming: &mut Value) {
    let stored_meta = stored.get("metadata").and_then(Value::as_object);
    let meta = crate::store::metadata_mut(incoming);
    for field in SYSTEM_FIELDS {
        match stored_meta.and_then(|m| m.get(*field)) {
            Some(value) => {
                meta.insert((*field).to_string(), value.clone());
            }
            None => {
                meta.remove(*field);
            }
        }
    }
}

static DNS1123_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .expect("the DNS-1123 subdomain pattern is valid")
});

static DNS1123_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").expect("the DNS-1123 label pattern is valid")
});

/// The name rule of a resource: Namespaces and Services are DNS-1123 labels, RBAC objects
/// path segments (`system:discovery`), everything else a DNS-1123 subdomain (upstream
/// `ValidateObjectMeta` name functions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    Label,
    Subdomain,
    /// `path.ValidatePathSegmentName`: anything but `.`, `..`, `/` and `%`.
    PathSegment,
}

/// Checks `metadata.name` and `metadata.ownerReferences`; every problem at once.
pub fn validate(object: &Value, rule: NameRule) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        causes.push(FieldCause::required(
            &FieldPath::new("metadata").child("name"),
            "name or generateName is required",
        ));
    } else if rule == NameRule::PathSegment {
        let problem = match name {
            "." => Some("may not be '.'"),
            ".." => Some("may not be '..'"),
            _ if name.contains('/') => Some("may not contain '/'"),
            _ if name.contains('%') => Some("may not contain '%'"),
            _ => None,
        };
        if let Some(problem) = problem {
            causes.push(FieldCause::invalid(
                &FieldPath::new("metadata").child("name"),
                &json!(name),
                problem,
            ));
        }
    } else {
        let (ok, max, what, example, pattern) = match rule {
            NameRule::Subdomain => (
                DNS1123_SUBDOMAIN.is_match(name),
                253,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
                "'example.com'",
                DNS1123_SUBDOMAIN.as_str(),
            ),
            NameRule::Label | NameRule::PathSegment => (
                DNS1123_LABEL.is_match(name),
                63,
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
                "'my-name',  or '123-abc'",
                DNS1123_LABEL.as_str(),
            ),
        };
        let pattern = pattern.trim_start_matches('^').trim_end_matches('$');
        if !ok {
            causes.push(FieldCause::invalid(
                &FieldPath::new("metadata").child("name"),
                &json!(name),
                &format!("{what} (e.g. {example}, regex used for validation is '{pattern}')"),
            ));
        } else if name.len() > max {
            causes.push(FieldCause::invalid(
                &FieldPath::new("metadata").child("name"),
                &json!(name),
                &format!("must be no more than {max} characters"),
            ));
        }
    }
    let controllers: Vec<String> = object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
                .map(|r| {
                    format!(
                        "{}/{}",
                        r.get("kind").and_then(Value::as_str).unwrap_or_default(),
                        r.get("name").and_then(Value::as_str).unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if controllers.len() > 1 {
        let refs = object
            .pointer("/metadata/ownerReferences")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        causes.push(FieldCause::invalid_rendered(
            &FieldPath::new("metadata").child("ownerReferences"),
            &refs.to_string(),
            &format!(
                "Only one reference can have Controller set to true. Found \"true\" in references for {} and {}",
                controllers[0], controllers[1]
            ),
        ));
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn empty_metadata_collections_are_omitted() {
        let mut obj = json!({"metadata": {"name": "a", "finalizers": [], "labels": {},
            "annotations": null, "namespace": "ns"}, "spec": {"x": null, "y": {}}});
        normalize(&mut obj, true);
        assert_eq!(
            obj,
            json!({"metadata": {"name": "a", "namespace": "ns"}, "spec": {"y": {}}})
        );
    }

    #[test]
    fn names_follow_dns_1123() {
        assert_eq!(
            validate(&json!({"metadata": {"name": "Bad_Name"}}), NameRule::Subdomain),
            vec![FieldCause {
                reason: "FieldValueInvalid".into(),
                field: "metadata.name".into(),
                message: "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into(),
            }]
        );
        assert_eq!(
            validate(&json!({"metadata": {"name": "a.b-c"}}), NameRule::Subdomain),
            vec![]
        );
    }

    #[test]
    fn only_one_controller_reference_is_allowed() {
        let obj = json!({"metadata": {"name": "a", "ownerReferences": [
            {"kind": "Shard", "name": "s1", "uid": "1", "controller": true},
            {"kind": "Shard", "name": "s2", "uid": "2", "controller": true}]}});
        let causes = validate(&obj, NameRule::Subdomain);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "metadata.ownerReferences");
        assert_eq!(
            crate::semantics::field_cause::invalid_message("ConfigMap", "", "a", &causes),
            format!(
                "ConfigMap \"a\" is invalid: metadata.ownerReferences: Invalid value: {}: Only one reference can have Controller set to true. Found \"true\" in references for Shard/s1 and Shard/s2",
                obj["metadata"]["ownerReferences"]
            )
        );
    }
}
