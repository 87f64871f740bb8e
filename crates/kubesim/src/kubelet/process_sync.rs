//! The kubelet's side of the process runtimes (crate::process_runtime): containers whose image
//! has a runtime run as real processes when [`KubeletConfig::processes`] is set. A running pod's
//! containers get a supervisor once the pod has its address; native sidecars (init containers
//! with `restartPolicy: Always`, such as the pool pods' multipooler) start first, and the main
//! containers once every sidecar has started, as a kubelet orders them. The views become the
//! `containerStatuses` / `initContainerStatuses` entries ([`process_container_status`], pure)
//! instead of the simulated ones; a deleted pod's processes get SIGTERM at once and SIGKILL
//! when the grace period ends; a pod that is gone (or a kubelet that stops) drops its
//! supervisors, which kills the processes.
//!
//! A pod whose multigres containers lack a binary or a host tool
//! ([`HostTools::missing_for`]) stays simulated, whole, with a Warning Event naming what is
//! missing and the fix: never half started. Secrets and ConfigMaps are read from the cluster
//! each time a container is prepared, so a container waiting for one starts once it exists.
//!
//! Names in a process's configuration resolve through kubesim's DNS (crate::dns), and the pod's
//! own `<hostname>.<subdomain>.<ns>.svc` name to its own address even before the status that
//! publishes it is written.
//!
//! [`KubeletConfig::processes`]: super::KubeletConfig::processes

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::container_status::{container_id, image_id, normalize_image};
use super::object_fields::{name, namespace, str_at, uid};
use super::pod_lifecycle::pod_ref;
use super::runtime::Runtime;
use crate::api::{Cluster, Subresource, WriteOptions};
use crate::process_runtime::container_env::{EnvSources, config_map_data, secret_data};
use crate::process_runtime::host::HostTools;
use crate::process_runtime::supervisor::{
    ContainerSetup, ContainerSupervisor, ContainerView, PrepareError, ProcessState, Terminated,
};
use crate::process_runtime::{
    LaunchInputs, ProcessRuntimeConfig, RuntimeKind, container_probes, pod_dir, prepare_launch,
};
use crate::store::ObjectKey;

/// The Event reason of a pod kept simulated because this machine lacks what it needs.
pub const SIMULATED_REASON: &str = "ProcessRuntimeUnavailable";

/// The supervised containers of the kubelet, by pod uid then container name.
#[derive(Debug, Default)]
pub(super) struct ProcessHost {
    pub(super) pods: BTreeMap<String, BTreeMap<String, ContainerSupervisor>>,
    /// What this machine has (detected when the kubelet starts with process runtimes on).
    pub(super) tools: Option<Arc<HostTools>>,
    /// Pods (by uid) kept simulated, whose Event is written.
    pub(super) simulated: BTreeSet<String>,
}

/// The containers of a pod that run as processes, in start order: native sidecars first.
/// Each with whether it is a sidecar.
fn process_containers(pod: &Value) -> Vec<(Value, RuntimeKind, bool)> {
    let list = |pointer: &str| {
        pod.pointer(pointer)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let sidecars = list("/spec/initContainers")
        .into_iter()
        .filter(|c| str_at(c, "/restartPolicy") == "Always")
        .map(|c| (c, true));
    sidecars
        .chain(list("/spec/containers").into_iter().map(|c| (c, false)))
        .filter_map(|(c, sidecar)| {
            let kind = RuntimeKind::for_image(str_at(&c, "/image"))?;
            Some((c, kind, sidecar))
        })
        .collect()
}

/// Why a pod's multigres containers cannot run here (empty: they can), one line per container.
pub fn missing_for_pod(pod: &Value, tools: &HostTools) -> Vec<String> {
    process_containers(pod)
        .iter()
        .filter(|(_, kind, _)| matches!(kind, RuntimeKind::Multigres(_)))
        .filter_map(|(container, kind, _)| {
            let name = str_at(container, "/name");
            let Some(program) = kind.program(container) else {
                return Some(format!(
                    "container {name}: its command/args name no multigres program"
                ));
            };
            let missing = tools.missing_for(&program);
            (!missing.is_empty()).then(|| {
                let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
                format!("container {name} ({program}) needs {}", list.join("; "))
            })
        })
        .collect()
}

/// The Event saying a pod stays simulated.
fn simulated_event(pod: &Value, reasons: &[String], now: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{}", name(pod), uid(pod)), "namespace": namespace(pod)},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": namespace(pod),
                           "name": name(pod), "uid": uid(pod)},
        "reason": SIMULATED_REASON,
        "message": format!("kubesim keeps this pod's multigres containers simulated: {}",
                           reasons.join(". ")),
        "type": "Warning",
        "source": {"component": "kubelet", "host": str_at(pod, "/spec/nodeName")},
        "reportingComponent": "kubelet",
        "reportingInstance": str_at(pod, "/spec/nodeName"),
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    })
}

