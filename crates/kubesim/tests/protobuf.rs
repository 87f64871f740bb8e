//! A client speaking Kubernetes protobuf for built-in kinds, as client-go does: every built-in
//! kind kubesim serves is created, updated, patched and deleted with protobuf bodies and
//! protobuf answers, and reads back in JSON identical to the same object written in JSON.
//! Bodies a Go client would write (every non-pointer field present, zero or not) are built
//! with k8s-pb's generated messages.

mod support;

use k8s_pb::api::coordination::v1 as coordination;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use pretty_assertions::assert_eq;
use prost::Message as _;
use serde_json::{Value, json};
use support::{raw, raw_bytes, start};

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

fn envelope(api_version: &str, kind: &str, message: &impl prost::Message) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(message.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = b"k8s\0".to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

/// One sample object per built-in kind: (collection path, item path prefix, JSON object).
fn samples() -> Vec<(&'static str, Value)> {
    let pod_spec = json!({"containers": [{"name": "c", "image": "nginx:1.27",
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}}],
        "terminationGracePeriodSeconds": 0,
        "volumes": [{"name": "scratch", "emptyDir": {}}]});
    let selector = json!({"matchLabels": {"app": "x"}});
    let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": pod_spec});
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]);
    let webhook = json!({"name": "w.example.com", "admissionReviewVersions": ["v1"],
        "sideEffects": "None", "timeoutSeconds": 5, "failurePolicy": "Ignore",
        "clientConfig": {"url": "https://127.0.0.1:9/hook"},
        "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                   "resources": ["configmaps"], "scope": "*"}]});
    vec![
        (
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"labels": {"team": "a"}}}),
        ),
        (
            "/api/v1/namespaces/default/pods",
            json!({"apiVersion": "v1", "kind": "Pod", "spec": pod_spec}),
        ),
        (
            "/api/v1/namespaces/default/persistentvolumeclaims",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        (
            "/api/v1/persistentvolumes",
            json!({"apiVersion": "v1", "kind": "PersistentVolume",
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/pv"},
                     "persistentVolumeReclaimPolicy": "Delete"}}),
        ),
        (
            "/api/v1/namespaces/default/services",
            json!({"apiVersion": "v1", "kind": "Service",
            "spec": {"clusterIP": "None", "selector": {"app": "x"}, "publishNotReadyAddresses": true,
                     "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}),
        ),
        (
            "/api/v1/namespaces/default/endpoints",
            json!({"apiVersion": "v1", "kind": "Endpoints",
            "subsets": [{"addresses": [{"ip": "127.0.0.5"}], "ports": [{"port": 80, "protocol": "TCP"}]}]}),
        ),
        (
            "/api/v1/namespaces/default/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "data": {"a": "1"}, "binaryData": {"b": "AP8="}, "immutable": false}),
        ),
        (
            "/api/v1/namespaces/default/secrets",
            json!({"apiVersion": "v1", "kind": "Secret",
            "type": "Opaque", "data": {"password": "c2VjcmV0"}}),
        ),
        (
            "/api/v1/namespaces/default/serviceaccounts",
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "automountServiceAccountToken": false}),
        ),
        (
            "/api/v1/namespaces/default/events",
            json!({"apiVersion": "v1", "kind": "Event",
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Started", "message": "m", "type": "Normal", "count": 2,
            "firstTimestamp": "2026-01-02T03:04:05Z", "source": {"component": "kubelet"}}),
        ),
        (
            "/api/v1/nodes",
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"labels": {"zone": "z"}},
            "spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}}),
        ),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"replicas": 0, "selector": selector, "template": template,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}}}}),
        ),
        (
            "/apis/apps/v1/namespaces/default/statefulsets",
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "spec": {"replicas": 0, "serviceName": "x", "selector": selector, "template": template,
                     "podManagementPolicy": "Parallel",
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}}}}]}}),
        ),
        (
            "/apis/apps/v1/namespaces/default/replicasets",
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "spec": {"replicas": 0, "selector": selector, "template": template}}),
        ),
        (
            "/apis/batch/v1/namespaces/default/jobs",
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "spec": {"backoffLimit": 0, "suspend": true, "template": {"metadata": {"labels": {"app": "x"}},
                     "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}),
        ),
        (
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "spec": {"maxUnavailable": 1, "selector": selector}}),
        ),
        (
            "/apis/coordination.k8s.io/v1/namespaces/default/leases",
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15, "leaseTransitions": 0,
                     "acquireTime": "2026-01-02T03:04:05.123456Z", "renewTime": "2026-01-02T03:04:06.000000Z"}}),
        ),
        (
            "/apis/events.k8s.io/v1/namespaces/default/events",
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "eventTime": "2026-01-02T03:04:05.000001Z", "reportingController": "c", "reportingInstance": "i",
            "action": "A", "reason": "R", "type": "Normal", "regarding": {"kind": "Pod", "name": "p"}}),
        ),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            json!({"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "PLURAL", "singular": "SINGULAR", "kind": "Gadget", "listKind": "GadgetList"},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                       "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
                         "x-kubernetes-preserve-unknown-fields": true}}}}}]}}),
        ),
        (
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "webhooks": [webhook.clone()]}),
        ),
        (
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
            json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "webhooks": [webhook]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "rules": rules}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "default"}]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "rules": rules}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
            "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]}),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "provisioner": "example.com/p", "allowVolumeExpansion": false, "volumeBindingMode": "WaitForFirstConsumer",
            "parameters": {"type": "fast"}}),
        ),
    ]
}

