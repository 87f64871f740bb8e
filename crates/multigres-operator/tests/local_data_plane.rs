//! Issue 17, "Done when": a real Multigres data plane in local mode, end to end through the
//! `multigres-operator local --data-plane real` binary (spec-local-data-plane.md has the facts
//! it relies on).
//!
//! [`real_data_plane_end_to_end`] needs the multigres binaries built from source
//! (docs/local.md, "Real data plane"), named by `MULTIGRES_BIN_DIR`, plus PostgreSQL's server
//! binaries, pgBackRest, the en_US.UTF-8 locale, etcd, kubectl and psql. Without any of them it
//! skips and says which is missing and how to get it. It is the one test of the workspace
//! allowed to skip under CI (`CI=true`): CI machines have no Go toolchain to build multigres,
//! and the binaries are never committed.
//!
//! Everything that test checks goes through functions that have their own tests here, against
//! what every machine with etcd and kubectl has:
//! - the pooler records in the topology etcd ([`shard_poolers`], [`Roles`]): a local-mode
//!   cluster with a simulated data plane, whose etcd runs for real, with records written by the
//!   topology module; the same run checks `multigres-operator status` shows the roles;
//! - the /proc scan for leftovers ([`descendants`], [`referencing`], [`survivors`]): a spawned
//!   process tree, and the etcd processes of that local-mode run after Ctrl-C;
//! - `psql` and its output ([`psql`], [`parse_rows`]): a PostgreSQL started with initdb/pg_ctl
//!   (skipped when PostgreSQL is not installed and `CI` is unset).
//!
//! Timings are printed (`eprintln!`, run with `--no-capture` to see them), never asserted.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use etcd_client::{Client as EtcdClient, GetOptions};
use multigres_api::naming::multipooler_service_id;
use multigres_operator::topology::records::{
    ComponentType, Id, MultiPooler, PoolerRole, PoolerType, decode_pooler, pooler_in_shard,
    pooler_key, pooler_role,
};
use multigres_operator::topology::{ApiServerResolver, TopoStore};
use support::cluster::etcd_available;

const KUBECTL: &str = "/usr/bin/kubectl";
/// The topology root and the minimal sample's shard (spec-controllers.md §6; config/samples).
const ROOT: &str = "/multigres/global";
const CELL: &str = "zone-a";
const DATABASE: &str = "postgres";
const TABLE_GROUP: &str = "default";
const SHARD: &str = "0-inf";
const TOPOLOGY_SERVICE: &str = "minimal-global-topo.default.svc";
const GATEWAY_SERVICE: &str = "minimal-multigateway.default.svc";
const POOL_SELECTOR: &str = "app.kubernetes.io/component=shard-pool";
const GATEWAY_SELECTOR: &str = "app.kubernetes.io/component=multigateway";

// ---------------------------------------------------------------------------------------------
// Pooler records in the topology etcd.

/// The roles the topology holds for one shard: the service IDs (`id.name`) per role.
#[derive(Debug, Default, PartialEq, Eq)]
struct Roles {
    primary: BTreeSet<String>,
    replica: BTreeSet<String>,
    drained: BTreeSet<String>,
}

impl Roles {
    fn of(poolers: &[MultiPooler]) -> Roles {
        let mut roles = Roles::default();
        for pooler in poolers {
            let name = pooler
                .id
                .as_ref()
                .map(|id| id.name.clone())
                .unwrap_or_default();
            match pooler_role(pooler) {
                PoolerRole::Primary => roles.primary.insert(name),
                PoolerRole::Replica => roles.replica.insert(name),
                PoolerRole::Drained => roles.drained.insert(name),
            };
        }
        roles
    }

    /// Exactly one PRIMARY and `replicas` REPLICA records.
    fn is_one_primary_and(&self, replicas: usize) -> bool {
        self.primary.len() == 1 && self.replica.len() == replicas && self.drained.is_empty()
    }
}

/// The pooler records of the minimal sample's shard, read straight from etcd at `address`
/// (`ip:port`) and decoded with the topology module's protobuf messages: every key
/// `<root>/poolers/<id>/Pooler` (spec-wire.md §1.9 T3), kept when it belongs to the shard.
async fn shard_poolers(address: &str) -> Result<Vec<MultiPooler>, String> {
    let mut client = EtcdClient::connect([format!("http://{address}")], None)
        .await
        .map_err(|e| format!("etcd {address}: {e}"))?;
    let prefix = format!("{ROOT}/poolers/");
    let answer = client
        .get(prefix.as_bytes(), Some(GetOptions::new().with_prefix()))
        .await
        .map_err(|e| format!("etcd {address}: get {prefix}: {e}"))?;
    let mut poolers = Vec::new();
    for kv in answer.kvs() {
        let key = String::from_utf8_lossy(kv.key()).into_owned();
        if !key.ends_with("/Pooler") {
            continue;
        }
        let pooler = decode_pooler(kv.value()).map_err(|e| format!("{key}: {e}"))?;
        if pooler_in_shard(&pooler, CELL, DATABASE, TABLE_GROUP, SHARD) {
            poolers.push(pooler);
        }
    }
    Ok(poolers)
}

