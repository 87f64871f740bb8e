//! The informer cache: one watch per kind the operator reads, shared by every controller that
//! reads or is triggered by that kind (spec-controllers.md §13.4, the "hybrid" cache).
//!
//! Each kind is a [`Feed`]: a reflector whose [`Store`] the reconcilers read (so a pass compares
//! desired objects with live ones without a GET) and whose subscriptions trigger the
//! controllers. A subscription hears of every change and every deletion (a controller must also
//! hear that a child it owns was deleted, a user's `kubectl delete pod` of a pool pod, to put it
//! back at once rather than at the next resync), in watch order, each notice carrying the object
//! as that event left it. The feed sends the notices itself instead of using kube-runtime's
//! shared-reflector subscriptions: those carry only a reference, look the object up in the
//! store when read, and when it is no longer there (created and deleted again before a busy
//! controller read the notice) answer `Pending` without arranging a wake-up, so the controller
//! hears nothing more of that kind until something else wakes it; a Shard recreated under the
//! same name then waited for the next resync (10 h in the tests). Secrets, StatefulSets,
//! Services, Pods, PVCs, PDBs and Deployments are selected
//! by `app.kubernetes.io/managed-by=multigres-operator` (every object the operator creates
//! carries it); ConfigMaps and StorageClasses are read unfiltered (a postgres config ConfigMap
//! belongs to the user). Custom resources are watched through [`DeserializeGuard`] so one
//! malformed object never stops a watch.
//!
//! This module only wires watches; it must not write anything.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::FieldsV1;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use multigres_api::labels::LABEL_APP_MANAGED_BY;
use multigres_api::v1alpha1::{
    Cell, CellTemplate, CoreTemplate, MultigresCluster, Shard, ShardTemplate, TableGroup,
    TopoServer,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::apply::InFlight;

/// The value of `app.kubernetes.io/managed-by` on everything the operator creates.
pub const MANAGED_BY: &str = "multigres-operator";

/// How many notices a slow subscriber may lag behind before the watch waits for it.
const SUBSCRIBER_BUFFER: usize = 1024;

/// One kind's shared reflector before it runs: hands out its store and subscriptions.
pub struct Feed<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    kind: &'static str,
    api: Api<K>,
    config: watcher::Config,
    writer: Writer<K>,
    /// Every change and deletion, sent once the store holds what the event says.
    notices: async_broadcast::Sender<Arc<K>>,
    /// Keeps the channel open while no controller subscribes.
    _open: async_broadcast::InactiveReceiver<Arc<K>>,
    /// What is dropped from each object before it enters the store.
    trim: fn(&mut K),
    /// Told of every object the watch delivers, so waits for this process's applies end.
    in_flight: InFlight,
}

