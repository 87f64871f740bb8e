//! The multiadmin-web Deployment and Service `{cluster}-multiadmin-web` (spec-controllers.md
//! §2.6): the web console, talking to multiadmin and to PostgreSQL through the cluster-wide
//! gateway Service.
//!
//! The container is the Go operator's exactly (no OTEL variables, no sampling volume); fix 10
//! adds an `Always`/`Never` pull policy (`IfNotPresent` stays implicit, as in Go). The Service carries the external IPs and annotations of
//! `externalAdminWeb` only while it is enabled, so a later apply without them removes them. Pure.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, EnvVar, Service, ServiceSpec};
use multigres_api::defaults::{
    MULTIADMIN_HTTP_PORT, MULTIADMIN_WEB_HTTP_PORT, POSTGRES_PORT, POSTGRES_SUPERUSER,
    SYSTEM_DATABASE_NAME,
};
use multigres_api::labels::{Component, cluster_component_labels, selector_labels};
use multigres_api::naming;
use multigres_api::v1alpha1::StatelessSpec;

use super::{ClusterParts, exposure, stateless_deployment};
use crate::controllers::container_probes::HttpProbes;
use crate::controllers::image_pull::container_pull_policy;
use crate::controllers::ports::{CLUSTER_IP, container_port, service_port_to_number};
use crate::controllers::zero_status;

const CONTAINER_NAME: &str = "multiadmin-web";
/// Listen on every IPv6 and IPv4 address (the Node.js server reads `HOSTNAME`).
const LISTEN_HOST: &str = "::";

/// Go `BuildMultiAdminWebDeployment`.
pub(super) fn build_multiadmin_web_deployment(
    parts: &ClusterParts<'_>,
    resolved: &StatelessSpec,
) -> Deployment {
    let spec = parts.spec;
    let value = |name: &str, value: String| EnvVar {
        name: name.to_owned(),
        value: Some(value),
        value_from: None,
    };
    let superuser = if spec.postgres_superuser.is_empty() {
        POSTGRES_SUPERUSER.to_owned()
    } else {
        spec.postgres_superuser.clone()
    };
    let mut container = Container {
        name: CONTAINER_NAME.to_owned(),
        image: Some(spec.images.multiadmin_web.to_string()),
        image_pull_policy: container_pull_policy(spec.images.image_pull_policy),
        env: Some(vec![
            value("HOSTNAME", LISTEN_HOST.to_owned()),
            value(
                "MULTIADMIN_API_URL",
                format!(
                    "http://{}:{MULTIADMIN_HTTP_PORT}",
                    naming::multiadmin_name(&parts.cluster)
                ),
            ),
            value(
                "POSTGRES_HOST",
                naming::global_gateway_service_name(&parts.cluster).into_string(),
            ),
            value("POSTGRES_PORT", POSTGRES_PORT.to_string()),
            value("POSTGRES_DATABASE", SYSTEM_DATABASE_NAME.to_owned()),
            value("POSTGRES_USER", superuser),
        ]),
        ports: Some(vec![container_port("http", MULTIADMIN_WEB_HTTP_PORT)]),
        resources: Some(resolved.resources.clone()),
        ..Container::default()
    };
    HttpProbes::new("/", "/", MULTIADMIN_WEB_HTTP_PORT).apply_to(&mut container);
    stateless_deployment(
        parts,
        naming::multiadmin_web_name(&parts.cluster).into_string(),
        Component::MultiadminWeb,
        resolved,
        container,
    )
}

/// Go `BuildMultiAdminWebService`: HTTP to the container's port number, exposed through
/// `spec.externalAdminWeb` when enabled.
pub(super) fn build_multiadmin_web_service(parts: &ClusterParts<'_>) -> Service {
    let labels = cluster_component_labels(&parts.cluster, Component::MultiadminWeb);
    let exposure = exposure(parts.spec.external_admin_web.as_ref());
    Service {
        metadata: parts.object_meta(
            naming::multiadmin_web_name(&parts.cluster).into_string(),
            labels.clone(),
            exposure.annotations,
        ),
        spec: Some(ServiceSpec {
            selector: Some(selector_labels(&labels)),
            type_: Some(CLUSTER_IP.to_owned()),
            external_ips: exposure.external_ips,
            ports: Some(vec![service_port_to_number(
                "http",
                MULTIADMIN_WEB_HTTP_PORT,
            )]),
            ..ServiceSpec::default()
        }),
        status: Some(zero_status::service()),
    }
}
