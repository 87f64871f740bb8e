//! Every CEL rule of spec-api.md §9, evaluated by the CRD engine that serves them
//! (`crd-admission`, which runs kube-cel) on the
//! generated CRDs:
//! for each rule an object that passes and one that is rejected with the rule's exact message
//! (transition rules with an old object). The rule numbers are those of §9.

// Each test crate uses part of the catalogue module.
#[allow(dead_code)]
mod cel_catalogue;

use cel_catalogue::{admit, message};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// One object checked against a CRD: what the API server would report, as
/// `(field path, message)` pairs in the engine's order.
struct Case {
    name: &'static str,
    plural: &'static str,
    object: Value,
    old: Option<Value>,
    rejections: Vec<(&'static str, &'static str)>,
}

fn accepted(name: &'static str, plural: &'static str, object: Value) -> Case {
    Case {
        name,
        plural,
        object,
        old: None,
        rejections: Vec::new(),
    }
}

fn rejected(
    name: &'static str,
    plural: &'static str,
    object: Value,
    rejections: Vec<(&'static str, &'static str)>,
) -> Case {
    Case {
        name,
        plural,
        object,
        old: None,
        rejections,
    }
}

/// A case of a transition rule: `object` replaces `old`.
fn updated(case: Case, old: Value) -> Case {
    Case {
        old: Some(old),
        ..case
    }
}

/// Evaluates every case and compares all outcomes at once, so one failure shows them all.
fn check(cases: Vec<Case>) {
    let mut actual = Vec::new();
    let mut expected = Vec::new();
    for case in cases {
        let outcome = admit(case.plural, &case.object, case.old.as_ref())
            .err()
            .unwrap_or_default();
        actual.push((case.name, outcome));
        let rejections = case
            .rejections
            .iter()
            .map(|(path, msg)| ((*path).to_owned(), (*msg).to_owned()));
        expected.push((case.name, rejections.collect::<Vec<_>>()));
    }
    assert_eq!(actual, expected);
}

fn cluster(spec: Value) -> Value {
    cluster_named("prod", spec)
}

fn cluster_named(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": "MultigresCluster",
        "metadata": { "name": name, "namespace": "db" },
        "spec": spec,
    })
}

/// An object of `kind` whose spec has `spec`'s fields over the fields the kind requires, so a
/// case shows only the rule it is about (the API server checks required fields too).
fn object(kind: &str, spec: Value) -> Value {
    let topo = json!({ "address": "topo:2379", "implementation": "etcd", "rootPath": "/multigres/global" });
    let shard_images =
        json!({ "multiorch": "orch:1", "multipooler": "pooler:1", "postgres": "pg:1" });
    let mut full = match kind {
        "Shard" => json!({
            "databaseName": "postgres", "tableGroupName": "default", "shardName": "0-inf",
            "images": shard_images, "globalTopoServer": topo, "multiorch": {}, "pools": {},
        }),
        "TableGroup" => json!({
            "databaseName": "postgres", "tableGroupName": "default",
            "images": shard_images, "globalTopoServer": topo,
        }),
        "Cell" => json!({ "name": "zone-a",
            "globalTopoServer": topo, "images": { "multigateway": "gateway:1" }, "multigateway": {},
        }),
        _ => json!({}),
    };
    for (field, value) in spec.as_object().into_iter().flatten() {
        full[field] = value.clone();
    }
    if let Some(shards) = full.get_mut("shards").and_then(Value::as_array_mut) {
        for shard in shards {
            for required in ["multiorch", "pools"] {
                if shard.get(required).is_none() {
                    shard[required] = json!({});
                }
            }
        }
    }
    json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": kind,
        "metadata": { "name": "child", "namespace": "db" },
        "spec": full,
    })
}

/// A cluster whose only shard has the given fields.
fn cluster_with_shard(shard: Value) -> Value {
    cluster(json!({
        "databases": [{
            "name": "postgres",
            "default": true,
            "tablegroups": [{ "name": "default", "default": true, "shards": [shard] }],
        }],
    }))
}

#[test]
fn rule_1_cluster_names_are_at_most_25_characters() {
    check(vec![
        accepted(
            "25 characters",
            "multigresclusters",
            cluster_named(&"a".repeat(25), json!({})),
        ),
        rejected(
            "26 characters",
            "multigresclusters",
            cluster_named(&"a".repeat(26), json!({})),
            vec![("<nil>", message(1))],
        ),
    ]);
}

