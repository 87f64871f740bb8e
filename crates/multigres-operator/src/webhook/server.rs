//! The webhook routes (spec-api.md §12.1 paths) and their thin handlers: read the body (bounded
//! in size and time), decode the AdmissionReview, read what the decision needs from the API
//! server ([`super::cluster_reads`]), call the pure decision ([`super::defaulting`],
//! [`super::validation`]) and answer with an AdmissionReview, whatever happened.
//!
//! `/healthz` answers `ok` for probes, outside the per-request span (style.md §3).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use multigres_api::resolver::TemplateKind;
use opentelemetry::trace::TraceContextExt;
use tokio::net::TcpListener;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::Error;
use super::args::WebhookConfig;
use super::cert_rotation::{CertStrategy, RELOAD_INTERVAL};
use super::cluster_reads::{cluster_facts, namespace_clusters, namespace_templates};
use super::defaulting::{DefaultingError, default_cluster};
use super::listener::{bind, serve_tls, tls_config};
use super::registration::{MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS};
use super::review::{AdmissionRequest, Verdict, decode, respond};
use super::validation::{
    ExemptUsers, validate_child_request, validate_cluster_request, validate_template_request,
};
use crate::telemetry::metrics::{Metrics, WebhookOperation, WebhookResult};
use crate::telemetry::trace_context::trace_annotations;

/// The largest AdmissionReview accepted. The API server stores objects of at most 3 MiB (etcd's
/// request limit is 1.5 MiB), and a review of an UPDATE carries two of them.
pub const MAX_REVIEW_BYTES: usize = 8 * 1024 * 1024;
/// A client must send the whole body within this (the API server's own webhook timeout is 10 s
/// by default, at most 30 s).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What a path admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The MultigresCluster defaulter.
    DefaultCluster,
    /// The MultigresCluster validator.
    ValidateCluster,
    /// A template validator.
    ValidateTemplate(TemplateKind),
    /// The child-resource validator, for this kind.
    ValidateChild(&'static str),
}

impl Route {
    /// The route serving `path` (spec-api.md §12.1).
    pub fn for_path(path: &str) -> Option<Route> {
        let kind = path
            .strip_prefix("/mutate-multigres-com-v1alpha1-")
            .map(|kind| (true, kind))
            .or_else(|| {
                path.strip_prefix("/validate-multigres-com-v1alpha1-")
                    .map(|kind| (false, kind))
            })?;
        Some(match kind {
            (true, "multigrescluster") => Route::DefaultCluster,
            (false, "multigrescluster") => Route::ValidateCluster,
            (false, "coretemplate") => Route::ValidateTemplate(TemplateKind::Core),
            (false, "celltemplate") => Route::ValidateTemplate(TemplateKind::Cell),
            (false, "shardtemplate") => Route::ValidateTemplate(TemplateKind::Shard),
            (false, "cell") => Route::ValidateChild("Cell"),
            (false, "shard") => Route::ValidateChild("Shard"),
            (false, "tablegroup") => Route::ValidateChild("TableGroup"),
            (false, "toposerver") => Route::ValidateChild("TopoServer"),
            _ => return None,
        })
    }

    /// The kind of object this route expects.
    pub fn kind(self) -> &'static str {
        match self {
            Route::DefaultCluster | Route::ValidateCluster => "MultigresCluster",
            Route::ValidateTemplate(kind) => kind.kind(),
            Route::ValidateChild(kind) => kind,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AdmissionState {
    /// Uncached reads of templates, clusters, nodes and StorageClasses.
    pub client: Client,
    /// Who may write child resources.
    pub exempt: Arc<ExemptUsers>,
    /// `multigres_operator_webhook_request_*` (spec-api.md §12.8), when the operator has a
    /// registry.
    pub metrics: Option<Arc<Metrics>>,
}

/// Every webhook path, plus `/healthz`.
pub fn router(state: AdmissionState) -> Router {
    let mut router = Router::new().route("/healthz", get(|| async { "ok" }));
    for entry in MUTATING_WEBHOOKS.iter().chain(&VALIDATING_WEBHOOKS) {
        let Some(route) = Route::for_path(entry.path) else {
            continue;
        };
        router = router.route(
            entry.path,
            post(move |State(state): State<AdmissionState>, body: Body| admit(state, route, body)),
        );
    }
    router.with_state(state)
}

async fn admit(state: AdmissionState, route: Route, body: Body) -> Response {
    let span = tracing::info_span!(
        "admission",
        route = route.kind(),
        uid = tracing::field::Empty,
        operation = tracing::field::Empty,
        object.namespace = tracing::field::Empty,
        object.name = tracing::field::Empty,
        allowed = tracing::field::Empty,
    );
    async move {
        let (uid, verdict) = match read_body(body).await {
            Err(verdict) => (String::new(), verdict),
            Ok(bytes) => match decode(&bytes) {
                Err(err) => (String::new(), Verdict::bad_request(err.to_string())),
                Ok(request) => {
                    let span = tracing::Span::current();
                    span.record("uid", request.uid.as_str());
                    span.record("operation", format!("{:?}", request.operation));
                    span.record("object.namespace", request.namespace.as_str());
                    span.record("object.name", request.name.as_str());
                    let started = Instant::now();
                    let verdict = decide(&state, route, &request).await;
                    observe(&state, route, &verdict, started.elapsed());
                    (request.uid, verdict)
                }
            },
        };
        tracing::Span::current().record("allowed", verdict.is_allowed());
        review_response(&uid, &verdict)
    }
    .instrument(span)
    .await
}

/// Go records the MultigresCluster webhooks only: `DEFAULT` and `VALIDATE`, result `error` when
/// the handler returned an error (a rejection included).
fn observe(state: &AdmissionState, route: Route, verdict: &Verdict, elapsed: Duration) {
    let Some(metrics) = &state.metrics else {
        return;
    };
    let operation = match route {
        Route::DefaultCluster => WebhookOperation::Default,
        Route::ValidateCluster => WebhookOperation::Validate,
        Route::ValidateTemplate(_) | Route::ValidateChild(_) => return,
    };
    let result = if verdict.is_allowed() {
        WebhookResult::Success
    } else {
        WebhookResult::Error
    };
    metrics.observe_webhook_request(operation, "MultigresCluster", result, elapsed);
}

/// The body, or the answer when it is too large or too slow.
async fn read_body(body: Body) -> Result<axum::body::Bytes, Verdict> {
    match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_REVIEW_BYTES),
    )
    .await
    {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(err)) => Err(Verdict::Deny {
            code: 413,
            reason: "RequestEntityTooLarge".to_owned(),
            message: format!(
                "the AdmissionReview could not be read (at most {MAX_REVIEW_BYTES} bytes are \
                 accepted): {err}"
            ),
            causes: Vec::new(),
            warnings: Vec::new(),
        }),
        Err(_) => Err(Verdict::Deny {
            code: 408,
            reason: "Timeout".to_owned(),
            message: format!(
                "the AdmissionReview was not received within {} seconds",
                BODY_READ_TIMEOUT.as_secs()
            ),
            causes: Vec::new(),
            warnings: Vec::new(),
        }),
    }
}

