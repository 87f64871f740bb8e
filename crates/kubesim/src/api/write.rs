//! Writes: create (generateName, AlreadyExists, namespace checks), update with optimistic
//! concurrency, the four patch types, server-side apply (creating a missing object), and the
//! `/status` and `/scale` subresources, each with `dryRun` (rust-ecosystem.md §3.1
//! create/replace/patch, §3.3 server-side apply, status subresource, generation, dryRun).
//!
//! The order of one update, all on the served representation until the last step: read
//! stored → compute the candidate (body, patch, apply or scale) → check name, namespace,
//! resourceVersion and uid → keep what the addressed part may not change → metadata rules →
//! CRD pruning, defaults and validation → managed fields (`ssa::track_update`, unless apply
//! already set them) → omit-empty → no-op detection → commit (generation, resourceVersion, GC,
//! CRD registry).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{
    AdmissionStage, Cluster, Patch, PatchType, State, Subresource, WriteOptions, Written, absorb,
    crds, format_time, now, present, scope_namespace, subject,
};
use crate::error::{ApiError, StatusCause, Subject};
use crate::resources::{Origin, ResourceDef};
use crate::semantics::builtin_create;
use crate::semantics::claim_resize::{self, ClaimResizeError};
use crate::semantics::crd_schema::FieldValidation;
use crate::semantics::field_cause::{FieldCause, FieldPath, invalid_message};
use crate::semantics::finalizers;
use crate::semantics::gc::{self, GcQueue, NAMESPACES_TABLE};
use crate::semantics::merge_schema::MergeSchema;
use crate::semantics::object_meta::{self, NameRule};
use crate::semantics::patch::{self, PatchError};
use crate::semantics::ssa::{self, ApplyError, FieldManagerContext};
use crate::semantics::subresources;
use crate::semantics::unknown_fields;
use crate::store::{ObjectKey, metadata_mut, str_at};

const MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// Who maintains `metadata.managedFields` for a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ownership {
    /// Record an `Update` operation (create, PUT, merge/JSON/strategic patch).
    Update,
    /// Server-side apply has already computed them.
    Applied,
}

impl Cluster {
    /// POST to a collection.
    pub fn create(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        body: Value,
        options: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let mut state = self.lock();
        let written = create_locked(&mut state, def, namespace, body, options, Ownership::Update)
            .map_err(|err| decode_context(def, err))?;
        let revision = state.store.revision();
        drop(state);
        if !options.dry_run {
            self.notify(revision);
        }
        Ok(written)
    }

    /// PUT of an item, `/status` or `/scale`.
    pub fn update(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        subresource: Subresource,
        body: Value,
        options: &WriteOptions,
    ) -> Result<Written, ApiError> {
        self.write_existing(def, namespace, name, subresource, options, |_, _| {
            Ok((body, Ownership::Update))
        })
        .map_err(|err| match subresource {
            Subresource::Scale => err,
            _ => decode_context(def, err),
        })
    }

