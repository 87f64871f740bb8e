//! Kubernetes Events, emitted on change only (spec-controllers.md §15; fix 9 and 12 of
//! spec/README.md: the Go operator emits `Applied` and `Synced` on every pass).
//!
//! Callers publish Normal events only for what a pass actually did (an object written, a pod
//! created, a phase that changed). A Warning is published once per object, reason and message:
//! the same warning seen again on the next pass is not repeated until its message changes, the
//! object reconciles cleanly ([`Events::clear_failures`]) or its cause goes away
//! ([`Events::resolved`]). Publishing never fails a reconcile; a failed Event write is logged.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// The recorder names of the Go operator (spec-controllers.md §13.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    MultigresCluster,
    TableGroup,
    Cell,
    TopoServer,
    Shard,
}

impl Source {
    /// The kind the controller reconciles (span names, §12.4).
    pub const fn kind(self) -> &'static str {
        match self {
            Source::MultigresCluster => "MultigresCluster",
            Source::TableGroup => "TableGroup",
            Source::Cell => "Cell",
            Source::TopoServer => "TopoServer",
            Source::Shard => "Shard",
        }
    }

    /// The `controller` label of the reconcile metrics: the lowercased kind, as
    /// controller-runtime names controllers (§12.1).
    pub const fn metric_label(self) -> &'static str {
        match self {
            Source::MultigresCluster => "multigrescluster",
            Source::TableGroup => "tablegroup",
            Source::Cell => "cell",
            Source::TopoServer => "toposerver",
            Source::Shard => "shard",
        }
    }

    pub const fn controller(self) -> &'static str {
        match self {
            Source::MultigresCluster => "multigrescluster-controller",
            Source::TableGroup => "tablegroup-controller",
            Source::Cell => "cell-controller",
            Source::TopoServer => "toposerver-controller",
            Source::Shard => "shard-controller",
        }
    }
}

/// Key prefix of the events published once per object.
const ONCE: &str = "once:";
/// Key prefix of the warnings of failed passes.
const FAILURE: &str = "failure:";

/// Event notes are cut here (the API server limits `note` to 1 KiB).
const MAX_NOTE: usize = 1024;

/// One recorder per controller plus the memory that keeps warnings from repeating.
pub struct Events {
    recorders: HashMap<Source, Recorder>,
    /// Last warning note published per (object uid, reason).
    warned: Mutex<HashMap<(String, String), String>>,
}

impl Events {
    pub fn new(client: &Client, instance: Option<String>) -> Self {
        let recorders = [
            Source::MultigresCluster,
            Source::TableGroup,
            Source::Cell,
            Source::TopoServer,
            Source::Shard,
        ]
        .into_iter()
        .map(|source| {
            let reporter = Reporter {
                controller: source.controller().to_owned(),
                instance: instance.clone(),
            };
            (source, Recorder::new(client.clone(), reporter))
        })
        .collect();
        Events {
            recorders,
            warned: Mutex::new(HashMap::new()),
        }
    }

    fn warned(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        self.warned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Publishes a Normal event (the caller knows something changed).
    pub async fn normal(
        &self,
        source: Source,
        object: &ObjectReference,
        reason: &str,
        note: String,
    ) {
        self.publish(source, object, EventType::Normal, reason, note)
            .await;
    }

    /// Publishes a Warning event unless the same one was the last published for this object
    /// and reason.
    pub async fn warning(
        &self,
        source: Source,
        object: &ObjectReference,
        reason: &str,
        note: String,
    ) {
        let note = cut(note);
        let key = (object.uid.clone().unwrap_or_default(), reason.to_owned());
        {
            let mut warned = self.warned();
            if warned.get(&key) == Some(&note) {
                return;
            }
            warned.insert(key, note.clone());
        }
        self.publish(source, object, EventType::Warning, reason, note)
            .await;
    }

    /// Publishes a Normal event once per object and reason (for notes that change on every
    /// pass, such as a waiting time); not reset by a clean pass.
    pub async fn normal_once(
        &self,
        source: Source,
        object: &ObjectReference,
        reason: &str,
        note: String,
    ) {
        let key = (
            object.uid.clone().unwrap_or_default(),
            format!("{ONCE}{reason}"),
        );
        {
            let mut warned = self.warned();
            if warned.contains_key(&key) {
                return;
            }
            warned.insert(key, String::new());
        }
        self.publish(source, object, EventType::Normal, reason, note)
            .await;
    }

    /// Publishes the Warning of a failed pass, once per message until the object reconciles
    /// cleanly again ([`Events::clear_failures`]).
    pub async fn failure(
        &self,
        source: Source,
        object: &ObjectReference,
        reason: &str,
        note: String,
    ) {
        let note = cut(note);
        let key = (
            object.uid.clone().unwrap_or_default(),
            format!("{FAILURE}{reason}"),
        );
        {
            let mut warned = self.warned();
            if warned.get(&key) == Some(&note) {
                return;
            }
            warned.insert(key, note.clone());
        }
        self.publish(source, object, EventType::Warning, reason, note)
            .await;
    }

    /// Forgets the failures of an object that reconciled cleanly, so a new one is reported.
    pub fn clear_failures(&self, uid: &str) {
        self.warned()
            .retain(|(object, reason), _| object != uid || !reason.starts_with(FAILURE));
    }

    /// Forgets a warning whose cause went away (a pool has ready pods again), so it is
    /// reported if it comes back.
    pub fn resolved(&self, uid: &str, reason: &str) {
        self.warned().remove(&(uid.to_owned(), reason.to_owned()));
    }

    async fn publish(
        &self,
        source: Source,
        object: &ObjectReference,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        let Some(recorder) = self.recorders.get(&source) else {
            return;
        };
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(cut(note)),
            action: reason.to_owned(),
            secondary: None,
        };
        if let Err(error) = recorder.publish(&event, object).await {
            tracing::warn!(
                reason,
                object = object.name.as_deref().unwrap_or_default(),
                error = &error as &dyn std::error::Error,
                "failed to publish an Event"
            );
        }
    }
}

fn cut(mut note: String) -> String {
    if note.len() > MAX_NOTE {
        let mut end = MAX_NOTE;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        let note = "é".repeat(600);
        let cut_note = cut(note);
        assert!(cut_note.len() <= MAX_NOTE);
        assert!(cut_note.chars().all(|c| c == 'é'));
    }
}
