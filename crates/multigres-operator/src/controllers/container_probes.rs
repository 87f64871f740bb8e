//! The HTTP probe trio every Multigres container shares (spec-controllers.md §2.5, §2.6, §4.2, §5,
//! §7.3.5, §7.4): a startup probe on the readiness path (period 5 s, 30 failures allowed, so a
//! slow start gets 150 s), a liveness probe (period 10 s) and a readiness probe (period 5 s).
//!
//! Pure value constructors; the paths and ports are the caller's, taken from the spec and
//! `multigres_api::defaults`. This module must not pick ports or paths itself.

use k8s_openapi::api::core::v1::{Container, HTTPGetAction, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Startup and readiness probe period, seconds.
pub const READY_PERIOD_SECONDS: i32 = 5;
/// Liveness probe period, seconds.
pub const LIVE_PERIOD_SECONDS: i32 = 10;
/// Failures the startup probe tolerates before the container is restarted.
pub const STARTUP_FAILURE_THRESHOLD: i32 = 30;

/// The three probes of one container, all HTTP GET on one port.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpProbes {
    pub startup: Probe,
    pub liveness: Probe,
    pub readiness: Probe,
}

impl HttpProbes {
    /// Startup and readiness on `ready_path`, liveness on `live_path`, all on `port`.
    pub fn new(ready_path: &str, live_path: &str, port: i32) -> Self {
        Self {
            startup: http_get_probe(
                ready_path,
                port,
                READY_PERIOD_SECONDS,
                Some(STARTUP_FAILURE_THRESHOLD),
            ),
            liveness: http_get_probe(live_path, port, LIVE_PERIOD_SECONDS, None),
            readiness: http_get_probe(ready_path, port, READY_PERIOD_SECONDS, None),
        }
    }

    /// Sets the three probes on `container`.
    pub fn apply_to(self, container: &mut Container) {
        container.startup_probe = Some(self.startup);
        container.liveness_probe = Some(self.liveness);
        container.readiness_probe = Some(self.readiness);
    }
}

/// An HTTP GET probe on a numeric port, with only the fields Go sets (the API server defaults the
/// timeout, success threshold and, when `None`, the failure threshold).
pub fn http_get_probe(
    path: &str,
    port: i32,
    period_seconds: i32,
    failure_threshold: Option<i32>,
) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::Int(port),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period_seconds),
        failure_threshold,
        ..Probe::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn the_trio_serializes_as_go_writes_it() {
        let mut container = Container::default();
        HttpProbes::new("/ready", "/live", 15300).apply_to(&mut container);
        let value = serde_json::to_value(&container).expect("a Container serializes");
        assert_eq!(
            value,
            json!({
                "name": "",
                "startupProbe": {"httpGet": {"path": "/ready", "port": 15300}, "periodSeconds": 5, "failureThreshold": 30},
                "livenessProbe": {"httpGet": {"path": "/live", "port": 15300}, "periodSeconds": 10},
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 15300}, "periodSeconds": 5},
            })
        );
    }
}
