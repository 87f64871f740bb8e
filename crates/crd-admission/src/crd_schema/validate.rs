//! Validation of a custom resource against its version's schema.
//!
//! Place: after pruning and defaulting, before the object is stored. Mirrors the
//! order of `customResourceStrategy.Validate`/`ValidateUpdate`
//! (`apiextensions-apiserver/pkg/registry/customresource`, v0.33):
//! 1. type meta (`kind`, `apiVersion`), alone if wrong;
//! 2. OpenAPI value validation, worded by kube-openapi's `validate` package and
//!    converted by `kubeOpenAPIResultToFieldErrors` (`spec.x in body should ...`);
//! 3. the scale subresource's replica paths;
//! 4. list-type `set`/`map` duplicates (on update only if the old object had none);
//! 5. CEL rules, unless step 2-4 produced a "blocking" cause (then one
//!    `<nil>: Invalid value: "null": some validation rules were not checked ...`).
//!
//! Updates ratchet (`CRDValidationRatcheting`, on by default since 1.30): OpenAPI
//! failures inside a value equal to its correlated old value are dropped. Values
//! correlate through object keys, map keys and list-type=map keys.
//!
//! Must not: mutate the object, validate `metadata` (the core validates object
//! meta for every kind), read clocks.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceSubresourceScale;
use serde_json::Value;

use super::string_format;
use super::structural::{AdditionalProperties, Schema};
use crate::cel;
use crate::field_cause::{FieldCause, FieldPath, go_float, go_quote};

/// What a version's validation needs besides the schema.
pub(crate) struct Target<'a> {
    pub(crate) schema: &'a Schema,
    pub(crate) group: &'a str,
    pub(crate) version: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) scale: Option<&'a CustomResourceSubresourceScale>,
}

/// Validates `new` (and the transition from `old` on update).
pub(crate) fn validate_resource(
    target: &Target<'_>,
    new: &Value,
    old: Option<&Value>,
) -> Vec<FieldCause> {
    let type_meta = validate_type_meta(target, new);
    if !type_meta.is_empty() {
        return type_meta;
    }
    let mut causes = Vec::new();
    let root = OpenApiWalk {
        ratchet: old.is_some(),
        base: FieldPath::root(),
    };
    causes.extend(root.node(target.schema, new, "", old, true));
    if let Some(scale) = target.scale {
        validate_scale_spec(scale, new, &mut causes);
        validate_scale_status(scale, new, &mut causes);
    }
    let old_lists_clean = old.is_none_or(|o| list_duplicates(target.schema, o).is_empty());
    if old_lists_clean {
        causes.extend(list_duplicates(target.schema, new));
    }
    if causes.iter().any(FieldCause::blocks_cel) {
        causes.push(FieldCause::invalid(
            &FieldPath::root(),
            &Value::Null,
            "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
        ));
    } else {
        cel::evaluate(target.schema, new, old, &mut causes);
    }
    causes
}

/// `ValidateDefaults` for one `default`: it must survive pruning and pass the
/// OpenAPI validation of its own schema node (paths below `<node>.default`).
pub(crate) fn validate_default(
    schema: &Schema,
    default: &Value,
    path: &FieldPath,
) -> Vec<FieldCause> {
    let mut pruned = default.clone();
    super::prune::prune_value(&mut pruned, schema);
    if &pruned != default {
        return vec![FieldCause::invalid(
            path,
            default,
            "must not have unknown fields",
        )];
    }
    let walk = OpenApiWalk {
        ratchet: false,
        base: path.clone(),
    };
    walk.node(schema, default, "", None, false)
}

/// `customResourceValidator.ValidateTypeMeta`.
fn validate_type_meta(target: &Target<'_>, obj: &Value) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind != target.kind {
        causes.push(FieldCause::invalid(
            &FieldPath::new("kind"),
            &Value::String(kind.to_owned()),
            &format!("must be {}", target.kind),
        ));
    }
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let expected = format!("{}/{}", target.group, target.version);
    if api_version != expected {
        causes.push(FieldCause::invalid(
            &FieldPath::new("apiVersion"),
            &Value::String(api_version.to_owned()),
            &format!("must be {expected}"),
        ));
    }
    causes
}

