//! Every object of the install manifest except the CRDs, in apply order (namespace and
//! identities, RBAC, Services, certificates, the Deployment, then the webhook configurations,
//! which fail closed and so must come after the server that answers them).

use serde_json::{Value, json};

use super::rbac::{
    Rule, leader_election_rules, manager_rules, metrics_auth_rules, metrics_reader_rules,
};
use super::{DEFAULT_IMAGE_REPOSITORY, InstallError, InstallObject, NAMESPACE, Variant};
use crate::webhook::cert_rotation::SERVING_SECRET;
use crate::webhook::registration::{
    MUTATING_CONFIGURATION, SERVICE_PORT, VALIDATING_CONFIGURATION, WebhookTarget,
    mutating_configuration, validating_configuration,
};

const PREFIX: &str = "multigres-operator";
/// The operator's ServiceAccount (`controller-manager` before kustomize's prefix).
pub const SERVICE_ACCOUNT: &str = "multigres-operator-controller-manager";
/// The operator's Deployment.
pub const DEPLOYMENT: &str = "multigres-operator-controller-manager";
/// The metrics Service.
pub const METRICS_SERVICE: &str = "multigres-operator-controller-manager-metrics-service";
/// The webhook Service (spec-api.md §12.1).
pub const WEBHOOK_SERVICE: &str = "multigres-operator-webhook-service";
/// The Secret cert-manager writes the webhook's serving certificate to.
pub const CERT_MANAGER_SECRET: &str = "webhook-server-cert";
const CERTIFICATE: &str = "multigres-operator-serving-cert";
const ISSUER: &str = "multigres-operator-selfsigned-issuer";
const WEBHOOK_CERT_DIR: &str = "/var/run/secrets/webhook";
const METRICS_PORT: i32 = 8443;
const HEALTH_PORT: i32 = 8081;
const WEBHOOK_PORT: i32 = 9443;

/// What differs between the committed manifests and the Helm chart's templates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallSettings {
    /// Namespace of every namespaced object.
    pub namespace: String,
    /// Whether to create the Namespace (Helm's `--create-namespace` does it for a chart).
    pub create_namespace: bool,
    /// The operator's image.
    pub image: String,
    /// The container's imagePullPolicy.
    pub image_pull_policy: String,
}

impl Default for InstallSettings {
    fn default() -> Self {
        Self {
            namespace: NAMESPACE.to_owned(),
            create_namespace: true,
            image: format!("{DEFAULT_IMAGE_REPOSITORY}:{}", env!("CARGO_PKG_VERSION")),
            image_pull_policy: "IfNotPresent".to_owned(),
        }
    }
}

fn labels() -> Value {
    json!({"app.kubernetes.io/name": "multigres-operator"})
}

/// Labels and selector of the operator's pods (§13.6); the Services select them.
fn pod_labels() -> Value {
    json!({
        "app.kubernetes.io/name": "multigres-operator",
        "control-plane": "controller-manager",
    })
}

fn plain(object: Value) -> InstallObject {
    InstallObject {
        object,
        rules: Vec::new(),
    }
}

fn to_json<T: serde::Serialize>(
    kind: &'static str,
    name: &str,
    object: &T,
) -> Result<Value, InstallError> {
    serde_json::to_value(object).map_err(|source| InstallError::ToJson {
        kind,
        name: name.to_owned(),
        source,
    })
}

fn role(kind: &str, name: &str, namespace: Option<&str>, rules: Vec<Rule>) -> InstallObject {
    let mut metadata = json!({"name": name, "labels": labels()});
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    InstallObject {
        object: json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": metadata,
        }),
        rules,
    }
}

fn binding(
    kind: &str,
    name: &str,
    role_kind: &str,
    role_name: &str,
    settings: &InstallSettings,
) -> InstallObject {
    let mut metadata = json!({"name": name, "labels": labels()});
    if kind == "RoleBinding" {
        metadata["namespace"] = json!(settings.namespace);
    }
    plain(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role_kind,
            "name": role_name,
        },
        "subjects": [{
            "kind": "ServiceAccount",
            "name": SERVICE_ACCOUNT,
            "namespace": settings.namespace,
        }],
    }))
}

