//! Kubernetes Events, emitted on change only (spec-controllers.md §15; fix 9 and 12 of
//! spec/README.md: the Go operator emits `Applied` and `Synced` on every pass).
//!
//! Callers publish Normal events only for what a pass actually did (an object written, a pod
//! created, a phase that changed). What one pass did to several objects is gathered
//! ([`Events::gather`]) and published as one event per reason when the pass ends
//! ([`Events::flush`]): the object writes already show each object, the event says which ones
//! this pass wrote. A Warning is published once per object, reason and message: the same
//! warning seen again on the next pass is not repeated until its message changes, the object
//! reconciles cleanly ([`Events::clear_failures`]) or its cause goes away
//! ([`Events::resolved`]). Publishing never fails a reconcile; a failed Event write is logged.
//!
//! Events are written as `events.k8s.io/v1`, as kube-rs' `Recorder` and client-go write them:
//! the same event (object, reason and note) published again within [`SERIES_TTL`] raises the
//! `series.count` of the first one instead of creating another. Unlike kube-rs' `Recorder`,
//! whose series key leaves the note out (so `Transitioned from '' to 'Progressing'` and then
//! `... to 'Healthy'` became one event counted twice, showing only the first note), the note is
//! part of the key here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

/// Whether an event reports normal operation or something to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    const fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// How long a published event is remembered so that a repeat raises its series count (the
/// value of kube-rs' `Recorder`).
pub const SERIES_TTL: Duration = Duration::from_secs(6 * 60);

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

/// What makes two publications the same event (and so one series).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SeriesKey {
    source: Source,
    type_: EventType,
    reason: String,
    /// uid, or namespace/name for an object without one.
    regarding: String,
    note: String,
}

/// A published event, for its series.
#[derive(Clone, Debug)]
struct Published {
    name: String,
    count: i32,
    last: Timestamp,
}

/// The notes of one reason gathered during a pass.
#[derive(Debug)]
struct Gathered {
    reason: &'static str,
    prefix: &'static str,
    items: Vec<String>,
}

