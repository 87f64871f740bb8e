//! What to do with the pods and data PVCs of one pool in one cell (spec-controllers.md §7.6):
//! create what is missing, notice drift, scale down through a drain, roll drifted pods one at a
//! time (replicas first, the primary last), and clean up drained pods.
//!
//! Pure: the live pods, PVCs and pod roles come in, a [`PoolPlan`] comes out; `reconcile.rs`
//! carries it out. At most one disruptive step (a drain started or a pod deleted) per pass.
//!
//! Deliberate fix 8: pods are iterated in numeric index order (`-2` before `-10`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use multigres_api::labels::{ANNOTATION_DRAIN_STATE, ANNOTATION_SPEC_HASH, LABEL_ROLE};
use multigres_api::quantity::GoQuantity;

/// The `drain.multigres.com/state` value of a pod whose drain finished.
pub const READY_FOR_DELETION: &str = "ready-for-deletion";
/// The topology role of a pooler taken out of service.
pub const ROLE_DRAINED: &str = "DRAINED";
/// The topology role of the primary.
pub const ROLE_PRIMARY: &str = "PRIMARY";

/// Why a drain is started; each has its Event (§15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainReason {
    /// The pod is terminating (deleted by someone else) and had no drain yet.
    ExternalDeletion,
    /// Its data PVC waits for a filesystem resize that needs the pod restarted.
    FilesystemResize,
    /// It is beyond the pool's replicas.
    ScaleDown,
    /// Its spec hash is stale and it is not the primary.
    DriftedReplica,
    /// Its spec hash is stale and it is the primary (last).
    DriftedPrimary,
}

/// One step of the plan, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolAction {
    /// Create the data PVC (plain create).
    CreatePvc(Box<PersistentVolumeClaim>),
    /// Grow a data PVC's storage request (merge patch); never shrinks.
    ExpandPvc {
        name: String,
        from: String,
        to: String,
    },
    /// Create the pod (plain create).
    CreatePod(Box<Pod>),
    /// Delete a pod that ended (Failed or Succeeded); it is recreated next pass.
    DeleteEndedPod { name: String },
    /// Start a drain by annotating the pod.
    InitiateDrain { pod: String, reason: DrainReason },
    /// Add or remove the `multigres.com/role=DRAINED` label.
    SetDrainedLabel { pod: String, drained: bool },
    /// The drain finished: delete the data PVC when the policy says so, then the pod.
    RemoveDrainedPod {
        pod: String,
        delete_pvc: Option<String>,
        was_drained: bool,
    },
    /// Extra pods wait because the pool is not healthy.
    ScaleDownBlocked { extra: usize },
}

/// What to do, and what was observed on the way.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolPlan {
    pub actions: Vec<PoolAction>,
    /// Pods whose spec hash differs from the desired one.
    pub drifted: usize,
    /// A drain is in progress or pods are drifted (the rolling-update metric).
    pub rolling_update_in_progress: bool,
}

/// The observed state of one pool in one cell, and what is desired of it.
pub struct PoolCell<'a> {
    /// `replicasPerCell` (user-desired).
    pub replicas: u32,
    /// Every pod with this pool's and cell's labels.
    pub pods: Vec<&'a Pod>,
    /// The data PVCs of this pool and cell, by name.
    pub pvcs: BTreeMap<String, &'a PersistentVolumeClaim>,
    /// The desired pod and PVC per index, for `0..effective` (effective = replicas + DRAINED
    /// pods, see [`drained_count`]).
    pub desired: Vec<(Pod, PersistentVolumeClaim)>,
    /// `status.podRoles` of the Shard.
    pub roles: &'a BTreeMap<String, String>,
    /// The effective `whenScaled` is Delete (§7.9).
    pub delete_pvc_when_scaled: bool,
}

/// The index of a pool pod: the number after the last `-` of its name.
pub fn pod_index(name: &str) -> Option<u32> {
    name.rsplit_once('-')?.1.parse().ok()
}

/// Go `resolvePodRole`: the exact key, else a key starting with `<pod>.` (FQDN keys).
pub fn pod_role<'a>(roles: &'a BTreeMap<String, String>, pod: &str) -> Option<&'a str> {
    roles.get(pod).map(String::as_str).or_else(|| {
        let prefix = format!("{pod}.");
        roles
            .iter()
            .find(|(key, _)| key.starts_with(&prefix))
            .map(|(_, role)| role.as_str())
    })
}

/// How many of `pods` the topology reports DRAINED (each gets a stand-in replica).
pub fn drained_count(pods: &[&Pod], roles: &BTreeMap<String, String>) -> u32 {
    let count = pods
        .iter()
        .filter(|pod| pod_role(roles, &name(pod)) == Some(ROLE_DRAINED))
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
        .filter(|value| !value.is_empty())
}

