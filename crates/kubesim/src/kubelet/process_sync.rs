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
//! The operator's own pods (crate::process_runtime::operator) get the locally built operator
//! binary, or stay simulated with a Warning Event when there is none, and a kubeconfig with a
//! token the API server issues for the pod's ServiceAccount ([`ApiAccess`]), as the kubelet
//! projects a token into a real pod. Secret and ConfigMap volumes of process-backed containers
//! follow their objects while the pod runs, as a kubelet refreshes them: an optional Secret that
//! is created after the start (the operator's webhook certificate) appears in the mount.
//!
//! [`KubeletConfig::processes`]: super::KubeletConfig::processes

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use serde_json::{Value, json};

use super::container_status::{container_id, image_id, normalize_image};
use super::object_fields::{name, namespace, str_at, uid};
use super::pod_lifecycle::pod_ref;
use super::runtime::Runtime;
use crate::api::{Cluster, Subresource, WatchOptions, WriteOptions};
use crate::auth::tokens::{TokenSpec, Tokens};
use crate::process_runtime::container_env::{EnvSources, config_map_data, secret_data};
use crate::process_runtime::host::HostTools;
use crate::process_runtime::isolation::RunAs;
use crate::process_runtime::operator::PodCredentials;
use crate::process_runtime::supervisor::{
    ContainerSetup, ContainerSupervisor, ContainerView, PrepareError, ProcessState, Terminated,
};
use crate::process_runtime::{
    LaunchInputs, OperatorInputs, ProcessRuntimeConfig, RuntimeKind, container_mounts,
    container_probes, mounted_files, pod_dir, pod_user, prepare_launch,
};
use crate::store::ObjectKey;

/// The Event reason of a pod kept simulated because this machine lacks what it needs.
pub const SIMULATED_REASON: &str = "ProcessRuntimeUnavailable";

/// How the pods the process runtimes run reach the API server: its URL, its CA (over HTTPS)
/// and the TokenRequest issuer, given by the server once it listens.
#[derive(Clone, Debug)]
pub struct ApiAccess {
    pub server: String,
    pub ca_pem: Option<String>,
    pub tokens: Tokens,
}

/// How long the ServiceAccount tokens of operator pods last. A kubelet asks for about an hour
/// and refreshes the projected file; kubesim writes the token once into the pod's kubeconfig,
/// so it asks for a day (a test or a local session is shorter).
const POD_TOKEN_SECONDS: i64 = 86_400;

/// A task aborted when its owner drops it.
#[derive(Debug)]
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The supervised containers of the kubelet, by pod uid then container name.
#[derive(Debug, Default)]
pub(super) struct ProcessHost {
    pub(super) pods: BTreeMap<String, BTreeMap<String, ContainerSupervisor>>,
    /// What this machine has (detected when the kubelet starts with process runtimes on).
    pub(super) tools: Option<Arc<HostTools>>,
    /// Pods (by uid) kept simulated, whose Event is written.
    pub(super) simulated: BTreeSet<String>,
    /// How operator pods reach the API server (`None`: they wait).
    pub(super) api: Option<ApiAccess>,
    /// The operator binary, looked up on first need.
    pub(super) operator_binary: Option<Option<PathBuf>>,
    /// The tasks keeping each pod's Secret and ConfigMap volume files current, by pod uid.
    pub(super) refreshers: BTreeMap<String, Vec<AbortOnDrop>>,
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

/// The credentials of `pod`'s ServiceAccount (`default` when it names none): a token issued as
/// TokenRequest issues one. Not yet while the ServiceAccount does not exist.
fn pod_credentials(
    cluster: &Cluster,
    api: &ApiAccess,
    pod: &Value,
) -> Result<PodCredentials, PrepareError> {
    let account = match str_at(pod, "/spec/serviceAccountName") {
        "" => "default",
        name => name,
    };
    let pod_namespace = namespace(pod);
    let found = cluster
        .resource("", "v1", "serviceaccounts")
        .and_then(|def| cluster.get(&def, Some(pod_namespace), account, Subresource::Main))
        .map_err(|_| {
            PrepareError::NotYet(format!(
                "serviceaccount \"{account}\" not found in namespace \"{pod_namespace}\""
            ))
        })?;
    let spec = TokenSpec {
        namespace: pod_namespace.to_string(),
        service_account: account.to_string(),
        service_account_uid: str_at(&found, "/metadata/uid").to_string(),
        audiences: Vec::new(),
        expiration_seconds: POD_TOKEN_SECONDS,
    };
    let (token, _) = api.tokens.issue(&spec, jiff::Timestamp::now());
    Ok(PodCredentials {
        server: api.server.clone(),
        ca_pem: api.ca_pem.clone(),
        token,
    })
}

/// Whether a container mounts a volume made of Secrets or ConfigMaps.
fn mounts_object_data(pod: &Value, container: &Value) -> bool {
    let mounted: BTreeSet<&str> = container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|m| str_at(m, "/name"))
        .collect();
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|v| mounted.contains(str_at(v, "/name")))
        .any(|v| {
            v.get("secret").is_some()
                || v.get("configMap").is_some()
                || v.get("projected").is_some()
        })
}

/// Writes `text` to `path` when it differs, through a file renamed over it (a reader never sees
/// half a file), with `mode` and `owner`.
fn write_if_changed(
    path: &Path,
    text: &str,
    mode: u32,
    owner: Option<RunAs>,
) -> std::io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::read_to_string(path).is_ok_and(|current| current == text) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temporary = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(temporary.path(), text)?;
    std::fs::set_permissions(temporary.path(), std::fs::Permissions::from_mode(mode))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(temporary.path(), Some(uid), Some(gid))?;
    }
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(true)
}