#[test]
fn rules_2_to_6_cells_are_append_only_and_take_one_source_of_configuration() {
    let two_cells = cluster(json!({ "cells": [{ "name": "zone-a" }, { "name": "zone-b" }] }));
    check(vec![
        updated(
            accepted(
                "rule 2: a cell is added",
                "multigresclusters",
                cluster(
                    json!({ "cells": [{ "name": "zone-a" }, { "name": "zone-b" }, { "name": "zone-c" }] }),
                ),
            ),
            two_cells.clone(),
        ),
        updated(
            rejected(
                "rule 2: a cell is removed",
                "multigresclusters",
                cluster(json!({ "cells": [{ "name": "zone-a" }] })),
                vec![("spec.cells", message(2))],
            ),
            two_cells.clone(),
        ),
        updated(
            rejected(
                "rule 2: a cell is renamed",
                "multigresclusters",
                cluster(json!({ "cells": [{ "name": "zone-a" }, { "name": "zone-x" }] })),
                vec![("spec.cells", message(2))],
            ),
            two_cells,
        ),
        accepted(
            "rules 3-5: template with overrides and a zone",
            "multigresclusters",
            cluster(json!({ "cells": [{
                "name": "zone-a",
                "zone": "us-east-1a",
                "cellTemplate": "gw-large",
                "overrides": { "multigateway": { "replicas": 2 } },
            }] })),
        ),
        rejected(
            "rule 3: inline spec and template",
            "multigresclusters",
            cluster(
                json!({ "cells": [{ "name": "zone-a", "cellTemplate": "gw-large", "spec": {} }] }),
            ),
            vec![("spec.cells[0]", message(3))],
        ),
        rejected(
            "rule 4: inline spec and overrides",
            "multigresclusters",
            cluster(json!({ "cells": [{ "name": "zone-a", "overrides": {}, "spec": {} }] })),
            vec![("spec.cells[0]", message(4))],
        ),
        rejected(
            "rule 5: zone and region on a cluster cell",
            "multigresclusters",
            cluster(
                json!({ "cells": [{ "name": "zone-a", "zone": "us-east-1a", "region": "us-east-1" }] }),
            ),
            vec![("spec.cells[0]", message(5))],
        ),
        accepted(
            "rule 5: region only on a Cell",
            "cells",
            object("Cell", json!({ "name": "zone-a", "region": "us-east-1" })),
        ),
        rejected(
            "rule 5: zone and region on a Cell",
            "cells",
            object(
                "Cell",
                json!({ "name": "zone-a", "zone": "us-east-1a", "region": "us-east-1" }),
            ),
            vec![("spec", message(5))],
        ),
        accepted(
            "rule 6: inline cell without a local topology server",
            "multigresclusters",
            cluster(
                json!({ "cells": [{ "name": "zone-a", "spec": { "multigateway": { "replicas": 2 } } }] }),
            ),
        ),
        rejected(
            "rule 6: inline cell with a local topology server",
            "multigresclusters",
            cluster(
                json!({ "cells": [{ "name": "zone-a", "spec": { "localTopoServer": { "etcd": {} } } }] }),
            ),
            vec![("spec.cells[0].spec", message(6))],
        ),
        rejected(
            "rule 6: CellTemplate with a local topology server",
            "celltemplates",
            object("CellTemplate", json!({ "localTopoServer": { "etcd": {} } })),
            vec![("spec", message(6))],
        ),
    ]);
}

#[test]
fn rules_7_and_8_local_topology_servers_have_exactly_one_backend() {
    let external = json!({ "endpoints": ["https://etcd.example.com:2379"] });
    check(vec![
        accepted(
            "managed etcd",
            "cells",
            object(
                "Cell",
                json!({ "name": "zone-a", "topoServer": { "etcd": {} } }),
            ),
        ),
        accepted(
            "external server",
            "cells",
            object(
                "Cell",
                json!({ "name": "zone-a", "topoServer": { "external": external } }),
            ),
        ),
        rejected(
            "rule 7: neither",
            "cells",
            object("Cell", json!({ "name": "zone-a", "topoServer": {} })),
            vec![("spec.topoServer", message(7))],
        ),
        rejected(
            "rule 8: both",
            "cells",
            object(
                "Cell",
                json!({ "name": "zone-a", "topoServer": { "etcd": {}, "external": external } }),
            ),
            vec![("spec.topoServer", message(8))],
        ),
        rejected(
            "rules 6 and 7: an empty local topology server in a CellTemplate",
            "celltemplates",
            object("CellTemplate", json!({ "localTopoServer": {} })),
            vec![("spec", message(6)), ("spec.localTopoServer", message(7))],
        ),
    ]);
}

