//! The scheduler's decision for one pending pod: which node it goes to, or why none fits, in
//! the words of the real scheduler's `FitError` (`0/3 nodes are available: 3 node(s) didn't
//! match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not
//! helpful for scheduling.`).
//!
//! Follows the default plugins' filter order, recording each node's first failure:
//! NodeUnschedulable, TaintToleration (NoSchedule/NoExecute), NodeAffinity (`nodeSelector` and
//! required node affinity), NodeResourcesFit (pod count only), VolumeBinding (node affinity of
//! bound PersistentVolumes). The VolumeBinding pre-filter rejects pods whose claims are missing,
//! being deleted, or unbound in an `Immediate` class. Among feasible nodes the pod goes where
//! its controller has the fewest pods, then where there are the fewest pods, then by name: a
//! stand-in for the default topology spreading that puts a 3-replica workload in 3 zones.
//!
//! Pure: the runtime gathers nodes, pod counts and claim states; nothing here writes.

use std::collections::BTreeMap;

use serde_json::Value;

use super::node_selection::{
    node_selector_matches, pod_matches_node, tolerates, untolerated_taint,
};
use super::object_fields::name;

/// A node with the pods already assigned to it.
#[derive(Clone, Copy, Debug)]
pub struct NodeSlot<'a> {
    pub node: &'a Value,
    /// Pods bound to the node (not terminal).
    pub pods: usize,
    /// Of those, the pods with the same controller as the pod being scheduled.
    pub pods_of_same_owner: usize,
}

/// What the scheduler knows about one of the pod's PersistentVolumeClaims.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClaimState<'a> {
    Missing,
    Deleting,
    /// Not bound yet; `immediate` when its class binds without waiting for a consumer.
    Unbound {
        immediate: bool,
    },
    /// Bound to this PersistentVolume (absent when the volume object is not known).
    Bound {
        volume: Option<&'a Value>,
    },
}

/// A successful decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub node: String,
    /// `WaitForFirstConsumer` claims to provision for this node before the pod is bound.
    pub claims_to_provision: Vec<String>,
}

/// Why the pod cannot be scheduled: the `PodScheduled=False` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unschedulable {
    pub message: String,
}

