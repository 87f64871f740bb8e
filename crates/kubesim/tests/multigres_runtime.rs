//! The multigres runtime's adaptations (spec-local-data-plane.md §3) applied to the exact pods
//! the operator's builders produce: the Go operator's golden pool Pods and the pod templates of
//! its multiorch, multigateway and multiadmin Deployments, read as JSON from
//! `shared/spec/golden/objects/` (`MULTIGRES_SHARED_DIR`, else `<workspace>/../shared`).
//!
//! Everything here is the pure planning ([`plan_launch`]): no process starts, so it runs on any
//! machine. The end-to-end run with real binaries is `multigres_data_plane.rs` in the operator.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use kubesim::process_runtime::container_env::{EnvSources, config_map_data, secret_data};
use kubesim::process_runtime::host::HostTools;
use kubesim::process_runtime::isolation::{Isolation, UNSHARE};
use kubesim::process_runtime::multigres::{MULTIGRES_PROGRAMS, MultigresBinaries};
use kubesim::process_runtime::supervisor::PrepareError;
use kubesim::process_runtime::{
    LaunchInputs, LaunchPlan, ProcessRuntimeConfig, RuntimeKind, plan_launch,
};

const CASES: [&str; 4] = [
    "case1-minimal",
    "case2-pool-options",
    "case3-s3-backup",
    "case4-long-names",
];
const TOPO_IP: [u8; 4] = [127, 0, 10, 100];
const STATE: &str = "/state";