/// `ValidateScaleSpec`: `specReplicasPath` must hold a non-negative int32.
fn validate_scale_spec(
    scale: &CustomResourceSubresourceScale,
    obj: &Value,
    causes: &mut Vec<FieldCause>,
) {
    validate_replicas_path(&scale.spec_replicas_path, obj, causes);
}

/// `ValidateScaleStatus`: `statusReplicasPath` as above, `labelSelectorPath` a string.
fn validate_scale_status(
    scale: &CustomResourceSubresourceScale,
    obj: &Value,
    causes: &mut Vec<FieldCause>,
) {
    validate_replicas_path(&scale.status_replicas_path, obj, causes);
    if let Some(selector_path) = &scale.label_selector_path {
        let (found, value) = nested(obj, selector_path);
        if found && !value.is_some_and(Value::is_string) {
            let shown = value.cloned().unwrap_or(Value::Null);
            causes.push(FieldCause::invalid(
                &FieldPath::new(selector_path),
                &Value::String(String::new()),
                &accessor_error(selector_path, &shown, "string"),
            ));
        }
    }
}

fn validate_replicas_path(json_path: &str, obj: &Value, causes: &mut Vec<FieldCause>) {
    let field = FieldPath::new(json_path);
    let (found, value) = nested(obj, json_path);
    if !found {
        return;
    }
    let shown = value.cloned().unwrap_or(Value::Null);
    match value.and_then(Value::as_i64) {
        Some(replicas) if replicas < 0 => causes.push(FieldCause::invalid(
            &field,
            &Value::from(replicas),
            "should be a non-negative integer",
        )),
        Some(replicas) if replicas > i64::from(i32::MAX) => causes.push(FieldCause::invalid(
            &field,
            &Value::from(replicas),
            &format!("should be less than or equal to {}", i32::MAX),
        )),
        Some(_) => {}
        None => causes.push(FieldCause::invalid(
            &field,
            &Value::from(0),
            &accessor_error(json_path, &shown, "int64"),
        )),
    }
}

/// `unstructured.NestedInt64/NestedString`'s type error text.
fn accessor_error(json_path: &str, value: &Value, expected: &str) -> String {
    let go_type = match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    };
    let shown = match value {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".to_owned(),
        other => other.to_string(),
    };
    let dotted = format!(".{}", json_path.trim_start_matches('.'));
    format!("{dotted} accessor error: {shown} is of the type {go_type}, expected {expected}")
}

/// Follows a `.a.b` path; returns whether the last member exists and its value.
fn nested<'a>(obj: &'a Value, json_path: &str) -> (bool, Option<&'a Value>) {
    let mut current = obj;
    for segment in json_path.trim_start_matches('.').split('.') {
        match current.get(segment) {
            Some(next) => current = next,
            None => return (false, None),
        }
    }
    (true, Some(current))
}

/// `structurallisttype.ValidateListSetsAndMaps`: duplicates in set and map lists.
fn list_duplicates(schema: &Schema, obj: &Value) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    if let Some(map) = obj.as_object() {
        walk_lists(schema, map, &FieldPath::root(), &mut causes);
    }
    causes
}

fn walk_lists(
    schema: &Schema,
    map: &serde_json::Map<String, Value>,
    path: &FieldPath,
    causes: &mut Vec<FieldCause>,
) {
    for (k, v) in map {
        if let Some(value_schema) = schema.additional_schema() {
            lists_in_value(value_schema, v, &path.key(k), causes);
        }
        if let Some(prop) = schema.properties.get(k) {
            lists_in_value(prop, v, &path.child(k), causes);
        }
    }
}

