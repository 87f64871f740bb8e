//! A node failing and recovering, as the node lifecycle controller records it, and the taint
//! manager's eviction of the pods on a failed node.
//!
//! Failing a node models its kubelet going silent: every condition becomes `Unknown`
//! (`NodeStatusUnknown`, "Kubelet stopped posting node status."), and the node gets the
//! `node.kubernetes.io/unreachable` taints `NoSchedule` (no new pods) and `NoExecute` (evict).
//! Pods on it lose `Ready`; after their toleration of the NoExecute taint runs out they get a
//! `DisruptionTarget` condition and are deleted. A pod without a toleration for the unreachable
//! or not-ready taint is treated as tolerating it for 300 s, as the DefaultTolerationSeconds
//! admission plugin would have added (kubesim does not mutate pods on create). Because the
//! failed node's kubelet cannot confirm anything, the eviction deletes with grace period 0,
//! as the pod garbage collector eventually does for pods of lost nodes.
//!
//! Pure: the runtime writes the nodes and pods these functions return.

use serde_json::{Value, json};

use super::node_selection::{taints, tolerates, tolerations};
use super::object_fields::{condition_is_true, str_at};
use super::sim_time::SimClock;

pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
/// What the DefaultTolerationSeconds admission plugin grants.
pub const DEFAULT_TOLERATION_SECONDS: f64 = 300.0;

/// Whether the node's `Ready` condition is True.
pub fn node_is_ready(node: &Value) -> bool {
    condition_is_true(node, "Ready")
}

/// The node with the unreachable taints added (main resource).
pub fn failed_node(node: &Value, now: &str) -> Value {
    let mut next = node.clone();
    let mut list: Vec<Value> = taints(node)
        .iter()
        .filter(|t| str_at(t, "/key") != UNREACHABLE_TAINT)
        .cloned()
        .collect();
    list.push(json!({"key": UNREACHABLE_TAINT, "effect": "NoSchedule", "timeAdded": now}));
    list.push(json!({"key": UNREACHABLE_TAINT, "effect": "NoExecute", "timeAdded": now}));
    next["spec"]["taints"] = json!(list);
    next
}

/// The failed node's status: every condition `Unknown`.
pub fn failed_node_status(node: &Value, now: &str) -> Value {
    let mut status = node.get("status").cloned().unwrap_or_else(|| json!({}));
    if let Some(conditions) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conditions.iter_mut() {
            if str_at(c, "/status") != "Unknown" {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!("Unknown");
            c["reason"] = json!("NodeStatusUnknown");
            c["message"] = json!("Kubelet stopped posting node status.");
            c["lastHeartbeatTime"] = json!(now);
        }
    }
    status
}

/// The node without the unreachable and not-ready taints (main resource).
pub fn recovered_node(node: &Value) -> Value {
    let mut next = node.clone();
    let list: Vec<Value> = taints(node)
        .iter()
        .filter(|t| !matches!(str_at(t, "/key"), UNREACHABLE_TAINT | NOT_READY_TAINT))
        .cloned()
        .collect();
    match next.get_mut("spec").and_then(Value::as_object_mut) {
        Some(spec) if list.is_empty() => {
            spec.remove("taints");
        }
        Some(spec) => {
            spec.insert("taints".into(), json!(list));
        }
        None => {}
    }
    next
}

/// The recovered node's status: `Ready` True again, any other condition back to False.
pub fn recovered_node_status(node: &Value, now: &str) -> Value {
    let mut status = node.get("status").cloned().unwrap_or_else(|| json!({}));
    if let Some(conditions) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conditions.iter_mut() {
            let ready = str_at(c, "/type") == "Ready";
            let wanted = if ready { "True" } else { "False" };
            if str_at(c, "/status") != wanted {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!(wanted);
            c["lastHeartbeatTime"] = json!(now);
            if ready {
                c["reason"] = json!("KubeletReady");
                c["message"] = json!("kubelet is posting ready status");
            } else if let Some(map) = c.as_object_mut() {
                map.remove("reason");
                map.remove("message");
            }
        }
    }
    status
}

