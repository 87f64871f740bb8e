//! The status tree of one MultigresCluster, built from the objects it owns: Cluster →
//! TopoServer / Cells → TableGroups → Shards → pools → pods, each node with its phase or
//! readiness and the conditions that are not True, then the cluster's last Warning events.
//!
//! Pure: objects in, tree out. No I/O, no clock (event order comes from the events' own
//! timestamps), so `local`, `status` and the tests build exactly the same tree from the same
//! objects. Rendering is [`super::render`]'s job.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use multigres_api::conditions::AVAILABLE;
use multigres_api::labels::{
    ANNOTATION_DRAIN_STATE, ANNOTATION_SPEC_HASH, Component, LABEL_APP_COMPONENT, LABEL_CELL,
    LABEL_DATABASE, LABEL_POOL, LABEL_SHARD, LABEL_TABLE_GROUP,
};
use multigres_api::v1alpha1::{Cell, MultigresCluster, Phase, Shard, TableGroup, TopoServer};

use crate::topology::records::{
    MultiPooler, PoolerRole, pod_matches_pooler, pooler_in_shard, pooler_role,
};

/// Everything the tree is built from: the cluster and the objects labelled with its instance
/// (`app.kubernetes.io/instance`), plus the namespace's events and the pooler records of its
/// shards.
#[derive(Clone, Debug, Default)]
pub struct ClusterObjects {
    pub cluster: MultigresCluster,
    pub topo_servers: Vec<TopoServer>,
    pub cells: Vec<Cell>,
    pub table_groups: Vec<TableGroup>,
    pub shards: Vec<Shard>,
    pub deployments: Vec<Deployment>,
    pub stateful_sets: Vec<StatefulSet>,
    pub pods: Vec<Pod>,
    pub events: Vec<Event>,
    /// The pooler records of the cluster's shards as the topology holds them (what multipooler
    /// publishes, spec-wire.md §1.9 T3): the source of the pool pods' roles. `None` when the
    /// topology was not read or could not be reached: the tree then shows no role rather than
    /// an old one.
    pub poolers: Option<Vec<MultiPooler>>,
}

/// How a node is doing, for the marker in front of it and for "is the cluster done".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Healthy, Ready, Running and ready.
    Good,
    /// Not there yet, nothing wrong seen.
    Progressing,
    /// Degraded, crash-looping, invalid, unschedulable.
    Failing,
    /// No status written yet.
    Unknown,
}

/// One line of the tree and what hangs below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `MultigresCluster`, `TopoServer`, `Cell`, `TableGroup`, `Shard`, `multiorch`, `pool`,
    /// `pod`, `multiadmin`, ...
    pub kind: String,
    /// What names the node for a reader (a logical name where one exists).
    pub name: String,
    pub health: Health,
    /// Phase or readiness and counts, e.g. `Healthy, pools 3/3 ready`.
    pub summary: String,
    /// Conditions that are not True, and status messages: `Available=False (Reason): text`.
    pub details: Vec<String>,
    /// A pool pod's role as the topology reports it (`PRIMARY`, `REPLICA`, ...), also in the
    /// summary.
    pub role: Option<String>,
    pub children: Vec<Node>,
}

impl Node {
    fn new(kind: &str, name: impl Into<String>, health: Health, summary: String) -> Node {
        Node {
            kind: kind.to_owned(),
            name: name.into(),
            health,
            summary,
            details: Vec::new(),
            role: None,
            children: Vec::new(),
        }
    }

    /// `kind name`, the node's identity among its siblings.
    pub fn title(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }
}

/// A Warning event about one of the cluster's objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarningEvent {
    /// `Kind/name` of the object the event is about.
    pub regarding: String,
    pub reason: String,
    pub note: String,
    /// How many times it happened (1 without a series).
    pub count: i32,
}

/// The tree of one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    pub root: Node,
    /// The newest Warning events, oldest first.
    pub warnings: Vec<WarningEvent>,
}

impl Tree {
    /// Whether the cluster is Healthy for its current generation: what `local` waits for.
    pub fn converged(&self) -> bool {
        self.root.health == Health::Good
    }
}

/// How many Warning events the tree keeps.
pub const MAX_WARNINGS: usize = 5;

