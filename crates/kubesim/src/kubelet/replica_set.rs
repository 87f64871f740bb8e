//! The ReplicaSets of a Deployment, as the real Deployment controller keeps them: one per pod
//! template, `<deployment>-<pod-template-hash>`, controlled by the Deployment, with the
//! template, selector and labels plus the `pod-template-hash` label and a
//! `deployment.kubernetes.io/revision` annotation; the pods are controlled by their ReplicaSet.
//! Clients find a Deployment's pods through them: `helm install --wait` and `kubectl rollout`
//! look up the ReplicaSet whose template equals the Deployment's and read its ready count.
//!
//! kubesim runs no separate ReplicaSet controller: the Deployment controller (deployment.rs)
//! creates and deletes the pods of its sets itself and writes each set's `spec.replicas` (what
//! it wants of that set after this pass) and `status` (what its pods are). A ReplicaSet a user
//! creates on its own has no controller here. Old sets stay at 0 replicas up to
//! `revisionHistoryLimit` (default 10), the oldest beyond it are deleted.
//!
//! Pure: no I/O, no clock (pod availability takes the simulated clock as an argument).

use serde_json::{Map, Value, json};

use super::availability::{min_ready_seconds, pod_availability};
use super::deployment::POD_TEMPLATE_HASH;
use super::object_fields::{
    controller_reference, controller_uid, labels, name, namespace, pod_is_active,
    pod_is_running_and_ready, str_at, uid,
};
use super::sim_time::SimClock;

/// The annotation numbering a Deployment's templates in the order they were rolled out.
pub const REVISION: &str = "deployment.kubernetes.io/revision";

/// The revisions a set had before a rollback made it current again, oldest first.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The longest [`REVISION_HISTORY`] upstream keeps (the controller's default), in characters.
const REVISION_HISTORY_LIMIT: usize = 2000;

/// The revision of a set (0 when it has none).
pub fn revision(set: &Value) -> u64 {
    set.pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// `object` with `pod-template-hash: hash` added to the string map at `pointer`.
fn with_hash(mut object: Value, pointer: &str, hash: &str) -> Value {
    if object.pointer(pointer).is_none_or(Value::is_null) {
        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        if let Some(Value::Object(map)) = object.pointer_mut(parent) {
            map.insert(key.to_owned(), json!({}));
        }
    }
    if let Some(Value::Object(map)) = object.pointer_mut(pointer) {
        map.insert(POD_TEMPLATE_HASH.to_owned(), json!(hash));
    }
    object
}

/// The ReplicaSet `deploy` creates for its current template (hash `hash`), numbered after
/// `existing` sets (upstream `getNewReplicaSet`). Starts at 0 replicas: the Deployment
/// controller sizes it in the same pass.
pub fn build_replica_set(deploy: &Value, hash: &str, existing: &[&Value]) -> Value {
    let next_revision = existing.iter().map(|s| revision(s)).max().unwrap_or(0) + 1;
    let mut template = deploy
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if template.get("metadata").is_none() {
        template["metadata"] = json!({});
    }
    let template = with_hash(template, "/metadata/labels", hash);
    let selector = with_hash(
        deploy
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or_else(|| json!({})),
        "/matchLabels",
        hash,
    );
    let set_labels = template
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut spec = Map::new();
    spec.insert("replicas".into(), json!(0));
    let min_ready = min_ready_seconds(deploy);
    if min_ready > 0 {
        spec.insert("minReadySeconds".into(), json!(min_ready));
    }
    spec.insert("selector".into(), selector);
    spec.insert("template".into(), template);
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
           "metadata": {"name": format!("{}-{hash}", name(deploy)),
                        "namespace": namespace(deploy),
                        "labels": set_labels,
                        "annotations": {REVISION: next_revision.to_string()},
                        "ownerReferences": [controller_reference(deploy, "apps/v1", "Deployment")]},
           "spec": Value::Object(spec)})
}

