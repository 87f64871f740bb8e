//! The columns and cells the API server's printers give built-in kinds in `as=Table` replies
//! (kubernetes `pkg/printers/internalversion/printers.go`; rust-ecosystem.md §3.2 "get": kubectl
//! prints the server's cells verbatim). The server always renders the wide cells; kubectl hides
//! columns with a priority above 0 unless `-o wide`.
//!
//! Pure: cells are computed from the stored JSON and the current time (an argument). Kinds
//! without a printer here get the default `Name`/`Created At` table (see the parent module).
//! Defaults the API server would have filled in (a Service's `type: ClusterIP`, a port's
//! `protocol: TCP`) are assumed when absent, since kubesim stores objects as sent.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::human_duration::{between, since};
use crate::semantics::label_selector::label_selector_object_to_string;

/// Where a column's description comes from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Description {
    /// The description of an ObjectMeta field in the OpenAPI schema (`name`,
    /// `creationTimestamp`), as the printers use `metav1.ObjectMeta{}.SwaggerDoc()`.
    Meta(&'static str),
    Text(&'static str),
}

/// One column definition.
#[derive(Clone, Copy, Debug)]
pub(super) struct Column {
    pub name: &'static str,
    pub kind: &'static str,
    pub format: &'static str,
    pub priority: i64,
    pub description: Description,
}

/// The table of one built-in kind.
pub(super) struct Printer {
    pub columns: &'static [Column],
    pub cells: fn(&Value, Timestamp) -> Vec<Value>,
}

const fn col(name: &'static str, kind: &'static str, text: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        priority: 0,
        description: Description::Text(text),
    }
}

const fn wide(name: &'static str, kind: &'static str, text: &'static str) -> Column {
    Column {
        priority: 1,
        ..col(name, kind, text)
    }
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    priority: 0,
    description: Description::Meta("name"),
};

const AGE: Column = Column {
    name: "Age",
    kind: "string",
    format: "",
    priority: 0,
    description: Description::Meta("creationTimestamp"),
};

const CONTAINERS: Column = wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
const IMAGES: Column = wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);

/// The printer of a built-in kind, `None` when the kind uses the default table.
pub(super) fn printer(group: &str, kind: &str) -> Option<&'static Printer> {
    Some(match (group, kind) {
        ("", "Pod") => &POD,
        ("", "Service") => &SERVICE,
        ("", "ConfigMap") => &CONFIG_MAP,
        ("", "Secret") => &SECRET,
        ("", "ServiceAccount") => &SERVICE_ACCOUNT,
        ("", "Namespace") => &NAMESPACE,
        ("", "Node") => &NODE,
        ("", "PersistentVolumeClaim") => &PERSISTENT_VOLUME_CLAIM,
        ("", "PersistentVolume") => &PERSISTENT_VOLUME,
        ("", "Endpoints") => &ENDPOINTS,
        ("", "Event") | ("events.k8s.io", "Event") => &EVENT,
        ("apps", "Deployment") => &DEPLOYMENT,
        ("apps", "StatefulSet") => &STATEFUL_SET,
        ("apps", "ReplicaSet") => &REPLICA_SET,
        ("batch", "Job") => &JOB,
        ("policy", "PodDisruptionBudget") => &POD_DISRUPTION_BUDGET,
        ("coordination.k8s.io", "Lease") => &LEASE,
        ("storage.k8s.io", "StorageClass") => &STORAGE_CLASS,
        ("rbac.authorization.k8s.io", "RoleBinding") => &ROLE_BINDING,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => &CLUSTER_ROLE_BINDING,
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration")
        | ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => &WEBHOOKS,
        _ => return None,
    })
}

fn text<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    at(value, path).and_then(Value::as_str).unwrap_or_default()
}

fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

fn int(value: &Value, path: &[&str]) -> i64 {
    at(value, path).and_then(Value::as_i64).unwrap_or(0)
}

fn items<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn len_of(value: &Value, path: &[&str]) -> usize {
    match at(value, path) {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(o)) => o.len(),
        _ => 0,
    }
}

fn name(object: &Value) -> Value {
    json!(text(object, &["metadata", "name"]))
}

fn age(object: &Value, now: Timestamp) -> Value {
    json!(since(
        at(object, &["metadata", "creationTimestamp"]).and_then(Value::as_str),
        now
    ))
}

fn deleting(object: &Value) -> bool {
    at(object, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_null())
}

fn or_none(text: &str) -> String {
    if text.is_empty() {
        "<none>".to_string()
    } else {
        text.to_string()
    }
}

/// `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty.
fn format_labels(map: Option<&Value>) -> String {
    let pairs: BTreeSet<String> = map
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    or_none(&pairs.into_iter().collect::<Vec<_>>().join(","))
}

