//! The axum router: one fallback handler that parses the path, counts the request, applies
//! faults, negotiates the representation and hands the request to the in-process API
//! ([`Cluster`]). Thin by design: every Kubernetes rule lives in `api/` and `semantics/`.
//!
//! Logs one debug line per request (method, path, status, duration).

use std::collections::HashMap;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::negotiation::{self, Encoding, Representation};
use super::path::{self, ResourcePath, Route};
use super::{control, discovery, openapi, special, table, watch};
use crate::admission::{Admission, AdmissionRequest, ServiceAddresses, WriteKind};
use crate::api::{
    Cluster, DeleteOptions, ListOptions, PatchType, Subresource, WatchOptions, WriteOptions,
    Written,
};
use crate::auth::rbac::{self, Attributes, ResourceAttributes};
use crate::auth::tokens::Tokens;
use crate::auth::{Authorization, UserInfo};
use crate::error::ApiError;
use crate::faults::Faults;
use crate::request_log::{RequestEntry, RequestLog};
use crate::resources::{Origin, ResourceDef};
use crate::semantics::finalizers::Propagation;

/// Request bodies above this size are refused (the API server's default limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// Everything a request handler needs.
#[derive(Clone, Debug)]
pub struct AppState {
    pub cluster: Cluster,
    pub faults: Faults,
    pub requests: RequestLog,
    /// Addresses of Services that admission webhooks are reached at.
    pub services: ServiceAddresses,
    /// `host:port` the server listens on (reported by `/api`).
    pub server_address: String,
    /// Service-account tokens issued by TokenRequest.
    pub tokens: Tokens,
    pub authorization: Authorization,
    /// The OpenAPI documents of custom resources, kept while their CRDs are unchanged.
    pub openapi: openapi::Documents,
}

/// The router of one kubesim instance.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

async fn dispatch(State(app): State<AppState>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = handle(&app, request).await;
    tracing::debug!(
        method = %method,
        uri = %uri,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

async fn handle(app: &AppState, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            url_pairs(q)
                .into_iter()
                .collect::<HashMap<String, String>>()
        })
        .unwrap_or_default();
    let user = match authenticate(app, &parts.headers) {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    let route = path::parse(parts.uri.path());
    if is_non_resource(&route) {
        let attrs = Attributes {
            user: user.clone(),
            verb: parts.method.as_str().to_ascii_lowercase(),
            resource: None,
            path: parts.uri.path().to_string(),
        };
        if let Err(error) = authorize_attributes(app, &attrs) {
            return error.into_response();
        }
    }
    match route {
        Route::Version => json_ok(&discovery::version()),
        Route::Health => (StatusCode::OK, "ok").into_response(),
        Route::CoreVersions if discovery::wants_aggregated(accept(&parts.headers)) => {
            aggregated(&discovery::aggregated_core(&app.cluster.registry()))
        }
        Route::Groups if discovery::wants_aggregated(accept(&parts.headers)) => {
            aggregated(&discovery::aggregated_groups(&app.cluster.registry()))
        }
        Route::CoreVersions => json_ok(&discovery::core_versions(&app.server_address)),
        Route::Groups => json_ok(&discovery::groups(&app.cluster.registry())),
        Route::Group { group } => match discovery::group(&app.cluster.registry(), &group) {
            Some(doc) => json_ok(&doc),
            None => ApiError::UnknownResource.into_response(),
        },
        Route::ResourceList { group, version } => {
            match discovery::resource_list(&app.cluster.registry(), &group, &version) {
                Some(doc) => json_ok(&doc),
                None => ApiError::UnknownResource.into_response(),
            }
        }
        Route::OpenApiIndex | Route::OpenApi { .. }
            if negotiation::negotiate(accept(&parts.headers)).is_none() =>
        {
            ApiError::NotAcceptable.into_response()
        }
        Route::OpenApiIndex => json_ok(
            &app.openapi
                .index(&app.cluster.registry(), &stored_crds(&app.cluster)),
        ),
        Route::OpenApi { group, version } => {
            match app.openapi.document(
                &app.cluster.registry(),
                &stored_crds(&app.cluster),
                &group,
                &version,
            ) {
                Some(document) => {
                    let mut response = (StatusCode::OK, document.body.to_vec()).into_response();
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    response
                }
                None => ApiError::UnknownResource.into_response(),
            }
        }
        Route::Faults | Route::DropWatches | Route::Requests => {
            let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
                Ok(bytes) => bytes,
                Err(e) => return bad_body(e.to_string()).into_response(),
            };
            control::handle(app, &parts.method, &path::parse(parts.uri.path()), &bytes)
        }
        Route::Resolve if parts.method == axum::http::Method::GET => {
            control::resolve(app, query_str(&query, "name"))
        }
        Route::Resolve => ApiError::MethodNotAllowed.into_response(),
        Route::Resource(target) => {
            match resource(
                app,
                &parts.method,
                &parts.headers,
                &query,
                target,
                body,
                &user,
            )
            .await
            {
                Ok(response) => response,
                Err(error) => error.into_response(),
            }
        }
        Route::Unknown => ApiError::UnknownResource.into_response(),
    }
}

