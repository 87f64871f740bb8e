//! The labels, selectors and pod-template labels/annotations of every golden object
//! (spec/golden/objects, spec/golden/templates), rebuilt with `labels` from the logical inputs
//! and from the parent objects the Go builders read (the stored Shard, Cell and TopoServer).

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use multigres_api::labels::{
    self, Component, Labels, cell_gateway_labels, cell_labels, cluster_component_labels,
    global_gateway_selector, global_topo_server_labels, merge_labels, multiorch_labels,
    pg_hba_config_map_labels, pgbackrest_tls_labels, pool_data_pvc_labels, pool_labels,
    pool_pdb_labels, pool_pod_annotations, postgres_password_secret_labels, resolve_project_ref,
    selector_labels, shard_labels, shared_backup_pvc_labels, table_group_labels,
    topo_server_labels, workload_pod_annotations,
};
use multigres_api::naming::{self, ClusterName, PoolParts, ShardParts};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map_or_else(|| Err(pointer.to_owned()), Ok)
        .expect("golden object has this string field")
}

fn map_at(value: &Value, pointer: &str) -> Labels {
    value
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string map").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn opt_map(map: Labels) -> Option<Labels> {
    (!map.is_empty()).then_some(map)
}

/// What this test compares of one object.
#[derive(Debug, Default)]
struct Metadata {
    labels: Labels,
    annotations: Option<Labels>,
    selector: Option<Labels>,
    template_labels: Option<Labels>,
    template_annotations: Option<Labels>,
}

impl Metadata {
    fn to_json(&self) -> Value {
        json!({
            "labels": self.labels,
            "annotations": self.annotations,
            "selector": self.selector,
            "templateLabels": self.template_labels,
            "templateAnnotations": self.template_annotations,
        })
    }

    /// The same fields read from a golden object.
    fn of(object: &Value) -> Metadata {
        // Workloads and PDBs select with `matchLabels`, Services with a plain map.
        let selector = ["/spec/selector/matchLabels", "/spec/selector"]
            .into_iter()
            .find(|pointer| object.pointer(pointer).is_some())
            .map(|pointer| map_at(object, pointer));
        Metadata {
            labels: map_at(object, "/metadata/labels"),
            annotations: opt_map(map_at(object, "/metadata/annotations")),
            selector,
            template_labels: object
                .pointer("/spec/template/metadata/labels")
                .map(|_| map_at(object, "/spec/template/metadata/labels")),
            template_annotations: opt_map(map_at(object, "/spec/template/metadata/annotations")),
        }
    }
}

/// A workload whose selector is the selector subset of its labels.
fn selected(labels: Labels) -> Metadata {
    Metadata {
        selector: Some(selector_labels(&labels)),
        labels,
        ..Metadata::default()
    }
}

/// Pod labels and annotations of a stateless component, read from the CoreTemplate the cluster
/// selects for it (`templateRef`, else `templateDefaults.coreTemplate`), overridden by an inline
/// spec. Enough of the resolver for the golden cases.
fn core_component_pod_metadata(
    cluster: &Value,
    templates: &[Value],
    key: &str,
) -> (Labels, Labels) {
    let template_name = cluster
        .pointer(&format!("/spec/{key}/templateRef"))
        .or_else(|| cluster.pointer("/spec/templateDefaults/coreTemplate"))
        .and_then(Value::as_str);
    let from_template = |field: &str| {
        template_name
            .and_then(|name| {
                templates.iter().find(|t| {
                    t["kind"] == "CoreTemplate" && t.pointer("/metadata/name") == Some(&json!(name))
                })
            })
            .map(|t| map_at(t, &format!("/spec/{key}/{field}")))
            .unwrap_or_default()
    };
    let pick = |field: &str| {
        opt_map(map_at(cluster, &format!("/spec/{key}/spec/{field}")))
            .unwrap_or_else(|| from_template(field))
    };
    (pick("podLabels"), pick("podAnnotations"))
}

