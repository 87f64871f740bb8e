//! Checks of the `CustomResourceDefinition` object itself (names, group, scope,
//! versions, subresources, printer columns, selectable fields).
//!
//! Place: `CompiledCrd::new` runs these before (and beside) the per-version schema
//! parse. Messages follow `apiextensions-apiserver/pkg/apis/apiextensions/validation`
//! (`ValidateCustomResourceDefinition`, v0.33) after the v1 defaults
//! (`singular` = lowercase kind, `listKind` = kind + `List`).
//!
//! Known divergence: where Go prints a whole Go struct as the bad value
//! (`spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{...}`)
//! kubesim prints the versions' JSON in Go's `%#v` map syntax.
//!
//! Must not: parse schemas (`structural.rs`) or evaluate objects.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionVersion, CustomResourceSubresources,
};
use serde_json::Value;
use std::sync::LazyLock;

use regex::Regex;

use super::structural::Schema;
use crate::cel;
use crate::field_cause::{FieldCause, FieldPath};

static DNS1035_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-z]([-a-z0-9]*[a-z0-9])?$").expect("constant pattern"));
static DNS1123_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .expect("constant pattern")
});

/// Printer column types, sorted as Go's `sets.String.List()` prints them.
const COLUMN_TYPES: [&str; 5] = ["boolean", "date", "integer", "number", "string"];
/// Printer column formats, sorted likewise.
const COLUMN_FORMATS: [&str; 8] = [
    "byte",
    "date",
    "date-time",
    "double",
    "float",
    "int32",
    "int64",
    "password",
];
/// `MaxSelectableFields`.
const MAX_SELECTABLE_FIELDS: i64 = 8;

/// `IsDNS1035Label`.
pub(crate) fn dns1035_label_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !DNS1035_LABEL.is_match(value) {
        errs.push(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
                .to_owned(),
        );
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub(crate) fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    if !DNS1123_SUBDOMAIN.is_match(value) {
        errs.push(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                .to_owned(),
        );
    }
    errs
}

/// The v1 defaults the API server applies before validating (`SetDefaults_CustomResourceDefinitionSpec`).
pub(crate) fn defaulted_names(
    names: &CustomResourceDefinitionNames,
) -> CustomResourceDefinitionNames {
    let mut out = names.clone();
    if out.singular.as_deref().is_none_or(str::is_empty) {
        out.singular = Some(names.kind.to_lowercase());
    }
    if out.list_kind.as_deref().is_none_or(str::is_empty) && !names.kind.is_empty() {
        out.list_kind = Some(format!("{}List", names.kind));
    }
    out
}

