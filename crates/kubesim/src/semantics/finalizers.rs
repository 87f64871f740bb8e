//! Deletion with finalizers and `deletionTimestamp` (rust-ecosystem.md §3.3 "Delete / finalizers
//! / GC"): what a DELETE does to one object, and when an update that empties `finalizers` really
//! removes it.
//!
//! Pure: decides on values; `semantics::gc` commits the decisions to the store and follows the
//! owner references.

use serde_json::{Value, json};

use crate::store::metadata_mut;

/// The finalizer the garbage collector adds for `propagationPolicy: Orphan`.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// The finalizer the garbage collector adds for `propagationPolicy: Foreground`.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// The namespace controller's finalizer, kept in a Namespace's `spec.finalizers`.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

/// `DeleteOptions.propagationPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    /// Parses the wire value; `None` for anything else.
    pub fn parse(value: &str) -> Option<Propagation> {
        match value {
            "Background" => Some(Propagation::Background),
            "Foreground" => Some(Propagation::Foreground),
            "Orphan" => Some(Propagation::Orphan),
            _ => None,
        }
    }
}

/// What a delete request does to an object.
#[derive(Clone, Debug, PartialEq)]
pub enum DeletePlan {
    /// Nothing blocks: remove the object now.
    Remove,
    /// Finalizers remain: store this object (deletionTimestamp set, policy finalizer added).
    Mark(Value),
    /// Already being deleted and nothing new to record.
    Unchanged,
}

/// The finalizers of an object (`metadata.finalizers`).
pub fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the object has `deletionTimestamp`.
pub fn is_deleting(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some()
}

/// Sets `metadata.finalizers`, omitting the field when empty (P6: never `finalizers: []`).
pub fn set_finalizers(object: &mut Value, list: &[String]) {
    let metadata = metadata_mut(object);
    if list.is_empty() {
        metadata.remove("finalizers");
    } else {
        metadata.insert("finalizers".into(), json!(list));
    }
}

/// The deletion of `object` requested with `propagation`; `deletion_timestamp` is the time the
/// object is due (now + grace period) and `grace_seconds` the recorded grace.
///
/// Namespaces always stay until the namespace controller (`semantics::gc`) has emptied them:
/// they are marked with phase `Terminating` and the `kubernetes` spec finalizer.
pub fn plan_delete(
    object: &Value,
    propagation: Propagation,
    deletion_timestamp: &str,
    grace_seconds: i64,
    is_namespace: bool,
) -> DeletePlan {
    let mut list = finalizers(object);
    let policy_finalizer = match propagation {
        Propagation::Background => None,
        Propagation::Foreground => Some(FOREGROUND_FINALIZER),
        Propagation::Orphan => Some(ORPHAN_FINALIZER),
    };
    let mut added = false;
    if let Some(f) = policy_finalizer
        && !list.iter().any(|x| x == f)
    {
        // A new policy replaces the other GC policy finalizer (upstream `deletionFinalizersForGarbageCollection`).
        list.retain(|x| x != ORPHAN_FINALIZER && x != FOREGROUND_FINALIZER);
        list.push(f.to_string());
        added = true;
    }
    if is_deleting(object) {
        if !added {
            return DeletePlan::Unchanged;
        }
        let mut marked = object.clone();
        set_finalizers(&mut marked, &list);
        return DeletePlan::Mark(marked);
    }
    if list.is_empty() && !is_namespace {
        return DeletePlan::Remove;
    }
    let mut marked = object.clone();
    set_finalizers(&mut marked, &list);
    let metadata = metadata_mut(&mut marked);
    metadata.insert("deletionTimestamp".into(), json!(deletion_timestamp));
    metadata.insert("deletionGracePeriodSeconds".into(), json!(grace_seconds));
    if is_namespace {
        marked["spec"]["finalizers"] = json!([NAMESPACE_FINALIZER]);
        marked["status"]["phase"] = json!("Terminating");
    }
    DeletePlan::Mark(marked)
}

/// Whether an object that was just updated should be removed: it is being deleted, no
/// finalizer (nor, for a Namespace, spec finalizer) remains, and no grace period is pending
/// (a pod deleted gracefully waits for the kubelet's final delete; upstream
/// `ShouldDeleteDuringUpdate`).
pub fn is_ready_to_remove(object: &Value) -> bool {
    is_deleting(object)
        && finalizers(object).is_empty()
        && object
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            == 0
        && object
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|l| l.is_empty() || object.get("kind") != Some(&json!("Namespace")))
}

/// Finalizers in `new` that `old` did not have; the API server rejects adding any while the
/// object is being deleted.
pub fn added_finalizers(old: &Value, new: &Value) -> Vec<String> {
    let before = finalizers(old);
    finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn an_object_without_finalizers_is_removed_at_once() {
        let obj = json!({"metadata": {"name": "a"}});
        assert_eq!(
            plan_delete(&obj, Propagation::Background, "t", 0, false),
            DeletePlan::Remove
        );
    }

    #[test]
    fn finalizers_keep_the_object_with_a_deletion_timestamp() {
        let obj = json!({"metadata": {"name": "a", "finalizers": ["x/y"]}});
        assert_eq!(
            plan_delete(
                &obj,
                Propagation::Background,
                "2026-01-01T00:00:00Z",
                0,
                false
            ),
            DeletePlan::Mark(json!({"metadata": {"name": "a", "finalizers": ["x/y"],
                "deletionTimestamp": "2026-01-01T00:00:00Z", "deletionGracePeriodSeconds": 0}}))
        );
    }

    #[test]
    fn foreground_and_orphan_add_their_gc_finalizer() {
        let obj = json!({"metadata": {"name": "a"}});
        let marked = |f: &str| {
            DeletePlan::Mark(json!({"metadata": {"name": "a", "finalizers": [f],
                "deletionTimestamp": "t", "deletionGracePeriodSeconds": 0}}))
        };
        assert_eq!(
            plan_delete(&obj, Propagation::Foreground, "t", 0, false),
            marked("foregroundDeletion")
        );
        let orphan = plan_delete(&obj, Propagation::Orphan, "t", 0, false);
        assert_eq!(orphan, marked("orphan"));
        let orphaned = json!({"metadata": {"name": "a", "finalizers": ["orphan"],
            "deletionTimestamp": "t", "deletionGracePeriodSeconds": 0}});
        assert_eq!(
            plan_delete(&orphaned, Propagation::Orphan, "t2", 0, false),
            DeletePlan::Unchanged
        );
    }

    #[test]
    fn a_namespace_is_marked_terminating() {
        let ns = json!({"kind": "Namespace", "metadata": {"name": "a"}, "spec": {}, "status": {"phase": "Active"}});
        let expected = json!({"kind": "Namespace",
            "metadata": {"name": "a", "deletionTimestamp": "t", "deletionGracePeriodSeconds": 0},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Terminating"}});
        assert_eq!(
            plan_delete(&ns, Propagation::Background, "t", 0, true),
            DeletePlan::Mark(expected.clone())
        );
        assert!(!is_ready_to_remove(&expected));
    }

    #[test]
    fn emptying_finalizers_of_a_deleting_object_makes_it_removable() {
        let obj = json!({"metadata": {"name": "a", "deletionTimestamp": "t"}});
        assert!(is_ready_to_remove(&obj));
        let kept =
            json!({"metadata": {"name": "a", "deletionTimestamp": "t", "finalizers": ["f"]}});
        assert!(!is_ready_to_remove(&kept));
    }
}