impl<K> Feed<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    fn new(kind: &'static str, api: Api<K>, config: watcher::Config, in_flight: &InFlight) -> Self {
        in_flight.watch(kind);
        let (mut notices, receiver) = async_broadcast::broadcast(SUBSCRIBER_BUFFER);
        // Before any controller subscribes, notices go nowhere instead of waiting.
        notices.set_await_active(false);
        Feed {
            kind,
            api,
            config,
            writer: Writer::new(()),
            notices,
            _open: receiver.deactivate(),
            trim: keep_own_managed_fields,
            in_flight: in_flight.clone(),
        }
    }

    /// Replaces what is dropped from each object before it is stored (by default: the
    /// `managedFields` entries of other managers).
    fn trimmed_with(mut self, trim: fn(&mut K)) -> Self {
        self.trim = trim;
        self
    }

    /// The store the reflector fills.
    pub fn store(&self) -> Store<K> {
        self.writer.as_reader()
    }

    /// A new stream of this kind's changes and deletions from now on, for a controller's
    /// trigger. A subscriber more than the buffer behind holds the watch up until it catches
    /// up (kube-runtime's shared reflectors do the same), so no notice is ever lost.
    pub fn subscribe(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        self.notices.new_receiver()
    }

    /// Runs the watch until the process stops; watch errors are retried with backoff.
    pub async fn run(self) {
        let events = watcher(self.api.clone(), self.config.clone()).default_backoff();
        self.reflect(events).await;
    }

    /// Feeds the store and the subscribers from `events` until they end.
    async fn reflect(
        self,
        events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send,
    ) {
        let kind = self.kind;
        let notices = self.notices;
        let trim = self.trim;
        let in_flight = self.in_flight;
        let store = self.writer.as_reader();
        let meta = |object: &K| {
            let meta = object.meta();
            (
                meta.namespace.clone().unwrap_or_default(),
                meta.name.clone().unwrap_or_default(),
            )
        };
        events
            .modify(trim)
            .reflect(self.writer)
            .for_each(|event| {
                // After reflect: the store already holds what the event says, so the pass a
                // notice starts compares with the written object (or sees a deleted one gone).
                let sent: Vec<Arc<K>> = match event {
                    Ok(watcher::Event::Delete(object)) => {
                        let (namespace, name) = meta(&object);
                        in_flight.deleted(kind, &namespace, &name);
                        vec![Arc::new(object)]
                    }
                    Ok(watcher::Event::Apply(object)) => {
                        let (namespace, name) = meta(&object);
                        let version = object.meta().resource_version.as_deref();
                        in_flight.seen(kind, &namespace, &name, version);
                        vec![Arc::new(object)]
                    }
                    Ok(watcher::Event::InitApply(object)) => {
                        let (namespace, name) = meta(&object);
                        let version = object.meta().resource_version.as_deref();
                        in_flight.seen(kind, &namespace, &name, version);
                        vec![]
                    }
                    Ok(watcher::Event::Init) => {
                        in_flight.relisted(kind);
                        vec![]
                    }
                    // A (re)list is in the store only now: every object it holds is a notice,
                    // as kube-runtime's shared reflectors dispatch them.
                    Ok(watcher::Event::InitDone) => store.state(),
                    Err(error) => {
                        tracing::warn!(
                            kind,
                            error = &error as &dyn std::error::Error,
                            "watch failed; retrying"
                        );
                        vec![]
                    }
                };
                let notices = notices.clone();
                async move {
                    for notice in sent {
                        // Err: no controller subscribes yet, which is not an error.
                        let _ = notices.broadcast_direct(notice).await;
                    }
                }
            })
            .await;
    }
}

/// The field managers whose `managedFields` entries `apply` reads (the operator's own, the Go
/// operator's names); every other manager's entry is dropped before an object enters the cache,
/// which is most of the memory of a cached object.
const OWN_MANAGERS: [&str; 3] = [
    crate::apply::MANAGER,
    crate::apply::SHARD_STATUS_MANAGER,
    "multigres-operator-cert",
];

fn keep_own_managed_fields<K: Resource>(object: &mut K) {
    if let Some(entries) = object.meta_mut().managed_fields.as_mut() {
        entries.retain(|entry| {
            entry
                .manager
                .as_deref()
                .is_some_and(|manager| OWN_MANAGERS.contains(&manager))
        });
        for entry in entries {
            if let Some(fields) = entry.fields_v1.as_mut() {
                compact_fields(fields);
            }
        }
    }
}

/// Stores a `fieldsV1` set as its JSON text (a [`Value::String`]). As a tree every field name is
/// a map entry of its own, several times the size of the text; the sets are read only when an
/// apply compares an object (`apply`), which expands them again with
/// [`expand_managed_fields`]. Halves the cache of a hundred clusters.
fn compact_fields(fields: &mut FieldsV1) {
    if fields.0.is_object() {
        fields.0 = Value::String(fields.0.to_string());
    }
}

/// Undoes [`compact_fields`] in the JSON form of a cached object (`metadata.managedFields[*]`),
/// for the apply comparison. Text that is not a JSON object is left as it is.
pub fn expand_managed_fields(object: &mut Value) {
    let Some(entries) = object
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for entry in entries {
        if let Some(fields) = entry.get_mut("fieldsV1")
            && let Some(text) = fields.as_str()
            && let Ok(tree @ Value::Object(_)) = serde_json::from_str::<Value>(text)
        {
            *fields = tree;
        }
    }
}

/// What the operator reads of a live Pod: its metadata (name, labels, annotations such as the
/// spec hash and drain state, owner references, deletion timestamp) and its status (phase,
/// conditions, container restarts). Nothing it decides reads a live pod's spec (pool pod drift
/// is the spec-hash annotation, spec-controllers.md §7.5), and it never server-side applies a
/// pod (pool pods are created, then merge-patched), so neither the spec nor any
/// `managedFields` entry is kept: with them a pod is most of the cache's memory.
fn trim_pod(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    pod.spec = None;
}

