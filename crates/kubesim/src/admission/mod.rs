//! Admission webhooks (rust-ecosystem.md §3.3 "Admission webhooks"): every create, update,
//! patch and delete that reaches the HTTP layer is offered to the matching webhooks of the
//! stored MutatingWebhookConfigurations, then ValidatingWebhookConfigurations, as the API
//! server does: `AdmissionReview` v1 over HTTPS verified against `caBundle`, JSONPatch
//! responses applied, warnings returned as `Warning` headers, `failurePolicy`,
//! `timeoutSeconds`, `sideEffects` on dry runs, and the API server's messages for denials,
//! timeouts and unreachable webhooks.
//!
//! How webhooks fit a pipeline that runs under a lock: the request runs as a dry run with an
//! [`AdmissionHook`] that records the object at the mutating stage; the mutating webhooks are
//! called with it; a second dry run replays their result at the mutating stage and records
//! the object at the validating stage; the validating webhooks are called with that; the
//! persisting run replays the mutation and persists. If the stored object changed between
//! runs (the input of the mutating stage differs), the whole sequence starts again. Requests
//! no webhook rule matches run once, unchanged.
//!
//! Not modelled: `reinvocationPolicy: IfNeeded`, `matchPolicy: Equivalent` conversion between
//! versions, the `/scale` subresource, and in-process writes (they bypass admission, like
//! writes straight to etcd would). A deletecollection is admitted item by item before anything
//! is deleted (all or nothing, where the API server deletes the admitted items).

pub mod client;
pub mod matching;
pub mod review;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::api::{
    AdmissionHook, AdmissionStage, Cluster, DeleteOptions, ListOptions, Subresource, WriteOptions,
    Written,
};
use crate::auth::UserInfo;
use crate::error::ApiError;
use crate::resources::ResourceDef;
use client::{Address, Endpoint};
use matching::{Operation, Target};
use review::RequestInfo;

/// How often the admission sequence restarts when the object keeps changing underneath it.
const ATTEMPTS: usize = 5;

/// (namespace, name, port) of a Service.
type ServicePort = (String, String, u16);

/// Addresses registered for Services, so that webhook `service` references reach a server
/// running in the test process (`Handle::register_service_address`).
#[derive(Clone, Debug, Default)]
pub struct ServiceAddresses {
    inner: Arc<Mutex<HashMap<ServicePort, SocketAddr>>>,
}

impl ServiceAddresses {
    /// Routes `https://<name>.<namespace>.svc:<port>` to `address`.
    pub fn register(&self, namespace: &str, name: &str, port: u16, address: SocketAddr) {
        self.lock()
            .insert((namespace.to_string(), name.to_string(), port), address);
    }

