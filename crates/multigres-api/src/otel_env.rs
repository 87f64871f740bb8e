//! OpenTelemetry settings of the data-plane containers (spec-api.md §2.14, spec-controllers.md
//! §12.5): Go's `BuildOTELEnvVars` and its sampling-config volume helpers.
//!
//! Used by every builder of a container that exports telemetry (multiadmin, multigateway,
//! multiorch, multipooler, pgctld; never multiadmin-web, etcd or the postgres exporter). The env
//! vars feed the pool pod spec hash (§7.5), so their names, values and order are Go's exactly.
//!
//! Pure: the operator's own `OTEL_*` environment is an argument ([`OperatorOtelEnv`]), captured
//! by the caller at reconcile time. This module must not read the process environment itself.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, EnvVar, Volume, VolumeMount};

use crate::defaults::SAMPLING_CONFIG_KEY;
use crate::v1alpha1::{
    HistogramAggregation, MetricsTemporality, ObservabilityConfig, OtlpProtocol, TelemetryExporter,
};

/// Go `OTELSamplingVolumeName`: the pod volume holding the sampling configuration ConfigMap.
pub const SAMPLING_VOLUME_NAME: &str = "otel-sampling-config";
/// Go `OTELSamplingMountPath`: where that volume is mounted, read-only.
pub const SAMPLING_MOUNT_PATH: &str = "/etc/otel";
/// The `otlpEndpoint` value that turns telemetry off whatever the operator's environment says.
pub const ENDPOINT_DISABLED: &str = "disabled";

/// `OTEL_EXPORTER_OTLP_ENDPOINT`.
pub const ENV_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_PROTOCOL`.
pub const ENV_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// `OTEL_TRACES_EXPORTER`.
pub const ENV_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// `OTEL_METRICS_EXPORTER`.
pub const ENV_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
/// `OTEL_LOGS_EXPORTER`.
pub const ENV_LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";
/// `OTEL_METRIC_EXPORT_INTERVAL`.
pub const ENV_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`.
pub const ENV_METRICS_TEMPORALITY: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
/// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`.
pub const ENV_HISTOGRAM_AGGREGATION: &str =
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION";
/// `OTEL_TRACES_SAMPLER`.
pub const ENV_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// `OTEL_TRACES_SAMPLER_CONFIG`: the path of the mounted sampling configuration file.
pub const ENV_TRACES_SAMPLER_CONFIG: &str = "OTEL_TRACES_SAMPLER_CONFIG";

/// The operator variables the data-plane falls back to, in the order Go emits them after the
/// endpoint.
const FALLBACK_VARIABLES: [&str; 8] = [
    ENV_PROTOCOL,
    ENV_TRACES_EXPORTER,
    ENV_METRICS_EXPORTER,
    ENV_LOGS_EXPORTER,
    ENV_METRIC_EXPORT_INTERVAL,
    ENV_METRICS_TEMPORALITY,
    ENV_HISTOGRAM_AGGREGATION,
    ENV_TRACES_SAMPLER,
];

/// The operator process's own `OTEL_*` variables, the fallback of every unset
/// `ObservabilityConfig` field. Unset and empty variables are the same (Go `os.Getenv`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorOtelEnv {
    vars: BTreeMap<String, String>,
}

