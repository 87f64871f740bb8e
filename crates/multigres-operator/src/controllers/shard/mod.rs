//! The Shard controller (spec-controllers.md §7): pool pods, PVCs, services and the data plane.
//!
//! This file declares the controller's modules; it must hold no builder logic.

pub mod build;
pub mod cert_entropy;
