//! The client Service `<topoServer>` (spec-controllers.md §5): the address every Multigres
//! component reaches the global topology at (`<cluster>-global-topo.<ns>.svc:2379`, §2.4).
//!
//! Pure: builds from the parts `build_topo_server_objects` computed; it must not decide names or
//! labels itself.

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use multigres_api::defaults::ETCD_CLIENT_PORT;

use super::TopoServerParts;
use super::headless_service::PREFER_DUAL_STACK;
use crate::controllers::ports::{CLUSTER_IP, service_port_to_name};
use crate::controllers::zero_status;

/// Go `BuildClientService`.
pub(super) fn build_client_service(parts: &TopoServerParts<'_>) -> Service {
    Service {
        metadata: parts.object_meta(&parts.name),
        spec: Some(ServiceSpec {
            ip_family_policy: Some(PREFER_DUAL_STACK.to_owned()),
            type_: Some(CLUSTER_IP.to_owned()),
            selector: Some(parts.selector.clone()),
            ports: Some(vec![service_port_to_name("client", ETCD_CLIENT_PORT)]),
            ..ServiceSpec::default()
        }),
        status: Some(zero_status::service()),
    }
}
