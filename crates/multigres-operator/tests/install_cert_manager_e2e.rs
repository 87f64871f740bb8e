//! The cert-manager install variant end to end (issue 16, "Done when": each generated variant
//! brings up a working operator), on a kubesim with RBAC on whose operator runtime runs the
//! manifest's Deployment pod as the locally built operator binary (install_support), with a
//! cert-manager stand-in (install_support/cert_manager.rs) in place of cert-manager: its CRDs
//! are applied first, as a user installs cert-manager first, then
//! `kubectl apply --server-side -f config/install/cert-manager.yaml`.
//!
//! Checked: the operator pod starts with the Secret the manifest's Certificate names mounted
//! and serves that certificate (the external strategy, spec-controllers.md §11.1: it creates
//! no CA or serving Secret and patches no caBundle, by kubesim's request log of its
//! ServiceAccount); the webhooks answer behind their Service with the caBundle the cainjector
//! injected (minimal is defaulted, an invalid cluster refused) and minimal converges to
//! Healthy; a renewal (a new key and certificate in the Secret) reaches the server by its hot
//! reload without a restart, the API server's calls go on with the re-injected caBundle; and
//! `kubectl delete -f` removes everything, the operator process included.
//!
//! The stand-in itself is checked against what cert-manager does on a kubesim without the
//! operator (`the_cert_manager_stand_in_issues_refuses_renews_and_injects`).

mod install_support;
mod support;
mod webhook_support;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use install_support::cert_manager::{
    CERTIFICATE_NAME, CRDS, CertManager, Certificate, first_certificate_der, ready, request_renewal,
};
use install_support::{
    DEADLINE, INVALID_CLUSTER, INVALID_REFUSAL, OPERATOR_NAMESPACE, Simulated,
    assert_defaulted_by_the_webhook, assert_invalid_cluster_refused, manifest, operator_processes,
    operator_user,
};
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use multigres_operator::webhook::cert_rotation::{CA_SECRET, SERVING_SECRET};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::cluster::eventually;
use webhook_support::{Kubectl, repo_root};

/// The manifest's document of `kind` (the test reads names from what it applies).
fn manifest_document(variant: &str, kind: &str) -> Value {
    let text = std::fs::read_to_string(manifest(variant)).expect("the committed manifest");
    serde_saphyr::from_multiple::<Value>(&text)
        .expect("valid YAML")
        .into_iter()
        .find(|d| d["kind"] == kind)
        .ok_or_else(|| format!("{variant}.yaml has no {kind}"))
        .expect("the manifest's document")
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no string at {pointer} in {value}"))
        .expect("the manifest's field")
}

/// Applies the stand-in's CRDs and waits until they are served.
async fn install_cert_manager_crds(kubectl: &Kubectl) {
    let path = repo_root().join(CRDS).display().to_string();
    let applied = kubectl
        .run(&["apply", "--server-side", "-f", &path], "")
        .await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let established = kubectl
        .run(
            &[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/issuers.cert-manager.io",
                "crd/certificates.cert-manager.io",
            ],
            "",
        )
        .await;
    assert_eq!(established.code, 0, "{}", established.stderr);
}

/// The Secret's entry `key`, as text.
fn secret_text(secret: &Secret, key: &str) -> String {
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .ok_or_else(|| format!("the Secret has no {key}"))
        .expect("the Secret's entry");
    String::from_utf8(bytes.0.clone()).expect("PEM is text")
}

/// The Certificate once Ready at `revision` (or later), and its Secret.
async fn issued(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    revision: i64,
) -> (Certificate, Secret) {
    let certificates: Api<Certificate> = Api::namespaced(client.clone(), namespace);
    let certificate = eventually(
        &format!("Certificate {namespace}/{name} Ready at revision {revision}"),
        DEADLINE,
        || async {
            let certificate = certificates.get(name).await.ok()?;
            let status = certificate.status.as_ref()?;
            (ready(&status.conditions)?.status == "True"
                && status.revision >= Some(revision)
                && !status.conditions.iter().any(|c| c.type_ == "Issuing"))
            .then_some(certificate.clone())
        },
    )
    .await;
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get(&certificate.spec.secret_name)
        .await
        .expect("the issued Secret");
    (certificate, secret)
}

