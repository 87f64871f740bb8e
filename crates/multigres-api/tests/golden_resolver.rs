//! The resolver against the Go operator's outputs (spec/golden/README.md,
//! spec/golden/templates/README.md).
//!
//! - Every TopoServer, Cell, TableGroup and Shard custom resource the Go controllers built for
//!   the four zero-template cases and the two template cases: our resolved specs must equal
//!   their `spec`s, and we must produce exactly that set of objects.
//! - The mutating webhook's result for the two template cases: our materialised spec must equal
//!   the defaulted cluster.
//!
//! Inputs pass through our CRDs' schema defaults first, as the API server would store them
//! (that pipeline is the golden README's).

// Each test crate uses part of the support module.
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use crd_admission::crd_schema::CompiledCrd;
use multigres_api::crds::crds;
use multigres_api::naming::{self, ClusterName, ShardParts};
use multigres_api::resolver::{
    NamespaceTemplates, materialize_defaults, resolve_cluster, shard_spec,
};
use multigres_api::v1alpha1::{CellTemplate, CoreTemplate, MultigresCluster, ShardTemplate};
use pretty_assertions::assert_eq;
use serde_json::Value;

/// Each of our CRDs compiled by the API server's CRD engine (`crd-admission`), by kind
/// (compiled once: it is not cheap).
fn compiled_crds() -> &'static BTreeMap<String, CompiledCrd> {
    static CRDS: OnceLock<BTreeMap<String, CompiledCrd>> = OnceLock::new();
    CRDS.get_or_init(|| {
        crds()
            .iter()
            .map(|crd| {
                let compiled = CompiledCrd::new(crd).expect("every CRD is accepted");
                (crd.spec.names.kind.clone(), compiled)
            })
            .collect()
    })
}

/// `value` with the schema defaults of our CRD of `kind` applied.
fn with_crd_defaults(kind: &str, value: &Value) -> Value {
    let crd = &compiled_crds()[kind];
    let mut stored = value.clone();
    crd.apply_defaults(crd.storage_version().name(), &mut stored);
    stored
}

fn stored<T: serde::de::DeserializeOwned>(kind: &str, value: &Value) -> T {
    serde_json::from_value(with_crd_defaults(kind, value))
        .map_err(|e| format!("{kind}: {e}"))
        .expect("a stored golden object deserializes")
}

/// The templates of a `<case>.templates.json`, stored as the API server would store them.
fn templates(path: &Path) -> NamespaceTemplates {
    let list = support::read_json(path);
    let items = list.as_array().expect("a JSON list of templates");
    let of_kind = |kind: &'static str| items.iter().filter(move |t| t["kind"] == kind);
    NamespaceTemplates::from_objects(
        of_kind("CoreTemplate").map(|t| stored::<CoreTemplate>("CoreTemplate", t)),
        of_kind("CellTemplate").map(|t| stored::<CellTemplate>("CellTemplate", t)),
        of_kind("ShardTemplate").map(|t| stored::<ShardTemplate>("ShardTemplate", t)),
    )
}

/// `<kind>.<name>` → spec of every child custom resource the Go controllers built for `case`.
fn golden_children(dir: &Path, case: &str) -> BTreeMap<String, Value> {
    let mut children = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("golden directory is readable") {
        let file = entry.expect("directory entry").file_name();
        let file = file.to_string_lossy();
        let Some(rest) = file.strip_prefix(&format!("{case}.")) else {
            continue;
        };
        let Some(object) = rest.strip_suffix(".json") else {
            continue;
        };
        if object.ends_with(".pretty") {
            continue;
        }
        if ["toposerver.", "cell.", "tablegroup.", "shard."]
            .iter()
            .any(|kind| object.starts_with(kind))
        {
            let value = support::read_json(&dir.join(file.as_ref()));
            children.insert(object.to_owned(), value["spec"].clone());
        }
    }
    children
}

