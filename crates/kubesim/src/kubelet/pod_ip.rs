//! Loopback pod IPs: every running pod of one kubesim instance gets its own address in
//! 127.0.0.0/8, never 127.0.0.1 (which the host's own services use), so local-mode processes
//! can bind a pod's address and clients can tell pods apart by IP.
//!
//! Addresses are handed out in order from 127.0.0.2, skipping `x.y.z.0`, `x.y.z.1` and
//! `x.y.z.255` and any address still held; a released address is reused only after the cursor
//! wraps around the 16 million addresses. Pure and deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// The offset within 127.0.0.0/8 of the last usable address.
const LAST_OFFSET: u32 = 0x00ff_fffe;

/// Allocates loopback addresses to pods (keyed by pod uid).
#[derive(Debug, Default)]
pub struct PodIps {
    /// Offset within 127.0.0.0/8 to try next.
    cursor: u32,
    by_pod: BTreeMap<String, u32>,
    in_use: BTreeSet<u32>,
    /// The last address of each pod name (`namespace/name`), offered again to the next pod of
    /// that name (see [`PodIps::assign_for`]).
    by_name: BTreeMap<String, u32>,
}

fn usable(offset: u32) -> bool {
    let last_octet = offset & 0xff;
    offset <= LAST_OFFSET && last_octet > 1 && last_octet < 255
}

fn address(offset: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x7f00_0000 | offset)
}

impl PodIps {
    /// An allocator that starts at `127.<second_octet>.0.2` instead of `127.0.0.2`.
    pub fn starting_in(second_octet: u8) -> PodIps {
        PodIps {
            cursor: (u32::from(second_octet) << 16) | 2,
            ..PodIps::default()
        }
    }

    /// The pod's address, allocating one on first use. `None` only when all ~16 million
    /// addresses are held.
    pub fn assign(&mut self, pod_uid: &str) -> Option<Ipv4Addr> {
        if let Some(offset) = self.by_pod.get(pod_uid) {
            return Some(address(*offset));
        }
        for _ in 0..=LAST_OFFSET {
            let candidate = self.cursor;
            self.cursor = if self.cursor >= LAST_OFFSET {
                0
            } else {
                self.cursor + 1
            };
            if usable(candidate) && !self.in_use.contains(&candidate) {
                self.in_use.insert(candidate);
                self.by_pod.insert(pod_uid.to_string(), candidate);
                return Some(address(candidate));
            }
        }
        None
    }

    /// Like [`PodIps::assign`], but a pod named like an earlier one (`namespace/name`: a
    /// StatefulSet pod recreated) gets that pod's address back when it is free. Processes run
    /// for pods keep peers' addresses where a cluster would keep their DNS names
    /// (docs/kubesim.md "Process runtimes"), so a recreated member must come back at the same
    /// address.
    pub fn assign_for(&mut self, pod_uid: &str, pod_name: &str) -> Option<Ipv4Addr> {
        if let Some(offset) = self.by_pod.get(pod_uid) {
            return Some(address(*offset));
        }
        if let Some(offset) = self.by_name.get(pod_name).copied()
            && !self.in_use.contains(&offset)
        {
            self.in_use.insert(offset);
            self.by_pod.insert(pod_uid.to_string(), offset);
            return Some(address(offset));
        }
        let assigned = self.assign(pod_uid)?;
        self.by_name
            .insert(pod_name.to_string(), u32::from(assigned) & 0x00ff_ffff);
        Some(assigned)
    }

    /// Records an address a pod already has (a pod that was running before this kubelet
    /// started); ignored when it is not a loopback address or is held by another pod.
    pub fn adopt(&mut self, pod_uid: &str, ip: &str) {
        let Ok(ip) = ip.parse::<Ipv4Addr>() else {
            return;
        };
        let bits = u32::from(ip);
        if bits >> 24 != 127 || self.by_pod.contains_key(pod_uid) {
            return;
        }
        let offset = bits & 0x00ff_ffff;
        if self.in_use.insert(offset) {
            self.by_pod.insert(pod_uid.to_string(), offset);
        }
    }

    /// Frees the pod's address.
    pub fn release(&mut self, pod_uid: &str) {
        if let Some(offset) = self.by_pod.remove(pod_uid) {
            self.in_use.remove(&offset);
        }
    }

    /// Addresses currently held.
    pub fn len(&self) -> usize {
        self.by_pod.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_pod.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_start_after_127_0_0_1_and_are_stable_per_pod() {
        let mut ips = PodIps::default();
        assert_eq!(ips.assign("a"), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(ips.assign("b"), Some(Ipv4Addr::new(127, 0, 0, 3)));
        assert_eq!(ips.assign("a"), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(ips.len(), 2);
    }

    #[test]
    fn released_addresses_are_not_reused_before_the_cursor_wraps() {
        let mut ips = PodIps::default();
        ips.assign("a");
        ips.release("a");
        assert_eq!(ips.assign("b"), Some(Ipv4Addr::new(127, 0, 0, 3)));
        assert!(!ips.is_empty());
    }

    #[test]
    fn octet_boundaries_are_skipped() {
        let mut ips = PodIps {
            cursor: 0xfe,
            ..PodIps::default()
        };
        assert_eq!(ips.assign("a"), Some(Ipv4Addr::new(127, 0, 0, 254)));
        // .255, then 127.0.1.0 and 127.0.1.1 are skipped.
        assert_eq!(ips.assign("b"), Some(Ipv4Addr::new(127, 0, 1, 2)));
    }

    #[test]
    fn a_recreated_pod_gets_its_name_s_address_back_when_free() {
        let mut ips = PodIps::default();
        assert_eq!(
            ips.assign_for("u1", "db/topo-0"),
            Some(Ipv4Addr::new(127, 0, 0, 2))
        );
        assert_eq!(
            ips.assign_for("u2", "db/topo-1"),
            Some(Ipv4Addr::new(127, 0, 0, 3))
        );
        ips.release("u1");
        assert_eq!(
            ips.assign_for("u3", "db/topo-0"),
            Some(Ipv4Addr::new(127, 0, 0, 2))
        );
        // Held by another pod meanwhile: a new address.
        ips.release("u3");
        ips.adopt("other", "127.0.0.2");
        assert_eq!(
            ips.assign_for("u4", "db/topo-0"),
            Some(Ipv4Addr::new(127, 0, 0, 4))
        );
    }

    #[test]
    fn an_allocator_can_start_in_another_block() {
        let mut ips = PodIps::starting_in(42);
        assert_eq!(ips.assign("a"), Some(Ipv4Addr::new(127, 42, 0, 2)));
    }

    #[test]
    fn adopted_addresses_are_held() {
        let mut ips = PodIps::default();
        ips.adopt("old", "127.0.0.2");
        ips.adopt("other", "10.0.0.1");
        assert_eq!(ips.assign("new"), Some(Ipv4Addr::new(127, 0, 0, 3)));
        assert_eq!(ips.assign("old"), Some(Ipv4Addr::new(127, 0, 0, 2)));
    }
}
