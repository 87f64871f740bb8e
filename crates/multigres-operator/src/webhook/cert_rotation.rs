//! The webhook's certificates in the cluster (spec-controllers.md §11.1–§11.2, spec-api.md
//! §12.7): which strategy applies, the two Secrets of the self-managed PKI, the caBundle of both
//! webhook configurations, and the hourly check.
//!
//! Strategy, as Go decides it: no `tls.crt`/`tls.key` in the cert dir → self-managed; both
//! present and either webhook configuration annotated `multigres.com/cert-strategy:
//! self-signed` → self-managed (a restart resumes); otherwise external (cert-manager or the
//! user), and the operator only serves the files, reloading them when they change.
//!
//! Self-managed: the CA lives in Secret `multigres-operator-ca-secret` (`ca.crt`, `ca.key`),
//! the serving pair in `multigres-webhook-certs` (`tls.crt`, `tls.key`), both labelled
//! `app.kubernetes.io/managed-by: multigres-operator` and controlled by the operator
//! Deployment when there is exactly one. The caBundle goes into both configurations by
//! server-side apply with field manager `multigres-operator-cert`, so a user re-applying the
//! install manifest does not wipe it.
//!
//! One difference from Go (docs/webhooks.md): the server presents the certificate it just
//! wrote (every replica re-reads the Secret every [`RELOAD_INTERVAL`]) instead of waiting up to
//! two minutes for the kubelet to project the Secret into the cert dir.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use multigres_api::labels::{LABEL_APP_MANAGED_BY, LABEL_APP_NAME, MANAGED_BY};
use serde_json::{Value, json};

use super::args::WebhookConfig;
use super::certs::{
    CertCheck, CertPair, IssueError, check_ca, check_serving, issue_ca, issue_serving,
};
use super::registration::{MUTATING_CONFIGURATION, VALIDATING_CONFIGURATION};
use super::serving_cert::{CERT_FILE, KEY_FILE, LoadError, ServingCertificate, read_cert_dir};
use crate::controllers::shard::cert_entropy::SystemCertEntropy;

/// The CA Secret.
pub const CA_SECRET: &str = "multigres-operator-ca-secret";
/// The serving certificate Secret (mounted by the Deployment at the cert dir).
pub const SERVING_SECRET: &str = "multigres-webhook-certs";
/// Key of the CA certificate in the CA Secret.
pub const CA_CERT_KEY: &str = "ca.crt";
/// Key of the CA key in the CA Secret.
pub const CA_KEY_KEY: &str = "ca.key";
/// The annotation marking configurations whose caBundle the operator manages.
pub const STRATEGY_ANNOTATION: &str = "multigres.com/cert-strategy";
/// Its value.
pub const SELF_SIGNED: &str = "self-signed";
/// Field manager of the caBundle apply.
pub const FIELD_MANAGER: &str = "multigres-operator-cert";
/// How often the certificates are checked.
pub const ROTATION_INTERVAL: Duration = Duration::from_secs(3600);
/// How often every replica re-reads the serving certificate it presents.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(10);
/// Go retries the get-or-create of a Secret this many times.
const ATTEMPTS: usize = 3;

/// Why the certificates could not be set up or renewed.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("failed to {action} Secret {namespace}/{name}")]
    Secret {
        action: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "Secret {namespace}/{name} kept changing while it was being created or replaced \
         ({ATTEMPTS} attempts); another operator replica may be rotating too"
    )]
    Contended { namespace: String, name: String },
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("failed to list the operator Deployments in namespace {namespace}")]
    ListDeployments {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "found {count} Deployments labelled {LABEL_APP_NAME}=multigres-operator in namespace \
         {namespace} ({names}); the certificate Secrets need exactly one owner"
    )]
    SeveralDeployments {
        namespace: String,
        count: usize,
        names: String,
    },
    #[error("failed to {action} webhook configuration {name}")]
    Configuration {
        action: &'static str,
        name: &'static str,
        #[source]
        source: kube::Error,
    },
}

