//! Reads of the object fields the simulated kubelet and controllers decide on (names, owners,
//! labels, conditions, pod volumes), and the shared condition-update rule.
//!
//! Pure accessors over `serde_json::Value` objects as the store keeps them; nothing here writes
//! to the cluster or reads the clock.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// `metadata.name` (empty when missing).
pub fn name(object: &Value) -> &str {
    str_at(object, "/metadata/name")
}

/// `metadata.namespace` (empty for cluster-scoped objects).
pub fn namespace(object: &Value) -> &str {
    str_at(object, "/metadata/namespace")
}

/// `metadata.uid`.
pub fn uid(object: &Value) -> &str {
    str_at(object, "/metadata/uid")
}

/// The string at a JSON pointer, empty when missing or not a string.
pub fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some()
}

/// `metadata.labels` as a sorted map of strings.
pub fn labels(object: &Value) -> BTreeMap<String, String> {
    string_map(object.pointer("/metadata/labels"))
}

/// A JSON object of strings as a sorted map (non-strings are skipped).
pub fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The uid of the owner reference with `controller: true`, if any.
pub fn controller_uid(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|r| r.get("uid"))
        .and_then(Value::as_str)
}

/// An owner reference naming `owner` as the controller, as workload controllers write it.
pub fn controller_reference(owner: &Value, api_version: &str, kind: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The condition of `type` in `status.conditions`.
pub fn condition<'a>(object: &'a Value, condition_type: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(condition_type))
}

/// Whether the condition of `type` has status `"True"`.
pub fn condition_is_true(object: &Value, condition_type: &str) -> bool {
    condition(object, condition_type)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some("True")
}

/// `conditions` with `new` set: a condition whose status did not change keeps its
/// `lastTransitionTime` (apimachinery `SetStatusCondition` semantics); otherwise `new` is used
/// as given. The position of an existing condition is kept; new ones are appended.
pub fn set_condition(conditions: &mut Vec<Value>, mut new: Value) {
    let condition_type = new.get("type").cloned().unwrap_or(Value::Null);
    match conditions
        .iter_mut()
        .find(|c| c.get("type") == Some(&condition_type))
    {
        Some(existing) => {
            if existing.get("status") == new.get("status")
                && let (Some(old_time), Some(map)) = (
                    existing.get("lastTransitionTime").cloned(),
                    new.as_object_mut(),
                )
            {
                map.insert("lastTransitionTime".into(), old_time);
            }
            *existing = new;
        }
        None => conditions.push(new),
    }
}

/// Whether a pod is Running and its `Ready` condition is True.
pub fn pod_is_running_and_ready(pod: &Value) -> bool {
    str_at(pod, "/status/phase") == "Running" && condition_is_true(pod, "Ready")
}

/// Whether a pod has reached a terminal phase (`Succeeded` or `Failed`).
pub fn pod_is_terminal(pod: &Value) -> bool {
    matches!(str_at(pod, "/status/phase"), "Succeeded" | "Failed")
}

/// Whether a pod counts as active for its controller: not deleting and not terminal
/// (upstream `controller.IsPodActive`).
pub fn pod_is_active(pod: &Value) -> bool {
    !is_deleting(pod) && !pod_is_terminal(pod)
}

/// The claim names of a pod's `persistentVolumeClaim` volumes, in volume order.
pub fn pod_claim_names(pod: &Value) -> Vec<String> {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map(|volumes| {
            volumes
                .iter()
                .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName"))
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// An empty JSON object.
pub fn empty_object() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn set_condition_keeps_the_transition_time_while_the_status_holds() {
        let mut conditions = vec![
            json!({"type": "Ready", "status": "True", "lastTransitionTime": "t1", "reason": "A"}),
        ];
        set_condition(
            &mut conditions,
            json!({"type": "Ready", "status": "True", "lastTransitionTime": "t2", "reason": "B"}),
        );
        assert_eq!(
            conditions,
            vec![
                json!({"type": "Ready", "status": "True", "lastTransitionTime": "t1", "reason": "B"})
            ]
        );
        set_condition(
            &mut conditions,
            json!({"type": "Ready", "status": "False", "lastTransitionTime": "t3"}),
        );
        set_condition(
            &mut conditions,
            json!({"type": "Other", "status": "True", "lastTransitionTime": "t3"}),
        );
        assert_eq!(
            conditions,
            vec![
                json!({"type": "Ready", "status": "False", "lastTransitionTime": "t3"}),
                json!({"type": "Other", "status": "True", "lastTransitionTime": "t3"}),
            ]
        );
    }

    #[test]
    fn controller_uid_reads_only_the_controller_reference() {
        let pod = json!({"metadata": {"ownerReferences": [
            {"uid": "a", "controller": false}, {"uid": "b", "controller": true}]}});
        assert_eq!(controller_uid(&pod), Some("b"));
        assert_eq!(controller_uid(&json!({"metadata": {}})), None);
    }

    #[test]
    fn claim_names_come_from_pvc_volumes_only() {
        let pod = json!({"spec": {"volumes": [
            {"name": "a", "persistentVolumeClaim": {"claimName": "data-0"}},
            {"name": "b", "emptyDir": {}},
            {"name": "c", "persistentVolumeClaim": {"claimName": "logs-0"}}]}});
        assert_eq!(pod_claim_names(&pod), vec!["data-0", "logs-0"]);
    }
}
