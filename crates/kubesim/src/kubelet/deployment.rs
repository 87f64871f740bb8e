//! The Deployment controller (apps/v1): one ReplicaSet per pod template (replica_set.rs), whose
//! pods are `<deployment>-<pod-template-hash>-<5 random>` with the `pod-template-hash` label and
//! a controller reference to their ReplicaSet, and the status the real controller reports
//! (replicas, updated/ready/available/unavailable counts, `observedGeneration`, conditions
//! `Available` and `Progressing`, naming the current ReplicaSet `<deployment>-<hash>`).
//!
//! Rolling updates follow upstream `rolloutRolling`: scale the new template up within
//! `maxSurge` (default 25 %, rounded up), delete unavailable old pods, then old pods down to
//! `replicas - maxUnavailable` (default 25 %, rounded down; at least 1 when both are 0)
//! available ones. `Recreate` deletes every old pod first. Pods to delete are ranked as
//! upstream's `ActivePods`: unscheduled, then pending, then not ready, then the newest.
//!
//! Pure: [`plan`] turns the Deployment and the pods it controls into the creates, deletes and
//! status to write; the runtime writes them and runs it again on the next change.

use std::cmp::Reverse;

use serde_json::{Map, Value, json};

use super::availability::{min_ready_seconds, pod_availability};
use super::object_fields::{
    condition, controller_reference, is_deleting, labels, name, namespace, pod_is_active,
    pod_is_running_and_ready, str_at,
};
use super::sim_time::SimClock;
use super::template_hash::template_hash;

/// The label carrying the template hash.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// What to write for one Deployment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeploymentPlan {
    /// Pods to create (with `generateName`).
    pub create: Vec<Value>,
    /// Names of pods to delete.
    pub delete: Vec<String>,
    /// The desired `status`.
    pub status: Value,
    /// Simulated seconds until a ready pod becomes available (then plan again).
    pub recheck_after: Option<f64>,
}

/// `replicas` of a workload (default 1).
pub fn desired_replicas(workload: &Value) -> usize {
    workload
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .map_or(1, |r| usize::try_from(r).unwrap_or(0))
}

/// An int-or-percent (`maxSurge`, `maxUnavailable`) resolved against `total`.
fn resolve(value: Option<&Value>, total: usize, round_up: bool) -> usize {
    match value {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0),
        Some(Value::String(s)) => {
            let percent: usize = s.trim_end_matches('%').parse().unwrap_or(0);
            let scaled = total * percent;
            if round_up {
                scaled.div_ceil(100)
            } else {
                scaled / 100
            }
        }
        _ => {
            let scaled = total * 25;
            if round_up {
                scaled.div_ceil(100)
            } else {
                scaled / 100
            }
        }
    }
}

/// `maxSurge` and `maxUnavailable` of a RollingUpdate Deployment (0 and 0 for Recreate).
fn rolling_limits(deploy: &Value, replicas: usize) -> (usize, usize) {
    if str_at(deploy, "/spec/strategy/type") == "Recreate" {
        return (0, 0);
    }
    let rolling = deploy.pointer("/spec/strategy/rollingUpdate");
    let surge = resolve(rolling.and_then(|r| r.get("maxSurge")), replicas, true);
    let mut unavailable = resolve(
        rolling.and_then(|r| r.get("maxUnavailable")),
        replicas,
        false,
    );
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    if replicas == 0 {
        unavailable = 0;
    }
    (surge, unavailable.min(replicas))
}

/// Deletion order (upstream `ActivePods` ranking): unscheduled, pending, not ready, newest.
fn deletion_rank(pod: &Value) -> impl Ord + '_ {
    let scheduled = !str_at(pod, "/spec/nodeName").is_empty();
    let phase = match str_at(pod, "/status/phase") {
        "Pending" | "" => 0,
        "Running" => 2,
        _ => 1,
    };
    (
        scheduled,
        phase,
        pod_is_running_and_ready(pod),
        Reverse(str_at(pod, "/metadata/creationTimestamp")),
        Reverse(name(pod)),
    )
}

fn ranked(mut pods: Vec<&Value>) -> Vec<&Value> {
    pods.sort_by(|a, b| deletion_rank(a).cmp(&deletion_rank(b)));
    pods
}