/// Builds the tree of `objects.cluster`.
pub fn build_tree(objects: &ClusterObjects) -> Tree {
    let cluster = &objects.cluster;
    let mut root = cluster_node(cluster);

    for topo in sorted_by_name(&objects.topo_servers) {
        let mut node = phase_node(
            "TopoServer",
            topo.name_any(),
            topo.status.as_ref().and_then(|s| s.phase),
            topo.status
                .as_ref()
                .map(|s| s.observed_generation)
                .unwrap_or_default(),
            topo.metadata.generation,
        );
        let pods = pods_where(objects, |pod| {
            component(pod) == Some(Component::TopoServer.as_str())
                && owned_by_stateful_set_of(pod, objects, &topo.name_any())
        });
        add_readiness(&mut node, &pods, "etcd");
        push_conditions(
            &mut node,
            topo.status
                .as_ref()
                .map(|s| &s.conditions[..])
                .unwrap_or(&[]),
            topo.status.as_ref().map(|s| s.message.as_str()),
        );
        node.children = pods.iter().map(|pod| pod_node(pod, None)).collect();
        root.children.push(node);
    }

    for (component_kind, label) in [
        (Component::Multiadmin, "multiadmin"),
        (Component::MultiadminWeb, "multiadmin-web"),
    ] {
        let pods = pods_where(objects, |pod| {
            component(pod) == Some(component_kind.as_str())
        });
        let deployment = objects.deployments.iter().find(|d| {
            label_of(&d.metadata.labels, LABEL_APP_COMPONENT) == Some(component_kind.as_str())
        });
        if deployment.is_none() && pods.is_empty() {
            continue;
        }
        root.children.push(workload_node(
            label,
            &deployment.map(|d| d.name_any()).unwrap_or_default(),
            deployment,
            &pods,
        ));
    }

    let mut cells: Vec<&Cell> = objects.cells.iter().collect();
    cells.sort_by(|a, b| a.spec.name.as_str().cmp(b.spec.name.as_str()));
    for cell in cells {
        let status = cell.status.as_ref();
        let mut node = phase_node(
            "Cell",
            cell.spec.name.to_string(),
            status.and_then(|s| s.phase),
            status.map(|s| s.observed_generation).unwrap_or_default(),
            cell.metadata.generation,
        );
        if let Some(status) = status {
            node.summary.push_str(&format!(
                ", multigateway {}/{} ready",
                status.gateway_ready_replicas, status.gateway_replicas
            ));
        }
        push_conditions(
            &mut node,
            status.map(|s| &s.conditions[..]).unwrap_or(&[]),
            status.map(|s| s.message.as_str()),
        );
        let pods = pods_where(objects, |pod| {
            component(pod) == Some(Component::Multigateway.as_str())
                && label_of(&pod.metadata.labels, LABEL_CELL) == Some(cell.spec.name.as_str())
        });
        node.children = pods.iter().map(|pod| pod_node(pod, None)).collect();
        root.children.push(node);
    }

    let mut table_groups: Vec<&TableGroup> = objects.table_groups.iter().collect();
    table_groups.sort_by_key(|tg| {
        (
            tg.spec.database_name.to_string(),
            tg.spec.table_group_name.to_string(),
        )
    });
    for table_group in table_groups {
        let status = table_group.status.as_ref();
        let mut node = phase_node(
            "TableGroup",
            format!(
                "{}/{}",
                table_group.spec.database_name, table_group.spec.table_group_name
            ),
            status.and_then(|s| s.phase),
            status.map(|s| s.observed_generation).unwrap_or_default(),
            table_group.metadata.generation,
        );
        if let Some(status) = status {
            node.summary.push_str(&format!(
                ", shards {}/{} ready",
                status.ready_shards, status.total_shards
            ));
        }
        push_conditions(
            &mut node,
            status.map(|s| &s.conditions[..]).unwrap_or(&[]),
            status.map(|s| s.message.as_str()),
        );
        let mut shards: Vec<&Shard> = objects
            .shards
            .iter()
            .filter(|shard| {
                shard.spec.database_name == table_group.spec.database_name
                    && shard.spec.table_group_name == table_group.spec.table_group_name
            })
            .collect();
        shards.sort_by(|a, b| a.spec.shard_name.as_str().cmp(b.spec.shard_name.as_str()));
        node.children = shards.into_iter().map(|s| shard_node(s, objects)).collect();
        root.children.push(node);
    }

    Tree {
        root,
        warnings: warnings(objects),
    }
}

