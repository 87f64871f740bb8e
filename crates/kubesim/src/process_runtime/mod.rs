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
//! - [`container_env`](mod@container_env): the kubelet's env / `$(VAR)` expansion, Secrets and
//!   ConfigMaps included (pure);
//! - [`volume_files`](mod@volume_files): the files of ConfigMap, Secret and projected volumes
//!   (pure);
//! - [`etcd`]: the etcd runtime's adaptations (pure);
//! - [`multigres`]: the multigres runtime's adaptations (pure);
//! - [`operator`](mod@operator): the operator runtime's adaptations and its pod's kubeconfig
//!   (pure);
//! - [`isolation`]: mount plan, namespaces and the pod's user (pure, plus one `unshare` probe);
//! - [`host`]: the tools this machine has, with the fix for each one missing;
//! - [`probe`]: probe specs, thresholds (pure) and execution;
//! - [`process`]: spawning and killing one process (process groups, parent-death signal, the
//!   detached postmaster);
//! - [`supervisor`]: one container's start / probe / restart loop;
//! - this file: runtime selection and the glue from a pod to a start ([`plan_launch`], pure;
//!   [`prepare_launch`], which writes what the plan needs; [`container_mounts`],
//!   [`container_probes`]).
//!
//! Nothing here talks to the cluster: name resolution arrives as a function, and the kubelet
//! decides when containers start and stop.

pub mod container_env;
pub mod etcd;
pub mod host;
pub mod isolation;
pub mod multigres;
pub mod operator;
pub mod probe;
pub mod process;
pub mod supervisor;
pub mod volume_files;

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use container_env::{EnvSources, container_argv, container_env};
use etcd::{EtcdContainer, EtcdLaunchError, Launch, etcd_launch};
use host::HostTools;
use isolation::{Isolation, RunAs, hosts_file, isolate, plan_mounts};
use multigres::{
    MultigresContainer, MultigresImage, MultigresLaunchError, multigres_launch, named_hosts,
    program_of,
};
use operator::{OperatorContainer, PodCredentials, operator_launch, service_account_kubeconfig};
use probe::{Probe, ProbeSpecError};
use supervisor::PrepareError;

/// Where Debian's `etcd-server` package installs etcd.
pub const DEFAULT_ETCD_BINARY: &str = "/usr/bin/etcd";

/// The runtimes kubesim has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuntimeKind {
    /// Images matching `*etcd*`, run with the machine's etcd ([`etcd`]).
    Etcd,
    /// `ghcr.io/multigres/multigres:*` and `ghcr.io/multigres/pgctld:*`, run with binaries
    /// built from multigres' source ([`multigres`]).
    Multigres(MultigresImage),
    /// `ghcr.io/multigres/multigres-operator-rs:*`, run with the locally built operator
    /// ([`operator`](mod@operator)).
    Operator,
}

impl RuntimeKind {
    /// The runtime for a container image, if any.
    pub fn for_image(image: &str) -> Option<RuntimeKind> {
        if let Some(image) = MultigresImage::for_image(image) {
            return Some(RuntimeKind::Multigres(image));
        }
        if operator::is_operator_image(image) {
            return Some(RuntimeKind::Operator);
        }
        image.contains("etcd").then_some(RuntimeKind::Etcd)
    }

    /// The HTTP path to probe instead of `path`.
    pub fn probe_path(self, path: &str) -> String {
        match self {
            RuntimeKind::Etcd => etcd::probe_path(path),
            RuntimeKind::Multigres(_) | RuntimeKind::Operator => path.to_string(),
        }
    }

