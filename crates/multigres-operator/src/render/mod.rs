//! The `render` command (style.md §6): the objects the operator would create for a
//! MultigresCluster, computed from files without a cluster.
//!
//! Pure: the CLI reads the files and prints; these modules parse ([`input`]) and admit
//! ([`admission`]: CRD schema defaults, OpenAPI and CEL validation) the documents.

pub mod admission;
pub mod input;
