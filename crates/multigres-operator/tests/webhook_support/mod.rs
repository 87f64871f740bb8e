//! A kubesim with the operator's CRDs and webhook configurations registered the way the install
//! manifest registers them, and the operator's webhook server running in this process behind
//! the webhook Service: certificates bootstrapped by the operator itself (self-managed
//! strategy), caBundle injected by its rotation, so every `kubectl apply` goes through the real
//! admission path over TLS.
//!
//! Also: kubectl pointed at that kubesim (its own HOME and cache dir, a deadline per command),
//! and waiting for a condition with a deadline.

#![allow(dead_code)] // each test binary uses a different subset

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use multigres_operator::webhook::registration::{
    WebhookTarget, mutating_configuration, validating_configuration,
};
use multigres_operator::webhook::{
    CertStrategy, WebhookConfig, WebhookServer, prepare_certificates,
};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The operator's namespace under the default install.
pub const NAMESPACE: &str = "multigres-operator";
/// The webhook Service.
pub const SERVICE: &str = "multigres-operator-webhook-service";
/// The operator's ServiceAccount.
pub const SERVICE_ACCOUNT: &str = "multigres-operator-controller-manager";

/// The zones kubesim's nodes are in (those of the samples and the golden cases).
pub const ZONES: [&str; 2] = ["us-east-1a", "us-east-1b"];

/// A kubesim with the webhooks installed and served.
pub struct Installed {
    pub kubesim: kubesim::Handle,
    pub config: WebhookConfig,
    pub certificates: CertStrategy,
    pub server: Running,
    /// Kept alive: the cert dir the server was started with (empty: self-managed).
    pub cert_dir: tempfile::TempDir,
}

impl Installed {
    pub async fn shutdown(mut self) {
        self.server.stop().await;
        self.kubesim.shutdown().await;
    }

    pub fn client(&self) -> kube::Client {
        self.kubesim.client()
    }
}

/// A webhook server running in this process.
pub struct Running {
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the server (as if its pod died) and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.served).await;
    }
}

/// Starts the webhook server with `certificates` and points the webhook Service at it.
pub async fn serve(
    kubesim: &kubesim::Handle,
    config: &WebhookConfig,
    certificates: &CertStrategy,
) -> Running {
    let server = WebhookServer::bind(kubesim.client(), config, certificates)
        .await
        .expect("webhook server binds");
    let address = server.local_addr().expect("bound address");
    kubesim.register_service_address(NAMESPACE, SERVICE, 443, address);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        server
            .serve(async {
                let _ = stopped.await;
            })
            .await
            .expect("webhook server runs");
    });
    Running {
        address,
        stop: Some(stop),
        served,
    }
}

/// A kubesim with the CRDs, the operator namespace, the webhook Service and both webhook
/// configurations (no caBundle), as the install manifest leaves them.
pub async fn bare_kubesim() -> kubesim::Handle {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let kubesim = kubesim::Server::builder()
        .zones(ZONES.iter().map(|z| (*z).to_owned()).collect())
        .start()
        .await
        .expect("kubesim starts");
    install_crds(&kubesim.client()).await;
    register_webhooks(&kubesim.client()).await;
    kubesim
}

/// The operator namespace, the webhook Service and both webhook configurations (no caBundle),
/// created as the install manifest creates them.
pub async fn register_webhooks(client: &kube::Client) {
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).expect("Namespace"),
        )
        .await
        .expect("namespace created");
    Api::<Service>::namespaced(client.clone(), NAMESPACE)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": SERVICE},
                "spec": {"selector": {"control-plane": "controller-manager"},
                         "ports": [{"port": 443, "targetPort": 9443, "protocol": "TCP"}]},
            }))
            .expect("Service"),
        )
        .await
        .expect("webhook Service created");
    let target = WebhookTarget {
        namespace: NAMESPACE.to_owned(),
        service_name: SERVICE.to_owned(),
        ca_bundle: None,
    };
    Api::all(client.clone())
        .create(&PostParams::default(), &mutating_configuration(&target))
        .await
        .expect("mutating configuration created");
    Api::all(client.clone())
        .create(&PostParams::default(), &validating_configuration(&target))
        .await
        .expect("validating configuration created");
}

/// The webhook settings of the tests: loopback, any port, the given cert dir.
pub fn webhook_config(cert_dir: &Path) -> WebhookConfig {
    WebhookConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        cert_dir: cert_dir.to_path_buf(),
        namespace: NAMESPACE.to_owned(),
        service_name: SERVICE.to_owned(),
        service_account: SERVICE_ACCOUNT.to_owned(),
        enable_http2: false,
    }
}

/// [`bare_kubesim`], then the operator's certificate bootstrap (empty cert dir: self-managed)
/// and its webhook server behind the Service.
pub async fn install() -> Installed {
    let kubesim = bare_kubesim().await;
    let client = kubesim.client();
    let cert_dir = tempfile::tempdir().expect("cert dir");
    let config = webhook_config(cert_dir.path());
    let certificates = prepare_certificates(client.clone(), &config)
        .await
        .expect("certificates bootstrap");
    let server = serve(&kubesim, &config, &certificates).await;
    Installed {
        kubesim,
        config,
        certificates,
        server,
        cert_dir,
    }
}

/// Creates every CRD of the operator and waits until each is established.
pub async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in multigres_api::crds::crds() {
        let name = crd.metadata.name.clone().expect("CRDs are named");
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("CRD created");
        tokio::time::timeout(
            Duration::from_secs(10),
            await_condition(crds.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .expect("established within 10s")
        .expect("watch works");
    }
}

/// Polls `check` until it returns `Some`, at most `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "{what}: not reached within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A finished kubectl command.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// kubectl for one kubesim, with its own HOME and discovery cache.
pub struct Kubectl {
    binary: PathBuf,
    home: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Kubectl {
    /// `$KUBECTL` or `kubectl` on PATH; `None` (after saying so) when missing, unless `CI` is
    /// set, where a missing kubectl fails the test.
    pub fn new(kubesim: &kubesim::Handle) -> Option<Kubectl> {
        let binary = std::env::var_os("KUBECTL").map(PathBuf::from).or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join("kubectl"))
                .find(|candidate| candidate.is_file())
        });
        let Some(binary) = binary else {
            assert!(
                std::env::var_os("CI").is_none(),
                "kubectl is required under CI (set KUBECTL or add it to PATH)"
            );
            eprintln!("kubectl is not installed (set KUBECTL or add it to PATH): skipping");
            return None;
        };
        Some(Kubectl {
            binary,
            home: tempfile::tempdir().expect("temporary HOME"),
            kubeconfig: kubesim.kubeconfig_path().to_path_buf(),
        })
    }

    /// Runs kubectl with `stdin`, at most 60 s.
    pub async fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(&self.binary)
            .args(args)
            .arg("--cache-dir")
            .arg(self.home.path().join("cache"))
            .env("HOME", self.home.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("kubectl starts");
        let mut input = child.stdin.take().expect("stdin is piped");
        input
            .write_all(stdin.as_bytes())
            .await
            .expect("stdin written");
        drop(input);
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("kubectl finishes within 60s")
            .expect("kubectl runs");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}