#[test]
fn rules_9_to_12_topology_server_specs() {
    check(vec![
        accepted(
            "rule 9: http and https endpoints",
            "multigresclusters",
            cluster(json!({ "globalTopoServer": { "external": {
                "endpoints": ["http://etcd-0:2379", "https://etcd-1:2379"],
            } } })),
        ),
        rejected(
            "rule 9: an endpoint without an http(s) scheme",
            "multigresclusters",
            cluster(json!({ "globalTopoServer": { "external": {
                "endpoints": ["https://etcd-0:2379", "etcd-1:2379"],
            } } })),
            vec![("spec.globalTopoServer.external.endpoints", message(9))],
        ),
        accepted(
            "rule 10: three etcd members",
            "toposervers",
            object("TopoServer", json!({ "etcd": { "replicas": 3 } })),
        ),
        rejected(
            "rule 10: four etcd members",
            "toposervers",
            object("TopoServer", json!({ "etcd": { "replicas": 4 } })),
            vec![("spec.etcd.replicas", message(10))],
        ),
        rejected(
            "rule 10: two etcd members in a cluster's global topology server",
            "multigresclusters",
            cluster(json!({ "globalTopoServer": { "etcd": { "replicas": 2 } } })),
            vec![("spec.globalTopoServer.etcd.replicas", message(10))],
        ),
        accepted(
            "rule 11: a template reference only",
            "multigresclusters",
            cluster(json!({ "globalTopoServer": { "templateRef": "core-prod" } })),
        ),
        rejected(
            "rule 11: nothing",
            "multigresclusters",
            cluster(
                json!({ "globalTopoServer": { "pvcDeletionPolicy": { "whenDeleted": "Delete" } } }),
            ),
            vec![("spec.globalTopoServer", message(11))],
        ),
        rejected(
            "rule 11: etcd and a template reference",
            "multigresclusters",
            cluster(json!({ "globalTopoServer": { "etcd": {}, "templateRef": "core-prod" } })),
            vec![("spec.globalTopoServer", message(11))],
        ),
        accepted(
            "rule 12: a CoreTemplate with etcd",
            "coretemplates",
            object(
                "CoreTemplate",
                json!({ "globalTopoServer": { "etcd": { "replicas": 5 } } }),
            ),
        ),
        rejected(
            "rule 12: a CoreTemplate topology server without etcd",
            "coretemplates",
            object(
                "CoreTemplate",
                json!({ "globalTopoServer": { "pvcDeletionPolicy": {} } }),
            ),
            vec![("spec.globalTopoServer", message(12))],
        ),
        rejected(
            "rule 12: a TopoServer without etcd",
            "toposervers",
            object("TopoServer", json!({})),
            vec![("spec", message(12))],
        ),
    ]);
}

#[test]
fn rules_13_and_14_multiadmin_takes_a_spec_or_a_template() {
    check(vec![
        accepted(
            "inline multiadmin, templated multiadmin-web",
            "multigresclusters",
            cluster(json!({
                "multiadmin": { "spec": { "replicas": 2 } },
                "multiadminWeb": { "templateRef": "core-prod" },
            })),
        ),
        rejected(
            "rule 13: neither",
            "multigresclusters",
            cluster(json!({ "multiadmin": {} })),
            vec![("spec.multiadmin", message(13))],
        ),
        rejected(
            "rule 14: both",
            "multigresclusters",
            cluster(json!({ "multiadminWeb": { "spec": {}, "templateRef": "core-prod" } })),
            vec![("spec.multiadminWeb", message(14))],
        ),
    ]);
}

