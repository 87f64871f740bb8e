//! The pgBackRest TLS material of a Shard and its two Secrets (spec-controllers.md §7.3.3, §9.3,
//! §11.2): a per-Shard CA `{shardCR}-pgbackrest-ca` (`ca.crt`, `ca.key`) and the server
//! certificate `{shardCR}-pgbackrest-tls` (`tls.crt`, `tls.key`) that every pool pod presents to
//! its peers.
//!
//! The certificates are those of the Go operator's `pkg/cert` (golden/objects/README.md "Random
//! material"): ECDSA P-256 keys in SEC1 PEM, ECDSA-SHA256 signatures; the CA is self-signed,
//! serial 1, `CN=Multigres CA, O=Multigres`, digitalSignature+certSign, serverAuth+clientAuth,
//! valid from now−1h to now+3650 days; the server certificate is signed by it, random serial below
//! 2^128, `CN=pgbackrest, O=Multigres`, DNS names `pgbackrest.{ns}.svc` and
//! `pgbackrest.{ns}.svc.cluster.local`, digitalSignature+keyEncipherment, serverAuth+clientAuth,
//! valid from now−1h to now+365 days.
//!
//! Place: the reconcile issues (or reloads) the material before building, with its clock and a
//! [`CertEntropy`]; [`build_pgbackrest_secrets`] only wraps it, so building stays pure. The
//! Secrets are created when missing, never applied. Must not: read the clock or the OS random
//! source itself (both are arguments), or build anything when the user names a Secret of their
//! own (`backup.pgbackrestTLS.secretName`: the operator never writes it).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use multigres_api::labels::pgbackrest_tls_labels;
use multigres_api::naming::{pgbackrest_ca_secret_name, pgbackrest_tls_secret_name};
use multigres_api::v1alpha1::ShardSpec;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use super::ec_private_key::{KeyEncodingError, key_pair_from_pem, sec1_pem};
use super::pool_pod::{CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY};
use super::{BuildError, ShardContext};

/// The CA Secret's key holding the CA's private key.
pub const CA_KEY_KEY: &str = "ca.key";
/// Organization of both certificates (Go `Options.Organization` of `reconcilePgBackRestCerts`).
pub const ORGANIZATION: &str = "Multigres";
/// The CA's common name: `{Organization} CA`.
pub const CA_COMMON_NAME: &str = "Multigres CA";
/// The server certificate's common name (Go `ServiceName`), also the first label of its DNS names.
pub const SERVICE_NAME: &str = "pgbackrest";
/// Both certificates start one hour in the past, to tolerate clock skew between nodes.
pub const BACKDATE: Duration = Duration::hours(1);
/// Lifetime of the CA: 3650 days.
pub const CA_LIFETIME: Duration = Duration::days(3650);
/// Lifetime of the server certificate: 365 days.
pub const SERVER_LIFETIME: Duration = Duration::days(365);

/// The randomness of certificate issuing, injected so tests can fix it.
///
/// ECDSA signatures still draw their nonce from ring's own generator, so two certificates made
/// from the same keys and serials have equal contents but different signature bytes.
pub trait CertEntropy {
    /// A fresh ECDSA P-256 key pair.
    fn p256_key_pair(&mut self) -> Result<KeyPair, rcgen::Error>;
    /// 16 random bytes, read as a big-endian serial number below 2^128.
    fn serial_number(&mut self) -> Result<[u8; 16], rcgen::Error>;
}

/// A CA certificate and its key, as PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaMaterial {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A server certificate and its key, as PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerMaterial {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Everything the two generated pgBackRest Secrets hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgBackRestMaterial {
    pub ca: CaMaterial,
    pub server: ServerMaterial,
}

/// Why certificates could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("failed to generate the key of the pgBackRest {certificate} certificate")]
    GenerateKey {
        certificate: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("failed to draw the serial number of the pgBackRest server certificate")]
    GenerateSerial {
        #[source]
        source: rcgen::Error,
    },
    #[error("failed to sign the pgBackRest {certificate} certificate")]
    Sign {
        certificate: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("failed to encode the key of the pgBackRest {certificate} certificate")]
    EncodeKey {
        certificate: &'static str,
        #[source]
        source: KeyEncodingError,
    },
    #[error("failed to load the pgBackRest CA key")]
    LoadCaKey {
        #[source]
        source: KeyEncodingError,
    },
    #[error("failed to load the pgBackRest CA certificate")]
    LoadCaCertificate {
        #[source]
        source: rcgen::Error,
    },
    #[error("the clock reads {now}, outside the range X.509 validity dates can express")]
    ClockOutOfRange { now: Timestamp },
}

