//! The StatefulSet controller (apps/v1): pods `<sts>-<ordinal>` with `hostname`/`subdomain`
//! (from `serviceName`) and the labels `controller-revision-hash`,
//! `statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index`; one
//! PersistentVolumeClaim per volumeClaimTemplate and ordinal, `<template>-<sts>-<ordinal>`,
//! created before its pod and kept on scale-down unless
//! `persistentVolumeClaimRetentionPolicy.whenScaled` is `Delete`; status replicas,
//! ready/current/updated/available counts, `observedGeneration`, `currentRevision` and
//! `updateRevision` (`<sts>-<hash>`).
//!
//! `OrderedReady` (the default) creates ordinals in order, each once the previous ones are
//! Running and Ready, and removes the highest ordinal first, one at a time; `Parallel` creates
//! and removes all at once. `RollingUpdate` replaces pods of an older revision from the highest
//! ordinal down to `partition`, one at a time while every pod is Ready; `OnDelete` leaves that
//! to the user. kubesim keeps no ControllerRevision objects, so a pod is always (re)created
//! from the current template.
//!
//! Pure: [`plan`] returns the writes; the runtime performs them and plans again.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::availability::{min_ready_seconds, pod_availability};
use super::deployment::desired_replicas;
use super::object_fields::{
    controller_reference, is_deleting, labels, name, namespace, pod_is_running_and_ready,
    pod_is_terminal, str_at, string_map,
};
use super::sim_time::SimClock;
use super::template_hash::template_hash;

pub const REVISION_LABEL: &str = "controller-revision-hash";
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// What to write for one StatefulSet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatefulSetPlan {
    /// Claims to create (before the pods).
    pub create_claims: Vec<Value>,
    pub create_pods: Vec<Value>,
    /// Names of pods to delete.
    pub delete_pods: Vec<String>,
    /// Names of claims to delete (`whenScaled: Delete`).
    pub delete_claims: Vec<String>,
    pub status: Value,
    /// Simulated seconds until a ready pod becomes available.
    pub recheck_after: Option<f64>,
}

fn start_ordinal(sts: &Value) -> usize {
    sts.pointer("/spec/ordinals/start")
        .and_then(Value::as_u64)
        .and_then(|s| usize::try_from(s).ok())
        .unwrap_or(0)
}

/// The ordinal of a pod named `<sts>-<n>`.
pub fn ordinal(sts_name: &str, pod_name: &str) -> Option<usize> {
    let digits = pod_name.strip_prefix(sts_name)?.strip_prefix('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn claim_templates(sts: &Value) -> &[Value] {
    sts.pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// `<template>-<sts>-<ordinal>`.
pub fn claim_name(template: &Value, sts_name: &str, ordinal: usize) -> String {
    format!("{}-{sts_name}-{ordinal}", name(template))
}

fn claim_for(sts: &Value, template: &Value, ordinal: usize) -> Value {
    let mut claim_labels = Map::new();
    for (k, v) in labels(template) {
        claim_labels.insert(k, json!(v));
    }
    for (k, v) in string_map(sts.pointer("/spec/selector/matchLabels")) {
        claim_labels.insert(k, json!(v));
    }
    let mut metadata = Map::new();
    metadata.insert(
        "name".into(),
        json!(claim_name(template, name(sts), ordinal)),
    );
    metadata.insert("namespace".into(), json!(namespace(sts)));
    if !claim_labels.is_empty() {
        metadata.insert("labels".into(), Value::Object(claim_labels));
    }
    if let Some(annotations) = template.pointer("/metadata/annotations") {
        metadata.insert("annotations".into(), annotations.clone());
    }
    if str_at(
        sts,
        "/spec/persistentVolumeClaimRetentionPolicy/whenDeleted",
    ) == "Delete"
    {
        metadata.insert(
            "ownerReferences".into(),
            json!([controller_reference(sts, "apps/v1", "StatefulSet")]),
        );
    }
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
           "spec": template.get("spec").cloned().unwrap_or_else(|| json!({}))})
}

