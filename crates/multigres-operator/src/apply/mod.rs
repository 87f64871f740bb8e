//! The only writer of the objects the operator owns (style.md §3 steps 7–9).
//!
//! Every write style and field manager is the Go operator's (spec-controllers.md §1.4): forced
//! server-side apply for children and status, plain create for pool pods and data PVCs, JSON
//! merge patches for annotations, labels, PVC sizes and ownerRefs, and deletes for pruning.
//! Before each apply the desired object is compared with the live one from the cache
//! ([`compare::apply_drift`]); nothing is sent when nothing would change, which is what makes a
//! pass over an unchanged world write nothing (fix 12).

pub mod compare;
pub mod in_flight;

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use compare::{Drift, Subresource};
use in_flight::Applied;
pub use in_flight::InFlight;

/// SSA field manager of children and of the status of MultigresCluster, TableGroup, Cell and
/// TopoServer.
pub const MANAGER: &str = "multigres-operator";
/// SSA field manager of the Shard's status write. The guards' `StorageClassValid` goes out with
/// the status (Go writes it with managers of its own, `multigres-resource-handler-guard` and
/// `multigres-operator-guard`; their entries on objects Go wrote are left as they are).
pub const SHARD_STATUS_MANAGER: &str = "multigres-resource-handler";

/// What an apply does with an object that holds every desired field but carries no apply entry
/// of our field manager (someone else created or last wrote it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Foreign {
    /// Apply, so that our manager owns the fields and a field we stop sending is removed.
    Own,
    /// Leave it: nothing would change but `managedFields`.
    Adopt,
}

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The live object already matched; no request was sent.
    Unchanged,
    /// A request changed (or created) the object.
    Written,
}

impl Outcome {
    pub fn written(self) -> bool {
        self == Outcome::Written
    }
}

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("failed to apply {kind} {namespace}/{name}")]
    Apply {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("failed to write the status of {kind} {namespace}/{name}")]
    Status {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("failed to create {kind} {namespace}/{name}")]
    Create {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("failed to patch {kind} {namespace}/{name}")]
    Patch {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("failed to delete {kind} {namespace}/{name}")]
    Delete {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("failed to read {kind} {namespace}/{name}")]
    Read {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{kind} {name} has no name or namespace, so it cannot be written")]
    Unnamed { kind: String, name: String },
    /// The object a pass creates children for is gone from the API server (or being
    /// deleted) though the cache still holds it (`controllers/owner_liveness.rs`).
    #[error("{kind} {namespace}/{name} is gone or being deleted, so nothing is created for it")]
    OwnerGone {
        kind: String,
        namespace: String,
        name: String,
    },
    /// A fresh read found nothing: the object was deleted since the cache showed it.
    #[error("{kind} {namespace}/{name} no longer exists")]
    Missing {
        kind: String,
        namespace: String,
        name: String,
    },
    #[error("{kind} {name} does not serialize")]
    Serialize {
        kind: String,
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

impl ApplyError {
    /// The API server's answer, when the request reached it.
    pub fn api_error(&self) -> Option<&kube::Error> {
        match self {
            ApplyError::Apply { source, .. }
            | ApplyError::Status { source, .. }
            | ApplyError::Create { source, .. }
            | ApplyError::Patch { source, .. }
            | ApplyError::Delete { source, .. }
            | ApplyError::Read { source, .. } => Some(source),
            ApplyError::Unnamed { .. }
            | ApplyError::Serialize { .. }
            | ApplyError::OwnerGone { .. }
            | ApplyError::Missing { .. } => None,
        }
    }

    /// A conflict (409): someone else wrote in between; retry soon.
    pub fn is_conflict(&self) -> bool {
        matches!(self.api_error(), Some(kube::Error::Api(status)) if status.code == 409)
    }

    /// The pass's object (or its namespace) is gone: its owner refused a create, its status
    /// write or a create found nothing to write to (404), or a create or apply was refused
    /// because the namespace is being deleted. Such a pass ends quietly; the deletion reaching
    /// the cache ends the object's passes.
    pub fn is_gone(&self) -> bool {
        match self {
            ApplyError::OwnerGone { .. } | ApplyError::Missing { .. } => true,
            ApplyError::Status { source, .. } => is_not_found(source),
            ApplyError::Create { source, .. } => {
                is_not_found(source) || is_namespace_terminating(source)
            }
            ApplyError::Apply { source, .. } => is_namespace_terminating(source),
            _ => false,
        }
    }
}

/// Whether a kube error is the API server's 404.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// Whether a write was refused because its namespace is being deleted (403; the API server's
/// message, which kube's error keeps while it drops the status causes).
fn is_namespace_terminating(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status)
        if status.code == 403 && status.message.contains("because it is being terminated"))
}

