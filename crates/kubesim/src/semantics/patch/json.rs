//! RFC 6902 JSON patch exactly as the API server applies it (evanphx/json-patch v4).
//!
//! Place: `PATCH` with `application/json-patch+json`. The json-patch crate's `patch` differs
//! from the API server in ways clients depend on, so the operations are applied here:
//! - `test` of a missing member (or a member holding `null`) against `null` or no value passes:
//!   kube-runtime's `finalizer()` sends `test /metadata/finalizers null` first (pitfall P6);
//! - `replace` of a missing object member adds it;
//! - negative array indices count from the end;
//! - error texts are evanphx's (`testing value /x failed: test failed`,
//!   `Unable to remove nonexistent key: x: missing value`, ...), kept as the 422's detail.
//!
//! Must not: touch anything outside the document it is given.

use serde_json::Value;

use super::{PatchError, json_equal};
use crate::semantics::field_cause::go_quote;

/// The sentinel errors evanphx wraps (`%w`) into its messages.
const MISSING: &str = "missing value";
const INVALID_INDEX: &str = "invalid index referenced";
const TEST_FAILED: &str = "test failed";

/// Applies JSON patch `patch` (an array of operations) to `target`.
///
/// A `null` patch applies no operations, as Go decodes it to an empty patch.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let operations = match patch {
        Value::Null => return Ok(target.clone()),
        Value::Array(operations) => operations,
        other => {
            return Err(PatchError::DecodeJsonPatch {
                message: format!(
                    "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                    go_json_type(other)
                ),
            });
        }
    };
    if let Some(other) = operations
        .iter()
        .find(|op| !matches!(op, Value::Object(_) | Value::Null))
    {
        return Err(PatchError::DecodeJsonPatch {
            message: format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                go_json_type(other)
            ),
        });
    }
    let mut doc = target.clone();
    for (index, operation) in operations.iter().enumerate() {
        apply_operation(&mut doc, operation).map_err(|detail| {
            PatchError::ApplyJsonPatchOperation {
                operation: index,
                detail,
            }
        })?;
    }
    Ok(doc)
}

/// The word Go's JSON decoder uses for a value's type in "cannot unmarshal X".
fn go_json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One decoded operation: the raw members, read lazily as evanphx does.
struct Operation<'a> {
    members: Option<&'a serde_json::Map<String, Value>>,
}

impl<'a> Operation<'a> {
    fn member(&self, name: &str) -> Option<&'a Value> {
        self.members
            .and_then(|m| m.get(name))
            .filter(|v| !v.is_null())
    }

    /// `Kind()`: the `op` string, or `unknown`.
    fn kind(&self) -> &'a str {
        self.member("op")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
    }

    /// `Path()`.
    fn path(&self) -> Result<&'a str, String> {
        self.string_member("path", "operation missing path field")
    }

    /// `From()`.
    fn from(&self) -> Result<&'a str, String> {
        self.string_member("from", "operation, missing from field")
    }

    fn string_member(&self, name: &str, missing: &str) -> Result<&'a str, String> {
        match self.member(name) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(format!(
                "json: cannot unmarshal {} into Go value of type string",
                go_json_type(other)
            )),
            None => Err(format!("{missing}: {MISSING}")),
        }
    }

    /// `value()`: the `value` member; an explicit `null` counts as absent.
    fn value(&self) -> Option<&'a Value> {
        self.member("value")
    }
}

fn apply_operation(doc: &mut Value, operation: &Value) -> Result<(), String> {
    let op = Operation {
        members: operation.as_object(),
    };
    match op.kind() {
        "add" => add(doc, &op),
        "remove" => remove(doc, &op),
        "replace" => replace(doc, &op),
        "move" => move_value(doc, &op),
        "test" => test(doc, &op),
        "copy" => copy(doc, &op),
        other => Err(format!("Unexpected kind: {other}")),
    }
}

