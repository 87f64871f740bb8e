//! The metrics endpoint (spec-controllers.md §13.2): `GET /metrics` on `--metrics-bind-address`
//! (default `:8443`, `0` disables).
//!
//! With `--metrics-secure` (the default) it behaves like controller-runtime's secure metrics
//! server: HTTPS with a self-signed certificate made at start (Prometheus scrapes it with
//! `insecureSkipVerify`), and every request must carry a bearer token that a TokenReview
//! authenticates and a SubjectAccessReview authorizes for `get` on the non-resource URL
//! `/metrics` (granted by the `metrics-reader` ClusterRole). With `--metrics-secure=false` it is
//! plain HTTP without checks. HTTP/2 is not offered over TLS (`--enable-http2` defaults to false
//! in the Go operator, which then forces `http/1.1`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;

use super::metrics::{CONTENT_TYPE, Metrics};

/// Flags of the metrics server (Go flag names, `--name=value`).
#[derive(Clone, Debug, clap::Args)]
pub struct MetricsConfig {
    /// Address the metrics endpoint listens on, `host:port` or `:port` (all interfaces);
    /// `0` disables the endpoint.
    #[arg(
        long = "metrics-bind-address",
        default_value = ":8443",
        env = "MULTIGRES_METRICS_BIND_ADDRESS"
    )]
    pub bind_address: String,

    /// Serve metrics over HTTPS and only to callers whose bearer token passes a TokenReview and
    /// a SubjectAccessReview for `get /metrics`; `--metrics-secure=false` serves plain HTTP to
    /// anyone.
    #[arg(
        long = "metrics-secure",
        env = "MULTIGRES_METRICS_SECURE",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub secure: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            bind_address: ":8443".to_owned(),
            secure: true,
        }
    }
}

/// Failure to start or run the metrics server.
#[derive(Debug, thiserror::Error)]
pub enum MetricsServerError {
    #[error(
        "--metrics-bind-address {value:?} is not an address: {reason} (use host:port, :port or 0)"
    )]
    InvalidBindAddress { value: String, reason: String },
    #[error("failed to listen on {address} for metrics")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to generate the metrics server's self-signed certificate")]
    SelfSignedCertificate {
        #[source]
        source: rcgen::Error,
    },
    #[error("failed to configure TLS for the metrics server")]
    Tls {
        #[source]
        source: rustls::Error,
    },
    #[error("the metrics server on {address} failed")]
    Serve {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Parses `--metrics-bind-address`: `None` for `0` (disabled); `:port` listens on every IPv4
/// interface, as Go's `:port` does for the usual single-stack pod network.
pub fn parse_bind_address(value: &str) -> Result<Option<SocketAddr>, MetricsServerError> {
    let invalid = |reason: &str| MetricsServerError::InvalidBindAddress {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if value == "0" {
        return Ok(None);
    }
    let full = match value.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => value.to_owned(),
    };
    // Resolves host names (`localhost:8080`); addresses are parsed without a lookup.
    full.to_socket_addrs()
        .map_err(|err| invalid(&err.to_string()))?
        .next()
        .map(Some)
        .ok_or_else(|| invalid("the host name resolves to no address"))
}

/// A bound, not yet serving, metrics endpoint.
pub struct MetricsServer {
    listener: std::net::TcpListener,
    address: SocketAddr,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("address", &self.address)
            .field("secure", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl MetricsServer {
    /// Binds the endpoint `config` asks for; `None` when it is disabled (`0`). `client` checks
    /// callers in secure mode.
    pub fn bind(
        config: &MetricsConfig,
        metrics: Arc<Metrics>,
        client: kube::Client,
    ) -> Result<Option<Self>, MetricsServerError> {
        let Some(address) = parse_bind_address(&config.bind_address)? else {
            return Ok(None);
        };
        let listener = std::net::TcpListener::bind(address)
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .map_err(|source| MetricsServerError::Bind { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| MetricsServerError::Bind { address, source })?;
        let (router, tls) = if config.secure {
            (secure_router(metrics, client), Some(self_signed_tls()?))
        } else {
            (plain_router(metrics), None)
        };
        Ok(Some(Self {
            listener,
            address,
            router,
            tls,
        }))
    }

    /// The address actually bound (with the port chosen when `:0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then lets open requests finish.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), MetricsServerError> {
        let address = self.address;
        let serve_error = |source| MetricsServerError::Serve { address, source };
        match self.tls {
            None => {
                let listener =
                    tokio::net::TcpListener::from_std(self.listener).map_err(serve_error)?;
                axum::serve(listener, self.router)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .map_err(serve_error)
            }
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    stopper.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
                });
                axum_server::from_tcp_rustls(
                    self.listener,
                    axum_server::tls_rustls::RustlsConfig::from_config(tls),
                )
                .map_err(serve_error)?
                .handle(handle)
                .serve(self.router.into_make_service())
                .await
                .map_err(serve_error)
            }
        }
    }
}

