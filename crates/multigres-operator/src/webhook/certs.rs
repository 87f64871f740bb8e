//! The webhook PKI (spec-api.md §12.7, spec-controllers.md §11.2): issuing the CA and the
//! serving certificate, and deciding whether stored ones are still good.
//!
//! - CA: ECDSA P-256, serial 1, `CN=Multigres Operator CA, O=Multigres Operator`, valid from
//!   now−1h for 3650 days, certSign+digitalSignature, serverAuth+clientAuth, a CA.
//! - Serving certificate: ECDSA P-256, random 128-bit serial, `CN=<service>,
//!   O=Multigres Operator`, DNS names `<service>.<ns>.svc` and `<service>.<ns>.svc.cluster.local`
//!   (and an IP SAN when the service name is an IP), valid from now−1h for 365 days,
//!   keyEncipherment+digitalSignature, serverAuth, signed by the CA.
//! - Both renewed when less than 30 days remain; the serving certificate also when the current
//!   CA did not sign it. Keys are PEM `EC PRIVATE KEY` (SEC1), certificates `CERTIFICATE`.
//!
//! Pure: the clock and the randomness are arguments ([`CertEntropy`]); the Secrets are
//! [`super::cert_rotation`]'s.

use std::net::IpAddr;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::controllers::shard::build::ec_private_key::{
    CERTIFICATE_LABEL, KeyEncodingError, key_pair_from_pem, pem_decode, sec1_pem,
};
pub use crate::controllers::shard::build::pgbackrest_certs::CertEntropy;

/// `Organization` of both certificates.
pub const ORGANIZATION: &str = "Multigres Operator";
/// The CA's common name: `{Organization} CA`.
pub const CA_COMMON_NAME: &str = "Multigres Operator CA";
/// Certificates start one hour in the past, to tolerate clock skew between nodes.
pub const BACKDATE: SignedDuration = SignedDuration::from_hours(1);
/// Lifetime of the CA: 3650 days.
pub const CA_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 3650);
/// Lifetime of the serving certificate: 365 days.
pub const SERVING_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 365);
/// A certificate with less than this left is renewed.
pub const RENEW_BEFORE: SignedDuration = SignedDuration::from_hours(24 * 30);

/// A certificate and its private key, PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for CertPair {
    // Never print a private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertPair")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("failed to generate the key of the webhook {certificate} certificate")]
    GenerateKey {
        certificate: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("failed to draw the serial number of the webhook serving certificate")]
    GenerateSerial {
        #[source]
        source: rcgen::Error,
    },
    #[error("failed to sign the webhook {certificate} certificate")]
    Sign {
        certificate: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("failed to encode the key of the webhook {certificate} certificate")]
    EncodeKey {
        certificate: &'static str,
        #[source]
        source: KeyEncodingError,
    },
    #[error("failed to load the webhook CA")]
    LoadCa {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the clock reads {now}, outside the range X.509 validity dates can express")]
    ClockOutOfRange { now: Timestamp },
}

/// A fresh CA.
pub fn issue_ca(now: Timestamp, entropy: &mut dyn CertEntropy) -> Result<CertPair, IssueError> {
    const CERTIFICATE: &str = "CA";
    let key = entropy
        .p256_key_pair()
        .map_err(|source| IssueError::GenerateKey {
            certificate: CERTIFICATE,
            source,
        })?;
    let mut params = CertificateParams::default();
    params.serial_number = Some(SerialNumber::from_slice(&[1]));
    params.distinguished_name = subject(CA_COMMON_NAME);
    (params.not_before, params.not_after) = validity(now, CA_LIFETIME)?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let certificate = params
        .self_signed(&key)
        .map_err(|source| IssueError::Sign {
            certificate: CERTIFICATE,
            source,
        })?;
    Ok(CertPair {
        cert_pem: certificate.pem(),
        key_pem: sec1_pem(&key).map_err(|source| IssueError::EncodeKey {
            certificate: CERTIFICATE,
            source,
        })?,
    })
}

