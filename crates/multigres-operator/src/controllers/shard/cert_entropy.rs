//! The operating system's randomness behind the pgBackRest certificates: the production
//! [`CertEntropy`] the reconcile hands to `build::pgbackrest_certs` (spec-controllers.md §11.2).
//!
//! Kept out of `build/` so builders stay free of hidden randomness (style.md §2). Must not be
//! used by tests that compare certificate contents; they inject fixed entropy.

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use ring::rand::{SecureRandom, SystemRandom};

use super::build::pgbackrest_certs::CertEntropy;

/// Keys from ring's P-256 generator and serials from the OS random source.
pub struct SystemCertEntropy {
    random: SystemRandom,
}

impl SystemCertEntropy {
    pub fn new() -> Self {
        Self {
            random: SystemRandom::new(),
        }
    }
}

impl Default for SystemCertEntropy {
    fn default() -> Self {
        Self::new()
    }
}

impl CertEntropy for SystemCertEntropy {
    fn p256_key_pair(&mut self) -> Result<KeyPair, rcgen::Error> {
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
    }

    fn serial_number(&mut self) -> Result<[u8; 16], rcgen::Error> {
        let mut serial = [0u8; 16];
        self.random
            .fill(&mut serial)
            .map_err(|_| rcgen::Error::RingUnspecified)?;
        Ok(serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_serials_differ_between_draws() {
        let mut entropy = SystemCertEntropy::new();
        let first = entropy.p256_key_pair().expect("generates");
        let second = entropy.p256_key_pair().expect("generates");
        assert_ne!(first.public_key_raw(), second.public_key_raw());
        assert_ne!(
            entropy.serial_number().expect("draws"),
            entropy.serial_number().expect("draws")
        );
    }
}
