//! The admission webhooks in local mode, registered as the install manifest registers them
//! (spec-api.md §12.1): the operator's namespace, the webhook Service, both webhook
//! configurations; kubesim routes the Service to the server `run` starts in this process, and
//! the operator's own certificate bootstrap injects the caBundle. So `kubectl apply` against
//! local mode shows the defaults, warnings and rejections of a real installation.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Namespace, Service, ServiceAccount};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::FIELD_MANAGER;
use crate::webhook::WebhookConfig;
use crate::webhook::registration::{
    SERVICE_PORT, WebhookTarget, mutating_configuration, validating_configuration,
};

/// The operator's namespace under the default install.
pub const NAMESPACE: &str = "multigres-operator";
/// The webhook Service of the install manifest.
pub const SERVICE: &str = "multigres-operator-webhook-service";
/// The operator's ServiceAccount of the install manifest.
pub const SERVICE_ACCOUNT: &str = "multigres-operator-controller-manager";

/// A free loopback port for the webhook server: `port` when it is free, any free one for 0.
pub fn webhook_address(port: u16) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).with_context(|| {
        format!(
            "port {port} on 127.0.0.1 is in use: choose another for the admission webhooks with \
             --webhook-port (0 picks a free one)"
        )
    })?;
    listener
        .local_addr()
        .context("the webhook port has no local address")
}

/// Creates the namespace, Service and webhook configurations (kept as they are on a resumed
/// run) and routes the Service to `address`. Returns what `run` needs to serve the webhooks.
pub async fn register(
    client: &Client,
    server: &kubesim::Handle,
    address: SocketAddr,
    cert_dir: PathBuf,
) -> anyhow::Result<WebhookConfig> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    Api::<Namespace>::all(client.clone())
        .patch(
            NAMESPACE,
            &params,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
            ),
        )
        .await
        .context("failed to create the operator's namespace")?;
    Api::<Service>::namespaced(client.clone(), NAMESPACE)
        .patch(
            SERVICE,
            &params,
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE},
                "spec": {"selector": {"control-plane": "controller-manager"},
                         "ports": [{"port": SERVICE_PORT, "targetPort": address.port(), "protocol": "TCP"}]},
            })),
        )
        .await
        .context("failed to create the webhook Service")?;
    // Without a caBundle: the operator's certificate bootstrap injects it, as in a cluster.
    let target = WebhookTarget {
        namespace: NAMESPACE.to_owned(),
        service_name: SERVICE.to_owned(),
        ca_bundle: None,
    };
    let mutating = mutating_configuration(&target);
    let mutating_api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    if mutating_api.get_opt(&mutating.name_any()).await?.is_none() {
        mutating_api
            .create(&Default::default(), &mutating)
            .await
            .context("failed to register the mutating webhooks")?;
    }
    let validating = validating_configuration(&target);
    let validating_api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    if validating_api
        .get_opt(&validating.name_any())
        .await?
        .is_none()
    {
        validating_api
            .create(&Default::default(), &validating)
            .await
            .context("failed to register the validating webhooks")?;
    }
    server.register_service_address(NAMESPACE, SERVICE, SERVICE_PORT as u16, address);
    std::fs::create_dir_all(&cert_dir)
        .with_context(|| format!("cannot create {}", cert_dir.display()))?;
    Ok(WebhookConfig {
        bind: address,
        cert_dir,
        namespace: NAMESPACE.to_owned(),
        service_name: SERVICE.to_owned(),
        service_account: SERVICE_ACCOUNT.to_owned(),
        enable_http2: false,
    })
}

/// How long the operator's token lasts: longer than any local session (a restart asks again).
const TOKEN_SECONDS: i64 = 365 * 24 * 3600;

/// The operator's credentials, as its pod gets them in a cluster: its ServiceAccount (created
/// when missing) and a token for it from TokenRequest. The child-resource validators
/// (spec-api.md §12.6) let only this identity write Cells, Shards, TableGroups and TopoServers,
/// so in local mode too a user's `kubectl edit` of a child is refused while the operator's
/// writes pass.
pub async fn operator_token(client: &Client) -> anyhow::Result<String> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), NAMESPACE);
    accounts
        .patch(
            SERVICE_ACCOUNT,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE},
            })),
        )
        .await
        .context("failed to create the operator's ServiceAccount")?;
    let request: TokenRequest = serde_json::from_value(json!({
        "spec": {"audiences": [], "expirationSeconds": TOKEN_SECONDS},
    }))
    .context("a TokenRequest")?;
    accounts
        .create_token_request(SERVICE_ACCOUNT, &Default::default(), &request)
        .await
        .context("failed to get a token for the operator's ServiceAccount")?
        .status
        .map(|status| status.token)
        .context("the TokenRequest answer has no token")
}

/// Waits until every webhook has its caBundle and the server accepts connections, so the
/// documents applied next go through admission.
pub async fn wait_until_serving(client: &Client, address: SocketAddr) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mutating = Api::<MutatingWebhookConfiguration>::all(client.clone())
            .get_opt(crate::webhook::registration::MUTATING_CONFIGURATION)
            .await?;
        let validating = Api::<ValidatingWebhookConfiguration>::all(client.clone())
            .get_opt(crate::webhook::registration::VALIDATING_CONFIGURATION)
            .await?;
        let bundled = mutating.is_some_and(|m| {
            m.webhooks
                .unwrap_or_default()
                .iter()
                .all(|w| w.client_config.ca_bundle.is_some())
        }) && validating.is_some_and(|v| {
            v.webhooks
                .unwrap_or_default()
                .iter()
                .all(|w| w.client_config.ca_bundle.is_some())
        });
        if bundled && tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "the admission webhooks were not serving within 60 s (see the operator log)"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