/// `<kind>.<name>` → spec of every child custom resource our resolver derives from the cluster.
fn our_children(
    cluster: &MultigresCluster,
    templates: &NamespaceTemplates,
) -> BTreeMap<String, Value> {
    let name = ClusterName::parse(cluster.metadata.name.clone().expect("named"))
        .expect("golden cluster names are valid");
    let namespace = cluster.metadata.namespace.clone().expect("namespaced");
    let resolved = resolve_cluster(&name, &namespace, &cluster.spec, templates)
        .map_err(|e| format!("{name}: {e}"))
        .expect("a golden cluster resolves");
    let json = |spec: &dyn erased::Spec| spec.json();
    let mut children = BTreeMap::new();
    if let Some(topo) = &resolved.topo_server {
        children.insert(
            format!("toposerver.{}", naming::global_topo_server_name(&name)),
            json(topo),
        );
    }
    for cell in &resolved.cells {
        children.insert(
            format!("cell.{}", naming::cell_name(&name, cell.name.as_str())),
            json(cell),
        );
    }
    for table_group in &resolved.table_groups {
        let database = table_group.database_name.as_str();
        let group = table_group.table_group_name.as_str();
        children.insert(
            format!(
                "tablegroup.{}",
                naming::table_group_name(&name, database, group)
            ),
            json(table_group),
        );
        for shard in &table_group.shards {
            let parts = ShardParts {
                cluster: &name,
                database,
                table_group: group,
                shard: &shard.name,
            };
            children.insert(
                format!("shard.{}", naming::shard_name(&parts)),
                json(&shard_spec(table_group, shard)),
            );
        }
    }
    children
}

/// Serializing the different spec types through one signature.
mod erased {
    pub trait Spec {
        fn json(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> Spec for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("specs serialize")
        }
    }
}

/// `input_dir` holds the case's cluster input, `objects_dir` the objects built from it.
fn assert_children_match(
    input_dir: &Path,
    objects_dir: &Path,
    case: &str,
    templates: &NamespaceTemplates,
) {
    let input = support::read_json(&input_dir.join(format!("{case}.cluster-input.json")));
    let cluster: MultigresCluster = stored("MultigresCluster", &input);
    let golden = golden_children(objects_dir, case);
    assert!(
        golden.len() >= 4,
        "{case}: golden children found: {golden:?}"
    );
    assert_eq!(our_children(&cluster, templates), golden, "{case}");
}

#[test]
fn zero_template_cases_resolve_to_the_go_children() {
    let Some(golden) = support::golden_dir("zero_template_cases_resolve_to_the_go_children") else {
        return;
    };
    for case in [
        "case1-minimal",
        "case2-pool-options",
        "case3-s3-backup",
        "case4-long-names",
    ] {
        assert_children_match(
            &golden,
            &golden.join("objects"),
            case,
            &NamespaceTemplates::empty(),
        );
    }
}

#[test]
fn template_cases_resolve_to_the_go_children() {
    let Some(golden) = support::golden_dir("template_cases_resolve_to_the_go_children") else {
        return;
    };
    let dir = golden.join("templates");
    for case in ["t1-explicit", "t3-cluster-defaults"] {
        let templates = templates(&dir.join(format!("{case}.templates.json")));
        assert_children_match(&dir, &dir, case, &templates);
    }
}

#[test]
fn the_top_level_tablegroup_and_shard_files_match_too() {
    let Some(golden) = support::golden_dir("the_top_level_tablegroup_and_shard_files_match_too")
    else {
        return;
    };
    for case in [
        "case1-minimal",
        "case2-pool-options",
        "case3-s3-backup",
        "case4-long-names",
    ] {
        let input = support::read_json(&golden.join(format!("{case}.cluster-input.json")));
        let cluster: MultigresCluster = stored("MultigresCluster", &input);
        let ours = our_children(&cluster, &NamespaceTemplates::empty());
        for kind in ["tablegroup", "shard"] {
            let expected = support::read_json(&golden.join(format!("{case}.{kind}.json")));
            let name = expected["metadata"]["name"]
                .as_str()
                .expect("golden objects are named");
            assert_eq!(
                ours.get(&format!("{kind}.{name}")),
                Some(&expected["spec"]),
                "{case} {kind}"
            );
        }
    }
}

#[test]
fn the_webhook_materialises_what_go_materialised() {
    let Some(golden) = support::golden_dir("the_webhook_materialises_what_go_materialised") else {
        return;
    };
    let dir = golden.join("templates");
    for case in ["t1-explicit", "t3-cluster-defaults"] {
        let templates = templates(&dir.join(format!("{case}.templates.json")));
        let input = support::read_json(&dir.join(format!("{case}.cluster-input.json")));
        let mut cluster: MultigresCluster = stored("MultigresCluster", &input);
        materialize_defaults(&mut cluster.spec, &templates)
            .map_err(|e| format!("{case}: {e}"))
            .expect("a golden cluster is defaulted");
        let expected =
            support::read_json(&dir.join(format!("{case}.multigrescluster.defaulted.json")));
        assert_eq!(
            serde_json::to_value(&cluster.spec).expect("specs serialize"),
            expected["spec"],
            "{case}"
        );
    }
}
