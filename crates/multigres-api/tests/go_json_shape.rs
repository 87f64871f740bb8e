//! Our serializers write what Go's `encoding/json` writes for the same values: empty pointers,
//! strings, lists and maps are left out, value structs and non-`omitempty` fields always appear
//! (spec-api.md conventions; spec/golden/objects/README.md "What the bytes are"). Our
//! deserializers accept what Go's accepts: a missing field, even a required status field, decodes
//! as its zero value.

use std::collections::BTreeMap;

use multigres_api::v1alpha1::{
    Cell, CellName, CellStatus, CellStatusSummary, CellTemplate, CellTemplateSpec, CoreTemplate,
    CoreTemplateSpec, DatabaseConfig, DatabaseName, DatabaseStatusSummary, ExternalGatewayConfig,
    GatewayStatus, MultiOrchSpec, MultigresCluster, MultigresClusterSpec, MultigresClusterStatus,
    PoolSpec, S3BackupConfig, Shard, ShardStatus, ShardTemplate, ShardTemplateSpec, TableGroup,
    TableGroupStatus, TopoServer, TopoServerStatus,
};
use pretty_assertions::assert_eq;
use serde::de::DeserializeOwned;
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

fn decode<T: DeserializeOwned>(what: &str, value: Value) -> T {
    let message = format!("{what} must decode");
    serde_json::from_value(value).expect(&message)
}

/// Go's `encoding/json` decodes a missing field as its zero value, even one the CRD marks
/// `required`, so a half-written status never stops a reader (`omit` module doc).
#[test]
fn missing_required_status_fields_decode_as_go_zero_values() {
    let cell: CellStatus = decode("CellStatus {}", json!({}));
    let table_group: TableGroupStatus = decode("TableGroupStatus {}", json!({}));
    let shard: ShardStatus = decode("ShardStatus {}", json!({}));
    let topo_server: TopoServerStatus = decode("TopoServerStatus {}", json!({}));
    assert_eq!(
        (cell, table_group, shard, topo_server),
        (
            CellStatus::default(),
            TableGroupStatus::default(),
            ShardStatus::default(),
            TopoServerStatus::default(),
        )
    );

    let cluster: MultigresClusterStatus = decode(
        "MultigresClusterStatus with empty summaries",
        json!({
            "cells": { "zone-a": {} },
            "databases": { "postgres": {} },
            "gateway": {},
            "adminWeb": {},
        }),
    );
    assert_eq!(
        cluster,
        MultigresClusterStatus {
            cells: BTreeMap::from([(CellName::from("zone-a"), CellStatusSummary::default())]),
            databases: BTreeMap::from([(
                DatabaseName::from("postgres"),
                DatabaseStatusSummary::default()
            )]),
            gateway: Some(GatewayStatus::default()),
            admin_web: Some(GatewayStatus::default()),
            ..MultigresClusterStatus::default()
        }
    );
}

/// An object of every kind decodes without a status and with an empty one; the templates have
/// no status and ignore it. Specs hold only what their CRD requires.
#[test]
fn objects_of_every_kind_decode_with_no_status_and_an_empty_status() {
    fn object(kind: &str, spec: &Value, status: Option<Value>) -> Value {
        let mut object = json!({
            "apiVersion": "multigres.com/v1alpha1",
            "kind": kind,
            "metadata": { "name": "status-probe", "namespace": "db" },
            "spec": spec,
        });
        if let Some(status) = status {
            object["status"] = status;
        }
        object
    }
    let global_topo = json!({
        "address": "prod-global-topo.db.svc:2379",
        "rootPath": "/multigres/global",
        "implementation": "etcd2",
    });
    let shard_images = json!({
        "postgres": "postgres:17",
        "multiorch": "multiorch:1",
        "multipooler": "multipooler:1",
    });
    fn statuses<T: DeserializeOwned, S>(
        kind: &str,
        spec: Value,
        status_of: impl Fn(T) -> Option<S>,
    ) -> (Option<S>, Option<S>) {
        let absent = decode(&format!("{kind} without status"), object(kind, &spec, None));
        let empty = decode(
            &format!("{kind} with status {{}}"),
            object(kind, &spec, Some(json!({}))),
        );
        (status_of(absent), status_of(empty))
    }

    assert_eq!(
        statuses("MultigresCluster", json!({}), |o: MultigresCluster| o
            .status),
        (None, Some(MultigresClusterStatus::default()))
    );
    assert_eq!(
        statuses(
            "Cell",
            json!({
                "name": "zone-a",
                "images": { "multigateway": "multigateway:1" },
                "multigateway": {},
                "globalTopoServer": global_topo,
            }),
            |o: Cell| o.status
        ),
        (None, Some(CellStatus::default()))
    );
    assert_eq!(
        statuses(
            "TableGroup",
            json!({
                "databaseName": "postgres",
                "tableGroupName": "default",
                "images": shard_images,
                "globalTopoServer": global_topo,
                "shards": [],
            }),
            |o: TableGroup| o.status
        ),
        (None, Some(TableGroupStatus::default()))
    );
    assert_eq!(
        statuses(
            "Shard",
            json!({
                "databaseName": "postgres",
                "tableGroupName": "default",
                "shardName": "0-inf",
                "images": shard_images,
                "globalTopoServer": global_topo,
                "multiorch": {},
                "pools": {},
            }),
            |o: Shard| o.status
        ),
        (None, Some(ShardStatus::default()))
    );
    assert_eq!(
        statuses("TopoServer", json!({}), |o: TopoServer| o.status),
        (None, Some(TopoServerStatus::default()))
    );
    // The templates have no status: both shapes decode to the same, empty spec.
    assert_eq!(
        statuses("CoreTemplate", json!({}), |o: CoreTemplate| Some(o.spec)),
        (
            Some(CoreTemplateSpec::default()),
            Some(CoreTemplateSpec::default())
        )
    );
    assert_eq!(
        statuses("CellTemplate", json!({}), |o: CellTemplate| Some(o.spec)),
        (
            Some(CellTemplateSpec::default()),
            Some(CellTemplateSpec::default())
        )
    );
    assert_eq!(
        statuses("ShardTemplate", json!({}), |o: ShardTemplate| Some(o.spec)),
        (
            Some(ShardTemplateSpec::default()),
            Some(ShardTemplateSpec::default())
        )
    );
}