    /// PATCH of an item, `/status` or `/scale`. Server-side apply of a missing item creates it.
    pub fn patch(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        subresource: Subresource,
        patch: Patch,
        options: &WriteOptions,
    ) -> Result<Written, ApiError> {
        if patch.patch_type == PatchType::StrategicMerge && matches!(def.origin, Origin::Crd { .. })
        {
            return Err(ApiError::UnsupportedMediaType {
                content_type: "application/strategic-merge-patch+json".into(),
                accepted: "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into(),
            });
        }
        if patch.patch_type == PatchType::Apply {
            if options.field_manager.as_deref().is_none_or(str::is_empty) {
                let causes = vec![FieldCause::required(
                    &FieldPath::new("fieldManager"),
                    "is required for apply patch",
                )];
                return Err(ApiError::Invalid {
                    message: invalid_message("PatchOptions", "meta.k8s.io", "", &causes),
                    kind: "PatchOptions".into(),
                    group: "meta.k8s.io".into(),
                    name: String::new(),
                    causes: causes.into_iter().map(StatusCause::from).collect(),
                });
            }
            if subresource == Subresource::Main {
                let key = ObjectKey::new(scope_namespace(def, namespace), name);
                let mut state = self.lock();
                if state.store.get(&def.table, &key).is_none() {
                    let written =
                        apply_create(&mut state, def, namespace, name, &patch.body, options)?;
                    let revision = state.store.revision();
                    drop(state);
                    if !options.dry_run {
                        self.notify(revision);
                    }
                    return Ok(written);
                }
            }
        }
        self.write_existing(def, namespace, name, subresource, options, |state, base| {
            let schema = match subresource {
                Subresource::Scale => std::sync::Arc::new(MergeSchema::for_builtin(
                    "autoscaling",
                    "v1",
                    "Scale",
                )),
                _ => state.merge_schema(def),
            };
            let candidate = match patch.patch_type {
                PatchType::Merge => {
                    if !patch.body.is_object() {
                        return Err(bad_request(format!(
                            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                            go_json_kind(&patch.body)
                        )));
                    }
                    patch::merge_patch(base, &patch.body)
                }
                PatchType::Json => patch::json_patch(base, &patch.body).map_err(patch_error)?,
                PatchType::StrategicMerge => {
                    patch::strategic_merge_patch(base, &patch.body, &schema).map_err(patch_error)?
                }
                PatchType::Apply => {
                    check_type(def, &patch.body)?;
                    check_name(&patch.body, name)?;
                    let applied = applied_part(&patch.body, def, subresource);
                    let ctx = manager_context(def, options, subresource);
                    let merged = ssa::apply(Some(base), &applied, &ctx, options.force, &schema)
                        .map_err(apply_error)?;
                    return Ok((merged, Ownership::Applied));
                }
            };
            Ok((candidate, Ownership::Update))
        })
    }

    /// The shared update path: `candidate` turns the stored object (served representation, or
    /// the Scale for `/scale`) into the requested new one.
    fn write_existing(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        subresource: Subresource,
        options: &WriteOptions,
        candidate: impl FnOnce(&mut State, &Value) -> Result<(Value, Ownership), ApiError>,
    ) -> Result<Written, ApiError> {
        let mut state = self.lock();
        let key = ObjectKey::new(scope_namespace(def, namespace), name);
        let stored =
            state
                .store
                .get(&def.table, &key)
                .cloned()
                .ok_or_else(|| ApiError::NotFound {
                    subject: subject(def, name),
                })?;
        let served = present(def, &stored);
        let written = match subresource {
            Subresource::Scale => {
                let paths = def.scale.clone().ok_or(ApiError::UnknownResource)?;
                let current_scale = subresources::to_scale(&stored, &paths);
                let (scale, _) = candidate(&mut state, &current_scale)?;
                check_resource_version(def, name, &scale, &stored)?;
                let updated = subresources::apply_scale(&served, &scale, &paths);
                let written = update_locked(
                    &mut state,
                    def,
                    &stored,
                    updated,
                    Subresource::Scale,
                    options,
                    Ownership::Update,
                )?;
                Written {
                    object: subresources::to_scale(&written.object, &paths),
                    created: false,
                    warnings: written.warnings,
                }
            }
            _ => {
                let (new, ownership) = candidate(&mut state, &served)?;
                update_locked(
                    &mut state,
                    def,
                    &stored,
                    new,
                    subresource,
                    options,
                    ownership,
                )?
            }
        };
        let revision = state.store.revision();
        drop(state);
        if !options.dry_run {
            self.notify(revision);
        }
        Ok(written)
    }
}

fn bad_request(message: String) -> ApiError {
    ApiError::BadRequest { message }
}

/// The API server decodes the body of a create or an update into the kind before anything
/// else, and words a strict decoding failure with that kind (`transformDecodeError` in
/// apiserver's `handlers/rest.go`): `ConfigMap in version "v1" cannot be handled as a
/// ConfigMap: strict decoding error: unknown field "dataa"`. Patches report it bare.
fn decode_context(def: &ResourceDef, err: ApiError) -> ApiError {
    match err {
        ApiError::BadRequest { message } if message.starts_with(STRICT_DECODING_ERROR) => {
            bad_request(format!(
                "{kind} in version \"{version}\" cannot be handled as a {kind}: {message}",
                kind = def.kind,
                version = def.version
            ))
        }
        other => other,
    }
}

