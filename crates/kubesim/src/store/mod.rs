//! Pure state: the objects of every resource, the one global resourceVersion counter, the bounded
//! watch history per resource, and the bookkeeping rules that belong to persisting an object
//! (uid, creationTimestamp, generation, resourceVersion; rust-ecosystem.md §3.3).
//!
//! No HTTP, no async, no clock and no randomness: the time is an argument and uids come from a
//! seeded counter. The request pipeline (`api/`) decides *what* to write; this module records it
//! and the history that watches replay.

mod history;
mod uid;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use history::History;
pub use history::{EventType, StoredEvent, TooOld};
pub use uid::UidGenerator;

/// The key of an object within its table: namespace (`""` when cluster-scoped) and name. Ordered
/// by namespace, then name, the order lists are served in (§3.3 Pagination).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> ObjectKey {
        ObjectKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The key of a stored object, read from its metadata.
    pub fn of(object: &Value) -> ObjectKey {
        ObjectKey::new(
            str_at(object, &["metadata", "namespace"]).unwrap_or_default(),
            str_at(object, &["metadata", "name"]).unwrap_or_default(),
        )
    }
}

/// Where an object lives: its table and key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectLocation {
    pub table: String,
    pub key: ObjectKey,
}

/// Per-table rules the store applies when it persists an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TablePolicy {
    /// With a status subresource, `.status` changes do not bump `generation` (§3.3).
    pub status_subresource: bool,
}

#[derive(Debug)]
struct Table {
    policy: TablePolicy,
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    history: History,
}

/// All objects of the simulated cluster.
#[derive(Debug)]
pub struct Store {
    revision: u64,
    history_limit: usize,
    tables: HashMap<String, Table>,
    uids: UidGenerator,
    /// uid → location, for the garbage collector and owner lookups.
    by_uid: HashMap<String, ObjectLocation>,
    /// owner uid → dependents naming it in `ownerReferences`.
    dependents: HashMap<String, BTreeSet<ObjectLocation>>,
}

impl Store {
    /// An empty store. `history_limit` bounds the watch events kept per table; a watch or list
    /// at an older resourceVersion gets 410 Expired. `uid_seed` makes uids reproducible.
    pub fn new(history_limit: usize, uid_seed: u64) -> Store {
        Store {
            revision: 1,
            history_limit: history_limit.max(1),
            tables: HashMap::new(),
            uids: UidGenerator::new(uid_seed),
            by_uid: HashMap::new(),
            dependents: HashMap::new(),
        }
    }

    /// The current global revision (the resourceVersion of the latest write).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Declares a table (idempotent; the policy is updated when it changes).
    pub fn ensure_table(&mut self, table: &str, policy: TablePolicy) {
        let limit = self.history_limit;
        self.tables
            .entry(table.to_string())
            .and_modify(|t| t.policy = policy)
            .or_insert_with(|| Table {
                policy,
                objects: BTreeMap::new(),
                history: History::new(limit),
            });
    }

    /// Removes a table and all its objects without events (a CRD deletion ends its watches).
    pub fn drop_table(&mut self, table: &str) {
        if let Some(removed) = self.tables.remove(table) {
            for object in removed.objects.values() {
                self.unindex(table, object);
            }
        }
    }

    pub fn has_table(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    /// A fresh uid.
    pub fn next_uid(&mut self) -> String {
        self.uids.next_uid()
    }

    /// A random-looking five-character suffix for `generateName`.
    pub fn name_suffix(&mut self) -> String {
        self.uids.name_suffix()
    }

    pub fn get(&self, table: &str, key: &ObjectKey) -> Option<&Arc<Value>> {
        self.tables.get(table)?.objects.get(key)
    }

    /// The objects of a table in namespace/name order, restricted to one namespace when given.
    pub fn list<'a>(
        &'a self,
        table: &str,
        namespace: Option<&'a str>,
    ) -> Box<dyn Iterator<Item = &'a Arc<Value>> + 'a> {
        let Some(t) = self.tables.get(table) else {
            return Box::new(std::iter::empty());
        };
        match namespace {
            None => Box::new(t.objects.values()),
            Some(ns) => Box::new(
                t.objects
                    .range(ObjectKey::new(ns, "")..)
                    .take_while(move |(key, _)| key.namespace == ns)
                    .map(|(_, object)| object),
            ),
        }
    }

