//! Pure API-server semantics: no HTTP, no tokio, no clock, no store access.
//!
//! Each module takes objects (as `serde_json::Value`) and returns results or
//! errors worded like the Kubernetes API server; the `http/` layer turns those
//! into responses.

pub mod cel;
pub mod crd_schema;
pub mod field_cause;
pub mod merge_schema;
pub mod patch;
pub mod ssa;