/// Every feed, before the watches start.
pub struct Feeds {
    pub clusters: Feed<DeserializeGuard<MultigresCluster>>,
    pub cells: Feed<DeserializeGuard<Cell>>,
    pub table_groups: Feed<DeserializeGuard<TableGroup>>,
    pub shards: Feed<DeserializeGuard<Shard>>,
    pub topo_servers: Feed<DeserializeGuard<TopoServer>>,
    pub core_templates: Feed<DeserializeGuard<CoreTemplate>>,
    pub cell_templates: Feed<DeserializeGuard<CellTemplate>>,
    pub shard_templates: Feed<DeserializeGuard<ShardTemplate>>,
    pub deployments: Feed<Deployment>,
    pub services: Feed<Service>,
    pub stateful_sets: Feed<StatefulSet>,
    pub secrets: Feed<Secret>,
    pub config_maps: Feed<ConfigMap>,
    pub pods: Feed<Pod>,
    pub pvcs: Feed<PersistentVolumeClaim>,
    pub pdbs: Feed<PodDisruptionBudget>,
    pub storage_classes: Feed<StorageClass>,
}

impl Feeds {
    /// Feeds over every namespace.
    pub fn new(client: &Client, in_flight: &InFlight) -> Self {
        let managed =
            || watcher::Config::default().labels(&format!("{LABEL_APP_MANAGED_BY}={MANAGED_BY}"));
        let all = watcher::Config::default;
        Feeds {
            clusters: Feed::new(
                "MultigresCluster",
                Api::all(client.clone()),
                all(),
                in_flight,
            ),
            cells: Feed::new("Cell", Api::all(client.clone()), all(), in_flight),
            table_groups: Feed::new("TableGroup", Api::all(client.clone()), all(), in_flight),
            shards: Feed::new("Shard", Api::all(client.clone()), all(), in_flight),
            topo_servers: Feed::new("TopoServer", Api::all(client.clone()), all(), in_flight),
            core_templates: Feed::new("CoreTemplate", Api::all(client.clone()), all(), in_flight),
            cell_templates: Feed::new("CellTemplate", Api::all(client.clone()), all(), in_flight),
            shard_templates: Feed::new("ShardTemplate", Api::all(client.clone()), all(), in_flight),
            deployments: Feed::new("Deployment", Api::all(client.clone()), managed(), in_flight),
            services: Feed::new("Service", Api::all(client.clone()), managed(), in_flight),
            stateful_sets: Feed::new(
                "StatefulSet",
                Api::all(client.clone()),
                managed(),
                in_flight,
            ),
            secrets: Feed::new("Secret", Api::all(client.clone()), managed(), in_flight),
            config_maps: Feed::new("ConfigMap", Api::all(client.clone()), all(), in_flight),
            pods: Feed::new("Pod", Api::all(client.clone()), managed(), in_flight)
                .trimmed_with(trim_pod),
            pvcs: Feed::new(
                "PersistentVolumeClaim",
                Api::all(client.clone()),
                managed(),
                in_flight,
            ),
            pdbs: Feed::new(
                "PodDisruptionBudget",
                Api::all(client.clone()),
                managed(),
                in_flight,
            ),
            storage_classes: Feed::new("StorageClass", Api::all(client.clone()), all(), in_flight),
        }
    }

    /// The stores, for the reconcilers.
    pub fn cache(&self) -> Cache {
        Cache {
            clusters: self.clusters.store(),
            cells: self.cells.store(),
            table_groups: self.table_groups.store(),
            shards: self.shards.store(),
            topo_servers: self.topo_servers.store(),
            core_templates: self.core_templates.store(),
            cell_templates: self.cell_templates.store(),
            shard_templates: self.shard_templates.store(),
            deployments: self.deployments.store(),
            services: self.services.store(),
            stateful_sets: self.stateful_sets.store(),
            secrets: self.secrets.store(),
            config_maps: self.config_maps.store(),
            pods: self.pods.store(),
            pvcs: self.pvcs.store(),
            pdbs: self.pdbs.store(),
            storage_classes: self.storage_classes.store(),
        }
    }