fn review_response(uid: &str, verdict: &Verdict) -> Response {
    let body = respond(uid, verdict).to_string();
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The decision about one decoded request.
pub async fn decide(state: &AdmissionState, route: Route, request: &AdmissionRequest) -> Verdict {
    if request.kind.kind != route.kind() {
        return Verdict::bad_request(format!(
            "expected {}, got {} {}/{} (this path only admits {})",
            route.kind(),
            request.kind.kind,
            request.kind.group,
            request.kind.version,
            route.kind()
        ));
    }
    match route {
        Route::ValidateChild(_) => validate_child_request(request, &state.exempt),
        Route::DefaultCluster => {
            let Some(object) = request.object.as_ref() else {
                return Verdict::bad_request("the request has no object");
            };
            let templates = match namespace_templates(&state.client, &request.namespace).await {
                Ok(templates) => templates,
                Err(err) => return err.verdict(),
            };
            // The trace context of this request, for the reconcile that follows (§12.8);
            // nothing when tracing is off.
            let span_context = tracing::Span::current()
                .context()
                .span()
                .span_context()
                .clone();
            let annotations = trace_annotations(&span_context, Timestamp::now().as_second());
            match default_cluster(object, &templates, &annotations) {
                Ok(defaulted) => Verdict::Allow {
                    warnings: Vec::new(),
                    patch: Some(defaulted.patch),
                },
                // Mutating webhooks run before the API server validates the schema, so an
                // object of the wrong shape (`zone: 5`) reaches us. Go answers 400 with its
                // JSON decoder's message; we leave the object alone, and the API server then
                // refuses it with the field path and its own wording (issue 13).
                Err(DefaultingError::NotACluster { .. }) => Verdict::allow(),
                Err(err) => Verdict::forbidden(err.to_string()),
            }
        }
        Route::ValidateCluster => {
            let reads = futures::try_join!(
                namespace_templates(&state.client, &request.namespace),
                cluster_facts(&state.client)
            );
            match reads {
                Ok((templates, facts)) => validate_cluster_request(request, &templates, &facts),
                Err(err) => err.verdict(),
            }
        }
        Route::ValidateTemplate(kind) => {
            let reads = futures::try_join!(
                namespace_clusters(&state.client, &request.namespace),
                namespace_templates(&state.client, &request.namespace),
                cluster_facts(&state.client)
            );
            match reads {
                Ok((clusters, templates, facts)) => {
                    validate_template_request(kind, request, &clusters, &templates, &facts)
                }
                Err(err) => err.verdict(),
            }
        }
    }
}

/// The webhook server, bound and ready to serve.
pub struct WebhookServer {
    listener: TcpListener,
    state: AdmissionState,
    strategy: CertStrategy,
    enable_http2: bool,
}

impl WebhookServer {
    /// Binds `config.bind` (port 0 picks a free one) with the certificates of `strategy`.
    pub async fn bind(
        client: Client,
        config: &WebhookConfig,
        strategy: &CertStrategy,
    ) -> Result<Self, Error> {
        let listener = bind(config.bind).await?;
        let state = AdmissionState {
            client,
            exempt: Arc::new(ExemptUsers::new(&config.namespace, &config.service_account)),
            metrics: None,
        };
        Ok(WebhookServer {
            listener,
            state,
            strategy: strategy.clone(),
            enable_http2: config.enable_http2,
        })
    }

    /// Records the webhook metrics in `metrics` (the operator's registry).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.state.metrics = Some(metrics);
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, std::io::Error> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, re-reading the serving certificate every
    /// [`RELOAD_INTERVAL`] meanwhile; then lets open requests finish.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let tls = tls_config(self.strategy.serving(), self.enable_http2)?;
        let strategy = self.strategy.clone();
        let reload = async move {
            let mut ticks = tokio::time::interval(RELOAD_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(err) = strategy.reload().await {
                    tracing::warn!(
                        error = &err as &dyn std::error::Error,
                        "failed to re-read the webhook serving certificate; serving the previous one"
                    );
                }
            }
        };
        let serving = serve_tls(
            self.listener,
            tls,
            self.enable_http2,
            router(self.state),
            shutdown,
        );
        tokio::select! {
            () = serving => {},
            () = reload => {},
        }
        Ok(())
    }
}