/// `object` named `name` (CRDs need `<plural>.<group>`).
fn named(object: &Value, name: &str) -> Value {
    let mut object = object.clone();
    if object["kind"] == "CustomResourceDefinition" {
        let plural = name.replace('-', "");
        object["spec"]["names"]["plural"] = json!(plural);
        object["spec"]["names"]["singular"] = json!(format!("{plural}s"));
        object["metadata"]["name"] = json!(format!("{plural}.example.com"));
    } else {
        object["metadata"]["name"] = json!(name);
    }
    object
}

/// What two objects written under different names still share.
fn comparable(mut object: Value) -> Value {
    if let Some(meta) = object["metadata"].as_object_mut() {
        for key in [
            "name",
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "generation",
        ] {
            meta.remove(key);
        }
    }
    if object["kind"] == "CustomResourceDefinition" {
        object["spec"]["names"] = json!(null);
        object["status"] = json!(null);
    }
    object
}

fn decode(body: &[u8], context: &str) -> Value {
    let decoded = kubesim::protobuf::decode_object(body);
    assert!(decoded.is_ok(), "{context}: {decoded:?}");
    decoded.unwrap_or_default()
}

#[tokio::test]
async fn every_built_in_kind_is_written_and_read_in_protobuf() {
    let server = start().await;
    let protobuf_headers = [
        ("Content-Type", PROTOBUF),
        (
            "Accept",
            "application/vnd.kubernetes.protobuf, application/json",
        ),
    ];
    for (index, (collection, sample)) in samples().into_iter().enumerate() {
        let kind = sample["kind"].as_str().expect("kind").to_string();
        let json_name = format!("json-{index}");
        let pb_name = format!("pb-{index}");
        let item = |object: &Value| {
            format!(
                "{collection}/{}",
                object["metadata"]["name"].as_str().expect("name")
            )
        };

        let by_json = named(&sample, &json_name);
        let created = raw(
            &server,
            "POST",
            collection,
            &[("Content-Type", "application/json")],
            &by_json.to_string(),
        )
        .await;
        assert_eq!(created.status, 201, "{kind} in JSON: {}", created.body);

        let by_protobuf = named(&sample, &pb_name);
        let body = kubesim::protobuf::encode_object(&by_protobuf)
            .expect("a built-in kind")
            .expect("encodes");
        let created = raw_bytes(&server, "POST", collection, &protobuf_headers, &body).await;
        assert_eq!(
            created.status,
            201,
            "{kind} in protobuf: {}",
            created.text()
        );
        assert_eq!(created.header("content-type"), Some(PROTOBUF), "{kind}");
        let answer = decode(&created.body, &kind);
        assert_eq!(answer["kind"], json!(kind));

        let read = |object: Value| {
            let path = item(&object);
            let server = &server;
            async move {
                let got = raw(server, "GET", &path, &[], "").await;
                assert_eq!(got.status, 200, "{path}: {}", got.body);
                got.json()
            }
        };
        let read_json = read(by_json.clone()).await;
        let read_protobuf = read(by_protobuf.clone()).await;
        assert_eq!(
            comparable(read_protobuf.clone()),
            comparable(read_json),
            "{kind}"
        );

        // The same object answered in protobuf decodes to the JSON answer.
        let got = raw_bytes(
            &server,
            "GET",
            &item(&by_protobuf),
            &[("Accept", PROTOBUF)],
            b"",
        )
        .await;
        assert_eq!(got.status, 200, "{kind}");
        assert_eq!(decode(&got.body, &kind), read_protobuf, "{kind}");

        // Update in protobuf.
        let mut updated = read_protobuf.clone();
        updated["metadata"]["labels"]["updated"] = json!("yes");
        let body = kubesim::protobuf::encode_object(&updated)
            .expect("built-in")
            .expect("encodes");
        let put = raw_bytes(
            &server,
            "PUT",
            &item(&by_protobuf),
            &protobuf_headers,
            &body,
        )
        .await;
        assert_eq!(put.status, 200, "{kind} update: {}", put.text());
        assert_eq!(
            decode(&put.body, &kind)["metadata"]["labels"]["updated"],
            "yes",
            "{kind}"
        );

        // A merge patch answered in protobuf.
        let patch = raw_bytes(
            &server,
            "PATCH",
            &item(&by_protobuf),
            &[
                ("Content-Type", "application/merge-patch+json"),
                ("Accept", PROTOBUF),
            ],
            br#"{"metadata":{"annotations":{"patched":"yes"}}}"#,
        )
        .await;
        assert_eq!(patch.status, 200, "{kind} patch: {}", patch.text());
        let patched = decode(&patch.body, &kind);
        assert_eq!(
            patched["metadata"]["annotations"]["patched"], "yes",
            "{kind}"
        );
        assert_eq!(patched["metadata"]["labels"]["updated"], "yes", "{kind}");

        // Delete with protobuf DeleteOptions.
        let options = meta::DeleteOptions {
            grace_period_seconds: Some(0),
            propagation_policy: Some("Background".into()),
            ..Default::default()
        };
        let deleted = raw_bytes(
            &server,
            "DELETE",
            &item(&by_protobuf),
            &[("Content-Type", PROTOBUF), ("Accept", PROTOBUF)],
            &envelope("meta.k8s.io/v1", "DeleteOptions", &options),
        )
        .await;
        assert_eq!(deleted.status, 200, "{kind} delete: {}", deleted.text());
        decode(&deleted.body, &kind);
    }
    server.shutdown().await;
}

