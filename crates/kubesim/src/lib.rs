//! kubesim library.

pub mod semantics;
