//! The graceful removal of a child CR that is no longer desired (spec-controllers.md §2.9, §2.10,
//! §3): mark it with `multigres.com/pending-deletion`, wait until it reports
//! `ReadyForDeletion=True` (its own controller drains what it holds), then delete it.
//!
//! Used by the MultigresCluster controller for Cells and TableGroups and by the TableGroup
//! controller for Shards. Never deletes a child that has not said it is ready.

use std::fmt::Debug;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::tz::TimeZone;
use kube::{Resource, ResourceExt};
use multigres_api::conditions::{READY_FOR_DELETION, is_condition_true};
use multigres_api::labels::ANNOTATION_PENDING_DELETION;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::apply::ApplyError;
use crate::context::Context;
use crate::events::Source;

/// Where a child stands in its removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Marked or still draining: the parent requeues.
    Pending,
    /// Deleted this pass (or already gone).
    Deleted,
}

/// RFC 3339 UTC to the second, as Go's `time.Now().UTC().Format(time.RFC3339)`.
pub fn rfc3339(now: &Time) -> String {
    now.0
        .to_zoned(TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// One step of the removal of `child`, whose status conditions are `conditions`. `note` is
/// appended to the PendingDeletion message (e.g. " (parent pending)").
pub async fn retire<K>(
    context: &Context,
    source: Source,
    owner: &ObjectReference,
    child: &K,
    conditions: &[Condition],
    note: &str,
) -> Result<Removal, ApplyError>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let name = child.name_any();
    let namespace = child.namespace().unwrap_or_default();
    let kind = K::kind(&());
    let marked = child
        .annotations()
        .get(ANNOTATION_PENDING_DELETION)
        .is_some_and(|value| !value.is_empty());
    if !marked {
        let patch = json!({"metadata": {"annotations": {
            ANNOTATION_PENDING_DELETION: rfc3339(&context.now()),
        }}});
        context
            .apply
            .merge_patch::<K>(&namespace, &name, &patch)
            .await?;
        context
            .events
            .normal(
                source,
                owner,
                "PendingDeletion",
                format!("Marked {kind} {name} for graceful deletion{note}"),
            )
            .await;
        return Ok(Removal::Pending);
    }
    if !is_condition_true(conditions, READY_FOR_DELETION) {
        return Ok(Removal::Pending);
    }
    if context
        .apply
        .delete::<K>(&namespace, &name)
        .await?
        .written()
    {
        context
            .events
            .normal(
                source,
                owner,
                "Deleted",
                format!("Deleted orphaned {kind} {name}"),
            )
            .await;
    }
    Ok(Removal::Deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    #[test]
    fn timestamps_are_rfc3339_utc_to_the_second() {
        let now = Time(Timestamp::from_second(1_765_000_000).expect("a valid time"));
        assert_eq!(rfc3339(&now), "2025-12-06T05:46:40Z");
    }
}
