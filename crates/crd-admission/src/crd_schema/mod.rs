//! The CRD engine: what the API server does with a `CustomResourceDefinition`
//! and with the custom resources it serves.
//!
//! Place: pure semantics used by kubesim's HTTP layer (and by `render`). On CRD create/update the core
//! calls [`CompiledCrd::new`] (422 with the returned causes when it fails) and
//! stores [`CompiledCrd::accepted_status`] as the CRD's status. For each custom
//! resource write it calls, in order:
//! 1. [`CompiledCrd::prune_and_default`] on the decoded body (400 on a
//!    [`StrictDecodingError`], warnings otherwise);
//! 2. [`CompiledCrd::validate`] with the old object on update (422 built with
//!    [`invalid_message`] and the causes);
//!
//! and on every read of a stored object, [`CompiledCrd::apply_defaults`].
//!
//! The public interface (shared brief, kubesim-crd): `CompiledCrd::new`, name /
//! scope / version / subresource / printer-column / selectable-field accessors,
//! `accepted_status`, `prune_and_default`, `validate`, `invalid_message`. Behaviour
//! follows apiextensions-apiserver v0.33; each submodule cites its source.
//! `accepted_status` takes the time and the previous status as arguments so that
//! condition transition times and `storedVersions` survive CRD updates.
//!
//! Known gaps (deliberate, documented rather than approximated):
//! * `metadata` of embedded resources (`x-kubernetes-embedded-resource`) is kept
//!   as sent: the API server's `objectmeta.Coerce`/`Validate` would drop unknown
//!   members there and validate names; the root `metadata` is pruned with `crate::object_meta`.
//! * CEL rules are not type-checked nor cost-estimated when the CRD is created; a
//!   rule naming an undeclared field fails when evaluated (`no such key`).
//! * Where the API server prints a Go struct as a bad value (CRD versions, a whole
//!   schema), kubesim prints the JSON in Go map syntax.
//! * A failing `anyOf`/`oneOf` reports the first branch's errors, where go-openapi
//!   picks the branch that matched most.
//!
//! Must not: do I/O, read clocks (time is an argument), keep objects.

mod default;
mod definition;
mod prune;
mod string_format;
pub(crate) mod structural;
mod validate;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionVersion, CustomResourceSubresourceScale, SelectableField,
};
use serde_json::{Value, json};

pub use self::prune::{
    FieldValidation, StrictDecodingError, UnsupportedFieldValidation, unknown_field_text,
};
pub use crate::field_cause::invalid_message;
use crate::field_cause::{FieldCause, FieldPath};
use structural::Schema;

/// Root schema keywords allowed when the status subresource is enabled
/// (`allowedFieldsAtRootSchema`, JSON names), and Go's rendering of the list.
const ALLOWED_AT_STATUS_ROOT: [&str; 22] = [
    "description",
    "type",
    "format",
    "title",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "required",
    "items",
    "properties",
    "externalDocs",
    "example",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
];
const ALLOWED_AT_STATUS_ROOT_GO: &str = "[Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations]";

/// Whether the resources of a CRD live in namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `scope: Namespaced`.
    Namespaced,
    /// `scope: Cluster`.
    Cluster,
}

/// A version of an accepted CRD with its parsed schema.
#[derive(Debug)]
pub struct CompiledVersion {
    definition: CustomResourceDefinitionVersion,
    schema_json: Value,
    schema: Schema,
}

impl CompiledVersion {
    /// The version name (`v1alpha1`).
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// Whether the version is served over REST.
    pub fn served(&self) -> bool {
        self.definition.served
    }

    /// Whether objects are stored in this version.
    pub fn storage(&self) -> bool {
        self.definition.storage
    }

    /// Whether the version is deprecated, and its warning text if any.
    pub fn deprecation(&self) -> Option<Option<&str>> {
        self.definition
            .deprecated
            .unwrap_or(false)
            .then_some(self.definition.deprecation_warning.as_deref())
    }

