//! The webhook flags of `multigres-operator run` (spec-controllers.md §13.2), with the Go
//! operator's names and defaults, and the settings they resolve to.
//!
//! `run` flattens [`WebhookArgs`] into its own arguments; `--enable-http2` lives here because
//! the webhook server is the first TLS server to need it (the metrics server reads the same
//! field).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

/// The Go default of `--webhook-service-account` when the environment gives none.
pub const FALLBACK_SERVICE_ACCOUNT: &str = "multigres-operator";

/// Admission webhook flags.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct WebhookArgs {
    /// Run the admission webhooks and manage their certificates; `--webhook-enable=false`
    /// turns both off (only the CRDs' own rules are then enforced).
    #[arg(
        id = "webhook_enable",
        long = "webhook-enable",
        env = "MULTIGRES_WEBHOOK_ENABLE",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub enable: bool,

    /// Port of the HTTPS webhook server (the webhook Service's targetPort).
    #[arg(
        id = "webhook_port",
        long = "webhook-port",
        env = "MULTIGRES_WEBHOOK_PORT",
        default_value_t = 9443
    )]
    pub port: u16,

    /// Address the webhook server listens on; every address when unset (controller-runtime's
    /// `webhook.Options.Host`). kubesim's operator runtime sets it to the pod's own address,
    /// since every simulated pod shares this machine's ports (docs/kubesim.md).
    #[arg(
        id = "webhook_host",
        long = "webhook-host",
        env = "MULTIGRES_WEBHOOK_HOST"
    )]
    pub host: Option<IpAddr>,

    /// Directory holding `tls.crt` and `tls.key`. When both exist and no webhook configuration
    /// says `multigres.com/cert-strategy: self-signed`, the certificates are managed externally
    /// (e.g. by cert-manager) and served from here, reloaded when they change.
    #[arg(
        id = "webhook_cert_dir",
        long = "webhook-cert-dir",
        env = "MULTIGRES_WEBHOOK_CERT_DIR",
        default_value = "/var/run/secrets/webhook"
    )]
    pub cert_dir: PathBuf,

    /// Namespace of the webhook Service and of the certificate Secrets [default: $POD_NAMESPACE].
    #[arg(
        id = "webhook_service_namespace",
        long = "webhook-service-namespace",
        env = "MULTIGRES_WEBHOOK_SERVICE_NAMESPACE"
    )]
    pub service_namespace: Option<String>,

    /// The operator's ServiceAccount: the only user (with the garbage collector and the
    /// namespace controller) allowed to write Cells, Shards, TableGroups and TopoServers
    /// [default: $POD_SERVICE_ACCOUNT].
    #[arg(
        id = "webhook_service_account",
        long = "webhook-service-account",
        env = "MULTIGRES_WEBHOOK_SERVICE_ACCOUNT"
    )]
    pub service_account: Option<String>,

    /// Name of the webhook Service; the serving certificate is valid for
    /// `<name>.<namespace>.svc` and `<name>.<namespace>.svc.cluster.local`.
    #[arg(
        id = "webhook_service_name",
        long = "webhook-service-name",
        env = "MULTIGRES_WEBHOOK_SERVICE_NAME",
        default_value = "multigres-operator-webhook-service"
    )]
    pub service_name: String,

    /// Offer HTTP/2 on the TLS servers; off by default, so only HTTP/1.1 is negotiated (the
    /// mitigation of CVE-2023-44487 the Go operator applies).
    #[arg(
        id = "enable_http2",
        long = "enable-http2",
        env = "MULTIGRES_ENABLE_HTTP2",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub enable_http2: bool,
}

impl Default for WebhookArgs {
    fn default() -> Self {
        WebhookArgs {
            enable: true,
            port: 9443,
            host: None,
            cert_dir: PathBuf::from("/var/run/secrets/webhook"),
            service_namespace: None,
            service_account: None,
            service_name: "multigres-operator-webhook-service".to_owned(),
            enable_http2: false,
        }
    }
}

/// The flags could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error(
        "--webhook-service-namespace is not set and POD_NAMESPACE is empty; the webhook needs \
         the namespace of its Service and certificate Secrets"
    )]
    MissingNamespace,
}

