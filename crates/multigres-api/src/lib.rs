//! Pure API crate (placeholder until types land).

pub mod conditions;
pub mod defaults;
pub mod labels;
pub mod naming;