fn cluster_node(cluster: &MultigresCluster) -> Node {
    let status = cluster.status.as_ref();
    let name = format!(
        "{}/{}",
        cluster.namespace().unwrap_or_default(),
        cluster.name_any()
    );
    let conditions = status.map(|s| &s.conditions[..]).unwrap_or(&[]);
    let invalid = conditions
        .iter()
        .find(|c| c.type_ == AVAILABLE && c.status == "False" && c.reason == "InvalidSpec");
    let mut node = match invalid {
        // An invalid spec never gets a phase: the operator waits for a change (style.md §3.4).
        Some(_) => Node::new(
            "MultigresCluster",
            name,
            Health::Failing,
            "Invalid spec".to_owned(),
        ),
        None => phase_node(
            "MultigresCluster",
            name,
            status.and_then(|s| s.phase),
            status.map(|s| s.observed_generation).unwrap_or_default(),
            cluster.metadata.generation,
        ),
    };
    push_conditions(&mut node, conditions, status.map(|s| s.message.as_str()));
    node
}

/// A node for a custom resource with a phase; Healthy only counts once the status describes
/// the current generation (an edit is not carried out before the operator saw it).
fn phase_node(
    kind: &str,
    name: String,
    phase: Option<Phase>,
    observed_generation: i64,
    generation: Option<i64>,
) -> Node {
    let stale = generation.is_some_and(|g| observed_generation < g);
    let (health, mut summary) = match phase {
        None => (Health::Unknown, "no status yet".to_owned()),
        Some(Phase::Healthy) if stale => (Health::Progressing, "Healthy".to_owned()),
        Some(Phase::Healthy) => (Health::Good, "Healthy".to_owned()),
        Some(phase @ (Phase::Initializing | Phase::Progressing)) => {
            (Health::Progressing, phase.as_str().to_owned())
        }
        Some(phase @ Phase::Degraded) => (Health::Failing, phase.as_str().to_owned()),
        Some(phase @ Phase::Unknown) => (Health::Unknown, phase.as_str().to_owned()),
    };
    if stale && phase.is_some() {
        summary.push_str(&format!(
            " (generation {} not observed yet)",
            generation.unwrap_or_default()
        ));
    }
    Node::new(kind, name, health, summary)
}

