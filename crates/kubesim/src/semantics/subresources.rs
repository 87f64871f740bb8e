//! The `/status` and `/scale` subresources (rust-ecosystem.md §3.3 "Status subresource", §3.1
//! `get_scale`/`patch_scale`): which part of a write each endpoint may change, and the
//! autoscaling/v1 Scale view of an object.
//!
//! Pure: values in, values out.

use serde_json::{Map, Value, json};

use crate::resources::{ScalePaths, ScaleSelector};
use crate::semantics::label_selector::label_selector_object_to_string;

/// A main-resource write when `/status` exists: `.status` stays as stored.
pub fn keep_stored_status(stored: &Value, incoming: &mut Value) {
    let Some(map) = incoming.as_object_mut() else {
        return;
    };
    match stored.get("status") {
        Some(status) => {
            map.insert("status".into(), status.clone());
        }
        None => {
            map.remove("status");
        }
    }
}

/// A `/status` write: everything but `.status` stays as stored, metadata included.
pub fn take_status_only(stored: &Value, incoming: &Value) -> Value {
    let mut result = stored.clone();
    if let Some(map) = result.as_object_mut() {
        match incoming.get("status") {
            Some(status) => {
                map.insert("status".into(), status.clone());
            }
            None => {
                map.remove("status");
            }
        }
    }
    result
}

/// `.spec.replicas` → `/spec/replicas`.
fn pointer(path: &str) -> String {
    format!("/{}", path.trim_start_matches('.').replace('.', "/"))
}

/// The autoscaling/v1 Scale of an object.
pub fn to_scale(object: &Value, paths: &ScalePaths) -> Value {
    let metadata = object.get("metadata").and_then(Value::as_object);
    let mut scale_meta = Map::new();
    for field in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = metadata.and_then(|m| m.get(field)) {
            scale_meta.insert(field.into(), v.clone());
        }
    }
    let spec_replicas = object
        .pointer(&pointer(&paths.spec_replicas_path))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let status_replicas = object
        .pointer(&pointer(&paths.status_replicas_path))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let selector = match &paths.label_selector {
        ScaleSelector::SpecSelector => object
            .pointer("/spec/selector")
            .map(label_selector_object_to_string)
            .filter(|s| !s.is_empty()),
        ScaleSelector::Path(Some(path)) => object
            .pointer(&pointer(path))
            .and_then(Value::as_str)
            .map(str::to_string),
        ScaleSelector::Path(None) => None,
    };
    let mut status = Map::new();
    status.insert("replicas".into(), json!(status_replicas));
    if let Some(selector) = selector {
        status.insert("selector".into(), json!(selector));
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": Value::Object(scale_meta),
        "spec": {"replicas": spec_replicas},
        "status": Value::Object(status),
    })
}

/// The object with the desired replicas of `scale` written at the spec replicas path.
pub fn apply_scale(object: &Value, scale: &Value, paths: &ScalePaths) -> Value {
    let mut result = object.clone();
    let replicas = scale.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
    let segments: Vec<&str> = paths
        .spec_replicas_path
        .trim_start_matches('.')
        .split('.')
        .collect();
    let mut current = &mut result;
    for (i, segment) in segments.iter().enumerate() {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let map = current.as_object_mut().expect("made an object just above");
        if i == segments.len() - 1 {
            map.insert((*segment).to_string(), replicas.clone());
            break;
        }
        current = map
            .entry((*segment).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn deployment_paths() -> ScalePaths {
        ScalePaths {
            spec_replicas_path: ".spec.replicas".into(),
            status_replicas_path: ".status.replicas".into(),
            label_selector: ScaleSelector::SpecSelector,
        }
    }

    #[test]
    fn scale_reads_replicas_and_selector() {
        let deployment = json!({"metadata": {"name": "web", "namespace": "ns", "uid": "u",
            "resourceVersion": "7", "labels": {"x": "y"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"replicas": 2}});
        assert_eq!(
            to_scale(&deployment, &deployment_paths()),
            json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "web", "namespace": "ns", "uid": "u", "resourceVersion": "7"},
                "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=web"}})
        );
    }

    #[test]
    fn scale_writes_only_the_spec_replicas_path() {
        let shard = json!({"metadata": {"name": "s"}, "spec": {"pool": {"size": 1}, "x": true}});
        let paths = ScalePaths {
            spec_replicas_path: ".spec.pool.size".into(),
            status_replicas_path: ".status.ready".into(),
            label_selector: ScaleSelector::Path(None),
        };
        let scale = json!({"spec": {"replicas": 5}});
        assert_eq!(
            apply_scale(&shard, &scale, &paths),
            json!({"metadata": {"name": "s"}, "spec": {"pool": {"size": 5}, "x": true}})
        );
        assert_eq!(pointer(".status.ready"), "/status/ready");
    }

    #[test]
    fn status_writes_change_only_status() {
        let stored = json!({"metadata": {"name": "a", "labels": {"l": "1"}}, "spec": {"x": 1}, "status": {"s": 1}});
        let incoming = json!({"metadata": {"name": "a", "labels": {"l": "2"}}, "spec": {"x": 2}, "status": {"s": 2}});
        assert_eq!(
            take_status_only(&stored, &incoming),
            json!({"metadata": {"name": "a", "labels": {"l": "1"}}, "spec": {"x": 1}, "status": {"s": 2}})
        );
        let mut main = incoming.clone();
        keep_stored_status(&stored, &mut main);
        assert_eq!(main["status"], json!({"s": 1}));
    }
}
