//! The TableGroup status (spec-controllers.md §3 step 7) from its Shards as last observed.
//!
//! Pure: the time is an argument.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use multigres_api::conditions::{
    AVAILABLE, ChildObservation, set_condition, table_group_available, table_group_phase,
    table_group_ready_shards,
};
use multigres_api::v1alpha1::{Shard, TableGroup, TableGroupStatus};

/// How a parent sees a Shard.
pub fn observe_shard(shard: &Shard) -> ChildObservation {
    let status = shard.status.as_ref();
    ChildObservation {
        generation: shard.metadata.generation.unwrap_or_default(),
        observed_generation: status.map(|s| s.observed_generation),
        phase: status.and_then(|s| s.phase),
    }
}

/// The status to write; `previous` supplies the condition's `lastTransitionTime`.
pub fn compute_status(
    table_group: &TableGroup,
    previous: &TableGroupStatus,
    shards: &[Shard],
    now: &Time,
) -> TableGroupStatus {
    let total = table_group.spec.shards.len();
    let observed: Vec<ChildObservation> = shards.iter().map(observe_shard).collect();
    let phase = table_group_phase(total, &observed);
    let generation = table_group.metadata.generation;
    let mut conditions: Vec<_> = previous
        .conditions
        .iter()
        .filter(|condition| condition.type_ == AVAILABLE)
        .cloned()
        .collect();
    set_condition(
        &mut conditions,
        &table_group_available(total, &observed),
        generation,
        now,
    );
    TableGroupStatus {
        observed_generation: generation.unwrap_or_default(),
        conditions,
        phase: Some(phase.phase),
        message: phase.message,
        ready_shards: i32::try_from(table_group_ready_shards(&observed)).unwrap_or(i32::MAX),
        total_shards: i32::try_from(total).unwrap_or(i32::MAX),
    }
}