#[test]
fn rules_15_to_20_databases_table_groups_and_shards() {
    check(vec![
        accepted(
            "the system database with its default table group and shard",
            "multigresclusters",
            cluster_with_shard(json!({ "name": "0-inf", "shardTemplate": "shard-std" })),
        ),
        rejected(
            "rule 15: another database",
            "multigresclusters",
            cluster(json!({ "databases": [{ "name": "orders", "default": true }] })),
            vec![("spec.databases", message(15))],
        ),
        rejected(
            "rule 15: the system database not marked default",
            "multigresclusters",
            cluster(json!({ "databases": [{ "name": "postgres", "default": false }] })),
            vec![("spec.databases", message(15))],
        ),
        // spec-api.md §17 Q12: with `default` absent the rule cannot evaluate `db.default`; the
        // object is rejected with an evaluation error instead of the rule's message.
        rejected(
            "rule 15: the system database without `default`",
            "multigresclusters",
            cluster(json!({ "databases": [{ "name": "postgres" }] })),
            vec![(
                "spec.databases",
                "no such key: default evaluating rule: in v1alpha1, only the single system database \
                 named 'postgres' (marked default: true) is supported",
            )],
        ),
        rejected(
            "rule 16: no default table group",
            "multigresclusters",
            cluster(json!({ "databases": [{
                "name": "postgres",
                "default": true,
                "tablegroups": [{ "name": "default" }, { "name": "orders" }],
            }] })),
            vec![("spec.databases[0].tablegroups", message(16))],
        ),
        rejected(
            "rule 16: two default table groups",
            "multigresclusters",
            cluster(json!({ "databases": [{
                "name": "postgres",
                "default": true,
                "tablegroups": [
                    { "name": "default", "default": true },
                    { "name": "default-2", "default": true },
                ],
            }] })),
            vec![
                ("spec.databases[0].tablegroups", message(16)),
                ("spec.databases[0].tablegroups[1]", message(17)),
            ],
        ),
        rejected(
            "rule 17: the default table group named otherwise",
            "multigresclusters",
            cluster(json!({ "databases": [{
                "name": "postgres",
                "default": true,
                "tablegroups": [{ "name": "main", "default": true }],
            }] })),
            vec![("spec.databases[0].tablegroups[0]", message(17))],
        ),
        rejected(
            "rule 18: inline spec and template",
            "multigresclusters",
            cluster_with_shard(
                json!({ "name": "0-inf", "shardTemplate": "shard-std", "spec": {} }),
            ),
            vec![("spec.databases[0].tablegroups[0].shards[0]", message(18))],
        ),
        rejected(
            "rule 19: inline spec and overrides",
            "multigresclusters",
            cluster_with_shard(json!({ "name": "0-inf", "overrides": {}, "spec": {} })),
            vec![("spec.databases[0].tablegroups[0].shards[0]", message(19))],
        ),
        rejected(
            "rule 20: another shard name",
            "multigresclusters",
            cluster_with_shard(json!({ "name": "0-80" })),
            vec![(
                "spec.databases[0].tablegroups[0].shards[0].name",
                message(20),
            )],
        ),
    ]);
}