/// The DNS names of the serving certificate of Service `service` in `namespace`.
pub fn dns_names(service: &str, namespace: &str) -> [String; 2] {
    [
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// A serving certificate for Service `service` in `namespace`, signed by `ca`.
pub fn issue_serving(
    ca: &CertPair,
    service: &str,
    namespace: &str,
    now: Timestamp,
    entropy: &mut dyn CertEntropy,
) -> Result<CertPair, IssueError> {
    const CERTIFICATE: &str = "serving";
    let ca_key = key_pair_from_pem(&ca.key_pem).map_err(|source| IssueError::LoadCa {
        source: Box::new(source),
    })?;
    let issuer =
        Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key).map_err(|source| IssueError::LoadCa {
            source: Box::new(source),
        })?;
    let key = entropy
        .p256_key_pair()
        .map_err(|source| IssueError::GenerateKey {
            certificate: CERTIFICATE,
            source,
        })?;
    let mut params = CertificateParams::default();
    let serial = entropy
        .serial_number()
        .map_err(|source| IssueError::GenerateSerial { source })?;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.distinguished_name = subject(service);
    let mut names = Vec::new();
    for name in dns_names(service, namespace) {
        names.push(SanType::DnsName(name.try_into().map_err(|source| {
            IssueError::Sign {
                certificate: CERTIFICATE,
                source,
            }
        })?));
    }
    if let Ok(ip) = service.parse::<IpAddr>() {
        names.push(SanType::IpAddress(ip));
    }
    params.subject_alt_names = names;
    (params.not_before, params.not_after) = validity(now, SERVING_LIFETIME)?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let certificate = params
        .signed_by(&key, &issuer)
        .map_err(|source| IssueError::Sign {
            certificate: CERTIFICATE,
            source,
        })?;
    Ok(CertPair {
        cert_pem: certificate.pem(),
        key_pem: sec1_pem(&key).map_err(|source| IssueError::EncodeKey {
            certificate: CERTIFICATE,
            source,
        })?,
    })
}

/// What to do with a stored certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertCheck {
    /// Keep it.
    Valid,
    /// Issue a new one (why).
    Renew(String),
    /// It cannot be read: delete it and issue a new one (why).
    Corrupt(String),
}

/// Parsed facts of a certificate.
struct Parsed {
    not_after: i64,
    public_key: Vec<u8>,
    tbs: Vec<u8>,
    signature: Vec<u8>,
    is_ca: bool,
}

fn parse(cert_pem: &str) -> Result<Parsed, String> {
    let der = pem_decode(cert_pem, CERTIFICATE_LABEL).map_err(|err| err.to_string())?;
    let (_, certificate) = X509Certificate::from_der(&der)
        .map_err(|err| format!("the certificate does not parse: {err}"))?;
    Ok(Parsed {
        not_after: certificate.validity().not_after.timestamp(),
        public_key: certificate.public_key().subject_public_key.data.to_vec(),
        tbs: certificate.tbs_certificate.as_ref().to_vec(),
        signature: certificate.signature_value.data.to_vec(),
        is_ca: certificate.is_ca(),
    })
}

/// Reads the pair, checking that the key belongs to the certificate.
fn parse_pair(pair: &CertPair) -> Result<Parsed, String> {
    let parsed = parse(&pair.cert_pem)?;
    let key = key_pair_from_pem(&pair.key_pem).map_err(|err| err.to_string())?;
    if key.public_key_raw() != parsed.public_key.as_slice() {
        return Err("the private key does not belong to the certificate".to_owned());
    }
    Ok(parsed)
}

fn expiring(not_after: i64, now: Timestamp) -> Option<String> {
    let left = not_after.saturating_sub(now.as_second());
    (left < RENEW_BEFORE.as_secs()).then(|| {
        format!(
            "it expires in {} days, less than the {} days of margin",
            left.div_euclid(86_400),
            RENEW_BEFORE.as_secs() / 86_400
        )
    })
}

/// Whether the stored CA is still good at `now`.
pub fn check_ca(ca: &CertPair, now: Timestamp) -> CertCheck {
    match parse_pair(ca) {
        Err(why) => CertCheck::Corrupt(why),
        Ok(parsed) if !parsed.is_ca => CertCheck::Corrupt("it is not a CA".to_owned()),
        Ok(parsed) => expiring(parsed.not_after, now).map_or(CertCheck::Valid, CertCheck::Renew),
    }
}

/// Whether the stored serving certificate is still good at `now`, with `ca_cert_pem` the
/// current CA.
pub fn check_serving(serving: &CertPair, ca_cert_pem: &str, now: Timestamp) -> CertCheck {
    let parsed = match parse_pair(serving) {
        Ok(parsed) => parsed,
        Err(why) => return CertCheck::Corrupt(why),
    };
    if !signed_by(&parsed, ca_cert_pem) {
        return CertCheck::Renew("the current CA did not sign it".to_owned());
    }
    expiring(parsed.not_after, now).map_or(CertCheck::Valid, CertCheck::Renew)
}

fn signed_by(certificate: &Parsed, ca_cert_pem: &str) -> bool {
    let Ok(ca) = parse(ca_cert_pem) else {
        return false;
    };
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        &ca.public_key,
    )
    .verify(&certificate.tbs, &certificate.signature)
    .is_ok()
}

/// The end of a certificate's validity, for logs and tests.
pub fn not_after(cert_pem: &str) -> Result<Timestamp, String> {
    let parsed = parse(cert_pem)?;
    Timestamp::from_second(parsed.not_after).map_err(|err| err.to_string())
}

fn subject(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, ORGANIZATION);
    name.push(DnType::CommonName, common_name);
    name
}