fn add(doc: &mut Value, op: &Operation<'_>) -> Result<(), String> {
    let path = op
        .path()
        .map_err(|_| format!("add operation failed to decode path: {MISSING}"))?;
    let (container, key) = find_object(doc, path).ok_or_else(|| {
        format!("add operation does not apply: doc is missing path: \"{path}\": {MISSING}")
    })?;
    container_add(container, &key, op.value().cloned().unwrap_or(Value::Null))
        .map_err(|err| format!("error in add for path: '{path}': {err}"))
}

fn remove(doc: &mut Value, op: &Operation<'_>) -> Result<(), String> {
    let path = op
        .path()
        .map_err(|_| format!("remove operation failed to decode path: {MISSING}"))?;
    let (container, key) = find_object(doc, path).ok_or_else(|| {
        format!("remove operation does not apply: doc is missing path: \"{path}\": {MISSING}")
    })?;
    container_remove(container, &key)
        .map(|_| ())
        .map_err(|err| format!("error in remove for path: '{path}': {err}"))
}

fn replace(doc: &mut Value, op: &Operation<'_>) -> Result<(), String> {
    let path = op
        .path()
        .map_err(|err| format!("replace operation failed to decode path: {err}"))?;
    if path.is_empty() {
        return match op.value() {
            Some(value @ (Value::Object(_) | Value::Array(_))) => {
                *doc = value.clone();
                Ok(())
            }
            // Go wraps a nil error here, which fmt prints as `%!w(<nil>)`.
            _ => Err("replace operation value must be object or array: %!w(<nil>)".to_owned()),
        };
    }
    let (container, key) = find_object(doc, path).ok_or_else(|| {
        format!("replace operation does not apply: doc is missing path: {path}: {MISSING}")
    })?;
    container_get(container, &key).map_err(|_| {
        format!("replace operation does not apply: doc is missing key: {path}: {MISSING}")
    })?;
    container_set(container, &key, op.value().cloned().unwrap_or(Value::Null))
        .map_err(|err| format!("error in remove for path: '{path}': {err}"))
}

fn move_value(doc: &mut Value, op: &Operation<'_>) -> Result<(), String> {
    let from = op
        .from()
        .map_err(|err| format!("move operation failed to decode from: {err}"))?;
    let (container, key) = find_object(doc, from).ok_or_else(|| {
        format!("move operation does not apply: doc is missing from path: {from}: {MISSING}")
    })?;
    container_get(container, &key)
        .map_err(|err| format!("error in move for path: '{key}': {err}"))?;
    let value = container_remove(container, &key)
        .map_err(|err| format!("error in move for path: '{key}': {err}"))?;
    let path = op
        .path()
        .map_err(|err| format!("move operation failed to decode path: {err}"))?;
    let (container, key) = find_object(doc, path).ok_or_else(|| {
        format!("move operation does not apply: doc is missing destination path: {path}: {MISSING}")
    })?;
    container_add(container, &key, value)
        .map_err(|err| format!("error in move for path: '{path}': {err}"))
}

fn test(doc: &mut Value, op: &Operation<'_>) -> Result<(), String> {
    let path = op
        .path()
        .map_err(|err| format!("test operation failed to decode path: {err}"))?;
    let failed = || format!("testing value {path} failed: {TEST_FAILED}");
    if path.is_empty() {
        return match op.value() {
            Some(expected) if json_equal(doc, expected) => Ok(()),
            _ => Err(failed()),
        };
    }
    let (container, key) = find_object(doc, path).ok_or_else(|| {
        format!("test operation does not apply: is missing path: {path}: {MISSING}")
    })?;
    let actual = container_get(container, &key)
        .map_err(|err| format!("error in test for path: '{path}': {err}"))?;
    // Pitfall P6: a missing member (or one holding null) equals an absent or null value.
    match (actual, op.value()) {
        (None, None) => Ok(()),
        (Some(actual), Some(expected)) if json_equal(actual, expected) => Ok(()),
        _ => Err(failed()),
    }
}

