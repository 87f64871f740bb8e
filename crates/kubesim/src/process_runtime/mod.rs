//! Process runtimes: some containers of simulated pods run as real processes on this machine,
//! so that what the operator deploys can actually be used (the topology store first:
//! spec-controllers.md §2, §5, §6). A runtime is chosen by the container's image
//! ([`RuntimeKind::for_image`]); containers of other images stay simulated.
//!
//! A process-backed container binds the pod's own loopback address (every pod has a unique
//! 127.x.y.z) on its real ports, keeps its data in host folders standing for its volumes
//! (`<root>/volumes/<claim>` for a PersistentVolumeClaim, so data outlives the pod;
//! `<root>/pods/<uid>/...` for emptyDir and the container's own filesystem), is Ready when its
//! readiness probe passes for real, and restarts after its process exits.
//!
//! # Layout
//! - [`container_env`](mod@container_env): the kubelet's env / `$(VAR)` expansion (pure);
//! - [`etcd`]: the etcd runtime's adaptations (pure);
//! - [`probe`]: probe specs, thresholds (pure) and execution;
//! - [`process`]: spawning and killing one process (process groups, parent-death signal);
//! - [`supervisor`]: one container's start / probe / restart loop;
//! - this file: runtime selection and the pure glue from a pod to a start
//!   ([`prepare_launch`], [`container_mounts`], [`container_probes`]).
//!
//! Nothing here talks to the cluster: name resolution arrives as a function, and the kubelet
//! decides when containers start and stop.

pub mod container_env;
pub mod etcd;
pub mod probe;
pub mod process;
pub mod supervisor;

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use container_env::{container_argv, container_env};
use etcd::{EtcdContainer, EtcdLaunchError, Launch, etcd_launch};
use probe::{Probe, ProbeSpecError};
use supervisor::PrepareError;

/// Where Debian's `etcd-server` package installs etcd.
pub const DEFAULT_ETCD_BINARY: &str = "/usr/bin/etcd";

/// The runtimes kubesim has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuntimeKind {
    /// Images matching `*etcd*`, run with the machine's etcd ([`etcd`]).
    Etcd,
}

impl RuntimeKind {
    /// The runtime for a container image, if any.
    pub fn for_image(image: &str) -> Option<RuntimeKind> {
        image.contains("etcd").then_some(RuntimeKind::Etcd)
    }

    /// The HTTP path to probe instead of `path`.
    pub fn probe_path(self, path: &str) -> String {
        match self {
            RuntimeKind::Etcd => etcd::probe_path(path),
        }
    }
}

/// Settings of the process runtimes.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessRuntimeConfig {
    /// Where process data lives (`<root>/volumes/...`, `<root>/pods/...`). `None`: the
    /// server's `<state-dir>/processes`, or a temporary folder removed when the kubelet stops.
    pub root: Option<PathBuf>,
    /// The etcd to run for `*etcd*` images.
    pub etcd_binary: PathBuf,
}

impl Default for ProcessRuntimeConfig {
    fn default() -> Self {
        ProcessRuntimeConfig {
            root: None,
            etcd_binary: PathBuf::from(DEFAULT_ETCD_BINARY),
        }
    }
}

