//! What a container process sees of this machine: its volumes at their container paths and a
//! PID namespace of its own, when the machine allows it (spec-local-data-plane.md §3, "Volumes
//! and paths" and "The pgctld/postgres relationship").
//!
//! - [`Isolation::Namespaces`] (kubesim runs as root): the process runs under util-linux
//!   `unshare` in private mount and PID namespaces. Each volume is bind-mounted at its
//!   container path (`/backups`, `/var/lib/pooler`, ...: paths written into topology records,
//!   such as the Database's backup location, need no rewriting), a generated `/etc/hosts`
//!   names the cluster Services the process will look up, and the program runs as the pod's
//!   non-root user (`setpriv`). The PID namespace makes PostgreSQL's postmaster, which
//!   daemonizes out of pgctld's process group, part of its container: when the container's
//!   first process ends, the kernel kills everything left in the namespace, as a container
//!   runtime does.
//! - [`Isolation::UserNamespaces`] (kubesim is not root but may create user namespaces): the
//!   same inside a user namespace. Mount points that do not exist on the host cannot be
//!   created there, so those volumes fall back to path rewriting; the program runs in a nested
//!   user namespace mapped to kubesim's own uid (initdb refuses uid 0, even a mapped one).
//! - [`Isolation::None`]: volumes are reached through rewritten paths in flags and variables,
//!   and the postmaster is found through its `postmaster.pid` file and killed with the
//!   container ([`super::process`]); if kubesim itself is killed, PostgreSQL survives it.
//!
//! [`plan_mounts`] and [`isolate`] are pure; [`probe_isolation`] runs `unshare` once to learn
//! what the machine allows.

use std::path::{Path, PathBuf};

use super::etcd::Launch;

/// util-linux's unshare.
pub const UNSHARE: &str = "/usr/bin/unshare";

/// What the machine lets kubesim do for a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Mount and PID namespaces, as root.
    Namespaces,
    /// Mount and PID namespaces inside a user namespace (not root).
    UserNamespaces { uid: u32, gid: u32 },
    /// No namespaces: why.
    None { reason: String },
}

/// A volume bind-mounted at its container path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub target: String,
}

/// How each of a container's volumes reaches its process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountPlan {
    /// Mounted at the container path.
    pub binds: Vec<Bind>,
    /// Reached by rewriting container paths into host paths (mountPath → host folder).
    pub rewritten: Vec<(String, PathBuf)>,
}

/// The plan for `mounts` (mountPath → host folder). `can_mount_at` says whether a mount point
/// can exist under user namespaces (it exists already, or its parent is writable).
pub fn plan_mounts(
    isolation: &Isolation,
    mounts: &[(String, PathBuf)],
    can_mount_at: &dyn Fn(&str) -> bool,
) -> MountPlan {
    let mut plan = MountPlan::default();
    for (target, source) in mounts {
        let bind = match isolation {
            Isolation::Namespaces => true,
            Isolation::UserNamespaces { .. } => can_mount_at(target),
            Isolation::None { .. } => false,
        };
        if bind {
            plan.binds.push(Bind {
                source: source.clone(),
                target: target.clone(),
            });
        } else {
            plan.rewritten.push((target.clone(), source.clone()));
        }
    }
    plan
}

/// A word quoted for `sh`.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The user a process runs as (uid, gid).
pub type RunAs = (u32, u32);

