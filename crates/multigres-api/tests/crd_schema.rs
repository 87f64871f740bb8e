//! The generated CRDs are structural schemas a real kube-apiserver accepts, and they carry the
//! Go CRDs' names, printer columns, subresources, CEL rules and defaults (spec-api.md §1.2, §2.5,
//! §9). Where a rule sits was checked against numtide/multigres-operator@3fe09bf
//! `config/crd/bases`; the tables below pin it.

// Each test crate uses part of the catalogue module.
#[allow(dead_code)]
mod cel_catalogue;

use std::collections::BTreeSet;

use cel_catalogue::{RULES, crd_schema};
use multigres_api::crds::crds;
use pretty_assertions::assert_eq;
use serde_json::{Map, Value, json};

const PLURALS: [&str; 8] = [
    "multigresclusters",
    "tablegroups",
    "celltemplates",
    "coretemplates",
    "shardtemplates",
    "cells",
    "shards",
    "toposervers",
];

/// Calls `visit(path, node)` for every schema node below `node`, with `.field`, `[]` (items)
/// and `{}` (additionalProperties) path steps.
fn walk(node: &Value, path: &str, visit: &mut impl FnMut(&str, &Map<String, Value>)) {
    let Some(object) = node.as_object() else {
        return;
    };
    visit(path, object);
    if let Some(properties) = object.get("properties").and_then(Value::as_object) {
        for (name, child) in properties {
            walk(child, &format!("{path}.{name}"), visit);
        }
    }
    if let Some(items) = object.get("items") {
        walk(items, &format!("{path}[]"), visit);
    }
    if let Some(values) = object.get("additionalProperties").filter(|v| v.is_object()) {
        walk(values, &format!("{path}{{}}"), visit);
    }
}

/// The rules a structural schema must follow (Kubernetes "Specifying a structural schema",
/// plus the list-type constraints the API server enforces), as violations found below `root`.
fn structural_violations(root: &Value) -> Vec<String> {
    const FORBIDDEN: [&str; 12] = [
        "$ref",
        "$schema",
        "definitions",
        "id",
        "nullable",
        "oneOf",
        "allOf",
        "not",
        "patternProperties",
        "dependencies",
        "additionalItems",
        "const",
    ];
    let int_or_string_any_of = json!([{ "type": "integer" }, { "type": "string" }]);
    let mut violations = Vec::new();
    walk(root, "", &mut |path, node| {
        let mut violation = |problem: String| violations.push(format!("{path}: {problem}"));
        for key in FORBIDDEN {
            if node.contains_key(key) {
                violation(format!("has `{key}`"));
            }
        }
        if node.get("uniqueItems") == Some(&Value::Bool(true)) {
            violation("has `uniqueItems: true`".into());
        }
        let int_or_string = node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
        let preserve = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        let ty = node.get("type").and_then(Value::as_str);
        match (ty, int_or_string) {
            (Some(_), true) => violation("int-or-string node with a type".into()),
            (None, false) if !preserve => violation("no type".into()),
            _ => {}
        }
        if let Some(any_of) = node.get("anyOf")
            && (!int_or_string || any_of != &int_or_string_any_of)
        {
            violation(format!("anyOf {any_of} outside the int-or-string form"));
        }
        if node.contains_key("properties") && node.contains_key("additionalProperties") {
            violation("both properties and additionalProperties".into());
        }
        if ty == Some("array") && !node.get("items").is_some_and(Value::is_object) {
            violation("array without an items schema".into());
        }
        let properties = node.get("properties").and_then(Value::as_object);
        for required in node
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap_or_default();
            if !properties.is_some_and(|p| p.contains_key(name)) {
                violation(format!("requires undeclared property {name:?}"));
            }
        }
        if let Some(values) = node.get("enum").and_then(Value::as_array)
            && (ty != Some("string") || !values.iter().all(Value::is_string))
        {
            violation(format!("enum {values:?} on a {ty:?} node"));
        }
        for rule in node
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !rule["rule"].is_string() || !rule["message"].is_string() {
                violation(format!("validation without rule and message: {rule}"));
            }
        }
        if node.contains_key("x-kubernetes-map-type") && ty != Some("object") {
            violation("map-type marker on a non-object".into());
        }
        match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
            None => {
                if node.contains_key("x-kubernetes-list-map-keys") {
                    violation("list-map keys without list-type map".into());
                }
            }
            Some(_) if ty != Some("array") => violation("list-type marker on a non-array".into()),
            Some("atomic") => {}
            Some("set") => {
                let item_type = node.get("items").and_then(|items| items["type"].as_str());
                if !matches!(item_type, Some("string" | "integer" | "number" | "boolean")) {
                    violation(format!("set of non-scalar items {item_type:?}"));
                }
            }
            Some("map") => {
                let items = node.get("items").unwrap_or(&Value::Null);
                let keys = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array);
                if items["type"] != "object" || keys.is_none_or(Vec::is_empty) {
                    violation("list map without object items and keys".into());
                }
                for key in keys.into_iter().flatten() {
                    let key = key.as_str().unwrap_or_default();
                    let required = items["required"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|name| name == key));
                    let defaulted = items["properties"][key].get("default").is_some();
                    if !required && !defaulted {
                        violation(format!(
                            "list-map key {key:?} neither required nor defaulted"
                        ));
                    }
                }
            }
            Some(other) => violation(format!("unknown list-type {other:?}")),
        }
    });

    // The root: an object declaring apiVersion, kind, metadata and spec, requiring nothing, with
    // metadata left to the API server.
    for field in ["apiVersion", "kind", "metadata", "spec"] {
        if root["properties"].get(field).is_none() {
            violations.push(format!("root: no `{field}` property"));
        }
    }
    if root["properties"]["metadata"] != json!({ "type": "object" }) {
        violations.push("root: metadata is restricted".into());
    }
    if root.get("required").is_some() {
        violations.push("root: requires fields (the Go CRDs require none)".into());
    }
    violations.sort();
    violations
}