fn lists_in_value(schema: &Schema, value: &Value, path: &FieldPath, causes: &mut Vec<FieldCause>) {
    match value {
        Value::Array(items) => {
            match schema.list_type.as_deref() {
                Some("set") => {
                    for i in duplicate_indices(items) {
                        causes.push(FieldCause::duplicate(&path.index(i), &items[i]));
                    }
                }
                Some("map") => map_list_duplicates(schema, items, path, causes),
                _ => {}
            }
            if let Some(item_schema) = schema.items.as_deref() {
                for (i, item) in items.iter().enumerate() {
                    lists_in_value(item_schema, item, &path.index(i), causes);
                }
            }
        }
        Value::Object(map) => walk_lists(schema, map, path, causes),
        _ => {}
    }
}

/// Indices of the second occurrence of each repeated value (`validateListSet`).
fn duplicate_indices(items: &[Value]) -> Vec<usize> {
    let mut seen: Vec<(&Value, usize)> = Vec::new();
    let mut dups = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match seen.iter_mut().find(|(v, _)| *v == item) {
            Some((_, times)) => {
                *times += 1;
                if *times == 2 {
                    dups.push(i);
                }
            }
            None => seen.push((item, 1)),
        }
    }
    dups
}

/// `validateListMap`: items must be objects, key tuples unique.
fn map_list_duplicates(
    schema: &Schema,
    items: &[Value],
    path: &FieldPath,
    causes: &mut Vec<FieldCause>,
) {
    for (i, item) in items.iter().enumerate() {
        if !item.is_null() && !item.is_object() {
            causes.push(FieldCause::invalid(
                &path.index(i),
                item,
                "must be an object for an array of list-type map",
            ));
            return;
        }
    }
    let keys: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut key = serde_json::Map::new();
            for k in &schema.list_map_keys {
                if let Some(v) = item.get(k) {
                    key.insert(k.clone(), v.clone());
                }
            }
            Value::Object(key)
        })
        .collect();
    for i in duplicate_indices(&keys) {
        causes.push(FieldCause::duplicate(&path.index(i), &keys[i]));
    }
}

/// kube-openapi's `SchemaValidator`, with apiextensions' conversion to causes and
/// its ratcheting wrapper.
struct OpenApiWalk {
    ratchet: bool,
    /// Where the validated value sits (the root, or a schema `default`).
    base: FieldPath,
}

/// The JSON type kube-openapi infers for a decoded value.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_message(name: &str, expected: &str, actual: &str) -> String {
    format!(
        "{name} in body must be of type {expected}: {}",
        go_quote(actual)
    )
}

impl OpenApiWalk {
    /// `kubeOpenAPIResultToFieldErrors`'s path: the go-openapi name without its
    /// leading dot, appended as one child of the base (the base when empty).
    fn err_path(&self, name: &str) -> FieldPath {
        if name.is_empty() || name == "." {
            self.base.clone()
        } else {
            self.base.child(name.trim_start_matches('.'))
        }
    }

    /// Validates one value; `old` is its correlated old value (ratcheting only).
    fn node(
        &self,
        schema: &Schema,
        data: &Value,
        name: &str,
        old: Option<&Value>,
        correlated: bool,
    ) -> Vec<FieldCause> {
        let mut errs = Vec::new();
        self.check_type(schema, data, name, &mut errs);
        if !data.is_null() {
            self.check_composition(schema, data, name, &mut errs);
            if let Value::String(s) = data {
                self.check_string(schema, s, name, &mut errs);
                if let Some(format) = &schema.format
                    && !string_format::matches(format, s)
                {
                    errs.push(FieldCause::type_invalid(
                        &self.err_path(name),
                        data,
                        &format!("{name} in body must be of type {format}: {}", go_quote(s)),
                    ));
                }
            }
            if let Value::Number(n) = data {
                self.check_number(schema, n, data, name, &mut errs);
            }
            if let Value::Array(items) = data {
                self.check_array(schema, items, name, old, &mut errs);
            }
        }
        self.check_enum(schema, data, name, &mut errs);
        if let Value::Object(map) = data {
            self.check_object(schema, map, name, old, &mut errs);
        }
        if self.ratchet && correlated && old == Some(data) {
            // Ratcheting: failures inside an unchanged value are not errors.
            return Vec::new();
        }
        errs
    }

