//! The in-process Kubernetes API: [`Cluster`] runs every request through the same pipeline the
//! HTTP layer uses (resolve resource → check → semantics → store → garbage collection → notify
//! watchers), with JSON values in and out and [`ApiError`] (a `Status`) on failure.
//!
//! This is the API a simulated kubelet or any in-process controller uses without HTTP (see the
//! crate docs). It owns the lock around the pure [`Store`] and the watch notification channel;
//! it must not know about HTTP, headers or content types.

mod crds;
mod delete;
mod persistence;
mod read;
mod watch;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch as notify;

use crate::error::{ApiError, Subject};
use crate::resources::{Origin, Registry, Representation, ResourceDef};
use crate::semantics::crd_schema::CompiledCrd;
use crate::semantics::event_conversion;
use crate::semantics::finalizers::Propagation;
use crate::semantics::merge_schema::MergeSchema;
use crate::store::{Store, TablePolicy};

pub use persistence::Snapshot;
pub use watch::{WatchEvent, WatchStream};

/// Options of a list (rust-ecosystem.md §3.1 `Api::list`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    /// `NotOlderThan` or `Exact`.
    pub resource_version_match: Option<String>,
}

/// Options of a watch (rust-ecosystem.md §3.1 watcher rows).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchOptions {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub allow_bookmarks: bool,
    pub send_initial_events: bool,
    /// The stream ends after this long (`timeoutSeconds`).
    pub timeout: Option<Duration>,
}

/// Where in a write the API server runs admission control (`crate::admission`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmissionStage {
    /// After the request is decoded (patched, applied) and before validation: the object may
    /// be replaced.
    Mutating,
    /// After validation, just before the write is persisted: the object may only be refused.
    Validating,
}

/// The signature of an [`AdmissionHook`]: the stage, the new object (`None` on delete) and the
/// stored object in its served form (`None` on create).
pub type AdmissionFn = dyn Fn(AdmissionStage, Option<&mut Value>, Option<&Value>) -> Result<(), ApiError>
    + Send
    + Sync;

/// A synchronous admission callback the pipeline calls under its lock at both stages. The
/// HTTP layer uses it to run webhooks: it calls them between dry runs and replays their
/// verdicts through this hook in the persisting run (`crate::admission`). Writes without a
/// hook (in-process callers) are not admitted.
#[derive(Clone)]
pub struct AdmissionHook(pub Arc<AdmissionFn>);

impl AdmissionHook {
    pub(crate) fn call(
        &self,
        stage: AdmissionStage,
        object: Option<&mut Value>,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        (self.0)(stage, object, old)
    }
}

impl std::fmt::Debug for AdmissionHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdmissionHook")
    }
}

impl PartialEq for AdmissionHook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for AdmissionHook {}

/// Options of create/update/patch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// `dryRun=All`: run everything, persist nothing.
    pub dry_run: bool,
    pub field_manager: Option<String>,
    /// `fieldValidation`: `Strict`, `Warn` or `Ignore`.
    pub field_validation: Option<String>,
    /// `force` for server-side apply.
    pub force: bool,
    /// Admission control at the API server's two stages (none for in-process writes).
    pub admission: Option<AdmissionHook>,
}

/// DeleteOptions (body of DELETE) plus `dryRun`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    pub propagation: Option<Propagation>,
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
    pub dry_run: bool,
    /// Admission control of the delete (none for in-process writes).
    pub admission: Option<AdmissionHook>,
}

/// The four PATCH content types (rust-ecosystem.md §3.1 `patch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
    Apply,
}

/// A PATCH body with its content type.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    pub patch_type: PatchType,
    pub body: Value,
}

/// Which part of an object a write addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    Main,
    Status,
    Scale,
}

/// The result of a write: the object, whether the write created it (201 vs 200), and the
/// warnings to send (`Warning: 299` headers, e.g. pruned unknown fields).
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub object: Value,
    pub created: bool,
    pub warnings: Vec<String>,
}

/// Settings of a cluster.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Watch events kept per resource before older watches get 410 Expired.
    pub watch_history: usize,
    /// Seed of uids and generated names.
    pub seed: u64,
    /// How often an idle watch with `allowWatchBookmarks` gets a BOOKMARK.
    pub bookmark_interval: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            watch_history: 10_000,
            seed: 0x6b75_6265_7369_6d00,
            bookmark_interval: Duration::from_secs(30),
        }
    }
}

pub(crate) struct State {
    pub(crate) store: Store,
    pub(crate) registry: Registry,
    /// Compiled CRDs by CRD name.
    pub(crate) crds: HashMap<String, crds::RegisteredCrd>,
    /// Merge schemas by (group, version, kind), built on first use.
    pub(crate) merge_schemas: HashMap<(String, String, String), Arc<MergeSchema>>,
}

impl State {
    /// The compiled CRD behind a custom resource, `None` for built-ins.
    pub(crate) fn compiled_crd(&self, def: &ResourceDef) -> Option<Arc<CompiledCrd>> {
        match &def.origin {
            Origin::Crd { crd_name } => self.crds.get(crd_name).map(|r| r.compiled.clone()),
            Origin::BuiltIn => None,
        }
    }

