//! Running kubesim: [`Server::builder`] binds a loopback port (HTTPS with a fresh CA, or plain
//! HTTP), bootstraps the cluster, serves the router and writes a kubeconfig once the listener
//! accepts. [`Handle`] gives tests the URL, kubeconfig, a `kube::Client`, the fault and request
//! controls, the in-process [`Cluster`], and shutdown. No globals: many servers can run in one
//! process.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::admission::ServiceAddresses;
use crate::api::{Cluster, ClusterConfig};
use crate::auth::Authorization;
use crate::auth::tokens::Tokens;
use crate::bootstrap::{self, BootstrapConfig};
use crate::error::ApiError;
use crate::faults::Faults;
use crate::http::{AppState, router};
use crate::kubeconfig;
use crate::kubelet::{Kubelet, KubeletConfig, KubeletControls, KubeletError};
use crate::namespace_controllers::NamespaceControllers;
use crate::request_log::RequestLog;
use crate::tls::{self, TlsError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("failed to bind 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to prepare TLS")]
    Tls {
        #[source]
        source: TlsError,
    },
    #[error("failed to read the saved state {path}")]
    ReadState {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to parse the saved state {path}")]
    ParseState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("failed to create the bootstrap objects")]
    Bootstrap {
        #[source]
        source: ApiError,
    },
    #[error("failed to create a directory for the kubeconfig")]
    TempDir {
        #[source]
        source: std::io::Error,
    },
    #[error("failed to start the simulated kubelet")]
    Kubelet {
        #[source]
        source: KubeletError,
    },
    #[error("the listener stopped before accepting connections")]
    NotListening,
    #[error("failed to write the kubeconfig {path}")]
    WriteKubeconfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read back the kubeconfig {path}")]
    ReadKubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("failed to build a kube client for {url}")]
    Client {
        url: String,
        #[source]
        source: kube::Error,
    },
}

/// Entry point: `Server::builder()...start().await`.
pub struct Server;

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

/// Settings of a server.
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    port: u16,
    plain_http: bool,
    kubeconfig_path: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    bootstrap: BootstrapConfig,
    cluster: ClusterConfig,
    fault_seed: u64,
    kubelet: Option<KubeletConfig>,
    authorization: Authorization,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            port: 0,
            plain_http: false,
            kubeconfig_path: None,
            state_dir: None,
            bootstrap: BootstrapConfig::default(),
            cluster: ClusterConfig::default(),
            fault_seed: 1,
            kubelet: None,
            authorization: Authorization::AlwaysAllow,
        }
    }
}

impl ServerBuilder {
    /// The port on 127.0.0.1 (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// How requests are authorized (default [`Authorization::AlwaysAllow`]; docs/kubesim.md
    /// "Identities and RBAC").
    pub fn authorization(mut self, authorization: Authorization) -> Self {
        self.authorization = authorization;
        self
    }

    /// Serve plain HTTP instead of HTTPS.
    pub fn http(mut self, plain: bool) -> Self {
        self.plain_http = plain;
        self
    }

