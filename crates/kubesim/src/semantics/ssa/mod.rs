//! Server-side apply and field ownership (`metadata.managedFields`).
//!
//! Place: every write path of the HTTP layer ends here (rust-ecosystem.md §3.3 "Server-side
//! apply"). `PATCH` with `application/apply-patch+yaml` calls [`apply`]; create, `PUT`, and merge,
//! JSON and strategic patches call [`track_update`] with the object they are about to persist.
//! The semantics are structured-merge-diff's `merge.Updater` behind apimachinery's field manager
//! chain:
//! - an `Apply` manager's set becomes exactly the applied fields; fields it owned before and
//!   omits now are removed from the object unless another manager still owns them;
//! - changing a field another manager owns is a conflict (409, [`ApplyConflicts`]) unless
//!   `force`, which moves the field to the applier; applying the same value shares ownership;
//! - an `Update` gains the fields it changed or added; every other manager loses them, and
//!   everyone loses removed fields; empty entries disappear, and at most ten `Update` entries
//!   are kept (older ones fold into `ancient-changes`);
//! - `apiVersion`, `kind`, `metadata` itself and the server-set metadata fields are never owned;
//! - a manager's `time` moves only when its operation changed the object;
//! - an object without managedFields gets a `before-first-apply` entry for its existing fields
//!   on its first apply, and updates of such an object are not tracked.
//!
//! Reset fields (the API server's per-resource `ResetFields`): on a kind with a status
//! subresource, writes to the main resource ignore `.status` and writes to `/status` ignore the
//! rest. The caller applies that rule to the objects it passes (strip `status` from an applied
//! configuration, restore the live `status` in an updated object, and the converse on
//! `/status`); ownership then follows, as it does upstream.
//!
//! Errors: [`apply`] refuses with [`ApplyError`], whose `Conflicts` variant carries the
//! [`ApplyConflicts`] 409 and whose other variants are the API server's other refusals
//! (`metadata.managedFields must be nil`, untyped objects). Checking that the applied object's
//! `apiVersion`, `kind` and `name` match the request path is the HTTP layer's job.
//!
//! Must not: read the clock (`time` is in [`FieldManagerContext`]), touch the store, or decide
//! resourceVersion/generation (an apply that changes nothing returns the live object as it was,
//! and the store keeps its resourceVersion).

mod conflict;
mod field_set;
mod managed_fields;
mod structured;

use serde_json::{Map, Value};

pub use conflict::{ApplyConflicts, Conflict, ConflictCause};
pub use field_set::{FieldSet, Path, PathElement, path_to_string};
pub use managed_fields::{Identity, Operation};
pub use structured::StructureError;

use managed_fields::{Entry, Managed, unix_seconds};
use structured::{
    Comparison, compare, ensure_named_fields_are_members, merge, remove_items, to_field_set,
};

use crate::semantics::merge_schema::{MergeSchema, Node, with_typed_zero};
use crate::semantics::patch::json_equal;

/// Who is writing, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldManagerContext {
    /// The `fieldManager` query parameter (kubesim's HTTP layer falls back to the user agent's
    /// program name as the API server does; empty becomes `unknown`).
    pub manager: String,
    /// The API version of the request (`v1`, `apps/v1`, `multigres.com/v1alpha1`).
    pub api_version: String,
    /// `Some("status")`/`Some("scale")` for a subresource write.
    pub subresource: Option<String>,
    /// The write's time, RFC 3339 in UTC with seconds (`2024-05-01T10:00:00Z`).
    pub time: String,
}

/// Why an apply was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// Fields owned by other managers would change (409 `Conflict`).
    #[error("{conflicts}")]
    Conflicts {
        /// The conflicts, with the exact message and causes.
        conflicts: ApplyConflicts,
    },
    /// The applied configuration carries `metadata.managedFields` (400 `BadRequest`).
    #[error("metadata.managedFields must be nil")]
    ManagedFieldsInRequest,
    /// The applied configuration does not fit the schema, e.g. a list-map item without its key
    /// (500, as the API server reports it).
    #[error("failed to create typed patch object ({object}): {cause}")]
    TypeAppliedObject {
        /// `namespace/name; group/version, Kind=kind` of the applied object.
        object: String,
        /// What is wrong, with its path.
        cause: StructureError,
    },
    /// The live object does not fit the schema or carries unreadable managedFields (500).
    #[error("failed to create typed live object ({object}): {cause}")]
    TypeLiveObject {
        /// `namespace/name; group/version, Kind=kind` of the live object.
        object: String,
        /// What is wrong.
        cause: String,
    },
}

