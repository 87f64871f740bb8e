//! The MultigresCluster controller (spec-controllers.md §2): the cluster's global components
//! and its child resources.
//!
//! This file declares the controller's modules; it must hold no builder logic.

pub mod build;
