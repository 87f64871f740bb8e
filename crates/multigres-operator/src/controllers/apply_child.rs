//! Applying one desired child and telling the owner's Events when that changed something (the
//! Go operator's `Applied` event, emitted here only for real writes).

use std::fmt::Debug;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::apply::{ApplyError, MANAGER, Outcome};
use crate::cache;
use crate::context::Context;
use crate::events::Source;

/// Applies `desired` (compared with its live copy in `store`) with the children's field
/// manager; on a write, publishes `Normal Applied "Applied <Kind> <name>"` on `owner`.
pub async fn apply_child<K>(
    context: &Context,
    source: Source,
    owner: &ObjectReference,
    store: &Store<K>,
    desired: &K,
) -> Result<Outcome, ApplyError>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let name = desired.name_any();
    let namespace = desired.namespace().unwrap_or_default();
    let live = cache::get(store, &namespace, &name);
    let outcome = context
        .apply
        .apply(desired, live.as_deref(), MANAGER)
        .await?;
    if outcome.written() {
        context
            .events
            .normal(
                source,
                owner,
                "Applied",
                format!("Applied {} {name}", K::kind(&())),
            )
            .await;
    }
    Ok(outcome)
}

/// [`apply_child`] for custom resources held in guarded stores: a live object that does not
/// deserialize is treated as absent, so the apply overwrites it with a valid one.
pub async fn apply_guarded_child<K>(
    context: &Context,
    source: Source,
    owner: &ObjectReference,
    store: &Store<kube::core::DeserializeGuard<K>>,
    desired: &K,
) -> Result<Outcome, ApplyError>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let name = desired.name_any();
    let namespace = desired.namespace().unwrap_or_default();
    let live = cache::get(store, &namespace, &name);
    let live = live.as_deref().and_then(cache::valid);
    let outcome = context.apply.apply(desired, live, MANAGER).await?;
    if outcome.written() {
        context
            .events
            .normal(
                source,
                owner,
                "Applied",
                format!("Applied {} {name}", K::kind(&())),
            )
            .await;
    }
    Ok(outcome)
}