/// The host folder that stands for a container path: the longest volume mount containing it
/// (`mounts`: mountPath → host folder), or the container's own filesystem `rootfs`. `..` never
/// climbs out of the folder.
pub fn host_path(container_path: &str, mounts: &[(String, PathBuf)], rootfs: &Path) -> PathBuf {
    let components = |path: &str| -> Vec<String> {
        Path::new(path)
            .components()
            .filter_map(|c| match c {
                Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    let wanted = components(container_path);
    let best = mounts
        .iter()
        .map(|(mount, host)| (components(mount), host))
        .filter(|(mount, _)| wanted.starts_with(mount))
        .max_by_key(|(mount, _)| mount.len());
    let (base, skip) = match &best {
        Some((mount, host)) => ((*host).clone(), mount.len()),
        None => (rootfs.to_path_buf(), 0),
    };
    wanted[skip..]
        .iter()
        .fold(base, |path, part| path.join(part))
}

fn safe_name(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The folder of a PersistentVolumeClaim's data: `<root>/volumes/<namespace>/<claim>`. Keyed by
/// claim, so a pod that comes back to the same claim (a StatefulSet pod) finds its data.
pub fn claim_dir(root: &Path, namespace: &str, claim: &str) -> PathBuf {
    root.join("volumes")
        .join(safe_name(namespace))
        .join(safe_name(claim))
}

/// The folder of one pod's private data (emptyDirs, container filesystems, logs).
pub fn pod_dir(root: &Path, pod_uid: &str) -> PathBuf {
    root.join("pods").join(safe_name(pod_uid))
}

/// The container's volume mounts as (mountPath, host folder): claims under [`claim_dir`],
/// emptyDirs and every other volume kind under the pod's folder (they start empty: kubesim does
/// not project ConfigMaps or Secrets into files).
pub fn container_mounts(root: &Path, pod: &Value, container: &Value) -> Vec<(String, PathBuf)> {
    let namespace = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let pod_uid = pod
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let volumes = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|mount| {
            let name = mount.get("name")?.as_str()?;
            let mount_path = mount.get("mountPath")?.as_str()?;
            let volume = volumes
                .iter()
                .find(|v| v.get("name").and_then(Value::as_str) == Some(name))?;
            let mut host = match volume
                .pointer("/persistentVolumeClaim/claimName")
                .and_then(Value::as_str)
            {
                Some(claim) => claim_dir(root, namespace, claim),
                None => pod_dir(root, pod_uid).join("volumes").join(safe_name(name)),
            };
            if let Some(sub) = mount.get("subPath").and_then(Value::as_str) {
                host = host_path(sub, &[], &host);
            }
            Some((mount_path.to_string(), host))
        })
        .collect()
}

/// The container's startup, liveness and readiness probes, HTTP paths adapted to the runtime.
pub fn container_probes(
    kind: RuntimeKind,
    container: &Value,
) -> Result<[Option<Probe>; 3], ProbeSpecError> {
    let map = |path: &str| kind.probe_path(path);
    Ok([
        Probe::from_spec(container, "startupProbe", &map)?,
        Probe::from_spec(container, "livenessProbe", &map)?,
        Probe::from_spec(container, "readinessProbe", &map)?,
    ])
}

/// The process to start for `container` of `pod` at `pod_ip`, creating the host folders its
/// data paths need under `root`. `resolve` answers host names (kubesim's DNS and the pod's own
/// name).
pub fn prepare_launch(
    kind: RuntimeKind,
    config: &ProcessRuntimeConfig,
    root: &Path,
    pod: &Value,
    container: &Value,
    pod_ip: IpAddr,
    resolve: &dyn Fn(&str) -> Option<IpAddr>,
) -> Result<Launch, PrepareError> {
    let env = container_env(pod, container, &pod_ip.to_string())
        .map_err(|e| PrepareError::Config(e.to_string()))?;
    let argv = container_argv(container, &env);
    let pod_uid = pod
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let container_name = container
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let rootfs = pod_dir(root, pod_uid)
        .join("containers")
        .join(safe_name(container_name))
        .join("rootfs");
    let mounts = container_mounts(root, pod, container);
    let map = |path: &str| host_path(path, &mounts, &rootfs);
    let launch = match kind {
        RuntimeKind::Etcd => etcd_launch(&EtcdContainer {
            binary: &config.etcd_binary,
            env: &env,
            argv: &argv,
            pod_ip,
            resolve,
            host_path: &map,
        })
        .map_err(|error| match error {
            EtcdLaunchError::Unresolved { .. } => PrepareError::NotYet(error.to_string()),
            other => PrepareError::Config(other.to_string()),
        })?,
    };
    for (_, host) in &mounts {
        std::fs::create_dir_all(host).map_err(|e| {
            PrepareError::Config(format!("failed to create {}: {e}", host.display()))
        })?;
    }
    Ok(launch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn images_choose_their_runtime() {
        assert_eq!(
            RuntimeKind::for_image("gcr.io/etcd-development/etcd:v3.6.7"),
            Some(RuntimeKind::Etcd)
        );
        assert_eq!(
            RuntimeKind::for_image("quay.io/coreos/etcd"),
            Some(RuntimeKind::Etcd)
        );
        assert_eq!(RuntimeKind::for_image("postgres:17"), None);
    }

    #[test]
    fn container_paths_map_onto_the_deepest_mount() {
        let mounts = vec![
            ("/var/lib".to_string(), PathBuf::from("/h/lib")),
            ("/var/lib/etcd".to_string(), PathBuf::from("/h/pvc")),
        ];
        let rootfs = Path::new("/h/rootfs");
        assert_eq!(
            host_path("/var/lib/etcd", &mounts, rootfs),
            PathBuf::from("/h/pvc")
        );
        assert_eq!(
            host_path("/var/lib/etcd/member/../wal", &mounts, rootfs),
            PathBuf::from("/h/pvc/member/wal")
        );
        assert_eq!(
            host_path("/var/lib/x", &mounts, rootfs),
            PathBuf::from("/h/lib/x")
        );
        assert_eq!(
            host_path("/var/lib-other", &mounts, rootfs),
            PathBuf::from("/h/rootfs/var/lib-other")
        );
    }

    #[test]
    fn claims_live_outside_the_pod_and_empty_dirs_inside() {
        let pod = json!({"metadata": {"namespace": "db", "uid": "u-1"},
                         "spec": {"volumes": [
                             {"name": "data", "persistentVolumeClaim": {"claimName": "data-topo-0"}},
                             {"name": "scratch", "emptyDir": {}}]}});
        let container = json!({"volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/etcd"},
            {"name": "scratch", "mountPath": "/tmp", "subPath": "etcd"},
            {"name": "missing", "mountPath": "/x"}]});
        assert_eq!(
            container_mounts(Path::new("/state"), &pod, &container),
            vec![
                (
                    "/var/lib/etcd".to_string(),
                    PathBuf::from("/state/volumes/db/data-topo-0")
                ),
                (
                    "/tmp".to_string(),
                    PathBuf::from("/state/pods/u-1/volumes/scratch/etcd")
                ),
            ]
        );
    }
}
