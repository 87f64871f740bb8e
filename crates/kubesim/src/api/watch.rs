//! Watches: initial state (`resourceVersion` unset/`0`, `sendInitialEvents=true` with the
//! `k8s.io/initial-events-end` bookmark), replay from history after a resourceVersion, in-stream
//! 410 Expired ERROR events, bookmarks, `timeoutSeconds`, and label/field selectors that turn a
//! change into ADDED/DELETED when an object starts/stops matching (rust-ecosystem.md §3.1
//! watcher rows, §3.3 resourceVersion, Selectors, Bookmarks, Streaming lists).
//!
//! The stream reads the store only under the lock and waits on the revision channel between
//! reads, so a slow watcher never blocks writers and never misses an event it is entitled to
//! (it either replays it from history or gets 410).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::watch as notify;
use tokio::time::Instant;

use super::read::{Selectors, parse_resource_version, too_old_message};
use super::{Cluster, WatchOptions, present_read};
use crate::error::ApiError;
use crate::resources::ResourceDef;
use crate::semantics::crd_schema::CompiledCrd;
use crate::semantics::field_cause::{FieldCause, FieldPath, invalid_message};
use crate::store::{EventType, StoredEvent};

/// One event on a watch stream, in the representation of the watched resource.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchEvent {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.
    pub event_type: &'static str,
    pub object: Value,
}

/// A watch: ends at `timeoutSeconds`, after an ERROR event, or when the cluster is dropped.
pub type WatchStream = Pin<Box<dyn Stream<Item = WatchEvent> + Send>>;

struct Watcher {
    cluster: Cluster,
    def: Arc<ResourceDef>,
    /// The CRD engine of a custom resource (read-time defaults).
    crd: Option<Arc<CompiledCrd>>,
    namespace: Option<String>,
    selectors: Selectors,
    last_revision: u64,
    pending: VecDeque<WatchEvent>,
    revisions: notify::Receiver<u64>,
    deadline: Option<Instant>,
    bookmarks: bool,
    next_bookmark: Instant,
    done: bool,
}