#[test]
fn rules_21_to_24_pool_names_pools_and_pool_cells() {
    let name_25 = "p".repeat(25);
    let name_26 = "p".repeat(26);
    let name_62 = "p".repeat(62);
    let name_63 = "p".repeat(63);
    let inline_pools =
        |pools: Value| cluster_with_shard(json!({ "name": "0-inf", "spec": { "pools": pools } }));
    let override_pools = |pools: Value| {
        cluster_with_shard(json!({ "name": "0-inf", "overrides": { "pools": pools } }))
    };
    let template_pools = |pools: Value| object("ShardTemplate", json!({ "pools": pools }));
    let shard_pools = |pools: Value| object("Shard", json!({ "pools": pools }));
    let table_group_pools = |pools: Value| {
        object(
            "TableGroup",
            json!({ "shards": [{ "name": "0-inf", "pools": pools }] }),
        )
    };
    check(vec![
        accepted(
            "rule 21: a 25-character inline pool",
            "multigresclusters",
            inline_pools(json!({ name_25.clone(): {} })),
        ),
        rejected(
            "rule 21: a 26-character inline pool",
            "multigresclusters",
            inline_pools(json!({ name_26.clone(): {} })),
            vec![(
                "spec.databases[0].tablegroups[0].shards[0].spec.pools",
                message(21),
            )],
        ),
        rejected(
            "rule 21: a 26-character override pool",
            "multigresclusters",
            override_pools(json!({ name_26: {} })),
            vec![(
                "spec.databases[0].tablegroups[0].shards[0].overrides.pools",
                message(21),
            )],
        ),
        updated(
            accepted(
                "rule 22: an inline pool is added",
                "multigresclusters",
                inline_pools(json!({ "main": {}, "extra": {} })),
            ),
            inline_pools(json!({ "main": {} })),
        ),
        updated(
            rejected(
                "rule 22: an inline pool is removed",
                "multigresclusters",
                inline_pools(json!({ "main": {} })),
                vec![(
                    "spec.databases[0].tablegroups[0].shards[0].spec.pools",
                    message(22),
                )],
            ),
            inline_pools(json!({ "main": {}, "extra": {} })),
        ),
        updated(
            rejected(
                "rule 22: an override pool is renamed",
                "multigresclusters",
                override_pools(json!({ "renamed": {} })),
                vec![(
                    "spec.databases[0].tablegroups[0].shards[0].overrides.pools",
                    message(22),
                )],
            ),
            override_pools(json!({ "main": {} })),
        ),
        updated(
            rejected(
                "rule 22: a template pool is removed",
                "shardtemplates",
                template_pools(json!({})),
                vec![("spec.pools", message(22))],
            ),
            template_pools(json!({ "main": {} })),
        ),
        accepted(
            "rule 23: a 62-character template pool",
            "shardtemplates",
            template_pools(json!({ name_62: {} })),
        ),
        rejected(
            "rule 23: a 63-character template pool",
            "shardtemplates",
            template_pools(json!({ name_63.clone(): {} })),
            vec![("spec.pools", message(23))],
        ),
        rejected(
            "rule 23: a 63-character Shard pool",
            "shards",
            shard_pools(json!({ name_63.clone(): {} })),
            vec![("spec.pools", message(23))],
        ),
        rejected(
            "rule 23: a 63-character TableGroup pool",
            "tablegroups",
            table_group_pools(json!({ name_63: {} })),
            vec![("spec.shards[0].pools", message(23))],
        ),
        updated(
            accepted(
                "rule 24: a cell is added to a Shard pool",
                "shards",
                shard_pools(json!({ "main": { "cells": ["zone-a", "zone-b"] } })),
            ),
            shard_pools(json!({ "main": { "cells": ["zone-a"] } })),
        ),
        updated(
            rejected(
                "rule 24: a cell is removed from a Shard pool",
                "shards",
                shard_pools(json!({ "main": { "cells": ["zone-b"] } })),
                vec![("spec.pools[main].cells", message(24))],
            ),
            shard_pools(json!({ "main": { "cells": ["zone-a", "zone-b"] } })),
        ),
        updated(
            rejected(
                "rule 24: a cell is removed from an inline pool",
                "multigresclusters",
                inline_pools(json!({ "main": { "cells": ["zone-a"] } })),
                vec![(
                    "spec.databases[0].tablegroups[0].shards[0].spec.pools[main].cells",
                    message(24),
                )],
            ),
            inline_pools(json!({ "main": { "cells": ["zone-a", "zone-b"] } })),
        ),
        updated(
            rejected(
                "rule 24: a cell is removed from a TableGroup pool",
                "tablegroups",
                table_group_pools(json!({ "main": { "cells": ["zone-a"] } })),
                vec![("spec.shards[0].pools[main].cells", message(24))],
            ),
            table_group_pools(json!({ "main": { "cells": ["zone-a", "zone-b"] } })),
        ),
    ]);
}

