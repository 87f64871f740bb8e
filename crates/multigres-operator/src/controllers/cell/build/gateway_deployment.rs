//! The cell's multigateway Deployment `J_D(cluster, cell, "multigateway")` (spec-controllers.md
//! §4.2): the PostgreSQL front end of one cell, pinned to the cell's zone or region.
//!
//! Image, arguments and environment are the Go operator's exactly, so swapping operators does not
//! roll the gateways. Two additions are deliberate (spec/README.md fix 10): the cell's `Always`/`Never`
//! pull policy on the container and its pull secrets on the pod. Pure: builds from the parts
//! `build_cell_objects` computed and the operator's OTEL environment.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Container, PodSpec, PodTemplateSpec, SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use multigres_api::defaults::{
    self, MULTIGATEWAY_GRPC_PORT, MULTIGATEWAY_HTTP_PORT, MULTIGATEWAY_PG_REPLICA_PORT,
    POSTGRES_PORT, controller_fallbacks,
};
use multigres_api::labels::{merge_labels, workload_pod_annotations};
use multigres_api::naming::{self, MULTIGATEWAY_TLS_SECRET_NAME};

use super::CellParts;
use crate::controllers::cell_topology::cell_node_selector;
use crate::controllers::container_image::image_or_default;
use crate::controllers::container_probes::HttpProbes;
use crate::controllers::image_pull::{container_pull_policy, pod_pull_secrets};
use crate::controllers::log_level::log_level_flag;
use crate::controllers::otel_env::{OperatorOtelEnv, otel_env_vars, otel_sampling_volume};
use crate::controllers::ports::container_port;
use crate::controllers::zero_status;

const CONTAINER_NAME: &str = "multigateway";
/// The gateway's TLS certificate (the cert-manager Secret of spec-controllers.md §2.8).
const TLS_VOLUME_NAME: &str = "tls-certs";
const TLS_MOUNT_PATH: &str = "/etc/multigateway/tls";
/// `0440`: readable by the owner and group only.
const TLS_DEFAULT_MODE: i32 = 0o440;

/// Go `BuildMultiGatewayDeployment`.
pub(super) fn build_gateway_deployment(
    parts: &CellParts<'_>,
    operator_env: &OperatorOtelEnv,
) -> Deployment {
    let spec = &parts.cell.spec;
    let gateway = &spec.multigateway;
    let env = otel_env_vars(spec.observability.as_ref(), operator_env);
    let mut container = Container {
        name: CONTAINER_NAME.to_owned(),
        image: Some(image_or_default(
            &spec.images.multigateway,
            defaults::MULTIGATEWAY_IMAGE,
        )),
        image_pull_policy: container_pull_policy(spec.images.image_pull_policy),
        args: Some(gateway_args(parts)),
        ports: Some(vec![
            container_port("http", MULTIGATEWAY_HTTP_PORT),
            container_port("grpc", MULTIGATEWAY_GRPC_PORT),
            container_port("postgres", POSTGRES_PORT),
            container_port("pg-replica", MULTIGATEWAY_PG_REPLICA_PORT),
        ]),
        resources: Some(gateway.resources.clone()),
        env: (!env.is_empty()).then_some(env),
        ..Container::default()
    };
    HttpProbes::new("/ready", "/live", MULTIGATEWAY_HTTP_PORT).apply_to(&mut container);

    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    if let Some(sampling) = otel_sampling_volume(spec.observability.as_ref()) {
        volumes.push(sampling.volume);
        mounts.push(sampling.mount);
    }
    if !spec.cert_common_name.is_empty() {
        volumes.push(Volume {
            name: TLS_VOLUME_NAME.to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(MULTIGATEWAY_TLS_SECRET_NAME.to_owned()),
                default_mode: Some(TLS_DEFAULT_MODE),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: TLS_VOLUME_NAME.to_owned(),
            mount_path: TLS_MOUNT_PATH.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    container.volume_mounts = (!mounts.is_empty()).then_some(mounts);

    let tolerations = spec
        .multigateway_placement
        .as_ref()
        .map(|placement| placement.tolerations.clone())
        .filter(|tolerations| !tolerations.is_empty());

    Deployment {
        metadata: ObjectMeta {
            name: Some(
                naming::cell_gateway_deployment_name(&parts.cluster, &spec.name).into_string(),
            ),
            namespace: parts.namespace.clone(),
            labels: Some(parts.labels.clone()),
            owner_references: Some(parts.owner_references()),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(
                gateway
                    .replicas
                    .unwrap_or(controller_fallbacks::MULTIGATEWAY_REPLICAS),
            ),
            selector: LabelSelector {
                match_labels: Some(parts.selector.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(merge_labels(&parts.labels, &gateway.pod_labels)),
                    annotations: Some(workload_pod_annotations(
                        &gateway.pod_annotations,
                        &parts.project_ref,
                    )),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    affinity: gateway.affinity.clone(),
                    tolerations,
                    node_selector: cell_node_selector(&spec.zone, &spec.region),
                    image_pull_secrets: pod_pull_secrets(&spec.images.image_pull_secrets),
                    volumes: (!volumes.is_empty()).then_some(volumes),
                    ..PodSpec::default()
                }),
            },
            strategy: Some(DeploymentStrategy::default()),
            ..DeploymentSpec::default()
        }),
        status: Some(zero_status::deployment()),
    }
}

/// The gateway's arguments: each flag and its value as separate elements (unlike every other
/// component, spec-controllers.md §16 quirk 9), then the TLS files when a certificate is issued.
fn gateway_args(parts: &CellParts<'_>) -> Vec<String> {
    let spec = &parts.cell.spec;
    let log_level = log_level_flag(spec.log_levels.multigateway);
    let mut args: Vec<String> = [
        "multigateway",
        "--http-port",
        &MULTIGATEWAY_HTTP_PORT.to_string(),
        "--grpc-port",
        &MULTIGATEWAY_GRPC_PORT.to_string(),
        "--pg-port",
        &POSTGRES_PORT.to_string(),
        "--pg-replica-port",
        &MULTIGATEWAY_PG_REPLICA_PORT.to_string(),
        "--topo-global-server-addresses",
        &spec.global_topo_server.address,
        "--topo-global-root",
        &spec.global_topo_server.root_path,
        "--cell",
        &spec.name,
        "--log-level",
        log_level,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    if !spec.cert_common_name.is_empty() {
        args.extend([
            "--pg-tls-cert-file".to_owned(),
            format!("{TLS_MOUNT_PATH}/tls.crt"),
            "--pg-tls-key-file".to_owned(),
            format!("{TLS_MOUNT_PATH}/tls.key"),
        ]);
    }
    args
}