fn expected_metadata(
    dir: &Path,
    case: &str,
    input_dir: &Path,
    rows: &[BTreeMap<String, String>],
) -> BTreeMap<(String, String), Metadata> {
    let cluster_input = support::read_json(&input_dir.join(format!("{case}.cluster-input.json")));
    let templates_file = input_dir.join(format!("{case}.templates.json"));
    let templates: Vec<Value> = if templates_file.exists() {
        support::read_json(&templates_file)
            .as_array()
            .expect("templates file is a list")
            .clone()
    } else {
        Vec::new()
    };
    let object = |kind: &str| -> Value {
        let row = rows
            .iter()
            .find(|row| row["kind"] == kind)
            .expect("each case has this kind");
        support::read_json(&dir.join(&row["file"]))
    };
    let cluster =
        ClusterName::parse(str_at(&cluster_input, "/metadata/name")).expect("valid cluster name");
    let shard_cr = object("Shard");
    let shard_cr_labels = map_at(&shard_cr, "/metadata/labels");
    let topo_cr_labels = map_at(&object("TopoServer"), "/metadata/labels");
    let shard = ShardParts {
        cluster: &cluster,
        database: str_at(&shard_cr, "/spec/databaseName"),
        table_group: str_at(&shard_cr, "/spec/tableGroupName"),
        shard: str_at(&shard_cr, "/spec/shardName"),
    };
    let shard_project_ref = resolve_project_ref(
        shard_cr
            .pointer("/metadata/annotations/multigres.com~1project-ref")
            .and_then(Value::as_str),
        &cluster,
    );

    let mut expected = BTreeMap::new();
    let mut add = |kind: &str, name: &str, metadata: Metadata| {
        assert!(
            expected
                .insert((kind.to_owned(), name.to_owned()), metadata)
                .is_none(),
            "{kind}/{name} expected twice"
        );
    };

    // Cluster controller.
    let topo = naming::global_topo_server_name(&cluster);
    add(
        "TopoServer",
        topo.as_str(),
        Metadata {
            labels: global_topo_server_labels(&cluster),
            ..Metadata::default()
        },
    );
    for (name, component, key) in [
        (
            naming::multiadmin_name(&cluster),
            Component::Multiadmin,
            "multiadmin",
        ),
        (
            naming::multiadmin_web_name(&cluster),
            Component::MultiadminWeb,
            "multiadminWeb",
        ),
    ] {
        let set = cluster_component_labels(&cluster, component);
        let (pod_labels, pod_annotations) =
            core_component_pod_metadata(&cluster_input, &templates, key);
        add(
            "Deployment",
            name.as_str(),
            Metadata {
                template_labels: Some(merge_labels(&set, &pod_labels)),
                template_annotations: opt_map(pod_annotations),
                ..selected(set.clone())
            },
        );
        add("Service", name.as_str(), selected(set));
    }
    for name in [
        naming::global_gateway_service_name(&cluster),
        naming::global_gateway_replica_service_name(&cluster),
    ] {
        add(
            "Service",
            name.as_str(),
            Metadata {
                labels: cluster_component_labels(&cluster, Component::Multigateway),
                selector: Some(global_gateway_selector(&cluster)),
                ..Metadata::default()
            },
        );
    }
    add(
        "TableGroup",
        naming::table_group_name(&cluster, shard.database, shard.table_group).as_str(),
        Metadata {
            labels: table_group_labels(&cluster, shard.database, shard.table_group),
            ..Metadata::default()
        },
    );

    // TopoServer controller.
    let topo_set = topo_server_labels(&cluster, &topo_cr_labels);
    add(
        "StatefulSet",
        topo.as_str(),
        Metadata {
            template_labels: Some(topo_set.clone()),
            ..selected(topo_set.clone())
        },
    );
    add("Service", topo.as_str(), selected(topo_set.clone()));
    add(
        "Service",
        naming::global_topo_headless_service_name(&cluster).as_str(),
        selected(topo_set),
    );

    // Cell controller.
    for row in rows.iter().filter(|row| row["kind"] == "Cell") {
        let cell_cr = support::read_json(&dir.join(&row["file"]));
        let cell = str_at(&cell_cr, "/spec/name");
        let opt = |pointer: &str| cell_cr.pointer(pointer).and_then(Value::as_str);
        add(
            "Cell",
            naming::cell_name(&cluster, cell).as_str(),
            Metadata {
                labels: cell_labels(&cluster, cell),
                ..Metadata::default()
            },
        );
        let set = cell_gateway_labels(&cluster, cell, opt("/spec/zone"), opt("/spec/region"));
        let project_ref = resolve_project_ref(
            opt("/metadata/annotations/multigres.com~1project-ref"),
            &cluster,
        );
        add(
            "Deployment",
            naming::cell_gateway_deployment_name(&cluster, cell).as_str(),
            Metadata {
                template_labels: Some(merge_labels(
                    &set,
                    &map_at(&cell_cr, "/spec/multigateway/podLabels"),
                )),
                template_annotations: Some(workload_pod_annotations(
                    &map_at(&cell_cr, "/spec/multigateway/podAnnotations"),
                    project_ref,
                )),
                ..selected(set.clone())
            },
        );
        add(
            "Service",
            naming::cell_gateway_service_name(&cluster, cell).as_str(),
            selected(set),
        );
    }

    // TableGroup controller.
    add(
        "Shard",
        naming::shard_name(&shard).as_str(),
        Metadata {
            labels: shard_labels(&shard),
            ..Metadata::default()
        },
    );

    // Shard controller.
    let shard_name = naming::shard_name(&shard);
    let only_labels = |labels: Labels| Metadata {
        labels,
        ..Metadata::default()
    };
    add(
        "ConfigMap",
        naming::pg_hba_config_map_name(shard_name.as_str())
            .expect("short shard name")
            .as_str(),
        only_labels(pg_hba_config_map_labels(&cluster, &shard_cr_labels)),
    );
    add(
        "Secret",
        naming::postgres_password_secret_name(shard_name.as_str())
            .expect("short shard name")
            .as_str(),
        only_labels(postgres_password_secret_labels(&cluster, &shard_cr_labels)),
    );
    for name in [
        naming::pgbackrest_ca_secret_name(shard_name.as_str()),
        naming::pgbackrest_tls_secret_name(shard_name.as_str()),
    ] {
        add(
            "Secret",
            name.expect("short shard name").as_str(),
            only_labels(pgbackrest_tls_labels(&cluster)),
        );
    }
    let orch_cells: Vec<String> = shard_cr
        .pointer("/spec/multiorch/cells")
        .and_then(Value::as_array)
        .expect("resolved multiorch cells")
        .iter()
        .map(|c| c.as_str().expect("cell name").to_owned())
        .collect();
    for cell in &orch_cells {
        let set = multiorch_labels(
            &cluster,
            shard.database,
            shard.table_group,
            cell,
            &shard_cr_labels,
        );
        add(
            "Deployment",
            naming::multiorch_deployment_name(&shard, cell).as_str(),
            Metadata {
                template_labels: Some(merge_labels(
                    &set,
                    &map_at(&shard_cr, "/spec/multiorch/podLabels"),
                )),
                template_annotations: Some(workload_pod_annotations(
                    &map_at(&shard_cr, "/spec/multiorch/podAnnotations"),
                    shard_project_ref,
                )),
                ..selected(set.clone())
            },
        );
        add(
            "Service",
            naming::multiorch_service_name(&shard, cell).as_str(),
            selected(set),
        );
    }
    let spec_hashes: BTreeMap<&str, &str> = rows
        .iter()
        .filter(|row| row["kind"] == "Pod")
        .map(|row| (row["name"].as_str(), row["spec_hash"].as_str()))
        .collect();
    let config_hash = postgres_config_hash(dir, case);
    let s3 = shard_cr.pointer("/spec/backup/type") == Some(&json!("s3"));
    let pools = shard_cr
        .pointer("/spec/pools")
        .and_then(Value::as_object)
        .expect("resolved pools");
    let mut backup_cells = std::collections::BTreeSet::new();
    for (pool_name, pool_spec) in pools {
        let replicas = pool_spec["replicasPerCell"]
            .as_u64()
            .expect("resolved replicas");
        for cell in pool_spec["cells"].as_array().expect("resolved pool cells") {
            let cell = cell.as_str().expect("cell name");
            backup_cells.insert(cell.to_owned());
            let pool = PoolParts {
                shard,
                pool: pool_name,
                cell,
            };
            for index in 0..u32::try_from(replicas).expect("few replicas") {
                let pod = naming::pool_pod_name(&pool, index);
                add(
                    "Pod",
                    pod.as_str(),
                    Metadata {
                        labels: pool_labels(&pool, &shard_cr_labels),
                        annotations: Some(pool_pod_annotations(
                            spec_hashes[pod.as_str()],
                            shard_project_ref,
                            config_hash.as_deref(),
                        )),
                        ..Metadata::default()
                    },
                );
                add(
                    "PersistentVolumeClaim",
                    naming::pool_data_pvc_name(&pool, index).as_str(),
                    only_labels(pool_data_pvc_labels(&pool, &shard_cr_labels)),
                );
            }
            add(
                "PodDisruptionBudget",
                naming::pool_pdb_name(&pool).as_str(),
                selected(pool_pdb_labels(&pool)),
            );
            add(
                "Service",
                naming::pool_headless_service_name(&pool).as_str(),
                selected(pool_labels(&pool, &shard_cr_labels)),
            );
        }
    }
    if !s3 {
        for cell in &backup_cells {
            add(
                "PersistentVolumeClaim",
                naming::shared_backup_pvc_name(&shard, cell).as_str(),
                only_labels(shared_backup_pvc_labels(&shard, cell)),
            );
        }
    }
    expected
}