/// The caBundle of every webhook of both configurations, decoded.
async fn ca_bundles(client: &kube::Client, mutating: &str, validating: &str) -> Vec<Vec<u8>> {
    let mut bundles = Vec::new();
    if let Ok(configuration) = Api::<MutatingWebhookConfiguration>::all(client.clone())
        .get(mutating)
        .await
    {
        for webhook in configuration.webhooks.unwrap_or_default() {
            bundles.push(webhook.client_config.ca_bundle.unwrap_or_default().0);
        }
    }
    if let Ok(configuration) = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .get(validating)
        .await
    {
        for webhook in configuration.webhooks.unwrap_or_default() {
            bundles.push(webhook.client_config.ca_bundle.unwrap_or_default().0);
        }
    }
    bundles
}

/// The leaf certificate (DER) the TLS server at `address` presents for `server_name`, verified
/// against `ca_pem`, as the API server verifies the webhook with the caBundle.
async fn served_leaf(address: &str, ca_pem: &str, server_name: &str) -> Result<Vec<u8>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(
            first_certificate_der(ca_pem.as_bytes())
                .ok_or("ca.crt is not PEM")?
                .into(),
        )
        .map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
        .map_err(|e| e.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (_, connection) = stream.get_ref();
    connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| leaf.to_vec())
        .ok_or_else(|| "no certificate presented".to_owned())
}

/// Whether the webhooks answer the API server: a server-side dry run of [`INVALID_CLUSTER`] is
/// refused with the validating webhook's message (a failed call to a webhook would be refused
/// with another message: failurePolicy Fail).
async fn webhooks_answer(kubectl: &Kubectl) -> Result<(), String> {
    let output = kubectl
        .run(&["apply", "--dry-run=server", "-f", "-"], INVALID_CLUSTER)
        .await;
    if output.code != 0 && output.stderr.contains(INVALID_REFUSAL) {
        Ok(())
    } else {
        Err(format!("exit {}: {}", output.code, output.stderr))
    }
}

