//! Object lifecycle over HTTP: finalizers and deletionTimestamp, garbage collection of a
//! three-level owner chain under each propagation policy, namespace termination, the status and
//! scale subresources, and PartialObjectMetadata responses (rust-ecosystem.md §3.3).

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::core::PartialObjectMeta;
use pretty_assertions::assert_eq;
use serde_json::json;
use support::{eventually, start};

fn cm(name: &str, owner: Option<(&str, &str)>, finalizers: &[&str]) -> ConfigMap {
    let mut value = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    if let Some((owner_name, uid)) = owner {
        value["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap",
            "name": owner_name, "uid": uid, "controller": true, "blockOwnerDeletion": true}]);
    }
    if !finalizers.is_empty() {
        value["metadata"]["finalizers"] = json!(finalizers);
    }
    serde_json::from_value(value).expect("valid ConfigMap")
}

async fn names(api: &Api<ConfigMap>) -> Vec<String> {
    api.list(&Default::default())
        .await
        .expect("listed")
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .filter(|name| name != support::ROOT_CA)
        .collect()
}

/// grandparent ← parent ← child, each owned (controller, blockOwnerDeletion) by the previous.
async fn chain(api: &Api<ConfigMap>) {
    let pp = PostParams::default();
    let gp = api
        .create(&pp, &cm("grandparent", None, &[]))
        .await
        .expect("created");
    let gp_uid = gp.metadata.uid.expect("uid");
    let parent = api
        .create(&pp, &cm("parent", Some(("grandparent", &gp_uid)), &[]))
        .await
        .expect("created");
    let parent_uid = parent.metadata.uid.expect("uid");
    api.create(&pp, &cm("child", Some(("parent", &parent_uid)), &[]))
        .await
        .expect("created");
    api.create(&pp, &cm("bystander", None, &[]))
        .await
        .expect("created");
}

async fn delete_with(api: &Api<ConfigMap>, policy: PropagationPolicy) {
    let dp = DeleteParams {
        propagation_policy: Some(policy),
        ..DeleteParams::default()
    };
    api.delete("grandparent", &dp).await.expect("deleted");
}

#[tokio::test]
async fn background_deletion_collects_the_whole_chain() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    chain(&api).await;
    delete_with(&api, PropagationPolicy::Background).await;
    let remaining = eventually("chain collected", Duration::from_secs(10), || async {
        let n = names(&api).await;
        (n == vec!["bystander"]).then_some(n)
    })
    .await;
    assert_eq!(remaining, vec!["bystander"]);
    server.shutdown().await;
}

#[tokio::test]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    chain(&api).await;
    // The child holds a finalizer, so the foreground chain stops at it.
    let mut child = api.get("child").await.expect("child");
    child.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.replace("child", &PostParams::default(), &child)
        .await
        .expect("finalizer added");
    delete_with(&api, PropagationPolicy::Foreground).await;
    let gp = api
        .get("grandparent")
        .await
        .expect("still there while dependents remain");
    assert_eq!(
        gp.metadata.finalizers,
        Some(vec!["foregroundDeletion".to_string()])
    );
    assert!(gp.metadata.deletion_timestamp.is_some());
    let parent = api.get("parent").await.expect("parent waits for child");
    assert_eq!(
        parent.metadata.finalizers,
        Some(vec!["foregroundDeletion".to_string()])
    );
    let child = api.get("child").await.expect("child held by its finalizer");
    assert!(child.metadata.deletion_timestamp.is_some());
    let mut released = child.clone();
    released.metadata.finalizers = None;
    api.replace("child", &PostParams::default(), &released)
        .await
        .expect("finalizer removed");
    let remaining = eventually("chain collected", Duration::from_secs(10), || async {
        let n = names(&api).await;
        (n == vec!["bystander"]).then_some(n)
    })
    .await;
    assert_eq!(remaining, vec!["bystander"]);
    server.shutdown().await;
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_reference() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    chain(&api).await;
    delete_with(&api, PropagationPolicy::Orphan).await;
    let remaining = eventually("owner gone", Duration::from_secs(10), || async {
        let n = names(&api).await;
        (!n.contains(&"grandparent".to_string())).then_some(n)
    })
    .await;
    assert_eq!(remaining, vec!["bystander", "child", "parent"]);
    let parent = api.get("parent").await.expect("orphaned");
    assert_eq!(parent.metadata.owner_references, None);
    let child = api.get("child").await.expect("untouched");
    assert_eq!(child.metadata.owner_references.map(|r| r.len()), Some(1));
    server.shutdown().await;
}

