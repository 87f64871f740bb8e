//! When a ready pod counts as available to its workload: Ready for at least the workload's
//! `minReadySeconds` (upstream `podutil.IsPodAvailable`), in simulated seconds.
//!
//! `Ready`'s `lastTransitionTime` has second precision, so with a small time scale a pod may
//! count as available up to one real second early. Pure.

use serde_json::Value;

use super::object_fields::{condition, pod_is_running_and_ready, str_at};
use super::sim_time::SimClock;

/// Whether a pod is available now; when it is ready but not yet available, also the simulated
/// seconds until it will be.
pub fn pod_availability(
    pod: &Value,
    min_ready_seconds: i64,
    clock: &SimClock,
) -> (bool, Option<f64>) {
    if !pod_is_running_and_ready(pod) {
        return (false, None);
    }
    if min_ready_seconds <= 0 {
        return (true, None);
    }
    let since = condition(pod, "Ready")
        .map(|c| str_at(c, "/lastTransitionTime"))
        .and_then(|t| clock.seconds_since(t));
    match since {
        Some(elapsed) if elapsed >= min_ready_seconds as f64 => (true, None),
        Some(elapsed) => (false, Some(min_ready_seconds as f64 - elapsed)),
        None => (true, None),
    }
}

/// `spec.minReadySeconds` of a workload.
pub fn min_ready_seconds(workload: &Value) -> i64 {
    workload
        .pointer("/spec/minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ready_pods_become_available_after_min_ready_seconds() {
        let clock = SimClock {
            now: "2026-03-01T10:00:10Z".parse().expect("valid"),
            time_scale: 1.0,
        };
        let pod = json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-03-01T10:00:04Z"}]}});
        assert_eq!(pod_availability(&pod, 0, &clock), (true, None));
        assert_eq!(pod_availability(&pod, 5, &clock), (true, None));
        assert_eq!(pod_availability(&pod, 8, &clock), (false, Some(2.0)));
        let pending = json!({"status": {"phase": "Pending"}});
        assert_eq!(pod_availability(&pending, 0, &clock), (false, None));
    }
}
