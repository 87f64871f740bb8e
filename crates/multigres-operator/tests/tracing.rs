//! Tracing as spec-controllers.md §12.4 describes it, against an OTLP collector stand-in (an HTTP
//! server decoding the protobuf export requests): a reconcile span arrives named
//! `<Kind>.Reconcile` with the `k8s.*` attributes and the operator's resource, continues the
//! trace stored by the webhook when it is fresh and only links to it when stale; JSON log lines
//! inside it carry its trace and span ids; with no endpoint configured nothing is exported.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use multigres_operator::telemetry::trace_context::{StoredTrace, stored_trace, trace_annotations};
use multigres_operator::telemetry::tracing::{
    LogFormat, OtlpTarget, reconcile_span, record_trace_ids, subscriber, tracer_provider,
};
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use pretty_assertions::assert_eq;
use prost::Message;
use tokio::sync::mpsc;
use tracing_subscriber::EnvFilter;

const WEBHOOK_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const WEBHOOK_SPAN: &str = "00f067aa0ba902b7";

fn webhook_span() -> SpanContext {
    SpanContext::new(
        TraceId::from_hex(WEBHOOK_TRACE).expect("valid hex"),
        SpanId::from_hex(WEBHOOK_SPAN).expect("valid hex"),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

/// Collects the log lines a subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn json_lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().expect("not poisoned").clone();
        String::from_utf8(bytes)
            .expect("UTF-8 logs")
            .lines()
            .map(|line| serde_json::from_str(line).map_err(|err| format!("{err}: {line}")))
            .collect::<Result<_, _>>()
            .expect("every log line is a JSON object")
    }
}

/// An OTLP/HTTP collector stand-in: each POST to /v1/traces is decoded and sent on the channel.
async fn start_collector() -> (String, mpsc::UnboundedReceiver<ExportTraceServiceRequest>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sender = sender.clone();
            async move {
                let request =
                    ExportTraceServiceRequest::decode(body).expect("a protobuf export request");
                let _ = sender.send(request);
                // An empty ExportTraceServiceResponse.
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let endpoint = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (endpoint, receiver)
}

fn attributes(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .filter_map(|pair| match pair.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(value) => Some((pair.key.clone(), value.clone())),
            _ => None,
        })
        .collect()
}

struct Exported {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    links: Vec<(String, String)>,
    attributes: BTreeMap<String, String>,
    resource: BTreeMap<String, String>,
}

