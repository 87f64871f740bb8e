//! The operator's calls to multipooler (spec-wire.md §3): the manager service's messages
//! ([`messages`], pure) and a plaintext gRPC client for one pooler ([`client`]).
//!
//! Which pooler to call is the caller's choice (the primary, from the topology records); this
//! module only speaks the pinned multigres (`d782aa060`) wire contract and records nothing.

pub mod client;
pub mod messages;

pub use client::{PoolerClient, PoolerError};