/// Routes authorized as non-resource requests (by path).
fn is_non_resource(route: &Route) -> bool {
    matches!(
        route,
        Route::Version
            | Route::Health
            | Route::CoreVersions
            | Route::Groups
            | Route::Group { .. }
            | Route::ResourceList { .. }
            | Route::OpenApiIndex
            | Route::OpenApi { .. }
    )
}

/// Who a bearer token stands for, with the audiences it is bound to (`None`: any, as for the
/// kubeconfig's static administrator token); `None` when it authenticates no one. A
/// TokenRequest token dies with its ServiceAccount (a new one of the same name has another
/// uid).
pub(super) fn authenticate_token(
    app: &AppState,
    token: &str,
) -> Option<(UserInfo, Option<Vec<String>>)> {
    if token == crate::kubeconfig::TOKEN {
        return Some((UserInfo::admin(), None));
    }
    let grant = app.tokens.lookup(token, now())?;
    let accounts = app.cluster.resource("", "v1", "serviceaccounts").ok()?;
    let account = app
        .cluster
        .get(
            &accounts,
            Some(&grant.namespace),
            &grant.service_account,
            Subresource::Main,
        )
        .ok()?;
    (account.pointer("/metadata/uid").and_then(Value::as_str)
        == Some(grant.service_account_uid.as_str()))
    .then_some((grant.user, Some(grant.audiences)))
}

/// The user of a request: anonymous without credentials; the token's user for a known bearer
/// token. Under RBAC other credentials get 401; otherwise they stand for the administrator
/// (kubesim's historical "any token works").
fn authenticate(app: &AppState, headers: &HeaderMap) -> Result<UserInfo, ApiError> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(crate::auth::anonymous());
    };
    let known = value
        .strip_prefix("Bearer ")
        .and_then(|token| authenticate_token(app, token.trim()))
        .map(|(user, _)| user);
    match (known, app.authorization) {
        (Some(user), _) => Ok(user),
        (None, Authorization::Rbac) => Err(ApiError::Unauthorized),
        (None, Authorization::AlwaysAllow) => Ok(UserInfo::admin()),
    }
}

/// The stored RBAC objects.
pub(super) fn policy_of(cluster: &Cluster) -> rbac::Policy {
    let all = |plural: &str| -> Vec<Value> {
        cluster
            .resource("rbac.authorization.k8s.io", "v1", plural)
            .and_then(|def| cluster.list(&def, None, &ListOptions::default()))
            .ok()
            .and_then(|list| list.get("items").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    };
    rbac::Policy {
        roles: all("roles"),
        cluster_roles: all("clusterroles"),
        role_bindings: all("rolebindings"),
        cluster_role_bindings: all("clusterrolebindings"),
    }
}

/// Refuses a request RBAC does not allow, with the API server's 403 (`responsewriters.Forbidden`).
pub(super) fn authorize_attributes(app: &AppState, attrs: &Attributes) -> Result<(), ApiError> {
    if app.authorization == Authorization::AlwaysAllow {
        return Ok(());
    }
    let decision = rbac::authorize(&policy_of(&app.cluster), attrs);
    if decision.allowed {
        return Ok(());
    }
    let mut reason = rbac::forbidden_message(attrs);
    if !decision.reason.is_empty() {
        reason = format!("{reason}: {}", decision.reason);
    }
    Err(match &attrs.resource {
        None => ApiError::Denied {
            group: String::new(),
            resource: String::new(),
            name: String::new(),
            message: format!("forbidden: {reason}"),
        },
        Some(r) => {
            let qualified = if r.group.is_empty() {
                r.resource.clone()
            } else {
                format!("{}.{}", r.resource, r.group)
            };
            let message = if r.name.is_empty() {
                format!("{qualified} is forbidden: {reason}")
            } else {
                format!("{qualified} \"{}\" is forbidden: {reason}", r.name)
            };
            ApiError::Denied {
                group: r.group.clone(),
                resource: r.resource.clone(),
                name: r.name.clone(),
                message,
            }
        }
    })
}

/// Decodes `a=b&c=d` with percent-decoding and `+` as space.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_str<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query.get(name).map(String::as_str)
}