/// How [`crate::semantics::crd_schema::StrictDecodingError`] (and the built-in kinds' strict
/// errors, `semantics::unknown_fields`) begin.
const STRICT_DECODING_ERROR: &str = "strict decoding error: ";

/// How Go's JSON decoder names a value's type in "cannot unmarshal X" errors.
fn go_json_kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        Value::Object(_) => "object",
    }
}

fn patch_error(error: PatchError) -> ApiError {
    ApiError::Rejected {
        code: error.code(),
        reason: error.reason().to_string(),
        message: error.to_string(),
    }
}

fn apply_error(error: ApplyError) -> ApiError {
    match error {
        ApplyError::Conflicts { conflicts } => ApiError::ApplyConflict {
            message: conflicts.message(),
            causes: conflicts
                .causes()
                .into_iter()
                .map(|c| StatusCause {
                    reason: c.reason.to_string(),
                    field: c.field,
                    message: c.message,
                })
                .collect(),
        },
        other => ApiError::Rejected {
            code: other.code(),
            reason: other.reason().to_string(),
            message: other.to_string(),
        },
    }
}

/// The field manager of a write (`fieldManager`, which the HTTP layer defaults from the user
/// agent as the API server does).
fn manager_context(
    def: &ResourceDef,
    options: &WriteOptions,
    subresource: Subresource,
) -> FieldManagerContext {
    FieldManagerContext {
        manager: options.field_manager.clone().unwrap_or_default(),
        api_version: def.api_version(),
        subresource: match subresource {
            Subresource::Main => None,
            Subresource::Status => Some("status".into()),
            Subresource::Scale => Some("scale".into()),
        },
        time: format_time(now()),
    }
}

/// The part of an applied configuration the addressed endpoint may set (ssa's reset fields):
/// no `.status` on a main write with a status subresource; only `.status` on `/status`.
fn applied_part(applied: &Value, def: &ResourceDef, subresource: Subresource) -> Value {
    let Some(map) = applied.as_object() else {
        return applied.clone();
    };
    match subresource {
        Subresource::Status => {
            let mut kept = Map::new();
            for key in ["apiVersion", "kind", "metadata", "status"] {
                if let Some(v) = map.get(key) {
                    kept.insert(key.into(), v.clone());
                }
            }
            Value::Object(kept)
        }
        _ if def.status_subresource => {
            let mut kept = map.clone();
            kept.remove("status");
            Value::Object(kept)
        }
        _ => applied.clone(),
    }
}

fn name_rule(def: &ResourceDef) -> NameRule {
    if def.group.is_empty() && (def.plural == "namespaces" || def.plural == "services") {
        NameRule::Label
    } else if def.group == "rbac.authorization.k8s.io" {
        NameRule::PathSegment
    } else {
        NameRule::Subdomain
    }
}

/// Checks the body's apiVersion/kind against the addressed resource.
fn check_type(def: &ResourceDef, body: &Value) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(bad_request(
            "the body of the request must be a JSON object".into(),
        ));
    }
    if let Some(api_version) = body.get("apiVersion").and_then(Value::as_str)
        && api_version != def.api_version()
    {
        return Err(bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            def.api_version()
        )));
    }
    if let Some(kind) = body.get("kind").and_then(Value::as_str)
        && kind != def.kind
    {
        return Err(bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            def.kind
        )));
    }
    Ok(())
}

fn check_name(body: &Value, url_name: &str) -> Result<(), ApiError> {
    let name = str_at(body, &["metadata", "name"]).unwrap_or_default();
    if !name.is_empty() && name != url_name {
        return Err(bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({url_name})"
        )));
    }
    Ok(())
}