/// The annotations of `set`, the Deployment's current set, when its template is rolled out
/// again (`kubectl rollout undo`, or a template changed back): its revision becomes one above
/// every `other` set's and the one it had joins [`REVISION_HISTORY`], the oldest entries
/// dropped past 2000 characters (upstream `SetNewReplicaSetAnnotations`). `None` when its
/// revision is already the highest.
pub fn revived_annotations(set: &Value, others: &[&Value]) -> Option<Map<String, Value>> {
    let next = others.iter().map(|s| revision(s)).max().unwrap_or(0) + 1;
    let current = revision(set);
    if current >= next {
        return None;
    }
    let mut annotations = set
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if annotations.contains_key(REVISION) {
        let old = current.to_string();
        let kept = annotations
            .get(REVISION_HISTORY)
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut history: Vec<&str> = kept.split(',').filter(|r| !r.is_empty()).collect();
        let length =
            |history: &[&str]| history.iter().map(|r| r.len() + 1).sum::<usize>() + old.len();
        while !history.is_empty() && length(&history) > REVISION_HISTORY_LIMIT {
            history.remove(0);
        }
        history.push(&old);
        annotations.insert(REVISION_HISTORY.into(), json!(history.join(",")));
    }
    annotations.insert(REVISION.into(), json!(next.to_string()));
    Some(annotations)
}

/// What to write for one set.
#[derive(Clone, Debug, PartialEq)]
pub struct SetWrite {
    pub name: String,
    /// The `spec.replicas` the set should have after this pass.
    pub replicas: usize,
    /// Its `status`, without `observedGeneration` (the generation the write produces).
    pub status: Value,
}

/// The status of a set from the pods it controls, as the ReplicaSet controller reports it
/// (`replicas` always; the other counts only when not zero).
pub fn set_status(set: &Value, pods: &[&Value], clock: &SimClock) -> Value {
    let min_ready = min_ready_seconds(set);
    let template_labels = labels(set.pointer("/spec/template").unwrap_or(&Value::Null));
    let active: Vec<&&Value> = pods
        .iter()
        .filter(|p| controller_uid(p) == Some(uid(set)) && pod_is_active(p))
        .collect();
    let fully_labeled = active
        .iter()
        .filter(|p| {
            let pod_labels = labels(p);
            template_labels
                .iter()
                .all(|(k, v)| pod_labels.get(k) == Some(v))
        })
        .count();
    let ready = active
        .iter()
        .filter(|p| pod_is_running_and_ready(p))
        .count();
    let available = active
        .iter()
        .filter(|p| pod_availability(p, min_ready, clock).0)
        .count();
    let mut status = Map::new();
    status.insert("replicas".into(), json!(active.len()));
    for (key, count) in [
        ("fullyLabeledReplicas", fully_labeled),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ] {
        if count > 0 {
            status.insert(key.into(), json!(count));
        }
    }
    Value::Object(status)
}

/// The size and status of every set of a Deployment after a pass that creates `creates` pods
/// in the set named `new_set` and deletes the pods named in `deletes`.
pub fn set_writes(
    sets: &[&Value],
    pods: &[&Value],
    new_set: &str,
    creates: usize,
    deletes: &[String],
    clock: &SimClock,
) -> Vec<SetWrite> {
    sets.iter()
        .map(|set| {
            let kept = pods
                .iter()
                .filter(|p| controller_uid(p) == Some(uid(set)) && pod_is_active(p))
                .filter(|p| !deletes.iter().any(|d| d == name(p)))
                .count();
            let added = if name(set) == new_set { creates } else { 0 };
            SetWrite {
                name: name(set).to_owned(),
                replicas: kept + added,
                status: set_status(set, pods, clock),
            }
        })
        .collect()
}