/// `metav1.FormatLabelSelector`: the selector text, `<none>` when it selects everything.
fn format_label_selector(selector: Option<&Value>) -> String {
    or_none(
        &selector
            .map(label_selector_object_to_string)
            .unwrap_or_default(),
    )
}

/// `layoutContainerCells`: container names and images, comma separated.
fn container_cells(containers: &[Value]) -> (Value, Value) {
    let names: Vec<&str> = containers.iter().map(|c| text(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, &["image"])).collect();
    (json!(names.join(",")), json!(images.join(",")))
}

/// `helper.GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order.
fn access_modes(modes: &[Value]) -> String {
    let has = |mode: &str| modes.iter().any(|m| m == mode);
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The storage class of a PV or PVC: the beta annotation wins over `spec.storageClassName`.
fn storage_class(object: &Value) -> String {
    at(
        object,
        &[
            "metadata",
            "annotations",
            "volume.beta.kubernetes.io/storage-class",
        ],
    )
    .and_then(Value::as_str)
    .unwrap_or_else(|| text(object, &["spec", "storageClassName"]))
    .to_string()
}

fn opt_text_or(object: &Value, path: &[&str], fallback: &str) -> String {
    at(object, path)
        .and_then(Value::as_str)
        .unwrap_or(fallback)
        .to_string()
}

/// An `IntOrString` as `String()` prints it.
fn int_or_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

static POD: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Ready",
            "string",
            "The aggregate readiness state of this pod for accepting traffic.",
        ),
        col(
            "Status",
            "string",
            "The aggregate status of the containers in this pod.",
        ),
        col(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        AGE,
        wide("IP", "string", "The IP address allocated to the pod."),
        wide("Node", "string", "The node the pod is scheduled to."),
        wide(
            "Nominated Node",
            "string",
            "The node the scheduler nominated for preemption.",
        ),
        wide(
            "Readiness Gates",
            "string",
            "The readiness gates that are true, of those the pod declares.",
        ),
    ],
    cells: pod_cells,
};

fn is_restartable_init(init_containers: &[Value], name: &str) -> bool {
    init_containers
        .iter()
        .any(|c| text(c, &["name"]) == name && text(c, &["restartPolicy"]) == "Always")
}

fn condition_true(conditions: &[Value], kind: &str) -> bool {
    conditions
        .iter()
        .any(|c| text(c, &["type"]) == kind && text(c, &["status"]) == "True")
}

/// Where a container last terminated, to pick the most recent restart.
fn last_terminated(status: &Value) -> Option<&str> {
    at(status, &["lastState", "terminated", "finishedAt"]).and_then(Value::as_str)
}

fn later<'a>(current: Option<&'a str>, candidate: Option<&'a str>) -> Option<&'a str> {
    let parse = |t: &str| t.parse::<Timestamp>().ok();
    match (current, candidate) {
        (Some(c), Some(n)) if parse(n) > parse(c) => Some(n),
        (None, n) => n,
        (c, _) => c,
    }
}

/// `printPod`: READY, STATUS (the reason a user cares about) and RESTARTS as kubectl shows them.
fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let containers = items(pod, &["spec", "containers"]);
    let init_containers = items(pod, &["spec", "initContainers"]);
    let conditions = items(pod, &["status", "conditions"]);
    let phase = text(pod, &["status", "phase"]);
    let mut reason = opt_text_or(pod, &["status", "reason"], phase);
    if reason.is_empty() {
        reason = phase.to_string();
    }
    if conditions
        .iter()
        .any(|c| text(c, &["type"]) == "PodScheduled" && text(c, &["reason"]) == "SchedulingGated")
    {
        reason = "SchedulingGated".to_string();
    }
    let total = containers.len()
        + init_containers
            .iter()
            .filter(|c| text(c, &["restartPolicy"]) == "Always")
            .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart: Option<&str> = None;
    let mut last_sidecar_restart: Option<&str> = None;
    let mut initializing = false;
    let init_statuses = items(pod, &["status", "initContainerStatuses"]);
    for (i, status) in init_statuses.iter().enumerate() {
        let container = text(status, &["name"]);
        let sidecar = is_restartable_init(init_containers, container);
        restarts += int(status, &["restartCount"]);
        last_restart = later(last_restart, last_terminated(status));
        if sidecar {
            sidecar_restarts += int(status, &["restartCount"]);
            last_sidecar_restart = later(last_sidecar_restart, last_terminated(status));
        }
        let terminated = at(status, &["state", "terminated"]);
        let waiting_reason = text(status, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int(t, &["exitCode"]) == 0) {
            continue;
        }
        if sidecar && at(status, &["started"]).and_then(Value::as_bool) == Some(true) {
            if at(status, &["ready"]).and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            let why = text(t, &["reason"]);
            reason = if !why.is_empty() {
                format!("Init:{why}")
            } else if int(t, &["signal"]) != 0 {
                format!("Init:Signal:{}", int(t, &["signal"]))
            } else {
                format!("Init:ExitCode:{}", int(t, &["exitCode"]))
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_containers.len());
        }
        initializing = true;
        break;
    }
    if !initializing || condition_true(conditions, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for status in items(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int(status, &["restartCount"]);
            last_restart = later(last_restart, last_terminated(status));
            let waiting = text(status, &["state", "waiting", "reason"]);
            let terminated = at(status, &["state", "terminated"]);
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                let why = text(t, &["reason"]);
                reason = if !why.is_empty() {
                    why.to_string()
                } else if int(t, &["signal"]) != 0 {
                    format!("Signal:{}", int(t, &["signal"]))
                } else {
                    format!("ExitCode:{}", int(t, &["exitCode"]))
                };
            } else if at(status, &["ready"]).and_then(Value::as_bool) == Some(true)
                && at(status, &["state", "running"]).is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(conditions, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }
    if deleting(pod) && text(pod, &["status", "reason"]) == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting(pod) && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }
    let restarts_text = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };
    let pod_ip = items(pod, &["status", "podIPs"])
        .first()
        .map(|ip| text(ip, &["ip"]))
        .unwrap_or_default();
    let gates = items(pod, &["spec", "readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| {
                let kind = text(g, &["conditionType"]);
                conditions
                    .iter()
                    .find(|c| text(c, &["type"]) == kind)
                    .is_some_and(|c| text(c, &["status"]) == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };
    vec![
        name(pod),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_text),
        age(pod, now),
        json!(or_none(pod_ip)),
        json!(or_none(text(pod, &["spec", "nodeName"]))),
        json!(or_none(text(pod, &["status", "nominatedNodeName"]))),
        json!(readiness_gates),
    ]
}

