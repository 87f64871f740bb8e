//! A cert-manager stand-in for the install tests (issue 16, the cert-manager variant): the
//! cert-manager.io/v1 Issuer and Certificate kinds ([`CRDS`], a schema written for these tests)
//! and a controller task in the test process that does for them what cert-manager's
//! controller and its cainjector do.
//!
//! It reads the objects the manifest applies and nothing else (no name of ours is known here):
//! - a Certificate whose `issuerRef` names a namespaced Issuer with `selfSigned` gets the
//!   Secret `spec.secretName` (type `kubernetes.io/tls`): a certificate signed by its own key
//!   with the SANs `spec.dnsNames` and the common name `spec.commonName` (no subject
//!   otherwise), valid `spec.duration` (90 days by default) from now, `tls.crt`, `tls.key` as
//!   `spec.privateKey` asks (ECDSA P-256 or P-384, or Ed25519; PKCS1 encoding, the default,
//!   writes an ECDSA key as SEC1 `EC PRIVATE KEY`, as cert-manager does) and `ca.crt`, the
//!   certificate itself (the SelfSigned issuer's CA is the certificate); the Secret carries
//!   cert-manager's `cert-manager.io/*` annotations, and the Certificate gets `Ready=True`,
//!   `notBefore`, `notAfter` and the next `revision`;
//! - a new key and certificate whenever the Secret is missing, not this Certificate's, no
//!   longer what the spec asks (names, key type), or when a renewal is asked as `cmctl renew`
//!   asks for one (the status condition `Issuing=True`; [`request_renewal`]);
//! - a Certificate it cannot serve gets `Ready=False` with the reason: an issuer of another
//!   kind or group, an Issuer that is missing or not self-signed, an RSA key (the default when
//!   `privateKey` says nothing: ring, the crypto of this workspace, cannot generate RSA keys),
//!   a curve ring lacks, `rotationPolicy: Never`, a duration it cannot read;
//! - cainjector: every Mutating- and ValidatingWebhookConfiguration annotated
//!   `cert-manager.io/inject-ca-from: <ns>/<certificate>` gets that Certificate's `ca.crt` as
//!   the caBundle of each of its webhooks (an update on the read resourceVersion, as the
//!   cainjector's controller-runtime client does), once the Secret is that Certificate's.
//!
//! Not simulated: ClusterIssuers, CA/ACME/Vault signing, CertificateRequest objects, renewal
//! at `renewBefore` (tests ask for it), an ownerReference on the Secret (cert-manager's
//! default leaves it out too, so the Secret outlives its Certificate).
//!
//! It writes as the admin user of the kubesim it is given, so a test can tell its requests
//! from the operator's in kubesim's request log.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use kube::{Client, CustomResource, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The CRDs, to apply before the manifest (as a user installs cert-manager first).
pub const CRDS: &str = "crates/multigres-operator/tests/install_support/cert-manager-crds.yaml";
/// The annotation the cainjector reads.
pub const INJECT_CA_FROM: &str = "cert-manager.io/inject-ca-from";
/// The annotation naming the Certificate a Secret was issued for.
pub const CERTIFICATE_NAME: &str = "cert-manager.io/certificate-name";
const GROUP: &str = "cert-manager.io";
/// cert-manager's field manager for the Secrets it issues.
const ISSUING_MANAGER: &str = "cert-manager-certificates-issuing";
/// cert-manager's default lifetime (90 days).
const DEFAULT_DURATION: SignedDuration = SignedDuration::from_hours(2160);
/// A full pass runs at least this often, besides on every watched change (a failed write is
/// retried then).
const RESYNC: Duration = Duration::from_secs(1);

/// `cert-manager.io/v1` Issuer (the fields the stand-in reads).
#[derive(CustomResource, Clone, Debug, Deserialize, Serialize)]
#[kube(
    group = "cert-manager.io",
    version = "v1",
    kind = "Issuer",
    namespaced,
    status = "ConditionsStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct IssuerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_signed: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<Value>,
}

/// `cert-manager.io/v1` Certificate (the fields of the CRD in [`CRDS`]).
#[derive(CustomResource, Clone, Debug, Deserialize, Serialize)]
#[kube(
    group = "cert-manager.io",
    version = "v1",
    kind = "Certificate",
    namespaced,
    status = "CertificateStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    pub secret_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    #[serde(default)]
    pub dns_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    pub issuer_ref: IssuerRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<PrivateKey>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IssuerRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_policy: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConditionsStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The stand-in's controller task; stops when dropped.
