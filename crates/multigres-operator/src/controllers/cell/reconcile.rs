//! One Cell pass (spec-controllers.md §4.1): pending deletion → build → apply → status.

use std::sync::Arc;
use std::time::Duration;

use kube::core::DeserializeGuard;
use kube::{Resource, ResourceExt};
use multigres_api::conditions::{self, READY_FOR_DELETION, is_condition_true};
use multigres_api::labels::ANNOTATION_PENDING_DELETION;
use multigres_api::v1alpha1::{Cell, CellStatus, Phase};

use super::Error;
use super::build::{Desired, build_cell_objects};
use super::status::compute_status;
use crate::apply::MANAGER;
use crate::cache;
use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::apply_child::apply_child;
use crate::controllers::reporting::{object_key, run_pass};
use crate::controllers::status_write;
use crate::events::Source;

/// Requeue while not Healthy, to notice crash loops (§10).
const NOT_HEALTHY_REQUEUE: Duration = Duration::from_secs(30);

pub async fn reconcile(
    guarded: Arc<DeserializeGuard<Cell>>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    run_pass(
        &context,
        Source::Cell,
        guarded.as_ref(),
        pass(&guarded, &context),
    )
    .await
}

async fn pass(guarded: &DeserializeGuard<Cell>, context: &Context) -> Result<Action, Error> {
    let cell = guarded.0.as_ref().map_err(|invalid| Error::Malformed {
        object: object_key(guarded),
        message: invalid.error.clone(),
    })?;
    let object = object_key(cell);
    let reference = cell.object_ref(&());
    let previous = cell.status.clone().unwrap_or_default();

    // Pending deletion: a cell holds no data, so it is ready for deletion at once (§4.1 step 2).
    let pending = cell
        .annotations()
        .get(ANNOTATION_PENDING_DELETION)
        .is_some_and(|value| !value.is_empty());
    if pending {
        if !is_condition_true(&previous.conditions, READY_FOR_DELETION) {
            let mut status = previous.clone();
            conditions::set_condition(
                &mut status.conditions,
                &conditions::cell_ready_for_deletion(),
                cell.metadata.generation,
                &context.now(),
            );
            write_status(context, cell, &previous, status).await?;
            context
                .events
                .normal(
                    Source::Cell,
                    &reference,
                    "ReadyForDeletion",
                    format!("Cell {} marked ready for deletion", cell.name_any()),
                )
                .await;
        }
        return Ok(Action::await_change());
    }
    if cell.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }

    let Desired {
        service,
        deployment,
    } = build_cell_objects(cell, &context.settings.operator_otel_env).map_err(|source| {
        Error::Build {
            object: object.clone(),
            source,
        }
    })?;
    let apply_error = |source| Error::Apply {
        object: object.clone(),
        source,
    };
    apply_child(context, &reference, &context.cache.deployments, &deployment)
        .await
        .map_err(apply_error)?;
    apply_child(context, &reference, &context.cache.services, &service)
        .await
        .map_err(apply_error)?;

    let namespace = cell.namespace().unwrap_or_default();
    let Some(live) = cache::get(
        &context.cache.deployments,
        &namespace,
        &deployment.name_any(),
    ) else {
        // Not observed yet: its creation triggers the next pass.
        return Ok(Action::requeue(NOT_HEALTHY_REQUEUE));
    };
    let selector: Vec<(String, String)> = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.selector.match_labels.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let selector: Vec<(&str, &str)> = selector
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let pods = cache::select(&context.cache.pods, &namespace, &selector);
    let status = compute_status(
        cell,
        &previous,
        &live,
        &pods,
        &service.name_any(),
        &context.now(),
    );
    let healthy = status.phase == Some(Phase::Healthy);
    // spec-controllers.md §12.1: the gateway gauge follows the Deployment counts the status
    // just took (desired = status.replicas, ready = status.readyReplicas).
    context.metrics.set_cell_gateway_replicas(
        &namespace,
        &cell.name_any(),
        status.gateway_replicas,
        status.gateway_ready_replicas,
    );
    context
        .series
        .track(crate::telemetry::deleted_series::Tracked::Cell {
            namespace: namespace.clone(),
            name: cell.name_any(),
        });
    write_status(context, cell, &previous, status).await?;
    Ok(if healthy {
        Action::requeue(context.settings.resync)
    } else {
        Action::requeue(NOT_HEALTHY_REQUEUE)
    })
}

async fn write_status(
    context: &Context,
    cell: &Cell,
    previous: &CellStatus,
    status: CellStatus,
) -> Result<(), Error> {
    status_write::write_status(context, Source::Cell, cell, MANAGER, previous, &status)
        .await
        .map_err(|source| Error::Status {
            object: object_key(cell),
            source,
        })?;
    Ok(())
}
