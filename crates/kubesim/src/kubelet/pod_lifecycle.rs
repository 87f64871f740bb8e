//! The status a pod's kubelet (or scheduler, or node controller) writes at each step of its
//! simulated life (rust-ecosystem.md §3.3 "Pods and PVCs"):
//! unschedulable (`PodScheduled=False`, `Unschedulable`), running (conditions
//! `PodReadyToStartContainers`, `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`;
//! `containerStatuses`; IPs; `startTime`; `qosClass`), a container crash and its restart, the
//! node lost (`Ready=False`), and stopped on deletion (terminal phase before the kubelet's final
//! delete).
//!
//! A bound pod starts in three status writes, each its own watch event as a watcher of a real
//! cluster sees them: scheduled (`Pending`, `PodScheduled=True`), containers being created
//! (`Pending`, containers waiting with reason `ContainerCreating`, or `PodInitializing` behind
//! init containers; [`creating_status`]), then running ([`running_status`]); a container with
//! a readiness probe turns ready in a later write, once its probe would first pass.
//!
//! Pure: every function takes the pod and the time (`now`, RFC 3339) and returns the new
//! `status`; the runtime decides when to call them and writes the result.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::container_status::{self, CrashOutcome};
use super::object_fields::{name, namespace, str_at, uid};

/// The conditions the kubelet owns, in the order it writes them.
const KUBELET_CONDITIONS: [&str; 5] = [
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
];

/// What the kubelet knows about a running pod besides the pod itself.
#[derive(Clone, Copy, Debug)]
pub struct RunFacts<'a> {
    /// The node's InternalIP.
    pub host_ip: &'a str,
    pub pod_ip: &'a str,
    /// Held not-ready by a test control (as a failing readiness probe would).
    pub unready: bool,
    pub now: &'a str,
    /// The statuses of containers and native sidecars running as real processes (by name):
    /// used as they are (process_sync.rs), except that a pod held unready keeps them unready.
    pub processes: &'a BTreeMap<String, Value>,
    /// Simulated containers (by name) whose readiness probe has not passed yet: running but
    /// not ready.
    pub probing: &'a BTreeSet<String>,
}

/// The waiting reasons of a container the kubelet has not started yet.
const NOT_STARTED: [&str; 2] = ["ContainerCreating", "PodInitializing"];

/// Where a pod bound to a Ready node is in its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartStep {
    /// Bound, but `PodScheduled=True` is not recorded yet (the scheduler's write).
    Schedule,
    /// The kubelet has not reported the pod yet: its containers are to be created.
    Create,
    /// Containers are being created (waiting with a [`NOT_STARTED`] reason).
    Creating,
    /// The kubelet runs the pod.
    Run,
}

fn has_condition(pod: &Value, condition_type: &str, status: &str) -> bool {
    existing_conditions(pod).iter().any(|c| {
        c.get("type").and_then(Value::as_str) == Some(condition_type)
            && c.get("status").and_then(Value::as_str) == Some(status)
    })
}

/// Whether a container status is one [`creating_status`] wrote.
fn is_not_started(status: &Value) -> bool {
    status
        .pointer("/state/waiting/reason")
        .and_then(Value::as_str)
        .is_some_and(|reason| NOT_STARTED.contains(&reason))
}

/// The step a bound pod is at, from its status alone.
pub fn start_step(pod: &Value) -> StartStep {
    if !has_condition(pod, "PodScheduled", "True") {
        return StartStep::Schedule;
    }
    let statuses = container_list(pod, "/status/containerStatuses");
    if statuses.is_empty() && pod.pointer("/status/startTime").is_none() {
        return StartStep::Create;
    }
    if !statuses.is_empty() && statuses.iter().all(is_not_started) {
        return StartStep::Creating;
    }
    StartStep::Run
}

/// The names of the containers (and native sidecars) that would start in the next running
/// write: those a readiness probe then holds unready for its initial delay.
pub fn starting_containers(pod: &Value) -> Vec<(String, Option<f64>)> {
    let current = container_list(pod, "/status/containerStatuses");
    let current_init = container_list(pod, "/status/initContainerStatuses");
    let starting = |spec: &Value, statuses: &[Value]| {
        let name = str_at(spec, "/name");
        find_status(statuses, name).is_none_or(is_not_started)
    };
    let initial_delay = |spec: &Value| {
        spec.get("readinessProbe")
            .filter(|p| p.is_object())
            .map(|probe| {
                probe
                    .get("initialDelaySeconds")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0)
            })
    };
    container_list(pod, "/spec/containers")
        .iter()
        .filter(|spec| starting(spec, current))
        .chain(
            container_list(pod, "/spec/initContainers")
                .iter()
                .filter(|spec| is_sidecar(spec) && starting(spec, current_init)),
        )
        .map(|spec| (str_at(spec, "/name").to_string(), initial_delay(spec)))
        .collect()
}