pub struct CertManager {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CertManager {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CertManager {
    /// Starts the controller with `client` (its CRDs should be installed: until they are, its
    /// watches retry).
    pub fn start(client: Client) -> CertManager {
        CertManager {
            task: tokio::spawn(run(client)),
        }
    }
}

/// Asks for a new certificate as `cmctl renew` does: the condition `Issuing=True` with reason
/// `ManuallyTriggered` on the Certificate's status.
pub async fn request_renewal(client: &Client, namespace: &str, name: &str) {
    let api: Api<Certificate> = Api::namespaced(client.clone(), namespace);
    let certificate = api.get_status(name).await.expect("the Certificate");
    let mut conditions = certificate.status.unwrap_or_default().conditions;
    conditions.retain(|c| c.type_ != "Issuing");
    conditions.push(Condition {
        type_: "Issuing".to_owned(),
        status: "True".to_owned(),
        reason: Some("ManuallyTriggered".to_owned()),
        message: Some("Certificate re-issuance manually triggered".to_owned()),
        last_transition_time: Some(timestamp(Timestamp::now())),
        observed_generation: certificate.metadata.generation,
    });
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"conditions": conditions}})),
    )
    .await
    .expect("the renewal is asked for");
}

/// The `Ready` condition of a Certificate or Issuer status.
pub fn ready(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == "Ready")
}

async fn run(client: Client) {
    fn changes<K>(api: Api<K>) -> futures::stream::BoxStream<'static, ()>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    {
        watcher(api, watcher::Config::default())
            .default_backoff()
            .map(|_| ())
            .boxed()
    }
    let [mutating, validating] = webhook_configurations();
    let mut events = futures::stream::select_all([
        changes(Api::<Certificate>::all(client.clone())),
        changes(Api::<Issuer>::all(client.clone())),
        changes(Api::<Secret>::all(client.clone())),
        changes(Api::<DynamicObject>::all_with(client.clone(), &mutating)),
        changes(Api::<DynamicObject>::all_with(client.clone(), &validating)),
    ]);
    let mut resync = tokio::time::interval(RESYNC);
    loop {
        tokio::select! {
            _ = events.next() => {}
            _ = resync.tick() => {}
        }
        if let Err(error) = pass(&client).await {
            tracing::info!(%error, "cert-manager stand-in: pass failed, retried");
        }
    }
}

fn webhook_configurations() -> [ApiResource; 2] {
    [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ]
    .map(|kind| {
        ApiResource::from_gvk(&GroupVersionKind::gvk(
            "admissionregistration.k8s.io",
            "v1",
            kind,
        ))
    })
}

/// One level-triggered pass over every Issuer, Certificate and annotated webhook
/// configuration.
async fn pass(client: &Client) -> Result<(), kube::Error> {
    let now = Timestamp::now();
    let issuers = Api::<Issuer>::all(client.clone())
        .list(&Default::default())
        .await?
        .items;
    for issuer in &issuers {
        write_issuer_status(client, issuer, now).await?;
    }
    let certificates = Api::<Certificate>::all(client.clone())
        .list(&Default::default())
        .await?
        .items;
    for certificate in &certificates {
        reconcile_certificate(client, certificate, &issuers, now).await?;
    }
    for resource in webhook_configurations() {
        let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
        for mut configuration in api.list(&Default::default()).await?.items {
            // List items carry no apiVersion and kind; the update sends them.
            configuration.types = Some(kube::core::TypeMeta {
                api_version: resource.api_version.clone(),
                kind: resource.kind.clone(),
            });
            inject_ca(client, &api, configuration).await?;
        }
    }
    Ok(())
}

// --- Issuers ------------------------------------------------------------------------------

async fn write_issuer_status(
    client: &Client,
    issuer: &Issuer,
    now: Timestamp,
) -> Result<(), kube::Error> {
    let (status, reason, message) = if issuer.spec.self_signed.is_some() {
        ("True", "IsReady", "")
    } else {
        (
            "False",
            "UnsupportedIssuer",
            "the cert-manager stand-in signs only with selfSigned Issuers",
        )
    };
    let current = issuer.status.clone().unwrap_or_default().conditions;
    let conditions = set_condition(
        &current,
        "Ready",
        status,
        reason,
        message,
        issuer.metadata.generation,
        now,
    );
    if conditions == current {
        return Ok(());
    }
    Api::<Issuer>::namespaced(client.clone(), &issuer.namespace().unwrap_or_default())
        .patch_status(
            &issuer.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": conditions}})),
        )
        .await
        .map(drop)
}

