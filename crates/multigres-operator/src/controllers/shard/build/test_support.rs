//! Fixtures shared by the unit tests of the Shard builders (style.md §2: fixtures live in a
//! `cfg(test)` module). Must not be used outside tests.

use k8s_openapi::jiff::Timestamp;
use rcgen::KeyPair;

use super::ec_private_key::key_pair_from_pem;
use super::pgbackrest_certs::CertEntropy;

/// Two fixed P-256 keys (PKCS#8), made once with `openssl genpkey -algorithm EC -pkeyopt
/// ec_paramgen_curve:P-256` for these tests, so certificates built from them are reproducible.
pub const FIXED_KEYS: [&str; 2] = [
    "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMozVdYkbIf1pWAzc
bn6exfYp/PqUE4DhEs2LEjokRFShRANCAAQTF5BTNyKeMG+sFZGFmXdbEsz+nnsW
B66RQf5v06+sJITBPqZmwUPpyAvpQgmujyRgu0CA8UrPmmqrNWlJ1n8Z
-----END PRIVATE KEY-----
",
    "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8ptE3X/zvxs+ne6F
Pw5YI7u4jTlxHE+YPlHjwmp82GehRANCAARAGqg6JlFjzYms1Sn+YUOhAyocbNtr
ytIDgJUzmGQnu/Rfe9E3TqGq5BDOcjqTDI/2csubRokbT6vBJ2nfR4o3
-----END PRIVATE KEY-----
",
];

/// 2026-03-01T12:00:00Z, the clock of the certificate tests.
pub fn fixed_now() -> Timestamp {
    Timestamp::from_second(1_772_366_400).expect("a valid timestamp")
}

/// Entropy that hands out [`FIXED_KEYS`] in turn and serials `0x80, 1, 2, …` (the high bit of
/// the first byte set, to exercise DER's leading-zero rule).
pub struct FixedEntropy {
    keys_used: usize,
    serials_used: u8,
}

impl FixedEntropy {
    pub fn new() -> Self {
        Self {
            keys_used: 0,
            serials_used: 0,
        }
    }
}

impl CertEntropy for FixedEntropy {
    fn p256_key_pair(&mut self) -> Result<KeyPair, rcgen::Error> {
        let pem = FIXED_KEYS[self.keys_used % FIXED_KEYS.len()];
        self.keys_used += 1;
        key_pair_from_pem(pem).map_err(|_| rcgen::Error::CouldNotParseKeyPair)
    }

    fn serial_number(&mut self) -> Result<[u8; 16], rcgen::Error> {
        self.serials_used += 1;
        let mut serial = [0u8; 16];
        serial[0] = 0x80;
        serial[15] = self.serials_used;
        Ok(serial)
    }
}