/// Who manages the serving certificate.
#[derive(Clone)]
pub enum CertStrategy {
    /// The operator: its own CA, Secrets and caBundle.
    SelfManaged(Arc<CertRotator>),
    /// cert-manager or the user: the operator serves `tls.crt`/`tls.key` of the cert dir.
    External {
        cert_dir: PathBuf,
        serving: Arc<ServingCertificate>,
    },
}

impl CertStrategy {
    /// The certificate the server presents.
    pub fn serving(&self) -> Arc<ServingCertificate> {
        match self {
            CertStrategy::SelfManaged(rotator) => rotator.serving.clone(),
            CertStrategy::External { serving, .. } => serving.clone(),
        }
    }

    /// Re-reads the serving certificate from where this strategy keeps it (the Secret, or the
    /// cert dir) and installs it if it changed. Returns whether it changed.
    pub async fn reload(&self) -> Result<bool, RotationError> {
        match self {
            CertStrategy::SelfManaged(rotator) => rotator.reload().await,
            CertStrategy::External { cert_dir, serving } => {
                Ok(serving.install(&read_cert_dir(cert_dir)?)?)
            }
        }
    }
}

impl std::fmt::Debug for CertStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertStrategy::SelfManaged(_) => f.write_str("SelfManaged"),
            CertStrategy::External { cert_dir, .. } => f
                .debug_struct("External")
                .field("cert_dir", cert_dir)
                .finish(),
        }
    }
}

/// Detects the strategy and, when the operator manages the certificates, makes sure they
/// exist and are valid and that both configurations trust the CA (Go's synchronous
/// `Bootstrap`: run it before the controllers start). Reads the clock.
pub async fn prepare_certificates(
    client: Client,
    config: &WebhookConfig,
) -> Result<CertStrategy, super::Error> {
    if files_present(&config.cert_dir) && !annotated_self_signed(&client).await? {
        let serving = ServingCertificate::new();
        serving
            .install(&read_cert_dir(&config.cert_dir).map_err(RotationError::from)?)
            .map_err(RotationError::from)?;
        tracing::info!(cert_dir = %config.cert_dir.display(), "webhook certificates are managed externally");
        return Ok(CertStrategy::External {
            cert_dir: config.cert_dir.clone(),
            serving,
        });
    }
    let owner = operator_deployment(&client, &config.namespace).await?;
    let rotator = Arc::new(CertRotator {
        client,
        namespace: config.namespace.clone(),
        service_name: config.service_name.clone(),
        owner,
        serving: ServingCertificate::new(),
    });
    rotator.reconcile(Timestamp::now()).await?;
    Ok(CertStrategy::SelfManaged(rotator))
}

fn files_present(dir: &Path) -> bool {
    dir.join(CERT_FILE).is_file() && dir.join(KEY_FILE).is_file()
}

async fn annotated_self_signed(client: &Client) -> Result<bool, RotationError> {
    let mutating = Api::<MutatingWebhookConfiguration>::all(client.clone())
        .get_opt(MUTATING_CONFIGURATION)
        .await
        .map_err(|source| RotationError::Configuration {
            action: "read",
            name: MUTATING_CONFIGURATION,
            source,
        })?;
    let validating = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .get_opt(VALIDATING_CONFIGURATION)
        .await
        .map_err(|source| RotationError::Configuration {
            action: "read",
            name: VALIDATING_CONFIGURATION,
            source,
        })?;
    let marked = |meta: Option<&ObjectMeta>| {
        meta.and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(STRATEGY_ANNOTATION))
            .is_some_and(|value| value == SELF_SIGNED)
    };
    Ok(marked(mutating.as_ref().map(|c| &c.metadata))
        || marked(validating.as_ref().map(|c| &c.metadata)))
}