impl ApplyError {
    /// The HTTP status code the API server answers with.
    pub fn code(&self) -> u16 {
        match self {
            ApplyError::Conflicts { .. } => 409,
            ApplyError::ManagedFieldsInRequest => 400,
            ApplyError::TypeAppliedObject { .. } | ApplyError::TypeLiveObject { .. } => 500,
        }
    }

    /// The `Status.reason` (empty for the 500s, which upstream leaves unset).
    pub fn reason(&self) -> &'static str {
        match self {
            ApplyError::Conflicts { .. } => "Conflict",
            ApplyError::ManagedFieldsInRequest => "BadRequest",
            ApplyError::TypeAppliedObject { .. } | ApplyError::TypeLiveObject { .. } => "",
        }
    }
}

/// The paths no manager ever owns (apimachinery's `stripMetaManager`).
fn strip_set() -> FieldSet {
    let mut set = FieldSet::new();
    let field = |name: &str| PathElement::Field(name.to_owned());
    set.insert(&[field("apiVersion")]);
    set.insert(&[field("kind")]);
    set.insert(&[field("metadata")]);
    for name in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.insert(&[field("metadata"), field(name)]);
    }
    set
}

/// The maximum number of `Update` entries before the oldest fold into `ancient-changes`.
const MAX_UPDATE_MANAGERS: usize = 10;

/// Applies configuration `applied` to `live` (`None`: the object does not exist and is created)
/// for `ctx.manager`, returning the object to persist with its updated `metadata.managedFields`.
///
/// When the apply changes nothing, the result equals `live` except for ownership changes.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    ctx: &FieldManagerContext,
    force: bool,
    schema: &MergeSchema,
) -> Result<Value, ApplyError> {
    if applied
        .pointer("/metadata/managedFields")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApplyError::ManagedFieldsInRequest);
    }
    let root = schema.root();
    let live_object = live
        .map(without_managed_fields)
        .unwrap_or_else(empty_object);
    let mut managed = Managed::decode(live.and_then(|l| l.pointer("/metadata/managedFields")))
        .map_err(|cause| ApplyError::TypeLiveObject {
            object: describe_object(&live_object),
            cause: format!("failed to decode managed fields: {cause}"),
        })?;
    let subresource = ctx.subresource.as_deref().unwrap_or_default();

    if managed.is_empty() {
        // The fields that exist before the first apply belong to `before-first-apply`.
        let identity = Identity::new(
            "before-first-apply",
            Operation::Update,
            &ctx.api_version,
            subresource,
        );
        managed = record_update(&empty_object(), &live_object, managed, identity, ctx, root)
            .map_err(|cause| ApplyError::TypeLiveObject {
                object: describe_object(&live_object),
                cause: cause.to_string(),
            })?;
    }

    let applied_set =
        to_field_set(applied, root).map_err(|cause| ApplyError::TypeAppliedObject {
            object: describe_object(applied),
            cause,
        })?;
    let merged = merge(Some(&live_object), Some(applied), root)
        .map_err(|cause| ApplyError::TypeAppliedObject {
            object: describe_object(applied),
            cause,
        })?
        .unwrap_or_else(empty_object);

    let identity = Identity::new(
        &ctx.manager,
        Operation::Apply,
        &ctx.api_version,
        subresource,
    );
    let key = identity.key();
    let previous = managed.entries.remove(&key);
    let last_set = previous.as_ref().map(|e| e.set.clone());
    managed.entries.insert(
        key.clone(),
        Entry {
            identity,
            api_version: ctx.api_version.clone(),
            time: previous.and_then(|e| e.time),
            set: applied_set,
        },
    );

    let live_error = |cause: StructureError| ApplyError::TypeLiveObject {
        object: describe_object(&live_object),
        cause: cause.to_string(),
    };
    let pruned = prune(&merged, &managed, last_set.as_ref(), root).map_err(live_error)?;
    match update(&live_object, &pruned, &mut managed, Some(&key), force, root) {
        Ok(_) => {}
        Err(UpdateError::Conflicts(conflicts)) => return Err(ApplyError::Conflicts { conflicts }),
        Err(UpdateError::Structure(cause)) => return Err(live_error(cause)),
    }

    let changed = !json_equal(&live_object, &pruned);
    if let Some(entry) = managed.entries.get_mut(&key) {
        if changed {
            entry.time = Some(ctx.time.clone());
        }
        entry.set = entry.set.difference(&strip_set());
        if entry.set.is_empty() {
            managed.entries.remove(&key);
        }
    }
    let result = if changed { pruned } else { live_object };
    Ok(with_managed_fields(result, &managed))
}

