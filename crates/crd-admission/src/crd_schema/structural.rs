//! A CRD version's `openAPIV3Schema` parsed into a structural schema tree, with the
//! API server's checks that decide whether the CRD is accepted.
//!
//! Place: step one of the CRD engine. `CompiledCrd::new` parses every version's
//! schema here once; pruning, defaulting, OpenAPI validation and CEL then walk the
//! resulting [`Schema`] tree instead of raw JSON.
//!
//! The checks mirror apiextensions-apiserver v0.33: `ValidateCustomResourceDefinitionOpenAPISchema`
//! and `specStandardValidatorV3` (unsupported keywords, list/map extensions,
//! `x-kubernetes-validations` shape) and `schema.ValidateStructural` (every node typed,
//! value validations free of generics, metadata restricted to name/generateName).
//! Structural findings are sorted by their text, as `ValidateStructural` sorts them.
//!
//! Must not: evaluate objects (that is prune/default/validate), read clocks or files.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;
use serde_json::Value;

use crate::cel::{self, CompiledRule, RuleSource};
use crate::field_cause::{FieldCause, FieldPath};

/// The OpenAPI v3 types a CRD schema may use (`openapiV3Types`, sorted as Go lists them).
const OPENAPI_V3_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

/// Formats apiextensions keeps; any other `format` is stripped before validation
/// (`StripUnsupportedFormatsPostProcessorForVersion`, names normalised without `-`).
const SUPPORTED_FORMATS: [&str; 24] = [
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

/// Keywords the API server forbids in CRD schemas, with their messages.
const UNSUPPORTED_KEYWORDS: [(&str, &str); 6] = [
    ("id", "id is not supported"),
    ("additionalItems", "additionalItems is not supported"),
    ("patternProperties", "patternProperties is not supported"),
    ("definitions", "definitions is not supported"),
    ("dependencies", "dependencies is not supported"),
    ("$ref", "$ref is not supported"),
];

/// Validation reasons a CEL rule may declare (`supportedValidationReason`).
const SUPPORTED_RULE_REASONS: [&str; 4] = [
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

/// `additionalProperties`: either a boolean or a schema.
#[derive(Debug)]
pub(crate) enum AdditionalProperties {
    /// `additionalProperties: true|false`.
    Allows(bool),
    /// `additionalProperties: {...}`.
    Schema(Box<Schema>),
}

/// One node of a structural schema. Nested value validations (`allOf`, `anyOf`,
/// `oneOf`, `not`) reuse the type; structural rules keep them free of generics.
#[derive(Debug, Default)]
pub(crate) struct Schema {
    pub(crate) type_: Option<String>,
    /// The format after apiextensions stripped unsupported ones.
    pub(crate) format: Option<String>,
    pub(crate) nullable: bool,
    pub(crate) default: Option<Value>,
    pub(crate) enum_values: Option<Vec<Value>>,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_maximum: bool,
    pub(crate) minimum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) multiple_of: Option<f64>,
    pub(crate) max_length: Option<i64>,
    pub(crate) min_length: Option<i64>,
    pub(crate) pattern: Option<(String, Regex)>,
    pub(crate) max_items: Option<i64>,
    pub(crate) min_items: Option<i64>,
    pub(crate) max_properties: Option<i64>,
    pub(crate) min_properties: Option<i64>,
    pub(crate) required: Vec<String>,
    pub(crate) properties: BTreeMap<String, Schema>,
    pub(crate) additional_properties: Option<AdditionalProperties>,
    pub(crate) items: Option<Box<Schema>>,
    pub(crate) all_of: Vec<Schema>,
    pub(crate) any_of: Vec<Schema>,
    pub(crate) one_of: Vec<Schema>,
    pub(crate) not: Option<Box<Schema>>,
    pub(crate) preserve_unknown_fields: bool,
    pub(crate) embedded_resource: bool,
    pub(crate) int_or_string: bool,
    pub(crate) list_type: Option<String>,
    pub(crate) list_map_keys: Vec<String>,
    pub(crate) map_type: Option<String>,
    /// Compiled `x-kubernetes-validations`, in declaration order.
    pub(crate) rules: Vec<CompiledRule>,
}

impl Schema {
    /// The schema of a property or map value, as pruning and defaulting resolve it.
    pub(crate) fn field_schema(&self, key: &str) -> Option<&Schema> {
        self.properties
            .get(key)
            .or(match &self.additional_properties {
                Some(AdditionalProperties::Schema(s)) => Some(s),
                _ => None,
            })
    }

    /// The `additionalProperties` schema, if it is one.
    pub(crate) fn additional_schema(&self) -> Option<&Schema> {
        match &self.additional_properties {
            Some(AdditionalProperties::Schema(s)) => Some(s),
            _ => None,
        }
    }

    /// The type a CEL failure names as its bad value (`sts.Type`), `""` when untyped.
    pub(crate) fn type_name(&self) -> &str {
        self.type_.as_deref().unwrap_or("")
    }

    /// True when any node below (or this one) carries CEL rules.
    pub(crate) fn has_rules(&self) -> bool {
        !self.rules.is_empty()
            || self.properties.values().any(Schema::has_rules)
            || self.items.as_deref().is_some_and(Schema::has_rules)
            || self.additional_schema().is_some_and(Schema::has_rules)
            || self.all_of.iter().any(Schema::has_rules)
    }
}

/// Where a node sits, for the structural "type must not be empty" rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// The inherited restrictions of `specStandardValidatorV3` while descending.
#[derive(Clone, Debug)]
struct Context {
    /// `Some(reason)` when defaults are forbidden here (top-level metadata).
    forbidden_defaults: Option<String>,
    inside_resource_meta: bool,
    /// The highest path below which `oldSelf` cannot be correlated.
    uncorrelatable_old_self: Option<FieldPath>,
}

/// The findings of parsing one schema, kept apart because the API server reports
/// structural errors (sorted) before the OpenAPI ones, and CEL compile errors last.
#[derive(Debug, Default)]
struct Findings {
    structural: Vec<FieldCause>,
    openapi: Vec<FieldCause>,
    cel: Vec<FieldCause>,
    /// Compiled patterns by source: generated CRDs repeat the same few patterns
    /// (quantities) hundreds of times, and `Regex` clones share the program.
    patterns: HashMap<String, Regex>,
}

/// Parses a version's `openAPIV3Schema` (`path` is where it sits in the CRD, e.g.
/// `spec.versions[0].schema.openAPIV3Schema`) and returns the tree or every reason
/// the API server would give for rejecting it.
pub(crate) fn parse_root(json: &Value, path: &FieldPath) -> Result<Schema, Vec<FieldCause>> {
    let mut findings = Findings::default();
    let ctx = Context {
        forbidden_defaults: None,
        inside_resource_meta: false,
        uncorrelatable_old_self: None,
    };
    if json.get("nullable").and_then(Value::as_bool) == Some(true) {
        findings.openapi.push(FieldCause::forbidden(
            &path.child("nullable"),
            "nullable cannot be true at the root",
        ));
    }
    let schema = parse_node(json, path, Level::Root, true, &ctx, &mut findings);
    findings.structural.sort_by_key(|cause| cause.to_string());
    let mut causes = findings.structural;
    causes.append(&mut findings.openapi);
    causes.append(&mut findings.cel);
    if causes.is_empty() {
        Ok(schema)
    } else {
        Err(causes)
    }
}

fn parse_node(
    json: &Value,
    path: &FieldPath,
    level: Level,
    is_root: bool,
    ctx: &Context,
    findings: &mut Findings,
) -> Schema {
    let Some(obj) = json.as_object() else {
        findings
            .openapi
            .push(FieldCause::invalid(path, json, "must be a schema object"));
        return Schema::default();
    };
    let mut schema = parse_value_keywords(json, path, findings);
    check_openapi_keywords(json, path, ctx, findings);

    schema.nullable = bool_field(json, "nullable");
    schema.default = obj.get("default").cloned();
    schema.preserve_unknown_fields = bool_field(json, "x-kubernetes-preserve-unknown-fields");
    schema.embedded_resource = bool_field(json, "x-kubernetes-embedded-resource");
    schema.int_or_string = bool_field(json, "x-kubernetes-int-or-string");
    schema.list_type = str_field(json, "x-kubernetes-list-type");
    schema.map_type = str_field(json, "x-kubernetes-map-type");
    schema.list_map_keys = obj
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();

    // Children: properties, additionalProperties, items.
    let map_correlatable = matches!(
        schema.map_type.as_deref(),
        None | Some("granular" | "atomic")
    );
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            let mut child_ctx = ctx.clone();
            if !map_correlatable {
                forbid_old_self(&mut child_ctx, path);
            }
            if (is_root || schema.embedded_resource)
                && matches!(name.as_str(), "metadata" | "kind" | "apiVersion")
            {
                child_ctx.inside_resource_meta = true;
                if is_root {
                    child_ctx.forbidden_defaults = Some(format!("in top-level {name}"));
                }
            }
            let child_path = path.child("properties").key(name);
            let parsed = parse_node(
                child,
                &child_path,
                Level::Field,
                false,
                &child_ctx,
                findings,
            );
            schema.properties.insert(name.clone(), parsed);
        }
    }
    match obj.get("additionalProperties") {
        Some(Value::Bool(allows)) => {
            schema.additional_properties = Some(AdditionalProperties::Allows(*allows));
        }
        Some(child @ Value::Object(_)) => {
            let mut child_ctx = ctx.clone();
            if ctx.inside_resource_meta {
                child_ctx.forbidden_defaults =
                    Some("inside additionalProperties applying to object metadata".to_owned());
            }
            let child_path = path.child("additionalProperties");
            let parsed = parse_node(
                child,
                &child_path,
                Level::Field,
                false,
                &child_ctx,
                findings,
            );
            schema.additional_properties = Some(AdditionalProperties::Schema(Box::new(parsed)));
        }
        _ => {}
    }
    if let Some(items) = obj.get("items").filter(|i| i.is_object()) {
        let mut child_ctx = ctx.clone();
        if schema.list_type.as_deref() != Some("map") {
            forbid_old_self(&mut child_ctx, path);
        }
        let parsed = parse_node(
            items,
            &path.child("items"),
            Level::Item,
            false,
            &child_ctx,
            findings,
        );
        schema.items = Some(Box::new(parsed));
    }
    for (keyword, target) in [("allOf", 0), ("anyOf", 1), ("oneOf", 2)] {
        if let Some(branches) = obj.get(keyword).and_then(Value::as_array) {
            let before = findings.structural.len();
            let parsed: Vec<Schema> = branches
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    parse_nested(
                        b,
                        &path.child(keyword).index(i),
                        keyword != "allOf",
                        keyword == "allOf" && i == 0,
                        findings,
                    )
                })
                .collect();
            if keyword == "anyOf" && is_int_or_string_any_of(json) {
                // `isIntOrStringAnyOfPattern`: controller-gen's int-or-string anyOf is allowed.
                findings.structural.truncate(before);
            }
            match target {
                0 => schema.all_of = parsed,
                1 => schema.any_of = parsed,
                _ => schema.one_of = parsed,
            }
        }
    }
    if let Some(not) = obj.get("not") {
        schema.not = Some(Box::new(parse_nested(
            not,
            &path.child("not"),
            true,
            false,
            findings,
        )));
    }

    check_extensions(&schema, json, path, findings);
    check_structural_invariants(&schema, json, path, level, is_root, findings);
    schema.rules = parse_rules(json, &schema, path, ctx, findings);
    schema
}

