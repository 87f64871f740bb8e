//! Resources and subresources that are not plain stored objects: the reviews
//! (`authentication.k8s.io` TokenReview and SelfSubjectReview, `authorization.k8s.io`
//! (Self|Local)SubjectAccessReview), `componentstatuses`, `serviceaccounts/{name}/token`
//! (TokenRequest), `pods/{name}/eviction` and `certificatesigningrequests/{name}/approval`.
//!
//! Thin: identities come from `crate::auth`, decisions from `crate::auth::rbac` and
//! `crate::semantics::disruption`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::negotiation::Encoding;
use super::router::{AppState, authenticate_token, encoded, policy_of};
use crate::api::{DeleteOptions, ListOptions, Subresource};
use crate::auth::rbac::{self, Attributes, ResourceAttributes};
use crate::auth::tokens::{ISSUER, TokenSpec};
use crate::auth::{Authorization, UserInfo};
use crate::error::ApiError;
use crate::resources::ResourceDef;
use crate::semantics::disruption;
use crate::semantics::label_selector::{LabelSelector, label_selector_object_to_string};

/// The default and minimum `expirationSeconds` of a TokenRequest (upstream validation).
const DEFAULT_TOKEN_SECONDS: i64 = 3600;
const MIN_TOKEN_SECONDS: i64 = 600;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn timestamp(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn created(object: &Value, encoding: Encoding) -> Response {
    encoded(StatusCode::CREATED, object, encoding)
}

fn strings(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// `spec.extra` of a (Local)SubjectAccessReview: the user's `extra` attributes.
fn extra_of(spec: &Value) -> std::collections::BTreeMap<String, Vec<String>> {
    spec.get("extra")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, values)| {
            let values = values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            (key.clone(), values)
        })
        .collect()
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn invalid(kind: &str, group: &str, field: &str, value: &str, detail: &str) -> ApiError {
    ApiError::Invalid {
        kind: kind.to_string(),
        group: group.to_string(),
        name: String::new(),
        message: format!(
            "{kind}.{group} \"\" is invalid: {field}: Invalid value: {value}: {detail}"
        ),
        causes: vec![crate::error::StatusCause {
            reason: "FieldValueInvalid".into(),
            field: field.to_string(),
            message: format!("Invalid value: {value}: {detail}"),
        }],
    }
}

/// The answer object of a review: the request with a status.
fn review(def: &ResourceDef, body: &Value, status: Value) -> Value {
    json!({
        "kind": def.kind,
        "apiVersion": def.api_version(),
        "metadata": {"creationTimestamp": null},
        "spec": body.get("spec").cloned().unwrap_or(json!({})),
        "status": status,
    })
}

/// A create of a review resource.
pub(super) fn review_create(
    app: &AppState,
    def: &ResourceDef,
    namespace: Option<&str>,
    user: &UserInfo,
    body: &Value,
    encoding: Encoding,
) -> Result<Response, ApiError> {
    let status = match def.plural.as_str() {
        "tokenreviews" => token_review(app, body),
        "selfsubjectreviews" => {
            return Ok(created(
                &json!({"kind": def.kind, "apiVersion": def.api_version(),
                        "metadata": {"creationTimestamp": null},
                        "status": {"userInfo": user}}),
                encoding,
            ));
        }
        "subjectaccessreviews" => {
            let spec = body.get("spec").cloned().unwrap_or(json!({}));
            let reviewed = UserInfo {
                username: str_at(&spec, "/user").to_string(),
                uid: str_at(&spec, "/uid").to_string(),
                groups: strings(&spec, "/groups"),
                extra: extra_of(&spec),
            };
            if reviewed.username.is_empty() && reviewed.groups.is_empty() {
                return Err(invalid(
                    "SubjectAccessReview",
                    "authorization.k8s.io",
                    "spec.user",
                    "\"\"",
                    "at least one of user or group must be specified",
                ));
            }
            access_review(app, &spec, reviewed, None)?
        }
        "selfsubjectaccessreviews" => {
            let spec = body.get("spec").cloned().unwrap_or(json!({}));
            access_review(app, &spec, user.clone(), None)?
        }
        "localsubjectaccessreviews" => {
            let spec = body.get("spec").cloned().unwrap_or(json!({}));
            let reviewed = UserInfo {
                username: str_at(&spec, "/user").to_string(),
                uid: str_at(&spec, "/uid").to_string(),
                groups: strings(&spec, "/groups"),
                extra: extra_of(&spec),
            };
            access_review(app, &spec, reviewed, namespace)?
        }
        _ => return Err(ApiError::MethodNotAllowed),
    };
    Ok(created(&review(def, body, status), encoding))
}

/// TokenReview: who a token authenticates as, for the audiences asked about.
fn token_review(app: &AppState, body: &Value) -> Value {
    let token = str_at(body, "/spec/token");
    let wanted = strings(body, "/spec/audiences");
    let Some((user, audiences)) = authenticate_token(app, token) else {
        return json!({"user": {}, "error": "[invalid bearer token, token lookup failed]"});
    };
    // A token counts for the audiences it was issued for; without audiences in the review,
    // for the API server's own.
    let wanted = if wanted.is_empty() {
        vec![ISSUER.to_string()]
    } else {
        wanted
    };
    let matched: Vec<String> = match audiences {
        Some(issued) => wanted.into_iter().filter(|a| issued.contains(a)).collect(),
        None => wanted,
    };
    if matched.is_empty() {
        return json!({"user": {}, "error": "[invalid bearer token, token audiences is invalid for the target audiences]"});
    }
    json!({"authenticated": true, "user": user, "audiences": matched})
}

/// (Self|Local)SubjectAccessReview: the configured authorizer's decision for `user`.
fn access_review(
    app: &AppState,
    spec: &Value,
    user: UserInfo,
    namespace: Option<&str>,
) -> Result<Value, ApiError> {
    let attrs = match (
        spec.get("resourceAttributes"),
        spec.get("nonResourceAttributes"),
    ) {
        (Some(r), _) => Attributes {
            user,
            verb: str_at(r, "/verb").to_string(),
            resource: Some(ResourceAttributes {
                namespace: namespace.unwrap_or(str_at(r, "/namespace")).to_string(),
                group: str_at(r, "/group").to_string(),
                resource: str_at(r, "/resource").to_string(),
                subresource: str_at(r, "/subresource").to_string(),
                name: str_at(r, "/name").to_string(),
            }),
            path: String::new(),
        },
        (None, Some(n)) => Attributes {
            user,
            verb: str_at(n, "/verb").to_string(),
            resource: None,
            path: str_at(n, "/path").to_string(),
        },
        (None, None) => {
            return Err(invalid(
                "SubjectAccessReview",
                "authorization.k8s.io",
                "spec.resourceAttributes",
                "\"null\"",
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        }
    };
    Ok(match app.authorization {
        Authorization::AlwaysAllow => json!({"allowed": true}),
        Authorization::Rbac => {
            let decision = rbac::authorize(&policy_of(&app.cluster), &attrs);
            let mut status = json!({"allowed": decision.allowed});
            if !decision.reason.is_empty() {
                status["reason"] = json!(decision.reason);
            }
            status
        }
    })
}

/// `componentstatuses`: the control-plane components, all healthy.
pub(super) fn component_statuses(
    name: Option<&str>,
    encoding: Encoding,
) -> Result<Response, ApiError> {
    let item = |name: &str| {
        json!({"kind": "ComponentStatus", "apiVersion": "v1",
               "metadata": {"name": name, "creationTimestamp": null},
               "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]})
    };
    let names = ["controller-manager", "etcd-0", "scheduler"];
    let body = match name {
        Some(name) if names.contains(&name) => item(name),
        Some(name) => {
            return Err(ApiError::NotFound {
                subject: crate::error::Subject::new("", "componentstatuses", name),
            });
        }
        None => json!({"kind": "ComponentStatusList", "apiVersion": "v1", "metadata": {},
                       "items": names.iter().map(|n| item(n)).collect::<Vec<_>>()}),
    };
    Ok(encoded(StatusCode::OK, &body, encoding))
}

/// `POST serviceaccounts/{name}/token`.
pub(super) fn token_request(
    app: &AppState,
    def: &ResourceDef,
    namespace: &str,
    name: &str,
    body: &Value,
    encoding: Encoding,
) -> Result<Response, ApiError> {
    let account = app
        .cluster
        .get(def, Some(namespace), name, Subresource::Main)?;
    let seconds = body
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_TOKEN_SECONDS);
    if seconds < MIN_TOKEN_SECONDS {
        return Err(invalid(
            "TokenRequest",
            "authentication.k8s.io",
            "spec.expirationSeconds",
            &seconds.to_string(),
            "may not specify a duration less than 10 minutes",
        ));
    }
    let audiences = strings(body, "/spec/audiences");
    let spec = TokenSpec {
        namespace: namespace.to_string(),
        service_account: name.to_string(),
        service_account_uid: str_at(&account, "/metadata/uid").to_string(),
        audiences: audiences.clone(),
        expiration_seconds: seconds,
    };
    let issued_at = now();
    let (token, expires) = app.tokens.issue(&spec, issued_at);
    let answer = json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": timestamp(issued_at)},
        "spec": {
            "audiences": if audiences.is_empty() { vec![ISSUER.to_string()] } else { audiences },
            "expirationSeconds": seconds,
            "boundObjectRef": body.pointer("/spec/boundObjectRef").cloned().unwrap_or(Value::Null),
        },
        "status": {"token": token, "expirationTimestamp": timestamp(expires)},
    });
    Ok(created(&answer, encoding))
}

/// The pods a budget's selector matches in `namespace` (a missing selector matches none).
fn selected_pods(pods: &[Value], pdb: &Value) -> Vec<Value> {
    let Some(selector) = pdb.pointer("/spec/selector").filter(|s| !s.is_null()) else {
        return Vec::new();
    };
    let Ok(selector) = LabelSelector::parse(&label_selector_object_to_string(selector)) else {
        return Vec::new();
    };
    pods.iter()
        .filter(|p| selector.matches(p))
        .cloned()
        .collect()
}

/// The summed replicas of the controllers of `pods` (the disruption controller's
/// `getExpectedScale`), or why they cannot be known.
fn controller_scale(app: &AppState, namespace: &str, pods: &[Value]) -> Result<i64, String> {
    let registry = app.cluster.registry();
    let mut seen = std::collections::BTreeSet::new();
    let mut total = 0;
    for pod in pods {
        let pod_name = str_at(pod, "/metadata/name");
        let owner = pod
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|o| o.get("controller") == Some(&json!(true)))
            .ok_or_else(|| format!("found no controller ref for pod {pod_name:?}"))?;
        if !seen.insert(str_at(owner, "/uid").to_string()) {
            continue;
        }
        let api_version = str_at(owner, "/apiVersion");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let kind = str_at(owner, "/kind");
        let def = registry
            .resources_of(group, version)
            .into_iter()
            .find(|d| d.kind == kind)
            .cloned()
            .ok_or_else(|| format!("found no controllers for pod {pod_name:?}"))?;
        let object = app
            .cluster
            .get(
                &def,
                Some(namespace),
                str_at(owner, "/name"),
                Subresource::Main,
            )
            .map_err(|e| e.to_string())?;
        let replicas = match &def.scale {
            Some(scale) => {
                let pointer = scale.spec_replicas_path.replace('.', "/");
                object
                    .pointer(&pointer)
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            }
            None => return Err(format!("found no controllers for pod {pod_name:?}")),
        };
        total += replicas;
    }
    Ok(total)
}

/// `POST pods/{name}/eviction`: deletes the pod unless its PodDisruptionBudget forbids it
/// (`crate::semantics::disruption`); answers `Status` Success with 201 as the API server.
pub(super) fn evict(
    app: &AppState,
    def: &ResourceDef,
    namespace: &str,
    name: &str,
    body: &Value,
) -> Result<Response, ApiError> {
    let cluster = &app.cluster;
    let pod = cluster.get(def, Some(namespace), name, Subresource::Main)?;
    let options = body.get("deleteOptions").unwrap_or(&Value::Null);
    let delete = DeleteOptions {
        grace_period_seconds: options.get("gracePeriodSeconds").and_then(Value::as_i64),
        precondition_uid: options
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        precondition_resource_version: options
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        dry_run: strings(options, "/dryRun").iter().any(|d| d == "All"),
        ..Default::default()
    };
    let terminal = matches!(str_at(&pod, "/status/phase"), "Succeeded" | "Failed");
    if !terminal {
        let list = |group: &str, plural: &str| -> Result<Vec<Value>, ApiError> {
            let def = cluster.resource(group, "v1", plural)?;
            let list = cluster.list(&def, Some(namespace), &ListOptions::default())?;
            Ok(list["items"].as_array().cloned().unwrap_or_default())
        };
        let pods = list("", "pods")?;
        let budgets: Vec<Value> = list("policy", "poddisruptionbudgets")?
            .into_iter()
            .filter(|pdb| !selected_pods(std::slice::from_ref(&pod), pdb).is_empty())
            .collect();
        if budgets.len() > 1 {
            return Err(ApiError::Internal {
                message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
            });
        }
        if let Some(pdb) = budgets.first() {
            let selected = selected_pods(&pods, pdb);
            let refs: Vec<&Value> = selected.iter().collect();
            let computed =
                disruption::budget(pdb, &refs, controller_scale(app, namespace, &selected));
            if let disruption::Eviction::Refused { cause } =
                disruption::decide(pdb, &pod, &computed)
            {
                return Err(ApiError::TooManyRequests {
                    message: disruption::REFUSED_MESSAGE.into(),
                    causes: vec![crate::error::StatusCause {
                        reason: "DisruptionBudget".into(),
                        field: String::new(),
                        message: cause,
                    }],
                });
            }
        }
    }
    cluster.delete(def, Some(namespace), name, &delete)?;
    Ok(created(
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
        Encoding::Json,
    ))
}
