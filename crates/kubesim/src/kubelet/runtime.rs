//! The kubelet's runtime task: one tokio task that watches nodes, storage classes, volumes,
//! claims, pods, Deployments and StatefulSets through the in-process API, keeps their copies
//! ([`Informer`]), and runs the pure decisions of this module's siblings on whatever changed.
//!
//! Event-driven: a change marks the work it affects dirty (a pod, its owner, the pods waiting
//! for a node or a claim), the loop drains the dirty set, and durations (grace periods,
//! back-offs, evictions, `minReadySeconds`) become timers. An idle cluster costs nothing but
//! the watches' periodic bookmarks, however many pods it holds. All simulated state (pod IPs,
//! held-unready pods, crash back-offs, when a deletion was first seen) lives here, in one task,
//! so no lock guards it.
//!
//! Writes go through [`Cluster`] with the field manager of the component that makes them in a
//! real cluster (`kube-scheduler`, `kubelet`, `kube-controller-manager`), with the cached
//! `resourceVersion`: a conflict refreshes the copy and retries on the next pass.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::KubeletConfig;
use super::controls::Command;
use super::informer::{Change, Informer};
use super::object_fields::{controller_uid, is_deleting, name, str_at, uid};
use super::pod_ip::PodIps;
use super::process_sync::ProcessHost;
use super::sim_time::SimClock;
use crate::api::{Cluster, DeleteOptions, Subresource, WatchEvent, WatchOptions, WriteOptions};
use crate::error::ApiError;
use crate::resources::ResourceDef;
use crate::store::ObjectKey;

/// How long a failed write waits before its work is retried.
const RETRY: std::time::Duration = std::time::Duration::from_secs(1);
/// Work items handled per pass before the loop looks at events again.
const PASS_BUDGET: usize = 4096;

pub(super) const SCHEDULER: &str = "kube-scheduler";
pub(super) const KUBELET: &str = "kubelet";
pub(super) const CONTROLLER_MANAGER: &str = "kube-controller-manager";

/// The resources the runtime watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Kind {
    Node,
    StorageClass,
    Volume,
    Claim,
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
}

impl Kind {
    const ALL: [Kind; 8] = [
        Kind::Node,
        Kind::StorageClass,
        Kind::Volume,
        Kind::Claim,
        Kind::Pod,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::StatefulSet,
    ];

    /// group, version, plural.
    pub(super) fn resource(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::Node => ("", "v1", "nodes"),
            Kind::StorageClass => ("storage.k8s.io", "v1", "storageclasses"),
            Kind::Volume => ("", "v1", "persistentvolumes"),
            Kind::Claim => ("", "v1", "persistentvolumeclaims"),
            Kind::Pod => ("", "v1", "pods"),
            Kind::Deployment => ("apps", "v1", "deployments"),
            Kind::ReplicaSet => ("apps", "v1", "replicasets"),
            Kind::StatefulSet => ("apps", "v1", "statefulsets"),
        }
    }
}

/// A unit of reconciliation. Ordered so that a pass settles volumes and claims before the
/// pods that wait for them, and pods before the workloads that count them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Work {
    Watch(Kind),
    Volume(String),
    Claim(ObjectKey),
    Pod(ObjectKey),
    Deployment(ObjectKey),
    StatefulSet(ObjectKey),
}

/// A write the runtime could not make (logged; the work is retried).
#[derive(Debug, thiserror::Error)]
pub(super) enum SyncError {
    #[error("failed to {action} {object}")]
    Write {
        action: &'static str,
        object: String,
        #[source]
        source: Box<ApiError>,
    },
}

type EventStream = BoxStream<'static, (Kind, Option<WatchEvent>)>;

