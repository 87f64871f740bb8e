//! The TopoServer status (spec-controllers.md §5 "Status"), computed from the StatefulSet and
//! its pods as last observed.
//!
//! Pure: the time is an argument. Only the `Ready` condition is part of this status; the
//! `StorageClassValid` condition belongs to the guard's field manager.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use multigres_api::conditions::{
    self, READY, WorkloadObservation, any_crash_looping, compute_workload_phase, set_condition,
};
use multigres_api::v1alpha1::{TopoServer, TopoServerStatus};

/// What the status is computed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopoServerObservation {
    pub generation: i64,
    pub observed_generation: i64,
    pub spec_replicas: i32,
    pub ready_replicas: i32,
    pub pods_crash_looping: bool,
}

impl TopoServerObservation {
    pub fn new(stateful_set: &StatefulSet, pods: &[Arc<Pod>]) -> Self {
        let status = stateful_set.status.clone().unwrap_or_default();
        let pods: Vec<Pod> = pods.iter().map(|pod| pod.as_ref().clone()).collect();
        TopoServerObservation {
            generation: stateful_set.metadata.generation.unwrap_or_default(),
            observed_generation: status.observed_generation.unwrap_or_default(),
            spec_replicas: stateful_set
                .spec
                .as_ref()
                .and_then(|spec| spec.replicas)
                .unwrap_or(1),
            ready_replicas: status.ready_replicas.unwrap_or_default(),
            pods_crash_looping: any_crash_looping(&pods),
        }
    }
}

/// The status to write: `previous` supplies the condition's `lastTransitionTime`.
pub fn compute_status(
    topo_server: &TopoServer,
    previous: &TopoServerStatus,
    observed: &TopoServerObservation,
    services: &[Service],
    now: &Time,
) -> TopoServerStatus {
    let generation = topo_server.metadata.generation;
    let ready = conditions::topo_server_ready(
        observed.generation,
        observed.observed_generation,
        observed.spec_replicas,
        observed.ready_replicas,
    );
    let mut conditions: Vec<_> = previous
        .conditions
        .iter()
        .filter(|condition| condition.type_ == READY)
        .cloned()
        .collect();
    set_condition(&mut conditions, &ready, generation, now);
    let phase = compute_workload_phase(&WorkloadObservation {
        ready: i64::from(observed.ready_replicas),
        total: i64::from(observed.spec_replicas),
        generation: observed.generation,
        observed_generation: observed.observed_generation,
        pods_crash_looping: Some(observed.pods_crash_looping),
        component: "StatefulSet",
    });
    let service_name = |index: usize| {
        services
            .get(index)
            .and_then(|service| service.metadata.name.clone())
            .unwrap_or_default()
    };
    TopoServerStatus {
        observed_generation: generation.unwrap_or_default(),
        conditions,
        phase: Some(phase.phase),
        message: phase.message,
        // The builders return the headless (peer) Service first, then the client Service.
        client_service: service_name(1),
        peer_service: service_name(0),
    }
}
