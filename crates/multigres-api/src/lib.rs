//! Pure API crate of the Multigres operator: the `multigres.com/v1alpha1` custom resource types,
//! the CustomResourceDefinitions generated from them, built-in defaults, labels and naming, the
//! resolver that completes a cluster's configuration, and the validation the webhooks and
//! controllers share.
//!
//! Nothing here performs I/O, spawns tasks or reads the clock: controllers, the webhook and the
//! `render`/`crds` commands all build on these types, and tests exercise them without a cluster.

pub mod conditions;
pub mod crds;
pub mod defaults;
pub mod labels;
pub mod naming;
pub mod quantity;
pub mod resolver;
pub mod v1alpha1;
pub mod validation;
