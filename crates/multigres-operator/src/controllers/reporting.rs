//! How a pass ends, for every controller: a failure becomes a Warning Event (once per message,
//! see `events.rs`) and a log line; a success clears the object's warnings and its backoff.

use kube::Resource;
use kube::runtime::controller::Action;
use multigres_api::v1alpha1::Phase;

use crate::context::Context;
use crate::controllers::error_policy::{ReconcileError, chain_text};
use crate::events::Source;

/// `namespace/name` of an object, for messages and backoff keys.
pub fn object_key<K: Resource>(object: &K) -> String {
    let meta = object.meta();
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

/// Go's PhaseChange note.
pub fn phase_change_note(previous: Option<Phase>, current: Option<Phase>) -> String {
    let text = |phase: Option<Phase>| phase.map(|p| p.to_string()).unwrap_or_default();
    format!(
        "Transitioned from '{}' to '{}'",
        text(previous),
        text(current)
    )
}

/// Publishes the failure of a pass (or forgets past ones after a success) and hands the
/// result on to the controller.
pub async fn report<K, E>(
    context: &Context,
    source: Source,
    object: &K,
    result: Result<Action, E>,
) -> Result<Action, E>
where
    K: Resource<DynamicType = ()>,
    E: ReconcileError,
{
    let uid = object.meta().uid.clone().unwrap_or_default();
    match &result {
        Ok(_) => {
            context.events.clear_failures(&uid);
            context.backoff.reset(&object_key(object));
        }
        Err(error) => {
            tracing::warn!(
                controller = source.controller(),
                object = %object_key(object),
                reason = error.reason(),
                error = error as &dyn std::error::Error,
                "reconcile failed"
            );
            context
                .events
                .failure(
                    source,
                    &object.object_ref(&()),
                    error.reason(),
                    chain_text(error),
                )
                .await;
        }
    }
    result
}
