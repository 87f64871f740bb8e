//! Whether a server-side apply would change anything: the pure half of "compare before
//! writing" (fix 12 of spec/README.md: a pass over an unchanged world writes nothing).
//!
//! A forced apply of the same intent is a no-op on the API server, but it is still a request and
//! a write to count. So before every apply the desired object is compared with the live one from
//! the informer cache:
//! - every field the desired object sets must already hold that value in the live object
//!   (maps: each desired key present and equal; lists: same length, element-wise), and
//! - the live object's `managedFields` entry of our field manager must not own a field the
//!   desired object no longer sets (otherwise the apply would remove it, e.g. `externalIPs`
//!   when external exposure is turned off).
//!
//! List elements in `fieldsV1` are named by key (`k:{..}`), value (`v:..`) or index (`i:..`); the
//! second check looks each one up in the desired list the same way. Condition lists (objects
//! with distinct `type`s) are compared by type, since other field managers own other entries.
//!
//! Must not do I/O: the cache lookup and the write are `apply`'s business.

use serde_json::Value;

/// Where the fields of the main resource and of the status subresource are recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    Main,
    Status,
}

/// Why an apply is needed, for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// The object does not exist yet.
    Missing,
    /// A desired field is absent or holds another value (the path of the first one).
    Field(String),
    /// Our field manager owns a field the desired object no longer sets.
    Released(String),
    /// Our field manager has no apply entry on the object yet (created or last written by
    /// someone else), so the apply takes ownership.
    NotOwned,
}

/// `None` when applying `desired` with `manager` would change nothing on `live`.
pub fn apply_drift(
    desired: &Value,
    live: Option<&Value>,
    manager: &str,
    subresource: Subresource,
) -> Option<Drift> {
    let Some(live) = live else {
        return Some(Drift::Missing);
    };
    let desired = strip_identity(desired);
    if let Some(path) = first_difference(&desired, live, String::new()) {
        return Some(Drift::Field(path));
    }
    let owned = match (managed_fields(live, manager, subresource), subresource) {
        (Some(owned), _) => owned,
        (None, Subresource::Main) => return Some(Drift::NotOwned),
        // Some API servers (kubesim before it recorded status managers) keep no status entry:
        // the field comparison above is then all there is to go on.
        (None, Subresource::Status) => return None,
    };
    let scope = match subresource {
        Subresource::Main => Scope::Main,
        Subresource::Status => Scope::Status,
    };
    released_field(owned, &desired, String::new(), scope).map(Drift::Released)
}

/// Which part of an object one write covers: the main resource never carries status, the
/// status subresource nothing else.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Main,
    Status,
}

/// The first field `owned` (a `fieldsV1` set) holds that `desired` does not set.
fn released_field(owned: &Value, desired: &Value, path: String, scope: Scope) -> Option<String> {
    let map = owned.as_object()?;
    for (key, child) in map {
        if key == "." {
            continue;
        }
        if let Some(field) = key.strip_prefix("f:") {
            let child_path = format!("{path}.{field}");
            if path.is_empty() {
                let is_status = field == "status";
                if (scope == Scope::Main) == is_status {
                    continue;
                }
            }
            match desired.get(field) {
                None => return Some(child_path),
                Some(value) => {
                    if let Some(found) = released_field(child, value, child_path, scope) {
                        return Some(found);
                    }
                }
            }
        } else if let Some(keys) = key.strip_prefix("k:") {
            let element_path = format!("{path}[{keys}]");
            let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(keys) else {
                continue;
            };
            // A key field the desired element leaves out is one the API server defaulted (a
            // port's `protocol: TCP`): it matches whatever the key says.
            let element = desired.as_array().and_then(|list| {
                list.iter().find(|item| {
                    keys.iter().any(|(k, v)| item.get(k) == Some(v))
                        && keys
                            .iter()
                            .all(|(k, v)| item.get(k).is_none_or(|found| found == v))
                })
            });
            match element {
                None => return Some(element_path),
                Some(element) => {
                    if let Some(found) = released_field(child, element, element_path, scope) {
                        return Some(found);
                    }
                }
            }
        } else if let Some(value) = key.strip_prefix("v:") {
            let Ok(value) = serde_json::from_str::<Value>(value) else {
                continue;
            };
            if !desired.as_array().is_some_and(|list| list.contains(&value)) {
                return Some(format!("{path}[{value}]"));
            }
        } else if let Some(index) = key.strip_prefix("i:") {
            let element = index
                .parse::<usize>()
                .ok()
                .and_then(|i| desired.as_array().and_then(|list| list.get(i)));
            match element {
                None => return Some(format!("{path}[{index}]")),
                Some(element) => {
                    if let Some(found) =
                        released_field(child, element, format!("{path}[{index}]"), scope)
                    {
                        return Some(found);
                    }
                }
            }
        }
    }
    None
}

