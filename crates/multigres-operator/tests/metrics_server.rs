//! The metrics endpoint over real sockets: plain HTTP with `--metrics-secure=false`, and HTTPS
//! with the TokenReview + SubjectAccessReview filter against a small stand-in for those two API
//! endpoints (kubesim does not serve them yet). The stand-in authenticates two tokens and allows
//! only Prometheus' service account to `get /metrics`, and records what it was asked, so the
//! test also checks the reviews the server sends.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use bytes_body::{collect, request};
use multigres_operator::telemetry::metrics::{CONTENT_TYPE, Metrics};
use multigres_operator::telemetry::metrics_server::{MetricsConfig, MetricsServer};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const PROMETHEUS: &str = "system:serviceaccount:monitoring:prometheus";

/// Minimal HTTP/1.1 client helpers over any connected stream.
mod bytes_body {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncRead, AsyncWrite};

    pub async fn request<S>(
        stream: S,
        path: &str,
        token: Option<&str>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|err| err.to_string())?;
        tokio::spawn(connection);
        let mut builder = hyper::Request::get(path).header("host", "localhost");
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let request = builder.body(Empty::new()).map_err(|err| err.to_string())?;
        sender
            .send_request(request)
            .await
            .map_err(|err| err.to_string())
    }

    pub async fn collect(response: hyper::Response<hyper::body::Incoming>) -> String {
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|body| body.to_bytes())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The API server stand-in: TokenReviews and SubjectAccessReviews only.
struct FakeAuthApi {
    url: String,
    reviews: Arc<Mutex<Vec<Value>>>,
    _stop: oneshot::Sender<()>,
}