    /// Starts every watch on the runtime; they stop when the runtime does.
    pub fn spawn(self) -> Vec<tokio::task::JoinHandle<()>> {
        let Feeds {
            clusters,
            cells,
            table_groups,
            shards,
            topo_servers,
            core_templates,
            cell_templates,
            shard_templates,
            deployments,
            services,
            stateful_sets,
            secrets,
            config_maps,
            pods,
            pvcs,
            pdbs,
            storage_classes,
        } = self;
        vec![
            tokio::spawn(clusters.run()),
            tokio::spawn(cells.run()),
            tokio::spawn(table_groups.run()),
            tokio::spawn(shards.run()),
            tokio::spawn(topo_servers.run()),
            tokio::spawn(core_templates.run()),
            tokio::spawn(cell_templates.run()),
            tokio::spawn(shard_templates.run()),
            tokio::spawn(deployments.run()),
            tokio::spawn(services.run()),
            tokio::spawn(stateful_sets.run()),
            tokio::spawn(secrets.run()),
            tokio::spawn(config_maps.run()),
            tokio::spawn(pods.run()),
            tokio::spawn(pvcs.run()),
            tokio::spawn(pdbs.run()),
            tokio::spawn(storage_classes.run()),
        ]
    }
}

/// The stores the reconcilers read.
#[derive(Clone)]
pub struct Cache {
    pub clusters: Store<DeserializeGuard<MultigresCluster>>,
    pub cells: Store<DeserializeGuard<Cell>>,
    pub table_groups: Store<DeserializeGuard<TableGroup>>,
    pub shards: Store<DeserializeGuard<Shard>>,
    pub topo_servers: Store<DeserializeGuard<TopoServer>>,
    pub core_templates: Store<DeserializeGuard<CoreTemplate>>,
    pub cell_templates: Store<DeserializeGuard<CellTemplate>>,
    pub shard_templates: Store<DeserializeGuard<ShardTemplate>>,
    pub deployments: Store<Deployment>,
    pub services: Store<Service>,
    pub stateful_sets: Store<StatefulSet>,
    pub secrets: Store<Secret>,
    pub config_maps: Store<ConfigMap>,
    pub pods: Store<Pod>,
    pub pvcs: Store<PersistentVolumeClaim>,
    pub pdbs: Store<PodDisruptionBudget>,
    pub storage_classes: Store<StorageClass>,
}

impl Cache {
    /// Waits until every store holds its first complete list, so that the first pass compares
    /// with what exists instead of rewriting it.
    pub async fn wait_until_ready(
        &self,
    ) -> Result<(), kube::runtime::reflector::store::WriterDropped> {
        self.clusters.wait_until_ready().await?;
        self.cells.wait_until_ready().await?;
        self.table_groups.wait_until_ready().await?;
        self.shards.wait_until_ready().await?;
        self.topo_servers.wait_until_ready().await?;
        self.core_templates.wait_until_ready().await?;
        self.cell_templates.wait_until_ready().await?;
        self.shard_templates.wait_until_ready().await?;
        self.deployments.wait_until_ready().await?;
        self.services.wait_until_ready().await?;
        self.stateful_sets.wait_until_ready().await?;
        self.secrets.wait_until_ready().await?;
        self.config_maps.wait_until_ready().await?;
        self.pods.wait_until_ready().await?;
        self.pvcs.wait_until_ready().await?;
        self.pdbs.wait_until_ready().await?;
        self.storage_classes.wait_until_ready().await?;
        Ok(())
    }
}

/// A namespaced object of `store` by name.
pub fn get<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store.get(&ObjectRef::new(name).within(namespace))
}

/// A cluster-scoped object of `store` by name.
pub fn get_cluster_scoped<K>(store: &Store<K>, name: &str) -> Option<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store.get(&ObjectRef::new(name))
}

