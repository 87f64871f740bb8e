//! The multiorch Deployment `J_D(cluster, db, tg, shard, "multiorch", cell)` and its Service
//! `J_S(same parts)` of one cell (spec-controllers.md §7.3.5): the orchestrator that elects the
//! shard's primary and repairs replication in that cell.
//!
//! Image, args and env are the Go operator's exactly (a different template would roll multiorch
//! on takeover). One addition is deliberate (spec/README.md fix 10): the Shard's `Always`/`Never`
//! pull policy on the container and its pull secrets on the pod. Place: applied (SSA) on every pass, before the
//! pools. Must not: strip anything but `prometheus.io/*` from the user's pod annotations.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Service, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use multigres_api::defaults::{
    MULTIORCH_GRPC_PORT, MULTIORCH_HTTP_PORT, MULTIORCH_IMAGE, controller_fallbacks,
};
use multigres_api::labels::{
    Labels, merge_labels, multiorch_labels, selector_labels, workload_pod_annotations,
};
use multigres_api::naming::{multiorch_deployment_name, multiorch_service_name};

use super::{ShardBuildInputs, ShardContext};
use crate::controllers::container_image::image_or_default;
use crate::controllers::container_probes::HttpProbes;
use crate::controllers::image_pull::{container_pull_policy, pod_pull_secrets};
use crate::controllers::log_level::log_level_flag;
use crate::controllers::otel_env::{otel_env_vars, otel_sampling_volume};
use crate::controllers::ports::{container_port, service_port_to_name};
use crate::controllers::zero_status;

const CONTAINER_NAME: &str = "multiorch";
/// multiorch's readiness endpoint (startup and readiness probes).
const READY_PATH: &str = "/ready";
/// multiorch's liveness endpoint.
const LIVE_PATH: &str = "/live";

/// Go `BuildMultiOrchDeployment` for `cell`.
pub fn build_multiorch_deployment(
    shard: &ShardContext<'_>,
    inputs: &ShardBuildInputs,
    cell: &str,
) -> Deployment {
    let spec = shard.spec;
    let multiorch = &spec.multiorch;
    let labels = labels(shard, cell);
    let sampling = otel_sampling_volume(spec.observability.as_ref());
    let env = otel_env_vars(spec.observability.as_ref(), &inputs.operator_otel_env);
    let mut container = Container {
        name: CONTAINER_NAME.to_owned(),
        image: Some(image_or_default(&spec.images.multiorch, MULTIORCH_IMAGE)),
        image_pull_policy: container_pull_policy(spec.images.image_pull_policy),
        args: Some(multiorch_args(shard, cell)),
        ports: Some(vec![
            container_port("http", MULTIORCH_HTTP_PORT),
            container_port("grpc", MULTIORCH_GRPC_PORT),
        ]),
        // Go's `Resources` is a value struct: written (as `{}`) even when empty.
        resources: Some(multiorch.stateless.resources.clone()),
        env: (!env.is_empty()).then_some(env),
        volume_mounts: sampling
            .as_ref()
            .map(|sampling| vec![sampling.mount.clone()]),
        ..Container::default()
    };
    HttpProbes::new(READY_PATH, LIVE_PATH, MULTIORCH_HTTP_PORT).apply_to(&mut container);
    let tolerations = multiorch
        .placement
        .as_ref()
        .map(|placement| placement.tolerations.clone())
        .filter(|tolerations| !tolerations.is_empty());
    Deployment {
        metadata: ObjectMeta {
            name: Some(multiorch_deployment_name(&shard.parts(), cell).into_string()),
            namespace: Some(shard.namespace.to_owned()),
            labels: Some(labels.clone()),
            owner_references: Some(vec![shard.owner.clone()]),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(
                multiorch
                    .stateless
                    .replicas
                    .unwrap_or(controller_fallbacks::MULTIORCH_REPLICAS),
            ),
            selector: LabelSelector {
                match_labels: Some(selector_labels(&labels)),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(merge_labels(&labels, &multiorch.stateless.pod_labels)),
                    annotations: Some(workload_pod_annotations(
                        &multiorch.stateless.pod_annotations,
                        &shard.project_ref,
                    )),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    volumes: sampling.map(|sampling| vec![sampling.volume]),
                    image_pull_secrets: pod_pull_secrets(&spec.images.image_pull_secrets),
                    node_selector: spec
                        .cell_topology_labels
                        .get(cell)
                        .filter(|selector| !selector.is_empty())
                        .cloned(),
                    affinity: multiorch.stateless.affinity.clone(),
                    tolerations,
                    ..PodSpec::default()
                }),
            },
            // Go's zero `strategy` struct is part of the apply body.
            strategy: Some(DeploymentStrategy::default()),
            ..DeploymentSpec::default()
        }),
        status: Some(zero_status::deployment()),
    }
}

/// Go `BuildMultiOrchService` for `cell`: ClusterIP, ports `http` and `grpc` to the
/// same-named container ports.
pub fn build_multiorch_service(shard: &ShardContext<'_>, cell: &str) -> Service {
    let labels = labels(shard, cell);
    Service {
        metadata: ObjectMeta {
            name: Some(multiorch_service_name(&shard.parts(), cell).into_string()),
            namespace: Some(shard.namespace.to_owned()),
            labels: Some(labels.clone()),
            owner_references: Some(vec![shard.owner.clone()]),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(selector_labels(&labels)),
            ports: Some(vec![
                service_port_to_name("http", MULTIORCH_HTTP_PORT),
                service_port_to_name("grpc", MULTIORCH_GRPC_PORT),
            ]),
            ..ServiceSpec::default()
        }),
        status: Some(zero_status::service()),
    }
}

fn labels(shard: &ShardContext<'_>, cell: &str) -> Labels {
    let parts = shard.parts();
    multiorch_labels(
        &shard.cluster,
        parts.database,
        parts.table_group,
        cell,
        &shard.labels,
    )
}

/// multiorch's arguments, in Go's exact order (they are part of the pod template).
fn multiorch_args(shard: &ShardContext<'_>, cell: &str) -> Vec<String> {
    let spec = shard.spec;
    let topo = &spec.global_topo_server;
    vec![
        "multiorch".to_owned(),
        format!("--http-port={MULTIORCH_HTTP_PORT}"),
        format!("--grpc-port={MULTIORCH_GRPC_PORT}"),
        format!("--topo-global-server-addresses={}", topo.address),
        format!("--topo-global-root={}", topo.root_path),
        format!("--cell={cell}"),
        format!(
            "--watch-targets={}/{}/{}",
            spec.database_name, spec.table_group_name, spec.shard_name
        ),
        format!("--log-level={}", log_level_flag(spec.log_levels.multiorch)),
    ]
}
