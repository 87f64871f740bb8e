//! The applies of this process that the watches have not brought back yet.
//!
//! A pass reads the objects it compares with from the cache. One that starts before the watch
//! has delivered the previous pass's writes compares with the object as it was before them (or
//! finds it missing) and would send the same apply again. [`InFlight`] remembers each apply:
//! what the cache held when it was sent (`base`), a hash of the body, and the resourceVersion
//! the server answered. While the watch has not delivered that version, the same body on the
//! same base is that apply again and is not sent. The plain creates of pool pods and data PVCs
//! (spec-controllers.md §1.4) are remembered the same way: their base is always "missing".
//!
//! It must never skip a write that is needed. So an entry is dropped as soon as the watch shows
//! the written version (the cache is then current and the ordinary comparison decides), on any
//! deletion of the object (a create followed by a user's delete looks like "missing" both
//! before and after, and only the watch tells them apart), and on every relist of the kind
//! (the watch may have skipped events). A different body or a different base is never skipped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// kind, namespace, name.
type Key = (String, String, String);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Write {
    manager: String,
    /// The resourceVersion of the cached object the apply was compared with; None: missing.
    base: Option<String>,
    body: u64,
    /// The resourceVersion the server answered.
    written: String,
}

/// Shared by the writer and every cache feed.
#[derive(Clone, Debug, Default)]
pub struct InFlight(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    /// The kinds a feed watches: only their applies can be waited for.
    watched: HashSet<String>,
    writes: HashMap<Key, Write>,
}

/// One apply, as [`InFlight`] needs it.
pub struct Applied<'a> {
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub manager: &'a str,
    /// The cached object's resourceVersion the body was compared with (None: not cached).
    pub base: Option<&'a str>,
    /// A hash of the body sent.
    pub body: u64,
}

fn key(kind: &str, namespace: &str, name: &str) -> Key {
    (kind.to_owned(), namespace.to_owned(), name.to_owned())
}

impl InFlight {
    fn state(&self) -> MutexGuard<'_, State> {
        // Plain data, each change one insert or remove: a panic elsewhere cannot leave it
        // half-updated.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A feed now delivers `kind`'s events here. The applies of a kind nobody watches are
    /// never remembered: nothing would ever end their wait.
    pub fn watch(&self, kind: &str) {
        self.state().watched.insert(kind.to_owned());
    }

    /// Whether `apply` is an apply this process sent and the watch has not delivered yet.
    pub fn is_repeat(&self, apply: &Applied<'_>) -> bool {
        self.state()
            .writes
            .get(&key(apply.kind, apply.namespace, apply.name))
            .is_some_and(|write| {
                write.manager == apply.manager
                    && write.base.as_deref() == apply.base
                    && write.body == apply.body
            })
    }

    /// Records `apply`, which the server answered with `written`. An answer with the version
    /// the cache already holds changed nothing: there is nothing for the watch to deliver.
    pub fn record(&self, apply: &Applied<'_>, written: Option<&str>) {
        let key = key(apply.kind, apply.namespace, apply.name);
        let mut state = self.state();
        match written {
            Some(written) if apply.base != Some(written) && state.watched.contains(apply.kind) => {
                state.writes.insert(
                    key,
                    Write {
                        manager: apply.manager.to_owned(),
                        base: apply.base.map(str::to_owned),
                        body: apply.body,
                        written: written.to_owned(),
                    },
                );
            }
            _ => {
                state.writes.remove(&key);
            }
        }
    }

    /// The watch delivered the object at `resource_version`.
    pub fn seen(&self, kind: &str, namespace: &str, name: &str, resource_version: Option<&str>) {
        let key = key(kind, namespace, name);
        let mut state = self.state();
        if state
            .writes
            .get(&key)
            .is_some_and(|write| Some(write.written.as_str()) == resource_version)
        {
            state.writes.remove(&key);
        }
    }

    /// The watch delivered the object's deletion.
    pub fn deleted(&self, kind: &str, namespace: &str, name: &str) {
        self.state().writes.remove(&key(kind, namespace, name));
    }

    /// The watch of `kind` started over from a list.
    pub fn relisted(&self, kind: &str) {
        self.state()
            .writes
            .retain(|(entry_kind, _, _), _| entry_kind != kind);
    }

    /// How many applies wait for their watch event.
    pub fn len(&self) -> usize {
        self.state().writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service<'a>(base: Option<&'a str>, body: u64) -> Applied<'a> {
        Applied {
            kind: "Service",
            namespace: "default",
            name: "minimal-multiadmin",
            manager: "multigres-operator",
            base,
            body,
        }
    }

    fn watching_services() -> InFlight {
        let in_flight = InFlight::default();
        in_flight.watch("Service");
        in_flight
    }

    #[test]
    fn an_unwatched_kind_is_never_waited_for() {
        let in_flight = InFlight::default();
        in_flight.record(&service(None, 1), Some("7"));
        assert!(!in_flight.is_repeat(&service(None, 1)));
    }

    #[test]
    fn a_create_is_not_sent_again_until_the_watch_delivers_it() {
        let in_flight = watching_services();
        assert!(!in_flight.is_repeat(&service(None, 1)));
        in_flight.record(&service(None, 1), Some("7"));
        assert!(in_flight.is_repeat(&service(None, 1)));
        // Another body, or a base the cache moved to, is a new apply.
        assert!(!in_flight.is_repeat(&service(None, 2)));
        assert!(!in_flight.is_repeat(&service(Some("7"), 1)));
        // An older version arriving does not end the wait; the written one does.
        in_flight.seen("Service", "default", "minimal-multiadmin", Some("6"));
        assert!(in_flight.is_repeat(&service(None, 1)));
        in_flight.seen("Service", "default", "minimal-multiadmin", Some("7"));
        assert!(!in_flight.is_repeat(&service(None, 1)));
        assert!(in_flight.is_empty());
    }

    #[test]
    fn a_deletion_or_a_relist_ends_the_wait() {
        let in_flight = watching_services();
        in_flight.record(&service(None, 1), Some("7"));
        // Created, then deleted by a user before a pass saw either: missing again, and the
        // next apply must go out.
        in_flight.deleted("Service", "default", "minimal-multiadmin");
        assert!(!in_flight.is_repeat(&service(None, 1)));

        in_flight.record(&service(Some("3"), 1), Some("7"));
        in_flight.relisted("Deployment");
        assert!(in_flight.is_repeat(&service(Some("3"), 1)));
        in_flight.relisted("Service");
        assert!(!in_flight.is_repeat(&service(Some("3"), 1)));
    }

    #[test]
    fn an_apply_the_server_found_unchanged_leaves_nothing_to_wait_for() {
        let in_flight = watching_services();
        in_flight.record(&service(Some("5"), 1), Some("7"));
        in_flight.record(&service(Some("7"), 2), Some("7"));
        assert!(in_flight.is_empty());
        in_flight.record(&service(Some("7"), 2), None);
        assert!(in_flight.is_empty());
    }
}
