//! Pure API-server semantics: no HTTP, no tokio, no clock (the time is an argument).
//!
//! Each module takes objects (as `serde_json::Value`) and returns results or errors worded like
//! the Kubernetes API server; `gc` works on the pure [`crate::store::Store`]. The request
//! pipeline (`api/`) calls them in order and the `http/` layer turns results into responses.

// The CRD engine lives in its own crate so that render and the webhook use it without kubesim;
// it stays reachable at its old paths.
pub use crd_admission::{cel, crd_schema, field_cause};

pub mod builtin_create;
pub mod builtin_schema;
pub mod claim_resize;
pub mod disruption;
pub mod event_conversion;
pub mod field_selector;
pub mod finalizers;
pub mod gc;
pub mod graceful_delete;
pub mod jsonpath;
pub mod label_selector;
pub mod merge_schema;
pub mod object_meta;
pub mod patch;
pub mod ssa;
pub mod subresources;
pub mod unknown_fields;
