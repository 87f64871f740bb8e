//! The garbage collector and the namespace controller, run synchronously after every write
//! (rust-ecosystem.md §3.3 "Delete / finalizers / GC").
//!
//! Follows upstream `pkg/controller/garbagecollector` `attemptToDeleteItem`: a dependent's owner
//! references are *solid* (owner present and not deleting in foreground), *dangling* (owner
//! gone) or *waiting* (owner deleting in foreground). Solid owners keep the dependent (dangling
//! and waiting references are stripped); otherwise it is deleted, in foreground when a
//! foreground owner waits and it has dependents of its own. A foreground owner loses its
//! `foregroundDeletion` finalizer once no dependent with `blockOwnerDeletion` remains; an orphan
//! owner first strips its references from every dependent.
//!
//! Pure: works on the [`Store`] with the time as an argument. Running it to a fixpoint inside
//! the write keeps kubesim deterministic (the real collector is asynchronous; clients cannot tell
//! the difference beyond timing).

use std::collections::VecDeque;

use serde_json::{Value, json};

use crate::semantics::finalizers::{
    self, DeletePlan, FOREGROUND_FINALIZER, NAMESPACE_FINALIZER, ORPHAN_FINALIZER, Propagation,
};
use crate::store::{ObjectKey, ObjectLocation, Store, owner_uids, str_at};

/// The table holding Namespaces.
pub const NAMESPACES_TABLE: &str = "namespaces";

/// Work for the collector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GcWork {
    /// Re-examine the dependents of this uid (the owner is gone, or deleting with a GC
    /// finalizer).
    Owner(String),
    /// Re-examine a terminating namespace.
    Namespace(String),
}

/// The collector's queue; commit functions push follow-up work onto it.
#[derive(Debug, Default)]
pub struct GcQueue {
    work: VecDeque<GcWork>,
}

impl GcQueue {
    pub fn push(&mut self, work: GcWork) {
        if !self.work.contains(&work) {
            self.work.push_back(work);
        }
    }

    /// Queues what an object's write may have started: its own dependents when it is deleting
    /// with a GC finalizer, owners it names that are missing, and its namespace if terminating.
    pub fn after_write(&mut self, store: &Store, object: &Value) {
        if finalizers::is_deleting(object) {
            let list = finalizers::finalizers(object);
            if list
                .iter()
                .any(|f| f == ORPHAN_FINALIZER || f == FOREGROUND_FINALIZER)
                && let Some(uid) = str_at(object, &["metadata", "uid"])
            {
                self.push(GcWork::Owner(uid.to_string()));
            }
            if object.get("kind").and_then(Value::as_str) == Some("Namespace")
                && let Some(name) = str_at(object, &["metadata", "name"])
            {
                self.push(GcWork::Namespace(name.to_string()));
            }
        }
        for owner in owner_uids(object) {
            if store.get_by_uid(&owner).is_none() {
                self.push(GcWork::Owner(owner));
            }
        }
    }

    /// Queues what removing `object` may have started: its dependents, the foreground owners
    /// it was blocking, and its terminating namespace.
    pub fn after_remove(&mut self, object: &Value) {
        if let Some(uid) = str_at(object, &["metadata", "uid"]) {
            self.push(GcWork::Owner(uid.to_string()));
        }
        for owner in owner_uids(object) {
            self.push(GcWork::Owner(owner));
        }
        if let Some(ns) = str_at(object, &["metadata", "namespace"])
            && !ns.is_empty()
        {
            self.push(GcWork::Namespace(ns.to_string()));
        }
    }
}

/// Writes an updated object (generation per §3.3) or removes it when it is deleting and no
/// finalizer remains; queues the follow-up work either way.
pub fn commit_update(store: &mut Store, table: &str, mut new: Value, queue: &mut GcQueue) {
    let key = ObjectKey::of(&new);
    if finalizers::is_ready_to_remove(&new) {
        if let Some(last) = store.remove(table, &key) {
            queue.after_remove(&last);
        }
        return;
    }
    if let Some(old) = store.get(table, &key).cloned() {
        let generation = store.next_generation(table, &old, &new);
        crate::store::metadata_mut(&mut new).insert("generation".into(), json!(generation));
    }
    if let Some(written) = store.replace(table, new) {
        queue.after_write(store, &written);
    }
}