#[test]
fn every_generated_schema_is_structural() {
    for plural in PLURALS {
        assert_eq!(
            structural_violations(crd_schema(plural)),
            Vec::<String>::new(),
            "{plural}"
        );
    }
}

#[test]
fn structural_check_rejects_what_the_api_server_rejects() {
    let broken = json!({
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": { "type": "string" },
            "kind": { "type": "string" },
            "metadata": { "type": "object" },
            "spec": {
                "type": "object",
                "properties": {
                    "untyped": { "description": "no type" },
                    "ref": { "$ref": "#/definitions/Other" },
                    "maybe": { "type": "string", "nullable": true },
                    "tags": { "type": "array", "x-kubernetes-list-type": "map" },
                },
            },
        },
    });
    assert_eq!(
        structural_violations(&broken),
        vec![
            ".spec.maybe: has `nullable`".to_owned(),
            ".spec.ref: has `$ref`".to_owned(),
            ".spec.ref: no type".to_owned(),
            ".spec.tags: array without an items schema".to_owned(),
            ".spec.tags: list map without object items and keys".to_owned(),
            ".spec.untyped: no type".to_owned(),
            "root: requires fields (the Go CRDs require none)".to_owned(),
        ]
    );
}

/// Where each rule of spec-api.md §9 sits: (CRD plural, schema path, rule number).
const CEL_PLACEMENT: &[(&str, &str, usize)] = &[
    ("multigresclusters", "", 1),
    ("multigresclusters", ".spec.backup", 27),
    ("multigresclusters", ".spec.backup", 28),
    ("multigresclusters", ".spec.backup.s3", 29),
    ("multigresclusters", ".spec.backup.s3", 30),
    ("multigresclusters", ".spec.cells", 2),
    ("multigresclusters", ".spec.cells[]", 3),
    ("multigresclusters", ".spec.cells[]", 4),
    ("multigresclusters", ".spec.cells[]", 5),
    (
        "multigresclusters",
        ".spec.cells[].overrides.multigateway.podAnnotations",
        25,
    ),
    (
        "multigresclusters",
        ".spec.cells[].overrides.multigateway.podLabels",
        26,
    ),
    ("multigresclusters", ".spec.cells[].spec", 6),
    ("multigresclusters", ".spec.cells[].spec.localTopoServer", 7),
    ("multigresclusters", ".spec.cells[].spec.localTopoServer", 8),
    (
        "multigresclusters",
        ".spec.cells[].spec.localTopoServer.etcd.replicas",
        10,
    ),
    (
        "multigresclusters",
        ".spec.cells[].spec.localTopoServer.external.endpoints",
        9,
    ),
    (
        "multigresclusters",
        ".spec.cells[].spec.multigateway.podAnnotations",
        25,
    ),
    (
        "multigresclusters",
        ".spec.cells[].spec.multigateway.podLabels",
        26,
    ),
    ("multigresclusters", ".spec.databases", 15),
    ("multigresclusters", ".spec.databases[].backup", 27),
    ("multigresclusters", ".spec.databases[].backup", 28),
    ("multigresclusters", ".spec.databases[].backup.s3", 29),
    ("multigresclusters", ".spec.databases[].backup.s3", 30),
    ("multigresclusters", ".spec.databases[].tablegroups", 16),
    ("multigresclusters", ".spec.databases[].tablegroups[]", 17),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].backup",
        27,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].backup",
        28,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].backup.s3",
        29,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].backup.s3",
        30,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[]",
        18,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[]",
        19,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].backup",
        27,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].backup",
        28,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].backup.s3",
        29,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].backup.s3",
        30,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].name",
        20,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].overrides.multiorch.podAnnotations",
        25,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].overrides.multiorch.podLabels",
        26,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].overrides.pools",
        21,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].overrides.pools",
        22,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].overrides.pools{}.cells",
        24,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].spec.multiorch.podAnnotations",
        25,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].spec.multiorch.podLabels",
        26,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].spec.pools",
        21,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].spec.pools",
        22,
    ),
    (
        "multigresclusters",
        ".spec.databases[].tablegroups[].shards[].spec.pools{}.cells",
        24,
    ),
    ("multigresclusters", ".spec.externalAdminWeb", 31),
    ("multigresclusters", ".spec.externalGateway", 31),
    ("multigresclusters", ".spec.globalTopoServer", 11),
    (
        "multigresclusters",
        ".spec.globalTopoServer.etcd.replicas",
        10,
    ),
    (
        "multigresclusters",
        ".spec.globalTopoServer.external.endpoints",
        9,
    ),
    ("multigresclusters", ".spec.multiadmin", 13),
    ("multigresclusters", ".spec.multiadmin", 14),
    (
        "multigresclusters",
        ".spec.multiadmin.spec.podAnnotations",
        25,
    ),
    ("multigresclusters", ".spec.multiadmin.spec.podLabels", 26),
    ("multigresclusters", ".spec.multiadminWeb", 13),
    ("multigresclusters", ".spec.multiadminWeb", 14),
    (
        "multigresclusters",
        ".spec.multiadminWeb.spec.podAnnotations",
        25,
    ),
    (
        "multigresclusters",
        ".spec.multiadminWeb.spec.podLabels",
        26,
    ),
    ("tablegroups", ".spec.backup", 27),
    ("tablegroups", ".spec.backup", 28),
    ("tablegroups", ".spec.backup.s3", 29),
    ("tablegroups", ".spec.backup.s3", 30),
    ("tablegroups", ".spec.shards[].backup", 27),
    ("tablegroups", ".spec.shards[].backup", 28),
    ("tablegroups", ".spec.shards[].backup.s3", 29),
    ("tablegroups", ".spec.shards[].backup.s3", 30),
    ("tablegroups", ".spec.shards[].multiorch.podAnnotations", 25),
    ("tablegroups", ".spec.shards[].multiorch.podLabels", 26),
    ("tablegroups", ".spec.shards[].pools", 23),
    ("tablegroups", ".spec.shards[].pools{}.cells", 24),
    ("celltemplates", ".spec", 6),
    ("celltemplates", ".spec.localTopoServer", 7),
    ("celltemplates", ".spec.localTopoServer", 8),
    ("celltemplates", ".spec.localTopoServer.etcd.replicas", 10),
    (
        "celltemplates",
        ".spec.localTopoServer.external.endpoints",
        9,
    ),
    ("celltemplates", ".spec.multigateway.podAnnotations", 25),
    ("celltemplates", ".spec.multigateway.podLabels", 26),
    ("coretemplates", ".spec.globalTopoServer", 12),
    ("coretemplates", ".spec.globalTopoServer.etcd.replicas", 10),
    ("coretemplates", ".spec.multiadmin.podAnnotations", 25),
    ("coretemplates", ".spec.multiadmin.podLabels", 26),
    ("coretemplates", ".spec.multiadminWeb.podAnnotations", 25),
    ("coretemplates", ".spec.multiadminWeb.podLabels", 26),
    ("shardtemplates", ".spec.multiorch.podAnnotations", 25),
    ("shardtemplates", ".spec.multiorch.podLabels", 26),
    ("shardtemplates", ".spec.pools", 22),
    ("shardtemplates", ".spec.pools", 23),
    ("shardtemplates", ".spec.pools{}.cells", 24),
    ("cells", ".spec", 5),
    ("cells", ".spec.multigateway.podAnnotations", 25),
    ("cells", ".spec.multigateway.podLabels", 26),
    ("cells", ".spec.topoServer", 7),
    ("cells", ".spec.topoServer", 8),
    ("cells", ".spec.topoServer.etcd.replicas", 10),
    ("cells", ".spec.topoServer.external.endpoints", 9),
    ("shards", ".spec.backup", 27),
    ("shards", ".spec.backup", 28),
    ("shards", ".spec.backup.s3", 29),
    ("shards", ".spec.backup.s3", 30),
    ("shards", ".spec.multiorch.podAnnotations", 25),
    ("shards", ".spec.multiorch.podLabels", 26),
    ("shards", ".spec.pools", 23),
    ("shards", ".spec.pools{}.cells", 24),
    ("toposervers", ".spec", 12),
    ("toposervers", ".spec.etcd.replicas", 10),
];

