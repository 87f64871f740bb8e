//! `ApiError`: every way a kubesim request fails, each rendered as the Kubernetes `Status` object
//! the real API server returns (rust-ecosystem.md §3.4 "Error Status object"; kube and
//! kube-lease-manager key on `code` and `reason`).
//!
//! Shared by the in-process API (`api/`) and the HTTP layer (`http/status_error.rs` turns it into
//! a response). It must not know about HTTP types.

use serde_json::{Map, Value, json};

use crate::semantics::field_cause::FieldCause;

/// One entry of `Status.details.causes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldManagerConflict`, ...
    pub reason: String,
    /// The field path, e.g. `metadata.name` or `.spec.replicas`.
    pub field: String,
    pub message: String,
}

impl From<FieldCause> for StatusCause {
    fn from(cause: FieldCause) -> StatusCause {
        StatusCause {
            reason: cause.reason,
            field: cause.field,
            message: cause.message,
        }
    }
}

/// The object an error is about, as `Status.details` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// API group (empty for core; omitted from details then).
    pub group: String,
    /// The resource's plural (`details.kind` carries it for NotFound/AlreadyExists/Conflict,
    /// as the API server does).
    pub plural: String,
    pub name: String,
}

impl Subject {
    pub fn new(group: &str, plural: &str, name: &str) -> Subject {
        Subject {
            group: group.to_string(),
            plural: plural.to_string(),
            name: name.to_string(),
        }
    }

    /// `configmaps` or `deployments.apps`: the resource as messages qualify it.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("{} \"{}\" not found", subject.qualified(), subject.name)]
    NotFound { subject: Subject },

    #[error("the server could not find the requested resource")]
    UnknownResource,

    #[error("{} \"{}\" already exists", subject.qualified(), subject.name)]
    AlreadyExists { subject: Subject },

    #[error("Operation cannot be fulfilled on {} \"{}\": {detail}", subject.qualified(), subject.name)]
    Conflict { subject: Subject, detail: String },

    /// A server-side apply conflict; `message` and `causes` come from `semantics::ssa`
    /// (`errors.NewApplyConflict`: details hold only the causes).
    #[error("{message}")]
    ApplyConflict {
        message: String,
        causes: Vec<StatusCause>,
    },

    /// A refusal whose code and reason another semantics module decided (patch and apply
    /// errors); an empty reason is omitted, as the API server leaves it unset on those 500s.
    #[error("{message}")]
    Rejected {
        code: u16,
        reason: String,
        message: String,
    },

    /// `message` is the whole API-server text (`Kind.group "name" is invalid: ...`).
    #[error("{message}")]
    Invalid {
        kind: String,
        group: String,
        name: String,
        message: String,
        causes: Vec<StatusCause>,
    },

    #[error("{message}")]
    BadRequest { message: String },

    #[error("{} \"{}\" is forbidden: {detail}", subject.qualified(), subject.name)]
    Forbidden {
        subject: Subject,
        detail: String,
        causes: Vec<StatusCause>,
    },

    /// A request authorization denied (`responsewriters.Forbidden`): `message` is the whole
    /// text, `<resource>[.<group>] ["<name>"] is forbidden: ...` or `forbidden: ...` for paths.
    #[error("{message}")]
    Denied {
        group: String,
        resource: String,
        name: String,
        message: String,
    },

    /// Credentials that authenticate no one.
    #[error("Unauthorized")]
    Unauthorized,

    /// A refusal to act now (an eviction a disruption budget forbids).
    #[error("{message}")]
    TooManyRequests {
        message: String,
        causes: Vec<StatusCause>,
    },

    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,

    #[error(
        "the body of the request was in an unknown format - accepted media types include: {accepted}"
    )]
    UnsupportedMediaType {
        content_type: String,
        accepted: String,
    },

    #[error(
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
    )]
    NotAcceptable,

    #[error("{message}")]
    Expired { message: String },

    #[error("Timeout: {message}")]
    Timeout { message: String },

    #[error("Internal error occurred: {message}")]
    Internal { message: String },

    /// A failure injected by the fault rules (`faults.rs`).
    #[error("kubesim injected fault: {code} {reason}")]
    Injected {
        code: u16,
        reason: String,
        retry_after_seconds: Option<u32>,
    },
}