/// Parses a nested value validation (`allOf`/`anyOf`/`oneOf`/`not` branch), which
/// must not carry generic keywords or extensions (`validateNestedValueValidation`).
fn parse_nested(
    json: &Value,
    path: &FieldPath,
    cel_disabled: bool,
    first_all_of: bool,
    findings: &mut Findings,
) -> Schema {
    let Some(obj) = json.as_object() else {
        findings
            .openapi
            .push(FieldCause::invalid(path, json, "must be a schema object"));
        return Schema::default();
    };
    let mut schema = parse_value_keywords(json, path, findings);
    let forbidden: [(&str, &str); 13] = [
        ("type", "must be empty to be structural"),
        ("default", "must be undefined to be structural"),
        ("title", "must be empty to be structural"),
        ("description", "must be empty to be structural"),
        ("nullable", "must be false to be structural"),
        (
            "x-kubernetes-preserve-unknown-fields",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-embedded-resource",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-int-or-string",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        ),
        (
            "x-kubernetes-list-type",
            "must be undefined to be structural",
        ),
        (
            "x-kubernetes-map-type",
            "must be undefined to be structural",
        ),
        ("additionalProperties", "must be undefined to be structural"),
        ("x-kubernetes-validations", "must be empty to be structural"),
    ];
    for (keyword, detail) in forbidden {
        let present = match obj.get(keyword) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        // Rules are allowed inside allOf (`AllowNestedXValidations` is only lifted there).
        let allowed = keyword == "x-kubernetes-validations" && !cel_disabled;
        if present && !allowed {
            findings
                .structural
                .push(FieldCause::forbidden(&path.child(keyword), detail));
        }
    }
    if obj
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| p.contains_key("metadata"))
    {
        findings.structural.push(FieldCause::forbidden(
            &path.child("properties").key("metadata"),
            "must not be specified in a nested context",
        ));
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            let parsed = parse_nested(
                child,
                &path.child("properties").key(name),
                cel_disabled,
                false,
                findings,
            );
            schema.properties.insert(name.clone(), parsed);
        }
    }
    if let Some(items) = obj.get("items").filter(|i| i.is_object()) {
        schema.items = Some(Box::new(parse_nested(
            items,
            &path.child("items"),
            cel_disabled,
            false,
            findings,
        )));
    }
    for (keyword, target) in [("allOf", 0), ("anyOf", 1), ("oneOf", 2)] {
        if let Some(branches) = obj.get(keyword).and_then(Value::as_array) {
            let before = findings.structural.len();
            let parsed: Vec<Schema> = branches
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    parse_nested(
                        b,
                        &path.child(keyword).index(i),
                        cel_disabled || keyword != "allOf",
                        false,
                        findings,
                    )
                })
                .collect();
            if keyword == "anyOf" && first_all_of && is_int_or_string_any_of(json) {
                // `isIntOrStringAllOfPattern`: the pattern may also sit in `allOf[0]`.
                findings.structural.truncate(before);
            }
            match target {
                0 => schema.all_of = parsed,
                1 => schema.any_of = parsed,
                _ => schema.one_of = parsed,
            }
        }
    }
    if let Some(not) = obj.get("not") {
        schema.not = Some(Box::new(parse_nested(
            not,
            &path.child("not"),
            true,
            false,
            findings,
        )));
    }
    if !cel_disabled {
        let ctx = Context {
            forbidden_defaults: None,
            inside_resource_meta: false,
            uncorrelatable_old_self: None,
        };
        schema.rules = parse_rules(json, &schema, path, &ctx, findings);
    }
    schema
}

