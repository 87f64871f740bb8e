//! A user error of any command is printed as `Error: ...` with its causes, and never with a
//! backtrace, even when the user's shell sets RUST_BACKTRACE (common on developer machines).
//! Runs the built binary, as users do.

use std::process::Command;

use pretty_assertions::assert_eq;

/// Runs the binary with backtraces requested in every way the standard library and anyhow read.
fn run_with_backtraces(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .env_remove("MULTIGRES_RENDER_FILES")
        .env_remove("MULTIGRES_RENDER_OUTPUT")
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A kubeconfig in `dir` naming the API server at 127.0.0.1:`port` with a bearer token.
fn kubeconfig_for_port(dir: &tempfile::TempDir, port: u16) -> std::path::PathBuf {
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \
             'http://127.0.0.1:{port}'}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: \
             u}}\ncurrent-context: c\nusers:\n- name: u\n  user: {{token: t}}\n"
        ),
    )
    .expect("the kubeconfig is written");
    kubeconfig
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn a_missing_input_file_is_one_error_line_with_its_cause() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("cluster.yaml");
    let missing = missing.to_str().expect("a UTF-8 path");
    assert_eq!(
        run_with_backtraces(&["render", "-f", missing]),
        (
            Some(1),
            String::new(),
            format!("Error: failed to read {missing}: No such file or directory (os error 2)\n")
        )
    );
}

#[test]
fn an_invalid_input_lists_its_problems_without_a_backtrace() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("cluster.yaml");
    std::fs::write(
        &file,
        "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: orders\nspec:\n  cells:\n  - name: eu-b\n    zone: eu-west-1b\n    region: eu-west-1\n",
    )
    .expect("the input is written");
    let file = file.to_str().expect("a UTF-8 path");
    assert_eq!(
        run_with_backtraces(&["render", "-f", file]),
        (
            Some(1),
            String::new(),
            format!(
                "Error: the input is not valid (1 problem):\n{file} (document 1): \
                 MultigresCluster default/orders: spec.cells[0]: Invalid value: \"object\": \
                 cannot specify both 'zone' and 'region'\n"
            )
        )
    );
}

/// Runs `status` with `kubeconfig` as KUBECONFIG (`None`: unset) and an empty HOME, so
/// neither the user's `~/.kube/config` nor a pod's service account is found instead.
fn status_with_kubeconfig(
    kubeconfig: Option<&str>,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let home = tempfile::tempdir().expect("an empty home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_multigres-operator"));
    command
        .arg("status")
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("MULTIGRES_STATUS_NAMESPACE")
        .env_remove("MULTIGRES_STATUS_WATCH")
        .env_remove("MULTIGRES_STATUS_INTERVAL");
    if let Some(kubeconfig) = kubeconfig {
        command.env("KUBECONFIG", kubeconfig);
    }
    let output = command.output().expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr)
            .replace(&home.path().display().to_string(), "$HOME"),
    )
}

#[test]
fn status_without_a_kubeconfig_says_which_file_is_missing_and_how_to_get_one() {
    assert_eq!(
        status_with_kubeconfig(None, &[]),
        (
            Some(1),
            String::new(),
            "Error: no Kubernetes API server to ask: KUBECONFIG is not set and \
             $HOME/.kube/config does not exist: set KUBECONFIG to the cluster's kubeconfig \
             (`multigres-operator local` prints the `export KUBECONFIG=...` line of its own)\n"
                .to_owned()
        )
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("kubeconfig");
    let missing = missing.to_str().expect("a UTF-8 path");
    assert_eq!(
        status_with_kubeconfig(Some(missing), &[]),
        (
            Some(1),
            String::new(),
            format!(
                "Error: KUBECONFIG names {missing}, which is not a file: set KUBECONFIG to the \
                 cluster's kubeconfig (`multigres-operator local` prints the `export \
                 KUBECONFIG=...` line of its own)\n"
            )
        )
    );
}

#[test]
fn status_against_a_stopped_api_server_names_it_and_says_each_cause_once() {
    let port = closed_port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = kubeconfig_for_port(&dir, port);
    let (code, stdout, stderr) =
        status_with_kubeconfig(Some(kubeconfig.to_str().expect("UTF-8")), &[]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "Error: cannot reach the API server http://127.0.0.1:{port}/ (is it running? \
             `multigres-operator local` serves its cluster only until Ctrl-C): failed to list \
             MultigresCluster in namespace default: ServiceError: client error (Connect): tcp \
             connect error: Connection refused (os error 111)\n"
        )
    );
}

