//! Pure API crate (placeholder until types land).

pub mod naming;