/// The current time tables measure ages against.
fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// The Table columns of `def`; custom resources read their CRD's printer columns.
fn table_columns(cluster: &Cluster, def: &ResourceDef) -> table::Columns {
    let crd = match &def.origin {
        Origin::Crd { crd_name } => cluster
            .resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            .and_then(|crds| cluster.get(&crds, None, crd_name, Subresource::Main))
            .ok(),
        Origin::BuiltIn => None,
    };
    table::columns(def, crd.as_ref())
}

/// The stored CustomResourceDefinitions by name (OpenAPI documents are built from them).
fn stored_crds(cluster: &Cluster) -> std::collections::BTreeMap<String, Value> {
    let Ok(crds) = cluster.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    else {
        return Default::default();
    };
    let Ok(list) = cluster.list(&crds, None, &ListOptions::default()) else {
        return Default::default();
    };
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|crd| {
            let name = crd.pointer("/metadata/name")?.as_str()?.to_string();
            Some((name, crd.clone()))
        })
        .collect()
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

/// An aggregated discovery document with the Content-Type kubectl requires (§3.2).
fn aggregated(value: &Value) -> Response {
    let mut response = json_ok(value);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(discovery::AGGREGATED_CONTENT_TYPE),
    );
    response
}

/// A body in the negotiated encoding: protobuf when asked for and the kind has a message
/// (built-in kinds), JSON otherwise (custom resources, as on a real server).
pub(super) fn encoded(code: StatusCode, value: &Value, encoding: Encoding) -> Response {
    if encoding == Encoding::Protobuf {
        match crate::protobuf::encode_object(value) {
            Some(Ok(body)) => {
                let mut response = (code, body).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(crate::protobuf::MEDIA_TYPE),
                );
                return response;
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "answering in JSON: the object has no protobuf form");
            }
            None => {}
        }
    }
    json_response(code, value)
}

fn json_ok(value: &Value) -> Response {
    json_response(StatusCode::OK, value)
}

fn json_response(code: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = (code, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn bad_body(message: String) -> ApiError {
    ApiError::BadRequest { message }
}

/// A boolean query parameter as Go's `strconv.ParseBool` reads it (anything else is false).
fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query
        .get(name)
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"))
}

/// Resources whose registry answers a completed DELETE with the deleted object
/// (`ReturnDeletedObject`); the others answer a `Status` naming it.
const RETURNS_DELETED_OBJECT: &[(&str, &str)] = &[("", "pods"), ("", "services")];

/// The `Status` Success a registry answers for an object it removed: name, group, kind (the
/// resource) and uid in details.
fn deleted_status(def: &ResourceDef, deleted: &Value) -> Value {
    let mut details = serde_json::Map::new();
    details.insert(
        "name".into(),
        deleted
            .pointer("/metadata/name")
            .cloned()
            .unwrap_or(json!("")),
    );
    if !def.group.is_empty() {
        details.insert("group".into(), json!(def.group));
    }
    details.insert("kind".into(), json!(def.plural));
    if let Some(uid) = deleted.pointer("/metadata/uid") {
        details.insert("uid".into(), uid.clone());
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
           "details": details})
}

/// The verb of a resource request, as the API server's audit log names it.
fn verb(
    method: &Method,
    target: &ResourcePath,
    query: &HashMap<String, String>,
) -> Option<&'static str> {
    let item = target.name.is_some();
    Some(match *method {
        Method::GET if item => "get",
        Method::GET if flag(query, "watch") => "watch",
        Method::GET => "list",
        Method::POST if !item || target.subresource.is_some() => "create",
        Method::PUT if item => "update",
        Method::PATCH if item => "patch",
        Method::DELETE if item => "delete",
        Method::DELETE => "deletecollection",
        _ => return None,
    })
}