impl OperatorOtelEnv {
    /// Keeps the variables `BuildOTELEnvVars` reads from `vars` (e.g. `std::env::vars()`);
    /// everything else is dropped so no unrelated secret of the environment is held.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .filter(|(name, _)| name == ENV_ENDPOINT || FALLBACK_VARIABLES.contains(&name.as_str()))
            .collect();
        Self { vars }
    }

    fn get(&self, name: &str) -> &str {
        self.vars.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// Go `BuildOTELEnvVars(cfg)`: the `OTEL_*` env of a data-plane container.
///
/// Empty when neither the config nor the operator names an endpoint, or when the endpoint is
/// `disabled`. Otherwise the endpoint first, then each other setting that the config or the
/// operator's environment gives a non-empty value, then the sampler config path when a
/// `samplingConfigRef` is set.
pub fn otel_env_vars(
    config: Option<&ObservabilityConfig>,
    operator: &OperatorOtelEnv,
) -> Vec<EnvVar> {
    let endpoint = config
        .map(|config| config.otlp_endpoint.as_str())
        .filter(|endpoint| !endpoint.is_empty())
        .unwrap_or_else(|| operator.get(ENV_ENDPOINT));
    if endpoint.is_empty() || endpoint == ENDPOINT_DISABLED {
        return Vec::new();
    }
    let mut env = vec![env_var(ENV_ENDPOINT, endpoint)];
    let configured = config.map(configured_values).unwrap_or_default();
    for name in FALLBACK_VARIABLES {
        let value = configured
            .get(name)
            .copied()
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| operator.get(name));
        if !value.is_empty() {
            env.push(env_var(name, value));
        }
    }
    if let Some(reference) = config.and_then(|config| config.sampling_config_ref.as_ref()) {
        let key = if reference.key.is_empty() {
            SAMPLING_CONFIG_KEY
        } else {
            reference.key.as_str()
        };
        env.push(env_var(
            ENV_TRACES_SAMPLER_CONFIG,
            &clean_joined_path(SAMPLING_MOUNT_PATH, key),
        ));
    }
    env
}

/// Go `BuildOTELSamplingVolume`: the ConfigMap volume of `samplingConfigRef`, if set. Independent
/// of the endpoint: the volume is mounted even when telemetry is off.
pub fn otel_sampling_volume(config: Option<&ObservabilityConfig>) -> Option<Volume> {
    let reference = config?.sampling_config_ref.as_ref()?;
    Some(Volume {
        name: SAMPLING_VOLUME_NAME.to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: reference.name.clone(),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    })
}

/// Go `BuildOTELSamplingVolumeMount`: the read-only mount at `/etc/otel`, if `samplingConfigRef`
/// is set.
pub fn otel_sampling_mount(config: Option<&ObservabilityConfig>) -> Option<VolumeMount> {
    config?.sampling_config_ref.as_ref()?;
    Some(VolumeMount {
        name: SAMPLING_VOLUME_NAME.to_owned(),
        mount_path: SAMPLING_MOUNT_PATH.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    })
}

fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        value_from: None,
    }
}

/// The config's own value of each fallback variable (its CRD spelling).
fn configured_values(config: &ObservabilityConfig) -> BTreeMap<&'static str, &str> {
    let ObservabilityConfig {
        otlp_endpoint: _,
        otlp_protocol,
        traces_exporter,
        metrics_exporter,
        logs_exporter,
        metric_export_interval,
        metrics_temporality,
        histogram_aggregation,
        traces_sampler,
        sampling_config_ref: _,
    } = config;
    [
        (ENV_PROTOCOL, otlp_protocol.map(protocol_value)),
        (ENV_TRACES_EXPORTER, traces_exporter.map(exporter_value)),
        (ENV_METRICS_EXPORTER, metrics_exporter.map(exporter_value)),
        (ENV_LOGS_EXPORTER, logs_exporter.map(exporter_value)),
        (
            ENV_METRIC_EXPORT_INTERVAL,
            Some(metric_export_interval.as_str()),
        ),
        (
            ENV_METRICS_TEMPORALITY,
            metrics_temporality.map(temporality_value),
        ),
        (
            ENV_HISTOGRAM_AGGREGATION,
            histogram_aggregation.map(aggregation_value),
        ),
        (ENV_TRACES_SAMPLER, Some(traces_sampler.as_str())),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|value| (name, value)))
    .collect()
}

fn protocol_value(protocol: OtlpProtocol) -> &'static str {
    match protocol {
        OtlpProtocol::HttpProtobuf => "http/protobuf",
        OtlpProtocol::Grpc => "grpc",
    }
}

fn exporter_value(exporter: TelemetryExporter) -> &'static str {
    match exporter {
        TelemetryExporter::Otlp => "otlp",
        TelemetryExporter::None => "none",
        TelemetryExporter::Console => "console",
    }
}