    /// The program a container of this runtime runs (`etcd`, `multipooler`, `pgctld`, ...).
    pub fn program(self, container: &Value) -> Option<String> {
        match self {
            RuntimeKind::Etcd => Some("etcd".to_string()),
            RuntimeKind::Multigres(image) => {
                let argv = container_argv(container, &[]);
                program_of(image, &argv).ok().map(|(program, _)| program)
            }
            RuntimeKind::Operator => Some(operator::OPERATOR_PROGRAM.to_string()),
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
    /// The folder of the multigres binaries (`multipooler`, `multiorch`, `multigateway`,
    /// `multiadmin`, `pgctld`; kubesim's `--multigres-bin` / `MULTIGRES_BIN_DIR`). `None`:
    /// looked up on `PATH`. Containers of multigres images whose binary is missing stay
    /// simulated (an Event on the pod says why).
    pub multigres_bin: Option<PathBuf>,
    /// The folder of PostgreSQL's server binaries. `None`: Debian's newest
    /// `/usr/lib/postgresql/<major>/bin`, else the folder of `initdb` on `PATH`.
    pub postgres_bin: Option<PathBuf>,
    /// Run multigres processes in private mount and PID namespaces when this machine allows
    /// it (docs/kubesim.md "Isolation"); `false` forces the path-rewriting fallback.
    pub namespaces: bool,
    /// Run containers of multigres images as processes at all; `false` keeps them simulated
    /// without an Event (local mode's `--data-plane simulated`).
    pub multigres: bool,
    /// The `multigres-operator` binary that runs the operator's own pods (kubesim's
    /// `--operator-bin`). `None`: `$MULTIGRES_OPERATOR_BIN`, else `multigres-operator` on
    /// `PATH`; without one, operator pods stay simulated (an Event on the pod says why).
    pub operator_binary: Option<PathBuf>,
}

impl Default for ProcessRuntimeConfig {
    fn default() -> Self {
        ProcessRuntimeConfig {
            root: None,
            etcd_binary: PathBuf::from(DEFAULT_ETCD_BINARY),
            multigres_bin: None,
            postgres_bin: None,
            namespaces: true,
            multigres: true,
            operator_binary: None,
        }
    }
}

impl ProcessRuntimeConfig {
    /// The operator binary operator pods run: [`Self::operator_binary`], else
    /// `$MULTIGRES_OPERATOR_BIN`, else `multigres-operator` on `PATH`; `None` when none is an
    /// executable file. Reads the environment and the disk.
    pub fn find_operator_binary(&self) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let executable = |path: &Path| {
            std::fs::metadata(path)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        };
        if let Some(path) = &self.operator_binary {
            return executable(path).then(|| path.clone());
        }
        if let Some(path) = std::env::var_os(operator::OPERATOR_BIN_ENV).filter(|v| !v.is_empty()) {
            let path = PathBuf::from(path);
            return executable(&path).then_some(path);
        }
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(operator::OPERATOR_PROGRAM))
            .find(|candidate| executable(candidate))
    }

    /// Looks at this machine for the tools these settings name ([`HostTools::detect`]).
    pub fn detect_tools(&self) -> HostTools {
        HostTools::detect(
            self.multigres_bin.as_deref(),
            self.postgres_bin.as_deref(),
            &self.etcd_binary,
            self.namespaces,
        )
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
/// emptyDirs and every other volume kind under the pod's folder (ConfigMap, Secret and
/// projected volumes get their files there: [`volume_files`](mod@volume_files)).
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

/// Everything a container start depends on.
pub struct LaunchInputs<'a> {
    pub kind: RuntimeKind,
    pub config: &'a ProcessRuntimeConfig,
    pub tools: &'a HostTools,
    /// The process runtimes' data folder.
    pub root: &'a Path,
    pub pod: &'a Value,
    pub container: &'a Value,
    pub pod_ip: IpAddr,
    /// A host name's address (kubesim's DNS and the pod's own name).
    pub resolve: &'a dyn Fn(&str) -> Option<IpAddr>,
    /// The Secrets and ConfigMaps of the pod's namespace.
    pub sources: EnvSources<'a>,
    /// Whether a mount point can exist at a container path (user namespaces only).
    pub can_mount_at: &'a dyn Fn(&str) -> bool,
    /// For the operator runtime: its binary and the pod's credentials (`None` for the others;
    /// an operator container without them waits).
    pub operator: Option<OperatorInputs<'a>>,
}

/// What the operator runtime needs beyond a container's spec.
#[derive(Clone, Copy)]
pub struct OperatorInputs<'a> {
    /// The `multigres-operator` binary ([`ProcessRuntimeConfig::find_operator_binary`]).
    pub binary: &'a Path,
    /// kubesim's URL, CA and a token of the pod's ServiceAccount.
    pub credentials: &'a PodCredentials,
}

/// A start, and what must exist on disk before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchPlan {
    pub launch: Launch,
    /// Folders to create (volumes, the process's home).
    pub dirs: Vec<PathBuf>,
    /// Files to write: host path, content, permission bits (volume files, `/etc/hosts`).
    pub files: Vec<(PathBuf, String, u32)>,
    /// Who owns `dirs` and `files` (the pod's user, when kubesim is root): a stand-in for the
    /// fsGroup ownership a kubelet gives volumes.
    pub owner: Option<RunAs>,
}