#[test]
fn cel_rules_sit_exactly_where_the_go_crds_have_them() {
    let mut found = BTreeSet::new();
    for plural in PLURALS {
        walk(crd_schema(plural), "", &mut |path, node| {
            for rule in node
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                found.insert((
                    plural.to_owned(),
                    path.to_owned(),
                    rule["rule"].as_str().unwrap_or_default().to_owned(),
                    rule["message"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        });
    }
    let expected: BTreeSet<_> = CEL_PLACEMENT
        .iter()
        .map(|&(plural, path, number)| {
            let (rule, message) = RULES[number - 1];
            (
                plural.to_owned(),
                path.to_owned(),
                rule.to_owned(),
                message.to_owned(),
            )
        })
        .collect();
    assert_eq!(found, expected);
}

/// `object` without its null-valued fields.
fn without_nulls(mut object: Value) -> Value {
    if let Some(fields) = object.as_object_mut() {
        fields.retain(|_, value| !value.is_null());
    }
    object
}

#[test]
fn names_columns_and_subresources_are_those_of_the_go_crds() {
    let summary: Vec<Value> = crds()
        .iter()
        .map(|crd| {
            let version = &crd.spec.versions[0];
            without_nulls(json!({
                "name": crd.metadata.name,
                "group": crd.spec.group,
                "scope": crd.spec.scope,
                "names": crd.spec.names,
                "version": version.name,
                "served": version.served,
                "storage": version.storage,
                "columns": version.additional_printer_columns,
                "subresources": version.subresources,
            }))
        })
        .collect();
    let available = ".status.conditions[?(@.type=='Available')].status";
    let names = |kind: &str, plural: &str, short: &str| {
        json!({
            "kind": kind,
            "listKind": format!("{kind}List"),
            "plural": plural,
            "singular": kind.to_lowercase(),
            "shortNames": [short],
        })
    };
    let column =
        |name: &str, ty: &str, path: &str| json!({ "name": name, "type": ty, "jsonPath": path });
    let phase = column("Phase", "string", ".status.phase");
    let status = json!({ "status": {} });
    let crd = |plural: &str, names: Value, columns: Value, subresources: Value| {
        // Templates have neither columns nor subresources: the fields are absent.
        without_nulls(json!({
            "name": format!("{plural}.multigres.com"),
            "group": "multigres.com",
            "scope": "Namespaced",
            "names": names,
            "version": "v1alpha1",
            "served": true,
            "storage": true,
            "columns": columns,
            "subresources": subresources,
        }))
    };
    assert_eq!(
        summary,
        vec![
            crd(
                "multigresclusters",
                names("MultigresCluster", "multigresclusters", "mgc"),
                json!([
                    column("Available", "string", available),
                    column("Age", "date", ".metadata.creationTimestamp"),
                    phase,
                ]),
                status.clone(),
            ),
            crd(
                "tablegroups",
                names("TableGroup", "tablegroups", "tbg"),
                json!([column("Shards", "integer", ".status.readyShards"), phase]),
                status.clone(),
            ),
            crd(
                "celltemplates",
                names("CellTemplate", "celltemplates", "cet"),
                Value::Null,
                Value::Null
            ),
            crd(
                "coretemplates",
                names("CoreTemplate", "coretemplates", "cot"),
                Value::Null,
                Value::Null
            ),
            crd(
                "shardtemplates",
                names("ShardTemplate", "shardtemplates", "sht"),
                Value::Null,
                Value::Null
            ),
            crd(
                "cells",
                names("Cell", "cells", "cel"),
                json!([
                    column("Gateway", "integer", ".status.gatewayReadyReplicas"),
                    column("Ready", "string", available),
                    phase,
                ]),
                status.clone(),
            ),
            crd(
                "shards",
                names("Shard", "shards", "srd"),
                json!([column("Ready", "string", available), phase]),
                json!({
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.readyReplicas",
                    },
                }),
            ),
            crd(
                "toposervers",
                names("TopoServer", "toposervers", "tps"),
                json!([column("Ready", "string", available), phase]),
                status,
            ),
        ]
    );
}

/// Schema defaults are only those of the Go CRDs (spec-api.md §2.5, §2.14, §3.1), minus the
/// per-field `pvcDeletionPolicy` defaults below the cluster's own policy (deliberate fix 4,
/// docs/compatibility.md): no default leaks in from serde, and only
/// `MultigresCluster.spec.pvcDeletionPolicy`, the root of the inheritance chain, defaults its
/// fields.
#[test]
fn schema_defaults_are_the_go_crd_defaults_except_inherited_pvc_policy_fields() {
    let mut policies_per_kind = Vec::new();
    for plural in PLURALS {
        let mut unexpected = Vec::new();
        let mut policies = 0;
        walk(crd_schema(plural), "", &mut |path, node| {
            if path.ends_with(".pvcDeletionPolicy") {
                policies += 1;
            }
            let Some(default) = node.get("default") else {
                return;
            };
            let cluster = plural == "multigresclusters";
            let expected = if cluster && path == ".spec.pvcDeletionPolicy" {
                json!({ "whenDeleted": "Retain", "whenScaled": "Delete" })
            } else if cluster && path == ".spec.pvcDeletionPolicy.whenDeleted" {
                json!("Retain")
            } else if cluster && path == ".spec.pvcDeletionPolicy.whenScaled" {
                json!("Delete")
            } else if cluster && path == ".spec.postgresSuperuser" {
                json!("postgres")
            } else if path.ends_with(".samplingConfigRef.key") {
                json!("sampling-config.yaml")
            } else if path.ends_with(".imagePullSecrets[].name") {
                json!("")
            } else {
                Value::Null
            };
            if *default != expected {
                unexpected.push(format!("{path}: default {default}"));
            }
        });
        assert_eq!(unexpected, Vec::<String>::new(), "{plural}");
        policies_per_kind.push((plural, policies > 0));
    }
    // Every kind embeds a policy somewhere, so the walk above did meet the fields it checks.
    assert_eq!(
        policies_per_kind,
        PLURALS
            .iter()
            .map(|plural| (*plural, true))
            .collect::<Vec<_>>()
    );
}