/// The Events writer of every controller, plus the memory that keeps warnings from repeating
/// and the notes gathered by passes in progress.
pub struct Events {
    client: Client,
    /// The reporting instance (the operator's identity), as Go's recorders set it.
    instance: Option<String>,
    /// Last warning note published per (object uid, reason).
    warned: Mutex<HashMap<(String, String), String>>,
    /// Events published within [`SERIES_TTL`].
    published: Mutex<HashMap<SeriesKey, Published>>,
    /// Per object uid, what its pass in progress gathered, in the order first gathered.
    gathered: Mutex<HashMap<String, Vec<Gathered>>>,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Events {
    pub fn new(client: &Client, instance: Option<String>) -> Self {
        Events {
            client: client.clone(),
            instance,
            warned: Mutex::new(HashMap::new()),
            published: Mutex::new(HashMap::new()),
            gathered: Mutex::new(HashMap::new()),
        }
    }

    fn warned(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        locked(&self.warned)
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

    /// Remembers `item` for a Normal event of `reason` on the object with `uid`, published by
    /// [`Events::flush`] when its pass ends, as one event whose note is `prefix` followed by
    /// the items of the pass joined with `, ` (so one item reads as Go's note for it:
    /// `Applied Service minimal-multiadmin`).
    pub fn gather(&self, uid: &str, reason: &'static str, prefix: &'static str, item: String) {
        let mut gathered = locked(&self.gathered);
        let entries = gathered.entry(uid.to_owned()).or_default();
        match entries
            .iter_mut()
            .find(|entry| entry.reason == reason && entry.prefix == prefix)
        {
            Some(entry) => entry.items.push(item),
            None => entries.push(Gathered {
                reason,
                prefix,
                items: vec![item],
            }),
        }
    }

    /// Publishes what the pass over `object` gathered: one Normal event per reason. A pass
    /// that failed half-way still reports what it did.
    pub async fn flush(&self, source: Source, object: &ObjectReference) {
        let uid = object.uid.clone().unwrap_or_default();
        let Some(entries) = locked(&self.gathered).remove(&uid) else {
            return;
        };
        for entry in entries {
            let note = format!("{}{}", entry.prefix, entry.items.join(", "));
            self.publish(source, object, EventType::Normal, entry.reason, note)
                .await;
        }
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
        self.warning_about(source, object, reason, reason, note)
            .await;
    }

    /// [`Events::warning`] for one of several subjects of the same reason (each pool cell of a
    /// Shard for `PoolEmpty`): `subject` is remembered instead of the reason, so two subjects
    /// in the same state do not take turns publishing, and [`Events::resolved`] with it
    /// forgets only that one.
    pub async fn warning_about(
        &self,
        source: Source,
        object: &ObjectReference,
        reason: &str,
        subject: &str,
        note: String,
    ) {
        let note = cut(note);
        let key = (object.uid.clone().unwrap_or_default(), subject.to_owned());
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
        self.normal_once_per(source, object, reason, reason.to_owned(), "", note)
            .await;
    }

    /// Publishes a Normal event once per object, reason, note and `version` (a generation):
    /// the same note is published again only for another version.
    pub async fn normal_once_per_version(
        &self,
        source: Source,
        object: &ObjectReference,
        reason: &str,
        version: &str,
        note: String,
    ) {
        let memory = format!("{reason}:{note}");
        self.normal_once_per(source, object, reason, memory, version, note)
            .await;
    }

    async fn normal_once_per(
        &self,
        source: Source,
        object: &ObjectReference,
        reason: &str,
        memory: String,
        version: &str,
        note: String,
    ) {
        let key = (
            object.uid.clone().unwrap_or_default(),
            format!("{ONCE}{memory}"),
        );
        {
            let mut warned = self.warned();
            if warned.get(&key).is_some_and(|seen| seen == version) {
                return;
            }
            warned.insert(key, version.to_owned());
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
        let note = cut(note);
        let namespace = object
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let key = SeriesKey {
            source,
            type_,
            reason: reason.to_owned(),
            regarding: object.uid.clone().unwrap_or_else(|| {
                format!("{namespace}/{}", object.name.as_deref().unwrap_or_default())
            }),
            note: note.clone(),
        };
        let now = Timestamp::now();
        let ttl = jiff_span(SERIES_TTL);
        let repeat = {
            let mut published = locked(&self.published);
            published.retain(|_, seen| seen.last.saturating_add(ttl).is_ok_and(|end| end > now));
            published.get(&key).cloned()
        };
        let events: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let written = match repeat {
            Some(seen) => {
                let count = seen.count + 1;
                let patch = json!({"series": EventSeries {
                    count,
                    last_observed_time: MicroTime(now),
                }});
                events
                    .patch(&seen.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| Published {
                        count,
                        last: now,
                        ..seen
                    })
            }
            None => {
                let event = self.event(source, object, type_, reason, note, now);
                let name = event.metadata.name.clone().unwrap_or_default();
                events
                    .create(&PostParams::default(), &event)
                    .await
                    .map(|_| Published {
                        name,
                        count: 1,
                        last: now,
                    })
            }
        };
        match written {
            Ok(published) => {
                locked(&self.published).insert(key, published);
            }
            Err(error) => {
                // A series whose event is gone starts over with the next publication.
                locked(&self.published).remove(&key);
                tracing::warn!(
                    reason,
                    object = object.name.as_deref().unwrap_or_default(),
                    error = &error as &dyn std::error::Error,
                    "failed to publish an Event"
                );
            }
        }
    }

    /// A new `events.k8s.io/v1` Event, named `<object>.<nanoseconds in hex>` as client-go
    /// names them.
    fn event(
        &self,
        source: Source,
        object: &ObjectReference,
        type_: EventType,
        reason: &str,
        note: String,
        now: Timestamp,
    ) -> Event {
        let controller = source.controller().to_owned();
        Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    object.name.as_deref().unwrap_or(&controller),
                    now.as_nanosecond()
                )),
                namespace: object.namespace.clone(),
                ..ObjectMeta::default()
            },
            action: Some(reason.to_owned()),
            reason: Some(reason.to_owned()),
            note: Some(note),
            event_time: Some(MicroTime(now)),
            regarding: Some(object.clone()),
            reporting_instance: Some(self.instance.clone().unwrap_or_else(|| controller.clone())),
            reporting_controller: Some(controller),
            type_: Some(type_.as_str().to_owned()),
            ..Event::default()
        }
    }
}

