//! The Kubernetes API server's handling of custom resources, as a pure library: what
//! apiextensions-apiserver does with a `CustomResourceDefinition` ([`crd_schema::CompiledCrd::new`])
//! and with each object it serves (pruning and strict field validation, schema defaults, OpenAPI
//! and CEL validation), the rules for object metadata ([`object_meta`]), with the API server's
//! exact wording ([`field_cause`]).
//!
//! Place: one engine for every component that must agree with a real API server: kubesim serves
//! custom resources with it, the operator's `render` command and admission webhook admit their
//! input with it, and the API crate's CEL tests check the CRDs against it.
//!
//! Must not: do I/O, read clocks (time is an argument), depend on HTTP, tokio or kubesim.

pub mod cel;
pub mod crd_schema;
pub mod field_cause;
pub mod object_meta;
