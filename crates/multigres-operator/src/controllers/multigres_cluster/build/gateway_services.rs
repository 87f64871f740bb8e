//! The cluster-wide multigateway Services (spec-controllers.md §2.6): `{cluster}-multigateway`
//! (PostgreSQL, the clients' entry point, optionally exposed through `externalGateway`) and
//! `{cluster}-multigateway-replica` (the read-replica port). Both select the gateway pods of
//! every cell: component and instance only, since cell gateways carry no cluster label.
//!
//! Pure; the ports target the gateway containers' port names.

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use multigres_api::defaults::{MULTIGATEWAY_PG_REPLICA_PORT, POSTGRES_PORT};
use multigres_api::labels::{Component, cluster_component_labels, global_gateway_selector};
use multigres_api::naming;

use super::{ClusterParts, exposure};
use crate::controllers::ports::{CLUSTER_IP, service_port_to_name};
use crate::controllers::zero_status;

/// Go `BuildMultiGatewayGlobalService`.
pub(super) fn build_gateway_service(parts: &ClusterParts<'_>) -> Service {
    let exposure = exposure(parts.spec.external_gateway.as_ref());
    Service {
        metadata: parts.object_meta(
            naming::global_gateway_service_name(&parts.cluster).into_string(),
            cluster_component_labels(&parts.cluster, Component::Multigateway),
            exposure.annotations,
        ),
        spec: Some(ServiceSpec {
            selector: Some(global_gateway_selector(&parts.cluster)),
            type_: Some(CLUSTER_IP.to_owned()),
            external_ips: exposure.external_ips,
            ports: Some(vec![service_port_to_name("postgres", POSTGRES_PORT)]),
            ..ServiceSpec::default()
        }),
        status: Some(zero_status::service()),
    }
}

/// Go `BuildMultiGatewayGlobalReplicaService`; never exposed externally.
pub(super) fn build_gateway_replica_service(parts: &ClusterParts<'_>) -> Service {
    Service {
        metadata: parts.object_meta(
            naming::global_gateway_replica_service_name(&parts.cluster).into_string(),
            cluster_component_labels(&parts.cluster, Component::Multigateway),
            None,
        ),
        spec: Some(ServiceSpec {
            selector: Some(global_gateway_selector(&parts.cluster)),
            type_: Some(CLUSTER_IP.to_owned()),
            ports: Some(vec![service_port_to_name(
                "pg-replica",
                MULTIGATEWAY_PG_REPLICA_PORT,
            )]),
            ..ServiceSpec::default()
        }),
        status: Some(zero_status::service()),
    }
}