/// `duration` as a jiff span for timestamp arithmetic.
fn jiff_span(duration: Duration) -> k8s_openapi::jiff::SignedDuration {
    k8s_openapi::jiff::SignedDuration::try_from(duration)
        .expect("the series TTL is a few minutes, far inside a SignedDuration")
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
    use kube::api::ListParams;

    fn shard() -> ObjectReference {
        ObjectReference {
            api_version: Some("multigres.com/v1alpha1".to_owned()),
            kind: Some("Shard".to_owned()),
            name: Some("s".to_owned()),
            namespace: Some("default".to_owned()),
            uid: Some("uid-1".to_owned()),
            ..ObjectReference::default()
        }
    }

    /// kubesim, a client of it and an `Events` writing there.
    async fn start() -> (kubesim::Handle, Client, Events) {
        let server = kubesim::Server::builder()
            .start()
            .await
            .expect("kubesim starts");
        let client = server.client();
        let events = Events::new(&client, None);
        (server, client, events)
    }

    /// (reason, note, series count) of every Event in `default`, sorted.
    async fn stored(client: &Client) -> Vec<(String, String, i32)> {
        let api: Api<Event> = Api::namespaced(client.clone(), "default");
        let mut found: Vec<(String, String, i32)> = api
            .list(&ListParams::default())
            .await
            .expect("events list")
            .items
            .into_iter()
            .map(|event| {
                (
                    event.reason.unwrap_or_default(),
                    event.note.unwrap_or_default(),
                    event.series.map_or(1, |series| series.count),
                )
            })
            .collect();
        found.sort();
        found
    }

    #[tokio::test]
    async fn two_empty_pool_cells_warn_once_each_until_one_recovers() {
        let (server, client, events) = start().await;
        let object = shard();
        let warn = |cell: &'static str| {
            let events = &events;
            let object = &object;
            async move {
                events
                    .warning_about(
                        Source::Shard,
                        object,
                        "PoolEmpty",
                        &format!("PoolEmpty/main/{cell}"),
                        format!("Pool main in cell {cell} has 0 ready replicas"),
                    )
                    .await;
            }
        };
        // Three passes over the same two empty cells: one event each, not one per pass.
        for _ in 0..3 {
            warn("a").await;
            warn("b").await;
        }
        let once = |cell: &str| {
            (
                "PoolEmpty".to_owned(),
                format!("Pool main in cell {cell} has 0 ready replicas"),
                1,
            )
        };
        assert_eq!(stored(&client).await, vec![once("a"), once("b")]);
        // Cell a recovers and empties again: warned again (the series counts it); b is not.
        events.resolved("uid-1", "PoolEmpty/main/a");
        warn("a").await;
        warn("b").await;
        let mut again = once("a");
        again.2 = 2;
        assert_eq!(stored(&client).await, vec![again, once("b")]);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_pass_publishes_one_event_per_reason_and_a_new_note_is_a_new_event() {
        let (server, client, events) = start().await;
        let object = shard();
        let uid = "uid-1";
        events.gather(uid, "Applied", "Applied ", "Service a".to_owned());
        events.gather(
            uid,
            "PodCreated",
            "Created ",
            "pod p-0 for pool x".to_owned(),
        );
        events.gather(uid, "Applied", "Applied ", "Deployment b".to_owned());
        events.flush(Source::Shard, &object).await;
        // Nothing gathered since: a second flush publishes nothing.
        events.flush(Source::Shard, &object).await;
        let note = |from: &str, to: &str| format!("Transitioned from '{from}' to '{to}'");
        events
            .normal(
                Source::Shard,
                &object,
                "PhaseChange",
                note("", "Progressing"),
            )
            .await;
        events
            .normal(
                Source::Shard,
                &object,
                "PhaseChange",
                note("Progressing", "Healthy"),
            )
            .await;
        events
            .normal(
                Source::Shard,
                &object,
                "PhaseChange",
                note("Progressing", "Healthy"),
            )
            .await;
        assert_eq!(
            stored(&client).await,
            vec![
                (
                    "Applied".to_owned(),
                    "Applied Service a, Deployment b".to_owned(),
                    1
                ),
                ("PhaseChange".to_owned(), note("", "Progressing"), 1),
                ("PhaseChange".to_owned(), note("Progressing", "Healthy"), 2),
                (
                    "PodCreated".to_owned(),
                    "Created pod p-0 for pool x".to_owned(),
                    1
                ),
            ]
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_note_once_per_version_is_published_again_only_for_a_new_version() {
        let (server, client, events) = start().await;
        let object = shard();
        for version in ["1", "1", "2"] {
            events
                .normal_once_per_version(
                    Source::MultigresCluster,
                    &object,
                    "ImplicitDefault",
                    version,
                    "injected".to_owned(),
                )
                .await;
        }
        assert_eq!(
            stored(&client).await,
            vec![("ImplicitDefault".to_owned(), "injected".to_owned(), 2)]
        );
        server.shutdown().await;
    }

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        let note = "é".repeat(600);
        let cut_note = cut(note);
        assert!(cut_note.len() <= MAX_NOTE);
        assert!(cut_note.chars().all(|c| c == 'é'));
    }
}
