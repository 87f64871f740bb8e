//! Every object name (and controller owner name) the Go operator produced for the golden cases
//! (spec/golden/objects, spec/golden/templates), recomputed with `naming` from the case's
//! logical inputs: cluster name and cells from the cluster input, database, tablegroup, shard,
//! pools, pool cells, replicas and multiorch cells from the resolved Shard spec.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use multigres_api::naming::{
    self, ClusterName, PoolParts, ShardParts, cell_gateway_deployment_name,
    cell_gateway_service_name, cell_name, global_gateway_replica_service_name,
    global_gateway_service_name, global_topo_headless_service_name, global_topo_server_name,
    multiadmin_name, multiadmin_web_name, multiorch_deployment_name, multiorch_service_name,
    multipooler_service_id, pool_data_pvc_name, pool_headless_service_name, pool_pdb_name,
    pool_pod_name, shard_name, shared_backup_pvc_name, table_group_name,
};
use pretty_assertions::assert_eq;
use serde_json::Value;

/// `(kind, name)` → `Kind/name` of the controller owner (`-` if none), as in `objects.tsv`.
type Inventory = BTreeMap<(String, String), String>;

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map_or_else(|| Err(pointer.to_owned()), Ok)
        .expect("golden object has this string field")
}

fn strings_at(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or_else(|| Err(pointer.to_owned()), Ok)
        .expect("golden object has this list")
        .iter()
        .map(|v| v.as_str().expect("list of strings").to_owned())
        .collect()
}

/// The inventory of one case as `objects.tsv` lists it; panics on a duplicate row.
fn golden_inventory(dir: &Path, case: &str) -> Inventory {
    let mut inventory = Inventory::new();
    for row in support::read_tsv(&dir.join("objects.tsv")) {
        if row["case"] != case {
            continue;
        }
        let key = (row["kind"].clone(), row["name"].clone());
        let previous = inventory.insert(key.clone(), row["controller_owner"].clone());
        assert_eq!(previous, None, "{case}: duplicate row for {key:?}");
    }
    inventory
}