fn shard_node(shard: &Shard, objects: &ClusterObjects) -> Node {
    let status = shard.status.as_ref();
    let mut node = phase_node(
        "Shard",
        shard.spec.shard_name.to_string(),
        status.and_then(|s| s.phase),
        status.map(|s| s.observed_generation).unwrap_or_default(),
        shard.metadata.generation,
    );
    push_conditions(
        &mut node,
        status.map(|s| &s.conditions[..]).unwrap_or(&[]),
        status.map(|s| s.message.as_str()),
    );
    let in_shard = |pod: &Pod| {
        let labels = &pod.metadata.labels;
        label_of(labels, LABEL_DATABASE) == Some(shard.spec.database_name.as_str())
            && label_of(labels, LABEL_TABLE_GROUP) == Some(shard.spec.table_group_name.as_str())
            && label_of(labels, LABEL_SHARD) == Some(shard.spec.shard_name.as_str())
    };

    // multiorch: one Deployment per cell.
    let orch_pods = pods_where(objects, |pod| {
        component(pod) == Some(Component::Multiorch.as_str()) && in_shard(pod)
    });
    let orch_cells: BTreeSet<&str> = orch_pods
        .iter()
        .filter_map(|pod| label_of(&pod.metadata.labels, LABEL_CELL))
        .collect();
    for cell in orch_cells {
        let pods: Vec<&Pod> = orch_pods
            .iter()
            .copied()
            .filter(|pod| label_of(&pod.metadata.labels, LABEL_CELL) == Some(cell))
            .collect();
        let mut orch = Node::new("multiorch", cell, Health::Unknown, String::new());
        add_readiness(&mut orch, &pods, "");
        orch.summary = orch.summary.trim_start_matches(", ").to_owned();
        orch.children = pods.iter().map(|pod| pod_node(pod, None)).collect();
        node.children.push(orch);
    }

    // Pools: every (pool, cell) the spec asks for, and any seen in pods.
    let mut pools: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (pool, spec) in &shard.spec.pools {
        let replicas = i64::from(
            spec.replicas_per_cell
                .unwrap_or(multigres_api::defaults::controller_fallbacks::POOL_REPLICAS_PER_CELL),
        );
        for cell in &spec.cells {
            pools.insert((pool.to_string(), cell.to_string()), replicas.max(0));
        }
    }
    let pool_pods = pods_where(objects, |pod| {
        component(pod) == Some(Component::ShardPool.as_str()) && in_shard(pod)
    });
    for pod in &pool_pods {
        if let (Some(pool), Some(cell)) = (
            label_of(&pod.metadata.labels, LABEL_POOL),
            label_of(&pod.metadata.labels, LABEL_CELL),
        ) {
            pools.entry((pool.to_owned(), cell.to_owned())).or_insert(0);
        }
    }
    let roles = topology_roles(shard, &pool_pods, objects.poolers.as_deref());
    for ((pool, cell), desired) in pools {
        let pods: Vec<&Pod> = pool_pods
            .iter()
            .copied()
            .filter(|pod| {
                label_of(&pod.metadata.labels, LABEL_POOL) == Some(pool.as_str())
                    && label_of(&pod.metadata.labels, LABEL_CELL) == Some(cell.as_str())
            })
            .collect();
        let ready = pods.iter().filter(|pod| pod_ready(pod)).count();
        let health = if pods.iter().any(|pod| pod_state(pod).0 == Health::Failing) {
            Health::Failing
        } else if i64::try_from(ready).unwrap_or(i64::MAX) >= desired && pods.len() == ready {
            Health::Good
        } else {
            Health::Progressing
        };
        let mut pool_node = Node::new(
            "pool",
            format!("{pool} in {cell}"),
            health,
            format!("{ready}/{desired} ready"),
        );
        let mut sorted = pods.clone();
        sorted.sort_by_key(|pod| (pod_index(&pod.name_any()), pod.name_any()));
        pool_node.children = sorted
            .iter()
            .map(|pod| {
                let role = roles.get(&pod.name_any()).map(String::as_str);
                let mut node = pod_node(pod, role);
                if let Some(index) = pod_index(&pod.name_any()) {
                    node.summary.push_str(&format!(", index {index}"));
                }
                // Each index has its own spec hash (the desired pod names its index), so two
                // pods' hashes say nothing about drift; whether a pod drifted needs the pod the
                // operator would build for that index, which depends on the operator's own
                // environment (spec-controllers.md §7.5, §7.6). What the operator decided shows
                // on the pod: the drain it started for a rolling update or a scale-down (§7.7).
                if let Some(hash) = annotation(pod, ANNOTATION_SPEC_HASH) {
                    node.summary.push_str(&format!(", spec-hash {hash}"));
                }
                if let Some(drain) = annotation(pod, ANNOTATION_DRAIN_STATE) {
                    node.summary.push_str(&format!(", drain {drain}"));
                }
                node
            })
            .collect();
        node.children.push(pool_node);
    }
    node
}

/// A Deployment-backed component of the cluster (multiadmin, multiadmin-web).
fn workload_node(kind: &str, name: &str, deployment: Option<&Deployment>, pods: &[&Pod]) -> Node {
    let mut node = Node::new(kind, name, Health::Unknown, String::new());
    let desired = deployment
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let ready = pods.iter().filter(|pod| pod_ready(pod)).count();
    node.health = if pods.iter().any(|pod| pod_state(pod).0 == Health::Failing) {
        Health::Failing
    } else if i64::try_from(ready).unwrap_or(i64::MAX) >= i64::from(desired) {
        Health::Good
    } else {
        Health::Progressing
    };
    node.summary = format!("{ready}/{desired} ready");
    node.children = pods.iter().map(|pod| pod_node(pod, None)).collect();
    node
}

/// Appends `, <what> r/n ready` for the pods of a component, and fails the node when one of
/// them fails.
fn add_readiness(node: &mut Node, pods: &[&Pod], what: &str) {
    let ready = pods.iter().filter(|pod| pod_ready(pod)).count();
    let what = if what.is_empty() {
        String::new()
    } else {
        format!("{what} ")
    };
    node.summary
        .push_str(&format!(", {what}{ready}/{} ready", pods.len()));
    if pods.iter().any(|pod| pod_state(pod).0 == Health::Failing) {
        node.health = Health::Failing;
    } else if node.health == Health::Unknown {
        node.health = if !pods.is_empty() && ready == pods.len() {
            Health::Good
        } else {
            Health::Progressing
        };
    }
}