/// Deletes one object as a DELETE request or the collector does; returns the object's state
/// after the call (marked, or its last state when removed), `None` when it does not exist.
pub fn delete_object(
    store: &mut Store,
    location: &ObjectLocation,
    propagation: Propagation,
    deletion_timestamp: &str,
    grace_seconds: i64,
    queue: &mut GcQueue,
) -> Option<Value> {
    let object = store.get(&location.table, &location.key)?.clone();
    let is_namespace = location.table == NAMESPACES_TABLE;
    match finalizers::plan_delete(
        &object,
        propagation,
        deletion_timestamp,
        grace_seconds,
        is_namespace,
    ) {
        DeletePlan::Remove => {
            let last = store.remove(&location.table, &location.key)?;
            queue.after_remove(&last);
            Some((*last).clone())
        }
        DeletePlan::Mark(marked) => {
            commit_update(store, &location.table, marked, queue);
            store
                .get(&location.table, &location.key)
                .map(|o| (**o).clone())
        }
        DeletePlan::Unchanged => Some((*object).clone()),
    }
}

/// Runs the collector and the namespace controller until nothing is left to do.
pub fn settle(store: &mut Store, queue: &mut GcQueue, now: &str) {
    // Each step removes an object, strips a reference or drops a finalizer, so the loop ends;
    // the bound guards against a bug turning into a hung request.
    let mut budget = 1_000_000usize;
    while let Some(work) = queue.work.pop_front() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            tracing::error!("garbage collection did not settle; leaving remaining work");
            return;
        }
        match work {
            GcWork::Owner(uid) => process_owner(store, &uid, now, queue),
            GcWork::Namespace(name) => process_namespace(store, &name, now, queue),
        }
    }
}

fn process_owner(store: &mut Store, uid: &str, now: &str, queue: &mut GcQueue) {
    let owner = store.get_by_uid(uid).cloned();
    let Some(owner) = owner else {
        for dependent in store.dependents_of(uid) {
            process_dependent(store, &dependent, now, queue);
        }
        return;
    };
    if !finalizers::is_deleting(&owner) {
        return;
    }
    let list = finalizers::finalizers(&owner);
    let Some(location) = store.locate(uid).cloned() else {
        return;
    };
    if list.iter().any(|f| f == ORPHAN_FINALIZER) {
        for dependent in store.dependents_of(uid) {
            strip_references(store, &dependent, &[uid.to_string()], queue);
        }
        drop_finalizer(store, &location, ORPHAN_FINALIZER, queue);
    } else if list.iter().any(|f| f == FOREGROUND_FINALIZER) {
        for dependent in store.dependents_of(uid) {
            process_dependent(store, &dependent, now, queue);
        }
        let blocked = store.dependents_of(uid).iter().any(|dependent| {
            store
                .get(&dependent.table, &dependent.key)
                .is_some_and(|d| blocks_owner_deletion(d, uid))
        });
        if !blocked {
            drop_finalizer(store, &location, FOREGROUND_FINALIZER, queue);
        }
    }
}

fn blocks_owner_deletion(dependent: &Value, owner_uid: &str) -> bool {
    dependent
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter().any(|r| {
                r.get("uid").and_then(Value::as_str) == Some(owner_uid)
                    && r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true)
            })
        })
}

fn is_waiting_for_dependents(owner: &Value) -> bool {
    finalizers::is_deleting(owner)
        && finalizers::finalizers(owner)
            .iter()
            .any(|f| f == FOREGROUND_FINALIZER)
}

fn process_dependent(store: &mut Store, location: &ObjectLocation, now: &str, queue: &mut GcQueue) {
    let Some(dependent) = store.get(&location.table, &location.key).cloned() else {
        return;
    };
    let mut solid = Vec::new();
    let mut dangling = Vec::new();
    let mut waiting = Vec::new();
    for owner_uid in owner_uids(&dependent) {
        match store.get_by_uid(&owner_uid) {
            None => dangling.push(owner_uid),
            Some(owner) if is_waiting_for_dependents(owner) => waiting.push(owner_uid),
            Some(_) => solid.push(owner_uid),
        }
    }
    if !solid.is_empty() {
        if !dangling.is_empty() || !waiting.is_empty() {
            let stale: Vec<String> = dangling
                .into_iter()
                .chain(waiting.iter().cloned())
                .collect();
            strip_references(store, location, &stale, queue);
            for owner in waiting {
                queue.push(GcWork::Owner(owner));
            }
        }
        return;
    }
    if finalizers::is_deleting(&dependent) {
        // Already on its way out; its removal re-queues the owners.
        return;
    }
    let has_own_dependents = str_at(&dependent, &["metadata", "uid"])
        .is_some_and(|uid| !store.dependents_of(uid).is_empty());
    let propagation = if !waiting.is_empty() && has_own_dependents {
        Propagation::Foreground
    } else {
        Propagation::Background
    };
    delete_object(store, location, propagation, now, 0, queue);
}

