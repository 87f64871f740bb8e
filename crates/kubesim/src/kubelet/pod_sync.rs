//! The runtime's pod work: schedule a pending pod (bind it, or record why it cannot run), run
//! a bound pod on a Ready node (status, IP, crash back-offs), finish a deletion after its
//! grace period (terminal status, then the final delete), and, on a lost node, mark the pod
//! not Ready and evict it when its toleration runs out.
//!
//! Decisions come from `scheduler`, `pod_lifecycle` and `node_lifecycle`; this file only
//! gathers their inputs from the copies and performs the writes.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::node_lifecycle::{disruption_condition, eviction_delay, node_is_ready};
use super::object_fields::{
    controller_uid, is_deleting, name, namespace, pod_claim_names, pod_is_terminal, set_condition,
    str_at, uid,
};
use super::pod_lifecycle::{
    RunFacts, StartStep, creating_status, node_lost_status, restart_after_backoff, running_status,
    scheduled_status, start_step, starting_containers, stopped_status, unschedulable_status,
};
use super::pvc_binder::{SELECTED_NODE_ANNOTATION, default_class};
use super::runtime::{CONTROLLER_MANAGER, KUBELET, Kind, Runtime, SCHEDULER, SyncError, Work};
use super::scheduler::{ClaimState, NodeSlot, schedule};
use super::sim_time::SimClock;
use crate::api::{DeleteOptions, Subresource};
use crate::store::ObjectKey;

/// The node's InternalIP (or its first address).
pub(super) fn host_ip(node: &Value) -> String {
    let addresses = node
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    addresses
        .iter()
        .find(|a| str_at(a, "/type") == "InternalIP")
        .or_else(|| addresses.first())
        .map(|a| str_at(a, "/address").to_string())
        .unwrap_or_default()
}

impl Runtime {
    pub(super) fn sync_pod(&mut self, key: &ObjectKey) -> Result<(), SyncError> {
        let Some(pod) = self.cached(Kind::Pod, key) else {
            return Ok(());
        };
        let node_name = str_at(&pod, "/spec/nodeName").to_string();
        if node_name.is_empty() {
            return if is_deleting(&pod) {
                Ok(())
            } else {
                self.schedule_pod(&pod)
            };
        }
        let Some(node) = self.cached(Kind::Node, &ObjectKey::new("", &node_name)) else {
            // Bound to a node kubesim does not simulate: nothing runs it.
            return Ok(());
        };
        let clock = self.clock();
        if !node_is_ready(&node) {
            return self.sync_pod_on_lost_node(&pod, &node, &clock);
        }
        if is_deleting(&pod) {
            return self.finish_deletion(&pod, &clock);
        }
        if pod_is_terminal(&pod) {
            return Ok(());
        }
        self.start_or_run_pod(&pod, &node, &clock)
    }

    /// The start of a bound pod, one status write per step (pod_lifecycle.rs): scheduled,
    /// containers being created for `container_start_seconds`, then running.
    fn start_or_run_pod(
        &mut self,
        pod: &Value,
        node: &Value,
        clock: &SimClock,
    ) -> Result<(), SyncError> {
        let key = ObjectKey::of(pod);
        let now = clock.timestamp();
        match start_step(pod) {
            StartStep::Schedule => {
                self.write_status(Kind::Pod, pod, scheduled_status(pod, &now), SCHEDULER)?;
                Ok(())
            }
            StartStep::Create => {
                let creating = creating_status(pod, &host_ip(node), &now);
                if self.write_status(Kind::Pod, pod, creating, KUBELET)? {
                    let due = Instant::now() + clock.real(self.config.container_start_seconds);
                    self.creating_until.insert(uid(pod).to_string(), due);
                    self.schedule_at(due, Work::Pod(key));
                }
                Ok(())
            }
            StartStep::Creating => {
                // After a restart of kubesim the wait starts again.
                let due = *self
                    .creating_until
                    .entry(uid(pod).to_string())
                    .or_insert_with(|| {
                        Instant::now() + clock.real(self.config.container_start_seconds)
                    });
                if Instant::now() < due {
                    self.schedule_at(due, Work::Pod(key));
                    return Ok(());
                }
                self.creating_until.remove(uid(pod));
                self.run_pod(pod, node, clock)
            }
            StartStep::Run => self.run_pod(pod, node, clock),
        }
    }

