//! The TableGroup controller (spec-controllers.md §3): the Shards of one table group.
//!
//! This file declares the controller's modules; it must hold no builder logic.

pub mod build;