/// The pod the Deployment's current ReplicaSet `set` (`<deploy>-<hash>`) creates.
fn new_pod(deploy: &Value, set: &Value, hash: &str) -> Value {
    let template = deploy
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut pod_labels = Map::new();
    for (k, v) in labels(&template) {
        pod_labels.insert(k, json!(v));
    }
    pod_labels.insert(POD_TEMPLATE_HASH.into(), json!(hash));
    let mut metadata = Map::new();
    metadata.insert(
        "generateName".into(),
        json!(format!("{}-{hash}-", name(deploy))),
    );
    metadata.insert("namespace".into(), json!(namespace(deploy)));
    metadata.insert("labels".into(), Value::Object(pod_labels));
    if let Some(annotations) = template.pointer("/metadata/annotations") {
        metadata.insert("annotations".into(), annotations.clone());
    }
    metadata.insert(
        "ownerReferences".into(),
        json!([controller_reference(set, "apps/v1", "ReplicaSet")]),
    );
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
           "spec": template.get("spec").cloned().unwrap_or_else(|| json!({}))})
}

fn deployment_condition(
    existing: Option<&Value>,
    condition_type: &str,
    status: bool,
    reason: &str,
    message: String,
    now: &str,
) -> Value {
    let status = if status { "True" } else { "False" };
    // Upstream `SetDeploymentCondition`: same status and reason → keep the condition as is.
    if let Some(old) = existing
        && str_at(old, "/status") == status
        && str_at(old, "/reason") == reason
    {
        return old.clone();
    }
    let transition = existing
        .filter(|old| str_at(old, "/status") == status)
        .map(|old| str_at(old, "/lastTransitionTime").to_string())
        .unwrap_or_else(|| now.to_string());
    json!({"type": condition_type, "status": status, "lastUpdateTime": now,
           "lastTransitionTime": transition, "reason": reason, "message": message})
}

fn insert_nonzero(map: &mut Map<String, Value>, key: &str, value: usize) {
    if value > 0 {
        map.insert(key.into(), json!(value));
    }
}

fn collision_count(deploy: &Value) -> u32 {
    deploy
        .pointer("/status/collisionCount")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(0)
}

/// The `pod-template-hash` of the Deployment's current template.
pub fn current_hash(deploy: &Value) -> String {
    let template = deploy
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    template_hash(&template, collision_count(deploy))
}

