//! PodDisruptionBudgets as the eviction subresource applies them (upstream
//! `pkg/controller/disruption` computes the budget, `pkg/registry/core/pod/storage/eviction.go`
//! decides): a budget's healthy pods are the selected pods that are Ready and not terminating;
//! the pods it expects are the selected pods when `minAvailable` is a number, otherwise the
//! replicas of the pods' controllers (a pod without one, or whose controller has no scale, makes
//! the budget fail safe: no disruption allowed). An eviction is refused with 429 when the budget
//! allows no disruption, unless the pod is already unhealthy and the budget is met
//! (`unhealthyPodEvictionPolicy: IfHealthyBudget`, or always with `AlwaysAllow`).
//!
//! Pure: the caller passes the pods and the controllers' replicas.

use serde_json::Value;

/// The numbers of a budget (`PodDisruptionBudgetStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub expected_pods: i64,
    pub current_healthy: i64,
    pub desired_healthy: i64,
    pub disruptions_allowed: i64,
}

/// Whether a pod counts as healthy: Ready and not terminating.
pub fn is_healthy(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_none()
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// `intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true)`.
fn scaled(value: &Value, total: i64) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let percent: i64 = s.strip_suffix('%')?.parse().ok()?;
            Some((percent * total + 99) / 100)
        }
        _ => None,
    }
}

/// The budget of `pdb` over the `pods` its selector matches. `controller_scale` is the summed
/// replicas of the pods' controllers, or why they cannot be known; it is only used when the
/// budget is not an integer `minAvailable`. `Err` is the fail-safe: nothing may be disrupted.
pub fn budget(
    pdb: &Value,
    pods: &[&Value],
    controller_scale: Result<i64, String>,
) -> Result<Budget, String> {
    let spec = pdb.get("spec").unwrap_or(&Value::Null);
    let current_healthy = pods.iter().filter(|p| is_healthy(p)).count() as i64;
    let (expected_pods, desired_healthy) =
        match (spec.get("minAvailable"), spec.get("maxUnavailable")) {
            (Some(Value::Number(n)), _) => (pods.len() as i64, n.as_i64().unwrap_or(0)),
            (Some(min), _) => {
                let expected = controller_scale?;
                (
                    expected,
                    scaled(min, expected).ok_or("invalid minAvailable")?,
                )
            }
            (None, Some(max)) => {
                let expected = controller_scale?;
                let unavailable = scaled(max, expected).ok_or("invalid maxUnavailable")?;
                (expected, (expected - unavailable).max(0))
            }
            // Neither: the API defaults minAvailable to 1... but validation requires one; treat as
            // nothing to protect.
            (None, None) => (pods.len() as i64, 0),
        };
    Ok(Budget {
        expected_pods,
        current_healthy,
        desired_healthy,
        disruptions_allowed: (current_healthy - desired_healthy).max(0),
    })
}

/// What the eviction subresource does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// Delete the pod.
    Allowed,
    /// 429 with this `DisruptionBudget` cause.
    Refused { cause: String },
}

/// The message of a refused eviction (`policyv1.DisruptionBudgetCause`'s status).
pub const REFUSED_MESSAGE: &str =
    "Cannot evict pod as it would violate the pod's disruption budget.";

/// Decides the eviction of `pod` under `pdb` with its computed `budget`.
pub fn decide(pdb: &Value, pod: &Value, budget: &Result<Budget, String>) -> Eviction {
    let name = pdb
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let policy = pdb
        .pointer("/spec/unhealthyPodEvictionPolicy")
        .and_then(Value::as_str)
        .unwrap_or("IfHealthyBudget");
    let refused = |budget: &Budget| Eviction::Refused {
        cause: format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            budget.desired_healthy, budget.current_healthy
        ),
    };
    match budget {
        Err(_) => refused(&Budget {
            expected_pods: 0,
            current_healthy: 0,
            desired_healthy: 0,
            disruptions_allowed: 0,
        }),
        Ok(budget) if !is_healthy(pod) => {
            if policy == "AlwaysAllow" || budget.current_healthy >= budget.desired_healthy {
                Eviction::Allowed
            } else {
                refused(budget)
            }
        }
        Ok(budget) if budget.disruptions_allowed > 0 => Eviction::Allowed,
        Ok(budget) => refused(budget),
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    fn pod(name: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name}, "status": {"conditions": [
            {"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
    }

    #[test]
    fn min_available_counts_the_selected_pods() {
        let pdb = json!({"metadata": {"name": "db"}, "spec": {"minAvailable": 2}});
        let (a, b, c) = (pod("a", true), pod("b", true), pod("c", true));
        let three = budget(&pdb, &[&a, &b, &c], Err("unused".into()));
        assert_eq!(
            three,
            Ok(Budget {
                expected_pods: 3,
                current_healthy: 3,
                desired_healthy: 2,
                disruptions_allowed: 1
            })
        );
        assert_eq!(decide(&pdb, &a, &three), Eviction::Allowed);
        let two = budget(&pdb, &[&a, &b], Err("unused".into()));
        assert_eq!(
            decide(&pdb, &a, &two),
            Eviction::Refused {
                cause: "The disruption budget db needs 2 healthy pods and has 2 currently".into()
            }
        );
    }

    #[test]
    fn max_unavailable_and_percentages_scale_with_the_controllers() {
        let pdb = json!({"metadata": {"name": "web"}, "spec": {"maxUnavailable": "34%"}});
        let (a, b, c) = (pod("a", true), pod("b", true), pod("c", false));
        // 34% of 3 rounds up to 2 unavailable: 1 must stay healthy.
        let computed = budget(&pdb, &[&a, &b, &c], Ok(3));
        assert_eq!(
            computed.map(|b| (b.desired_healthy, b.disruptions_allowed)),
            Ok((1, 1))
        );
        let pdb = json!({"metadata": {"name": "web"}, "spec": {"maxUnavailable": 1}});
        assert_eq!(
            decide(
                &pdb,
                &a,
                &budget(
                    &pdb,
                    &[&a, &b, &c],
                    Err("found no controller ref for pod \"a\"".into())
                )
            ),
            Eviction::Refused {
                cause: "The disruption budget web needs 0 healthy pods and has 0 currently".into()
            }
        );
    }

    #[test]
    fn unhealthy_pods_go_when_the_budget_is_met() {
        let pdb = json!({"metadata": {"name": "db"}, "spec": {"minAvailable": 1}});
        let (a, b) = (pod("a", true), pod("b", false));
        let computed = budget(&pdb, &[&a, &b], Err(String::new()));
        assert_eq!(decide(&pdb, &b, &computed), Eviction::Allowed);
        let pdb = json!({"metadata": {"name": "db"}, "spec": {"minAvailable": 2}});
        let computed = budget(&pdb, &[&a, &b], Err(String::new()));
        assert!(matches!(
            decide(&pdb, &b, &computed),
            Eviction::Refused { .. }
        ));
        let always = json!({"metadata": {"name": "db"},
            "spec": {"minAvailable": 2, "unhealthyPodEvictionPolicy": "AlwaysAllow"}});
        assert_eq!(decide(&always, &b, &computed), Eviction::Allowed);
    }
}