impl ApiError {
    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownResource => 404,
            ApiError::AlreadyExists { .. }
            | ApiError::Conflict { .. }
            | ApiError::ApplyConflict { .. } => 409,
            ApiError::Invalid { .. } => 422,
            ApiError::BadRequest { .. } => 400,
            ApiError::Forbidden { .. } | ApiError::Denied { .. } => 403,
            ApiError::Unauthorized => 401,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::MethodNotAllowed => 405,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::NotAcceptable => 406,
            ApiError::Expired { .. } => 410,
            ApiError::Timeout { .. } => 504,
            ApiError::Internal { .. } => 500,
            ApiError::Injected { code, .. } | ApiError::Rejected { code, .. } => *code,
        }
    }

    /// The `Status.reason` (PascalCase, as `metav1.StatusReason`).
    pub fn reason(&self) -> &str {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownResource => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => "Conflict",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::BadRequest { .. } => "BadRequest",
            ApiError::Forbidden { .. } | ApiError::Denied { .. } => "Forbidden",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::TooManyRequests { .. } => "TooManyRequests",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            ApiError::NotAcceptable => "NotAcceptable",
            ApiError::Expired { .. } => "Expired",
            ApiError::Timeout { .. } => "Timeout",
            ApiError::Internal { .. } => "InternalError",
            ApiError::Injected { reason, .. } | ApiError::Rejected { reason, .. } => reason,
        }
    }

    /// The `Status` object the API server would return for this error.
    pub fn to_status(&self) -> Value {
        let mut details = Map::new();
        let subject_details = |subject: &Subject, details: &mut Map<String, Value>| {
            details.insert("name".into(), json!(subject.name));
            if !subject.group.is_empty() {
                details.insert("group".into(), json!(subject.group));
            }
            details.insert("kind".into(), json!(subject.plural));
        };
        match self {
            ApiError::NotFound { subject }
            | ApiError::AlreadyExists { subject }
            | ApiError::Conflict { subject, .. } => subject_details(subject, &mut details),
            ApiError::ApplyConflict { causes, .. } => {
                details.insert("causes".into(), causes_json(causes));
            }
            ApiError::Forbidden {
                subject, causes, ..
            } => {
                subject_details(subject, &mut details);
                if !causes.is_empty() {
                    details.insert("causes".into(), causes_json(causes));
                }
            }
            ApiError::Invalid {
                kind,
                group,
                name,
                causes,
                ..
            } => {
                details.insert("name".into(), json!(name));
                if !group.is_empty() {
                    details.insert("group".into(), json!(group));
                }
                details.insert("kind".into(), json!(kind));
                details.insert("causes".into(), causes_json(causes));
            }
            ApiError::Internal { message } => {
                details.insert("causes".into(), json!([{ "message": message }]));
            }
            ApiError::Denied {
                group,
                resource,
                name,
                ..
            } => {
                if !name.is_empty() {
                    details.insert("name".into(), json!(name));
                }
                if !group.is_empty() {
                    details.insert("group".into(), json!(group));
                }
                if !resource.is_empty() {
                    details.insert("kind".into(), json!(resource));
                }
            }
            ApiError::TooManyRequests { causes, .. } => {
                let causes: Vec<Value> = causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message}))
                    .collect();
                details.insert("causes".into(), Value::Array(causes));
            }
            ApiError::Injected {
                retry_after_seconds: Some(seconds),
                ..
            } => {
                details.insert("retryAfterSeconds".into(), json!(seconds));
            }
            _ => {}
        }
        let mut status = Map::new();
        status.insert("kind".into(), json!("Status"));
        status.insert("apiVersion".into(), json!("v1"));
        status.insert("metadata".into(), json!({}));
        status.insert("status".into(), json!("Failure"));
        status.insert("message".into(), json!(self.to_string()));
        if !self.reason().is_empty() {
            status.insert("reason".into(), json!(self.reason()));
        }
        if !details.is_empty()
            || matches!(self, ApiError::UnknownResource | ApiError::Denied { .. })
        {
            status.insert("details".into(), Value::Object(details));
        }
        status.insert("code".into(), json!(self.code()));
        Value::Object(status)
    }
}

fn causes_json(causes: &[StatusCause]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("reason".into(), json!(c.reason));
                m.insert("message".into(), json!(c.message));
                m.insert("field".into(), json!(c.field));
                Value::Object(m)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn not_found_names_the_resource_and_object() {
        let err = ApiError::NotFound {
            subject: Subject::new("", "configmaps", "demo"),
        };
        assert_eq!(
            err.to_status(),
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                   "message":"configmaps \"demo\" not found","reason":"NotFound",
                   "details":{"name":"demo","kind":"configmaps"},"code":404})
        );
    }

    #[test]
    fn conflict_qualifies_grouped_resources() {
        let err = ApiError::Conflict {
            subject: Subject::new("apps", "deployments", "web"),
            detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
        };
        assert_eq!(
            err.to_status(),
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                   "message":"Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again",
                   "reason":"Conflict",
                   "details":{"name":"web","group":"apps","kind":"deployments"},"code":409})
        );
    }

    #[test]
    fn unknown_resource_has_empty_details() {
        assert_eq!(
            ApiError::UnknownResource.to_status(),
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                   "message":"the server could not find the requested resource","reason":"NotFound",
                   "details":{},"code":404})
        );
    }
}
