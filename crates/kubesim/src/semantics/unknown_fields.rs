//! Unknown fields of built-in objects, for `fieldValidation` (rust-ecosystem.md §3.4 "strict
//! decoding"): the API server decodes a built-in object into its Go type, so a field the type
//! does not declare is dropped (`Ignore`), dropped with a `Warning` (`Warn`, the default), or
//! rejected with 400 `strict decoding error: unknown field "spec.foo"` (`Strict`, what kubectl
//! sends). Custom resources get the same from the CRD engine's pruning.
//!
//! The declared fields are those of [`super::builtin_schema`]. A position whose schema is
//! free-form (an object without properties, like `FieldsV1` or `RawExtension`, or a `oneOf`)
//! keeps everything, as Go's decoder does for such types.
//!
//! Pure: removes the unknown fields from the object and returns their paths in document order.

use serde_json::Value;

use super::builtin_schema::{BuiltinSchemas, referenced};
use super::crd_schema::{FieldValidation, StrictDecodingError, unknown_field_text};

/// What `fieldValidation` makes of the unknown fields found: the warnings to send, or the 400
/// of `Strict` listing all of them.
pub fn outcome(
    mode: FieldValidation,
    unknown: Vec<String>,
) -> Result<Vec<String>, StrictDecodingError> {
    match mode {
        FieldValidation::Strict if !unknown.is_empty() => Err(StrictDecodingError {
            unknown_fields: unknown,
        }),
        FieldValidation::Warn => Ok(unknown.iter().map(|p| unknown_field_text(p)).collect()),
        FieldValidation::Strict | FieldValidation::Ignore => Ok(Vec::new()),
    }
}

/// Removes the fields of `object` that the built-in kind's schema does not declare and returns
/// their paths (`spec.foo`, `spec.containers[0].bar`); empty when the kind has no typed schema.
pub fn prune_unknown(group: &str, version: &str, kind: &str, object: &mut Value) -> Vec<String> {
    let schemas = BuiltinSchemas::get();
    let Some(root) = schemas
        .kind(group, version, kind)
        .and_then(|k| schemas.definition(&k.name))
    else {
        return Vec::new();
    };
    let mut unknown = Vec::new();
    prune(schemas, root, object, "", &mut unknown);
    unknown
}

fn resolve<'a>(schemas: &'a BuiltinSchemas, schema: &'a Value) -> Option<&'a Value> {
    match referenced(schema) {
        Some(name) => schemas.definition(name),
        None => Some(schema),
    }
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn prune(
    schemas: &BuiltinSchemas,
    schema: &Value,
    value: &mut Value,
    path: &str,
    unknown: &mut Vec<String>,
) {
    let Some(schema) = resolve(schemas, schema) else {
        return;
    };
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || schema.get("oneOf").is_some()
        || schema.get("anyOf").is_some()
    {
        return;
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let entries = schema.get("additionalProperties").filter(|a| a.is_object());
            if properties.is_none() && entries.is_none() {
                return;
            }
            let mut remove = Vec::new();
            for (key, child) in map.iter_mut() {
                let child_schema = properties.and_then(|p| p.get(key)).or(entries);
                match child_schema {
                    Some(child_schema) => prune(
                        schemas,
                        child_schema,
                        child,
                        &child_path(path, key),
                        unknown,
                    ),
                    None => {
                        unknown.push(child_path(path, key));
                        remove.push(key.clone());
                    }
                }
            }
            for key in remove {
                map.remove(&key);
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(schemas, item_schema, item, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn undeclared_fields_are_removed_and_reported_in_document_order() {
        let mut deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"any": "key"}, "colour": "red",
                         "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}}]},
            "spec": {
                "replicas": 1,
                "replica": 2,
                "template": {"spec": {"containers": [
                    {"name": "a", "image": "nginx", "imagePullPolicy": "Always"},
                    {"name": "b", "imag": "envoy", "ports": [{"containerPort": 80, "hostPrt": 1}]},
                ]}},
            },
        });
        let unknown = prune_unknown("apps", "v1", "Deployment", &mut deployment);
        assert_eq!(
            unknown,
            vec![
                "metadata.colour",
                "spec.replica",
                "spec.template.spec.containers[1].imag",
                "spec.template.spec.containers[1].ports[0].hostPrt",
            ]
        );
        assert_eq!(
            deployment,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"any": "key"},
                             "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}}]},
                "spec": {
                    "replicas": 1,
                    "template": {"spec": {"containers": [
                        {"name": "a", "image": "nginx", "imagePullPolicy": "Always"},
                        {"name": "b", "ports": [{"containerPort": 80}]},
                    ]}},
                },
            })
        );
    }

    #[test]
    fn field_validation_decides_between_warnings_and_a_strict_error() {
        let unknown = || vec!["spec.b".to_string(), "spec.a".to_string()];
        assert_eq!(
            outcome(FieldValidation::Warn, unknown()),
            Ok(vec![
                "unknown field \"spec.b\"".to_string(),
                "unknown field \"spec.a\"".to_string()
            ])
        );
        assert_eq!(outcome(FieldValidation::Ignore, unknown()), Ok(vec![]));
        assert_eq!(
            outcome(FieldValidation::Strict, unknown()).map_err(|e| e.to_string()),
            Err(
                "strict decoding error: unknown field \"spec.b\", unknown field \"spec.a\""
                    .to_string()
            )
        );
        assert_eq!(outcome(FieldValidation::Strict, vec![]), Ok(vec![]));
    }

    #[test]
    fn free_form_positions_keep_everything() {
        let mut crd = json!({
            "spec": {"group": "g", "versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
                "type": "object", "x-kubernetes-preserve-unknown-fields": true,
                "properties": {"spec": {"default": {"anything": 1}, "items": {"type": "string"}}}}}}]},
        });
        let before = crd.clone();
        assert_eq!(
            prune_unknown(
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                &mut crd
            ),
            Vec::<String>::new()
        );
        assert_eq!(crd, before);
        let mut unknown_kind = json!({"spec": {"x": 1}});
        assert_eq!(
            prune_unknown("example.com", "v1", "Thing", &mut unknown_kind),
            Vec::<String>::new()
        );
    }
}