/// The value-validation keywords shared by regular and nested nodes.
fn parse_value_keywords(json: &Value, path: &FieldPath, findings: &mut Findings) -> Schema {
    let mut schema = Schema {
        type_: str_field(json, "type"),
        enum_values: json.get("enum").and_then(Value::as_array).cloned(),
        maximum: json.get("maximum").and_then(Value::as_f64),
        exclusive_maximum: bool_field(json, "exclusiveMaximum"),
        minimum: json.get("minimum").and_then(Value::as_f64),
        exclusive_minimum: bool_field(json, "exclusiveMinimum"),
        multiple_of: json.get("multipleOf").and_then(Value::as_f64),
        max_length: json.get("maxLength").and_then(Value::as_i64),
        min_length: json.get("minLength").and_then(Value::as_i64),
        max_items: json.get("maxItems").and_then(Value::as_i64),
        min_items: json.get("minItems").and_then(Value::as_i64),
        max_properties: json.get("maxProperties").and_then(Value::as_i64),
        min_properties: json.get("minProperties").and_then(Value::as_i64),
        required: json
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        ..Schema::default()
    };
    schema.format = str_field(json, "format")
        .filter(|f| SUPPORTED_FORMATS.contains(&f.replace('-', "").as_str()));
    if let Some(pattern) = str_field(json, "pattern").filter(|p| !p.is_empty()) {
        let compiled = match findings.patterns.get(&pattern) {
            Some(re) => Ok(re.clone()),
            None => Regex::new(&pattern),
        };
        match compiled {
            Ok(re) => {
                findings.patterns.insert(pattern.clone(), re.clone());
                schema.pattern = Some((pattern, re));
            }
            Err(err) => findings.structural.push(FieldCause::invalid(
                &path.child("pattern"),
                &Value::String(pattern.clone()),
                &format!("must be a valid regular expression, but isn't: {err}"),
            )),
        }
    }
    schema
}

