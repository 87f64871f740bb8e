//! The cell's multigateway Service `J_S(cluster, cell, "multigateway")` (spec-controllers.md
//! §4.3): the cell's HTTP, gRPC and PostgreSQL ports, by port name. The replica port is served
//! only by the cluster-wide replica Service (§2.6).
//!
//! Pure: builds from the parts `build_cell_objects` computed.

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::defaults::{MULTIGATEWAY_GRPC_PORT, MULTIGATEWAY_HTTP_PORT, POSTGRES_PORT};
use multigres_api::naming;

use super::CellParts;
use crate::controllers::ports::{CLUSTER_IP, service_port_to_name};
use crate::controllers::zero_status;

/// Go `BuildMultiGatewayService`.
pub(super) fn build_gateway_service(parts: &CellParts<'_>) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(
                naming::cell_gateway_service_name(&parts.cluster, &parts.cell.spec.name)
                    .into_string(),
            ),
            namespace: parts.namespace.clone(),
            labels: Some(parts.labels.clone()),
            owner_references: Some(parts.owner_references()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some(CLUSTER_IP.to_owned()),
            selector: Some(parts.selector.clone()),
            ports: Some(vec![
                service_port_to_name("http", MULTIGATEWAY_HTTP_PORT),
                service_port_to_name("grpc", MULTIGATEWAY_GRPC_PORT),
                service_port_to_name("postgres", POSTGRES_PORT),
            ]),
            ..ServiceSpec::default()
        }),
        status: Some(zero_status::service()),
    }
}