/// The inventory recomputed from the case's logical inputs.
fn computed_inventory(cluster_input: &Value, shard: &Value) -> Inventory {
    let cluster =
        ClusterName::parse(str_at(cluster_input, "/metadata/name")).expect("valid cluster name");
    let database = str_at(shard, "/spec/databaseName");
    let table_group = str_at(shard, "/spec/tableGroupName");
    let shard_parts = ShardParts {
        cluster: &cluster,
        database,
        table_group,
        shard: str_at(shard, "/spec/shardName"),
    };
    let cluster_owner = format!("MultigresCluster/{cluster}");
    let topo = global_topo_server_name(&cluster);
    let topo_owner = format!("TopoServer/{topo}");
    let tg = table_group_name(&cluster, database, table_group);
    let shard_cr = shard_name(&shard_parts);
    let shard_owner = format!("Shard/{shard_cr}");

    let mut inventory = Inventory::new();
    let mut add = |kind: &str, name: &str, owner: &str| {
        let previous = inventory.insert((kind.to_owned(), name.to_owned()), owner.to_owned());
        assert_eq!(previous, None, "computed {kind}/{name} twice");
    };

    add("TopoServer", topo.as_str(), &cluster_owner);
    add("StatefulSet", topo.as_str(), &topo_owner);
    add("Service", topo.as_str(), &topo_owner);
    add(
        "Service",
        global_topo_headless_service_name(&cluster).as_str(),
        &topo_owner,
    );
    for name in [multiadmin_name(&cluster), multiadmin_web_name(&cluster)] {
        add("Deployment", name.as_str(), &cluster_owner);
        add("Service", name.as_str(), &cluster_owner);
    }
    add(
        "Service",
        global_gateway_service_name(&cluster).as_str(),
        &cluster_owner,
    );
    add(
        "Service",
        global_gateway_replica_service_name(&cluster).as_str(),
        &cluster_owner,
    );

    let cells = cluster_input
        .pointer("/spec/cells")
        .and_then(Value::as_array)
        .expect("golden cases have cells");
    for cell in cells {
        let cell = str_at(cell, "/name");
        let cell_cr = cell_name(&cluster, cell);
        let cell_owner = format!("Cell/{cell_cr}");
        add("Cell", cell_cr.as_str(), &cluster_owner);
        add(
            "Deployment",
            cell_gateway_deployment_name(&cluster, cell).as_str(),
            &cell_owner,
        );
        add(
            "Service",
            cell_gateway_service_name(&cluster, cell).as_str(),
            &cell_owner,
        );
    }

    add("TableGroup", tg.as_str(), &cluster_owner);
    add("Shard", shard_cr.as_str(), &format!("TableGroup/{tg}"));
    let suffixed = [
        (
            "ConfigMap",
            naming::pg_hba_config_map_name(shard_cr.as_str()),
        ),
        (
            "Secret",
            naming::postgres_password_secret_name(shard_cr.as_str()),
        ),
        (
            "Secret",
            naming::pgbackrest_ca_secret_name(shard_cr.as_str()),
        ),
        (
            "Secret",
            naming::pgbackrest_tls_secret_name(shard_cr.as_str()),
        ),
    ];
    for (kind, name) in suffixed {
        add(kind, name.expect("short shard name").as_str(), &shard_owner);
    }
    for cell in strings_at(shard, "/spec/multiorch/cells") {
        add(
            "Deployment",
            multiorch_deployment_name(&shard_parts, &cell).as_str(),
            &shard_owner,
        );
        add(
            "Service",
            multiorch_service_name(&shard_parts, &cell).as_str(),
            &shard_owner,
        );
    }

    let pools = shard
        .pointer("/spec/pools")
        .and_then(Value::as_object)
        .expect("resolved shard has pools");
    let s3_backup = shard.pointer("/spec/backup/type").and_then(Value::as_str) == Some("s3");
    let mut backup_cells = std::collections::BTreeSet::new();
    for (pool, spec) in pools {
        let replicas = spec
            .pointer("/replicasPerCell")
            .and_then(Value::as_u64)
            .expect("resolved pool has replicasPerCell");
        for cell in strings_at(spec, "/cells") {
            let pool_parts = PoolParts {
                shard: shard_parts,
                pool,
                cell: &cell,
            };
            for index in 0..u32::try_from(replicas).expect("few replicas") {
                add(
                    "Pod",
                    pool_pod_name(&pool_parts, index).as_str(),
                    &shard_owner,
                );
                add(
                    "PersistentVolumeClaim",
                    pool_data_pvc_name(&pool_parts, index).as_str(),
                    &shard_owner,
                );
            }
            add(
                "PodDisruptionBudget",
                pool_pdb_name(&pool_parts).as_str(),
                &shard_owner,
            );
            add(
                "Service",
                pool_headless_service_name(&pool_parts).as_str(),
                &shard_owner,
            );
            backup_cells.insert(cell);
        }
    }
    if !s3_backup {
        for cell in backup_cells {
            add(
                "PersistentVolumeClaim",
                shared_backup_pvc_name(&shard_parts, &cell).as_str(),
                &shard_owner,
            );
        }
    }
    inventory
}

/// Cases of one golden directory: `(case, cluster input file)`.
fn cases_in(dir: &Path, input_dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut cases: Vec<String> = support::read_tsv(&dir.join("objects.tsv"))
        .into_iter()
        .map(|row| row["case"].clone())
        .collect();
    cases.dedup();
    cases
        .into_iter()
        .map(|case| {
            let input = input_dir.join(format!("{case}.cluster-input.json"));
            (case, input)
        })
        .collect()
}

fn check_inventories(dir: &Path, input_dir: &Path) -> usize {
    let cases = cases_in(dir, input_dir);
    for (case, input) in &cases {
        let golden = golden_inventory(dir, case);
        let shard_file = golden
            .keys()
            .find(|(kind, _)| kind == "Shard")
            .map(|(_, name)| dir.join(format!("{case}.shard.{name}.json")))
            .expect("every case builds one Shard");
        let computed =
            computed_inventory(&support::read_json(input), &support::read_json(&shard_file));
        assert_eq!(computed, golden, "{case}: object names or owners differ");
    }
    cases.len()
}

#[test]
fn every_golden_object_name_and_owner_is_recomputed() {
    let Some(golden) = support::golden_dir("every_golden_object_name_and_owner_is_recomputed")
    else {
        return;
    };
    let checked = check_inventories(&golden.join("objects"), &golden)
        + check_inventories(&golden.join("templates"), &golden.join("templates"));
    assert_eq!(checked, 6, "four base cases and two template cases");
}