fn pod_node(pod: &Pod, role: Option<&str>) -> Node {
    let (health, state) = pod_state(pod);
    let mut summary = state;
    if let Some(role) = role {
        summary.push_str(&format!(", role {role}"));
    }
    let restarts: i32 = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|statuses| statuses.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0);
    if restarts > 0 {
        summary.push_str(&format!(", {restarts} restarts"));
    }
    let mut node = Node::new("pod", pod.name_any(), health, summary);
    node.role = role.map(str::to_owned);
    node
}

/// What a pod is doing, as `kubectl get pods` would summarise it.
fn pod_state(pod: &Pod) -> (Health, String) {
    if pod.metadata.deletion_timestamp.is_some() {
        return (Health::Progressing, "Terminating".to_owned());
    }
    let status = pod.status.as_ref();
    let waiting = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
    if let Some(reason) = waiting {
        let failing = matches!(
            reason.as_str(),
            "CrashLoopBackOff"
                | "ImagePullBackOff"
                | "ErrImagePull"
                | "CreateContainerConfigError"
                | "CreateContainerError"
                | "RunContainerError"
        );
        let health = if failing {
            Health::Failing
        } else {
            Health::Progressing
        };
        return (health, reason);
    }
    let unschedulable = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        });
    if unschedulable {
        return (Health::Failing, "Unschedulable".to_owned());
    }
    if pod_ready(pod) {
        return (Health::Good, "Ready".to_owned());
    }
    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".to_owned());
    match phase.as_str() {
        "Failed" => (Health::Failing, phase),
        "Running" => (Health::Progressing, "Running, not ready".to_owned()),
        _ => (Health::Progressing, phase),
    }
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// The trailing ordinal of a pool pod's name (`...-2` → 2).
fn pod_index(name: &str) -> Option<u32> {
    name.rsplit_once('-')?.1.parse().ok()
}

/// The role of each pool pod of `shard` as its pooler record in the topology says (not the
/// Shard's `status.podRoles`, which is only as fresh as the operator's last pass, and misses a
/// failover that changes no Kubernetes object). A pod matches its record by name, FQDN or
/// service ID ([`pod_matches_pooler`]). A dead primary's record keeps `PRIMARY` until its pod
/// comes back (spec-local-data-plane.md §2): when several pods of the shard claim PRIMARY, the
/// claims of pods that are not Ready are shown as stale.
fn topology_roles(
    shard: &Shard,
    pods: &[&Pod],
    poolers: Option<&[MultiPooler]>,
) -> BTreeMap<String, String> {
    let Some(poolers) = poolers else {
        return BTreeMap::new();
    };
    let spec = &shard.spec;
    let matched: Vec<(&Pod, PoolerRole)> = pods
        .iter()
        .filter_map(|pod| {
            let cell = label_of(&pod.metadata.labels, LABEL_CELL)?;
            let name = pod.name_any();
            let pooler = poolers.iter().find(|pooler| {
                pooler_in_shard(
                    pooler,
                    cell,
                    spec.database_name.as_str(),
                    spec.table_group_name.as_str(),
                    spec.shard_name.as_str(),
                ) && pod_matches_pooler(&name, pooler)
            })?;
            Some((*pod, pooler_role(pooler)))
        })
        .collect();
    let primaries = matched
        .iter()
        .filter(|(_, role)| *role == PoolerRole::Primary)
        .count();
    matched
        .into_iter()
        .map(|(pod, role)| {
            let text = if role == PoolerRole::Primary && primaries > 1 && !pod_ready(pod) {
                format!("{role} (stale record)")
            } else {
                role.to_string()
            };
            (pod.name_any(), text)
        })
        .collect()
}

fn push_conditions(node: &mut Node, conditions: &[Condition], message: Option<&str>) {
    let mut sorted: Vec<&Condition> = conditions.iter().filter(|c| c.status != "True").collect();
    sorted.sort_by(|a, b| a.type_.cmp(&b.type_));
    for condition in sorted {
        let mut line = format!("{}={}", condition.type_, condition.status);
        if !condition.reason.is_empty() {
            line.push_str(&format!(" ({})", condition.reason));
        }
        if !condition.message.is_empty() {
            line.push_str(&format!(": {}", condition.message));
        }
        node.details.push(line);
    }
    if let Some(message) = message.filter(|m| !m.is_empty())
        && node.health != Health::Good
        && !node.details.iter().any(|d| d.contains(message))
    {
        node.details.push(message.to_owned());
    }
}