pub(super) struct Runtime {
    pub(super) cluster: Cluster,
    pub(super) config: KubeletConfig,
    pub(super) informers: BTreeMap<Kind, Informer>,
    streams: SelectAll<EventStream>,
    commands: mpsc::UnboundedReceiver<Command>,
    dirty: BTreeSet<Work>,
    timers: BTreeMap<(Instant, u64), Work>,
    timer_index: HashMap<Work, Instant>,
    timer_seq: u64,
    // Simulated state.
    pub(super) ips: PodIps,
    /// Pods (by uid) held not ready by a control.
    pub(super) unready: HashSet<String>,
    /// When the kubelet first saw a pod's deletion (by uid): its grace period runs from here.
    pub(super) deletion_seen: HashMap<String, Instant>,
    /// Containers waiting in CrashLoopBackOff (pod uid → container → end of back-off).
    pub(super) backoffs: HashMap<String, BTreeMap<String, Instant>>,
    /// Pods whose containers are being created (by uid): when they run.
    pub(super) creating_until: HashMap<String, Instant>,
    /// Started containers whose readiness probe has not passed yet (pod uid → container →
    /// when it first passes).
    pub(super) probe_due: HashMap<String, BTreeMap<String, Instant>>,
    // Indexes over the pod copies.
    pub(super) pods_by_node: HashMap<String, BTreeSet<ObjectKey>>,
    pub(super) pending_pods: BTreeSet<ObjectKey>,
    pub(super) pods_by_owner: HashMap<String, BTreeSet<ObjectKey>>,
    workloads_by_uid: HashMap<String, Work>,
    /// A Deployment's ReplicaSets (set uid → Deployment uid): their pods' changes are the
    /// Deployment's work.
    set_owners: HashMap<String, String>,
    // Process runtimes (process_sync.rs).
    pub(super) processes: ProcessHost,
    pub(super) process_root: std::path::PathBuf,
    /// Supervisors announce a changed container view with the pod's key.
    pub(super) process_events: mpsc::UnboundedSender<ObjectKey>,
    process_updates: mpsc::UnboundedReceiver<ObjectKey>,
}

impl Runtime {
    pub(super) fn new(
        cluster: Cluster,
        config: KubeletConfig,
        defs: BTreeMap<Kind, Arc<ResourceDef>>,
        commands: mpsc::UnboundedReceiver<Command>,
        process_root: std::path::PathBuf,
        tools: Option<crate::process_runtime::host::HostTools>,
    ) -> Runtime {
        let (process_events, process_updates) = mpsc::unbounded_channel();
        let ips = if config.processes.is_some() {
            PodIps::starting_in(process_address_block())
        } else {
            PodIps::default()
        };
        Runtime {
            processes: ProcessHost {
                tools: tools.map(Arc::new),
                ..ProcessHost::default()
            },
            process_root,
            process_events,
            process_updates,
            cluster,
            config,
            informers: defs
                .into_iter()
                .map(|(kind, def)| (kind, Informer::new(def)))
                .collect(),
            streams: SelectAll::new(),
            commands,
            dirty: BTreeSet::new(),
            timers: BTreeMap::new(),
            timer_index: HashMap::new(),
            timer_seq: 0,
            ips,
            unready: HashSet::new(),
            deletion_seen: HashMap::new(),
            backoffs: HashMap::new(),
            creating_until: HashMap::new(),
            probe_due: HashMap::new(),
            pods_by_node: HashMap::new(),
            pending_pods: BTreeSet::new(),
            pods_by_owner: HashMap::new(),
            workloads_by_uid: HashMap::new(),
            set_owners: HashMap::new(),
        }
    }