const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";
const REASON_NODE_UNSCHEDULABLE: &str = "node(s) were unschedulable";
const REASON_TAINT: &str = "node(s) had untolerated taint(s)";
const REASON_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
const REASON_TOO_MANY_PODS: &str = "Too many pods";
const REASON_VOLUME_AFFINITY: &str = "node(s) had volume node affinity conflict";
const PREEMPTION_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// The first filter a node fails for the pod, if any.
fn filter(
    pod: &Value,
    slot: &NodeSlot<'_>,
    claims: &[(String, ClaimState<'_>)],
) -> Option<&'static str> {
    let node = slot.node;
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        let taint = serde_json::json!({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"});
        let tolerated = super::node_selection::tolerations(pod)
            .iter()
            .any(|t| tolerates(t, &taint));
        if !tolerated {
            return Some(REASON_NODE_UNSCHEDULABLE);
        }
    }
    if untolerated_taint(pod, node, &["NoSchedule", "NoExecute"]).is_some() {
        return Some(REASON_TAINT);
    }
    if !pod_matches_node(pod, node) {
        return Some(REASON_AFFINITY);
    }
    let capacity = node
        .pointer("/status/allocatable/pods")
        .and_then(Value::as_str)
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(110);
    if slot.pods >= capacity {
        return Some(REASON_TOO_MANY_PODS);
    }
    let volume_conflict = claims.iter().any(|(_, state)| match state {
        ClaimState::Bound { volume: Some(pv) } => pv
            .pointer("/spec/nodeAffinity/required")
            .is_some_and(|required| !node_selector_matches(required, node)),
        _ => false,
    });
    if volume_conflict {
        return Some(REASON_VOLUME_AFFINITY);
    }
    None
}

/// `"<count> <reason>"` entries sorted as strings, joined like Go's `FitError.Error`.
fn histogram(reasons: &BTreeMap<&str, usize>) -> String {
    let mut entries: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    entries.sort();
    entries.join(", ")
}

fn fit_error(
    total: usize,
    filter_message: &str,
    preemption: &BTreeMap<&str, usize>,
) -> Unschedulable {
    let mut message = format!("0/{total} nodes are available: {filter_message}.");
    if !preemption.is_empty() {
        message.push_str(&format!(
            " preemption: 0/{total} nodes are available: {}.",
            histogram(preemption)
        ));
    }
    Unschedulable { message }
}

/// The VolumeBinding pre-filter: a reason that rules out every node at once.
fn claims_prefilter(claims: &[(String, ClaimState<'_>)]) -> Option<String> {
    for (claim, state) in claims {
        match state {
            ClaimState::Missing => {
                return Some(format!("persistentvolumeclaim \"{claim}\" not found"));
            }
            ClaimState::Deleting => {
                return Some(format!(
                    "persistentvolumeclaim \"{claim}\" is being deleted"
                ));
            }
            _ => {}
        }
    }
    claims
        .iter()
        .any(|(_, s)| matches!(s, ClaimState::Unbound { immediate: true }))
        .then(|| "pod has unbound immediate PersistentVolumeClaims".to_string())
}

/// Picks a node for `pod` among `nodes`, given the state of its claims (in volume order).
pub fn schedule(
    pod: &Value,
    nodes: &[NodeSlot<'_>],
    claims: &[(String, ClaimState<'_>)],
) -> Result<Placement, Unschedulable> {
    if nodes.is_empty() {
        return Err(Unschedulable {
            message: "no nodes available to schedule pods".into(),
        });
    }
    let total = nodes.len();
    if let Some(reason) = claims_prefilter(claims) {
        let preemption = BTreeMap::from([(PREEMPTION_NOT_HELPFUL, total)]);
        return Err(fit_error(total, &reason, &preemption));
    }
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    let mut preemption: BTreeMap<&str, usize> = BTreeMap::new();
    let mut best: Option<&NodeSlot<'_>> = None;
    for slot in nodes {
        match filter(pod, slot, claims) {
            Some(reason) => {
                *reasons.entry(reason).or_default() += 1;
                // Only a full node could be helped by evicting lower-priority pods, and
                // kubesim has none to evict.
                let outcome = if reason == REASON_TOO_MANY_PODS {
                    NO_VICTIMS
                } else {
                    PREEMPTION_NOT_HELPFUL
                };
                *preemption.entry(outcome).or_default() += 1;
            }
            None => {
                let better = best.is_none_or(|b| {
                    (slot.pods_of_same_owner, slot.pods, name(slot.node))
                        < (b.pods_of_same_owner, b.pods, name(b.node))
                });
                if better {
                    best = Some(slot);
                }
            }
        }
    }
    match best {
        Some(slot) => Ok(Placement {
            node: name(slot.node).to_string(),
            claims_to_provision: claims
                .iter()
                .filter(|(_, s)| matches!(s, ClaimState::Unbound { immediate: false }))
                .map(|(c, _)| c.clone())
                .collect(),
        }),
        None => Err(fit_error(total, &histogram(&reasons), &preemption)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn node(zone: &str) -> Value {
        json!({"metadata": {"name": format!("kubesim-{zone}"),
                            "labels": {"topology.kubernetes.io/zone": zone}},
               "status": {"allocatable": {"pods": "110"}}})
    }

    fn slots(nodes: &[Value]) -> Vec<NodeSlot<'_>> {
        nodes
            .iter()
            .map(|node| NodeSlot {
                node,
                pods: 0,
                pods_of_same_owner: 0,
            })
            .collect()
    }

    fn zone_pod(zone: &str) -> Value {
        json!({"spec": {"nodeSelector": {"topology.kubernetes.io/zone": zone}}})
    }

    #[test]
    fn a_node_selector_picks_the_zone() {
        let nodes = [node("a"), node("b"), node("c")];
        assert_eq!(
            schedule(&zone_pod("b"), &slots(&nodes), &[]),
            Ok(Placement {
                node: "kubesim-b".into(),
                claims_to_provision: vec![]
            })
        );
    }

    #[test]
    fn no_matching_node_gives_the_schedulers_message() {
        let nodes = [node("a"), node("b"), node("c")];
        assert_eq!(
            schedule(&zone_pod("x"), &slots(&nodes), &[]),
            Err(Unschedulable {
                message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. \
                          preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
                    .into()
            })
        );
    }

    #[test]
    fn each_node_reports_its_first_failure_and_reasons_sort_as_strings() {
        let mut tainted = node("a");
        tainted["spec"] =
            json!({"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]});
        let mut cordoned = node("b");
        cordoned["spec"] = json!({"unschedulable": true});
        let nodes = [tainted, cordoned, node("c"), node("d")];
        let err = schedule(&zone_pod("a"), &slots(&nodes), &[]).expect_err("nothing fits");
        assert_eq!(
            err.message,
            "0/4 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable, \
             2 node(s) didn't match Pod's node affinity/selector. \
             preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn tolerations_admit_tainted_and_cordoned_nodes() {
        let mut n = node("a");
        n["spec"] = json!({"unschedulable": true,
                           "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]});
        let pod = json!({"spec": {"tolerations": [
            {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}});
        let nodes = [n];
        assert_eq!(
            schedule(&pod, &slots(&nodes), &[]).map(|p| p.node),
            Ok("kubesim-a".into())
        );
    }

    #[test]
    fn pods_spread_over_the_least_used_nodes_of_their_owner() {
        let nodes = [node("a"), node("b"), node("c")];
        let busy = [
            NodeSlot {
                node: &nodes[0],
                pods: 0,
                pods_of_same_owner: 1,
            },
            NodeSlot {
                node: &nodes[1],
                pods: 5,
                pods_of_same_owner: 0,
            },
            NodeSlot {
                node: &nodes[2],
                pods: 2,
                pods_of_same_owner: 0,
            },
        ];
        let pod = json!({"spec": {}});
        assert_eq!(
            schedule(&pod, &busy, &[]).map(|p| p.node),
            Ok("kubesim-c".into())
        );
    }

    #[test]
    fn a_full_node_is_too_many_pods() {
        let mut full = node("a");
        full["status"]["allocatable"]["pods"] = json!("2");
        let nodes = [full];
        let slot = [NodeSlot {
            node: &nodes[0],
            pods: 2,
            pods_of_same_owner: 0,
        }];
        assert_eq!(
            schedule(&json!({"spec": {}}), &slot, &[])
                .expect_err("full")
                .message,
            "0/1 nodes are available: 1 Too many pods. \
             preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        );
    }

    #[test]
    fn claims_gate_scheduling() {
        let nodes = [node("a"), node("b")];
        let pod = json!({"spec": {}});
        let missing = [("data-0".to_string(), ClaimState::Missing)];
        assert_eq!(
            schedule(&pod, &slots(&nodes), &missing)
                .expect_err("missing")
                .message,
            "0/2 nodes are available: persistentvolumeclaim \"data-0\" not found. \
             preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
        );
        let unbound = [(
            "data-0".to_string(),
            ClaimState::Unbound { immediate: true },
        )];
        assert_eq!(
            schedule(&pod, &slots(&nodes), &unbound)
                .expect_err("unbound")
                .message,
            "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. \
             preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
        );
        let waiting = [(
            "data-0".to_string(),
            ClaimState::Unbound { immediate: false },
        )];
        assert_eq!(
            schedule(&pod, &slots(&nodes), &waiting),
            Ok(Placement {
                node: "kubesim-a".into(),
                claims_to_provision: vec!["data-0".into()]
            })
        );
    }

    #[test]
    fn a_bound_volume_pins_the_pod_to_its_zone() {
        let nodes = [node("a"), node("b")];
        let pv = json!({"spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["b"]}]}]}}}});
        let claims = [(
            "data-0".to_string(),
            ClaimState::Bound { volume: Some(&pv) },
        )];
        assert_eq!(
            schedule(&json!({"spec": {}}), &slots(&nodes), &claims).map(|p| p.node),
            Ok("kubesim-b".into())
        );
        let only_a = [node("a")];
        assert_eq!(
            schedule(&json!({"spec": {}}), &slots(&only_a), &claims)
                .expect_err("conflict")
                .message,
            "0/1 nodes are available: 1 node(s) had volume node affinity conflict. \
             preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn no_nodes_at_all() {
        assert_eq!(
            schedule(&json!({"spec": {}}), &[], &[]),
            Err(Unschedulable {
                message: "no nodes available to schedule pods".into()
            })
        );
    }
}
