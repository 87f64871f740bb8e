//! CRUD over HTTP with a real kube client: bookkeeping fields, optimistic concurrency,
//! generateName, namespaces, dryRun, delete preconditions, and the exact `Status` bodies of
//! errors (rust-ecosystem.md §3.1, §3.4).

mod support;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use pretty_assertions::assert_eq;
use serde_json::json;
use support::{raw, start, status_of};

fn cm(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "crud-test"}},
        "data": {"key": value},
    }))
    .expect("valid ConfigMap")
}

#[tokio::test]
async fn create_get_replace_delete_round_trip() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let created = api
        .create(&PostParams::default(), &cm("settings", "1"))
        .await
        .expect("created");
    let meta = &created.metadata;
    assert_eq!(meta.name.as_deref(), Some("settings"));
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    assert_eq!(meta.generation, Some(1));
    assert_eq!(meta.uid.as_ref().map(String::len), Some(36));
    assert!(meta.creation_timestamp.is_some());
    let rv1: u64 = meta
        .resource_version
        .as_deref()
        .expect("rv")
        .parse()
        .expect("decimal rv");

    let fetched = api.get("settings").await.expect("found");
    assert_eq!(fetched, created);

    let mut changed = fetched.clone();
    changed.data = Some([("key".to_string(), "2".to_string())].into());
    let replaced = api
        .replace("settings", &PostParams::default(), &changed)
        .await
        .expect("replaced");
    let rv2: u64 = replaced
        .metadata
        .resource_version
        .as_deref()
        .expect("rv")
        .parse()
        .expect("decimal");
    assert!(rv2 > rv1, "{rv2} > {rv1}");
    assert_eq!(replaced.metadata.generation, Some(2));
    assert_eq!(replaced.metadata.uid, created.metadata.uid);

    // `changed` still carries rv1: optimistic concurrency refuses it.
    let stale = status_of(
        api.replace("settings", &PostParams::default(), &changed)
            .await,
    );
    assert_eq!(stale.code, 409);
    assert_eq!(stale.reason, "Conflict");
    assert_eq!(
        stale.message,
        "Operation cannot be fulfilled on configmaps \"settings\": the object has been modified; please apply your changes to the latest version and try again"
    );

    let deleted = api
        .delete("settings", &DeleteParams::default())
        .await
        .expect("deleted");
    // ConfigMaps' registry answers a completed delete with a Status naming the object.
    let status = deleted.right().expect("a Status is returned");
    let details = status.details.expect("details");
    assert_eq!(
        (
            details.name.as_str(),
            details.kind.as_str(),
            details.uid.as_str()
        ),
        (
            "settings",
            "configmaps",
            replaced.metadata.uid.as_deref().unwrap_or_default()
        )
    );
    assert_eq!(api.get_opt("settings").await.expect("get_opt"), None);
    server.shutdown().await;
}

#[tokio::test]
async fn errors_are_kubernetes_status_objects() {
    let server = start().await;
    let missing = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/demo",
        &[],
        "",
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-type"), Some("application/json"));
    assert_eq!(
        missing.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message":"configmaps \"demo\" not found","reason":"NotFound",
               "details":{"name":"demo","kind":"configmaps"},"code":404})
    );
    let unknown = raw(&server, "GET", "/apis/example.com/v1/widgets", &[], "").await;
    assert_eq!(
        unknown.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message":"the server could not find the requested resource","reason":"NotFound",
               "details":{},"code":404})
    );
    let body = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1}}"#;
    let first = raw(
        &server,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        &[("Content-Type", "application/json")],
        body,
    )
    .await;
    assert_eq!(first.status, 201);
    let again = raw(
        &server,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        &[("Content-Type", "application/json")],
        body,
    )
    .await;
    assert_eq!(
        again.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message":"deployments.apps \"web\" already exists","reason":"AlreadyExists",
               "details":{"name":"web","group":"apps","kind":"deployments"},"code":409})
    );
    let no_ns = raw(
        &server,
        "POST",
        "/api/v1/namespaces/nowhere/configmaps",
        &[("Content-Type", "application/json")],
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#,
    )
    .await;
    assert_eq!(
        no_ns.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message":"namespaces \"nowhere\" not found","reason":"NotFound",
               "details":{"name":"nowhere","kind":"namespaces"},"code":404})
    );
    let cbor_only = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps",
        &[("Accept", "application/cbor")],
        "",
    )
    .await;
    assert_eq!(cbor_only.status, 406);
    assert_eq!(cbor_only.json()["reason"], "NotAcceptable");
    server.shutdown().await;
}

#[tokio::test]
async fn generate_name_and_name_validation() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let mut generated = cm("", "x");
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".into());
    let created = api
        .create(&PostParams::default(), &generated)
        .await
        .expect("created");
    let name = created.metadata.name.expect("name generated");
    assert_eq!(name.len(), "gen-".len() + 5, "{name}");
    assert!(name.starts_with("gen-"), "{name}");

    let invalid = status_of(
        api.create(&PostParams::default(), &cm("Bad_Name", "x"))
            .await,
    );
    assert_eq!(invalid.code, 422);
    assert_eq!(invalid.reason, "Invalid");
    assert_eq!(
        invalid.message,
        "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn two_controller_owner_references_are_invalid() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let mut owned = cm("owned", "x");
    owned.metadata.owner_references = Some(
        serde_json::from_value(json!([
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "1", "controller": true},
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "b", "uid": "2", "controller": true}
        ]))
        .expect("valid refs"),
    );
    let status = status_of(api.create(&PostParams::default(), &owned).await);
    assert_eq!(status.code, 422);
    let cause = &status.details.expect("details").causes[0];
    assert_eq!(cause.field, "metadata.ownerReferences");
    assert_eq!(cause.reason, "FieldValueInvalid");
    assert!(
        cause.message.ends_with("Only one reference can have Controller set to true. Found \"true\" in references for ConfigMap/a and ConfigMap/b"),
        "{}",
        cause.message
    );
    server.shutdown().await;
}

