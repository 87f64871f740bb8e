//! Certificates for kubesim's HTTPS listener: a self-signed CA and a serving certificate for
//! `127.0.0.1`/`localhost`, both ECDSA P-256 (rcgen), served with rustls on the ring provider
//! (one provider across the tree, pitfall P4).
//!
//! With a state directory the CA is kept there, so a restarted kubesim stays trusted by the
//! kubeconfigs it wrote before.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("failed to generate the {what}")]
    Generate {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("failed to read the kubesim CA from {path}")]
    ReadCa {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write the kubesim CA to {path}")]
    WriteCa {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to build the rustls server configuration")]
    ServerConfig {
        #[source]
        source: rustls::Error,
    },
}

/// The CA (PEM, for kubeconfigs) and the rustls configuration serving with it.
pub struct ServingTls {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "kubesim-ca");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Loads the CA key pair from `dir` or creates (and stores) a new one.
fn ca_key(dir: Option<&Path>) -> Result<KeyPair, TlsError> {
    let generate = || {
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| TlsError::Generate {
            what: "CA key",
            source,
        })
    };
    let Some(dir) = dir else {
        return generate();
    };
    let path = dir.join("ca-key.pem");
    if path.exists() {
        let pem = std::fs::read_to_string(&path).map_err(|source| TlsError::ReadCa {
            path: path.clone(),
            source,
        })?;
        return KeyPair::from_pem(&pem).map_err(|source| TlsError::Generate {
            what: "CA key from its PEM file",
            source,
        });
    }
    let key = generate()?;
    std::fs::create_dir_all(dir).map_err(|source| TlsError::WriteCa {
        path: dir.to_path_buf(),
        source,
    })?;
    std::fs::write(&path, key.serialize_pem()).map_err(|source| TlsError::WriteCa {
        path: path.clone(),
        source,
    })?;
    Ok(key)
}

/// Builds the CA and a fresh serving certificate.
pub fn serving_tls(state_dir: Option<&Path>) -> Result<ServingTls, TlsError> {
    let ca_key = ca_key(state_dir)?;
    let ca_cert = ca_params()
        .self_signed(&ca_key)
        .map_err(|source| TlsError::Generate {
            what: "CA certificate",
            source,
        })?;
    let issuer = Issuer::new(ca_params(), ca_key);
    let server_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| {
        TlsError::Generate {
            what: "serving key",
            source,
        }
    })?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).map_err(|source| {
        TlsError::Generate {
            what: "serving certificate parameters",
            source,
        }
    })?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::V4(
            std::net::Ipv4Addr::LOCALHOST,
        )));
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "kubesim");
    params.distinguished_name = name;
    let server_cert =
        params
            .signed_by(&server_key, &issuer)
            .map_err(|source| TlsError::Generate {
                what: "serving certificate",
                source,
            })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::ServerConfig { source })?
        .with_no_client_auth()
        .with_single_cert(
            vec![
                CertificateDer::from(server_cert.der().to_vec()),
                CertificateDer::from(ca_cert.der().to_vec()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .map_err(|source| TlsError::ServerConfig { source })?;
    let mut server_config = server_config;
    server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServingTls {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(server_config),
    })
}
