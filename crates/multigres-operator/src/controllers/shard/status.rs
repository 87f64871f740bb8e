//! The Shard status (spec-controllers.md §7.13): pools and multiorch readiness, phase,
//! `Available`, from the pods and Deployments as last observed.
//!
//! Pure: the time is an argument. The status written keeps every condition other writers own,
//! and the pod roles and backup fields as they are; it carries the StorageClass guard's
//! `StorageClassValid`, so a pass writes its status once (Go applies the guard's condition in
//! writes of its own, with the `multigres-resource-handler-guard` manager).

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use multigres_api::conditions::{
    DesiredCondition, ShardObservation, is_crash_looping, set_condition, shard_available,
    shard_phase,
};
use multigres_api::labels::{ANNOTATION_DRAIN_REQUESTED_AT, ANNOTATION_DRAIN_STATE};
use multigres_api::v1alpha1::{CellName, Shard, ShardStatus};

use super::pool::pod_ready;

/// One pool in one cell as observed.
pub struct PoolObservation<'a> {
    pub pool: &'a str,
    pub cell: &'a str,
    pub desired: i64,
    pub pods: Vec<Arc<Pod>>,
}

/// One multiorch cell as observed.
pub struct OrchObservation {
    pub deployment: Option<Arc<Deployment>>,
    pub pods: Vec<Arc<Pod>>,
}

/// The counts of one pool in one cell that status and metrics report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolCount {
    pub pool: String,
    pub cell: String,
    pub desired: i64,
    pub ready: i64,
}

fn has_drain(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .is_some_and(|annotations| {
            annotations.contains_key(ANNOTATION_DRAIN_STATE)
                || annotations.contains_key(ANNOTATION_DRAIN_REQUESTED_AT)
        })
}

/// The status to write, and the per-pool counts (for the PoolEmpty warning and metrics).
pub fn compute_status(
    shard: &Shard,
    previous: &ShardStatus,
    pools: &[PoolObservation<'_>],
    orch: &[OrchObservation],
    orch_cells: &[String],
    guard: &DesiredCondition,
    now: &Time,
) -> (ShardStatus, Vec<PoolCount>) {
    let mut counts = Vec::new();
    let mut total = 0i64;
    let mut ready_total = 0i64;
    let mut pool_crash = false;
    for pool in pools {
        let mut ready = 0;
        for pod in &pool.pods {
            if pod.metadata.deletion_timestamp.is_some() || has_drain(pod) {
                continue;
            }
            if is_crash_looping(pod) {
                pool_crash = true;
            }
            if pod_ready(pod) {
                ready += 1;
            }
        }
        total += pool.desired;
        ready_total += ready;
        counts.push(PoolCount {
            pool: pool.pool.to_owned(),
            cell: pool.cell.to_owned(),
            desired: pool.desired,
            ready,
        });
    }
    let mut orch_ready = !orch.is_empty();
    let mut orch_crash = false;
    for cell in orch {
        match &cell.deployment {
            None => orch_ready = false,
            Some(deployment) => {
                let status = deployment.status.clone().unwrap_or_default();
                let replicas = deployment.spec.as_ref().and_then(|s| s.replicas);
                let current = status.observed_generation == deployment.metadata.generation;
                if !(replicas.is_some()
                    && current
                    && status.ready_replicas.unwrap_or_default() == replicas.unwrap_or_default())
                {
                    orch_ready = false;
                }
            }
        }
        if cell
            .pods
            .iter()
            .any(|pod| pod.metadata.deletion_timestamp.is_none() && is_crash_looping(pod))
        {
            orch_crash = true;
        }
    }
    let observation = ShardObservation {
        total_pods: total,
        ready_pods: ready_total,
        pool_pods_crash_looping: pool_crash,
        orch_pods_crash_looping: orch_crash,
        orch_ready,
    };
    let phase = shard_phase(&observation);
    let generation = shard.metadata.generation;
    let mut conditions: Vec<_> = previous.conditions.clone();
    set_condition(&mut conditions, guard, generation, now);
    set_condition(
        &mut conditions,
        &shard_available(&observation),
        generation,
        now,
    );
    let cells: BTreeSet<String> = shard
        .spec
        .pools
        .values()
        .flat_map(|pool| pool.cells.iter().map(|c| c.as_str().to_owned()))
        .chain(orch_cells.iter().cloned())
        .collect();
    let status = ShardStatus {
        observed_generation: generation.unwrap_or_default(),
        conditions,
        phase: Some(phase.phase),
        message: phase.message,
        cells: cells.into_iter().map(CellName::new).collect(),
        orch_ready,
        pools_ready: observation.pools_ready(),
        last_backup_time: previous.last_backup_time.clone(),
        last_backup_type: previous.last_backup_type,
        pod_roles: previous.pod_roles.clone(),
        ready_replicas: i32::try_from(ready_total).unwrap_or(i32::MAX),
    };
    (status, counts)
}
