//! The Multigres operator: controllers, pure object builders, topology client, webhooks and CLI.
//!
//! `main.rs` only parses the command line and calls into this library, so integration tests and
//! benchmarks drive exactly the code the binary runs.

pub mod apply;
pub mod cache;
pub mod cli;
pub mod context;
pub mod controllers;
pub mod crd_manifests;
pub mod events;
pub mod install;
#[cfg(feature = "local")]
pub mod local;
pub mod operator;
pub mod pooler;
pub mod render;
pub mod status_command;
pub mod status_tree;
pub mod telemetry;
pub mod topology;
pub mod webhook;
