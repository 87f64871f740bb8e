//! What the API server's registry strategies do to some built-in objects on create and update
//! (upstream `pkg/registry/*/strategy.go` `PrepareForCreate`/`PrepareForUpdate`): status starts
//! over (Pods and PersistentVolume(Claim)s `Pending`, a Pod's QoS class), and a Service gets
//! its defaults and a cluster IP that later updates keep.
//!
//! Pure: the caller passes the cluster IPs already in use.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

/// Resources whose create keeps a client-supplied status (Nodes register with theirs).
const STATUS_KEPT_ON_CREATE: &[&str] = &["nodes"];

/// Resets and initialises status on create of a built-in with a status subresource.
pub fn initial_status(group: &str, plural: &str, object: &mut Value) {
    if (!group.is_empty() || !STATUS_KEPT_ON_CREATE.contains(&plural))
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    match (group, plural) {
        ("", "pods") => {
            let qos = qos_class(object.get("spec").unwrap_or(&Value::Null));
            object["status"] = json!({"phase": "Pending", "qosClass": qos});
        }
        ("", "persistentvolumeclaims") | ("", "persistentvolumes") => {
            object["status"] = json!({"phase": "Pending"});
        }
        _ => {}
    }
}

fn quantity_map<'a>(
    container: &'a Value,
    which: &str,
) -> Option<&'a serde_json::Map<String, Value>> {
    container
        .pointer(&format!("/resources/{which}"))
        .and_then(Value::as_object)
}

/// Upstream `GetPodQOS`: BestEffort without any cpu/memory request or limit; Guaranteed when
/// every container limits cpu and memory and requests (if given) equal the limits; otherwise
/// Burstable.
pub fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten()
        .collect();
    let compute = |m: Option<&serde_json::Map<String, Value>>| {
        m.is_some_and(|m| m.contains_key("cpu") || m.contains_key("memory"))
    };
    let any = containers
        .iter()
        .any(|c| compute(quantity_map(c, "requests")) || compute(quantity_map(c, "limits")));
    if !any {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = quantity_map(c, "limits");
        let requests = quantity_map(c, "requests");
        ["cpu", "memory"].iter().all(|r| {
            let limit = limits.and_then(|l| l.get(*r));
            let request = requests.and_then(|q| q.get(*r));
            limit.is_some() && request.is_none_or(|q| Some(q) == limit)
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The first free address of the simulated service CIDR 10.96.0.0/12 from 10.96.0.10 (below
/// is reserved: 10.96.0.1 is the `kubernetes` Service).
fn allocate(used: &BTreeSet<String>) -> String {
    let start = u32::from(Ipv4Addr::new(10, 96, 0, 10));
    let end = u32::from(Ipv4Addr::new(10, 111, 255, 254));
    (start..=end)
        .map(|n| Ipv4Addr::from(n).to_string())
        .find(|ip| !used.contains(ip))
        .unwrap_or_else(|| Ipv4Addr::from(end).to_string())
}

/// Service defaults on create: type ClusterIP, session affinity, traffic policy, port protocol
/// and targetPort, and an allocated cluster IP (kept `None` for headless Services).
pub fn prepare_service(service: &mut Value, used_ips: &BTreeSet<String>) {
    let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let service_type = spec
        .entry("type")
        .or_insert_with(|| json!("ClusterIP"))
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    if service_type == "ExternalName" {
        return;
    }
    spec.entry("sessionAffinity")
        .or_insert_with(|| json!("None"));
    spec.entry("internalTrafficPolicy")
        .or_insert_with(|| json!("Cluster"));
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports {
            let Some(port) = port.as_object_mut() else {
                continue;
            };
            port.entry("protocol").or_insert_with(|| json!("TCP"));
            if !port.contains_key("targetPort")
                && let Some(number) = port.get("port").cloned()
            {
                port.insert("targetPort".into(), number);
            }
        }
    }
    let requested = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let ip = if requested.is_empty() {
        allocate(used_ips)
    } else {
        requested
    };
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    if ip != "None" {
        spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
        spec.entry("ipFamilyPolicy")
            .or_insert_with(|| json!("SingleStack"));
    }
}

/// Service updates keep the allocated address when the new object leaves it out
/// (upstream `patchAllocatedValues`).
pub fn keep_allocated_service_fields(stored: &Value, service: &mut Value) {
    let Some(old_spec) = stored.get("spec").and_then(Value::as_object) else {
        return;
    };
    let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let missing = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    if missing {
        for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if let Some(value) = old_spec.get(field) {
                spec.insert(field.into(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn pods_start_pending_with_their_qos_class() {
        let mut pod = json!({"spec": {"containers": [{"name": "a", "resources": {
            "limits": {"cpu": "1", "memory": "1Gi"}}}]}, "status": {"phase": "Running"}});
        initial_status("", "pods", &mut pod);
        assert_eq!(
            pod["status"],
            json!({"phase": "Pending", "qosClass": "Guaranteed"})
        );
        let burstable = json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]});
        assert_eq!(qos_class(&burstable), "Burstable");
        assert_eq!(
            qos_class(&json!({"containers": [{"name": "a"}]})),
            "BestEffort"
        );
    }

    #[test]
    fn status_is_reset_except_for_nodes() {
        let mut deployment = json!({"spec": {}, "status": {"replicas": 3}});
        initial_status("apps", "deployments", &mut deployment);
        assert_eq!(deployment, json!({"spec": {}}));
        let mut node = json!({"status": {"capacity": {"cpu": "8"}}});
        initial_status("", "nodes", &mut node);
        assert_eq!(node, json!({"status": {"capacity": {"cpu": "8"}}}));
    }

    #[test]
    fn services_get_defaults_and_a_free_cluster_ip() {
        let used: BTreeSet<String> = ["10.96.0.10".to_string()].into();
        let mut service = json!({"spec": {"ports": [{"port": 5432}]}});
        prepare_service(&mut service, &used);
        assert_eq!(
            service,
            json!({"spec": {"ports": [{"port": 5432, "protocol": "TCP", "targetPort": 5432}],
                "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                "clusterIP": "10.96.0.11", "clusterIPs": ["10.96.0.11"],
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"}})
        );
        let mut headless = json!({"spec": {"clusterIP": "None", "ports": []}});
        prepare_service(&mut headless, &used);
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
        let mut update = json!({"spec": {"ports": [{"port": 1}]}});
        keep_allocated_service_fields(&service, &mut update);
        assert_eq!(update["spec"]["clusterIP"], "10.96.0.11");
    }
}
