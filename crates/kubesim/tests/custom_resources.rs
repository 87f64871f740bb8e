//! CustomResourceDefinitions at runtime over HTTP: Established status, serving the new kind,
//! pruning/defaults/validation of custom resources, status and scale subresources, strategic
//! merge refused with 415, and removal of the kind with its CRD (rust-ecosystem.md §3.3 "CRD
//! engine").

mod support;

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::runtime::wait::{await_condition, conditions};
use pretty_assertions::assert_eq;
use serde_json::json;
use support::{eventually, raw, start, status_of};

pub fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.kubesim.test"},
        "spec": {
            "group": "kubesim.test",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                      "listKind": "WidgetList", "shortNames": ["wd"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.ready", "labelSelectorPath": ".status.selector"}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object",
                        "x-kubernetes-validations": [{"rule": "self.replicas <= 10", "message": "at most 10 replicas"}],
                        "properties": {
                            "replicas": {"type": "integer", "minimum": 0, "default": 1},
                            "size": {"type": "string", "maxLength": 5}}},
                    "status": {"type": "object", "properties": {
                        "ready": {"type": "integer"}, "selector": {"type": "string"}}}}}}
            }]
        }
    }))
    .expect("valid CRD")
}

async fn install(client: kube::Client) -> Api<DynamicObject> {
    install_crd(client, &widget_crd()).await
}

/// Creates `crd` (a variant of the widget CRD), waits until it is Established and returns the
/// Widget API.
async fn install_crd(client: kube::Client, crd: &CustomResourceDefinition) -> Api<DynamicObject> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), crd)
        .await
        .expect("CRD created");
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(
            crds,
            "widgets.kubesim.test",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("established within 10s")
    .expect("watch works");
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubesim.test", "v1", "Widget"),
        "widgets",
    );
    Api::namespaced_with(client, "default", &resource)
}

fn widget(name: &str, spec: serde_json::Value) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "kubesim.test/v1", "kind": "Widget",
        "metadata": {"name": name}, "spec": spec}))
    .expect("valid Widget")
}

#[tokio::test]
async fn a_crd_becomes_established_and_its_kind_is_served() {
    let server = start().await;
    let widgets = install(server.client()).await;
    let created = widgets
        .create(
            &PostParams::default(),
            &widget("w1", json!({"size": "s", "unknown": true})),
        )
        .await
        .expect("created");
    assert_eq!(
        created.data["spec"],
        json!({"replicas": 1, "size": "s"}),
        "pruned and defaulted"
    );
    assert_eq!(
        created.types.as_ref().map(|t| t.api_version.as_str()),
        Some("kubesim.test/v1")
    );
    let list = raw(
        &server,
        "GET",
        "/apis/kubesim.test/v1/namespaces/default/widgets",
        &[],
        "",
    )
    .await
    .json();
    assert_eq!(list["kind"], "WidgetList");
    assert_eq!(list["items"][0]["kind"], "Widget");
    let discovery = raw(&server, "GET", "/apis/kubesim.test/v1", &[], "")
        .await
        .json();
    assert_eq!(discovery["resources"][0]["name"], "widgets");
    assert_eq!(discovery["resources"][0]["shortNames"], json!(["wd"]));
    server.shutdown().await;
}

#[tokio::test]
async fn custom_resources_are_validated_by_their_schema() {
    let server = start().await;
    let widgets = install(server.client()).await;
    let too_long = status_of(
        widgets
            .create(
                &PostParams::default(),
                &widget("w2", json!({"size": "enormous"})),
            )
            .await,
    );
    assert_eq!(too_long.code, 422);
    assert_eq!(too_long.reason, "Invalid");
    assert_eq!(
        too_long.message,
        // CEL rules are skipped once the schema fails, and the API server says so.
        "Widget.kubesim.test \"w2\" is invalid: [spec.size: Too long: may not be more than 5 bytes, <nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]"
    );
    let cel = status_of(
        widgets
            .create(
                &PostParams::default(),
                &widget("w3", json!({"replicas": 11})),
            )
            .await,
    );
    assert_eq!(
        cel.message,
        "Widget.kubesim.test \"w3\" is invalid: spec: Invalid value: \"object\": at most 10 replicas"
    );
    let strict = raw(
        &server,
        "POST",
        "/apis/kubesim.test/v1/namespaces/default/widgets?fieldValidation=Strict",
        &[("Content-Type", "application/json")],
        r#"{"apiVersion":"kubesim.test/v1","kind":"Widget","metadata":{"name":"w4"},"spec":{"bogus":1}}"#,
    )
    .await;
    assert_eq!(strict.status, 400);
    assert_eq!(
        strict.json()["message"],
        "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.bogus\""
    );
    let strategic = status_of(
        widgets
            .patch(
                "w4",
                &PatchParams::default(),
                &Patch::Strategic(json!({"spec": {"size": "m"}})),
            )
            .await,
    );
    assert_eq!(strategic.code, 415);
    assert_eq!(strategic.reason, "UnsupportedMediaType");
    server.shutdown().await;
}