    /// The number of objects in a table.
    pub fn count(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, |t| t.objects.len())
    }

    /// Every (table, key) with objects in `namespace`, across all tables.
    pub fn locations_in_namespace(&self, namespace: &str) -> Vec<ObjectLocation> {
        let mut out = Vec::new();
        let mut tables: Vec<&String> = self.tables.keys().collect();
        tables.sort();
        for table in tables {
            for object in self.list(table, Some(namespace)) {
                out.push(ObjectLocation {
                    table: table.clone(),
                    key: ObjectKey::of(object),
                });
            }
        }
        out
    }

    /// The location of the object with this uid.
    pub fn locate(&self, uid: &str) -> Option<&ObjectLocation> {
        self.by_uid.get(uid)
    }

    /// The object with this uid.
    pub fn get_by_uid(&self, uid: &str) -> Option<&Arc<Value>> {
        let location = self.by_uid.get(uid)?;
        self.get(&location.table, &location.key)
    }

    /// Objects whose `ownerReferences` name `owner_uid`.
    pub fn dependents_of(&self, owner_uid: &str) -> Vec<ObjectLocation> {
        self.dependents
            .get(owner_uid)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Fills what a create assigns (uid, creationTimestamp, generation 1) without storing; the
    /// dry-run path returns this object. `now` is RFC 3339 with second precision.
    pub fn prepare_create(&mut self, mut object: Value, now: &str) -> Value {
        let uid = self.next_uid();
        let metadata = metadata_mut(&mut object);
        metadata.insert("uid".into(), Value::String(uid));
        metadata.insert("creationTimestamp".into(), Value::String(now.to_string()));
        metadata.insert("generation".into(), Value::from(1));
        metadata.remove("resourceVersion");
        metadata.remove("deletionTimestamp");
        metadata.remove("deletionGracePeriodSeconds");
        metadata.remove("selfLink");
        object
    }

    /// Stores a prepared new object: assigns the next resourceVersion and records ADDED.
    /// The caller has checked the key is free.
    pub fn insert(&mut self, table: &str, mut object: Value) -> Arc<Value> {
        self.revision += 1;
        let rv = self.revision;
        metadata_mut(&mut object).insert("resourceVersion".into(), Value::String(rv.to_string()));
        let object = Arc::new(object);
        let key = ObjectKey::of(&object);
        self.index(table, &object);
        let t = self.table_mut(table);
        t.objects.insert(key, object.clone());
        t.history.push(StoredEvent {
            event_type: EventType::Added,
            revision: rv,
            object: object.clone(),
            previous: None,
        });
        object
    }

    /// The generation `new` gets when it replaces `old` in `table` (§3.3): bumped on any change
    /// outside `metadata` (and outside `status` when status is a subresource), and when
    /// `deletionTimestamp` is first set.
    pub fn next_generation(&self, table: &str, old: &Value, new: &Value) -> i64 {
        let status_subresource = self
            .tables
            .get(table)
            .is_some_and(|t| t.policy.status_subresource);
        let old_generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let content_changed = match (old.as_object(), new.as_object()) {
            (Some(o), Some(n)) => {
                let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
                keys.into_iter().any(|k| {
                    k != "metadata"
                        && k != "apiVersion"
                        && k != "kind"
                        && !(status_subresource && k == "status")
                        && o.get(k) != n.get(k)
                })
            }
            _ => old != new,
        };
        let deletion_started = old.pointer("/metadata/deletionTimestamp").is_none()
            && new.pointer("/metadata/deletionTimestamp").is_some();
        if content_changed || deletion_started {
            old_generation + 1
        } else {
            old_generation
        }
    }

    /// Replaces an existing object with `new` (already carrying the right generation): assigns
    /// the next resourceVersion and records MODIFIED. Returns `None` when the object is gone.
    pub fn replace(&mut self, table: &str, mut new: Value) -> Option<Arc<Value>> {
        let key = ObjectKey::of(&new);
        let old = self.get(table, &key)?.clone();
        self.revision += 1;
        let rv = self.revision;
        metadata_mut(&mut new).insert("resourceVersion".into(), Value::String(rv.to_string()));
        let new = Arc::new(new);
        self.unindex(table, &old);
        self.index(table, &new);
        let t = self.table_mut(table);
        t.objects.insert(key, new.clone());
        t.history.push(StoredEvent {
            event_type: EventType::Modified,
            revision: rv,
            object: new.clone(),
            previous: Some(old),
        });
        Some(new)
    }

    /// Removes an object, records DELETED (its object carries the deletion's resourceVersion,
    /// as the API server's does) and returns that last state.
    pub fn remove(&mut self, table: &str, key: &ObjectKey) -> Option<Arc<Value>> {
        let old = self.tables.get_mut(table)?.objects.remove(key)?;
        self.unindex(table, &old);
        self.revision += 1;
        let rv = self.revision;
        let mut last = (*old).clone();
        metadata_mut(&mut last).insert("resourceVersion".into(), Value::String(rv.to_string()));
        let last = Arc::new(last);
        self.table_mut(table).history.push(StoredEvent {
            event_type: EventType::Deleted,
            revision: rv,
            object: last.clone(),
            previous: Some(old),
        });
        Some(last)
    }

    /// Puts back an object saved by [`Store::dump`], keeping its uid and resourceVersion; the
    /// revision moves up to the newest restored one. No watch event is recorded.
    pub fn restore(&mut self, table: &str, object: Value) {
        let revision = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .and_then(|rv| rv.parse::<u64>().ok())
            .unwrap_or(0);
        self.revision = self.revision.max(revision);
        let object = Arc::new(object);
        let key = ObjectKey::of(&object);
        self.index(table, &object);
        self.table_mut(table).objects.insert(key, object);
    }

    /// Moves the revision forward to at least `revision` (a restored state's counter).
    pub fn advance_to(&mut self, revision: u64) {
        self.revision = self.revision.max(revision);
    }

    /// Every object with its table, tables in name order (for saving to a state directory).
    pub fn dump(&self) -> Vec<(String, Arc<Value>)> {
        let mut tables: Vec<&String> = self.tables.keys().collect();
        tables.sort();
        tables
            .into_iter()
            .flat_map(|table| {
                self.list(table, None)
                    .map(move |object| (table.clone(), object.clone()))
            })
            .collect()
    }

    /// Watch events of `table` after `revision`, oldest first, or [`TooOld`] when the history
    /// no longer reaches back that far.
    pub fn events_since(
        &self,
        table: &str,
        revision: u64,
    ) -> Result<Vec<Arc<StoredEvent>>, TooOld> {
        match self.tables.get(table) {
            Some(t) => t.history.since(revision),
            None => Ok(Vec::new()),
        }
    }

    /// The objects of `table` as they were at `revision` (for `resourceVersionMatch=Exact` and
    /// consistent pagination), rebuilt by undoing newer history; [`TooOld`] when the history
    /// does not reach back that far.
    pub fn snapshot_at(
        &self,
        table: &str,
        revision: u64,
    ) -> Result<BTreeMap<ObjectKey, Arc<Value>>, TooOld> {
        let Some(t) = self.tables.get(table) else {
            return Ok(BTreeMap::new());
        };
        let newer = t.history.since(revision)?;
        let mut objects = t.objects.clone();
        for event in newer.iter().rev() {
            let key = ObjectKey::of(&event.object);
            match (&event.event_type, &event.previous) {
                (EventType::Added, _) => {
                    objects.remove(&key);
                }
                (_, Some(previous)) => {
                    objects.insert(key, previous.clone());
                }
                (_, None) => {}
            }
        }
        Ok(objects)
    }

    /// Whether `table` changed after `revision` (false when its history says nothing newer).
    pub fn changed_since(&self, table: &str, revision: u64) -> Result<bool, TooOld> {
        Ok(!self.events_since(table, revision)?.is_empty())
    }

    fn table_mut(&mut self, table: &str) -> &mut Table {
        let limit = self.history_limit;
        self.tables
            .entry(table.to_string())
            .or_insert_with(|| Table {
                policy: TablePolicy {
                    status_subresource: false,
                },
                objects: BTreeMap::new(),
                history: History::new(limit),
            })
    }

    fn index(&mut self, table: &str, object: &Value) {
        let location = ObjectLocation {
            table: table.to_string(),
            key: ObjectKey::of(object),
        };
        if let Some(uid) = str_at(object, &["metadata", "uid"]) {
            self.by_uid.insert(uid.to_string(), location.clone());
        }
        for owner in owner_uids(object) {
            self.dependents
                .entry(owner)
                .or_default()
                .insert(location.clone());
        }
    }

    fn unindex(&mut self, table: &str, object: &Value) {
        let location = ObjectLocation {
            table: table.to_string(),
            key: ObjectKey::of(object),
        };
        if let Some(uid) = str_at(object, &["metadata", "uid"]) {
            self.by_uid.remove(uid);
        }
        for owner in owner_uids(object) {
            if let Some(set) = self.dependents.get_mut(&owner) {
                set.remove(&location);
                if set.is_empty() {
                    self.dependents.remove(&owner);
                }
            }
        }
    }
}

