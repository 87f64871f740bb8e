//! Conversion between core/v1 Event (the stored form) and events.k8s.io/v1 Event.
//!
//! kube's `Recorder` writes events.k8s.io/v1 while `kubectl describe` reads core/v1 with
//! `involvedObject.*` field selectors (rust-ecosystem.md §3.1, §3.2), so kubesim keeps one set of
//! objects with two representations. The field mapping follows upstream's
//! `pkg/apis/events/v1/conversion.go`. Pure.

use serde_json::{Map, Value};

/// (core/v1 field, events.k8s.io/v1 field); fields not listed carry the same name in both.
const RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// events.k8s.io/v1 → core/v1 (for storing).
pub fn events_v1_to_core(event: &Value) -> Value {
    convert(event, "v1", |name| {
        RENAMES
            .iter()
            .find(|(_, v1)| *v1 == name)
            .map(|(core, _)| *core)
    })
}

/// core/v1 → events.k8s.io/v1 (for serving).
pub fn core_to_events_v1(event: &Value) -> Value {
    convert(event, "events.k8s.io/v1", |name| {
        RENAMES
            .iter()
            .find(|(core, _)| *core == name)
            .map(|(_, v1)| *v1)
    })
}

fn convert(
    event: &Value,
    api_version: &str,
    rename: impl Fn(&str) -> Option<&'static str>,
) -> Value {
    let Some(fields) = event.as_object() else {
        return event.clone();
    };
    let mut out = Map::new();
    for (key, value) in fields {
        match key.as_str() {
            "apiVersion" => {
                out.insert(key.clone(), Value::String(api_version.to_string()));
            }
            _ => {
                let name = rename(key).map_or_else(|| key.clone(), str::to_string);
                out.insert(name, value.clone());
            }
        }
    }
    if !out.contains_key("apiVersion") {
        out.insert("apiVersion".into(), Value::String(api_version.to_string()));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn recorder_events_round_trip_through_the_core_form() {
        let v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "ns"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reason": "Created", "type": "Normal",
            "regarding": {"kind": "Shard", "name": "s"}, "note": "made it",
            "reportingController": "multigres-operator", "reportingInstance": "pod-1",
            "action": "Reconcile"});
        let core = events_v1_to_core(&v1);
        assert_eq!(
            core,
            json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "e", "namespace": "ns"},
                "eventTime": "2026-01-01T00:00:00.000000Z", "reason": "Created", "type": "Normal",
                "involvedObject": {"kind": "Shard", "name": "s"}, "message": "made it",
                "reportingComponent": "multigres-operator", "reportingInstance": "pod-1",
                "action": "Reconcile"})
        );
        assert_eq!(core_to_events_v1(&core), v1);
    }
}