/// `current` with condition `type_` set; its lastTransitionTime moves only when its status
/// flips.
fn set_condition(
    current: &[Condition],
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let previous = current.iter().find(|c| c.type_ == type_);
    let since = match previous {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => Some(timestamp(now)),
    };
    let mut out: Vec<Condition> = current
        .iter()
        .filter(|c| c.type_ != type_)
        .cloned()
        .collect();
    out.push(Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: (!message.is_empty()).then(|| message.to_owned()),
        last_transition_time: since,
        observed_generation: generation,
    });
    out.sort_by(|a, b| a.type_.cmp(&b.type_));
    out
}

/// RFC 3339 in whole seconds, as `metav1.Time` serializes.
fn timestamp(at: Timestamp) -> String {
    Timestamp::from_second(at.as_second())
        .unwrap_or(at)
        .to_string()
}

// --- Certificates -------------------------------------------------------------------------

/// The key types the stand-in can generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyType {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

impl KeyType {
    fn algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }

    /// DER of the curve OID (ECDSA only).
    fn curve_oid(self) -> Option<&'static [u8]> {
        match self {
            // 1.2.840.10045.3.1.7 (prime256v1)
            KeyType::EcdsaP256 => {
                Some(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07])
            }
            // 1.3.132.0.34 (secp384r1)
            KeyType::EcdsaP384 => Some(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
            KeyType::Ed25519 => None,
        }
    }

    /// The key type of a certificate's public key.
    fn of_certificate(der: &[u8]) -> Option<KeyType> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let (_, certificate) = X509Certificate::from_der(der).ok()?;
        let spki = certificate.public_key();
        let algorithm = spki.algorithm.algorithm.to_id_string();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|oid| oid.to_id_string());
        match (algorithm.as_str(), curve.as_deref()) {
            ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => Some(KeyType::EcdsaP256),
            ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => Some(KeyType::EcdsaP384),
            ("1.3.101.112", _) => Some(KeyType::Ed25519),
            _ => None,
        }
    }
}

/// What a Certificate asks that the stand-in can do.
#[derive(Debug)]
struct Request {
    key: KeyType,
    /// Encode the key as PKCS#8 (else SEC1 for ECDSA, PKCS#8 for Ed25519 which has no PKCS1
    /// form).
    pkcs8: bool,
    lifetime: SignedDuration,
}

/// Why a Certificate is not served: (reason, message) of its `Ready=False`.
type Refusal = (&'static str, String);

/// What the Certificate asks, or why the stand-in cannot serve it.
fn request(certificate: &Certificate, issuers: &[Issuer]) -> Result<Request, Refusal> {
    let spec = &certificate.spec;
    let namespace = certificate.namespace().unwrap_or_default();
    let reference = &spec.issuer_ref;
    let kind = reference.kind.as_deref().unwrap_or("Issuer");
    let group = reference.group.as_deref().unwrap_or(GROUP);
    if kind != "Issuer" || (group != GROUP && !group.is_empty()) {
        return Err((
            "UnsupportedIssuer",
            format!(
                "issuerRef {group}/{kind} {:?}: the cert-manager stand-in signs only with \
                 namespaced Issuers of {GROUP}",
                reference.name
            ),
        ));
    }
    let issuer = issuers
        .iter()
        .find(|i| i.namespace().as_deref() == Some(&namespace) && i.name_any() == reference.name)
        .ok_or_else(|| {
            (
                "IssuerNotFound",
                format!("Issuer {namespace}/{} does not exist", reference.name),
            )
        })?;
    if issuer.spec.self_signed.is_none() {
        return Err((
            "UnsupportedIssuer",
            format!(
                "Issuer {namespace}/{} is not selfSigned: the cert-manager stand-in signs \
                 only with selfSigned Issuers",
                reference.name
            ),
        ));
    }
    let private_key = spec.private_key.clone().unwrap_or_default();
    let key = match (private_key.algorithm.as_deref(), private_key.size) {
        (None | Some("RSA"), _) => {
            return Err((
                "UnsupportedKeyAlgorithm",
                "privateKey.algorithm RSA (the default): the stand-in's crypto (ring) cannot \
                 generate RSA keys; ask for ECDSA or Ed25519"
                    .to_owned(),
            ));
        }
        (Some("ECDSA"), None | Some(256)) => KeyType::EcdsaP256,
        (Some("ECDSA"), Some(384)) => KeyType::EcdsaP384,
        (Some("Ed25519"), _) => KeyType::Ed25519,
        (Some(algorithm), size) => {
            return Err((
                "UnsupportedKeyAlgorithm",
                format!(
                    "privateKey {algorithm} of size {size:?}: the stand-in generates ECDSA 256 \
                     and 384 and Ed25519 keys"
                ),
            ));
        }
    };
    if private_key.rotation_policy.as_deref() == Some("Never") {
        return Err((
            "UnsupportedRotationPolicy",
            "privateKey.rotationPolicy Never: the stand-in draws a new key at every issuance"
                .to_owned(),
        ));
    }
    let lifetime = match spec.duration.as_deref() {
        None => DEFAULT_DURATION,
        Some(text) => go_duration(text).ok_or_else(|| {
            (
                "InvalidDuration",
                format!("duration {text:?} is not a Go duration of hours, minutes and seconds"),
            )
        })?,
    };
    Ok(Request {
        key,
        pkcs8: private_key.encoding.as_deref() == Some("PKCS8"),
        lifetime,
    })
}

/// A Go duration made of `h`, `m` and `s` parts (`2160h`, `1h30m0s`).
fn go_duration(text: &str) -> Option<SignedDuration> {
    let mut seconds: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let value: i64 = digits.parse().ok()?;
        seconds = seconds.checked_add(value.checked_mul(unit)?)?;
        digits.clear();
    }
    (digits.is_empty() && seconds > 0).then(|| SignedDuration::from_secs(seconds))
}

