//! `metadata.managedFields`: decoding, manager identities, and encoding in the API server's order.
//!
//! Place: the persistence format of `ssa`'s ownership state. One entry per manager identity:
//! an `Apply` manager is identified by (manager, subresource), an `Update` manager by (manager,
//! apiVersion, subresource), both serialised as the JSON Kubernetes uses as a map key
//! (`{"manager":"m","operation":"Update","apiVersion":"v1"}`), whose string order decides the
//! order of conflict messages. Entries are written sorted by operation, time, manager,
//! apiVersion and subresource, each as `{manager, operation, apiVersion, time, fieldsType:
//! FieldsV1, fieldsV1, subresource}` with empty members omitted.
//!
//! Must not: compute ownership (that is `ssa`), or invent times (they come from the caller).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::field_set::{FieldSet, go_json_string};
use crate::semantics::field_cause::go_quote;

/// `Apply` or `Update`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update, or a non-apply patch.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// Who owns a field set: the parts of a managedFields entry that identify it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The field manager (`unknown` when the request named none).
    pub manager: String,
    /// The operation.
    pub operation: Operation,
    /// The API version, part of the identity of `Update` managers only.
    pub api_version: Option<String>,
    /// The subresource (`status`, `scale`), empty for the main resource.
    pub subresource: String,
}

impl Identity {
    /// An identity; `api_version` is kept only for `Update` (appliers keep one entry across
    /// versions).
    pub fn new(manager: &str, operation: Operation, api_version: &str, subresource: &str) -> Self {
        Identity {
            manager: if manager.is_empty() {
                "unknown".to_owned()
            } else {
                manager.to_owned()
            },
            operation,
            api_version: (operation == Operation::Update).then(|| api_version.to_owned()),
            subresource: subresource.to_owned(),
        }
    }

    /// `BuildManagerIdentifier`: the JSON Kubernetes keys its manager map with.
    pub fn key(&self) -> String {
        let mut out = format!(
            "{{\"manager\":{},\"operation\":\"{}\"",
            go_json_string(&self.manager),
            self.operation.as_str()
        );
        if let Some(api_version) = self.api_version.as_deref().filter(|v| !v.is_empty()) {
            out.push_str(&format!(",\"apiVersion\":{}", go_json_string(api_version)));
        }
        if !self.subresource.is_empty() {
            out.push_str(&format!(
                ",\"subresource\":{}",
                go_json_string(&self.subresource)
            ));
        }
        out.push('}');
        out
    }

    /// `printManager`: how conflict messages name the manager.
    pub fn describe(&self) -> String {
        let mut out = go_quote(&self.manager);
        if !self.subresource.is_empty() {
            out.push_str(&format!(
                " with subresource {}",
                go_quote(&self.subresource)
            ));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(
                " using {}",
                self.api_version.as_deref().unwrap_or_default()
            ));
        }
        out
    }
}

/// One manager's ownership.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Who.
    pub identity: Identity,
    /// The API version the set was recorded in.
    pub api_version: String,
    /// When the manager last changed the object (RFC 3339), if ever.
    pub time: Option<String>,
    /// The owned fields.
    pub set: FieldSet,
}

/// All managers of an object, keyed by [`Identity::key`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Managed {
    /// The entries.
    pub entries: BTreeMap<String, Entry>,
}