/// A container the kubelet is about to create: waiting with `reason`, not started.
fn waiting_status(spec: &Value, reason: &str) -> Value {
    json!({
        "name": str_at(spec, "/name"),
        "state": {"waiting": {"reason": reason}},
        "lastState": {},
        "ready": false,
        "restartCount": 0,
        "image": str_at(spec, "/image"),
        "imageID": "",
        "started": false,
    })
}

/// The status a scheduler's binding leaves: `Pending` with `PodScheduled=True`.
pub fn scheduled_status(pod: &Value, now: &str) -> Value {
    let mut conditions: Vec<Value> = existing_conditions(pod).to_vec();
    super::object_fields::set_condition(
        &mut conditions,
        condition("PodScheduled", true, now, None, None),
    );
    status_object(
        "Pending",
        conditions,
        None,
        None,
        vec![],
        vec![],
        &qos_class(pod),
    )
}

/// The kubelet's first status of a pod on its node: `Pending`, the node's IP, `startTime`,
/// and every container waiting to be created (`ContainerCreating`; `PodInitializing` for all
/// of them when the pod has init containers, which run first).
pub fn creating_status(pod: &Value, host_ip: &str, now: &str) -> Value {
    let init_specs = container_list(pod, "/spec/initContainers");
    let reason = if init_specs.is_empty() {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    let init_statuses: Vec<Value> = init_specs
        .iter()
        .map(|spec| waiting_status(spec, "PodInitializing"))
        .collect();
    let statuses: Vec<Value> = container_list(pod, "/spec/containers")
        .iter()
        .map(|spec| waiting_status(spec, reason))
        .collect();
    let names = |specs: &[Value]| {
        specs
            .iter()
            .map(|s| str_at(s, "/name"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let unready = names(container_list(pod, "/spec/containers"));
    let unready_message = format!("containers with unready status: [{unready}]");
    let initialized = if init_specs.is_empty() {
        condition(KUBELET_CONDITIONS[1], true, now, None, None)
    } else {
        condition(
            KUBELET_CONDITIONS[1],
            false,
            now,
            Some("ContainersNotInitialized"),
            Some(&format!(
                "containers with incomplete status: [{}]",
                names(init_specs)
            )),
        )
    };
    let owned = vec![
        condition(KUBELET_CONDITIONS[0], false, now, None, None),
        initialized,
        condition(
            KUBELET_CONDITIONS[2],
            false,
            now,
            Some("ContainersNotReady"),
            Some(&unready_message),
        ),
        condition(
            KUBELET_CONDITIONS[3],
            false,
            now,
            Some("ContainersNotReady"),
            Some(&unready_message),
        ),
        condition(KUBELET_CONDITIONS[4], true, now, None, None),
    ];
    status_object(
        "Pending",
        merge_conditions(pod, owned),
        Some((host_ip, "")),
        Some(
            pod.pointer("/status/startTime")
                .cloned()
                .unwrap_or_else(|| json!(now)),
        ),
        init_statuses,
        statuses,
        &qos_class(pod),
    )
}

/// Why a crash cannot be simulated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CrashError {
    #[error("pod {namespace}/{pod} has no container named {container:?} (containers: {known:?})")]
    NoSuchContainer {
        namespace: String,
        pod: String,
        container: String,
        known: Vec<String>,
    },
    #[error("container {container:?} of pod {namespace}/{pod} is not running (it is {state})")]
    NotRunning {
        namespace: String,
        pod: String,
        container: String,
        state: String,
    },
}

fn condition(
    condition_type: &str,
    status: bool,
    now: &str,
    reason: Option<&str>,
    message: Option<&str>,
) -> Value {
    let mut map = Map::new();
    map.insert("type".into(), json!(condition_type));
    map.insert(
        "status".into(),
        json!(if status { "True" } else { "False" }),
    );
    map.insert("lastProbeTime".into(), Value::Null);
    map.insert("lastTransitionTime".into(), json!(now));
    if let Some(reason) = reason {
        map.insert("reason".into(), json!(reason));
    }
    if let Some(message) = message {
        map.insert("message".into(), json!(message));
    }
    Value::Object(map)
}

fn existing_conditions(pod: &Value) -> &[Value] {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The kubelet's conditions (in its order, transition times kept where the status held), then
/// every other existing condition in its place.
fn merge_conditions(pod: &Value, owned: Vec<Value>) -> Vec<Value> {
    let existing = existing_conditions(pod);
    let mut out: Vec<Value> = owned
        .into_iter()
        .map(|mut new| {
            if let Some(old) = existing.iter().find(|c| c.get("type") == new.get("type"))
                && old.get("status") == new.get("status")
                && let Some(time) = old.get("lastTransitionTime")
            {
                new["lastTransitionTime"] = time.clone();
            }
            new
        })
        .collect();
    let owned_types: Vec<Value> = out.iter().filter_map(|c| c.get("type").cloned()).collect();
    out.extend(
        existing
            .iter()
            .filter(|c| c.get("type").is_none_or(|t| !owned_types.contains(t)))
            .cloned(),
    );
    out
}

fn container_list<'a>(pod: &'a Value, pointer: &str) -> &'a [Value] {
    pod.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn find_status<'a>(statuses: &'a [Value], container: &str) -> Option<&'a Value> {
    statuses
        .iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(container))
}

