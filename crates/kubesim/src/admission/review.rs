//! `admission.k8s.io/v1` AdmissionReview: the request kubesim sends a webhook and what it makes
//! of the response: allowed or the denial `Status` the API server returns
//! (`admission webhook "<name>" denied the request: <message>`, `webhookerrors.ToStatusErr`),
//! warnings, and the base64 JSONPatch of mutating webhooks (rust-ecosystem.md §3.3 "Admission
//! webhooks").
//!
//! Pure: JSON in, JSON out. Must not perform I/O.

use base64::Engine;
use serde_json::{Value, json};

use super::matching::{Operation, Target};
use crate::auth::UserInfo;
use crate::error::ApiError;
use crate::semantics::patch;

/// The parts of a request an AdmissionReview describes.
#[derive(Clone, Debug)]
pub struct RequestInfo {
    pub uid: String,
    pub kind: String,
    pub target: Target,
    pub operation: Operation,
    pub name: String,
    pub namespace: String,
    pub dry_run: bool,
    /// `CreateOptions`/`UpdateOptions`/`PatchOptions`/`DeleteOptions` as sent.
    pub options: Value,
    /// The authenticated user of the HTTP request: webhooks decide on it (an operator's
    /// "only my ServiceAccount may edit these" rule reads `request.userInfo.username`).
    pub user: UserInfo,
}

/// The `request` of an AdmissionReview.
pub fn admission_request(info: &RequestInfo, object: Option<&Value>, old: Option<&Value>) -> Value {
    let t = &info.target;
    let kind = json!({"group": t.group, "version": t.version, "kind": info.kind});
    let resource = json!({"group": t.group, "version": t.version, "resource": t.resource});
    let mut request = json!({
        "uid": info.uid,
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "name": info.name,
        "operation": info.operation.as_str(),
        "userInfo": info.user,
        "object": object.cloned().unwrap_or(Value::Null),
        "oldObject": old.cloned().unwrap_or(Value::Null),
        "dryRun": info.dry_run,
        "options": info.options,
    });
    if !t.subresource.is_empty() {
        request["subResource"] = json!(t.subresource);
        request["requestSubResource"] = json!(t.subresource);
    }
    if !info.namespace.is_empty() {
        request["namespace"] = json!(info.namespace);
    }
    request
}

/// The whole AdmissionReview sent to a webhook.
pub fn review(request: &Value) -> Value {
    json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request})
}

/// A webhook's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// `None` when allowed; the error to return when denied.
    pub denial: Option<ApiError>,
    pub warnings: Vec<String>,
    /// A JSONPatch (mutating webhooks only).
    pub patch: Option<Value>,
}

/// Why a webhook's response could not be used (reported as a failed call).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("received invalid webhook response: {detail}")]
    Invalid { detail: String },
    #[error("expected response.uid={expected:?}, got {got:?}")]
    Uid { expected: String, got: String },
}

fn invalid(detail: impl Into<String>) -> ResponseError {
    ResponseError::Invalid {
        detail: detail.into(),
    }
}

/// `ToStatusErr`: the Status a denial becomes (code at least 400, message prefixed).
fn denial(webhook: &str, status: Option<&Value>) -> ApiError {
    let text = |key: &str| {
        status
            .and_then(|s| s.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let denied_by = format!("admission webhook \"{webhook}\" denied the request");
    let message = text("message");
    let reason = text("reason");
    let message = if !message.is_empty() {
        format!("{denied_by}: {message}")
    } else if !reason.is_empty() {
        format!("{denied_by}: {reason}")
    } else {
        format!("{denied_by} without explanation")
    };
    let code = status
        .and_then(|s| s.get("code"))
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400)
        .unwrap_or(400);
    ApiError::Rejected {
        code,
        reason,
        message,
    }
}

/// Reads an AdmissionReview response for the request `uid`.
pub fn verdict(webhook: &str, uid: &str, body: &[u8]) -> Result<Verdict, ResponseError> {
    let review: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("decoding the response: {e}")))?;
    if review.get("apiVersion").and_then(Value::as_str) != Some("admission.k8s.io/v1")
        || review.get("kind").and_then(Value::as_str) != Some("AdmissionReview")
    {
        return Err(invalid(format!(
            "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {}, Kind={}",
            review
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            review
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )));
    }
    let response = review
        .get("response")
        .filter(|r| r.is_object())
        .ok_or_else(|| invalid("response was absent"))?;
    let got = response
        .get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if got != uid {
        return Err(ResponseError::Uid {
            expected: uid.to_string(),
            got: got.to_string(),
        });
    }
    let allowed = response
        .get("allowed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let warnings = response
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    // Go decodes `[]byte` from base64 text or from an array of numbers (kube-rs sends the
    // latter).
    let patch_bytes = match response.get("patch") {
        Some(Value::String(encoded)) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| invalid(format!("decoding the patch: {e}")))?,
        ),
        Some(Value::Array(numbers)) => Some(
            numbers
                .iter()
                .map(|n| n.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| invalid("decoding the patch: not a byte array"))?,
        ),
        _ => None,
    };
    let patch = match patch_bytes {
        Some(bytes) if allowed => {
            match response.get("patchType").and_then(Value::as_str) {
                Some("JSONPatch") => {}
                other => {
                    return Err(invalid(format!(
                        "webhook returned a patch with patchType {:?}, only \"JSONPatch\" is supported",
                        other.unwrap_or_default()
                    )));
                }
            }
            Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| invalid(format!("decoding the patch: {e}")))?,
            )
        }
        _ => None,
    };
    Ok(Verdict {
        denial: (!allowed).then(|| denial(webhook, response.get("status"))),
        warnings,
        patch,
    })
}