/// Polls `check` every 500 ms until it gives `Some`, failing with the last `None` reason after
/// `deadline`.
async fn poll<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let until = Instant::now() + deadline;
    loop {
        let last = match check().await {
            Ok(value) => return value,
            Err(reason) => reason,
        };
        assert!(
            Instant::now() < until,
            "{what}: not within {deadline:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Processes left behind (/proc).

/// A process as /proc shows it; the start time tells a reused pid apart.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Proc {
    pid: u32,
    start: String,
    cmdline: String,
}

/// `(ppid, starttime)` of a live process (a zombie counts as gone).
fn stat(pid: u32) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    Some((fields.get(1)?.parse().ok()?, fields.get(19)?.to_string()))
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|b| *b == 0)
                .map(|word| String::from_utf8_lossy(word).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn proc_of(pid: u32) -> Option<Proc> {
    let (_, start) = stat(pid)?;
    Some(Proc {
        pid,
        start,
        cmdline: cmdline(pid),
    })
}

/// Every live descendant of `root`.
fn descendants(root: u32) -> Vec<Proc> {
    let parents: Vec<(u32, u32)> = all_pids()
        .into_iter()
        .filter_map(|pid| stat(pid).map(|(ppid, _)| (pid, ppid)))
        .collect();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, ppid) in &parents {
            if *ppid == parent {
                frontier.push(*pid);
                found.extend(proc_of(*pid));
            }
        }
    }
    found
}

/// Every live process (but this one) whose working folder, executable, command line or
/// environment names `dir`. A postmaster that daemonized out of its process group (and so is no
/// descendant; spec-local-data-plane.md §3) still runs in, and is given paths of, the state
/// folder; its environment carries the container's HOME, which lies there.
fn referencing(dir: &Path) -> Vec<Proc> {
    let needle = dir.to_string_lossy().into_owned();
    let me = std::process::id();
    all_pids()
        .into_iter()
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let link = |name: &str| {
                std::fs::read_link(format!("/proc/{pid}/{name}"))
                    .is_ok_and(|target| target.starts_with(dir))
            };
            let environ = std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(&needle));
            link("cwd") || link("exe") || environ || cmdline(*pid).contains(&needle)
        })
        .filter_map(proc_of)
        .collect()
}

/// What is still running of `before` (same pid and start time), and anything that references
/// `dir`.
fn survivors(before: &[Proc], dir: &Path) -> Vec<Proc> {
    let mut left: Vec<Proc> = before
        .iter()
        .filter(|p| stat(p.pid).is_some_and(|(_, start)| start == p.start))
        .cloned()
        .collect();
    for process in referencing(dir) {
        if !left.iter().any(|p| p.pid == process.pid) {
            left.push(process);
        }
    }
    left
}

/// Waits until nothing of `before` and nothing referencing `dir` is left.
fn wait_for_no_survivors(before: &[Proc], dir: &Path, deadline: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let left = survivors(before, dir);
        if left.is_empty() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < deadline,
            "processes left behind {deadline:?} after the stop: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------
// psql.

/// Where a PostgreSQL (or multigateway) accepts connections.
#[derive(Clone, Debug)]
struct PgTarget {
    host: IpAddr,
    port: u16,
    user: &'static str,
    password: &'static str,
    database: &'static str,
}

impl PgTarget {
    /// The minimal sample's superuser through a gateway or PostgreSQL at `host:port` (the
    /// password Secret of spec-controllers.md §7.3.2).
    fn postgres(host: IpAddr, port: u16) -> PgTarget {
        PgTarget {
            host,
            port,
            user: "postgres",
            password: "postgres",
            database: "postgres",
        }
    }
}

/// The rows of `psql -A -t -F '|'` output: one line a row, `|` between the columns.
fn parse_rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.split('|').map(str::to_owned).collect())
        .collect()
}

