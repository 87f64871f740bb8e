//! The HTTPS side of the webhook server: TCP accept, TLS handshake with the hot-reloaded
//! certificate, HTTP/1.1 (HTTP/2 only under `--enable-http2`), graceful shutdown.
//!
//! Every connection runs in its own task, and each slow step has a deadline (TLS handshake,
//! request headers; the handlers bound the body), so a slow or stuck client only ever holds its
//! own connection. On shutdown the listener stops accepting and open connections finish their
//! requests, up to [`DRAIN_TIMEOUT`].
//!
//! Must not: decide anything about a request (that is [`super::server`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::serving_cert::ServingCertificate;

/// A client must finish the TLS handshake within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A client must send a request's headers within this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections may take to finish once shutdown starts.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The server could not listen.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("failed to listen on {address} for the webhook server")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to build the webhook server's TLS configuration")]
    Tls {
        #[source]
        source: rustls::Error,
    },
}

/// TLS 1.2 and 1.3 on ring, no client certificates, the certificate of `serving` at each
/// handshake; ALPN offers `h2` only when `enable_http2`.
pub fn tls_config(
    serving: Arc<ServingCertificate>,
    enable_http2: bool,
) -> Result<Arc<ServerConfig>, ListenerError> {
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|source| ListenerError::Tls { source })?
            .with_no_client_auth()
            .with_cert_resolver(serving);
    config.alpn_protocols = if enable_http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// Binds `address`.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, ListenerError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ListenerError::Bind { address, source })
}

/// Serves `router` over TLS on `listener` until `shutdown` completes, then drains.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    enable_http2: bool,
    router: Router,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let builder = if enable_http2 {
        builder
    } else {
        builder.http1_only()
    };
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Per-connection failures (e.g. the peer reset before accept, or the
                    // process is out of file descriptors): keep serving the others.
                    tracing::warn!(error = &err as &dyn std::error::Error, "webhook accept failed");
                    tokio::task::yield_now().await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::debug!(%peer, error = &err as &dyn std::error::Error, "webhook TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "webhook TLS handshake timed out");
                    return;
                }
            };
            let connection =
                builder.serve_connection(TokioIo::new(tls), TowerToHyperService::new(router));
            if let Err(err) = watcher.watch(connection).await {
                tracing::debug!(%peer, error = &*err as &dyn std::error::Error, "webhook connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("webhook connections still open after the drain timeout; closing them");
    }
}
