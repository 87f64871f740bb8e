//! `admission.k8s.io/v1` AdmissionReview on the wire: the request the API server sends, and the
//! response the webhooks return (spec-api.md §12). Objects stay raw JSON, exactly as sent, so
//! the defaulter's patch is computed against what the API server holds (a typed round trip of
//! `metadata` would add or drop fields and the patch would touch them).
//!
//! Every answer is a well-formed AdmissionReview, including the answer to a body that is not
//! one (controller-runtime answers those with `allowed: false` and code 400 as well).
//!
//! Pure: bytes in, values out.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The operation of an admission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

/// Group, version and kind of the object under admission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Kind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

/// Who makes the request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserInfo {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The `request` of an AdmissionReview: the fields the webhooks use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    pub uid: String,
    pub kind: Kind,
    pub operation: Operation,
    #[serde(default)]
    pub user_info: UserInfo,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    /// The object as it will be stored (absent on DELETE).
    #[serde(default)]
    pub object: Option<Value>,
    /// The stored object (UPDATE and DELETE).
    #[serde(default)]
    pub old_object: Option<Value>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Deserialize)]
struct IncomingReview {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    request: Option<AdmissionRequest>,
}

/// The API group and version of the reviews this server speaks.
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// Why a body is not an AdmissionReview the webhooks can answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the request body is not an admission.k8s.io/v1 AdmissionReview: {detail}")]
    Malformed { detail: String },
    #[error(
        "the AdmissionReview is {api_version} {kind}; this webhook speaks only \
         {API_VERSION} AdmissionReview (admissionReviewVersions: [v1])"
    )]
    WrongVersion { api_version: String, kind: String },
    #[error("the AdmissionReview has no request")]
    NoRequest,
}

/// Reads a request body.
pub fn decode(body: &[u8]) -> Result<AdmissionRequest, DecodeError> {
    let review: IncomingReview =
        serde_json::from_slice(body).map_err(|err| DecodeError::Malformed {
            detail: err.to_string(),
        })?;
    if review.api_version != API_VERSION || review.kind != "AdmissionReview" {
        return Err(DecodeError::WrongVersion {
            api_version: review.api_version,
            kind: review.kind,
        });
    }
    review.request.ok_or(DecodeError::NoRequest)
}

/// One cause of a rejection: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

/// A webhook's decision about one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Admit, with these warnings and, for the defaulter, this JSON patch.
    Allow {
        warnings: Vec<String>,
        patch: Option<json_patch::Patch>,
    },
    /// Refuse with an HTTP code (403 for a rejection, 400 for a bad request, 500 for a
    /// failure of the webhook itself), a `reason` (`Forbidden`, `BadRequest`, ...), the message
    /// the user sees and its causes.
    Deny {
        code: u16,
        reason: String,
        message: String,
        causes: Vec<Cause>,
        warnings: Vec<String>,
    },
}

impl Verdict {
    /// Admit, nothing to say.
    pub fn allow() -> Self {
        Verdict::Allow {
            warnings: Vec::new(),
            patch: None,
        }
    }

    /// A rejection (controller-runtime `admission.Denied`: 403 Forbidden).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Verdict::Deny {
            code: 403,
            reason: "Forbidden".to_owned(),
            message: message.into(),
            causes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// A request the webhook cannot read (controller-runtime `admission.Errored(400, ..)`).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Verdict::Deny {
            code: 400,
            reason: "BadRequest".to_owned(),
            message: message.into(),
            causes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The webhook itself failed (controller-runtime `admission.Errored(500, ..)`).
    pub fn internal(message: impl Into<String>) -> Self {
        Verdict::Deny {
            code: 500,
            reason: "InternalError".to_owned(),
            message: message.into(),
            causes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Whether the request is admitted.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allow { .. })
    }
}