    /// The loop: until shutdown (or every control handle dropped).
    pub(super) async fn run(mut self) {
        for kind in Kind::ALL {
            self.start_watch(kind);
        }
        loop {
            self.drain();
            let next_timer = self.timers.keys().next().map(|(at, _)| *at);
            let more_work = !self.dirty.is_empty() && self.synced();
            tokio::select! {
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => return,
                    Some(command) => self.handle_command(command),
                },
                Some((kind, event)) = self.streams.next() => {
                    self.on_event(kind, event);
                    // Take whatever else is ready before deciding anything.
                    while let Some(Some((kind, event))) = self.streams.next().now_or_never() {
                        self.on_event(kind, event);
                    }
                }
                Some(key) = self.process_updates.recv() => {
                    self.mark(Work::Pod(key));
                    while let Ok(key) = self.process_updates.try_recv() {
                        self.mark(Work::Pod(key));
                    }
                }
                _ = sleep_until(next_timer) => self.fire_timers(),
                _ = std::future::ready(()), if more_work => {}
            }
        }
    }

    pub(super) fn informer(&self, kind: Kind) -> &Informer {
        self.informers
            .get(&kind)
            .expect("an informer is created for every kind at start")
    }

    fn informer_mut(&mut self, kind: Kind) -> &mut Informer {
        self.informers
            .get_mut(&kind)
            .expect("an informer is created for every kind at start")
    }

    pub(super) fn cached(&self, kind: Kind, key: &ObjectKey) -> Option<Value> {
        self.informer(kind).get(key).cloned()
    }

    fn synced(&self) -> bool {
        self.informers.values().all(Informer::is_synced)
    }

    pub(super) fn clock(&self) -> SimClock {
        SimClock {
            now: jiff::Timestamp::now(),
            time_scale: self.config.time_scale,
        }
    }

    fn start_watch(&mut self, kind: Kind) {
        let def = self.informer(kind).def.clone();
        // A streaming list, as kube's watcher does: initial events, then the end bookmark.
        let options = WatchOptions {
            send_initial_events: true,
            allow_bookmarks: true,
            resource_version_match: Some("NotOlderThan".into()),
            ..WatchOptions::default()
        };
        match self.cluster.watch(def, None, &options) {
            Ok(stream) => {
                self.informer_mut(kind).begin_resync();
                let ended = futures::stream::once(async move { (kind, None) });
                self.streams
                    .push(stream.map(move |e| (kind, Some(e))).chain(ended).boxed());
            }
            Err(error) => {
                tracing::warn!(
                    ?kind,
                    error = &error as &dyn std::error::Error,
                    "kubelet failed to start a watch"
                );
                self.schedule_at(Instant::now() + RETRY, Work::Watch(kind));
            }
        }
    }

    fn on_event(&mut self, kind: Kind, event: Option<WatchEvent>) {
        let Some(event) = event else {
            // The watch ended (410 Expired): list and watch again.
            self.start_watch(kind);
            return;
        };
        if event.event_type == "ERROR" {
            tracing::debug!(?kind, status = %event.object, "kubelet watch error; restarting");
            return;
        }
        let changes = self.informer_mut(kind).apply(event);
        for change in changes {
            self.observe(kind, change);
        }
    }

    pub(super) fn mark(&mut self, work: Work) {
        self.dirty.insert(work);
    }

    fn mark_pending_pods(&mut self) {
        let pending: Vec<ObjectKey> = self.pending_pods.iter().cloned().collect();
        for key in pending {
            self.mark(Work::Pod(key));
        }
    }

    /// Updates the indexes for a changed copy and marks the work it affects.
    fn observe(&mut self, kind: Kind, change: Change) {
        let Change { key, old, new } = change;
        match kind {
            Kind::Node => {
                for pod in self
                    .pods_by_node
                    .get(&key.name)
                    .cloned()
                    .unwrap_or_default()
                {
                    self.mark(Work::Pod(pod));
                }
                self.mark_pending_pods();
            }
            Kind::StorageClass => {
                let unbound: Vec<ObjectKey> = self
                    .informer(Kind::Claim)
                    .values()
                    .filter(|c| str_at(c, "/status/phase") != "Bound")
                    .map(ObjectKey::of)
                    .collect();
                for claim in unbound {
                    self.mark(Work::Claim(claim));
                }
                self.mark_pending_pods();
            }
            Kind::Volume => {
                self.mark(Work::Volume(key.name.clone()));
                for volume in old.iter().chain(new.iter()) {
                    let claim = ObjectKey::new(
                        str_at(volume, "/spec/claimRef/namespace"),
                        str_at(volume, "/spec/claimRef/name"),
                    );
                    if !claim.name.is_empty() {
                        self.mark(Work::Claim(claim));
                    }
                }
            }
            Kind::Claim => {
                self.mark(Work::Claim(key.clone()));
                self.mark_pending_pods();
                if old.is_none() || new.is_none() {
                    // A claim appeared or went: StatefulSets of the namespace may wait for it,
                    // volumes bound to it may have to be reclaimed.
                    let sets: Vec<ObjectKey> = self
                        .informer(Kind::StatefulSet)
                        .in_namespace(&key.namespace)
                        .map(ObjectKey::of)
                        .collect();
                    for set in sets {
                        self.mark(Work::StatefulSet(set));
                    }
                    if let Some(gone) = &old {
                        let claim_uid = uid(gone).to_string();
                        let volumes: Vec<String> = self
                            .informer(Kind::Volume)
                            .values()
                            .filter(|v| str_at(v, "/spec/claimRef/uid") == claim_uid)
                            .map(|v| name(v).to_string())
                            .collect();
                        for volume in volumes {
                            self.mark(Work::Volume(volume));
                        }
                    }
                }
            }
            Kind::Pod => self.observe_pod(&key, old.as_ref(), new.as_ref()),
            Kind::ReplicaSet => {
                if let Some(old) = &old {
                    self.set_owners.remove(uid(old));
                }
                if let Some(new) = &new
                    && let Some(owner) = controller_uid(new)
                {
                    self.set_owners
                        .insert(uid(new).to_string(), owner.to_string());
                }
                for owner in old
                    .iter()
                    .chain(new.iter())
                    .filter_map(|s| controller_uid(s))
                {
                    if let Some(work) = self.workloads_by_uid.get(owner).cloned() {
                        self.mark(work);
                    }
                }
            }
            Kind::Deployment | Kind::StatefulSet => {
                let work = if kind == Kind::Deployment {
                    Work::Deployment(key.clone())
                } else {
                    Work::StatefulSet(key.clone())
                };
                if let Some(old) = &old {
                    self.workloads_by_uid.remove(uid(old));
                }
                if let Some(new) = &new {
                    self.workloads_by_uid
                        .insert(uid(new).to_string(), work.clone());
                }
                self.mark(work);
            }
        }
    }

    fn observe_pod(&mut self, key: &ObjectKey, old: Option<&Value>, new: Option<&Value>) {
        if let Some(old) = old {
            let node = str_at(old, "/spec/nodeName");
            if let Some(set) = self.pods_by_node.get_mut(node) {
                set.remove(key);
            }
            self.pending_pods.remove(key);
            if let Some(owner) = controller_uid(old)
                && let Some(set) = self.pods_by_owner.get_mut(owner)
            {
                set.remove(key);
            }
        }
        match new {
            Some(pod) => {
                let node = str_at(pod, "/spec/nodeName");
                if node.is_empty() {
                    if !is_deleting(pod) {
                        self.pending_pods.insert(key.clone());
                    }
                } else {
                    self.pods_by_node
                        .entry(node.to_string())
                        .or_default()
                        .insert(key.clone());
                }
                if let Some(owner) = controller_uid(pod) {
                    self.pods_by_owner
                        .entry(owner.to_string())
                        .or_default()
                        .insert(key.clone());
                }
                let ip = str_at(pod, "/status/podIP");
                if !ip.is_empty() && pod.pointer("/spec/hostNetwork") != Some(&Value::Bool(true)) {
                    self.ips.adopt(uid(pod), ip);
                }
            }
            None => {
                if let Some(old) = old {
                    let pod_uid = uid(old);
                    self.ips.release(pod_uid);
                    self.unready.remove(pod_uid);
                    self.deletion_seen.remove(pod_uid);
                    self.backoffs.remove(pod_uid);
                    self.creating_until.remove(pod_uid);
                    self.probe_due.remove(pod_uid);
                    self.forget_processes(pod_uid);
                }
            }
        }
        self.mark(Work::Pod(key.clone()));
        for owner in old
            .iter()
            .chain(new.iter())
            .filter_map(|p| controller_uid(p))
        {
            // A Deployment's pod is controlled by one of its ReplicaSets.
            let owner = self.set_owners.get(owner).map_or(owner, String::as_str);
            if let Some(work) = self.workloads_by_uid.get(owner).cloned() {
                self.mark(work);
            }
        }
        let left_a_node = old.is_some_and(|o| !str_at(o, "/spec/nodeName").is_empty())
            && new.is_none_or(|n| str_at(n, "/spec/nodeName").is_empty());
        if left_a_node {
            // Room on a node may let a pending pod in.
            self.mark_pending_pods();
        }
    }

    pub(super) fn schedule_at(&mut self, at: Instant, work: Work) {
        if self.timer_index.get(&work).is_some_and(|t| *t <= at) {
            return;
        }
        self.timer_seq += 1;
        self.timers.insert((at, self.timer_seq), work.clone());
        self.timer_index.insert(work, at);
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(entry) = self.timers.first_entry() {
            let at = entry.key().0;
            if at > now {
                break;
            }
            let work = entry.remove();
            if self.timer_index.get(&work) == Some(&at) {
                self.timer_index.remove(&work);
            }
            self.mark(work);
        }
    }

    /// Handles dirty work until none is left (or the pass budget is spent). Waits while a
    /// watch is (re)listing, so no decision sees half a cluster.
    pub(super) fn drain(&mut self) {
        if !self.synced() {
            return;
        }
        for _ in 0..PASS_BUDGET {
            let Some(work) = self.dirty.pop_first() else {
                return;
            };
            let result = match &work {
                Work::Watch(kind) => {
                    self.start_watch(*kind);
                    Ok(())
                }
                Work::Volume(volume) => self.sync_volume(volume),
                Work::Claim(key) => self.sync_claim(key),
                Work::Pod(key) => self.sync_pod(key),
                Work::Deployment(key) => self.sync_deployment(key),
                Work::StatefulSet(key) => self.sync_statefulset(key),
            };
            if let Err(error) = result {
                tracing::warn!(
                    ?work,
                    error = &error as &dyn std::error::Error,
                    "kubelet work failed; retrying"
                );
                self.schedule_at(Instant::now() + RETRY, work);
            }
        }
    }

    fn work_for(kind: Kind, key: &ObjectKey) -> Option<Work> {
        match kind {
            Kind::Pod => Some(Work::Pod(key.clone())),
            Kind::Claim => Some(Work::Claim(key.clone())),
            Kind::Volume => Some(Work::Volume(key.name.clone())),
            Kind::Deployment => Some(Work::Deployment(key.clone())),
            Kind::StatefulSet => Some(Work::StatefulSet(key.clone())),
            Kind::Node | Kind::StorageClass | Kind::ReplicaSet => None,
        }
    }

    fn absorb(&mut self, kind: Kind, object: Value) {
        if let Some(change) = self.informer_mut(kind).upsert(object) {
            self.observe(kind, change);
        }
    }

    /// Re-reads one object after a conflict or a delete, and marks its work.
    pub(super) fn refresh(&mut self, kind: Kind, key: &ObjectKey) {
        let def = self.informer(kind).def.clone();
        let namespace = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
        match self
            .cluster
            .get(&def, namespace, &key.name, Subresource::Main)
        {
            Ok(object) => self.absorb(kind, object),
            Err(ApiError::NotFound { .. }) => {
                if let Some(change) = self.informer_mut(kind).forget(key) {
                    self.observe(kind, change);
                }
            }
            Err(error) => tracing::warn!(
                ?kind,
                object = %key.name,
                error = &error as &dyn std::error::Error,
                "kubelet failed to re-read an object"
            ),
        }
        if let Some(work) = Self::work_for(kind, key) {
            self.mark(work);
        }
    }

    fn options(manager: &str) -> WriteOptions {
        WriteOptions {
            field_manager: Some(manager.to_string()),
            ..WriteOptions::default()
        }
    }

    fn describe(kind: Kind, key: &ObjectKey) -> String {
        let (_, _, plural) = kind.resource();
        if key.namespace.is_empty() {
            format!("{plural}/{}", key.name)
        } else {
            format!("{plural} {}/{}", key.namespace, key.name)
        }
    }

    /// PUT of an object (main resource or `/status`), sent with the cached resourceVersion.
    /// `Ok(false)` when it lost a race (conflict or gone): the copy is refreshed and its work
    /// marked.
    pub(super) fn update(
        &mut self,
        kind: Kind,
        body: Value,
        subresource: Subresource,
        manager: &str,
    ) -> Result<bool, SyncError> {
        let key = ObjectKey::of(&body);
        let def = self.informer(kind).def.clone();
        let namespace = (!key.namespace.is_empty()).then_some(key.namespace.clone());
        match self.cluster.update(
            &def,
            namespace.as_deref(),
            &key.name,
            subresource,
            body,
            &Self::options(manager),
        ) {
            Ok(written) => {
                self.absorb(kind, written.object);
                Ok(true)
            }
            Err(ApiError::Conflict { .. } | ApiError::NotFound { .. }) => {
                self.refresh(kind, &key);
                Ok(false)
            }
            Err(source) => Err(SyncError::Write {
                action: if subresource == Subresource::Status {
                    "update the status of"
                } else {
                    "update"
                },
                object: Self::describe(kind, &key),
                source: Box::new(source),
            }),
        }
    }

    /// Replaces the status of a cached object.
    pub(super) fn write_status(
        &mut self,
        kind: Kind,
        object: &Value,
        status: Value,
        manager: &str,
    ) -> Result<bool, SyncError> {
        let mut body = object.clone();
        body["status"] = status;
        self.update(kind, body, Subresource::Status, manager)
    }

    /// POST; an object that already exists is re-read instead.
    pub(super) fn create(
        &mut self,
        kind: Kind,
        namespace: &str,
        body: Value,
        manager: &str,
    ) -> Result<(), SyncError> {
        let def = self.informer(kind).def.clone();
        let scope = (!namespace.is_empty()).then_some(namespace);
        match self
            .cluster
            .create(&def, scope, body.clone(), &Self::options(manager))
        {
            Ok(written) => {
                self.absorb(kind, written.object);
                Ok(())
            }
            Err(ApiError::AlreadyExists { .. }) => {
                self.refresh(kind, &ObjectKey::new(namespace, name(&body)));
                Ok(())
            }
            Err(source) => Err(SyncError::Write {
                action: "create",
                object: format!(
                    "{} {}",
                    kind.resource().2,
                    match name(&body) {
                        "" => str_at(&body, "/metadata/generateName"),
                        n => n,
                    }
                ),
                source: Box::new(source),
            }),
        }
    }

    /// DELETE; the copy is re-read afterwards (the object may be gone or only marked).
    pub(super) fn delete(
        &mut self,
        kind: Kind,
        key: &ObjectKey,
        options: &DeleteOptions,
    ) -> Result<(), SyncError> {
        let def = self.informer(kind).def.clone();
        let scope = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
        match self.cluster.delete(&def, scope, &key.name, options) {
            Ok(_) | Err(ApiError::NotFound { .. } | ApiError::Conflict { .. }) => {
                self.refresh(kind, key);
                Ok(())
            }
            Err(source) => Err(SyncError::Write {
                action: "delete",
                object: Self::describe(kind, key),
                source: Box::new(source),
            }),
        }
    }

    /// The cached object, or a fresh read when the copy does not have it yet.
    pub(super) fn lookup(&mut self, kind: Kind, key: &ObjectKey) -> Option<Value> {
        if let Some(object) = self.cached(kind, key) {
            return Some(object);
        }
        self.refresh(kind, key);
        self.cached(kind, key)
    }

    /// Pods whose controller is `owner_uid`.
    pub(super) fn pods_of(&self, owner_uid: &str) -> Vec<Value> {
        let pods = self.informer(Kind::Pod);
        self.pods_by_owner
            .get(owner_uid)
            .map(|keys| keys.iter().filter_map(|k| pods.get(k).cloned()).collect())
            .unwrap_or_default()
    }
}

/// The second octet of the addresses pods get when their processes run for real: chosen at
/// random (1..=254), so that kubesims running at the same time on one machine (parallel test
/// processes) are unlikely to hand out the same address and make two processes bind the same
/// `<ip>:<port>`. Simulated-only kubelets keep the predictable `127.0.0.x`.
fn process_address_block() -> u8 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    u8::try_from(hasher.finish() % 254).map_or(1, |octet| octet + 1)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
