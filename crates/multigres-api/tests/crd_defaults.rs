//! The schema defaults of the generated CRDs, applied as the API server applies them (the CRD
//! engine `crd-admission`), give the Go CRD's defaults (spec-api.md §2.5, §2.14, §3.1) and
//! reproduce the CRD-defaulted objects of the golden cases.

// Each test crate uses part of these support modules.
#[allow(dead_code)]
mod cel_catalogue;
#[allow(dead_code)]
mod support;

use cel_catalogue::apply_defaults;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn cluster(spec: Value) -> Value {
    json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": "MultigresCluster",
        "metadata": { "name": "prod", "namespace": "db" },
        "spec": spec,
    })
}

#[test]
fn an_empty_cluster_gets_the_pvc_policy_and_superuser_defaults() {
    assert_eq!(
        apply_defaults("multigresclusters", &cluster(json!({}))),
        cluster(json!({
            "pvcDeletionPolicy": { "whenDeleted": "Retain", "whenScaled": "Delete" },
            "postgresSuperuser": "postgres",
        }))
    );
}

/// Only the cluster's own `pvcDeletionPolicy` gets its missing field. A partial policy below it
/// stays partial, so its unset field inherits the parent's value in the resolver instead of
/// overriding it (deliberate fix 4, docs/compatibility.md; Go defaults every level, spec-api.md
/// §2.5, §17 Q5). Explicit values stay.
#[test]
fn only_the_cluster_policy_gets_field_defaults_and_explicit_values_stay() {
    let lower_levels = json!({
        "globalTopoServer": { "etcd": { "pvcDeletionPolicy": {} } },
        "databases": [{
            "name": "postgres",
            "default": true,
            "tablegroups": [{
                "name": "default",
                "default": true,
                "pvcDeletionPolicy": { "whenDeleted": "Delete" },
                "shards": [{
                    "name": "0-inf",
                    "spec": { "pools": { "main": { "pvcDeletionPolicy": { "whenScaled": "Retain" } } } },
                }],
            }],
        }],
    });
    let mut input = json!({
        "images": { "imagePullSecrets": [{}] },
        "pvcDeletionPolicy": { "whenScaled": "Retain" },
        "postgresSuperuser": "admin",
        "observability": { "samplingConfigRef": { "name": "sampling" } },
    });
    let mut expected = json!({
        "images": { "imagePullSecrets": [{ "name": "" }] },
        "pvcDeletionPolicy": { "whenDeleted": "Retain", "whenScaled": "Retain" },
        "postgresSuperuser": "admin",
        "observability": { "samplingConfigRef": { "name": "sampling", "key": "sampling-config.yaml" } },
    });
    for (key, value) in lower_levels.as_object().expect("an object literal") {
        input[key] = value.clone();
        expected[key] = value.clone();
    }
    assert_eq!(
        apply_defaults("multigresclusters", &cluster(input)),
        cluster(expected)
    );
}

/// Child resources and templates carry no `pvcDeletionPolicy` field default: a partial or empty
/// policy is stored as written (deliberate fix 4).
#[test]
fn child_and_template_policies_are_stored_as_written() {
    let spec_with = |kind: &str, spec: Value| json!({ "apiVersion": "multigres.com/v1alpha1", "kind": kind, "metadata": { "name": "x" }, "spec": spec });
    let cases = [
        (
            "shards",
            "Shard",
            json!({ "pvcDeletionPolicy": { "whenDeleted": "Delete" } }),
        ),
        (
            "tablegroups",
            "TableGroup",
            json!({ "pvcDeletionPolicy": { "whenScaled": "Retain" } }),
        ),
        (
            "toposervers",
            "TopoServer",
            json!({ "pvcDeletionPolicy": {} }),
        ),
        (
            "cells",
            "Cell",
            json!({ "topoServer": { "etcd": { "pvcDeletionPolicy": {} } } }),
        ),
        (
            "shardtemplates",
            "ShardTemplate",
            json!({ "pvcDeletionPolicy": { "whenDeleted": "Delete" } }),
        ),
        (
            "coretemplates",
            "CoreTemplate",
            json!({ "globalTopoServer": { "pvcDeletionPolicy": { "whenDeleted": "Delete" } } }),
        ),
        (
            "celltemplates",
            "CellTemplate",
            json!({ "localTopoServer": { "etcd": { "pvcDeletionPolicy": { "whenScaled": "Retain" } } } }),
        ),
    ];
    let objects: Vec<Value> = cases
        .iter()
        .map(|(_, kind, spec)| spec_with(kind, spec.clone()))
        .collect();
    let defaulted: Vec<Value> = cases
        .iter()
        .zip(&objects)
        .map(|((plural, _, _), object)| apply_defaults(plural, object))
        .collect();
    assert_eq!(defaulted, objects);
}

