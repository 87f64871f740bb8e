//! The TopoServer status (spec-controllers.md §5 "Status"), computed from the StatefulSet and
//! its pods as last observed.
//!
//! Pure: the time is an argument. The status carries the `Ready` condition and the etcd
//! StorageClass guard's `StorageClassValid`, so a pass writes its status once (Go applies the
//! guard's condition in a write of its own, with the `multigres-operator-guard` manager).

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use multigres_api::conditions::{
    self, DesiredCondition, READY, WorkloadObservation, any_crash_looping, compute_workload_phase,
    set_condition,
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
    /// Before the StatefulSet is seen in the cache (just created): nothing observed, nothing
    /// ready, as the StatefulSet reports itself until its controller has looked at it.
    pub fn not_observed(spec_replicas: i32) -> Self {
        TopoServerObservation {
            generation: 1,
            observed_generation: 0,
            spec_replicas,
            ready_replicas: 0,
            pods_crash_looping: false,
        }
    }

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

/// The status to write, with the guard's condition: `previous` supplies the conditions'
/// `lastTransitionTime`.
pub fn compute_status(
    topo_server: &TopoServer,
    previous: &TopoServerStatus,
    observed: &TopoServerObservation,
    services: &[Service],
    guard: &DesiredCondition,
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
        .filter(|condition| condition.type_ == READY || condition.type_ == guard.type_)
        .cloned()
        .collect();
    set_condition(&mut conditions, guard, generation, now);
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

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use k8s_openapi::jiff::Timestamp;
    use multigres_api::conditions::{
        STORAGE_CLASS_VALID, StorageClassSubject, storage_class_valid,
    };
    use multigres_api::v1alpha1::{Phase, TopoServerSpec};

    fn topo_server() -> TopoServer {
        TopoServer {
            metadata: ObjectMeta {
                name: Some("t".into()),
                namespace: Some("default".into()),
                generation: Some(1),
                ..ObjectMeta::default()
            },
            spec: TopoServerSpec::default(),
            status: None,
        }
    }

    #[test]
    fn the_first_status_carries_the_guard_and_says_nothing_is_observed_yet() {
        let now = Time(Timestamp::from_second(1_700_000_000).expect("a valid time"));
        let guard = storage_class_valid(StorageClassSubject::Etcd, None, false);
        let status = compute_status(
            &topo_server(),
            &TopoServerStatus::default(),
            &TopoServerObservation::not_observed(3),
            &[],
            &guard,
            &now,
        );
        assert_eq!(status.phase, Some(Phase::Progressing));
        let types: Vec<&str> = status.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, vec![STORAGE_CLASS_VALID, READY]);
        assert_eq!(
            status.conditions[1].message,
            "StatefulSet update in progress"
        );
        // The guard's transition time stays while its status does not flip.
        let later = Time(Timestamp::from_second(1_700_000_100).expect("a valid time"));
        let next = compute_status(
            &topo_server(),
            &status,
            &TopoServerObservation::not_observed(3),
            &[],
            &guard,
            &later,
        );
        assert_eq!(next, status);
    }
}