/// Decides the next writes for `deploy`, given the pods of its ReplicaSets and its current
/// set `new_set` (`<deploy>-<hash>`; no pods are created without it).
pub fn plan(
    deploy: &Value,
    new_set: Option<&Value>,
    pods: &[&Value],
    clock: &SimClock,
) -> DeploymentPlan {
    let replicas = desired_replicas(deploy);
    let hash = current_hash(deploy);
    let replica_set = format!("{}-{hash}", name(deploy));
    let min_ready = min_ready_seconds(deploy);
    let mut recheck_after: Option<f64> = None;
    let mut available = |pod: &Value| {
        let (ok, wait) = pod_availability(pod, min_ready, clock);
        if let Some(wait) = wait {
            recheck_after = Some(recheck_after.map_or(wait, |r: f64| r.min(wait)));
        }
        ok
    };
    let active: Vec<&Value> = pods.iter().copied().filter(|p| pod_is_active(p)).collect();
    let is_new =
        |p: &&Value| labels(p).get(POD_TEMPLATE_HASH).map(String::as_str) == Some(hash.as_str());
    let new: Vec<&Value> = active.iter().copied().filter(is_new).collect();
    let old: Vec<&Value> = active.iter().copied().filter(|p| !is_new(p)).collect();
    let new_available = new.iter().filter(|p| available(p)).count();
    let old_available: Vec<bool> = old.iter().map(|p| available(p)).collect();
    let (surge, max_unavailable) = rolling_limits(deploy, replicas);
    let min_available = replicas.saturating_sub(max_unavailable);

    let mut creates = 0usize;
    let mut deletes: Vec<&Value> = Vec::new();
    let paused = deploy.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
    if !paused && new_set.is_some() {
        if old.is_empty() {
            let old_terminating = pods.iter().any(|p| is_deleting(p) && !is_new(p));
            let recreate = str_at(deploy, "/spec/strategy/type") == "Recreate";
            if new.len() < replicas && !(recreate && old_terminating) {
                creates = replicas - new.len();
            } else if new.len() > replicas {
                deletes.extend(ranked(new.clone()).into_iter().take(new.len() - replicas));
            }
        } else if str_at(deploy, "/spec/strategy/type") == "Recreate" {
            deletes.extend(old.iter().copied());
        } else {
            let total = new.len() + old.len();
            if new.len() < replicas {
                creates = (replicas - new.len()).min((replicas + surge).saturating_sub(total));
            } else if new.len() > replicas {
                deletes.extend(ranked(new.clone()).into_iter().take(new.len() - replicas));
            }
            let all = total + creates;
            let new_unavailable = new.len() + creates - new_available;
            // Unavailable old pods go first, within the budget that keeps minAvailable.
            let mut budget = all.saturating_sub(min_available + new_unavailable);
            let unhealthy: Vec<&Value> = old
                .iter()
                .zip(&old_available)
                .filter(|(_, ok)| !**ok)
                .map(|(p, _)| *p)
                .collect();
            for pod in ranked(unhealthy) {
                if budget == 0 {
                    break;
                }
                deletes.push(pod);
                budget -= 1;
            }
            // Then available old pods, as far as availability allows.
            let remaining_available = old
                .iter()
                .zip(&old_available)
                .filter(|(p, ok)| **ok && !deletes.iter().any(|d| std::ptr::eq(*d, **p)))
                .map(|(p, _)| *p)
                .collect::<Vec<_>>();
            let available_now = new_available + remaining_available.len();
            let scale_down = available_now.saturating_sub(min_available);
            deletes.extend(ranked(remaining_available).into_iter().take(scale_down));
        }
    }

    let ready = active
        .iter()
        .filter(|p| pod_is_running_and_ready(p))
        .count();
    let available_total = new_available + old_available.iter().filter(|a| **a).count();
    let now = clock.timestamp();
    let complete = new.len() == replicas && active.len() == replicas && available_total == replicas;
    let existing_progressing = condition(deploy, "Progressing");
    let available_condition = if available_total >= min_available {
        deployment_condition(
            condition(deploy, "Available"),
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            &now,
        )
    } else {
        deployment_condition(
            condition(deploy, "Available"),
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            &now,
        )
    };
    let names_this_set = existing_progressing
        .is_some_and(|c| str_at(c, "/message").contains(&format!("\"{replica_set}\"")));
    let progressing_condition = if complete {
        deployment_condition(
            existing_progressing.filter(|_| names_this_set),
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{replica_set}\" has successfully progressed."),
            &now,
        )
    } else if !names_this_set {
        deployment_condition(
            existing_progressing,
            "Progressing",
            true,
            "NewReplicaSetCreated",
            format!("Created new replica set \"{replica_set}\""),
            &now,
        )
    } else if creates > 0
        || !deletes.is_empty()
        || existing_progressing.is_some_and(|c| str_at(c, "/reason") == "NewReplicaSetAvailable")
    {
        deployment_condition(
            existing_progressing,
            "Progressing",
            true,
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{replica_set}\" is progressing."),
            &now,
        )
    } else {
        existing_progressing.cloned().unwrap_or(Value::Null)
    };

    let mut status = Map::new();
    let generation = deploy
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if generation > 0 {
        status.insert("observedGeneration".into(), json!(generation));
    }
    insert_nonzero(&mut status, "replicas", active.len());
    insert_nonzero(&mut status, "updatedReplicas", new.len());
    insert_nonzero(&mut status, "readyReplicas", ready);
    insert_nonzero(&mut status, "availableReplicas", available_total);
    insert_nonzero(
        &mut status,
        "unavailableReplicas",
        replicas.saturating_sub(available_total),
    );
    status.insert(
        "conditions".into(),
        json!([available_condition, progressing_condition]),
    );
    let collisions = collision_count(deploy);
    if collisions > 0 {
        status.insert("collisionCount".into(), json!(collisions));
    }

    DeploymentPlan {
        create: new_set
            .map(|set| (0..creates).map(|_| new_pod(deploy, set, &hash)).collect())
            .unwrap_or_default(),
        delete: deletes.iter().map(|p| name(p).to_string()).collect(),
        status: Value::Object(status),
        recheck_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const NOW: &str = "2026-03-01T10:00:00Z";

    fn clock() -> SimClock {
        SimClock {
            now: NOW.parse().expect("valid"),
            time_scale: 1.0,
        }
    }

    fn deploy(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop", "uid": "d-1", "generation": 2},
               "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "web", "image": image}]}}}})
    }

    fn hash_of(d: &Value) -> String {
        template_hash(&d["spec"]["template"], 0)
    }

    /// The Deployment's current ReplicaSet, as stored.
    fn set_of(d: &Value) -> Value {
        let mut set = super::super::replica_set::build_replica_set(d, &hash_of(d), &[]);
        set["metadata"]["uid"] = json!("rs-1");
        set
    }

    fn pod(name: &str, hash: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "labels": {"app": "web", POD_TEMPLATE_HASH: hash},
                            "creationTimestamp": "2026-03-01T09:00:00Z"},
               "spec": {"nodeName": "kubesim-a"},
               "status": {"phase": "Running", "conditions": [
                   {"type": "Ready", "status": if ready { "True" } else { "False" },
                    "lastTransitionTime": "2026-03-01T09:00:00Z"}]}})
    }

    #[test]
    fn a_new_deployment_creates_its_pods_and_reports_progress() {
        let d = deploy(3, "nginx:1");
        let hash = hash_of(&d);
        assert_eq!(
            plan(&d, None, &[], &clock()).create.len(),
            0,
            "no pods before their ReplicaSet"
        );
        let plan = plan(&d, Some(&set_of(&d)), &[], &clock());
        assert_eq!(plan.create.len(), 3);
        assert_eq!(
            plan.create[0],
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"generateName": format!("web-{hash}-"), "namespace": "shop",
                                "labels": {"app": "web", POD_TEMPLATE_HASH: hash},
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                     "name": format!("web-{hash}"), "uid": "rs-1",
                                                     "controller": true, "blockOwnerDeletion": true}]},
                   "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}})
        );
        assert_eq!(
            plan.status,
            json!({"observedGeneration": 2, "unavailableReplicas": 3, "conditions": [
                {"type": "Available", "status": "False", "lastUpdateTime": NOW, "lastTransitionTime": NOW,
                 "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."},
                {"type": "Progressing", "status": "True", "lastUpdateTime": NOW, "lastTransitionTime": NOW,
                 "reason": "NewReplicaSetCreated", "message": format!("Created new replica set \"web-{hash}\"")}]})
        );
    }

    #[test]
    fn a_converged_deployment_reports_complete_and_plans_nothing() {
        let mut d = deploy(2, "nginx:1");
        let hash = hash_of(&d);
        let pods = [pod("web-a", &hash, true), pod("web-b", &hash, true)];
        let refs: Vec<&Value> = pods.iter().collect();
        let first = plan(&d, Some(&set_of(&d)), &refs, &clock());
        assert_eq!((first.create.len(), first.delete.len()), (0, 0));
        assert_eq!(first.status["replicas"], 2);
        assert_eq!(first.status["updatedReplicas"], 2);
        assert_eq!(first.status["readyReplicas"], 2);
        assert_eq!(first.status["availableReplicas"], 2);
        assert_eq!(first.status.get("unavailableReplicas"), None);
        assert_eq!(
            first.status["conditions"][0]["reason"],
            "MinimumReplicasAvailable"
        );
        assert_eq!(
            first.status["conditions"][1]["message"],
            format!("ReplicaSet \"web-{hash}\" has successfully progressed.")
        );
        d["status"] = first.status.clone();
        let later = SimClock {
            now: "2026-03-01T11:00:00Z".parse().expect("valid"),
            time_scale: 1.0,
        };
        assert_eq!(
            plan(&d, Some(&set_of(&d)), &refs, &later).status,
            first.status,
            "no new times when nothing changed"
        );
    }

    #[test]
    fn scaling_down_deletes_unready_then_newest_pods() {
        let d = deploy(1, "nginx:1");
        let hash = hash_of(&d);
        let mut newest = pod("web-new", &hash, true);
        newest["metadata"]["creationTimestamp"] = json!("2026-03-01T09:30:00Z");
        let pods = [
            pod("web-old", &hash, true),
            newest,
            pod("web-unready", &hash, false),
        ];
        let refs: Vec<&Value> = pods.iter().collect();
        assert_eq!(
            plan(&d, Some(&set_of(&d)), &refs, &clock()).delete,
            vec!["web-unready", "web-new"]
        );
    }

    #[test]
    fn a_template_change_rolls_within_surge_and_unavailability() {
        let before = deploy(4, "nginx:1");
        let old_hash = hash_of(&before);
        let after = deploy(4, "nginx:2");
        let new_hash = hash_of(&after);
        let old: Vec<Value> = (0..4)
            .map(|i| pod(&format!("web-o{i}"), &old_hash, true))
            .collect();
        let refs: Vec<&Value> = old.iter().collect();
        // 25 %: surge 1, unavailable 1 → one new pod and one old pod deleted.
        let step = plan(&after, Some(&set_of(&after)), &refs, &clock());
        assert_eq!(step.create.len(), 1);
        assert_eq!(step.delete.len(), 1);
        assert_eq!(step.status["updatedReplicas"], json!(null));
        // Midway: 2 new (one ready), 3 old ready.
        let mut pods: Vec<Value> = (0..3)
            .map(|i| pod(&format!("web-o{i}"), &old_hash, true))
            .collect();
        pods.push(pod("web-n0", &new_hash, true));
        pods.push(pod("web-n1", &new_hash, false));
        let refs: Vec<&Value> = pods.iter().collect();
        let step = plan(&after, Some(&set_of(&after)), &refs, &clock());
        assert_eq!(step.create.len(), 0, "5 pods already, surge allows 5");
        assert_eq!(step.delete, vec!["web-o2"], "available 4, min available 3");
        // Done: the last old pod goes once the new ones are available.
        let mut pods: Vec<Value> = (0..4)
            .map(|i| pod(&format!("web-n{i}"), &new_hash, true))
            .collect();
        pods.push(pod("web-o0", &old_hash, true));
        let refs: Vec<&Value> = pods.iter().collect();
        assert_eq!(
            plan(&after, Some(&set_of(&after)), &refs, &clock()).delete,
            vec!["web-o0"]
        );
    }

    #[test]
    fn recreate_deletes_old_pods_before_creating_new_ones() {
        let mut after = deploy(2, "nginx:2");
        after["spec"]["strategy"] = json!({"type": "Recreate"});
        let old_hash = hash_of(&deploy(2, "nginx:1"));
        let pods = [
            pod("web-o0", &old_hash, true),
            pod("web-o1", &old_hash, true),
        ];
        let refs: Vec<&Value> = pods.iter().collect();
        let step = plan(&after, Some(&set_of(&after)), &refs, &clock());
        assert_eq!((step.create.len(), step.delete.len()), (0, 2));
        let mut terminating = pod("web-o0", &old_hash, true);
        terminating["metadata"]["deletionTimestamp"] = json!(NOW);
        let step = plan(&after, Some(&set_of(&after)), &[&terminating], &clock());
        assert_eq!(step.create.len(), 0, "waits for old pods to be gone");
        assert_eq!(
            plan(&after, Some(&set_of(&after)), &[], &clock())
                .create
                .len(),
            2
        );
    }

    #[test]
    fn min_ready_seconds_delays_availability() {
        let mut d = deploy(1, "nginx:1");
        d["spec"]["minReadySeconds"] = json!(5);
        let hash = hash_of(&d);
        let mut p = pod("web-a", &hash, true);
        p["status"]["conditions"][0]["lastTransitionTime"] = json!("2026-03-01T09:59:58Z");
        let step = plan(&d, Some(&set_of(&d)), &[&p], &clock());
        assert_eq!(step.status.get("availableReplicas"), None);
        assert_eq!(step.recheck_after, Some(3.0));
    }

    #[test]
    fn int_or_percent_limits_resolve_like_upstream() {
        assert_eq!(resolve(Some(&json!("25%")), 10, true), 3);
        assert_eq!(resolve(Some(&json!("25%")), 10, false), 2);
        assert_eq!(resolve(Some(&json!(2)), 10, false), 2);
        let mut d = deploy(1, "x");
        assert_eq!(rolling_limits(&d, 1), (1, 0));
        d["spec"]["strategy"] = json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}});
        assert_eq!(rolling_limits(&d, 3), (0, 1));
    }
}
