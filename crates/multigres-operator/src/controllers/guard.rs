//! The StorageClass guards' condition write (spec-controllers.md §7.10 "Write rule"), shared by
//! the TopoServer and Shard controllers: a status holding only `StorageClassValid`, written by
//! the guard's own field manager, and only when the condition changed.
//!
//! Pure: returns the status body to apply, or `None` when nothing changed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use multigres_api::conditions::{DesiredCondition, find_condition, set_condition};
use serde_json::{Value, json};

/// The status body `{conditions: [StorageClassValid]}` when `desired` differs from the live
/// condition (status, reason, message or observed generation); `lastTransitionTime` is kept
/// while the status does not flip.
pub fn guard_condition_status(
    live: &[Condition],
    desired: &DesiredCondition,
    generation: Option<i64>,
    now: &Time,
) -> Option<Value> {
    let mut conditions: Vec<Condition> = find_condition(live, desired.type_)
        .cloned()
        .into_iter()
        .collect();
    if !set_condition(&mut conditions, desired, generation, now) {
        return None;
    }
    Some(json!({ "conditions": conditions }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;
    use multigres_api::conditions::{StorageClassSubject, storage_class_valid};
    use pretty_assertions::assert_eq;

    #[test]
    fn an_unchanged_condition_is_not_written_and_a_new_one_is() {
        let now = Time(Timestamp::from_second(1_700_000_000).expect("a valid time"));
        let desired = storage_class_valid(StorageClassSubject::Etcd, None, false);
        let body = guard_condition_status(&[], &desired, Some(2), &now).expect("a first write");
        let written: Vec<Condition> =
            serde_json::from_value(body["conditions"].clone()).expect("conditions");
        assert_eq!(written.len(), 1);
        assert_eq!(
            guard_condition_status(&written, &desired, Some(2), &now),
            None
        );
        assert!(guard_condition_status(&written, &desired, Some(3), &now).is_some());
    }
}
