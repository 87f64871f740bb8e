//! The runtime's side of the test controls (`controls.rs`): each command changes simulated
//! state or writes a node, runs the resulting work at once, and replies.

use serde_json::Value;
use tokio::time::Instant;

use super::container_status::CrashOutcome;
use super::controls::{Command, ControlError};
use super::node_lifecycle::{
    failed_node, failed_node_status, node_is_ready, recovered_node, recovered_node_status,
};
use super::object_fields::{str_at, uid};
use super::pod_lifecycle::{CrashError, RunFacts, crash, running_status};
use super::pod_sync::host_ip;
use super::runtime::{CONTROLLER_MANAGER, KUBELET, Kind, Runtime, SyncError, Work};
use crate::api::Subresource;
use crate::process_runtime::supervisor::ProcessState;
use crate::store::ObjectKey;

/// Attempts of a control's write when it races other writers.
const ATTEMPTS: usize = 5;

impl From<SyncError> for ControlError {
    fn from(error: SyncError) -> ControlError {
        match error {
            SyncError::Write { object, source, .. } => ControlError::Write { object, source },
        }
    }
}

impl Runtime {
    pub(super) fn handle_command(&mut self, command: Command) {
        let (result, reply) = match command {
            Command::SetPodReady {
                namespace,
                name,
                ready,
                reply,
            } => (self.set_pod_ready(&namespace, &name, ready), reply),
            Command::CrashContainer {
                namespace,
                pod,
                container,
                reply,
            } => (self.crash_container(&namespace, &pod, &container), reply),
            Command::FailNode { name, reply } => (self.set_node_failed(&name, true), reply),
            Command::RecoverNode { name, reply } => (self.set_node_failed(&name, false), reply),
            Command::Shutdown => return,
        };
        // The caller may have given up waiting; nothing to do then.
        let _ = reply.send(result);
    }

    fn set_pod_ready(
        &mut self,
        namespace: &str,
        name: &str,
        ready: bool,
    ) -> Result<(), ControlError> {
        let key = ObjectKey::new(namespace, name);
        let pod = self
            .lookup(Kind::Pod, &key)
            .ok_or_else(|| ControlError::PodNotFound {
                namespace: namespace.into(),
                name: name.into(),
            })?;
        if ready {
            self.unready.remove(uid(&pod));
        } else {
            self.unready.insert(uid(&pod).to_string());
        }
        self.mark(Work::Pod(key));
        self.drain();
        Ok(())
    }

    fn crash_container(
        &mut self,
        namespace: &str,
        name: &str,
        container: &str,
    ) -> Result<(), ControlError> {
        let key = ObjectKey::new(namespace, name);
        for _ in 0..ATTEMPTS {
            let pod = self
                .lookup(Kind::Pod, &key)
                .ok_or_else(|| ControlError::PodNotFound {
                    namespace: namespace.into(),
                    name: name.into(),
                })?;
            let node = self.cached(
                Kind::Node,
                &ObjectKey::new("", str_at(&pod, "/spec/nodeName")),
            );
            let running = str_at(&pod, "/status/phase") == "Running";
            let Some(node) = node.filter(|n| running && node_is_ready(n)) else {
                return Err(ControlError::PodNotRunning {
                    namespace: namespace.into(),
                    name: name.into(),
                    phase: str_at(&pod, "/status/phase").into(),
                });
            };
            if let Some(supervisor) = self
                .processes
                .pods
                .get(uid(&pod))
                .and_then(|containers| containers.get(container))
            {
                // A real process: kill it; its supervisor reports the exit and the restart.
                let view = supervisor.view();
                let state = match &view.state {
                    ProcessState::Running { .. } => {
                        supervisor.kill();
                        return Ok(());
                    }
                    ProcessState::Waiting { .. } => "waiting",
                    ProcessState::Terminated(_) => "terminated",
                };
                return Err(ControlError::Crash {
                    source: CrashError::NotRunning {
                        namespace: namespace.into(),
                        pod: name.into(),
                        container: container.into(),
                        state: state.into(),
                    },
                });
            }
            let clock = self.clock();
            let now = clock.timestamp();
            let (status, outcome) =
                crash(&pod, container, &now).map_err(|source| ControlError::Crash { source })?;
            let mut crashed = pod.clone();
            crashed["status"] = status;
            let host = host_ip(&node);
            let pod_uid = uid(&pod).to_string();
            let facts = RunFacts {
                host_ip: &host,
                pod_ip: str_at(&pod, "/status/podIP"),
                unready: self.unready.contains(&pod_uid),
                now: &now,
                processes: &std::collections::BTreeMap::new(),
                probing: &std::collections::BTreeSet::new(),
            };
            let desired = running_status(&crashed, &facts);
            if self.write_status(Kind::Pod, &pod, desired, KUBELET)? {
                if let CrashOutcome::BackOff { seconds } = outcome {
                    let due = Instant::now() + clock.real(seconds as f64);
                    self.backoffs
                        .entry(pod_uid)
                        .or_default()
                        .insert(container.to_string(), due);
                    self.schedule_at(due, Work::Pod(key));
                }
                self.drain();
                return Ok(());
            }
        }
        Err(ControlError::Write {
            object: format!("pods {namespace}/{name}"),
            source: Box::new(crate::error::ApiError::Conflict {
                subject: crate::error::Subject::new("", "pods", name),
                detail: "the pod kept changing while the crash was written".into(),
            }),
        })
    }

    /// Fails (`failed`) or recovers a node: taints first, then the status.
    fn set_node_failed(&mut self, name: &str, failed: bool) -> Result<(), ControlError> {
        let key = ObjectKey::new("", name);
        let now = self.clock().timestamp();
        for step in [Subresource::Main, Subresource::Status] {
            let mut written = false;
            for _ in 0..ATTEMPTS {
                let node = self
                    .lookup(Kind::Node, &key)
                    .ok_or_else(|| ControlError::NodeNotFound { name: name.into() })?;
                let next: Value = match (step, failed) {
                    (Subresource::Main, true) => failed_node(&node, &now),
                    (Subresource::Main, false) => recovered_node(&node),
                    (_, true) => {
                        let mut n = node.clone();
                        n["status"] = failed_node_status(&node, &now);
                        n
                    }
                    (_, false) => {
                        let mut n = node.clone();
                        n["status"] = recovered_node_status(&node, &now);
                        n
                    }
                };
                if next == node {
                    written = true;
                    break;
                }
                if self.update(Kind::Node, next, step, CONTROLLER_MANAGER)? {
                    written = true;
                    break;
                }
            }
            if !written {
                return Err(ControlError::Write {
                    object: format!("nodes/{name}"),
                    source: Box::new(crate::error::ApiError::Conflict {
                        subject: crate::error::Subject::new("", "nodes", name),
                        detail: "the node kept changing while the control was written".into(),
                    }),
                });
            }
        }
        tracing::debug!(node = %name, failed, "node control applied");
        self.drain();
        Ok(())
    }
}