fn service(name: &str, namespace: &str, port_name: &str, port: i32, target: i32) -> InstallObject {
    plain(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": pod_labels()},
        "spec": {
            "ports": [{"name": port_name, "port": port, "protocol": "TCP", "targetPort": target}],
            "selector": pod_labels(),
        },
    }))
}

/// The OTLP settings of the observability overlay (§13.6); the operator also passes them on to
/// the data plane (§12.5).
fn otel_env() -> Vec<Value> {
    [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://otel-collector.multigres-operator.svc:4318",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            "base2_exponential_bucket_histogram",
        ),
    ]
    .into_iter()
    .map(|(name, value)| json!({"name": name, "value": value}))
    .collect()
}

fn deployment(variant: Variant, settings: &InstallSettings) -> InstallObject {
    let mut args = vec![
        format!("--metrics-bind-address=:{METRICS_PORT}"),
        "--leader-elect".to_owned(),
        format!("--health-probe-bind-address=:{HEALTH_PORT}"),
    ];
    let mut env = vec![
        json!({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}),
        json!({"name": "POD_SERVICE_ACCOUNT", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}}),
    ];
    let mut ports = vec![
        json!({"containerPort": METRICS_PORT, "name": "https", "protocol": "TCP"}),
        json!({"containerPort": HEALTH_PORT, "name": "health", "protocol": "TCP"}),
    ];
    // The self-managed PKI writes the serving pair to a Secret that may not exist yet when
    // the pod starts, hence optional; cert-manager's Secret must exist before we can serve.
    let cert_secret = match variant {
        Variant::Default | Variant::Observability => Some((SERVING_SECRET, true)),
        Variant::CertManager => Some((CERT_MANAGER_SECRET, false)),
        Variant::NoWebhook => None,
    };
    match variant {
        Variant::NoWebhook => args.push("--webhook-enable=false".to_owned()),
        _ => ports.push(
            json!({"containerPort": WEBHOOK_PORT, "name": "webhook-server", "protocol": "TCP"}),
        ),
    }
    if variant == Variant::Observability {
        env.extend(otel_env());
    }
    let mut container = json!({
        "name": "manager",
        "image": settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["multigres-operator", "run"],
        "args": args,
        "env": env,
        "ports": ports,
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": HEALTH_PORT},
            "initialDelaySeconds": 15,
            "periodSeconds": 20,
        },
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": HEALTH_PORT},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
        },
        "resources": {
            "limits": {"cpu": "500m", "memory": "128Mi"},
            "requests": {"cpu": "10m", "memory": "64Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": true,
        },
    });
    let mut pod_spec = json!({
        "containers": [],
        "securityContext": {
            "runAsNonRoot": true,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "serviceAccountName": SERVICE_ACCOUNT,
        "terminationGracePeriodSeconds": 10,
    });
    if let Some((secret, optional)) = cert_secret {
        container["volumeMounts"] =
            json!([{"name": "cert-dir", "mountPath": WEBHOOK_CERT_DIR, "readOnly": true}]);
        pod_spec["volumes"] = json!([{
            "name": "cert-dir",
            "secret": {"secretName": secret, "defaultMode": 420, "optional": optional},
        }]);
    }
    pod_spec["containers"] = json!([container]);
    plain(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": settings.namespace, "labels": pod_labels()},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": pod_labels()},
            "template": {
                "metadata": {
                    "annotations": {"kubectl.kubernetes.io/default-container": "manager"},
                    "labels": pod_labels(),
                },
                "spec": pod_spec,
            },
        },
    }))
}

