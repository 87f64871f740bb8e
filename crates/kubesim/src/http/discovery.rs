//! Discovery documents (rust-ecosystem.md §3.4): `/version`; legacy `/api` (APIVersions),
//! `/apis` (APIGroupList), `/apis/{g}` (APIGroup), `/api/v1` and `/apis/{g}/{v}`
//! (APIResourceList); and the aggregated `apidiscovery.k8s.io/v2` APIGroupDiscoveryList that
//! `/api` and `/apis` return when the `Accept` header asks for it (kubectl and kube's
//! `Discovery::run_aggregated` do). kubectl only reads the aggregated form when the reply carries
//! the parameterised [`AGGREGATED_CONTENT_TYPE`] (§3.2: a plain `application/json` reply makes
//! `api-resources` print nothing).
//!
//! Pure: documents from a registry snapshot. Must not read the store or know about HTTP beyond
//! parsing the `Accept` header value it is handed.

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

/// The Content-Type of an aggregated discovery reply.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an `Accept` header prefers the aggregated v2 discovery document: the first media
/// range that kubesim can serve decides (v2beta1 ranges are skipped, as kubesim serves only v2).
pub fn wants_aggregated(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        if !matches!(media.as_str(), "application/json" | "*/*" | "application/*") {
            continue;
        }
        let params: Vec<(&str, &str)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        match (param("as"), param("g"), param("v")) {
            (None, _, _) => return false,
            (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"), Some("v2")) => {
                return true;
            }
            _ => continue,
        }
    }
    false
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

/// One `APIResourceDiscovery` of the aggregated document.
fn aggregated_resource(def: &ResourceDef) -> Value {
    let mut entry = json!({
        "resource": def.plural,
        "responseKind": gvk(&def.group, &def.version, &def.kind),
        "scope": if def.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": def.singular,
        "verbs": def.verbs,
    });
    if !def.short_names.is_empty() {
        entry["shortNames"] = json!(def.short_names);
    }
    if !def.categories.is_empty() {
        entry["categories"] = json!(def.categories);
    }
    let mut subresources = Vec::new();
    if def.status_subresource {
        subresources.push(json!({
            "subresource": "status",
            "responseKind": gvk(&def.group, &def.version, &def.kind),
            "verbs": ["get", "patch", "update"],
        }));
    }
    if def.scale.is_some() {
        subresources.push(json!({
            "subresource": "scale",
            "responseKind": gvk("autoscaling", "v1", "Scale"),
            "verbs": ["get", "patch", "update"],
        }));
    }
    for extra in def.extra_subresources {
        subresources.push(json!({
            "subresource": extra.name,
            "responseKind": gvk(extra.group, extra.version, extra.kind),
            "verbs": extra.verbs,
        }));
    }
    if !subresources.is_empty() {
        entry["subresources"] = Value::Array(subresources);
    }
    entry
}

/// One `APIGroupDiscovery`: the group's versions in preference order, each with its resources.
fn aggregated_group(registry: &Registry, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let resources: Vec<Value> = registry
                .resources_of(group, version)
                .into_iter()
                .map(|def| aggregated_resource(def))
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({})
    } else {
        json!({"name": group})
    };
    json!({"metadata": metadata, "versions": versions})
}

fn aggregated_list(items: Vec<Value>) -> Value {
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// Aggregated `/api`: the core group alone.
pub fn aggregated_core(registry: &Registry) -> Value {
    let items = registry
        .group_versions()
        .into_iter()
        .filter(|(group, _)| group.is_empty())
        .map(|(group, versions)| aggregated_group(registry, &group, &versions))
        .collect();
    aggregated_list(items)
}

/// Aggregated `/apis`: every named group, in name order.
pub fn aggregated_groups(registry: &Registry) -> Value {
    let items = registry
        .group_versions()
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .map(|(group, versions)| aggregated_group(registry, &group, &versions))
        .collect();
    aggregated_list(items)
}

fn resource_entry(def: &ResourceDef) -> Value {
    let mut entry = json!({
        "name": def.plural,
        "singularName": def.singular,
        "namespaced": def.namespaced,
        "kind": def.kind,
        "verbs": def.verbs,
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
        for extra in def.extra_subresources {
            let mut entry = json!({
                "name": format!("{}/{}", def.plural, extra.name),
                "singularName": "",
                "namespaced": def.namespaced,
                "kind": extra.kind,
                "verbs": extra.verbs,
            });
            if (extra.group, extra.version) != (def.group.as_str(), def.version.as_str()) {
                entry["group"] = json!(extra.group);
                entry["version"] = json!(extra.version);
            }
            resources.push(entry);
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api_version(group, version),
        "resources": resources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_servable_accept_range_decides_the_discovery_form() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        let cases = [
            (None, false),
            (Some("application/json"), false),
            (Some("application/json, */*"), false),
            (Some(kubectl), true),
            (
                Some(
                    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
                ),
                false,
            ),
            (
                Some(
                    "application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                ),
                false,
            ),
        ];
        for (accept, expected) in cases {
            assert_eq!(wants_aggregated(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn aggregated_entries_carry_scope_short_names_categories_and_subresources() {
        let registry = Registry::with_builtins();
        let apps = aggregated_groups(&registry);
        let deployments = apps["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|g| g["metadata"]["name"] == "apps")
            .and_then(|g| {
                g["versions"][0]["resources"]
                    .as_array()
                    .expect("resources")
                    .iter()
                    .find(|r| r["resource"] == "deployments")
                    .cloned()
            })
            .expect("apps/v1 deployments");
        assert_eq!(
            deployments,
            json!({
                "resource": "deployments",
                "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                "scope": "Namespaced",
                "singularResource": "deployment",
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "shortNames": ["deploy"],
                "categories": ["all"],
                "subresources": [
                    {"subresource": "status", "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "verbs": ["get", "patch", "update"]},
                    {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "verbs": ["get", "patch", "update"]},
                ],
            })
        );
        let core = aggregated_core(&registry);
        assert_eq!(core["kind"], "APIGroupDiscoveryList");
        assert_eq!(core["apiVersion"], "apidiscovery.k8s.io/v2");
        assert_eq!(core["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(core["items"][0]["metadata"], json!({}));
        assert_eq!(core["items"][0]["versions"][0]["version"], "v1");
        assert_eq!(core["items"][0]["versions"][0]["freshness"], "Current");
    }
}