fn golden_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("MULTIGRES_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let objects = shared.join("spec/golden/objects");
    if objects.is_dir() {
        Some(objects)
    } else {
        println!(
            "skipping: no golden objects at {} (set MULTIGRES_SHARED_DIR)",
            objects.display()
        );
        None
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("a golden file reads");
    serde_json::from_str(&text).expect("a golden file is JSON")
}

/// The golden objects of a case whose file name starts with `<case>.<kind>.`, by name.
fn objects(dir: &Path, case: &str, kind: &str) -> BTreeMap<String, Value> {
    let prefix = format!("{case}.{kind}.");
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("the golden folder lists") {
        let name = entry
            .expect("an entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.starts_with(&prefix) && name.ends_with(".json") && !name.ends_with(".pretty.json") {
            let object = read_json(&dir.join(&name));
            let object_name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            found.insert(object_name, object);
        }
    }
    found
}

/// The pods a case runs: its pool Pods (uid filled in, as the API server would) and one pod
/// per Deployment from its template.
fn pods(dir: &Path, case: &str) -> Vec<Value> {
    let mut pods: Vec<Value> = objects(dir, case, "pod")
        .into_values()
        .enumerate()
        .map(|(i, mut pod)| {
            pod["metadata"]["uid"] = json!(format!("u-pool-{i}"));
            pod
        })
        .collect();
    for (name, deployment) in objects(dir, case, "deployment") {
        let template = &deployment["spec"]["template"];
        let mut metadata = template["metadata"].clone();
        metadata["name"] = json!(format!("{name}-5d9c7b-x2x4q"));
        metadata["namespace"] = json!("default");
        metadata["uid"] = json!(format!("u-{name}"));
        pods.push(json!({"metadata": metadata, "spec": template["spec"].clone()}));
    }
    pods
}

/// A machine with every tool, and namespaces as root.
fn tools(isolation: Isolation) -> HostTools {
    HostTools {
        binaries: MultigresBinaries {
            programs: MULTIGRES_PROGRAMS
                .iter()
                .map(|p| (p.to_string(), Path::new("/opt/multigres/bin").join(p)))
                .collect(),
            postgres_bin: Some(PathBuf::from("/usr/lib/postgresql/15/bin")),
            pgbackrest: Some(PathBuf::from("/usr/bin/pgbackrest")),
        },
        searched: "/opt/multigres/bin".into(),
        locale: true,
        etcd: true,
        isolation,
        default_user: (101, 104),
        uid: 0,
    }
}

struct Sources {
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    config_maps: BTreeMap<String, BTreeMap<String, String>>,
}

/// The case's Secrets and ConfigMaps as the cluster holds them. The generated pgBackRest
/// certificates are `RANDOM` placeholders in the goldens; they stand in as short PEM-like text.
fn sources(dir: &Path, case: &str) -> Sources {
    let mut secrets: BTreeMap<String, BTreeMap<String, String>> = objects(dir, case, "secret")
        .iter()
        .map(|(name, secret)| (name.clone(), secret_data(secret)))
        .collect();
    for (name, data) in secrets.iter_mut() {
        if name.ends_with("-pgbackrest-tls") {
            data.insert("tls.crt".into(), "CERT".into());
            data.insert("tls.key".into(), "KEY".into());
        }
        if name.ends_with("-pgbackrest-ca") {
            data.insert("ca.crt".into(), "CA".into());
        }
    }
    // case3's user Secret (an input of the case).
    secrets.insert(
        "s3-backup-credentials".into(),
        [
            ("AWS_ACCESS_KEY_ID".to_string(), "AKIDEXAMPLE".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "secret".to_string()),
        ]
        .into(),
    );
    let mut config_maps: BTreeMap<String, BTreeMap<String, String>> =
        objects(dir, case, "configmap")
            .iter()
            .map(|(name, config_map)| (name.clone(), config_map_data(config_map)))
            .collect();
    // case2's user ConfigMap (an input of the case, not an operator object).
    config_maps.insert(
        "pg-custom-config".into(),
        [(
            "postgresql.conf".to_string(),
            "shared_buffers = 64MB\n".to_string(),
        )]
        .into(),
    );
    Sources {
        secrets,
        config_maps,
    }
}

fn resolve(host: &str) -> Option<IpAddr> {
    (host.ends_with("-global-topo.default.svc")).then(|| IpAddr::from(TOPO_IP))
}

fn plan(
    tools: &HostTools,
    sources: &Sources,
    pod: &Value,
    container: &Value,
    pod_ip: [u8; 4],
) -> Result<LaunchPlan, PrepareError> {
    let kind = RuntimeKind::for_image(container["image"].as_str().unwrap_or_default())
        .expect("a multigres image");
    let secret = |name: &str| sources.secrets.get(name).cloned();
    let config_map = |name: &str| sources.config_maps.get(name).cloned();
    plan_launch(&LaunchInputs {
        kind,
        config: &ProcessRuntimeConfig::default(),
        tools,
        root: Path::new(STATE),
        pod,
        container,
        pod_ip: IpAddr::from(pod_ip),
        resolve: &resolve,
        sources: EnvSources {
            secret: &secret,
            config_map: &config_map,
        },
        can_mount_at: &|_| true,
        operator: None,
    })
}

/// The containers of a pod that run as multigres processes (sidecars first).
fn multigres_containers(pod: &Value) -> Vec<Value> {
    let list = |field: &str| pod["spec"][field].as_array().cloned().unwrap_or_default();
    list("initContainers")
        .into_iter()
        .chain(list("containers"))
        .filter(|c| {
            matches!(
                RuntimeKind::for_image(c["image"].as_str().unwrap_or_default()),
                Some(RuntimeKind::Multigres(_))
            )
        })
        .collect()
}

/// The script `unshare` runs, split into lines, and the final exec's words.
fn script_of(plan: &LaunchPlan) -> (Vec<String>, Vec<String>) {
    assert_eq!(plan.launch.program, PathBuf::from(UNSHARE));
    let script = plan.launch.args.last().expect("a script").clone();
    let lines: Vec<String> = script.lines().map(String::from).collect();
    let exec = lines
        .last()
        .expect("an exec line")
        .split(' ')
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    (lines, exec)
}

fn env_map(plan: &LaunchPlan) -> BTreeMap<String, String> {
    plan.launch.env.iter().cloned().collect()
}

#[test]
fn the_minimal_pool_pod_runs_pgctld_and_multipooler_as_measured() {
    let Some(dir) = golden_dir() else { return };
    let tools = tools(Isolation::Namespaces);
    let sources = sources(&dir, "case1-minimal");
    let pod = pods(&dir, "case1-minimal")
        .into_iter()
        .find(|p| {
            p["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("-a3a0d77b-0"))
        })
        .expect("pool pod 0");
    let containers = multigres_containers(&pod);
    let names: Vec<&str> = containers
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        vec!["multipooler", "postgres"],
        "postgres-exporter stays simulated"
    );
    let pgctld = plan(&tools, &sources, &pod, &containers[1], [127, 0, 10, 1]).expect("plans");
    let claims = "/state/volumes/default";
    let pod_dir = "/state/pods/u-pool-0";
    let (lines, _) = script_of(&pgctld);
    assert_eq!(
        lines,
        vec![
            "set -e".to_string(),
            "mkdir -p /var/lib/pooler".into(),
            format!(
                "mount --bind {claims}/data-minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0 /var/lib/pooler"
            ),
            "mkdir -p /backups".into(),
            format!(
                "mount --bind {claims}/backup-data-minimal-postgres-default-0-inf-zone-a-4a84cb77 /backups"
            ),
            "mkdir -p /var/run/postgresql".into(),
            format!("mount --bind {pod_dir}/volumes/socket-dir /var/run/postgresql"),
            "mkdir -p /etc/pgctld".into(),
            format!("mount --bind {pod_dir}/volumes/pg-hba-template /etc/pgctld"),
            "mkdir -p /certs/pgbackrest".into(),
            format!("mount --bind {pod_dir}/volumes/pgbackrest-certs /certs/pgbackrest"),
            format!("mount --bind {pod_dir}/containers/postgres/hosts /etc/hosts"),
            // spec-local-data-plane.md §2's pgctld line, plus the pgBackRest flags the operator
            // adds.
            "exec setpriv --reuid=101 --regid=104 --clear-groups --pdeathsig KILL -- \
             /opt/multigres/bin/pgctld server --pooler-dir=/var/lib/pooler --grpc-port=15470 \
             --pg-port=5432 --pg-listen-addresses=127.0.10.1 --log-level=info \
             --grpc-socket-file=/var/lib/pooler/pgctld.sock \
             --pg-hba-template=/etc/pgctld/pg_hba_template.conf --http-port=15400 \
             --pgbackrest-cert-dir=/certs/pgbackrest --pgbackrest-port=8432 \
             --bind-address=127.0.10.1 --grpc-bind-address=127.0.10.1 --hostname=127.0.10.1"
                .into(),
        ]
    );
    assert_eq!(
        &pgctld.launch.args[..pgctld.launch.args.len() - 1],
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
            "-c"
        ]
    );
    assert_eq!(
        env_map(&pgctld),
        BTreeMap::from([
            ("PGDATA".to_string(), "/var/lib/pooler/pg_data".to_string()),
            ("POSTGRES_USER".into(), "postgres".into()),
            ("POSTGRES_PASSWORD".into(), "postgres".into()),
            (
                "PATH".into(),
                "/opt/multigres/bin:/usr/lib/postgresql/15/bin:/usr/bin:/usr/local/sbin:\
                 /usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                    .into()
            ),
            ("HOME".into(), format!("{pod_dir}/containers/postgres/home")),
        ])
    );
    // The namespace holds the postmaster: no pid file to chase.
    assert_eq!(
        (pgctld.launch.pid_files.len(), pgctld.owner),
        (0, Some((101, 104)))
    );
    let files: BTreeMap<String, String> = pgctld
        .files
        .iter()
        .map(|(path, text, _)| (path.display().to_string(), text.clone()))
        .collect();
    let hba = sources.config_maps["minimal-postgres-default-0-inf-1e3c045c-pg-hba"]
        ["pg_hba_template.conf"]
        .clone();
    assert_eq!(
        files,
        BTreeMap::from([
            (
                format!("{pod_dir}/volumes/pg-hba-template/pg_hba_template.conf"),
                hba
            ),
            (
                format!("{pod_dir}/volumes/pgbackrest-certs/ca.crt"),
                "CA".to_string()
            ),
            (
                format!("{pod_dir}/volumes/pgbackrest-certs/pgbackrest.crt"),
                "CERT".into()
            ),
            (
                format!("{pod_dir}/volumes/pgbackrest-certs/pgbackrest.key"),
                "KEY".into()
            ),
            (
                format!("{pod_dir}/containers/postgres/hosts"),
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
                 127.0.10.1\tminimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0\n"
                    .into()
            ),
        ])
    );

    let pooler = plan(&tools, &sources, &pod, &containers[0], [127, 0, 10, 1]).expect("plans");
    let (lines, exec) = script_of(&pooler);
    assert!(lines.contains(
        &"mount --bind /state/pods/u-pool-0/containers/multipooler/hosts /etc/hosts".to_string()
    ));
    assert_eq!(
        exec[8..],
        [
            "/opt/multigres/bin/multipooler",
            "--http-port=15200",
            "--grpc-port=15270",
            "--pooler-dir=/var/lib/pooler",
            "--socket-file=/var/lib/pooler/pg_sockets/.s.PGSQL.5432",
            "--service-map=grpc-pooler",
            "--topo-global-server-addresses=127.0.10.100:2379",
            "--topo-global-root=/multigres/global",
            "--cell=zone-a",
            "--database=postgres",
            "--table-group=default",
            "--shard=0-inf",
            "--service-id=p-45f814aa",
            "--pgctld-addr=127.0.10.1:15470",
            "--pg-port=5432",
            "--connpool-global-capacity=40",
            "--connpool-admin-capacity=5",
            "--log-level=info",
            "--pgbackrest-cert-file=/certs/pgbackrest/pgbackrest.crt",
            "--pgbackrest-key-file=/certs/pgbackrest/pgbackrest.key",
            "--pgbackrest-ca-file=/certs/pgbackrest/ca.crt",
            "--bind-address=127.0.10.1",
            "--grpc-bind-address=127.0.10.1",
            "--hostname=127.0.10.1",
        ]
    );
    let hosts = pooler
        .files
        .iter()
        .find(|(path, _, _)| path.ends_with("multipooler/hosts"))
        .map(|(_, text, _)| text.clone())
        .expect("a hosts file");
    assert!(
        hosts.ends_with("127.0.10.100\tminimal-global-topo.default.svc\n"),
        "the Cell record's topology address resolves inside the namespace: {hosts}"
    );
}