    /// Where to write the kubeconfig (default: a temporary directory owned by the handle).
    pub fn kubeconfig_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.kubeconfig_path = Some(path.into());
        self
    }

    /// A directory kept across restarts (the CA lives there).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// One Node per zone.
    pub fn zones(mut self, zones: Vec<String>) -> Self {
        self.bootstrap.zones = zones;
        self
    }

    /// Watch events kept per resource (smaller makes 410 Expired easy to provoke).
    pub fn watch_history(mut self, events: usize) -> Self {
        self.cluster.watch_history = events;
        self
    }

    /// Seed of uids, generated names and fault decisions.
    pub fn seed(mut self, seed: u64) -> Self {
        self.cluster.seed = seed;
        self.fault_seed = seed;
        self
    }

    /// Interval of periodic watch bookmarks.
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.cluster.bookmark_interval = interval;
        self
    }

    /// Runs the simulated kubelet and workload controllers (`kubelet` module): pods get
    /// scheduled and run, claims bound, Deployments and StatefulSets managed. Off by default, so
    /// a test can play those parts itself.
    pub fn kubelet(mut self, config: KubeletConfig) -> Self {
        self.kubelet = Some(config);
        self
    }

    /// Binds, bootstraps, serves and writes the kubeconfig.
    pub async fn start(self) -> Result<Handle, StartError> {
        let listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).map_err(|source| {
                StartError::Bind {
                    port: self.port,
                    source,
                }
            })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| StartError::Bind {
                port: self.port,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            port: self.port,
            source,
        })?;
        let cluster = Cluster::new(self.cluster.clone());
        let saved = self
            .state_dir
            .as_deref()
            .map(state_file)
            .filter(|p| p.exists());
        match saved {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| StartError::ReadState {
                        path: path.clone(),
                        source,
                    })?;
                let snapshot = serde_json::from_str(&text)
                    .map_err(|source| StartError::ParseState { path, source })?;
                cluster.restore(snapshot);
            }
            None => {
                let mut bootstrap_config = self.bootstrap.clone();
                bootstrap_config.port = address.port();
                bootstrap::bootstrap(&cluster, &bootstrap_config)
                    .map_err(|source| StartError::Bootstrap { source })?;
            }
        }
        // The CA of the serving certificate; over plain HTTP a CA of kubesim's own, so that
        // every namespace still gets a `kube-root-ca.crt` to read.
        let serving = tls::serving_tls(self.state_dir.as_deref())
            .map_err(|source| StartError::Tls { source })?;
        let namespace_controllers =
            NamespaceControllers::start(cluster.clone(), serving.ca_pem.clone())
                .map_err(|source| StartError::Bootstrap { source })?;
        let faults = Faults::new(self.fault_seed);
        let requests = RequestLog::default();
        let tokens = Tokens::default();
        let services = ServiceAddresses::default();
        // How the pods the kubelet runs as processes reach this server (the operator runtime's
        // ServiceAccount kubeconfig): its URL and, over HTTPS, the serving CA.
        let api = crate::kubelet::ApiAccess {
            server: format!(
                "{}://{address}",
                if self.plain_http { "http" } else { "https" }
            ),
            ca_pem: (!self.plain_http).then(|| serving.ca_pem.clone()),
            tokens: tokens.clone(),
        };
        let kubelet = self
            .kubelet
            .clone()
            .map(|mut config| {
                // Process data lives in the state folder when there is one.
                if let (Some(processes), Some(dir)) = (config.processes.as_mut(), &self.state_dir)
                    && processes.root.is_none()
                {
                    processes.root = Some(dir.join("processes"));
                }
                Kubelet::start_with_api(cluster.clone(), config, Some(api.clone()))
            })
            .transpose()
            .map_err(|source| StartError::Kubelet { source })?;
        let mut app = router(AppState {
            cluster: cluster.clone(),
            faults: faults.clone(),
            requests: requests.clone(),
            services: services.clone(),
            server_address: address.to_string(),
            tokens: tokens.clone(),
            authorization: self.authorization,
            openapi: Default::default(),
        });
        if let Some(kubelet) = &kubelet {
            app = app.merge(crate::kubelet::control_http::routes(
                kubelet.controls().clone(),
            ));
        }
        let server_handle = axum_server::Handle::<SocketAddr>::new();
        let (scheme, ca_pem, task): (&str, Option<String>, JoinHandle<std::io::Result<()>>) =
            if self.plain_http {
                let server = axum_server::from_tcp(listener)
                    .map_err(|source| StartError::Bind {
                        port: self.port,
                        source,
                    })?
                    .handle(server_handle.clone());
                let task = tokio::spawn(server.serve(app.into_make_service()));
                ("http", None, task)
            } else {
                let config =
                    axum_server::tls_rustls::RustlsConfig::from_config(serving.server_config);
                let server = axum_server::tls_rustls::from_tcp_rustls(listener, config)
                    .map_err(|source| StartError::Bind {
                        port: self.port,
                        source,
                    })?
                    .handle(server_handle.clone());
                let task = tokio::spawn(server.serve(app.into_make_service()));
                ("https", Some(serving.ca_pem.clone()), task)
            };
        if server_handle.listening().await.is_none() {
            return Err(StartError::NotListening);
        }
        let url = format!("{scheme}://{address}");
        let (kubeconfig_path, temp_dir) = match &self.kubeconfig_path {
            Some(path) => (path.clone(), None),
            None => {
                let dir = tempfile::tempdir().map_err(|source| StartError::TempDir { source })?;
                (dir.path().join("kubeconfig"), Some(dir))
            }
        };
        kubeconfig::write_atomically(
            &kubeconfig_path,
            &kubeconfig::render(&url, ca_pem.as_deref()),
        )
        .map_err(|source| StartError::WriteKubeconfig {
            path: kubeconfig_path.clone(),
            source,
        })?;
        let client_config = client_config(&kubeconfig_path).await?;
        // Built once here so that `Handle::client` cannot fail later.
        kube::Client::try_from(client_config.clone()).map_err(|source| StartError::Client {
            url: url.clone(),
            source,
        })?;
        Ok(Handle {
            url,
            kubeconfig_path,
            cluster,
            faults,
            requests,
            tokens,
            services,
            server: server_handle,
            task,
            client_config,
            state_dir: self.state_dir.clone(),
            kubelet,
            namespace_controllers: Some(namespace_controllers),
            ca_pem: serving.ca_pem,
            _temp_dir: temp_dir,
        })
    }
}

async fn client_config(path: &Path) -> Result<kube::Config, StartError> {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(path).map_err(|source| StartError::ReadKubeconfig {
            path: path.to_path_buf(),
            source,
        })?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|source| StartError::ReadKubeconfig {
            path: path.to_path_buf(),
            source,
        })
}