static SERVICE: Printer = Printer {
    columns: &[
        NAME,
        col("Type", "string", "How the service is exposed."),
        col(
            "Cluster-IP",
            "string",
            "The IP address of the service inside the cluster.",
        ),
        col(
            "External-IP",
            "string",
            "The addresses the service is reachable at from outside the cluster.",
        ),
        col("Port(s)", "string", "The ports the service exposes."),
        AGE,
        wide(
            "Selector",
            "string",
            "The labels of the pods the service routes to.",
        ),
    ],
    cells: service_cells,
};

fn service_cells(service: &Value, now: Timestamp) -> Vec<Value> {
    let kind = opt_text_or(service, &["spec", "type"], "ClusterIP");
    let cluster_ip = items(service, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| "<none>".to_string());
    let external_ips: Vec<&str> = items(service, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let external = match kind.as_str() {
        "ClusterIP" | "NodePort" if !external_ips.is_empty() => external_ips.join(","),
        "ClusterIP" | "NodePort" => "<none>".to_string(),
        "LoadBalancer" => {
            let ingress: BTreeSet<&str> = items(service, &["status", "loadBalancer", "ingress"])
                .iter()
                .map(|i| match text(i, &["ip"]) {
                    "" => text(i, &["hostname"]),
                    ip => ip,
                })
                .filter(|s| !s.is_empty())
                .collect();
            let mut all: Vec<&str> = ingress.into_iter().collect();
            all.extend(external_ips);
            if all.is_empty() {
                "<pending>".to_string()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => text(service, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    };
    let ports: Vec<String> = items(service, &["spec", "ports"])
        .iter()
        .map(|p| {
            let protocol = opt_text_or(p, &["protocol"], "TCP");
            let node_port = int(p, &["nodePort"]);
            if node_port > 0 {
                format!("{}:{node_port}/{protocol}", int(p, &["port"]))
            } else {
                format!("{}/{protocol}", int(p, &["port"]))
            }
        })
        .collect();
    vec![
        name(service),
        json!(kind),
        json!(cluster_ip),
        json!(external),
        json!(or_none(&ports.join(","))),
        age(service, now),
        json!(format_labels(at(service, &["spec", "selector"]))),
    ]
}

static CONFIG_MAP: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Data",
            "string",
            "The number of entries in data and binaryData.",
        ),
        AGE,
    ],
    cells: |cm, now| {
        let count = len_of(cm, &["data"]) + len_of(cm, &["binaryData"]);
        vec![name(cm), json!(count), age(cm, now)]
    },
};

static SECRET: Printer = Printer {
    columns: &[
        NAME,
        col("Type", "string", "The type of the secret."),
        col("Data", "string", "The number of entries in data."),
        AGE,
    ],
    cells: |secret, now| {
        vec![
            name(secret),
            json!(text(secret, &["type"])),
            json!(len_of(secret, &["data"])),
            age(secret, now),
        ]
    },
};

static SERVICE_ACCOUNT: Printer = Printer {
    columns: &[
        NAME,
        col("Secrets", "string", "The number of secrets listed."),
        AGE,
    ],
    cells: |sa, now| vec![name(sa), json!(len_of(sa, &["secrets"])), age(sa, now)],
};

static NAMESPACE: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", "The status of the namespace"),
        AGE,
    ],
    cells: |ns, now| {
        vec![
            name(ns),
            json!(text(ns, &["status", "phase"])),
            age(ns, now),
        ]
    },
};