/// Why the Secret must be (re-)issued, or `None` when it serves the Certificate as it is.
fn issuance_reason(
    certificate: &Certificate,
    request: &Request,
    secret: Option<&Secret>,
) -> Option<&'static str> {
    let conditions = certificate
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    if conditions
        .iter()
        .any(|c| c.type_ == "Issuing" && c.status == "True")
    {
        return Some("ManuallyTriggered");
    }
    let Some(secret) = secret else {
        return Some("DoesNotExist");
    };
    let issued_for = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CERTIFICATE_NAME));
    if issued_for != Some(&certificate.name_any()) {
        return Some("IncorrectCertificate");
    }
    let data = secret.data.clone().unwrap_or_default();
    let Some(der) = data
        .get("tls.crt")
        .and_then(|pem| first_certificate_der(&pem.0))
    else {
        return Some("InvalidCertificate");
    };
    if !data.contains_key("tls.key") || !data.contains_key("ca.crt") {
        return Some("MissingData");
    }
    if KeyType::of_certificate(&der) != Some(request.key) {
        return Some("PrivateKeyAlgorithmMismatch");
    }
    if certificate_names(&der) != Some(wanted_names(certificate)) {
        return Some("SecretMismatch");
    }
    None
}

/// (common name, sorted DNS SANs) of a certificate.
fn certificate_names(der: &[u8]) -> Option<(Option<String>, Vec<String>)> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, certificate) = X509Certificate::from_der(der).ok()?;
    let common_name = certificate
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let mut dns: Vec<String> = certificate
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    dns.sort();
    Some((common_name, dns))
}

fn wanted_names(certificate: &Certificate) -> (Option<String>, Vec<String>) {
    let mut dns = certificate.spec.dns_names.clone();
    dns.sort();
    let common_name = certificate
        .spec
        .common_name
        .clone()
        .filter(|cn| !cn.is_empty());
    (common_name, dns)
}

/// The DER of the first `CERTIFICATE` block of a PEM text.
pub fn first_certificate_der(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = text.find(begin)? + begin.len();
    let length = text[start..].find("-----END CERTIFICATE-----")?;
    let body: String = text[start..start + length]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD.decode(body).ok()
}

/// A self-signed certificate for `certificate`: (tls.crt PEM, tls.key PEM, notBefore,
/// notAfter).
fn self_signed(
    certificate: &Certificate,
    request: &Request,
    now: Timestamp,
) -> Result<(String, String, Timestamp, Timestamp), String> {
    let key = rcgen::KeyPair::generate_for(request.key.algorithm()).map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::new(certificate.spec.dns_names.clone())
        .map_err(|e| e.to_string())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    if let (Some(common_name), _) = wanted_names(certificate) {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
    }
    let not_after = now
        .checked_add(request.lifetime)
        .map_err(|e| e.to_string())?;
    let at = |t: Timestamp| {
        time::OffsetDateTime::from_unix_timestamp(t.as_second()).map_err(|e| e.to_string())
    };
    params.not_before = at(now)?;
    params.not_after = at(not_after)?;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| "no randomness for the serial number".to_owned())?;
    serial[0] &= 0x7f; // a positive INTEGER
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    let key_pem = match request.key.curve_oid() {
        Some(curve) if !request.pkcs8 => sec1_pem(key.serialized_der(), curve)?,
        _ => key.serialize_pem(),
    };
    Ok((cert.pem(), key_pem, now, not_after))
}

