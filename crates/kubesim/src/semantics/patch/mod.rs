//! The three PATCH bodies other than apply: JSON merge patch (RFC 7386), JSON patch (RFC 6902)
//! and strategic merge patch, with the API server's semantics and error wording.
//!
//! Place: called by the HTTP layer for `PATCH` with `application/merge-patch+json`,
//! `application/json-patch+json` and `application/strategic-merge-patch+json`
//! (rust-ecosystem.md §3.3 "Merge / strategic / JSON patch"). The result is the object to
//! persist before defaulting, validation and `ssa::track_update`.
//!
//! Must not: decide the HTTP status on its own terms: [`PatchError::code`] and
//! [`PatchError::reason`] say what the API server answers, and the caller renders the `Status`.
//! Must not read the store: the current object comes in as an argument.

mod json;
mod strategic;

use serde_json::Value;

pub use json::json_patch;
pub use strategic::strategic_merge_patch;

/// A patch the API server refuses, with the message it puts in the `Status`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// The JSON patch body is not an array of operation objects (400 `BadRequest`, message from
    /// Go's JSON decoder).
    #[error("{message}")]
    DecodeJsonPatch {
        /// Go's `json.Unmarshal` error text.
        message: String,
    },
    /// A JSON patch operation did not apply. The API server answers 422 `Invalid` with a
    /// generic message and drops the cause, which is kept in `detail` for logs.
    #[error("the server rejected our request due to an error in our request")]
    ApplyJsonPatchOperation {
        /// Index of the failing operation in the patch.
        operation: usize,
        /// evanphx/json-patch's error text, e.g. `testing value /spec/x failed: test failed`.
        detail: String,
    },
    /// The strategic merge patch is malformed in a way the API server calls a bad request
    /// (`$setElementOrder`, `$retainKeys`, `$deleteFromPrimitiveList` format errors).
    #[error("{message}")]
    StrategicMergeBadRequest {
        /// apimachinery's `mergepatch` error text.
        message: String,
    },
    /// The strategic merge patch conflicts with the schema (lists of lists, content outside
    /// `$retainKeys`): 422 `Invalid`.
    #[error("{message}")]
    StrategicMergeInvalid {
        /// apimachinery's `mergepatch` error text.
        message: String,
    },
    /// Any other strategic merge failure (unknown `$patch`, a missing merge key, mismatched
    /// types): the API server passes the plain error through as a 500.
    #[error("{message}")]
    StrategicMergeFailed {
        /// apimachinery's `strategicpatch` error text.
        message: String,
    },
}

impl PatchError {
    /// The HTTP status code the API server answers with.
    pub fn code(&self) -> u16 {
        match self {
            PatchError::DecodeJsonPatch { .. } | PatchError::StrategicMergeBadRequest { .. } => 400,
            PatchError::ApplyJsonPatchOperation { .. }
            | PatchError::StrategicMergeInvalid { .. } => 422,
            PatchError::StrategicMergeFailed { .. } => 500,
        }
    }

    /// The `Status.reason`; empty for the 500, whose reason the API server leaves unset.
    pub fn reason(&self) -> &'static str {
        match self.code() {
            400 => "BadRequest",
            422 => "Invalid",
            _ => "",
        }
    }
}

/// Applies an RFC 7386 JSON merge patch: objects merge key by key, `null` deletes, anything else
/// (arrays included) replaces. A non-object patch replaces the whole target, as the RFC says;
/// the API server refuses such bodies before they get here.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    json_patch::merge(&mut out, patch);
    out
}

/// Structural equality of decoded JSON as Go compares `interface{}` values: numbers by value
/// (`1` equals `1.0`), objects by key set.
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn merge_patch_merges_objects_deletes_nulls_and_replaces_arrays() {
        let target = json!({
            "metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x", "y"]},
            "spec": {"replicas": 1}
        });
        let patch = json!({
            "metadata": {"labels": {"a": null, "c": "3"}, "finalizers": ["z"]},
            "spec": null,
            "status": {"phase": "Running", "gone": null}
        });
        assert_eq!(
            merge_patch(&target, &patch),
            json!({
                "metadata": {"labels": {"b": "2", "c": "3"}, "finalizers": ["z"]},
                "status": {"phase": "Running"}
            })
        );
    }

    #[test]
    fn json_equality_compares_numbers_by_value() {
        assert!(json_equal(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!json_equal(&json!({"a": 1}), &json!({"a": 1, "b": null})));
        assert!(!json_equal(&json!("1"), &json!(1)));
    }

    #[test]
    fn errors_carry_the_api_server_status() {
        let cases = [
            (
                PatchError::DecodeJsonPatch {
                    message: "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                        .to_owned(),
                },
                400,
                "BadRequest",
            ),
            (
                PatchError::ApplyJsonPatchOperation {
                    operation: 0,
                    detail: "testing value /a failed: test failed".to_owned(),
                },
                422,
                "Invalid",
            ),
            (
                PatchError::StrategicMergeFailed {
                    message: "unknown patch type: x in map: map[$patch:x]".to_owned(),
                },
                500,
                "",
            ),
        ];
        for (error, code, reason) in cases {
            assert_eq!((error.code(), error.reason()), (code, reason), "{error:?}");
        }
        assert_eq!(
            PatchError::ApplyJsonPatchOperation {
                operation: 1,
                detail: "x".to_owned()
            }
            .to_string(),
            "the server rejected our request due to an error in our request"
        );
    }
}