fn temporality_value(temporality: MetricsTemporality) -> &'static str {
    match temporality {
        MetricsTemporality::Cumulative => "cumulative",
        MetricsTemporality::Delta => "delta",
    }
}

fn aggregation_value(aggregation: HistogramAggregation) -> &'static str {
    match aggregation {
        HistogramAggregation::Base2ExponentialBucketHistogram => {
            "base2_exponential_bucket_histogram"
        }
        HistogramAggregation::ExplicitBucketHistogram => "explicit_bucket_histogram",
    }
}

/// Go `filepath.Join(base, name)` for an absolute `base`: the joined path, lexically cleaned
/// (`.` and empty elements dropped, `..` removes the previous element and never climbs above
/// `/`).
fn clean_joined_path(base: &str, name: &str) -> String {
    let mut elements: Vec<&str> = Vec::new();
    for element in base.split('/').chain(name.split('/')) {
        match element {
            "" | "." => {}
            ".." => {
                elements.pop();
            }
            other => elements.push(other),
        }
    }
    format!("/{}", elements.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1alpha1::SamplingConfigRef;
    use pretty_assertions::assert_eq;

    fn pairs(env: &[EnvVar]) -> Vec<(String, String)> {
        env.iter()
            .map(|var| (var.name.clone(), var.value.clone().unwrap_or_default()))
            .collect()
    }

    fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn full_config() -> ObservabilityConfig {
        ObservabilityConfig {
            otlp_endpoint: "http://collector.telemetry:4318".into(),
            otlp_protocol: Some(OtlpProtocol::Grpc),
            traces_exporter: Some(TelemetryExporter::Otlp),
            metrics_exporter: Some(TelemetryExporter::Console),
            logs_exporter: Some(TelemetryExporter::None),
            metric_export_interval: "15000".into(),
            metrics_temporality: Some(MetricsTemporality::Delta),
            histogram_aggregation: Some(HistogramAggregation::Base2ExponentialBucketHistogram),
            traces_sampler: "parentbased_traceidratio".into(),
            sampling_config_ref: Some(SamplingConfigRef {
                name: "sampling-rules".into(),
                key: "rules.yaml".into(),
            }),
        }
    }

    #[test]
    fn no_endpoint_anywhere_means_no_env() {
        let operator = OperatorOtelEnv::from_vars([(ENV_PROTOCOL, "grpc")]);
        assert_eq!(otel_env_vars(None, &operator), Vec::<EnvVar>::new());
        let config = ObservabilityConfig {
            traces_sampler: "always_on".into(),
            ..ObservabilityConfig::default()
        };
        assert_eq!(
            otel_env_vars(Some(&config), &operator),
            Vec::<EnvVar>::new()
        );
    }

    #[test]
    fn disabled_endpoint_wins_over_the_operator_environment() {
        let operator =
            OperatorOtelEnv::from_vars([(ENV_ENDPOINT, "http://operator-collector:4318")]);
        let config = ObservabilityConfig {
            otlp_endpoint: ENDPOINT_DISABLED.into(),
            ..full_config()
        };
        assert_eq!(
            otel_env_vars(Some(&config), &operator),
            Vec::<EnvVar>::new()
        );
    }

    #[test]
    fn every_configured_field_is_emitted_in_go_order() {
        let env = otel_env_vars(Some(&full_config()), &OperatorOtelEnv::default());
        assert_eq!(
            pairs(&env),
            owned(&[
                (ENV_ENDPOINT, "http://collector.telemetry:4318"),
                (ENV_PROTOCOL, "grpc"),
                (ENV_TRACES_EXPORTER, "otlp"),
                (ENV_METRICS_EXPORTER, "console"),
                (ENV_LOGS_EXPORTER, "none"),
                (ENV_METRIC_EXPORT_INTERVAL, "15000"),
                (ENV_METRICS_TEMPORALITY, "delta"),
                (
                    ENV_HISTOGRAM_AGGREGATION,
                    "base2_exponential_bucket_histogram"
                ),
                (ENV_TRACES_SAMPLER, "parentbased_traceidratio"),
                (ENV_TRACES_SAMPLER_CONFIG, "/etc/otel/rules.yaml"),
            ])
        );
    }

    #[test]
    fn unset_fields_fall_back_to_the_operator_environment_one_by_one() {
        let operator = OperatorOtelEnv::from_vars([
            (ENV_ENDPOINT, "http://operator-collector:4317"),
            (ENV_PROTOCOL, "http/protobuf"),
            (ENV_LOGS_EXPORTER, "otlp"),
            (ENV_METRICS_TEMPORALITY, ""),
            (ENV_HISTOGRAM_AGGREGATION, "explicit_bucket_histogram"),
            ("OTEL_SERVICE_NAME", "not-forwarded"),
            ("HOME", "/root"),
        ]);
        let config = ObservabilityConfig {
            otlp_protocol: Some(OtlpProtocol::Grpc),
            traces_sampler: "always_on".into(),
            ..ObservabilityConfig::default()
        };
        assert_eq!(
            pairs(&otel_env_vars(Some(&config), &operator)),
            owned(&[
                (ENV_ENDPOINT, "http://operator-collector:4317"),
                (ENV_PROTOCOL, "grpc"),
                (ENV_LOGS_EXPORTER, "otlp"),
                (ENV_HISTOGRAM_AGGREGATION, "explicit_bucket_histogram"),
                (ENV_TRACES_SAMPLER, "always_on"),
            ])
        );
        // Without any config the operator's variables pass through unchanged.
        assert_eq!(
            pairs(&otel_env_vars(None, &operator)),
            owned(&[
                (ENV_ENDPOINT, "http://operator-collector:4317"),
                (ENV_PROTOCOL, "http/protobuf"),
                (ENV_LOGS_EXPORTER, "otlp"),
                (ENV_HISTOGRAM_AGGREGATION, "explicit_bucket_histogram"),
            ])
        );
    }

    #[test]
    fn sampler_config_path_defaults_its_key_and_is_cleaned_like_filepath_join() {
        let operator = OperatorOtelEnv::from_vars([(ENV_ENDPOINT, "http://c:4318")]);
        let with_key = |key: &str| ObservabilityConfig {
            sampling_config_ref: Some(SamplingConfigRef {
                name: "rules".into(),
                key: key.into(),
            }),
            ..ObservabilityConfig::default()
        };
        let sampler_path = |key: &str| {
            otel_env_vars(Some(&with_key(key)), &operator)
                .into_iter()
                .find(|var| var.name == ENV_TRACES_SAMPLER_CONFIG)
                .and_then(|var| var.value)
        };
        assert_eq!(
            sampler_path("").as_deref(),
            Some("/etc/otel/sampling-config.yaml")
        );
        assert_eq!(
            sampler_path("a//./b.yaml").as_deref(),
            Some("/etc/otel/a/b.yaml")
        );
        assert_eq!(sampler_path("../../../x").as_deref(), Some("/x"));
    }

    #[test]
    fn sampling_volume_and_mount_follow_the_reference_not_the_endpoint() {
        let config = ObservabilityConfig {
            otlp_endpoint: ENDPOINT_DISABLED.into(),
            sampling_config_ref: Some(SamplingConfigRef {
                name: "sampling-rules".into(),
                key: String::new(),
            }),
            ..ObservabilityConfig::default()
        };
        assert_eq!(
            serde_json::to_value(otel_sampling_volume(Some(&config))).expect("volumes serialize"),
            serde_json::json!({"name": "otel-sampling-config", "configMap": {"name": "sampling-rules"}})
        );
        assert_eq!(
            serde_json::to_value(otel_sampling_mount(Some(&config))).expect("mounts serialize"),
            serde_json::json!({"name": "otel-sampling-config", "mountPath": "/etc/otel", "readOnly": true})
        );
        assert_eq!(otel_sampling_volume(None), None);
        assert_eq!(
            otel_sampling_mount(Some(&ObservabilityConfig::default())),
            None
        );
    }
}