/// The user a pod's processes run as: the container's `securityContext.runAsUser` /
/// `runAsGroup`, else the pod's, else `default` (the images run as non-root users, and initdb
/// refuses root).
pub fn pod_user(pod: &Value, container: &Value, default: RunAs) -> RunAs {
    let id = |field: &str| {
        container
            .pointer(&format!("/securityContext/{field}"))
            .or_else(|| pod.pointer(&format!("/spec/securityContext/{field}")))
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    };
    let uid = id("runAsUser").unwrap_or(default.0);
    let gid = id("runAsGroup").unwrap_or(if uid == default.0 { default.1 } else { uid });
    (uid, gid)
}

fn str_of<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The volume files of the container's mounts, at their host paths (the kubelet rewrites them
/// when their Secrets and ConfigMaps change).
pub fn mounted_files(
    pod: &Value,
    container: &Value,
    sources: &EnvSources<'_>,
    mounts: &[(String, PathBuf)],
) -> Result<Vec<(PathBuf, String, u32)>, PrepareError> {
    let volumes = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut files = Vec::new();
    for mount in container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let name = str_of(mount, "/name");
        let Some(volume) = volumes.iter().find(|v| str_of(v, "/name") == name) else {
            continue;
        };
        let Some((_, host)) = mounts
            .iter()
            .find(|(path, _)| path == str_of(mount, "/mountPath"))
        else {
            continue;
        };
        let sub = str_of(mount, "/subPath");
        for file in volume_files::volume_files(volume, sources)
            .map_err(|e| PrepareError::Config(e.to_string()))?
        {
            let relative = match sub {
                "" => Some(file.path.as_str()),
                sub => file
                    .path
                    .strip_prefix(sub)
                    .and_then(|rest| rest.strip_prefix('/')),
            };
            if let Some(relative) = relative {
                files.push((host_path(relative, &[], host), file.content, file.mode));
            }
        }
    }
    Ok(files)
}

/// The start of `inputs.container`, planned without touching the disk.
pub fn plan_launch(inputs: &LaunchInputs<'_>) -> Result<LaunchPlan, PrepareError> {
    let pod_ip = inputs.pod_ip;
    let env = container_env(
        inputs.pod,
        inputs.container,
        &pod_ip.to_string(),
        &inputs.sources,
    )
    .map_err(|e| PrepareError::Config(e.to_string()))?;
    let argv = container_argv(inputs.container, &env);
    let pod_uid = str_of(inputs.pod, "/metadata/uid");
    let container_name = str_of(inputs.container, "/name");
    let container_dir = pod_dir(inputs.root, pod_uid)
        .join("containers")
        .join(safe_name(container_name));
    let rootfs = container_dir.join("rootfs");
    let mounts = container_mounts(inputs.root, inputs.pod, inputs.container);
    let mut files = mounted_files(inputs.pod, inputs.container, &inputs.sources, &mounts)?;
    let mut dirs: Vec<PathBuf> = mounts.iter().map(|(_, host)| host.clone()).collect();
    let image = match inputs.kind {
        RuntimeKind::Etcd => {
            let map = |path: &str| host_path(path, &mounts, &rootfs);
            let launch = etcd_launch(&EtcdContainer {
                binary: &inputs.config.etcd_binary,
                env: &env,
                argv: &argv,
                pod_ip,
                resolve: inputs.resolve,
                host_path: &map,
            })
            .map_err(|error| match error {
                EtcdLaunchError::Unresolved { .. } => PrepareError::NotYet(error.to_string()),
                other => PrepareError::Config(other.to_string()),
            })?;
            return Ok(LaunchPlan {
                launch,
                dirs,
                files,
                owner: None,
            });
        }
        RuntimeKind::Multigres(image) => image,
        RuntimeKind::Operator => {
            return plan_operator(inputs, &env, &argv, &mounts, &container_dir, files, dirs);
        }
    };
    let tools = inputs.tools;
    let plan = plan_mounts(&tools.isolation, &mounts, inputs.can_mount_at);
    let rewrite = |path: &str| -> Option<PathBuf> {
        plan.rewritten
            .iter()
            .any(|(mount, _)| Path::new(path).starts_with(mount))
            .then(|| host_path(path, &plan.rewritten, &rootfs))
    };
    let home = container_dir.join("home");
    let launch = multigres_launch(&MultigresContainer {
        image,
        binaries: &tools.binaries,
        env: &env,
        argv: &argv,
        pod_ip,
        resolve: inputs.resolve,
        rewrite_path: &rewrite,
        home: &home,
    })
    .map_err(|error| match error {
        MultigresLaunchError::Unresolved { .. } => PrepareError::NotYet(error.to_string()),
        other => PrepareError::Config(other.to_string()),
    })?;
    dirs.push(home);
    let namespaced = !matches!(tools.isolation, Isolation::None { .. });
    // Without a PID namespace, the postmaster that pgctld starts (and that daemonizes out of
    // its process group) is found through its pid file (spec-local-data-plane.md §3).
    let pid_files = match env.iter().find(|(name, _)| name == "PGDATA") {
        Some((_, pgdata))
            if !namespaced && program_of(image, &argv).is_ok_and(|(p, _)| p == "pgctld") =>
        {
            vec![host_path(pgdata, &mounts, &rootfs).join("postmaster.pid")]
        }
        _ => vec![],
    };
    let hosts = namespaced.then(|| {
        let mut entries: Vec<(String, IpAddr)> = Vec::new();
        let hostname = match str_of(inputs.pod, "/spec/hostname") {
            "" => str_of(inputs.pod, "/metadata/name"),
            h => h,
        };
        if !hostname.is_empty() {
            entries.push((hostname.to_string(), pod_ip));
        }
        for name in named_hosts(&argv) {
            if let Some(ip) = (inputs.resolve)(&name) {
                entries.push((name, ip));
            }
        }
        (container_dir.join("hosts"), hosts_file(&entries))
    });
    let run_as =
        (tools.uid == 0).then(|| pod_user(inputs.pod, inputs.container, tools.default_user));
    let launch = isolate(
        Launch {
            pid_files,
            ..launch
        },
        &tools.isolation,
        &plan,
        hosts.as_ref().map(|(path, _)| path.as_path()),
        run_as,
    );
    if let Some((path, text)) = hosts {
        files.push((path, text, 0o644));
    }
    Ok(LaunchPlan {
        launch,
        dirs,
        files,
        owner: run_as,
    })
}