/// Everything about the CRD object that is not a version's schema.
pub(crate) fn check_definition(
    crd: &CustomResourceDefinition,
    names: &CustomResourceDefinitionNames,
) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let spec = &crd.spec;

    // metadata.name: a DNS subdomain equal to <plural>.<group>.
    let name = crd.metadata.name.as_deref().unwrap_or_default();
    let name_path = FieldPath::new("metadata").child("name");
    if name.is_empty() {
        errs.push(FieldCause::required(
            &name_path,
            "name or generateName is required",
        ));
    } else {
        let mut msgs = dns1123_subdomain_errors(name);
        if name != format!("{}.{}", names.plural, spec.group) {
            msgs.push(r#"must be spec.names.plural+"."+spec.group"#.to_owned());
        }
        for msg in msgs {
            errs.push(FieldCause::invalid(
                &name_path,
                &Value::String(name.to_owned()),
                &msg,
            ));
        }
    }

    let spec_path = FieldPath::new("spec");
    let group_path = spec_path.child("group");
    if spec.group.is_empty() {
        errs.push(FieldCause::required(&group_path, ""));
    } else {
        let dns = dns1123_subdomain_errors(&spec.group);
        if !dns.is_empty() {
            errs.push(FieldCause::invalid(
                &group_path,
                &Value::String(spec.group.clone()),
                &dns.join(","),
            ));
        } else if spec.group.split('.').count() < 2 {
            errs.push(FieldCause::invalid(
                &group_path,
                &Value::String(spec.group.clone()),
                "should be a domain with at least one dot",
            ));
        }
    }

    let scope_path = spec_path.child("scope");
    if spec.scope.is_empty() {
        errs.push(FieldCause::required(&scope_path, ""));
    } else if spec.scope != "Cluster" && spec.scope != "Namespaced" {
        errs.push(FieldCause::not_supported(
            &scope_path,
            &Value::String(spec.scope.clone()),
            &["Cluster", "Namespaced"],
        ));
    }

    let versions_path = spec_path.child("versions");
    let mut storage_count = 0;
    let mut seen_names: Vec<&str> = Vec::new();
    let mut unique = true;
    for (i, version) in spec.versions.iter().enumerate() {
        let version_path = versions_path.index(i);
        if version.storage {
            storage_count += 1;
        }
        if seen_names.contains(&version.name.as_str()) {
            unique = false;
        }
        seen_names.push(&version.name);
        let name_errs = dns1035_label_errors(&version.name);
        if !name_errs.is_empty() {
            errs.push(FieldCause::invalid(
                &version_path.child("name"),
                &Value::String(version.name.clone()),
                &name_errs.join(","),
            ));
        }
        errs.extend(check_version(version, &version_path));
    }
    let versions_value = || serde_json::to_value(&spec.versions).unwrap_or(Value::Null);
    if spec.versions.is_empty() {
        errs.push(FieldCause::invalid(
            &versions_path,
            &versions_value(),
            "must have exactly one version marked as storage version",
        ));
    } else {
        if !unique {
            errs.push(FieldCause::invalid(
                &versions_path,
                &versions_value(),
                "must contain unique version names",
            ));
        }
        if storage_count != 1 {
            errs.push(FieldCause::invalid(
                &versions_path,
                &versions_value(),
                "must have exactly one version marked as storage version",
            ));
        }
    }

    if spec.preserve_unknown_fields == Some(true) {
        errs.push(FieldCause::invalid(
            &spec_path.child("preserveUnknownFields"),
            &Value::Bool(true),
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }

    errs.extend(check_names(names, &spec_path.child("names")));
    errs
}

fn check_version(version: &CustomResourceDefinitionVersion, path: &FieldPath) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let deprecated = version.deprecated.unwrap_or(false);
    if let Some(warning) = &version.deprecation_warning {
        let warning_path = path.child("deprecationWarning");
        let value = Value::String(warning.clone());
        if !deprecated {
            errs.push(FieldCause::invalid(
                &warning_path,
                &value,
                "can only be set for deprecated versions",
            ));
        } else {
            if warning.len() > 256 {
                errs.push(FieldCause::invalid(
                    &warning_path,
                    &value,
                    "must be <= 256 characters long",
                ));
            }
            if warning.is_empty() {
                errs.push(FieldCause::invalid(
                    &warning_path,
                    &value,
                    "must not be an empty string",
                ));
            }
        }
    }
    if version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .is_none()
    {
        errs.push(FieldCause::required(
            &path.child("schema").child("openAPIV3Schema"),
            "schemas are required",
        ));
    }
    if let Some(subresources) = &version.subresources {
        errs.extend(check_subresources(
            subresources,
            &path.child("subresources"),
        ));
    }
    for (i, column) in version
        .additional_printer_columns
        .iter()
        .flatten()
        .enumerate()
    {
        errs.extend(check_column(
            column,
            &path.child("additionalPrinterColumns").index(i),
        ));
    }
    errs
}

/// `ValidateCustomResourceDefinitionSubresources`.
fn check_subresources(
    subresources: &CustomResourceSubresources,
    path: &FieldPath,
) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let Some(scale) = &subresources.scale else {
        return errs;
    };
    let checks = [
        (
            "scale.specReplicasPath",
            Some(&scale.spec_replicas_path),
            true,
            &[".spec."][..],
            "should be a json path under .spec",
        ),
        (
            "scale.statusReplicasPath",
            Some(&scale.status_replicas_path),
            true,
            &[".status."][..],
            "should be a json path under .status",
        ),
        (
            "scale.labelSelectorPath",
            scale.label_selector_path.as_ref(),
            false,
            &[".spec.", ".status."][..],
            "should be a json path under either .spec or .status",
        ),
    ];
    for (field, value, required, prefixes, detail) in checks {
        let field_path = path.child(field);
        match value.filter(|v| !v.is_empty()) {
            None if required => errs.push(FieldCause::required(&field_path, "")),
            None => {}
            Some(json_path) => {
                let simple = simple_json_path_errors(json_path, &field_path);
                if !simple.is_empty() {
                    errs.extend(simple);
                } else if !prefixes.iter().any(|p| json_path.starts_with(p)) {
                    errs.push(FieldCause::invalid(
                        &field_path,
                        &Value::String(json_path.clone()),
                        detail,
                    ));
                }
            }
        }
    }
    errs
}

/// `validateSimpleJSONPath`.
fn simple_json_path_errors(s: &str, path: &FieldPath) -> Vec<FieldCause> {
    let value = Value::String(s.to_owned());
    if s.is_empty() {
        vec![FieldCause::invalid(path, &value, "must not be empty")]
    } else if !s.starts_with('.') {
        vec![FieldCause::invalid(
            path,
            &value,
            "must be a simple json path starting with .",
        )]
    } else {
        Vec::new()
    }
}

