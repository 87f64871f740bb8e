//! The pool planner against small hand-made pools: creation, ended and externally deleted
//! pods, scale-down through one drain, rolling updates one pod at a time with the primary last,
//! numeric ordering (fix 8), and the PVC rules of a finished drain.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod, PodCondition, PodStatus,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use pretty_assertions::assert_eq;

use super::*;

const BASE: &str = "orders-inventory-items-0-80-pool-main-east-0a1b2c3d";

fn pod(index: u32, hash: &str, ready: bool) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("{BASE}-{index}")),
            annotations: Some(BTreeMap::from([(
                ANNOTATION_SPEC_HASH.to_owned(),
                hash.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        status: Some(PodStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![
                PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..PodCondition::default()
                },
                PodCondition {
                    type_: "PodScheduled".into(),
                    status: "True".into(),
                    ..PodCondition::default()
                },
            ]),
            ..PodStatus::default()
        }),
        ..Pod::default()
    }
}

fn pvc(index: u32, size: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(format!("data-{BASE}-{index}")),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".into(), Quantity(size.into()))])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    }
}

fn desired(count: u32, hash: &str) -> Vec<(Pod, PersistentVolumeClaim)> {
    (0..count)
        .map(|i| (pod(i, hash, false), pvc(i, "1Gi")))
        .collect()
}

fn with_drain(mut pod: Pod, state: &str) -> Pod {
    pod.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(ANNOTATION_DRAIN_STATE.to_owned(), state.to_owned());
    pod
}

fn plan(
    replicas: u32,
    live: &[Pod],
    claims: &[PersistentVolumeClaim],
    want: Vec<(Pod, PersistentVolumeClaim)>,
    roles: &BTreeMap<String, String>,
) -> PoolPlan {
    plan_pool(&PoolCell {
        replicas,
        pods: live.iter().collect(),
        pvcs: claims
            .iter()
            .map(|c| (c.metadata.name.clone().unwrap_or_default(), c))
            .collect(),
        desired: want,
        roles,
        delete_pvc_when_scaled: true,
    })
}

fn names(plan: &PoolPlan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|action| match action {
            PoolAction::CreatePvc(c) => {
                format!("create-pvc {}", c.metadata.name.clone().unwrap_or_default())
            }
            PoolAction::CreatePod(p) => {
                format!("create-pod {}", p.metadata.name.clone().unwrap_or_default())
            }
            PoolAction::ExpandPvc { name, to, .. } => format!("expand {name} {to}"),
            PoolAction::DeleteEndedPod { name } => format!("delete-ended {name}"),
            PoolAction::InitiateDrain { pod, reason } => format!("drain {pod} {reason:?}"),
            PoolAction::SetDrainedLabel { pod, drained } => format!("label {pod} {drained}"),
            PoolAction::RemoveDrainedPod {
                pod, delete_pvc, ..
            } => {
                format!("remove {pod} pvc={}", delete_pvc.is_some())
            }
            PoolAction::ScaleDownBlocked { extra } => format!("blocked {extra}"),
        })
        .map(|text| text.replace(BASE, "p"))
        .collect()
}

#[test]
fn an_empty_pool_gets_every_pvc_and_pod_in_one_pass() {
    let roles = BTreeMap::new();
    let result = plan(3, &[], &[], desired(3, "aaaa"), &roles);
    assert_eq!(
        names(&result),
        vec![
            "create-pvc data-p-0",
            "create-pod p-0",
            "create-pvc data-p-1",
            "create-pod p-1",
            "create-pvc data-p-2",
            "create-pod p-2"
        ]
    );
}

#[test]
fn a_converged_pool_plans_nothing() {
    let roles = BTreeMap::new();
    let live: Vec<Pod> = (0..3).map(|i| pod(i, "aaaa", true)).collect();
    let claims: Vec<_> = (0..3).map(|i| pvc(i, "1Gi")).collect();
    assert_eq!(
        plan(3, &live, &claims, desired(3, "aaaa"), &roles),
        PoolPlan::default()
    );
}

#[test]
fn a_bigger_size_expands_the_claims_and_never_shrinks_them() {
    let roles = BTreeMap::new();
    let live: Vec<Pod> = (0..2).map(|i| pod(i, "aaaa", true)).collect();
    let claims = vec![pvc(0, "512Mi"), pvc(1, "2Gi")];
    assert_eq!(
        names(&plan(2, &live, &claims, desired(2, "aaaa"), &roles)),
        vec!["expand data-p-0 1Gi"]
    );
}