    /// The simulated containers whose readiness probe has not passed: those starting in this
    /// write (their first running status is never ready) and those still in their probe's
    /// initial delay; the pod is synced again when the next one passes.
    fn probing(&mut self, pod: &Value, clock: &SimClock) -> BTreeSet<String> {
        let key = ObjectKey::of(pod);
        let pod_uid = uid(pod).to_string();
        let current = Instant::now();
        let mut probing = BTreeSet::new();
        for (container, initial_delay) in starting_containers(pod) {
            if let Some(delay) = initial_delay {
                let due = current + clock.real(delay);
                self.probe_due
                    .entry(pod_uid.clone())
                    .or_default()
                    .insert(container.clone(), due);
                probing.insert(container);
            }
        }
        if let Some(dues) = self.probe_due.get_mut(&pod_uid) {
            dues.retain(|container, due| {
                if probing.contains(container) || *due > current {
                    probing.insert(container.clone());
                    true
                } else {
                    false
                }
            });
            if let Some(next) = dues.values().min().copied() {
                self.schedule_at(next.max(current), Work::Pod(key));
            }
        }
        probing
    }

    /// The status of a running pod, restarting containers whose back-off ended.
    fn run_pod(&mut self, pod: &Value, node: &Value, clock: &SimClock) -> Result<(), SyncError> {
        let key = ObjectKey::of(pod);
        let pod_uid = uid(pod).to_string();
        let now = clock.timestamp();
        let mut working = pod.clone();
        if let Some(waiting) = self.backoffs.get(&pod_uid).cloned() {
            let current = Instant::now();
            for (container, due) in waiting {
                if due <= current {
                    if let Some(status) = restart_after_backoff(&working, &container, &now) {
                        working["status"] = status;
                    }
                    if let Some(entry) = self.backoffs.get_mut(&pod_uid) {
                        entry.remove(&container);
                    }
                } else {
                    self.schedule_at(due, Work::Pod(key.clone()));
                }
            }
        }
        let host = host_ip(node);
        let pod_ip = if pod.pointer("/spec/hostNetwork") == Some(&Value::Bool(true)) {
            host.clone()
        } else {
            match str_at(pod, "/status/podIP") {
                "" => self
                    .ips
                    .assign_for(&pod_uid, &format!("{}/{}", key.namespace, key.name))
                    .map(|ip| ip.to_string())
                    .unwrap_or_default(),
                ip => ip.to_string(),
            }
        };
        let processes = self.process_statuses(&working, &pod_ip);
        let probing = self.probing(&working, clock);
        let facts = RunFacts {
            host_ip: &host,
            pod_ip: &pod_ip,
            unready: self.unready.contains(&pod_uid),
            now: &now,
            processes: &processes,
            probing: &probing,
        };
        let desired = running_status(&working, &facts);
        if pod.get("status") != Some(&desired) {
            self.write_status(Kind::Pod, pod, desired, KUBELET)?;
        }
        Ok(())
    }