fn strip_references(
    store: &mut Store,
    location: &ObjectLocation,
    uids: &[String],
    queue: &mut GcQueue,
) {
    let Some(dependent) = store.get(&location.table, &location.key).cloned() else {
        return;
    };
    let mut updated = (*dependent).clone();
    let remaining: Vec<Value> = updated
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter(|r| {
                    !r.get("uid")
                        .and_then(Value::as_str)
                        .is_some_and(|u| uids.iter().any(|x| x == u))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let metadata = crate::store::metadata_mut(&mut updated);
    if remaining.is_empty() {
        metadata.remove("ownerReferences");
    } else {
        metadata.insert("ownerReferences".into(), Value::Array(remaining));
    }
    commit_update(store, &location.table, updated, queue);
}

fn drop_finalizer(store: &mut Store, location: &ObjectLocation, name: &str, queue: &mut GcQueue) {
    let Some(object) = store.get(&location.table, &location.key).cloned() else {
        return;
    };
    let mut updated = (*object).clone();
    let remaining: Vec<String> = finalizers::finalizers(&updated)
        .into_iter()
        .filter(|f| f != name)
        .collect();
    finalizers::set_finalizers(&mut updated, &remaining);
    commit_update(store, &location.table, updated, queue);
}

fn process_namespace(store: &mut Store, name: &str, now: &str, queue: &mut GcQueue) {
    let key = ObjectKey::new("", name);
    let Some(namespace) = store.get(NAMESPACES_TABLE, &key).cloned() else {
        return;
    };
    if !finalizers::is_deleting(&namespace) {
        return;
    }
    for location in store.locations_in_namespace(name) {
        let deleting = store
            .get(&location.table, &location.key)
            .is_some_and(|o| finalizers::is_deleting(o));
        if !deleting {
            delete_object(store, &location, Propagation::Background, now, 0, queue);
        }
    }
    if !store.locations_in_namespace(name).is_empty() {
        return;
    }
    let mut updated = (*namespace).clone();
    let remaining: Vec<Value> = updated
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter(|f| f.as_str() != Some(NAMESPACE_FINALIZER))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(spec) = updated.get_mut("spec").and_then(Value::as_object_mut) {
        if remaining.is_empty() {
            spec.remove("finalizers");
        } else {
            spec.insert("finalizers".into(), Value::Array(remaining));
        }
    }
    commit_update(store, NAMESPACES_TABLE, updated, queue);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TablePolicy;
    use serde_json::json;

    const T: &str = "configmaps";

    fn store() -> Store {
        let mut store = Store::new(1000, 3);
        store.ensure_table(
            T,
            TablePolicy {
                status_subresource: false,
            },
        );
        store
    }

    fn create(store: &mut Store, name: &str, owners: &[(&str, bool)]) -> String {
        let refs: Vec<Value> = owners
            .iter()
            .map(|(uid, block)| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": uid, "blockOwnerDeletion": block}))
            .collect();
        let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "ns"}});
        if !refs.is_empty() {
            obj["metadata"]["ownerReferences"] = Value::Array(refs);
        }
        let prepared = store.prepare_create(obj, "t0");
        let stored = store.insert(T, prepared);
        str_at(&stored, &["metadata", "uid"])
            .expect("uid set")
            .to_string()
    }

    fn names(store: &Store) -> Vec<String> {
        store
            .list(T, None)
            .map(|o| {
                str_at(o, &["metadata", "name"])
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    fn delete(store: &mut Store, name: &str, propagation: Propagation) {
        let mut queue = GcQueue::default();
        let location = ObjectLocation {
            table: T.into(),
            key: ObjectKey::new("ns", name),
        };
        delete_object(store, &location, propagation, "t1", 0, &mut queue);
        settle(store, &mut queue, "t1");
    }

    fn chain(store: &mut Store) {
        let a = create(store, "a", &[]);
        let b = create(store, "b", &[(&a, true)]);
        create(store, "c", &[(&b, true)]);
        create(store, "unrelated", &[]);
    }

    #[test]
    fn background_deletes_the_whole_chain() {
        let mut store = store();
        chain(&mut store);
        delete(&mut store, "a", Propagation::Background);
        assert_eq!(names(&store), vec!["unrelated"]);
    }

    #[test]
    fn foreground_deletes_dependents_first_and_then_the_owner() {
        let mut store = store();
        chain(&mut store);
        let before = store.revision();
        delete(&mut store, "a", Propagation::Foreground);
        assert_eq!(names(&store), vec!["unrelated"]);
        let order: Vec<(String, &str)> = store
            .events_since(T, before)
            .expect("retained")
            .iter()
            .filter(|e| e.event_type == crate::store::EventType::Deleted)
            .map(|e| {
                (
                    str_at(&e.object, &["metadata", "name"])
                        .unwrap_or_default()
                        .to_string(),
                    "deleted",
                )
            })
            .collect();
        assert_eq!(
            order,
            vec![
                ("c".to_string(), "deleted"),
                ("b".to_string(), "deleted"),
                ("a".to_string(), "deleted")
            ]
        );
    }

    #[test]
    fn a_blocking_dependent_with_a_finalizer_holds_the_foreground_owner() {
        let mut store = store();
        let a = create(&mut store, "a", &[]);
        let mut queue = GcQueue::default();
        let b_uid = create(&mut store, "b", &[(&a, true)]);
        let b = store.get_by_uid(&b_uid).expect("created").clone();
        let mut with_finalizer = (*b).clone();
        with_finalizer["metadata"]["finalizers"] = json!(["example.com/hold"]);
        commit_update(&mut store, T, with_finalizer, &mut queue);
        delete(&mut store, "a", Propagation::Foreground);
        assert_eq!(names(&store), vec!["a", "b"]);
        let b_now = store.get_by_uid(&b_uid).expect("held by finalizer").clone();
        assert!(finalizers::is_deleting(&b_now));
        let mut released = (*b_now).clone();
        finalizers::set_finalizers(&mut released, &[]);
        commit_update(&mut store, T, released, &mut queue);
        settle(&mut store, &mut queue, "t2");
        assert_eq!(names(&store), Vec::<String>::new());
    }

    #[test]
    fn orphan_strips_references_and_keeps_dependents() {
        let mut store = store();
        chain(&mut store);
        delete(&mut store, "a", Propagation::Orphan);
        assert_eq!(names(&store), vec!["b", "c", "unrelated"]);
        let b = store.get(T, &ObjectKey::new("ns", "b")).expect("kept");
        assert_eq!(b["metadata"].get("ownerReferences"), None);
        let c = store.get(T, &ObjectKey::new("ns", "c")).expect("kept");
        assert_eq!(owner_uids(c).len(), 1);
    }

    #[test]
    fn a_dependent_with_another_live_owner_survives_and_loses_the_dead_reference() {
        let mut store = store();
        let a = create(&mut store, "a", &[]);
        let other = create(&mut store, "other", &[]);
        create(&mut store, "shared", &[(&a, false), (&other, false)]);
        delete(&mut store, "a", Propagation::Background);
        assert_eq!(names(&store), vec!["other", "shared"]);
        let shared = store.get(T, &ObjectKey::new("ns", "shared")).expect("kept");
        assert_eq!(owner_uids(shared), vec![other]);
    }

    #[test]
    fn a_terminating_namespace_waits_for_finalizers_then_goes() {
        let mut store = store();
        store.ensure_table(
            NAMESPACES_TABLE,
            TablePolicy {
                status_subresource: true,
            },
        );
        let ns = store.prepare_create(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
            "t0",
        );
        store.insert(NAMESPACES_TABLE, ns);
        let held = create(&mut store, "held", &[]);
        create(&mut store, "free", &[]);
        let mut queue = GcQueue::default();
        let mut with_finalizer = (**store.get_by_uid(&held).expect("created")).clone();
        with_finalizer["metadata"]["finalizers"] = json!(["example.com/hold"]);
        commit_update(&mut store, T, with_finalizer, &mut queue);
        let ns_location = ObjectLocation {
            table: NAMESPACES_TABLE.into(),
            key: ObjectKey::new("", "ns"),
        };
        delete_object(
            &mut store,
            &ns_location,
            Propagation::Background,
            "t1",
            0,
            &mut queue,
        );
        settle(&mut store, &mut queue, "t1");
        assert_eq!(names(&store), vec!["held"]);
        let terminating = store
            .get(NAMESPACES_TABLE, &ns_location.key)
            .expect("terminating");
        assert_eq!(terminating["status"]["phase"], "Terminating");
        let mut released = (**store.get_by_uid(&held).expect("held")).clone();
        finalizers::set_finalizers(&mut released, &[]);
        commit_update(&mut store, T, released, &mut queue);
        settle(&mut store, &mut queue, "t2");
        assert_eq!(names(&store), Vec::<String>::new());
        assert_eq!(store.get(NAMESPACES_TABLE, &ns_location.key), None);
    }
}