/// Old sets to delete: those at 0 replicas without pods beyond the Deployment's
/// `revisionHistoryLimit` (default 10), oldest revision first (upstream `cleanupDeployment`).
pub fn sets_to_prune(
    deploy: &Value,
    sets: &[&Value],
    writes: &[SetWrite],
    new_set: &str,
) -> Vec<String> {
    let limit = deploy
        .pointer("/spec/revisionHistoryLimit")
        .and_then(Value::as_u64)
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(10);
    let mut idle: Vec<&&Value> = sets
        .iter()
        .filter(|set| name(set) != new_set && str_at(set, "/metadata/deletionTimestamp").is_empty())
        .filter(|set| {
            writes
                .iter()
                .any(|w| w.name == name(set) && w.replicas == 0 && w.status["replicas"] == 0)
        })
        .collect();
    idle.sort_by_key(|set| (revision(set), name(set).to_owned()));
    let excess = idle.len().saturating_sub(limit);
    idle.into_iter()
        .take(excess)
        .map(|set| name(set).to_owned())
        .collect()
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

    fn deploy() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop", "uid": "d-1", "generation": 2},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"},
                                                  "annotations": {"note": "x"}},
                                     "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    }

    fn pod(name: &str, owner: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "labels": {"app": "web", POD_TEMPLATE_HASH: "h1"},
                            "ownerReferences": [{"uid": owner, "controller": true}]},
               "spec": {"nodeName": "kubesim-a"},
               "status": {"phase": "Running", "conditions": [
                   {"type": "Ready", "status": if ready { "True" } else { "False" },
                    "lastTransitionTime": "2026-03-01T09:00:00Z"}]}})
    }

    #[test]
    fn a_set_carries_the_template_selector_and_labels_with_the_hash() {
        let old = json!({"metadata": {"annotations": {REVISION: "3"}}});
        assert_eq!(
            build_replica_set(&deploy(), "h1", &[&old]),
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                   "metadata": {"name": "web-h1", "namespace": "shop",
                                "labels": {"app": "web", POD_TEMPLATE_HASH: "h1"},
                                "annotations": {REVISION: "4"},
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                     "name": "web", "uid": "d-1", "controller": true,
                                                     "blockOwnerDeletion": true}]},
                   "spec": {"replicas": 0,
                            "selector": {"matchLabels": {"app": "web", POD_TEMPLATE_HASH: "h1"}},
                            "template": {"metadata": {"labels": {"app": "web", POD_TEMPLATE_HASH: "h1"},
                                                      "annotations": {"note": "x"}},
                                         "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
        );
    }

    #[test]
    fn a_set_is_sized_by_the_pass_and_reports_its_pods() {
        let mut set = build_replica_set(&deploy(), "h1", &[]);
        set["metadata"]["uid"] = json!("rs-1");
        let pods = [
            pod("web-h1-a", "rs-1", true),
            pod("web-h1-b", "rs-1", false),
            pod("other", "rs-2", true),
        ];
        let refs: Vec<&Value> = pods.iter().collect();
        assert_eq!(
            set_writes(
                &[&set],
                &refs,
                "web-h1",
                1,
                &["web-h1-b".to_owned()],
                &clock()
            ),
            vec![SetWrite {
                name: "web-h1".into(),
                replicas: 2,
                status: json!({"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 1,
                               "availableReplicas": 1}),
            }]
        );
        assert_eq!(
            set_status(&set, &[], &clock()),
            json!({"replicas": 0}),
            "replicas is always reported"
        );
    }

    #[test]
    fn idle_old_sets_beyond_the_history_limit_are_pruned_oldest_first() {
        let mut d = deploy();
        d["spec"]["revisionHistoryLimit"] = json!(1);
        let sets: Vec<Value> = (1..=3)
            .map(|r| json!({"metadata": {"name": format!("web-r{r}"), "annotations": {REVISION: r.to_string()}}}))
            .collect();
        let refs: Vec<&Value> = sets.iter().collect();
        let writes: Vec<SetWrite> = sets
            .iter()
            .map(|s| SetWrite {
                name: name(s).to_owned(),
                replicas: 0,
                status: json!({"replicas": 0}),
            })
            .collect();
        assert_eq!(sets_to_prune(&d, &refs, &writes, "web-r3"), vec!["web-r1"]);
        d["spec"]["revisionHistoryLimit"] = json!(0);
        assert_eq!(
            sets_to_prune(&d, &refs, &writes, "web-r3"),
            vec!["web-r1", "web-r2"]
        );
    }

    #[test]
    fn a_set_rolled_out_again_gets_the_next_revision_and_keeps_its_old_ones() {
        let set = |revision: &str, history: Option<&str>| {
            let mut annotations = json!({REVISION: revision, "note": "x"});
            if let Some(history) = history {
                annotations[REVISION_HISTORY] = json!(history);
            }
            json!({"metadata": {"annotations": annotations}})
        };
        let (one, two) = (set("1", None), set("2", None));
        assert_eq!(
            revived_annotations(&one, &[&two]).map(Value::Object),
            Some(json!({REVISION: "3", REVISION_HISTORY: "1", "note": "x"}))
        );
        assert_eq!(
            revived_annotations(&two, &[&one]),
            None,
            "already the latest"
        );
        let again = set("3", Some("1"));
        assert_eq!(
            revived_annotations(&again, &[&set("4", None)]).map(Value::Object),
            Some(json!({REVISION: "5", REVISION_HISTORY: "1,3", "note": "x"}))
        );
        let long: Vec<String> = (1000..1400).map(|r| r.to_string()).collect();
        let revived =
            revived_annotations(&set("1400", Some(&long.join(","))), &[&set("1401", None)])
                .expect("revived");
        let history = revived[REVISION_HISTORY].as_str().expect("a string");
        assert!(history.len() <= 2000, "{}", history.len());
        assert!(history.ends_with(",1399,1400"), "{history}");
        assert!(!history.starts_with("1000,"), "the oldest go first");
    }
}
