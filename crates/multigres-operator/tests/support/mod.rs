//! Helpers shared by the integration tests of this crate.
#![allow(dead_code)] // Each test binary uses a different subset.

pub mod cluster;
pub mod exposition;
pub mod helm;