/// `launch` wrapped for `isolation`: under namespaces, `unshare` runs a short `sh` script that
/// bind-mounts the plan's volumes (creating their mount points) and `hosts` over `/etc/hosts`,
/// then execs the program as `run_as`. Without namespaces the launch is unchanged, and
/// `run_as` is applied by the spawner ([`Launch::run_as`]).
pub fn isolate(
    launch: Launch,
    isolation: &Isolation,
    plan: &MountPlan,
    hosts: Option<&Path>,
    run_as: Option<RunAs>,
) -> Launch {
    let user_namespace = match isolation {
        Isolation::None { .. } => {
            return Launch { run_as, ..launch };
        }
        Isolation::Namespaces => None,
        Isolation::UserNamespaces { uid, gid } => Some((*uid, *gid)),
    };
    let mut script = vec!["set -e".to_string()];
    for bind in &plan.binds {
        let target = shell_quote(&bind.target);
        script.push(format!("mkdir -p {target}"));
        script.push(format!(
            "mount --bind {} {target}",
            shell_quote(&bind.source.to_string_lossy())
        ));
    }
    if let Some(hosts) = hosts {
        script.push(format!(
            "mount --bind {} /etc/hosts",
            shell_quote(&hosts.to_string_lossy())
        ));
    }
    let mut exec: Vec<String> = vec!["exec".into()];
    match (user_namespace, run_as) {
        (Some((uid, gid)), _) => exec.extend([
            UNSHARE.to_string(),
            "--user".into(),
            format!("--map-user={uid}"),
            format!("--map-group={gid}"),
            "--".into(),
        ]),
        // The parent-death signal is cleared by a change of user, so setpriv sets it again.
        (None, Some((uid, gid))) => exec.extend([
            "setpriv".to_string(),
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--clear-groups".into(),
            "--pdeathsig".into(),
            "KILL".into(),
            "--".into(),
        ]),
        (None, None) => {}
    }
    exec.push(launch.program.to_string_lossy().into_owned());
    exec.extend(launch.args.iter().cloned());
    script.push(
        exec.iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let mut args: Vec<String> = Vec::new();
    if user_namespace.is_some() {
        args.extend(["--user".into(), "--map-root-user".into()]);
    }
    args.extend(
        [
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child=KILL",
            "--mount-proc",
            "--",
            "/bin/sh",
            "-c",
        ]
        .map(String::from),
    );
    args.push(script.join("\n"));
    Launch {
        program: PathBuf::from(UNSHARE),
        args,
        env: launch.env,
        run_as: None,
        // The PID namespace takes the postmaster with it.
        pid_files: vec![],
    }
}

/// The `/etc/hosts` of a process: localhost, then each name with its address.
pub fn hosts_file(entries: &[(String, std::net::IpAddr)]) -> String {
    let mut text =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (name, ip) in entries {
        text.push_str(&format!("{ip}\t{name}\n"));
    }
    text
}

/// What this machine allows, learned by running `unshare` once (the same namespaces the
/// processes get). `uid`/`gid` are kubesim's own.
pub fn probe_isolation(uid: u32, gid: u32) -> Isolation {
    if !Path::new(UNSHARE).exists() {
        return Isolation::None {
            reason: format!("{UNSHARE} not found (install util-linux)"),
        };
    }
    let mut command = std::process::Command::new(UNSHARE);
    if uid != 0 {
        command.args(["--user", "--map-root-user"]);
    }
    command.args([
        "--mount",
        "--propagation",
        "private",
        "--pid",
        "--fork",
        "--mount-proc",
        "--",
        "/bin/true",
    ]);
    match command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
    {
        Ok(output) if output.status.success() => {
            if uid == 0 {
                Isolation::Namespaces
            } else {
                Isolation::UserNamespaces { uid, gid }
            }
        }
        Ok(output) => Isolation::None {
            reason: format!(
                "unshare refused mount/PID namespaces{}: {}",
                if uid == 0 { "" } else { " in a user namespace" },
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        },
        Err(error) => Isolation::None {
            reason: format!("failed to run {UNSHARE}: {error}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn mounts() -> Vec<(String, PathBuf)> {
        vec![
            (
                "/var/lib/pooler".into(),
                PathBuf::from("/s/volumes/db/data-0"),
            ),
            (
                "/backups".into(),
                PathBuf::from("/s/volumes/db/backup-data"),
            ),
        ]
    }

    #[test]
    fn the_plan_binds_under_namespaces_and_rewrites_otherwise() {
        let binds = plan_mounts(&Isolation::Namespaces, &mounts(), &|_| false);
        assert_eq!((binds.binds.len(), binds.rewritten.len()), (2, 0));
        let user = plan_mounts(
            &Isolation::UserNamespaces {
                uid: 1000,
                gid: 1000,
            },
            &mounts(),
            &|target| target == "/var/lib/pooler",
        );
        assert_eq!(
            user,
            MountPlan {
                binds: vec![Bind {
                    source: PathBuf::from("/s/volumes/db/data-0"),
                    target: "/var/lib/pooler".into()
                }],
                rewritten: vec![(
                    "/backups".into(),
                    PathBuf::from("/s/volumes/db/backup-data")
                )],
            }
        );
        let none = plan_mounts(&Isolation::None { reason: "x".into() }, &mounts(), &|_| {
            true
        });
        assert_eq!(none.rewritten, mounts());
    }

    #[test]
    fn words_are_quoted_for_sh() {
        assert_eq!(shell_quote("--pg-port=5432"), "--pg-port=5432");
        assert_eq!(shell_quote("*"), "'*'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    fn launch() -> Launch {
        Launch {
            program: PathBuf::from("/opt/mg/pgctld"),
            args: vec!["server".into(), "--pg-listen-addresses=127.0.0.5".into()],
            env: vec![("PGDATA".into(), "/var/lib/pooler/pg_data".into())],
            run_as: None,
            pid_files: vec![PathBuf::from("/s/volumes/db/data-0/pg_data/postmaster.pid")],
        }
    }

    #[test]
    fn namespaces_mount_then_exec_as_the_pod_user() {
        let plan = plan_mounts(&Isolation::Namespaces, &mounts(), &|_| true);
        let wrapped = isolate(
            launch(),
            &Isolation::Namespaces,
            &plan,
            Some(Path::new("/s/pods/u/hosts")),
            Some((101, 104)),
        );
        assert_eq!(wrapped.program, PathBuf::from(UNSHARE));
        assert_eq!(
            wrapped.args,
            vec![
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--fork",
                "--kill-child=KILL",
                "--mount-proc",
                "--",
                "/bin/sh",
                "-c",
                "set -e\n\
                 mkdir -p /var/lib/pooler\n\
                 mount --bind /s/volumes/db/data-0 /var/lib/pooler\n\
                 mkdir -p /backups\n\
                 mount --bind /s/volumes/db/backup-data /backups\n\
                 mount --bind /s/pods/u/hosts /etc/hosts\n\
                 exec setpriv --reuid=101 --regid=104 --clear-groups --pdeathsig KILL -- \
                 /opt/mg/pgctld server --pg-listen-addresses=127.0.0.5"
            ]
        );
        assert_eq!((wrapped.run_as, wrapped.pid_files.len()), (None, 0));
        assert_eq!(wrapped.env, launch().env);
    }

    #[test]
    fn user_namespaces_run_the_program_as_the_mapped_user() {
        let isolation = Isolation::UserNamespaces {
            uid: 1000,
            gid: 1000,
        };
        let wrapped = isolate(
            launch(),
            &isolation,
            &MountPlan::default(),
            None,
            Some((101, 104)),
        );
        assert_eq!(&wrapped.args[..2], ["--user", "--map-root-user"]);
        assert_eq!(
            wrapped.args.last().map(String::as_str),
            Some(
                "set -e\nexec /usr/bin/unshare --user --map-user=1000 --map-group=1000 -- \
                 /opt/mg/pgctld server --pg-listen-addresses=127.0.0.5"
            )
        );
    }

    #[test]
    fn without_namespaces_the_spawner_applies_the_user_and_watches_the_pid_file() {
        let wrapped = isolate(
            launch(),
            &Isolation::None {
                reason: "no unshare".into(),
            },
            &MountPlan::default(),
            None,
            Some((101, 104)),
        );
        assert_eq!(
            wrapped,
            Launch {
                run_as: Some((101, 104)),
                ..launch()
            }
        );
    }
}