/// The start of the operator's own container ([`operator`](mod@operator)): its volumes bound at
/// their container paths when the machine allows (the same plan as multigres processes), run as
/// the pod's user when kubesim is root, with the ServiceAccount's kubeconfig beside it.
fn plan_operator(
    inputs: &LaunchInputs<'_>,
    env: &[(String, String)],
    argv: &[String],
    mounts: &[(String, PathBuf)],
    container_dir: &Path,
    mut files: Vec<(PathBuf, String, u32)>,
    mut dirs: Vec<PathBuf>,
) -> Result<LaunchPlan, PrepareError> {
    let Some(operator) = inputs.operator else {
        return Err(PrepareError::NotYet(
            "the operator binary or the pod's ServiceAccount credentials are not there yet"
                .to_string(),
        ));
    };
    let tools = inputs.tools;
    let kubeconfig = container_dir.join("kubeconfig");
    let home = container_dir.join("home");
    let launch = operator_launch(&OperatorContainer {
        binary: operator.binary,
        env,
        argv,
        pod_ip: inputs.pod_ip,
        kubeconfig: &kubeconfig,
        home: &home,
    });
    let plan = plan_mounts(&tools.isolation, mounts, inputs.can_mount_at);
    if let Some((target, _)) = plan.rewritten.first() {
        // The operator reads its certificate folder by the path in its flags; nothing to
        // rewrite it into, so say so instead of starting a process that cannot find it.
        return Err(PrepareError::Config(format!(
            "volume mount {target}: the operator runtime needs mount namespaces to put volumes \
             at their container paths ({:?})",
            tools.isolation
        )));
    }
    let run_as =
        (tools.uid == 0).then(|| pod_user(inputs.pod, inputs.container, tools.default_user));
    let launch = isolate(launch, &tools.isolation, &plan, None, run_as);
    files.push((
        kubeconfig,
        service_account_kubeconfig(
            operator.credentials,
            str_of(inputs.pod, "/metadata/namespace"),
        ),
        0o600,
    ));
    dirs.push(home);
    Ok(LaunchPlan {
        launch,
        dirs,
        files,
        owner: run_as,
    })
}