async fn start_fake_auth_api() -> FakeAuthApi {
    let reviews = Arc::new(Mutex::new(Vec::new()));
    let token_reviews = reviews.clone();
    let access_reviews = reviews.clone();
    let app = axum::Router::new()
        .route(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            post(move |Json(review): Json<Value>| async move {
                token_reviews.lock().expect("not poisoned").push(review.clone());
                let user = match review["spec"]["token"].as_str() {
                    Some("prometheus-token") => {
                        Some(json!({"username": PROMETHEUS, "uid": "uid-1", "groups": ["system:serviceaccounts"]}))
                    }
                    Some("alice-token") => Some(json!({"username": "alice", "groups": ["devs"]})),
                    _ => None,
                };
                let status = match user {
                    Some(user) => json!({"authenticated": true, "user": user}),
                    None => json!({"authenticated": false, "error": "invalid bearer token"}),
                };
                Json(json!({
                    "apiVersion": "authentication.k8s.io/v1",
                    "kind": "TokenReview",
                    "spec": review["spec"],
                    "status": status,
                }))
            }),
        )
        .route(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            post(move |Json(review): Json<Value>| async move {
                access_reviews.lock().expect("not poisoned").push(review.clone());
                let spec = &review["spec"];
                let allowed = spec["user"] == PROMETHEUS
                    && spec["nonResourceAttributes"] == json!({"path": "/metrics", "verb": "get"});
                Json(json!({
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SubjectAccessReview",
                    "spec": spec,
                    "status": {"allowed": allowed},
                }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    FakeAuthApi {
        url,
        reviews,
        _stop: stop,
    }
}

fn client_for(url: &str) -> kube::Client {
    let config = kube::Config::new(url.parse().expect("a valid URL"));
    kube::Client::try_from(config).expect("a client for a plain HTTP URL")
}

fn populated_metrics() -> Arc<Metrics> {
    let metrics = Arc::new(Metrics::new());
    metrics.set_cluster_info("default", "minimal", "Healthy");
    metrics
}

/// Starts the server for `config` on a free loopback port; dropping the sender stops it.
fn start_server(
    secure: bool,
    metrics: Arc<Metrics>,
    client: kube::Client,
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let config = MetricsConfig {
        bind_address: "127.0.0.1:0".to_owned(),
        secure,
    };
    let server = MetricsServer::bind(&config, metrics, client)
        .expect("bind")
        .expect("enabled");
    let address = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .serve(async move {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
    });
    (address, stop, task)
}

#[tokio::test]
async fn plain_http_serves_openmetrics_without_checks() {
    // Secure mode is off, so this client is never used: it points nowhere.
    let (address, stop, task) =
        start_server(false, populated_metrics(), client_for("http://127.0.0.1:9"));
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let response = request(stream, "/metrics", None).await.expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().ok(),
        Some(CONTENT_TYPE)
    );
    let text = collect(response).await;
    let scraped = support::exposition::parse(&text).expect("valid exposition");
    assert_eq!(
        scraped.value(
            "multigres_operator_cluster_info",
            &[
                ("name", "minimal"),
                ("namespace", "default"),
                ("phase", "Healthy")
            ]
        ),
        Some(1.0)
    );

    drop(stop);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the server stops after shutdown")
        .expect("the server task did not panic");
}

#[test]
fn bind_address_zero_disables_the_endpoint() {
    let config = MetricsConfig {
        bind_address: "0".to_owned(),
        secure: true,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let _entered = runtime.enter();
    let server = MetricsServer::bind(
        &config,
        populated_metrics(),
        client_for("http://127.0.0.1:9"),
    )
    .expect("no error");
    assert!(server.is_none());
}

/// Accepts any server certificate (the metrics certificate is self-signed, and scrapers skip
/// verification) and keeps it for inspection.
#[derive(Debug)]
struct AcceptAnyCertificate {
    seen: Mutex<Vec<Vec<u8>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.seen
            .lock()
            .expect("not poisoned")
            .push(end_entity.to_vec());
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[tokio::test]
async fn https_requires_an_authenticated_and_authorized_token() {
    let api = start_fake_auth_api().await;
    let (address, stop, task) = start_server(true, populated_metrics(), client_for(&api.url));

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AcceptAnyCertificate {
        seen: Mutex::new(Vec::new()),
        provider: provider.clone(),
    });
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));

    let get = |token: Option<&'static str>| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(address)
                .await
                .expect("connect");
            let server_name =
                rustls::pki_types::ServerName::try_from("localhost").expect("a valid name");
            let stream = connector
                .connect(server_name, tcp)
                .await
                .expect("TLS handshake");
            let response = request(stream, "/metrics", token).await.expect("request");
            let status = response.status().as_u16();
            (status, collect(response).await)
        }
    };

    let (status, body) = get(None).await;
    assert_eq!((status, body.as_str()), (401, "Unauthorized"));
    let (status, body) = get(Some("stolen-token")).await;
    assert_eq!((status, body.as_str()), (401, "Unauthorized"));
    let (status, body) = get(Some("alice-token")).await;
    assert_eq!(
        (status, body.as_str()),
        (403, "Authorization denied for user alice to GET /metrics")
    );
    let (status, body) = get(Some("prometheus-token")).await;
    assert_eq!(status, 200, "{body}");
    assert!(support::exposition::parse(&body).is_ok(), "{body}");

    // The server presented a self-signed certificate for localhost.
    let seen = verifier.seen.lock().expect("not poisoned").clone();
    let certificate = seen.last().expect("a certificate was presented");
    let (_, parsed) =
        x509_parser::parse_x509_certificate(certificate).expect("a valid certificate");
    assert_eq!(parsed.subject(), parsed.issuer());
    let names: Vec<String> = parsed
        .subject_alternative_name()
        .expect("a valid extension")
        .expect("a SAN extension")
        .value
        .general_names
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["DNSName(localhost)"]);

    // The reviews sent for the allowed request: the token, then the user it belongs to asking
    // for `get` on the non-resource URL.
    let reviews = api.reviews.lock().expect("not poisoned").clone();
    let last_two: Vec<Value> = reviews[reviews.len() - 2..]
        .iter()
        .map(|review| review["spec"].clone())
        .collect();
    assert_eq!(
        last_two,
        [
            json!({"token": "prometheus-token"}),
            json!({
                "user": PROMETHEUS,
                "uid": "uid-1",
                "groups": ["system:serviceaccounts"],
                "nonResourceAttributes": {"path": "/metrics", "verb": "get"},
            }),
        ]
    );
    // No review at all for a request without a token: 3 requests with tokens → 3 TokenReviews,
    // 2 authenticated → 2 SubjectAccessReviews.
    assert_eq!(reviews.len(), 5);

    drop(stop);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the server stops after shutdown")
        .expect("the server task did not panic");
}