fn is_already_exists(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409 && status.reason == "AlreadyExists")
}

/// The writer: a client plus the write rules.
#[derive(Clone)]
pub struct Apply {
    client: Client,
    /// The status bodies this process last wrote, per object and manager, with the
    /// resourceVersion the object had when it was written.
    written_status: Arc<Mutex<HashMap<StatusKey, WrittenStatus>>>,
    /// The applies the watches have not delivered yet (shared with the cache feeds).
    in_flight: InFlight,
}

/// What [`InFlight`] records as the manager of a plain create (it has no field manager).
const CREATE: &str = "<create>";

/// kind, namespace, name, field manager.
type StatusKey = (String, String, String, String);

/// A status write: the object's resourceVersion it was compared with, and a hash of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
struct WrittenStatus {
    resource_version: Option<String>,
    body: u64,
}

/// The object `name` of `api`, read by a list with a field selector instead of a GET: the
/// operator's role may only list and watch most kinds (install/rbac.rs keeps it least
/// privilege), and `metadata.name` selects on every kind, custom resources included.
pub(crate) async fn list_by_name<K>(api: &Api<K>, name: &str) -> Result<Option<K>, kube::Error>
where
    K: Clone + DeserializeOwned + Debug,
{
    let mut found = api
        .list(&ListParams::default().fields(&format!("metadata.name={name}")))
        .await?;
    Ok(found.items.pop())
}

fn body_hash(body: &Value) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.to_string().hash(&mut hasher);
    hasher.finish()
}

fn identity<K: Resource<DynamicType = ()>>(object: &K) -> Result<(String, String), ApplyError> {
    let meta = object.meta();
    match (&meta.name, &meta.namespace) {
        (Some(name), Some(namespace)) => Ok((name.clone(), namespace.clone())),
        _ => Err(ApplyError::Unnamed {
            kind: K::kind(&()).into_owned(),
            name: meta.name.clone().unwrap_or_default(),
        }),
    }
}

fn to_value<K: Resource<DynamicType = ()> + Serialize>(object: &K) -> Result<Value, ApplyError> {
    serde_json::to_value(object).map_err(|source| ApplyError::Serialize {
        kind: K::kind(&()).into_owned(),
        name: object.meta().name.clone().unwrap_or_default(),
        source,
    })
}

impl Apply {
    pub fn new(client: Client) -> Self {
        Apply {
            client,
            written_status: Arc::default(),
            in_flight: InFlight::default(),
        }
    }

    /// The record of applies in flight, for the cache feeds to end their waits.
    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn written_status(&self) -> std::sync::MutexGuard<'_, HashMap<StatusKey, WrittenStatus>> {
        self.written_status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Server-side applies `desired` (forced, with `manager`) unless `live` already matches.
    pub async fn apply<K>(
        &self,
        desired: &K,
        live: Option<&K>,
        manager: &str,
    ) -> Result<Outcome, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + Serialize
            + DeserializeOwned
            + Debug,
    {
        self.apply_with(desired, live, manager, Foreign::Own).await
    }