/// `/metrics` without checks.
pub fn plain_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

/// `/metrics` behind TokenReview + SubjectAccessReview checks made with `client`.
pub fn secure_router(metrics: Arc<Metrics>, client: kube::Client) -> Router {
    plain_router(metrics).layer(middleware::from_fn_with_state(
        client,
        authenticate_and_authorize,
    ))
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    match metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "failed to encode metrics"
            );
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The authentication and authorization filter of controller-runtime's secure metrics server:
/// 401 without a valid token, 403 when the caller may not `get` the path, 500 when the API
/// server cannot be asked.
async fn authenticate_and_authorize(
    State(client): State<kube::Client>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer_token(request.headers()) else {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    };
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_owned()),
            ..TokenReviewSpec::default()
        },
        ..TokenReview::default()
    };
    let reviewed = match Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
    {
        Ok(reviewed) => reviewed,
        Err(error) => {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "TokenReview failed"
            );
            return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
        }
    };
    let status = reviewed.status.unwrap_or_default();
    let user = match (status.authenticated, status.user) {
        (Some(true), Some(user)) => user,
        _ => return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response(),
    };
    let access = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: user.username.clone(),
            groups: user.groups,
            uid: user.uid,
            extra: user.extra,
            non_resource_attributes: Some(NonResourceAttributes {
                path: Some(request.uri().path().to_owned()),
                verb: Some(request.method().as_str().to_ascii_lowercase()),
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let allowed = match Api::<SubjectAccessReview>::all(client)
        .create(&PostParams::default(), &access)
        .await
    {
        Ok(reviewed) => reviewed.status.is_some_and(|status| status.allowed),
        Err(error) => {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "SubjectAccessReview failed"
            );
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if !allowed {
        let user = user.username.unwrap_or_default();
        return (
            StatusCode::FORBIDDEN,
            format!(
                "Authorization denied for user {user} to {} {}",
                request.method(),
                request.uri().path()
            ),
        )
            .into_response();
    }
    next.run(request).await
}

/// A fresh self-signed certificate for `localhost`, as controller-runtime makes when no
/// certificate directory is given; scrapers skip verification (§12.3 ServiceMonitor).
fn self_signed_tls() -> Result<Arc<rustls::ServerConfig>, MetricsServerError> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .map_err(|source| MetricsServerError::SelfSignedCertificate { source })?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|source| MetricsServerError::Tls { source })?
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .map_err(|source| MetricsServerError::Tls { source })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses_parse_like_the_go_flag() {
        assert_eq!(parse_bind_address("0").ok().flatten(), None);
        assert_eq!(
            parse_bind_address(":8443").ok().flatten(),
            Some(SocketAddr::from(([0, 0, 0, 0], 8443)))
        );
        assert_eq!(
            parse_bind_address("127.0.0.1:9090").ok().flatten(),
            Some(SocketAddr::from(([127, 0, 0, 1], 9090)))
        );
        let error = parse_bind_address("8443").err().map(|err| err.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "--metrics-bind-address \"8443\" is not an address: invalid socket address \
                 (use host:port, :port or 0)"
            )
        );
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_empty_ones_refused() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                value.parse().expect("a valid header value"),
            );
            headers
        };
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearer ")), None);
        assert_eq!(bearer_token(&headers("Basic abc")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