/// The AdmissionReview answering the request `uid` (empty when the request could not be read).
pub fn respond(uid: &str, verdict: &Verdict) -> Value {
    let mut response = serde_json::json!({"uid": uid});
    match verdict {
        Verdict::Allow { warnings, patch } => {
            response["allowed"] = Value::Bool(true);
            response["status"] = serde_json::json!({"metadata": {}, "code": 200});
            if let Some(patch) = patch.as_ref().filter(|patch| !patch.0.is_empty()) {
                // A `Patch` is a list of plain operations: it always serializes.
                let bytes = serde_json::to_vec(patch).unwrap_or_default();
                response["patch"] =
                    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
                response["patchType"] = Value::String("JSONPatch".to_owned());
            }
            if !warnings.is_empty() {
                response["warnings"] = serde_json::json!(warnings);
            }
        }
        Verdict::Deny {
            code,
            reason,
            message,
            causes,
            warnings,
        } => {
            response["allowed"] = Value::Bool(false);
            let mut status = serde_json::json!({
                "metadata": {},
                "status": "Failure",
                "message": message,
                "reason": reason,
                "code": code,
            });
            if !causes.is_empty() {
                status["details"] = serde_json::json!({"causes": causes});
            }
            response["status"] = status;
            if !warnings.is_empty() {
                response["warnings"] = serde_json::json!(warnings);
            }
        }
    }
    serde_json::json!({"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response})
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn a_review_is_decoded_with_its_raw_objects() {
        let body = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-1", "kind": {"group": "multigres.com", "version": "v1alpha1",
                        "kind": "Cell"}, "operation": "DELETE", "name": "c",
                        "userInfo": {"username": "alice"},
                        "oldObject": {"metadata": {"name": "c", "creationTimestamp": null}}}
        });
        let request = decode(body.to_string().as_bytes()).expect("decodes");
        assert_eq!(request.operation, Operation::Delete);
        assert_eq!(request.user_info.username, "alice");
        assert_eq!(request.object, None);
        assert_eq!(
            request.old_object,
            Some(json!({"metadata": {"name": "c", "creationTimestamp": null}}))
        );
    }

    #[test]
    fn other_bodies_are_refused_with_the_reason() {
        assert!(matches!(decode(b"{"), Err(DecodeError::Malformed { .. })));
        assert_eq!(
            decode(br#"{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}"#),
            Err(DecodeError::WrongVersion {
                api_version: "admission.k8s.io/v1beta1".into(),
                kind: "AdmissionReview".into()
            })
        );
        assert_eq!(
            decode(br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}"#),
            Err(DecodeError::NoRequest)
        );
    }

    #[test]
    fn a_denial_carries_code_reason_and_causes() {
        let verdict = Verdict::Deny {
            code: 403,
            reason: "Forbidden".into(),
            message: "no".into(),
            causes: vec![Cause {
                reason: "FieldValueInvalid".into(),
                message: "bad".into(),
                field: "spec.cells[0]".into(),
            }],
            warnings: vec!["careful".into()],
        };
        assert_eq!(
            respond("u-2", &verdict),
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                   "response": {"uid": "u-2", "allowed": false, "warnings": ["careful"],
                     "status": {"metadata": {}, "status": "Failure", "message": "no",
                                "reason": "Forbidden", "code": 403,
                                "details": {"causes": [{"reason": "FieldValueInvalid",
                                    "message": "bad", "field": "spec.cells[0]"}]}}}})
        );
    }

    #[test]
    fn a_patch_is_base64_json_patch() {
        let patch: json_patch::Patch =
            serde_json::from_value(json!([{"op": "add", "path": "/a", "value": 1}]))
                .expect("a patch");
        let review = respond(
            "u-3",
            &Verdict::Allow {
                warnings: vec![],
                patch: Some(patch),
            },
        );
        let encoded = review["response"]["patch"].as_str().expect("a patch");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64");
        assert_eq!(
            serde_json::from_slice::<Value>(&decoded).expect("JSON"),
            json!([{"op": "add", "path": "/a", "value": 1}])
        );
        assert_eq!(review["response"]["patchType"], "JSONPatch");
    }
}
