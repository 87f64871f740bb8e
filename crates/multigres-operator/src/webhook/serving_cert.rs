//! The certificate the webhook server presents, swapped in place when it changes (style.md §3,
//! kubewarden `src/certs.rs`): rustls asks [`ServingCertificate`] for the certificate at every
//! handshake, so a rotation reaches new connections at once and never touches the ones already
//! open (no restart, no dropped request).
//!
//! Must not: read files or Secrets itself; [`super::cert_rotation`] and [`super::listener`]
//! install what they read.

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::certs::CertPair;

/// Name of the certificate file in the cert dir.
pub const CERT_FILE: &str = "tls.crt";
/// Name of the key file in the cert dir.
pub const KEY_FILE: &str = "tls.key";

/// Why a certificate could not be served.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the serving certificate {what} is not valid PEM")]
    Pem {
        what: &'static str,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the serving certificate's key is not a key rustls can sign with")]
    Key {
        #[source]
        source: rustls::Error,
    },
    #[error(
        "the serving key is not the key of the serving certificate (tls.key and tls.crt of \
         different issuances, as when they are read while being replaced)"
    )]
    KeyMismatch,
    #[error("failed to read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The current serving certificate, shared by every handshake.
#[derive(Debug, Default)]
pub struct ServingCertificate {
    current: RwLock<Option<(CertPair, Arc<CertifiedKey>)>>,
}

impl ServingCertificate {
    /// No certificate yet: handshakes fail until one is installed.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Serves `pair` from the next handshake on. Returns whether it differs from the previous.
    pub fn install(&self, pair: &CertPair) -> Result<bool, LoadError> {
        if self.current_pair().as_ref() == Some(pair) {
            return Ok(false);
        }
        let certified = Arc::new(certified_key(pair)?);
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Some((pair.clone(), certified));
        Ok(true)
    }

    /// The PEM being served.
    pub fn current_pair(&self) -> Option<CertPair> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|(pair, _)| pair.clone())
    }
}

impl ResolvesServerCert for ServingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|(_, key)| key.clone())
    }
}

fn certified_key(pair: &CertPair) -> Result<CertifiedKey, LoadError> {
    let chain = CertificateDer::pem_slice_iter(pair.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| LoadError::Pem {
            what: "chain",
            source,
        })?;
    let key = PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes()).map_err(|source| {
        LoadError::Pem {
            what: "key",
            source,
        }
    })?;
    let signing_key = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|source| LoadError::Key { source })?;
    let certified = CertifiedKey::new(chain, signing_key);
    // The two files are read one after the other: a renewal between the reads (cert-manager
    // rewriting its Secret, the kubelet projecting it) pairs the new certificate with the old
    // key, and every handshake would fail until the next reload. Such a pair is refused, so
    // the previous one stays served.
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(_) => Err(LoadError::KeyMismatch),
    }
}

/// Reads `tls.crt` and `tls.key` of `dir`.
pub fn read_cert_dir(dir: &Path) -> Result<CertPair, LoadError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    Ok(CertPair {
        cert_pem: read(CERT_FILE)?,
        key_pem: read(KEY_FILE)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::shard::cert_entropy::SystemCertEntropy;
    use crate::webhook::certs::{issue_ca, issue_serving};
    use k8s_openapi::jiff::Timestamp;

    #[test]
    fn installing_swaps_the_served_certificate() {
        let mut entropy = SystemCertEntropy::new();
        let now = Timestamp::from_second(1_800_000_000).expect("valid");
        let ca = issue_ca(now, &mut entropy).expect("CA");
        let first = issue_serving(&ca, "hooks", "ops", now, &mut entropy).expect("serving");
        let second = issue_serving(&ca, "hooks", "ops", now, &mut entropy).expect("serving");
        let serving = ServingCertificate::new();
        assert_eq!(serving.current_pair(), None);
        assert!(serving.install(&first).expect("loads"));
        assert!(!serving.install(&first).expect("loads"));
        assert!(serving.install(&second).expect("loads"));
        assert_eq!(serving.current_pair(), Some(second.clone()));
        let broken = CertPair {
            cert_pem: first.cert_pem.clone(),
            key_pem: "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n".into(),
        };
        assert!(serving.install(&broken).is_err());
        let torn = CertPair {
            cert_pem: first.cert_pem.clone(),
            key_pem: second.key_pem.clone(),
        };
        assert!(matches!(
            serving.install(&torn),
            Err(LoadError::KeyMismatch)
        ));
        assert_eq!(
            serving.current_pair(),
            Some(second),
            "the previous pair stays"
        );
    }
}
