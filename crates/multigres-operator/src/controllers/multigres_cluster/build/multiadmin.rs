//! The multiadmin Deployment and Service `{cluster}-multiadmin` (spec-controllers.md §2.5): the
//! cluster's administration API.
//!
//! Arguments and environment are the Go operator's exactly, including its quirk of always
//! pointing at the managed global topology address and root (§16 quirk 4), so swapping operators
//! does not roll multiadmin. Fix 10 adds an `Always`/`Never` pull policy (`IfNotPresent` stays
//! implicit, as in Go). Pure.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Service, ServiceSpec};
use multigres_api::defaults::{MULTIADMIN_GRPC_PORT, MULTIADMIN_HTTP_PORT, TOPO_ROOT_PATH};
use multigres_api::labels::{Component, cluster_component_labels, selector_labels};
use multigres_api::naming;
use multigres_api::v1alpha1::StatelessSpec;

use super::{ClusterParts, stateless_deployment};
use crate::controllers::container_probes::HttpProbes;
use crate::controllers::image_pull::container_pull_policy;
use crate::controllers::log_level::log_level_flag;
use crate::controllers::otel_env::{OperatorOtelEnv, otel_env_vars, otel_sampling_volume};
use crate::controllers::ports::{CLUSTER_IP, container_port, service_port_to_number};
use crate::controllers::zero_status;

const CONTAINER_NAME: &str = "multiadmin";
const COMMAND: &str = "/multigres/bin/multiadmin";

/// Go `BuildMultiAdminDeployment`.
pub(super) fn build_multiadmin_deployment(
    parts: &ClusterParts<'_>,
    resolved: &StatelessSpec,
    operator_env: &OperatorOtelEnv,
) -> Deployment {
    let spec = parts.spec;
    let env = otel_env_vars(spec.observability.as_ref(), operator_env);
    let sampling = otel_sampling_volume(spec.observability.as_ref());
    let mut container = Container {
        name: CONTAINER_NAME.to_owned(),
        image: Some(spec.images.multiadmin.to_string()),
        image_pull_policy: container_pull_policy(spec.images.image_pull_policy),
        command: Some(vec![COMMAND.to_owned()]),
        args: Some(vec![
            format!("--http-port={MULTIADMIN_HTTP_PORT}"),
            format!("--grpc-port={MULTIADMIN_GRPC_PORT}"),
            format!(
                "--topo-global-server-addresses={}",
                naming::global_topo_address(&parts.cluster, parts.namespace_str())
            ),
            format!("--topo-global-root={TOPO_ROOT_PATH}"),
            "--service-map=grpc-multiadmin".to_owned(),
            "--pprof-http=true".to_owned(),
            format!("--log-level={}", log_level_flag(spec.log_levels.multiadmin)),
        ]),
        ports: Some(vec![
            container_port("http", MULTIADMIN_HTTP_PORT),
            container_port("grpc", MULTIADMIN_GRPC_PORT),
        ]),
        resources: Some(resolved.resources.clone()),
        env: (!env.is_empty()).then_some(env),
        volume_mounts: sampling
            .as_ref()
            .map(|sampling| vec![sampling.mount.clone()]),
        ..Container::default()
    };
    HttpProbes::new("/ready", "/live", MULTIADMIN_HTTP_PORT).apply_to(&mut container);
    let mut deployment = stateless_deployment(
        parts,
        naming::multiadmin_name(&parts.cluster).into_string(),
        Component::Multiadmin,
        resolved,
        container,
    );
    if let Some(sampling) = sampling
        && let Some(pod) = deployment
            .spec
            .as_mut()
            .and_then(|spec| spec.template.spec.as_mut())
    {
        pod.volumes = Some(vec![sampling.volume]);
    }
    deployment
}

/// Go `BuildMultiAdminService`: HTTP and gRPC, to the container's port numbers.
pub(super) fn build_multiadmin_service(parts: &ClusterParts<'_>) -> Service {
    let labels = cluster_component_labels(&parts.cluster, Component::Multiadmin);
    Service {
        metadata: parts.object_meta(
            naming::multiadmin_name(&parts.cluster).into_string(),
            labels.clone(),
            None,
        ),
        spec: Some(ServiceSpec {
            selector: Some(selector_labels(&labels)),
            type_: Some(CLUSTER_IP.to_owned()),
            ports: Some(vec![
                service_port_to_number("http", MULTIADMIN_HTTP_PORT),
                service_port_to_number("grpc", MULTIADMIN_GRPC_PORT),
            ]),
            ..ServiceSpec::default()
        }),
        status: Some(zero_status::service()),
    }
}
