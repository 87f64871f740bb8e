//! `meta.k8s.io/v1 Table` replies (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, what
//! `kubectl get` asks for; rust-ecosystem.md §3.2 "get" and §3.3 "Table"): column definitions
//! and one row of cells per object, rendered by the server so kubectl prints them verbatim.
//!
//! Built-in kinds use `builtin_printers`, custom resources their CRD's printer columns
//! (`printer_columns`), every other kind the API server's default `Name`/`Created At` table.
//! Rows carry the object as `includeObject` asks (PartialObjectMetadata by default), which
//! kubectl reads for `--show-labels`, `-L` and the namespace column. On watches only the first
//! event carries column definitions (`TableOptions.NoHeaders` after the first object).
//!
//! Pure: the caller passes the objects, the CRD object (for custom resources) and the time.

mod builtin_printers;
pub mod human_duration;
mod printer_columns;

use std::collections::HashMap;
use std::sync::OnceLock;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use builtin_printers::{Column, Description, Printer};
use printer_columns::CustomColumn;

use crate::error::ApiError;
use crate::resources::{Origin, Representation, ResourceDef};
use crate::semantics::event_conversion;

/// What each row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

/// The `TableOptions` of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableOptions {
    pub include_object: IncludeObject,
    /// Omit the column definitions (watch events after the first).
    pub no_headers: bool,
}

impl TableOptions {
    /// From the `includeObject` query parameter (`None`, `Metadata` (default), `Object`).
    pub fn from_query(include_object: Option<&str>) -> Result<TableOptions, ApiError> {
        let include_object = match include_object.unwrap_or_default() {
            "" | "Metadata" => IncludeObject::Metadata,
            "None" => IncludeObject::None,
            "Object" => IncludeObject::Object,
            other => {
                return Err(ApiError::BadRequest {
                    message: format!(
                        "includeObject: Unsupported value: \"{other}\": supported values: \"Metadata\", \"None\", \"Object\""
                    ),
                });
            }
        };
        Ok(TableOptions {
            include_object,
            no_headers: false,
        })
    }
}

/// How the rows of one resource are rendered.
#[derive(Clone, Debug)]
pub struct Columns {
    source: Source,
    /// events.k8s.io Events are printed from their core/v1 form.
    events_v1: bool,
}

#[derive(Clone, Debug)]
enum Source {
    Printer(&'static Printer),
    Custom(Vec<CustomColumn>),
    Default,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("columns", &self.columns.len())
            .finish()
    }
}