static NODE: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", "The status of the node"),
        col("Roles", "string", "The roles of the node"),
        AGE,
        col("Version", "string", "The version of the kubelet."),
        wide("Internal-IP", "string", "The internal address of the node."),
        wide("External-IP", "string", "The external address of the node."),
        wide("OS-Image", "string", "The operating system image."),
        wide("Kernel-Version", "string", "The kernel version."),
        wide(
            "Container-Runtime",
            "string",
            "The container runtime version.",
        ),
    ],
    cells: node_cells,
};

fn node_cells(node: &Value, now: Timestamp) -> Vec<Value> {
    let mut status: Vec<String> = items(node, &["status", "conditions"])
        .iter()
        .filter(|c| text(c, &["type"]) == "Ready")
        .take(1)
        .map(|c| {
            if text(c, &["status"]) == "True" {
                "Ready".to_string()
            } else {
                "NotReady".to_string()
            }
        })
        .collect();
    if status.is_empty() {
        status.push("Unknown".to_string());
    }
    if at(node, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled".to_string());
    }
    let roles: BTreeSet<String> = at(node, &["metadata", "labels"])
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| {
                    if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                        (!role.is_empty()).then(|| role.to_string())
                    } else if k == "kubernetes.io/role" {
                        v.as_str().filter(|r| !r.is_empty()).map(str::to_string)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let address = |kind: &str| {
        items(node, &["status", "addresses"])
            .iter()
            .find(|a| text(a, &["type"]) == kind)
            .map(|a| text(a, &["address"]).to_string())
            .unwrap_or_else(|| "<none>".to_string())
    };
    let info = |field: &str| {
        let value = text(node, &["status", "nodeInfo", field]);
        if value.is_empty() {
            "<unknown>".to_string()
        } else {
            value.to_string()
        }
    };
    vec![
        name(node),
        json!(status.join(",")),
        json!(or_none(&roles.into_iter().collect::<Vec<_>>().join(","))),
        age(node, now),
        json!(text(node, &["status", "nodeInfo", "kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

static PERSISTENT_VOLUME_CLAIM: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", "The phase of the claim."),
        col("Volume", "string", "The volume bound to the claim."),
        col("Capacity", "string", "The capacity of the bound volume."),
        col(
            "Access Modes",
            "string",
            "The access modes of the bound volume.",
        ),
        col("StorageClass", "string", "StorageClass of the pvc"),
        col(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pvc",
        ),
        AGE,
        wide(
            "VolumeMode",
            "string",
            "Whether the volume is a filesystem or a block device.",
        ),
    ],
    cells: pvc_cells,
};

fn pvc_cells(pvc: &Value, now: Timestamp) -> Vec<Value> {
    let phase = if deleting(pvc) {
        "Terminating"
    } else {
        text(pvc, &["status", "phase"])
    };
    let volume = text(pvc, &["spec", "volumeName"]);
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            text(pvc, &["status", "capacity", "storage"]).to_string(),
            access_modes(items(pvc, &["status", "accessModes"])),
        )
    };
    vec![
        name(pvc),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class(pvc)),
        json!(opt_text_or(
            pvc,
            &["spec", "volumeAttributesClassName"],
            "<unset>"
        )),
        age(pvc, now),
        json!(opt_text_or(pvc, &["spec", "volumeMode"], "<unset>")),
    ]
}

static PERSISTENT_VOLUME: Printer = Printer {
    columns: &[
        NAME,
        col("Capacity", "string", "The capacity of the volume."),
        col("Access Modes", "string", "The access modes of the volume."),
        col(
            "Reclaim Policy",
            "string",
            "What happens to the volume when released.",
        ),
        col("Status", "string", "The phase of the volume."),
        col("Claim", "string", "The claim bound to the volume."),
        col("StorageClass", "string", "StorageClass of the pv"),
        col(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pv",
        ),
        col("Reason", "string", "Why the volume is in its phase."),
        AGE,
        wide(
            "VolumeMode",
            "string",
            "Whether the volume is a filesystem or a block device.",
        ),
    ],
    cells: pv_cells,
};

fn pv_cells(pv: &Value, now: Timestamp) -> Vec<Value> {
    let claim = match at(pv, &["spec", "claimRef"]) {
        Some(claim) if !claim.is_null() => {
            format!("{}/{}", text(claim, &["namespace"]), text(claim, &["name"]))
        }
        _ => String::new(),
    };
    let phase = if deleting(pv) {
        "Terminating"
    } else {
        text(pv, &["status", "phase"])
    };
    vec![
        name(pv),
        json!(text(pv, &["spec", "capacity", "storage"])),
        json!(access_modes(items(pv, &["spec", "accessModes"]))),
        json!(text(pv, &["spec", "persistentVolumeReclaimPolicy"])),
        json!(phase),
        json!(claim),
        json!(storage_class(pv)),
        json!(opt_text_or(
            pv,
            &["spec", "volumeAttributesClassName"],
            "<unset>"
        )),
        json!(text(pv, &["status", "reason"])),
        age(pv, now),
        json!(opt_text_or(pv, &["spec", "volumeMode"], "<unset>")),
    ]
}

static ENDPOINTS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Endpoints",
            "string",
            "The addresses and ports of the endpoints.",
        ),
        AGE,
    ],
    cells: |endpoints, now| {
        vec![
            name(endpoints),
            json!(format_endpoints(items(endpoints, &["subsets"]))),
            age(endpoints, now),
        ]
    },
};