/// The operator's processes' ids, and its pod's uid and restarts.
async fn operator_identity(simulated: &Simulated) -> (Vec<u32>, String, i32) {
    let pod = simulated.ready_operator_pod().await;
    let restarts = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .map(|c| c.restart_count)
        .expect("the manager container's status");
    let mut pids = operator_processes(&simulated.dir.join("processes"));
    pids.sort();
    assert!(
        !pids.is_empty(),
        "the operator runs as a process of this kubesim"
    );
    (pids, pod.metadata.uid.expect("a uid"), restarts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cert_manager_manifest_runs_the_operator_on_cert_managers_certificate() {
    let Some(simulated) = Simulated::start().await else {
        return;
    };
    let client = simulated.client.clone();
    install_cert_manager_crds(&simulated.kubectl).await;
    let _cert_manager = CertManager::start(client.clone());
    let path = manifest("cert-manager");
    simulated
        .kubectl_ok(&["apply", "--server-side", "-f", &path], "")
        .await;

    // What the manifest asks of cert-manager, read from it.
    let certificate = manifest_document("cert-manager", "Certificate");
    let certificate_namespace = str_at(&certificate, "/metadata/namespace");
    let certificate_name = str_at(&certificate, "/metadata/name");
    let secret_name = str_at(&certificate, "/spec/secretName");
    let server_name = str_at(&certificate, "/spec/dnsNames/0");
    let mutating = manifest_document("cert-manager", "MutatingWebhookConfiguration");
    let validating = manifest_document("cert-manager", "ValidatingWebhookConfiguration");
    let (mutating, validating) = (
        str_at(&mutating, "/metadata/name"),
        str_at(&validating, "/metadata/name"),
    );
    let (_, secret) = issued(&client, certificate_namespace, certificate_name, 1).await;
    let first_cert = secret_text(&secret, "tls.crt");
    let first_ca = secret_text(&secret, "ca.crt");

    // The operator pod runs with that Secret mounted at the cert dir.
    let pod = simulated.ready_operator_pod().await;
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    let cert_volume = volumes
        .iter()
        .find(|v| v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) == Some(secret_name))
        .expect("the pod mounts the Certificate's Secret");
    assert_eq!(
        cert_volume.secret.as_ref().and_then(|s| s.optional),
        Some(false),
        "the pod waits for cert-manager's Secret"
    );
    let pod_json = serde_json::to_value(&pod).expect("a pod is JSON");
    let container = pod_json
        .pointer("/spec/containers/0")
        .expect("the manager container");
    let mounted = kubesim::process_runtime::container_mounts(
        &simulated.dir.join("processes"),
        &pod_json,
        container,
    )
    .into_iter()
    .find(|(path, _)| path == "/var/run/secrets/webhook")
    .map(|(_, host)| host)
    .expect("the cert dir is mounted");
    assert_eq!(
        std::fs::read_to_string(mounted.join("tls.crt")).expect("tls.crt in the cert dir"),
        first_cert
    );

    // The cainjector put the Certificate's CA into every webhook.
    eventually("the caBundle of every webhook", DEADLINE, || async {
        let bundles = ca_bundles(&client, mutating, validating).await;
        (!bundles.is_empty() && bundles.iter().all(|b| *b == first_ca.as_bytes())).then_some(())
    })
    .await;

    // The server presents cert-manager's certificate.
    let pod_ip = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("the pod has its address");
    let webhook_address = format!("{pod_ip}:9443");
    let first_der = first_certificate_der(first_cert.as_bytes()).expect("PEM");
    assert_eq!(
        served_leaf(&webhook_address, &first_ca, server_name).await,
        Ok(first_der.clone())
    );

    // minimal through the webhooks, to Healthy; an invalid cluster refused.
    let sample = repo_root()
        .join("config/samples/minimal.yaml")
        .display()
        .to_string();
    simulated
        .kubectl_ok(&["apply", "--server-side", "-f", &sample], "")
        .await;
    assert_defaulted_by_the_webhook(&client).await;
    assert_invalid_cluster_refused(&simulated.kubectl).await;
    simulated.healthy().await;

    // A renewal: a new key and certificate, served without a restart.
    let before = operator_identity(&simulated).await;
    request_renewal(&client, certificate_namespace, certificate_name).await;
    let (_, renewed) = issued(&client, certificate_namespace, certificate_name, 2).await;
    let second_cert = secret_text(&renewed, "tls.crt");
    let second_ca = secret_text(&renewed, "ca.crt");
    assert_ne!(second_cert, first_cert);
    assert_ne!(
        secret_text(&renewed, "tls.key"),
        secret_text(&secret, "tls.key"),
        "a new key"
    );
    let second_der = first_certificate_der(second_cert.as_bytes()).expect("PEM");
    eventually("the renewed certificate to be served", DEADLINE, || async {
        (served_leaf(&webhook_address, &second_ca, server_name)
            .await
            .ok()?
            == second_der)
            .then_some(())
    })
    .await;
    eventually(
        "the webhooks to answer with the renewed certificate",
        DEADLINE,
        || async { webhooks_answer(&simulated.kubectl).await.ok() },
    )
    .await;
    assert_eq!(
        ca_bundles(&client, mutating, validating)
            .await
            .iter()
            .filter(|b| *b != second_ca.as_bytes())
            .count(),
        0,
        "every caBundle holds the renewed CA"
    );
    assert_eq!(
        operator_identity(&simulated).await,
        before,
        "the same operator process, pod and restart count"
    );

    // The operator left the certificates to cert-manager: no PKI Secret of its own, no write
    // to a webhook configuration.
    let user = operator_user();
    let requests = simulated.server.requests().entries();
    assert!(
        requests.iter().any(|e| e.user == user
            && e.verb == "get"
            && e.resource == "mutatingwebhookconfigurations"),
        "the operator read the configurations as its ServiceAccount (strategy detection)"
    );
    let writes: Vec<String> = requests
        .into_iter()
        .filter(|e| e.user == user && e.is_mutating())
        .filter(|e| {
            e.resource.ends_with("webhookconfigurations")
                || (e.resource == "secrets" && e.namespace.as_deref() == Some(OPERATOR_NAMESPACE))
        })
        .map(|e| format!("{} {} {:?}", e.verb, e.qualified_resource(), e.name))
        .collect();
    assert_eq!(
        writes,
        Vec::<String>::new(),
        "the operator's certificate writes"
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), OPERATOR_NAMESPACE);
    for name in [CA_SECRET, SERVING_SECRET] {
        assert!(
            secrets.get_opt(name).await.expect("a read").is_none(),
            "{name} exists"
        );
    }

    simulated
        .kubectl_ok(&["delete", "-f", &sample, "--wait=true"], "")
        .await;
    simulated.uninstall("cert-manager").await;
    assert!(
        secrets
            .get_opt(secret_name)
            .await
            .expect("a read")
            .is_none(),
        "cert-manager's Secret goes with the namespace"
    );
    simulated.server.shutdown().await;
}

