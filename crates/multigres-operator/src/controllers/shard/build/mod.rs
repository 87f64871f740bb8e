//! Pure builders of the objects the Shard controller owns, one file per object or concern.
//!
//! Nothing here does I/O, awaits or reads the clock (style.md §2): inputs in, objects or bytes out.

pub mod go_json;
pub mod spec_hash;