    /// The scheduler's pass over one pending pod.
    fn schedule_pod(&mut self, pod: &Value) -> Result<(), SyncError> {
        if !matches!(str_at(pod, "/spec/schedulerName"), "" | "default-scheduler") {
            return Ok(());
        }
        let placement = {
            let nodes: Vec<&Value> = self.informer(Kind::Node).values().collect();
            let owner = controller_uid(pod);
            let pods = self.informer(Kind::Pod);
            let slots: Vec<NodeSlot<'_>> = nodes
                .iter()
                .map(|node| {
                    let on_node = self.pods_by_node.get(name(node));
                    let count = |same_owner: bool| {
                        on_node.map_or(0, |keys| {
                            keys.iter()
                                .filter_map(|k| pods.get(k))
                                .filter(|p| !pod_is_terminal(p))
                                .filter(|p| {
                                    !same_owner || (owner.is_some() && controller_uid(p) == owner)
                                })
                                .count()
                        })
                    };
                    NodeSlot {
                        node,
                        pods: count(false),
                        pods_of_same_owner: count(true),
                    }
                })
                .collect();
            let claims = self.claim_states(pod);
            let claim_refs: Vec<(String, ClaimState<'_>)> = claims
                .iter()
                .map(|(name, state)| (name.clone(), state.resolve(self)))
                .collect();
            schedule(pod, &slots, &claim_refs)
        };
        match placement {
            Ok(placement) if !placement.claims_to_provision.is_empty() => {
                for claim_name in &placement.claims_to_provision {
                    let key = ObjectKey::new(namespace(pod), claim_name);
                    let Some(claim) = self.cached(Kind::Claim, &key) else {
                        continue;
                    };
                    let pointer = format!(
                        "/metadata/annotations/{}",
                        SELECTED_NODE_ANNOTATION.replace('/', "~1")
                    );
                    if str_at(&claim, &pointer) != placement.node {
                        let mut next = claim.clone();
                        next["metadata"]["annotations"][SELECTED_NODE_ANNOTATION] =
                            json!(placement.node);
                        self.update(Kind::Claim, next, Subresource::Main, SCHEDULER)?;
                    }
                }
                Ok(())
            }
            Ok(placement) => {
                tracing::debug!(pod = %name(pod), namespace = %namespace(pod), node = %placement.node, "scheduled pod");
                let mut bound = pod.clone();
                bound["spec"]["nodeName"] = json!(placement.node);
                self.update(Kind::Pod, bound, Subresource::Main, SCHEDULER)?;
                Ok(())
            }
            Err(unschedulable) => {
                let desired =
                    unschedulable_status(pod, &unschedulable.message, &self.clock().timestamp());
                if pod.get("status") != Some(&desired) {
                    tracing::debug!(pod = %name(pod), namespace = %namespace(pod), message = %unschedulable.message, "pod unschedulable");
                    self.write_status(Kind::Pod, pod, desired, SCHEDULER)?;
                }
                Ok(())
            }
        }
    }

    /// The state of each claim the pod mounts, in volume order.
    fn claim_states(&self, pod: &Value) -> Vec<(String, ClaimLookup)> {
        let classes: Vec<&Value> = self.informer(Kind::StorageClass).values().collect();
        pod_claim_names(pod)
            .into_iter()
            .map(|claim_name| {
                let key = ObjectKey::new(namespace(pod), &claim_name);
                let state = match self.informer(Kind::Claim).get(&key) {
                    None => ClaimLookup::Missing,
                    Some(claim) if is_deleting(claim) => ClaimLookup::Deleting,
                    Some(claim) if str_at(claim, "/status/phase") == "Bound" => {
                        ClaimLookup::Bound(str_at(claim, "/spec/volumeName").to_string())
                    }
                    Some(claim) => {
                        let class = match claim.pointer("/spec/storageClassName") {
                            Some(name) => classes
                                .iter()
                                .find(|c| Some(super::object_fields::name(c)) == name.as_str())
                                .copied(),
                            None => default_class(&classes),
                        };
                        ClaimLookup::Unbound {
                            immediate: class.is_none_or(|c| {
                                str_at(c, "/volumeBindingMode") != "WaitForFirstConsumer"
                            }),
                        }
                    }
                };
                (claim_name, state)
            })
            .collect()
    }

    /// A deleted pod on a Ready node: wait out the grace period (from when the kubelet saw
    /// the deletion), write the terminal status, then confirm with a delete of grace 0.
    fn finish_deletion(&mut self, pod: &Value, clock: &SimClock) -> Result<(), SyncError> {
        let key = ObjectKey::of(pod);
        let grace = pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let has_finalizers = pod
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if grace == 0 && has_finalizers && pod_is_terminal(pod) {
            // Confirmed already; the finalizers' owners decide now.
            return Ok(());
        }
        let first_seen = !self.deletion_seen.contains_key(uid(pod));
        let seen = *self
            .deletion_seen
            .entry(uid(pod).to_string())
            .or_insert_with(Instant::now);
        let due = seen + clock.real(grace as f64);
        if first_seen {
            // The kubelet's kill: SIGTERM now, SIGKILL when the grace period ends.
            self.stop_processes(uid(pod), clock.real(grace as f64));
        }
        if Instant::now() < due {
            self.schedule_at(due, Work::Pod(key));
            return Ok(());
        }
        if !pod_is_terminal(pod) {
            let stopped = stopped_status(pod, &clock.timestamp());
            if !self.write_status(Kind::Pod, pod, stopped, KUBELET)? {
                return Ok(());
            }
        }
        tracing::debug!(pod = %key.name, namespace = %key.namespace, "kubelet confirms pod deletion");
        self.delete(
            Kind::Pod,
            &key,
            &DeleteOptions {
                grace_period_seconds: Some(0),
                precondition_uid: Some(uid(pod).to_string()),
                ..DeleteOptions::default()
            },
        )
    }

    /// A pod whose node stopped reporting: not Ready, and evicted once its toleration of the
    /// NoExecute taint runs out.
    fn sync_pod_on_lost_node(
        &mut self,
        pod: &Value,
        node: &Value,
        clock: &SimClock,
    ) -> Result<(), SyncError> {
        let key = ObjectKey::of(pod);
        let now = clock.timestamp();
        if let Some(status) = node_lost_status(pod, &now)
            && !self.write_status(Kind::Pod, pod, status, CONTROLLER_MANAGER)?
        {
            return Ok(());
        }
        if is_deleting(pod) {
            // The kubelet cannot confirm; the eviction below already deleted at grace 0.
            return Ok(());
        }
        let Some(delay) = eviction_delay(pod, node, clock) else {
            return Ok(());
        };
        if delay > 0.0 {
            self.schedule_at(Instant::now() + clock.real(delay), Work::Pod(key));
            return Ok(());
        }
        let Some(current) = self.cached(Kind::Pod, &key) else {
            return Ok(());
        };
        let mut status = current.get("status").cloned().unwrap_or_else(|| json!({}));
        let mut conditions: Vec<Value> = status
            .get("conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        set_condition(&mut conditions, disruption_condition(&now));
        status["conditions"] = json!(conditions);
        if !self.write_status(Kind::Pod, &current, status, CONTROLLER_MANAGER)? {
            return Ok(());
        }
        tracing::debug!(pod = %key.name, namespace = %key.namespace, node = %name(node), "evicting pod from a lost node");
        self.delete(
            Kind::Pod,
            &key,
            &DeleteOptions {
                grace_period_seconds: Some(0),
                precondition_uid: Some(uid(pod).to_string()),
                ..DeleteOptions::default()
            },
        )
    }
}

/// A claim's state as the runtime finds it, before borrowing the volume object.
pub(super) enum ClaimLookup {
    Missing,
    Deleting,
    Unbound { immediate: bool },
    Bound(String),
}

impl ClaimLookup {
    fn resolve<'a>(&self, runtime: &'a Runtime) -> ClaimState<'a> {
        match self {
            ClaimLookup::Missing => ClaimState::Missing,
            ClaimLookup::Deleting => ClaimState::Deleting,
            ClaimLookup::Unbound { immediate } => ClaimState::Unbound {
                immediate: *immediate,
            },
            ClaimLookup::Bound(volume) => ClaimState::Bound {
                volume: runtime
                    .informer(Kind::Volume)
                    .get(&ObjectKey::new("", volume)),
            },
        }
    }
}
