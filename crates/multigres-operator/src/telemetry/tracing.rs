//! Logs and traces of the operator process (spec-controllers.md §12.4, §12.6).
//!
//! - Logs: JSON lines (one object per event, fields flattened) when standard error is not a
//!   terminal, compact text on a terminal; `--log-format` overrides; `RUST_LOG` filters
//!   (default `info`). Inside a span whose ids were recorded with [`record_trace_ids`], JSON
//!   lines carry top-level `trace_id` and `span_id`.
//! - Traces: only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set is an OTLP exporter (http/protobuf)
//!   built; otherwise no tracer provider and no OpenTelemetry layer exist at all. Resource
//!   `service.name=multigres-operator`, `service.version=<crate version>`; the global propagator
//!   is W3C TraceContext.
//!
//! [`init`] is the only function here that reads the environment.

use std::io::IsTerminal;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing::{Event, Span, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use super::trace_context::StoredTrace;

/// The tracer and `service.name` of the operator (§12.4).
pub const SERVICE_NAME: &str = "multigres-operator";

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Compact human-readable text.
    Text,
}

/// Logging flags of `multigres-operator run`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LogConfig {
    /// Log format: `json` or `text`. Default: `text` when standard error is a terminal, else
    /// `json`. The level filter comes from RUST_LOG (default `info`).
    #[arg(long = "log-format", value_enum, env = "MULTIGRES_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// Where and how spans are exported, read from the standard `OTEL_*` variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpTarget {
    /// The full URL spans are POSTed to.
    pub traces_endpoint: String,
    /// A protocol other than http/protobuf asked for in `OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL`;
    /// the exporter still uses http/protobuf and [`init`] logs a warning.
    pub unsupported_protocol: Option<String>,
}

impl OtlpTarget {
    /// Reads the target from the environment variables `env` gives (`None` = unset). Tracing is
    /// on only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and not empty (§12.4).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let non_empty = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let endpoint = non_empty("OTEL_EXPORTER_OTLP_ENDPOINT")?;
        // The OTLP exporter specification: a signal-specific endpoint is used as is, the
        // generic one gets the signal's path appended.
        let traces_endpoint = non_empty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .unwrap_or_else(|| format!("{}/v1/traces", endpoint.trim().trim_end_matches('/')));
        let unsupported_protocol = non_empty("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| non_empty("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .filter(|protocol| protocol != "http/protobuf");
        Some(Self {
            traces_endpoint,
            unsupported_protocol,
        })
    }
}

/// Failure to set up logging or tracing.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryInitError {
    #[error("failed to build the OTLP span exporter for {endpoint}")]
    BuildExporter {
        endpoint: String,
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("failed to install the global tracing subscriber")]
    InstallSubscriber {
        #[source]
        source: tracing_subscriber::util::TryInitError,
    },
}

/// Builds a tracer provider exporting to `target` in batches on the Tokio runtime (call from
/// within one). The hyper client the exporter uses needs that runtime, which is why the batch
/// processor runs as a Tokio task and not on its own thread.
pub fn tracer_provider(target: &OtlpTarget) -> Result<SdkTracerProvider, TelemetryInitError> {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(target.traces_endpoint.clone())
        .build()
        .map_err(|source| TelemetryInitError::BuildExporter {
            endpoint: target.traces_endpoint.clone(),
            source,
        })?;
    let resource = Resource::builder()
        .with_service_name(SERVICE_NAME)
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter, Tokio).build())
        .with_resource(resource)
        .build())
}

/// Keeps the tracer provider alive; [`TelemetryGuard::shutdown`] flushes the last spans.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Whether an OTLP exporter was started.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Flushes and stops the exporter. Blocking work runs off the async workers, because the
    /// batch processor's export task needs them to make progress.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Ok(Err(error)) = tokio::task::spawn_blocking(move || provider.shutdown()).await
        {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "failed to flush the last spans"
            );
        }
    }
}