fn is_sidecar(spec: &Value) -> bool {
    spec.get("restartPolicy").and_then(Value::as_str) == Some("Always")
}

fn restart_policy(pod: &Value) -> &str {
    match str_at(pod, "/spec/restartPolicy") {
        "" => "Always",
        policy => policy,
    }
}

/// The name the kubelet uses for a pod in messages: `<name>_<namespace>(<uid>)`.
pub fn pod_ref(pod: &Value) -> String {
    format!("{}_{}({})", name(pod), namespace(pod), uid(pod))
}

/// The `Ready` condition's failure from readiness gates, if any (upstream
/// `generatePodReadyCondition`).
fn readiness_gates_message(pod: &Value) -> Option<String> {
    let gates = container_list(pod, "/spec/readinessGates");
    let mut problems = Vec::new();
    for gate in gates {
        let gate_type = str_at(gate, "/conditionType");
        match existing_conditions(pod)
            .iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(gate_type))
        {
            None => problems.push(format!(
                "corresponding condition of pod readiness gate \"{gate_type}\" does not exist."
            )),
            Some(c) if c.get("status").and_then(Value::as_str) != Some("True") => {
                problems.push(format!(
                    "the status of pod readiness gate \"{gate_type}\" is not \"True\", but {}",
                    c.get("status").and_then(Value::as_str).unwrap_or_default()
                ));
            }
            Some(_) => {}
        }
    }
    (!problems.is_empty()).then(|| problems.join(", "))
}

/// The pod's QoS class: the one the API server recorded at create (it never changes), else
/// computed as the API server does.
fn qos_class(pod: &Value) -> String {
    match str_at(pod, "/status/qosClass") {
        "" => crate::semantics::builtin_create::qos_class(pod.get("spec").unwrap_or(&Value::Null))
            .to_string(),
        recorded => recorded.to_string(),
    }
}

/// Assembles a status object in the API's field order.
fn status_object(
    phase: &str,
    conditions: Vec<Value>,
    ips: Option<(&str, &str)>,
    start_time: Option<Value>,
    init_statuses: Vec<Value>,
    statuses: Vec<Value>,
    qos: &str,
) -> Value {
    let mut map = Map::new();
    map.insert("phase".into(), json!(phase));
    map.insert("conditions".into(), Value::Array(conditions));
    if let Some((host, pod)) = ips {
        map.insert("hostIP".into(), json!(host));
        map.insert("hostIPs".into(), json!([{"ip": host}]));
        if !pod.is_empty() {
            map.insert("podIP".into(), json!(pod));
            map.insert("podIPs".into(), json!([{"ip": pod}]));
        }
    }
    if let Some(start) = start_time {
        map.insert("startTime".into(), start);
    }
    if !init_statuses.is_empty() {
        map.insert("initContainerStatuses".into(), Value::Array(init_statuses));
    }
    if !statuses.is_empty() {
        map.insert("containerStatuses".into(), Value::Array(statuses));
    }
    map.insert("qosClass".into(), json!(qos));
    Value::Object(map)
}

