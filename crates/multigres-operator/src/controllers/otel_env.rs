//! OpenTelemetry settings of the data-plane containers (spec-controllers.md §12.5, Go
//! `BuildOTELEnvVars` / `BuildOTELSamplingVolume`): the `OTEL_*` environment and the sampling
//! configuration volume of multiadmin, multigateway, multiorch, multipooler and pgctld.
//!
//! Every unset field of an `ObservabilityConfig` falls back to the operator's own variable of the
//! same name. Those values feed the pool pod spec hash, so the order and the rules here are Go's
//! exactly. Pure: the operator's environment is an argument ([`OperatorOtelEnv`], read once by the
//! caller); this module must never read the process environment itself.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, EnvVar, Volume, VolumeMount};
use multigres_api::defaults::SAMPLING_CONFIG_KEY;
use multigres_api::v1alpha1::ObservabilityConfig;
use serde::Serialize;

/// Name of the volume holding the sampling configuration ConfigMap (Go `OTELSamplingVolumeName`).
pub const SAMPLING_VOLUME_NAME: &str = "otel-sampling-config";

/// Where the sampling configuration is mounted (Go `OTELSamplingMountPath`).
pub const SAMPLING_MOUNT_PATH: &str = "/etc/otel";

/// The endpoint value that turns telemetry off whatever else is set.
pub const DISABLED_ENDPOINT: &str = "disabled";

const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
const METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
const LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";
const METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
const METRICS_TEMPORALITY: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
const HISTOGRAM_AGGREGATION: &str = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION";
const TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
const TRACES_SAMPLER_CONFIG: &str = "OTEL_TRACES_SAMPLER_CONFIG";

/// The operator environment variables that data-plane containers inherit, in the order Go adds
/// them.
pub const INHERITED_VARIABLES: [&str; 9] = [
    ENDPOINT,
    PROTOCOL,
    TRACES_EXPORTER,
    METRICS_EXPORTER,
    LOGS_EXPORTER,
    METRIC_EXPORT_INTERVAL,
    METRICS_TEMPORALITY,
    HISTOGRAM_AGGREGATION,
    TRACES_SAMPLER,
];

/// The operator's own values of [`INHERITED_VARIABLES`], captured once by whoever may read the
/// environment (the `run` command), and empty for `render`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorOtelEnv {
    values: BTreeMap<&'static str, String>,
}

impl OperatorOtelEnv {
    /// Keeps the non-empty values of the inherited variables among `vars` (e.g.
    /// `std::env::vars()`); Go's `os.Getenv` treats an empty variable as unset.
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut values = BTreeMap::new();
        for (name, value) in vars {
            let value = value.into();
            if let Some(known) = INHERITED_VARIABLES
                .iter()
                .find(|known| **known == name.as_ref())
                && !value.is_empty()
            {
                values.insert(*known, value);
            }
        }
        Self { values }
    }

    fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }
}

/// Go `BuildOTELEnvVars`: the `OTEL_*` variables of a data-plane container.
///
/// The endpoint is the config's, else the operator's; none, or `disabled`, means no variable at
/// all. Then each other variable, in [`INHERITED_VARIABLES`] order, when the config or the
/// operator gives it a value; then `OTEL_TRACES_SAMPLER_CONFIG` when a sampling ConfigMap is set.
pub fn otel_env_vars(
    config: Option<&ObservabilityConfig>,
    operator: &OperatorOtelEnv,
) -> Vec<EnvVar> {
    let own = |field: fn(&ObservabilityConfig) -> String| config.map(field).unwrap_or_default();
    let endpoint = non_empty_or(own(|c| c.otlp_endpoint.clone()), operator.get(ENDPOINT));
    if endpoint.is_empty() || endpoint == DISABLED_ENDPOINT {
        return Vec::new();
    }
    let configured: [(&str, String); 8] = [
        (PROTOCOL, own(|c| wire_value(&c.otlp_protocol))),
        (TRACES_EXPORTER, own(|c| wire_value(&c.traces_exporter))),
        (METRICS_EXPORTER, own(|c| wire_value(&c.metrics_exporter))),
        (LOGS_EXPORTER, own(|c| wire_value(&c.logs_exporter))),
        (
            METRIC_EXPORT_INTERVAL,
            own(|c| c.metric_export_interval.clone()),
        ),
        (
            METRICS_TEMPORALITY,
            own(|c| wire_value(&c.metrics_temporality)),
        ),
        (
            HISTOGRAM_AGGREGATION,
            own(|c| wire_value(&c.histogram_aggregation)),
        ),
        (TRACES_SAMPLER, own(|c| c.traces_sampler.clone())),
    ];
    let mut vars = vec![env_var(ENDPOINT, endpoint)];
    for (name, value) in configured {
        let value = non_empty_or(value, operator.get(name));
        if !value.is_empty() {
            vars.push(env_var(name, value));
        }
    }
    if let Some(sampling) = config.and_then(|c| c.sampling_config_ref.as_ref()) {
        let key = if sampling.key.is_empty() {
            SAMPLING_CONFIG_KEY
        } else {
            sampling.key.as_str()
        };
        // Go `filepath.Join(mountPath, key)`; a ConfigMap key holds no `/`, so a plain join is
        // the same path.
        vars.push(env_var(
            TRACES_SAMPLER_CONFIG,
            format!("{SAMPLING_MOUNT_PATH}/{key}"),
        ));
    }
    vars
}

