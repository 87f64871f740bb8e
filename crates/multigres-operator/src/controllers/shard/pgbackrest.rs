//! The Shard's generated pgBackRest certificates (spec-controllers.md §7.3.3, §11.2): keep the
//! CA and server certificate while they are valid for more than 30 days and the server
//! certificate is signed by the current CA; otherwise issue new ones (a new CA re-issues the
//! server certificate too).
//!
//! [`assess`] is pure (the time is an argument); issuing uses the entropy it is given.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::build::pgbackrest_certs::{
    CA_KEY_KEY, CaMaterial, CertEntropy, CertError, PgBackRestMaterial, ServerMaterial, issue_ca,
    issue_server_certificate,
};
use super::build::pool_pod::{CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY};

/// Certificates expiring sooner than this are replaced (§10).
const RENEW_BEFORE: SignedDuration = SignedDuration::from_hours(30 * 24);

/// What the existing Secrets allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assessment {
    /// Both are valid: reuse them as they are (no write).
    Reuse(PgBackRestMaterial),
    /// The CA is valid, the server certificate is missing, expiring, corrupt or not signed by it.
    IssueServer(CaMaterial),
    /// The CA is missing, expiring or corrupt: issue both.
    IssueAll,
}

fn text(secret: Option<&Secret>, key: &str) -> Option<String> {
    let bytes = secret?.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone())
        .ok()
        .filter(|text| !text.is_empty())
}

/// The DER of the first `CERTIFICATE` block of a PEM text.
fn der(pem: &str) -> Option<Vec<u8>> {
    super::build::ec_private_key::pem_decode(pem, "CERTIFICATE").ok()
}

/// Whether the certificate is valid beyond `now + RENEW_BEFORE`.
fn lasts(certificate: &X509Certificate<'_>, now: Timestamp) -> bool {
    let not_after = certificate.validity().not_after.timestamp();
    Timestamp::from_second(not_after).is_ok_and(|end| end.duration_since(now) > RENEW_BEFORE)
}

/// Decides from the CA Secret and the server Secret what to keep.
pub fn assess(
    ca_secret: Option<&Secret>,
    tls_secret: Option<&Secret>,
    now: Timestamp,
) -> Assessment {
    let (Some(ca_cert), Some(ca_key)) = (text(ca_secret, CA_CERT_KEY), text(ca_secret, CA_KEY_KEY))
    else {
        return Assessment::IssueAll;
    };
    let Some(ca_der) = der(&ca_cert) else {
        return Assessment::IssueAll;
    };
    let Ok((_, ca_parsed)) = X509Certificate::from_der(&ca_der) else {
        return Assessment::IssueAll;
    };
    if !lasts(&ca_parsed, now) {
        return Assessment::IssueAll;
    }
    let ca = CaMaterial {
        cert_pem: ca_cert,
        key_pem: ca_key,
    };
    let (Some(cert), Some(key)) = (
        text(tls_secret, TLS_CERT_KEY),
        text(tls_secret, TLS_KEY_KEY),
    ) else {
        return Assessment::IssueServer(ca);
    };
    let signed_by_ca = der(&cert).is_some_and(|server_der| {
        X509Certificate::from_der(&server_der).is_ok_and(|(_, server)| {
            lasts(&server, now)
                && server.issuer().as_raw() == ca_parsed.subject().as_raw()
                && server
                    .verify_signature(Some(ca_parsed.public_key()))
                    .is_ok()
        })
    });
    if !signed_by_ca {
        return Assessment::IssueServer(ca);
    }
    Assessment::Reuse(PgBackRestMaterial {
        ca,
        server: ServerMaterial {
            cert_pem: cert,
            key_pem: key,
        },
    })
}

/// The material to build the Secrets from, issuing what the assessment asks for.
pub fn material(
    assessment: Assessment,
    namespace: &str,
    now: Timestamp,
    entropy: &mut dyn CertEntropy,
) -> Result<PgBackRestMaterial, CertError> {
    match assessment {
        Assessment::Reuse(material) => Ok(material),
        Assessment::IssueServer(ca) => {
            let server = issue_server_certificate(&ca, namespace, now, entropy)?;
            Ok(PgBackRestMaterial { ca, server })
        }
        Assessment::IssueAll => {
            let ca = issue_ca(now, entropy)?;
            let server = issue_server_certificate(&ca, namespace, now, entropy)?;
            Ok(PgBackRestMaterial { ca, server })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::shard::build::test_support::{FixedEntropy, fixed_now};
    use k8s_openapi::ByteString;
    use pretty_assertions::assert_eq;

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Secret::default()
        }
    }

    fn issued() -> PgBackRestMaterial {
        material(
            Assessment::IssueAll,
            "shop",
            fixed_now(),
            &mut FixedEntropy::new(),
        )
        .expect("issues")
    }

    fn secrets(material: &PgBackRestMaterial) -> (Secret, Secret) {
        (
            secret(&[
                (CA_CERT_KEY, &material.ca.cert_pem),
                (CA_KEY_KEY, &material.ca.key_pem),
            ]),
            secret(&[
                (TLS_CERT_KEY, &material.server.cert_pem),
                (TLS_KEY_KEY, &material.server.key_pem),
            ]),
        )
    }

    #[test]
    fn valid_certificates_are_reused_as_they_are() {
        let material = issued();
        let (ca, tls) = secrets(&material);
        assert_eq!(
            assess(Some(&ca), Some(&tls), fixed_now()),
            Assessment::Reuse(material)
        );
    }

    #[test]
    fn missing_or_corrupt_secrets_issue_what_is_needed() {
        let material = issued();
        let (ca, _) = secrets(&material);
        assert_eq!(assess(None, None, fixed_now()), Assessment::IssueAll);
        assert_eq!(
            assess(
                Some(&secret(&[(CA_CERT_KEY, "junk"), (CA_KEY_KEY, "junk")])),
                None,
                fixed_now()
            ),
            Assessment::IssueAll
        );
        assert_eq!(
            assess(Some(&ca), None, fixed_now()),
            Assessment::IssueServer(material.ca.clone())
        );
    }

    #[test]
    fn a_server_certificate_of_another_ca_or_near_expiry_is_reissued() {
        let first = issued();
        // Other keys: a CA that merely shares the subject must not pass.
        let second = material(
            Assessment::IssueAll,
            "shop",
            fixed_now(),
            &mut crate::controllers::shard::cert_entropy::SystemCertEntropy::new(),
        )
        .expect("issues");
        let (ca, _) = secrets(&first);
        let (_, foreign_tls) = secrets(&second);
        assert_eq!(
            assess(Some(&ca), Some(&foreign_tls), fixed_now()),
            Assessment::IssueServer(first.ca.clone())
        );
        let (ca, tls) = secrets(&first);
        let late = fixed_now() + SignedDuration::from_hours(340 * 24);
        assert_eq!(
            assess(Some(&ca), Some(&tls), late),
            Assessment::IssueServer(first.ca)
        );
        let very_late = fixed_now() + SignedDuration::from_hours(3640 * 24);
        assert_eq!(assess(Some(&ca), None, very_late), Assessment::IssueAll);
    }
}
