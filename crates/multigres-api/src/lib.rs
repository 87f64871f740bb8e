//! Pure API crate (placeholder until types land).

pub mod defaults;
pub mod labels;
pub mod naming;