/// `formatEndpoints`: up to three `ip:port` entries, then `+ N more...`.
fn format_endpoints(subsets: &[Value]) -> String {
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list = Vec::new();
    let mut count = 0;
    let mut more = false;
    for subset in subsets {
        let addresses = items(subset, &["addresses"]);
        let ports = items(subset, &["ports"]);
        let entries: Vec<String> = if ports.is_empty() {
            addresses
                .iter()
                .map(|a| text(a, &["ip"]).to_string())
                .collect()
        } else {
            ports
                .iter()
                .flat_map(|p| {
                    addresses.iter().map(move |a| {
                        let ip = text(a, &["ip"]);
                        if ip.contains(':') {
                            format!("[{ip}]:{}", int(p, &["port"]))
                        } else {
                            format!("{ip}:{}", int(p, &["port"]))
                        }
                    })
                })
                .collect()
        };
        for entry in entries {
            count += 1;
            if list.len() == MAX {
                more = true;
            } else {
                list.push(entry);
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

static EVENT: Printer = Printer {
    columns: &[
        col("Last Seen", "string", "The time the event was last seen."),
        col("Type", "string", "The type of the event (Normal, Warning)."),
        col("Reason", "string", "Why the event happened."),
        col("Object", "string", "The object the event is about."),
        wide(
            "Subobject",
            "string",
            "The part of the object the event is about.",
        ),
        wide("Source", "string", "The component that reported the event."),
        col("Message", "string", "What happened."),
        wide("First Seen", "string", "The time the event was first seen."),
        wide("Count", "string", "How often the event happened."),
        Column {
            priority: 1,
            ..NAME
        },
    ],
    cells: event_cells,
};

/// `printEvent` over the core/v1 form of an Event.
fn event_cells(event: &Value, now: Timestamp) -> Vec<Value> {
    let timestamp = |field: &str| at(event, &[field]).and_then(Value::as_str);
    let first = match timestamp("firstTimestamp") {
        Some(t) => since(Some(t), now),
        None => since(timestamp("eventTime"), now),
    };
    let mut last = match timestamp("lastTimestamp") {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int(event, &["count"]);
    if let Some(series) = at(event, &["series"]).filter(|s| !s.is_null()) {
        last = since(
            at(series, &["lastObservedTime"]).and_then(Value::as_str),
            now,
        );
        count = int(series, &["count"]);
    } else if count == 0 {
        count = 1;
    }
    let kind = text(event, &["involvedObject", "kind"]).to_lowercase();
    let involved = text(event, &["involvedObject", "name"]);
    let target = if involved.is_empty() {
        kind
    } else {
        format!("{kind}/{involved}")
    };
    let component = match text(event, &["source", "component"]) {
        "" => text(event, &["reportingComponent"]),
        c => c,
    };
    let instance = match text(event, &["source", "host"]) {
        "" => text(event, &["reportingInstance"]),
        h => h,
    };
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last),
        json!(text(event, &["type"])),
        json!(text(event, &["reason"])),
        json!(target),
        json!(text(event, &["involvedObject", "fieldPath"])),
        json!(source),
        json!(text(event, &["message"]).trim()),
        json!(first),
        json!(count),
        name(event),
    ]
}

static DEPLOYMENT: Printer = Printer {
    columns: &[
        NAME,
        col("Ready", "string", "Number of the pod with ready state"),
        col("Up-to-date", "string", "The number of updated replicas."),
        col("Available", "string", "The number of available replicas."),
        AGE,
        CONTAINERS,
        IMAGES,
        wide("Selector", "string", "The label selector of the pods."),
    ],
    cells: |deployment, now| {
        let (containers, images) = container_cells(items(
            deployment,
            &["spec", "template", "spec", "containers"],
        ));
        let selector = at(deployment, &["spec", "selector"])
            .map(label_selector_object_to_string)
            .unwrap_or_default();
        vec![
            name(deployment),
            json!(format!(
                "{}/{}",
                int(deployment, &["status", "readyReplicas"]),
                replicas(deployment)
            )),
            json!(int(deployment, &["status", "updatedReplicas"])),
            json!(int(deployment, &["status", "availableReplicas"])),
            age(deployment, now),
            containers,
            images,
            json!(selector),
        ]
    },
};

/// `spec.replicas`, defaulted to 1 as the API server does for workloads.
fn replicas(workload: &Value) -> i64 {
    at(workload, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

static STATEFUL_SET: Printer = Printer {
    columns: &[
        NAME,
        col("Ready", "string", "Number of the pod with ready state"),
        AGE,
        CONTAINERS,
        IMAGES,
    ],
    cells: |sts, now| {
        let (containers, images) =
            container_cells(items(sts, &["spec", "template", "spec", "containers"]));
        vec![
            name(sts),
            json!(format!(
                "{}/{}",
                int(sts, &["status", "readyReplicas"]),
                replicas(sts)
            )),
            age(sts, now),
            containers,
            images,
        ]
    },
};

static REPLICA_SET: Printer = Printer {
    columns: &[
        NAME,
        col("Desired", "integer", "The number of desired replicas."),
        col("Current", "integer", "The number of current replicas."),
        col("Ready", "integer", "The number of ready replicas."),
        AGE,
        CONTAINERS,
        IMAGES,
        wide("Selector", "string", "The label selector of the pods."),
    ],
    cells: |rs, now| {
        let (containers, images) =
            container_cells(items(rs, &["spec", "template", "spec", "containers"]));
        vec![
            name(rs),
            json!(replicas(rs)),
            json!(int(rs, &["status", "replicas"])),
            json!(int(rs, &["status", "readyReplicas"])),
            age(rs, now),
            containers,
            images,
            json!(format_label_selector(at(rs, &["spec", "selector"]))),
        ]
    },
};

static JOB: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", "Status of the job."),
        col("Completions", "string", "The number of succeeded pods."),
        col("Duration", "string", "Time required to complete the job."),
        AGE,
        CONTAINERS,
        IMAGES,
        wide("Selector", "string", "The label selector of the pods."),
    ],
    cells: job_cells,
};

fn job_cells(job: &Value, now: Timestamp) -> Vec<Value> {
    let succeeded = int(job, &["status", "succeeded"]);
    let completions = match at(job, &["spec", "completions"]).and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = int(job, &["spec", "parallelism"]);
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let start = at(job, &["status", "startTime"]).and_then(Value::as_str);
    let end = at(job, &["status", "completionTime"]).and_then(Value::as_str);
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(s), None) => since(Some(s), now),
        (Some(s), Some(e)) => between(Some(s), Some(e)).unwrap_or_default(),
    };
    let conditions = items(job, &["status", "conditions"]);
    let has = |kind: &str| {
        conditions
            .iter()
            .find(|c| text(c, &["type"]) == kind)
            .is_some_and(|c| text(c, &["status"]) == "True")
    };
    let status = if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if deleting(job) {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (containers, images) =
        container_cells(items(job, &["spec", "template", "spec", "containers"]));
    vec![
        name(job),
        json!(status),
        json!(completions),
        json!(duration),
        age(job, now),
        containers,
        images,
        json!(format_label_selector(at(job, &["spec", "selector"]))),
    ]
}

static POD_DISRUPTION_BUDGET: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Min Available",
            "string",
            "The minimum number of pods that must be available.",
        ),
        col(
            "Max Unavailable",
            "string",
            "The maximum number of pods that may be unavailable.",
        ),
        col(
            "Allowed Disruptions",
            "integer",
            "Calculated number of pods that may be disrupted at this time.",
        ),
        AGE,
    ],
    cells: |pdb, now| {
        vec![
            name(pdb),
            json!(
                int_or_string(at(pdb, &["spec", "minAvailable"])).unwrap_or_else(|| "N/A".into())
            ),
            json!(
                int_or_string(at(pdb, &["spec", "maxUnavailable"])).unwrap_or_else(|| "N/A".into())
            ),
            json!(int(pdb, &["status", "disruptionsAllowed"])),
            age(pdb, now),
        ]
    },
};

