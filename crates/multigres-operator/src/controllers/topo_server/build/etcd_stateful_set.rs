//! The etcd StatefulSet `<topoServer>` (spec-controllers.md §5): a statically bootstrapped etcd
//! cluster, every member listed in `ETCD_INITIAL_CLUSTER`, one data volume per member.
//!
//! Its pod template is the Go operator's exactly (image, env order, ports, probes), because a
//! change here rolls every etcd member when the operators are swapped. Pure: builds from the
//! parts `build_topo_server_objects` computed.
//!
//! The volume claim template is immutable once the StatefulSet exists, and the API server rejects
//! an apply that changes it (kubernetes/kubernetes#87583 shows a template's own `apiVersion`/`kind`
//! doing so). The Go operator sends the template without them, and k8s-openapi always writes them,
//! so the StatefulSet is wrapped in [`EtcdStatefulSet`], whose JSON leaves them out.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, ObjectFieldSelector, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use multigres_api::defaults::{
    self, ETCD_CLIENT_PORT, ETCD_METRICS_PORT, ETCD_PEER_PORT, controller_fallbacks,
};
use multigres_api::quantity::GoQuantity;
use multigres_api::v1alpha1::{PvcDeletionPolicy, PvcRetentionPolicyType};
use serde::{Serialize, Serializer};

use super::{Error, TopoServerParts};
use crate::controllers::container_image::image_or_default;
use crate::controllers::container_probes::HttpProbes;
use crate::controllers::ports::container_port;
use crate::controllers::zero_status;

/// Name of the etcd container, its data volume and volume claim template.
const CONTAINER_NAME: &str = "etcd";
const DATA_VOLUME_NAME: &str = "data";
/// Where etcd keeps its data (`ETCD_DATA_DIR`).
const DATA_DIR: &str = "/var/lib/etcd";
/// Pods start together: etcd members wait for each other during the static bootstrap.
const POD_MANAGEMENT_POLICY: &str = "Parallel";
const UPDATE_STRATEGY: &str = "RollingUpdate";
const RETAIN: &str = "Retain";
const DELETE: &str = "Delete";
const STORAGE: &str = "storage";

/// The etcd StatefulSet; serializes like the `StatefulSet` it holds, except that its volume
/// claim templates carry no `apiVersion`/`kind` (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct EtcdStatefulSet(pub StatefulSet);

impl std::ops::Deref for EtcdStatefulSet {
    type Target = StatefulSet;

    fn deref(&self) -> &StatefulSet {
        &self.0
    }
}

impl Serialize for EtcdStatefulSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.0).map_err(serde::ser::Error::custom)?;
        if let Some(templates) = value
            .pointer_mut("/spec/volumeClaimTemplates")
            .and_then(serde_json::Value::as_array_mut)
        {
            for template in templates
                .iter_mut()
                .filter_map(serde_json::Value::as_object_mut)
            {
                template.remove("apiVersion");
                template.remove("kind");
            }
        }
        value.serialize(serializer)
    }
}

/// Go `BuildStatefulSet`.
pub(super) fn build_etcd_stateful_set(
    parts: &TopoServerParts<'_>,
) -> Result<EtcdStatefulSet, Error> {
    let etcd = parts.topo_server.spec.etcd.clone().unwrap_or_default();
    let replicas = etcd.replicas.unwrap_or(controller_fallbacks::ETCD_REPLICAS);
    let mut container = Container {
        name: CONTAINER_NAME.to_owned(),
        image: Some(image_or_default(&etcd.image, defaults::ETCD_IMAGE)),
        ports: Some(vec![
            container_port("client", ETCD_CLIENT_PORT),
            container_port("peer", ETCD_PEER_PORT),
            container_port("metrics", ETCD_METRICS_PORT),
        ]),
        env: Some(etcd_env(parts, replicas)),
        resources: Some(etcd.resources.clone()),
        volume_mounts: Some(vec![VolumeMount {
            name: DATA_VOLUME_NAME.to_owned(),
            mount_path: DATA_DIR.to_owned(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    };
    HttpProbes::new("/readyz", "/livez", ETCD_METRICS_PORT).apply_to(&mut container);

    let size = if etcd.storage.size.is_empty() {
        controller_fallbacks::ETCD_STORAGE_SIZE
    } else {
        etcd.storage.size.as_str()
    };
    // Go `resource.MustParse`: the size is printed the way Go prints the parsed quantity.
    let size = GoQuantity::parse(size)
        .map_err(|source| Error::StorageSize {
            topo_server: parts.describe(),
            size: size.to_owned(),
            source,
        })?
        .go_string();
    let access_modes = if etcd.storage.access_modes.is_empty() {
        vec![defaults::ACCESS_MODE.to_owned()]
    } else {
        etcd.storage.access_modes.clone()
    };
    let claim_template = PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME_NAME.to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(access_modes),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(STORAGE.to_owned(), Quantity(size))])),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: (!etcd.storage.class.is_empty())
                .then(|| etcd.storage.class.clone()),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: Some(zero_status::persistent_volume_claim()),
    };

    Ok(EtcdStatefulSet(StatefulSet {
        metadata: parts.object_meta(&parts.name),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(parts.selector.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(parts.labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    ..PodSpec::default()
                }),
            },
            volume_claim_templates: Some(vec![claim_template]),
            service_name: Some(parts.headless_service_name.clone()),
            pod_management_policy: Some(POD_MANAGEMENT_POLICY.to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some(UPDATE_STRATEGY.to_owned()),
                ..StatefulSetUpdateStrategy::default()
            }),
            persistent_volume_claim_retention_policy: Some(retention_policy(
                parts.topo_server.spec.pvc_deletion_policy.as_ref(),
            )),
            ..StatefulSetSpec::default()
        }),
        status: Some(zero_status::stateful_set()),
    }))
}

