//! The status tree of a MultigresCluster (issue 15): `multigres-operator status` prints it once
//! or on every change, `multigres-operator local` redraws it while the cluster converges.
//!
//! - [`model`]: pure, the objects of a cluster → a [`Tree`];
//! - [`render`]: pure, a tree → terminal lines, or progress lines of what changed;
//! - [`fetch`]: the list calls that gather a cluster's objects from any API server;
//! - [`topology`]: the pooler records of its shards, where the pool pods' roles come from.

pub mod fetch;
pub mod model;
pub mod render;
pub mod topology;

pub use fetch::{FetchError, fetch_clusters};
pub use model::{ClusterObjects, Health, Node, Tree, WarningEvent, build_tree};
pub use render::{Style, progress_lines, redraw, tree_lines};
pub use topology::{TOPOLOGY_TIMEOUT, read_poolers, resolver_for};

#[cfg(test)]
mod tests;