/// The golden template cases were CRD-defaulted before the webhook ran (golden/templates/
/// README.md): the cluster gains exactly the policy and superuser the webhook-defaulted output
/// carries. Unlike with the Go CRDs, `core-prod`'s `globalTopoServer.pvcDeletionPolicy
/// {whenDeleted: Delete}` stays as written (deliberate fix 4): its `whenScaled` is inherited from
/// the cluster's `Delete` by the resolver, the value the Go CRD default gave it.
#[test]
fn golden_template_inputs_default_like_the_go_crds() {
    let Some(golden) = support::golden_dir("golden_template_inputs_default_like_the_go_crds")
    else {
        return;
    };
    let templates = golden.join("templates");
    for case in ["t1-explicit", "t3-cluster-defaults"] {
        let input = support::read_json(&templates.join(format!("{case}.cluster-input.json")));
        let webhook_output =
            support::read_json(&templates.join(format!("{case}.multigrescluster.defaulted.json")));
        let mut expected = input.clone();
        expected["spec"]["pvcDeletionPolicy"] = webhook_output["spec"]["pvcDeletionPolicy"].clone();
        expected["spec"]["postgresSuperuser"] = webhook_output["spec"]["postgresSuperuser"].clone();
        assert_eq!(
            apply_defaults("multigresclusters", &input),
            expected,
            "{case}"
        );

        let stored = support::read_json(&templates.join(format!("{case}.templates.json")));
        assert_eq!(
            stored[0]["spec"]["globalTopoServer"]["pvcDeletionPolicy"],
            json!({ "whenDeleted": "Delete" }),
            "{case}: core-prod's partial policy"
        );
        let expected = stored.clone();
        let defaulted: Vec<Value> = stored
            .as_array()
            .expect("templates.json holds a list")
            .iter()
            .map(|template| {
                let plural = match template["kind"].as_str() {
                    Some("CoreTemplate") => "coretemplates",
                    Some("CellTemplate") => "celltemplates",
                    _ => "shardtemplates",
                };
                apply_defaults(plural, template)
            })
            .collect();
        assert_eq!(Value::Array(defaulted), expected, "{case} templates");
    }
}

/// The child resources the Go controllers built are unchanged by their CRD defaults
/// (golden/objects/README.md "How they were made", step 2).
#[test]
fn golden_child_resources_are_fixed_points_of_crd_defaulting() {
    let Some(golden) =
        support::golden_dir("golden_child_resources_are_fixed_points_of_crd_defaulting")
    else {
        return;
    };
    let mut checked = 0;
    for dir in [golden.join("objects"), golden.join("templates")] {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("the golden directories are listable")
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        files.sort();
        for file in files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if name.ends_with(".pretty.json") || !name.ends_with(".json") {
                continue;
            }
            let plural = [
                (".cell.", "cells"),
                (".shard.", "shards"),
                (".tablegroup.", "tablegroups"),
                (".toposerver.", "toposervers"),
            ]
            .into_iter()
            .find_map(|(marker, plural)| name.contains(marker).then_some(plural));
            let Some(plural) = plural else {
                continue;
            };
            let object = support::read_json(&file);
            assert_eq!(apply_defaults(plural, &object), object, "{name}");
            checked += 1;
        }
    }
    // Four pool cases × four child kinds, plus the 9 children of the two template cases.
    assert_eq!(checked, 25);
}
