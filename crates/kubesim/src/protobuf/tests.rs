use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use pretty_assertions::assert_eq;
use prost::Message as _;
use serde_json::json;

use super::*;

/// A body as client-go writes it: the envelope around `message`.
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
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

fn unwrap_envelope(body: &[u8]) -> (String, String, Vec<u8>) {
    let unknown = Unknown::decode(body.strip_prefix(MAGIC).expect("magic")).expect("Unknown");
    let type_meta = unknown.type_meta.expect("typeMeta");
    (
        type_meta.api_version.expect("apiVersion"),
        type_meta.kind.expect("kind"),
        unknown.raw.expect("raw"),
    )
}

/// ObjectMeta with every non-pointer field written, as a Go client does.
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

#[test]
fn a_go_client_configmap_decodes_to_the_json_it_stands_for() {
    let cm = core::ConfigMap {
        metadata: Some(go_meta("settings")),
        immutable: None,
        data: [("a".to_string(), "1".to_string())].into(),
        binary_data: [("b".to_string(), vec![0u8, 255])].into(),
    };
    let decoded = decode_object(&envelope("v1", "ConfigMap", &cm)).expect("decodes");
    assert_eq!(
        decoded,
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "settings"},
               "data": {"a": "1"}, "binaryData": {"b": "AP8="}})
    );
    // Key order: kind first, then apiVersion.
    let keys: Vec<&String> = decoded.as_object().expect("object").keys().collect();
    assert_eq!(keys[..2], ["kind", "apiVersion"]);
}

#[test]
fn zeros_of_pointer_and_required_fields_survive_and_other_zeros_do_not() {
    let deployment = apps::Deployment {
        metadata: Some(go_meta("web")),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            min_ready_seconds: Some(0),
            paused: Some(false),
            selector: Some(meta::LabelSelector {
                match_labels: [("app".to_string(), "web".to_string())].into(),
                ..Default::default()
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(meta::ObjectMeta {
                    labels: [("app".to_string(), "web".to_string())].into(),
                    ..Default::default()
                }),
                spec: Some(core::PodSpec {
                    containers: vec![core::Container {
                        name: Some("nginx".into()),
                        image: Some("nginx".into()),
                        ports: vec![core::ContainerPort {
                            container_port: Some(80),
                            host_port: Some(0),
                            protocol: Some("TCP".into()),
                            ..Default::default()
                        }],
                        resources: Some(Default::default()),
                        stdin: Some(false),
                        ..Default::default()
                    }],
                    termination_grace_period_seconds: Some(0),
                    ..Default::default()
                }),
            }),
            strategy: Some(Default::default()),
            ..Default::default()
        }),
        status: Some(Default::default()),
    };
    let decoded = decode_object(&envelope("apps/v1", "Deployment", &deployment)).expect("decodes");
    assert_eq!(
        decoded,
        json!({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web"},
               "spec": {"replicas": 0,
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                                "resources": {}}],
                                              "terminationGracePeriodSeconds": 0}},
                        "strategy": {}},
               "status": {}})
    );
}

