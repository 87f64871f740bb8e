//! One real process started for a container: spawned in its own process group with only the
//! container's environment, its output appended to a log file, and never outliving kubesim:
//! - dropping a [`ContainerProcess`] kills its whole process group (SIGKILL);
//! - [`ContainerProcess::stop`] is the kubelet's graceful stop (SIGTERM to the group, SIGKILL
//!   after the grace period);
//! - when kubesim itself dies without running destructors (SIGKILL, abort), the kernel kills
//!   the process: it is started through util-linux `setpriv --pdeathsig KILL`, which sets
//!   PR_SET_PDEATHSIG and then execs the program (so no unsafe code is needed here). The signal
//!   follows the spawning *thread*: processes are spawned from the kubelet's task, whose
//!   runtime threads live as long as kubesim (or the test) does.
//!
//! This module does I/O and nothing else: what to start comes from the runtimes
//! ([`super::etcd`]), when to start or stop it from the container supervisor.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use super::etcd::Launch;

/// util-linux's setpriv, used for PR_SET_PDEATHSIG when present.
const SETPRIV: &str = "/usr/bin/setpriv";

/// Why a process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("failed to open the log file {path}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to create the working directory {path}")]
    WorkingDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to start {program}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A running container process (and its process group).
#[derive(Debug)]
pub struct ContainerProcess {
    child: Child,
    /// The process group id (= the pid of the process we started).
    group: Option<Pid>,
    /// Pid files of processes that left the group but belong to the container.
    pid_files: Vec<PathBuf>,
}

/// The PostgreSQL postmaster named by a `postmaster.pid` file (its first line), if that
/// process still runs PostgreSQL: a stale file's pid may belong to another process by now.
pub fn postmaster_pid(pid_file: &Path) -> Option<Pid> {
    let text = std::fs::read_to_string(pid_file).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    // `<pid> (<comm>) <state> ...`: a zombie is gone already.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (comm, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
    let alive = !rest.starts_with('Z') && !rest.starts_with('X');
    (pid > 1 && alive && matches!(comm, "postgres" | "postmaster")).then(|| Pid::from_raw(pid))
}

/// The exit code the kubelet reports: the process's own code, or 128 + the signal that ended it.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(-1)
}

impl ContainerProcess {
    /// Starts `launch` in `working_dir` with its output appended to `log`.
    pub fn spawn(
        launch: &Launch,
        working_dir: &Path,
        log: &Path,
    ) -> Result<ContainerProcess, SpawnError> {
        std::fs::create_dir_all(working_dir).map_err(|source| SpawnError::WorkingDir {
            path: working_dir.to_path_buf(),
            source,
        })?;
        let open_log = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| SpawnError::Log {
                    path: log.to_path_buf(),
                    source,
                })
        };
        let (stdout, stderr) = (open_log()?, open_log()?);
        let mut command = if Path::new(SETPRIV).exists() {
            let mut command = Command::new(SETPRIV);
            if let Some((uid, gid)) = launch.run_as {
                // setpriv sets the parent-death signal after the change of user, which would
                // otherwise clear it.
                command.args([
                    format!("--reuid={uid}"),
                    format!("--regid={gid}"),
                    "--clear-groups".to_string(),
                ]);
            }
            command
                .args(["--pdeathsig", "KILL", "--"])
                .arg(&launch.program);
            command
        } else {
            Command::new(&launch.program)
        };
        command
            .args(&launch.args)
            .env_clear()
            .envs(launch.env.iter().map(|(n, v)| (n, v)))
            .current_dir(working_dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true);
        let child = command.spawn().map_err(|source| SpawnError::Spawn {
            program: launch.program.clone(),
            source,
        })?;
        let group = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .map(Pid::from_raw);
        Ok(ContainerProcess {
            child,
            group,
            pid_files: launch.pid_files.clone(),
        })
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits for the process to exit; its exit code.
    pub async fn wait(&mut self) -> i32 {
        match self.child.wait().await {
            Ok(status) => {
                self.kill_group(Signal::SIGKILL);
                self.group = None;
                exit_code(status)
            }
            Err(error) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "failed to wait for a container process; killing it"
                );
                self.kill_group(Signal::SIGKILL);
                self.group = None;
                -1
            }
        }
    }

    fn kill_group(&self, signal: Signal) {
        if let Some(group) = self.group {
            // ESRCH (already gone) is the expected outcome after an exit.
            let _ = killpg(group, signal);
        }
        self.signal_detached(signal);
    }

    /// Signals the processes named by the pid files: SIGTERM becomes SIGINT, PostgreSQL's
    /// fast shutdown (its SIGTERM waits for every client to leave).
    fn signal_detached(&self, signal: Signal) {
        let signal = if signal == Signal::SIGTERM {
            Signal::SIGINT
        } else {
            signal
        };
        for file in &self.pid_files {
            if let Some(pid) = postmaster_pid(file) {
                let _ = kill(pid, signal);
            }
        }
    }

    /// Waits (until `deadline`) for the processes of the pid files to end.
    async fn wait_detached(&self, deadline: tokio::time::Instant) {
        while self.pid_files.iter().any(|f| postmaster_pid(f).is_some())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL to the group; the exit code (137).
    pub async fn kill(&mut self) -> i32 {
        self.kill_group(Signal::SIGKILL);
        self.wait().await
    }

    /// SIGTERM to the group, then SIGKILL once `grace` has passed; the exit code.
    pub async fn stop(&mut self, grace: Duration) -> i32 {
        let deadline = tokio::time::Instant::now() + grace;
        self.kill_group(Signal::SIGTERM);
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.wait_detached(deadline).await;
                self.kill_group(Signal::SIGKILL);
                self.group = None;
                exit_code(status)
            }
            _ => {
                self.kill_group(Signal::SIGKILL);
                self.wait().await
            }
        }
    }
}

