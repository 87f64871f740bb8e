//! What a container process of the multigres runtime really gets on this machine
//! (docs/kubesim.md "Isolation"): under namespaces, its volume at the container path (and only
//! inside), the pod's user, PID 1 of its own PID namespace, and no survivor once it is gone,
//! not even a daemon that left its process group (PostgreSQL's postmaster does). Without
//! namespaces, the daemon is found through its pid file. Skips, saying why, where the machine
//! does not allow namespaces.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kubesim::process_runtime::etcd::Launch;
use kubesim::process_runtime::isolation::{Bind, Isolation, MountPlan, isolate, probe_isolation};
use kubesim::process_runtime::process::ContainerProcess;

fn own_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| -> u32 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("a numeric id")
    };
    (field("Uid:"), field("Gid:"))
}

/// Pids (host view) of processes whose command line is exactly `words`.
fn pids_running(words: &[&str]) -> Vec<u32> {
    let wanted: Vec<u8> = words
        .iter()
        .flat_map(|w| [w.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .expect("/proc lists")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| !s.contains(") Z "));
            alive && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted)
        })
        .collect()
}

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn read_trimmed(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn shell(script: String) -> Launch {
    Launch {
        program: PathBuf::from("/bin/sh"),
        args: vec!["-c".into(), script],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        ..Launch::default()
    }
}

#[tokio::test]
async fn a_namespaced_process_sees_its_volume_runs_as_the_pod_user_and_takes_its_daemons_along() {
    let (uid, gid) = own_ids();
    let isolation = probe_isolation(uid, gid);
    if isolation != Isolation::Namespaces {
        eprintln!(
            "skipping: this machine gives kubesim no mount/PID namespaces as root ({isolation:?})"
        );
        return;
    }
    let volume = tempfile::tempdir().expect("temp dir");
    let target = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    std::fs::write(volume.path().join("marker"), "from the volume\n").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let daemon = ["sleep", "317.25"];
    let o = out.path().display();
    let script = format!(
        "cat {t}/marker > {o}/seen; echo $$ > {o}/pid; id -u > {o}/uid; \
         setsid {d0} {d1} & echo started > {o}/ready; wait",
        t = target.path().display(),
        d0 = daemon[0],
        d1 = daemon[1],
    );
    let plan = MountPlan {
        binds: vec![Bind {
            source: volume.path().to_path_buf(),
            target: target.path().display().to_string(),
        }],
        rewritten: vec![],
    };
    let launch = isolate(shell(script), &isolation, &plan, None, Some((65534, 65534)));
    let log = out.path().join("log");
    let process = ContainerProcess::spawn(&launch, out.path(), &log).expect("spawns");
    let ready = out.path().join("ready");
    wait_until("the script to start its daemon", || ready.exists()).await;
    wait_until("the daemon to run", || !pids_running(&daemon).is_empty()).await;
    assert_eq!(read_trimmed(&out.path().join("seen")), "from the volume");
    assert_eq!(
        read_trimmed(&out.path().join("pid")),
        "1",
        "PID 1 of its namespace"
    );
    assert_eq!(
        read_trimmed(&out.path().join("uid")),
        "65534",
        "the pod's user"
    );
    assert!(
        !target.path().join("marker").exists(),
        "the bind mount stays inside the process's mount namespace"
    );
    drop(process);
    wait_until("the detached daemon to die with its container", || {
        pids_running(&daemon).is_empty()
    })
    .await;
}

#[tokio::test]
async fn without_namespaces_a_detached_postmaster_is_found_through_its_pid_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A program whose process name is `postgres`, as the postmaster's is.
    let postgres = dir.path().join("postgres");
    std::os::unix::fs::symlink("/bin/sleep", &postgres).expect("symlink");
    let pid_file = dir.path().join("postmaster.pid");
    let daemon_args = [postgres.display().to_string(), "318.5".to_string()];
    let script = format!(
        "setsid {} {} & echo $! > {}.tmp; mv {}.tmp {}; wait",
        daemon_args[0],
        daemon_args[1],
        pid_file.display(),
        pid_file.display(),
        pid_file.display()
    );
    let launch = Launch {
        pid_files: vec![pid_file.clone()],
        ..shell(script)
    };
    let mut process =
        ContainerProcess::spawn(&launch, dir.path(), &dir.path().join("log")).expect("spawns");
    let words: Vec<&str> = daemon_args.iter().map(String::as_str).collect();
    wait_until("the daemon to run", || !pids_running(&words).is_empty()).await;
    wait_until("the pid file", || pid_file.exists()).await;
    // A graceful stop: the shell goes with SIGTERM, the daemon gets SIGINT (PostgreSQL's fast
    // shutdown); this one ignores it (sh starts background jobs with SIGINT ignored), so it is
    // killed when the grace period ends.
    process.stop(Duration::from_millis(500)).await;
    wait_until("the detached postmaster to stop", || {
        pids_running(&words).is_empty()
    })
    .await;
}
