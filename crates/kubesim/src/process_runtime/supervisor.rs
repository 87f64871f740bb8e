//! The life of one process-backed container, as a kubelet drives it: wait until the process can
//! be prepared (e.g. its peers' names resolve), start it, run its startup, liveness and
//! readiness probes, and on exit restart it per the pod's `restartPolicy` with the kubelet's
//! crash back-off (first restart at once, then 10 s doubling to 5 min, scaled by the kubelet's
//! time scale). Each change is published as a [`ContainerView`] and announced through the
//! `notify` callback; the kubelet turns views into `containerStatuses` entries.
//!
//! One tokio task per container. Dropping the [`ContainerSupervisor`] aborts the task, which
//! drops the process and so kills its process group; [`ContainerSupervisor::stop`] stops it
//! gracefully first. The supervisor reads the clock (it is I/O code); decisions about
//! thresholds live in [`super::probe::ProbeTracker`].

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::etcd::Launch;
use super::probe::{Probe, ProbeTracker, run_probe};
use super::process::ContainerProcess;

/// Probe periods are scaled by the time scale but never run more often than this.
const MIN_PROBE_PERIOD: Duration = Duration::from_millis(100);
/// How often a container that cannot be prepared yet retries.
const PREPARE_RETRY: Duration = Duration::from_millis(200);
/// The kubelet's crash back-off: 10 s, doubling, at most 5 min.
const BACKOFF_INITIAL_SECONDS: u64 = 10;
const BACKOFF_MAX_SECONDS: u64 = 300;

/// Why a container cannot start now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrepareError {
    /// Not yet (retried): the message says what is missing.
    NotYet(String),
    /// The container's configuration cannot be turned into a process (retried slowly, as the
    /// kubelet does with `CreateContainerConfigError`).
    Config(String),
}

/// How a container run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminated {
    pub exit_code: i32,
    /// `Completed` (exit 0) or `Error`.
    pub reason: String,
    pub started_at: String,
    pub finished_at: String,
}

/// The container's current state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessState {
    Waiting {
        reason: String,
        message: String,
    },
    Running {
        started_at: String,
        /// The startup probe passed (or there is none).
        started: bool,
        /// The readiness probe passes (or there is none) and startup is done.
        ready: bool,
    },
    /// Ended for good (`restartPolicy` says no restart, or stopped).
    Terminated(Terminated),
}

/// What the kubelet reports about a process-backed container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerView {
    pub state: ProcessState,
    pub restart_count: i64,
    pub last_terminated: Option<Terminated>,
}

/// Everything the supervisor needs besides the process to start.
pub struct ContainerSetup {
    /// `<name>` of the container (messages).
    pub container: String,
    /// `<pod>_<namespace>(<uid>)`, as the kubelet names a pod in its back-off message.
    pub pod_ref: String,
    pub pod_ip: IpAddr,
    /// `Always`, `OnFailure` or `Never`.
    pub restart_policy: String,
    pub startup: Option<Probe>,
    pub liveness: Option<Probe>,
    pub readiness: Option<Probe>,
    /// Where the process runs and logs (`<dir>/log`).
    pub dir: PathBuf,
    /// Real seconds per simulated second (back-offs, probe periods and delays).
    pub time_scale: f64,
    /// Builds the process to start; called before every start.
    pub prepare: Box<dyn FnMut() -> Result<Launch, PrepareError> + Send>,
    /// Called after every change of the view.
    pub notify: Arc<dyn Fn() + Send + Sync>,
}

