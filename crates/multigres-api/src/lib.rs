//! Pure API crate (placeholder until types land).

pub mod labels;
pub mod naming;