fn pod_for(sts: &Value, revision: &str, ordinal: usize) -> Value {
    let sts_name = name(sts);
    let pod_name = format!("{sts_name}-{ordinal}");
    let template = sts
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut pod_labels = Map::new();
    for (k, v) in labels(&template) {
        pod_labels.insert(k, json!(v));
    }
    pod_labels.insert(REVISION_LABEL.into(), json!(revision));
    pod_labels.insert(POD_NAME_LABEL.into(), json!(pod_name));
    pod_labels.insert(POD_INDEX_LABEL.into(), json!(ordinal.to_string()));
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(pod_name));
    metadata.insert("namespace".into(), json!(namespace(sts)));
    metadata.insert("labels".into(), Value::Object(pod_labels));
    if let Some(annotations) = template.pointer("/metadata/annotations") {
        metadata.insert("annotations".into(), annotations.clone());
    }
    metadata.insert(
        "ownerReferences".into(),
        json!([controller_reference(sts, "apps/v1", "StatefulSet")]),
    );
    let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    spec["hostname"] = json!(pod_name);
    let service = str_at(sts, "/spec/serviceName");
    if !service.is_empty() {
        spec["subdomain"] = json!(service);
    }
    for claim_template in claim_templates(sts) {
        let volume = json!({"name": name(claim_template), "persistentVolumeClaim":
                            {"claimName": claim_name(claim_template, sts_name, ordinal)}});
        let volumes = spec
            .as_object_mut()
            .map(|s| s.entry("volumes").or_insert_with(|| json!([])));
        if let Some(Value::Array(volumes)) = volumes {
            match volumes
                .iter_mut()
                .find(|v| v.get("name") == volume.get("name"))
            {
                Some(existing) => *existing = volume,
                None => volumes.push(volume),
            }
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
}

fn revision_of(pod: &Value) -> String {
    labels(pod).get(REVISION_LABEL).cloned().unwrap_or_default()
}

fn insert_nonzero(map: &mut Map<String, Value>, key: &str, value: usize) {
    if value > 0 {
        map.insert(key.into(), json!(value));
    }
}

/// Decides the next writes for `sts`, given the pods it controls and the names of the claims
/// that exist in its namespace.
pub fn plan(
    sts: &Value,
    pods: &[&Value],
    claims: &BTreeSet<String>,
    clock: &SimClock,
) -> StatefulSetPlan {
    let sts_name = name(sts);
    let replicas = desired_replicas(sts);
    let start = start_ordinal(sts);
    let collisions = sts
        .pointer("/status/collisionCount")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(0);
    let template = sts
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let update_revision = format!("{sts_name}-{}", template_hash(&template, collisions));
    let current_revision = match str_at(sts, "/status/currentRevision") {
        "" => update_revision.clone(),
        current => current.to_string(),
    };
    let parallel = str_at(sts, "/spec/podManagementPolicy") == "Parallel";
    let on_delete = str_at(sts, "/spec/updateStrategy/type") == "OnDelete";
    let partition = sts
        .pointer("/spec/updateStrategy/rollingUpdate/partition")
        .and_then(Value::as_u64)
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(0);
    let min_ready = min_ready_seconds(sts);
    let mut recheck_after: Option<f64> = None;
    let by_ordinal: BTreeMap<usize, &Value> = pods
        .iter()
        .filter_map(|p| ordinal(sts_name, name(p)).map(|o| (o, *p)))
        .collect();
    let wanted = start..start + replicas;
    let mut out = StatefulSetPlan::default();
    let healthy = |p: &Value| pod_is_running_and_ready(p) && !is_deleting(p);

    // Create missing pods (and their claims), replace terminal ones, in ordinal order.
    let mut blocked = false;
    for ord in wanted.clone() {
        match by_ordinal.get(&ord) {
            None => {
                for claim_template in claim_templates(sts) {
                    let claim = claim_name(claim_template, sts_name, ord);
                    if !claims.contains(&claim) {
                        out.create_claims.push(claim_for(sts, claim_template, ord));
                    }
                }
                out.create_pods.push(pod_for(sts, &update_revision, ord));
                blocked = true;
            }
            Some(pod) if pod_is_terminal(pod) && !is_deleting(pod) => {
                out.delete_pods.push(name(pod).to_string());
                blocked = true;
            }
            Some(pod) if !healthy(pod) => blocked = true,
            Some(_) => {}
        }
        if blocked && !parallel {
            break;
        }
    }

    // Remove ordinals beyond the wanted range: all at once in Parallel, else the highest one,
    // once every wanted pod is healthy.
    let condemned: Vec<&Value> = by_ordinal
        .iter()
        .rev()
        .filter(|(o, _)| !wanted.contains(o))
        .map(|(_, p)| *p)
        .collect();
    if parallel {
        out.delete_pods.extend(
            condemned
                .iter()
                .filter(|p| !is_deleting(p))
                .map(|p| name(p).to_string()),
        );
    } else if !blocked && let Some(highest) = condemned.first() {
        if !is_deleting(highest) {
            out.delete_pods.push(name(highest).to_string());
        }
        blocked = true;
    }

    // Rolling update: replace the highest ordinal of an older revision (at or above the
    // partition) once everything else is healthy.
    let all_healthy = wanted
        .clone()
        .all(|o| by_ordinal.get(&o).is_some_and(|p| healthy(p)));
    if !on_delete && !blocked && out.create_pods.is_empty() && all_healthy {
        let stale = wanted
            .clone()
            .rev()
            .filter(|o| *o >= start + partition)
            .filter_map(|o| by_ordinal.get(&o))
            .find(|p| revision_of(p) != update_revision);
        if let Some(pod) = stale {
            out.delete_pods.push(name(pod).to_string());
        }
    }

    // whenScaled: Delete removes the claims of ordinals that are gone.
    if str_at(sts, "/spec/persistentVolumeClaimRetentionPolicy/whenScaled") == "Delete" {
        for claim in claims {
            let owned_ordinal = claim_templates(sts).iter().find_map(|t| {
                let prefix = format!("{}-", name(t));
                claim
                    .strip_prefix(&prefix)
                    .and_then(|rest| ordinal(sts_name, rest))
            });
            if let Some(ord) = owned_ordinal
                && !wanted.contains(&ord)
                && !by_ordinal.contains_key(&ord)
            {
                out.delete_claims.push(claim.clone());
            }
        }
    }

    // Status, from the pods as they are now.
    let created: Vec<&Value> = pods
        .iter()
        .copied()
        .filter(|p| !str_at(p, "/status/phase").is_empty())
        .collect();
    let ready = pods.iter().filter(|p| pod_is_running_and_ready(p)).count();
    let available = pods
        .iter()
        .filter(|p| {
            let (ok, wait) = pod_availability(p, min_ready, clock);
            if let Some(wait) = wait {
                recheck_after = Some(recheck_after.map_or(wait, |r: f64| r.min(wait)));
            }
            ok
        })
        .count();
    let live: Vec<&&Value> = created.iter().filter(|p| !is_deleting(p)).collect();
    let mut current_count = live
        .iter()
        .filter(|p| revision_of(p) == current_revision)
        .count();
    let updated_count = live
        .iter()
        .filter(|p| revision_of(p) == update_revision)
        .count();
    let mut current = current_revision;
    if !on_delete
        && updated_count == created.len()
        && ready == created.len()
        && created.len() == replicas
    {
        current = update_revision.clone();
        current_count = updated_count;
    }
    let mut status = Map::new();
    let generation = sts
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if generation > 0 {
        status.insert("observedGeneration".into(), json!(generation));
    }
    status.insert("replicas".into(), json!(created.len()));
    insert_nonzero(&mut status, "readyReplicas", ready);
    insert_nonzero(&mut status, "currentReplicas", current_count);
    insert_nonzero(&mut status, "updatedReplicas", updated_count);
    status.insert("currentRevision".into(), json!(current));
    status.insert("updateRevision".into(), json!(update_revision));
    status.insert("collisionCount".into(), json!(collisions));
    status.insert("availableReplicas".into(), json!(available));
    out.status = Value::Object(status);
    out.recheck_after = recheck_after;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn clock() -> SimClock {
        SimClock {
            now: "2026-03-01T10:00:00Z".parse().expect("valid"),
            time_scale: 1.0,
        }
    }

    fn sts(replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "etcd", "namespace": "db", "uid": "s-1", "generation": 1},
               "spec": {"replicas": replicas, "serviceName": "etcd-headless",
                        "selector": {"matchLabels": {"app": "etcd"}},
                        "template": {"metadata": {"labels": {"app": "etcd"}},
                                     "spec": {"containers": [{"name": "etcd", "image": "etcd:3.5"}]}},
                        "volumeClaimTemplates": [{"metadata": {"name": "data"},
                            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
    }

    fn revision(s: &Value) -> String {
        format!("etcd-{}", template_hash(&s["spec"]["template"], 0))
    }

    fn pod(s: &Value, ordinal: usize, ready: bool) -> Value {
        let mut p = pod_for(s, &revision(s), ordinal);
        p["status"] = json!({"phase": "Running", "conditions": [
            {"type": "Ready", "status": if ready { "True" } else { "False" },
             "lastTransitionTime": "2026-03-01T09:00:00Z"}]});
        p
    }

    #[test]
    fn the_first_pod_and_its_claim_come_first() {
        let s = sts(3);
        let rev = revision(&s);
        let step = plan(&s, &[], &BTreeSet::new(), &clock());
        assert_eq!(
            step.create_claims,
            vec![json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "data-etcd-0", "namespace": "db", "labels": {"app": "etcd"}},
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})]
        );
        assert_eq!(
            step.create_pods,
            vec![json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "etcd-0", "namespace": "db",
                             "labels": {"app": "etcd", REVISION_LABEL: rev, POD_NAME_LABEL: "etcd-0", POD_INDEX_LABEL: "0"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "etcd",
                                                  "uid": "s-1", "controller": true, "blockOwnerDeletion": true}]},
                "spec": {"containers": [{"name": "etcd", "image": "etcd:3.5"}], "hostname": "etcd-0",
                         "subdomain": "etcd-headless",
                         "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-etcd-0"}}]}})]
        );
        assert_eq!(
            step.status,
            json!({"observedGeneration": 1, "replicas": 0, "currentRevision": rev, "updateRevision": rev,
                   "collisionCount": 0, "availableReplicas": 0})
        );
    }

    #[test]
    fn ordered_ready_waits_for_each_pod_to_be_ready() {
        let s = sts(3);
        let claims: BTreeSet<String> = ["data-etcd-0".to_string()].into();
        let unready = [pod(&s, 0, false)];
        let refs: Vec<&Value> = unready.iter().collect();
        assert_eq!(
            plan(&s, &refs, &claims, &clock()).create_pods,
            Vec::<Value>::new()
        );
        let ready = [pod(&s, 0, true)];
        let refs: Vec<&Value> = ready.iter().collect();
        let step = plan(&s, &refs, &claims, &clock());
        assert_eq!(
            step.create_pods
                .iter()
                .map(|p| name(p).to_string())
                .collect::<Vec<_>>(),
            vec!["etcd-1"]
        );
        assert_eq!(
            step.create_claims
                .iter()
                .map(|c| name(c).to_string())
                .collect::<Vec<_>>(),
            vec!["data-etcd-1"]
        );
    }

    #[test]
    fn parallel_creates_everything_at_once() {
        let mut s = sts(3);
        s["spec"]["podManagementPolicy"] = json!("Parallel");
        let step = plan(&s, &[], &BTreeSet::new(), &clock());
        assert_eq!(step.create_pods.len(), 3);
        assert_eq!(step.create_claims.len(), 3);
    }

    #[test]
    fn a_converged_set_reports_its_status() {
        let s = sts(2);
        let rev = revision(&s);
        let pods = [pod(&s, 0, true), pod(&s, 1, true)];
        let refs: Vec<&Value> = pods.iter().collect();
        let claims: BTreeSet<String> =
            ["data-etcd-0".to_string(), "data-etcd-1".to_string()].into();
        let step = plan(&s, &refs, &claims, &clock());
        assert_eq!(
            (
                step.create_pods.len(),
                step.delete_pods.len(),
                step.create_claims.len()
            ),
            (0, 0, 0)
        );
        assert_eq!(
            step.status,
            json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
                   "updatedReplicas": 2, "currentRevision": rev, "updateRevision": rev,
                   "collisionCount": 0, "availableReplicas": 2})
        );
    }

    #[test]
    fn scale_down_removes_the_highest_ordinal_and_keeps_claims() {
        let s = sts(1);
        let pods = [pod(&s, 0, true), pod(&s, 1, true), pod(&s, 2, true)];
        let refs: Vec<&Value> = pods.iter().collect();
        let claims: BTreeSet<String> = (0..3).map(|i| format!("data-etcd-{i}")).collect();
        let step = plan(&s, &refs, &claims, &clock());
        assert_eq!(step.delete_pods, vec!["etcd-2"]);
        assert_eq!(step.delete_claims, Vec::<String>::new());
        let mut deleting = pod(&s, 2, true);
        deleting["metadata"]["deletionTimestamp"] = json!("2026-03-01T10:00:00Z");
        let pods = [pod(&s, 0, true), pod(&s, 1, true), deleting];
        let refs: Vec<&Value> = pods.iter().collect();
        assert_eq!(
            plan(&s, &refs, &claims, &clock()).delete_pods,
            Vec::<String>::new(),
            "one at a time"
        );
    }

    #[test]
    fn when_scaled_delete_removes_claims_of_gone_ordinals() {
        let mut s = sts(1);
        s["spec"]["persistentVolumeClaimRetentionPolicy"] =
            json!({"whenScaled": "Delete", "whenDeleted": "Retain"});
        let pods = [pod(&s, 0, true)];
        let refs: Vec<&Value> = pods.iter().collect();
        let claims: BTreeSet<String> = (0..3).map(|i| format!("data-etcd-{i}")).collect();
        assert_eq!(
            plan(&s, &refs, &claims, &clock()).delete_claims,
            vec!["data-etcd-1", "data-etcd-2"]
        );
    }

    #[test]
    fn a_template_change_replaces_pods_from_the_highest_ordinal() {
        let old = sts(3);
        let old_rev = revision(&old);
        let pods: Vec<Value> = (0..3).map(|i| pod(&old, i, true)).collect();
        let mut new = sts(3);
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("etcd:3.6");
        new["status"] = json!({"currentRevision": old_rev});
        let refs: Vec<&Value> = pods.iter().collect();
        let claims: BTreeSet<String> = (0..3).map(|i| format!("data-etcd-{i}")).collect();
        let step = plan(&new, &refs, &claims, &clock());
        assert_eq!(step.delete_pods, vec!["etcd-2"]);
        assert_eq!(step.status["currentRevision"], json!(old_rev));
        assert_eq!(step.status["currentReplicas"], 3);
        assert_eq!(step.status.get("updatedReplicas"), None);
        new["spec"]["updateStrategy"] =
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 3}});
        assert_eq!(
            plan(&new, &refs, &claims, &clock()).delete_pods,
            Vec::<String>::new()
        );
    }

    #[test]
    fn ordinals_parse_only_their_own_pods() {
        assert_eq!(ordinal("etcd", "etcd-12"), Some(12));
        assert_eq!(ordinal("etcd", "etcd-x"), None);
        assert_eq!(ordinal("etcd", "etcd-client-0"), None);
        assert_eq!(ordinal("etcd", "etcd"), None);
    }
}
