//! Every custom resource the Go operator wrote in the golden files deserializes into our types
//! and serializes back to the same JSON value: same fields, same omissions, no `null`s
//! (spec/golden/README.md, spec/golden/objects/README.md).

// Every test crate compiles the shared support module but uses only part of it.
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};

use multigres_api::v1alpha1::{
    Cell, CellTemplate, CoreTemplate, MultigresCluster, Shard, ShardTemplate, TableGroup,
    TopoServer,
};
use pretty_assertions::assert_eq;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn through<K: DeserializeOwned + Serialize>(object: &Value, origin: &str) -> Result<Value, String> {
    let typed: K = serde_json::from_value(object.clone())
        .map_err(|err| format!("{origin}: does not deserialize: {err}"))?;
    serde_json::to_value(&typed).map_err(|err| format!("{origin}: does not serialize: {err}"))
}

/// Deserializes `object` into the type of its `kind` and serializes it back.
fn round_trip(object: &Value, origin: &str) -> Result<Value, String> {
    match object["kind"].as_str() {
        Some("MultigresCluster") => through::<MultigresCluster>(object, origin),
        Some("Cell") => through::<Cell>(object, origin),
        Some("TableGroup") => through::<TableGroup>(object, origin),
        Some("Shard") => through::<Shard>(object, origin),
        Some("TopoServer") => through::<TopoServer>(object, origin),
        Some("CoreTemplate") => through::<CoreTemplate>(object, origin),
        Some("CellTemplate") => through::<CellTemplate>(object, origin),
        Some("ShardTemplate") => through::<ShardTemplate>(object, origin),
        other => Err(format!("{origin}: unexpected kind {other:?}")),
    }
}

/// Compact golden files (not `.pretty.json`) of `dir` whose name matches `wanted`, sorted.
fn golden_files(dir: &Path, wanted: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, String> {
    let listing_error = |err: std::io::Error| format!("listing {}: {err}", dir.display());
    let mut files = std::fs::read_dir(dir)
        .map_err(listing_error)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(listing_error)?;
    files.retain(|path| {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        name.ends_with(".json") && !name.ends_with(".pretty.json") && wanted(name)
    });
    files.sort();
    Ok(files)
}

fn is_child_resource(name: &str) -> bool {
    [".cell.", ".shard.", ".tablegroup.", ".toposerver."]
        .iter()
        .any(|kind| name.contains(kind))
}

#[test]
fn go_marshalled_custom_resources_round_trip_unchanged() -> Result<(), String> {
    let Some(golden) = support::golden_dir("go_marshalled_custom_resources_round_trip_unchanged")
    else {
        return Ok(());
    };
    let mut files = golden_files(&golden.join("objects"), is_child_resource)?;
    files.extend(golden_files(&golden.join("templates"), |name| {
        is_child_resource(name) || name.ends_with(".multigrescluster.defaulted.json")
    })?);
    files.extend(golden_files(&golden, |name| {
        name.ends_with(".shard.json")
            || name.ends_with(".tablegroup.json")
            || name.ends_with(".cluster-input.json")
    })?);
    // 16 child resources of the four pool cases, 11 objects of the two template cases, and the
    // 12 stored Shards, TableGroups and cluster inputs of the four pool cases.
    assert_eq!(files.len(), 39, "golden custom resources found: {files:#?}");

    for file in files {
        let origin = file.display().to_string();
        let golden_object = support::read_json(&file);
        assert_eq!(
            round_trip(&golden_object, &origin)?,
            golden_object,
            "{origin}"
        );
    }
    Ok(())
}

/// Go writes a value struct even when it is empty, so a spec as a user wrote it (without those
/// structs) comes back with exactly the empty structs Go would add, and nothing else.
#[test]
fn user_written_inputs_gain_only_the_empty_value_structs_go_writes() -> Result<(), String> {
    let Some(golden) =
        support::golden_dir("user_written_inputs_gain_only_the_empty_value_structs_go_writes")
    else {
        return Ok(());
    };
    let templates = golden.join("templates");

    for case in ["t1-explicit", "t3-cluster-defaults"] {
        let input = support::read_json(&templates.join(format!("{case}.cluster-input.json")));
        let mut expected = input.clone();
        expected["spec"]["images"] = json!({});
        expected["spec"]["logLevels"] = json!({});
        if case == "t1-explicit" {
            expected["spec"]["templateDefaults"] = json!({});
        }
        assert_eq!(round_trip(&input, case)?, expected, "{case} cluster input");

        let input = support::read_json(&templates.join(format!("{case}.templates.json")));
        let mut expected = input.clone();
        // The CoreTemplate's multiadminWeb sets only `replicas`; Go adds its `resources`.
        expected[0]["spec"]["multiadminWeb"]["resources"] = json!({});
        let items = input.as_array().ok_or("templates.json holds a list")?;
        let round_tripped = items
            .iter()
            .map(|template| round_trip(template, case))
            .collect::<Result<Vec<_>, _>>()?;
        assert_eq!(Value::Array(round_tripped), expected, "{case} templates");
    }
    Ok(())
}