/// What the webhook runs with, once the flags are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Where the server listens: `--webhook-host` (every address by default), `--webhook-port`.
    pub bind: SocketAddr,
    /// `--webhook-cert-dir`.
    pub cert_dir: PathBuf,
    /// Namespace of the Service, the Secrets and the operator Deployment.
    pub namespace: String,
    /// The webhook Service's name.
    pub service_name: String,
    /// The operator's ServiceAccount name.
    pub service_account: String,
    /// Whether HTTP/2 is offered.
    pub enable_http2: bool,
}

impl WebhookArgs {
    /// The settings, or `None` under `--webhook-enable=false`. `pod_namespace` and
    /// `pod_service_account` are `$POD_NAMESPACE` and `$POD_SERVICE_ACCOUNT`, the defaults of
    /// the two service flags.
    pub fn config(
        &self,
        pod_namespace: Option<&str>,
        pod_service_account: Option<&str>,
    ) -> Result<Option<WebhookConfig>, ArgsError> {
        if !self.enable {
            return Ok(None);
        }
        let non_empty = |value: Option<&str>| value.filter(|v| !v.is_empty()).map(str::to_owned);
        let namespace = non_empty(self.service_namespace.as_deref())
            .or_else(|| non_empty(pod_namespace))
            .ok_or(ArgsError::MissingNamespace)?;
        // Go: an empty ServiceAccountName exempts `multigres-operator` (spec-api.md §12.2).
        let service_account = non_empty(self.service_account.as_deref())
            .or_else(|| non_empty(pod_service_account))
            .unwrap_or_else(|| FALLBACK_SERVICE_ACCOUNT.to_owned());
        Ok(Some(WebhookConfig {
            bind: SocketAddr::new(
                self.host.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
                self.port,
            ),
            cert_dir: self.cert_dir.clone(),
            namespace,
            service_name: self.service_name.clone(),
            service_account,
            enable_http2: self.enable_http2,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use pretty_assertions::assert_eq;

    #[derive(Debug, Parser)]
    struct Run {
        #[command(flatten)]
        webhook: WebhookArgs,
    }

    fn parse(args: &[&str]) -> WebhookArgs {
        let mut argv = vec!["run"];
        argv.extend_from_slice(args);
        Run::try_parse_from(argv).expect("valid flags").webhook
    }

    #[test]
    fn defaults_are_the_go_operators() {
        use clap::CommandFactory;
        Run::command().debug_assert();
        assert_eq!(parse(&[]), WebhookArgs::default());
    }

    #[test]
    fn go_style_boolean_flags_parse() {
        assert!(!parse(&["--webhook-enable=false"]).enable);
        assert!(parse(&["--webhook-enable"]).enable);
        assert!(parse(&["--enable-http2"]).enable_http2);
        assert!(!parse(&["--enable-http2=false"]).enable_http2);
    }

    #[test]
    fn disabled_webhooks_have_no_config() {
        let args = parse(&["--webhook-enable=false"]);
        assert_eq!(args.config(None, None).expect("resolves"), None);
    }

    #[test]
    fn the_pod_environment_fills_unset_service_flags() {
        let config = parse(&["--webhook-port=10443", "--webhook-service-name=hooks"])
            .config(Some("ops"), Some(""))
            .expect("resolves")
            .expect("enabled");
        assert_eq!(config.namespace, "ops");
        assert_eq!(config.service_account, FALLBACK_SERVICE_ACCOUNT);
        assert_eq!(config.service_name, "hooks");
        assert_eq!(config.bind, "[::]:10443".parse().expect("an address"));
        let pod = parse(&["--webhook-host=127.0.0.9"])
            .config(Some("ops"), None)
            .expect("resolves")
            .expect("enabled");
        assert_eq!(pod.bind, "127.0.0.9:9443".parse().expect("an address"));
        let explicit = parse(&[
            "--webhook-service-namespace=mine",
            "--webhook-service-account=sa",
        ])
        .config(Some("ops"), Some("other"))
        .expect("resolves")
        .expect("enabled");
        assert_eq!(
            (
                explicit.namespace.as_str(),
                explicit.service_account.as_str()
            ),
            ("mine", "sa")
        );
    }

    #[test]
    fn a_namespace_is_required() {
        assert!(matches!(
            parse(&[]).config(None, None),
            Err(ArgsError::MissingNamespace)
        ));
    }
}