// --- The stand-in -------------------------------------------------------------------------

/// A certificate's (key type OID + curve, common name, DNS SANs, lifetime in seconds, whether
/// its issuer is its subject).
fn describe(der: &[u8]) -> (String, Option<String>, Vec<String>, i64, bool) {
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, certificate) = X509Certificate::from_der(der).expect("DER");
    let spki = certificate.public_key();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| format!("/{}", oid.to_id_string()))
        .unwrap_or_default();
    let common_name = certificate
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let dns = certificate
        .subject_alternative_name()
        .expect("valid extensions")
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let validity = certificate.validity();
    (
        format!("{}{curve}", spki.algorithm.algorithm.to_id_string()),
        common_name,
        dns,
        validity.not_after.timestamp() - validity.not_before.timestamp(),
        certificate.issuer() == certificate.subject(),
    )
}

/// Whether `key_pem` is the private key of `cert_pem`, as rustls loads a serving pair.
fn key_matches(cert_pem: &str, key_pem: &str) -> bool {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    let Ok(key) = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()) else {
        return false;
    };
    let Ok(signer) = rustls::crypto::ring::sign::any_supported_type(&key) else {
        return false;
    };
    let der = first_certificate_der(cert_pem.as_bytes()).expect("PEM");
    rustls::sign::CertifiedKey::new(vec![der.into()], signer)
        .keys_match()
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cert_manager_stand_in_issues_refuses_renews_and_injects() {
    let server = kubesim::Server::builder()
        .start()
        .await
        .expect("kubesim starts");
    let Some(kubectl) = Kubectl::new(&server) else {
        server.shutdown().await;
        return;
    };
    let client = server.client();
    install_cert_manager_crds(&kubectl).await;
    let _cert_manager = CertManager::start(client.clone());
    let objects = r#"
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: self, namespace: default}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: from-ca, namespace: default}
spec: {ca: {secretName: some-ca}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: p384, namespace: default}
spec:
  secretName: p384-tls
  commonName: a.example
  dnsNames: [b.example, a.example]
  duration: 1h30m
  issuerRef: {name: self}
  privateKey: {algorithm: ECDSA, size: 384, encoding: PKCS8}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: p256, namespace: default}
spec:
  secretName: p256-tls
  dnsNames: [c.example]
  issuerRef: {name: self, kind: Issuer, group: cert-manager.io}
  privateKey: {algorithm: ECDSA, rotationPolicy: Always}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: cluster-issuer, namespace: default}
spec:
  secretName: cluster-issuer-tls
  dnsNames: [d.example]
  issuerRef: {name: self, kind: ClusterIssuer}
  privateKey: {algorithm: ECDSA}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: ca-issuer, namespace: default}
spec:
  secretName: ca-issuer-tls
  dnsNames: [e.example]
  issuerRef: {name: from-ca}
  privateKey: {algorithm: ECDSA}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: rsa, namespace: default}
spec:
  secretName: rsa-tls
  dnsNames: [f.example]
  issuerRef: {name: self}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: injected
  annotations: {cert-manager.io/inject-ca-from: default/p256}
