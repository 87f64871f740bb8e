//! Legacy discovery documents: `/version`, `/api` (APIVersions), `/apis` (APIGroupList),
//! `/apis/{g}` (APIGroup), `/api/v1` and `/apis/{g}/{v}` (APIResourceList), enough for kube's
//! `Discovery::run` and kubectl (rust-ecosystem.md §3.4). The aggregated v2 form and OpenAPI are
//! a later issue; clients that ask for aggregated discovery and accept JSON get the legacy form.
//!
//! Pure: documents from a registry snapshot.

use serde_json::{Value, json};

use crate::resources::{Registry, ResourceDef, api_version};

/// `/version`: minor 33 decides which kubectl the gcloud dispatcher runs (pitfall P10).
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.0-kubesim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_entry(group: &str, versions: &[String]) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": api_version(group, v), "version": v}))
        .collect();
    let preferred = entries.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": entries, "preferredVersion": preferred})
}

pub fn groups(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .group_versions()
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .map(|(group, versions)| group_entry(&group, &versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, `None` when the group is not served.
pub fn group(registry: &Registry, name: &str) -> Option<Value> {
    let (group, versions) = registry
        .group_versions()
        .into_iter()
        .find(|(g, _)| g == name && !g.is_empty())?;
    let mut entry = group_entry(&group, &versions);
    entry["kind"] = json!("APIGroup");
    entry["apiVersion"] = json!("v1");
    Some(entry)
}

fn resource_entry(def: &ResourceDef) -> Value {
    let mut entry = json!({
        "name": def.plural,
        "singularName": def.singular,
        "namespaced": def.namespaced,
        "kind": def.kind,
        "verbs": crate::resources::STANDARD_VERBS,
    });
    if !def.short_names.is_empty() {
        entry["shortNames"] = json!(def.short_names);
    }
    if !def.categories.is_empty() {
        entry["categories"] = json!(def.categories);
    }
    entry
}

/// `/api/v1`, `/apis/{g}/{v}`, `None` when not served.
pub fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let defs = registry.resources_of(group, version);
    if defs.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for def in defs {
        resources.push(resource_entry(def));
        if def.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", def.plural),
                "singularName": "",
                "namespaced": def.namespaced,
                "kind": def.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if def.scale.is_some() {
            resources.push(json!({
                "name": format!("{}/scale", def.plural),
                "singularName": "",
                "namespaced": def.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api_version(group, version),
        "resources": resources,
    }))
}
