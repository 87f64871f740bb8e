//! The operator's controllers, one module per reconciled kind (style.md §2 layout).
//!
//! Each controller module owns its wiring, pipeline and pure builders; this file only declares
//! them and must hold no logic.

pub mod shard;