/// `ValidateCustomResourceColumnDefinition`.
fn check_column(column: &CustomResourceColumnDefinition, path: &FieldPath) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    if column.name.is_empty() {
        errs.push(FieldCause::required(&path.child("name"), ""));
    }
    let types = format!("must be one of {}", COLUMN_TYPES.join(","));
    if column.type_.is_empty() {
        errs.push(FieldCause::required(&path.child("type"), &types));
    } else if !COLUMN_TYPES.contains(&column.type_.as_str()) {
        errs.push(FieldCause::invalid(
            &path.child("type"),
            &Value::String(column.type_.clone()),
            &types,
        ));
    }
    if let Some(format) = column.format.as_deref().filter(|f| !f.is_empty())
        && !COLUMN_FORMATS.contains(&format)
    {
        errs.push(FieldCause::invalid(
            &path.child("format"),
            &Value::String(format.to_owned()),
            &format!("must be one of {}", COLUMN_FORMATS.join(",")),
        ));
    }
    if column.json_path.is_empty() {
        errs.push(FieldCause::required(&path.child("JSONPath"), ""));
    } else {
        errs.extend(simple_json_path_errors(
            &column.json_path,
            &path.child("JSONPath"),
        ));
    }
    errs
}

/// `ValidateCustomResourceSelectableFields`, against the parsed schema.
pub(crate) fn check_selectable_fields(
    version: &CustomResourceDefinitionVersion,
    schema: &Schema,
    path: &FieldPath,
) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let fields_path = path.child("selectableFields");
    let mut unique: Vec<String> = Vec::new();
    for (i, field) in version.selectable_fields.iter().flatten().enumerate() {
        let json_path_path = fields_path.index(i).child("jsonPath");
        let value = Value::String(field.json_path.clone());
        if field.json_path.is_empty() {
            errs.push(FieldCause::required(&json_path_path, ""));
            continue;
        }
        if field.json_path.contains('[') {
            errs.push(FieldCause::invalid(
                &json_path_path,
                &value,
                "is an invalid path: array notation is not allowed",
            ));
            continue;
        }
        let Ok(resolved) = cel::resolve_field_path(&field.json_path, schema) else {
            errs.push(FieldCause::invalid(
                &json_path_path,
                &value,
                "is an invalid path: does not refer to a valid field",
            ));
            continue;
        };
        if resolved == "metadata"
            || resolved.starts_with("metadata.")
            || resolved.starts_with("metadata[")
        {
            errs.push(FieldCause::invalid(
                &json_path_path,
                &value,
                "must not point to fields in metadata",
            ));
        }
        let target = field
            .json_path
            .trim_start_matches('.')
            .split('.')
            .try_fold(schema, |s, segment| s.field_schema(segment));
        if !target.is_some_and(|s| matches!(s.type_name(), "string" | "boolean" | "integer")) {
            errs.push(FieldCause::invalid(
                &json_path_path,
                &value,
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            ));
        }
        if unique.contains(&resolved) {
            errs.push(FieldCause::duplicate(&json_path_path, &value));
        } else {
            unique.push(resolved);
        }
    }
    let count = unique.len() as i64;
    if count > MAX_SELECTABLE_FIELDS {
        errs.push(FieldCause::too_many(
            &fields_path,
            Some(count),
            Some(MAX_SELECTABLE_FIELDS),
        ));
    }
    errs
}

/// `ValidateCustomResourceDefinitionNames` plus the required-name checks of the spec.
fn check_names(names: &CustomResourceDefinitionNames, path: &FieldPath) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let singular = names.singular.clone().unwrap_or_default();
    let list_kind = names.list_kind.clone().unwrap_or_default();
    for (field, value) in [
        ("plural", &names.plural),
        ("singular", &singular),
        ("kind", &names.kind),
        ("listKind", &list_kind),
    ] {
        if value.is_empty() {
            errs.push(FieldCause::required(&path.child(field), ""));
        }
    }
    for (field, value) in [("plural", &names.plural), ("singular", &singular)] {
        let dns = dns1035_label_errors(value);
        if !value.is_empty() && !dns.is_empty() {
            errs.push(FieldCause::invalid(
                &path.child(field),
                &Value::String(value.clone()),
                &dns.join(","),
            ));
        }
    }
    for (field, value) in [("kind", &names.kind), ("listKind", &list_kind)] {
        let dns = dns1035_label_errors(&value.to_lowercase());
        if !value.is_empty() && !dns.is_empty() {
            errs.push(FieldCause::invalid(
                &path.child(field),
                &Value::String(value.clone()),
                &format!(
                    "may have mixed case, but should otherwise match: {}",
                    dns.join(",")
                ),
            ));
        }
    }
    for (i, short) in names.short_names.iter().flatten().enumerate() {
        let dns = dns1035_label_errors(short);
        if !dns.is_empty() {
            errs.push(FieldCause::invalid(
                &path.child("shortNames").index(i),
                &Value::String(short.clone()),
                &dns.join(","),
            ));
        }
    }
    if !names.kind.is_empty() && names.kind == list_kind {
        errs.push(FieldCause::invalid(
            &path.child("listKind"),
            &Value::String(list_kind.clone()),
            "kind and listKind may not be the same",
        ));
    }
    for (i, category) in names.categories.iter().flatten().enumerate() {
        let dns = dns1035_label_errors(category);
        if !dns.is_empty() {
            errs.push(FieldCause::invalid(
                &path.child("categories").index(i),
                &Value::String(category.clone()),
                &dns.join(","),
            ));
        }
    }
    errs
}