/// cert-manager's self-signed Issuer and the webhook's serving Certificate. The key is ECDSA
/// P-256, as the self-managed PKI's (webhook/certs.rs), not cert-manager's RSA default, and a
/// renewal draws a new one (`rotationPolicy: Always`, cert-manager's default only since 1.18).
fn cert_manager_objects(settings: &InstallSettings) -> Vec<InstallObject> {
    let namespace = &settings.namespace;
    vec![
        plain(json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Issuer",
            "metadata": {"name": ISSUER, "namespace": namespace, "labels": labels()},
            "spec": {"selfSigned": {}},
        })),
        plain(json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": CERTIFICATE, "namespace": namespace, "labels": labels()},
            "spec": {
                "dnsNames": [
                    format!("{WEBHOOK_SERVICE}.{namespace}.svc"),
                    format!("{WEBHOOK_SERVICE}.{namespace}.svc.cluster.local"),
                ],
                "issuerRef": {"kind": "Issuer", "name": ISSUER},
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "secretName": CERT_MANAGER_SECRET,
            },
        })),
    ]
}

fn webhook_configurations(
    variant: Variant,
    settings: &InstallSettings,
) -> Result<Vec<InstallObject>, InstallError> {
    let target = WebhookTarget {
        namespace: settings.namespace.clone(),
        service_name: WEBHOOK_SERVICE.to_owned(),
        ca_bundle: None,
    };
    let mut mutating = to_json(
        "MutatingWebhookConfiguration",
        MUTATING_CONFIGURATION,
        &mutating_configuration(&target),
    )?;
    let mut validating = to_json(
        "ValidatingWebhookConfiguration",
        VALIDATING_CONFIGURATION,
        &validating_configuration(&target),
    )?;
    for configuration in [&mut mutating, &mut validating] {
        configuration["metadata"]["labels"] = labels();
        if variant == Variant::CertManager {
            configuration["metadata"]["annotations"] = json!({
                "cert-manager.io/inject-ca-from": format!("{}/{CERTIFICATE}", settings.namespace),
            });
        }
    }
    Ok(vec![plain(mutating), plain(validating)])
}

/// Every object of `variant`'s manifest but the CRDs, in apply order.
pub fn install_objects(
    variant: Variant,
    settings: &InstallSettings,
) -> Result<Vec<InstallObject>, InstallError> {
    let namespace = settings.namespace.as_str();
    let mut objects = Vec::new();
    if settings.create_namespace {
        objects.push(plain(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": pod_labels()},
        })));
    }
    objects.push(plain(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": SERVICE_ACCOUNT, "namespace": namespace, "labels": labels()},
    })));
    objects.extend([
        role(
            "Role",
            &format!("{PREFIX}-leader-election-role"),
            Some(namespace),
            leader_election_rules(),
        ),
        role(
            "ClusterRole",
            &format!("{PREFIX}-manager-role"),
            None,
            manager_rules(MUTATING_CONFIGURATION, VALIDATING_CONFIGURATION),
        ),
        role(
            "ClusterRole",
            &format!("{PREFIX}-metrics-auth-role"),
            None,
            metrics_auth_rules(),
        ),
        role(
            "ClusterRole",
            &format!("{PREFIX}-metrics-reader"),
            None,
            metrics_reader_rules(),
        ),
        binding(
            "RoleBinding",
            &format!("{PREFIX}-leader-election-rolebinding"),
            "Role",
            &format!("{PREFIX}-leader-election-role"),
            settings,
        ),
        binding(
            "ClusterRoleBinding",
            &format!("{PREFIX}-manager-rolebinding"),
            "ClusterRole",
            &format!("{PREFIX}-manager-role"),
            settings,
        ),
        binding(
            "ClusterRoleBinding",
            &format!("{PREFIX}-metrics-auth-rolebinding"),
            "ClusterRole",
            &format!("{PREFIX}-metrics-auth-role"),
            settings,
        ),
        service(
            METRICS_SERVICE,
            namespace,
            "https",
            METRICS_PORT,
            METRICS_PORT,
        ),
    ]);
    if variant != Variant::NoWebhook {
        objects.push(service(
            WEBHOOK_SERVICE,
            namespace,
            "https",
            SERVICE_PORT,
            WEBHOOK_PORT,
        ));
    }
    if variant == Variant::CertManager {
        objects.extend(cert_manager_objects(settings));
    }
    objects.push(deployment(variant, settings));
    if variant != Variant::NoWebhook {
        objects.extend(webhook_configurations(variant, settings)?);
    }
    Ok(objects)
}