/// Runs one reconcile span under a subscriber exporting to a collector stand-in and returns
/// what the collector received and the JSON logs written inside the span.
async fn reconcile_once(stored: StoredTrace) -> (Exported, Vec<serde_json::Value>) {
    let (endpoint, mut received) = start_collector().await;
    let target = OtlpTarget::from_env(|name| {
        (name == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| endpoint.clone())
    })
    .expect("tracing is on when the endpoint is set");
    let provider = tracer_provider(&target).expect("an exporter");
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = subscriber(
        LogFormat::Json,
        move || writer.clone(),
        Some(&provider),
        EnvFilter::new("info"),
    );
    let recorded_trace_id = tracing::subscriber::with_default(subscriber, || {
        let span = reconcile_span("Shard", "tenant-ns", "orders-shard-0", &stored);
        let trace_id = record_trace_ids(&span);
        span.in_scope(|| tracing::info!(pods = 3, "reconcile complete"));
        trace_id
    });
    let flushing = provider.clone();
    tokio::task::spawn_blocking(move || flushing.force_flush())
        .await
        .expect("flush task")
        .expect("flush");
    let request = tokio::time::timeout(Duration::from_secs(20), received.recv())
        .await
        .expect("the collector receives spans")
        .expect("the channel stays open");
    let resource_spans = &request.resource_spans[0];
    let span = &resource_spans.scope_spans[0].spans[0];
    let exported = Exported {
        name: span.name.clone(),
        trace_id: hex(&span.trace_id),
        span_id: hex(&span.span_id),
        parent_span_id: hex(&span.parent_span_id),
        links: span
            .links
            .iter()
            .map(|link| (hex(&link.trace_id), hex(&link.span_id)))
            .collect(),
        attributes: attributes(&span.attributes),
        resource: attributes(
            &resource_spans
                .resource
                .as_ref()
                .expect("a resource")
                .attributes,
        ),
    };
    assert_eq!(
        recorded_trace_id.as_deref(),
        Some(exported.trace_id.as_str())
    );
    tokio::task::spawn_blocking(move || provider.shutdown())
        .await
        .expect("shutdown task")
        .expect("shutdown");
    (exported, logs.json_lines())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_continues_the_fresh_trace_of_its_admission() {
    let (span, logs) = reconcile_once(StoredTrace::Continue(webhook_span())).await;
    assert_eq!(span.name, "Shard.Reconcile");
    assert_eq!(span.trace_id, WEBHOOK_TRACE);
    assert_eq!(span.parent_span_id, WEBHOOK_SPAN);
    assert_eq!(span.links, []);
    let k8s: BTreeMap<&str, &str> = span
        .attributes
        .iter()
        .filter(|(key, _)| key.starts_with("k8s."))
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        k8s,
        BTreeMap::from([
            ("k8s.namespace", "tenant-ns"),
            ("k8s.resource.kind", "Shard"),
            ("k8s.resource.name", "orders-shard-0"),
        ])
    );
    assert_eq!(
        span.resource.get("service.name").map(String::as_str),
        Some("multigres-operator")
    );
    assert_eq!(
        span.resource.get("service.version").map(String::as_str),
        Some(env!("CARGO_PKG_VERSION"))
    );

    // The log line written inside the span names it.
    assert_eq!(logs.len(), 1, "{logs:?}");
    let line = &logs[0];
    assert_eq!(line["message"], "reconcile complete");
    assert_eq!(line["pods"], 3);
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["trace_id"], span.trace_id.as_str());
    assert_eq!(line["span_id"], span.span_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_admission_trace_is_linked_not_continued() {
    let (span, _) = reconcile_once(StoredTrace::Stale(webhook_span())).await;
    assert_eq!(span.name, "Shard.Reconcile");
    assert_ne!(span.trace_id, WEBHOOK_TRACE);
    assert_eq!(span.parent_span_id, "");
    assert_eq!(
        span.links,
        [(WEBHOOK_TRACE.to_owned(), WEBHOOK_SPAN.to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotations_written_by_the_webhook_lead_the_reconcile_into_its_trace() {
    let annotations = trace_annotations(&webhook_span(), 1_700_000_000);
    let (span, _) = reconcile_once(stored_trace(&annotations, 1_700_000_060)).await;
    assert_eq!(
        (span.trace_id.as_str(), span.parent_span_id.as_str()),
        (WEBHOOK_TRACE, WEBHOOK_SPAN)
    );
}

#[test]
fn without_an_endpoint_nothing_is_exported_and_logs_have_no_trace_ids() {
    let target = OtlpTarget::from_env(|name| {
        (name == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "grpc".to_owned())
    });
    assert_eq!(target, None);

    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = subscriber(
        LogFormat::Json,
        move || writer.clone(),
        None,
        EnvFilter::new("info"),
    );
    let trace_id = tracing::subscriber::with_default(subscriber, || {
        let span = reconcile_span("Cell", "tenant-ns", "orders-zone-a", &StoredTrace::Absent);
        let trace_id = record_trace_ids(&span);
        span.in_scope(|| tracing::info!("reconcile complete"));
        trace_id
    });
    assert_eq!(trace_id, None);
    let lines = logs.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].get("trace_id"), None);
    assert_eq!(lines[0]["span"]["k8s.resource.name"], "orders-zone-a");
}

#[test]
fn the_otlp_target_follows_the_standard_variables() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    };
    assert_eq!(
        OtlpTarget::from_env(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://otel-collector.multigres-operator.svc:4318/"
        )])),
        Some(OtlpTarget {
            traces_endpoint: "http://otel-collector.multigres-operator.svc:4318/v1/traces"
                .to_owned(),
            unsupported_protocol: None,
        })
    );
    assert_eq!(
        OtlpTarget::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:4318/custom"
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])),
        Some(OtlpTarget {
            traces_endpoint: "http://traces:4318/custom".to_owned(),
            unsupported_protocol: Some("grpc".to_owned()),
        })
    );
    assert_eq!(
        OtlpTarget::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "  "),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:4318/custom"
            ),
        ])),
        None
    );
}