/// The sampling configuration ConfigMap as a pod volume and its read-only mount.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingVolume {
    pub volume: Volume,
    pub mount: VolumeMount,
}

/// Go `BuildOTELSamplingVolume`: the volume and mount of `samplingConfigRef`, whether or not
/// telemetry is enabled; `None` without a sampling ConfigMap.
pub fn otel_sampling_volume(config: Option<&ObservabilityConfig>) -> Option<SamplingVolume> {
    let sampling = config?.sampling_config_ref.as_ref()?;
    Some(SamplingVolume {
        volume: Volume {
            name: SAMPLING_VOLUME_NAME.to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: sampling.name.clone(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        mount: VolumeMount {
            name: SAMPLING_VOLUME_NAME.to_owned(),
            mount_path: SAMPLING_MOUNT_PATH.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
    })
}

fn env_var(name: &str, value: String) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value),
        value_from: None,
    }
}

fn non_empty_or(value: String, fallback: &str) -> String {
    if value.is_empty() {
        fallback.to_owned()
    } else {
        value
    }
}

/// The CRD spelling of an optional enum field (`""` when unset), as the Go string field holds it.
fn wire_value<T: Serialize>(value: &Option<T>) -> String {
    match value.as_ref().map(serde_json::to_value) {
        Some(Ok(serde_json::Value::String(text))) => text,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use multigres_api::v1alpha1::{
        HistogramAggregation, MetricsTemporality, OtlpProtocol, SamplingConfigRef,
        TelemetryExporter,
    };
    use pretty_assertions::assert_eq;

    fn pairs(vars: &[EnvVar]) -> Vec<(String, String)> {
        vars.iter()
            .map(|var| (var.name.clone(), var.value.clone().unwrap_or_default()))
            .collect()
    }

    fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn nothing_without_an_endpoint_anywhere() {
        let operator = OperatorOtelEnv::from_vars([(PROTOCOL, "grpc")]);
        let config = ObservabilityConfig {
            traces_sampler: "always_on".into(),
            ..ObservabilityConfig::default()
        };
        assert_eq!(
            otel_env_vars(Some(&config), &operator),
            Vec::<EnvVar>::new()
        );
        assert_eq!(otel_env_vars(None, &operator), Vec::<EnvVar>::new());
    }

    #[test]
    fn every_field_in_go_order_with_the_sampling_file_last() {
        let config = ObservabilityConfig {
            otlp_endpoint: "http://collector.observability:4318".into(),
            otlp_protocol: Some(OtlpProtocol::HttpProtobuf),
            traces_exporter: Some(TelemetryExporter::Otlp),
            metrics_exporter: Some(TelemetryExporter::Console),
            logs_exporter: Some(TelemetryExporter::None),
            metric_export_interval: "15000".into(),
            metrics_temporality: Some(MetricsTemporality::Delta),
            histogram_aggregation: Some(HistogramAggregation::Base2ExponentialBucketHistogram),
            traces_sampler: "multigres_custom".into(),
            sampling_config_ref: Some(SamplingConfigRef {
                name: "trace-sampling".into(),
                key: "rules.yaml".into(),
            }),
        };
        assert_eq!(
            pairs(&otel_env_vars(Some(&config), &OperatorOtelEnv::default())),
            owned(&[
                (ENDPOINT, "http://collector.observability:4318"),
                (PROTOCOL, "http/protobuf"),
                (TRACES_EXPORTER, "otlp"),
                (METRICS_EXPORTER, "console"),
                (LOGS_EXPORTER, "none"),
                (METRIC_EXPORT_INTERVAL, "15000"),
                (METRICS_TEMPORALITY, "delta"),
                (HISTOGRAM_AGGREGATION, "base2_exponential_bucket_histogram"),
                (TRACES_SAMPLER, "multigres_custom"),
                (TRACES_SAMPLER_CONFIG, "/etc/otel/rules.yaml"),
            ])
        );
    }

    #[test]
    fn unset_fields_fall_back_to_the_operator_environment() {
        let operator = OperatorOtelEnv::from_vars([
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://operator-collector:4317",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
            ("OTEL_LOGS_EXPORTER", ""),
            ("HOME", "/root"),
        ]);
        let config = ObservabilityConfig {
            traces_sampler: "always_off".into(),
            ..ObservabilityConfig::default()
        };
        assert_eq!(
            pairs(&otel_env_vars(Some(&config), &operator)),
            owned(&[
                (ENDPOINT, "http://operator-collector:4317"),
                (PROTOCOL, "grpc"),
                (TRACES_SAMPLER, "always_off"),
            ])
        );
        assert_eq!(
            pairs(&otel_env_vars(None, &operator)),
            owned(&[
                (ENDPOINT, "http://operator-collector:4317"),
                (PROTOCOL, "grpc"),
                (TRACES_SAMPLER, "parentbased_always_on"),
            ])
        );
    }

    #[test]
    fn disabled_endpoint_suppresses_everything_even_the_operators() {
        let operator = OperatorOtelEnv::from_vars([(ENDPOINT, "http://operator-collector:4317")]);
        let config = ObservabilityConfig {
            otlp_endpoint: DISABLED_ENDPOINT.into(),
            traces_sampler: "always_on".into(),
            sampling_config_ref: Some(SamplingConfigRef {
                name: "trace-sampling".into(),
                key: String::new(),
            }),
            ..ObservabilityConfig::default()
        };
        assert_eq!(
            otel_env_vars(Some(&config), &operator),
            Vec::<EnvVar>::new()
        );
        let operator_disabled = OperatorOtelEnv::from_vars([(ENDPOINT, DISABLED_ENDPOINT)]);
        assert_eq!(
            otel_env_vars(None, &operator_disabled),
            Vec::<EnvVar>::new()
        );
    }

    #[test]
    fn sampling_volume_uses_the_configmap_and_the_default_key() {
        let config = ObservabilityConfig {
            otlp_endpoint: "http://collector:4318".into(),
            sampling_config_ref: Some(SamplingConfigRef {
                name: "trace-sampling".into(),
                key: String::new(),
            }),
            ..ObservabilityConfig::default()
        };
        assert_eq!(
            pairs(&otel_env_vars(Some(&config), &OperatorOtelEnv::default())),
            owned(&[
                (ENDPOINT, "http://collector:4318"),
                (TRACES_SAMPLER_CONFIG, "/etc/otel/sampling-config.yaml"),
            ])
        );
        let sampling = otel_sampling_volume(Some(&config)).expect("a sampling ConfigMap is set");
        assert_eq!(
            serde_json::to_value(&sampling.volume).expect("a Volume serializes"),
            serde_json::json!({"name": "otel-sampling-config", "configMap": {"name": "trace-sampling"}})
        );
        assert_eq!(
            serde_json::to_value(&sampling.mount).expect("a VolumeMount serializes"),
            serde_json::json!({"name": "otel-sampling-config", "mountPath": "/etc/otel", "readOnly": true})
        );
        assert_eq!(otel_sampling_volume(None), None);
        assert_eq!(
            otel_sampling_volume(Some(&ObservabilityConfig::default())),
            None
        );
    }
}