/// Carries out a plan's disk work: its folders and files, owned by its owner.
pub fn write_plan(plan: &LaunchPlan) -> Result<(), PrepareError> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |what: &str, path: &Path, e: std::io::Error| {
        PrepareError::Config(format!("failed to {what} {}: {e}", path.display()))
    };
    let chown = |path: &Path| -> Result<(), PrepareError> {
        match plan.owner {
            Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| failed("change the owner of", path, e)),
            None => Ok(()),
        }
    };
    for dir in &plan.dirs {
        std::fs::create_dir_all(dir).map_err(|e| failed("create", dir, e))?;
        chown(dir)?;
    }
    for (path, text, mode) in &plan.files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| failed("create", parent, e))?;
        }
        std::fs::write(path, text).map_err(|e| failed("write", path, e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))
            .map_err(|e| failed("set the mode of", path, e))?;
        chown(path)?;
    }
    Ok(())
}

/// The process to start for the container, with the folders and files it needs written.
pub fn prepare_launch(inputs: &LaunchInputs<'_>) -> Result<Launch, PrepareError> {
    let plan = plan_launch(inputs)?;
    write_plan(&plan)?;
    Ok(plan.launch)
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

    fn operator_pod() -> (Value, Value) {
        let container = json!({"name": "manager",
            "image": "ghcr.io/multigres/multigres-operator-rs:0.1.0",
            "command": ["multigres-operator", "run"],
            "args": ["--metrics-bind-address=:8443"],
            "volumeMounts": [{"name": "cert-dir", "mountPath": "/var/run/secrets/webhook",
                              "readOnly": true}]});
        let pod = json!({"metadata": {"name": "op-x", "namespace": "ops", "uid": "u-9"},
            "spec": {"serviceAccountName": "op",
                     "volumes": [{"name": "cert-dir",
                                  "secret": {"secretName": "certs", "optional": true}}],
                     "containers": [container.clone()]}});
        (pod, container)
    }

    fn root_tools() -> HostTools {
        HostTools {
            binaries: Default::default(),
            searched: String::new(),
            locale: true,
            etcd: true,
            isolation: Isolation::Namespaces,
            default_user: (101, 104),
            uid: 0,
        }
    }

    #[test]
    fn the_operator_pod_gets_its_secret_at_its_path_and_its_kubeconfig() {
        let (pod, container) = operator_pod();
        let tools = root_tools();
        let credentials = PodCredentials {
            server: "https://127.0.0.1:6443".into(),
            ca_pem: None,
            token: "t".into(),
        };
        let certs = |name: &str| {
            (name == "certs").then(|| {
                [("tls.crt".to_string(), "CRT".to_string())]
                    .into_iter()
                    .collect()
            })
        };
        let config = ProcessRuntimeConfig::default();
        let inputs = |operator| LaunchInputs {
            kind: RuntimeKind::Operator,
            config: &config,
            tools: &tools,
            root: Path::new("/s"),
            pod: &pod,
            container: &container,
            pod_ip: "127.0.0.9".parse().expect("an address"),
            resolve: &|_| None,
            sources: EnvSources {
                secret: &certs,
                config_map: &|_| None,
            },
            can_mount_at: &|_| true,
            operator,
        };
        assert!(matches!(
            plan_launch(&inputs(None)),
            Err(PrepareError::NotYet(_))
        ));
        let plan = plan_launch(&inputs(Some(OperatorInputs {
            binary: Path::new("/b/multigres-operator"),
            credentials: &credentials,
        })))
        .expect("plans");
        let volume = PathBuf::from("/s/pods/u-9/volumes/cert-dir");
        let container_dir = PathBuf::from("/s/pods/u-9/containers/manager");
        assert_eq!(plan.dirs, vec![volume.clone(), container_dir.join("home")]);
        let files: Vec<(PathBuf, u32)> =
            plan.files.iter().map(|(p, _, m)| (p.clone(), *m)).collect();
        assert_eq!(
            files,
            vec![
                (volume.join("tls.crt"), 0o644),
                (container_dir.join("kubeconfig"), 0o600)
            ]
        );
        assert_eq!(plan.owner, Some((101, 104)));
        assert_eq!(plan.launch.program, PathBuf::from(isolation::UNSHARE));
        let script = plan.launch.args.last().expect("the script");
        assert!(
            script.contains(
                "mount --bind /s/pods/u-9/volumes/cert-dir /var/run/secrets/webhook\n\
                 exec setpriv --reuid=101 --regid=104 --clear-groups --pdeathsig KILL -- \
                 /b/multigres-operator run --metrics-bind-address=127.0.0.9:8443"
            ),
            "{script}"
        );
        assert!(plan.launch.env.contains(&(
            "KUBECONFIG".to_string(),
            container_dir.join("kubeconfig").display().to_string()
        )));
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
