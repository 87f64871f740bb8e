//! Pure API crate (placeholder until types land).