/// `(now − 1h, now + lifetime)`, to the second.
fn validity(
    now: Timestamp,
    lifetime: SignedDuration,
) -> Result<(OffsetDateTime, OffsetDateTime), IssueError> {
    let at = |instant: Option<Timestamp>| {
        instant
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t.as_second()).ok())
            .ok_or(IssueError::ClockOutOfRange { now })
    };
    Ok((
        at(now.checked_sub(BACKDATE).ok())?,
        at(now.checked_add(lifetime).ok())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::shard::cert_entropy::SystemCertEntropy;
    use pretty_assertions::assert_eq;
    use x509_parser::extensions::{GeneralName, ParsedExtension};

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).expect("a valid instant")
    }

    fn days(n: i64) -> SignedDuration {
        SignedDuration::from_hours(24 * n)
    }

    #[test]
    fn the_serving_certificate_names_the_service_and_is_signed_by_the_ca() {
        let mut entropy = SystemCertEntropy::new();
        let ca = issue_ca(now(), &mut entropy).expect("CA");
        let serving = issue_serving(&ca, "hooks", "ops", now(), &mut entropy).expect("serving");
        assert!(
            serving
                .key_pem
                .starts_with("-----BEGIN EC PRIVATE KEY-----\n")
        );
        let der = pem_decode(&serving.cert_pem, CERTIFICATE_LABEL).expect("PEM");
        let (_, cert) = X509Certificate::from_der(&der).expect("DER");
        assert_eq!(cert.subject().to_string(), "O=Multigres Operator, CN=hooks");
        assert_eq!(
            cert.issuer().to_string(),
            "O=Multigres Operator, CN=Multigres Operator CA"
        );
        let names: Vec<String> = cert
            .extensions()
            .iter()
            .filter_map(|ext| match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => Some(
                    san.general_names
                        .iter()
                        .map(|name| match name {
                            GeneralName::DNSName(dns) => (*dns).to_owned(),
                            other => format!("{other:?}"),
                        })
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(names, vec!["hooks.ops.svc", "hooks.ops.svc.cluster.local"]);
        assert_eq!(
            cert.validity().not_before.timestamp(),
            now().as_second() - 3600
        );
        assert_eq!(
            cert.validity().not_after.timestamp(),
            now().as_second() + 365 * 86_400
        );
        assert_eq!(check_ca(&ca, now()), CertCheck::Valid);
        assert_eq!(
            check_serving(&serving, &ca.cert_pem, now()),
            CertCheck::Valid
        );
    }

    #[test]
    fn certificates_are_renewed_thirty_days_before_expiry() {
        let mut entropy = SystemCertEntropy::new();
        let ca = issue_ca(now(), &mut entropy).expect("CA");
        let serving = issue_serving(&ca, "hooks", "ops", now(), &mut entropy).expect("serving");
        let later = |d| now().checked_add(days(d)).expect("in range");
        assert_eq!(
            check_serving(&serving, &ca.cert_pem, later(334)),
            CertCheck::Valid
        );
        assert!(matches!(
            check_serving(&serving, &ca.cert_pem, later(336)),
            CertCheck::Renew(_)
        ));
        assert_eq!(check_ca(&ca, later(3619)), CertCheck::Valid);
        assert!(matches!(check_ca(&ca, later(3621)), CertCheck::Renew(_)));
    }

    #[test]
    fn a_serving_certificate_of_another_ca_is_renewed() {
        let mut entropy = SystemCertEntropy::new();
        let old_ca = issue_ca(now(), &mut entropy).expect("CA");
        let new_ca = issue_ca(now(), &mut entropy).expect("CA");
        let serving = issue_serving(&old_ca, "hooks", "ops", now(), &mut entropy).expect("ok");
        assert_eq!(
            check_serving(&serving, &new_ca.cert_pem, now()),
            CertCheck::Renew("the current CA did not sign it".to_owned())
        );
    }

    #[test]
    fn unreadable_or_mismatched_material_is_corrupt() {
        let mut entropy = SystemCertEntropy::new();
        let ca = issue_ca(now(), &mut entropy).expect("CA");
        let other = issue_ca(now(), &mut entropy).expect("CA");
        let garbage = CertPair {
            cert_pem: "not a certificate".into(),
            key_pem: ca.key_pem.clone(),
        };
        assert!(matches!(check_ca(&garbage, now()), CertCheck::Corrupt(_)));
        let mismatched = CertPair {
            cert_pem: ca.cert_pem.clone(),
            key_pem: other.key_pem.clone(),
        };
        assert_eq!(
            check_ca(&mismatched, now()),
            CertCheck::Corrupt("the private key does not belong to the certificate".into())
        );
        let serving = issue_serving(&ca, "hooks", "ops", now(), &mut entropy).expect("ok");
        assert!(matches!(check_ca(&serving, now()), CertCheck::Corrupt(_)));
    }
}