/// Records an `Update` by `ctx.manager` that turns `old` (`None` on create) into `new`, returning
/// `new` with its `metadata.managedFields` set.
///
/// As the API server does, managedFields sent in `new` replace the live ones when they decode
/// (an empty list, or one empty entry, resets them) except on subresources; an object that has
/// none keeps having none; and anything unreadable leaves the live managedFields in place.
pub fn track_update(
    old: Option<&Value>,
    new: &Value,
    ctx: &FieldManagerContext,
    schema: &MergeSchema,
) -> Value {
    let subresource = ctx.subresource.as_deref().unwrap_or_default();
    let live_managed = || {
        Managed::decode(old.and_then(|o| o.pointer("/metadata/managedFields"))).unwrap_or_default()
    };
    let requested = new.pointer("/metadata/managedFields");
    let managed = if !subresource.is_empty() {
        live_managed()
    } else if requested.is_some_and(is_reset_managed_fields) {
        Managed::default()
    } else {
        match Managed::decode(requested) {
            Ok(managed) if !managed.is_empty() => managed,
            _ => live_managed(),
        }
    };
    let new_object = without_managed_fields(new);
    let has_uid = old
        .and_then(|o| o.pointer("/metadata/uid"))
        .and_then(Value::as_str)
        .is_some_and(|uid| !uid.is_empty());
    if managed.is_empty() && has_uid {
        return new_object;
    }
    let old_object = old.map(without_managed_fields).unwrap_or_else(empty_object);
    let identity = Identity::new(
        &ctx.manager,
        Operation::Update,
        &ctx.api_version,
        subresource,
    );
    match record_update(
        &old_object,
        &new_object,
        managed,
        identity,
        ctx,
        schema.root(),
    ) {
        Ok(managed) => with_managed_fields(new_object, &managed),
        Err(_) => {
            let mut out = new_object;
            if let Some(live) = old.and_then(|o| o.pointer("/metadata/managedFields")) {
                set_managed_fields(&mut out, Some(live.clone()));
            }
            out
        }
    }
}

/// `isResetManagedFields`: `[]` or `[{}]`.
fn is_reset_managed_fields(value: &Value) -> bool {
    match value.as_array().map(Vec::as_slice) {
        Some([]) => true,
        Some([only]) => only.as_object().is_some_and(Map::is_empty),
        _ => false,
    }
}

/// The ownership after an `Update` by `identity` from `old` to `new` (structured-merge-diff's
/// `Updater.Update` under apimachinery's `managedFieldsUpdater`, `stripMetaManager` and
/// `capManagersManager`).
fn record_update(
    old: &Value,
    new: &Value,
    mut managed: Managed,
    identity: Identity,
    ctx: &FieldManagerContext,
    root: &Node,
) -> Result<Managed, StructureError> {
    let comparison = match update(old, new, &mut managed, None, true, root) {
        Ok(comparison) => comparison,
        Err(UpdateError::Structure(cause)) => return Err(cause),
        Err(UpdateError::Conflicts(_)) => return Ok(managed),
    };
    let changed = comparison
        .modified
        .union(&comparison.added)
        .difference(&strip_set());
    if !changed.is_empty() {
        let key = identity.key();
        let set = match managed.entries.remove(&key) {
            Some(previous) => changed.union(&previous.set),
            None => changed,
        };
        managed.entries.insert(
            key,
            Entry {
                identity,
                api_version: ctx.api_version.clone(),
                time: Some(ctx.time.clone()),
                set,
            },
        );
    }
    cap_update_managers(&mut managed);
    Ok(managed)
}

enum UpdateError {
    Conflicts(ApplyConflicts),
    Structure(StructureError),
}