/// The desired object without what identifies it rather than what it asks for: apiVersion,
/// kind, and the metadata fields the server fills (name and namespace are compared like any
/// field; they are equal by construction of the lookup).
fn strip_identity(desired: &Value) -> Value {
    let mut desired = desired.clone();
    if let Some(map) = desired.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in [
                "resourceVersion",
                "uid",
                "generation",
                "creationTimestamp",
                "managedFields",
            ] {
                meta.remove(key);
            }
        }
    }
    desired
}

/// The first path where `live` does not hold what `desired` sets.
fn first_difference(desired: &Value, live: &Value, path: String) -> Option<String> {
    match (desired, live) {
        (Value::Object(want), Value::Object(have)) => want.iter().find_map(|(key, value)| {
            let child = format!("{path}.{key}");
            match have.get(key) {
                Some(found) => first_difference(value, found, child),
                // An empty map or list in the desired object is what an absent field means
                // to the API server (omitempty), and a null asks for nothing.
                None if is_empty(value) => None,
                None => Some(child),
            }
        }),
        (Value::Array(want), Value::Array(have)) if keyed_by_type(want) => {
            // Condition lists merge by `type`: other managers may own other entries.
            want.iter().find_map(|item| {
                let type_ = &item["type"];
                let child = format!("{path}[type={type_}]");
                match have.iter().find(|h| &h["type"] == type_) {
                    Some(found) => first_difference(item, found, child),
                    None => Some(child),
                }
            })
        }
        (Value::Array(want), Value::Array(have)) => {
            if want.len() != have.len() {
                return Some(format!("{path}[]"));
            }
            want.iter()
                .zip(have)
                .enumerate()
                .find_map(|(index, (w, h))| first_difference(w, h, format!("{path}[{index}]")))
        }
        (Value::Null, _) => None,
        (want, Value::Null) if is_empty(want) => None,
        (Value::Number(want), Value::Number(have)) => {
            (want.as_f64() != have.as_f64()).then_some(path)
        }
        (want, have) => (want != have).then_some(path),
    }
}

/// A non-empty list of objects each naming a distinct string `type` (a condition list).
fn keyed_by_type(list: &[Value]) -> bool {
    !list.is_empty()
        && list
            .iter()
            .all(|item| item.get("type").is_some_and(Value::is_string))
        && list
            .iter()
            .filter_map(|item| item["type"].as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            == list.len()
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(list) => list.is_empty(),
        _ => false,
    }
}