/// `specStandardValidatorV3.validate` plus the per-node checks of
/// `ValidateCustomResourceDefinitionOpenAPISchema` that do not depend on children.
fn check_openapi_keywords(json: &Value, path: &FieldPath, ctx: &Context, findings: &mut Findings) {
    let errs = &mut findings.openapi;
    if let Some(type_) = json.get("type") {
        let name = type_.as_str().unwrap_or_default();
        if !name.is_empty() && !OPENAPI_V3_TYPES.contains(&name) {
            errs.push(FieldCause::not_supported(
                &path.child("type"),
                type_,
                &OPENAPI_V3_TYPES,
            ));
        }
        if name == "null" {
            errs.push(FieldCause::forbidden(
                &path.child("type"),
                "type cannot be set to null, use nullable as an alternative",
            ));
        }
    }
    if json.get("default").is_some()
        && let Some(reason) = &ctx.forbidden_defaults
    {
        errs.push(FieldCause::forbidden(
            &path.child("default"),
            &format!("must not be set {reason}"),
        ));
    }
    for (keyword, detail) in UNSUPPORTED_KEYWORDS {
        let present = match json.get(keyword) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Object(o)) => {
                !o.is_empty() || keyword == "$ref" || keyword == "additionalItems"
            }
            Some(_) => true,
        };
        if present {
            errs.push(FieldCause::forbidden(&path.child(keyword), detail));
        }
    }
    if json.get("items").is_some_and(Value::is_array) {
        errs.push(FieldCause::forbidden(
            &path.child("items"),
            "items must be a schema object and not an array",
        ));
    }
    if ctx.inside_resource_meta && bool_field(json, "x-kubernetes-embedded-resource") {
        errs.push(FieldCause::forbidden(
            &path.child("x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
    if bool_field(json, "uniqueItems") {
        errs.push(FieldCause::forbidden(
            &path.child("uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    let has_properties = json
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    match json.get("additionalProperties") {
        Some(Value::Bool(true)) | None => {}
        Some(_) if has_properties => errs.push(FieldCause::forbidden(
            &path.child("additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        )),
        Some(_) => {}
    }
}

/// The `x-kubernetes-*` extension checks of `ValidateCustomResourceDefinitionOpenAPISchema`.
fn check_extensions(schema: &Schema, json: &Value, path: &FieldPath, findings: &mut Findings) {
    let errs = &mut findings.openapi;
    let type_ = schema.type_name();
    if json.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        errs.push(FieldCause::invalid(
            &path.child("x-kubernetes-preserve-unknown-fields"),
            &Value::Bool(false),
            "must be true or undefined",
        ));
    }
    if let Some(map_type) = &schema.map_type {
        if type_ != "object" {
            errs.push(type_requirement(
                path,
                type_,
                "must be object if x-kubernetes-map-type is specified",
            ));
        }
        if map_type != "atomic" && map_type != "granular" {
            errs.push(FieldCause::not_supported(
                &path.child("x-kubernetes-map-type"),
                &Value::String(map_type.clone()),
                &["atomic", "granular"],
            ));
        }
    }
    if let Some(list_type) = &schema.list_type {
        if type_ != "array" {
            errs.push(type_requirement(
                path,
                type_,
                "must be array if x-kubernetes-list-type is specified",
            ));
        } else if list_type == "set"
            && let Some(items) = &schema.items
        {
            let atomic_items = match items.type_name() {
                "array" => items.list_type.as_deref().is_none_or(|t| t == "atomic"),
                "object" => items.map_type.as_deref() == Some("atomic"),
                _ => true,
            };
            if !atomic_items {
                let (child, value) = if items.type_name() == "array" {
                    ("x-kubernetes-list-type", items.list_type.clone())
                } else {
                    ("x-kubernetes-map-type", items.map_type.clone())
                };
                errs.push(FieldCause::invalid(
                    &path.child("items").child(child),
                    &value.map(Value::String).unwrap_or(Value::Null),
                    "must be atomic as item of a list with x-kubernetes-list-type=set",
                ));
            }
        }
        if !["atomic", "set", "map"].contains(&list_type.as_str()) {
            errs.push(FieldCause::not_supported(
                &path.child("x-kubernetes-list-type"),
                &Value::String(list_type.clone()),
                &["atomic", "set", "map"],
            ));
        }
    }
    if !schema.list_map_keys.is_empty() {
        match &schema.list_type {
            None => errs.push(FieldCause::required(
                &path.child("x-kubernetes-list-type"),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            Some(t) if t != "map" => errs.push(FieldCause::invalid(
                &path.child("x-kubernetes-list-type"),
                &Value::String(t.clone()),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            Some(_) => {}
        }
    }
    if schema.list_type.as_deref() == Some("map") {
        let keys_value = Value::Array(
            schema
                .list_map_keys
                .iter()
                .cloned()
                .map(Value::String)
                .collect(),
        );
        if schema.list_map_keys.is_empty() {
            errs.push(FieldCause::required(
                &path.child("x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match &schema.items {
            None => errs.push(FieldCause::required(
                &path.child("items"),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(items) if items.type_name() != "object" => errs.push(FieldCause::invalid(
                &path.child("items").child("type"),
                &Value::String(items.type_name().to_owned()),
                "must be object if parent array's x-kubernetes-list-type is map",
            )),
            Some(items) => {
                let mut seen: Vec<&str> = Vec::new();
                for key in &schema.list_map_keys {
                    match items.properties.get(key) {
                        Some(prop) if matches!(prop.type_name(), "array" | "object") => {
                            errs.push(FieldCause::invalid(
                                &path.child("items").child("properties").key(key).child("type"),
                                &Value::String(items.type_name().to_owned()),
                                "must be a scalar type if parent array's x-kubernetes-list-type is map",
                            ));
                        }
                        Some(_) => {}
                        None => errs.push(FieldCause::invalid(
                            &path.child("x-kubernetes-list-map-keys"),
                            &keys_value,
                            "entries must all be names of item properties",
                        )),
                    }
                    if seen.contains(&key.as_str()) {
                        errs.push(FieldCause::invalid(
                            &path.child("x-kubernetes-list-map-keys"),
                            &keys_value,
                            "must not contain duplicate entries",
                        ));
                    }
                    seen.push(key);
                }
            }
        }
    }
    // `validateMapListKeysMapSet`: set/map items not nullable; map keys required or defaulted.
    if let (Some(list_type @ ("set" | "map")), Some(items)) =
        (schema.list_type.as_deref(), &schema.items)
    {
        if items.nullable {
            errs.push(FieldCause::forbidden(
                &path.child("items").child("nullable"),
                &format!("cannot be nullable when x-kubernetes-list-type is {list_type}"),
            ));
        }
        if list_type == "map" {
            for key in &schema.list_map_keys {
                let Some(prop) = items.properties.get(key) else {
                    continue;
                };
                let key_path = path.child("items").child("properties").key(key);
                if !items.required.contains(key) && prop.default.is_none() {
                    errs.push(FieldCause::required(
                        &key_path.child("default"),
                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                    ));
                }
                if prop.nullable {
                    errs.push(FieldCause::forbidden(
                        &key_path.child("nullable"),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    ));
                }
            }
        }
    }
}

fn type_requirement(path: &FieldPath, type_: &str, detail: &str) -> FieldCause {
    if type_.is_empty() {
        FieldCause::required(&path.child("type"), detail)
    } else {
        FieldCause::invalid(
            &path.child("type"),
            &Value::String(type_.to_owned()),
            detail,
        )
    }
}

/// `validateStructuralInvariants` for one node.
fn check_structural_invariants(
    schema: &Schema,
    json: &Value,
    path: &FieldPath,
    level: Level,
    is_root: bool,
    findings: &mut Findings,
) {
    let errs = &mut findings.structural;
    let type_ = schema.type_name();
    if type_ == "array" && schema.items.is_none() {
        errs.push(FieldCause::required(
            &path.child("items"),
            "must be specified",
        ));
    }
    if schema.additional_properties.is_some() && level == Level::Root {
        errs.push(FieldCause::forbidden(
            &path.child("additionalProperties"),
            "must not be used at the root",
        ));
    }
    if schema.int_or_string && schema.preserve_unknown_fields {
        errs.push(FieldCause::invalid(
            &path.child("x-kubernetes-preserve-unknown-fields"),
            &Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if schema.int_or_string && schema.embedded_resource {
        errs.push(FieldCause::invalid(
            &path.child("x-kubernetes-embedded-resource"),
            &Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if schema.embedded_resource && type_ != "object" {
        errs.push(type_requirement(
            path,
            type_,
            "must be object if x-kubernetes-embedded-resource is true",
        ));
    } else if type_.is_empty() && !schema.int_or_string && !schema.preserve_unknown_fields {
        let detail = match level {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldCause::required(&path.child("type"), detail));
    }
    if schema.embedded_resource && schema.additional_properties.is_some() {
        errs.push(FieldCause::forbidden(
            &path.child("additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if level == Level::Root && !type_.is_empty() && type_ != "object" {
        errs.push(FieldCause::invalid(
            &path.child("type"),
            &Value::String(type_.to_owned()),
            "must be object at the root",
        ));
    }
    let check_metadata = is_root || schema.embedded_resource;
    for meta_field in ["kind", "apiVersion"] {
        if let Some(prop) = schema.properties.get(meta_field)
            && check_metadata
            && prop.type_name() != "string"
        {
            errs.push(FieldCause::invalid(
                &path.child("properties").key(meta_field).child("type"),
                &Value::String(prop.type_name().to_owned()),
                "must be string",
            ));
        }
    }
    if let Some(metadata) = schema.properties.get("metadata") {
        let meta_path = path.child("properties").key("metadata");
        if check_metadata && metadata.type_name() != "object" {
            errs.push(FieldCause::invalid(
                &meta_path.child("type"),
                &Value::String(metadata.type_name().to_owned()),
                "must be object",
            ));
        }
        if level == Level::Root {
            // Only `type`, `name` and `generateName` may be specified for the root metadata.
            let meta_json = &json["properties"]["metadata"];
            let only_names = meta_json.as_object().is_some_and(|m| {
                m.iter().all(|(k, v)| match k.as_str() {
                    "type" => true,
                    "properties" => v
                        .as_object()
                        .is_some_and(|p| p.keys().all(|n| n == "name" || n == "generateName")),
                    _ => false,
                })
            });
            if !only_names {
                errs.push(FieldCause::forbidden(
                    &meta_path,
                    "must not specify anything other than name and generateName, but metadata is implicitly specified",
                ));
            }
        }
    }
    if schema.embedded_resource && !schema.preserve_unknown_fields && schema.properties.is_empty() {
        errs.push(FieldCause::required(
            &path.child("properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

fn forbid_old_self(ctx: &mut Context, path: &FieldPath) {
    if ctx.uncorrelatable_old_self.is_none() {
        ctx.uncorrelatable_old_self = Some(path.clone());
    }
}

/// Checks and compiles a node's `x-kubernetes-validations`.
fn parse_rules(
    json: &Value,
    schema: &Schema,
    path: &FieldPath,
    ctx: &Context,
    findings: &mut Findings,
) -> Vec<CompiledRule> {
    let Some(raw_rules) = json
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let before = findings.openapi.len();
    let mut sources = Vec::with_capacity(raw_rules.len());
    for (i, raw) in raw_rules.iter().enumerate() {
        let rule_path = path.child("x-kubernetes-validations").index(i);
        let source = RuleSource::from_json(raw);
        check_rule_shape(&source, schema, &rule_path, findings);
        sources.push(source);
    }
    if findings.openapi.len() > before || !findings.structural.is_empty() {
        // The API server skips CEL compilation while the schema itself is invalid.
        return Vec::new();
    }
    let mut compiled = Vec::with_capacity(sources.len());
    for (i, source) in sources.into_iter().enumerate() {
        let rule_path = path.child("x-kubernetes-validations").index(i);
        match cel::compile_rule(source, schema) {
            Ok(rule) => {
                if rule.uses_old_self() {
                    if let Some(uncorrelatable) = &ctx.uncorrelatable_old_self {
                        findings.cel.push(FieldCause::invalid(
                            &rule_path.child("rule"),
                            &Value::String(rule.source().rule.clone()),
                            &format!(
                                "oldSelf cannot be used on the uncorrelatable portion of the schema within {uncorrelatable}"
                            ),
                        ));
                    }
                } else if let Some(optional) = rule.source().optional_old_self {
                    findings.cel.push(FieldCause::invalid(
                        &rule_path.child("optionalOldSelf"),
                        &Value::Bool(optional),
                        "may not be set if oldSelf is not used in rule",
                    ));
                }
                compiled.push(rule);
            }
            Err(err) => findings.cel.push(err.into_cause(&rule_path)),
        }
    }
    compiled
}

/// The shape checks of a rule (`ValidateCustomResourceDefinitionOpenAPISchema`).
fn check_rule_shape(
    source: &RuleSource,
    schema: &Schema,
    rule_path: &FieldPath,
    findings: &mut Findings,
) {
    let errs = &mut findings.openapi;
    let has_newlines = |s: &str| s.contains('\n') || s.contains('\r');
    let trimmed_rule = source.rule.trim();
    let message = source.message.as_deref().unwrap_or_default();
    let trimmed_message = message.trim();
    if trimmed_rule.is_empty() {
        errs.push(FieldCause::required(
            &rule_path.child("rule"),
            "rule is not specified",
        ));
    } else if !message.is_empty() && trimmed_message.is_empty() {
        errs.push(FieldCause::invalid(
            &rule_path.child("message"),
            &Value::String(message.to_owned()),
            "message must be non-empty if specified",
        ));
    } else if has_newlines(trimmed_message) {
        errs.push(FieldCause::invalid(
            &rule_path.child("message"),
            &Value::String(message.to_owned()),
            "message must not contain line breaks",
        ));
    } else if has_newlines(trimmed_rule) && trimmed_message.is_empty() {
        errs.push(FieldCause::required(
            &rule_path.child("message"),
            "message must be specified if rule contains line breaks",
        ));
    }
    if let Some(expr) = &source.message_expression
        && !expr.is_empty()
        && expr.trim().is_empty()
    {
        errs.push(FieldCause::required(
            &rule_path.child("messageExpression"),
            "messageExpression must be non-empty if specified",
        ));
    }
    if let Some(reason) = &source.reason
        && !SUPPORTED_RULE_REASONS.contains(&reason.as_str())
    {
        errs.push(FieldCause::not_supported(
            &rule_path.child("reason"),
            &Value::String(reason.clone()),
            &SUPPORTED_RULE_REASONS,
        ));
    }
    if let Some(field_path) = &source.field_path {
        let fp_value = Value::String(field_path.clone());
        if !field_path.is_empty() && field_path.trim().is_empty() {
            errs.push(FieldCause::invalid(
                &rule_path.child("fieldPath"),
                &fp_value,
                "fieldPath must be non-empty if specified",
            ));
        }
        if has_newlines(field_path) {
            errs.push(FieldCause::invalid(
                &rule_path.child("fieldPath"),
                &fp_value,
                "fieldPath must not contain line breaks",
            ));
        }
        if !field_path.is_empty() && cel::resolve_field_path(field_path, schema).is_err() {
            errs.push(FieldCause::invalid(
                &rule_path.child("fieldPath"),
                &fp_value,
                "fieldPath must be a valid path",
            ));
        }
    }
}

/// controller-gen's int-or-string `anyOf: [{type: integer}, {type: string}]`.
fn is_int_or_string_any_of(json: &Value) -> bool {
    json.get("anyOf") == Some(&serde_json::json!([{"type": "integer"}, {"type": "string"}]))
}

fn bool_field(json: &Value, key: &str) -> bool {
    json.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn str_field(json: &Value, key: &str) -> Option<String> {
    json.get(key).and_then(Value::as_str).map(str::to_owned)
}