/// The controller reference to the operator Deployment, when exactly one exists.
async fn operator_deployment(
    client: &Client,
    namespace: &str,
) -> Result<Option<OwnerReference>, RotationError> {
    let deployments = Api::<Deployment>::namespaced(client.clone(), namespace)
        .list_metadata(
            &ListParams::default().labels(&format!("{LABEL_APP_NAME}=multigres-operator")),
        )
        .await
        .map_err(|source| RotationError::ListDeployments {
            namespace: namespace.to_owned(),
            source,
        })?
        .items;
    match deployments.as_slice() {
        [] => Ok(None),
        [deployment] => Ok(Some(OwnerReference {
            api_version: "apps/v1".to_owned(),
            kind: "Deployment".to_owned(),
            name: deployment.metadata.name.clone().unwrap_or_default(),
            uid: deployment.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        })),
        several => Err(RotationError::SeveralDeployments {
            namespace: namespace.to_owned(),
            count: several.len(),
            names: several
                .iter()
                .filter_map(|d| d.metadata.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The self-managed PKI of one operator.
pub struct CertRotator {
    client: Client,
    namespace: String,
    service_name: String,
    owner: Option<OwnerReference>,
    serving: Arc<ServingCertificate>,
}

impl CertRotator {
    /// Go `reconcilePKI` at `now`: the CA, then the serving certificate, then the caBundle,
    /// then the certificate this replica presents. Returns the CA.
    pub async fn reconcile(&self, now: Timestamp) -> Result<CertPair, RotationError> {
        let ca = self.ensure_ca(now).await?;
        let serving = self.ensure_serving(&ca, now).await?;
        self.inject_ca_bundle(&ca.cert_pem).await?;
        if self.serving.install(&serving)? {
            tracing::info!(secret = SERVING_SECRET, "serving a new webhook certificate");
        }
        Ok(ca)
    }

    /// The hourly check, until `shutdown`. A failed pass is logged and retried at the next
    /// tick: the certificate in place stays valid for at least 30 more days.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(ROTATION_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is immediate: bootstrap just ran
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = ticks.tick() => {
                    if let Err(err) = self.reconcile(Timestamp::now()).await {
                        tracing::error!(error = &err as &dyn std::error::Error, "webhook certificate check failed");
                    }
                }
            }
        }
    }

    /// Installs the serving pair stored in the Secret (what another replica may have rotated).
    pub async fn reload(&self) -> Result<bool, RotationError> {
        let Some(secret) = self.get(SERVING_SECRET).await? else {
            return Ok(false);
        };
        match pair(&secret, "tls.crt", "tls.key") {
            Some(pair) => Ok(self.serving.install(&pair)?),
            None => Ok(false),
        }
    }

    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn error(&self, action: &'static str, name: &str) -> impl FnOnce(kube::Error) -> RotationError {
        let namespace = self.namespace.clone();
        let name = name.to_owned();
        move |source| RotationError::Secret {
            action,
            namespace,
            name,
            source,
        }
    }

    async fn get(&self, name: &str) -> Result<Option<Secret>, RotationError> {
        self.secrets()
            .get_opt(name)
            .await
            .map_err(self.error("read", name))
    }

    async fn delete(&self, name: &str) -> Result<(), RotationError> {
        match self.secrets().delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(source) => Err(self.error("delete", name)(source)),
        }
    }

    /// Creates the Secret; `Ok(false)` when another writer created it first.
    async fn create(
        &self,
        name: &str,
        data: BTreeMap<String, ByteString>,
    ) -> Result<bool, RotationError> {
        match self
            .secrets()
            .create(&PostParams::default(), &self.secret(name, data))
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(source) => Err(self.error("create", name)(source)),
        }
    }

    fn secret(&self, name: &str, data: BTreeMap<String, ByteString>) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(self.namespace.clone()),
                labels: Some(BTreeMap::from([(
                    LABEL_APP_MANAGED_BY.to_owned(),
                    MANAGED_BY.to_owned(),
                )])),
                owner_references: self.owner.clone().map(|owner| vec![owner]),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..Secret::default()
        }
    }

    async fn ensure_ca(&self, now: Timestamp) -> Result<CertPair, RotationError> {
        for _ in 0..ATTEMPTS {
            if let Some(secret) = self.get(CA_SECRET).await? {
                let check = match pair(&secret, CA_CERT_KEY, CA_KEY_KEY) {
                    Some(ca) => match check_ca(&ca, now) {
                        CertCheck::Valid => return Ok(ca),
                        other => other,
                    },
                    None => CertCheck::Corrupt("it lacks ca.crt or ca.key".to_owned()),
                };
                tracing::info!(secret = CA_SECRET, ?check, "replacing the webhook CA");
                // Go deletes and recreates the CA; the serving certificate follows below,
                // since the new CA did not sign it.
                self.delete(CA_SECRET).await?;
                continue;
            }
            let ca = issue_ca(now, &mut SystemCertEntropy::new())?;
            if self
                .create(CA_SECRET, data(CA_CERT_KEY, CA_KEY_KEY, &ca))
                .await?
            {
                tracing::info!(secret = CA_SECRET, "generated a new webhook CA certificate");
                return Ok(ca);
            }
        }
        Err(RotationError::Contended {
            namespace: self.namespace.clone(),
            name: CA_SECRET.to_owned(),
        })
    }

    async fn ensure_serving(
        &self,
        ca: &CertPair,
        now: Timestamp,
    ) -> Result<CertPair, RotationError> {
        for _ in 0..ATTEMPTS {
            let issue = || {
                issue_serving(
                    ca,
                    &self.service_name,
                    &self.namespace,
                    now,
                    &mut SystemCertEntropy::new(),
                )
            };
            let Some(mut secret) = self.get(SERVING_SECRET).await? else {
                let serving = issue()?;
                if self
                    .create(SERVING_SECRET, data("tls.crt", "tls.key", &serving))
                    .await?
                {
                    tracing::info!(
                        secret = SERVING_SECRET,
                        "generated a new webhook serving certificate"
                    );
                    return Ok(serving);
                }
                continue;
            };
            // Ok(why): renew in place; Err(why): unreadable, delete and create anew.
            let renewal = match pair(&secret, "tls.crt", "tls.key") {
                None => Err("it lacks tls.crt or tls.key".to_owned()),
                Some(serving) => match check_serving(&serving, &ca.cert_pem, now) {
                    CertCheck::Valid => return Ok(serving),
                    CertCheck::Renew(why) => Ok(why),
                    CertCheck::Corrupt(why) => Err(why),
                },
            };
            let why = match renewal {
                Ok(why) => why,
                Err(why) => {
                    tracing::info!(
                        secret = SERVING_SECRET,
                        why,
                        "replacing an unreadable webhook serving certificate"
                    );
                    self.delete(SERVING_SECRET).await?;
                    continue;
                }
            };
            let serving = issue()?;
            secret.data = Some(data("tls.crt", "tls.key", &serving));
            match self
                .secrets()
                .replace(SERVING_SECRET, &PostParams::default(), &secret)
                .await
            {
                Ok(_) => {
                    tracing::info!(
                        secret = SERVING_SECRET,
                        why,
                        "rotated the webhook serving certificate"
                    );
                    return Ok(serving);
                }
                // Changed or deleted meanwhile: look again.
                Err(kube::Error::Api(status)) if status.code == 409 || status.code == 404 => {}
                Err(source) => return Err(self.error("update", SERVING_SECRET)(source)),
            }
        }
        Err(RotationError::Contended {
            namespace: self.namespace.clone(),
            name: SERVING_SECRET.to_owned(),
        })
    }

    /// Go `PatchWebhookCABundle`: for each configuration that exists and has webhooks, apply
    /// the annotation and every entry's caBundle (entries keep their service reference).
    async fn inject_ca_bundle(&self, ca_pem: &str) -> Result<(), RotationError> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mutating = Api::<MutatingWebhookConfiguration>::all(self.client.clone());
        let existing = mutating
            .get_opt(MUTATING_CONFIGURATION)
            .await
            .map_err(configuration_error("read", MUTATING_CONFIGURATION))?;
        if let Some(configuration) = existing {
            let entries = configuration
                .webhooks
                .unwrap_or_default()
                .iter()
                .map(|w| {
                    entry(
                        &w.name,
                        &w.admission_review_versions,
                        &w.side_effects,
                        w.client_config.service.as_ref(),
                        ca_pem,
                    )
                })
                .collect::<Vec<_>>();
            if !entries.is_empty() {
                let patch = ca_bundle_patch(
                    "MutatingWebhookConfiguration",
                    MUTATING_CONFIGURATION,
                    entries,
                );
                mutating
                    .patch(MUTATING_CONFIGURATION, &params, &Patch::Apply(patch))
                    .await
                    .map_err(configuration_error(
                        "patch the caBundle of",
                        MUTATING_CONFIGURATION,
                    ))?;
            }
        }
        let validating = Api::<ValidatingWebhookConfiguration>::all(self.client.clone());
        let existing = validating
            .get_opt(VALIDATING_CONFIGURATION)
            .await
            .map_err(configuration_error("read", VALIDATING_CONFIGURATION))?;
        if let Some(configuration) = existing {
            let entries = configuration
                .webhooks
                .unwrap_or_default()
                .iter()
                .map(|w| {
                    entry(
                        &w.name,
                        &w.admission_review_versions,
                        &w.side_effects,
                        w.client_config.service.as_ref(),
                        ca_pem,
                    )
                })
                .collect::<Vec<_>>();
            if !entries.is_empty() {
                let patch = ca_bundle_patch(
                    "ValidatingWebhookConfiguration",
                    VALIDATING_CONFIGURATION,
                    entries,
                );
                validating
                    .patch(VALIDATING_CONFIGURATION, &params, &Patch::Apply(patch))
                    .await
                    .map_err(configuration_error(
                        "patch the caBundle of",
                        VALIDATING_CONFIGURATION,
                    ))?;
            }
        }
        Ok(())
    }
}

