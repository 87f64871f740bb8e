//! The `status` Go's `json.Marshal` writes for the zero status struct of each kind the operator
//! applies (golden/objects/README.md, "Go's zero-value structs are written out").
//!
//! The Go operator sends these in every apply body. The API server ignores `status` on the main
//! resource, so they change nothing there; the builders include them so that an object built here
//! equals, as JSON, the body the Go operator sends. Pure constants; no status is ever computed here.

use k8s_openapi::api::apps::v1::{DeploymentStatus, StatefulSetStatus};
use k8s_openapi::api::core::v1::{LoadBalancerStatus, PersistentVolumeClaimStatus, ServiceStatus};

/// `{}`: Go's zero `DeploymentStatus` (every field `omitempty`).
pub fn deployment() -> DeploymentStatus {
    DeploymentStatus::default()
}

/// `{"replicas":0,"availableReplicas":0}`: the two fields of `StatefulSetStatus` without
/// `omitempty`.
pub fn stateful_set() -> StatefulSetStatus {
    StatefulSetStatus {
        replicas: 0,
        available_replicas: Some(0),
        ..StatefulSetStatus::default()
    }
}

/// `{"loadBalancer":{}}`: Go's zero `ServiceStatus` (the load balancer struct is not a pointer).
pub fn service() -> ServiceStatus {
    ServiceStatus {
        load_balancer: Some(LoadBalancerStatus::default()),
        ..ServiceStatus::default()
    }
}

/// `{}`: Go's zero `PersistentVolumeClaimStatus`, also inside StatefulSet volume claim templates.
pub fn persistent_volume_claim() -> PersistentVolumeClaimStatus {
    PersistentVolumeClaimStatus::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn zero_statuses_serialize_as_go_writes_them() {
        let as_json = |value: serde_json::Result<serde_json::Value>| value.expect("serializes");
        assert_eq!(as_json(serde_json::to_value(deployment())), json!({}));
        assert_eq!(
            as_json(serde_json::to_value(stateful_set())),
            json!({"replicas": 0, "availableReplicas": 0})
        );
        assert_eq!(
            as_json(serde_json::to_value(service())),
            json!({"loadBalancer": {}})
        );
        assert_eq!(
            as_json(serde_json::to_value(persistent_volume_claim())),
            json!({})
        );
    }
}
