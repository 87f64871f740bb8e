//! OpenTelemetry settings of the data-plane pods (spec-api.md §2.14), copied verbatim from the
//! cluster to Cell, TableGroup and Shard.
//!
//! Turning them into `OTEL_*` environment variables (with the operator's own environment as the
//! fallback) is the pod builders' job, not this module's.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Transport of the OTLP exporter (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum OtlpProtocol {
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    #[serde(rename = "grpc")]
    Grpc,
}

/// Exporter of one telemetry signal (`OTEL_{TRACES,METRICS,LOGS}_EXPORTER`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TelemetryExporter {
    Otlp,
    None,
    Console,
}

/// Aggregation temporality of exported metrics.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MetricsTemporality {
    Cumulative,
    Delta,
}

/// Default aggregation of exported histograms.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HistogramAggregation {
    Base2ExponentialBucketHistogram,
    ExplicitBucketHistogram,
}

/// OpenTelemetry settings of the data-plane components. Every unset field falls back to the
/// operator's own `OTEL_*` environment variable of the same meaning.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservabilityConfig {
    /// OTLP collector endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`), e.g. `http://otel-collector:4318`.
    /// `disabled` turns telemetry off whatever the operator's environment says.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub otlp_endpoint: String,

    /// OTLP transport: `http/protobuf` or `grpc` (`OTEL_EXPORTER_OTLP_PROTOCOL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_protocol: Option<OtlpProtocol>,

    /// Trace exporter: `otlp`, `none` or `console` (`OTEL_TRACES_EXPORTER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces_exporter: Option<TelemetryExporter>,

    /// Metrics exporter: `otlp`, `none` or `console` (`OTEL_METRICS_EXPORTER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_exporter: Option<TelemetryExporter>,

    /// Logs exporter: `otlp`, `none` or `console` (`OTEL_LOGS_EXPORTER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_exporter: Option<TelemetryExporter>,

    /// Metric export interval in milliseconds (`OTEL_METRIC_EXPORT_INTERVAL`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metric_export_interval: String,

    /// Metrics temporality preference: `cumulative` or `delta`
    /// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_temporality: Option<MetricsTemporality>,

    /// Default histogram aggregation (`OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`);
    /// `base2_exponential_bucket_histogram` gives compact native histograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram_aggregation: Option<HistogramAggregation>,

    /// Trace sampler (`OTEL_TRACES_SAMPLER`), e.g. `always_on`, `parentbased_traceidratio`, or
    /// `multigres_custom` together with `samplingConfigRef`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub traces_sampler: String,

    /// ConfigMap holding a sampling configuration file, mounted at `/etc/otel` and passed as
    /// `OTEL_TRACES_SAMPLER_CONFIG`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_config_ref: Option<SamplingConfigRef>,
}

/// A ConfigMap key holding the trace sampling configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SamplingConfigRef {
    /// Name of the ConfigMap, in the namespace of the resource.
    pub name: String,

    /// Key of the ConfigMap's data holding the file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("default" = "sampling-config.yaml"))]
    pub key: String,
}
