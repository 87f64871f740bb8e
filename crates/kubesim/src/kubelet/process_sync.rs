//! The kubelet's side of the process runtimes (crate::process_runtime): containers whose image
//! has a runtime run as real processes when [`KubeletConfig::processes`] is set. A running pod's
//! containers get a supervisor once the pod has its address; their views become the
//! `containerStatuses` entries ([`process_container_status`], pure) instead of the simulated
//! ones; a deleted pod's processes get SIGTERM at once and SIGKILL when the grace period ends;
//! a pod that is gone (or a kubelet that stops) drops its supervisors, which kills the
//! processes.
//!
//! Names in a process's configuration resolve through kubesim's DNS (crate::dns), and the pod's
//! own `<hostname>.<subdomain>.<ns>.svc` name to its own address even before the status that
//! publishes it is written.
//!
//! [`KubeletConfig::processes`]: super::KubeletConfig::processes

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::container_status::{container_id, image_id, normalize_image};
use super::object_fields::{name, namespace, str_at, uid};
use super::pod_lifecycle::pod_ref;
use super::runtime::Runtime;
use crate::process_runtime::supervisor::{
    ContainerSetup, ContainerSupervisor, ContainerView, PrepareError, ProcessState, Terminated,
};
use crate::process_runtime::{
    ProcessRuntimeConfig, RuntimeKind, container_probes, pod_dir, prepare_launch,
};
use crate::store::ObjectKey;

/// The supervised containers of the kubelet, by pod uid then container name.
#[derive(Debug, Default)]
pub(super) struct ProcessHost {
    pub(super) pods: BTreeMap<String, BTreeMap<String, ContainerSupervisor>>,
}

fn terminated_json(terminated: &Terminated, container_id: &str) -> Value {
    json!({"exitCode": terminated.exit_code, "reason": terminated.reason,
           "startedAt": terminated.started_at, "finishedAt": terminated.finished_at,
           "containerID": container_id})
}

/// The `containerStatuses` entry of a process-backed container.
pub fn process_container_status(spec: &Value, pod_uid: &str, view: &ContainerView) -> Value {
    let container = str_at(spec, "/name");
    let image = str_at(spec, "/image");
    let id = container_id(pod_uid, container, view.restart_count);
    let (state, started, ready) = match &view.state {
        ProcessState::Waiting { reason, message } => {
            let mut waiting = json!({"reason": reason});
            if !message.is_empty() {
                waiting["message"] = json!(message);
            }
            (json!({"waiting": waiting}), false, false)
        }
        ProcessState::Running {
            started_at,
            started,
            ready,
        } => (
            json!({"running": {"startedAt": started_at}}),
            *started,
            *ready,
        ),
        ProcessState::Terminated(terminated) => (
            json!({"terminated": terminated_json(terminated, &id)}),
            false,
            false,
        ),
    };
    let last_state = match &view.last_terminated {
        Some(terminated) => {
            let previous = container_id(pod_uid, container, view.restart_count - 1);
            json!({"terminated": terminated_json(terminated, &previous)})
        }
        None => json!({}),
    };
    let mut status = json!({
        "name": container,
        "state": state,
        "lastState": last_state,
        "ready": ready,
        "restartCount": view.restart_count,
        "image": normalize_image(image),
        "imageID": image_id(image),
        "started": started,
    });
    if !matches!(view.state, ProcessState::Waiting { .. }) {
        status["containerID"] = json!(id);
    }
    status
}

/// The pod's own DNS names (`<hostname>.<subdomain>.<ns>.svc[.cluster.local]`).
fn own_names(pod: &Value) -> Vec<String> {
    let hostname = match str_at(pod, "/spec/hostname") {
        "" => name(pod),
        h => h,
    };
    let subdomain = str_at(pod, "/spec/subdomain");
    if subdomain.is_empty() {
        return vec![];
    }
    let base = format!("{hostname}.{subdomain}.{}.svc", namespace(pod));
    vec![format!("{base}.{}", crate::dns::CLUSTER_DOMAIN), base]
}

impl Runtime {
    /// The statuses of the pod's process-backed containers (starting their supervisors on first
    /// sight); empty when process runtimes are off or the pod has none.
    pub(super) fn process_statuses(
        &mut self,
        pod: &Value,
        pod_ip: &str,
    ) -> BTreeMap<String, Value> {
        let Some(config) = self.config.processes.clone() else {
            return BTreeMap::new();
        };
        let Ok(ip) = pod_ip.parse::<IpAddr>() else {
            return BTreeMap::new();
        };
        let pod_uid = uid(pod).to_string();
        let containers: Vec<Value> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut statuses = BTreeMap::new();
        for container in containers {
            let Some(kind) = RuntimeKind::for_image(str_at(&container, "/image")) else {
                continue;
            };
            let container_name = str_at(&container, "/name").to_string();
            let known = self
                .processes
                .pods
                .get(&pod_uid)
                .is_some_and(|p| p.contains_key(&container_name));
            if !known {
                let setup = self.container_setup(kind, &config, pod, &container, ip);
                self.processes
                    .pods
                    .entry(pod_uid.clone())
                    .or_default()
                    .insert(container_name.clone(), ContainerSupervisor::start(setup));
            }
            if let Some(supervisor) = self
                .processes
                .pods
                .get(&pod_uid)
                .and_then(|p| p.get(&container_name))
            {
                statuses.insert(
                    container_name,
                    process_container_status(&container, &pod_uid, &supervisor.view()),
                );
            }
        }
        statuses
    }