/// A running kubesim.
pub struct Handle {
    url: String,
    kubeconfig_path: PathBuf,
    cluster: Cluster,
    faults: Faults,
    requests: RequestLog,
    tokens: Tokens,
    services: ServiceAddresses,
    server: axum_server::Handle<SocketAddr>,
    task: JoinHandle<std::io::Result<()>>,
    client_config: kube::Config,
    state_dir: Option<PathBuf>,
    kubelet: Option<Kubelet>,
    namespace_controllers: Option<NamespaceControllers>,
    ca_pem: String,
    _temp_dir: Option<tempfile::TempDir>,
}

/// Where a state directory keeps the objects.
fn state_file(dir: &Path) -> PathBuf {
    dir.join("objects.json")
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("failed to serialise the cluster state")]
    Serialize {
        #[source]
        source: serde_json::Error,
    },
    #[error("failed to write the cluster state to {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("url", &self.url)
            .field("kubeconfig_path", &self.kubeconfig_path)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// `https://127.0.0.1:PORT` (or `http://`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA PEM every namespace's `kube-root-ca.crt` carries: the CA of the serving
    /// certificate (over plain HTTP, a CA of kubesim's own that signs nothing served).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The kubeconfig pointing at this server.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// A client configured from the kubeconfig.
    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.client_config.clone())
            .expect("the same client configuration was built successfully when the server started")
    }

    /// A token for ServiceAccount `namespace/name`, as `kubectl create token` gets from
    /// TokenRequest: valid for `expiration_seconds` while the ServiceAccount exists.
    pub fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        expiration_seconds: i64,
    ) -> Result<String, ApiError> {
        let accounts = self.cluster.resource("", "v1", "serviceaccounts")?;
        let account = self.cluster.get(
            &accounts,
            Some(namespace),
            name,
            crate::api::Subresource::Main,
        )?;
        let spec = crate::auth::tokens::TokenSpec {
            namespace: namespace.to_string(),
            service_account: name.to_string(),
            service_account_uid: account
                .pointer("/metadata/uid")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string(),
            audiences: Vec::new(),
            expiration_seconds,
        };
        Ok(self.tokens.issue(&spec, jiff::Timestamp::now()).0)
    }

    /// A client that authenticates with `token` instead of the administrator's (for tests of
    /// least-privilege RBAC, with [`ServerBuilder::authorization`]).
    pub fn client_with_token(&self, token: &str) -> kube::Client {
        let mut config = self.client_config.clone();
        config.auth_info = serde_json::from_value(serde_json::json!({ "token": token }))
            .expect("an AuthInfo with only a token always deserialises");
        kube::Client::try_from(config)
            .expect("the same client configuration was built successfully when the server started")
    }

    /// The client configuration (to tweak timeouts, for instance).
    pub fn client_config(&self) -> kube::Config {
        self.client_config.clone()
    }

    /// The in-process API (no HTTP, no faults).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn requests(&self) -> &RequestLog {
        &self.requests
    }

    /// The simulated kubelet's test controls (`None` unless started with
    /// [`ServerBuilder::kubelet`]).
    pub fn kubelet(&self) -> Option<&KubeletControls> {
        self.kubelet.as_ref().map(Kubelet::controls)
    }

    /// The pod addresses an in-cluster name stands for (`<svc>.<ns>.svc[.cluster.local]`,
    /// `<hostname>.<subdomain>.<ns>.svc[...]`); see [`crate::dns`]. Connect to `<ip>:<port>`.
    pub fn resolve(&self, name: &str) -> Result<Vec<std::net::IpAddr>, crate::dns::ResolveError> {
        crate::dns::resolve(&self.cluster, name)
    }

    /// Routes admission webhook calls for the Service `namespace/name` on `port` to `address`
    /// (webhook `clientConfig.service` references; the certificate must be valid for
    /// `<name>.<namespace>.svc`).
    pub fn register_service_address(
        &self,
        namespace: &str,
        name: &str,
        port: u16,
        address: SocketAddr,
    ) {
        self.services.register(namespace, name, port, address);
    }

    /// Saves every object to the state directory (`objects.json`), if one was given; the next
    /// start with the same directory restores them instead of bootstrapping.
    pub fn save_state(&self) -> Result<(), SaveError> {
        let Some(dir) = &self.state_dir else {
            return Ok(());
        };
        let path = state_file(dir);
        let text = serde_json::to_string(&self.cluster.snapshot())
            .map_err(|source| SaveError::Serialize { source })?;
        kubeconfig::write_atomically(&path, &text).map_err(|source| SaveError::Write {
            path: path.clone(),
            source,
        })
    }

    /// Stops accepting, lets open requests finish for up to a second, waits for the server and
    /// saves the state directory.
    pub async fn shutdown(mut self) {
        self.faults.drop_watches();
        // Stopped first: nothing writes while the state is saved.
        drop(self.namespace_controllers.take());
        if let Some(kubelet) = self.kubelet.take() {
            kubelet.shutdown().await;
        }
        self.server.graceful_shutdown(Some(Duration::from_secs(1)));
        if let Err(error) = (&mut self.task).await {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "kubesim server task failed"
            );
        }
        if let Err(error) = self.save_state() {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "kubesim state not saved"
            );
        }
    }
}