/// The status of a pending pod no node can take.
pub fn unschedulable_status(pod: &Value, message: &str, now: &str) -> Value {
    let scheduled = condition(
        "PodScheduled",
        false,
        now,
        Some("Unschedulable"),
        Some(message),
    );
    let mut conditions: Vec<Value> = existing_conditions(pod).to_vec();
    super::object_fields::set_condition(&mut conditions, scheduled);
    status_object(
        "Pending",
        conditions,
        None,
        None,
        vec![],
        vec![],
        &qos_class(pod),
    )
}

/// The status of a pod running on a Ready node: every container started (unless crashed and
/// waiting, or stopped), ready unless the pod is held unready.
pub fn running_status(pod: &Value, facts: &RunFacts<'_>) -> Value {
    let pod_uid = uid(pod);
    let now = facts.now;
    let current = container_list(pod, "/status/containerStatuses");
    let current_init = container_list(pod, "/status/initContainerStatuses");
    let statuses: Vec<Value> = container_list(pod, "/spec/containers")
        .iter()
        .map(|spec| {
            let container = str_at(spec, "/name");
            if let Some(real) = facts.processes.get(container) {
                let mut real = real.clone();
                if facts.unready {
                    real["ready"] = json!(false);
                }
                return real;
            }
            let existing = find_status(current, container).filter(|e| !is_not_started(e));
            let ready = !facts.unready && !facts.probing.contains(container);
            match existing {
                Some(e) if e.pointer("/state/running").is_none() && e.get("state").is_some() => {
                    let mut kept = e.clone();
                    kept["ready"] = json!(false);
                    kept
                }
                _ => container_status::running(spec, pod_uid, existing, ready, now),
            }
        })
        .collect();
    let init_statuses: Vec<Value> = container_list(pod, "/spec/initContainers")
        .iter()
        .map(|spec| {
            if let Some(real) = facts.processes.get(str_at(spec, "/name")) {
                let mut real = real.clone();
                if facts.unready {
                    real["ready"] = json!(false);
                }
                return real;
            }
            let container = str_at(spec, "/name");
            let existing = find_status(current_init, container).filter(|e| !is_not_started(e));
            if is_sidecar(spec) {
                let ready = !facts.unready && !facts.probing.contains(container);
                container_status::running(spec, pod_uid, existing, ready, now)
            } else {
                container_status::completed(spec, pod_uid, existing, now)
            }
        })
        .collect();
    let unready: Vec<&str> = statuses
        .iter()
        .chain(
            init_statuses
                .iter()
                .filter(|s| s.pointer("/state/terminated").is_none()),
        )
        .filter(|s| s.get("ready").and_then(Value::as_bool) != Some(true))
        .filter_map(|s| s.get("name").and_then(Value::as_str))
        .collect();
    let containers_message = (!unready.is_empty())
        .then(|| format!("containers with unready status: [{}]", unready.join(" ")));
    let (ready, ready_reason, ready_message) =
        match (&containers_message, readiness_gates_message(pod)) {
            (Some(m), _) => (false, Some("ContainersNotReady"), Some(m.clone())),
            (None, Some(gates)) => (false, Some("ReadinessGatesNotReady"), Some(gates)),
            (None, None) => (true, None, None),
        };
    let containers_ready = containers_message.is_none();
    let owned = vec![
        condition(KUBELET_CONDITIONS[0], true, now, None, None),
        condition(KUBELET_CONDITIONS[1], true, now, None, None),
        condition(
            KUBELET_CONDITIONS[2],
            ready,
            now,
            ready_reason,
            ready_message.as_deref(),
        ),
        condition(
            KUBELET_CONDITIONS[3],
            containers_ready,
            now,
            (!containers_ready).then_some("ContainersNotReady"),
            containers_message.as_deref(),
        ),
        condition(KUBELET_CONDITIONS[4], true, now, None, None),
    ];
    let all_stopped = !statuses.is_empty()
        && statuses
            .iter()
            .all(|s| s.pointer("/state/terminated").is_some());
    let phase = if all_stopped && restart_policy(pod) == "Never" {
        let failed = statuses.iter().any(|s| {
            s.pointer("/state/terminated/exitCode")
                .and_then(Value::as_i64)
                != Some(0)
        });
        if failed { "Failed" } else { "Succeeded" }
    } else {
        "Running"
    };
    status_object(
        phase,
        merge_conditions(pod, owned),
        Some((facts.host_ip, facts.pod_ip)),
        Some(
            pod.pointer("/status/startTime")
                .cloned()
                .unwrap_or_else(|| json!(now)),
        ),
        init_statuses,
        statuses,
        &qos_class(pod),
    )
}