    fn container_setup(
        &self,
        kind: RuntimeKind,
        config: &ProcessRuntimeConfig,
        pod: &Value,
        container: &Value,
        ip: IpAddr,
    ) -> ContainerSetup {
        let container_name = str_at(container, "/name").to_string();
        let root: PathBuf = self.process_root.clone();
        let dir = pod_dir(&root, uid(pod))
            .join("containers")
            .join(&container_name);
        let notify = {
            let events = self.process_events.clone();
            let key = ObjectKey::of(pod);
            Arc::new(move || {
                let _ = events.send(key.clone());
            })
        };
        let (probes, probe_error) = match container_probes(kind, container) {
            Ok(probes) => (probes, None),
            Err(error) => ([None, None, None], Some(error.to_string())),
        };
        let [startup, liveness, readiness] = probes;
        let cluster = self.cluster.clone();
        let own = own_names(pod);
        let (pod_json, container_json, config) = (pod.clone(), container.clone(), config.clone());
        let prepare = move || {
            if let Some(error) = &probe_error {
                return Err(PrepareError::Config(error.clone()));
            }
            let resolve = |host: &str| {
                let host = host.trim_end_matches('.').to_ascii_lowercase();
                if own.contains(&host) {
                    return Some(ip);
                }
                crate::dns::resolve(&cluster, &host)
                    .ok()
                    .and_then(|ips| ips.first().copied())
            };
            prepare_launch(
                kind,
                &config,
                &root,
                &pod_json,
                &container_json,
                ip,
                &resolve,
            )
        };
        ContainerSetup {
            container: container_name,
            pod_ref: pod_ref(pod),
            pod_ip: ip,
            restart_policy: match str_at(pod, "/spec/restartPolicy") {
                "" => "Always".to_string(),
                policy => policy.to_string(),
            },
            startup,
            liveness,
            readiness,
            dir,
            time_scale: self.config.time_scale,
            prepare: Box::new(prepare),
            notify,
        }
    }

    /// A deleted pod: SIGTERM its processes now, SIGKILL when `grace` ends.
    pub(super) fn stop_processes(&mut self, pod_uid: &str, grace: Duration) {
        if let Some(containers) = self.processes.pods.get_mut(pod_uid) {
            for supervisor in containers.values_mut() {
                supervisor.stop(grace);
            }
        }
    }

    /// A pod that is gone: its processes are killed (dropping a supervisor kills its group).
    pub(super) fn forget_processes(&mut self, pod_uid: &str) {
        self.processes.pods.remove(pod_uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn spec() -> Value {
        json!({"name": "etcd", "image": "gcr.io/etcd-development/etcd:v3.6.7"})
    }

    #[test]
    fn a_crash_looping_process_reports_its_last_exit() {
        let view = ContainerView {
            state: ProcessState::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: "back-off 10s restarting failed container=etcd pod=topo-0_db(u-1)".into(),
            },
            restart_count: 2,
            last_terminated: Some(Terminated {
                exit_code: 1,
                reason: "Error".into(),
                started_at: "2026-11-24T21:00:00Z".into(),
                finished_at: "2026-11-24T21:00:01Z".into(),
            }),
        };
        assert_eq!(
            process_container_status(&spec(), "u-1", &view),
            json!({
                "name": "etcd",
                "state": {"waiting": {"reason": "CrashLoopBackOff",
                    "message": "back-off 10s restarting failed container=etcd pod=topo-0_db(u-1)"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-11-24T21:00:00Z", "finishedAt": "2026-11-24T21:00:01Z",
                    "containerID": container_id("u-1", "etcd", 1)}},
                "ready": false,
                "restartCount": 2,
                "image": "gcr.io/etcd-development/etcd:v3.6.7",
                "imageID": image_id("gcr.io/etcd-development/etcd:v3.6.7"),
                "started": false,
            })
        );
    }

    #[test]
    fn a_ready_process_is_running_started_and_ready() {
        let view = ContainerView {
            state: ProcessState::Running {
                started_at: "2026-11-24T21:00:00Z".into(),
                started: true,
                ready: true,
            },
            restart_count: 0,
            last_terminated: None,
        };
        let status = process_container_status(&spec(), "u-1", &view);
        assert_eq!(
            status["state"],
            json!({"running": {"startedAt": "2026-11-24T21:00:00Z"}})
        );
        assert_eq!(
            (
                status["ready"].clone(),
                status["started"].clone(),
                status["lastState"].clone()
            ),
            (json!(true), json!(true), json!({}))
        );
        assert_eq!(status["containerID"], json!(container_id("u-1", "etcd", 0)));
    }

    #[test]
    fn a_pod_answers_to_its_own_hostname_under_its_subdomain() {
        let pod = json!({"metadata": {"name": "topo-0", "namespace": "db"},
                         "spec": {"subdomain": "topo-headless"}});
        assert_eq!(
            own_names(&pod),
            vec![
                "topo-0.topo-headless.db.svc.cluster.local".to_string(),
                "topo-0.topo-headless.db.svc".to_string()
            ]
        );
        assert_eq!(
            own_names(&json!({"metadata": {"name": "x"}})),
            Vec::<String>::new()
        );
    }
}