/// Runs `sql` (one statement) with psql against `target`: its rows, or psql's message. psql is
/// killed after 30 s (a gateway that accepts but never answers must not hang the test).
fn psql(target: &PgTarget, sql: &str) -> Result<Vec<Vec<String>>, String> {
    let child = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1"])
        .arg("-h")
        .arg(target.host.to_string())
        .arg("-p")
        .arg(target.port.to_string())
        .args(["-U", target.user, "-d", target.database, "-c", sql])
        .env("PGPASSWORD", target.password)
        .env("PGCONNECT_TIMEOUT", "5")
        .env("PGSSLMODE", "disable")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("psql does not start: {e}"))?;
    let pid = child.id();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(child.wait_with_output());
    });
    let output = match receive.recv_timeout(Duration::from_secs(30)) {
        Ok(output) => output.map_err(|e| format!("psql: {e}"))?,
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(i32::try_from(pid).expect("a pid")),
                nix::sys::signal::Signal::SIGKILL,
            );
            return Err(format!("psql {sql:?} took more than 30 s"));
        }
    };
    if output.status.success() {
        Ok(parse_rows(&String::from_utf8_lossy(&output.stdout)))
    } else {
        Err(format!(
            "psql {sql:?} against {}:{} failed ({}): {}",
            target.host,
            target.port,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn psql_available() -> bool {
    Command::new("psql")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------------------------------------
// The local binary and kubectl.

/// `multigres-operator local` with its stdout read line by line; killed (with what it started,
/// through kubesim's parent-death signal) if the test fails before it stops it.
struct Local {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Local {
    fn start(args: &[&str], state: &Path) -> Local {
        let mut child = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
            .arg("local")
            .args(args)
            .arg("--state-dir")
            .arg(state)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Local {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line satisfying `done`, failing after `deadline`.
    fn wait_for_line(&mut self, deadline: Duration, done: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let received = self.lines.recv_timeout(left);
            assert!(
                received.is_ok(),
                "no such line within {deadline:?}; output so far:\n{}",
                self.seen.join("\n")
            );
            let line = received.expect("checked above");
            self.seen.push(line.clone());
            if done(&line) {
                return line;
            }
        }
    }

    /// Waits for Healthy and returns the KUBECONFIG it prints.
    fn wait_until_healthy(&mut self, deadline: Duration) -> String {
        self.wait_for_line(deadline, |line| {
            line == "MultigresCluster default/minimal: Healthy"
        });
        let export = self.wait_for_line(Duration::from_secs(30), |line| {
            line.starts_with("export KUBECONFIG=")
        });
        export
            .strip_prefix("export KUBECONFIG=")
            .expect("the prefix")
            .to_owned()
    }

    /// SIGINT, as Ctrl-C sends; waits for a successful exit.
    fn interrupt(&mut self, deadline: Duration) -> Duration {
        let started = Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("a pid")),
            nix::sys::signal::Signal::SIGINT,
        )
        .expect("SIGINT delivered");
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waitable") {
                break status;
            }
            assert!(
                started.elapsed() < deadline,
                "local mode did not stop within {deadline:?} of SIGINT"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(status.success(), "exit status {status:?}");
        started.elapsed()
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kubectl(kubeconfig: &str, home: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(KUBECTL)
        .args(args)
        .arg("--request-timeout=30s")
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .output()
        .map_err(|e| format!("kubectl does not run: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The first address kubesim's DNS gives `name` (`GET /kubesim/v1/resolve`, docs/kubesim.md
/// "Name resolution"): how local mode reaches a Service.
fn resolve(kubeconfig: &str, home: &Path, name: &str) -> Result<IpAddr, String> {
    let text = kubectl(
        kubeconfig,
        home,
        &["get", "--raw", &format!("/kubesim/v1/resolve?name={name}")],
    )?;
    let answer: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("resolve {name}: {e}: {text}"))?;
    answer["addresses"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(|a| a.as_str())
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("{name} has no address yet: {text}"))
}

/// The pool pods of the minimal shard: (name, pod IP), by name.
fn pool_pods(kubeconfig: &str, home: &Path) -> Result<Vec<(String, String)>, String> {
    let text = kubectl(
        kubeconfig,
        home,
        &[
            "get",
            "pods",
            "-l",
            POOL_SELECTOR,
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{"\n"}{end}"#,
        ],
    )?;
    let mut pods: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| {
            let (name, ip) = line.split_once(' ')?;
            Some((name.to_owned(), ip.trim().to_owned()))
        })
        .collect();
    pods.sort();
    Ok(pods)
}

/// The pool pod whose multipooler registered `service_id` (the operator passes
/// `--service-id=<multipooler_service_id(pod)>`).
fn pod_of_service_id(pods: &[(String, String)], service_id: &str) -> Option<String> {
    pods.iter()
        .map(|(name, _)| name)
        .find(|name| multipooler_service_id(name) == service_id)
        .cloned()
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

// ---------------------------------------------------------------------------------------------
// The end-to-end test with the real binaries.

/// Why the real data plane cannot run here, or the folder of the multigres binaries.
fn real_prerequisites() -> Result<PathBuf, String> {
    let Some(bin) = std::env::var_os("MULTIGRES_BIN_DIR").map(PathBuf::from) else {
        return Err(
            "MULTIGRES_BIN_DIR is not set: build the multigres binaries (docs/local.md, \
                    \"Real data plane\") and set it to their folder"
                .into(),
        );
    };
    let config = kubesim::process_runtime::ProcessRuntimeConfig {
        multigres_bin: Some(bin.clone()),
        ..Default::default()
    };
    let mut missing: Vec<String> = config
        .detect_tools()
        .missing_for_data_plane()
        .iter()
        .map(ToString::to_string)
        .collect();
    if !Path::new(KUBECTL).exists() {
        missing.push(format!(
            "{KUBECTL} (fix: apt-get install kubernetes-client)"
        ));
    }
    if !psql_available() {
        missing.push("psql (fix: apt-get install postgresql-client)".into());
    }
    if missing.is_empty() {
        Ok(bin)
    } else {
        Err(format!(
            "with MULTIGRES_BIN_DIR={}, this machine lacks: {}",
            bin.display(),
            missing.join("; ")
        ))
    }
}

/// Minimal with real multigres processes: converges; `SELECT 1` through the gateway Service;
/// a table written through the gateway is read back on the replica port once replication
/// catches up; one PRIMARY and two REPLICA pooler records; deleting the primary's pod gives a
/// new PRIMARY and writes through the gateway work again; Ctrl-C leaves nothing behind.
#[test]
fn real_data_plane_end_to_end() {
    // Deliberately no CI check: this is the test CI cannot run (no multigres binaries).
    let bin = match real_prerequisites() {
        Ok(bin) => bin,
        Err(why) => {
            eprintln!("real_data_plane_end_to_end: skipped: {why}");
            return;
        }
    };
    let temp = tempfile::tempdir().expect("a temporary directory");
    // The pods' processes run as a non-root user, which must be able to reach their folders
    // under the state folder (tempfile makes its folder 0700), as local mode's own is.
    std::fs::set_permissions(
        temp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o711),
    )
    .expect("chmod the temporary directory");
    let state = temp.path().join("state");
    let home = temp.path().join("home");
    std::fs::create_dir_all(&home).expect("a kubectl home");
    let started = Instant::now();
    let bin_arg = bin.to_string_lossy().into_owned();
    let mut local = Local::start(
        &["--data-plane", "real", "--multigres-bin", &bin_arg],
        &state,
    );
    local.wait_for_line(Duration::from_secs(60), |line| {
        line == "Data plane: real multigres processes"
    });
    // Bootstrap (initdb, stanza-create, a first backup, three restores) on a small machine.
    let kubeconfig = local.wait_until_healthy(Duration::from_secs(900));
    let healthy = started.elapsed();
    let psql_line = local.wait_for_line(Duration::from_secs(30), |line| {
        line.trim_start().starts_with("psql -h ")
    });
    eprintln!("timing: Healthy {} after the start", seconds(healthy));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let gateway = || resolve(&kubeconfig, &home, GATEWAY_SERVICE);
    let gateway_ip = gateway().expect("the gateway Service resolves");
    assert!(
        psql_line.contains(&format!(
            "psql -h {gateway_ip} -p 5432 -U postgres postgres"
        )),
        "local prints the gateway's address: {psql_line}"
    );

    // SELECT 1 through the gateway. The pods' probes are `/live` and `/ready`: Healthy can come
    // before multiorch has bootstrapped the shard and promoted a primary.
    let at = Instant::now();
    let one = runtime.block_on(poll(
        "SELECT 1 through the gateway",
        Duration::from_secs(300),
        || {
            let target = PgTarget::postgres(gateway_ip, 5432);
            async move { psql(&target, "SELECT 1") }
        },
    ));
    assert_eq!(one, [["1"]]);
    eprintln!(
        "timing: SELECT 1 through the gateway {} after Healthy",
        seconds(at.elapsed())
    );

    // Written through the gateway, read back through the replica port.
    let primary_port = PgTarget::postgres(gateway_ip, 5432);
    psql(
        &primary_port,
        "CREATE TABLE e2e_rows (id integer PRIMARY KEY, note text NOT NULL)",
    )
    .expect("CREATE TABLE through the gateway");
    psql(
        &primary_port,
        "INSERT INTO e2e_rows SELECT g, 'row ' || g FROM generate_series(1, 100) AS g",
    )
    .expect("INSERT through the gateway");
    let at = Instant::now();
    let replica = PgTarget::postgres(gateway_ip, 5433);
    let read_back = runtime.block_on(poll(
        "the rows on the replica port",
        Duration::from_secs(120),
        || {
            let replica = replica.clone();
            async move {
                let rows = psql(&replica, "SELECT count(*), sum(id) FROM e2e_rows")?;
                if rows == [["100", "5050"]] {
                    Ok(rows)
                } else {
                    Err(format!("replica has {rows:?}"))
                }
            }
        },
    ));
    assert_eq!(read_back, [["100", "5050"]]);
    eprintln!(
        "timing: rows readable on the replica port {} after the INSERT",
        seconds(at.elapsed())
    );
    assert_eq!(
        psql(&replica, "SELECT pg_is_in_recovery()").expect("the replica port answers"),
        [["t"]],
        "port 5433 reaches a standby (spec-local-data-plane.md §2)"
    );

    // The topology: one PRIMARY and two REPLICA records for the shard.
    let topo = resolve(&kubeconfig, &home, TOPOLOGY_SERVICE).expect("the topology resolves");
    let etcd = format!("{topo}:2379");
    let roles = runtime.block_on(poll(
        "one PRIMARY and two REPLICA poolers",
        Duration::from_secs(60),
        || {
            let etcd = etcd.clone();
            async move {
                let roles = Roles::of(&shard_poolers(&etcd).await?);
                if roles.is_one_primary_and(2) {
                    Ok(roles)
                } else {
                    Err(format!("{roles:?}"))
                }
            }
        },
    ));
    let old_primary = roles.primary.first().cloned().expect("one primary");
    let pods = pool_pods(&kubeconfig, &home).expect("the pool pods");
    assert_eq!(pods.len(), 3, "{pods:?}");
    let primary_pod = pod_of_service_id(&pods, &old_primary);
    assert!(
        primary_pod.is_some(),
        "no pool pod has service ID {old_primary}: {pods:?}"
    );
    let primary_pod = primary_pod.expect("checked above");

    // `status` shows the roles from the topology.
    let status = status_tree(&kubeconfig);
    assert!(
        status
            .lines()
            .any(|l| l.contains(&primary_pod) && l.contains("role PRIMARY")),
        "{status}"
    );
    assert_eq!(
        status.matches("role REPLICA").count(),
        2,
        "two replicas in the tree: {status}"
    );

    // Failover: the primary's pod is deleted; multiorch promotes a standby. The operator
    // recreates the pod at once, and a primary back on its data within multiorch's grace
    // period would simply stay primary; so, as a lost node would, every node refuses new pods
    // until the promotion is seen (the pool pods have no node constraint).
    hold_scheduling(&kubeconfig, &home, true).expect("the nodes are tainted");
    let killed = Instant::now();
    kubectl(
        &kubeconfig,
        &home,
        &["delete", "pod", &primary_pod, "--wait=false"],
    )
    .expect("kubectl delete pod");
    let new_primary = runtime.block_on(poll(
        "a new PRIMARY record",
        Duration::from_secs(180),
        || {
            let etcd = etcd.clone();
            let old = old_primary.clone();
            async move {
                let roles = Roles::of(&shard_poolers(&etcd).await?);
                roles
                    .primary
                    .iter()
                    .find(|id| **id != old)
                    .cloned()
                    .ok_or_else(|| format!("{roles:?}"))
            }
        },
    ));
    eprintln!(
        "timing: new PRIMARY {new_primary} {} after the primary's pod was deleted",
        seconds(killed.elapsed())
    );
    let at = Instant::now();
    let attempts = write_through_gateway(&gateway, 1001, Duration::from_secs(120), None);
    eprintln!(
        "timing: a write through the gateway worked {} after the promotion ({attempts} attempts)",
        seconds(at.elapsed())
    );
    // Nothing written before the failover was lost.
    let rows = psql(
        &PgTarget::postgres(gateway().expect("the gateway resolves"), 5432),
        "SELECT count(*) FILTER (WHERE id <= 100), count(*) FILTER (WHERE id > 1000) FROM e2e_rows",
    )
    .expect("a read through the gateway");
    let after: u32 = rows[0][1].parse().expect("a count");
    assert!(
        rows[0][0] == "100" && after >= 1,
        "rows after the failover: {rows:?}"
    );

    // The old primary's pod comes back on its data and rejoins as a standby (pg_rewind,
    // spec-local-data-plane.md §2): measured and reported, not required.
    hold_scheduling(&kubeconfig, &home, false).expect("the taints are removed");
    let released = Instant::now();
    let rejoin = runtime.block_on(async {
        let until = Instant::now() + Duration::from_secs(180);
        while Instant::now() < until {
            if let Ok(poolers) = shard_poolers(&etcd).await {
                let roles = Roles::of(&poolers);
                if roles.is_one_primary_and(2) && roles.replica.contains(&old_primary) {
                    return Some(released.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        None
    });
    match rejoin {
        Some(after) => eprintln!(
            "timing: the old primary rejoined as a REPLICA {} after its pod could start again",
            seconds(after)
        ),
        None => eprintln!("the old primary had not rejoined as a REPLICA within 180 s"),
    }
    // Writes through the gateway once the old primary is back. At the pinned commit its brief
    // PRIMARY claim can leave the gateway without a primary ("no primary cached", /ready still
    // 200; spec-local-data-plane.md §2, fixed upstream after d782aa060): if writes still fail
    // that way after 60 s, the gateway pod is restarted once, as the spec advises.
    let at = Instant::now();
    let attempts = write_through_gateway(
        &gateway,
        2001,
        Duration::from_secs(300),
        Some((&kubeconfig, home.as_path())),
    );
    eprintln!(
        "timing: a write through the gateway worked {} after the old primary was let back \
         ({attempts} attempts)",
        seconds(at.elapsed())
    );

    // Ctrl-C: nothing it started is left, PostgreSQL included.
    let before: Vec<Proc> = {
        let mut all = descendants(local.child.id());
        for process in referencing(&state) {
            if !all.iter().any(|p| p.pid == process.pid) {
                all.push(process);
            }
        }
        all
    };
    // The postmaster keeps its program path as argv[0]; its children rename themselves
    // `postgres: <role>`.
    assert!(
        before.iter().any(|p| {
            let program = p.cmdline.split(' ').next().unwrap_or_default();
            program.ends_with("/postgres") || program == "postgres:"
        }),
        "PostgreSQL runs under local mode before the stop: {before:#?}"
    );
    let stopped = local.interrupt(Duration::from_secs(120));
    let cleaned = wait_for_no_survivors(&before, &state, Duration::from_secs(30));
    eprintln!(
        "timing: Ctrl-C stopped local mode in {}, its {} processes gone {} later",
        seconds(stopped),
        before.len(),
        seconds(cleaned)
    );
}

/// What the failover step needs to know of a pod.
#[derive(Debug)]
struct PodState {
    node: String,
    ready: String,
    /// The reason of `PodScheduled` (`Unschedulable` while no node takes it).
    scheduling: String,
}

fn pod_state(kubeconfig: &str, home: &Path, name: &str) -> Result<PodState, String> {
    let text = kubectl(
        kubeconfig,
        home,
        &[
            "get",
            "pod",
            name,
            "-o",
            r#"jsonpath={.spec.nodeName},{.status.conditions[?(@.type=="Ready")].status},{.status.conditions[?(@.type=="PodScheduled")].reason}"#,
        ],
    )?;
    let mut parts = text.trim().splitn(3, ',').map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();
    Ok(PodState {
        node: next(),
        ready: next(),
        scheduling: next(),
    })
}

/// Taints every node `NoSchedule` (`hold`), or removes that taint: while held, a deleted pod
/// that is recreated stays Pending, as on a cluster that lost its node.
fn hold_scheduling(kubeconfig: &str, home: &Path, hold: bool) -> Result<String, String> {
    let taint = if hold {
        "multigres-e2e=failover:NoSchedule"
    } else {
        "multigres-e2e-"
    };
    kubectl(
        kubeconfig,
        home,
        &["taint", "nodes", "--all", taint, "--overwrite"],
    )
}

/// Inserts a row through the gateway (the address its Service resolves to now) until one
/// insert succeeds; returns the number of attempts. Each attempt uses a new id (`first`,
/// `first + 1`, ...), so an attempt that committed but reported an error cannot make the next
/// one fail. With `restart`, a gateway that still answers "no primary cached" 60 s in is
/// restarted once (its pod deleted; the Deployment makes a new one).
fn write_through_gateway(
    gateway: &dyn Fn() -> Result<IpAddr, String>,
    first: i64,
    deadline: Duration,
    restart: Option<(&str, &Path)>,
) -> i64 {
    let started = Instant::now();
    let mut restarted = false;
    let mut attempt = 0;
    loop {
        let id = first + attempt;
        attempt += 1;
        let result = gateway().and_then(|ip| {
            psql(
                &PgTarget::postgres(ip, 5432),
                &format!("INSERT INTO e2e_rows VALUES ({id}, 'attempt {attempt}')"),
            )
        });
        let error = match result {
            Ok(_) => return attempt,
            Err(error) => error,
        };
        assert!(
            started.elapsed() < deadline,
            "writes through the gateway still fail after {deadline:?}: {error}"
        );
        if let Some((kubeconfig, home)) = restart
            && !restarted
            && started.elapsed() > Duration::from_secs(60)
            && error.contains("no primary cached")
        {
            eprintln!(
                "the gateway lost its primary (the pinned commit's bug): restarting it; {error}"
            );
            kubectl(
                kubeconfig,
                home,
                &["delete", "pod", "-l", GATEWAY_SELECTOR, "--wait=false"],
            )
            .expect("kubectl delete the gateway pod");
            restarted = true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `multigres-operator status minimal` against `kubeconfig`.
fn status_tree(kubeconfig: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
        .args(["status", "minimal"])
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("status runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The checks, on what every machine with etcd and kubectl has.

/// Local mode with a simulated data plane (its topology etcd runs for real): pooler records
/// written with the topology module, as multipooler registers them under kubesim (service ID,
/// the pod's address as hostname), are counted by [`shard_poolers`] and shown by `status`; then
/// Ctrl-C, and the /proc scan sees the etcd processes before and nothing after.
#[test]
fn the_checks_hold_on_a_local_cluster_with_a_simulated_data_plane() {
    if !etcd_available("local_data_plane") {
        return;
    }
    assert!(
        Path::new(KUBECTL).exists() || std::env::var_os("CI").is_none(),
        "{KUBECTL} is missing; scripts/test.sh installs it"
    );
    if !Path::new(KUBECTL).exists() {
        eprintln!("skipped: {KUBECTL} is missing (apt-get install kubernetes-client)");
        return;
    }
    let temp = tempfile::tempdir().expect("a temporary directory");
    let state = temp.path().join("state");
    let home = temp.path().join("home");
    std::fs::create_dir_all(&home).expect("a kubectl home");
    let mut local = Local::start(&["--data-plane", "simulated"], &state);
    let kubeconfig = local.wait_until_healthy(Duration::from_secs(300));
    let pods = pool_pods(&kubeconfig, &home).expect("the pool pods");
    assert_eq!(pods.len(), 3, "{pods:?}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let topo = resolve(&kubeconfig, &home, TOPOLOGY_SERVICE).expect("the topology resolves");
    let etcd = format!("{topo}:2379");
    // The operator registered the cell and the database, but no multipooler runs: no records.
    assert_eq!(
        runtime.block_on(shard_poolers(&etcd)),
        Ok(Vec::new()),
        "a simulated data plane registers no pooler"
    );

    // What the failover step relies on: with every node tainted `NoSchedule`, a new pod stays
    // Pending (Unschedulable); once the taint is gone it is scheduled and starts. Shown with a
    // pod of the test's own: whether and when the operator recreates a deleted pool pod is the
    // operator's business (the end-to-end test only reports the old primary's return).
    hold_scheduling(&kubeconfig, &home, true).expect("the nodes are tainted");
    kubectl(
        &kubeconfig,
        &home,
        &[
            "run",
            "e2e-hold",
            "--image=registry.k8s.io/pause:3.10",
            "--restart=Never",
        ],
    )
    .expect("kubectl run");
    let held = || -> Result<(), String> {
        let pod = pod_state(&kubeconfig, &home, "e2e-hold")?;
        if pod.node.is_empty() && pod.scheduling == "Unschedulable" {
            Ok(())
        } else {
            Err(format!("{pod:?}"))
        }
    };
    runtime.block_on(poll("a Pending pod", Duration::from_secs(60), || {
        let result = held();
        async move { result }
    }));
    hold_scheduling(&kubeconfig, &home, false).expect("the taints are removed");
    let started = || -> Result<(), String> {
        let pod = pod_state(&kubeconfig, &home, "e2e-hold")?;
        if !pod.node.is_empty() && pod.ready == "True" {
            Ok(())
        } else {
            Err(format!("{pod:?}"))
        }
    };
    runtime.block_on(poll("the pod Ready", Duration::from_secs(60), || {
        let result = started();
        async move { result }
    }));
    kubectl(
        &kubeconfig,
        &home,
        &["delete", "pod", "e2e-hold", "--wait=false"],
    )
    .expect("kubectl delete pod");

    let record = |pod: &(String, String), role: PoolerType, shard: &str| MultiPooler {
        id: Some(Id {
            component: ComponentType::Multipooler as i32,
            cell: CELL.into(),
            name: multipooler_service_id(&pod.0),
        }),
        database: DATABASE.into(),
        table_group: TABLE_GROUP.into(),
        shard: shard.into(),
        r#type: role as i32,
        hostname: pod.1.clone(),
        ..MultiPooler::default()
    };
    let records = [
        record(&pods[0], PoolerType::Replica, SHARD),
        record(&pods[1], PoolerType::Primary, SHARD),
        record(&pods[2], PoolerType::Replica, SHARD),
        // Another shard's primary in the same cell: not counted, not shown.
        MultiPooler {
            id: Some(Id {
                component: ComponentType::Multipooler as i32,
                cell: CELL.into(),
                name: "p-elsewhere".into(),
            }),
            ..record(&pods[0], PoolerType::Primary, "inf-0")
        },
    ];
    runtime.block_on(async {
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(&kubeconfig).expect("the kubeconfig reads"),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .expect("a client configuration");
        let client = kube::Client::try_from(config).expect("a client");
        // As the operator dials the topology from outside a cluster.
        let store = TopoStore::open(
            &format!("{TOPOLOGY_SERVICE}:2379"),
            ROOT,
            Arc::new(ApiServerResolver::new(client)),
        )
        .await
        .expect("a store");
        for pooler in &records {
            let id = pooler.id.clone().expect("an id");
            store
                .create(
                    &pooler_key(ROOT, &id),
                    prost::Message::encode_to_vec(pooler),
                )
                .await
                .expect("the record is written");
        }
    });

    let roles = Roles::of(&runtime.block_on(shard_poolers(&etcd)).expect("read back"));
    assert_eq!(
        roles,
        Roles {
            primary: [multipooler_service_id(&pods[1].0)].into(),
            replica: [
                multipooler_service_id(&pods[0].0),
                multipooler_service_id(&pods[2].0)
            ]
            .into(),
            drained: BTreeSet::new(),
        }
    );
    assert!(roles.is_one_primary_and(2));
    assert_eq!(
        pod_of_service_id(&pods, &multipooler_service_id(&pods[1].0)),
        Some(pods[1].0.clone())
    );

    // local's own tree reads them too: not on a terminal, it prints each pod whose line
    // changed, now with its role.
    let primary_line = local.wait_for_line(Duration::from_secs(30), |line| {
        line.contains(&format!("pod {}:", pods[1].0)) && line.contains("role ")
    });
    assert!(
        primary_line.contains(", role PRIMARY,"),
        "local's tree: {primary_line}"
    );

    // `status` reads the same records (docs/local.md "The status tree").
    let tree = status_tree(&kubeconfig);
    let role_of = |pod: &str| -> String {
        let line = tree.lines().find(|l| l.contains(&format!("pod {pod}:")));
        assert!(line.is_some(), "{pod} in {tree}");
        line.expect("checked above")
            .split(", ")
            .find_map(|part| part.strip_prefix("role "))
            .unwrap_or("none")
            .to_owned()
    };
    assert_eq!(
        [
            role_of(&pods[0].0),
            role_of(&pods[1].0),
            role_of(&pods[2].0)
        ],
        ["REPLICA", "PRIMARY", "REPLICA"],
        "{tree}"
    );

    // Ctrl-C: the etcd members are seen before the stop, nothing after.
    let before = {
        let mut all = descendants(local.child.id());
        all.extend(referencing(&state));
        all
    };
    assert!(
        referencing(&state)
            .iter()
            .filter(|p| p.cmdline.contains("etcd"))
            .count()
            >= 3,
        "the three etcd members reference the state folder: {before:#?}"
    );
    local.interrupt(Duration::from_secs(60));
    wait_for_no_survivors(&before, &state, Duration::from_secs(30));
}

/// A process tree (a shell and its `sleep`, one of them in a folder) is found as descendants
/// and by its folder, and is gone once killed.
#[test]
fn the_proc_scan_finds_a_process_tree_and_sees_it_go() {
    let dir = tempfile::tempdir().expect("a folder");
    let folder = dir.path().canonicalize().expect("a real path");
    let mut child = Command::new("/bin/sh")
        .args(["-c", "sleep 300 & wait"])
        .current_dir(&folder)
        .spawn()
        .expect("sh starts");
    let pid = child.id();
    let until = Instant::now() + Duration::from_secs(10);
    let tree = loop {
        let tree = descendants(std::process::id());
        if tree.iter().any(|p| p.cmdline == "sleep 300") {
            break tree;
        }
        assert!(Instant::now() < until, "no sleep under the test: {tree:#?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(tree.iter().any(|p| p.pid == pid), "{tree:#?}");
    let in_folder = referencing(&folder);
    assert!(
        in_folder.iter().any(|p| p.pid == pid)
            && in_folder.iter().any(|p| p.cmdline == "sleep 300"),
        "both work in {}: {in_folder:#?}",
        folder.display()
    );
    let before: Vec<Proc> = tree
        .into_iter()
        .filter(|p| p.pid == pid || p.cmdline == "sleep 300")
        .collect();
    assert_eq!(before.len(), 2, "{before:#?}");
    assert_eq!(survivors(&before, &folder).len(), 2);
    // The shell dies; its sleep lives on, orphaned: still a survivor.
    child.kill().expect("kill the shell");
    child.wait().expect("reaped");
    let left = survivors(&before, &folder);
    assert_eq!(
        left.iter().map(|p| p.cmdline.as_str()).collect::<Vec<_>>(),
        ["sleep 300"]
    );
    for process in &left {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(process.pid).expect("a pid")),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("kill the sleep");
    }
    wait_for_no_survivors(&before, &folder, Duration::from_secs(10));
}

/// A PostgreSQL of its own (initdb, pg_ctl), stopped when dropped.
struct LocalPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    user: Option<(u32, u32)>,
    _dir: tempfile::TempDir,
}

impl LocalPostgres {
    /// `None` (with the reason printed) when PostgreSQL's server binaries are not installed.
    fn start() -> Option<LocalPostgres> {
        let tools = kubesim::process_runtime::ProcessRuntimeConfig::default().detect_tools();
        let Some(bin) = tools.binaries.postgres_bin.clone() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL's server binaries are missing; scripts/test.sh installs postgresql"
            );
            eprintln!("skipped: no PostgreSQL server binaries (apt-get install postgresql)");
            return None;
        };
        // initdb refuses root: as root, PostgreSQL runs as the machine's postgres user.
        let user = (tools.uid == 0).then_some(tools.default_user);
        let dir = tempfile::tempdir().expect("a folder");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let data = dir.path().join("data");
        let port = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let postgres = LocalPostgres {
            bin,
            data,
            port,
            user,
            _dir: dir,
        };
        postgres.run(
            "initdb",
            &[
                "-D",
                &postgres.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-locale",
                "-E",
                "UTF8",
            ],
        );
        let socket_dir = postgres
            .data
            .parent()
            .expect("a parent")
            .to_string_lossy()
            .into_owned();
        postgres.run(
            "pg_ctl",
            &[
                "-D",
                &postgres.data.to_string_lossy(),
                "-l",
                &format!("{socket_dir}/log"),
                "-w",
                "-t",
                "60",
                "-o",
                &format!("-c listen_addresses=127.0.0.1 -p {port} -k {socket_dir}"),
                "start",
            ],
        );
        Some(postgres)
    }

    fn command(&self, program: &str) -> Command {
        let binary = self.bin.join(program);
        match self.user {
            Some((uid, gid)) => {
                let mut command = Command::new("setpriv");
                command
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .args(["--clear-groups", "--"])
                    .arg(binary);
                command
            }
            None => Command::new(binary),
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}

#[test]
fn psql_output_is_parsed_into_rows() {
    assert_eq!(parse_rows("1\n"), [["1"]]);
    assert_eq!(parse_rows("100|5050\n"), [["100", "5050"]]);
    assert_eq!(parse_rows("a|\n|b\n"), [["a", ""], ["", "b"]]);
    assert_eq!(parse_rows(""), Vec::<Vec<String>>::new());
}

/// psql against a real PostgreSQL: `SELECT 1`, written rows read back, a failing statement
/// and a port nobody listens on give psql's message.
#[test]
fn psql_reads_rows_and_reports_failures_from_a_real_postgres() {
    if !psql_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "psql is missing; scripts/test.sh installs postgresql"
        );
        eprintln!("skipped: psql is missing (apt-get install postgresql-client)");
        return;
    }
    let Some(postgres) = LocalPostgres::start() else {
        return;
    };
    let target = PgTarget {
        host: IpAddr::from([127, 0, 0, 1]),
        port: postgres.port,
        user: "postgres",
        password: "unused with trust",
        database: "postgres",
    };
    assert_eq!(psql(&target, "SELECT 1"), Ok(vec![vec!["1".to_owned()]]));
    psql(
        &target,
        "CREATE TABLE e2e_rows (id integer PRIMARY KEY, note text NOT NULL)",
    )
    .expect("CREATE TABLE");
    assert_eq!(
        psql(
            &target,
            "INSERT INTO e2e_rows SELECT g, 'row ' || g FROM generate_series(1, 100) AS g"
        ),
        Ok(vec![]),
        "-q: no command tag"
    );
    assert_eq!(
        psql(&target, "SELECT count(*), sum(id) FROM e2e_rows"),
        Ok(vec![vec!["100".to_owned(), "5050".to_owned()]])
    );
    assert_eq!(
        psql(&target, "SELECT pg_is_in_recovery()"),
        Ok(vec![vec!["f".to_owned()]])
    );
    let duplicate = psql(&target, "INSERT INTO e2e_rows VALUES (1, 'again')")
        .expect_err("a duplicate key fails");
    assert!(
        duplicate.contains("duplicate key value violates unique constraint"),
        "{duplicate}"
    );
    let closed = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let refused = psql(
        &PgTarget {
            port: closed,
            ..target.clone()
        },
        "SELECT 1",
    )
    .expect_err("nothing listens");
    assert!(refused.contains("failed"), "{refused}");
}
