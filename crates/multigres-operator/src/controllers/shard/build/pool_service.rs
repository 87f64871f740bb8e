//! The headless Service of one pool in one cell (spec-controllers.md §7.3.7): the `subdomain` of
//! the pool's pods, so each pod has the stable DNS name `{pod}.{service}.{ns}.svc.cluster.local`
//! that multipooler registers in the topology.
//!
//! Place: applied (SSA) on every pass after the pool's pods. Must not: drop
//! `publishNotReadyAddresses`: replicas must resolve each other before they are ready.

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::defaults::{
    MULTIPOOLER_GRPC_PORT, MULTIPOOLER_HTTP_PORT, POSTGRES_EXPORTER_PORT, POSTGRES_PORT,
};
use multigres_api::labels::{pool_labels, selector_labels};
use multigres_api::naming::pool_headless_service_name;

use super::ShardContext;
use crate::controllers::ports::service_port_to_name;
use crate::controllers::zero_status;

/// Go `BuildPoolHeadlessService`: `clusterIP: None`, the pool selector, and the ports `http`,
/// `grpc`, `postgres` and `metrics` to the same-named container ports.
pub fn build_pool_service(shard: &ShardContext<'_>, pool_name: &str, cell: &str) -> Service {
    let parts = shard.pool_parts(pool_name, cell);
    let labels = pool_labels(&parts, &shard.labels);
    Service {
        metadata: ObjectMeta {
            name: Some(pool_headless_service_name(&parts).into_string()),
            namespace: Some(shard.namespace.to_owned()),
            owner_references: Some(vec![shard.owner.clone()]),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            selector: Some(selector_labels(&labels)),
            ports: Some(vec![
                service_port_to_name("http", MULTIPOOLER_HTTP_PORT),
                service_port_to_name("grpc", MULTIPOOLER_GRPC_PORT),
                service_port_to_name("postgres", POSTGRES_PORT),
                service_port_to_name("metrics", POSTGRES_EXPORTER_PORT),
            ]),
            publish_not_ready_addresses: Some(true),
            ..ServiceSpec::default()
        }),
        // Go's zero `status` (`{"loadBalancer":{}}`) is part of the apply body.
        status: Some(zero_status::service()),
    }
}