fn subresource(def: &ResourceDef, target: &ResourcePath) -> Result<Subresource, ApiError> {
    match target.subresource.as_deref() {
        None => Ok(Subresource::Main),
        Some("status") if def.status_subresource => Ok(Subresource::Status),
        Some("scale") if def.scale.is_some() => Ok(Subresource::Scale),
        Some(_) => Err(ApiError::UnknownResource),
    }
}

/// What a request to an extra subresource carries.
struct SubresourceRequest<'a> {
    namespace: Option<&'a str>,
    name: &'a str,
    headers: &'a HeaderMap,
    query: &'a HashMap<String, String>,
    bytes: &'a Bytes,
    encoding: Encoding,
}

/// `serviceaccounts/token`, `pods/eviction`, `certificatesigningrequests/approval`.
async fn special_subresource(
    app: &AppState,
    def: &ResourceDef,
    extra: &crate::resources::ExtraSubresource,
    verb: &str,
    request: SubresourceRequest<'_>,
) -> Result<Response, ApiError> {
    let SubresourceRequest {
        namespace,
        name,
        headers,
        query,
        bytes,
        encoding,
    } = request;
    let cluster = &app.cluster;
    let body = || decode_body(body_format(def, headers)?, bytes);
    match (extra.name, verb) {
        ("token", _) => special::token_request(
            app,
            def,
            namespace.unwrap_or_default(),
            name,
            &body()?,
            encoding,
        ),
        ("eviction", _) => special::evict(app, def, namespace.unwrap_or_default(), name, &body()?),
        (_, "get") => Ok(encoded(
            StatusCode::OK,
            &kind_first(cluster.get(def, namespace, name, Subresource::Main)?),
            encoding,
        )),
        // Only `spec.ephemeralContainers` changes; a patch is computed on a dry run first.
        ("ephemeralcontainers", "update" | "patch") => {
            let wanted = if verb == "update" {
                body()?
            } else {
                let patch_type = patch_type(headers)?;
                let patch = crate::api::Patch {
                    patch_type,
                    body: parse_body(bytes, patch_type == PatchType::Apply)?,
                };
                let mut dry = write_options(query, headers);
                dry.dry_run = true;
                cluster
                    .patch(def, namespace, name, Subresource::Main, patch, &dry)?
                    .object
            };
            let mut pod = cluster.get(def, namespace, name, Subresource::Main)?;
            pod["spec"]["ephemeralContainers"] = wanted
                .pointer("/spec/ephemeralContainers")
                .cloned()
                .unwrap_or(json!([]));
            let result = cluster.update(
                def,
                namespace,
                name,
                Subresource::Main,
                pod,
                &write_options(query, headers),
            )?;
            Ok(written(result, Representation::Json, encoding))
        }
        // Approval conditions live in status: the write goes through the status subresource.
        ("approval", "update") => {
            let result = cluster.update(
                def,
                namespace,
                name,
                Subresource::Status,
                body()?,
                &write_options(query, headers),
            )?;
            Ok(written(result, Representation::Json, encoding))
        }
        ("approval", "patch") => {
            let patch_type = patch_type(headers)?;
            let patch = crate::api::Patch {
                patch_type,
                body: parse_body(bytes, patch_type == PatchType::Apply)?,
            };
            let result = cluster.patch(
                def,
                namespace,
                name,
                Subresource::Status,
                patch,
                &write_options(query, headers),
            )?;
            Ok(written(result, Representation::Json, encoding))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// How a create or update body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyFormat {
    Json,
    Protobuf,
}

/// The format of a request body from its `Content-Type`: JSON and YAML, or Kubernetes
/// protobuf for built-in kinds. Protobuf for a custom resource, and media types kubesim cannot
/// decode (CBOR), get 415 as from the API server; clients then retry with JSON.
fn body_format(def: &ResourceDef, headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let built_in = matches!(def.origin, Origin::BuiltIn);
    match media {
        "" | "application/json" | "application/yaml" | "*/*" => Ok(BodyFormat::Json),
        crate::protobuf::MEDIA_TYPE if built_in => Ok(BodyFormat::Protobuf),
        other => Err(ApiError::UnsupportedMediaType {
            content_type: other.to_string(),
            accepted: if built_in {
                format!(
                    "application/json, application/yaml, {}",
                    crate::protobuf::MEDIA_TYPE
                )
            } else {
                "application/json, application/yaml".into()
            },
        }),
    }
}

/// Parses a create or update body.
fn decode_body(format: BodyFormat, bytes: &Bytes) -> Result<Value, ApiError> {
    match format {
        BodyFormat::Json => parse_body(bytes, false),
        BodyFormat::Protobuf => crate::protobuf::decode_object(bytes)
            .map_err(|e| bad_body(format!("the body of the request could not be decoded: {e}"))),
    }
}

/// Parses a JSON body (or YAML for apply patches).
fn parse_body(bytes: &Bytes, yaml_allowed: bool) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => Ok(value),
        Err(json_error) if yaml_allowed => {
            let text = std::str::from_utf8(bytes).map_err(|e| bad_body(e.to_string()))?;
            serde_saphyr::from_str::<Value>(text).map_err(|yaml_error| {
                bad_body(format!(
                    "error decoding YAML: {yaml_error} (as JSON: {json_error})"
                ))
            })
        }
        Err(e) => Err(bad_body(format!(
            "the body of the request could not be decoded as JSON: {e}"
        ))),
    }
}