#[tokio::test]
async fn custom_resource_status_and_scale_subresources() {
    let server = start().await;
    let widgets = install(server.client()).await;
    let created = widgets
        .create(
            &PostParams::default(),
            &widget("scaled", json!({"replicas": 2})),
        )
        .await
        .expect("created");
    let generation = created.metadata.generation;
    let status = widgets
        .patch_status(
            "scaled",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"ready": 2, "selector": "app=w"}, "spec": {"replicas": 9}}),
            ),
        )
        .await
        .expect("status patched");
    assert_eq!(status.data["spec"]["replicas"], 2, "/status ignores spec");
    assert_eq!(status.data["status"]["ready"], 2);
    assert_eq!(status.metadata.generation, generation);
    let scale = widgets.get_scale("scaled").await.expect("scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(2));
    assert_eq!(scale.status.as_ref().map(|s| s.replicas), Some(2));
    assert_eq!(
        scale.status.and_then(|s| s.selector),
        Some("app=w".to_string())
    );
    widgets
        .patch_scale(
            "scaled",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .expect("scaled");
    let after = widgets.get("scaled").await.expect("widget");
    assert_eq!(after.data["spec"]["replicas"], 4);
    assert_eq!(after.metadata.generation, generation.map(|g| g + 1));
    server.shutdown().await;
}

#[tokio::test]
async fn deleting_the_crd_removes_its_kind_and_objects() {
    let server = start().await;
    let widgets = install(server.client()).await;
    widgets
        .create(&PostParams::default(), &widget("doomed", json!({})))
        .await
        .expect("created");
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    crds.delete("widgets.kubesim.test", &Default::default())
        .await
        .expect("deleted");
    eventually("kind unserved", Duration::from_secs(10), || async {
        let response = raw(
            &server,
            "GET",
            "/apis/kubesim.test/v1/namespaces/default/widgets",
            &[],
            "",
        )
        .await;
        (response.status == 404).then_some(())
    })
    .await;
    // Re-creating the CRD serves an empty kind: the old objects went with it.
    let widgets = install(server.client()).await;
    assert_eq!(
        widgets
            .list(&Default::default())
            .await
            .expect("listed")
            .items
            .len(),
        0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn every_served_version_reads_the_same_objects() {
    let server = start().await;
    let mut crd = widget_crd();
    let mut beta = crd.spec.versions[0].clone();
    beta.name = "v1beta1".into();
    beta.storage = false;
    crd.spec.versions.push(beta);
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("CRD created");
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(
            crds,
            "widgets.kubesim.test",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("established within 10s")
    .expect("watch works");
    let api_at = |version: &str| {
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("kubesim.test", version, "Widget"),
            "widgets",
        );
        Api::<DynamicObject>::namespaced_with(server.client(), "default", &resource)
    };
    let mut old = widget("versioned", json!({"size": "s"}));
    old.types = Some(kube::core::TypeMeta {
        api_version: "kubesim.test/v1beta1".into(),
        kind: "Widget".into(),
    });
    api_at("v1beta1")
        .create(&PostParams::default(), &old)
        .await
        .expect("created at v1beta1");
    let read = api_at("v1").get("versioned").await.expect("read at v1");
    assert_eq!(
        read.types.map(|t| t.api_version),
        Some("kubesim.test/v1".to_string())
    );
    assert_eq!(read.data["spec"]["size"], "s");
    server.shutdown().await;
}

/// A CEL transition rule (`oldSelf`) is only evaluated on update, and rejects the update with the
/// rule's message in the API server's 422 shape (issue: "a CEL transition rule rejecting an update
/// with the exact message").
#[tokio::test]
async fn a_cel_transition_rule_rejects_an_update_with_its_message() {
    let server = start().await;
    let mut crd = widget_crd();
    let schema = crd.spec.versions[0]
        .schema
        .as_mut()
        .and_then(|s| s.open_api_v3_schema.as_mut())
        .expect("widget CRD has a schema");
    let spec = schema
        .properties
        .as_mut()
        .and_then(|p| p.get_mut("spec"))
        .expect("widget CRD has spec");
    let size = spec
        .properties
        .as_mut()
        .and_then(|p| p.get_mut("size"))
        .expect("widget CRD has spec.size");
    size.x_kubernetes_validations = Some(vec![
        serde_json::from_value(json!({
            "rule": "self == oldSelf", "message": "size is immutable"
        }))
        .expect("valid rule"),
    ]);
    let widgets = install_crd(server.client(), &crd).await;

    // Creation has no old object, so the transition rule does not run.
    widgets
        .create(
            &PostParams::default(),
            &widget("fixed", json!({"size": "s"})),
        )
        .await
        .expect("create passes: transition rules only run on update");
    // An update that keeps the value passes.
    widgets
        .patch(
            "fixed",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .expect("an update that keeps spec.size passes");
    let changed = status_of(
        widgets
            .patch(
                "fixed",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"size": "m"}})),
            )
            .await,
    );
    assert_eq!(changed.code, 422);
    assert_eq!(changed.reason, "Invalid");
    assert_eq!(
        changed.message,
        "Widget.kubesim.test \"fixed\" is invalid: spec.size: Invalid value: \"string\": size is immutable"
    );
    server.shutdown().await;
}
