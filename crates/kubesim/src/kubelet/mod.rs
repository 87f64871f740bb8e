//! The simulated kubelet and the workload controllers a test cluster needs
//! (rust-ecosystem.md §3.3 "Pods and PVCs"): a scheduler (nodeSelector, required node
//! affinity, taints and tolerations; `PodScheduled=False` with the real scheduler's message
//! when nothing fits), a kubelet per node (pods Running and Ready with container statuses,
//! loopback pod IPs, crash back-off, graceful termination confirmed by the final delete), a
//! PersistentVolume binder and provisioner (default class, binding, expansion, reclaim), the
//! Deployment and StatefulSet controllers, and a node lifecycle controller (failed nodes,
//! eviction). Test controls steer it ([`KubeletControls`], also over HTTP).
//!
//! # Layout
//! - Pure decisions, one file per idea: [`scheduler`], [`node_selection`], [`pod_lifecycle`],
//!   [`container_status`], [`pod_ip`], [`pvc_binder`], [`deployment`],
//!   [`statefulset`], [`availability`], [`node_lifecycle`], [`template_hash`], [`sim_time`].
//! - The runtime: one task (`runtime.rs`) fed by in-process watches ([`informer`]), with its
//!   work split by subject (`pod_sync.rs`, `storage_sync.rs`, `workload_sync.rs`,
//!   `control_commands.rs`).
//! - [`controls`] and [`control_http`]: the test controls.
//!
//! It talks to the cluster only through [`Cluster`]'s in-process API (no HTTP, no faults),
//! and must not reach into the store: what it writes is what any client could write.
//!
//! # Time
//! Decisions get the wall-clock time; durations named by objects (grace periods, back-offs,
//! `minReadySeconds`, toleration seconds) are multiplied by [`KubeletConfig::time_scale`], so
//! a test can run a 30 s grace period in 0.3 s with a scale of 0.01 and still see it honoured.

pub mod availability;
pub mod container_status;
mod control_commands;
pub mod control_http;
pub mod controls;
pub mod deployment;
pub mod informer;
pub mod node_lifecycle;
pub mod node_selection;
pub mod object_fields;
pub mod pod_ip;
pub mod pod_lifecycle;
mod pod_sync;
mod process_sync;
pub mod pvc_binder;
pub mod replica_set;
mod runtime;
pub mod scheduler;
pub mod sim_time;
pub mod statefulset;
mod storage_sync;
pub mod template_hash;
mod workload_sync;

use std::collections::BTreeMap;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use controls::{ControlError, KubeletControls};
pub use process_sync::ApiAccess;

use crate::api::Cluster;
use crate::error::ApiError;
use controls::Command;
use runtime::{Kind, Runtime};

/// Settings of the simulated kubelet.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeletConfig {
    /// Real seconds per simulated second for the durations objects name (1.0: real time).
    pub time_scale: f64,
    /// Run containers whose image has a process runtime as real processes
    /// (crate::process_runtime); `None`: every container is simulated.
    pub processes: Option<crate::process_runtime::ProcessRuntimeConfig>,
    /// Simulated seconds a pod's containers spend being created (`ContainerCreating`) before
    /// they run; scaled by `time_scale` like every other duration.
    pub container_start_seconds: f64,
}

/// The default of [`KubeletConfig::container_start_seconds`]: long enough for a watcher to
/// see `ContainerCreating`, short next to a real image pull.
pub const CONTAINER_START_SECONDS: f64 = 0.5;

impl Default for KubeletConfig {
    fn default() -> Self {
        KubeletConfig::with_time_scale(1.0)
    }
}

impl KubeletConfig {
    /// A configuration with this time scale.
    pub fn with_time_scale(time_scale: f64) -> KubeletConfig {
        KubeletConfig {
            time_scale,
            processes: None,
            container_start_seconds: CONTAINER_START_SECONDS,
        }
    }

    /// The same configuration with containers created in `seconds` (simulated).
    pub fn with_container_start(mut self, seconds: f64) -> KubeletConfig {
        self.container_start_seconds = seconds;
        self
    }