#[test]
fn a_watch_interval_out_of_range_is_refused_by_the_parser_not_a_panic() {
    for interval in ["inf", "NaN", "1e300", "0", "-1"] {
        let (code, stdout, stderr) =
            status_with_kubeconfig(None, &["--watch", &format!("--interval={interval}")]);
        assert_eq!(
            (code, stdout.as_str(), stderr.lines().next()),
            (
                Some(2),
                "",
                Some(
                    format!(
                        "error: invalid value '{interval}' for '--interval <INTERVAL>': \
                         \"{interval}\" is not a number of seconds from 0.1 to 86400, e.g. 0.5 \
                         or 10"
                    )
                    .as_str()
                )
            ),
            "{stderr}"
        );
    }
}

#[test]
fn run_refuses_a_metrics_address_that_is_not_one_before_starting() {
    let output = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args(["run", "--metrics-bind-address=8443"])
        .env("RUST_BACKTRACE", "1")
        .env_remove("MULTIGRES_METRICS_BIND_ADDRESS")
        .output()
        .expect("the binary runs");
    assert_eq!(
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned()
        ),
        (
            Some(1),
            "Error: --metrics-bind-address \"8443\" is not an address: invalid socket address \
             (use host:port, :port or 0)\n"
                .to_owned()
        )
    );
}

#[test]
fn run_refuses_a_metrics_port_in_use_before_starting() {
    // Held for the whole test: the operator must find it taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = taken.local_addr().expect("a bound address");
    let closed = closed_port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = kubeconfig_for_port(&dir, closed);
    let child = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args([
            "run",
            "--webhook-enable=false",
            "--metrics-secure=false",
            "--health-probe-bind-address=0",
            &format!("--metrics-bind-address={address}"),
        ])
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_BACKTRACE", "1")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("MULTIGRES_METRICS_BIND_ADDRESS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // An operator that went on without its metrics would never exit: stop it and fail.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    let (done, exited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output().expect("the child is reaped"));
    });
    let output = match exited.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(output) => output,
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let output = exited.recv().expect("the killed child is reaped");
            unreachable!(
                "run kept running with its metrics port taken; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let error = stderr
        .lines()
        .skip_while(|line| !line.starts_with("Error: "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        error.starts_with(&format!(
            "Error: cannot serve metrics on \"{address}\"; choose another with \
             --metrics-bind-address, or 0 to disable"
        )) && error.contains(&format!("failed to listen on {address} for metrics"))
            && !error.contains("stack backtrace"),
        "stderr: {stderr}"
    );
    drop(taken);
}

#[test]
fn run_stops_on_sigterm_while_the_api_server_cannot_be_reached() {
    use std::io::{BufRead, BufReader};
    let port = closed_port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = kubeconfig_for_port(&dir, port);
    let mut child = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args([
            "run",
            "--webhook-enable=false",
            "--metrics-bind-address=0",
            "--health-probe-bind-address=0",
            "--log-format=json",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "info")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // The watches retry against the closed port: the process is past its signal handlers and
    // waits for its caches.
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let retrying = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("watch failed; retrying"));
    assert!(retrying, "the watches never tried the API server");
    std::thread::spawn(move || lines.for_each(drop));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid")),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM delivered");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        let late = std::time::Instant::now() >= until;
        if late {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(
            !late,
            "run did not stop within 30 s of SIGTERM while its caches were filling"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn status_watch_stops_on_ctrl_c_while_it_waits_for_the_api_server() {
    // An API server that accepts the connection and never answers: the first read hangs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    listener.set_nonblocking(true).expect("non-blocking");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = kubeconfig_for_port(&dir, port);
    let mut child = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args(["status", "--watch"])
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    // The read has started once the connection is accepted.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let _held = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                let late = std::time::Instant::now() >= until;
                if late {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                assert!(!late, "status never connected");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                unreachable!("accept failed: {error}");
            }
        }
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid")),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT delivered");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        let late = std::time::Instant::now() >= until;
        if late {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(!late, "status --watch did not stop within 30 s of Ctrl-C");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // A clean stop, as after Ctrl-C between two reads (not the signal's default action).
    assert_eq!(status.code(), Some(0), "{status:?}");
}