/// structured-merge-diff's `Updater.update`: compares the typed objects, finds the other
/// managers' fields that changed (conflicts), and takes changed (when forced) and removed fields
/// away from them. `workflow` is the manager doing the write, if it has an entry.
fn update(
    old: &Value,
    new: &Value,
    managed: &mut Managed,
    workflow: Option<&str>,
    force: bool,
    root: &Node,
) -> Result<Comparison, UpdateError> {
    let comparison = compare(
        &with_typed_zero(old, root),
        &with_typed_zero(new, root),
        root,
    )
    .map_err(UpdateError::Structure)?;
    let touched = comparison.modified.union(&comparison.added);
    let mut conflicts = Vec::new();
    let mut conflicting = Vec::new();
    for (key, entry) in &managed.entries {
        if Some(key.as_str()) == workflow {
            continue;
        }
        let owned = entry.set.intersection(&touched);
        if !owned.is_empty() {
            for path in owned.paths() {
                conflicts.push(Conflict {
                    manager: entry.identity.clone(),
                    path,
                });
            }
            conflicting.push((key.clone(), owned));
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(UpdateError::Conflicts(ApplyConflicts::new(conflicts)));
    }
    for (key, owned) in conflicting {
        if let Some(entry) = managed.entries.get_mut(&key) {
            entry.set = entry.set.difference(&owned);
        }
    }
    if !comparison.removed.is_empty() {
        for (key, entry) in managed.entries.iter_mut() {
            if Some(key.as_str()) != workflow {
                entry.set = entry.set.difference(&comparison.removed);
            }
        }
    }
    managed.entries.retain(|_, entry| !entry.set.is_empty());
    Ok(comparison)
}

/// structured-merge-diff's `Updater.prune`: removes what the applier owned last time, no longer
/// applies, and nobody else owns; then puts back anything owned or never the applier's.
fn prune(
    merged: &Value,
    managed: &Managed,
    last_set: Option<&FieldSet>,
    root: &Node,
) -> Result<Value, StructureError> {
    let Some(last_set) = last_set.filter(|s| !s.is_empty()) else {
        return Ok(merged.clone());
    };
    let ensure = |set: &FieldSet| ensure_named_fields_are_members(set, root);
    let remove = |set: &FieldSet| remove_items(merged, set, root).unwrap_or_else(empty_object);

    let pruned = remove(&ensure(last_set));

    // Add back what anyone (the applier's new configuration included) owns.
    let owned = managed
        .entries
        .values()
        .fold(FieldSet::new(), |acc, entry| acc.union(&entry.set));
    let merged_set = ensure(&to_field_set(merged, root)?);
    let pruned_set = ensure(&to_field_set(&pruned, root)?);
    let pruned = remove(&merged_set.difference(&pruned_set.union(&ensure(&owned))));

    // Add back what was removed although the applier never owned it.
    let pruned_set = ensure(&to_field_set(&pruned, root)?);
    Ok(remove(
        &merged_set
            .difference(&pruned_set)
            .intersection(&ensure(last_set)),
    ))
}

/// apimachinery's `capManagersManager`: folds the oldest `Update` entries, per API version, into
/// one `ancient-changes` entry until at most [`MAX_UPDATE_MANAGERS`] remain.
fn cap_update_managers(managed: &mut Managed) {
    let mut updaters: Vec<(i64, String)> = managed
        .entries
        .iter()
        .filter(|(_, e)| e.identity.operation == Operation::Update)
        .map(|(key, e)| (unix_seconds(e.time.as_deref()), key.clone()))
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort();
    let mut remaining = updaters.len();
    let mut first_per_version: std::collections::BTreeMap<String, String> = Default::default();
    for (_, key) in updaters {
        if remaining <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(entry) = managed.entries.get(&key).cloned() else {
            continue;
        };
        let version = entry.api_version.clone();
        let bucket_identity = Identity::new("ancient-changes", Operation::Update, &version, "");
        let bucket_key = bucket_identity.key();
        match first_per_version.get(&version) {
            Some(first) => {
                if !managed.entries.contains_key(&bucket_key)
                    && let Some(first_entry) = managed.entries.remove(first)
                {
                    managed.entries.insert(
                        bucket_key.clone(),
                        Entry {
                            identity: bucket_identity.clone(),
                            ..first_entry
                        },
                    );
                }
                let bucket_set = managed
                    .entries
                    .get(&bucket_key)
                    .map(|b| b.set.clone())
                    .unwrap_or_default();
                managed.entries.remove(&key);
                managed.entries.insert(
                    bucket_key,
                    Entry {
                        identity: bucket_identity,
                        api_version: version,
                        time: entry.time,
                        set: entry.set.union(&bucket_set),
                    },
                );
                remaining -= 1;
            }
            None => {
                first_per_version.insert(version, key);
            }
        }
    }
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// The object without `metadata.managedFields`.
fn without_managed_fields(object: &Value) -> Value {
    let mut out = object.clone();
    set_managed_fields(&mut out, None);
    out
}

fn set_managed_fields(object: &mut Value, managed_fields: Option<Value>) {
    let Value::Object(map) = object else {
        return;
    };
    match managed_fields {
        Some(fields) => {
            let metadata = map
                .entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(metadata) = metadata {
                metadata.insert("managedFields".to_owned(), fields);
            }
        }
        None => {
            if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
                metadata.shift_remove("managedFields");
            }
        }
    }
}

fn with_managed_fields(mut object: Value, managed: &Managed) -> Value {
    set_managed_fields(&mut object, managed.encode());
    object
}

/// `objectGVKNN`: `namespace/name; group/version, Kind=kind`.
fn describe_object(object: &Value) -> String {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let api_version = text("/apiVersion");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    format!(
        "{}/{}; {group}/{version}, Kind={}",
        text("/metadata/namespace"),
        text("/metadata/name"),
        text("/kind")
    )
}

#[cfg(test)]
mod tests;
