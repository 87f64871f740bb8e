//! The HTTP face of kubesim: a thin axum layer over the in-process API (`api/`). Parses paths
//! and queries, negotiates representations, applies faults, counts requests and renders
//! `Status` errors; it holds no Kubernetes semantics of its own.

mod control;
pub mod discovery;
pub mod negotiation;
pub mod openapi;
pub mod path;
mod router;
mod special;
mod status_error;
pub mod table;
mod watch;

pub use router::{AppState, router};
