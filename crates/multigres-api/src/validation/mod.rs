//! Validation beyond the CRD schema: what the validating webhooks check and the controller
//! re-checks before building anything (spec-api.md §11, §12.4, §12.5).
//!
//! - [`validate_cluster`]: referential integrity, then the semantic checks (§11.2, §11.3), on a
//!   cluster already defaulted (the webhook sees the mutated object);
//! - [`validate_cluster_update`]: what an update may not change (§12.4);
//! - [`validate_pool_name`] and [`validate_shard_template_pools`]: pool names (§11.5, §12.5);
//! - [`validate_template_change`], [`deletion_blocker`]: templates against the clusters using
//!   them (deliberate fixes 11 and 5).
//!
//! Messages are the Go operator's, verbatim, each tied to a field path; reports list every
//! finding, sorted (Go reports the first error, in map order). Facts about the Kubernetes
//! cluster (node labels, StorageClasses) are arguments: nothing here performs I/O.

pub mod field_error;
pub mod integrity;
pub mod logic;
pub mod pool_name;
pub mod resources;
pub mod template_change;
pub mod update;

pub use field_error::{
    FieldError, FieldPath, FieldWarning, PathSegment, ValidationReport, go_quote,
};
pub use integrity::{template_references, validate_cluster_integrity};
pub use logic::{ClusterFacts, StorageClassFacts, validate_cluster_logic};
pub use pool_name::{PoolNameError, validate_pool_name, validate_shard_template_pools};
pub use resources::limits_below_requests;
pub use template_change::{
    ClusterFinding, TemplateChangeReport, TemplateEdit, deletion_blocker, template_users,
    uses_template, validate_template_change,
};
pub use update::validate_cluster_update;

use crate::resolver::{LookupError, TemplateSource};
use crate::v1alpha1::MultigresClusterSpec;

/// The MultigresCluster webhook's `validate` (spec-api.md §12.4): the integrity check, and,
/// when every referenced template exists, the semantic checks. `spec` is the defaulted spec,
/// `source` the templates of its `namespace`.
///
/// A template that could not be read is returned as the lookup error (the webhook answers with
/// its status, §11.1); everything else is in the report.
pub fn validate_cluster(
    spec: &MultigresClusterSpec,
    namespace: &str,
    source: &dyn TemplateSource,
    facts: &ClusterFacts,
) -> Result<ValidationReport, LookupError> {
    let missing = validate_cluster_integrity(spec, namespace, source)?;
    if !missing.is_empty() {
        // Go stops here too: with a template missing, every later check would only repeat it.
        return Ok(ValidationReport {
            errors: missing,
            warnings: Vec::new(),
        }
        .sorted());
    }
    validate_cluster_logic(spec, source, facts)
}