#[test]
fn json_objects_encode_to_what_k8s_pb_decodes() {
    let pod = json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "p", "namespace": "default", "uid": "u-1",
                     "creationTimestamp": "2026-01-02T03:04:05Z",
                     "labels": {"a": "b"},
                     "managedFields": [{"manager": "kubectl", "operation": "Apply",
                                        "apiVersion": "v1", "time": "2026-01-02T03:04:05Z",
                                        "fieldsType": "FieldsV1",
                                        "fieldsV1": {"f:metadata": {"f:labels": {}}}}]},
        "spec": {"containers": [{"name": "c", "image": "i",
                                 "resources": {"requests": {"cpu": "250m"}},
                                 "readinessProbe": {"httpGet": {"path": "/", "port": "http"}}}],
                 "hostIPC": true},
        "status": {"podIP": "127.0.0.2", "podIPs": [{"ip": "127.0.0.2"}], "phase": "Running"}
    });
    let body = encode_object(&pod)
        .expect("a built-in kind")
        .expect("encodes");
    let (api_version, kind, raw) = unwrap_envelope(&body);
    assert_eq!((api_version.as_str(), kind.as_str()), ("v1", "Pod"));
    let decoded = core::Pod::decode(raw.as_slice()).expect("k8s-pb decodes it");
    let meta = decoded.metadata.as_ref().expect("metadata");
    assert_eq!(meta.name.as_deref(), Some("p"));
    assert_eq!(
        meta.creation_timestamp.as_ref().and_then(|t| t.seconds),
        Some(1_767_323_045)
    );
    let fields = meta.managed_fields[0]
        .fields_v1
        .as_ref()
        .and_then(|f| f.raw.clone());
    assert_eq!(
        fields.as_deref(),
        Some(br#"{"f:metadata":{"f:labels":{}}}"#.as_slice())
    );
    let spec = decoded.spec.as_ref().expect("spec");
    assert_eq!(spec.host_ipc, Some(true));
    let container = &spec.containers[0];
    assert_eq!(
        container
            .resources
            .as_ref()
            .and_then(|r| r.requests.get("cpu"))
            .and_then(|q| q.string.as_deref()),
        Some("250m")
    );
    let port = container
        .readiness_probe
        .as_ref()
        .and_then(|p| p.handler.as_ref())
        .and_then(|h| h.http_get.as_ref())
        .and_then(|g| g.port.as_ref())
        .expect("port");
    assert_eq!(
        (port.r#type, port.str_val.as_deref()),
        (Some(1), Some("http"))
    );
    let status = decoded.status.as_ref().expect("status");
    assert_eq!(status.pod_ip.as_deref(), Some("127.0.0.2"));
    assert_eq!(status.pod_ips[0].ip.as_deref(), Some("127.0.0.2"));
    // And back: the same JSON.
    assert_eq!(decode_object(&body).expect("decodes"), pod);
}

#[test]
fn secrets_lists_and_status_round_trip() {
    for object in [
        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"},
               "data": {"password": "c2VjcmV0"}, "type": "Opaque"}),
        json!({"kind": "ConfigMapList", "apiVersion": "v1",
               "metadata": {"resourceVersion": "12"},
               "items": [{"metadata": {"name": "a"}, "data": {"k": "v"}}]}),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "configmaps \"x\" not found", "reason": "NotFound",
               "details": {"name": "x", "kind": "configmaps"}, "code": 404}),
        json!({"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
               "metadata": {"name": "leader", "namespace": "kube-system"},
               "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                        "acquireTime": "2026-01-02T03:04:05.123456Z",
                        "renewTime": "2026-01-02T03:04:06.000000Z", "leaseTransitions": 0}}),
        json!({"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1",
               "metadata": {"name": "widgets.example.com"},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"plural": "widgets", "kind": "Widget"},
                        "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object",
                            "x-kubernetes-preserve-unknown-fields": true,
                            "properties": {"spec": {"type": "object", "default": {"a": 1},
                              "additionalProperties": {"type": "string"}}}}}}]}}),
    ] {
        let body = encode_object(&object)
            .expect("a built-in kind")
            .expect("encodes");
        assert_eq!(decode_object(&body).expect("decodes"), object);
    }
}

#[test]
fn custom_resources_have_no_message() {
    assert!(encode_object(&json!({"kind": "Widget", "apiVersion": "example.com/v1"})).is_none());
    assert!(has_message("v1", "ConfigMap"));
    assert!(has_message("apps/v1", "DeleteOptions"));
    assert!(!has_message("example.com/v1", "Widget"));
}

#[test]
fn bodies_without_the_prefix_or_of_unknown_kinds_are_refused() {
    assert_eq!(decode_object(b"{}"), Err(ProtobufError::NoMagic));
    let cm = core::ConfigMap::default();
    assert_eq!(
        decode_object(&envelope("example.com/v1", "Widget", &cm)),
        Err(ProtobufError::UnknownKind {
            api_version: "example.com/v1".into(),
            kind: "Widget".into()
        })
    );
}

#[test]
fn every_nested_message_of_the_table_is_in_the_table() {
    let catalogue = Catalogue::get();
    fn target(kind: &schema::Kind) -> Option<&'static str> {
        match kind {
            schema::Kind::Message(name) => Some(name),
            schema::Kind::Map(inner) => target(inner),
            _ => None,
        }
    }
    for message in messages::MESSAGES {
        for field in message.fields {
            if let Some(name) = target(&field.kind) {
                assert!(
                    catalogue.message(name).is_some(),
                    "{}.{} → {name}",
                    message.name,
                    field.name
                );
            }
        }
    }
}
