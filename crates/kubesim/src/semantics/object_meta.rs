//! ObjectMeta rules every write applies: Go-`omitempty` normalisation (pitfall P6), the fields a
//! client cannot change, name and namespace syntax (`crd_admission::object_meta`, the one
//! implementation `render` uses too) and the "only one controller ownerReference" rule
//! (rust-ecosystem.md §3.3).
//!
//! Pure; returns causes, the pipeline turns them into a 422.

use serde_json::Value;

use crate::semantics::field_cause::{FieldCause, FieldPath};

/// The name rules live in the CRD engine's crate, shared with the operator's `render`.
pub use crd_admission::object_meta::NameRule;

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

/// Checks `metadata.name` (syntax per `rule`), `metadata.namespace` (a DNS-1123 label on a
/// namespaced kind, absent otherwise) and `metadata.ownerReferences`; every problem at once.
pub fn validate(object: &Value, rule: NameRule, namespaced: bool) -> Vec<FieldCause> {
    let mut causes =
        crd_admission::object_meta::validate_name_and_namespace(object, rule, namespaced);
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
    use serde_json::json;

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
            validate(&json!({"metadata": {"name": "Bad_Name"}}), NameRule::Subdomain, false),
            vec![FieldCause {
                reason: "FieldValueInvalid".into(),
                field: "metadata.name".into(),
                message: "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into(),
            }]
        );
        assert_eq!(
            validate(
                &json!({"metadata": {"name": "a.b-c"}}),
                NameRule::Subdomain,
                false
            ),
            vec![]
        );
    }

    #[test]
    fn only_one_controller_reference_is_allowed() {
        let obj = json!({"metadata": {"name": "a", "ownerReferences": [
            {"kind": "Shard", "name": "s1", "uid": "1", "controller": true},
            {"kind": "Shard", "name": "s2", "uid": "2", "controller": true}]}});
        let causes = validate(&obj, NameRule::Subdomain, false);
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