#[tokio::test]
async fn dry_run_writes_persist_nothing() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let before = server.cluster().revision();
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let would = api
        .create(&dry, &cm("dry", "1"))
        .await
        .expect("dry-run create");
    assert_eq!(would.metadata.name.as_deref(), Some("dry"));
    assert_eq!(would.metadata.resource_version, None);
    assert!(would.metadata.uid.is_some());
    assert_eq!(api.get_opt("dry").await.expect("get_opt"), None);
    assert_eq!(server.cluster().revision(), before);

    let real = api
        .create(&PostParams::default(), &cm("real", "1"))
        .await
        .expect("created");
    let after_create = server.cluster().revision();
    let mut changed = real.clone();
    changed.data = Some([("key".to_string(), "2".to_string())].into());
    let would = api
        .replace("real", &dry, &changed)
        .await
        .expect("dry-run replace");
    assert_eq!(would.data, changed.data);
    assert_eq!(api.get("real").await.expect("found").data, real.data);
    let dp = DeleteParams {
        dry_run: true,
        ..DeleteParams::default()
    };
    api.delete("real", &dp).await.expect("dry-run delete");
    assert!(api.get_opt("real").await.expect("get_opt").is_some());
    assert_eq!(server.cluster().revision(), after_create);
    server.shutdown().await;
}

#[tokio::test]
async fn delete_preconditions_are_checked() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let created = api
        .create(&PostParams::default(), &cm("guarded", "1"))
        .await
        .expect("created");
    let wrong_uid = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some("not-the-uid".into()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let status = status_of(api.delete("guarded", &wrong_uid).await);
    assert_eq!(status.code, 409);
    assert_eq!(
        status.message,
        format!(
            "Operation cannot be fulfilled on configmaps \"guarded\": Precondition failed: UID in precondition: not-the-uid, UID in object meta: {}",
            created.metadata.uid.clone().expect("uid")
        )
    );
    let wrong_rv = DeleteParams {
        preconditions: Some(Preconditions {
            uid: None,
            resource_version: Some("1".into()),
        }),
        ..DeleteParams::default()
    };
    let status = status_of(api.delete("guarded", &wrong_rv).await);
    assert_eq!(status.reason, "Conflict");
    let right = DeleteParams {
        preconditions: Some(Preconditions {
            uid: created.metadata.uid.clone(),
            resource_version: created.metadata.resource_version.clone(),
        }),
        ..DeleteParams::default()
    };
    api.delete("guarded", &right)
        .await
        .expect("deleted with matching preconditions");
    server.shutdown().await;
}

#[tokio::test]
async fn bootstrap_objects_exist() {
    let server = kubesim::Server::builder()
        .http(true)
        .zones(vec!["zone-a".into(), "zone-b".into(), "zone-c".into()])
        .start()
        .await
        .expect("kubesim starts");
    let client = server.client();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let names: Vec<String> = namespaces
        .list(&Default::default())
        .await
        .expect("listed")
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(
        names,
        vec!["default", "kube-node-lease", "kube-public", "kube-system"]
    );
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    let zones: Vec<String> = nodes
        .list(&Default::default())
        .await
        .expect("listed")
        .items
        .into_iter()
        .map(|n| n.metadata.labels.expect("labels")["topology.kubernetes.io/zone"].clone())
        .collect();
    assert_eq!(zones, vec!["zone-a", "zone-b", "zone-c"]);
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(client.clone(), "default");
    assert!(services.get_opt("kubernetes").await.expect("get").is_some());
    let classes: Api<k8s_openapi::api::storage::v1::StorageClass> = Api::all(client.clone());
    let standard = classes.get("standard").await.expect("default class");
    assert_eq!(
        standard.metadata.annotations.expect("annotations")["storageclass.kubernetes.io/is-default-class"],
        "true"
    );
    let roles: Api<k8s_openapi::api::rbac::v1::ClusterRole> = Api::all(client);
    assert!(roles.get_opt("cluster-admin").await.expect("get").is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn delete_collection_removes_only_matching_objects() {
    let server = start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for name in ["one", "two"] {
        api.create(&PostParams::default(), &cm(name, "x"))
            .await
            .expect("created");
    }
    let mut other = cm("other", "x");
    other.metadata.labels = Some([("app".to_string(), "else".to_string())].into());
    api.create(&PostParams::default(), &other)
        .await
        .expect("created");
    let deleted = api
        .delete_collection(
            &DeleteParams::default(),
            &kube::api::ListParams::default().labels("app=crud-test"),
        )
        .await
        .expect("deleted")
        .left()
        .expect("the deleted objects are returned");
    let names: Vec<String> = deleted
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(names, vec!["one", "two"]);
    let left: Vec<String> = api
        .list(&Default::default())
        .await
        .expect("listed")
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .filter(|name| name != support::ROOT_CA)
        .collect();
    assert_eq!(left, vec!["other"]);
    server.shutdown().await;
}
