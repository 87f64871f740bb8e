//! The Shard's data-plane step (spec-controllers.md §7.12): pod roles from the topology, stale
//! pooler records pruned, and the drain state machine of every draining pod.
//!
//! The etcd work is `crate::topology`'s; the decisions are `drain.rs`'s; this step reads and
//! writes through them and returns when to look again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::ResourceExt;
use multigres_api::labels::{ANNOTATION_DRAIN_REQUESTED_AT, ANNOTATION_DRAIN_STATE, LABEL_CELL};
use multigres_api::v1alpha1::{Shard, ShardStatus};
use serde_json::{Map, Value, json};

use super::Error;
use super::drain::{DrainStep, Poolers, drain_start, next_step};
use crate::apply::ApplyError;
use crate::context::Context;
use crate::events::Source;
use crate::topology::records::{MultiPooler, PoolerRole, pod_matches_pooler, pooler_role};
use crate::topology::{TopoError, TopoStore, list_shard_poolers, unregister_pooler};

/// Requeue while the topology server cannot be reached (§10).
pub const TOPOLOGY_REQUEUE: Duration = Duration::from_secs(5);
/// Requeue while a drain progresses (§10).
pub const DRAIN_REQUEUE: Duration = Duration::from_secs(2);
/// The whole step's deadline (§7.2 step 17).
const DEADLINE: Duration = Duration::from_secs(30);

/// When the step wants the Shard looked at again.
pub enum Next {
    Done,
    After(Duration),
}

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// Runs the step for `shard`, whose pods are `pods` and pool cells `cells`.
pub async fn run(
    context: &Context,
    shard: &Shard,
    reference: &ObjectReference,
    pods: &[Arc<Pod>],
    cells: &[String],
    prune: bool,
) -> Result<Next, Error> {
    match tokio::time::timeout(
        DEADLINE,
        step(context, shard, reference, pods, cells, prune),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Ok(Next::After(TOPOLOGY_REQUEUE)),
    }
}

async fn step(
    context: &Context,
    shard: &Shard,
    reference: &ObjectReference,
    pods: &[Arc<Pod>],
    cells: &[String],
    prune: bool,
) -> Result<Next, Error> {
    let object = crate::controllers::reporting::object_key(shard);
    let topo = &shard.spec.global_topo_server;
    let store =
        match TopoStore::open(&topo.address, &topo.root_path, context.resolver.clone()).await {
            Ok(store) => store,
            Err(error) => {
                topology_warning(context, reference, &error).await;
                return Ok(Next::After(TOPOLOGY_REQUEUE));
            }
        };
    let spec = &shard.spec;
    // Poolers per cell; a cell that could not be listed is None.
    let mut by_cell: BTreeMap<String, Option<Vec<MultiPooler>>> = BTreeMap::new();
    let mut unavailable = None;
    for cell in cells {
        match list_shard_poolers(
            &store,
            cell,
            spec.database_name.as_str(),
            spec.table_group_name.as_str(),
            spec.shard_name.as_str(),
        )
        .await
        {
            Ok(poolers) => {
                by_cell.insert(cell.clone(), Some(poolers));
            }
            Err(error) => {
                if !error.is_unavailable() {
                    tracing::warn!(shard = %object, cell, error = &error as &dyn std::error::Error, "failed to list poolers");
                }
                unavailable.get_or_insert(error);
                by_cell.insert(cell.clone(), None);
            }
        }
    }
    if by_cell.values().all(Option::is_none)
        && !cells.is_empty()
        && let Some(error) = &unavailable
    {
        topology_warning(context, reference, error).await;
    }

    // Pod roles (§7.12 step 2): only what matched a pod; entries of pods no longer reported are
    // dropped only when every cell answered.
    let previous = shard.status.clone().unwrap_or_default();
    let roles = pod_roles(&previous, pods, &by_cell);
    if roles != previous.pod_roles {
        write_roles(context, shard, &previous, &roles).await?;
    }

    // Stale pooler records (§7.12 step 4).
    if prune {
        let mut pruned = 0usize;
        for poolers in by_cell.values().flatten() {
            for pooler in poolers {
                if pods
                    .iter()
                    .any(|pod| pod_matches_pooler(&pod.name_any(), pooler))
                {
                    continue;
                }
                match unregister_pooler(&store, pooler).await {
                    Ok(()) => pruned += 1,
                    Err(error) => {
                        tracing::warn!(shard = %object, error = &error as &dyn std::error::Error, "failed to prune a pooler")
                    }
                }
            }
        }
        if pruned > 0 {
            context
                .events
                .normal(
                    Source::Shard,
                    reference,
                    "PoolersPruned",
                    format!("Pruned {pruned} stale pooler(s) from topology"),
                )
                .await;
        }
    }

    // Drains (§7.12 step 5).
    let now = context.now();
    let mut requeue = false;
    for pod in pods {
        let state = annotation(pod, ANNOTATION_DRAIN_STATE);
        if state.is_none() {
            continue;
        }
        let pod_name = pod.name_any();
        let cell = pod.labels().get(LABEL_CELL).cloned().unwrap_or_default();
        let mine = by_cell
            .get(&cell)
            .and_then(Option::as_ref)
            .and_then(|poolers| poolers.iter().find(|p| pod_matches_pooler(&pod_name, p)));
        let poolers = match by_cell.get(&cell) {
            Some(Some(_)) => Poolers::Listed {
                mine: mine.is_some(),
                primary: mine.is_some_and(|p| pooler_role(p) == PoolerRole::Primary),
            },
            _ => Poolers::Unavailable,
        };
        let started = drain_start(
            annotation(pod, ANNOTATION_DRAIN_REQUESTED_AT),
            pod.metadata.deletion_timestamp.as_ref().map(|t| t.0),
            now.0,
        );
        match next_step(
            state,
            started,
            pod.metadata.deletion_timestamp.is_some(),
            poolers,
            now.0,
        ) {
            DrainStep::Idle => {}
            DrainStep::Wait => requeue = true,
            DrainStep::Advance {
                state: next,
                unregister,
                completed,
                timed_out,
                primary,
            } => {
                if unregister
                    && let Some(pooler) = mine
                    && let Err(error) = unregister_pooler(&store, pooler).await
                    && !timed_out
                {
                    return Err(Error::Topology {
                        object,
                        source: error,
                    });
                }
                if primary && state == Some(super::drain::REQUESTED) {
                    context
                        .events
                        .warning(
                            Source::Shard,
                            reference,
                            "PrimaryDrain",
                            format!(
                                "Draining PRIMARY pod {pod_name}; multiorch will elect a new leader"
                            ),
                        )
                        .await;
                }
                set_drain_state(context, pod, next)
                    .await
                    .map_err(|source| Error::Apply {
                        object: object.clone(),
                        source,
                    })?;
                if completed || timed_out {
                    let cluster = shard
                        .labels()
                        .get(multigres_api::labels::LABEL_CLUSTER)
                        .cloned()
                        .unwrap_or_default();
                    context.metrics.record_drain(
                        &cluster,
                        &shard.name_any(),
                        if timed_out {
                            crate::telemetry::metrics::DrainResult::Timeout
                        } else {
                            crate::telemetry::metrics::DrainResult::Success
                        },
                    );
                }
                if completed {
                    context
                        .events
                        .normal(
                            Source::Shard,
                            reference,
                            "DrainCompleted",
                            format!("Pod {pod_name} completely drained"),
                        )
                        .await;
                }
                requeue = true;
            }
        }
    }
    Ok(if requeue {
        Next::After(DRAIN_REQUEUE)
    } else {
        Next::Done
    })
}