/// Installs the global subscriber and propagator for the operator process: logs per `config`,
/// OTLP export when the environment asks for it. Call once, from within the Tokio runtime.
pub fn init(config: &LogConfig) -> Result<TelemetryGuard, TelemetryInitError> {
    let target = OtlpTarget::from_env(|name| std::env::var(name).ok());
    let provider = target.as_ref().map(tracer_provider).transpose()?;
    let format = config
        .log_format
        .unwrap_or(if std::io::stderr().is_terminal() {
            LogFormat::Text
        } else {
            LogFormat::Json
        });
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    subscriber(format, std::io::stderr, provider.as_ref(), filter)
        .try_init()
        .map_err(|source| TelemetryInitError::InstallSubscriber { source })?;
    if let Some(OtlpTarget {
        traces_endpoint,
        unsupported_protocol,
    }) = &target
    {
        if let Some(protocol) = unsupported_protocol {
            tracing::warn!(
                protocol,
                "only the http/protobuf OTLP protocol is supported; using it"
            );
        }
        tracing::info!(endpoint = traces_endpoint, "exporting traces over OTLP");
    }
    Ok(TelemetryGuard { provider })
}

/// The subscriber [`init`] installs, with its parts as arguments so tests can capture logs and
/// spans without touching globals.
pub fn subscriber<W>(
    format: LogFormat,
    writer: W,
    provider: Option<&SdkTracerProvider>,
    filter: EnvFilter,
) -> impl Subscriber + Send + Sync + for<'a> LookupSpan<'a>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let otel = provider
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer(SERVICE_NAME)));
    let logs: Box<dyn Layer<_> + Send + Sync> = match format {
        LogFormat::Json => Box::new(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .event_format(WithTraceIds(
                    tracing_subscriber::fmt::format()
                        .json()
                        .flatten_event(true)
                        .with_current_span(true)
                        .with_span_list(false),
                ))
                .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new()),
        ),
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .compact(),
        ),
    };
    Registry::default().with(filter).with(otel).with(logs)
}

/// The trace and span ids of a span, stored in its extensions by [`record_trace_ids`].
#[derive(Clone, Debug)]
struct TraceIds {
    trace_id: String,
    span_id: String,
}

/// Makes log lines inside `span` (and its children) carry its OpenTelemetry trace and span ids,
/// and returns the trace id (for the reconcile histogram's exemplar). `None` when tracing is off
/// or the span is disabled. Call right after creating the span, before entering it.
pub fn record_trace_ids(span: &Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if !span_context.is_valid() {
        return None;
    }
    let ids = TraceIds {
        trace_id: span_context.trace_id().to_string(),
        span_id: span_context.span_id().to_string(),
    };
    let trace_id = ids.trace_id.clone();
    span.with_subscriber(|(id, dispatch)| {
        if let Some(registry) = dispatch.downcast_ref::<Registry>()
            && let Some(data) = registry.span(id)
        {
            data.extensions_mut().replace(ids);
        }
    });
    Some(trace_id)
}

/// The span of one reconcile (§12.4): named `<Kind>.Reconcile` in traces, with the
/// `k8s.resource.*` attributes, and made a child of (or linked to) the trace context stored on
/// the object by the mutating webhook.
pub fn reconcile_span(kind: &str, namespace: &str, name: &str, stored: &StoredTrace) -> Span {
    let span = tracing::info_span!(
        "reconcile",
        otel.name = format!("{kind}.Reconcile"),
        "k8s.resource.name" = name,
        "k8s.namespace" = namespace,
        "k8s.resource.kind" = kind,
    );
    match stored {
        StoredTrace::Absent => {}
        StoredTrace::Continue(parent) => {
            let parent = opentelemetry::Context::new().with_remote_span_context(parent.clone());
            // Fails only when the span is disabled or already started; then there is no trace
            // to attach to.
            let _ = span.set_parent(parent);
        }
        StoredTrace::Stale(old) => span.add_link(old.clone()),
    }
    span
}

/// The JSON event format plus top-level `trace_id`/`span_id` of the innermost span that has
/// them (see [`record_trace_ids`]).
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let ids = ctx.event_scope().and_then(|scope| {
            scope
                .into_iter()
                .find_map(|span| span.extensions().get::<TraceIds>().cloned())
        });
        let Some(ids) = ids else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        // The JSON formatter writes one object and a newline; reopen the object to add the ids.
        match line.trim_end().strip_suffix('}') {
            Some(object) => writeln!(
                writer,
                "{object},\"trace_id\":\"{}\",\"span_id\":\"{}\"}}",
                ids.trace_id, ids.span_id
            ),
            None => writer.write_str(&line),
        }
    }
}