/// Reads the Secret or ConfigMap `name` of `namespace` from the cluster, as string data.
fn read_data(
    cluster: &Cluster,
    plural: &str,
    namespace: &str,
    name: &str,
) -> Option<BTreeMap<String, String>> {
    let def = cluster.resource("", "v1", plural).ok()?;
    let object = cluster
        .get(&def, Some(namespace), name, Subresource::Main)
        .ok()?;
    Some(if plural == "secrets" {
        secret_data(&object)
    } else {
        config_map_data(&object)
    })
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
    /// The statuses of the pod's process-backed containers and native sidecars (starting
    /// their supervisors on first sight, sidecars first); empty when process runtimes are off
    /// or the pod has none.
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
        let Some(tools) = self.processes.tools.clone() else {
            return BTreeMap::new();
        };
        let pod_uid = uid(pod).to_string();
        let missing = if config.multigres {
            missing_for_pod(pod, &tools)
        } else {
            vec![]
        };
        if !missing.is_empty() {
            self.keep_simulated(pod, &missing);
        }
        let mut statuses = BTreeMap::new();
        let mut sidecars_started = true;
        for (container, kind, sidecar) in process_containers(pod) {
            if (!config.multigres || !missing.is_empty())
                && matches!(kind, RuntimeKind::Multigres(_))
            {
                continue;
            }
            let container_name = str_at(&container, "/name").to_string();
            let known = self
                .processes
                .pods
                .get(&pod_uid)
                .is_some_and(|p| p.contains_key(&container_name));
            if !known && !sidecar && !sidecars_started {
                let waiting = ContainerView {
                    state: ProcessState::Waiting {
                        reason: "PodInitializing".into(),
                        message: String::new(),
                    },
                    restart_count: 0,
                    last_terminated: None,
                };
                statuses.insert(
                    container_name,
                    process_container_status(&container, &pod_uid, &waiting),
                );
                continue;
            }
            if !known {
                let setup = self.container_setup(kind, &config, &tools, pod, &container, ip);
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
                let view = supervisor.view();
                if sidecar && !matches!(view.state, ProcessState::Running { started: true, .. }) {
                    sidecars_started = false;
                }
                statuses.insert(
                    container_name,
                    process_container_status(&container, &pod_uid, &view),
                );
            }
        }
        statuses
    }

    /// Writes, once per pod, the Event saying why its multigres containers stay simulated.
    fn keep_simulated(&mut self, pod: &Value, missing: &[String]) {
        if !self.processes.simulated.insert(uid(pod).to_string()) {
            return;
        }
        tracing::info!(pod = %name(pod), namespace = %namespace(pod), missing = ?missing, "multigres containers stay simulated");
        let event = simulated_event(pod, missing, &self.clock().timestamp());
        let written = self.cluster.resource("", "v1", "events").and_then(|def| {
            self.cluster.create(
                &def,
                Some(namespace(pod)),
                event,
                &WriteOptions {
                    field_manager: Some("kubelet".into()),
                    ..WriteOptions::default()
                },
            )
        });
        if let Err(error) = written {
            tracing::warn!(
                pod = %name(pod),
                error = &error as &dyn std::error::Error,
                "failed to record why a pod stays simulated"
            );
        }
    }

    fn container_setup(
        &self,
        kind: RuntimeKind,
        config: &ProcessRuntimeConfig,
        tools: &Arc<HostTools>,
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
        let tools = tools.clone();
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
            let pod_namespace = namespace(&pod_json);
            let secret = |name: &str| read_data(&cluster, "secrets", pod_namespace, name);
            let config_map = |name: &str| read_data(&cluster, "configmaps", pod_namespace, name);
            prepare_launch(&LaunchInputs {
                kind,
                config: &config,
                tools: &tools,
                root: &root,
                pod: &pod_json,
                container: &container_json,
                pod_ip: ip,
                resolve: &resolve,
                sources: EnvSources {
                    secret: &secret,
                    config_map: &config_map,
                },
                can_mount_at: &|target: &str| Path::new(target).exists(),
            })
        };
        ContainerSetup {
            container: container_name,
            pod_ref: pod_ref(pod),
            pod_ip: ip,
            restart_policy: if str_at(container, "/restartPolicy") == "Always" {
                "Always".to_string()
            } else {
                match str_at(pod, "/spec/restartPolicy") {
                    "" => "Always".to_string(),
                    policy => policy.to_string(),
                }
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
        self.processes.simulated.remove(pod_uid);
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
