//! The schema defaults of the generated CRDs, applied as the API server applies them (kube-cel's
//! structural defaulting), give the Go CRD's defaults (spec-api.md §2.5, §2.14, §3.1) and
//! reproduce the CRD-defaulted objects of the golden cases.

// Each test crate uses part of these support modules.
#[allow(dead_code)]
mod cel_catalogue;
#[allow(dead_code)]
mod support;

use cel_catalogue::crd_schema;
use kube_cel::apply_defaults;
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
        apply_defaults(crd_schema("multigresclusters"), &cluster(json!({}))),
        cluster(json!({
            "pvcDeletionPolicy": { "whenDeleted": "Retain", "whenScaled": "Delete" },
            "postgresSuperuser": "postgres",
        }))
    );
}

/// Every present `pvcDeletionPolicy` gets its missing field, so a partial policy at a lower
/// level overrides both fields of its parent (spec-api.md §2.5, §17 Q5). Explicit values stay.
#[test]
fn present_objects_get_their_field_defaults_and_explicit_values_stay() {
    let input = cluster(json!({
        "images": { "imagePullSecrets": [{}] },
        "pvcDeletionPolicy": { "whenScaled": "Retain" },
        "postgresSuperuser": "admin",
        "observability": { "samplingConfigRef": { "name": "sampling" } },
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
    }));
    let expected = cluster(json!({
        "images": { "imagePullSecrets": [{ "name": "" }] },
        "pvcDeletionPolicy": { "whenDeleted": "Retain", "whenScaled": "Retain" },
        "postgresSuperuser": "admin",
        "observability": { "samplingConfigRef": { "name": "sampling", "key": "sampling-config.yaml" } },
        "globalTopoServer": {
            "etcd": { "pvcDeletionPolicy": { "whenDeleted": "Retain", "whenScaled": "Delete" } },
        },
        "databases": [{
            "name": "postgres",
            "default": true,
            "tablegroups": [{
                "name": "default",
                "default": true,
                "pvcDeletionPolicy": { "whenDeleted": "Delete", "whenScaled": "Delete" },
                "shards": [{
                    "name": "0-inf",
                    "spec": { "pools": { "main": {
                        "pvcDeletionPolicy": { "whenDeleted": "Retain", "whenScaled": "Retain" },
                    } } },
                }],
            }],
        }],
    }));
    assert_eq!(
        apply_defaults(crd_schema("multigresclusters"), &input),
        expected
    );
}

#[test]
fn child_and_template_policies_get_their_field_defaults() {
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
            "shardtemplates",
            "ShardTemplate",
            json!({ "pvcDeletionPolicy": { "whenDeleted": "Delete" } }),
        ),
    ];
    let defaulted: Vec<Value> = cases
        .iter()
        .map(|(plural, kind, spec)| {
            apply_defaults(crd_schema(plural), &spec_with(kind, spec.clone()))
        })
        .collect();
    assert_eq!(
        defaulted,
        vec![
            spec_with(
                "Shard",
                json!({ "pvcDeletionPolicy": { "whenDeleted": "Delete", "whenScaled": "Delete" } })
            ),
            spec_with(
                "TableGroup",
                json!({ "pvcDeletionPolicy": { "whenDeleted": "Retain", "whenScaled": "Retain" } })
            ),
            spec_with(
                "TopoServer",
                json!({ "pvcDeletionPolicy": { "whenDeleted": "Retain", "whenScaled": "Delete" } })
            ),
            spec_with(
                "ShardTemplate",
                json!({ "pvcDeletionPolicy": { "whenDeleted": "Delete", "whenScaled": "Delete" } })
            ),
        ]
    );
}

/// The golden template cases were CRD-defaulted before the webhook ran (golden/templates/
/// README.md): the cluster gains exactly the policy and superuser the webhook-defaulted output
/// carries, and `core-prod`'s `{whenDeleted: Delete}` is stored as `{Delete, Delete}`.
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
            apply_defaults(crd_schema("multigresclusters"), &input),
            expected,
            "{case}"
        );

        let stored = support::read_json(&templates.join(format!("{case}.templates.json")));
        let mut expected = stored.clone();
        expected[0]["spec"]["globalTopoServer"]["pvcDeletionPolicy"] =
            json!({ "whenDeleted": "Delete", "whenScaled": "Delete" });
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
                apply_defaults(crd_schema(plural), template)
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
            assert_eq!(
                apply_defaults(crd_schema(plural), &object),
                object,
                "{name}"
            );
            checked += 1;
        }
    }
    // Four pool cases × four child kinds, plus the 9 children of the two template cases.
    assert_eq!(checked, 25);
}