    /// [`apply`](Self::apply) for an object the Go operator writes with a plain Create (the
    /// pgBackRest Secrets, spec-controllers.md §1.4): one that already holds every desired field
    /// is left as it is even when our field manager has no entry on it. Taking ownership of
    /// such an object would be a write that changes nothing but `managedFields`, the first
    /// thing our operator would do after replacing the Go operator (docs/compatibility.md,
    /// "Swapping from the Go operator").
    pub async fn apply_adopting<K>(
        &self,
        desired: &K,
        live: Option<&K>,
        manager: &str,
    ) -> Result<Outcome, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + Serialize
            + DeserializeOwned
            + Debug,
    {
        self.apply_with(desired, live, manager, Foreign::Adopt)
            .await
    }

    async fn apply_with<K>(
        &self,
        desired: &K,
        live: Option<&K>,
        manager: &str,
        foreign: Foreign,
    ) -> Result<Outcome, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + Serialize
            + DeserializeOwned
            + Debug,
    {
        let (name, namespace) = identity(desired)?;
        let mut body = to_value(desired)?;
        // The body of an apply names its type; k8s-openapi types serialize it already, custom
        // resources too, but be explicit for any that do not.
        body["apiVersion"] = json!(K::api_version(&()));
        body["kind"] = json!(K::kind(&()));
        // Status goes through its own subresource; the builders' zero status is not a wish.
        if let Some(map) = body.as_object_mut() {
            map.remove("status");
        }
        let mut live = live.map(to_value).transpose()?;
        if let Some(live) = live.as_mut() {
            crate::cache::expand_managed_fields(live);
        }
        match compare::apply_drift(&body, live.as_ref(), manager, Subresource::Main) {
            None => return Ok(Outcome::Unchanged),
            Some(Drift::NotOwned) if foreign == Foreign::Adopt => {
                tracing::debug!(kind = %K::kind(&()), %namespace, %name, "adopted as it is");
                return Ok(Outcome::Unchanged);
            }
            Some(drift) => {
                tracing::debug!(kind = %K::kind(&()), %namespace, %name, ?drift, "applying");
            }
        }
        let kind = K::kind(&());
        let applied = Applied {
            kind: &kind,
            namespace: &namespace,
            name: &name,
            manager,
            base: live
                .as_ref()
                .and_then(|live| live.pointer("/metadata/resourceVersion"))
                .and_then(Value::as_str),
            body: body_hash(&body),
        };
        if self.in_flight.is_repeat(&applied) {
            tracing::debug!(%kind, %namespace, %name, "apply already sent; its watch event is due");
            return Ok(Outcome::Unchanged);
        }
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        let written = api
            .patch(
                &name,
                &PatchParams::apply(manager).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|source| ApplyError::Apply {
                kind: kind.clone().into_owned(),
                namespace: namespace.clone(),
                name: name.clone(),
                source: Box::new(source),
            })?;
        self.in_flight
            .record(&applied, written.meta().resource_version.as_deref());
        Ok(Outcome::Written)
    }