async fn topology_warning(context: &Context, reference: &ObjectReference, error: &TopoError) {
    // Go suppresses the event while the server is merely unreachable.
    if error.is_unavailable() {
        return;
    }
    context
        .events
        .warning(
            Source::Shard,
            reference,
            "TopologyError",
            format!(
                "Failed to connect to topology store: {}",
                crate::controllers::error_policy::chain_text(error)
            ),
        )
        .await;
}

/// Roles of the shard's pods as the topology reports them (§7.8).
fn pod_roles(
    previous: &ShardStatus,
    pods: &[Arc<Pod>],
    by_cell: &BTreeMap<String, Option<Vec<MultiPooler>>>,
) -> BTreeMap<String, String> {
    let complete = by_cell.values().all(Option::is_some);
    let mut found = BTreeMap::new();
    for poolers in by_cell.values().flatten() {
        for pooler in poolers {
            if let Some(pod) = pods
                .iter()
                .find(|pod| pod_matches_pooler(&pod.name_any(), pooler))
            {
                found.insert(pod.name_any(), pooler_role(pooler).as_str().to_owned());
            }
        }
    }
    if complete {
        return found;
    }
    let mut roles = previous.pod_roles.clone();
    roles.extend(found);
    roles
}

/// `status.podRoles` as a merge patch of the status (removed pods set to null).
async fn write_roles(
    context: &Context,
    shard: &Shard,
    previous: &ShardStatus,
    roles: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let mut patch = Map::new();
    for (pod, role) in roles {
        patch.insert(pod.clone(), json!(role));
    }
    for pod in previous.pod_roles.keys() {
        if !roles.contains_key(pod) {
            patch.insert(pod.clone(), Value::Null);
        }
    }
    context
        .apply
        .merge_patch_status::<Shard>(
            &shard.namespace().unwrap_or_default(),
            &shard.name_any(),
            &json!({"status": {"podRoles": patch}}),
        )
        .await
        .map_err(|source| Error::Status {
            object: crate::controllers::reporting::object_key(shard),
            source,
        })?;
    Ok(())
}

async fn set_drain_state(context: &Context, pod: &Pod, state: &str) -> Result<(), ApplyError> {
    context
        .apply
        .merge_patch::<Pod>(
            &pod.namespace().unwrap_or_default(),
            &pod.name_any(),
            &json!({"metadata": {"annotations": {ANNOTATION_DRAIN_STATE: state}}}),
        )
        .await
        .map(|_| ())
}