    /// The same configuration with process runtimes on.
    pub fn with_processes(
        mut self,
        processes: crate::process_runtime::ProcessRuntimeConfig,
    ) -> KubeletConfig {
        self.processes = Some(processes);
        self
    }
}

/// Why the kubelet could not start.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    #[error("kubelet time scale {value} is invalid: it must be a finite number greater than 0")]
    TimeScale { value: f64 },
    #[error("failed to create a temporary folder for the process runtimes' data")]
    ProcessRoot {
        #[source]
        source: std::io::Error,
    },
    #[error("the cluster does not serve {resource}, which the kubelet watches")]
    Resource {
        resource: String,
        #[source]
        source: Box<ApiError>,
    },
}

/// A running simulated kubelet (its task and its controls).
#[derive(Debug)]
pub struct Kubelet {
    controls: KubeletControls,
    task: JoinHandle<()>,
    /// The process runtimes' data when no folder was given: removed after the task stops.
    _process_root: Option<tempfile::TempDir>,
}

impl Kubelet {
    /// Starts the runtime task on `cluster`. Needs a tokio runtime.
    pub fn start(cluster: Cluster, config: KubeletConfig) -> Result<Kubelet, KubeletError> {
        Kubelet::start_with_api(cluster, config, None)
    }

    /// [`Kubelet::start`], with how the pods it runs as processes reach the API server (the
    /// operator runtime's ServiceAccount kubeconfig); without it operator pods wait.
    pub fn start_with_api(
        cluster: Cluster,
        config: KubeletConfig,
        api: Option<ApiAccess>,
    ) -> Result<Kubelet, KubeletError> {
        if !(config.time_scale.is_finite() && config.time_scale > 0.0) {
            return Err(KubeletError::TimeScale {
                value: config.time_scale,
            });
        }
        let mut defs = BTreeMap::new();
        for kind in [
            Kind::Node,
            Kind::StorageClass,
            Kind::Volume,
            Kind::Claim,
            Kind::Pod,
            Kind::Deployment,
            Kind::ReplicaSet,
            Kind::StatefulSet,
        ] {
            let (group, version, plural) = kind.resource();
            let def = cluster.resource(group, version, plural).map_err(|source| {
                KubeletError::Resource {
                    resource: crate::resources::api_version(group, version) + "/" + plural,
                    source: Box::new(source),
                }
            })?;
            defs.insert(kind, def);
        }
        let (process_root, temporary) = match config.processes.as_ref().map(|p| p.root.clone()) {
            Some(Some(root)) => (root, None),
            Some(None) => {
                let dir = tempfile::Builder::new()
                    .prefix("kubesim-processes-")
                    .tempdir()
                    .map_err(|source| KubeletError::ProcessRoot { source })?;
                (dir.path().to_path_buf(), Some(dir))
            }
            None => (std::path::PathBuf::new(), None),
        };
        let (commands, receiver) = mpsc::unbounded_channel();
        // What this machine has for the process runtimes, learned once (spec-local-data-plane.md
        // §3 "Host prerequisites"); what a multigres data plane would miss is logged with its fix.
        let tools = config.processes.as_ref().map(|processes| {
            let tools = processes.detect_tools();
            for missing in tools.missing_for_data_plane() {
                tracing::info!(%missing, "multigres pods will stay simulated without this");
            }
            tracing::info!(isolation = ?tools.isolation, "process runtime isolation");
            tools
        });
        let mut runtime = Runtime::new(cluster, config, defs, receiver, process_root, tools);
        runtime.processes.api = api;
        let task = tokio::spawn(runtime.run());
        Ok(Kubelet {
            controls: KubeletControls { commands },
            task,
            _process_root: temporary,
        })
    }

    pub fn controls(&self) -> &KubeletControls {
        &self.controls
    }

    /// Stops the runtime task and waits for it.
    pub async fn shutdown(self) {
        let _ = self.controls.commands.send(Command::Shutdown);
        if let Err(error) = self.task.await {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "kubelet task failed"
            );
        }
    }
}