/// Applies a mutating webhook's JSONPatch to the object.
pub fn apply_patch(object: &Value, json_patch: &Value) -> Result<Value, ResponseError> {
    patch::json_patch(object, json_patch).map_err(|e| invalid(format!("applying the patch: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RequestInfo {
        RequestInfo {
            uid: "u-1".into(),
            kind: "ConfigMap".into(),
            target: Target {
                group: String::new(),
                version: "v1".into(),
                resource: "configmaps".into(),
                subresource: String::new(),
                namespaced: true,
                is_namespace: false,
            },
            operation: Operation::Create,
            name: "c".into(),
            namespace: "default".into(),
            dry_run: true,
            options: json!({"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}),
            user: crate::auth::UserInfo::admin(),
        }
    }

    #[test]
    fn the_request_names_kind_resource_operation_and_objects() {
        let object = json!({"metadata": {"name": "c"}});
        assert_eq!(
            review(&admission_request(&info(), Some(&object), None)),
            json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": {
                "uid": "u-1",
                "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
                "resource": {"group": "", "version": "v1", "resource": "configmaps"},
                "requestKind": {"group": "", "version": "v1", "kind": "ConfigMap"},
                "requestResource": {"group": "", "version": "v1", "resource": "configmaps"},
                "name": "c",
                "operation": "CREATE",
                "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
                "object": {"metadata": {"name": "c"}},
                "oldObject": null,
                "dryRun": true,
                "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
                "namespace": "default",
            }})
        );
    }

    fn response(body: Value) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                   "response": body}),
        )
        .expect("serializable")
    }

    #[test]
    fn user_info_is_the_requests_user_with_its_extra_and_uid() {
        let mut user = crate::auth::tokens::service_account_user("ops", "operator", "sa-uid");
        user.extra.insert(
            crate::auth::tokens::CREDENTIAL_ID.into(),
            vec!["JTI=1234".into()],
        );
        let request = admission_request(&RequestInfo { user, ..info() }, None, None);
        assert_eq!(
            request["userInfo"],
            json!({"username": "system:serviceaccount:ops:operator", "uid": "sa-uid",
                   "groups": ["system:serviceaccounts", "system:serviceaccounts:ops",
                              "system:authenticated"],
                   "extra": {"authentication.kubernetes.io/credential-id": ["JTI=1234"]}})
        );
        let anonymous = admission_request(
            &RequestInfo {
                user: crate::auth::anonymous(),
                ..info()
            },
            None,
            None,
        );
        assert_eq!(
            anonymous["userInfo"],
            json!({"username": "system:anonymous", "groups": ["system:unauthenticated"]})
        );
    }

    #[test]
    fn denials_become_the_api_servers_status() {
        let cases = [
            (
                json!({"uid": "u-1", "allowed": false, "status": {"message": "no", "code": 403, "reason": "Forbidden"}}),
                ApiError::Rejected {
                    code: 403,
                    reason: "Forbidden".into(),
                    message: "admission webhook \"w.kubesim.test\" denied the request: no".into(),
                },
            ),
            (
                json!({"uid": "u-1", "allowed": false, "status": {"reason": "TooBig", "code": 200}}),
                ApiError::Rejected {
                    code: 400,
                    reason: "TooBig".into(),
                    message: "admission webhook \"w.kubesim.test\" denied the request: TooBig".into(),
                },
            ),
            (
                json!({"uid": "u-1", "allowed": false}),
                ApiError::Rejected {
                    code: 400,
                    reason: String::new(),
                    message: "admission webhook \"w.kubesim.test\" denied the request without explanation".into(),
                },
            ),
        ];
        for (body, expected) in cases {
            let verdict = verdict("w.kubesim.test", "u-1", &response(body)).expect("valid");
            assert_eq!(verdict.denial, Some(expected));
        }
    }

    #[test]
    fn patches_and_warnings_are_read() {
        let patch = json!([{"op": "add", "path": "/metadata/labels", "value": {"m": "1"}}]);
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(serde_json::to_vec(&patch).expect("serializable"));
        let verdict = verdict(
            "w",
            "u-1",
            &response(
                json!({"uid": "u-1", "allowed": true, "patchType": "JSONPatch",
                             "patch": encoded, "warnings": ["careful"]}),
            ),
        )
        .expect("valid");
        assert_eq!(
            verdict,
            Verdict {
                denial: None,
                warnings: vec!["careful".into()],
                patch: Some(patch.clone()),
            }
        );
        let as_numbers: Vec<u8> = serde_json::to_vec(&patch).expect("serializable");
        let from_numbers = super::verdict(
            "w",
            "u-1",
            &response(
                json!({"uid": "u-1", "allowed": true, "patchType": "JSONPatch",
                             "patch": as_numbers}),
            ),
        )
        .expect("valid");
        assert_eq!(from_numbers.patch, Some(patch.clone()));
        assert_eq!(
            apply_patch(&json!({"metadata": {}}), &patch),
            Ok(json!({"metadata": {"labels": {"m": "1"}}}))
        );
    }

    #[test]
    fn unusable_responses_are_errors() {
        assert_eq!(
            verdict(
                "w",
                "u-1",
                &response(json!({"uid": "other", "allowed": true}))
            ),
            Err(ResponseError::Uid {
                expected: "u-1".into(),
                got: "other".into()
            })
        );
        assert_eq!(
            verdict("w", "u-1", br#"{"apiVersion":"v1","kind":"Status"}"#)
                .map_err(|e| e.to_string()),
            Err("received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got v1, Kind=Status".into())
        );
    }
}