fn copy(doc: &mut Value, op: &Operation<'_>) -> Result<(), String> {
    let from = op
        .from()
        .map_err(|err| format!("copy operation failed to decode from: {err}"))?;
    let (container, key) = find_object(doc, from).ok_or_else(|| {
        format!("copy operation does not apply: doc is missing from path: {from}: {MISSING}")
    })?;
    let value = container_get(container, &key)
        .map_err(|err| format!("error in copy for from: '{from}': {err}"))?
        .cloned()
        .unwrap_or(Value::Null);
    let path = op
        .path()
        .map_err(|_| format!("copy operation failed to decode path: {MISSING}"))?;
    let (container, key) = find_object(doc, path).ok_or_else(|| {
        format!("copy operation does not apply: doc is missing destination path: {path}: {MISSING}")
    })?;
    container_add(container, &key, value)
        .map_err(|err| format!("error while adding value during copy: {err}"))
}

/// RFC 6901 token unescaping (`~1` is `/`, `~0` is `~`).
fn decode_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// evanphx's `findObject`: walks every token but the last and returns the container holding
/// the last one, or `None` when a step is missing, `null`, a scalar, or the path has no `/`.
fn find_object<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let tokens: Vec<&str> = path.split('/').collect();
    if tokens.len() < 2 {
        return None;
    }
    let (last, parents) = tokens[1..].split_last()?;
    let mut current = doc;
    for token in parents {
        let key = decode_token(token);
        let next = match current {
            Value::Object(map) => map.get_mut(&key),
            Value::Array(items) => {
                let index = array_index(&key, items.len()).ok()?;
                items.get_mut(index)
            }
            _ => None,
        }?;
        if !matches!(next, Value::Object(_) | Value::Array(_)) {
            return None;
        }
        current = next;
    }
    if !matches!(current, Value::Object(_) | Value::Array(_)) {
        return None;
    }
    Some((current, decode_token(last)))
}

/// Go's `strconv.Atoi` error for a non-numeric index.
fn atoi(key: &str) -> Result<i64, String> {
    key.parse::<i64>().map_err(|err| {
        let reason = match err.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.Atoi: parsing {}: {reason}", go_quote(key))
    })
}

fn invalid_index(index: i64) -> String {
    format!("Unable to access invalid index: {index}: {INVALID_INDEX}")
}

/// Resolves an existing-element index (`get`, `set`, `remove`): negatives count from the end.
fn array_index(key: &str, len: usize) -> Result<usize, String> {
    let index = atoi(key)?;
    let len = i64::try_from(len).map_err(|_| invalid_index(index))?;
    let resolved = if index < 0 {
        if index < -len {
            return Err(invalid_index(index));
        }
        index + len
    } else {
        index
    };
    if resolved >= len {
        return Err(invalid_index(index));
    }
    usize::try_from(resolved).map_err(|_| invalid_index(index))
}

/// `get`: `Ok(None)` for a missing or `null` object member.
fn container_get<'a>(container: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match container {
        Value::Object(map) => Ok(map.get(key).filter(|v| !v.is_null())),
        Value::Array(items) => {
            let index = array_index(key, items.len())?;
            Ok(items.get(index).filter(|v| !v.is_null()))
        }
        _ => Ok(None),
    }
}

