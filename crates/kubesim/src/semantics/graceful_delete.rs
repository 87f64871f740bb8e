//! Graceful deletion (upstream `rest.BeforeDelete` with the pod strategy's
//! `CheckGracefulDelete`; rust-ecosystem.md §3.3 "Pods and PVCs"): a DELETE of a Pod that runs
//! on a node only marks it (`deletionTimestamp` = now + grace, `deletionGracePeriodSeconds` =
//! grace) and the kubelet's confirmation, a second DELETE with grace 0, removes it. The grace is
//! the request's `gracePeriodSeconds`, else the pod's `terminationGracePeriodSeconds` (30 by
//! default); it is 0 for a pod without `nodeName` or in a terminal phase. Every other kind
//! deletes without grace (finalizers still hold it).
//!
//! While a graceful deletion is pending only a shorter grace period changes anything; a
//! deleting pod whose finalizers are all removed stays until its grace period is 0 (upstream
//! `ShouldDeleteDuringUpdate`, see `finalizers::is_ready_to_remove`).
//!
//! Pure: decides on values; `api/delete.rs` commits.

use serde_json::{Value, json};

use crate::semantics::finalizers::{self, DeletePlan, Propagation};
use crate::store::metadata_mut;

/// `DefaultTerminationGracePeriodSeconds`.
pub const DEFAULT_POD_GRACE_SECONDS: i64 = 30;

/// What a DELETE does about grace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GracefulDelete {
    /// No grace: the finalizer and garbage-collection rules decide (grace 0 is recorded).
    Immediate,
    /// Start a graceful deletion of this many seconds.
    Mark { grace_seconds: i64 },
    /// Shorten the pending graceful deletion to this many seconds (0 removes the object when
    /// no finalizer remains).
    Shorten { grace_seconds: i64 },
    /// A graceful deletion is pending and the request does not shorten it: nothing changes.
    Pending,
}

fn recorded_grace(object: &Value) -> Option<i64> {
    object
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
}

/// The grace a pod gets when deleted with `requested` (the pod strategy's
/// `CheckGracefulDelete`).
pub fn pod_grace_seconds(pod: &Value, requested: Option<i64>) -> i64 {
    let mut grace = requested.unwrap_or_else(|| {
        pod.pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(DEFAULT_POD_GRACE_SECONDS)
    });
    let unscheduled = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    let terminal = matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if unscheduled || terminal {
        grace = 0;
    }
    grace.max(0)
}

/// Decides the grace of a DELETE of `object` (`is_pod`: the object is a core/v1 Pod).
pub fn before_delete(is_pod: bool, object: &Value, requested: Option<i64>) -> GracefulDelete {
    // Negative grace periods count as 1 s on the delete path.
    let requested = requested.map(|g| if g < 0 { 1 } else { g });
    if !is_pod {
        return GracefulDelete::Immediate;
    }
    if finalizers::is_deleting(object) {
        let current = recorded_grace(object).unwrap_or(0);
        if current <= 0 {
            return GracefulDelete::Immediate;
        }
        return match requested {
            Some(shorter) if shorter < current => GracefulDelete::Shorten {
                grace_seconds: shorter,
            },
            _ => GracefulDelete::Pending,
        };
    }
    match pod_grace_seconds(object, requested) {
        0 => GracefulDelete::Immediate,
        grace_seconds => GracefulDelete::Mark { grace_seconds },
    }
}

/// The object marked for a graceful deletion due at `deletion_timestamp`, with the finalizer of
/// the propagation policy (`Foreground`/`Orphan`) as a plain delete would add.
pub fn mark(
    object: &Value,
    propagation: Propagation,
    deletion_timestamp: &str,
    grace_seconds: i64,
) -> Value {
    let mut marked = match finalizers::plan_delete(
        object,
        propagation,
        deletion_timestamp,
        grace_seconds,
        false,
    ) {
        DeletePlan::Mark(marked) => marked,
        DeletePlan::Remove | DeletePlan::Unchanged => object.clone(),
    };
    let metadata = metadata_mut(&mut marked);
    metadata.insert("deletionTimestamp".into(), json!(deletion_timestamp));
    metadata.insert("deletionGracePeriodSeconds".into(), json!(grace_seconds));
    marked
}

/// The object with its pending deletion shortened to `grace_seconds`, due at
/// `deletion_timestamp` (upstream moves the timestamp back by the difference).
pub fn shorten(object: &Value, deletion_timestamp: &str, grace_seconds: i64) -> Value {
    let mut shortened = object.clone();
    let metadata = metadata_mut(&mut shortened);
    metadata.insert("deletionTimestamp".into(), json!(deletion_timestamp));
    metadata.insert("deletionGracePeriodSeconds".into(), json!(grace_seconds));
    shortened
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn pod(node: &str) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"nodeName": node}})
    }

    #[test]
    fn pods_on_a_node_get_their_grace_period() {
        assert_eq!(
            before_delete(true, &pod("n1"), None),
            GracefulDelete::Mark { grace_seconds: 30 }
        );
        assert_eq!(
            before_delete(true, &pod("n1"), Some(5)),
            GracefulDelete::Mark { grace_seconds: 5 }
        );
        assert_eq!(
            before_delete(true, &pod("n1"), Some(-3)),
            GracefulDelete::Mark { grace_seconds: 1 }
        );
        assert_eq!(
            before_delete(true, &pod("n1"), Some(0)),
            GracefulDelete::Immediate
        );
        let mut own = pod("n1");
        own["spec"]["terminationGracePeriodSeconds"] = json!(90);
        assert_eq!(
            before_delete(true, &own, None),
            GracefulDelete::Mark { grace_seconds: 90 }
        );
    }

    #[test]
    fn unscheduled_terminal_and_other_objects_go_at_once() {
        assert_eq!(
            before_delete(true, &pod(""), Some(30)),
            GracefulDelete::Immediate
        );
        let mut done = pod("n1");
        done["status"] = json!({"phase": "Succeeded"});
        assert_eq!(before_delete(true, &done, None), GracefulDelete::Immediate);
        assert_eq!(
            before_delete(false, &pod("n1"), Some(30)),
            GracefulDelete::Immediate
        );
    }

    #[test]
    fn a_pending_deletion_can_only_be_shortened() {
        let marked = mark(&pod("n1"), Propagation::Background, "t30", 30);
        assert_eq!(
            marked,
            json!({"metadata": {"name": "p", "deletionTimestamp": "t30", "deletionGracePeriodSeconds": 30},
                   "spec": {"nodeName": "n1"}})
        );
        assert_eq!(before_delete(true, &marked, None), GracefulDelete::Pending);
        assert_eq!(
            before_delete(true, &marked, Some(30)),
            GracefulDelete::Pending
        );
        assert_eq!(
            before_delete(true, &marked, Some(0)),
            GracefulDelete::Shorten { grace_seconds: 0 }
        );
        let now = shorten(&marked, "t0", 0);
        assert_eq!(now["metadata"]["deletionGracePeriodSeconds"], 0);
        assert_eq!(before_delete(true, &now, None), GracefulDelete::Immediate);
    }

    #[test]
    fn marking_adds_the_propagation_finalizer() {
        let marked = mark(&pod("n1"), Propagation::Foreground, "t", 30);
        assert_eq!(
            marked["metadata"]["finalizers"],
            json!(["foregroundDeletion"])
        );
    }
}
