//! Writes: create (generateName, AlreadyExists, namespace checks), update with optimistic
//! concurrency, patch (four content types) and the `/status` and `/scale` subresources, each
//! with `dryRun` (rust-ecosystem.md §3.1 create/replace/patch, §3.3 status subresource,
//! generation, dryRun).
//!
//! The order of one update: read stored → compute the candidate (body, patch or scale) → check
//! name/namespace/resourceVersion/uid → keep what the addressed part may not change → metadata
//! rules → managed fields → no-op detection → commit (generation, resourceVersion, GC).

use serde_json::{Value, json};

use super::{
    Cluster, Patch, PatchType, State, Subresource, WriteOptions, Written, absorb, format_time, now,
    present, scope_namespace, subject,
};
use crate::error::{ApiError, StatusCause, Subject};
use crate::resources::{Origin, ResourceDef};
use crate::semantics::finalizers;
use crate::semantics::gc::{self, GcQueue, NAMESPACES_TABLE};
use crate::semantics::object_meta::{self, NameRule};
use crate::semantics::subresources;
use crate::store::{ObjectKey, metadata_mut, str_at};

const MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

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
        let written = create_locked(&mut state, def, namespace, body, options)?;
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
        self.write_existing(def, namespace, name, subresource, options, |_, _| Ok(body))
    }

    /// PATCH of an item, `/status` or `/scale`. Server-side apply on a missing item creates it.
    pub fn patch(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        subresource: Subresource,
        patch: Patch,
        options: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let patch_type = patch.patch_type;
        if patch_type == PatchType::StrategicMerge && matches!(def.origin, Origin::Crd { .. }) {
            return Err(ApiError::UnsupportedMediaType {
                content_type: "application/strategic-merge-patch+json".into(),
                accepted: "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into(),
            });
        }
        Err(ApiError::Internal {
            message: format!(
                "{} patches of {} {:?} are not available yet: the patch engine (semantics::patch, semantics::ssa) is not part of this build",
                match patch_type {
                    PatchType::Json => "JSON",
                    PatchType::Merge => "merge",
                    PatchType::StrategicMerge => "strategic merge",
                    PatchType::Apply => "apply",
                },
                def.qualified_resource(),
                (namespace, name, subresource, patch, options),
            ),
        })
    }

    /// The shared update path: `candidate` turns the stored object (served representation)
    /// into the requested new object of the addressed part.
    fn write_existing(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        subresource: Subresource,
        options: &WriteOptions,
        candidate: impl FnOnce(&ResourceDef, &Value) -> Result<Value, ApiError>,
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
                let scale = candidate(def, &current_scale)?;
                check_resource_version(def, name, &scale, &stored)?;
                let updated = subresources::apply_scale(&served, &scale, &paths);
                let object = update_locked(
                    &mut state,
                    def,
                    &stored,
                    updated,
                    Subresource::Main,
                    options,
                )?;
                let stored_now = state.store.get(&def.table, &key).cloned();
                let scale_object = match stored_now {
                    Some(s) if !options.dry_run => subresources::to_scale(&s, &paths),
                    _ => subresources::to_scale(&absorb(def, object.object.clone()), &paths),
                };
                Written {
                    object: scale_object,
                    created: false,
                }
            }
            _ => {
                let new = candidate(def, &served)?;
                update_locked(&mut state, def, &stored, new, subresource, options)?
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

fn name_rule(def: &ResourceDef) -> NameRule {
    if def.group.is_empty() && (def.plural == "namespaces" || def.plural == "services") {
        NameRule::Label
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
        && api_version != crate::resources::api_version(&def.group, &def.storage_version)
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

fn invalid(def: &ResourceDef, name: &str, causes: Vec<StatusCause>) -> ApiError {
    ApiError::Invalid {
        message: object_meta::invalid_message(&def.kind, &def.group, name, &causes),
        kind: def.kind.clone(),
        group: def.group.clone(),
        name: name.to_string(),
        causes,
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

/// Create under the lock (also used by server-side apply of a missing object).
pub(super) fn create_locked(
    state: &mut State,
    def: &ResourceDef,
    namespace: Option<&str>,
    body: Value,
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    check_type(def, &body)?;
    let mut object = absorb(def, body);
    let namespace = scope_namespace(def, namespace);
    {
        let body_namespace = str_at(&object, &["metadata", "namespace"]).map(str::to_string);
        let metadata = metadata_mut(&mut object);
        if def.namespaced {
            if namespace.is_empty() {
                return Err(bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
            if body_namespace
                .as_deref()
                .is_some_and(|ns| !ns.is_empty() && ns != namespace)
            {
                return Err(bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
            metadata.insert("namespace".into(), json!(namespace));
        } else {
            metadata.remove("namespace");
        }
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
    let causes = object_meta::validate(&object, name_rule(def));
    if !causes.is_empty() {
        return Err(invalid(def, &name, causes));
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
    if def.status_subresource && matches!(def.origin, Origin::Crd { .. }) {
        // CRDs with a status subresource drop status on create (apiextensions strategy).
        if let Some(map) = object.as_object_mut() {
            map.remove("status");
        }
    }
    if def.group.is_empty() && def.plural == "namespaces" {
        // The namespace registry's PrepareForCreate: the `kubernetes` finalizer and phase Active.
        object["spec"]["finalizers"] = json!([finalizers::NAMESPACE_FINALIZER]);
        object["status"] = json!({"phase": "Active"});
    }
    object_meta::normalize(&mut object, matches!(def.origin, Origin::BuiltIn));
    let timestamp = format_time(now());
    let prepared = state.store.prepare_create(object, &timestamp);
    if options.dry_run {
        return Ok(Written {
            object: present(def, &prepared),
            created: true,
        });
    }
    let stored = state.store.insert(&def.table, prepared);
    let mut queue = GcQueue::default();
    queue.after_write(&state.store, &stored);
    gc::settle(&mut state.store, &mut queue, &timestamp);
    Ok(Written {
        object: present(def, &stored),
        created: true,
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
pub(super) fn update_locked(
    state: &mut State,
    def: &ResourceDef,
    stored: &Value,
    new: Value,
    subresource: Subresource,
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    check_type(def, &new)?;
    let name = str_at(stored, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let namespace = str_at(stored, &["metadata", "namespace"])
        .unwrap_or_default()
        .to_string();
    let new_name = str_at(&new, &["metadata", "name"]).unwrap_or_default();
    if !new_name.is_empty() && new_name != name {
        return Err(bad_request(format!(
            "the name of the object ({new_name}) does not match the name on the URL ({name})"
        )));
    }
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
    let mut object = absorb(def, new);
    object = match subresource {
        Subresource::Status => subresources::take_status_only(stored, &object),
        Subresource::Main | Subresource::Scale => {
            if def.status_subresource {
                subresources::keep_stored_status(stored, &mut object);
            }
            object
        }
    };
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
    if finalizers::is_deleting(stored) {
        let added = finalizers::added_finalizers(stored, &object);
        if !added.is_empty() {
            return Err(invalid(
                def,
                &name,
                vec![StatusCause {
                    reason: "FieldValueForbidden".into(),
                    field: "metadata.finalizers".into(),
                    message: format!(
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {}",
                        json!(added)
                    ),
                }],
            ));
        }
    }
    let causes = object_meta::validate(&object, name_rule(def));
    if !causes.is_empty() {
        return Err(invalid(def, &name, causes));
    }
    object_meta::normalize(&mut object, matches!(def.origin, Origin::BuiltIn));
    // Same resourceVersion on both sides so that an unchanged object is a no-op: no new
    // revision, no watch event (controllers re-applying an unchanged object rely on this).
    metadata_mut(&mut object).insert(
        "resourceVersion".into(),
        stored
            .pointer("/metadata/resourceVersion")
            .cloned()
            .unwrap_or(Value::Null),
    );
    if object == *stored {
        return Ok(Written {
            object: present(def, stored),
            created: false,
        });
    }
    let generation = state.store.next_generation(&def.table, stored, &object);
    metadata_mut(&mut object).insert("generation".into(), json!(generation));
    if options.dry_run {
        return Ok(Written {
            object: present(def, &object),
            created: false,
        });
    }
    let timestamp = format_time(now());
    let key = ObjectKey::of(&object);
    let mut queue = GcQueue::default();
    gc::commit_update(&mut state.store, &def.table, object.clone(), &mut queue);
    gc::settle(&mut state.store, &mut queue, &timestamp);
    let result = match state.store.get(&def.table, &key) {
        Some(current) => present(def, current),
        // Removed: the last finalizer went away on a deleting object.
        None => present(def, &object),
    };
    Ok(Written {
        object: result,
        created: false,
    })
}