static LEASE: Printer = Printer {
    columns: &[
        NAME,
        col("Holder", "string", "The holder of the lease."),
        AGE,
    ],
    cells: |lease, now| {
        vec![
            name(lease),
            json!(text(lease, &["spec", "holderIdentity"])),
            age(lease, now),
        ]
    },
};

static STORAGE_CLASS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Provisioner",
            "string",
            "The provisioner of volumes of this class.",
        ),
        col(
            "ReclaimPolicy",
            "string",
            "What happens to released volumes.",
        ),
        col("VolumeBindingMode", "string", "When volumes are bound."),
        col(
            "AllowVolumeExpansion",
            "string",
            "Whether volumes may be expanded.",
        ),
        AGE,
    ],
    cells: |class, now| {
        let default = [
            "storageclass.kubernetes.io/is-default-class",
            "storageclass.beta.kubernetes.io/is-default-class",
        ]
        .iter()
        .any(|key| text(class, &["metadata", "annotations", key]) == "true");
        let mut shown = text(class, &["metadata", "name"]).to_string();
        if default {
            shown.push_str(" (default)");
        }
        vec![
            json!(shown),
            json!(text(class, &["provisioner"])),
            json!(opt_text_or(class, &["reclaimPolicy"], "Delete")),
            json!(opt_text_or(class, &["volumeBindingMode"], "Immediate")),
            json!(
                at(class, &["allowVolumeExpansion"])
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
            age(class, now),
        ]
    },
};

const BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("Role", "string", "The role the binding grants."),
    AGE,
    wide("Users", "string", "Users in the binding"),
    wide("Groups", "string", "Groups in the binding"),
    wide(
        "ServiceAccounts",
        "string",
        "ServiceAccounts in the binding",
    ),
];

static ROLE_BINDING: Printer = Printer {
    columns: BINDING_COLUMNS,
    cells: binding_cells,
};

static CLUSTER_ROLE_BINDING: Printer = Printer {
    columns: BINDING_COLUMNS,
    cells: binding_cells,
};

fn binding_cells(binding: &Value, now: Timestamp) -> Vec<Value> {
    let subjects = items(binding, &["subjects"]);
    let of_kind = |kind: &str| -> Vec<String> {
        subjects
            .iter()
            .filter(|s| text(s, &["kind"]) == kind)
            .map(|s| {
                if kind == "ServiceAccount" {
                    format!("{}/{}", text(s, &["namespace"]), text(s, &["name"]))
                } else {
                    text(s, &["name"]).to_string()
                }
            })
            .collect()
    };
    vec![
        name(binding),
        json!(format!(
            "{}/{}",
            text(binding, &["roleRef", "kind"]),
            text(binding, &["roleRef", "name"])
        )),
        age(binding, now),
        json!(of_kind("User").join(", ")),
        json!(of_kind("Group").join(", ")),
        json!(of_kind("ServiceAccount").join(", ")),
    ]
}