webhooks:
- name: one.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig: {url: "https://c.example/one"}
- name: two.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig: {url: "https://c.example/two"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: not-annotated}
webhooks:
- name: three.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig: {url: "https://c.example/three"}
"#;
    let applied = kubectl
        .run(&["apply", "--server-side", "-f", "-"], objects)
        .await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);

    // ECDSA P-384, PKCS#8, a common name, two SANs, 90 minutes; self-signed, ca.crt = tls.crt.
    let (certificate, secret) = issued(&client, "default", "p384", 1).await;
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let cert_pem = secret_text(&secret, "tls.crt");
    let key_pem = secret_text(&secret, "tls.key");
    assert_eq!(secret_text(&secret, "ca.crt"), cert_pem);
    assert!(
        key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{key_pem}"
    );
    assert!(key_matches(&cert_pem, &key_pem));
    let der = first_certificate_der(cert_pem.as_bytes()).expect("PEM");
    assert_eq!(
        describe(&der),
        (
            "1.2.840.10045.2.1/1.3.132.0.34".to_owned(),
            Some("a.example".to_owned()),
            vec!["b.example".to_owned(), "a.example".to_owned()],
            5400,
            true
        )
    );
    let status = certificate.status.expect("a status");
    assert_eq!(status.revision, Some(1));
    assert!(status.not_before.is_some() && status.not_after.is_some());
    assert_eq!(
        secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CERTIFICATE_NAME))
            .map(String::as_str),
        Some("p384")
    );

    // ECDSA of the default size and encoding: P-256 as SEC1, the default 90 days, no subject.
    let (_, secret) = issued(&client, "default", "p256", 1).await;
    let cert_pem = secret_text(&secret, "tls.crt");
    let key_pem = secret_text(&secret, "tls.key");
    assert!(
        key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"),
        "{key_pem}"
    );
    assert!(key_matches(&cert_pem, &key_pem));
    let der = first_certificate_der(cert_pem.as_bytes()).expect("PEM");
    assert_eq!(
        describe(&der),
        (
            "1.2.840.10045.2.1/1.2.840.10045.3.1.7".to_owned(),
            None,
            vec!["c.example".to_owned()],
            90 * 24 * 3600,
            true
        )
    );

    // What it cannot serve: Ready=False with the reason, and no Secret.
    let certificates: Api<Certificate> = Api::namespaced(client.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    for (name, reason) in [
        ("cluster-issuer", "UnsupportedIssuer"),
        ("ca-issuer", "UnsupportedIssuer"),
        ("rsa", "UnsupportedKeyAlgorithm"),
    ] {
        let condition = eventually(&format!("{name} refused"), DEADLINE, || async {
            let certificate = certificates.get(name).await.ok()?;
            ready(&certificate.status?.conditions).cloned()
        })
        .await;
        assert_eq!(
            (condition.status.as_str(), condition.reason.as_deref()),
            ("False", Some(reason)),
            "{name}: {:?}",
            condition.message
        );
        assert!(
            secrets
                .get_opt(&format!("{name}-tls"))
                .await
                .expect("a read")
                .is_none()
        );
    }

    // The cainjector: the annotated configuration's webhooks get p256's CA, the other none.
    let configurations: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let bundles = |configuration: ValidatingWebhookConfiguration| -> Vec<Vec<u8>> {
        configuration
            .webhooks
            .unwrap_or_default()
            .into_iter()
            .map(|w| w.client_config.ca_bundle.unwrap_or_default().0)
            .collect()
    };
    let ca = secret_text(&secret, "ca.crt").into_bytes();
    eventually("the caBundle injected", DEADLINE, || async {
        let got = bundles(configurations.get("injected").await.ok()?);
        (got == vec![ca.clone(), ca.clone()]).then_some(())
    })
    .await;
    assert_eq!(
        bundles(configurations.get("not-annotated").await.expect("stored")),
        vec![Vec::<u8>::new()]
    );

    // A renewal as cmctl asks for one: a new key and certificate, and the new CA injected.
    request_renewal(&client, "default", "p256").await;
    let (_, renewed) = issued(&client, "default", "p256", 2).await;
    assert_ne!(secret_text(&renewed, "tls.key"), key_pem);
    assert_ne!(secret_text(&renewed, "tls.crt"), cert_pem);
    let renewed_ca = secret_text(&renewed, "ca.crt").into_bytes();
    eventually("the renewed caBundle injected", DEADLINE, || async {
        let got = bundles(configurations.get("injected").await.ok()?);
        (got == vec![renewed_ca.clone(), renewed_ca.clone()]).then_some(())
    })
    .await;

    // The stand-in wrote the caBundle as the CA's PEM, base64 in JSON as the API serves it.
    let raw = Api::<kube::api::DynamicObject>::all_with(
        client.clone(),
        &kube::core::ApiResource::erase::<ValidatingWebhookConfiguration>(&()),
    )
    .get("injected")
    .await
    .expect("stored");
    assert_eq!(
        raw.data["webhooks"][0]["clientConfig"]["caBundle"],
        json!(STANDARD.encode(&renewed_ca))
    );
    server.shutdown().await;
}