/// A PKCS#8 ECDSA key (as ring writes it: the SEC1 `ECPrivateKey` without the curve inside its
/// OCTET STRING) as a SEC1 `EC PRIVATE KEY` PEM block with the named curve, as Go's
/// `x509.MarshalECPrivateKey` (cert-manager's PKCS1 encoding of ECDSA keys) writes it.
fn sec1_pem(pkcs8: &[u8], curve: &[u8]) -> Result<String, String> {
    let malformed = |what: &str| format!("malformed PKCS#8 key: {what}");
    let (info, _) = der_read(pkcs8, 0x30).ok_or_else(|| malformed("PrivateKeyInfo"))?;
    let (_, rest) = der_read(info, 0x02).ok_or_else(|| malformed("version"))?;
    let (_, rest) = der_read(rest, 0x30).ok_or_else(|| malformed("algorithm"))?;
    let (inner, _) = der_read(rest, 0x04).ok_or_else(|| malformed("privateKey"))?;
    let (ec, _) = der_read(inner, 0x30).ok_or_else(|| malformed("ECPrivateKey"))?;
    let (version, rest) = der_read(ec, 0x02).ok_or_else(|| malformed("ECPrivateKey version"))?;
    let (scalar, rest) = der_read(rest, 0x04).ok_or_else(|| malformed("private scalar"))?;
    // What follows: optional [0] parameters (ring leaves them out), then [1] publicKey.
    let rest = match der_read(rest, 0xa0) {
        Some((_, after)) => after,
        None => rest,
    };
    let (public, _) = der_read(rest, 0xa1).ok_or_else(|| malformed("publicKey"))?;
    let sec1 = der_tlv(
        0x30,
        &[
            der_tlv(0x02, version),
            der_tlv(0x04, scalar),
            der_tlv(0xa0, curve),
            der_tlv(0xa1, public),
        ]
        .concat(),
    );
    let mut pem = "-----BEGIN EC PRIVATE KEY-----\n".to_owned();
    for line in STANDARD.encode(sec1).as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END EC PRIVATE KEY-----\n");
    Ok(pem)
}

/// The value of the DER element at the start of `input` if it has `tag`, and what follows it.
fn der_read(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&length, mut rest) = rest.split_first()?;
    let length = if length < 0x80 {
        usize::from(length)
    } else {
        let bytes = usize::from(length & 0x7f);
        if bytes == 0 || bytes > 4 || rest.len() < bytes {
            return None;
        }
        let (len_bytes, after) = rest.split_at(bytes);
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = value.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

async fn reconcile_certificate(
    client: &Client,
    certificate: &Certificate,
    issuers: &[Issuer],
    now: Timestamp,
) -> Result<(), kube::Error> {
    let namespace = certificate.namespace().unwrap_or_default();
    let name = certificate.name_any();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let certificates: Api<Certificate> = Api::namespaced(client.clone(), &namespace);
    let status = certificate.status.clone().unwrap_or_default();
    let generation = certificate.metadata.generation;
    let mut next = status.clone();
    match request(certificate, issuers) {
        Err((reason, message)) => {
            next.conditions = set_condition(
                &status.conditions,
                "Ready",
                "False",
                reason,
                &message,
                generation,
                now,
            );
        }
        Ok(request) => {
            let secret = secrets.get_opt(&certificate.spec.secret_name).await?;
            if let Some(reason) = issuance_reason(certificate, &request, secret.as_ref()) {
                match self_signed(certificate, &request, now) {
                    Ok((cert_pem, key_pem, not_before, not_after)) => {
                        write_secret(&secrets, certificate, &cert_pem, &key_pem).await?;
                        tracing::info!(%namespace, %name, reason, "cert-manager stand-in: issued");
                        next.not_before = Some(timestamp(not_before));
                        next.not_after = Some(timestamp(not_after));
                        next.revision = Some(status.revision.unwrap_or(0) + 1);
                        next.conditions = set_condition(
                            &status.conditions,
                            "Ready",
                            "True",
                            "Ready",
                            "Certificate is up to date and has not expired",
                            generation,
                            now,
                        );
                        next.conditions.retain(|c| c.type_ != "Issuing");
                    }
                    Err(why) => {
                        next.conditions = set_condition(
                            &status.conditions,
                            "Ready",
                            "False",
                            "IssuanceFailed",
                            &why,
                            generation,
                            now,
                        );
                    }
                }
            } else {
                next.conditions = set_condition(
                    &status.conditions,
                    "Ready",
                    "True",
                    "Ready",
                    "Certificate is up to date and has not expired",
                    generation,
                    now,
                );
            }
        }
    }
    if next == status {
        return Ok(());
    }
    // A merge patch replaces the conditions as a whole, so the Issuing condition a renewal
    // request added goes too.
    certificates
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": next})),
        )
        .await
        .map(drop)
}