impl Cluster {
    /// Starts a watch. Bad selectors or parameters fail here (HTTP 400); an expired
    /// resourceVersion is reported in-stream, as kube-runtime requires.
    pub fn watch(
        &self,
        def: Arc<ResourceDef>,
        namespace: Option<&str>,
        options: &WatchOptions,
    ) -> Result<WatchStream, ApiError> {
        let selectors = Selectors::parse(
            &def,
            options.label_selector.as_deref(),
            options.field_selector.as_deref(),
        )?;
        let forbidden = |detail: &str| {
            let causes = vec![FieldCause::forbidden(
                &FieldPath::new("resourceVersionMatch"),
                detail,
            )];
            ApiError::Invalid {
                message: invalid_message("ListOptions", "meta.k8s.io", "", &causes),
                kind: "ListOptions".into(),
                group: "meta.k8s.io".into(),
                name: String::new(),
                causes: causes.into_iter().map(Into::into).collect(),
            }
        };
        let version_match = options
            .resource_version_match
            .as_deref()
            .unwrap_or_default();
        if options.send_initial_events && version_match != "NotOlderThan" {
            return Err(forbidden(
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !options.send_initial_events && !version_match.is_empty() {
            return Err(forbidden(
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        let requested = options
            .resource_version
            .as_deref()
            .filter(|rv| !rv.is_empty())
            .map(parse_resource_version)
            .transpose()?;
        let namespace = def
            .namespaced
            .then(|| namespace.filter(|ns| !ns.is_empty()).map(str::to_string))
            .flatten();
        let interval = self.config().bookmark_interval;
        let mut watcher = Watcher {
            cluster: self.clone(),
            def: def.clone(),
            crd: None,
            namespace,
            selectors,
            last_revision: 0,
            pending: VecDeque::new(),
            revisions: self.subscribe(),
            deadline: options.timeout.map(|t| Instant::now() + t),
            bookmarks: options.allow_bookmarks,
            next_bookmark: Instant::now() + interval,
            done: false,
        };
        let state = self.lock();
        watcher.crd = state.compiled_crd(&def);
        // Subscribed before reading the revision: a write after this point wakes the watcher.
        watcher.revisions.borrow_and_update();
        let initial = options.send_initial_events || matches!(requested, None | Some(0));
        if initial {
            let scope = watcher.namespace.as_deref();
            for object in state.store.list(&def.table, scope) {
                if watcher.selectors.matches(&def, object) {
                    watcher.pending.push_back(WatchEvent {
                        event_type: EventType::Added.as_str(),
                        object: present_read(&def, watcher.crd.as_deref(), object),
                    });
                }
            }
            watcher.last_revision = state.store.revision();
            if options.send_initial_events {
                let mut bookmark = watcher.bookmark();
                bookmark.object["metadata"]["annotations"] =
                    json!({"k8s.io/initial-events-end": "true"});
                watcher.pending.push_back(bookmark);
            }
        } else if let Some(revision) = requested {
            watcher.last_revision = revision;
        }
        drop(state);
        Ok(Box::pin(futures::stream::unfold(
            watcher,
            |mut w| async move {
                let event = w.next_event().await?;
                Some((event, w))
            },
        )))
    }
}

impl Watcher {
    fn bookmark(&self) -> WatchEvent {
        WatchEvent {
            event_type: "BOOKMARK",
            object: json!({
                "kind": self.def.kind,
                "apiVersion": self.def.api_version(),
                "metadata": {"resourceVersion": self.last_revision.to_string()},
            }),
        }
    }

    fn in_scope(&self, object: &Value) -> bool {
        match &self.namespace {
            None => true,
            Some(ns) => {
                object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    == Some(ns.as_str())
            }
        }
    }

    fn matches(&self, object: &Value) -> bool {
        self.in_scope(object) && self.selectors.matches(&self.def, object)
    }

    /// The event this watcher sees for a stored change, if any.
    fn translate(&self, event: &StoredEvent) -> Option<WatchEvent> {
        let now_matches = self.matches(&event.object);
        let event_type = match event.event_type {
            EventType::Added => now_matches.then_some(EventType::Added)?,
            EventType::Deleted => now_matches.then_some(EventType::Deleted)?,
            EventType::Modified => {
                let before = event.previous.as_deref().is_some_and(|p| self.matches(p));
                match (before, now_matches) {
                    (true, true) => EventType::Modified,
                    (false, true) => EventType::Added,
                    (true, false) => EventType::Deleted,
                    (false, false) => return None,
                }
            }
        };
        Some(WatchEvent {
            event_type: event_type.as_str(),
            object: present_read(&self.def, self.crd.as_deref(), &event.object),
        })
    }

    fn collect(&mut self) {
        let state = self.cluster.lock();
        match state
            .store
            .events_since(&self.def.table, self.last_revision)
        {
            Ok(events) => {
                for event in &events {
                    if let Some(translated) = self.translate(event) {
                        self.pending.push_back(translated);
                    }
                }
                self.last_revision = state.store.revision();
            }
            Err(too_old) => {
                let error = ApiError::Expired {
                    message: too_old_message(too_old),
                };
                self.pending.push_back(WatchEvent {
                    event_type: "ERROR",
                    object: error.to_status(),
                });
                self.done = true;
            }
        }
    }

    async fn next_event(&mut self) -> Option<WatchEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            self.collect();
            if !self.pending.is_empty() || self.done {
                continue;
            }
            let deadline = self.deadline;
            let bookmarks = self.bookmarks;
            let next_bookmark = self.next_bookmark;
            tokio::select! {
                changed = self.revisions.changed() => {
                    if changed.is_err() {
                        self.done = true;
                    }
                }
                _ = sleep_until_opt(deadline) => {
                    if bookmarks {
                        let bookmark = self.bookmark();
                        self.pending.push_back(bookmark);
                    }
                    self.done = true;
                }
                _ = tokio::time::sleep_until(next_bookmark), if bookmarks => {
                    let bookmark = self.bookmark();
                    self.pending.push_back(bookmark);
                    self.next_bookmark = Instant::now() + self.cluster.config().bookmark_interval;
                }
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