#[tokio::test]
async fn finalizers_hold_a_deleted_object_until_removed() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let created = api
        .create(
            &PostParams::default(),
            &cm("held", None, &["example.com/cleanup"]),
        )
        .await
        .expect("created");
    let marked = api
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete accepted")
        .left()
        .expect("object returned while finalizers remain");
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(0));
    assert_eq!(
        marked.metadata.generation,
        Some(created.metadata.generation.expect("gen") + 1)
    );
    let mut adding = marked.clone();
    adding.metadata.finalizers = Some(vec!["example.com/cleanup".into(), "example.com/new".into()]);
    let refused = support::status_of(api.replace("held", &PostParams::default(), &adding).await);
    assert_eq!(refused.code, 422);
    assert_eq!(
        refused.message,
        "ConfigMap \"held\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers [\"example.com/new\"]"
    );
    let mut released = marked.clone();
    released.metadata.finalizers = None;
    api.replace("held", &PostParams::default(), &released)
        .await
        .expect("finalizer removed");
    assert_eq!(api.get_opt("held").await.expect("get_opt"), None);
    server.shutdown().await;
}

#[tokio::test]
async fn a_deleted_namespace_terminates_and_takes_its_contents() {
    let server = start().await;
    let client = server.client();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "doomed"}}))
    .expect("valid");
    let created = namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("created");
    assert_eq!(
        created.status.and_then(|s| s.phase),
        Some("Active".to_string())
    );
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    api.create(&PostParams::default(), &cm("free", None, &[]))
        .await
        .expect("created");
    api.create(
        &PostParams::default(),
        &cm("held", None, &["example.com/hold"]),
    )
    .await
    .expect("created");
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("delete accepted");
    let terminating = namespaces.get("doomed").await.expect("still terminating");
    assert_eq!(
        terminating.status.and_then(|s| s.phase),
        Some("Terminating".to_string())
    );
    assert_eq!(names(&api).await, vec!["held"]);
    let refused = support::status_of(
        api.create(&PostParams::default(), &cm("late", None, &[]))
            .await,
    );
    assert_eq!(refused.code, 403);
    assert_eq!(
        refused.message,
        "configmaps \"late\" is forbidden: unable to create new content in namespace doomed because it is being terminated"
    );
    let mut held = api.get("held").await.expect("held");
    held.metadata.finalizers = None;
    api.replace("held", &PostParams::default(), &held)
        .await
        .expect("released");
    eventually("namespace gone", Duration::from_secs(10), || async {
        namespaces
            .get_opt("doomed")
            .await
            .expect("get_opt")
            .is_none()
            .then_some(())
    })
    .await;
    server.shutdown().await;
}

fn deployment(replicas: i32) -> Deployment {
    serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
        "status": {"replicas": 99}}))
    .expect("valid Deployment")
}