/// Brings the files of a container's Secret and ConfigMap volumes to what the objects hold now:
/// changed files are rewritten, files of keys (or optional objects) that went away removed.
/// `written` is what the previous pass wrote.
fn refresh_volume_files(
    cluster: &Cluster,
    pod: &Value,
    container: &Value,
    mounts: &[(String, PathBuf)],
    owner: Option<RunAs>,
    written: &mut BTreeSet<PathBuf>,
) {
    let pod_namespace = namespace(pod);
    let secret = |name: &str| read_data(cluster, "secrets", pod_namespace, name);
    let config_map = |name: &str| read_data(cluster, "configmaps", pod_namespace, name);
    let sources = EnvSources {
        secret: &secret,
        config_map: &config_map,
    };
    // A required object that is missing keeps the files as they are (the kubelet does too).
    let Ok(files) = mounted_files(pod, container, &sources, mounts) else {
        return;
    };
    let now: BTreeSet<PathBuf> = files.iter().map(|(path, _, _)| path.clone()).collect();
    for (path, text, mode) in &files {
        if let Err(error) = write_if_changed(path, text, *mode, owner) {
            tracing::warn!(path = %path.display(), error = &error as &dyn std::error::Error, "failed to refresh a volume file");
        }
    }
    for gone in written.difference(&now) {
        let _ = std::fs::remove_file(gone);
    }
    *written = now;
}

/// Keeps a container's Secret and ConfigMap volume files current: every change to a Secret or a
/// ConfigMap of the pod's namespace refreshes them (a watch, so a change lands at once).
fn spawn_volume_refresher(
    cluster: Cluster,
    pod: Value,
    container: Value,
    mounts: Vec<(String, PathBuf)>,
    owner: Option<RunAs>,
) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let defs: Vec<_> = ["secrets", "configmaps"]
            .iter()
            .filter_map(|plural| cluster.resource("", "v1", plural).ok())
            .collect();
        let pod_namespace = namespace(&pod).to_string();
        let mut written = BTreeSet::new();
        loop {
            let options = WatchOptions {
                send_initial_events: true,
                resource_version_match: Some("NotOlderThan".into()),
                ..WatchOptions::default()
            };
            let streams: Vec<_> = defs
                .iter()
                .filter_map(|def| {
                    cluster
                        .watch(def.clone(), Some(&pod_namespace), &options)
                        .ok()
                })
                .collect();
            let mut events = futures::stream::select_all(streams);
            while events.next().await.is_some() {
                while let Some(Some(_)) = events.next().now_or_never() {}
                refresh_volume_files(&cluster, &pod, &container, &mounts, owner, &mut written);
            }
            // The watches ended (expired history): watch again, after a breath.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
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
        let containers = process_containers(pod);
        let operator_binary = if containers
            .iter()
            .any(|(_, kind, _)| *kind == RuntimeKind::Operator)
        {
            let binary = self
                .processes
                .operator_binary
                .get_or_insert_with(|| config.find_operator_binary())
                .clone();
            if binary.is_none() {
                self.keep_simulated(
                    pod,
                    &[
                        "the multigres-operator binary was not found (set kubesim's \
                       --operator-bin or MULTIGRES_OPERATOR_BIN, or put it on PATH)"
                            .to_string(),
                    ],
                );
            }
            binary
        } else {
            None
        };
        let mut statuses = BTreeMap::new();
        let mut sidecars_started = true;
        for (container, kind, sidecar) in containers {
            if (!config.multigres || !missing.is_empty())
                && matches!(kind, RuntimeKind::Multigres(_))
            {
                continue;
            }
            if kind == RuntimeKind::Operator && operator_binary.is_none() {
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
                let setup = self.container_setup(
                    kind,
                    &config,
                    &tools,
                    operator_binary.clone(),
                    pod,
                    &container,
                    ip,
                );
                self.processes
                    .pods
                    .entry(pod_uid.clone())
                    .or_default()
                    .insert(container_name.clone(), ContainerSupervisor::start(setup));
                if mounts_object_data(pod, &container) {
                    let owner =
                        (tools.uid == 0).then(|| pod_user(pod, &container, tools.default_user));
                    let refresher = spawn_volume_refresher(
                        self.cluster.clone(),
                        pod.clone(),
                        container.clone(),
                        container_mounts(&self.process_root, pod, &container),
                        owner,
                    );
                    self.processes
                        .refreshers
                        .entry(pod_uid.clone())
                        .or_default()
                        .push(refresher);
                }
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

    #[allow(clippy::too_many_arguments)]
    fn container_setup(
        &self,
        kind: RuntimeKind,
        config: &ProcessRuntimeConfig,
        tools: &Arc<HostTools>,
        operator_binary: Option<PathBuf>,
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
        let api = self.processes.api.clone();
        let prepare = move || {
            if let Some(error) = &probe_error {
                return Err(PrepareError::Config(error.clone()));
            }
            // The operator's pod: a fresh ServiceAccount token at each start.
            let credentials = match (kind, &api) {
                (RuntimeKind::Operator, Some(api)) => {
                    Some(pod_credentials(&cluster, api, &pod_json)?)
                }
                _ => None,
            };
            let operator = match (&operator_binary, &credentials) {
                (Some(binary), Some(credentials)) => Some(OperatorInputs {
                    binary,
                    credentials,
                }),
                _ => None,
            };
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
                operator,
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
        self.processes.refreshers.remove(pod_uid);
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
