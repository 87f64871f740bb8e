//! PEM encodings of the pgBackRest certificates' P-256 keys (spec-controllers.md §11.2): keys are
//! written as `EC PRIVATE KEY` (SEC1, RFC 5915, with the curve named), as Go's
//! `x509.MarshalECPrivateKey` writes them, and read back from SEC1 or PKCS#8 (`PRIVATE KEY`), as
//! the Go operator reads them.
//!
//! rcgen (with ring) only speaks PKCS#8, so this module converts between the two DER shapes of
//! the same key. Must not: handle any curve but P-256, or any key type but ECDSA.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};

/// PEM label of a SEC1 key.
pub const SEC1_LABEL: &str = "EC PRIVATE KEY";
/// PEM label of a PKCS#8 key.
pub const PKCS8_LABEL: &str = "PRIVATE KEY";
/// PEM label of a certificate.
pub const CERTIFICATE_LABEL: &str = "CERTIFICATE";

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_CONTEXT_0: u8 = 0xa0;
const TAG_CONTEXT_1: u8 = 0xa1;

/// DER of OID 1.2.840.10045.2.1 (id-ecPublicKey).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// DER of OID 1.2.840.10045.3.1.7 (prime256v1, P-256).
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// Bytes of a P-256 private scalar.
const P256_SCALAR_LENGTH: usize = 32;

/// Why a key cannot be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum KeyEncodingError {
    #[error("PEM block {label:?} not found; expected -----BEGIN {label}-----")]
    MissingPemBlock { label: String },
    #[error("PEM block {label:?} is not valid base64")]
    PemBase64 {
        label: String,
        #[source]
        source: base64::DecodeError,
    },
    #[error("the {structure} DER is malformed: {problem}")]
    MalformedDer {
        structure: &'static str,
        problem: &'static str,
    },
    #[error("the key is not an ECDSA P-256 key usable for signing")]
    UnusableKey {
        #[source]
        source: rcgen::Error,
    },
}

/// The key as a SEC1 `EC PRIVATE KEY` PEM block (version 1, the 32-byte scalar, the named
/// curve, the uncompressed public point), LF line endings, 64 characters a line.
pub fn sec1_pem(key: &KeyPair) -> Result<String, KeyEncodingError> {
    let scalar = private_scalar_from_pkcs8(key.serialized_der())?;
    let mut padded = vec![0u8; P256_SCALAR_LENGTH.saturating_sub(scalar.len())];
    padded.extend_from_slice(scalar);
    let mut public_key = vec![0u8]; // BIT STRING: no unused bits
    public_key.extend_from_slice(key.public_key_raw());
    let sec1 = tlv(
        TAG_SEQUENCE,
        &[
            tlv(TAG_INTEGER, &[1]),
            tlv(TAG_OCTET_STRING, &padded),
            tlv(TAG_CONTEXT_0, OID_P256),
            tlv(TAG_CONTEXT_1, &tlv(TAG_BIT_STRING, &public_key)),
        ]
        .concat(),
    );
    Ok(pem_encode(SEC1_LABEL, &sec1))
}

/// Reads a P-256 signing key from a SEC1 `EC PRIVATE KEY` or a PKCS#8 `PRIVATE KEY` PEM block
/// (Go's `parseECPrivateKey` tries the same two, in this order).
pub fn key_pair_from_pem(pem: &str) -> Result<KeyPair, KeyEncodingError> {
    let pkcs8 = match pem_decode(pem, SEC1_LABEL) {
        Ok(sec1) => pkcs8_from_sec1(&sec1),
        Err(KeyEncodingError::MissingPemBlock { .. }) => pem_decode(pem, PKCS8_LABEL)?,
        Err(other) => return Err(other),
    };
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_slice().into(), &PKCS_ECDSA_P256_SHA256)
        .map_err(|source| KeyEncodingError::UnusableKey { source })
}

/// A PEM block as Go's `pem.Encode` writes it.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// The DER of the first PEM block labelled `label` in `pem`.
pub fn pem_decode(pem: &str, label: &str) -> Result<Vec<u8>, KeyEncodingError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let missing = || KeyEncodingError::MissingPemBlock {
        label: label.to_owned(),
    };
    let start = pem.find(&begin).ok_or_else(missing)? + begin.len();
    let length = pem[start..].find(&end).ok_or_else(missing)?;
    let body: String = pem[start..start + length]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|source| KeyEncodingError::PemBase64 {
            label: label.to_owned(),
            source,
        })
}

/// PKCS#8 `PrivateKeyInfo` wrapping a SEC1 key: version 0, id-ecPublicKey with P-256, the SEC1
/// DER as the private key.
fn pkcs8_from_sec1(sec1: &[u8]) -> Vec<u8> {
    tlv(
        TAG_SEQUENCE,
        &[
            tlv(TAG_INTEGER, &[0]),
            tlv(TAG_SEQUENCE, &[OID_EC_PUBLIC_KEY, OID_P256].concat()),
            tlv(TAG_OCTET_STRING, sec1),
        ]
        .concat(),
    )
}

