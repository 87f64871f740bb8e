//! Named TCP container and Service ports and the Service type (spec-controllers.md §2.5, §2.6,
//! §4.2, §4.3, §5): every port the operator declares is TCP and named, and Services target either
//! the number or the container port's name exactly as the Go builder of that Service does.
//!
//! Pure value constructors; numbers and names come from the callers (see
//! `multigres_api::defaults` for the port numbers). This module must not choose them.

use k8s_openapi::api::core::v1::{ContainerPort, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The only protocol the operator uses.
pub const TCP: &str = "TCP";

/// The type of every non-headless Service the operator builds: reachable inside the cluster
/// (external exposure adds `externalIPs`, never another type; spec-controllers.md §2.6).
pub const CLUSTER_IP: &str = "ClusterIP";

/// A named TCP container port.
pub fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        protocol: Some(TCP.to_owned()),
        ..ContainerPort::default()
    }
}

/// A named TCP Service port forwarding to the container port of the same name.
pub fn service_port_to_name(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_owned()),
        port,
        target_port: Some(IntOrString::String(name.to_owned())),
        protocol: Some(TCP.to_owned()),
        ..ServicePort::default()
    }
}

/// A named TCP Service port forwarding to the same port number.
pub fn service_port_to_number(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_owned()),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some(TCP.to_owned()),
        ..ServicePort::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn ports_serialize_as_go_writes_them() {
        assert_eq!(
            serde_json::to_value(container_port("grpc", 15170)).expect("serializes"),
            json!({"name": "grpc", "containerPort": 15170, "protocol": "TCP"})
        );
        assert_eq!(
            serde_json::to_value(service_port_to_name("postgres", 5432)).expect("serializes"),
            json!({"name": "postgres", "protocol": "TCP", "port": 5432, "targetPort": "postgres"})
        );
        assert_eq!(
            serde_json::to_value(service_port_to_number("http", 18000)).expect("serializes"),
            json!({"name": "http", "protocol": "TCP", "port": 18000, "targetPort": 18000})
        );
    }
}
