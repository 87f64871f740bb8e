//! Reproducible object uids: a seeded SplitMix64 sequence rendered as RFC 4122 version-4 text.
//!
//! Pure (no OS randomness) so that a seeded kubesim is deterministic; uniqueness is only needed
//! within one store.

/// Produces uids and the random suffixes of `generateName`.
#[derive(Debug, Clone)]
pub struct UidGenerator {
    state: u64,
}

impl UidGenerator {
    pub fn new(seed: u64) -> UidGenerator {
        UidGenerator { state: seed }
    }

    /// The next 64 pseudo-random bits (SplitMix64).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A version-4-shaped uid, e.g. `3f2b8c1e-5d6a-4b7c-9e8f-0a1b2c3d4e5f`.
    pub fn next_uid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        let time_hi = ((hi & 0xffff) & 0x0fff) | 0x4000;
        let clock = ((lo >> 48) & 0x3fff) | 0x8000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            time_hi,
            clock,
            lo & 0xffff_ffff_ffff
        )
    }

    /// Five characters from the alphabet the API server uses for `generateName` suffixes
    /// (consonants and digits that cannot spell words).
    pub fn name_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut bits = self.next_u64();
        (0..5)
            .map(|_| {
                let c = ALPHABET[(bits % ALPHABET.len() as u64) as usize] as char;
                bits /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_version_4_shaped_and_reproducible() {
        let mut a = UidGenerator::new(42);
        let mut b = UidGenerator::new(42);
        let first = a.next_uid();
        assert_eq!(first, b.next_uid());
        assert_ne!(first, a.next_uid());
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .expect("valid regex");
        assert!(re.is_match(&first), "{first}");
    }

    #[test]
    fn name_suffixes_use_the_api_server_alphabet() {
        let mut g = UidGenerator::new(1);
        let suffix = g.name_suffix();
        assert_eq!(suffix.len(), 5);
        assert!(
            suffix
                .chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
            "{suffix}"
        );
    }
}