#[tokio::test]
async fn status_and_scale_subresources_split_the_object() {
    let server = start().await;
    let api: Api<Deployment> = Api::namespaced(server.client(), "default");
    let created = api
        .create(&PostParams::default(), &deployment(2))
        .await
        .expect("created");
    assert_eq!(
        created.status, None,
        "create resets status (registry PrepareForCreate)"
    );
    let mut status_write = created.clone();
    status_write.status =
        Some(serde_json::from_value(json!({"replicas": 2, "readyReplicas": 1})).expect("status"));
    status_write.spec.as_mut().expect("spec").replicas = Some(7);
    let after_status = api
        .replace_status("web", &PostParams::default(), &status_write)
        .await
        .expect("status written");
    assert_eq!(
        after_status.spec.as_ref().and_then(|s| s.replicas),
        Some(2),
        "/status ignores spec"
    );
    assert_eq!(
        after_status.status.as_ref().and_then(|s| s.ready_replicas),
        Some(1)
    );
    assert_eq!(
        after_status.metadata.generation,
        Some(1),
        "status writes keep generation"
    );
    let mut main_write = after_status.clone();
    main_write.status = None;
    main_write.spec.as_mut().expect("spec").replicas = Some(3);
    let after_main = api
        .replace("web", &PostParams::default(), &main_write)
        .await
        .expect("replaced");
    assert_eq!(
        after_main.status.as_ref().and_then(|s| s.ready_replicas),
        Some(1),
        "main writes ignore status"
    );
    assert_eq!(after_main.metadata.generation, Some(2));

    let scale = api.get_scale("web").await.expect("scale");
    assert_eq!(scale.spec.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(scale.status.as_ref().map(|s| s.replicas), Some(2));
    assert_eq!(
        scale.status.as_ref().and_then(|s| s.selector.clone()),
        Some("app=web".to_string())
    );
    let mut rescale = scale.clone();
    rescale.spec.as_mut().expect("spec").replicas = Some(5);
    let rescaled = api
        .replace_scale("web", &PostParams::default(), &rescale)
        .await
        .expect("scaled");
    assert_eq!(rescaled.spec.and_then(|s| s.replicas), Some(5));
    assert_eq!(
        api.get("web")
            .await
            .expect("web")
            .spec
            .and_then(|s| s.replicas),
        Some(5)
    );
    let stale = support::status_of(
        api.replace_scale("web", &PostParams::default(), &rescale)
            .await,
    );
    assert_eq!(stale.code, 409);
    server.shutdown().await;
}

#[tokio::test]
async fn metadata_only_reads_return_partial_object_metadata() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &cm("meta", None, &[]))
        .await
        .expect("created");
    let partial: PartialObjectMeta<ConfigMap> = api.get_metadata("meta").await.expect("metadata");
    assert_eq!(partial.metadata.name.as_deref(), Some("meta"));
    let list = api
        .list_metadata(&Default::default())
        .await
        .expect("metadata list");
    let listed: Vec<_> = list
        .items
        .iter()
        .filter_map(|item| item.metadata.name.as_deref())
        .filter(|name| *name != support::ROOT_CA)
        .collect();
    assert_eq!(listed, ["meta"]);
    let raw = support::raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/meta",
        &[(
            "Accept",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
        )],
        "",
    )
    .await
    .json();
    assert_eq!(raw["kind"], "PartialObjectMetadata");
    assert_eq!(raw["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(raw.get("data"), None);
    server.shutdown().await;
}

#[tokio::test]
async fn registry_strategies_initialise_pods_pvcs_and_services() {
    let server = start().await;
    let client = server.client();
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), "default");
    let pod = serde_json::from_value(json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox",
            "resources": {"limits": {"cpu": "1", "memory": "64Mi"}}}]},
        "status": {"phase": "Running"}}))
    .expect("valid Pod");
    let created = pods
        .create(&PostParams::default(), &pod)
        .await
        .expect("created");
    let status = created.status.expect("status set by the server");
    assert_eq!(
        (status.phase.as_deref(), status.qos_class.as_deref()),
        (Some("Pending"), Some("Guaranteed"))
    );
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(client.clone(), "default");
    let service = serde_json::from_value(json!({"metadata": {"name": "db"},
        "spec": {"selector": {"app": "db"}, "ports": [{"port": 5432}]}}))
    .expect("valid Service");
    let created = services
        .create(&PostParams::default(), &service)
        .await
        .expect("created");
    let spec = created.spec.clone().expect("spec");
    assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.0.10"));
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    // A replace without the address keeps it.
    let mut without_ip = created.clone();
    without_ip.spec.as_mut().expect("spec").cluster_ip = None;
    without_ip.spec.as_mut().expect("spec").cluster_ips = None;
    let replaced = services
        .replace("db", &PostParams::default(), &without_ip)
        .await
        .expect("replaced");
    assert_eq!(
        replaced.spec.and_then(|s| s.cluster_ip).as_deref(),
        Some("10.96.0.10")
    );
    server.shutdown().await;
}