    /// The list/map merge knowledge of `def`'s kind at its version.
    pub(crate) fn merge_schema(&mut self, def: &ResourceDef) -> Arc<MergeSchema> {
        let key = (def.group.clone(), def.version.clone(), def.kind.clone());
        if let Some(schema) = self.merge_schemas.get(&key) {
            return schema.clone();
        }
        let schema = match self.compiled_crd(def) {
            Some(crd) => crd
                .version(&def.version)
                .map(|v| MergeSchema::from_openapi(v.schema_json()))
                .unwrap_or_else(|| MergeSchema::from_openapi(&Value::Null)),
            None => MergeSchema::for_builtin(&def.group, &def.version, &def.kind),
        };
        let schema = Arc::new(schema);
        self.merge_schemas.insert(key, schema.clone());
        schema
    }
}

struct Inner {
    state: Mutex<State>,
    revision: notify::Sender<u64>,
    config: ClusterConfig,
}

/// A simulated cluster: the store, the registry of resources and the watch channel. Cheap to
/// clone (one shared instance); safe to use from many tasks.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

impl Cluster {
    /// An empty cluster serving the built-in resources (no bootstrap objects; see
    /// [`crate::bootstrap`]).
    pub fn new(config: ClusterConfig) -> Cluster {
        let registry = Registry::with_builtins();
        let mut store = Store::new(config.watch_history, config.seed);
        for (group, versions) in registry.group_versions() {
            for version in versions {
                for def in registry.resources_of(&group, &version) {
                    store.ensure_table(
                        &def.table,
                        TablePolicy {
                            status_subresource: def.status_subresource,
                        },
                    );
                }
            }
        }
        let (revision, _) = notify::channel(store.revision());
        Cluster {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    store,
                    registry,
                    crds: HashMap::new(),
                    merge_schemas: HashMap::new(),
                }),
                revision,
                config,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the store half-written in a way later
        // requests could not read (every write is a single map insert), so keep serving.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes watchers after a write.
    pub(crate) fn notify(&self, revision: u64) {
        self.inner.revision.send_replace(revision);
    }

    pub(crate) fn subscribe(&self) -> notify::Receiver<u64> {
        self.inner.revision.subscribe()
    }

    pub(crate) fn config(&self) -> &ClusterConfig {
        &self.inner.config
    }

    /// The current global resourceVersion.
    pub fn revision(&self) -> u64 {
        self.lock().store.revision()
    }

    /// The resource served at group/version/plural, or 404 "the server could not find the
    /// requested resource".
    pub fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Result<Arc<ResourceDef>, ApiError> {
        self.lock()
            .registry
            .get(group, version, plural)
            .cloned()
            .ok_or(ApiError::UnknownResource)
    }

    /// A snapshot of the registry (discovery reads it).
    pub fn registry(&self) -> Registry {
        self.lock().registry.clone()
    }
}

/// The current time as the API server writes timestamps (RFC 3339, seconds, UTC).
pub(crate) fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// RFC 3339 with second precision, as `metav1.Time` serialises.
pub fn format_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The object as served at `def`'s group/version (stored objects keep the storage version and,
/// for events.k8s.io, the core/v1 form).
pub(crate) fn present(def: &ResourceDef, stored: &Value) -> Value {
    match def.representation {
        Representation::EventsV1 => event_conversion::core_to_events_v1(stored),
        Representation::Native => {
            let mut object = stored.clone();
            if let Some(map) = object.as_object_mut() {
                let api_version = def.api_version();
                if map.get("apiVersion").and_then(Value::as_str) != Some(api_version.as_str()) {
                    map.insert("apiVersion".into(), Value::String(api_version));
                }
                if !map.contains_key("kind") {
                    map.insert("kind".into(), Value::String(def.kind.clone()));
                }
            }
            object
        }
    }
}

/// [`present`] plus the CRD's schema defaults, which the API server applies on every read of a
/// custom resource (a default added to the schema later shows up without a write).
pub(crate) fn present_read(def: &ResourceDef, crd: Option<&CompiledCrd>, stored: &Value) -> Value {
    let mut object = present(def, stored);
    if let Some(crd) = crd {
        crd.apply_defaults(&def.version, &mut object);
    }
    object
}

/// The object as stored, from the representation a client sent to `def`.
pub(crate) fn absorb(def: &ResourceDef, incoming: Value) -> Value {
    match def.representation {
        Representation::EventsV1 => event_conversion::events_v1_to_core(&incoming),
        Representation::Native => {
            let mut object = incoming;
            if let Some(map) = object.as_object_mut() {
                map.insert(
                    "apiVersion".into(),
                    Value::String(crate::resources::api_version(
                        &def.group,
                        &def.storage_version,
                    )),
                );
                map.insert("kind".into(), Value::String(def.kind.clone()));
            }
            object
        }
    }
}

/// The subject of errors about `name` in `def`.
pub(crate) fn subject(def: &ResourceDef, name: &str) -> Subject {
    Subject::new(&def.group, &def.plural, name)
}

/// The namespace a request addresses: required for namespaced resources, ignored otherwise.
pub(crate) fn scope_namespace(def: &ResourceDef, namespace: Option<&str>) -> String {
    if def.namespaced {
        namespace.unwrap_or_default().to_string()
    } else {
        String::new()
    }
}