/// The private scalar inside a PKCS#8 EC key: `PrivateKeyInfo.privateKey` holds an
/// `ECPrivateKey` whose second element is the scalar.
fn private_scalar_from_pkcs8(pkcs8: &[u8]) -> Result<&[u8], KeyEncodingError> {
    let malformed = |problem| KeyEncodingError::MalformedDer {
        structure: "PKCS#8 PrivateKeyInfo",
        problem,
    };
    let (info, _) = read_tlv(pkcs8, TAG_SEQUENCE).ok_or_else(|| malformed("no outer SEQUENCE"))?;
    let (_version, rest) = read_tlv(info, TAG_INTEGER).ok_or_else(|| malformed("no version"))?;
    let (_algorithm, rest) =
        read_tlv(rest, TAG_SEQUENCE).ok_or_else(|| malformed("no algorithm"))?;
    let (private_key, _) =
        read_tlv(rest, TAG_OCTET_STRING).ok_or_else(|| malformed("no private key"))?;
    let malformed = |problem| KeyEncodingError::MalformedDer {
        structure: "ECPrivateKey",
        problem,
    };
    let (ec_key, _) =
        read_tlv(private_key, TAG_SEQUENCE).ok_or_else(|| malformed("no SEQUENCE"))?;
    let (_version, rest) = read_tlv(ec_key, TAG_INTEGER).ok_or_else(|| malformed("no version"))?;
    let (scalar, _) =
        read_tlv(rest, TAG_OCTET_STRING).ok_or_else(|| malformed("no private key"))?;
    if scalar.len() > P256_SCALAR_LENGTH {
        return Err(malformed("private key longer than 32 bytes"));
    }
    Ok(scalar)
}

/// One DER element with tag `tag` at the start of `input`: its content and what follows it.
fn read_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 2 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, rest)
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

/// One DER element: tag, definite length (short or long form), content.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|byte| *byte == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::shard::build::test_support::FIXED_KEYS;
    use pretty_assertions::assert_eq;

    #[test]
    fn sec1_encoding_names_the_curve_and_carries_the_public_key() {
        let key = key_pair_from_pem(FIXED_KEYS[0]).expect("the fixture is a P-256 key");
        let pem = sec1_pem(&key).expect("encodes");
        assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        let der = pem_decode(&pem, SEC1_LABEL).expect("decodes");
        let mut expected = vec![0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20];
        expected.extend_from_slice(
            private_scalar_from_pkcs8(key.serialized_der()).expect("the fixture is PKCS#8"),
        );
        expected.extend_from_slice(&[0xa0, 0x0a]);
        expected.extend_from_slice(OID_P256);
        expected.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]);
        expected.extend_from_slice(key.public_key_raw());
        assert_eq!(der, expected);
    }

    #[test]
    fn a_sec1_key_reads_back_as_the_same_key() {
        let key = key_pair_from_pem(FIXED_KEYS[0]).expect("the fixture is a P-256 key");
        let again = key_pair_from_pem(&sec1_pem(&key).expect("encodes")).expect("reads back");
        assert_eq!(again.public_key_raw(), key.public_key_raw());
    }

    #[test]
    fn pem_lines_are_64_characters_with_lf_endings() {
        let pem = pem_encode("TEST", &[0u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN TEST-----"));
        assert_eq!(lines.get(1).map(|line| line.len()), Some(64));
        assert_eq!(lines.last(), Some(&"-----END TEST-----"));
        assert!(!pem.contains('\r'));
        assert_eq!(pem_decode(&pem, "TEST").expect("decodes"), vec![0u8; 100]);
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        let err = key_pair_from_pem("no key here").expect_err("no PEM");
        assert_eq!(
            err.to_string(),
            "PEM block \"PRIVATE KEY\" not found; expected -----BEGIN PRIVATE KEY-----"
        );
        let err =
            key_pair_from_pem("-----BEGIN EC PRIVATE KEY-----\n!!\n-----END EC PRIVATE KEY-----\n")
                .expect_err("bad base64");
        assert_eq!(
            err.to_string(),
            "PEM block \"EC PRIVATE KEY\" is not valid base64"
        );
    }

    #[test]
    fn long_lengths_use_the_long_form() {
        assert_eq!(tlv(0x04, &[7u8; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[7u8; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        let encoded = tlv(0x04, &[7u8; 300]);
        let (content, rest) = read_tlv(&encoded, 0x04).expect("reads back");
        assert_eq!((content.len(), rest.len()), (300, 0));
    }
}