    /// Server-side applies `status` to the status subresource of `live` (forced, with
    /// `manager`) unless it already holds it. The body is the minimal object of §1.4:
    /// apiVersion, kind, name, namespace and `status`.
    pub async fn apply_status<K>(
        &self,
        live: &K,
        status: Value,
        manager: &str,
    ) -> Result<Outcome, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + Serialize
            + DeserializeOwned
            + Debug,
    {
        let (name, namespace) = identity(live)?;
        let body = json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "metadata": {"name": name, "namespace": namespace},
            "status": status,
        });
        let mut live_value = to_value(live)?;
        crate::cache::expand_managed_fields(&mut live_value);
        match compare::apply_drift(
            &json!({"status": body["status"]}),
            Some(&live_value),
            manager,
            Subresource::Status,
        ) {
            None => return Ok(Outcome::Unchanged),
            Some(drift) => {
                tracing::debug!(kind = %K::kind(&()), %namespace, %name, ?drift, "applying status");
            }
        }
        // A pass that starts before the watch has brought back this process's last status
        // write compares with the object as it was before that write: the same body written on
        // top of the same version is that write again, and is not sent twice.
        let key: StatusKey = (
            K::kind(&()).into_owned(),
            namespace.clone(),
            name.clone(),
            manager.to_owned(),
        );
        let this_write = WrittenStatus {
            resource_version: live.meta().resource_version.clone(),
            body: body_hash(&body["status"]),
        };
        if self.written_status().get(&key) == Some(&this_write) {
            tracing::debug!(kind = %K::kind(&()), %namespace, %name, "status already written");
            return Ok(Outcome::Unchanged);
        }
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        api.patch_status(
            &name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|source| ApplyError::Status {
            kind: K::kind(&()).into_owned(),
            namespace: namespace.clone(),
            name: name.clone(),
            source: Box::new(source),
        })?;
        self.written_status().insert(key, this_write);
        Ok(Outcome::Written)
    }

    /// Creates `object`, which the cache does not hold, unless it exists (`AlreadyExists` is
    /// success: another pass or a stale cache got there first). Like an apply, a create the
    /// watch has not delivered yet is not sent again ([`InFlight`]): a pass that runs before
    /// the watch catches up finds the object missing once more, and the same object built on
    /// the same missing base is that create again.
    pub async fn create<K>(&self, object: &K) -> Result<Outcome, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + Serialize
            + DeserializeOwned
            + Debug,
    {
        let (name, namespace) = identity(object)?;
        let kind = K::kind(&());
        let created = Applied {
            kind: &kind,
            namespace: &namespace,
            name: &name,
            manager: CREATE,
            base: None,
            body: body_hash(&to_value(object)?),
        };
        if self.in_flight.is_repeat(&created) {
            tracing::debug!(%kind, %namespace, %name, "create already sent; its watch event is due");
            return Ok(Outcome::Unchanged);
        }
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        match api.create(&PostParams::default(), object).await {
            Ok(written) => {
                self.in_flight
                    .record(&created, written.meta().resource_version.as_deref());
                Ok(Outcome::Written)
            }
            Err(error) if is_already_exists(&error) => Ok(Outcome::Unchanged),
            Err(source) => Err(ApplyError::Create {
                kind: K::kind(&()).into_owned(),
                namespace,
                name,
                source: Box::new(source),
            }),
        }
    }

    /// A JSON merge patch of the main resource (default field manager, as Go's `MergeFrom`).
    pub async fn merge_patch<K>(
        &self,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<Outcome, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|source| ApplyError::Patch {
                kind: K::kind(&()).into_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                source: Box::new(source),
            })?;
        Ok(Outcome::Written)
    }

    /// A JSON merge patch of `live` (default field manager) that is not sent again while the
    /// watch has not delivered the version it wrote: a pass that starts before then still sees
    /// `live` without the change and would send the same patch (in_flight.rs).
    pub async fn merge_patch_once<K>(&self, live: &K, patch: &Value) -> Result<Outcome, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let (name, namespace) = identity(live)?;
        let kind = K::kind(&());
        let applied = Applied {
            kind: &kind,
            namespace: &namespace,
            name: &name,
            // Not a field manager of ours: only tells this write from the applies of the object.
            manager: "merge-patch",
            base: live.meta().resource_version.as_deref(),
            body: body_hash(patch),
        };
        if self.in_flight.is_repeat(&applied) {
            tracing::debug!(%kind, %namespace, %name, "patch already sent; its watch event is due");
            return Ok(Outcome::Unchanged);
        }
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        let written = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|source| ApplyError::Patch {
                kind: kind.clone().into_owned(),
                namespace: namespace.clone(),
                name: name.clone(),
                source: Box::new(source),
            })?;
        self.in_flight
            .record(&applied, written.meta().resource_version.as_deref());
        Ok(Outcome::Written)
    }

    /// A JSON merge patch of the status subresource; the object as the patch left it.
    pub async fn merge_patch_status<K>(
        &self,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<K, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|source| ApplyError::Status {
                kind: K::kind(&()).into_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                source: Box::new(source),
            })
    }

    /// The object as the API server has it now, for the rare write that must not be based on a
    /// cache the watch has not yet brought up to this process's own last write.
    pub async fn read<K>(&self, namespace: &str, name: &str) -> Result<K, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        let read_error = |source| ApplyError::Read {
            kind: K::kind(&()).into_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source: Box::new(source),
        };
        list_by_name(&api, name)
            .await
            .map_err(read_error)?
            .ok_or_else(|| ApplyError::Missing {
                kind: K::kind(&()).into_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            })
    }

    /// Deletes an object in the background (GC removes its dependents); already gone is fine.
    pub async fn delete<K>(&self, namespace: &str, name: &str) -> Result<Outcome, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => Ok(Outcome::Written),
            Err(error) if is_not_found(&error) => Ok(Outcome::Unchanged),
            Err(source) => Err(ApplyError::Delete {
                kind: K::kind(&()).into_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                source: Box::new(source),
            }),
        }
    }

    /// Deletes the objects of `existing` that `owner_uid` controls and whose name is not in
    /// `keep` (style.md §3 step 8). Never call it for PVCs: their policy decides.
    pub async fn prune<K>(
        &self,
        existing: &[std::sync::Arc<K>],
        owner_uid: &str,
        keep: &[String],
    ) -> Result<Vec<String>, ApplyError>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let mut deleted = Vec::new();
        for object in existing {
            let controlled = object
                .owner_references()
                .iter()
                .any(|owner| owner.controller == Some(true) && owner.uid == owner_uid);
            let name = object.name_any();
            if !controlled || keep.contains(&name) || object.meta().deletion_timestamp.is_some() {
                continue;
            }
            let namespace = object.namespace().unwrap_or_default();
            if self.delete::<K>(&namespace, &name).await?.written() {
                deleted.push(name);
            }
        }
        Ok(deleted)
    }

    /// Server-side applies a dynamic object (the cert-manager Certificate), comparing with a
    /// fresh GET: Certificates are not cached (spec-controllers.md §13.4). When it is missing,
    /// `before_create` decides first whether it may be created (its owner still exists).
    pub async fn apply_dynamic(
        &self,
        desired: &DynamicObject,
        resource: &ApiResource,
        manager: &str,
        before_create: impl AsyncFnOnce() -> Result<(), ApplyError>,
    ) -> Result<Outcome, ApplyError> {
        let name = desired.metadata.name.clone().unwrap_or_default();
        let namespace = desired.metadata.namespace.clone().unwrap_or_default();
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &namespace, resource);
        let live = list_by_name(&api, &name)
            .await
            .map_err(|source| ApplyError::Read {
                kind: resource.kind.clone(),
                namespace: namespace.clone(),
                name: name.clone(),
                source: Box::new(source),
            })?;
        let mut body = serde_json::to_value(desired).map_err(|source| ApplyError::Serialize {
            kind: resource.kind.clone(),
            name: name.clone(),
            source,
        })?;
        body["apiVersion"] = json!(resource.api_version);
        body["kind"] = json!(resource.kind);
        let live = live
            .map(serde_json::to_value)
            .transpose()
            .map_err(|source| ApplyError::Serialize {
                kind: resource.kind.clone(),
                name: name.clone(),
                source,
            })?;
        if compare::apply_drift(&body, live.as_ref(), manager, Subresource::Main).is_none() {
            return Ok(Outcome::Unchanged);
        }
        if live.is_none() {
            before_create().await?;
        }
        api.patch(
            &name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|source| ApplyError::Apply {
            kind: resource.kind.clone(),
            namespace,
            name,
            source: Box::new(source),
        })?;
        Ok(Outcome::Written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, Service, ServicePort, ServiceSpec};
    use kube::api::ObjectMeta;

    fn status_writes(server: &kubesim::Handle) -> usize {
        server.requests().count_matching(|entry| {
            entry.is_mutating() && entry.subresource.as_deref() == Some("status")
        })
    }

    /// Metadata of an object `name` in namespace `default`.
    fn named(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("default".to_owned()),
            ..ObjectMeta::default()
        }
    }

    #[tokio::test]
    async fn a_secret_created_by_another_writer_is_adopted_as_it_is_unless_it_differs() {
        use k8s_openapi::ByteString;
        use k8s_openapi::api::core::v1::Secret;
        let server = kubesim::Server::builder()
            .start()
            .await
            .expect("kubesim starts");
        let client = server.client();
        let secret = |value: &[u8]| Secret {
            metadata: ObjectMeta {
                name: Some("ca".to_owned()),
                namespace: Some("default".to_owned()),
                ..ObjectMeta::default()
            },
            data: Some([("ca.crt".to_owned(), ByteString(value.to_vec()))].into()),
            ..Secret::default()
        };
        // Created as the Go operator creates it: a plain Create, no apply entry of ours.
        let live = Api::<Secret>::namespaced(client.clone(), "default")
            .create(&PostParams::default(), &secret(b"pem"))
            .await
            .expect("the Secret is created");
        let writes = || {
            server
                .requests()
                .count_matching(|entry| entry.is_mutating())
        };
        let created = writes();
        let apply = Apply::new(client);
        let same = apply
            .apply_adopting(&secret(b"pem"), Some(&live), MANAGER)
            .await
            .expect("nothing to write");
        assert_eq!(same, Outcome::Unchanged);
        assert_eq!(
            writes(),
            created,
            "the same content is adopted with no request"
        );
        // A plain apply takes ownership of the same content: the write the adopting one saves.
        let owned = apply
            .apply(&secret(b"pem"), Some(&live), MANAGER)
            .await
            .expect("applied");
        assert_eq!(owned, Outcome::Written);
        // Other content (a rotation) is written by the adopting apply too.
        let rotated = apply
            .apply_adopting(&secret(b"new"), Some(&live), MANAGER)
            .await
            .expect("applied");
        assert_eq!(rotated, Outcome::Written);
        assert_eq!(writes(), created + 2);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_status_write_is_not_repeated_on_the_version_it_was_written_on() {
        let server = kubesim::Server::builder()
            .start()
            .await
            .expect("kubesim starts");
        let client = server.client();
        let services: Api<Service> = Api::namespaced(client.clone(), "default");
        let stale = services
            .create(
                &PostParams::default(),
                &Service {
                    metadata: ObjectMeta {
                        name: Some("s".to_owned()),
                        namespace: Some("default".to_owned()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(ServiceSpec {
                        ports: Some(vec![ServicePort {
                            port: 80,
                            ..ServicePort::default()
                        }]),
                        ..ServiceSpec::default()
                    }),
                    ..Service::default()
                },
            )
            .await
            .expect("the Service is created");
        let apply = Apply::new(client);
        let ip = |ip: &str| json!({"loadBalancer": {"ingress": [{"ip": ip}]}});
        let first = apply
            .apply_status(&stale, ip("10.0.0.1"), MANAGER)
            .await
            .expect("the status is written");
        assert_eq!(first, Outcome::Written);
        // The same body on the same (stale) version: that write again, not sent.
        let again = apply
            .apply_status(&stale, ip("10.0.0.1"), MANAGER)
            .await
            .expect("nothing to write");
        assert_eq!(again, Outcome::Unchanged);
        assert_eq!(status_writes(&server), 1);
        // Another body is written even on the stale version.
        let other = apply
            .apply_status(&stale, ip("10.0.0.2"), MANAGER)
            .await
            .expect("the status is written");
        assert_eq!(other, Outcome::Written);
        assert_eq!(status_writes(&server), 2);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_merge_patch_is_not_repeated_until_the_watch_delivers_it() {
        let server = kubesim::Server::builder()
            .start()
            .await
            .expect("kubesim starts");
        let client = server.client();
        let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let stale = config_maps
            .create(
                &PostParams::default(),
                &ConfigMap {
                    metadata: named("c"),
                    ..ConfigMap::default()
                },
            )
            .await
            .expect("the ConfigMap is created");
        let apply = Apply::new(client);
        // As when a feed watches the kind: only then can a write wait for its event.
        apply.in_flight().watch("ConfigMap");
        let patch_writes = || {
            server.requests().count_matching(|entry| {
                entry.is_mutating() && entry.verb == "patch" && entry.name.as_deref() == Some("c")
            })
        };
        let label = |value: &str| json!({"metadata": {"labels": {"uses": value}}});
        let first = apply
            .merge_patch_once(&stale, &label("a"))
            .await
            .expect("the patch is sent");
        assert_eq!(first, Outcome::Written);
        // A pass that still sees the version before the patch: the same patch, not sent.
        let again = apply
            .merge_patch_once(&stale, &label("a"))
            .await
            .expect("nothing to send");
        assert_eq!(again, Outcome::Unchanged);
        assert_eq!(patch_writes(), 1);
        // Another patch on the same version is sent.
        let other = apply
            .merge_patch_once(&stale, &label("b"))
            .await
            .expect("the patch is sent");
        assert_eq!(other, Outcome::Written);
        assert_eq!(patch_writes(), 2);
        // Once the watch delivered the written version, the cache decides again.
        let live = config_maps.get("c").await.expect("the ConfigMap is there");
        apply.in_flight().seen(
            "ConfigMap",
            "default",
            "c",
            live.metadata.resource_version.as_deref(),
        );
        let after = apply
            .merge_patch_once(&stale, &label("b"))
            .await
            .expect("the patch is sent");
        assert_eq!(after, Outcome::Written);
        assert_eq!(patch_writes(), 3);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_create_in_a_namespace_being_deleted_is_gone_not_a_failure_to_retry() {
        use k8s_openapi::api::core::v1::Namespace;
        let server = kubesim::Server::builder()
            .start()
            .await
            .expect("kubesim starts");
        let client = server.client();
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let meta = |name: &str, namespace: Option<&str>| ObjectMeta {
            name: Some(name.to_owned()),
            namespace: namespace.map(str::to_owned),
            ..ObjectMeta::default()
        };
        namespaces
            .create(
                &PostParams::default(),
                &Namespace {
                    metadata: meta("shop", None),
                    ..Namespace::default()
                },
            )
            .await
            .expect("the namespace is created");
        // A finalizer holds the namespace in Terminating.
        let held = k8s_openapi::api::core::v1::ConfigMap {
            metadata: ObjectMeta {
                finalizers: Some(vec!["example.com/hold".to_owned()]),
                ..meta("held", Some("shop"))
            },
            ..Default::default()
        };
        Api::namespaced(client.clone(), "shop")
            .create(&PostParams::default(), &held)
            .await
            .expect("created");
        namespaces
            .delete("shop", &DeleteParams::default())
            .await
            .expect("the namespace is being deleted");
        let apply = Apply::new(client);
        let refused = apply
            .create(&k8s_openapi::api::core::v1::ConfigMap {
                metadata: meta("data-pool-0", Some("shop")),
                ..Default::default()
            })
            .await
            .expect_err("no new content in a terminating namespace");
        assert!(refused.is_gone(), "{refused:?}");
        let missing = apply
            .create(&k8s_openapi::api::core::v1::ConfigMap {
                metadata: meta("data-pool-0", Some("gone")),
                ..Default::default()
            })
            .await
            .expect_err("no namespace");
        assert!(missing.is_gone(), "{missing:?}");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_create_is_not_sent_again_until_the_watch_delivers_it() {
        let server = kubesim::Server::builder()
            .start()
            .await
            .expect("kubesim starts");
        let apply = Apply::new(server.client());
        apply.in_flight().watch("ConfigMap");
        let creates = || {
            server
                .requests()
                .count_matching(|e| e.verb == "create" && e.resource == "configmaps")
        };
        let object = |value: &str| k8s_openapi::api::core::v1::ConfigMap {
            metadata: ObjectMeta {
                name: Some("data-pool-0".to_owned()),
                namespace: Some("default".to_owned()),
                ..ObjectMeta::default()
            },
            data: Some([("k".to_owned(), value.to_owned())].into()),
            ..Default::default()
        };
        let first = apply.create(&object("a")).await.expect("created");
        assert_eq!(first, Outcome::Written);
        // A pass before the watch delivered it: the same create is not sent again.
        let again = apply.create(&object("a")).await.expect("not sent");
        assert_eq!(again, Outcome::Unchanged);
        assert_eq!(creates(), 1);
        // Once the watch shows a deletion, a create goes out; one that finds the object
        // there is "exists", not an error.
        apply
            .in_flight()
            .deleted("ConfigMap", "default", "data-pool-0");
        let exists = apply
            .create(&object("a"))
            .await
            .expect("AlreadyExists is fine");
        assert_eq!(exists, Outcome::Unchanged);
        assert_eq!(creates(), 2);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_fresh_read_needs_only_list_as_the_operators_role_grants() {
        use k8s_openapi::api::core::v1::ServiceAccount;
        use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
        let server = kubesim::Server::builder()
            .authorization(kubesim::auth::Authorization::Rbac)
            .start()
            .await
            .expect("kubesim starts");
        let admin = server.client();
        Api::<ServiceAccount>::namespaced(admin.clone(), "default")
            .create(
                &PostParams::default(),
                &ServiceAccount {
                    metadata: named("operator"),
                    ..ServiceAccount::default()
                },
            )
            .await
            .expect("the ServiceAccount is created");
        // As install/rbac.rs grants the operator's own kinds: list and watch, no get.
        Api::<Role>::namespaced(admin.clone(), "default")
            .create(
                &PostParams::default(),
                &Role {
                    metadata: named("read"),
                    rules: Some(vec![PolicyRule {
                        api_groups: Some(vec![String::new()]),
                        resources: Some(vec!["configmaps".to_owned()]),
                        verbs: vec!["list".to_owned(), "watch".to_owned()],
                        ..PolicyRule::default()
                    }]),
                },
            )
            .await
            .expect("the Role is created");
        Api::<RoleBinding>::namespaced(admin.clone(), "default")
            .create(
                &PostParams::default(),
                &RoleBinding {
                    metadata: named("read"),
                    role_ref: RoleRef {
                        api_group: "rbac.authorization.k8s.io".to_owned(),
                        kind: "Role".to_owned(),
                        name: "read".to_owned(),
                    },
                    subjects: Some(vec![Subject {
                        kind: "ServiceAccount".to_owned(),
                        name: "operator".to_owned(),
                        namespace: Some("default".to_owned()),
                        ..Subject::default()
                    }]),
                },
            )
            .await
            .expect("the RoleBinding is created");
        Api::<ConfigMap>::namespaced(admin.clone(), "default")
            .create(
                &PostParams::default(),
                &ConfigMap {
                    metadata: named("c"),
                    ..ConfigMap::default()
                },
            )
            .await
            .expect("the ConfigMap is created");
        let token = server
            .service_account_token("default", "operator", 3600)
            .expect("a token");
        let operator = server.client_with_token(&token);
        // The role forbids a GET: a read by GET would fail in a cluster installed as shipped.
        let get = Api::<ConfigMap>::namespaced(operator.clone(), "default")
            .get("c")
            .await
            .expect_err("get is not granted");
        assert!(
            matches!(&get, kube::Error::Api(status) if status.code == 403),
            "{get:?}"
        );
        let apply = Apply::new(operator);
        let read: ConfigMap = apply.read("default", "c").await.expect("read by list");
        assert_eq!(read.metadata.name.as_deref(), Some("c"));
        let missing = apply
            .read::<ConfigMap>("default", "gone")
            .await
            .expect_err("nothing of that name");
        assert!(missing.is_gone(), "{missing:?}");
        server.shutdown().await;
    }
}