impl Managed {
    /// Decodes `metadata.managedFields` (absent or `null` is empty), with the API server's
    /// checks and messages.
    pub fn decode(encoded: Option<&Value>) -> Result<Managed, String> {
        let items = match encoded {
            None | Some(Value::Null) => return Ok(Managed::default()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(format!("managedFields must be a list, got {other}")),
        };
        let mut managed = Managed::default();
        for (index, item) in items.iter().enumerate() {
            let Value::Object(item) = item else {
                return Err(format!("managed fields entry {index} must be an object"));
            };
            let text = |name: &str| item.get(name).and_then(Value::as_str).unwrap_or_default();
            let operation = match text("operation") {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return Err("operation must be `Apply` or `Update`".to_owned()),
            };
            let api_version = text("apiVersion");
            if api_version.is_empty() {
                return Err("apiVersion must not be empty".to_owned());
            }
            match text("fieldsType") {
                "FieldsV1" => {}
                "" => {
                    return Err(format!(
                        "missing fieldsType in managed fields entry {index}"
                    ));
                }
                other => {
                    return Err(format!(
                        "invalid fieldsType {} in managed fields entry {index}",
                        go_quote(other)
                    ));
                }
            }
            let set = match item.get("fieldsV1") {
                None | Some(Value::Null) => FieldSet::new(),
                Some(fields) => FieldSet::from_fields_v1(fields)
                    .map_err(|err| format!("error decoding set: {err}"))?,
            };
            let identity =
                Identity::new(text("manager"), operation, api_version, text("subresource"));
            let time = item.get("time").and_then(Value::as_str).map(str::to_owned);
            managed.entries.insert(
                identity.key(),
                Entry {
                    identity,
                    api_version: api_version.to_owned(),
                    time,
                    set,
                },
            );
        }
        Ok(managed)
    }

    /// Whether no manager owns anything.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `metadata.managedFields` list, or `None` when there are no managers (the field is then
    /// omitted, as Go's `omitempty` does).
    pub fn encode(&self) -> Option<Value> {
        if self.entries.is_empty() {
            return None;
        }
        let mut entries: Vec<&Entry> = self.entries.values().collect();
        entries.sort_by(|p, q| {
            p.identity
                .operation
                .cmp(&q.identity.operation)
                .then_with(|| unix_seconds(p.time.as_deref()).cmp(&unix_seconds(q.time.as_deref())))
                .then_with(|| p.identity.manager.cmp(&q.identity.manager))
                .then_with(|| p.api_version.cmp(&q.api_version))
                .then_with(|| p.identity.subresource.cmp(&q.identity.subresource))
        });
        Some(Value::Array(
            entries
                .into_iter()
                .map(|entry| {
                    let mut out = Map::new();
                    out.insert("manager".to_owned(), json!(entry.identity.manager));
                    out.insert(
                        "operation".to_owned(),
                        json!(entry.identity.operation.as_str()),
                    );
                    out.insert("apiVersion".to_owned(), json!(entry.api_version));
                    if let Some(time) = &entry.time {
                        out.insert("time".to_owned(), json!(time));
                    }
                    out.insert("fieldsType".to_owned(), json!("FieldsV1"));
                    out.insert("fieldsV1".to_owned(), entry.set.to_fields_v1());
                    if !entry.identity.subresource.is_empty() {
                        out.insert("subresource".to_owned(), json!(entry.identity.subresource));
                    }
                    Value::Object(out)
                })
                .collect(),
        ))
    }
}

/// Seconds since the epoch of an RFC 3339 time; 0 when absent or unreadable (Go sorts a nil time
/// as 0).
pub fn unix_seconds(time: Option<&str>) -> i64 {
    time.and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn identities_key_and_describe_like_the_api_server() {
        let apply = Identity::new("kubectl", Operation::Apply, "v1", "");
        assert_eq!(apply.key(), r#"{"manager":"kubectl","operation":"Apply"}"#);
        assert_eq!(apply.describe(), r#""kubectl""#);
        let update = Identity::new("", Operation::Update, "apps/v1", "status");
        assert_eq!(
            update.key(),
            r#"{"manager":"unknown","operation":"Update","apiVersion":"apps/v1","subresource":"status"}"#
        );
        assert_eq!(
            update.describe(),
            r#""unknown" with subresource "status" using apps/v1"#
        );
    }

    #[test]
    fn entries_round_trip_sorted_apply_first_then_by_time() {
        let encoded = json!([
            {"manager": "z", "operation": "Update", "apiVersion": "v1",
             "time": "2024-01-01T00:00:02Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:a": {}}}},
            {"manager": "b", "operation": "Update", "apiVersion": "v1",
             "time": "2024-01-01T00:00:03Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:b": {}}}, "subresource": "status"},
            {"manager": "a", "operation": "Apply", "apiVersion": "v1",
             "time": "2024-01-01T00:00:09Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:c": {}}}}
        ]);
        let managed = Managed::decode(Some(&encoded)).expect("valid entries");
        let reencoded = managed.encode().expect("three managers");
        let managers: Vec<&str> = reencoded
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["manager"].as_str())
            .collect();
        assert_eq!(managers, vec!["a", "z", "b"]);
        assert_eq!(reencoded[2], encoded[1]);
        assert_eq!(Managed::default().encode(), None);
    }

    #[test]
    fn malformed_entries_are_refused_with_api_server_messages() {
        let cases = [
            (
                json!([{"operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}]),
                "operation must be `Apply` or `Update`",
            ),
            (
                json!([{"operation": "Apply", "fieldsType": "FieldsV1"}]),
                "apiVersion must not be empty",
            ),
            (
                json!([{"operation": "Apply", "apiVersion": "v1"}]),
                "missing fieldsType in managed fields entry 0",
            ),
            (
                json!([{"operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV2"}]),
                "invalid fieldsType \"FieldsV2\" in managed fields entry 0",
            ),
        ];
        for (encoded, message) in cases {
            assert_eq!(Managed::decode(Some(&encoded)), Err(message.to_owned()));
        }
    }
}