/// A supervised container.
#[derive(Debug)]
pub struct ContainerSupervisor {
    view: watch::Receiver<ContainerView>,
    stop: Option<oneshot::Sender<Duration>>,
    kill: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for ContainerSupervisor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The back-off before restart number `restarts` (1 = the first restart: none).
pub fn backoff(restarts: i64) -> Duration {
    if restarts <= 1 {
        return Duration::ZERO;
    }
    let doublings = u32::try_from((restarts - 2).clamp(0, 16)).unwrap_or(16);
    Duration::from_secs((BACKOFF_INITIAL_SECONDS << doublings).min(BACKOFF_MAX_SECONDS))
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn scaled(duration: Duration, scale: f64) -> Duration {
    duration.mul_f64(scale)
}

impl ContainerSupervisor {
    /// Starts supervising (needs a tokio runtime).
    pub fn start(setup: ContainerSetup) -> ContainerSupervisor {
        let (view_tx, view) = watch::channel(ContainerView {
            state: ProcessState::Waiting {
                reason: "ContainerCreating".into(),
                message: String::new(),
            },
            restart_count: 0,
            last_terminated: None,
        });
        let (stop, stop_rx) = oneshot::channel();
        let kill = Arc::new(Notify::new());
        let task = tokio::spawn(supervise(setup, view_tx, stop_rx, kill.clone()));
        ContainerSupervisor {
            view,
            stop: Some(stop),
            kill,
            task,
        }
    }

    pub fn view(&self) -> ContainerView {
        self.view.borrow().clone()
    }

    /// Asks for a graceful stop (SIGTERM, SIGKILL after `grace`); returns at once. The view
    /// ends `Terminated` once the process is gone.
    pub fn stop(&mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(grace);
        }
    }

    /// Kills the running process (SIGKILL to its group), as a crash: it is restarted per the
    /// restart policy. Only meaningful while the view is `Running`.
    pub fn kill(&self) {
        self.kill.notify_one();
    }

    /// Whether the supervising task has finished (after a stop, or for good).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

struct Supervision {
    setup: ContainerSetup,
    view: watch::Sender<ContainerView>,
    stop: oneshot::Receiver<Duration>,
    kill: Arc<Notify>,
}

impl Supervision {
    fn publish(&self, change: impl FnOnce(&mut ContainerView)) {
        self.view.send_modify(change);
        (self.setup.notify)();
    }

    fn set_state(&self, state: ProcessState) {
        self.publish(|view| view.state = state);
    }

    /// Sleeps for `duration`; `Some(grace)` when a stop arrived meanwhile.
    async fn pause(&mut self, duration: Duration) -> Option<Duration> {
        tokio::select! {
            _ = tokio::time::sleep(duration) => None,
            grace = &mut self.stop => Some(grace.unwrap_or(Duration::ZERO)),
        }
    }

    fn period(&self, probe: &Probe) -> Duration {
        scaled(probe.period, self.setup.time_scale).max(MIN_PROBE_PERIOD)
    }
}

enum RunEnd {
    Exited(i32),
    Stopped(i32),
}

async fn supervise(
    setup: ContainerSetup,
    view: watch::Sender<ContainerView>,
    stop: oneshot::Receiver<Duration>,
    kill: Arc<Notify>,
) {
    let mut run = Supervision {
        setup,
        view,
        stop,
        kill,
    };
    let mut restarts: i64 = 0;
    loop {
        let launch = loop {
            match (run.setup.prepare)() {
                Ok(launch) => break launch,
                Err(error) => {
                    let (reason, message, retry) = match error {
                        PrepareError::NotYet(message) if restarts == 0 => {
                            ("ContainerCreating", message, PREPARE_RETRY)
                        }
                        PrepareError::NotYet(message) => {
                            ("CrashLoopBackOff", message, PREPARE_RETRY)
                        }
                        PrepareError::Config(message) => (
                            "CreateContainerConfigError",
                            message,
                            Duration::from_secs(1),
                        ),
                    };
                    let state = ProcessState::Waiting {
                        reason: reason.into(),
                        message,
                    };
                    if run.view.borrow().state != state {
                        run.set_state(state);
                    }
                    if run.pause(retry).await.is_some() {
                        return finish_without_process(&run);
                    }
                }
            }
        };
        let started_at = now();
        let log = run.setup.dir.join("log");
        let end = match ContainerProcess::spawn(&launch, &run.setup.dir, &log) {
            Ok(process) => run_process(&mut run, process, &started_at, &launch.env).await,
            Err(error) => {
                tracing::warn!(
                    container = %run.setup.container,
                    error = &error as &dyn std::error::Error,
                    "failed to start a container process"
                );
                RunEnd::Exited(128)
            }
        };
        let (code, stopped) = match end {
            RunEnd::Exited(code) => (code, false),
            RunEnd::Stopped(code) => (code, true),
        };
        let terminated = Terminated {
            exit_code: code,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            started_at,
            finished_at: now(),
        };
        let restart = !stopped
            && match run.setup.restart_policy.as_str() {
                "Never" => false,
                "OnFailure" => code != 0,
                _ => true,
            };
        if !restart {
            run.set_state(ProcessState::Terminated(terminated));
            return;
        }
        restarts += 1;
        let delay = backoff(restarts);
        tracing::debug!(container = %run.setup.container, pod = %run.setup.pod_ref, code, restarts, "container process exited; restarting");
        let message = format!(
            "back-off {}s restarting failed container={} pod={}",
            delay.as_secs(),
            run.setup.container,
            run.setup.pod_ref
        );
        run.publish(|view| {
            view.last_terminated = Some(terminated);
            view.restart_count = restarts;
            view.state = ProcessState::Waiting {
                reason: if delay.is_zero() {
                    "ContainerCreating"
                } else {
                    "CrashLoopBackOff"
                }
                .into(),
                message: if delay.is_zero() {
                    String::new()
                } else {
                    message
                },
            };
        });
        if !delay.is_zero()
            && run
                .pause(scaled(delay, run.setup.time_scale))
                .await
                .is_some()
        {
            return finish_without_process(&run);
        }
    }
}

fn finish_without_process(run: &Supervision) {
    let at = now();
    run.set_state(ProcessState::Terminated(Terminated {
        exit_code: 0,
        reason: "Completed".into(),
        started_at: at.clone(),
        finished_at: at,
    }));
}

/// Runs the process and its probes until it exits, fails its liveness/startup probe (killed
/// like the kubelet does, then restarted) or is stopped.
async fn run_process(
    run: &mut Supervision,
    mut process: ContainerProcess,
    started_at: &str,
    env: &[(String, String)],
) -> RunEnd {
    let start = Instant::now();
    let scale = run.setup.time_scale;
    let kill = run.kill.clone();
    let mut startup = run.setup.startup.as_ref().map(|p| {
        (
            ProbeTracker::new(p, false),
            start + scaled(p.initial_delay, scale),
        )
    });
    let mut liveness = run.setup.liveness.as_ref().map(|p| {
        (
            ProbeTracker::new(p, true),
            start + scaled(p.initial_delay, scale),
        )
    });
    let mut readiness = run.setup.readiness.as_ref().map(|p| {
        (
            ProbeTracker::new(p, false),
            start + scaled(p.initial_delay, scale),
        )
    });
    let running = |started: bool, ready: bool| ProcessState::Running {
        started_at: started_at.to_string(),
        started,
        ready,
    };
    let mut started = startup.is_none();
    let mut ready = started && readiness.is_none();
    run.set_state(running(started, ready));
    loop {
        let due = if started {
            [liveness.as_ref(), readiness.as_ref()]
                .into_iter()
                .flatten()
                .map(|(_, at)| *at)
                .min()
        } else {
            startup.as_ref().map(|(_, at)| *at)
        };
        tokio::select! {
            code = process.wait() => return RunEnd::Exited(code),
            grace = &mut run.stop => {
                let code = process.stop(grace.unwrap_or(Duration::ZERO)).await;
                return RunEnd::Stopped(code);
            }
            () = kill.notified() => return RunEnd::Exited(process.kill().await),
            _ = sleep_until(due) => {}
        }
        let now = Instant::now();
        let pod_ip = run.setup.pod_ip;
        if !started {
            let (Some((tracker, at)), Some(probe)) = (startup.as_mut(), run.setup.startup.as_ref())
            else {
                continue;
            };
            let result = run_probe(probe, pod_ip, env).await;
            *at = now + scaled(probe.period, scale).max(MIN_PROBE_PERIOD);
            match tracker.record(result.is_ok()) {
                Some(true) => {
                    started = true;
                    ready = readiness.is_none();
                    let after = Instant::now();
                    for (_, at) in [liveness.as_mut(), readiness.as_mut()]
                        .into_iter()
                        .flatten()
                    {
                        *at = after;
                    }
                    run.set_state(running(started, ready));
                }
                Some(false) => {
                    tracing::debug!(container = %run.setup.container, reason = ?result.err(), "startup probe failed; killing the container");
                    return RunEnd::Exited(process.stop(Duration::ZERO).await);
                }
                None => {}
            }
            continue;
        }
        if let (Some((tracker, at)), Some(probe)) = (liveness.as_mut(), run.setup.liveness.as_ref())
            && *at <= now
        {
            let result = run_probe(probe, pod_ip, env).await;
            *at = now + run.period(probe);
            if tracker.record(result.is_ok()) == Some(false) {
                tracing::debug!(container = %run.setup.container, reason = ?result.err(), "liveness probe failed; restarting the container");
                return RunEnd::Exited(process.stop(Duration::from_secs(1)).await);
            }
        }
        if let (Some((tracker, at)), Some(probe)) =
            (readiness.as_mut(), run.setup.readiness.as_ref())
            && *at <= now
        {
            let result = run_probe(probe, pod_ip, env).await;
            *at = now + run.period(probe);
            if let Some(verdict) = tracker.record(result.is_ok()) {
                tracing::debug!(container = %run.setup.container, ready = verdict, reason = ?result.err(), "readiness changed");
                ready = verdict;
                run.set_state(running(started, ready));
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::sync::Mutex;

    use crate::process_runtime::probe::ProbeAction;

    fn shell(script: &str) -> Launch {
        Launch {
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".into(), script.into()],
            env: vec![],
            ..Launch::default()
        }
    }

    fn setup(
        dir: &std::path::Path,
        prepare: Box<dyn FnMut() -> Result<Launch, PrepareError> + Send>,
    ) -> ContainerSetup {
        ContainerSetup {
            container: "etcd".into(),
            pod_ref: "topo-0_db(u-1)".into(),
            pod_ip: [127, 0, 0, 1].into(),
            restart_policy: "Always".into(),
            startup: None,
            liveness: None,
            readiness: None,
            dir: dir.to_path_buf(),
            time_scale: 0.001,
            prepare,
            notify: Arc::new(|| {}),
        }
    }

    async fn wait_for(
        supervisor: &ContainerSupervisor,
        what: &str,
        wanted: impl Fn(&ContainerView) -> bool,
    ) -> ContainerView {
        let mut view = supervisor.view.clone();
        let deadline = Duration::from_secs(20);
        let last = supervisor.view();
        tokio::time::timeout(deadline, view.wait_for(|v| wanted(v)))
            .await
            .map_err(|_| format!("timed out waiting for {what}; last view {last:?}"))
            .expect("the view reaches the wanted state within the deadline")
            .map(|v| v.clone())
            .expect("the supervisor keeps its sender while running")
    }

    /// A test that panics drops its runtime: the supervised process must die with it.
    #[test]
    fn dropping_the_runtime_kills_the_process() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pid_file = dir.path().join("pid");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let script = format!("echo $$ > {}; exec sleep 300", pid_file.display());
        let supervisor = runtime.block_on(async {
            let supervisor =
                ContainerSupervisor::start(setup(dir.path(), Box::new(move || Ok(shell(&script)))));
            wait_for(&supervisor, "running", |v| {
                matches!(v.state, ProcessState::Running { .. })
            })
            .await;
            supervisor
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let pid: u32 = loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                break pid;
            }
            assert!(std::time::Instant::now() < deadline, "no pid written");
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(runtime);
        let alive = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|stat| !stat.contains(") Z "))
                .unwrap_or(false)
        };
        while alive() {
            assert!(
                std::time::Instant::now() < deadline,
                "process {pid} survived its runtime"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(supervisor);
    }

    #[tokio::test]
    async fn a_kill_is_a_crash_with_sigkill_s_exit_code() {
        let dir = tempfile::tempdir().expect("temp dir");
        let supervisor =
            ContainerSupervisor::start(setup(dir.path(), Box::new(|| Ok(shell("exec sleep 300")))));
        wait_for(&supervisor, "running", |v| {
            matches!(v.state, ProcessState::Running { .. })
        })
        .await;
        supervisor.kill();
        let view = wait_for(&supervisor, "the restart", |v| {
            v.restart_count == 1 && matches!(v.state, ProcessState::Running { .. })
        })
        .await;
        let last = view.last_terminated.expect("the kill was recorded");
        assert_eq!((last.exit_code, last.reason.as_str()), (128 + 9, "Error"));
    }

    #[test]
    fn back_off_doubles_from_the_second_restart() {
        let seconds: Vec<u64> = (1..=8).map(|r| backoff(r).as_secs()).collect();
        assert_eq!(seconds, vec![0, 10, 20, 40, 80, 160, 300, 300]);
    }

    #[tokio::test]
    async fn exits_restart_at_once_then_with_back_off() {
        let dir = tempfile::tempdir().expect("temp dir");
        let supervisor = ContainerSupervisor::start(setup(
            dir.path(),
            Box::new(|| Ok(shell("sleep 0.05; exit 3"))),
        ));
        let view = wait_for(&supervisor, "the back-off", |v| {
            matches!(&v.state, ProcessState::Waiting { reason, .. } if reason == "CrashLoopBackOff")
        })
        .await;
        assert_eq!(view.restart_count, 2);
        assert_eq!(
            view.state,
            ProcessState::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: "back-off 10s restarting failed container=etcd pod=topo-0_db(u-1)".into()
            }
        );
        let last = view.last_terminated.expect("an exit was recorded");
        assert_eq!((last.exit_code, last.reason.as_str()), (3, "Error"));
        wait_for(&supervisor, "the third restart", |v| v.restart_count >= 3).await;
    }

    #[tokio::test]
    async fn readiness_follows_the_probe_and_a_stop_terminates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let attempts = Arc::new(Mutex::new(0));
        let counter = attempts.clone();
        let marker = dir.path().join("ready");
        let mut setup = setup(
            dir.path(),
            Box::new(move || {
                let mut attempts = counter.lock().expect("not poisoned");
                *attempts += 1;
                if *attempts < 3 {
                    Err(PrepareError::NotYet("peer topo-1 has no address".into()))
                } else {
                    Ok(shell("trap 'exit 0' TERM; while :; do sleep 0.05; done"))
                }
            }),
        );
        setup.readiness = Some(Probe {
            action: ProbeAction::Exec {
                command: vec!["test".into(), "-f".into(), marker.display().to_string()],
            },
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            success_threshold: 1,
            failure_threshold: 1,
        });
        let mut supervisor = ContainerSupervisor::start(setup);
        let running = wait_for(&supervisor, "running", |v| {
            matches!(v.state, ProcessState::Running { .. })
        })
        .await;
        assert!(matches!(
            running.state,
            ProcessState::Running {
                started: true,
                ready: false,
                ..
            }
        ));
        assert_eq!(*attempts.lock().expect("not poisoned"), 3);
        std::fs::write(&marker, "").expect("write marker");
        wait_for(&supervisor, "ready", |v| {
            matches!(v.state, ProcessState::Running { ready: true, .. })
        })
        .await;
        std::fs::remove_file(&marker).expect("remove marker");
        wait_for(&supervisor, "unready", |v| {
            matches!(v.state, ProcessState::Running { ready: false, .. })
        })
        .await;
        supervisor.stop(Duration::from_secs(5));
        let stopped = wait_for(&supervisor, "terminated", |v| {
            matches!(v.state, ProcessState::Terminated(_))
        })
        .await;
        let ProcessState::Terminated(end) = stopped.state else {
            unreachable!("waited for Terminated");
        };
        assert_eq!((end.exit_code, stopped.restart_count), (0, 0));
    }
}