    /// The `openAPIV3Schema` as written (for discovery and OpenAPI documents).
    pub fn schema_json(&self) -> &Value {
        &self.schema_json
    }

    /// True when the status subresource is enabled.
    pub fn status_subresource(&self) -> bool {
        self.definition
            .subresources
            .as_ref()
            .is_some_and(|s| s.status.is_some())
    }

    /// The scale subresource (spec/status replicas paths, label selector path).
    pub fn scale_subresource(&self) -> Option<&CustomResourceSubresourceScale> {
        self.definition
            .subresources
            .as_ref()
            .and_then(|s| s.scale.as_ref())
    }

    /// `additionalPrinterColumns` as declared (the Table layer adds the Age default).
    pub fn printer_columns(&self) -> &[CustomResourceColumnDefinition] {
        self.definition
            .additional_printer_columns
            .as_deref()
            .unwrap_or_default()
    }

    /// `selectableFields` as declared.
    pub fn selectable_fields(&self) -> &[SelectableField] {
        self.definition
            .selectable_fields
            .as_deref()
            .unwrap_or_default()
    }
}

/// An accepted CRD: its defaulted names and every version's compiled schema.
#[derive(Debug)]
pub struct CompiledCrd {
    name: String,
    group: String,
    names: CustomResourceDefinitionNames,
    scope: Scope,
    versions: Vec<CompiledVersion>,
}

impl CompiledCrd {
    /// Accepts an `apiextensions.k8s.io/v1` CRD as the API server would, or returns
    /// every cause of the 422 it would answer (`metadata.name` must be
    /// `<plural>.<group>`, exactly one storage version, structural schemas, valid
    /// CEL rules, ...).
    pub fn new(crd: &CustomResourceDefinition) -> Result<CompiledCrd, Vec<FieldCause>> {
        let names = definition::defaulted_names(&crd.spec.names);
        let mut causes = definition::check_definition(crd, &names);
        let mut versions = Vec::with_capacity(crd.spec.versions.len());
        for (i, version) in crd.spec.versions.iter().enumerate() {
            let version_path = FieldPath::new("spec").child("versions").index(i);
            let Some(schema_json) = version
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .and_then(|s| serde_json::to_value(s).ok())
            else {
                // Reported by `check_definition` as "schemas are required".
                continue;
            };
            let schema_path = version_path.child("schema").child("openAPIV3Schema");
            if version
                .subresources
                .as_ref()
                .is_some_and(|s| s.status.is_some())
            {
                causes.extend(check_status_root(&schema_json, &schema_path));
            }
            match structural::parse_root(&schema_json, &schema_path) {
                Ok(schema) => {
                    causes.extend(definition::check_selectable_fields(
                        version,
                        &schema,
                        &version_path,
                    ));
                    causes.extend(check_defaults(&schema, &schema_path));
                    versions.push(CompiledVersion {
                        definition: version.clone(),
                        schema_json,
                        schema,
                    });
                }
                Err(schema_causes) => causes.extend(schema_causes),
            }
        }
        if !causes.is_empty() {
            return Err(causes);
        }
        let scope = if crd.spec.scope == "Cluster" {
            Scope::Cluster
        } else {
            Scope::Namespaced
        };
        Ok(CompiledCrd {
            name: crd.metadata.name.clone().unwrap_or_default(),
            group: crd.spec.group.clone(),
            names,
            scope,
            versions,
        })
    }

    /// `metadata.name` of the CRD (`<plural>.<group>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The API group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The names with v1 defaults applied (`singular`, `listKind` always set).
    pub fn names(&self) -> &CustomResourceDefinitionNames {
        &self.names
    }

    /// The plural resource name.
    pub fn plural(&self) -> &str {
        &self.names.plural
    }

    /// The singular resource name (defaulted to the lowercase kind).
    pub fn singular(&self) -> &str {
        self.names.singular.as_deref().unwrap_or_default()
    }

