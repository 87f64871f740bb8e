//! Test controls of the simulated kubelet: hold a pod unready (as a failing readiness probe
//! would) and release it, crash a container, fail a node and recover it. Reachable from the
//! [`crate::Handle`] (`handle.kubelet()`) and over HTTP under `/kubesim/v1/` (see
//! `control_http.rs`).
//!
//! A control is a message to the kubelet's runtime task, which owns all simulated state; the
//! call returns once the runtime has written the resulting status (so a test can wait for what
//! follows, such as an eviction, with a deadline).

use tokio::sync::{mpsc, oneshot};

use super::pod_lifecycle::CrashError;
use crate::error::ApiError;

/// Why a control could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("pod {namespace}/{name} not found")]
    PodNotFound { namespace: String, name: String },
    #[error("pod {namespace}/{name} is not running on a Ready node (phase {phase:?})")]
    PodNotRunning {
        namespace: String,
        name: String,
        phase: String,
    },
    #[error("cannot crash the container")]
    Crash {
        #[source]
        source: CrashError,
    },
    #[error("node {name} not found")]
    NodeNotFound { name: String },
    #[error("failed to write {object}")]
    Write {
        object: String,
        #[source]
        source: Box<ApiError>,
    },
    #[error("the simulated kubelet is not running")]
    Stopped,
}

impl ControlError {
    /// The HTTP status code of this error at the control endpoints.
    pub fn code(&self) -> u16 {
        match self {
            ControlError::PodNotFound { .. } | ControlError::NodeNotFound { .. } => 404,
            ControlError::PodNotRunning { .. } | ControlError::Crash { .. } => 409,
            ControlError::Write { source, .. } => source.code(),
            ControlError::Stopped => 503,
        }
    }
}

pub(crate) type Reply = oneshot::Sender<Result<(), ControlError>>;

/// A request to the runtime task.
pub(crate) enum Command {
    SetPodReady {
        namespace: String,
        name: String,
        ready: bool,
        reply: Reply,
    },
    CrashContainer {
        namespace: String,
        pod: String,
        container: String,
        reply: Reply,
    },
    FailNode {
        name: String,
        reply: Reply,
    },
    RecoverNode {
        name: String,
        reply: Reply,
    },
    Shutdown,
}

/// The handle tests use to steer the simulated kubelet. Cheap to clone.
#[derive(Clone, Debug)]
pub struct KubeletControls {
    pub(crate) commands: mpsc::UnboundedSender<Command>,
}

impl KubeletControls {
    async fn send(&self, build: impl FnOnce(Reply) -> Command) -> Result<(), ControlError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(build(reply))
            .map_err(|_| ControlError::Stopped)?;
        answer.await.map_err(|_| ControlError::Stopped)?
    }

    /// Holds the pod not ready (`ready: false`: containers unready, `Ready` and
    /// `ContainersReady` False with `ContainersNotReady`) or releases it (`ready: true`).
    /// Applies to a pod that is not running yet as soon as it runs.
    pub async fn set_pod_ready(
        &self,
        namespace: &str,
        name: &str,
        ready: bool,
    ) -> Result<(), ControlError> {
        self.send(|reply| Command::SetPodReady {
            namespace: namespace.into(),
            name: name.into(),
            ready,
            reply,
        })
        .await
    }

    /// Crashes a running container (exit code 1): the first crash restarts it at once
    /// (`restartCount` + 1, `lastState.terminated`); later ones leave it waiting in
    /// `CrashLoopBackOff` for the kubelet's back-off (10 s, 20 s, ... up to 300 s, scaled).
    /// A container running as a real process (crate::process_runtime) is SIGKILLed instead
    /// (exit code 137) and its status follows the process.
    pub async fn crash_container(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<(), ControlError> {
        self.send(|reply| Command::CrashContainer {
            namespace: namespace.into(),
            pod: pod.into(),
            container: container.into(),
            reply,
        })
        .await
    }

    /// Fails a node: `Ready` Unknown, unreachable taints, its pods not Ready and, once their
    /// toleration runs out, evicted.
    pub async fn fail_node(&self, name: &str) -> Result<(), ControlError> {
        self.send(|reply| Command::FailNode {
            name: name.into(),
            reply,
        })
        .await
    }

    /// Recovers a failed node: `Ready` True, taints removed, its remaining pods Ready again.
    pub async fn recover_node(&self, name: &str) -> Result<(), ControlError> {
        self.send(|reply| Command::RecoverNode {
            name: name.into(),
            reply,
        })
        .await
    }
}