async fn write_secret(
    secrets: &Api<Secret>,
    certificate: &Certificate,
    cert_pem: &str,
    key_pem: &str,
) -> Result<(), kube::Error> {
    let spec = &certificate.spec;
    let (common_name, dns_names) = wanted_names(certificate);
    let annotations = BTreeMap::from([
        ("cert-manager.io/alt-names", dns_names.join(",")),
        (CERTIFICATE_NAME, certificate.name_any()),
        (
            "cert-manager.io/common-name",
            common_name.unwrap_or_default(),
        ),
        ("cert-manager.io/ip-sans", String::new()),
        (
            "cert-manager.io/issuer-group",
            spec.issuer_ref.group.clone().unwrap_or_default(),
        ),
        (
            "cert-manager.io/issuer-kind",
            spec.issuer_ref
                .kind
                .clone()
                .unwrap_or_else(|| "Issuer".to_owned()),
        ),
        ("cert-manager.io/issuer-name", spec.issuer_ref.name.clone()),
        ("cert-manager.io/uri-sans", String::new()),
    ]);
    let data = |text: &str| ByteString(text.as_bytes().to_vec());
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": spec.secret_name,
            "annotations": annotations,
            "labels": {"controller.cert-manager.io/fao": "true"},
        },
        "type": "kubernetes.io/tls",
        "data": {
            // The SelfSigned issuer's CA is the certificate itself.
            "ca.crt": data(cert_pem),
            "tls.crt": data(cert_pem),
            "tls.key": data(key_pem),
        },
    });
    secrets
        .patch(
            &spec.secret_name,
            &PatchParams::apply(ISSUING_MANAGER).force(),
            &Patch::Apply(secret),
        )
        .await
        .map(drop)
}

// --- cainjector ---------------------------------------------------------------------------

/// Sets the caBundle of every webhook of `configuration` to the `ca.crt` of the Certificate its
/// annotation names, once that Certificate's Secret holds one.
async fn inject_ca(
    client: &Client,
    api: &Api<DynamicObject>,
    mut configuration: DynamicObject,
) -> Result<(), kube::Error> {
    let Some(source) = configuration.annotations().get(INJECT_CA_FROM).cloned() else {
        return Ok(());
    };
    let Some((namespace, name)) = source.split_once('/') else {
        return Ok(());
    };
    let Some(certificate) = Api::<Certificate>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await?
    else {
        return Ok(());
    };
    let Some(secret) = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(&certificate.spec.secret_name)
        .await?
    else {
        return Ok(());
    };
    let issued_for = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CERTIFICATE_NAME));
    if issued_for.map(String::as_str) != Some(name) {
        return Ok(());
    }
    let Some(ca) = secret.data.as_ref().and_then(|d| d.get("ca.crt")) else {
        return Ok(());
    };
    let bundle = Value::String(STANDARD.encode(&ca.0));
    let mut changed = false;
    if let Some(webhooks) = configuration
        .data
        .get_mut("webhooks")
        .and_then(Value::as_array_mut)
    {
        for webhook in webhooks {
            if webhook.pointer("/clientConfig/caBundle") != Some(&bundle) {
                webhook["clientConfig"]["caBundle"] = bundle.clone();
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(());
    }
    let configuration_name = configuration.name_any();
    match api
        .replace(&configuration_name, &PostParams::default(), &configuration)
        .await
    {
        Ok(_) => Ok(()),
        // Changed since it was read: the next pass reads it again.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(other) => Err(other),
    }
}
