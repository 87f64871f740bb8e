//! The TopoServer controller (spec-controllers.md §5): the etcd StatefulSet of the cluster's
//! global topology and its two Services.
//!
//! This file declares the controller's modules; it must hold no builder logic.

pub mod build;