/// The status after the node controller finds the pod's node lost: `Ready=False`, everything
/// else as the kubelet last reported. `None` when the pod is not Ready to begin with.
pub fn node_lost_status(pod: &Value, now: &str) -> Option<Value> {
    let mut status = pod.get("status")?.clone();
    let conditions = status.get_mut("conditions")?.as_array_mut()?;
    let ready = conditions
        .iter_mut()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))?;
    if ready.get("status").and_then(Value::as_str) != Some("True") {
        return None;
    }
    ready["status"] = json!("False");
    ready["lastTransitionTime"] = json!(now);
    Some(status)
}

/// The terminal status the kubelet writes once a deleted pod's containers have stopped.
pub fn stopped_status(pod: &Value, now: &str) -> Value {
    let pod_uid = uid(pod);
    let current = container_list(pod, "/status/containerStatuses");
    let statuses: Vec<Value> = container_list(pod, "/spec/containers")
        .iter()
        .map(|spec| {
            container_status::completed(
                spec,
                pod_uid,
                find_status(current, str_at(spec, "/name")),
                now,
            )
        })
        .collect();
    let current_init = container_list(pod, "/status/initContainerStatuses");
    let init_statuses: Vec<Value> = container_list(pod, "/spec/initContainers")
        .iter()
        .map(|spec| {
            container_status::completed(
                spec,
                pod_uid,
                find_status(current_init, str_at(spec, "/name")),
                now,
            )
        })
        .collect();
    let failed = statuses.iter().any(|s| {
        s.pointer("/state/terminated/exitCode")
            .and_then(Value::as_i64)
            != Some(0)
    });
    let owned = vec![
        condition(KUBELET_CONDITIONS[0], false, now, None, None),
        condition(KUBELET_CONDITIONS[1], true, now, None, None),
        condition(
            KUBELET_CONDITIONS[2],
            false,
            now,
            Some("PodCompleted"),
            None,
        ),
        condition(
            KUBELET_CONDITIONS[3],
            false,
            now,
            Some("PodCompleted"),
            None,
        ),
        condition(KUBELET_CONDITIONS[4], true, now, None, None),
    ];
    let host_ip = str_at(pod, "/status/hostIP");
    let pod_ip = str_at(pod, "/status/podIP");
    status_object(
        if failed { "Failed" } else { "Succeeded" },
        merge_conditions(pod, owned),
        (!host_ip.is_empty()).then_some((host_ip, pod_ip)),
        pod.pointer("/status/startTime").cloned(),
        init_statuses,
        statuses,
        &qos_class(pod),
    )
}

fn container_statuses_mut(status: &mut Value) -> Option<&mut Vec<Value>> {
    status.get_mut("containerStatuses")?.as_array_mut()
}

fn state_name(container: &Value) -> String {
    container
        .get("state")
        .and_then(Value::as_object)
        .and_then(|s| s.keys().next().cloned())
        .unwrap_or_else(|| "not started".into())
}

/// The pod's `containerStatuses` after `container` crashes (the caller then recomputes the
/// pod's status with [`running_status`], which keeps the crashed container's state).
pub fn crash(pod: &Value, container: &str, now: &str) -> Result<(Value, CrashOutcome), CrashError> {
    let known: Vec<String> = container_list(pod, "/spec/containers")
        .iter()
        .map(|c| str_at(c, "/name").to_string())
        .collect();
    let not_found = || CrashError::NoSuchContainer {
        namespace: namespace(pod).to_string(),
        pod: name(pod).to_string(),
        container: container.to_string(),
        known: known.clone(),
    };
    if !known.iter().any(|k| k == container) {
        return Err(not_found());
    }
    let mut status = pod.get("status").cloned().unwrap_or_else(|| json!({}));
    let policy = restart_policy(pod).to_string();
    let statuses = container_statuses_mut(&mut status).ok_or_else(not_found)?;
    let entry = statuses
        .iter_mut()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(container))
        .ok_or_else(not_found)?;
    if entry.pointer("/state/running").is_none() {
        return Err(CrashError::NotRunning {
            namespace: namespace(pod).to_string(),
            pod: name(pod).to_string(),
            container: container.to_string(),
            state: state_name(entry),
        });
    }
    let (next, outcome) = container_status::crashed(entry, uid(pod), &pod_ref(pod), &policy, now);
    *entry = next;
    Ok((status, outcome))
}

