//! The HTTPS call to one webhook: POST the AdmissionReview to the resolved address over TLS
//! verified against the configuration's `caBundle`, with the webhook's `timeoutSeconds`, and
//! errors worded as the API server's Go client words them (`Post "<url>": context deadline
//! exceeded`, `dial tcp <addr>: connect: connection refused`, `tls: failed to verify
//! certificate: x509: certificate signed by unknown authority`), because kubectl shows them to
//! the user inside `failed calling webhook "<name>": failed to call webhook: ...`.
//!
//! I/O only: which webhook to call and what its answer means are decided elsewhere.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

/// Responses above this size are refused.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Where and how to reach a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL the API server would post to, with `?timeout=`: used in messages and for the
    /// request path.
    pub url: String,
    /// The name the certificate must be valid for (`<svc>.<ns>.svc` for service references).
    pub server_name: String,
    /// The path and query of the request.
    pub path_and_query: String,
    /// The `Host` header.
    pub host: String,
    /// Where to connect.
    pub address: Address,
}

/// A resolved or resolvable address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Socket(SocketAddr),
    /// A host name to look up, with its port.
    Host(String, u16),
    /// The address could not be resolved; the text says why (`service "x" not found`).
    Unresolvable(String),
}

/// A failed call, displayed as Go's `*url.Error`: `Post "<url>": <detail>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Post \"{url}\": {detail}")]
pub struct CallError {
    pub url: String,
    pub detail: String,
}

/// A webhook's HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a `caBundle` could not be used (a configuration error, reported as a failed call).
fn roots(ca_bundle: &[u8]) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_bundle) {
        let cert = cert.map_err(|e| format!("invalid caBundle: {e}"))?;
        store
            .add(cert)
            .map_err(|e| format!("invalid caBundle: {e}"))?;
    }
    Ok(store)
}

/// Go's wording of TLS failures.
fn tls_detail(error: &std::io::Error, server_name: &str) -> String {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            "tls: failed to verify certificate: x509: certificate signed by unknown authority"
                .to_string()
        }
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. },
        )) => format!(
            "tls: failed to verify certificate: x509: certificate is not valid for {server_name}"
        ),
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. },
        )) => {
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
                .to_string()
        }
        Some(other) => format!("tls: {other}"),
        None => format!("tls: {error}"),
    }
}

/// Go's wording of dial failures.
fn dial_detail(address: &str, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            format!("dial tcp {address}: connect: connection refused")
        }
        _ => format!("dial tcp {address}: {error}"),
    }
}

async fn exchange(
    endpoint: &Endpoint,
    config: Arc<rustls::ClientConfig>,
    body: Vec<u8>,
) -> Result<Reply, String> {
    let (tcp, shown) = match &endpoint.address {
        Address::Socket(address) => (TcpStream::connect(address).await, address.to_string()),
        Address::Host(host, port) => (
            TcpStream::connect((host.as_str(), *port)).await,
            format!("{host}:{port}"),
        ),
        Address::Unresolvable(why) => return Err(why.clone()),
    };
    let tcp = tcp.map_err(|e| dial_detail(&shown, &e))?;
    let name = ServerName::try_from(endpoint.server_name.clone())
        .map_err(|e| format!("invalid server name {:?}: {e}", endpoint.server_name))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| tls_detail(&e, &endpoint.server_name))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = Request::post(&endpoint.path_and_query)
        .header(header::HOST, &endpoint.host)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, */*")
        .body(Body::from(body))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = axum::body::to_bytes(Body::new(response.into_body()), MAX_RESPONSE)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Reply {
        status: status.as_u16(),
        body: bytes.to_vec(),
    })
}

/// POSTs `body` to the webhook and returns its answer; a non-2xx answer is an error like the
/// API server's REST client reports it.
pub async fn call(
    endpoint: &Endpoint,
    ca_bundle: &[u8],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Reply, CallError> {
    let error = |detail: String| CallError {
        url: endpoint.url.clone(),
        detail,
    };
    let roots = roots(ca_bundle).map_err(error)?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| error(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let reply =
        match tokio::time::timeout(timeout, exchange(endpoint, Arc::new(config), body)).await {
            Ok(result) => result.map_err(error)?,
            Err(_) => return Err(error("context deadline exceeded".to_string())),
        };
    if !StatusCode::from_u16(reply.status).is_ok_and(|s| s.is_success()) {
        let text = String::from_utf8_lossy(&reply.body).trim().to_string();
        return Err(error(format!(
            "an error on the server ({text:?}) has prevented the request from succeeding"
        )));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(address: Address) -> Endpoint {
        Endpoint {
            url: "https://hook.default.svc:443/validate?timeout=1s".into(),
            server_name: "hook.default.svc".into(),
            path_and_query: "/validate?timeout=1s".into(),
            host: "hook.default.svc:443".into(),
            address,
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_connection_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let error = call(
            &endpoint(Address::Socket(address)),
            b"",
            b"{}".to_vec(),
            Duration::from_secs(5),
        )
        .await
        .expect_err("nothing listens");
        assert_eq!(
            error.to_string(),
            format!(
                "Post \"https://hook.default.svc:443/validate?timeout=1s\": dial tcp {address}: connect: connection refused"
            )
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        // Accept but never answer the TLS handshake.
        let server = tokio::spawn(async move {
            let _connection = listener.accept().await;
            std::future::pending::<()>().await;
        });
        let error = call(
            &endpoint(Address::Socket(address)),
            b"",
            b"{}".to_vec(),
            Duration::from_millis(200),
        )
        .await
        .expect_err("no answer");
        assert_eq!(
            error.to_string(),
            "Post \"https://hook.default.svc:443/validate?timeout=1s\": context deadline exceeded"
        );
        server.abort();
    }

    #[tokio::test]
    async fn unresolvable_services_say_why() {
        let error = call(
            &endpoint(Address::Unresolvable("service \"hook\" not found".into())),
            b"",
            b"{}".to_vec(),
            Duration::from_secs(1),
        )
        .await
        .expect_err("unresolvable");
        assert_eq!(error.detail, "service \"hook\" not found");
    }
}