/// The uids named by an object's `metadata.ownerReferences`.
pub fn owner_uids(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The string at a path of object keys.
pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut current = value;
    for segment in path {
        current = current.get(segment)?;
    }
    current.as_str()
}

/// The `metadata` map of an object, created when missing (a non-object `metadata` is replaced).
pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    let map = object
        .as_object_mut()
        .expect("object was made an object above");
    let metadata = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    metadata
        .as_object_mut()
        .expect("metadata was made an object above")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, data: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "default"}, "data": {"k": data}})
    }

    fn store() -> Store {
        let mut store = Store::new(3, 7);
        store.ensure_table(
            "configmaps",
            TablePolicy {
                status_subresource: false,
            },
        );
        store
    }

    #[test]
    fn every_write_bumps_the_one_global_revision() {
        let mut store = store();
        let prepared = store.prepare_create(cm("a", "1"), "2026-01-01T00:00:00Z");
        let a = store.insert("configmaps", prepared);
        assert_eq!(a["metadata"]["resourceVersion"], "2");
        assert_eq!(a["metadata"]["generation"], 1);
        assert_eq!(a["metadata"]["creationTimestamp"], "2026-01-01T00:00:00Z");
        let mut changed = (*a).clone();
        changed["data"]["k"] = json!("2");
        let b = store.replace("configmaps", changed).expect("a exists");
        assert_eq!(b["metadata"]["resourceVersion"], "3");
        let gone = store
            .remove("configmaps", &ObjectKey::new("default", "a"))
            .expect("a exists");
        assert_eq!(gone["metadata"]["resourceVersion"], "4");
        assert_eq!(store.revision(), 4);
    }

    #[test]
    fn history_beyond_the_limit_is_too_old() {
        let mut store = store();
        for i in 0..5 {
            let prepared = store.prepare_create(cm(&format!("c{i}"), "x"), "t");
            store.insert("configmaps", prepared);
        }
        // revisions 2..=6 written, limit 3 keeps 4, 5, 6: a watch from 3 still sees them all.
        let events = store.events_since("configmaps", 3).expect("3 is retained");
        let revisions: Vec<u64> = events.iter().map(|e| e.revision).collect();
        assert_eq!(revisions, vec![4, 5, 6]);
        assert_eq!(
            store.events_since("configmaps", 2),
            Err(TooOld {
                requested: 2,
                oldest: 3
            })
        );
    }

    #[test]
    fn snapshot_undoes_newer_history() {
        let mut store = Store::new(100, 1);
        let prepared = store.prepare_create(cm("a", "1"), "t");
        let a = store.insert("configmaps", prepared);
        let at = store.revision();
        let mut changed = (*a).clone();
        changed["data"]["k"] = json!("2");
        store.replace("configmaps", changed);
        let prepared = store.prepare_create(cm("b", "1"), "t");
        store.insert("configmaps", prepared);
        let snapshot = store.snapshot_at("configmaps", at).expect("retained");
        let names: Vec<&str> = snapshot.keys().map(|k| k.name.as_str()).collect();
        assert_eq!(names, vec!["a"]);
        assert_eq!(snapshot[&ObjectKey::new("default", "a")]["data"]["k"], "1");
    }

    #[test]
    fn generation_ignores_metadata_and_subresource_status() {
        let mut store = Store::new(10, 1);
        store.ensure_table(
            "shards",
            TablePolicy {
                status_subresource: true,
            },
        );
        let old = json!({"metadata": {"generation": 4, "labels": {"a": "b"}}, "spec": {"x": 1}});
        let labels = json!({"metadata": {"generation": 4, "labels": {"a": "c"}}, "spec": {"x": 1}});
        let status = json!({"metadata": {"generation": 4}, "spec": {"x": 1}, "status": {"y": 1}});
        let spec = json!({"metadata": {"generation": 4}, "spec": {"x": 2}});
        let deleting =
            json!({"metadata": {"generation": 4, "deletionTimestamp": "t"}, "spec": {"x": 1}});
        assert_eq!(store.next_generation("shards", &old, &labels), 4);
        assert_eq!(store.next_generation("shards", &old, &status), 4);
        assert_eq!(store.next_generation("shards", &old, &spec), 5);
        assert_eq!(store.next_generation("shards", &old, &deleting), 5);
        assert_eq!(store.next_generation("other", &old, &status), 5);
    }

    #[test]
    fn dependents_are_indexed_by_owner_uid() {
        let mut store = store();
        let mut child = cm("child", "x");
        child["metadata"]["ownerReferences"] = json!([{"uid": "owner-1", "name": "o"}]);
        let prepared = store.prepare_create(child, "t");
        store.insert("configmaps", prepared);
        assert_eq!(
            store.dependents_of("owner-1"),
            vec![ObjectLocation {
                table: "configmaps".into(),
                key: ObjectKey::new("default", "child")
            }]
        );
        store.remove("configmaps", &ObjectKey::new("default", "child"));
        assert_eq!(store.dependents_of("owner-1"), vec![]);
    }

    mod model {
        //! Property tests: the store against a plain map model, for random write sequences.
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        #[derive(Clone, Debug)]
        enum Op {
            Create(u8),
            Update(u8, u8),
            Delete(u8),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                (0u8..6).prop_map(Op::Create),
                (0u8..6, any::<u8>()).prop_map(|(n, v)| Op::Update(n, v)),
                (0u8..6).prop_map(Op::Delete),
            ]
        }

        fn run(store: &mut Store, op: &Op) -> bool {
            match op {
                Op::Create(n) => {
                    let key = ObjectKey::new("default", format!("o{n}"));
                    if store.get("configmaps", &key).is_some() {
                        return false;
                    }
                    let prepared = store.prepare_create(cm(&format!("o{n}"), "0"), "t");
                    store.insert("configmaps", prepared);
                    true
                }
                Op::Update(n, v) => {
                    let key = ObjectKey::new("default", format!("o{n}"));
                    let Some(current) = store.get("configmaps", &key).cloned() else {
                        return false;
                    };
                    let mut next = (*current).clone();
                    next["data"]["k"] = json!(v.to_string());
                    store.replace("configmaps", next);
                    true
                }
                Op::Delete(n) => store
                    .remove("configmaps", &ObjectKey::new("default", format!("o{n}")))
                    .is_some(),
            }
        }

        fn state(store: &Store) -> BTreeMap<ObjectKey, Value> {
            store
                .list("configmaps", None)
                .map(|o| (ObjectKey::of(o), (**o).clone()))
                .collect()
        }

        proptest! {
            #[test]
            fn revisions_grow_and_history_replays_to_the_current_state(ops in proptest::collection::vec(op(), 1..60)) {
                let mut store = Store::new(1_000, 5);
                let mut snapshots = Vec::new();
                for op in &ops {
                    let before = store.revision();
                    let wrote = run(&mut store, op);
                    prop_assert_eq!(store.revision(), if wrote { before + 1 } else { before });
                    snapshots.push((store.revision(), state(&store)));
                }
                // Replaying every event from the start rebuilds the table.
                let mut replayed: BTreeMap<ObjectKey, Value> = BTreeMap::new();
                for event in store.events_since("configmaps", 0).expect("nothing dropped") {
                    let key = ObjectKey::of(&event.object);
                    match event.event_type {
                        EventType::Added | EventType::Modified => {
                            replayed.insert(key, (*event.object).clone());
                        }
                        EventType::Deleted => {
                            replayed.remove(&key);
                        }
                    }
                }
                prop_assert_eq!(&replayed, &state(&store));
                // Every past revision can be rebuilt exactly.
                for (revision, expected) in snapshots {
                    let snapshot: BTreeMap<ObjectKey, Value> = store
                        .snapshot_at("configmaps", revision)
                        .expect("retained")
                        .into_iter()
                        .map(|(k, v)| (k, (*v).clone()))
                        .collect();
                    prop_assert_eq!(snapshot, expected);
                }
            }
        }
    }
}