fn drain_state(pod: &Pod) -> Option<&str> {
    annotation(pod, ANNOTATION_DRAIN_STATE)
}

fn terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

fn condition_true(pod: &Pod, type_: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == type_ && c.status == "True")
        })
}

/// `PodReady` is True.
pub fn pod_ready(pod: &Pod) -> bool {
    condition_true(pod, "Ready")
}

/// Go `podNeedsUpdate`: a live pod whose spec hash differs from the desired pod's at its
/// index (no desired pod there: not drifted).
fn needs_update(pod: &Pod, desired: &[(Pod, PersistentVolumeClaim)]) -> bool {
    if terminating(pod) {
        return false;
    }
    let Some(hash) = annotation(pod, ANNOTATION_SPEC_HASH) else {
        return true;
    };
    let Some((want, _)) = pod_index(&name(pod)).and_then(|i| desired.get(i as usize)) else {
        return false;
    };
    want.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_SPEC_HASH))
        .is_some_and(|desired_hash| desired_hash != hash)
}

fn storage_request(claim: &PersistentVolumeClaim) -> Option<String> {
    claim
        .spec
        .as_ref()?
        .resources
        .as_ref()?
        .requests
        .as_ref()?
        .get("storage")
        .map(|q| q.0.clone())
}

fn resize_pending(claim: &PersistentVolumeClaim) -> bool {
    claim
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "FileSystemResizePending" && c.status == "True")
        })
}

/// Sorts pods by numeric index, pods without one last by name (fix 8).
fn by_index<'a>(pods: &[&'a Pod]) -> Vec<&'a Pod> {
    let mut sorted = pods.to_vec();
    sorted.sort_by_key(|pod| {
        let name = name(pod);
        (pod_index(&name).map_or((1, 0), |i| (0, i)), name)
    });
    sorted
}

