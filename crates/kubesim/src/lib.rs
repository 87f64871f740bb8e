//! kubesim library.