/// Write options from the query; `fieldManager` defaults to the user agent's program name,
/// as the API server does (`prefixFromUserAgent`).
fn write_options(query: &HashMap<String, String>, headers: &HeaderMap) -> WriteOptions {
    let from_user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.split('/').next().unwrap_or_default().to_string())
        .filter(|m| !m.is_empty());
    WriteOptions {
        dry_run: query.get("dryRun").is_some_and(|v| v == "All"),
        field_manager: query.get("fieldManager").cloned().or(from_user_agent),
        field_validation: query.get("fieldValidation").cloned(),
        force: flag(query, "force"),
        admission: None,
    }
}

fn delete_options(
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    bytes: &Bytes,
) -> Result<DeleteOptions, ApiError> {
    let protobuf = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(crate::protobuf::MEDIA_TYPE));
    let body: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else if protobuf {
        crate::protobuf::decode_object(bytes)
            .map_err(|e| bad_body(format!("the body of the request could not be decoded: {e}")))?
    } else {
        parse_body(bytes, false)?
    };
    let propagation_text = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| query.get("propagationPolicy").cloned());
    let propagation = match propagation_text {
        Some(text) => Some(Propagation::parse(&text).ok_or_else(|| {
            bad_body(format!(
                "propagationPolicy: Unsupported value: \"{text}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))
        })?),
        None => match body.get("orphanDependents").and_then(Value::as_bool) {
            Some(true) => Some(Propagation::Orphan),
            Some(false) => Some(Propagation::Background),
            None => None,
        },
    };
    let grace = body
        .get("gracePeriodSeconds")
        .and_then(Value::as_i64)
        .or_else(|| query.get("gracePeriodSeconds").and_then(|g| g.parse().ok()));
    let dry_run = body
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|l| l.iter().any(|v| v == "All"))
        || query.get("dryRun").is_some_and(|v| v == "All");
    Ok(DeleteOptions {
        propagation,
        grace_period_seconds: grace,
        precondition_uid: body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        precondition_resource_version: body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        dry_run,
        admission: None,
    })
}

fn list_options(query: &HashMap<String, String>) -> Result<ListOptions, ApiError> {
    let limit = match query.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => Some(l.parse::<usize>().map_err(|_| {
            bad_body(format!(
                "limit: Invalid value: \"{l}\": must be a non-negative integer"
            ))
        })?),
        None => None,
    };
    Ok(ListOptions {
        label_selector: query.get("labelSelector").cloned(),
        field_selector: query.get("fieldSelector").cloned(),
        limit,
        continue_token: query.get("continue").cloned(),
        resource_version: query.get("resourceVersion").cloned(),
        resource_version_match: query.get("resourceVersionMatch").cloned(),
    })
}

fn patch_type(headers: &HeaderMap) -> Result<PatchType, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    match media {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::StrategicMerge),
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchType::Apply),
        other => Err(ApiError::UnsupportedMediaType {
            content_type: other.to_string(),
            accepted: "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json".into(),
        }),
    }
}