/// The pod's status with `container` restarted after its back-off; `None` when it is no longer
/// waiting (restarted or gone meanwhile).
pub fn restart_after_backoff(pod: &Value, container: &str, now: &str) -> Option<Value> {
    let mut status = pod.get("status")?.clone();
    let statuses = container_statuses_mut(&mut status)?;
    let entry = statuses
        .iter_mut()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(container))?;
    entry.pointer("/state/waiting")?;
    *entry = container_status::restarted(entry, uid(pod), now);
    Some(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn pod() -> Value {
        json!({"metadata": {"name": "web-0", "namespace": "shop", "uid": "u-1"},
               "spec": {"nodeName": "kubesim-zone-a",
                        "containers": [{"name": "app", "image": "nginx:1.27"},
                                       {"name": "log", "image": "busybox"}]}})
    }

    static NO_PROCESSES: BTreeMap<String, Value> = BTreeMap::new();
    static NO_PROBING: BTreeSet<String> = BTreeSet::new();

    fn facts<'a>(now: &'a str) -> RunFacts<'a> {
        RunFacts {
            host_ip: "172.18.0.2",
            pod_ip: "127.0.0.2",
            unready: false,
            now,
            processes: &NO_PROCESSES,
            probing: &NO_PROBING,
        }
    }

    fn cond(t: &str, s: &str, time: &str) -> Value {
        json!({"type": t, "status": s, "lastProbeTime": null, "lastTransitionTime": time})
    }

    #[test]
    fn a_running_pod_has_every_condition_and_container_status() {
        let status = running_status(&pod(), &facts("t0"));
        let app = container_status::running(
            &json!({"name": "app", "image": "nginx:1.27"}),
            "u-1",
            None,
            true,
            "t0",
        );
        let log = container_status::running(
            &json!({"name": "log", "image": "busybox"}),
            "u-1",
            None,
            true,
            "t0",
        );
        assert_eq!(
            status,
            json!({"phase": "Running",
                   "conditions": [cond("PodReadyToStartContainers", "True", "t0"),
                                  cond("Initialized", "True", "t0"), cond("Ready", "True", "t0"),
                                  cond("ContainersReady", "True", "t0"), cond("PodScheduled", "True", "t0")],
                   "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
                   "podIP": "127.0.0.2", "podIPs": [{"ip": "127.0.0.2"}],
                   "startTime": "t0", "containerStatuses": [app, log], "qosClass": "BestEffort"})
        );
    }

    #[test]
    fn a_bound_pod_is_scheduled_then_created_then_run_in_separate_steps() {
        let mut p = pod();
        assert_eq!(start_step(&p), StartStep::Schedule);
        p["status"] = scheduled_status(&p, "t0");
        assert_eq!(
            p["status"],
            json!({"phase": "Pending", "conditions": [cond("PodScheduled", "True", "t0")],
                   "qosClass": "BestEffort"})
        );
        assert_eq!(start_step(&p), StartStep::Create);
        p["status"] = creating_status(&p, "172.18.0.2", "t1");
        let waiting = |name: &str, image: &str| {
            json!({"name": name, "state": {"waiting": {"reason": "ContainerCreating"}},
                   "lastState": {}, "ready": false, "restartCount": 0, "image": image,
                   "imageID": "", "started": false})
        };
        let unready = "containers with unready status: [app log]";
        let mut not_ready = cond("Ready", "False", "t1");
        not_ready["reason"] = json!("ContainersNotReady");
        not_ready["message"] = json!(unready);
        let mut containers_not_ready = not_ready.clone();
        containers_not_ready["type"] = json!("ContainersReady");
        assert_eq!(
            p["status"],
            json!({"phase": "Pending",
                   "conditions": [cond("PodReadyToStartContainers", "False", "t1"),
                                  cond("Initialized", "True", "t1"), not_ready,
                                  containers_not_ready, cond("PodScheduled", "True", "t0")],
                   "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
                   "startTime": "t1",
                   "containerStatuses": [waiting("app", "nginx:1.27"), waiting("log", "busybox")],
                   "qosClass": "BestEffort"})
        );
        assert_eq!(start_step(&p), StartStep::Creating);
        assert_eq!(
            starting_containers(&p),
            [("app".to_string(), None), ("log".to_string(), None)]
        );
        p["status"] = running_status(&p, &facts("t2"));
        assert_eq!(start_step(&p), StartStep::Run);
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(p["status"]["startTime"], "t1");
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"],
            json!({"running": {"startedAt": "t2"}})
        );
        assert!(starting_containers(&p).is_empty());
    }

    #[test]
    fn a_probed_container_runs_unready_until_its_probe_passes() {
        let mut p = pod();
        p["spec"]["containers"][0]["readinessProbe"] =
            json!({"httpGet": {"port": 80}, "initialDelaySeconds": 5});
        p["status"] = creating_status(&p, "172.18.0.2", "t0");
        assert_eq!(
            starting_containers(&p),
            [("app".to_string(), Some(5.0)), ("log".to_string(), None)]
        );
        let probing: BTreeSet<String> = ["app".to_string()].into();
        p["status"] = running_status(
            &p,
            &RunFacts {
                probing: &probing,
                ..facts("t1")
            },
        );
        assert_eq!(p["status"]["containerStatuses"][0]["ready"], false);
        assert_eq!(p["status"]["containerStatuses"][0]["started"], true);
        assert_eq!(p["status"]["containerStatuses"][1]["ready"], true);
        assert_eq!(p["status"]["conditions"][2]["status"], "False");
        p["status"] = running_status(&p, &facts("t2"));
        assert_eq!(p["status"]["containerStatuses"][0]["ready"], true);
        assert_eq!(p["status"]["conditions"][2]["status"], "True");
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"],
            json!({"running": {"startedAt": "t1"}})
        );
    }

    #[test]
    fn init_containers_hold_every_container_in_pod_initializing() {
        let mut p = pod();
        p["spec"]["initContainers"] = json!([{"name": "setup", "image": "busybox"}]);
        let status = creating_status(&p, "172.18.0.2", "t0");
        assert_eq!(
            status["initContainerStatuses"][0]["state"],
            json!({"waiting": {"reason": "PodInitializing"}})
        );
        assert_eq!(
            status["containerStatuses"][1]["state"],
            json!({"waiting": {"reason": "PodInitializing"}})
        );
        assert_eq!(
            status["conditions"][1]["message"],
            "containers with incomplete status: [setup]"
        );
    }

    #[test]
    fn recomputing_a_running_pod_changes_nothing() {
        let mut p = pod();
        p["status"] = running_status(&p, &facts("t0"));
        assert_eq!(running_status(&p, &facts("t5")), p["status"]);
    }

    #[test]
    fn an_unready_pod_names_its_containers_and_keeps_other_conditions() {
        let mut p = pod();
        p["status"] = running_status(&p, &facts("t0"));
        p["status"]["conditions"]
            .as_array_mut()
            .expect("conditions")
            .push(json!({"type": "example.com/Gate", "status": "True"}));
        let status = running_status(
            &p,
            &RunFacts {
                unready: true,
                ..facts("t1")
            },
        );
        let message = "containers with unready status: [app log]";
        assert_eq!(
            status["conditions"],
            json!([cond("PodReadyToStartContainers", "True", "t0"), cond("Initialized", "True", "t0"),
                   {"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": "t1",
                    "reason": "ContainersNotReady", "message": message},
                   {"type": "ContainersReady", "status": "False", "lastProbeTime": null,
                    "lastTransitionTime": "t1", "reason": "ContainersNotReady", "message": message},
                   cond("PodScheduled", "True", "t0"),
                   {"type": "example.com/Gate", "status": "True"}])
        );
        assert_eq!(status["containerStatuses"][0]["ready"], false);
        assert_eq!(
            status["containerStatuses"][0]["state"]["running"]["startedAt"],
            "t0"
        );
    }

    #[test]
    fn readiness_gates_hold_ready_back() {
        let mut p = pod();
        p["spec"]["readinessGates"] = json!([{"conditionType": "example.com/lb"}]);
        let status = running_status(&p, &facts("t0"));
        assert_eq!(
            status["conditions"][2],
            json!({"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": "t0",
                   "reason": "ReadinessGatesNotReady",
                   "message": "corresponding condition of pod readiness gate \"example.com/lb\" does not exist."})
        );
        assert_eq!(status["conditions"][3]["status"], "True");
    }

    #[test]
    fn unschedulable_pods_stay_pending_with_the_message() {
        let status = unschedulable_status(&pod(), "0/1 nodes are available: x.", "t0");
        assert_eq!(
            status,
            json!({"phase": "Pending",
                   "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                                   "lastTransitionTime": "t0", "reason": "Unschedulable",
                                   "message": "0/1 nodes are available: x."}],
                   "qosClass": "BestEffort"})
        );
    }

    #[test]
    fn init_containers_complete_and_sidecars_run() {
        let mut p = pod();
        p["spec"]["initContainers"] = json!([{"name": "setup", "image": "busybox"},
            {"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]);
        let status = running_status(&p, &facts("t0"));
        assert_eq!(
            status["initContainerStatuses"][0]["state"]["terminated"]["reason"],
            "Completed"
        );
        assert_eq!(
            status["initContainerStatuses"][1]["state"]["running"]["startedAt"],
            "t0"
        );
        assert_eq!(status["conditions"][2]["status"], "True");
    }

    #[test]
    fn crashes_restart_then_back_off_and_the_pod_is_not_ready_meanwhile() {
        let mut p = pod();
        p["status"] = running_status(&p, &facts("t0"));
        let (status, outcome) = crash(&p, "app", "t1").expect("crash");
        assert_eq!(outcome, CrashOutcome::Restarted);
        p["status"] = status;
        p["status"] = running_status(&p, &facts("t1"));
        assert_eq!(p["status"]["containerStatuses"][0]["restartCount"], 1);
        assert_eq!(p["status"]["conditions"][2]["status"], "True");
        let (status, outcome) = crash(&p, "app", "t2").expect("crash");
        assert_eq!(outcome, CrashOutcome::BackOff { seconds: 10 });
        p["status"] = status;
        p["status"] = running_status(&p, &facts("t2"));
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "CrashLoopBackOff"
        );
        assert_eq!(
            p["status"]["conditions"][2]["message"],
            "containers with unready status: [app]"
        );
        assert_eq!(
            crash(&p, "app", "t3"),
            Err(CrashError::NotRunning {
                namespace: "shop".into(),
                pod: "web-0".into(),
                container: "app".into(),
                state: "waiting".into()
            })
        );
        p["status"] = restart_after_backoff(&p, "app", "t4").expect("waiting");
        p["status"] = running_status(&p, &facts("t4"));
        assert_eq!(p["status"]["containerStatuses"][0]["restartCount"], 2);
        assert_eq!(p["status"]["conditions"][2]["status"], "True");
        assert_eq!(restart_after_backoff(&p, "app", "t5"), None);
    }

    #[test]
    fn crashing_an_unknown_container_names_the_known_ones() {
        let mut p = pod();
        p["status"] = running_status(&p, &facts("t0"));
        assert_eq!(
            crash(&p, "nope", "t1").expect_err("unknown").to_string(),
            "pod shop/web-0 has no container named \"nope\" (containers: [\"app\", \"log\"])"
        );
    }

    #[test]
    fn a_lost_node_makes_running_pods_unready() {
        let mut p = pod();
        p["status"] = running_status(&p, &facts("t0"));
        let lost = node_lost_status(&p, "t1").expect("was ready");
        assert_eq!(
            lost["conditions"][2],
            json!({"type": "Ready", "status": "False",
            "lastProbeTime": null, "lastTransitionTime": "t1"})
        );
        p["status"] = lost;
        assert_eq!(node_lost_status(&p, "t2"), None);
    }

    #[test]
    fn stopping_a_pod_terminates_its_containers() {
        let mut p = pod();
        p["status"] = running_status(&p, &facts("t0"));
        let stopped = stopped_status(&p, "t9");
        assert_eq!(stopped["phase"], "Succeeded");
        assert_eq!(
            stopped["containerStatuses"][1]["state"]["terminated"]["finishedAt"],
            "t9"
        );
        assert_eq!(stopped["conditions"][2]["reason"], "PodCompleted");
        assert_eq!(stopped["podIP"], "127.0.0.2");
    }
}