fn invalid(def: &ResourceDef, name: &str, causes: Vec<FieldCause>) -> ApiError {
    ApiError::Invalid {
        message: invalid_message(&def.kind, &def.group, name, &causes),
        kind: def.kind.clone(),
        group: def.group.clone(),
        name: name.to_string(),
        causes: causes.into_iter().map(StatusCause::from).collect(),
    }
}

/// The API server's rules for a changed storage request (`semantics::claim_resize`).
fn check_claim_resize(
    state: &State,
    def: &ResourceDef,
    name: &str,
    old: &Value,
    new: &Value,
) -> Result<(), ApiError> {
    let class_name = str_at(new, &["spec", "storageClassName"]).unwrap_or_default();
    let class = state
        .registry
        .get("storage.k8s.io", "v1", "storageclasses")
        .and_then(|classes| {
            state
                .store
                .get(&classes.table, &ObjectKey::new("", class_name))
        });
    match claim_resize::check_claim_update(old, new, class.map(|c| &**c)) {
        Ok(()) => Ok(()),
        Err(ClaimResizeError::BelowCapacity) => Err(invalid(
            def,
            name,
            vec![FieldCause::forbidden(
                &FieldPath::new("spec")
                    .child("resources")
                    .child("requests")
                    .child("storage"),
                claim_resize::BELOW_CAPACITY,
            )],
        )),
        Err(ClaimResizeError::Forbidden { detail }) => Err(ApiError::Forbidden {
            subject: subject(def, name),
            detail: detail.to_string(),
            causes: Vec::new(),
        }),
    }
}

/// Checks that the namespace exists and is not terminating (creates only).
fn check_namespace(
    state: &State,
    def: &ResourceDef,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    if !def.namespaced {
        return Ok(());
    }
    match state
        .store
        .get(NAMESPACES_TABLE, &ObjectKey::new("", namespace))
    {
        None => Err(ApiError::NotFound {
            subject: Subject::new("", "namespaces", namespace),
        }),
        Some(ns) if finalizers::is_deleting(ns) => Err(ApiError::Forbidden {
            subject: subject(def, name),
            detail: format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ),
            causes: vec![StatusCause {
                reason: "NamespaceTerminating".into(),
                field: "metadata.namespace".into(),
                message: format!("namespace {namespace} is being terminated"),
            }],
        }),
        Some(_) => Ok(()),
    }
}

/// Decoding the request's object, the first thing the API server does with it (before any
/// admission): unknown fields are pruned and, per `fieldValidation`, returned as warnings or
/// refused with the strict decoding error (400); a custom resource also gets its schema
/// defaults (CRD engine, §3.3 "CRD engine"; built-ins: `semantics::unknown_fields`).
fn decode_fields(
    state: &State,
    def: &ResourceDef,
    object: &mut Value,
    options: &WriteOptions,
) -> Result<Vec<String>, ApiError> {
    let mode: FieldValidation = options
        .field_validation
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(
            |e: crate::semantics::crd_schema::UnsupportedFieldValidation| {
                bad_request(e.to_string())
            },
        )?;
    prune_fields(state, def, object, mode)
}

fn prune_fields(
    state: &State,
    def: &ResourceDef,
    object: &mut Value,
    mode: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let Some(crd) = state.compiled_crd(def) else {
        let unknown = unknown_fields::prune_unknown(&def.group, &def.version, &def.kind, object);
        return unknown_fields::outcome(mode, unknown).map_err(|e| bad_request(e.to_string()));
    };
    crd.prune_and_default(&def.version, object, mode)
        .map_err(|e| bad_request(e.to_string()))
}