#[test]
fn scale_down_drains_the_highest_index_once_the_pool_is_healthy() {
    let roles = BTreeMap::new();
    let live: Vec<Pod> = (0..4).map(|i| pod(i, "aaaa", true)).collect();
    let claims: Vec<_> = (0..4).map(|i| pvc(i, "1Gi")).collect();
    assert_eq!(
        names(&plan(2, &live, &claims, desired(2, "aaaa"), &roles)),
        vec!["drain p-3 ScaleDown"]
    );
    let mut unhealthy = live.clone();
    unhealthy[0] = pod(0, "aaaa", false);
    assert_eq!(
        names(&plan(2, &unhealthy, &claims, desired(2, "aaaa"), &roles)),
        vec!["blocked 2"]
    );
}

#[test]
fn a_finished_drain_removes_the_pod_and_deletes_its_pvc_only_beyond_the_replicas() {
    let roles = BTreeMap::new();
    let mut live: Vec<Pod> = (0..3).map(|i| pod(i, "aaaa", true)).collect();
    live[2] = with_drain(live[2].clone(), READY_FOR_DELETION);
    let claims: Vec<_> = (0..3).map(|i| pvc(i, "1Gi")).collect();
    assert_eq!(
        names(&plan(2, &live, &claims, desired(2, "aaaa"), &roles)),
        vec!["remove p-2 pvc=true"]
    );
    // Within the replicas (a rolling update): the data stays.
    assert_eq!(
        names(&plan(3, &live, &claims, desired(3, "aaaa"), &roles)),
        vec!["remove p-2 pvc=false"]
    );
}

#[test]
fn a_rolling_update_drains_one_replica_at_a_time_in_numeric_order_and_the_primary_last() {
    let live: Vec<Pod> = [2, 10, 1].iter().map(|i| pod(*i, "old", true)).collect();
    let claims: Vec<_> = (0..11).map(|i| pvc(i, "1Gi")).collect();
    let mut want = desired(11, "new");
    want.truncate(11);
    let roles = BTreeMap::from([(format!("{BASE}-1"), ROLE_PRIMARY.to_owned())]);
    let mut all: Vec<Pod> = (0..11)
        .filter(|i| ![1, 2, 10].contains(i))
        .map(|i| pod(i, "new", true))
        .collect();
    all.extend(live);
    let result = plan(11, &all, &claims, want.clone(), &roles);
    assert_eq!(names(&result), vec!["drain p-2 DriftedReplica"]);
    assert_eq!(result.drifted, 3);
    // Only the primary left drifted: it goes last.
    let mut only_primary: Vec<Pod> = (0..11)
        .filter(|i| *i != 1)
        .map(|i| pod(i, "new", true))
        .collect();
    only_primary.push(pod(1, "old", true));
    assert_eq!(
        names(&plan(11, &only_primary, &claims, want, &roles)),
        vec!["drain p-1 DriftedPrimary"]
    );
}

#[test]
fn ended_and_externally_deleted_pods_take_the_one_disruptive_step() {
    let roles = BTreeMap::new();
    let mut live: Vec<Pod> = (0..3).map(|i| pod(i, "aaaa", true)).collect();
    live[0].status.as_mut().expect("status").phase = Some("Failed".into());
    live[1].metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
    let claims: Vec<_> = (0..3).map(|i| pvc(i, "1Gi")).collect();
    assert_eq!(
        names(&plan(3, &live, &claims, desired(3, "aaaa"), &roles)),
        vec!["delete-ended p-0"]
    );
    live[0] = pod(0, "aaaa", true);
    assert_eq!(
        names(&plan(3, &live, &claims, desired(3, "aaaa"), &roles)),
        vec!["drain p-1 ExternalDeletion"]
    );
}

#[test]
fn a_drained_pod_is_labelled_and_gets_a_stand_in() {
    let roles = BTreeMap::from([(format!("{BASE}-0.headless.ns.svc"), ROLE_DRAINED.to_owned())]);
    let live: Vec<Pod> = (0..2).map(|i| pod(i, "aaaa", true)).collect();
    let refs: Vec<&Pod> = live.iter().collect();
    assert_eq!(drained_count(&refs, &roles), 1);
    let claims: Vec<_> = (0..2).map(|i| pvc(i, "1Gi")).collect();
    assert_eq!(
        names(&plan(2, &live, &claims, desired(3, "aaaa"), &roles)),
        vec!["label p-0 true", "create-pvc data-p-2", "create-pod p-2"]
    );
}
