//! The headless Service `<topoServer>-headless` (spec-controllers.md §5): the etcd members' peer
//! DNS names (`<pod>.<topoServer>-headless.<ns>.svc.cluster.local`), published before the pods
//! are ready so that a new cluster can bootstrap.
//!
//! Pure: builds from the parts `build_topo_server_objects` computed; it must not decide names or
//! labels itself.

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use multigres_api::defaults::{ETCD_CLIENT_PORT, ETCD_PEER_PORT};

use super::TopoServerParts;
use crate::controllers::ports::service_port_to_name;
use crate::controllers::zero_status;

/// `clusterIP` of a headless Service.
const CLUSTER_IP_NONE: &str = "None";
/// Both address families where the cluster has them; etcd listens on `[::]`.
pub(super) const PREFER_DUAL_STACK: &str = "PreferDualStack";

/// Go `BuildHeadlessService`.
pub(super) fn build_headless_service(parts: &TopoServerParts<'_>) -> Service {
    Service {
        metadata: parts.object_meta(&parts.headless_service_name),
        spec: Some(ServiceSpec {
            ip_family_policy: Some(PREFER_DUAL_STACK.to_owned()),
            cluster_ip: Some(CLUSTER_IP_NONE.to_owned()),
            selector: Some(parts.selector.clone()),
            ports: Some(vec![
                service_port_to_name("client", ETCD_CLIENT_PORT),
                service_port_to_name("peer", ETCD_PEER_PORT),
            ]),
            publish_not_ready_addresses: Some(true),
            ..ServiceSpec::default()
        }),
        status: Some(zero_status::service()),
    }
}
