//! The Cell controller (spec-controllers.md §4): the multigateway Deployment and Service of one
//! cell.
//!
//! This file declares the controller's modules; it must hold no builder logic.

pub mod build;
