//! A test admission webhook server: HTTPS (rustls on ring) with a certificate from its own CA
//! (rcgen) valid for `hook.default.svc`, answering with kube's admission types, and recording
//! every AdmissionReview it receives so tests can assert which requests reached it.
//!
//! Paths: `/mutate` adds the label `mutated: "true"` with a JSONPatch and a warning;
//! `/validate` denies objects (or, on delete, old objects) whose `data` has the key `forbidden`
//! (403 Forbidden) and allows the rest with a warning; `/hang` never answers (for timeouts).

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use base64::Engine;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

/// The Service name the certificate is valid for.
pub const SERVICE: &str = "hook";
pub const NAMESPACE: &str = "default";

/// A running webhook server.
pub struct WebhookServer {
    pub address: SocketAddr,
    /// Base64 of the CA PEM, for `clientConfig.caBundle`.
    pub ca_bundle: String,
    reviews: Arc<Mutex<Vec<Value>>>,
    handle: axum_server::Handle<SocketAddr>,
}

type Reviews = Arc<Mutex<Vec<Value>>>;

fn record(reviews: &Reviews, review: &AdmissionReview<DynamicObject>) {
    let value = serde_json::to_value(review).expect("reviews serialize");
    reviews.lock().expect("not poisoned").push(value);
}

fn request(review: AdmissionReview<DynamicObject>) -> AdmissionRequest<DynamicObject> {
    review.try_into().expect("the review carries a request")
}

async fn mutate(
    State(reviews): State<Reviews>,
    Json(review): Json<AdmissionReview<DynamicObject>>,
) -> Json<AdmissionReview<DynamicObject>> {
    record(&reviews, &review);
    let request = request(review);
    let has_labels = request
        .object
        .as_ref()
        .is_some_and(|o| o.metadata.labels.is_some());
    let patch = if has_labels {
        json!([{"op": "add", "path": "/metadata/labels/mutated", "value": "true"}])
    } else {
        json!([{"op": "add", "path": "/metadata/labels", "value": {"mutated": "true"}}])
    };
    let mut response = AdmissionResponse::from(&request)
        .with_patch(serde_json::from_value(patch).expect("valid JSON patch"))
        .expect("patch serializes");
    response.warnings = Some(vec!["mutated by the kubesim test webhook".into()]);
    Json(response.into_review())
}

async fn validate(
    State(reviews): State<Reviews>,
    Json(review): Json<AdmissionReview<DynamicObject>>,
) -> Json<AdmissionReview<DynamicObject>> {
    record(&reviews, &review);
    let request = request(review);
    // Deletes carry only the old object.
    let forbidden = request
        .object
        .as_ref()
        .or(request.old_object.as_ref())
        .is_some_and(|o| o.data.pointer("/data/forbidden").is_some());
    let mut response = AdmissionResponse::from(&request);
    if forbidden {
        response = response.deny("key \"forbidden\" is not allowed");
        response.result.code = 403;
        response.result.reason = "Forbidden".into();
    } else {
        response.warnings = Some(vec!["validated by the kubesim test webhook".into()]);
    }
    Json(response.into_review())
}

async fn hang(
    State(reviews): State<Reviews>,
    Json(review): Json<AdmissionReview<DynamicObject>>,
) -> Json<AdmissionReview<DynamicObject>> {
    record(&reviews, &review);
    std::future::pending().await
}

impl WebhookServer {
    /// Starts a server on a free loopback port.
    pub async fn start() -> WebhookServer {
        let mut ca_params = CertificateParams::default();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("serving key");
        let params = CertificateParams::new(vec![
            format!("{SERVICE}.{NAMESPACE}.svc"),
            "localhost".to_string(),
        ])
        .expect("serving certificate parameters");
        let cert = params
            .signed_by(&key, &issuer)
            .expect("serving certificate");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server configuration");
        let reviews: Reviews = Arc::default();
        let app = Router::new()
            .route("/mutate", post(mutate))
            .route("/validate", post(validate))
            .route("/hang", post(hang))
            .with_state(reviews.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("address");
        let handle = axum_server::Handle::<SocketAddr>::new();
        let server = axum_server::tls_rustls::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
        )
        .expect("TLS listener")
        .handle(handle.clone());
        tokio::spawn(server.serve(app.into_make_service()));
        WebhookServer {
            address,
            ca_bundle: base64::engine::general_purpose::STANDARD.encode(ca_cert.pem()),
            reviews,
            handle,
        }
    }

    /// Every AdmissionReview received so far.
    pub fn reviews(&self) -> Vec<Value> {
        self.reviews.lock().expect("not poisoned").clone()
    }

    /// (operation, name, dryRun) of every review received.
    pub fn requests(&self) -> Vec<(String, String, bool)> {
        self.reviews()
            .iter()
            .map(|r| {
                (
                    r["request"]["operation"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    r["request"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    r["request"]["dryRun"].as_bool().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// A `clientConfig` reaching `path` through the Service reference.
    pub fn service_config(&self, path: &str) -> Value {
        json!({
            "service": {"namespace": NAMESPACE, "name": SERVICE, "path": path, "port": 443},
            "caBundle": self.ca_bundle,
        })
    }

    pub fn shutdown(&self) {
        self.handle.shutdown();
    }
}

/// A webhook entry for configmaps with the given operations, path and policy.
pub fn configmap_webhook(
    server: &WebhookServer,
    name: &str,
    path: &str,
    operations: &[&str],
    failure_policy: &str,
    timeout_seconds: u64,
) -> Value {
    json!({
        "name": name,
        "clientConfig": server.service_config(path),
        "rules": [{"operations": operations, "apiGroups": [""], "apiVersions": ["v1"],
                   "resources": ["configmaps"]}],
        "objectSelector": {"matchLabels": {"admission": "on"}},
        "failurePolicy": failure_policy,
        "sideEffects": "None",
        "timeoutSeconds": timeout_seconds,
        "admissionReviewVersions": ["v1"],
    })
}