/// The descriptions of ObjectMeta fields, from k8s-openapi's schema (the printers use
/// `metav1.ObjectMeta{}.SwaggerDoc()`); computed once and shared read-only.
fn object_meta_doc(field: &str) -> String {
    static DOCS: OnceLock<HashMap<String, String>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let schema = schemars::SchemaGenerator::default().into_root_schema_for::<ObjectMeta>();
        schema
            .as_value()
            .get("properties")
            .and_then(Value::as_object)
            .map(|properties| {
                properties
                    .iter()
                    .filter_map(|(name, p)| {
                        let doc = p.get("description")?.as_str()?;
                        Some((name.clone(), doc.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
    .get(field)
    .cloned()
    .unwrap_or_default()
}

/// The columns of `def`; `crd` is the stored CustomResourceDefinition of a custom resource.
pub fn columns(def: &ResourceDef, crd: Option<&Value>) -> Columns {
    let source = match (&def.origin, crd) {
        (Origin::Crd { .. }, Some(crd)) => Source::Custom(printer_columns::custom_columns(
            crd,
            &def.version,
            &object_meta_doc("creationTimestamp"),
        )),
        (Origin::Crd { .. }, None) => Source::Default,
        (Origin::BuiltIn, _) => builtin_printers::printer(&def.group, &def.kind)
            .map_or(Source::Default, Source::Printer),
    };
    Columns {
        source,
        events_v1: def.representation == Representation::EventsV1,
    }
}

fn definition(name: &str, kind: &str, format: &str, description: String, priority: i64) -> Value {
    json!({
        "name": name,
        "type": kind,
        "format": format,
        "description": description,
        "priority": priority,
    })
}

fn builtin_definition(column: &Column) -> Value {
    let description = match column.description {
        Description::Meta(field) => object_meta_doc(field),
        Description::Text(text) => text.to_string(),
    };
    definition(
        column.name,
        column.kind,
        column.format,
        description,
        column.priority,
    )
}

impl Columns {
    fn definitions(&self) -> Vec<Value> {
        let name = || definition("Name", "string", "name", object_meta_doc("name"), 0);
        match &self.source {
            Source::Printer(printer) => printer.columns.iter().map(builtin_definition).collect(),
            Source::Custom(columns) => std::iter::once(name())
                .chain(columns.iter().map(|c| {
                    definition(
                        &c.name,
                        &c.kind,
                        &c.format,
                        c.description.clone(),
                        c.priority,
                    )
                }))
                .collect(),
            Source::Default => vec![
                name(),
                definition(
                    "Created At",
                    "date",
                    "",
                    object_meta_doc("creationTimestamp"),
                    0,
                ),
            ],
        }
    }

    fn cells(&self, object: &Value, now: Timestamp) -> Vec<Value> {
        let name = || {
            object
                .pointer("/metadata/name")
                .cloned()
                .unwrap_or(json!(""))
        };
        match &self.source {
            Source::Printer(printer) if self.events_v1 => {
                (printer.cells)(&event_conversion::events_v1_to_core(object), now)
            }
            Source::Printer(printer) => (printer.cells)(object, now),
            Source::Custom(columns) => std::iter::once(name())
                .chain(
                    columns
                        .iter()
                        .map(|c| printer_columns::cell(c, object, now)),
                )
                .collect(),
            Source::Default => {
                // The default convertor prints the creation time as RFC 3339 in UTC.
                let created = object
                    .pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
                vec![name(), json!(created)]
            }
        }
    }

    fn row(&self, object: &Value, now: Timestamp, include: IncludeObject) -> Value {
        let mut row = json!({"cells": self.cells(object, now)});
        match include {
            IncludeObject::None => {}
            IncludeObject::Object => row["object"] = object.clone(),
            IncludeObject::Metadata => {
                row["object"] = json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": object.get("metadata").cloned().unwrap_or(json!({})),
                });
            }
        }
        row
    }

    /// The Table of an object or a list (an object with `items`).
    pub fn render(&self, value: &Value, now: Timestamp, options: TableOptions) -> Value {
        let (metadata, rows) = match value.get("items").and_then(Value::as_array) {
            Some(items) => {
                let mut metadata = serde_json::Map::new();
                for key in ["resourceVersion", "continue", "remainingItemCount"] {
                    if let Some(v) = value.pointer(&format!("/metadata/{key}")) {
                        metadata.insert(key.into(), v.clone());
                    }
                }
                let rows: Vec<Value> = items
                    .iter()
                    .map(|item| self.row(item, now, options.include_object))
                    .collect();
                (Value::Object(metadata), rows)
            }
            None => {
                let metadata = match value.pointer("/metadata/resourceVersion") {
                    Some(rv) => json!({"resourceVersion": rv}),
                    None => json!({}),
                };
                (metadata, vec![self.row(value, now, options.include_object)])
            }
        };
        let definitions = if options.no_headers {
            Value::Null
        } else {
            Value::Array(self.definitions())
        };
        json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
            "columnDefinitions": definitions,
            "rows": rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().expect("valid time")
    }

    #[test]
    fn a_configmap_list_becomes_a_table_with_metadata_rows() {
        let registry = Registry::with_builtins();
        let def = registry.get("", "v1", "configmaps").expect("built in");
        let list = json!({
            "kind": "ConfigMapList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "42", "continue": "c"},
            "items": [{"metadata": {"name": "a", "namespace": "ns", "creationTimestamp": "2026-03-01T11:00:00Z"},
                       "data": {"k": "v"}}],
        });
        let options = TableOptions::from_query(None).expect("default options");
        let table = columns(def, None).render(&list, now(), options);
        let names: Vec<&str> = table["columnDefinitions"]
            .as_array()
            .expect("definitions")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, vec!["Name", "Data", "Age"]);
        assert_eq!(table["columnDefinitions"][0]["format"], "name");
        assert_eq!(
            table["columnDefinitions"][0]["description"],
            json!(object_meta_doc("name"))
        );
        assert_eq!(
            table["metadata"],
            json!({"resourceVersion": "42", "continue": "c"})
        );
        assert_eq!(
            table["rows"],
            json!([{
                "cells": ["a", 1, "60m"],
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": {"name": "a", "namespace": "ns", "creationTimestamp": "2026-03-01T11:00:00Z"}},
            }])
        );
    }

    #[test]
    fn kinds_without_a_printer_get_name_and_created_at() {
        let registry = Registry::with_builtins();
        let def = registry
            .get("rbac.authorization.k8s.io", "v1", "clusterroles")
            .expect("built in");
        let role = json!({"metadata": {"name": "cluster-admin", "resourceVersion": "7",
                                       "creationTimestamp": "2026-03-01T11:00:00+00:00"}});
        let options = TableOptions {
            include_object: IncludeObject::None,
            no_headers: true,
        };
        assert_eq!(
            columns(def, None).render(&role, now(), options),
            json!({
                "kind": "Table", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": "7"},
                "columnDefinitions": null,
                "rows": [{"cells": ["cluster-admin", "2026-03-01T11:00:00Z"]}],
            })
        );
    }

    #[test]
    fn events_v1_are_printed_from_their_core_form() {
        let registry = Registry::with_builtins();
        let def = registry
            .get("events.k8s.io", "v1", "events")
            .expect("built in");
        let event = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e"},
            "regarding": {"kind": "Shard", "name": "s"},
            "reason": "Scaled", "type": "Normal", "note": "up",
            "eventTime": "2026-03-01T11:59:00.000000Z",
        });
        let options = TableOptions::from_query(Some("None")).expect("valid");
        let table = columns(def, None).render(&event, now(), options);
        assert_eq!(
            table["rows"][0]["cells"],
            json!([
                "60s", "Normal", "Scaled", "shard/s", "", "", "up", "60s", 1, "e"
            ])
        );
    }

    #[test]
    fn an_unknown_include_object_is_a_bad_request() {
        assert_eq!(
            TableOptions::from_query(Some("All")).map_err(|e| e.to_string()),
            Err("includeObject: Unsupported value: \"All\": supported values: \"Metadata\", \"None\", \"Object\"".to_string())
        );
    }
}
