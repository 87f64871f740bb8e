//! The TopoServer, Cell and TableGroup controllers' builders against the Go operator's real
//! outputs (shared/spec/golden/objects/ and templates/): for every case, the stored child CR the
//! goldens hold goes in, and every object the controller applies comes out equal, as parsed JSON,
//! to its golden file; no object is missing and none is extra (objects.tsv `controller_owner`).
//!
//! The goldens live outside the repository: `MULTIGRES_SHARED_DIR`, else `<workspace>/../shared`.
//! Without them each test prints that it skips.

mod golden_objects;

use anyhow::Context;
use golden_objects::{
    CELL_UIDS, Case, TABLE_GROUP_UID, TOPO_SERVER_UID, cases, differences, golden_dir, stored,
};
use multigres_api::v1alpha1::{Cell, TableGroup, TopoServer};
use multigres_operator::controllers::cell::build::{self as cell_build, build_cell_objects};
use multigres_operator::controllers::otel_env::OperatorOtelEnv;
use multigres_operator::controllers::table_group::build::{
    self as table_group_build, build_table_group_objects,
};
use multigres_operator::controllers::topo_server::build::{
    self as topo_build, build_topo_server_objects,
};
use pretty_assertions::assert_eq;
use serde_json::Value;

type Built = Vec<(String, String, Value)>;

/// `(kind, name, JSON)` of each object, in build order.
fn named(objects: Vec<(&str, Value)>) -> Built {
    objects
        .into_iter()
        .map(|(kind, value)| {
            let name = value["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (kind.to_owned(), name, value)
        })
        .collect()
}

fn topo_server_objects(desired: &topo_build::Desired) -> anyhow::Result<Built> {
    let topo_build::Desired {
        services,
        stateful_set,
    } = desired;
    let mut objects = Vec::new();
    for service in services {
        objects.push(("Service", serde_json::to_value(service)?));
    }
    objects.push(("StatefulSet", serde_json::to_value(stateful_set)?));
    Ok(named(objects))
}

fn cell_objects(desired: &cell_build::Desired) -> anyhow::Result<Built> {
    let cell_build::Desired {
        service,
        deployment,
    } = desired;
    Ok(named(vec![
        ("Service", serde_json::to_value(service)?),
        ("Deployment", serde_json::to_value(deployment)?),
    ]))
}

fn table_group_objects(desired: &table_group_build::Desired) -> anyhow::Result<Built> {
    let table_group_build::Desired { shards } = desired;
    let mut objects = Vec::new();
    for shard in shards {
        objects.push(("Shard", serde_json::to_value(shard)?));
    }
    Ok(named(objects))
}

/// Compares every built object with its golden file, untouched.
fn assert_equal_to_goldens(case: &Case, built: Built) -> anyhow::Result<()> {
    for (kind, object_name, value) in built {
        let golden = case.object(&kind, &object_name)?;
        assert_eq!(
            differences(&value, &golden),
            Vec::<String>::new(),
            "{}: {kind} {object_name}",
            case.name
        );
    }
    Ok(())
}

fn assert_same_set(case: &Case, owner: &str, built: &[(String, String, Value)]) {
    let mut expected = case.owned_by(owner);
    expected.sort();
    let mut got: Vec<(String, String)> = built
        .iter()
        .map(|(kind, name, _)| (kind.clone(), name.clone()))
        .collect();
    got.sort();
    assert_eq!(got, expected, "{}: objects owned by {owner}", case.name);
}

#[test]
fn topo_server_objects_equal_the_go_operators() -> anyhow::Result<()> {
    let Some(golden) = golden_dir("topo_server_objects_equal_the_go_operators") else {
        return Ok(());
    };
    for case in cases(&golden)? {
        let names = case.names_of("TopoServer");
        assert_eq!(names.len(), 1, "{}: one global TopoServer", case.name);
        let name = &names[0];
        let input = stored(case.object("TopoServer", name)?, TOPO_SERVER_UID);
        let topo_server: TopoServer = serde_json::from_value(input)
            .with_context(|| format!("{}: the golden TopoServer", case.name))?;
        let desired = build_topo_server_objects(&topo_server)?;
        let built = topo_server_objects(&desired)?;
        assert_same_set(&case, &format!("TopoServer/{name}"), &built);
        assert_equal_to_goldens(&case, built)?;
    }
    Ok(())
}

#[test]
fn cell_objects_equal_the_go_operators() -> anyhow::Result<()> {
    let Some(golden) = golden_dir("cell_objects_equal_the_go_operators") else {
        return Ok(());
    };
    for case in cases(&golden)? {
        let names = case.names_of("Cell");
        assert!(!names.is_empty(), "{}: at least one Cell", case.name);
        for (index, name) in names.iter().enumerate() {
            let input = stored(case.object("Cell", name)?, CELL_UIDS[index]);
            let cell: Cell = serde_json::from_value(input)
                .with_context(|| format!("{}: the golden Cell {name}", case.name))?;
            // The goldens were made with no OTEL_* variable in the operator's environment.
            let desired = build_cell_objects(&cell, &OperatorOtelEnv::default())?;
            let built = cell_objects(&desired)?;
            assert_same_set(&case, &format!("Cell/{name}"), &built);
            assert_equal_to_goldens(&case, built)?;
        }
    }
    Ok(())
}

#[test]
fn table_group_objects_equal_the_go_operators() -> anyhow::Result<()> {
    let Some(golden) = golden_dir("table_group_objects_equal_the_go_operators") else {
        return Ok(());
    };
    for case in cases(&golden)? {
        let names = case.names_of("TableGroup");
        assert_eq!(names.len(), 1, "{}: one TableGroup", case.name);
        let name = &names[0];
        let input = stored(case.object("TableGroup", name)?, TABLE_GROUP_UID);
        let table_group: TableGroup = serde_json::from_value(input)
            .with_context(|| format!("{}: the golden TableGroup", case.name))?;
        let desired = build_table_group_objects(&table_group)?;
        let built = table_group_objects(&desired)?;
        assert_same_set(&case, &format!("TableGroup/{name}"), &built);
        assert_equal_to_goldens(&case, built)?;
    }
    Ok(())
}
