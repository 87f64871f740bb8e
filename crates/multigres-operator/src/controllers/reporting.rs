//! How a pass runs and ends, for every controller: its span and metrics; a failure becomes a
//! Warning Event (once per message, see `events.rs`) and a log line; a success clears the
//! object's warnings and its backoff.

use kube::Resource;
use multigres_api::v1alpha1::Phase;

use tracing::Instrument;

use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::error_policy::{BackoffKey, ErrorClass, ReconcileError, chain_text};
use crate::events::Source;
use crate::telemetry::metrics::ReconcileResult;
use crate::telemetry::trace_context::{StoredTrace, stored_trace};
use crate::telemetry::tracing::{reconcile_span, record_trace_ids};

/// `namespace/name` of an object, for messages (the backoff keys by kind too: `BackoffKey`).
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

/// Runs one pass of `source`'s controller over `object`: in its `<Kind>.Reconcile` span (a
/// child of, or linked to, the admission's trace for a MultigresCluster, spec-controllers.md
/// §12.4), recorded in the reconcile metrics, its failure published as a Warning (once per
/// message, style.md §3 step 12), a success clearing past failures and the backoff.
pub async fn run_pass<K, E, F>(
    context: &Context,
    source: Source,
    object: &K,
    pass: F,
) -> Result<Action, E>
where
    K: Resource<DynamicType = ()>,
    E: ReconcileError,
    F: std::future::Future<Output = Result<Action, E>>,
{
    let meta = object.meta();
    let namespace = meta.namespace.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_default();
    let stored = match (source, &meta.annotations) {
        (Source::MultigresCluster, Some(annotations)) => {
            stored_trace(annotations, context.now().0.as_second())
        }
        _ => StoredTrace::Absent,
    };
    let span = reconcile_span(source.kind(), &namespace, &name, &stored);
    let trace_id = record_trace_ids(&span);
    let started = std::time::Instant::now();
    let uid = meta.uid.clone().unwrap_or_default();
    context.owners.forget(&uid);
    let result = pass.instrument(span.clone()).await;
    context.owners.forget(&uid);
    // An object found gone is not a failure: nothing to report, nothing to retry
    // (owner_liveness.rs).
    let result = match result {
        Err(error) if error.class() == ErrorClass::Gone => {
            tracing::debug!(
                parent: &span,
                controller = source.controller(),
                object = %object_key(object),
                error = &error as &dyn std::error::Error,
                "the object is gone; the pass ends"
            );
            Ok(Action::await_change())
        }
        other => other,
    };
    let outcome = match &result {
        Ok(action)
            if *action == Action::await_change()
                || *action == Action::requeue(context.settings.resync) =>
        {
            ReconcileResult::Success
        }
        Ok(_) => ReconcileResult::RequeueAfter,
        Err(_) => ReconcileResult::Error,
    };
    context.metrics.observe_reconcile(
        source.metric_label(),
        outcome,
        started.elapsed(),
        trace_id.as_deref(),
    );
    // What the pass did to its children, as one event per reason (events.rs), whether or not
    // it finished.
    context
        .events
        .flush(source, &object.object_ref(&()))
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    match &result {
        Ok(_) => {
            context.events.clear_failures(&uid);
            context.backoff.reset(&BackoffKey::of(object));
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
