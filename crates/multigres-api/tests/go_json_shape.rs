//! Our serializers write what Go's `encoding/json` writes for the same values: empty pointers,
//! strings, lists and maps are left out, value structs and non-`omitempty` fields always appear
//! (spec-api.md conventions; spec/golden/objects/README.md "What the bytes are").

use multigres_api::v1alpha1::{
    CellStatus, DatabaseConfig, DatabaseName, ExternalGatewayConfig, MultiOrchSpec,
    MultigresClusterSpec, PoolSpec, S3BackupConfig, ShardStatus, TableGroupStatus,
    TopoServerStatus,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn json_of(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("API types serialize to JSON")
}

#[test]
fn empty_statuses_write_exactly_their_required_fields() {
    assert_eq!(
        json_of(&CellStatus::default()),
        json!({ "gatewayReplicas": 0, "gatewayReadyReplicas": 0 })
    );
    assert_eq!(
        json_of(&TableGroupStatus::default()),
        json!({ "readyShards": 0, "totalShards": 0 })
    );
    assert_eq!(
        json_of(&ShardStatus::default()),
        json!({ "orchReady": false, "poolsReady": false })
    );
    assert_eq!(json_of(&TopoServerStatus::default()), json!({}));
}

#[test]
fn value_structs_are_written_even_when_empty() {
    assert_eq!(
        json_of(&MultigresClusterSpec::default()),
        json!({ "images": {}, "logLevels": {}, "templateDefaults": {} })
    );
    assert_eq!(
        json_of(&PoolSpec::default()),
        json!({
            "storage": {},
            "postgres": { "resources": {} },
            "multipooler": { "resources": {} },
        })
    );
    assert_eq!(
        json_of(&MultiOrchSpec::default()),
        json!({ "resources": {} })
    );
}

#[test]
fn false_booleans_are_left_out_unless_go_always_writes_them() {
    let database = DatabaseConfig {
        name: DatabaseName::from("postgres"),
        ..DatabaseConfig::default()
    };
    assert_eq!(json_of(&database), json!({ "name": "postgres" }));
    assert_eq!(
        json_of(&ExternalGatewayConfig::default()),
        json!({ "enabled": false })
    );
    assert_eq!(
        json_of(&S3BackupConfig::default()),
        json!({ "bucket": "", "region": "" })
    );
}

#[test]
fn absent_value_structs_and_optional_fields_deserialize_to_defaults() {
    let pool: PoolSpec = serde_json::from_value(json!({})).expect("an empty pool is valid JSON");
    assert_eq!(pool, PoolSpec::default());
    let spec: MultigresClusterSpec =
        serde_json::from_value(json!({})).expect("an empty cluster spec is valid JSON");
    assert_eq!(spec, MultigresClusterSpec::default());
}
