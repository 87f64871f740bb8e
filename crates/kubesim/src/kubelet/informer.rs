//! A watched resource's local copy for the kubelet runtime: the objects by key, fed by an
//! in-process watch (initial events, then changes), and by the results of the runtime's own
//! writes so that a decision never acts on a copy older than what it just wrote.
//!
//! A version is applied only when its `resourceVersion` is newer than the cached one, so the
//! echo of the runtime's own write, or a late DELETED of an object already re-created, changes
//! nothing. After a watch ends (410 Expired in-stream), the runtime restarts it with
//! `sendInitialEvents`; the initial events are collected apart and swapped in at the
//! `k8s.io/initial-events-end` bookmark, reporting what changed meanwhile (including deletions
//! the broken watch missed).
//!
//! Holds no locks and does no I/O; the runtime drives it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::api::WatchEvent;
use crate::resources::ResourceDef;
use crate::store::ObjectKey;

/// One change to the cache: the key with the previous and the current object.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub key: ObjectKey,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The resourceVersion of an object as a number (0 when missing).
pub fn resource_version(object: &Value) -> u64 {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0)
}

/// The cached objects of one resource.
#[derive(Debug)]
pub struct Informer {
    pub def: Arc<ResourceDef>,
    objects: BTreeMap<ObjectKey, Value>,
    /// Initial events of a (re)started watch, until its initial-events-end bookmark.
    resync: Option<BTreeMap<ObjectKey, Value>>,
}

impl Informer {
    pub fn new(def: Arc<ResourceDef>) -> Informer {
        Informer {
            def,
            objects: BTreeMap::new(),
            resync: None,
        }
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(key)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.objects.values()
    }

    /// Objects of one namespace.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .range(ObjectKey::new(namespace, "")..)
            .take_while(move |(k, _)| k.namespace == namespace)
            .map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Whether the cache has been filled by its first watch.
    pub fn is_synced(&self) -> bool {
        self.resync.is_none()
    }

    /// A watch (re)starts: collect its initial events apart.
    pub fn begin_resync(&mut self) {
        self.resync = Some(BTreeMap::new());
    }

    /// Records a newer version of an object (from a watch or from a write's result).
    pub fn upsert(&mut self, object: Value) -> Option<Change> {
        let key = ObjectKey::of(&object);
        match self.objects.get(&key) {
            Some(cached) if resource_version(cached) >= resource_version(&object) => None,
            _ => {
                let old = self.objects.insert(key.clone(), object.clone());
                Some(Change {
                    key,
                    old,
                    new: Some(object),
                })
            }
        }
    }

    /// Forgets an object unless the cache holds a newer one (a re-created object).
    pub fn remove(&mut self, object: &Value) -> Option<Change> {
        let key = ObjectKey::of(object);
        match self.objects.get(&key) {
            Some(cached) if resource_version(cached) <= resource_version(object) => {
                let old = self.objects.remove(&key);
                Some(Change {
                    key,
                    old,
                    new: None,
                })
            }
            _ => None,
        }
    }

    /// Forgets whatever is cached under `key` (the API said it does not exist).
    pub fn forget(&mut self, key: &ObjectKey) -> Option<Change> {
        let old = self.objects.remove(key)?;
        Some(Change {
            key: key.clone(),
            old: Some(old),
            new: None,
        })
    }

    /// Applies one watch event; returns the changes it made. ERROR events change nothing
    /// here: the caller restarts the watch.
    pub fn apply(&mut self, event: WatchEvent) -> Vec<Change> {
        match event.event_type {
            "ADDED" | "MODIFIED" => match &mut self.resync {
                Some(collected) => {
                    collected.insert(ObjectKey::of(&event.object), event.object);
                    Vec::new()
                }
                None => self.upsert(event.object).into_iter().collect(),
            },
            "DELETED" => match &mut self.resync {
                Some(collected) => {
                    collected.remove(&ObjectKey::of(&event.object));
                    Vec::new()
                }
                None => self.remove(&event.object).into_iter().collect(),
            },
            "BOOKMARK" => {
                let end = event
                    .object
                    .pointer("/metadata/annotations/k8s.io~1initial-events-end")
                    .and_then(Value::as_str)
                    == Some("true");
                match self.resync.take() {
                    Some(collected) if end => self.swap(collected),
                    other => {
                        self.resync = other;
                        Vec::new()
                    }
                }
            }
            _ => Vec::new(),
        }
    }

    /// Replaces the cache with a fresh listing, reporting every difference.
    fn swap(&mut self, fresh: BTreeMap<ObjectKey, Value>) -> Vec<Change> {
        let mut changes = Vec::new();
        for (key, old) in &self.objects {
            if !fresh.contains_key(key) {
                changes.push(Change {
                    key: key.clone(),
                    old: Some(old.clone()),
                    new: None,
                });
            }
        }
        for (key, new) in &fresh {
            let old = self.objects.get(key);
            if old.is_none_or(|o| resource_version(o) != resource_version(new)) {
                changes.push(Change {
                    key: key.clone(),
                    old: old.cloned(),
                    new: Some(new.clone()),
                });
            }
        }
        self.objects = fresh;
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    fn informer() -> Informer {
        let def = Registry::with_builtins()
            .get("", "v1", "pods")
            .cloned()
            .expect("pods are built in");
        Informer::new(def)
    }

    fn pod(name: &str, rv: u64) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv.to_string()}})
    }

    fn event(event_type: &'static str, object: Value) -> WatchEvent {
        WatchEvent { event_type, object }
    }

    #[test]
    fn only_newer_versions_apply() {
        let mut i = informer();
        assert_eq!(i.upsert(pod("a", 5)).map(|c| c.old), Some(None));
        assert_eq!(i.upsert(pod("a", 5)), None, "the echo of our own write");
        assert_eq!(i.upsert(pod("a", 4)), None);
        assert!(i.upsert(pod("a", 6)).is_some());
        assert_eq!(
            i.remove(&pod("a", 3)),
            None,
            "a late DELETED of an older incarnation"
        );
        assert!(i.remove(&pod("a", 7)).is_some());
        assert!(i.is_empty());
    }

    #[test]
    fn a_resync_swaps_in_the_fresh_listing_at_the_bookmark() {
        let mut i = informer();
        i.upsert(pod("gone", 2));
        i.upsert(pod("kept", 3));
        i.begin_resync();
        assert_eq!(i.apply(event("ADDED", pod("kept", 3))), vec![]);
        assert_eq!(i.apply(event("ADDED", pod("new", 9))), vec![]);
        assert!(!i.is_synced());
        let end = json!({"metadata": {"resourceVersion": "9",
                         "annotations": {"k8s.io/initial-events-end": "true"}}});
        let changes = i.apply(event("BOOKMARK", end));
        let summary: Vec<(String, bool, bool)> = changes
            .iter()
            .map(|c| (c.key.name.clone(), c.old.is_some(), c.new.is_some()))
            .collect();
        assert_eq!(
            summary,
            vec![("gone".into(), true, false), ("new".into(), false, true)]
        );
        assert!(i.is_synced());
        assert_eq!(i.len(), 2);
        assert_eq!(i.in_namespace("ns").count(), 2);
    }
}
