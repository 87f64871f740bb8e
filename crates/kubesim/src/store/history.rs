//! The bounded watch history of one table: the events a watch or an `Exact` list replays.
//!
//! Pure; it never decides what an event means for a particular watcher (selectors are applied
//! by `api/watch.rs`). Older history is dropped once the limit is reached, and a request that
//! needs it gets [`TooOld`] (410 Expired, rust-ecosystem.md §3.1).

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;

/// The watch event types the store records (BOOKMARK and ERROR are made by the watch stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// The wire name of the event type.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One recorded change.
#[derive(Debug, PartialEq)]
pub struct StoredEvent {
    pub event_type: EventType,
    /// The revision this change was written at.
    pub revision: u64,
    /// The object after the change (for DELETED: its last state at the deletion's revision).
    pub object: Arc<Value>,
    /// The object before the change (MODIFIED, DELETED), so that selector watches can tell when
    /// an object stops matching and `snapshot_at` can undo the change.
    pub previous: Option<Arc<Value>>,
}

/// A request reached back before the retained history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooOld {
    /// The resourceVersion asked for.
    pub requested: u64,
    /// The oldest resourceVersion still served.
    pub oldest: u64,
}

#[derive(Debug)]
pub(super) struct History {
    limit: usize,
    events: VecDeque<Arc<StoredEvent>>,
    /// Revision of the newest event dropped (0 when nothing was dropped).
    compacted: u64,
}

impl History {
    pub(super) fn new(limit: usize) -> History {
        History {
            limit,
            events: VecDeque::new(),
            compacted: 0,
        }
    }

    pub(super) fn push(&mut self, event: StoredEvent) {
        if self.events.len() == self.limit
            && let Some(dropped) = self.events.pop_front()
        {
            self.compacted = dropped.revision;
        }
        self.events.push_back(Arc::new(event));
    }

    pub(super) fn since(&self, revision: u64) -> Result<Vec<Arc<StoredEvent>>, TooOld> {
        if revision < self.compacted {
            return Err(TooOld {
                requested: revision,
                oldest: self.compacted,
            });
        }
        let start = self.events.partition_point(|e| e.revision <= revision);
        Ok(self.events.range(start..).cloned().collect())
    }
}