    fn check_type(&self, schema: &Schema, data: &Value, name: &str, errs: &mut Vec<FieldCause>) {
        let types: Vec<&str> = if schema.int_or_string {
            vec!["integer", "string"]
        } else {
            schema.type_.as_deref().into_iter().collect()
        };
        if types.is_empty() {
            return;
        }
        let expected = types.join(",");
        if data.is_null() {
            if !schema.nullable {
                errs.push(FieldCause::type_invalid(
                    &self.err_path(name),
                    &Value::String("null".to_owned()),
                    &type_message(name, &expected, "null"),
                ));
            }
            return;
        }
        let actual = json_type(data);
        let numeric_schema = types.contains(&"number") || types.contains(&"integer");
        if schema.format.is_some()
            && !numeric_schema
            && matches!(data, Value::String(_) | Value::Array(_))
        {
            return;
        }
        let float_int = actual == "number"
            && data
                .as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0)
            && types.contains(&"integer");
        let int_float = actual == "integer" && types.contains(&"number");
        if !(types.contains(&actual) || float_int || int_float) {
            errs.push(FieldCause::type_invalid(
                &self.err_path(name),
                &Value::String(actual.to_owned()),
                &type_message(name, &expected, actual),
            ));
        }
    }

    /// `schemaPropsValidator`: anyOf, oneOf, allOf, not. Composite failures carry
    /// no field (`<nil>`), as apiextensions converts go-openapi's plain errors.
    fn check_composition(
        &self,
        schema: &Schema,
        data: &Value,
        name: &str,
        errs: &mut Vec<FieldCause>,
    ) {
        let composite =
            |text: String| FieldCause::invalid(&self.base, &Value::String(String::new()), &text);
        if !schema.any_of.is_empty() {
            let results: Vec<Vec<FieldCause>> = schema
                .any_of
                .iter()
                .map(|b| self.node(b, data, name, None, false))
                .collect();
            if !results.iter().any(Vec::is_empty) {
                errs.push(composite(format!(
                    "{} must validate at least one schema (anyOf)",
                    go_quote(name)
                )));
                if let Some(first) = results.into_iter().next() {
                    errs.extend(first);
                }
            }
        }
        if !schema.one_of.is_empty() {
            let results: Vec<Vec<FieldCause>> = schema
                .one_of
                .iter()
                .map(|b| self.node(b, data, name, None, false))
                .collect();
            let valid = results.iter().filter(|r| r.is_empty()).count();
            if valid != 1 {
                let detail = if valid == 0 {
                    "Found none valid".to_owned()
                } else {
                    format!("Found {valid} valid alternatives")
                };
                errs.push(composite(format!(
                    "{} must validate one and only one schema (oneOf). {detail}",
                    go_quote(name)
                )));
                if valid == 0
                    && let Some(first) = results.into_iter().next()
                {
                    errs.extend(first);
                }
            }
        }
        if !schema.all_of.is_empty() {
            let mut validated = 0;
            for branch in &schema.all_of {
                let result = self.node(branch, data, name, None, false);
                if result.is_empty() {
                    validated += 1;
                }
                errs.extend(result);
            }
            if validated != schema.all_of.len() {
                let suffix = if validated == 0 {
                    ". None validated"
                } else {
                    ""
                };
                errs.push(composite(format!(
                    "{} must validate all the schemas (allOf){suffix}",
                    go_quote(name)
                )));
            }
        }
        if let Some(not) = &schema.not
            && self.node(not, data, name, None, false).is_empty()
        {
            errs.push(composite(format!(
                "{} must not validate the schema (not)",
                go_quote(name)
            )));
        }
    }

    fn check_array(
        &self,
        schema: &Schema,
        items: &[Value],
        name: &str,
        old: Option<&Value>,
        errs: &mut Vec<FieldCause>,
    ) {
        if let Some(item_schema) = schema.items.as_deref() {
            let old_items = old.and_then(Value::as_array);
            for (i, item) in items.iter().enumerate() {
                let old_item = match (schema.list_type.as_deref(), old_items) {
                    (Some("map"), Some(old_items)) => old_items
                        .iter()
                        .find(|o| schema.list_map_keys.iter().all(|k| o.get(k) == item.get(k))),
                    _ => None,
                };
                errs.extend(self.node(
                    item_schema,
                    item,
                    &format!("{name}[{i}]"),
                    old_item,
                    old_item.is_some(),
                ));
            }
        }
        let size = items.len() as i64;
        if let Some(min) = schema.min_items
            && size < min
        {
            errs.push(FieldCause::invalid(
                &self.err_path(name),
                &Value::from(size),
                &format!("{name} in body should have at least {min} items"),
            ));
        }
        if let Some(max) = schema.max_items
            && size > max
        {
            errs.push(FieldCause::too_many(
                &self.err_path(name),
                Some(size),
                Some(max),
            ));
        }
    }

    fn check_object(
        &self,
        schema: &Schema,
        map: &serde_json::Map<String, Value>,
        name: &str,
        old: Option<&Value>,
        errs: &mut Vec<FieldCause>,
    ) {
        let count = map.len() as i64;
        if let Some(min) = schema.min_properties
            && count < min
        {
            errs.push(FieldCause::invalid(
                &self.err_path(name),
                &Value::from(count),
                &format!("{name} in body should have at least {min} properties"),
            ));
        }
        if let Some(max) = schema.max_properties
            && count > max
        {
            errs.push(FieldCause::too_many(
                &self.err_path(name),
                Some(count),
                Some(max),
            ));
        }
        let old_map = old.and_then(Value::as_object);
        let child_name = |key: &str| {
            if name.is_empty() {
                key.to_owned()
            } else {
                format!("{name}.{key}")
            }
        };
        match &schema.additional_properties {
            Some(AdditionalProperties::Allows(false)) => {
                for key in map.keys().filter(|k| !schema.properties.contains_key(*k)) {
                    errs.push(FieldCause::invalid(
                        &self.err_path(name),
                        &Value::String(key.clone()),
                        &format!("{name}.{key} in body is a forbidden property"),
                    ));
                }
            }
            Some(AdditionalProperties::Schema(value_schema)) => {
                for (key, value) in map
                    .iter()
                    .filter(|(k, _)| !schema.properties.contains_key(*k))
                {
                    let old_value = old_map.and_then(|m| m.get(key));
                    errs.extend(self.node(
                        value_schema,
                        value,
                        &format!("{name}.{key}"),
                        old_value,
                        old_value.is_some(),
                    ));
                }
            }
            _ => {}
        }
        for (prop_name, prop_schema) in &schema.properties {
            if let Some(value) = map.get(prop_name) {
                // Type meta fields at the root never ratchet.
                let type_meta =
                    name.is_empty() && matches!(prop_name.as_str(), "apiVersion" | "kind");
                let old_value = old_map
                    .and_then(|m| m.get(prop_name))
                    .filter(|_| !type_meta);
                errs.extend(self.node(
                    prop_schema,
                    value,
                    &child_name(prop_name),
                    old_value,
                    old_value.is_some(),
                ));
            }
        }
        for required in &schema.required {
            if !map.contains_key(required) {
                errs.push(FieldCause::required(
                    &self.err_path(&format!("{name}.{required}")),
                    "",
                ));
            }
        }
    }
}