/// The container environment, in Go's order: the pod's identity, etcd's listen and advertise
/// URLs on the headless Service, then the static member list.
fn etcd_env(parts: &TopoServerParts<'_>, replicas: i32) -> Vec<EnvVar> {
    let headless = &parts.headless_service_name;
    let field = |name: &str, path: &str| EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_owned(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
    };
    let value = |name: &str, value: String| EnvVar {
        name: name.to_owned(),
        value: Some(value),
        value_from: None,
    };
    // The advertised URLs use the pod's own name and namespace through env expansion; the
    // member list below cannot, so it spells the namespace out.
    let advertised = |port: i32| {
        format!("http://$(POD_NAME).{headless}.$(POD_NAMESPACE).svc.cluster.local:{port}")
    };
    vec![
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        value("ETCD_NAME", "$(POD_NAME)".to_owned()),
        value("ETCD_DATA_DIR", DATA_DIR.to_owned()),
        value(
            "ETCD_LISTEN_CLIENT_URLS",
            format!("http://[::]:{ETCD_CLIENT_PORT}"),
        ),
        value(
            "ETCD_LISTEN_PEER_URLS",
            format!("http://[::]:{ETCD_PEER_PORT}"),
        ),
        value(
            "ETCD_LISTEN_METRICS_URLS",
            format!("http://[::]:{ETCD_METRICS_PORT}"),
        ),
        value("ETCD_ADVERTISE_CLIENT_URLS", advertised(ETCD_CLIENT_PORT)),
        value(
            "ETCD_INITIAL_ADVERTISE_PEER_URLS",
            advertised(ETCD_PEER_PORT),
        ),
        value("ETCD_INITIAL_CLUSTER_STATE", "new".to_owned()),
        value("ETCD_INITIAL_CLUSTER_TOKEN", parts.name.clone()),
        value("ETCD_INITIAL_CLUSTER", initial_cluster(parts, replicas)),
    ]
}

/// `<ts>-0=http://<ts>-0.<headless>.<ns>.svc.cluster.local:2380,…`, one entry per member (none
/// for a negative count, as Go).
fn initial_cluster(parts: &TopoServerParts<'_>, replicas: i32) -> String {
    let namespace = parts.namespace.as_deref().unwrap_or_default();
    let headless = &parts.headless_service_name;
    (0..replicas.max(0))
        .map(|ordinal| {
            let pod = format!("{}-{ordinal}", parts.name);
            format!("{pod}=http://{pod}.{headless}.{namespace}.svc.cluster.local:{ETCD_PEER_PORT}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Go `pvc.BuildRetentionPolicy`: `Delete` only where the policy says `Delete`, `Retain` for
/// anything else, including no policy at all (keeping etcd data is the safe side).
fn retention_policy(
    policy: Option<&PvcDeletionPolicy>,
) -> StatefulSetPersistentVolumeClaimRetentionPolicy {
    let map = |field: Option<PvcRetentionPolicyType>| match field {
        Some(PvcRetentionPolicyType::Delete) => DELETE.to_owned(),
        Some(PvcRetentionPolicyType::Retain) | None => RETAIN.to_owned(),
    };
    StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_deleted: Some(map(policy.and_then(|p| p.when_deleted))),
        when_scaled: Some(map(policy.and_then(|p| p.when_scaled))),
    }
}
