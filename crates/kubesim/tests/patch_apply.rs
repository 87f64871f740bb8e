//! The four PATCH content types and server-side apply over HTTP with a real kube client
//! (rust-ecosystem.md §3.1 `patch`, §3.3 server-side apply, merge/strategic/JSON patch, P6).

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use pretty_assertions::assert_eq;
use serde_json::json;
use support::{start, status_of};

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"keep": "yes", "drop": "yes"}}, "data": {"a": "1"}}))
    .expect("valid ConfigMap")
}

#[tokio::test]
async fn merge_patch_changes_and_removes_fields() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &cm("merge"))
        .await
        .expect("created");
    let patched = api
        .patch(
            "merge",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"labels": {"drop": null, "new": "1"}}, "data": {"b": "2"}}),
            ),
        )
        .await
        .expect("patched");
    assert_eq!(
        patched.metadata.labels,
        Some(
            [
                ("keep".to_string(), "yes".to_string()),
                ("new".to_string(), "1".to_string())
            ]
            .into()
        )
    );
    assert_eq!(
        patched.data,
        Some(
            [
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "2".to_string())
            ]
            .into()
        )
    );
    server.shutdown().await;
}

#[tokio::test]
async fn json_patch_test_of_missing_finalizers_passes_like_the_api_server() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &cm("finalized"))
        .await
        .expect("created");
    // kube-runtime's finalizer() helper sends exactly this for an object without finalizers.
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/cleanup"]}
    ]))
    .expect("valid JSON patch");
    let patched = api
        .patch(
            "finalized",
            &PatchParams::default(),
            &Patch::<()>::Json(patch),
        )
        .await
        .expect("patched");
    assert_eq!(
        patched.metadata.finalizers,
        Some(vec!["example.com/cleanup".to_string()])
    );
    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/a", "value": "other"}
    ]))
    .expect("valid JSON patch");
    let status = status_of(
        api.patch(
            "finalized",
            &PatchParams::default(),
            &Patch::<()>::Json(failing),
        )
        .await,
    );
    assert_eq!(status.code, 422);
    assert_eq!(
        status.message,
        "the server rejected our request due to an error in our request"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_by_name() {
    let server = start().await;
    let api: Api<Deployment> = Api::namespaced(server.client(), "default");
    let deployment: Deployment =
        serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1"},
                                                      {"name": "sidecar", "image": "envoy:1"}]}}}}))
        .expect("valid");
    api.create(&PostParams::default(), &deployment)
        .await
        .expect("created");
    let patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}})),
        )
        .await
        .expect("patched");
    let images: Vec<(String, Option<String>)> = patched
        .spec
        .expect("spec")
        .template
        .spec
        .expect("pod spec")
        .containers
        .into_iter()
        .map(|c| (c.name, c.image))
        .collect();
    assert_eq!(
        images,
        vec![
            ("web".to_string(), Some("nginx:2".to_string())),
            ("sidecar".to_string(), Some("envoy:1".to_string()))
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn server_side_apply_creates_owns_and_conflicts() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "applied"}, "data": {"owned": "by-a"}});
    let created = api
        .patch(
            "applied",
            &PatchParams::apply("manager-a"),
            &Patch::Apply(&applied),
        )
        .await
        .expect("apply creates the missing object");
    let managers: Vec<(String, String)> = created
        .metadata
        .managed_fields
        .clone()
        .expect("managed fields")
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.operation.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        managers,
        vec![("manager-a".to_string(), "Apply".to_string())]
    );
    let rival = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "applied"}, "data": {"owned": "by-b"}});
    let conflict = status_of(
        api.patch(
            "applied",
            &PatchParams::apply("manager-b"),
            &Patch::Apply(&rival),
        )
        .await,
    );
    assert_eq!(conflict.code, 409);
    assert_eq!(conflict.reason, "Conflict");
    assert_eq!(
        conflict.message,
        "Apply failed with 1 conflict: conflict with \"manager-a\": .data.owned"
    );
    let forced = api
        .patch(
            "applied",
            &PatchParams::apply("manager-b").force(),
            &Patch::Apply(&rival),
        )
        .await
        .expect("force takes ownership");
    assert_eq!(
        forced.data,
        Some([("owned".to_string(), "by-b".to_string())].into())
    );
    let rv = forced.metadata.resource_version.clone();
    let again = api
        .patch(
            "applied",
            &PatchParams::apply("manager-b").force(),
            &Patch::Apply(&rival),
        )
        .await
        .expect("idempotent apply");
    assert_eq!(
        again.metadata.resource_version, rv,
        "an unchanged apply writes nothing"
    );
    let missing_manager = status_of(
        api.patch("applied", &PatchParams::default(), &Patch::Apply(&rival))
            .await,
    );
    assert_eq!(missing_manager.code, 422);
    assert_eq!(
        missing_manager.message,
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn create_records_an_update_manager() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let pp = PostParams {
        field_manager: Some("creator".into()),
        ..PostParams::default()
    };
    let created = api.create(&pp, &cm("tracked")).await.expect("created");
    let entry = created
        .metadata
        .managed_fields
        .expect("managed fields")
        .remove(0);
    assert_eq!(entry.manager.as_deref(), Some("creator"));
    assert_eq!(entry.operation.as_deref(), Some("Update"));
    assert_eq!(entry.api_version.as_deref(), Some("v1"));
    server.shutdown().await;
}

#[tokio::test]
async fn dry_run_patches_and_applies_persist_nothing() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &cm("dry"))
        .await
        .expect("created");
    let before = server.cluster().revision();
    let dry = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    let merged = api
        .patch(
            "dry",
            &dry,
            &Patch::Merge(json!({"data": {"a": "changed"}})),
        )
        .await
        .expect("dry-run merge patch");
    assert_eq!(
        merged.data,
        Some([("a".to_string(), "changed".to_string())].into())
    );
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "dry-applied"}, "data": {"x": "1"}});
    let mut apply = PatchParams::apply("dry-runner");
    apply.dry_run = true;
    let would = api
        .patch("dry-applied", &apply, &Patch::Apply(&applied))
        .await
        .expect("dry-run apply of a missing object");
    assert_eq!(would.metadata.name.as_deref(), Some("dry-applied"));
    assert_eq!(
        api.get("dry").await.expect("kept").data,
        Some([("a".to_string(), "1".to_string())].into())
    );
    assert_eq!(api.get_opt("dry-applied").await.expect("get_opt"), None);
    assert_eq!(server.cluster().revision(), before);
    server.shutdown().await;
}