impl OpenApiWalk {
    /// `stringValidator`: the first failing of maxLength, minLength, pattern.
    fn check_string(&self, schema: &Schema, s: &str, name: &str, errs: &mut Vec<FieldCause>) {
        let length = s.chars().count() as i64;
        let path = self.err_path(name);
        if let Some(max) = schema.max_length
            && length > max
        {
            errs.push(FieldCause::too_long(&path, Some(max)));
        } else if let Some(min) = schema.min_length
            && length < min
        {
            errs.push(FieldCause::invalid(
                &path,
                &Value::String(s.to_owned()),
                &format!("{name} in body should be at least {min} chars long"),
            ));
        } else if let Some((pattern, re)) = &schema.pattern
            && !re.is_match(s)
        {
            errs.push(FieldCause::invalid(
                &path,
                &Value::String(s.to_owned()),
                &format!("{name} in body should match '{pattern}'"),
            ));
        }
    }

    /// `numberValidator`: multipleOf, minimum, maximum (in that order), compared in
    /// the value's native type as `*NativeType` does.
    fn check_number(
        &self,
        schema: &Schema,
        n: &serde_json::Number,
        data: &Value,
        name: &str,
        errs: &mut Vec<FieldCause>,
    ) {
        let path = self.err_path(name);
        let as_int = n.as_i64();
        let as_float = n.as_f64().unwrap_or_default();
        if let Some(factor) = schema.multiple_of {
            let failed = match as_int {
                Some(i) if factor.fract() == 0.0 && factor != 0.0 => i % (factor as i64) != 0,
                _ => {
                    let mult = if factor < 1.0 {
                        (1.0 / factor) * as_float
                    } else {
                        as_float / factor
                    };
                    mult.fract() != 0.0
                }
            };
            if failed {
                errs.push(FieldCause::invalid(
                    &path,
                    data,
                    &format!(
                        "{name} in body should be a multiple of {}",
                        go_float(factor)
                    ),
                ));
            }
        }
        if let Some(min) = schema.minimum {
            let exclusive = schema.exclusive_minimum;
            let (failed, shown) = match as_int {
                Some(i) => {
                    let bound = min as i64;
                    (
                        (!exclusive && i < bound) || (exclusive && i <= bound),
                        bound.to_string(),
                    )
                }
                None => (
                    (!exclusive && as_float < min) || (exclusive && as_float <= min),
                    go_float(min),
                ),
            };
            if failed {
                let relation = if exclusive {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                errs.push(FieldCause::invalid(
                    &path,
                    data,
                    &format!("{name} in body should be {relation} {shown}"),
                ));
            }
        }
        if let Some(max) = schema.maximum {
            let exclusive = schema.exclusive_maximum;
            let (failed, shown) = match as_int {
                Some(i) => {
                    let bound = max as i64;
                    (
                        (!exclusive && i > bound) || (exclusive && i >= bound),
                        bound.to_string(),
                    )
                }
                None => (
                    (!exclusive && as_float > max) || (exclusive && as_float >= max),
                    go_float(max),
                ),
            };
            if failed {
                let relation = if exclusive {
                    "less than"
                } else {
                    "less than or equal to"
                };
                errs.push(FieldCause::invalid(
                    &path,
                    data,
                    &format!("{name} in body should be {relation} {shown}"),
                ));
            }
        }
    }

    /// `basicCommonValidator`: enum membership, numbers compared by value.
    fn check_enum(&self, schema: &Schema, data: &Value, name: &str, errs: &mut Vec<FieldCause>) {
        let Some(allowed) = &schema.enum_values else {
            return;
        };
        if allowed.is_empty() {
            return;
        }
        let matches = allowed.iter().any(|candidate| match (candidate, data) {
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (a, b) => a == b,
        });
        if !matches {
            let supported: Vec<String> = allowed
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            errs.push(FieldCause::not_supported(
                &self.err_path(name),
                data,
                &supported,
            ));
        }
    }
}
