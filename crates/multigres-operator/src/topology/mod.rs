//! The Multigres topology in etcd: what the operator registers there and reads back
//! (spec-wire.md §1–§2, spec-controllers.md §6).
//!
//! - [`records`] (pure): keys, the pinned `clustermetadata` protobuf messages, the records built
//!   from the cluster spec, pooler matching and roles;
//! - [`client`]: [`TopoStore`], opened per reconcile on the global topology server, with etcd's
//!   create / CAS / delete / list semantics and the typed [`TopoError`];
//! - [`address`]: how an in-cluster address is dialled from where the operator runs;
//! - [`registration`]: the cluster controller's registration and pruning pass, the 2-minute
//!   grace rule, and the Shard controller's pooler calls.
//!
//! This module never touches the Kubernetes API (except name resolution against kubesim) and
//! never records events: it reports what changed and the controllers act on it. It speaks the
//! pinned multigres (`d782aa060`) contract only (spec-wire.md §6).

pub mod address;
pub mod client;
pub mod records;
pub mod registration;

pub use address::{AddressResolver, ApiServerResolver, ClusterDns};
pub use client::{TopoError, TopoStore, Write};
pub use registration::{
    ClusterTopology, GraceDecision, TopologyReport, grace_decision, list_shard_poolers,
    register_cluster_topology, unregister_pooler,
};
