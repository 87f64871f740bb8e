//! The simulated volume binder over HTTP: claims get the default class and a provisioned,
//! bound volume; a larger request expands it; a pod waits for its claim; WaitForFirstConsumer
//! provisions in the zone the pod was scheduled to; a deleted claim's volume is reclaimed.

mod kubelet_support;
mod support;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use kubelet_support::{DEADLINE, condition, pod, running_and_ready, start, wait_pod};

fn claim(name: &str, class: Option<&str>, size: &str) -> PersistentVolumeClaim {
    let mut body = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}});
    if let Some(class) = class {
        body["spec"]["storageClassName"] = json!(class);
    }
    serde_json::from_value(body).expect("valid claim")
}

async fn claim_json(claims: &Api<PersistentVolumeClaim>, name: &str) -> Option<Value> {
    claims
        .get_opt(name)
        .await
        .expect("get succeeds")
        .map(|c| serde_json::to_value(c).expect("claims serialize"))
}

async fn wait_claim(
    claims: &Api<PersistentVolumeClaim>,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    support::eventually(what, DEADLINE, || async {
        claim_json(claims, name).await.filter(|c| check(c))
    })
    .await
}

#[tokio::test]
async fn a_claim_is_bound_to_a_provisioned_volume_expanded_and_reclaimed() {
    let server = start(&["zone-a"], 1.0).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(server.client(), "default");
    let volumes: Api<PersistentVolume> = Api::all(server.client());
    let created = claims
        .create(&PostParams::default(), &claim("data", None, "1Gi"))
        .await
        .expect("created");
    let uid = created.metadata.uid.expect("uid");
    let bound = wait_claim(&claims, "data", "the claim to be bound", |c| {
        c["status"]["phase"] == "Bound"
    })
    .await;
    let volume_name = format!("pvc-{uid}");
    assert_eq!(
        bound["spec"]["storageClassName"], "standard",
        "the default class"
    );
    assert_eq!(bound["spec"]["volumeName"], json!(volume_name));
    assert_eq!(
        bound["status"],
        json!({"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}})
    );
    assert_eq!(
        bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"],
        "yes"
    );
    let volume = serde_json::to_value(volumes.get(&volume_name).await.expect("volume provisioned"))
        .expect("serializes");
    assert_eq!(volume["status"]["phase"], "Bound");
    assert_eq!(volume["spec"]["capacity"], json!({"storage": "1Gi"}));
    assert_eq!(volume["spec"]["storageClassName"], "standard");
    assert_eq!(volume["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(volume["spec"]["claimRef"]["uid"], json!(uid));
    assert_eq!(volume["spec"]["claimRef"]["name"], "data");

    // The default class allows expansion: a larger request grows the volume and the claim.
    let mut bigger: PersistentVolumeClaim = serde_json::from_value(bound).expect("claim");
    bigger
        .spec
        .as_mut()
        .expect("spec")
        .resources
        .as_mut()
        .expect("resources")
        .requests = Some(
        [(
            "storage".to_string(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("2Gi".into()),
        )]
        .into(),
    );
    claims
        .replace("data", &PostParams::default(), &bigger)
        .await
        .expect("request raised");
    let expanded = wait_claim(&claims, "data", "the claim to grow", |c| {
        c["status"]["capacity"]["storage"] == "2Gi"
    })
    .await;
    assert_eq!(expanded["status"]["phase"], "Bound");
    let volume = volumes.get(&volume_name).await.expect("volume");
    assert_eq!(
        volume
            .spec
            .and_then(|s| s.capacity)
            .and_then(|c| c.get("storage").cloned())
            .map(|q| q.0),
        Some("2Gi".to_string())
    );

    claims
        .delete("data", &DeleteParams::default())
        .await
        .expect("claim deleted");
    support::eventually("the volume to be reclaimed", DEADLINE, || async {
        volumes
            .get_opt(&volume_name)
            .await
            .expect("get")
            .is_none()
            .then_some(())
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_retained_volume_is_released_with_its_claim() {
    let server = start(&["zone-a"], 1.0).await;
    let classes: Api<StorageClass> = Api::all(server.client());
    classes
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": "kept"}, "provisioner": "kubesim.io/hostpath",
                "reclaimPolicy": "Retain", "volumeBindingMode": "Immediate"}),
            )
            .expect("class"),
        )
        .await
        .expect("class created");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(server.client(), "default");
    claims
        .create(
            &PostParams::default(),
            &claim("kept-data", Some("kept"), "1Gi"),
        )
        .await
        .expect("created");
    let bound = wait_claim(&claims, "kept-data", "the claim to be bound", |c| {
        c["status"]["phase"] == "Bound"
    })
    .await;
    let volume_name = bound["spec"]["volumeName"]
        .as_str()
        .expect("volume")
        .to_string();
    let volumes: Api<PersistentVolume> = Api::all(server.client());
    let volume = volumes.get(&volume_name).await.expect("volume");
    assert_eq!(
        volume.spec.and_then(|s| s.persistent_volume_reclaim_policy),
        Some("Retain".into())
    );
    claims
        .delete("kept-data", &DeleteParams::default())
        .await
        .expect("deleted");
    support::eventually("the volume to be released", DEADLINE, || async {
        let v = volumes.get(&volume_name).await.expect("retained");
        (v.status.and_then(|s| s.phase).as_deref() == Some("Released")).then_some(())
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn resizing_follows_the_api_servers_rules() {
    let server = start(&["zone-a"], 1.0).await;
    let classes: Api<StorageClass> = Api::all(server.client());
    classes
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": "fixed"}, "provisioner": "kubesim.io/hostpath",
                "volumeBindingMode": "Immediate", "allowVolumeExpansion": false}),
            )
            .expect("class"),
        )
        .await
        .expect("class created");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(server.client(), "default");
    let with_size = |claim: &Value, size: &str| -> PersistentVolumeClaim {
        let mut c = claim.clone();
        c["spec"]["resources"]["requests"]["storage"] = json!(size);
        serde_json::from_value(c).expect("claim")
    };
    claims
        .create(
            &PostParams::default(),
            &claim("fixed-data", Some("fixed"), "1Gi"),
        )
        .await
        .expect("created");
    let bound = wait_claim(&claims, "fixed-data", "the claim to be bound", |c| {
        c["status"]["phase"] == "Bound"
    })
    .await;
    let refused = support::status_of(
        claims
            .replace(
                "fixed-data",
                &PostParams::default(),
                &with_size(&bound, "2Gi"),
            )
            .await,
    );
    assert_eq!(
        (
            refused.code,
            refused.reason.as_str(),
            refused.message.as_str()
        ),
        (
            403,
            "Forbidden",
            "persistentvolumeclaims \"fixed-data\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
        )
    );
    let shrink = support::status_of(
        claims
            .replace(
                "fixed-data",
                &PostParams::default(),
                &with_size(&bound, "512Mi"),
            )
            .await,
    );
    assert_eq!(
        (shrink.code, shrink.reason.as_str(), shrink.message.as_str()),
        (
            422,
            "Invalid",
            "PersistentVolumeClaim \"fixed-data\" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
        )
    );
    claims
        .create(
            &PostParams::default(),
            &claim("unbound", Some("missing-class"), "1Gi"),
        )
        .await
        .expect("created");
    let unbound = claim_json(&claims, "unbound").await.expect("claim");
    let not_bound = support::status_of(
        claims
            .replace(
                "unbound",
                &PostParams::default(),
                &with_size(&unbound, "2Gi"),
            )
            .await,
    );
    assert_eq!(
        (not_bound.code, not_bound.message.as_str()),
        (
            403,
            "persistentvolumeclaims \"unbound\" is forbidden: Only bound persistent volume claims can be expanded"
        )
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_pod_waits_for_its_claim() {
    let server = start(&["zone-a"], 1.0).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let volumes =
        json!({"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}}]});
    pods.create(&PostParams::default(), &pod("db", &["postgres"], volumes))
        .await
        .expect("created");
    let pending = wait_pod(&pods, "db", "the scheduler's verdict", |p| {
        condition(p, "PodScheduled").is_some()
    })
    .await;
    assert_eq!(
        condition(&pending, "PodScheduled").expect("condition")["message"],
        "0/1 nodes are available: persistentvolumeclaim \"db-data\" not found. \
         preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    );
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(server.client(), "default");
    claims
        .create(&PostParams::default(), &claim("db-data", None, "1Gi"))
        .await
        .expect("created");
    let running = wait_pod(
        &pods,
        "db",
        "the pod to run once its claim is bound",
        running_and_ready,
    )
    .await;
    assert_eq!(
        condition(&running, "PodScheduled").expect("condition")["status"],
        "True"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn wait_for_first_consumer_provisions_in_the_pods_zone() {
    let server = start(&["zone-a", "zone-b"], 1.0).await;
    let classes: Api<StorageClass> = Api::all(server.client());
    classes
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": "local"}, "provisioner": "kubesim.io/hostpath",
                "volumeBindingMode": "WaitForFirstConsumer"}),
            )
            .expect("class"),
        )
        .await
        .expect("class created");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(server.client(), "default");
    claims
        .create(
            &PostParams::default(),
            &claim("local-data", Some("local"), "1Gi"),
        )
        .await
        .expect("created");
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let spec = json!({"nodeSelector": {"topology.kubernetes.io/zone": "zone-b"},
                      "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "local-data"}}]});
    pods.create(&PostParams::default(), &pod("consumer", &["app"], spec))
        .await
        .expect("created");
    let running = wait_pod(&pods, "consumer", "the consumer to run", running_and_ready).await;
    assert_eq!(running["spec"]["nodeName"], "kubesim-zone-b");
    let bound = wait_claim(&claims, "local-data", "the claim to be bound", |c| {
        c["status"]["phase"] == "Bound"
    })
    .await;
    assert_eq!(
        bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"],
        "kubesim-zone-b"
    );
    let volumes: Api<PersistentVolume> = Api::all(server.client());
    let volume = serde_json::to_value(
        volumes
            .get(bound["spec"]["volumeName"].as_str().expect("volume"))
            .await
            .expect("volume"),
    )
    .expect("serializes");
    assert_eq!(
        volume["spec"]["nodeAffinity"],
        json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-b"]}]}]}})
    );
    server.shutdown().await;
}
