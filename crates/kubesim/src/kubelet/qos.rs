//! A pod's QoS class (`status.qosClass`) from its containers' cpu and memory requests and
//! limits, after upstream `qos.GetPodQOS`.
//!
//! A request that is unset takes its limit (the API server's defaulting does the same). One
//! simplification: the Guaranteed check compares each container's request with its limit,
//! where upstream compares the sums over all containers; the two differ only when one
//! container's surplus exactly cancels another's deficit. Pure.

use multigres_api::quantity::GoQuantity;
use serde_json::Value;

const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];

fn positive(quantity: &Value) -> Option<GoQuantity> {
    let parsed = GoQuantity::parse(quantity.as_str()?).ok()?;
    let zero = GoQuantity::parse("0").ok()?;
    (parsed.cmp_value(&zero) == std::cmp::Ordering::Greater).then_some(parsed)
}

/// `BestEffort`, `Burstable` or `Guaranteed`.
pub fn qos_class(pod: &Value) -> &'static str {
    let containers = ["/spec/containers", "/spec/initContainers"]
        .into_iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten();
    let mut any_set = false;
    let mut guaranteed = true;
    for container in containers {
        let limits = container.pointer("/resources/limits");
        let requests = container.pointer("/resources/requests");
        for resource in QOS_RESOURCES {
            let limit = limits.and_then(|l| l.get(resource)).and_then(positive);
            let request = requests
                .and_then(|r| r.get(resource))
                .and_then(positive)
                .or_else(|| limit.clone());
            any_set |= limit.is_some() || request.is_some();
            match (request, limit) {
                (Some(r), Some(l)) if r.cmp_value(&l) == std::cmp::Ordering::Equal => {}
                _ => guaranteed = false,
            }
        }
    }
    if !any_set {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(resources: &[Value]) -> Value {
        let containers: Vec<Value> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| json!({"name": format!("c{i}"), "resources": r}))
            .collect();
        json!({"spec": {"containers": containers}})
    }

    #[test]
    fn classes_follow_requests_and_limits() {
        assert_eq!(qos_class(&pod(&[json!({})])), "BestEffort");
        assert_eq!(
            qos_class(&pod(&[json!({"limits": {"cpu": "1", "memory": "1Gi"}})])),
            "Guaranteed",
            "requests default to limits"
        );
        assert_eq!(
            qos_class(&pod(&[
                json!({"requests": {"cpu": "1000m", "memory": "1024Mi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"}})
            ])),
            "Guaranteed",
            "equal values in different spellings"
        );
        assert_eq!(
            qos_class(&pod(&[json!({"requests": {"cpu": "500m"}})])),
            "Burstable"
        );
        assert_eq!(
            qos_class(&pod(&[
                json!({"limits": {"cpu": "1", "memory": "1Gi"}}),
                json!({"requests": {"memory": "1Gi"}})
            ])),
            "Burstable",
            "every container needs cpu and memory limits"
        );
        assert_eq!(
            qos_class(&pod(&[
                json!({"requests": {"cpu": "0", "ephemeral-storage": "1Gi"}})
            ])),
            "BestEffort",
            "zero and non-QoS resources do not count"
        );
    }
}
