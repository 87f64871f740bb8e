//! Schema defaulting of custom resources.
//!
//! Place: after pruning, on every decode of a custom resource: request bodies of
//! create/update/patch and objects read back from the store (`unstructuredDefaulter`
//! in `apiextensions-apiserver/pkg/apiserver/customresource_handler.go`, v0.33).
//!
//! Follows `schema/defaulting/algorithm.go`: a property's `default` is copied in
//! when the property is absent, or `null` while the schema is not nullable; the
//! walk then descends into every present member, so a default that creates an
//! object gets that object's own nested defaults too. `null` items of arrays and
//! `null` values of maps take the item/value schema's default when not nullable.
//!
//! Must not: prune or validate; decide anything from `old` objects.

use serde_json::Value;

use super::structural::Schema;

/// Applies the schema's defaults to `x` in place.
pub(crate) fn apply(x: &mut Value, schema: &Schema) {
    match x {
        Value::Object(map) => {
            for (name, prop) in &schema.properties {
                let Some(default) = &prop.default else {
                    continue;
                };
                let needs_default = match map.get(name) {
                    None => true,
                    Some(Value::Null) => !prop.nullable,
                    Some(_) => false,
                };
                if needs_default {
                    map.insert(name.clone(), default.clone());
                }
            }
            let value_schema = schema.additional_schema();
            for (key, member) in map.iter_mut() {
                if let Some(prop) = schema.properties.get(key) {
                    apply(member, prop);
                } else if let Some(value_schema) = value_schema {
                    if member.is_null()
                        && !value_schema.nullable
                        && let Some(default) = &value_schema.default
                    {
                        *member = default.clone();
                    }
                    apply(member, value_schema);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.items.as_deref() else {
                return;
            };
            for item in items.iter_mut() {
                if item.is_null()
                    && !item_schema.nullable
                    && let Some(default) = &item_schema.default
                {
                    *item = default.clone();
                }
                apply(item, item_schema);
            }
        }
        _ => {}
    }
}
