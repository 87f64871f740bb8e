//! The operator's controllers, one module per reconciled kind (style.md §2 layout), and the small
//! object parts their builders share.
//!
//! Each controller module owns its wiring, pipeline and pure builders. The shared modules here are
//! pure value constructors named for what they build; this file only declares modules and must
//! hold no logic.

pub mod action;
pub mod apply_child;
pub mod cell;
pub mod cell_topology;
pub mod cluster_label;
pub mod container_image;
pub mod container_probes;
pub mod counted_controller;
pub mod erased;
pub mod error_policy;
pub mod image_pull;
pub mod log_level;
pub mod multigres_cluster;
pub mod otel_env;
pub mod owner_liveness;
pub mod owner_reference;
pub mod pending_deletion;
pub mod ports;
pub mod predicates;
pub mod reporting;
pub mod shard;
pub mod status_write;
pub mod table_group;
pub mod topo_server;
pub mod zero_status;