/// Whether the Shard uses certificates the operator generates: backups are configured and the
/// user names no Secret of their own (§7.3.3).
pub fn uses_generated_certificates(spec: &ShardSpec) -> bool {
    spec.backup.as_ref().is_some_and(|backup| {
        backup
            .pgbackrest_tls
            .as_ref()
            .is_none_or(|tls| tls.secret_name.is_empty())
    })
}

/// A fresh CA and a server certificate signed by it, for a Shard in `namespace`.
pub fn generate_pgbackrest_material(
    namespace: &str,
    now: Timestamp,
    entropy: &mut dyn CertEntropy,
) -> Result<PgBackRestMaterial, CertError> {
    let ca = issue_ca(now, entropy)?;
    let server = issue_server_certificate(&ca, namespace, now, entropy)?;
    Ok(PgBackRestMaterial { ca, server })
}

/// Go `generateCA`: a self-signed CA with serial 1.
pub fn issue_ca(now: Timestamp, entropy: &mut dyn CertEntropy) -> Result<CaMaterial, CertError> {
    const CERTIFICATE: &str = "CA";
    let key = entropy
        .p256_key_pair()
        .map_err(|source| CertError::GenerateKey {
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
    let certificate = params.self_signed(&key).map_err(|source| CertError::Sign {
        certificate: CERTIFICATE,
        source,
    })?;
    Ok(CaMaterial {
        cert_pem: certificate.pem(),
        key_pem: sec1_pem(&key).map_err(|source| CertError::EncodeKey {
            certificate: CERTIFICATE,
            source,
        })?,
    })
}

/// Go `generateServerCert`: a server certificate for `pgbackrest.{namespace}.svc[.cluster.local]`
/// signed by `ca`, which may be freshly issued or reloaded from an existing Secret.
pub fn issue_server_certificate(
    ca: &CaMaterial,
    namespace: &str,
    now: Timestamp,
    entropy: &mut dyn CertEntropy,
) -> Result<ServerMaterial, CertError> {
    const CERTIFICATE: &str = "server";
    let ca_key =
        key_pair_from_pem(&ca.key_pem).map_err(|source| CertError::LoadCaKey { source })?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key)
        .map_err(|source| CertError::LoadCaCertificate { source })?;
    let key = entropy
        .p256_key_pair()
        .map_err(|source| CertError::GenerateKey {
            certificate: CERTIFICATE,
            source,
        })?;
    let mut params = CertificateParams::default();
    let serial = entropy
        .serial_number()
        .map_err(|source| CertError::GenerateSerial { source })?;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.distinguished_name = subject(SERVICE_NAME);
    params.subject_alt_names = dns_names(namespace)
        .into_iter()
        .map(|name| {
            name.try_into()
                .map(SanType::DnsName)
                .map_err(|source| CertError::Sign {
                    certificate: CERTIFICATE,
                    source,
                })
        })
        .collect::<Result<_, _>>()?;
    (params.not_before, params.not_after) = validity(now, SERVER_LIFETIME)?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    // Go copies the CA's subject key identifier into the leaf's authority key identifier.
    params.use_authority_key_identifier_extension = true;
    let certificate = params
        .signed_by(&key, &issuer)
        .map_err(|source| CertError::Sign {
            certificate: CERTIFICATE,
            source,
        })?;
    Ok(ServerMaterial {
        cert_pem: certificate.pem(),
        key_pem: sec1_pem(&key).map_err(|source| CertError::EncodeKey {
            certificate: CERTIFICATE,
            source,
        })?,
    })
}

/// The DNS names of the server certificate in `namespace`.
pub fn dns_names(namespace: &str) -> [String; 2] {
    [
        format!("{SERVICE_NAME}.{namespace}.svc"),
        format!("{SERVICE_NAME}.{namespace}.svc.cluster.local"),
    ]
}

/// The generated CA Secret and server Secret of the Shard, holding `material`. Neither has a
/// `type` (the API server defaults it to `Opaque`), and their labels are the five standard ones
/// with component `pgbackrest-tls`.
pub fn build_pgbackrest_secrets(
    shard: &ShardContext<'_>,
    material: &PgBackRestMaterial,
) -> Result<(Secret, Secret), BuildError> {
    let name_error = |source| BuildError::ObjectName {
        shard: shard.display_name(),
        object: "pgBackRest Secret",
        source,
    };
    let ca_name = pgbackrest_ca_secret_name(shard.name).map_err(name_error)?;
    let tls_name = pgbackrest_tls_secret_name(shard.name).map_err(name_error)?;
    let secret = |name: String, data: [(&str, &str); 2]| Secret {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(shard.namespace.to_owned()),
            labels: Some(pgbackrest_tls_labels(&shard.cluster)),
            owner_references: Some(vec![shard.owner.clone()]),
            ..ObjectMeta::default()
        },
        data: Some(
            data.into_iter()
                .map(|(key, pem)| (key.to_owned(), ByteString(pem.as_bytes().to_vec())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Secret::default()
    };
    Ok((
        secret(
            ca_name.into_string(),
            [
                (CA_CERT_KEY, &material.ca.cert_pem),
                (CA_KEY_KEY, &material.ca.key_pem),
            ],
        ),
        secret(
            tls_name.into_string(),
            [
                (TLS_CERT_KEY, &material.server.cert_pem),
                (TLS_KEY_KEY, &material.server.key_pem),
            ],
        ),
    ))
}

/// `O={Organization}, CN={common_name}`, in the RDN order Go's `pkix.Name` writes.
fn subject(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, ORGANIZATION);
    name.push(DnType::CommonName, common_name);
    name
}

/// `(now − 1h, now + lifetime)`, to the second.
fn validity(
    now: Timestamp,
    lifetime: Duration,
) -> Result<(OffsetDateTime, OffsetDateTime), CertError> {
    let out_of_range = || CertError::ClockOutOfRange { now };
    let start = OffsetDateTime::from_unix_timestamp(now.as_second()).map_err(|_| out_of_range())?;
    let not_before = start.checked_sub(BACKDATE).ok_or_else(out_of_range)?;
    let not_after = start.checked_add(lifetime).ok_or_else(out_of_range)?;
    Ok((not_before, not_after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::shard::build::test_support::{FixedEntropy, fixed_now};
    use pretty_assertions::assert_eq;
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::prelude::{FromDer, X509Certificate};

    fn parse(pem: &str) -> Vec<u8> {
        super::super::ec_private_key::pem_decode(pem, "CERTIFICATE").expect("a certificate PEM")
    }

    fn unix(time: x509_parser::time::ASN1Time) -> i64 {
        time.timestamp()
    }

    #[test]
    fn the_ca_matches_the_go_operators() {
        let now = fixed_now();
        let ca = issue_ca(now, &mut FixedEntropy::new()).expect("issues");
        let der = parse(&ca.cert_pem);
        let (_, cert) = X509Certificate::from_der(&der).expect("parses");
        assert_eq!(cert.subject().to_string(), "O=Multigres, CN=Multigres CA");
        assert_eq!(cert.issuer().to_string(), "O=Multigres, CN=Multigres CA");
        assert_eq!(cert.raw_serial(), &[1]);
        assert_eq!(unix(cert.validity().not_before), now.as_second() - 3600);
        assert_eq!(
            unix(cert.validity().not_after),
            now.as_second() + 3650 * 86_400
        );
        assert!(cert.is_ca());
        let usage = cert.key_usage().expect("valid").expect("present").value;
        assert!(usage.digital_signature() && usage.key_cert_sign());
        assert!(!usage.key_encipherment());
        let eku = cert
            .extended_key_usage()
            .expect("valid")
            .expect("present")
            .value;
        assert!(eku.server_auth && eku.client_auth);
        assert_eq!(
            cert.signature_algorithm.algorithm.to_id_string(),
            "1.2.840.10045.4.3.2"
        );
        assert!(ca.key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        cert.verify_signature(None).expect("self-signed");
    }

    #[test]
    fn the_server_certificate_is_signed_by_the_ca_for_the_namespace() {
        let now = fixed_now();
        let material = generate_pgbackrest_material("payments", now, &mut FixedEntropy::new())
            .expect("issues");
        let ca_der = parse(&material.ca.cert_pem);
        let (_, ca) = X509Certificate::from_der(&ca_der).expect("parses");
        let der = parse(&material.server.cert_pem);
        let (_, cert) = X509Certificate::from_der(&der).expect("parses");
        assert_eq!(cert.subject().to_string(), "O=Multigres, CN=pgbackrest");
        assert_eq!(cert.issuer().to_string(), "O=Multigres, CN=Multigres CA");
        // The fixed entropy's first serial, 0x80…01: DER prepends a zero byte to keep it positive.
        let mut serial = vec![0u8, 0x80];
        serial.extend_from_slice(&[0; 14]);
        serial.push(1);
        assert_eq!(cert.raw_serial(), serial.as_slice());
        assert_eq!(unix(cert.validity().not_before), now.as_second() - 3600);
        assert_eq!(
            unix(cert.validity().not_after),
            now.as_second() + 365 * 86_400
        );
        assert!(!cert.is_ca());
        let usage = cert.key_usage().expect("valid").expect("present").value;
        assert!(usage.digital_signature() && usage.key_encipherment());
        assert!(!usage.key_cert_sign());
        let eku = cert
            .extended_key_usage()
            .expect("valid")
            .expect("present")
            .value;
        assert!(eku.server_auth && eku.client_auth);
        let names: Vec<String> = cert
            .subject_alternative_name()
            .expect("valid")
            .expect("present")
            .value
            .general_names
            .iter()
            .map(|name| match name {
                GeneralName::DNSName(dns) => (*dns).to_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                "pgbackrest.payments.svc",
                "pgbackrest.payments.svc.cluster.local"
            ]
        );
        let ca_key_id = ca
            .extensions()
            .iter()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                _ => None,
            })
            .expect("the CA has a subject key identifier");
        let authority_key_id = cert
            .extensions()
            .iter()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(id) => {
                    id.key_identifier.as_ref().map(|id| id.0.to_vec())
                }
                _ => None,
            })
            .expect("the server certificate names its CA's key");
        assert_eq!(authority_key_id, ca_key_id);
        cert.verify_signature(Some(ca.public_key()))
            .expect("signed by the CA");
        assert!(
            material
                .server
                .key_pem
                .starts_with("-----BEGIN EC PRIVATE KEY-----\n")
        );
    }

    #[test]
    fn fixed_entropy_gives_the_same_certificate_contents() {
        let issue = || {
            let material =
                generate_pgbackrest_material("db", fixed_now(), &mut FixedEntropy::new())
                    .expect("issues");
            let der = parse(&material.server.cert_pem);
            let (_, cert) = X509Certificate::from_der(&der).expect("parses");
            (
                cert.tbs_certificate.as_ref().to_vec(),
                material.ca.key_pem.clone(),
                material.server.key_pem.clone(),
            )
        };
        assert_eq!(issue(), issue());
    }

    #[test]
    fn a_reloaded_ca_signs_a_new_server_certificate() {
        let now = fixed_now();
        let ca = issue_ca(now, &mut FixedEntropy::new()).expect("issues");
        let server = issue_server_certificate(&ca, "db", now, &mut FixedEntropy::new())
            .expect("signs with the reloaded CA");
        let ca_der = parse(&ca.cert_pem);
        let (_, ca_cert) = X509Certificate::from_der(&ca_der).expect("parses");
        let der = parse(&server.cert_pem);
        let (_, cert) = X509Certificate::from_der(&der).expect("parses");
        cert.verify_signature(Some(ca_cert.public_key()))
            .expect("signed by the reloaded CA");
    }

    #[test]
    fn a_broken_ca_key_is_reported() {
        let ca = CaMaterial {
            cert_pem: String::new(),
            key_pem: "not a key".to_owned(),
        };
        let err = issue_server_certificate(&ca, "db", fixed_now(), &mut FixedEntropy::new())
            .expect_err("no key");
        assert_eq!(err.to_string(), "failed to load the pgBackRest CA key");
    }
}