/// The `fieldsV1` of `manager`'s Apply entry for `subresource`.
fn managed_fields<'a>(
    live: &'a Value,
    manager: &str,
    subresource: Subresource,
) -> Option<&'a Value> {
    let entries = live.pointer("/metadata/managedFields")?.as_array()?;
    entries.iter().find_map(|entry| {
        let is_ours = entry.get("manager").and_then(Value::as_str) == Some(manager)
            && entry.get("operation").and_then(Value::as_str) == Some("Apply");
        let entry_subresource = entry
            .get("subresource")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let owns_status = entry.pointer("/fieldsV1/f:status").is_some();
        // API servers record status applies with `subresource: status`; older ones (and
        // kubesim before it learnt to) record them on the main entry.
        let same_subresource = match subresource {
            Subresource::Main => entry_subresource.is_empty(),
            Subresource::Status => {
                entry_subresource == "status" || (entry_subresource.is_empty() && owns_status)
            }
        };
        (is_ours && same_subresource).then(|| entry.get("fieldsV1").unwrap_or(&Value::Null))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    const MANAGER: &str = "multigres-operator";

    fn live_with(fields: Value, body: Value) -> Value {
        let mut live = body;
        live["metadata"]["managedFields"] = json!([{
            "manager": MANAGER, "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }]);
        live
    }

    fn service(ips: Option<Value>) -> Value {
        let mut spec = json!({"selector": {"app": "x"}, "ports": [{"name": "http", "port": 80}]});
        if let Some(ips) = ips {
            spec["externalIPs"] = ips;
        }
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "s", "namespace": "ns", "labels": {"a": "b"}}, "spec": spec})
    }

    fn service_fields(with_ips: bool) -> Value {
        let mut spec = json!({
            "f:selector": {"f:app": {}},
            "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}}},
        });
        if with_ips {
            spec["f:externalIPs"] = json!({});
        }
        json!({"f:metadata": {"f:labels": {"f:a": {}}}, "f:spec": spec})
    }

    #[test]
    fn an_unchanged_object_needs_no_apply_even_with_server_defaults_added() {
        let desired = service(None);
        let mut live = live_with(service_fields(false), service(None));
        live["spec"]["clusterIP"] = json!("10.0.0.1");
        live["spec"]["ports"][0]["protocol"] = json!("TCP");
        live["metadata"]["labels"]["foreign"] = json!("kept");
        live["metadata"]["resourceVersion"] = json!("12");
        assert_eq!(
            apply_drift(&desired, Some(&live), MANAGER, Subresource::Main),
            None
        );
    }

    #[test]
    fn a_missing_object_or_a_changed_field_needs_an_apply() {
        let desired = service(None);
        assert_eq!(
            apply_drift(&desired, None, MANAGER, Subresource::Main),
            Some(Drift::Missing)
        );
        let mut live = live_with(service_fields(false), service(None));
        live["spec"]["selector"]["app"] = json!("edited");
        assert_eq!(
            apply_drift(&desired, Some(&live), MANAGER, Subresource::Main),
            Some(Drift::Field(".spec.selector.app".into()))
        );
        let mut live = live_with(service_fields(false), service(None));
        live["spec"]["ports"]
            .as_array_mut()
            .expect("a list")
            .push(json!({"name": "extra", "port": 81}));
        assert_eq!(
            apply_drift(&desired, Some(&live), MANAGER, Subresource::Main),
            Some(Drift::Field(".spec.ports[]".into()))
        );
    }

    #[test]
    fn a_field_we_own_but_no_longer_set_needs_an_apply_to_release_it() {
        let desired = service(None);
        let live = live_with(service_fields(true), service(Some(json!(["1.2.3.4"]))));
        assert_eq!(
            apply_drift(&desired, Some(&live), MANAGER, Subresource::Main),
            Some(Drift::Released(".spec.externalIPs".into()))
        );
    }

    #[test]
    fn an_object_someone_else_wrote_is_taken_over_once() {
        let desired = service(None);
        let live = service(None);
        assert_eq!(
            apply_drift(&desired, Some(&live), MANAGER, Subresource::Main),
            Some(Drift::NotOwned)
        );
    }

    #[test]
    fn status_ownership_is_read_from_the_status_entry() {
        let desired = json!({"status": {"phase": "Healthy"}});
        let mut live = json!({"metadata": {}, "status": {"phase": "Healthy"}});
        live["metadata"]["managedFields"] = json!([{
            "manager": MANAGER, "operation": "Apply", "subresource": "status",
            "fieldsV1": {"f:status": {"f:phase": {}}},
        }]);
        assert_eq!(
            apply_drift(&desired, Some(&live), MANAGER, Subresource::Status),
            None
        );
        assert_eq!(
            apply_drift(&desired, Some(&live), MANAGER, Subresource::Main),
            Some(Drift::NotOwned)
        );
    }

    #[test]
    fn empty_desired_maps_match_absent_fields_and_numbers_compare_by_value() {
        let desired = json!({"spec": {"template": {"metadata": {"annotations": {}}}, "n": 1}});
        let live = live_with(
            json!({"f:spec": {"f:n": {}}}),
            json!({"metadata": {}, "spec": {"template": {"metadata": {}}, "n": 1.0}}),
        );
        assert_eq!(
            apply_drift(&desired, Some(&live), MANAGER, Subresource::Main),
            None
        );
    }
}