fn configuration_error(
    action: &'static str,
    name: &'static str,
) -> impl FnOnce(kube::Error) -> RotationError {
    move |source| RotationError::Configuration {
        action,
        name,
        source,
    }
}

fn entry(
    name: &str,
    versions: &[String],
    side_effects: &str,
    service: Option<&k8s_openapi::api::admissionregistration::v1::ServiceReference>,
    ca_pem: &str,
) -> Value {
    let mut client_config = json!({"caBundle": ByteString(ca_pem.as_bytes().to_vec())});
    if let Some(service) = service {
        client_config["service"] = json!(service);
    }
    json!({
        "name": name,
        "admissionReviewVersions": versions,
        "sideEffects": side_effects,
        "clientConfig": client_config,
    })
}

fn ca_bundle_patch(kind: &str, name: &str, entries: Vec<Value>) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name, "annotations": {STRATEGY_ANNOTATION: SELF_SIGNED}},
        "webhooks": entries,
    })
}

fn data(cert_key: &str, key_key: &str, pair: &CertPair) -> BTreeMap<String, ByteString> {
    BTreeMap::from([
        (
            cert_key.to_owned(),
            ByteString(pair.cert_pem.clone().into_bytes()),
        ),
        (
            key_key.to_owned(),
            ByteString(pair.key_pem.clone().into_bytes()),
        ),
    ])
}

/// The PEM pair stored under `cert_key` and `key_key`, when both are there and UTF-8.
fn pair(secret: &Secret, cert_key: &str, key_key: &str) -> Option<CertPair> {
    let data = secret.data.as_ref()?;
    let text = |key: &str| String::from_utf8(data.get(key)?.0.clone()).ok();
    Some(CertPair {
        cert_pem: text(cert_key)?,
        key_pem: text(key_key)?,
    })
}