/// What the API server does with a custom resource after mutating admission: fields a webhook
/// added that the schema does not declare are pruned silently, defaults applied again, then the
/// schema and CEL rules validated (`old` on update, for transition rules).
fn check_custom_resource(
    state: &State,
    def: &ResourceDef,
    object: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    prune_fields(state, def, object, FieldValidation::Ignore)?;
    let Some(crd) = state.compiled_crd(def) else {
        return Ok(());
    };
    let name = str_at(object, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    crd.validate(&def.version, object, old)
        .map_err(|causes| invalid(def, &name, causes))
}

/// The 422 of a custom resource whose metadata is invalid lists the schema and CEL causes too:
/// the API server checks object metadata and the schema in one pass
/// (`customResourceValidator.Validate`), metadata first.
fn with_schema_causes(
    state: &State,
    def: &ResourceDef,
    mut causes: Vec<FieldCause>,
    object: &Value,
    old: Option<&Value>,
) -> Vec<FieldCause> {
    if let Some(crd) = state.compiled_crd(def)
        && let Err(schema_causes) = crd.validate(&def.version, object, old)
    {
        causes.extend(schema_causes);
    }
    causes
}

/// Server-side apply of an object that does not exist yet: it is created.
fn apply_create(
    state: &mut State,
    def: &ResourceDef,
    namespace: Option<&str>,
    name: &str,
    body: &Value,
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    check_type(def, body)?;
    check_name(body, name)?;
    let mut applied = applied_part(body, def, Subresource::Main);
    metadata_mut(&mut applied).insert("name".into(), json!(name));
    let schema = state.merge_schema(def);
    let ctx = manager_context(def, options, Subresource::Main);
    let merged = ssa::apply(None, &applied, &ctx, options.force, &schema).map_err(apply_error)?;
    create_locked(state, def, namespace, merged, options, Ownership::Applied)
}

/// Create under the lock; `body` is in the served representation.
fn create_locked(
    state: &mut State,
    def: &ResourceDef,
    namespace: Option<&str>,
    body: Value,
    options: &WriteOptions,
    ownership: Ownership,
) -> Result<Written, ApiError> {
    check_type(def, &body)?;
    let mut object = body;
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".into(), json!(def.api_version()));
        map.insert("kind".into(), json!(def.kind));
    }
    let namespace = scope_namespace(def, namespace);
    let mismatch = || {
        bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        )
    };
    let body_namespace = str_at(&object, &["metadata", "namespace"]).map(str::to_string);
    if def.namespaced {
        if namespace.is_empty()
            || body_namespace
                .as_deref()
                .is_some_and(|ns| !ns.is_empty() && ns != namespace)
        {
            return Err(mismatch());
        }
        metadata_mut(&mut object).insert("namespace".into(), json!(namespace));
    } else {
        metadata_mut(&mut object).remove("namespace");
    }
    let warnings = decode_fields(state, def, &mut object, options)?;
    // Mutating admission sees the decoded object before names are generated and the object
    // is validated (apiserver `createHandler`: admit, then `BeforeCreate`).
    if let Some(hook) = &options.admission {
        hook.call(AdmissionStage::Mutating, Some(&mut object), None)?;
        check_type(def, &object)?;
    }
    let mut name = str_at(&object, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    if name.is_empty()
        && let Some(prefix) = str_at(&object, &["metadata", "generateName"]).map(str::to_string)
        && !prefix.is_empty()
    {
        loop {
            let candidate = format!("{prefix}{}", state.store.name_suffix());
            if state
                .store
                .get(&def.table, &ObjectKey::new(&namespace, &candidate))
                .is_none()
            {
                name = candidate;
                break;
            }
        }
        metadata_mut(&mut object).insert("name".into(), json!(name));
    }
    let causes = object_meta::validate(&object, name_rule(def), def.namespaced);
    if !causes.is_empty() {
        return Err(invalid(
            def,
            &name,
            with_schema_causes(state, def, causes, &object, None),
        ));
    }
    check_namespace(state, def, &namespace, &name)?;
    if state
        .store
        .get(&def.table, &ObjectKey::new(&namespace, &name))
        .is_some()
    {
        return Err(ApiError::AlreadyExists {
            subject: subject(def, &name),
        });
    }
    if def.status_subresource
        && matches!(def.origin, Origin::Crd { .. })
        && let Some(map) = object.as_object_mut()
    {
        // Custom resources with a status subresource drop status on create (apiextensions
        // strategy `PrepareForCreate`).
        map.remove("status");
    }
    if matches!(def.origin, Origin::BuiltIn) && def.status_subresource {
        builtin_create::initial_status(&def.group, &def.plural, &mut object);
    }
    if def.group.is_empty() && def.plural == "namespaces" {
        // The namespace strategy's PrepareForCreate: the `kubernetes` finalizer, phase Active.
        object["spec"]["finalizers"] = json!([finalizers::NAMESPACE_FINALIZER]);
        object["status"] = json!({"phase": "Active"});
    }
    if def.group.is_empty() && def.plural == "services" {
        let used: BTreeSet<String> = state
            .store
            .list(&def.table, None)
            .filter_map(|s| s.pointer("/spec/clusterIP").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        builtin_create::prepare_service(&mut object, &used);
    }
    let timestamp = format_time(now());
    if def.table == crds::CRD_TABLE {
        crds::prepare_write(&mut object, None, &timestamp)?;
    }
    check_custom_resource(state, def, &mut object, None)?;
    if ownership == Ownership::Update {
        let schema = state.merge_schema(def);
        let ctx = manager_context(def, options, Subresource::Main);
        object = ssa::track_update(None, &object, &ctx, &schema);
    }
    object_meta::normalize(&mut object, matches!(def.origin, Origin::BuiltIn));
    let prepared = state.store.prepare_create(absorb(def, object), &timestamp);
    if let Some(hook) = &options.admission {
        hook.call(
            AdmissionStage::Validating,
            Some(&mut present(def, &prepared)),
            None,
        )?;
    }
    if options.dry_run {
        return Ok(Written {
            object: present(def, &prepared),
            created: true,
            warnings,
        });
    }
    let stored = state.store.insert(&def.table, prepared);
    let mut queue = GcQueue::default();
    queue.after_write(&state.store, &stored);
    gc::settle(&mut state.store, &mut queue, &timestamp);
    crds::sync(state);
    Ok(Written {
        object: present(def, &stored),
        created: true,
        warnings,
    })
}

fn check_resource_version(
    def: &ResourceDef,
    name: &str,
    incoming: &Value,
    stored: &Value,
) -> Result<(), ApiError> {
    let requested = str_at(incoming, &["metadata", "resourceVersion"]).unwrap_or_default();
    let current = str_at(stored, &["metadata", "resourceVersion"]).unwrap_or_default();
    if !requested.is_empty() && requested != current {
        return Err(ApiError::Conflict {
            subject: subject(def, name),
            detail: MODIFIED.to_string(),
        });
    }
    Ok(())
}

/// Update of a stored object under the lock. `new` is in the served representation.
fn update_locked(
    state: &mut State,
    def: &ResourceDef,
    stored: &Value,
    new: Value,
    subresource: Subresource,
    options: &WriteOptions,
    ownership: Ownership,
) -> Result<Written, ApiError> {
    check_type(def, &new)?;
    let served_old = present(def, stored);
    let name = str_at(stored, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let namespace = str_at(stored, &["metadata", "namespace"])
        .unwrap_or_default()
        .to_string();
    check_name(&new, &name)?;
    let new_namespace = str_at(&new, &["metadata", "namespace"]).unwrap_or_default();
    if def.namespaced && !new_namespace.is_empty() && new_namespace != namespace {
        return Err(bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    check_resource_version(def, &name, &new, stored)?;
    let stored_uid = str_at(stored, &["metadata", "uid"]).unwrap_or_default();
    let new_uid = str_at(&new, &["metadata", "uid"]).unwrap_or_default();
    if !new_uid.is_empty() && new_uid != stored_uid {
        return Err(ApiError::Conflict {
            subject: subject(def, &name),
            detail: format!(
                "Precondition failed: UID in precondition: {new_uid}, UID in object meta: {stored_uid}"
            ),
        });
    }
    let mut object = match subresource {
        Subresource::Status => {
            let mut object = subresources::take_status_only(&served_old, &new);
            // Server-side apply computed the managers (its own entry with `subresource:
            // status`); metadata is otherwise reset to the stored one (ResetObjectMetaForStatus).
            if ownership == Ownership::Applied
                && let Some(managed) = new.pointer("/metadata/managedFields")
            {
                metadata_mut(&mut object).insert("managedFields".into(), managed.clone());
            }
            object
        }
        Subresource::Main | Subresource::Scale => {
            let mut object = new;
            if def.status_subresource {
                subresources::keep_stored_status(&served_old, &mut object);
            }
            object
        }
    };
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".into(), json!(def.api_version()));
        map.insert("kind".into(), json!(def.kind));
    }
    if def.group.is_empty() && def.plural == "services" {
        builtin_create::keep_allocated_service_fields(&served_old, &mut object);
    }
    {
        let metadata = metadata_mut(&mut object);
        metadata.insert("name".into(), json!(name));
        if def.namespaced {
            metadata.insert("namespace".into(), json!(namespace));
        } else {
            metadata.remove("namespace");
        }
    }
    object_meta::keep_system_fields(stored, &mut object);
    let warnings = decode_fields(state, def, &mut object, options)?;
    // Mutating admission sees the patched (or replaced) object before it is validated.
    if let Some(hook) = &options.admission {
        hook.call(
            AdmissionStage::Mutating,
            Some(&mut object),
            Some(&served_old),
        )?;
        check_type(def, &object)?;
        check_name(&object, &name)?;
        object_meta::keep_system_fields(stored, &mut object);
    }
    if finalizers::is_deleting(stored) {
        let added = finalizers::added_finalizers(stored, &object);
        if !added.is_empty() {
            return Err(invalid(
                def,
                &name,
                vec![FieldCause::forbidden(
                    &FieldPath::new("metadata").child("finalizers"),
                    &format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                        json!(added)
                    ),
                )],
            ));
        }
    }
    let causes = object_meta::validate(&object, name_rule(def), def.namespaced);
    if !causes.is_empty() {
        let causes = with_schema_causes(state, def, causes, &object, Some(&served_old));
        return Err(invalid(def, &name, causes));
    }
    if def.group.is_empty()
        && def.plural == "persistentvolumeclaims"
        && subresource == Subresource::Main
    {
        check_claim_resize(state, def, &name, &served_old, &object)?;
    }
    let timestamp = format_time(now());
    if def.table == crds::CRD_TABLE && subresource == Subresource::Main {
        crds::prepare_write(&mut object, stored.get("status"), &timestamp)?;
    }
    check_custom_resource(state, def, &mut object, Some(&served_old))?;
    if ownership == Ownership::Update {
        let schema = state.merge_schema(def);
        let ctx = manager_context(def, options, subresource);
        object = ssa::track_update(Some(&served_old), &object, &ctx, &schema);
    }
    object_meta::normalize(&mut object, matches!(def.origin, Origin::BuiltIn));
    let mut object = absorb(def, object);
    // Same resourceVersion on both sides so that an unchanged object is a no-op: no new
    // revision, no watch event (controllers re-applying an unchanged object rely on this).
    metadata_mut(&mut object).insert(
        "resourceVersion".into(),
        stored
            .pointer("/metadata/resourceVersion")
            .cloned()
            .unwrap_or(Value::Null),
    );
    // Validating admission runs for every update, unchanged ones included.
    if let Some(hook) = &options.admission {
        hook.call(
            AdmissionStage::Validating,
            Some(&mut present(def, &object)),
            Some(&served_old),
        )?;
    }
    if object == *stored {
        return Ok(Written {
            object: served_old,
            created: false,
            warnings,
        });
    }
    let generation = state.store.next_generation(&def.table, stored, &object);
    metadata_mut(&mut object).insert("generation".into(), json!(generation));
    if options.dry_run {
        return Ok(Written {
            object: present(def, &object),
            created: false,
            warnings,
        });
    }
    let key = ObjectKey::of(&object);
    let mut queue = GcQueue::default();
    gc::commit_update(&mut state.store, &def.table, object.clone(), &mut queue);
    gc::settle(&mut state.store, &mut queue, &timestamp);
    crds::sync(state);
    let result = match state.store.get(&def.table, &key) {
        Some(current) => present(def, current),
        // Removed: the last finalizer went away on a deleting object.
        None => present(def, &object),
    };
    Ok(Written {
        object: result,
        created: false,
        warnings,
    })
}