#[test]
fn gateway_orchestrator_and_admin_bind_their_pod_address() {
    let Some(dir) = golden_dir() else { return };
    let tools = tools(Isolation::Namespaces);
    let sources = sources(&dir, "case1-minimal");
    let execs: BTreeMap<String, Vec<String>> = pods(&dir, "case1-minimal")
        .iter()
        .filter(|p| p["spec"]["initContainers"].is_null())
        .flat_map(|pod| {
            multigres_containers(pod)
                .into_iter()
                .map(|c| {
                    let plan = plan(&tools, &sources, pod, &c, [127, 0, 10, 10]).expect("plans");
                    let (_, exec) = script_of(&plan);
                    (
                        c["name"].as_str().unwrap_or_default().to_string(),
                        exec[8..].to_vec(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let words = |s: &str| -> Vec<String> { s.split(' ').map(String::from).collect() };
    assert_eq!(
        execs,
        BTreeMap::from([
            (
                "multigateway".to_string(),
                // The operator writes `--flag value`; the adapted flags are `--flag=value`.
                words(
                    "/opt/multigres/bin/multigateway --http-port=15100 --grpc-port=15170 \
                     --pg-port=5432 --pg-replica-port=5433 \
                     --topo-global-server-addresses=127.0.10.100:2379 \
                     --topo-global-root=/multigres/global --cell=zone-a --log-level=info \
                     --bind-address=127.0.10.10 --grpc-bind-address=127.0.10.10 \
                     --pg-bind-address=127.0.10.10 --hostname=127.0.10.10"
                )
            ),
            (
                "multiorch".to_string(),
                words(
                    "/opt/multigres/bin/multiorch --http-port=15300 --grpc-port=15370 \
                     --topo-global-server-addresses=127.0.10.100:2379 \
                     --topo-global-root=/multigres/global --cell=zone-a \
                     --watch-targets=postgres/default/0-inf --log-level=info \
                     --bind-address=127.0.10.10 --grpc-bind-address=127.0.10.10 \
                     --hostname=127.0.10.10"
                )
            ),
            (
                "multiadmin".to_string(),
                words(
                    "/opt/multigres/bin/multiadmin --http-port=18000 --grpc-port=18070 \
                     --topo-global-server-addresses=127.0.10.100:2379 \
                     --topo-global-root=/multigres/global --service-map=grpc-multiadmin \
                     --pprof-http=true --log-level=info --bind-address=127.0.10.10 \
                     --grpc-bind-address=127.0.10.10 --hostname=127.0.10.10"
                )
            ),
        ])
    );
}

/// Every golden case: no wildcard, loopback or cluster DNS name is left in an address flag,
/// every program binds the pod's address, and the volumes are at their container paths.
#[test]
fn every_golden_pod_is_adapted_to_its_own_address() {
    let Some(dir) = golden_dir() else { return };
    let tools = tools(Isolation::Namespaces);
    let mut planned = 0;
    for case in CASES {
        let sources = sources(&dir, case);
        for (i, pod) in pods(&dir, case).iter().enumerate() {
            let ip = [127, 0, 20, u8::try_from(i + 1).expect("few pods")];
            let ip_text = format!("127.0.20.{}", i + 1);
            for container in multigres_containers(pod) {
                let what = format!("{case} {} {}", pod["metadata"]["name"], container["name"]);
                let planned_launch = plan(&tools, &sources, pod, &container, ip);
                assert!(planned_launch.is_ok(), "{what}: {planned_launch:?}");
                let plan = planned_launch.expect("checked above");
                let (lines, exec) = script_of(&plan);
                for flag in ["--bind-address", "--grpc-bind-address", "--hostname"] {
                    assert!(
                        exec.contains(&format!("{flag}={ip_text}")),
                        "{what}: {flag}"
                    );
                }
                for word in &exec[8..] {
                    let Some((flag, value)) = word.split_once('=') else {
                        continue;
                    };
                    if flag.ends_with("-addr")
                        || flag.ends_with("address")
                        || flag.ends_with("addresses")
                    {
                        for item in value.split(',') {
                            let host = item.rsplit_once(':').map_or(item, |(h, _)| h);
                            assert!(
                                host.parse::<IpAddr>().is_ok_and(|ip| !ip.is_unspecified()),
                                "{what}: {word} still names {host:?}"
                            );
                        }
                    }
                }
                if case == "case3-s3-backup" && !pod["spec"]["initContainers"].is_null() {
                    assert_eq!(env_map(&plan)["AWS_ACCESS_KEY_ID"], "AKIDEXAMPLE", "{what}");
                }
                let mounts: Vec<&str> = container["volumeMounts"]
                    .as_array()
                    .map(|m| m.iter().filter_map(|m| m["mountPath"].as_str()).collect())
                    .unwrap_or_default();
                for mount in mounts {
                    assert!(
                        lines
                            .iter()
                            .any(|l| l.starts_with("mount --bind")
                                && l.ends_with(&format!(" {mount}"))),
                        "{what}: {mount} is not bind-mounted"
                    );
                }
                planned += 1;
            }
        }
    }
    // 4 cases × (3 pool pods × 2 + multiorch + multigateway + multiadmin).
    assert_eq!(planned, 36);
}

#[test]
fn without_namespaces_paths_are_rewritten_and_the_postmaster_is_tracked() {
    let Some(dir) = golden_dir() else { return };
    let tools = tools(Isolation::None {
        reason: "no unshare".into(),
    });
    let sources = sources(&dir, "case1-minimal");
    let pod = &pods(&dir, "case1-minimal")[0];
    let pgctld = multigres_containers(pod)
        .into_iter()
        .find(|c| c["name"] == "postgres")
        .expect("the postgres container");
    let plan = plan(&tools, &sources, pod, &pgctld, [127, 0, 10, 1]).expect("plans");
    let data =
        "/state/volumes/default/data-minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0";
    let pod_dir = "/state/pods/u-pool-0";
    assert_eq!(
        plan.launch.program,
        PathBuf::from("/opt/multigres/bin/pgctld")
    );
    assert_eq!(
        plan.launch.args,
        vec![
            "server".to_string(),
            format!("--pooler-dir={data}"),
            "--grpc-port=15470".into(),
            "--pg-port=5432".into(),
            "--pg-listen-addresses=127.0.10.1".into(),
            "--log-level=info".into(),
            format!("--grpc-socket-file={data}/pgctld.sock"),
            format!("--pg-hba-template={pod_dir}/volumes/pg-hba-template/pg_hba_template.conf"),
            "--http-port=15400".into(),
            format!("--pgbackrest-cert-dir={pod_dir}/volumes/pgbackrest-certs"),
            "--pgbackrest-port=8432".into(),
            "--bind-address=127.0.10.1".into(),
            "--grpc-bind-address=127.0.10.1".into(),
            "--hostname=127.0.10.1".into(),
        ]
    );
    assert_eq!(env_map(&plan)["PGDATA"], format!("{data}/pg_data"));
    assert_eq!(
        plan.launch.pid_files,
        vec![PathBuf::from(format!("{data}/pg_data/postmaster.pid"))]
    );
    assert_eq!(plan.launch.run_as, Some((101, 104)));
}

#[test]
fn a_missing_secret_or_topology_address_holds_the_start() {
    let Some(dir) = golden_dir() else { return };
    let tools = tools(Isolation::Namespaces);
    let mut sources = sources(&dir, "case1-minimal");
    let pod = &pods(&dir, "case1-minimal")[0];
    let pooler = multigres_containers(pod).remove(0);
    sources
        .secrets
        .remove("minimal-postgres-default-0-inf-1e3c045c-postgres-password");
    assert_eq!(
        plan(&tools, &sources, pod, &pooler, [127, 0, 10, 1]),
        Err(PrepareError::Config(
            "container \"multipooler\": secret \
             \"minimal-postgres-default-0-inf-1e3c045c-postgres-password\" not found"
                .into()
        ))
    );
    let sources = self::sources(&dir, "case1-minimal");
    let mut renamed = pooler.clone();
    renamed["args"][6] = json!("--topo-global-server-addresses=other-topo.default.svc:2379");
    assert_eq!(
        plan(&tools, &sources, pod, &renamed, [127, 0, 10, 1]),
        Err(PrepareError::NotYet(
            "--topo-global-server-addresses: host \"other-topo.default.svc\" does not resolve \
             to a pod address yet"
                .into()
        ))
    );
}

/// Image → binary and env resolution on every container of every golden case: each multigres
/// container runs the binary its image and argv name, every variable it declares reaches the
/// process with the value of its Secret key (or literal), and the containers of other images
/// (postgres-exporter, multiadmin-web) are not run.
#[test]
fn every_golden_container_runs_its_binary_with_its_resolved_environment() {
    let Some(dir) = golden_dir() else { return };
    let tools = tools(Isolation::Namespaces);
    let expected_program = BTreeMap::from([
        ("multipooler", "multipooler"),
        ("postgres", "pgctld"),
        ("multiorch", "multiorch"),
        ("multigateway", "multigateway"),
        ("multiadmin", "multiadmin"),
    ]);
    let mut checked = 0;
    for case in CASES {
        let sources = sources(&dir, case);
        for pod in pods(&dir, case) {
            let list = |field: &str| pod["spec"][field].as_array().cloned().unwrap_or_default();
            for container in list("initContainers").into_iter().chain(list("containers")) {
                let name = container["name"].as_str().unwrap_or_default().to_string();
                let what = format!("{case} {} {name}", pod["metadata"]["name"]);
                let image = container["image"].as_str().unwrap_or_default();
                let Some(program) = expected_program.get(name.as_str()) else {
                    assert!(
                        ["postgres-exporter", "multiadmin-web"].contains(&name.as_str()),
                        "{what}: a container this test does not know"
                    );
                    assert_eq!(
                        RuntimeKind::for_image(image),
                        None,
                        "{what} stays simulated"
                    );
                    continue;
                };
                let planned = plan(&tools, &sources, &pod, &container, [127, 0, 30, 1]);
                assert!(planned.is_ok(), "{what}: {planned:?}");
                let plan = planned.expect("checked above");
                let (_, exec) = script_of(&plan);
                assert_eq!(
                    exec[8],
                    format!("/opt/multigres/bin/{program}"),
                    "{what}: {exec:?}"
                );
                let env = env_map(&plan);
                for declared in container["env"].as_array().into_iter().flatten() {
                    let var = declared["name"].as_str().unwrap_or_default();
                    let value = env.get(var).map(String::as_str);
                    let from_secret = &declared["valueFrom"]["secretKeyRef"];
                    let expected = if from_secret.is_null() {
                        declared["value"].as_str()
                    } else {
                        sources
                            .secrets
                            .get(from_secret["name"].as_str().unwrap_or_default())
                            .and_then(|data| {
                                data.get(from_secret["key"].as_str().unwrap_or_default())
                            })
                            .map(String::as_str)
                    };
                    assert!(expected.is_some(), "{what}: {var} has a source");
                    assert_eq!(value, expected, "{what}: {var}");
                    assert!(
                        !value.unwrap_or_default().contains("$("),
                        "{what}: {var} is expanded"
                    );
                }
                if name == "multipooler" || name == "postgres" {
                    // spec-controllers.md §7.3.2: the shard's password Secret.
                    assert_eq!(env["POSTGRES_PASSWORD"], "postgres", "{what}");
                }
                for var in ["PATH", "HOME"] {
                    assert!(env.contains_key(var), "{what}: {var}");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 36);
}

/// Not root, with user namespaces: a volume whose mount point cannot be made on this machine is
/// reached by rewriting its container paths (flags and variables), the others are bind-mounted
/// at their container paths, and the program runs as the mapped user.
#[test]
fn under_user_namespaces_unmountable_volumes_fall_back_to_rewriting() {
    let Some(dir) = golden_dir() else { return };
    let tools = HostTools {
        uid: 1000,
        ..tools(Isolation::UserNamespaces {
            uid: 1000,
            gid: 1000,
        })
    };
    let sources = sources(&dir, "case1-minimal");
    let pod = &pods(&dir, "case1-minimal")[0];
    let pgctld = multigres_containers(pod)
        .into_iter()
        .find(|c| c["name"] == "postgres")
        .expect("the postgres container");
    let kind = RuntimeKind::for_image(pgctld["image"].as_str().unwrap_or_default())
        .expect("a multigres image");
    let secret = |name: &str| sources.secrets.get(name).cloned();
    let config_map = |name: &str| sources.config_maps.get(name).cloned();
    // Only Debian's /var/run/postgresql exists on this imagined host.
    let can_mount_at = |path: &str| path == "/var/run/postgresql";
    let plan = plan_launch(&LaunchInputs {
        kind,
        config: &ProcessRuntimeConfig::default(),
        tools: &tools,
        root: Path::new(STATE),
        pod,
        container: &pgctld,
        pod_ip: IpAddr::from([127, 0, 10, 1]),
        resolve: &resolve,
        sources: EnvSources {
            secret: &secret,
            config_map: &config_map,
        },
        can_mount_at: &can_mount_at,
        operator: None,
    })
    .expect("plans");
    let data =
        "/state/volumes/default/data-minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0";
    let pod_dir = "/state/pods/u-pool-0";
    assert_eq!(&plan.launch.args[..2], ["--user", "--map-root-user"]);
    let script = plan.launch.args.last().expect("a script");
    let binds: Vec<&str> = script
        .lines()
        .filter(|l| l.starts_with("mount --bind"))
        .collect();
    assert_eq!(
        binds,
        [
            format!("mount --bind {pod_dir}/volumes/socket-dir /var/run/postgresql").as_str(),
            format!("mount --bind {pod_dir}/containers/postgres/hosts /etc/hosts").as_str(),
        ]
    );
    let exec = script.lines().last().expect("an exec line");
    for word in [
        format!("--pooler-dir={data}"),
        format!("--grpc-socket-file={data}/pgctld.sock"),
        format!("--pg-hba-template={pod_dir}/volumes/pg-hba-template/pg_hba_template.conf"),
        format!("--pgbackrest-cert-dir={pod_dir}/volumes/pgbackrest-certs"),
        "--pg-listen-addresses=127.0.10.1".to_string(),
    ] {
        assert!(exec.split(' ').any(|w| w == word), "{word} in {exec}");
    }
    assert!(
        exec.contains("unshare --user --map-user=1000 --map-group=1000"),
        "back to the mapped user: {exec}"
    );
    assert_eq!(env_map(&plan)["PGDATA"], format!("{data}/pg_data"));
    // The PID namespace holds the postmaster here too: no pid file to chase.
    assert!(plan.launch.pid_files.is_empty());
}