    fn lookup(&self, namespace: &str, name: &str, port: u16) -> Option<SocketAddr> {
        self.lock()
            .get(&(namespace.to_string(), name.to_string(), port))
            .copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ServicePort, SocketAddr>> {
        // A panic while holding this lock cannot leave the map half-written.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What kind of write is being admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    /// PUT or PATCH: an update, or a create when server-side apply meets a missing object.
    UpdateOrPatch,
}

/// The request being admitted.
#[derive(Clone, Debug)]
pub struct AdmissionRequest<'a> {
    pub def: &'a ResourceDef,
    pub namespace: Option<&'a str>,
    /// Empty for a create whose name is generated.
    pub name: &'a str,
    pub subresource: Subresource,
    pub dry_run: bool,
    /// The options object of the request (`CreateOptions`, `PatchOptions`, ...).
    pub options: Value,
    /// Who sent the request, as authentication resolved it (`request.userInfo`).
    pub user: &'a UserInfo,
}

/// Admission for one server: where configurations and Services are read from.
#[derive(Clone, Debug)]
pub struct Admission {
    pub cluster: Cluster,
    pub services: ServiceAddresses,
}

/// One webhook of a configuration.
#[derive(Clone, Debug)]
struct Webhook {
    spec: Value,
    mutating: bool,
}

impl Webhook {
    fn name(&self) -> &str {
        self.spec
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn fails_open(&self) -> bool {
        self.spec.get("failurePolicy").and_then(Value::as_str) == Some("Ignore")
    }

    fn timeout(&self) -> Duration {
        let seconds = self
            .spec
            .get("timeoutSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(10)
            .clamp(1, 30);
        Duration::from_secs(seconds)
    }

    fn accepts_dry_run(&self) -> bool {
        matches!(
            self.spec.get("sideEffects").and_then(Value::as_str),
            Some("None" | "NoneOnDryRun")
        )
    }
}

/// `ErrCallingWebhook` as the API server reports it with `failurePolicy: Fail`.
fn failed_calling(webhook: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError::Internal {
        message: format!("failed calling webhook \"{webhook}\": {reason}"),
    }
}

/// A fresh request uid. The counter only makes uids unique within the process (the time alone
/// could repeat); it carries no state any server depends on.
fn request_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let count = COUNTER.fetch_add(1, AtomicOrdering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let hex = format!("{:032x}", nanos ^ (u128::from(count) << 64));
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The object with the parts that differ between otherwise identical runs removed
/// (`managedFields` carry the time of the run).
fn comparable(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(metadata) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    copy
}

/// What the first dry run saw at the mutating stage.
#[derive(Clone, Debug, Default)]
struct Recorded {
    object: Option<Value>,
    old: Option<Value>,
    reached: bool,
}

impl Admission {
    fn list(&self, group: &str, plural: &str) -> Vec<Value> {
        let Ok(def) = self.cluster.resource(group, "v1", plural) else {
            return Vec::new();
        };
        let Ok(list) = self.cluster.list(&def, None, &ListOptions::default()) else {
            return Vec::new();
        };
        let mut items: Vec<Value> = list["items"].as_array().cloned().unwrap_or_default();
        items.sort_by(|a, b| {
            a.pointer("/metadata/name")
                .and_then(Value::as_str)
                .cmp(&b.pointer("/metadata/name").and_then(Value::as_str))
        });
        items
    }

    /// Webhooks whose rules match any of `operations`, mutating ones first.
    fn candidates(&self, target: &Target, operations: &[Operation]) -> Vec<(Webhook, Value)> {
        let mut found = Vec::new();
        for (plural, mutating) in [
            ("mutatingwebhookconfigurations", true),
            ("validatingwebhookconfigurations", false),
        ] {
            for config in self.list("admissionregistration.k8s.io", plural) {
                for spec in config["webhooks"].as_array().into_iter().flatten() {
                    if operations
                        .iter()
                        .any(|op| matching::rules_match(spec, *op, target))
                    {
                        found.push((
                            Webhook {
                                spec: spec.clone(),
                                mutating,
                            },
                            config.clone(),
                        ));
                    }
                }
            }
        }
        found
    }

    fn target(def: &ResourceDef, subresource: Subresource) -> Target {
        Target {
            group: def.group.clone(),
            version: def.version.clone(),
            resource: def.plural.clone(),
            subresource: match subresource {
                Subresource::Main => String::new(),
                Subresource::Status => "status".into(),
                Subresource::Scale => "scale".into(),
            },
            namespaced: def.namespaced,
            is_namespace: def.group.is_empty() && def.plural == "namespaces",
        }
    }

    fn namespace_labels(&self, namespace: Option<&str>) -> Option<Value> {
        let namespace = namespace.filter(|n| !n.is_empty())?;
        let def = self.cluster.resource("", "v1", "namespaces").ok()?;
        let object = self
            .cluster
            .get(&def, None, namespace, Subresource::Main)
            .ok()?;
        object.pointer("/metadata/labels").cloned()
    }

    /// Where the webhook's `clientConfig` points.
    fn endpoint(&self, webhook: &Webhook) -> Endpoint {
        let config = &webhook.spec["clientConfig"];
        let timeout = format!("timeout={}s", webhook.timeout().as_secs());
        let with_timeout = |path: &str| {
            if path.contains('?') {
                format!("{path}&{timeout}")
            } else {
                format!("{path}?{timeout}")
            }
        };
        if let Some(url) = config.get("url").and_then(Value::as_str) {
            let rest = url.strip_prefix("https://").unwrap_or(url);
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(']') || p.parse::<u16>().is_ok() => {
                    (h.trim_matches(['[', ']']), p.parse().unwrap_or(443))
                }
                _ => (authority.trim_matches(['[', ']']), 443),
            };
            let address = match host.parse::<std::net::IpAddr>() {
                Ok(ip) => Address::Socket(SocketAddr::new(ip, port)),
                Err(_) => Address::Host(host.to_string(), port),
            };
            return Endpoint {
                url: with_timeout(url),
                server_name: host.to_string(),
                path_and_query: with_timeout(path),
                host: authority.to_string(),
                address,
            };
        }
        let service = &config["service"];
        let text = |key: &str| {
            service
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (namespace, name, path) = (text("namespace"), text("name"), text("path"));
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        let port = service
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(443);
        let host = format!("{name}.{namespace}.svc");
        Endpoint {
            url: with_timeout(&format!("https://{host}:{port}{path}")),
            server_name: host.clone(),
            path_and_query: with_timeout(&path),
            host: format!("{host}:{port}"),
            address: self.resolve_service(&namespace, &name, port),
        }
    }

    /// A Service reference: a registered address, else a running backing Pod.
    fn resolve_service(&self, namespace: &str, name: &str, port: u16) -> Address {
        let Ok(services) = self.cluster.resource("", "v1", "services") else {
            return Address::Unresolvable(format!("service \"{name}\" not found"));
        };
        let Ok(service) = self
            .cluster
            .get(&services, Some(namespace), name, Subresource::Main)
        else {
            return Address::Unresolvable(format!("service \"{name}\" not found"));
        };
        if let Some(address) = self.services.lookup(namespace, name, port) {
            return Address::Socket(address);
        }
        self.backing_pod(namespace, &service, port)
            .unwrap_or_else(|| {
                Address::Unresolvable(format!("no endpoints available for service \"{name}\""))
            })
    }

    /// The address of a ready Pod backing the Service (cluster DNS, [`crate::dns`]), at the
    /// Service port's numeric `targetPort` (the port itself when unset).
    fn backing_pod(&self, namespace: &str, service: &Value, port: u16) -> Option<Address> {
        let name = service.pointer("/metadata/name")?.as_str()?;
        let target = service
            .pointer("/spec/ports")?
            .as_array()?
            .iter()
            .find(|p| p.get("port").and_then(Value::as_u64) == Some(u64::from(port)))?
            .get("targetPort")
            .cloned()
            .unwrap_or(json!(port));
        let target_port = match target {
            Value::Number(n) => u16::try_from(n.as_u64()?).ok()?,
            _ => return None,
        };
        let ip = crate::dns::resolve(&self.cluster, &format!("{name}.{namespace}.svc"))
            .ok()?
            .into_iter()
            .next()?;
        Some(Address::Socket(SocketAddr::new(ip, target_port)))
    }

    /// Calls one webhook if its selectors and conditions match; `Ok(None)` when skipped or
    /// failed open.
    async fn call(
        &self,
        webhook: &Webhook,
        config: &Value,
        info: &RequestInfo,
        object: Option<&Value>,
        old: Option<&Value>,
    ) -> Result<Option<review::Verdict>, ApiError> {
        let name = webhook.name();
        let namespace_labels = self.namespace_labels(Some(info.namespace.as_str()));
        if !matching::namespace_matches(
            &webhook.spec,
            &info.target,
            namespace_labels.as_ref(),
            object,
            old,
        ) || !matching::object_matches(&webhook.spec, object, old)
        {
            return Ok(None);
        }
        let request = review::admission_request(info, object, old);
        match matching::conditions_match(&webhook.spec, object, old, &request) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(_) if webhook.fails_open() => return Ok(None),
            Err(e) => return Err(failed_calling(name, e)),
        }
        if info.dry_run && !webhook.accepts_dry_run() {
            return Err(ApiError::BadRequest {
                message: format!("admission webhook \"{name}\" does not support dry run"),
            });
        }
        let versions_ok = webhook
            .spec
            .get("admissionReviewVersions")
            .and_then(Value::as_array)
            .is_none_or(|v| v.iter().any(|v| v == "v1"));
        if !versions_ok {
            return Err(failed_calling(
                name,
                format!(
                    "webhook does not accept v1 AdmissionReview, config {}",
                    config["metadata"]["name"]
                ),
            ));
        }
        let ca_bundle = webhook.spec["clientConfig"]["caBundle"]
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_default();
        let endpoint = self.endpoint(webhook);
        let body = serde_json::to_vec(&review::review(&request)).unwrap_or_default();
        let outcome = match client::call(&endpoint, &ca_bundle, body, webhook.timeout()).await {
            Ok(reply) => review::verdict(name, &info.uid, &reply.body).map_err(|e| e.to_string()),
            Err(e) => Err(format!("failed to call webhook: {e}")),
        };
        match outcome {
            Ok(verdict) => Ok(Some(verdict)),
            Err(reason) if webhook.fails_open() => {
                tracing::warn!(webhook = name, reason = %reason, "failed calling webhook, failing open");
                Ok(None)
            }
            Err(reason) => Err(failed_calling(name, reason)),
        }
    }

    /// Runs the mutating webhooks over `object`; returns the mutated object and the warnings.
    async fn mutate(
        &self,
        webhooks: &[(Webhook, Value)],
        info: &RequestInfo,
        mut object: Value,
        old: Option<&Value>,
        warnings: &mut Vec<String>,
    ) -> Result<Value, ApiError> {
        for (webhook, config) in webhooks.iter().filter(|(w, _)| w.mutating) {
            let Some(verdict) = self.call(webhook, config, info, Some(&object), old).await? else {
                continue;
            };
            warnings.extend(verdict.warnings);
            if let Some(denial) = verdict.denial {
                return Err(denial);
            }
            if let Some(patch) = verdict.patch {
                object = match review::apply_patch(&object, &patch) {
                    Ok(patched) => patched,
                    Err(_) if webhook.fails_open() => object,
                    Err(e) => return Err(failed_calling(webhook.name(), e)),
                };
            }
        }
        Ok(object)
    }

    /// Runs the validating webhooks.
    async fn validate(
        &self,
        webhooks: &[(Webhook, Value)],
        info: &RequestInfo,
        object: Option<&Value>,
        old: Option<&Value>,
        warnings: &mut Vec<String>,
    ) -> Result<(), ApiError> {
        for (webhook, config) in webhooks.iter().filter(|(w, _)| !w.mutating) {
            let Some(verdict) = self.call(webhook, config, info, object, old).await? else {
                continue;
            };
            warnings.extend(verdict.warnings);
            if let Some(denial) = verdict.denial {
                return Err(denial);
            }
        }
        Ok(())
    }

    fn info(request: &AdmissionRequest<'_>, operation: Operation, name: &str) -> RequestInfo {
        RequestInfo {
            uid: request_uid(),
            kind: request.def.kind.clone(),
            target: Self::target(request.def, request.subresource),
            operation,
            name: name.to_string(),
            namespace: request.namespace.unwrap_or_default().to_string(),
            dry_run: request.dry_run,
            options: request.options.clone(),
            user: request.user.clone(),
        }
    }

    /// Admits and performs a create, update or patch; `run` performs the write with the given
    /// options and may be called several times (dry runs first).
    pub async fn write(
        &self,
        request: AdmissionRequest<'_>,
        kind: WriteKind,
        options: WriteOptions,
        run: impl Fn(&WriteOptions) -> Result<Written, ApiError>,
    ) -> Result<Written, ApiError> {
        let target = Self::target(request.def, request.subresource);
        let possible: &[Operation] = match kind {
            WriteKind::Create => &[Operation::Create],
            WriteKind::UpdateOrPatch => &[Operation::Update, Operation::Create],
        };
        if request.subresource == Subresource::Scale {
            return run(&options);
        }
        let webhooks = self.candidates(&target, possible);
        if webhooks.is_empty() {
            return run(&options);
        }
        for _ in 0..ATTEMPTS {
            // 1. A dry run records what the mutating stage sees.
            let recorded = Arc::new(Mutex::new(Recorded::default()));
            let probe = {
                let recorded = recorded.clone();
                AdmissionHook(Arc::new(move |stage, object, old| {
                    if stage == AdmissionStage::Mutating
                        && let Ok(mut r) = recorded.lock()
                        && !r.reached
                    {
                        *r = Recorded {
                            object: object.map(|o| o.clone()),
                            old: old.cloned(),
                            reached: true,
                        };
                    }
                    Ok(())
                }))
            };
            let first = run(&WriteOptions {
                dry_run: true,
                admission: Some(probe),
                ..options.clone()
            });
            let recorded = recorded.lock().map(|r| r.clone()).unwrap_or_default();
            let (Some(input), true) = (recorded.object.clone(), recorded.reached) else {
                // Refused before admission (404, 409, ...): that is the answer. A write that
                // never reaches admission has nothing to offer the webhooks.
                return match first {
                    Err(error) => Err(error),
                    Ok(_) => run(&options),
                };
            };
            let old = recorded.old.clone();
            let operation = if old.is_some() {
                Operation::Update
            } else {
                Operation::Create
            };
            let matching: Vec<(Webhook, Value)> = webhooks
                .iter()
                .filter(|(w, _)| matching::rules_match(&w.spec, operation, &target))
                .cloned()
                .collect();
            if matching.is_empty() {
                return run(&options);
            }
            let name = input
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or(request.name)
                .to_string();
            let mut warnings = Vec::new();
            // 2. Mutating webhooks.
            let info = Self::info(&request, operation, &name);
            let mutated = self
                .mutate(&matching, &info, input.clone(), old.as_ref(), &mut warnings)
                .await?;
            // 3. A dry run with the mutation records what the validating stage sees.
            let stale = Arc::new(AtomicBool::new(false));
            let validated = Arc::new(Mutex::new(None::<Value>));
            let replay = |record: bool| {
                let stale = stale.clone();
                let validated = validated.clone();
                let expected = comparable(&input);
                let mutated = mutated.clone();
                AdmissionHook(Arc::new(move |stage, object, _old| {
                    match (stage, object) {
                        (AdmissionStage::Mutating, Some(object)) => {
                            if comparable(object) != expected {
                                stale.store(true, AtomicOrdering::SeqCst);
                                return Err(ApiError::Internal {
                                    message: "the object changed during admission".into(),
                                });
                            }
                            *object = mutated.clone();
                        }
                        (AdmissionStage::Validating, Some(object)) if record => {
                            if let Ok(mut v) = validated.lock() {
                                *v = Some(object.clone());
                            }
                        }
                        _ => {}
                    }
                    Ok(())
                }))
            };
            let second = run(&WriteOptions {
                dry_run: true,
                admission: Some(replay(true)),
                ..options.clone()
            });
            if stale.swap(false, AtomicOrdering::SeqCst) {
                continue;
            }
            let mut written = second?;
            let final_object = validated.lock().ok().and_then(|v| v.clone());
            // 4. Validating webhooks.
            let info = Self::info(&request, operation, &name);
            self.validate(
                &matching,
                &info,
                final_object.as_ref(),
                old.as_ref(),
                &mut warnings,
            )
            .await?;
            // 5. Persist (unless the request itself is a dry run).
            if !options.dry_run {
                let persisted = run(&WriteOptions {
                    admission: Some(replay(false)),
                    ..options.clone()
                });
                if stale.swap(false, AtomicOrdering::SeqCst) {
                    continue;
                }
                written = persisted?;
            }
            written.warnings.extend(warnings);
            return Ok(written);
        }
        Err(ApiError::Conflict {
            subject: crate::error::Subject::new(
                &request.def.group,
                &request.def.plural,
                request.name,
            ),
            detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
        })
    }

    /// Admits and performs a delete; the webhooks see the stored object as `oldObject`.
    pub async fn delete(
        &self,
        request: AdmissionRequest<'_>,
        options: DeleteOptions,
        run: impl Fn(&DeleteOptions) -> Result<Value, ApiError>,
    ) -> Result<(Value, Vec<String>), ApiError> {
        let target = Self::target(request.def, request.subresource);
        let webhooks = self.candidates(&target, &[Operation::Delete]);
        if webhooks.is_empty() {
            return run(&options).map(|v| (v, Vec::new()));
        }
        for _ in 0..ATTEMPTS {
            let old = self.cluster.get(
                request.def,
                request.namespace,
                request.name,
                Subresource::Main,
            )?;
            let info = Self::info(&request, Operation::Delete, request.name);
            let mut warnings = Vec::new();
            self.mutate_on_delete(&webhooks, &info, &old, &mut warnings)
                .await?;
            self.validate(&webhooks, &info, None, Some(&old), &mut warnings)
                .await?;
            let stale = Arc::new(AtomicBool::new(false));
            let expected_version = old.pointer("/metadata/resourceVersion").cloned();
            let hook = {
                let stale = stale.clone();
                AdmissionHook(Arc::new(move |_, _, current| {
                    if current.and_then(|c| c.pointer("/metadata/resourceVersion").cloned())
                        != expected_version
                    {
                        stale.store(true, AtomicOrdering::SeqCst);
                        return Err(ApiError::Internal {
                            message: "the object changed during admission".into(),
                        });
                    }
                    Ok(())
                }))
            };
            let result = run(&DeleteOptions {
                admission: Some(hook),
                ..options.clone()
            });
            if stale.swap(false, AtomicOrdering::SeqCst) {
                continue;
            }
            return result.map(|v| (v, warnings));
        }
        Err(ApiError::Conflict {
            subject: crate::error::Subject::new(
                &request.def.group,
                &request.def.plural,
                request.name,
            ),
            detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
        })
    }

    /// Admits each object a deletecollection is about to delete (the API server admits every
    /// item as a DELETE); the first refusal refuses the whole request, before anything is
    /// deleted. Returns the webhooks' warnings.
    pub async fn admit_collection_delete(
        &self,
        request: AdmissionRequest<'_>,
        items: &[Value],
    ) -> Result<Vec<String>, ApiError> {
        let target = Self::target(request.def, request.subresource);
        let webhooks = self.candidates(&target, &[Operation::Delete]);
        let mut warnings = Vec::new();
        if webhooks.is_empty() {
            return Ok(warnings);
        }
        for item in items {
            let name = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let info = Self::info(&request, Operation::Delete, name);
            self.mutate_on_delete(&webhooks, &info, item, &mut warnings)
                .await?;
            self.validate(&webhooks, &info, None, Some(item), &mut warnings)
                .await?;
        }
        Ok(warnings)
    }

    /// Mutating webhooks see deletes too, but there is nothing for them to patch.
    async fn mutate_on_delete(
        &self,
        webhooks: &[(Webhook, Value)],
        info: &RequestInfo,
        old: &Value,
        warnings: &mut Vec<String>,
    ) -> Result<(), ApiError> {
        for (webhook, config) in webhooks.iter().filter(|(w, _)| w.mutating) {
            if let Some(verdict) = self.call(webhook, config, info, None, Some(old)).await? {
                warnings.extend(verdict.warnings);
                if let Some(denial) = verdict.denial {
                    return Err(denial);
                }
            }
        }
        Ok(())
    }
}
