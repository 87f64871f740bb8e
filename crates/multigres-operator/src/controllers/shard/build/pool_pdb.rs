//! The PodDisruptionBudget of one pool in one cell (spec-controllers.md §7.3.6): voluntary
//! evictions (node drains) take at most one of the pool's pods in that cell at a time.
//!
//! Place: applied (SSA) on every pass after the pool's pods. Must not: merge the Shard's labels
//! (Go builds this label set directly) or select on anything outside the selector allow-list.

use k8s_openapi::api::policy::v1::{
    PodDisruptionBudget, PodDisruptionBudgetSpec, PodDisruptionBudgetStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use multigres_api::labels::{pool_pdb_labels, selector_labels};
use multigres_api::naming::pool_pdb_name;

use super::ShardContext;

/// Go `BuildPoolPodDisruptionBudget` (`maxUnavailable: 1`).
pub fn build_pool_pdb(
    shard: &ShardContext<'_>,
    pool_name: &str,
    cell: &str,
) -> PodDisruptionBudget {
    let parts = shard.pool_parts(pool_name, cell);
    let labels = pool_pdb_labels(&parts);
    PodDisruptionBudget {
        metadata: ObjectMeta {
            name: Some(pool_pdb_name(&parts).into_string()),
            namespace: Some(shard.namespace.to_owned()),
            owner_references: Some(vec![shard.owner.clone()]),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(&labels)),
                match_expressions: None,
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        // Go's zero `status` struct (four zero counters) is part of the apply body.
        status: Some(PodDisruptionBudgetStatus::default()),
    }
}