/// The PartialObjectMetadata form of an object (meta.k8s.io/v1).
fn partial(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or(json!({})),
    })
}

/// An object with `kind` and `apiVersion` first, as the API server writes them (Go's TypeMeta
/// leads every struct), and so for each list item.
fn kind_first(value: Value) -> Value {
    let Value::Object(map) = value else {
        return value;
    };
    let mut out = serde_json::Map::with_capacity(map.len());
    for key in ["kind", "apiVersion"] {
        if let Some(v) = map.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    for (key, v) in map {
        match key.as_str() {
            "kind" | "apiVersion" => {}
            "items" => {
                let items = match v {
                    Value::Array(items) => {
                        Value::Array(items.into_iter().map(kind_first).collect())
                    }
                    other => other,
                };
                out.insert(key, items);
            }
            _ => {
                out.insert(key, v);
            }
        }
    }
    Value::Object(out)
}

/// Renders an object or list in the negotiated representation.
pub(super) fn represent(value: Value, representation: Representation) -> Value {
    let value = kind_first(value);
    match representation {
        // Tables are rendered by the read paths (`read_view`); other replies stay JSON.
        Representation::Json | Representation::Table => value,
        Representation::Metadata | Representation::MetadataList => {
            if let Some(items) = value.get("items").and_then(Value::as_array) {
                json!({
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": value.get("metadata").cloned().unwrap_or(json!({})),
                    "items": items.iter().map(partial).collect::<Vec<_>>(),
                })
            } else if value.get("kind") == Some(&json!("Status")) {
                value
            } else {
                partial(&value)
            }
        }
    }
}

fn written(result: Written, representation: Representation, encoding: Encoding) -> Response {
    let code = if result.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let response = encoded(code, &represent(result.object, representation), encoding);
    with_warnings(response, &result.warnings)
}

/// Adds `Warning` headers: RFC 7234 code 299, agent "-", quoted text.
fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for warning in warnings {
        let text = format!("299 - {}", json!(warning));
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

/// The admission control of this server (`crate::admission`).
fn admission(app: &AppState) -> Admission {
    Admission {
        cluster: app.cluster.clone(),
        services: app.services.clone(),
    }
}

fn str_at_name(body: &Value) -> &str {
    body.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// What a webhook is told about a write.
fn admission_request<'a>(
    def: &'a ResourceDef,
    namespace: Option<&'a str>,
    name: &'a str,
    subresource: Subresource,
    options: Value,
    dry_run: bool,
    user: &'a UserInfo,
) -> AdmissionRequest<'a> {
    AdmissionRequest {
        def,
        namespace,
        name,
        subresource,
        dry_run,
        options,
        user,
    }
}

/// The `CreateOptions`/`UpdateOptions`/`PatchOptions` object of a write.
fn options_object(kind: &str, options: &WriteOptions) -> Value {
    let mut object = json!({"kind": kind, "apiVersion": "meta.k8s.io/v1"});
    if options.dry_run {
        object["dryRun"] = json!(["All"]);
    }
    if let Some(manager) = &options.field_manager {
        object["fieldManager"] = json!(manager);
    }
    if let Some(validation) = &options.field_validation {
        object["fieldValidation"] = json!(validation);
    }
    if kind == "PatchOptions" && options.force {
        object["force"] = json!(true);
    }
    object
}

async fn resource(
    app: &AppState,
    method: &Method,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    target: ResourcePath,
    body: Body,
    user: &UserInfo,
) -> Result<Response, ApiError> {
    let def = app
        .cluster
        .resource(&target.group, &target.version, &target.plural)?;
    if !def.namespaced && target.namespace.is_some() {
        return Err(ApiError::UnknownResource);
    }
    let extra = target
        .subresource
        .as_deref()
        .and_then(|name| def.extra_subresource(name));
    let subresource = match extra {
        Some(_) => Subresource::Main,
        None => subresource(&def, &target)?,
    };
    let verb = verb(method, &target, query).ok_or(ApiError::MethodNotAllowed)?;
    let served = match (extra, &target.subresource) {
        (Some(extra), _) => extra.verbs.contains(&verb),
        (None, Some(_)) => true,
        (None, None) => def.verbs.contains(&verb),
    };
    if !served {
        return Err(ApiError::MethodNotAllowed);
    }
    if def.namespaced && target.namespace.is_none() && target.name.is_some() {
        return Err(ApiError::UnknownResource);
    }
    app.requests.record(RequestEntry {
        verb: verb.to_string(),
        group: def.group.clone(),
        resource: def.plural.clone(),
        subresource: target.subresource.clone(),
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        field_manager: query.get("fieldManager").cloned(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        user: user.username.clone(),
        groups: user.groups.clone(),
    });
    authorize_attributes(
        app,
        &Attributes {
            user: user.clone(),
            verb: verb.to_string(),
            resource: Some(ResourceAttributes {
                namespace: target.namespace.clone().unwrap_or_default(),
                group: def.group.clone(),
                resource: def.plural.clone(),
                subresource: target.subresource.clone().unwrap_or_default(),
                name: target.name.clone().unwrap_or_default(),
            }),
            path: String::new(),
        },
    )?;
    let decision = app.faults.decide(verb, &def.qualified_resource());
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    if let Some(error) = decision.error {
        return Err(error);
    }
    let (representation, encoding) =
        negotiation::negotiate_resource(accept(headers)).ok_or(ApiError::NotAcceptable)?;
    let cluster = &app.cluster;
    let namespace = target.namespace.as_deref();
    let name = target.name.as_deref().unwrap_or_default();
    let read_body = || async {
        axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|e| bad_body(format!("reading the request body: {e}")))
    };
    if let Some(extra) = extra {
        let bytes = read_body().await?;
        return special_subresource(
            app,
            &def,
            extra,
            verb,
            SubresourceRequest {
                namespace,
                name,
                headers,
                query,
                bytes: &bytes,
                encoding,
            },
        )
        .await;
    }
    if !def.is_stored() {
        return match verb {
            "create" => {
                let format = body_format(&def, headers)?;
                let bytes = read_body().await?;
                let body = decode_body(format, &bytes)?;
                special::review_create(app, &def, namespace, user, &body, encoding)
            }
            _ => special::component_statuses(target.name.as_deref(), encoding),
        };
    }
    match verb {
        "get" => {
            let object = cluster.get(&def, namespace, name, subresource)?;
            if representation == Representation::Table && subresource == Subresource::Main {
                let options = table::TableOptions::from_query(query_str(query, "includeObject"))?;
                let table = table_columns(cluster, &def).render(&object, now(), options);
                return Ok(json_ok(&table));
            }
            Ok(encoded(
                StatusCode::OK,
                &represent(object, representation),
                encoding,
            ))
        }
        "list" => {
            let list = cluster.list(&def, namespace, &list_options(query)?)?;
            if representation == Representation::Table {
                let options = table::TableOptions::from_query(query_str(query, "includeObject"))?;
                let table = table_columns(cluster, &def).render(&list, now(), options);
                return Ok(json_ok(&table));
            }
            Ok(encoded(
                StatusCode::OK,
                &represent(list, representation),
                encoding,
            ))
        }
        "watch" => {
            let list = list_options(query)?;
            let timeout = query
                .get("timeoutSeconds")
                .and_then(|t| t.parse::<u64>().ok())
                .map(std::time::Duration::from_secs);
            let options = WatchOptions {
                label_selector: list.label_selector,
                field_selector: list.field_selector,
                resource_version: list.resource_version,
                resource_version_match: list.resource_version_match,
                allow_bookmarks: flag(query, "allowWatchBookmarks"),
                send_initial_events: flag(query, "sendInitialEvents"),
                timeout,
            };
            let stream = cluster.watch(def.clone(), namespace, &options)?;
            let render: watch::Render = if representation == Representation::Table {
                let columns = table_columns(cluster, &def);
                let mut options =
                    table::TableOptions::from_query(query_str(query, "includeObject"))?;
                // Only the first row of a watch carries the column definitions.
                Box::new(move |event_type, object| {
                    if event_type == "BOOKMARK" {
                        return object;
                    }
                    let table = columns.render(&object, now(), options);
                    options.no_headers = true;
                    table
                })
            } else {
                Box::new(move |_, object| represent(object, representation))
            };
            Ok(watch::response(
                stream,
                render,
                app.faults.drop_signal(),
                decision.drop_watch_after,
            ))
        }
        "create" => {
            let format = body_format(&def, headers)?;
            let bytes = read_body().await?;
            let body = decode_body(format, &bytes)?;
            let options = write_options(query, headers);
            let request = admission_request(
                &def,
                namespace,
                str_at_name(&body),
                subresource,
                options_object("CreateOptions", &options),
                options.dry_run,
                user,
            );
            let result = admission(app)
                .write(request, WriteKind::Create, options, |options| {
                    cluster.create(&def, namespace, body.clone(), options)
                })
                .await?;
            Ok(written(result, representation, encoding))
        }
        "update" => {
            let format = body_format(&def, headers)?;
            let bytes = read_body().await?;
            let body = decode_body(format, &bytes)?;
            let options = write_options(query, headers);
            let request = admission_request(
                &def,
                namespace,
                name,
                subresource,
                options_object("UpdateOptions", &options),
                options.dry_run,
                user,
            );
            let result = admission(app)
                .write(request, WriteKind::UpdateOrPatch, options, |options| {
                    cluster.update(&def, namespace, name, subresource, body.clone(), options)
                })
                .await?;
            Ok(written(result, representation, encoding))
        }
        "patch" => {
            let patch_type = patch_type(headers)?;
            let bytes = read_body().await?;
            let body = parse_body(&bytes, patch_type == PatchType::Apply)?;
            let options = write_options(query, headers);
            let request = admission_request(
                &def,
                namespace,
                name,
                subresource,
                options_object("PatchOptions", &options),
                options.dry_run,
                user,
            );
            let result = admission(app)
                .write(request, WriteKind::UpdateOrPatch, options, |options| {
                    let patch = crate::api::Patch {
                        patch_type,
                        body: body.clone(),
                    };
                    cluster.patch(&def, namespace, name, subresource, patch, options)
                })
                .await?;
            Ok(written(result, representation, encoding))
        }
        "delete" => {
            let bytes = read_body().await?;
            let options = delete_options(query, headers, &bytes)?;
            let mut options_json = json!({"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1"});
            if options.dry_run {
                options_json["dryRun"] = json!(["All"]);
            }
            if let Some(policy) = &options.propagation {
                options_json["propagationPolicy"] = json!(format!("{policy:?}"));
            }
            let request = admission_request(
                &def,
                namespace,
                name,
                subresource,
                options_json,
                options.dry_run,
                user,
            );
            let dry_run = options.dry_run;
            let (deleted, warnings) = admission(app)
                .delete(request, options, |options| {
                    cluster.delete(&def, namespace, name, options)
                })
                .await?;
            let removed = if dry_run {
                deleted.pointer("/metadata/deletionTimestamp").is_none()
            } else {
                matches!(
                    cluster.get(&def, namespace, name, Subresource::Main),
                    Err(ApiError::NotFound { .. })
                ) || deleted.pointer("/metadata/deletionTimestamp").is_none()
            };
            let deleted = if removed
                && !RETURNS_DELETED_OBJECT.contains(&(def.group.as_str(), def.plural.as_str()))
            {
                deleted_status(&def, &deleted)
            } else {
                deleted
            };
            Ok(with_warnings(
                encoded(
                    StatusCode::OK,
                    &represent(deleted, representation),
                    encoding,
                ),
                &warnings,
            ))
        }
        "deletecollection" => {
            let bytes = read_body().await?;
            let options = delete_options(query, headers, &bytes)?;
            let selection = list_options(query)?;
            let doomed = cluster.list(&def, namespace, &selection)?;
            let request = admission_request(
                &def,
                namespace,
                "",
                subresource,
                json!({"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1"}),
                options.dry_run,
                user,
            );
            let items = doomed["items"].as_array().cloned().unwrap_or_default();
            let warnings = admission(app)
                .admit_collection_delete(request, &items)
                .await?;
            Ok(with_warnings(
                encoded(
                    StatusCode::OK,
                    &represent(
                        cluster.delete_collection(&def, namespace, &selection, &options)?,
                        representation,
                    ),
                    encoding,
                ),
                &warnings,
            ))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            url_pairs("fieldSelector=metadata.name%3Dx&labelSelector=a+in+(b)&watch"),
            vec![
                ("fieldSelector".to_string(), "metadata.name=x".to_string()),
                ("labelSelector".to_string(), "a in (b)".to_string()),
                ("watch".to_string(), String::new()),
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
    }
}