fn warnings(objects: &ClusterObjects) -> Vec<WarningEvent> {
    let mut names: BTreeSet<(String, String)> = BTreeSet::new();
    let mut add = |kind: &str, name: String| {
        names.insert((kind.to_owned(), name));
    };
    add("MultigresCluster", objects.cluster.name_any());
    objects
        .topo_servers
        .iter()
        .for_each(|o| add("TopoServer", o.name_any()));
    objects.cells.iter().for_each(|o| add("Cell", o.name_any()));
    objects
        .table_groups
        .iter()
        .for_each(|o| add("TableGroup", o.name_any()));
    objects
        .shards
        .iter()
        .for_each(|o| add("Shard", o.name_any()));
    objects.pods.iter().for_each(|o| add("Pod", o.name_any()));
    objects
        .deployments
        .iter()
        .for_each(|o| add("Deployment", o.name_any()));
    objects
        .stateful_sets
        .iter()
        .for_each(|o| add("StatefulSet", o.name_any()));

    let mut events: Vec<&Event> = objects
        .events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| {
                names.contains(&(
                    r.kind.clone().unwrap_or_default(),
                    r.name.clone().unwrap_or_default(),
                ))
            })
        })
        .collect();
    events.sort_by_key(|e| (event_time(e), e.name_any()));
    let skip = events.len().saturating_sub(MAX_WARNINGS);
    events
        .into_iter()
        .skip(skip)
        .map(|e| {
            let regarding = e.regarding.as_ref();
            WarningEvent {
                regarding: format!(
                    "{}/{}",
                    regarding.and_then(|r| r.kind.clone()).unwrap_or_default(),
                    regarding.and_then(|r| r.name.clone()).unwrap_or_default()
                ),
                reason: e.reason.clone().unwrap_or_default(),
                note: e.note.clone().unwrap_or_default(),
                count: e
                    .series
                    .as_ref()
                    .map(|s| s.count)
                    .or(e.deprecated_count)
                    .unwrap_or(1),
            }
        })
        .collect()
}

/// When the event last happened, as text that sorts in time order (RFC 3339 in UTC).
fn event_time(event: &Event) -> String {
    event
        .series
        .as_ref()
        .map(|s| s.last_observed_time.0.to_string())
        .or_else(|| event.event_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| {
            event
                .deprecated_last_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
        })
        .or_else(|| {
            event
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
        })
        .unwrap_or_default()
}

fn sorted_by_name<K: kube::Resource>(objects: &[K]) -> Vec<&K> {
    let mut sorted: Vec<&K> = objects.iter().collect();
    sorted.sort_by_key(|o| o.meta().name.clone());
    sorted
}

fn pods_where(objects: &ClusterObjects, keep: impl Fn(&Pod) -> bool) -> Vec<&Pod> {
    let mut pods: Vec<&Pod> = objects.pods.iter().filter(|pod| keep(pod)).collect();
    pods.sort_by_key(|pod| pod.name_any());
    pods
}

/// Whether `pod` belongs to the etcd StatefulSet of the TopoServer `topo` (the StatefulSet is
/// owned by the TopoServer; its pods by the StatefulSet).
fn owned_by_stateful_set_of(pod: &Pod, objects: &ClusterObjects, topo: &str) -> bool {
    let sets: BTreeSet<String> = objects
        .stateful_sets
        .iter()
        .filter(|set| {
            set.owner_references()
                .iter()
                .any(|o| o.kind == "TopoServer" && o.name == topo)
        })
        .map(|set| set.name_any())
        .collect();
    pod.owner_references()
        .iter()
        .any(|o| o.kind == "StatefulSet" && sets.contains(&o.name))
}

fn component(pod: &Pod) -> Option<&str> {
    label_of(&pod.metadata.labels, LABEL_APP_COMPONENT)
}

fn label_of<'a>(labels: &'a Option<BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
    labels.as_ref()?.get(key).map(String::as_str)
}

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}
