//! One TopoServer pass (spec-controllers.md §5): guard → build → apply → status.
//!
//! Reads come from the informer cache; every write goes through `apply`. Events are published
//! only for what this pass changed.

use std::sync::Arc;
use std::time::Duration;

use kube::core::DeserializeGuard;
use kube::{Resource, ResourceExt};
use multigres_api::conditions::{self, StorageClassSubject};
use multigres_api::v1alpha1::{TopoServer, TopoServerStatus};

use super::Error;
use super::build::build_topo_server_objects;
use super::status::{TopoServerObservation, compute_status};
use crate::apply::MANAGER;
use crate::cache;
use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::apply_child::apply_child;
use crate::controllers::reporting::{object_key, run_pass};
use crate::controllers::status_write;
use crate::events::Source;

/// Requeue while a named StorageClass is missing (§10).
const MISSING_CLASS_REQUEUE: Duration = Duration::from_secs(10);
/// Requeue while not Healthy, to notice crash loops (§10).
const NOT_HEALTHY_REQUEUE: Duration = Duration::from_secs(30);

pub async fn reconcile(
    guarded: Arc<DeserializeGuard<TopoServer>>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    run_pass(
        &context,
        Source::TopoServer,
        guarded.as_ref(),
        pass(&guarded, &context),
    )
    .await
}

async fn pass(guarded: &DeserializeGuard<TopoServer>, context: &Context) -> Result<Action, Error> {
    let topo_server = guarded.0.as_ref().map_err(|invalid| Error::Malformed {
        object: object_key(guarded),
        message: invalid.error.clone(),
    })?;
    if topo_server.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let object = object_key(topo_server);
    let reference = topo_server.object_ref(&());
    let namespace = topo_server.namespace().unwrap_or_default();
    let name = topo_server.name_any();

    // The etcd StorageClass guard (§5): nothing is applied while a named class is missing. Its
    // condition goes out with the status, in the pass's one status write.
    let class = topo_server
        .spec
        .etcd
        .as_ref()
        .map(|etcd| etcd.storage.class.as_str())
        .filter(|class| !class.is_empty());
    let found = class.is_some_and(|class| {
        cache::get_cluster_scoped(&context.cache.storage_classes, class).is_some()
    });
    let guard = conditions::storage_class_valid(StorageClassSubject::Etcd, class, found);
    let previous = topo_server.status.clone().unwrap_or_default();
    if class.is_some() && !found {
        let mut status = previous.clone();
        conditions::set_condition(
            &mut status.conditions,
            &guard,
            topo_server.metadata.generation,
            &context.now(),
        );
        write_status(context, topo_server, &previous, status).await?;
        context
            .events
            .warning(
                Source::TopoServer,
                &reference,
                "StorageClassNotFound",
                guard.message.clone(),
            )
            .await;
        return Ok(Action::requeue(MISSING_CLASS_REQUEUE));
    }

    let desired = build_topo_server_objects(topo_server).map_err(|source| Error::Build {
        object: object.clone(),
        source,
    })?;
    let super::build::Desired {
        services,
        stateful_set,
    } = desired;
    let apply_error = |source| Error::Apply {
        object: object.clone(),
        source,
    };
    for service in &services {
        apply_child(context, &reference, &context.cache.services, service)
            .await
            .map_err(apply_error)?;
    }
    apply_child(
        context,
        &reference,
        &context.cache.stateful_sets,
        &stateful_set.0,
    )
    .await
    .map_err(apply_error)?;
    let live_set = cache::get(&context.cache.stateful_sets, &namespace, &name);
    let selector = stateful_set
        .spec
        .as_ref()
        .and_then(|spec| spec.selector.match_labels.clone())
        .unwrap_or_default();
    let selector: Vec<(&str, &str)> = selector
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // The StatefulSet as last observed; just created and not seen yet, a status that says so
    // (the same one its first sighting gives, so that sighting writes nothing).
    let observation = match &live_set {
        Some(live_set) => {
            let pods = cache::select(&context.cache.pods, &namespace, &selector);
            let set_status = live_set.status.clone().unwrap_or_default();
            context.metrics.set_toposerver_replicas(
                &namespace,
                &name,
                set_status.replicas,
                set_status.ready_replicas.unwrap_or_default(),
            );
            context
                .series
                .track(crate::telemetry::deleted_series::Tracked::TopoServer {
                    namespace: namespace.clone(),
                    name: name.clone(),
                });
            TopoServerObservation::new(live_set, &pods)
        }
        None => TopoServerObservation::not_observed(
            stateful_set
                .spec
                .as_ref()
                .and_then(|spec| spec.replicas)
                .unwrap_or(1),
        ),
    };
    let status = compute_status(
        topo_server,
        &previous,
        &observation,
        &services,
        &guard,
        &context.now(),
    );
    let healthy = status.phase == Some(multigres_api::v1alpha1::Phase::Healthy);
    write_status(context, topo_server, &previous, status).await?;
    Ok(if healthy {
        Action::requeue(context.settings.resync)
    } else {
        Action::requeue(NOT_HEALTHY_REQUEUE)
    })
}

/// The single status write of the pass, and the PhaseChange event when the phase moved.
async fn write_status(
    context: &Context,
    topo_server: &TopoServer,
    previous: &TopoServerStatus,
    status: TopoServerStatus,
) -> Result<(), Error> {
    status_write::write_status(
        context,
        Source::TopoServer,
        topo_server,
        MANAGER,
        previous,
        &status,
    )
    .await
    .map_err(|source| Error::Apply {
        object: object_key(topo_server),
        source,
    })?;
    Ok(())
}