/// The case's `multigres.com/postgres-config-hash` from the pod index beside `objects.tsv`'s
/// directory (the same for every pod of a case), if any.
fn postgres_config_hash(dir: &Path, case: &str) -> Option<String> {
    let index = if dir.ends_with("templates") {
        dir.join("index.tsv")
    } else {
        dir.join("../index.tsv")
    };
    support::read_tsv(&index)
        .into_iter()
        .find(|row| row["case"] == case)
        .map(|row| row["postgres_config_hash"].clone())
        .filter(|hash| !hash.is_empty())
}

fn check(dir: &Path, input_dir: &Path) -> usize {
    let rows = support::read_tsv(&dir.join("objects.tsv"));
    let mut cases: Vec<String> = rows.iter().map(|row| row["case"].clone()).collect();
    cases.dedup();
    let mut checked = 0;
    for case in &cases {
        let case_rows: Vec<_> = rows
            .iter()
            .filter(|row| &row["case"] == case)
            .cloned()
            .collect();
        let expected = expected_metadata(dir, case, input_dir, &case_rows);
        let golden_keys: Vec<_> = case_rows
            .iter()
            .map(|row| (row["kind"].clone(), row["name"].clone()))
            .collect();
        assert_eq!(
            expected.keys().cloned().collect::<Vec<_>>(),
            {
                let mut keys = golden_keys.clone();
                keys.sort();
                keys
            },
            "{case}: every golden object is covered"
        );
        for row in &case_rows {
            let object = support::read_json(&dir.join(&row["file"]));
            let key = (row["kind"].clone(), row["name"].clone());
            assert_eq!(
                expected[&key].to_json(),
                Metadata::of(&object).to_json(),
                "{case}: {}/{}",
                row["kind"],
                row["name"]
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn every_golden_objects_labels_and_selectors_are_rebuilt() {
    let Some(golden) = support::golden_dir("every_golden_objects_labels_and_selectors_are_rebuilt")
    else {
        return;
    };
    let checked = check(&golden.join("objects"), &golden)
        + check(&golden.join("templates"), &golden.join("templates"));
    // 30 + 30 + 29 + 30 base objects, 32 + 36 template objects (objects.tsv rows).
    assert_eq!(checked, 119 + 68);
}

#[test]
fn drained_role_label_is_not_part_of_any_selector() {
    let cluster = ClusterName::parse("orders-db").expect("valid");
    let shard = ShardParts {
        cluster: &cluster,
        database: "postgres",
        table_group: "default",
        shard: "0-inf",
    };
    let pool = PoolParts {
        shard,
        pool: "main",
        cell: "zone-a",
    };
    let mut set = pool_labels(&pool, &shard_labels(&shard));
    let selector = selector_labels(&set);
    set.insert(
        labels::LABEL_ROLE.to_owned(),
        labels::ROLE_DRAINED.to_owned(),
    );
    assert_eq!(selector_labels(&set), selector);
}
