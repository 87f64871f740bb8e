//! `render` against the Go operator's real outputs (shared/spec/golden/objects/ and templates/):
//! for every case, the cluster input with its templates and ConfigMap goes through the whole
//! render pipeline, and the printed set of objects is exactly the golden set, each equal as
//! parsed JSON once the documented render differences are applied to the golden one: no uid
//! (nothing was stored), no `status`, and the generated pgBackRest data left empty.
//!
//! The goldens live outside the repository: `MULTIGRES_SHARED_DIR`, else `<workspace>/../shared`.
//! Without them the test prints that it skips.

mod golden_objects;

use golden_objects::{Case, cases, differences, golden_dir};
use multigres_operator::render::{InputFile, OutputFormat, render};
use pretty_assertions::assert_eq;
use serde_json::Value;

/// Case 2's `postgresConfigRef` ConfigMap (golden/README.md).
const CASE2_CONFIG_MAP: &str = r#"{"apiVersion": "v1", "kind": "ConfigMap",
  "metadata": {"name": "pg-custom-config", "namespace": "default"},
  "data": {"postgresql.conf": "max_connections = 200\nshared_buffers = 256MB\n"}}"#;

fn input_files(case: &Case) -> anyhow::Result<Vec<InputFile>> {
    let mut files = vec![InputFile {
        name: format!("{}.cluster-input.json", case.name),
        text: case.cluster_input()?.to_string(),
    }];
    for (index, template) in case.templates()?.into_iter().enumerate() {
        files.push(InputFile {
            name: format!("{}.templates.json[{index}]", case.name),
            text: template.to_string(),
        });
    }
    if case.name == "case2-pool-options" {
        files.push(InputFile {
            name: "pg-custom-config.json".into(),
            text: CASE2_CONFIG_MAP.into(),
        });
    }
    Ok(files)
}

/// The golden object as render prints it (see the module documentation). Objects the Go
/// operator creates (rather than applies) were recorded without `apiVersion` and `kind`, which
/// a printed object needs; all of them are core `v1` kinds.
fn as_rendered(mut golden: Value, kind: &str) -> Value {
    if let Some(fields) = golden.as_object_mut() {
        fields.remove("status");
        if !fields.contains_key("kind") {
            fields.insert("apiVersion".into(), Value::String("v1".into()));
            fields.insert("kind".into(), Value::String(kind.into()));
        }
    }
    if let Some(owners) = golden["metadata"]["ownerReferences"].as_array_mut() {
        for owner in owners {
            owner["uid"] = Value::String(String::new());
        }
    }
    if golden["kind"] == "Secret"
        && let Some(data) = golden["data"].as_object_mut()
        && data.values().all(|value| value == "RANDOM")
    {
        for value in data.values_mut() {
            *value = Value::String(String::new());
        }
    }
    golden
}

#[test]
fn render_prints_the_go_operators_objects_for_every_golden_case() -> anyhow::Result<()> {
    let Some(golden) = golden_dir("render_prints_the_go_operators_objects_for_every_golden_case")
    else {
        return Ok(());
    };
    for case in cases(&golden)? {
        let rendered = render(&input_files(&case)?, OutputFormat::Json)?;
        let list: Value = serde_json::from_str(&rendered.output)?;
        let items = list["items"].as_array().cloned().unwrap_or_default();

        let mut got: Vec<(String, String)> = items
            .iter()
            .map(|item| {
                (
                    item["kind"].as_str().unwrap_or_default().to_owned(),
                    item["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        got.sort();
        let mut expected: Vec<(String, String)> = case
            .rows
            .iter()
            .map(|row| (row["kind"].clone(), row["name"].clone()))
            .collect();
        expected.sort();
        assert_eq!(got, expected, "{}: the set of objects", case.name);

        for item in &items {
            let kind = item["kind"].as_str().unwrap_or_default();
            let name = item["metadata"]["name"].as_str().unwrap_or_default();
            let golden_object = as_rendered(case.object(kind, name)?, kind);
            assert_eq!(
                differences(item, &golden_object),
                Vec::<String>::new(),
                "{}: {kind} {name}",
                case.name
            );
        }
    }
    Ok(())
}
