//! The Cell status (spec-controllers.md §4.4) from its multigateway Deployment and pods.
//!
//! Pure: the time is an argument.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use multigres_api::conditions::{
    AVAILABLE, DeploymentObservation, READY, WorkloadObservation, any_crash_looping,
    cell_available, cell_ready, compute_workload_phase, set_condition,
};
use multigres_api::v1alpha1::{Cell, CellStatus};

/// The status to write; `previous` supplies the conditions' `lastTransitionTime`.
pub fn compute_status(
    cell: &Cell,
    previous: &CellStatus,
    deployment: &Deployment,
    pods: &[Arc<Pod>],
    service_name: &str,
    now: &Time,
) -> CellStatus {
    let status = deployment.status.clone().unwrap_or_default();
    let observation = DeploymentObservation {
        generation: deployment.metadata.generation.unwrap_or_default(),
        observed_generation: status.observed_generation.unwrap_or_default(),
        replicas: status.replicas.unwrap_or_default(),
        ready_replicas: status.ready_replicas.unwrap_or_default(),
    };
    let generation = cell.metadata.generation;
    let mut conditions: Vec<_> = previous
        .conditions
        .iter()
        .filter(|condition| condition.type_ == AVAILABLE || condition.type_ == READY)
        .cloned()
        .collect();
    set_condition(
        &mut conditions,
        &cell_available(&observation),
        generation,
        now,
    );
    set_condition(&mut conditions, &cell_ready(&observation), generation, now);
    let pods: Vec<Pod> = pods.iter().map(|pod| pod.as_ref().clone()).collect();
    let phase = compute_workload_phase(&WorkloadObservation {
        ready: i64::from(observation.ready_replicas),
        total: i64::from(observation.replicas),
        generation: observation.generation,
        observed_generation: observation.observed_generation,
        pods_crash_looping: Some(any_crash_looping(&pods)),
        component: "Gateway",
    });
    CellStatus {
        observed_generation: generation.unwrap_or_default(),
        conditions,
        phase: Some(phase.phase),
        message: phase.message,
        gateway_replicas: observation.replicas,
        gateway_ready_replicas: observation.ready_replicas,
        gateway_service_name: service_name.to_owned(),
    }
}