    /// The kind.
    pub fn kind(&self) -> &str {
        &self.names.kind
    }

    /// The list kind (defaulted to `<Kind>List`).
    pub fn list_kind(&self) -> &str {
        self.names.list_kind.as_deref().unwrap_or_default()
    }

    /// Short names (`kubectl get mgc`).
    pub fn short_names(&self) -> &[String] {
        self.names.short_names.as_deref().unwrap_or_default()
    }

    /// Categories (`kubectl get all`).
    pub fn categories(&self) -> &[String] {
        self.names.categories.as_deref().unwrap_or_default()
    }

    /// Namespaced or cluster-scoped.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// All versions in declaration order.
    pub fn versions(&self) -> &[CompiledVersion] {
        &self.versions
    }

    /// One version by name.
    pub fn version(&self, name: &str) -> Option<&CompiledVersion> {
        self.versions.iter().find(|v| v.name() == name)
    }

    /// Served versions in declaration order.
    pub fn served_versions(&self) -> impl Iterator<Item = &CompiledVersion> {
        self.versions.iter().filter(|v| v.served())
    }

    /// The storage version (exactly one exists in an accepted CRD).
    pub fn storage_version(&self) -> &CompiledVersion {
        self.versions
            .iter()
            .find(|v| v.storage())
            .expect("CompiledCrd::new rejects CRDs without exactly one storage version")
    }

    /// The CRD status the API server's naming and establishing controllers settle
    /// on: `NamesAccepted` (`NoConflicts`) and `Established` (`InitialNamesAccepted`)
    /// both `True`, `acceptedNames` = the defaulted names, `storedVersions` = the
    /// previous ones plus the current storage version. `now` (RFC 3339) becomes the
    /// `lastTransitionTime` of a condition that was not already `True`.
    pub fn accepted_status(&self, now: &str, previous_status: Option<&Value>) -> Value {
        let previous_time = |type_: &str| -> Option<Value> {
            previous_status?
                .get("conditions")?
                .as_array()?
                .iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
                .filter(|c| c.get("status").and_then(Value::as_str) == Some("True"))
                .and_then(|c| c.get("lastTransitionTime").cloned())
        };
        let condition = |type_: &str, reason: &str, message: &str| {
            json!({
                "type": type_,
                "status": "True",
                "lastTransitionTime": previous_time(type_).unwrap_or_else(|| Value::String(now.to_owned())),
                "reason": reason,
                "message": message,
            })
        };
        let mut stored: Vec<String> = previous_status
            .and_then(|s| s.get("storedVersions"))
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let storage = self.storage_version().name().to_owned();
        if !stored.contains(&storage) {
            stored.push(storage);
        }
        let accepted_names = serde_json::to_value(&self.names).unwrap_or_else(|_| json!({}));
        json!({
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "acceptedNames": accepted_names,
            "storedVersions": stored,
        })
    }

    /// Prunes unknown fields of a custom resource in `version` (undeclared members of
    /// the root `metadata` first, [`crate::object_meta`]) and applies schema
    /// defaults. Returns the warnings to send (`unknown field "spec.foo"`, only in
    /// `Warn` mode) or, in `Strict` mode, the 400 error listing every unknown field.
    /// An unknown version is left untouched (the router only serves known ones).
    pub fn prune_and_default(
        &self,
        version: &str,
        obj: &mut Value,
        mode: FieldValidation,
    ) -> Result<Vec<String>, StrictDecodingError> {
        let Some(compiled) = self.version(version) else {
            return Ok(Vec::new());
        };
        // The API server decodes `metadata` into `ObjectMeta` first and lists its unknown
        // members before the schema's (`unstructuredSchemaCoercer.apply`).
        let mut unknown = crate::object_meta::prune_unknown_metadata(obj);
        unknown.extend(prune::prune_resource(obj, &compiled.schema));
        default::apply(obj, &compiled.schema);
        match mode {
            FieldValidation::Strict if !unknown.is_empty() => Err(StrictDecodingError {
                unknown_fields: unknown,
            }),
            FieldValidation::Warn => Ok(unknown.iter().map(|p| unknown_field_text(p)).collect()),
            _ => Ok(Vec::new()),
        }
    }