#[test]
fn rules_25_and_26_pod_annotations_and_labels_are_bounded() {
    let key_63 = format!("example.com/{}", "k".repeat(51));
    let key_64 = format!("example.com/{}", "k".repeat(52));
    check(vec![
        accepted(
            "keys of 63 characters, a 255-character annotation and a 63-character label",
            "multigresclusters",
            cluster(json!({ "multiadmin": { "spec": {
                "podAnnotations": { key_63.clone(): "v".repeat(255) },
                "podLabels": { key_63.clone(): "v".repeat(63) },
            } } })),
        ),
        rejected(
            "rule 25: a 64-character annotation key on multiadmin",
            "multigresclusters",
            cluster(
                json!({ "multiadmin": { "spec": { "podAnnotations": { key_64.clone(): "v" } } } }),
            ),
            vec![("spec.multiadmin.spec.podAnnotations", message(25))],
        ),
        rejected(
            "rule 25: a 256-character annotation value on a Shard's multiorch",
            "shards",
            object(
                "Shard",
                json!({ "multiorch": { "podAnnotations": { "team": "v".repeat(256) } } }),
            ),
            vec![("spec.multiorch.podAnnotations", message(25))],
        ),
        rejected(
            "rule 26: a 64-character label key on a CellTemplate's multigateway",
            "celltemplates",
            object(
                "CellTemplate",
                json!({ "multigateway": { "podLabels": { key_64: "v" } } }),
            ),
            vec![("spec.multigateway.podLabels", message(26))],
        ),
        rejected(
            "rule 26: a 64-character label value on a Cell's multigateway",
            "cells",
            object(
                "Cell",
                json!({ "multigateway": { "podLabels": { "tier": "v".repeat(64) } } }),
            ),
            vec![("spec.multigateway.podLabels", message(26))],
        ),
    ]);
}

#[test]
fn rules_27_to_30_backup_configurations() {
    let s3 = |extra: Value| {
        let mut s3 = json!({ "bucket": "backups", "region": "eu-west-1" });
        s3.as_object_mut()
            .expect("a JSON object")
            .extend(extra.as_object().cloned().unwrap_or_default());
        json!({ "type": "s3", "s3": s3 })
    };
    check(vec![
        accepted(
            "filesystem backups",
            "multigresclusters",
            cluster(
                json!({ "backup": { "type": "filesystem", "filesystem": { "path": "/backups" } } }),
            ),
        ),
        accepted(
            "S3 backups through IRSA",
            "multigresclusters",
            cluster(json!({ "backup": s3(json!({ "serviceAccountName": "backup" })) })),
        ),
        accepted(
            "S3 backups with an empty service account and a credentials Secret",
            "shards",
            object(
                "Shard",
                json!({ "backup": s3(json!({ "serviceAccountName": "", "credentialsSecret": "s3" })) }),
            ),
        ),
        rejected(
            "rule 27: S3 without its settings",
            "multigresclusters",
            cluster(json!({ "backup": { "type": "s3" } })),
            vec![("spec.backup", message(27))],
        ),
        rejected(
            "rule 28: filesystem without its settings, on a database",
            "multigresclusters",
            cluster(json!({ "databases": [{
                "name": "postgres",
                "default": true,
                "backup": { "type": "filesystem" },
            }] })),
            vec![("spec.databases[0].backup", message(28))],
        ),
        rejected(
            "rule 29: a service account and a credentials Secret, on a TableGroup shard",
            "tablegroups",
            object(
                "TableGroup",
                json!({ "shards": [{
                "name": "0-inf",
                "backup": s3(json!({ "serviceAccountName": "backup", "credentialsSecret": "s3" })),
            }] }),
            ),
            vec![("spec.shards[0].backup.s3", message(29))],
        ),
        rejected(
            "rule 30: a service account and environment credentials",
            "multigresclusters",
            cluster(
                json!({ "backup": s3(json!({ "serviceAccountName": "backup", "useEnvCredentials": true })) }),
            ),
            vec![("spec.backup.s3", message(30))],
        ),
    ]);
}

#[test]
fn rule_31_exposure_annotations_avoid_the_operator_prefix() {
    check(vec![
        accepted(
            "load balancer annotations",
            "multigresclusters",
            cluster(json!({ "externalGateway": {
                "enabled": true,
                "annotations": { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
            } })),
        ),
        rejected(
            "an annotation under multigres.com/ on the gateway",
            "multigresclusters",
            cluster(
                json!({ "externalGateway": { "enabled": true, "annotations": { "multigres.com/x": "y" } } }),
            ),
            vec![("spec.externalGateway", message(31))],
        ),
        rejected(
            "an annotation under multigres.com/ on the admin web",
            "multigresclusters",
            cluster(
                json!({ "externalAdminWeb": { "enabled": false, "annotations": { "multigres.com/x": "y" } } }),
            ),
            vec![("spec.externalAdminWeb", message(31))],
        ),
    ]);
}
