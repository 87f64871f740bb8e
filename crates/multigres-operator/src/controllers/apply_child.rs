//! Applying one desired child and telling the owner's Events when that changed something (the
//! Go operator's `Applied` event, emitted here only for real writes, and gathered: one event
//! per pass names every child the pass wrote, see `events.rs`).

use std::fmt::Debug;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::apply::{ApplyError, MANAGER, Outcome};
use crate::cache;
use crate::context::Context;

/// Applies `desired` (compared with its live copy in `store`) with the children's field
/// manager, after making sure `owner` still exists when the child is missing (a create;
/// `owner_liveness.rs`); on a write, gathers `<Kind> <name>` for the pass's `Normal Applied` event on
/// `owner` ("Applied <Kind> <name>, <Kind> <name>").
pub async fn apply_child<K>(
    context: &Context,
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
    if live.is_none() {
        context.owners.ensure_alive(&context.client, owner).await?;
    }
    let outcome = context
        .apply
        .apply(desired, live.as_deref(), MANAGER)
        .await?;
    if outcome.written() {
        gather_applied(context, owner, &K::kind(&()), &name);
    }
    Ok(outcome)
}

/// [`apply_child`] for a child the Go operator writes with a plain Create and never applies
/// (the generated pgBackRest Secrets, spec-controllers.md §1.4): one that already holds what we
/// would send is adopted as it is, with no write (see [`crate::apply::Apply::apply_adopting`]).
pub async fn adopt_or_apply_child<K>(
    context: &Context,
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
        .apply_adopting(desired, live.as_deref(), MANAGER)
        .await?;
    if outcome.written() {
        gather_applied(context, owner, &K::kind(&()), &name);
    }
    Ok(outcome)
}

/// Gathers one written child for the pass's `Applied` event (spec-controllers.md §15).
fn gather_applied(context: &Context, owner: &ObjectReference, kind: &str, name: &str) {
    context.events.gather(
        owner.uid.as_deref().unwrap_or_default(),
        "Applied",
        "Applied ",
        format!("{kind} {name}"),
    );
}

/// [`apply_child`] for custom resources held in guarded stores: a live object that does not
/// deserialize is treated as absent, so the apply overwrites it with a valid one.
pub async fn apply_guarded_child<K>(
    context: &Context,
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
    if live.is_none() {
        context.owners.ensure_alive(&context.client, owner).await?;
    }
    let live = live.as_deref().and_then(cache::valid);
    let outcome = context.apply.apply(desired, live, MANAGER).await?;
    if outcome.written() {
        gather_applied(context, owner, &K::kind(&()), &name);
    }
    Ok(outcome)
}