/// Plans one pass over a pool in a cell (§7.6 phases 0–3).
pub fn plan_pool(pool: &PoolCell<'_>) -> PoolPlan {
    let mut plan = PoolPlan::default();
    let pods_by_name: BTreeMap<String, &Pod> = pool.pods.iter().map(|p| (name(p), *p)).collect();
    let effective = u32::try_from(pool.desired.len()).unwrap_or(u32::MAX);

    // Phase 0: the DRAINED label follows the topology role.
    for pod in by_index(&pool.pods) {
        let pod_name = name(pod);
        let drained = pod_role(pool.roles, &pod_name) == Some(ROLE_DRAINED);
        let labelled = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_ROLE))
            .is_some_and(|v| v == ROLE_DRAINED);
        if drained != labelled {
            plan.actions.push(PoolAction::SetDrainedLabel {
                pod: pod_name,
                drained,
            });
        }
    }

    // Phase 1: create what is missing; one disruptive step at most.
    let mut action_taken = false;
    for (want_pod, want_pvc) in &pool.desired {
        let pvc_name = want_pvc.metadata.name.clone().unwrap_or_default();
        match pool.pvcs.get(&pvc_name) {
            None => plan
                .actions
                .push(PoolAction::CreatePvc(Box::new(want_pvc.clone()))),
            Some(live) => {
                if let (Some(from), Some(to)) = (storage_request(live), storage_request(want_pvc))
                    && let (Ok(current), Ok(desired)) =
                        (GoQuantity::parse(&from), GoQuantity::parse(&to))
                    && desired.cmp_value(&current) == std::cmp::Ordering::Greater
                {
                    plan.actions.push(PoolAction::ExpandPvc {
                        name: pvc_name.clone(),
                        from,
                        to,
                    });
                }
            }
        }
        let pod_name = want_pod.metadata.name.clone().unwrap_or_default();
        let Some(pod) = pods_by_name.get(&pod_name) else {
            plan.actions
                .push(PoolAction::CreatePod(Box::new(want_pod.clone())));
            action_taken = true;
            continue;
        };
        if matches!(phase(pod), "Failed" | "Succeeded") && !terminating(pod) {
            if !action_taken {
                plan.actions
                    .push(PoolAction::DeleteEndedPod { name: pod_name });
                action_taken = true;
            }
            continue;
        }
        if terminating(pod) {
            if !action_taken {
                if let Some(action) = external_deletion(pod) {
                    plan.actions.push(action);
                }
                action_taken = true;
            }
            continue;
        }
        if needs_update(pod, &pool.desired) {
            plan.drifted += 1;
        }
        if !action_taken
            && drain_state(pod).is_none()
            && pool
                .pvcs
                .get(&pvc_name)
                .is_some_and(|pvc| resize_pending(pvc))
        {
            plan.actions.push(PoolAction::InitiateDrain {
                pod: pod_name,
                reason: DrainReason::FilesystemResize,
            });
            action_taken = true;
        }
    }

    // Phase 2: scale down.
    let mut in_progress = false;
    let mut ready_for_deletion = Vec::new();
    let mut extra = Vec::new();
    for pod in by_index(&pool.pods) {
        let pod_name = name(pod);
        match drain_state(pod) {
            Some(READY_FOR_DELETION) => {
                ready_for_deletion.push(pod);
                continue;
            }
            Some(_) => in_progress = true,
            None if terminating(pod) => in_progress = true,
            None => {}
        }
        if pod_index(&pod_name).is_none_or(|i| i >= effective) {
            extra.push(pod);
        }
    }
    for pod in &extra {
        if terminating(pod) && drain_state(pod).is_none() && !action_taken {
            if let Some(action) = external_deletion(pod) {
                plan.actions.push(action);
            }
            action_taken = true;
        }
    }
    for pod in ready_for_deletion {
        let pod_name = name(pod);
        let was_drained = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_ROLE))
            .is_some_and(|v| v == ROLE_DRAINED);
        let index = pod_index(&pod_name);
        let delete_pvc = (was_drained
            || (pool.delete_pvc_when_scaled && index.is_some_and(|i| i >= pool.replicas)))
        .then(|| data_pvc_name(&pod_name))
        .flatten();
        plan.actions.push(PoolAction::RemoveDrainedPod {
            pod: pod_name,
            delete_pvc,
            was_drained,
        });
        action_taken = true;
    }
    if !action_taken && !in_progress && !extra.is_empty() {
        let healthy = pool.pods.iter().all(|pod| {
            drain_state(pod).is_some()
                || terminating(pod)
                || pod_index(&name(pod)).is_none_or(|i| i >= effective)
                || pod_role(pool.roles, &name(pod)) == Some(ROLE_DRAINED)
                || pod_ready(pod)
        });
        if !healthy {
            plan.actions
                .push(PoolAction::ScaleDownBlocked { extra: extra.len() });
        } else if let Some(victim) =
            extra
                .iter()
                .filter(|pod| !terminating(pod))
                .max_by_key(|pod| {
                    let pod_name = name(pod);
                    let mut score = i64::from(pod_index(&pod_name).unwrap_or(0));
                    if pod_role(pool.roles, &pod_name) == Some(ROLE_PRIMARY) {
                        score -= 1000;
                    }
                    if !pod_ready(pod) {
                        score += 500;
                    }
                    score
                })
            && drain_state(victim).is_none()
        {
            plan.actions.push(PoolAction::InitiateDrain {
                pod: name(victim),
                reason: DrainReason::ScaleDown,
            });
            action_taken = true;
        }
    }

    // Phase 3: rolling update, one pod per pass, the primary last.
    plan.rolling_update_in_progress = in_progress || plan.drifted > 0;
    if action_taken || in_progress || plan.drifted == 0 {
        return plan;
    }
    let mut drifted_primary = None;
    for pod in by_index(&pool.pods) {
        if !needs_update(pod, &pool.desired) {
            continue;
        }
        let pod_name = name(pod);
        if pod_role(pool.roles, &pod_name) != Some(ROLE_PRIMARY) {
            plan.actions.push(PoolAction::InitiateDrain {
                pod: pod_name,
                reason: DrainReason::DriftedReplica,
            });
            return plan;
        }
        drifted_primary = Some(pod);
    }
    if let Some(primary) = drifted_primary
        && drain_state(primary).is_none()
    {
        plan.actions.push(PoolAction::InitiateDrain {
            pod: name(primary),
            reason: DrainReason::DriftedPrimary,
        });
    }
    plan
}

/// Go `handleExternalDeletion`: a pod that was scheduled and has no drain yet gets one.
fn external_deletion(pod: &Pod) -> Option<PoolAction> {
    (condition_true(pod, "PodScheduled") && drain_state(pod).is_none()).then(|| {
        PoolAction::InitiateDrain {
            pod: name(pod),
            reason: DrainReason::ExternalDeletion,
        }
    })
}

/// The data PVC of a pool pod: `data-<pod name>` (§13.4: the PVC name is the pod name
/// prefixed, both built from the same join).
fn data_pvc_name(pod: &str) -> Option<String> {
    Some(format!("data-{pod}"))
}

#[cfg(test)]
mod tests;