/// The objects of `store` in `namespace` whose labels include every pair of `selector`.
pub fn select<K>(store: &Store<K>, namespace: &str, selector: &[(&str, &str)]) -> Vec<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let mut found: Vec<Arc<K>> = store
        .state()
        .into_iter()
        .filter(|object| {
            let meta = object.meta();
            meta.namespace.as_deref() == Some(namespace)
                && selector.iter().all(|(key, value)| {
                    meta.labels
                        .as_ref()
                        .and_then(|labels| labels.get(*key))
                        .is_some_and(|found| found == value)
                })
        })
        .collect();
    found.sort_by(|a, b| a.meta().name.cmp(&b.meta().name));
    found
}

/// The valid object inside a guarded one.
pub fn valid<K: Clone>(guarded: &DeserializeGuard<K>) -> Option<&K> {
    guarded.0.as_ref().ok()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta, Time};
    use serde_json::json;
    use std::time::Duration;

    use super::*;

    fn config_map(name: &str, uid: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(uid.into()),
                resource_version: Some(uid.into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    type ScriptedEvent = Result<watcher::Event<ConfigMap>, watcher::Error>;

    /// A feed whose watch events come from the returned sender instead of an API server.
    fn scripted_feed() -> (
        Feed<ConfigMap>,
        futures::channel::mpsc::UnboundedSender<ScriptedEvent>,
        futures::channel::mpsc::UnboundedReceiver<ScriptedEvent>,
    ) {
        // Never dialled: the events are scripted.
        let client = Client::try_from(kube::Config::new(
            "http://127.0.0.1:9".parse().expect("a valid URL"),
        ))
        .expect("a client");
        let feed = Feed::new(
            "ConfigMap",
            Api::namespaced(client, "default"),
            watcher::Config::default(),
            &InFlight::default(),
        );
        let (events, script) = futures::channel::mpsc::unbounded();
        (feed, events, script)
    }

    /// An object created and deleted again before a slow controller read its notice (a child
    /// its owner recreated while being garbage-collected) must not stop that controller's
    /// subscription: the object created after it still triggers it. kube-runtime's own
    /// subscriptions (`ReflectHandle`) answer `Pending` without a wake-up for a notice whose
    /// object has left the store, and their controller then hears nothing more of the kind
    /// until some other wake-up; a recreated Shard stayed unreconciled that way.
    #[tokio::test]
    async fn a_subscription_outlives_an_object_deleted_before_its_notice_was_read() {
        // After zero to three idle polls: a subscription that merges streams polls them in
        // turn, and the stall needs the stale notice to be what it reads last.
        for idle_polls in 0..4 {
            subscription_hears_of_a_recreated_object(idle_polls).await;
        }
    }

    /// A waker that records that it was woken.
    struct Woken(std::sync::atomic::AtomicBool);

    impl std::task::Wake for Woken {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    async fn subscription_hears_of_a_recreated_object(idle_polls: usize) {
        use std::sync::atomic::Ordering::SeqCst;
        use std::task::{Context, Poll};

        let (feed, events, script) = scripted_feed();
        let mut subscription = Box::pin(feed.subscribe());
        let store = feed.store();
        let feed_store = feed.store();
        let reflecting = tokio::spawn(feed.reflect(script));
        let send = |event| {
            events
                .unbounded_send(Ok(event))
                .expect("the feed is reading");
        };
        let stored_uid = move || {
            store
                .get(&ObjectRef::new("ghost").within("default"))
                .and_then(|cm| cm.metadata.uid.clone())
        };
        let until_stored = |wanted: Option<&'static str>| {
            let stored_uid = stored_uid.clone();
            async move {
                tokio::time::timeout(Duration::from_secs(10), async {
                    while stored_uid().as_deref() != wanted {
                        tokio::task::yield_now().await;
                    }
                })
                .await
                .expect("the feed applies the scripted events");
            }
        };
        // The subscription is polled as a controller polls it: again only once woken.
        let woken = Arc::new(Woken(false.into()));
        let waker = std::task::Waker::from(woken.clone());
        let mut context = Context::from_waker(&waker);

        send(watcher::Event::Init);
        send(watcher::Event::InitDone);
        for _ in 0..idle_polls {
            assert!(
                subscription.as_mut().poll_next(&mut context).is_pending(),
                "nothing to hear yet"
            );
        }
        // Created and deleted before the subscriber reads anything; once the store holds the
        // object after them, the feed has sent every notice of those two.
        send(watcher::Event::Apply(config_map("ghost", "first")));
        send(watcher::Event::Delete(config_map("ghost", "first")));
        send(watcher::Event::Apply(config_map("marker", "marker")));
        let marker = feed_store.clone();
        tokio::time::timeout(Duration::from_secs(10), async {
            while marker
                .get(&ObjectRef::new("marker").within("default"))
                .is_none()
            {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the feed applies the scripted events");
        // The subscriber reads what it is told until it has nothing more.
        while let Poll::Ready(notice) = subscription.as_mut().poll_next(&mut context) {
            let notice = notice.expect("the subscription is open");
            assert!(matches!(
                notice.metadata.uid.as_deref(),
                Some("first" | "marker")
            ));
        }
        woken.0.store(false, SeqCst);
        // The same name created again wakes the subscriber, which then hears of it (after
        // any notice of the first object still on its way).
        send(watcher::Event::Apply(config_map("ghost", "second")));
        until_stored(Some("second")).await;
        'heard: loop {
            let woke = tokio::time::timeout(Duration::from_secs(10), async {
                while !woken.0.swap(false, SeqCst) {
                    tokio::task::yield_now().await;
                }
            })
            .await;
            assert!(
                woke.is_ok(),
                "after {idle_polls} idle polls, the recreated object never woke the subscriber"
            );
            while let Poll::Ready(notice) = subscription.as_mut().poll_next(&mut context) {
                match notice
                    .expect("the subscription is open")
                    .metadata
                    .uid
                    .as_deref()
                {
                    Some("second") => break 'heard,
                    uid => assert!(matches!(uid, Some("first" | "marker")), "{uid:?}"),
                }
            }
        }
        drop(events);
        reflecting.await.expect("the feed ends with its events");
    }

    #[test]
    fn a_cached_pod_keeps_its_metadata_and_status_but_not_its_spec_or_managed_fields() {
        let meta = ObjectMeta {
            name: Some("minimal-default-0-inf-pool-main-zone-a-0".into()),
            namespace: Some("default".into()),
            labels: Some([("multigres.com/pool".to_owned(), "main".to_owned())].into()),
            annotations: Some([("multigres.com/spec-hash".to_owned(), "abc".to_owned())].into()),
            deletion_timestamp: Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
            owner_references: Some(vec![Default::default()]),
            managed_fields: Some(vec![ManagedFieldsEntry {
                manager: Some(crate::apply::MANAGER.into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let status = PodStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let mut pod = Pod {
            metadata: meta.clone(),
            spec: Some(PodSpec {
                hostname: Some("h".into()),
                ..Default::default()
            }),
            status: Some(status.clone()),
        };
        trim_pod(&mut pod);
        assert_eq!(
            pod,
            Pod {
                metadata: ObjectMeta {
                    managed_fields: None,
                    ..meta
                },
                spec: None,
                status: Some(status),
            }
        );
        // Other kinds keep the operator's own managedFields entries (apply compares with them).
        let mut service = Service {
            metadata: serde_json::from_value(json!({"managedFields": [
                {"manager": crate::apply::MANAGER}, {"manager": "kubectl"}
            ]}))
            .expect("valid metadata"),
            ..Default::default()
        };
        keep_own_managed_fields(&mut service);
        assert_eq!(
            service.metadata.managed_fields.map(|entries| entries.len()),
            Some(1)
        );
    }

    #[test]
    fn own_field_sets_are_cached_as_text_and_expand_to_the_same_tree() {
        let fields = json!({"f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:ports": {"k:{\"port\":5432,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}}});
        let object = json!({"metadata": {"name": "s", "managedFields": [
            {"manager": crate::apply::MANAGER, "operation": "Apply", "fieldsV1": fields},
            {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:x": {}}}
        ]}});
        let mut service: Service = serde_json::from_value(object).expect("a valid Service");
        keep_own_managed_fields(&mut service);
        let entries = service.metadata.managed_fields.clone().unwrap_or_default();
        assert_eq!(entries.len(), 1);
        assert!(
            entries[0]
                .fields_v1
                .as_ref()
                .is_some_and(|f| f.0.is_string())
        );
        let mut value = serde_json::to_value(&service).expect("serializes");
        expand_managed_fields(&mut value);
        assert_eq!(value["metadata"]["managedFields"][0]["fieldsV1"], fields);
    }
}