    /// Applies schema defaults only (objects read back from the store).
    pub fn apply_defaults(&self, version: &str, obj: &mut Value) {
        if let Some(compiled) = self.version(version) {
            default::apply(obj, &compiled.schema);
        }
    }

    /// Validates a pruned and defaulted custom resource: type meta, OpenAPI schema,
    /// scale paths, list-type duplicates and CEL rules (transition rules only with
    /// `old`). Returns every cause of the 422.
    pub fn validate(
        &self,
        version: &str,
        new: &Value,
        old: Option<&Value>,
    ) -> Result<(), Vec<FieldCause>> {
        let Some(compiled) = self.version(version) else {
            return Err(vec![FieldCause::invalid(
                &FieldPath::new("apiVersion"),
                &Value::String(format!("{}/{version}", self.group)),
                &format!("must be {}/{}", self.group, self.storage_version().name()),
            )]);
        };
        let target = validate::Target {
            schema: &compiled.schema,
            group: &self.group,
            version: compiled.name(),
            kind: self.kind(),
            scale: compiled.scale_subresource(),
        };
        let causes = validate::validate_resource(&target, new, old);
        if causes.is_empty() {
            Ok(())
        } else {
            Err(causes)
        }
    }

    /// The 422 message for this CRD's kind: `<Kind>.<group> "<name>" is invalid: ...`.
    pub fn invalid_message(&self, name: &str, causes: &[FieldCause]) -> String {
        invalid_message(self.kind(), &self.group, name, causes)
    }
}

/// With the status subresource only some keywords may sit at the schema root.
fn check_status_root(schema_json: &Value, path: &FieldPath) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let Some(obj) = schema_json.as_object() else {
        return causes;
    };
    if let Some(type_) = obj.get("type").and_then(Value::as_str)
        && type_ != "object"
    {
        causes.push(FieldCause::invalid(
            &path.child("type"),
            &Value::String(type_.to_owned()),
            r#"only "object" is allowed as the type at the root of the schema if the status subresource is enabled"#,
        ));
    }
    if obj
        .keys()
        .any(|k| !ALLOWED_AT_STATUS_ROOT.contains(&k.as_str()))
    {
        causes.push(FieldCause::invalid(
            path,
            schema_json,
            &format!("only {ALLOWED_AT_STATUS_ROOT_GO} fields are allowed at the root of the schema if the status subresource is enabled"),
        ));
    }
    causes
}

/// `ValidateDefaults`: every `default` must survive pruning and validate against
/// its own schema node.
fn check_defaults(schema: &Schema, path: &FieldPath) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    check_defaults_node(schema, path, &mut causes);
    causes
}

fn check_defaults_node(schema: &Schema, path: &FieldPath, causes: &mut Vec<FieldCause>) {
    for (name, prop) in &schema.properties {
        let prop_path = path.child("properties").key(name);
        if let Some(default) = &prop.default {
            causes.extend(validate::validate_default(
                prop,
                default,
                &prop_path.child("default"),
            ));
        }
        check_defaults_node(prop, &prop_path, causes);
    }
    if let Some(items) = &schema.items {
        let items_path = path.child("items");
        if let Some(default) = &items.default {
            causes.extend(validate::validate_default(
                items,
                default,
                &items_path.child("default"),
            ));
        }
        check_defaults_node(items, &items_path, causes);
    }
    if let Some(value_schema) = schema.additional_schema() {
        let value_path = path.child("additionalProperties");
        if let Some(default) = &value_schema.default {
            causes.extend(validate::validate_default(
                value_schema,
                default,
                &value_path.child("default"),
            ));
        }
        check_defaults_node(value_schema, &value_path, causes);
    }
}