/// ObjectMeta as a Go client writes it: every non-pointer field, empty or zero.
fn go_meta(name: &str) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: Some(name.into()),
        generate_name: Some(String::new()),
        namespace: Some(String::new()),
        self_link: Some(String::new()),
        uid: Some(String::new()),
        resource_version: Some(String::new()),
        generation: Some(0),
        creation_timestamp: Some(meta::Time::default()),
        ..Default::default()
    }
}

#[tokio::test]
async fn go_client_bodies_store_what_their_json_would() {
    let server = start().await;
    let headers = [("Content-Type", PROTOBUF), ("Accept", "application/json")];
    let secret = core::Secret {
        metadata: Some(go_meta("creds")),
        immutable: None,
        data: [("password".to_string(), b"hunter2".to_vec())].into(),
        string_data: Default::default(),
        r#type: Some("Opaque".into()),
    };
    let created = raw_bytes(
        &server,
        "POST",
        "/api/v1/namespaces/default/secrets",
        &headers,
        &envelope("v1", "Secret", &secret),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let stored = raw(
        &server,
        "GET",
        "/api/v1/namespaces/default/secrets/creds",
        &[],
        "",
    )
    .await
    .json();
    assert_eq!(
        comparable(stored),
        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"namespace": "default"},
               "data": {"password": "aHVudGVyMg=="}, "type": "Opaque"})
    );

    // A leader-election Lease, as client-go's resourcelock writes it.
    let lease = coordination::Lease {
        metadata: Some(meta::ObjectMeta {
            namespace: Some("default".into()),
            ..go_meta("controller-leader")
        }),
        spec: Some(coordination::LeaseSpec {
            holder_identity: Some("pod-a_1234".into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(meta::MicroTime {
                seconds: Some(1_767_323_045),
                nanos: Some(5_000),
            }),
            renew_time: Some(meta::MicroTime {
                seconds: Some(1_767_323_045),
                nanos: Some(5_000),
            }),
            lease_transitions: Some(0),
            ..Default::default()
        }),
    };
    let created = raw_bytes(
        &server,
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        &headers,
        &envelope("coordination.k8s.io/v1", "Lease", &lease),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let stored: Value = serde_json::from_slice(&created.body).expect("JSON answer");
    assert_eq!(
        stored["spec"],
        json!({"holderIdentity": "pod-a_1234", "leaseDurationSeconds": 15,
               "acquireTime": "2026-01-02T03:04:05.000005Z", "renewTime": "2026-01-02T03:04:05.000005Z",
               "leaseTransitions": 0})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn custom_resources_refuse_protobuf_bodies_as_the_api_server_does() {
    let server = start().await;
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    let created = raw(
        &server,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &[],
        &crd.to_string(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let cm = core::ConfigMap {
        metadata: Some(go_meta("w")),
        ..Default::default()
    };
    let path = "/apis/example.com/v1/namespaces/default/widgets";
    let refused = support::eventually(
        "the CRD is served",
        std::time::Duration::from_secs(10),
        || async {
            let answer = raw_bytes(
                &server,
                "POST",
                path,
                &[("Content-Type", PROTOBUF)],
                &envelope("example.com/v1", "Widget", &cm),
            )
            .await;
            (answer.status != 404).then_some(answer)
        },
    )
    .await;
    assert_eq!(refused.status, 415, "{}", refused.text());
    // Reads of custom resources answer JSON even when protobuf is preferred.
    let widget =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    let created = raw(&server, "POST", path, &[], &widget.to_string()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let got = raw(
        &server,
        "GET",
        &format!("{path}/w"),
        &[(
            "Accept",
            "application/vnd.kubernetes.protobuf, application/json",
        )],
        "",
    )
    .await;
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.json()["kind"], "Widget");
    server.shutdown().await;
}