/// When the taint manager evicts `pod` from `node`: simulated seconds from now (0 = now), or
/// `None` when the pod stays (no NoExecute taint, or one tolerated forever).
pub fn eviction_delay(pod: &Value, node: &Value, clock: &SimClock) -> Option<f64> {
    let mut delay: Option<f64> = None;
    for taint in taints(node)
        .iter()
        .filter(|t| str_at(t, "/effect") == "NoExecute")
    {
        let matching: Vec<&Value> = tolerations(pod)
            .iter()
            .filter(|t| tolerates(t, taint))
            .collect();
        let allowed = if matching.is_empty() {
            if matches!(str_at(taint, "/key"), UNREACHABLE_TAINT | NOT_READY_TAINT) {
                Some(DEFAULT_TOLERATION_SECONDS)
            } else {
                Some(0.0)
            }
        } else if matching
            .iter()
            .any(|t| t.get("tolerationSeconds").is_none())
        {
            None
        } else {
            matching
                .iter()
                .filter_map(|t| t.get("tolerationSeconds").and_then(Value::as_f64))
                .reduce(f64::min)
                .map(|s| s.max(0.0))
        };
        let Some(allowed) = allowed else {
            continue;
        };
        let elapsed = clock
            .seconds_since(str_at(taint, "/timeAdded"))
            .unwrap_or(0.0);
        let remaining = (allowed - elapsed).max(0.0);
        delay = Some(delay.map_or(remaining, |d| d.min(remaining)));
    }
    delay
}

/// The condition the taint manager adds before deleting a pod.
pub fn disruption_condition(now: &str) -> Value {
    json!({"type": "DisruptionTarget", "status": "True", "lastProbeTime": null,
           "lastTransitionTime": now, "reason": "DeletionByTaintManager",
           "message": "Taint manager: deleting due to NoExecute taint"})
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const T0: &str = "2026-03-01T10:00:00Z";

    fn node() -> Value {
        json!({"metadata": {"name": "kubesim-a"}, "spec": {"podCIDR": "10.244.0.0/24"},
               "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                          "message": "kubesim node is ready"}]}})
    }

    #[test]
    fn a_failed_node_is_tainted_and_unknown_then_recovers() {
        let mut n = failed_node(&node(), T0);
        assert_eq!(
            n["spec"]["taints"],
            json!([{"key": UNREACHABLE_TAINT, "effect": "NoSchedule", "timeAdded": T0},
                   {"key": UNREACHABLE_TAINT, "effect": "NoExecute", "timeAdded": T0}])
        );
        n["status"] = failed_node_status(&n, T0);
        assert_eq!(
            n["status"]["conditions"],
            json!([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                    "message": "Kubelet stopped posting node status.", "lastTransitionTime": T0,
                    "lastHeartbeatTime": T0}])
        );
        assert!(!node_is_ready(&n));
        let mut back = recovered_node(&n);
        assert_eq!(back["spec"], json!({"podCIDR": "10.244.0.0/24"}));
        back["status"] = recovered_node_status(&back, "t1");
        assert!(node_is_ready(&back));
        assert_eq!(back["status"]["conditions"][0]["reason"], "KubeletReady");
    }

    #[test]
    fn eviction_waits_for_the_toleration() {
        let clock = SimClock {
            now: "2026-03-01T10:00:10Z".parse().expect("valid"),
            time_scale: 1.0,
        };
        let failed = failed_node(&node(), T0);
        let plain = json!({"spec": {}});
        assert_eq!(
            eviction_delay(&plain, &failed, &clock),
            Some(290.0),
            "default 300 s"
        );
        let short = json!({"spec": {"tolerations": [
            {"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]}});
        assert_eq!(eviction_delay(&short, &failed, &clock), Some(20.0));
        let forever = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
        assert_eq!(eviction_delay(&forever, &failed, &clock), None);
        assert_eq!(eviction_delay(&plain, &node(), &clock), None);
        let mut custom = node();
        custom["spec"]["taints"] = json!([{"key": "maintenance", "effect": "NoExecute"}]);
        assert_eq!(eviction_delay(&plain, &custom, &clock), Some(0.0));
    }
}