impl Drop for ContainerProcess {
    fn drop(&mut self) {
        self.kill_group(Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn shell(script: &str) -> Launch {
        Launch {
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".into(), script.into()],
            env: vec![("GREETING".into(), "hello".into())],
            ..Launch::default()
        }
    }

    fn alive(pid: u32) -> bool {
        // A zombie still has a /proc entry; its state says it is gone.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat.contains(") Z "))
            .unwrap_or(false)
    }

    async fn wait_gone(pid: u32) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while alive(pid) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "process {pid} still alive"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn the_exit_code_and_output_of_the_process_are_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("log");
        let mut process =
            ContainerProcess::spawn(&shell("echo $GREETING $HOME; exit 7"), dir.path(), &log)
                .expect("spawn sh");
        assert_eq!(process.wait().await, 7);
        assert_eq!(
            std::fs::read_to_string(&log).expect("log written"),
            "hello\n"
        );
    }

    /// Waits until the script wrote `file` (its traps are set by then).
    async fn wait_for_file(file: &Path) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(text) = std::fs::read_to_string(file)
                && text.ends_with('\n')
            {
                return text.trim().to_string();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} not written",
                file.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn stop_sends_sigterm_then_sigkill_and_drop_kills_the_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("log");
        let mut polite = ContainerProcess::spawn(
            &shell("trap 'exit 0' TERM; echo > polite.ready; while :; do sleep 0.05; done"),
            dir.path(),
            &log,
        )
        .expect("spawn");
        wait_for_file(&dir.path().join("polite.ready")).await;
        assert_eq!(polite.stop(Duration::from_secs(5)).await, 0);
        let mut stubborn = ContainerProcess::spawn(
            &shell("trap '' TERM; echo > stubborn.ready; while :; do sleep 0.05; done"),
            dir.path(),
            &log,
        )
        .expect("spawn");
        wait_for_file(&dir.path().join("stubborn.ready")).await;
        assert_eq!(stubborn.stop(Duration::from_millis(200)).await, 128 + 9);
        // A grandchild in the same group dies with the dropped process.
        let parent = ContainerProcess::spawn(
            &shell("sleep 300 & echo $! > child.pid; wait"),
            dir.path(),
            &log,
        )
        .expect("spawn");
        let grandchild: u32 = wait_for_file(&dir.path().join("child.pid"))
            .await
            .parse()
            .expect("a pid");
        let parent_pid = parent.pid().expect("running");
        drop(parent);
        wait_gone(grandchild).await;
        wait_gone(parent_pid).await;
    }
}
