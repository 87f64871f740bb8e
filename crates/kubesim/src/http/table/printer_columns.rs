//! Table columns of custom resources: a CRD version's `additionalPrinterColumns` (or the
//! default `Age` column when it declares none), evaluated as apiextensions' `tableconvertor.go`
//! does (rust-ecosystem.md §3.3 "Table"): the first JSONPath result of each column, typed by the
//! column's `type` (`integer`, `number`, `boolean`, `string`, `date` → human duration).
//!
//! Pure: reads the CRD object and the custom resource; the time is an argument.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::human_duration::since;
use crate::semantics::field_cause::go_number;
use crate::semantics::jsonpath::JsonPath;

/// One printer column of a CRD version.
#[derive(Clone, Debug)]
pub(super) struct CustomColumn {
    pub name: String,
    pub kind: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    /// `None` when the path does not parse: the column then always shows an empty cell, as
    /// the API server's convertor would never have accepted the CRD.
    pub path: Option<JsonPath>,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The printer columns of `version` in a stored CRD object; the apiextensions default (one
/// `Age` column over `.metadata.creationTimestamp`) when the version declares none.
pub(super) fn custom_columns(
    crd: &Value,
    version: &str,
    creation_timestamp_doc: &str,
) -> Vec<CustomColumn> {
    let declared: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|versions| versions.iter().find(|v| v["name"] == version))
        .and_then(|v| v.get("additionalPrinterColumns"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if declared.is_empty() {
        return vec![CustomColumn {
            name: "Age".into(),
            kind: "date".into(),
            format: String::new(),
            description: creation_timestamp_doc.to_string(),
            priority: 0,
            path: JsonPath::parse(".metadata.creationTimestamp").ok(),
        }];
    }
    declared
        .iter()
        .map(|column| CustomColumn {
            name: text(column, "name"),
            kind: text(column, "type"),
            format: text(column, "format"),
            description: text(column, "description"),
            priority: column.get("priority").and_then(Value::as_i64).unwrap_or(0),
            path: JsonPath::parse(&text(column, "jsonPath")).ok(),
        })
        .collect()
}

/// The cell of `column` for `object`: `null` (kubectl shows `<none>`) when the path finds
/// nothing or the value does not fit the column type.
pub(super) fn cell(column: &CustomColumn, object: &Value, now: Timestamp) -> Value {
    let Some(value) = column
        .path
        .as_ref()
        .and_then(|p| p.find(object).first().copied())
    else {
        return Value::Null;
    };
    if value.is_null() {
        return Value::Null;
    }
    match column.kind.as_str() {
        // `string` columns print whatever they find, as the JSONPath printer does.
        "string" => json!(go_print(value)),
        "integer" => match value {
            Value::Number(n) => n
                .as_i64()
                // A float is truncated toward zero, like Go's int64(f).
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map_or(Value::Null, |i| json!(i)),
            _ => Value::Null,
        },
        "number" => match value {
            Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
            _ => Value::Null,
        },
        "boolean" => match value {
            Value::Bool(b) => json!(b),
            _ => Value::Null,
        },
        "date" => match value {
            Value::String(s) => match s.parse::<Timestamp>() {
                Ok(_) => json!(since(Some(s), now)),
                Err(_) => json!("<invalid>"),
            },
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// Go's `fmt.Fprint` of a decoded JSON value, which the JSONPath printer uses for values that
/// are not strings: `map[a:1 b:x]`, `[1 2]`.
fn go_print(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_print).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let entries: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_print(&map[k.as_str()])))
                .collect();
            format!("map[{}]", entries.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(kind: &str, path: &str) -> CustomColumn {
        CustomColumn {
            name: "C".into(),
            kind: kind.into(),
            format: String::new(),
            description: String::new(),
            priority: 0,
            path: JsonPath::parse(path).ok(),
        }
    }

    #[test]
    fn cells_follow_the_column_type() {
        let now: Timestamp = "2026-03-01T12:00:00Z".parse().expect("valid time");
        let object = json!({
            "metadata": {"creationTimestamp": "2026-02-28T09:00:00Z"},
            "spec": {"replicas": 3, "ratio": 2.75, "paused": true, "labels": {"b": 2, "a": "x"}, "zones": ["a", "b"]},
            "status": {"conditions": [{"type": "Available", "status": "True"}], "since": "yesterday"},
        });
        let cases = [
            (column("integer", ".spec.replicas"), json!(3)),
            (column("integer", ".spec.ratio"), json!(2)),
            (column("number", ".spec.replicas"), json!(3.0)),
            (column("number", ".spec.ratio"), json!(2.75)),
            (column("boolean", ".spec.paused"), json!(true)),
            (column("boolean", ".spec.replicas"), Value::Null),
            (column("string", ".spec.replicas"), json!("3")),
            (column("string", ".spec.labels"), json!("map[a:x b:2]")),
            (column("string", ".spec.zones"), json!("[a b]")),
            (
                column(
                    "string",
                    ".status.conditions[?(@.type=='Available')].status",
                ),
                json!("True"),
            ),
            (column("string", ".status.missing"), Value::Null),
            (column("integer", ".status.since"), Value::Null),
            (column("date", ".metadata.creationTimestamp"), json!("27h")),
            (column("date", ".status.since"), json!("<invalid>")),
        ];
        for (column, expected) in cases {
            assert_eq!(cell(&column, &object, now), expected, "{column:?}");
        }
    }

    #[test]
    fn a_version_without_columns_gets_the_age_column() {
        let crd = json!({"spec": {"versions": [
            {"name": "v1", "additionalPrinterColumns": [
                {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas", "priority": 1, "description": "desired"},
            ]},
            {"name": "v2"},
        ]}});
        let v1 = custom_columns(&crd, "v1", "created");
        assert_eq!(
            (
                v1[0].name.as_str(),
                v1[0].kind.as_str(),
                v1[0].priority,
                v1[0].description.as_str()
            ),
            ("Replicas", "integer", 1, "desired")
        );
        let v2 = custom_columns(&crd, "v2", "created");
        assert_eq!(
            (
                v2.len(),
                v2[0].name.as_str(),
                v2[0].kind.as_str(),
                v2[0].description.as_str()
            ),
            (1, "Age", "date", "created")
        );
    }
}