fn container_add(container: &mut Value, key: &str, value: Value) -> Result<(), String> {
    match container {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
            Ok(())
        }
        Value::Array(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let index = atoi(key)
                .map_err(|err| format!("value was not a proper array index: '{key}': {err}"))?;
            let size = i64::try_from(items.len() + 1).map_err(|_| invalid_index(index))?;
            if index >= size {
                return Err(invalid_index(index));
            }
            let resolved = if index < 0 {
                if index < -size {
                    return Err(invalid_index(index));
                }
                index + size
            } else {
                index
            };
            let at = usize::try_from(resolved).map_err(|_| invalid_index(index))?;
            items.insert(at, value);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn container_remove(container: &mut Value, key: &str) -> Result<Value, String> {
    match container {
        Value::Object(map) => map
            .shift_remove(key)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: {MISSING}")),
        Value::Array(items) => {
            let index = array_index(key, items.len())?;
            Ok(items.remove(index))
        }
        _ => Ok(Value::Null),
    }
}

fn container_set(container: &mut Value, key: &str, value: Value) -> Result<(), String> {
    match container {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
            Ok(())
        }
        Value::Array(items) => {
            let index = array_index(key, items.len())?;
            items[index] = value;
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    /// The failing operation and evanphx's text, or a marker that says what happened instead.
    fn detail(result: Result<Value, PatchError>) -> (usize, String) {
        match result {
            Err(PatchError::ApplyJsonPatchOperation { operation, detail }) => (operation, detail),
            other => (usize::MAX, format!("not an operation failure: {other:?}")),
        }
    }

    #[test]
    fn finalizer_patches_from_kube_runtime_apply_to_an_object_without_finalizers() {
        // kube-runtime 5 finalizer(): test null then add (pitfall P6).
        let object = json!({"metadata": {"name": "a"}});
        let patch = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/cleanup"]}
        ]);
        assert_eq!(
            json_patch(&object, &patch).expect("the test of a missing member against null passes"),
            json!({"metadata": {"name": "a", "finalizers": ["example.com/cleanup"]}})
        );
        // ... and the removal form: test the exact list, then remove the index.
        let with = json!({"metadata": {"name": "a", "finalizers": ["example.com/cleanup"]}});
        let removal = json!([
            {"op": "test", "path": "/metadata/finalizers/0", "value": "example.com/cleanup"},
            {"op": "remove", "path": "/metadata/finalizers/0"}
        ]);
        assert_eq!(
            json_patch(&with, &removal).expect("index 0 holds the finalizer"),
            json!({"metadata": {"name": "a", "finalizers": []}})
        );
    }

    #[test]
    fn operations_follow_rfc6902_with_the_api_server_quirks() {
        let doc = json!({"a": {"b": [1, 2, 3]}, "c": "x"});
        let cases: Vec<(Value, Value)> = vec![
            (
                json!([{"op": "add", "path": "/a/b/1", "value": 9}]),
                json!({"a": {"b": [1, 9, 2, 3]}, "c": "x"}),
            ),
            (
                json!([{"op": "add", "path": "/a/b/-", "value": 9}]),
                json!({"a": {"b": [1, 2, 3, 9]}, "c": "x"}),
            ),
            (
                json!([{"op": "add", "path": "/a/b/-1", "value": 9}]),
                json!({"a": {"b": [1, 2, 3, 9]}, "c": "x"}),
            ),
            (
                json!([{"op": "add", "path": "/d", "value": {"e": null}}]),
                json!({"a": {"b": [1, 2, 3]}, "c": "x", "d": {"e": null}}),
            ),
            (
                json!([{"op": "remove", "path": "/a/b/-1"}]),
                json!({"a": {"b": [1, 2]}, "c": "x"}),
            ),
            (
                json!([{"op": "remove", "path": "/c"}]),
                json!({"a": {"b": [1, 2, 3]}}),
            ),
            (
                json!([{"op": "replace", "path": "/c", "value": "y"}]),
                json!({"a": {"b": [1, 2, 3]}, "c": "y"}),
            ),
            // evanphx v4: replacing a missing object member adds it.
            (
                json!([{"op": "replace", "path": "/z", "value": 1}]),
                json!({"a": {"b": [1, 2, 3]}, "c": "x", "z": 1}),
            ),
            (
                json!([{"op": "replace", "path": "", "value": {"r": 1}}]),
                json!({"r": 1}),
            ),
            (
                json!([{"op": "move", "from": "/c", "path": "/a/c"}]),
                json!({"a": {"b": [1, 2, 3], "c": "x"}}),
            ),
            (
                json!([{"op": "copy", "from": "/a/b/0", "path": "/a/b/0"}]),
                json!({"a": {"b": [1, 1, 2, 3]}, "c": "x"}),
            ),
            (
                json!([{"op": "test", "path": "/a/b", "value": [1.0, 2, 3]}]),
                doc.clone(),
            ),
            (json!([{"op": "test", "path": "/missing"}]), doc.clone()),
            (
                json!([{"op": "test", "path": "/a/~1b~0", "value": null}]),
                doc.clone(),
            ),
            (json!(null), doc.clone()),
        ];
        for (patch, expected) in cases {
            assert_eq!(
                json_patch(&doc, &patch).expect("every case applies"),
                expected,
                "{patch}"
            );
        }
    }

    #[test]
    fn failures_carry_evanphx_messages() {
        let doc = json!({"a": {"b": [1, 2, 3]}, "c": "x", "n": null});
        let cases: Vec<(Value, usize, &str)> = vec![
            (
                json!([{"op": "test", "path": "/c", "value": "x"}, {"op": "test", "path": "/c", "value": "y"}]),
                1,
                "testing value /c failed: test failed",
            ),
            (
                json!([{"op": "test", "path": "/c", "value": null}]),
                0,
                "testing value /c failed: test failed",
            ),
            (
                json!([{"op": "test", "path": "/missing", "value": 1}]),
                0,
                "testing value /missing failed: test failed",
            ),
            (
                json!([{"op": "test", "path": "/x/y", "value": null}]),
                0,
                "test operation does not apply: is missing path: /x/y: missing value",
            ),
            (
                json!([{"op": "test", "path": "/a/b/7", "value": 1}]),
                0,
                "error in test for path: '/a/b/7': Unable to access invalid index: 7: invalid index referenced",
            ),
            (
                json!([{"op": "remove", "path": "/nope"}]),
                0,
                "error in remove for path: '/nope': Unable to remove nonexistent key: nope: missing value",
            ),
            (
                json!([{"op": "add", "path": "/x/y", "value": 1}]),
                0,
                "add operation does not apply: doc is missing path: \"/x/y\": missing value",
            ),
            (
                json!([{"op": "add", "path": "/a/b/x", "value": 1}]),
                0,
                "error in add for path: '/a/b/x': value was not a proper array index: 'x': strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            (
                json!([{"op": "add", "path": "/a/b/5", "value": 1}]),
                0,
                "error in add for path: '/a/b/5': Unable to access invalid index: 5: invalid index referenced",
            ),
            (
                json!([{"op": "replace", "path": "/a/b/3", "value": 1}]),
                0,
                "replace operation does not apply: doc is missing key: /a/b/3: missing value",
            ),
            (
                json!([{"op": "move", "from": "/nope", "path": "/x"}]),
                0,
                "error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value",
            ),
            (
                json!([{"op": "copy", "from": "/x/y", "path": "/z"}]),
                0,
                "copy operation does not apply: doc is missing from path: /x/y: missing value",
            ),
            (
                json!([{"op": "add", "value": 1}]),
                0,
                "add operation failed to decode path: missing value",
            ),
            (
                json!([{"op": "replace", "value": 1}]),
                0,
                "replace operation failed to decode path: operation missing path field: missing value",
            ),
            (
                json!([{"op": "move", "path": "/c"}]),
                0,
                "move operation failed to decode from: operation, missing from field: missing value",
            ),
            (
                json!([{"op": "frobnicate", "path": "/c"}]),
                0,
                "Unexpected kind: frobnicate",
            ),
            (json!([{"path": "/c"}]), 0, "Unexpected kind: unknown"),
        ];
        json_patch(&doc, &json!([{"op": "test", "path": "/n"}]))
            .expect("a member holding null tests equal to an absent value");
        for (patch, operation, message) in cases {
            assert_eq!(
                detail(json_patch(&doc, &patch)),
                (operation, message.to_owned()),
                "{patch}"
            );
        }
    }

    #[test]
    fn bodies_that_are_not_operation_arrays_are_bad_requests() {
        assert_eq!(
            json_patch(&json!({}), &json!({"op": "add"})),
            Err(PatchError::DecodeJsonPatch {
                message: "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                    .to_owned()
            })
        );
        assert_eq!(
            json_patch(&json!({}), &json!(["add"])),
            Err(PatchError::DecodeJsonPatch {
                message: "json: cannot unmarshal string into Go value of type jsonpatch.Operation"
                    .to_owned()
            })
        );
    }
}