static WEBHOOKS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Webhooks",
            "integer",
            "Webhooks indicates the number of webhooks registered in this configuration",
        ),
        AGE,
    ],
    cells: |config, now| {
        vec![
            name(config),
            json!(len_of(config, &["webhooks"])),
            age(config, now),
        ]
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().expect("valid time")
    }

    fn cells(group: &str, kind: &str, object: Value) -> Vec<Value> {
        let printer = printer(group, kind).expect("printer exists");
        let cells = (printer.cells)(&object, now());
        assert_eq!(
            cells.len(),
            printer.columns.len(),
            "{kind}: one cell per column"
        );
        cells
    }

    #[test]
    fn a_running_pod_shows_ready_containers_and_restarts() {
        let pod = json!({
            "metadata": {"name": "db-0", "creationTimestamp": "2026-03-01T11:55:00Z"},
            "spec": {"nodeName": "node-a", "containers": [{"name": "pg"}, {"name": "agent"}]},
            "status": {
                "phase": "Running",
                "podIPs": [{"ip": "10.0.0.7"}],
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [
                    {"name": "pg", "ready": true, "restartCount": 2, "state": {"running": {}},
                     "lastState": {"terminated": {"finishedAt": "2026-03-01T11:58:00Z"}}},
                    {"name": "agent", "ready": false, "restartCount": 0,
                     "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                ],
            },
        });
        assert_eq!(
            cells("", "Pod", pod),
            vec![
                json!("db-0"),
                json!("1/2"),
                json!("CrashLoopBackOff"),
                json!("2 (2m ago)"),
                json!("5m"),
                json!("10.0.0.7"),
                json!("node-a"),
                json!("<none>"),
                json!("<none>"),
            ]
        );
    }

    #[test]
    fn a_deleting_pending_pod_is_terminating() {
        let pod = json!({
            "metadata": {"name": "p", "creationTimestamp": "2026-03-01T11:59:30Z",
                         "deletionTimestamp": "2026-03-01T12:00:00Z"},
            "spec": {"containers": [{"name": "c"}], "initContainers": [{"name": "i"}]},
            "status": {"phase": "Pending",
                       "initContainerStatuses": [{"name": "i", "state": {"waiting": {"reason": "PodInitializing"}}}]},
        });
        assert_eq!(
            cells("", "Pod", pod)[..5].to_vec(),
            vec![
                json!("p"),
                json!("0/1"),
                json!("Terminating"),
                json!("0"),
                json!("30s")
            ]
        );
    }

    #[test]
    fn services_show_type_addresses_and_ports() {
        let service = json!({
            "metadata": {"name": "pg", "creationTimestamp": "2026-02-27T12:00:00Z"},
            "spec": {"clusterIPs": ["10.96.0.10"], "selector": {"b": "2", "a": "1"},
                     "ports": [{"port": 5432}, {"port": 80, "nodePort": 30080, "protocol": "UDP"}]},
        });
        assert_eq!(
            cells("", "Service", service),
            vec![
                json!("pg"),
                json!("ClusterIP"),
                json!("10.96.0.10"),
                json!("<none>"),
                json!("5432/TCP,80:30080/UDP"),
                json!("2d"),
                json!("a=1,b=2"),
            ]
        );
    }

    #[test]
    fn workloads_count_ready_replicas() {
        let deployment = json!({
            "metadata": {"name": "web", "creationTimestamp": "2026-03-01T09:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "envoy"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
        });
        assert_eq!(
            cells("apps", "Deployment", deployment),
            vec![
                json!("web"),
                json!("2/3"),
                json!(3),
                json!(2),
                json!("3h"),
                json!("a,b"),
                json!("nginx,envoy"),
                json!("app=web"),
            ]
        );
        let sts = json!({"metadata": {"name": "db"}, "spec": {}});
        assert_eq!(
            cells("apps", "StatefulSet", sts),
            vec![
                json!("db"),
                json!("0/1"),
                json!("<unknown>"),
                json!(""),
                json!("")
            ]
        );
    }

    #[test]
    fn nodes_show_readiness_roles_and_version() {
        let node = json!({
            "metadata": {"name": "zone-a-1", "creationTimestamp": "2026-03-01T11:00:00Z",
                         "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.33.0"},
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}]},
        });
        assert_eq!(
            cells("", "Node", node),
            vec![
                json!("zone-a-1"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane,worker"),
                json!("60m"),
                json!("v1.33.0"),
                json!("172.18.0.2"),
                json!("<none>"),
                json!("<unknown>"),
                json!("<unknown>"),
                json!("<unknown>"),
            ]
        );
    }

    #[test]
    fn events_name_their_object_and_source() {
        let event = json!({
            "metadata": {"name": "db.1"},
            "involvedObject": {"kind": "Pod", "name": "db-0", "fieldPath": "spec.containers{pg}"},
            "reason": "Started", "type": "Normal", "message": " started \n",
            "source": {"component": "kubelet", "host": "node-a"},
            "firstTimestamp": "2026-03-01T11:00:00Z", "lastTimestamp": "2026-03-01T11:58:00Z", "count": 4,
        });
        assert_eq!(
            cells("", "Event", event),
            vec![
                json!("2m"),
                json!("Normal"),
                json!("Started"),
                json!("pod/db-0"),
                json!("spec.containers{pg}"),
                json!("kubelet, node-a"),
                json!("started"),
                json!("60m"),
                json!(4),
                json!("db.1"),
            ]
        );
    }

    #[test]
    fn claims_show_bound_capacity_and_class() {
        let pvc = json!({
            "metadata": {"name": "data", "creationTimestamp": "2026-03-01T11:59:00Z"},
            "spec": {"volumeName": "pv-1", "storageClassName": "standard"},
            "status": {"phase": "Bound", "capacity": {"storage": "10Gi"},
                       "accessModes": ["ReadWriteMany", "ReadWriteOnce"]},
        });
        assert_eq!(
            cells("", "PersistentVolumeClaim", pvc),
            vec![
                json!("data"),
                json!("Bound"),
                json!("pv-1"),
                json!("10Gi"),
                json!("RWO,RWX"),
                json!("standard"),
                json!("<unset>"),
                json!("60s"),
                json!("<unset>"),
            ]
        );
    }

    #[test]
    fn small_kinds_show_their_counts() {
        let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}});
        assert_eq!(
            cells("", "ConfigMap", cm),
            vec![json!("c"), json!(3), json!("<unknown>")]
        );
        let class = json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                           "provisioner": "kubesim.io/fake"});
        assert_eq!(
            cells("storage.k8s.io", "StorageClass", class),
            vec![
                json!("standard (default)"),
                json!("kubesim.io/fake"),
                json!("Delete"),
                json!("Immediate"),
                json!(false),
                json!("<unknown>"),
            ]
        );
        let endpoints = json!({"metadata": {"name": "e"}, "subsets": [{
            "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}],
            "ports": [{"port": 80}]}]});
        assert_eq!(
            cells("", "Endpoints", endpoints)[1],
            json!("10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...")
        );
    }
}