#[test]
fn pod_index_rows_are_recomputed() {
    let Some(golden) = support::golden_dir("pod_index_rows_are_recomputed") else {
        return;
    };
    let mut rows = 0;
    for (index_file, input_dir) in [
        (golden.join("index.tsv"), golden.clone()),
        (golden.join("templates/index.tsv"), golden.join("templates")),
    ] {
        for row in support::read_tsv(&index_file) {
            let input =
                support::read_json(&input_dir.join(format!("{}.cluster-input.json", row["case"])));
            let cluster =
                ClusterName::parse(str_at(&input, "/metadata/name")).expect("valid cluster name");
            // All golden cases use the injected database, tablegroup and shard (§10.2).
            let shard = ShardParts {
                cluster: &cluster,
                database: "postgres",
                table_group: "default",
                shard: "0-inf",
            };
            let pool = PoolParts {
                shard,
                pool: &row["pool"],
                cell: &row["cell"],
            };
            let index: u32 = row["index"].parse().expect("numeric index");
            let pod = pool_pod_name(&pool, index);
            let computed = [
                shard_name(&shard).into_string(),
                pod.as_str().to_owned(),
                pool_data_pvc_name(&pool, index).into_string(),
                multipooler_service_id(pod.as_str()),
                pool_headless_service_name(&pool).into_string(),
            ];
            let expected = [
                "shard_cr_name",
                "pod_name",
                "pvc_name",
                "service_id",
                "headless_subdomain",
            ]
            .map(|column| row[column].clone());
            assert_eq!(computed, expected, "{}: row {row:?}", row["case"]);
            rows += 1;
        }
    }
    assert_eq!(rows, 14, "8 base rows and 6 template rows");
}

#[test]
fn golden_pods_use_their_name_as_hostname_and_the_headless_service_as_subdomain() {
    let Some(golden) = support::golden_dir("golden_pods_use_hostname_and_subdomain") else {
        return;
    };
    let mut pods = 0;
    for dir in [golden.join("objects"), golden.join("templates")] {
        for row in support::read_tsv(&dir.join("objects.tsv")) {
            if row["kind"] != "Pod" {
                continue;
            }
            let pod = support::read_json(&dir.join(&row["file"]));
            let labels = |key: &str| {
                str_at(
                    &pod,
                    &format!("/metadata/labels/{}", key.replace('/', "~1")),
                )
            };
            let cluster = ClusterName::parse(labels("multigres.com/cluster")).expect("valid");
            let shard = ShardParts {
                cluster: &cluster,
                database: labels("multigres.com/database"),
                table_group: labels("multigres.com/tablegroup"),
                shard: labels("multigres.com/shard"),
            };
            let pool = PoolParts {
                shard,
                pool: labels("multigres.com/pool"),
                cell: labels("multigres.com/cell"),
            };
            let index: u32 = row["name"]
                .rsplit('-')
                .next()
                .and_then(|i| i.parse().ok())
                .expect("pod names end with the index");
            assert_eq!(
                [
                    str_at(&pod, "/spec/hostname"),
                    str_at(&pod, "/spec/subdomain")
                ],
                [
                    pool_pod_name(&pool, index).as_str(),
                    pool_headless_service_name(&pool).as_str()
                ],
                "{}",
                row["file"]
            );
            pods += 1;
        }
    }
    assert_eq!(
        pods, 18,
        "3 pods in each of 4 base cases, 2 + 4 in the template cases"
    );
}

#[test]
fn golden_global_topo_address_is_recomputed() {
    let Some(golden) = support::golden_dir("golden_global_topo_address_is_recomputed") else {
        return;
    };
    let input = support::read_json(&golden.join("case1-minimal.cluster-input.json"));
    let shard = support::read_json(&golden.join("case1-minimal.shard.json"));
    let cluster = ClusterName::parse(str_at(&input, "/metadata/name")).expect("valid");
    assert_eq!(
        naming::global_topo_address(&cluster, str_at(&input, "/metadata/namespace")),
        str_at(&shard, "/spec/globalTopoServer/address")
    );
}
