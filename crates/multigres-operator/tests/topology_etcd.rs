//! The topology module against a real etcd (spec-wire.md §1, spec-controllers.md §6): each test
//! starts its own `/usr/bin/etcd` on free loopback ports in a temporary folder, killed when the
//! test ends (also on panic), and reads what the operator wrote with a plain etcd client.
//!
//! Needs /usr/bin/etcd (Debian's etcd-server, installed by scripts/test.sh). Without it a test
//! skips with a message, unless `CI` is set, where it fails.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client as EtcdClient, GetOptions};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, PostParams};
use multigres_api::naming::ClusterName;
use multigres_api::resolver::{
    NamespaceTemplates, global_topo_ref, populate_cluster_defaults, resolve_global_topo,
};
use multigres_api::v1alpha1::{GlobalTopoServerRef, MultigresCluster};
use multigres_operator::topology::client::Write;
use multigres_operator::topology::records::{
    BackupLocation, Cell, ComponentType, Database, Id, Location, MultiPooler, PoolerType,
    QuorumType, S3Backup, StoredDatabase, cell_key, database_key, durability_policy,
    pod_matches_pooler, pooler_key, pooler_role,
};
use multigres_operator::topology::registration::register_cluster_topology_within;
use multigres_operator::topology::registration::{EventType, RecordKind};
use multigres_operator::topology::{
    AddressResolver, ApiServerResolver, ClusterDns, ClusterTopology, GraceDecision, TopoError,
    TopoStore, grace_decision, list_shard_poolers, register_cluster_topology, unregister_pooler,
};
use pretty_assertions::assert_eq;
use prost::Message;
use tokio::time::Instant;

const ETCD: &str = "/usr/bin/etcd";
const ROOT: &str = "/multigres/global";

/// spec-wire.md §1.6: the Cell and Database vectors, which are the minimal sample's records.
const CELL_HEX: &str = "0a067a6f6e652d6112246d696e696d616c2d676c6f62616c2d746f706f2e64656661756c742e7376633a323337391a112f6d756c7469677265732f676c6f62616c";
const DATABASE_HEX: &str = "0a08706f737467726573120c0a0a0a082f6261636b7570731a067a6f6e652d6122100a0a41545f4c454153545f3218032002";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// Whether etcd is installed; when not, a test returns early (or fails under CI).
fn etcd_available() -> bool {
    if Path::new(ETCD).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{ETCD} is missing; CI must install etcd-server (scripts/test.sh does)"
    );
    eprintln!("skipping: {ETCD} is missing (apt-get install etcd-server)");
    false
}

fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind(SocketAddr::new(ip, 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A real etcd, killed when dropped.
struct Etcd {
    child: Child,
    /// `ip:port` of its client URL.
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Etcd {
    async fn start() -> Etcd {
        Self::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await
    }

    async fn start_on(ip: IpAddr) -> Etcd {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (client, peer) = (free_port(ip), free_port(ip));
        let client_url = format!("http://{ip}:{client}");
        let peer_url = format!("http://{ip}:{peer}");
        let child = Command::new(ETCD)
            .args([
                "--name=topology-test",
                &format!("--data-dir={}", dir.path().join("data").display()),
                &format!("--listen-client-urls={client_url}"),
                &format!("--advertise-client-urls={client_url}"),
                &format!("--listen-peer-urls={peer_url}"),
                &format!("--initial-advertise-peer-urls={peer_url}"),
                &format!("--initial-cluster=topology-test={peer_url}"),
                "--log-level=error",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd starts");
        let etcd = Etcd {
            child,
            address: format!("{ip}:{client}"),
            _dir: dir,
        };
        let address = etcd.address.clone();
        eventually("etcd to serve", Duration::from_secs(20), || {
            let address = address.clone();
            async move {
                let mut client = EtcdClient::connect([address], None).await.ok()?;
                client.get("/", None).await.ok().map(|_| ())
            }
        })
        .await;
        etcd
    }

    async fn client(&self) -> EtcdClient {
        EtcdClient::connect([self.address.clone()], None)
            .await
            .expect("etcd accepts a client")
    }

    async fn store(&self) -> TopoStore {
        TopoStore::open(&self.address, ROOT, Arc::new(ClusterDns))
            .await
            .expect("a valid address")
    }

    /// The store revision: it moves with every write and only then.
    async fn revision(&self) -> i64 {
        self.client()
            .await
            .get("/", None)
            .await
            .expect("a read")
            .header()
            .expect("a header")
            .revision()
    }

    /// Every key (and value) under the root, in key order.
    async fn dump(&self) -> Vec<(String, Vec<u8>)> {
        let response = self
            .client()
            .await
            .get(ROOT, Some(GetOptions::new().with_prefix()))
            .await
            .expect("a read");
        response
            .kvs()
            .iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(kv.key()).into_owned(),
                    kv.value().to_vec(),
                )
            })
            .collect()
    }

    async fn put(&self, key: &str, value: Vec<u8>) {
        self.client()
            .await
            .put(key, value, None)
            .await
            .expect("a put");
    }
}

/// Waits until `check` returns `Some`, polling every 50 ms, failing after `deadline`.
async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The minimal sample (config/samples/minimal.yaml) through the real defaulting: its cells and
/// databases as the cluster controller builds them, at the given topology reference.
fn minimal_topology(topo: &GlobalTopoServerRef) -> ClusterTopology {
    let yaml = include_str!("../../../config/samples/minimal.yaml");
    let cluster: MultigresCluster = serde_saphyr::from_str(yaml).expect("the sample parses");
    let mut spec = cluster.spec;
    populate_cluster_defaults(&mut spec, &NamespaceTemplates::empty()).expect("defaults");
    ClusterTopology::from_spec(&spec, topo).expect("a supported policy")
}

/// The minimal sample's own topology reference (`minimal-global-topo.default.svc:2379`).
fn minimal_ref() -> GlobalTopoServerRef {
    let yaml = include_str!("../../../config/samples/minimal.yaml");
    let cluster: MultigresCluster = serde_saphyr::from_str(yaml).expect("the sample parses");
    let mut spec = cluster.spec;
    let templates = NamespaceTemplates::empty();
    populate_cluster_defaults(&mut spec, &templates).expect("defaults");
    let resolved = resolve_global_topo(&spec, &templates).expect("resolves");
    global_topo_ref(
        &ClusterName::parse("minimal").expect("valid"),
        "default",
        &resolved,
    )
}

fn database(name: &str, cells: &[&str]) -> Database {
    Database {
        name: name.into(),
        backup_location: Some(BackupLocation {
            location: Some(Location::Filesystem(
                multigres_operator::topology::records::FilesystemBackup {
                    path: "/backups".into(),
                },
            )),
        }),
        cells: cells.iter().map(|c| (*c).to_owned()).collect(),
        bootstrap_durability_policy: durability_policy("AT_LEAST_2"),
    }
}

fn cell(name: &str, address: &str) -> Cell {
    Cell {
        name: name.into(),
        server_addresses: vec![address.into()],
        root: ROOT.into(),
    }
}

#[tokio::test]
async fn minimal_sample_registers_exactly_the_spec_records() {
    if !etcd_available() {
        return;
    }
    let etcd = Etcd::start().await;
    let store = etcd.store().await;
    let topo = minimal_ref();
    let report = register_cluster_topology(&store, &minimal_topology(&topo))
        .await
        .expect("registration succeeds");
    assert_eq!(report.cells_created, vec!["zone-a"]);
    assert_eq!(report.databases_created, vec!["postgres"]);
    assert!(report.databases_updated.is_empty());
    assert!(report.databases_pruned.is_empty() && report.cells_pruned.is_empty());
    let notes: Vec<String> = report.events().into_iter().map(|e| e.note).collect();
    assert_eq!(
        notes,
        vec![
            "Registered cell 'zone-a' in topology",
            "Registered database 'postgres' in topology"
        ]
    );

    // spec-controllers.md §14.4: exactly two keys, byte for byte the spec's vectors.
    let dump = etcd.dump().await;
    let keys: Vec<&str> = dump.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "/multigres/global/cells/zone-a/Cell",
            "/multigres/global/databases/postgres/Database"
        ]
    );
    assert_eq!(dump[0].1, hex(CELL_HEX));
    assert_eq!(dump[1].1, hex(DATABASE_HEX));

    // And field by field.
    let cell = Cell::decode(dump[0].1.as_slice()).expect("a Cell");
    assert_eq!(cell.name, "zone-a");
    assert_eq!(
        cell.server_addresses,
        vec!["minimal-global-topo.default.svc:2379"]
    );
    assert_eq!(cell.root, "/multigres/global");
    let database = Database::decode(dump[1].1.as_slice()).expect("a Database");
    assert_eq!(database.name, "postgres");
    assert_eq!(
        database.backup_location.and_then(|l| l.location),
        Some(Location::Filesystem(
            multigres_operator::topology::records::FilesystemBackup {
                path: "/backups".into()
            }
        ))
    );
    assert_eq!(database.cells, vec!["zone-a"]);
    let policy = database
        .bootstrap_durability_policy
        .expect("a durability policy");
    assert_eq!(policy.policy_name, "AT_LEAST_2");
    assert_eq!(policy.quorum_type, QuorumType::AtLeastN as i32);
    assert_eq!(policy.required_count, 2);
    assert_eq!(
        (
            policy.policy_version,
            policy.description.as_str(),
            policy.async_fallback
        ),
        (0, "", 0)
    );
}

#[tokio::test]
async fn a_second_pass_writes_nothing() {
    if !etcd_available() {
        return;
    }
    let etcd = Etcd::start().await;
    let topo = GlobalTopoServerRef {
        address: etcd.address.clone(),
        root_path: ROOT.into(),
        implementation: "etcd".into(),
    };
    let desired = minimal_topology(&topo);
    let first = register_cluster_topology(&etcd.store().await, &desired)
        .await
        .expect("first pass");
    assert!(!first.is_empty());
    let before = etcd.revision().await;

    // A fresh store per reconcile, as the controller opens it.
    let second = register_cluster_topology(&etcd.store().await, &desired)
        .await
        .expect("second pass");
    assert!(second.is_empty(), "{second:?}");
    assert!(second.events().is_empty());
    assert_eq!(
        etcd.revision().await,
        before,
        "no etcd write at steady state"
    );

    // A figure, not an assertion: steady-state passes on one store (no dial in the loop).
    let store = etcd.store().await;
    const PASSES: u32 = 50;
    let started = Instant::now();
    for _ in 0..PASSES {
        let report = register_cluster_topology(&store, &desired)
            .await
            .expect("steady-state pass");
        assert!(report.is_empty());
    }
    eprintln!(
        "steady-state topology pass (1 cell, 1 database, pruning on): {:?} on average over {PASSES}",
        started.elapsed() / PASSES
    );
    assert_eq!(etcd.revision().await, before);
}

#[tokio::test]
async fn a_backup_change_rewrites_the_database_and_keeps_foreign_fields() {
    if !etcd_available() {
        return;
    }
    let etcd = Etcd::start().await;
    // A record as a newer multigres might leave it: the minimal Database plus fields 5 and 9.
    let foreign = [0x2a, 0x03, b'n', b'e', b'w', 0x48, 0x96, 0x01];
    let mut stored = hex(DATABASE_HEX);
    stored.extend_from_slice(&foreign);
    let key = database_key(ROOT, "postgres");
    etcd.put(&key, stored).await;

    let mut desired = minimal_topology(&minimal_ref());
    desired.databases[0].backup_location = Some(BackupLocation {
        location: Some(Location::S3(S3Backup {
            bucket: "b".into(),
            region: "us-east-1".into(),
            ..S3Backup::default()
        })),
    });
    desired.databases[0].cells = vec!["zone-a".into(), "zone-b".into()];
    let report = register_cluster_topology(&etcd.store().await, &desired)
        .await
        .expect("registration succeeds");
    assert_eq!(report.databases_updated, vec!["postgres"]);
    assert!(report.databases_created.is_empty());
    assert!(
        report.events().iter().all(|e| !e.note.contains("database")),
        "Go emits no event for an update"
    );

    let after = etcd
        .client()
        .await
        .get(key.as_str(), None)
        .await
        .expect("a read");
    let bytes = after.kvs()[0].value().to_vec();
    let mut expected = desired.databases[0].encode_to_vec();
    expected.extend_from_slice(&foreign);
    assert_eq!(bytes, expected);
    let decoded = StoredDatabase::decode(&bytes).expect("decodes");
    assert_eq!(decoded.unknown_fields(), &foreign);
    assert_eq!(decoded.record.name, "postgres");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cas_writers_lose_no_update() {
    if !etcd_available() {
        return;
    }
    let etcd = Etcd::start().await;
    let key = database_key(ROOT, "orders");
    const WRITES: usize = 25;
    // Every call of a mutator is one attempt; more attempts than writes are lost CAS races.
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = |prefix: &'static str| {
        let address = etcd.address.clone();
        let key = key.clone();
        let attempts = attempts.clone();
        tokio::spawn(async move {
            let store = TopoStore::open(&address, ROOT, Arc::new(ClusterDns))
                .await
                .expect("a valid address");
            for i in 0..WRITES {
                let cell = format!("{prefix}-{i}");
                let write = store
                    .update_with(&key, |current| {
                        attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let mut stored = match current {
                            Some(bytes) => StoredDatabase::decode(bytes).map_err(|source| {
                                TopoError::Decode {
                                    key: key.clone(),
                                    source,
                                }
                            })?,
                            None => StoredDatabase::new(Database {
                                name: "orders".into(),
                                ..Database::default()
                            }),
                        };
                        stored.record.cells.push(cell.clone());
                        Ok(Some(stored.encode()))
                    })
                    .await
                    .expect("the CAS loop ends in a write");
                assert!(matches!(
                    write,
                    Write::Created { .. } | Write::Updated { .. }
                ));
            }
        })
    };
    let (a, b) = (writer("a"), writer("b"));
    a.await.expect("writer a");
    b.await.expect("writer b");
    eprintln!(
        "{} attempts for {} writes: {} lost CAS races retried",
        attempts.load(std::sync::atomic::Ordering::Relaxed),
        2 * WRITES,
        attempts.load(std::sync::atomic::Ordering::Relaxed) - 2 * WRITES
    );

    let stored = etcd
        .store()
        .await
        .get_database("orders")
        .await
        .expect("read");
    let mut cells = stored.record.cells.clone();
    cells.sort();
    let mut expected: Vec<String> = (0..WRITES)
        .flat_map(|i| [format!("a-{i}"), format!("b-{i}")])
        .collect();
    expected.sort();
    assert_eq!(cells, expected, "every write of both writers is there");
}

#[tokio::test]
async fn pruning_removes_stale_records_but_not_a_referenced_cell() {
    if !etcd_available() {
        return;
    }
    let etcd = Etcd::start().await;
    let address = etcd.address.clone();
    let store = etcd.store().await;
    let everything = ClusterTopology {
        cells: ["zone-a", "zone-b", "zone-c"]
            .iter()
            .map(|c| cell(c, &address))
            .collect(),
        databases: vec![
            database("postgres", &["zone-a", "zone-b", "zone-c"]),
            database("orders", &["zone-a", "zone-b", "zone-c"]),
        ],
        prune: true,
    };
    register_cluster_topology(&store, &everything)
        .await
        .expect("registration succeeds");
    // A ghost: a database name with only a ShardInitClaim left (spec-wire.md §1.10).
    etcd.put(
        &format!("{ROOT}/databases/ghost/default/0-inf/ShardInitClaim"),
        vec![],
    )
    .await;

    // Pruning off: nothing goes.
    let fewer = |prune| ClusterTopology {
        cells: vec![cell("zone-a", &address)],
        // zone-b stays referenced (a record built elsewhere than from this spec).
        databases: vec![database("postgres", &["zone-a", "zone-b"])],
        prune,
    };
    let report = register_cluster_topology(&store, &fewer(false))
        .await
        .expect("registration succeeds");
    assert_eq!(report.databases_updated, vec!["postgres"]);
    assert!(report.databases_pruned.is_empty() && report.cells_pruned.is_empty());
    assert_eq!(store.cell_names().await.expect("list").len(), 3);

    let report = register_cluster_topology(&store, &fewer(true))
        .await
        .expect("registration succeeds");
    assert_eq!(report.databases_pruned, vec!["orders"], "not the ghost");
    assert_eq!(report.cells_pruned, vec!["zone-c"]);
    assert_eq!(report.prune_failures.len(), 1);
    let failure = &report.prune_failures[0];
    assert_eq!(
        (failure.kind, failure.name.as_str()),
        (RecordKind::Cell, "zone-b")
    );
    assert!(matches!(
        &failure.error,
        TopoError::NodeNotEmpty { key, cell, database }
            if key == &cell_key(ROOT, "zone-b") && cell == "zone-b" && database == "postgres"
    ));
    let warnings: Vec<String> = report
        .events()
        .into_iter()
        .filter(|e| e.type_ == EventType::Warning)
        .map(|e| e.note)
        .collect();
    assert_eq!(
        warnings,
        vec![
            "Failed to prune cell 'zone-b' from topology: node not empty: \
             /multigres/global/cells/zone-b/Cell: cell zone-b is referenced by database postgres"
        ]
    );

    let keys: Vec<String> = etcd.dump().await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        vec![
            "/multigres/global/cells/zone-a/Cell",
            "/multigres/global/cells/zone-b/Cell",
            "/multigres/global/databases/ghost/default/0-inf/ShardInitClaim",
            "/multigres/global/databases/postgres/Database",
        ]
    );

    // Once nothing references it, the cell goes; pruning again changes nothing.
    let report = register_cluster_topology(
        &store,
        &ClusterTopology {
            databases: vec![database("postgres", &["zone-a"])],
            ..fewer(true)
        },
    )
    .await
    .expect("registration succeeds");
    assert_eq!(report.cells_pruned, vec!["zone-b"]);
    assert!(report.prune_failures.is_empty());
    let before = etcd.revision().await;
    let report = register_cluster_topology(
        &store,
        &ClusterTopology {
            databases: vec![database("postgres", &["zone-a"])],
            ..fewer(true)
        },
    )
    .await
    .expect("registration succeeds");
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(etcd.revision().await, before);
}

#[tokio::test]
async fn nothing_listening_is_unavailable_at_once() {
    let port = free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let started = Instant::now();
    let store = TopoStore::open(&format!("127.0.0.1:{port}"), ROOT, Arc::new(ClusterDns))
        .await
        .expect("a failed dial does not fail open");
    assert!(!store.is_connected());
    let error = register_cluster_topology(&store, &minimal_topology(&minimal_ref()))
        .await
        .expect_err("nothing listens");
    let elapsed = started.elapsed();
    assert!(error.is_unavailable(), "{error:?}");
    assert!(
        elapsed < Duration::from_secs(2),
        "open and the failed pass took {elapsed:?}, the dial timeout is 1 s"
    );
    assert!(matches!(
        grace_decision(Duration::from_secs(30), &error),
        GraceDecision::Wait { .. }
    ));
    assert_eq!(
        grace_decision(Duration::from_secs(121), &error),
        GraceDecision::Fail
    );
    // A malformed address is not "unavailable": it fails open.
    let error = TopoStore::open("no-port", ROOT, Arc::new(ClusterDns))
        .await
        .err()
        .expect("malformed");
    assert!(!error.is_unavailable(), "{error:?}");
}

/// A server that accepts connections and never answers: the pass ends at its deadline.
#[tokio::test]
async fn a_silent_server_ends_the_pass_at_its_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback listener");
    let address = listener.local_addr().expect("an address").to_string();
    // Accept and hold every connection without reading or writing.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let store = TopoStore::open(&address, ROOT, Arc::new(ClusterDns))
        .await
        .expect("a valid address");
    let deadline = Duration::from_millis(300);
    let error =
        register_cluster_topology_within(&store, &minimal_topology(&minimal_ref()), deadline)
            .await
            .expect_err("nothing answers");
    let elapsed = started.elapsed();
    assert!(
        matches!(error, TopoError::Timeout { limit, .. } if limit == deadline)
            || error.is_unavailable(),
        "{error:?}"
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "the pass took {elapsed:?} (1 s dial timeout + 300 ms deadline)"
    );
    silent.abort();
}

#[test]
fn a_store_can_move_between_tasks() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TopoStore>();
    send_sync::<TopoError>();
}

#[tokio::test]
async fn a_server_gone_after_the_dial_is_unavailable() {
    if !etcd_available() {
        return;
    }
    let etcd = Etcd::start().await;
    let store = etcd.store().await;
    assert!(store.is_connected());
    assert_eq!(
        store.cell_names().await.expect("an empty list"),
        Vec::<String>::new()
    );
    drop(etcd);
    let started = Instant::now();
    // The first call finds the connection broken, the next one cannot reconnect.
    for _ in 0..2 {
        let error = store.cell_names().await.expect_err("etcd is gone");
        assert!(error.is_unavailable(), "{error:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

fn pooler(cell: &str, name: &str, db: &str, tg: &str, shard: &str, hostname: &str) -> MultiPooler {
    MultiPooler {
        id: Some(Id {
            component: ComponentType::Multipooler as i32,
            cell: cell.into(),
            name: name.into(),
        }),
        database: db.into(),
        table_group: tg.into(),
        shard: shard.into(),
        r#type: PoolerType::Replica as i32,
        hostname: hostname.into(),
        port_map: [("grpc".to_owned(), 15270)].into(),
        ..MultiPooler::default()
    }
}

#[tokio::test]
async fn poolers_are_listed_per_shard_and_cell_and_unregistered() {
    if !etcd_available() {
        return;
    }
    let etcd = Etcd::start().await;
    let store = etcd.store().await;
    let address = etcd.address.clone();
    register_cluster_topology(
        &store,
        &ClusterTopology {
            cells: vec![cell("zone-a", &address), cell("zone-b", &address)],
            databases: vec![],
            prune: false,
        },
    )
    .await
    .expect("cells registered");

    let pod =
        |cell: &str, i: usize| format!("minimal-postgres-default-0-inf-pool-default-{cell}-{i}");
    let fqdn = |pod: &str| format!("{pod}.headless.default.svc.cluster.local");
    let mut primary = pooler(
        "zone-a",
        "p-1",
        "postgres",
        "default",
        "0-inf",
        &fqdn(&pod("zone-a", 0)),
    );
    primary.r#type = PoolerType::Primary as i32;
    let records = [
        primary.clone(),
        pooler(
            "zone-a",
            "p-2",
            "postgres",
            "default",
            "0-inf",
            &fqdn(&pod("zone-a", 1)),
        ),
        pooler(
            "zone-b",
            "p-3",
            "postgres",
            "default",
            "0-inf",
            &fqdn(&pod("zone-b", 0)),
        ),
        pooler(
            "zone-a",
            "p-4",
            "orders",
            "default",
            "0-inf",
            "o-0.h.default.svc.cluster.local",
        ),
        pooler("zone-a", "p-5", "postgres", "other", "0-inf", "x"),
        pooler("zone-a", "p-6", "postgres", "default", "0-8", "y"),
    ];
    for record in &records {
        etcd.put(
            &pooler_key(ROOT, record.id.as_ref().expect("an id")),
            record.encode_to_vec(),
        )
        .await;
    }

    let zone_a = list_shard_poolers(&store, "zone-a", "postgres", "default", "0-inf")
        .await
        .expect("listing");
    assert_eq!(zone_a, records[..2].to_vec());
    let zone_b = list_shard_poolers(&store, "zone-b", "postgres", "default", "0-inf")
        .await
        .expect("listing");
    assert_eq!(
        zone_b,
        vec![records[2].clone()],
        "zone-a's poolers are not zone-b's"
    );
    assert_eq!(
        store.cell_poolers("zone-b").await.expect("listing").len(),
        records.len(),
        "the shared root lists every cell's poolers"
    );

    // Pod ↔ pooler matching and roles, as the Shard controller uses them.
    let matched: Vec<(String, &str)> = zone_a
        .iter()
        .filter_map(|p| {
            (0..3)
                .map(|i| pod("zone-a", i))
                .find(|pod| pod_matches_pooler(pod, p))
                .map(|pod| (pod, pooler_role(p).as_str()))
        })
        .collect();
    assert_eq!(
        matched,
        vec![(pod("zone-a", 0), "PRIMARY"), (pod("zone-a", 1), "REPLICA")]
    );

    unregister_pooler(&store, &records[1])
        .await
        .expect("deleted");
    let zone_a = list_shard_poolers(&store, "zone-a", "postgres", "default", "0-inf")
        .await
        .expect("listing");
    assert_eq!(zone_a, vec![primary]);
    let again = unregister_pooler(&store, &records[1])
        .await
        .expect_err("gone");
    assert!(again.is_no_node(), "{again:?}");

    // A cell without a record is an error, not "unavailable".
    let error = list_shard_poolers(&store, "zone-z", "postgres", "default", "0-inf")
        .await
        .expect_err("no Cell record");
    assert!(error.is_no_node() && !error.is_unavailable(), "{error:?}");

    // One undecodable value fails the cell's listing, naming the key.
    let bad_key = format!("{ROOT}/poolers/multipooler-zone-a-bad/Pooler");
    etcd.put(&bad_key, vec![0x0a, 0x05]).await;
    let error = store.cell_poolers("zone-a").await.expect_err("undecodable");
    assert!(
        matches!(&error, TopoError::Decode { key, .. } if key == &bad_key),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_cell_on_its_own_root_and_server_is_honoured() {
    if !etcd_available() {
        return;
    }
    let global = Etcd::start().await;
    let local = Etcd::start().await;
    let store = global.store().await;
    // The multigres CLI layout: the cell's records under `<root>/<cell>` on another server.
    let cell_root = "/multigres/zone-c";
    register_cluster_topology(
        &store,
        &ClusterTopology {
            cells: vec![Cell {
                name: "zone-c".into(),
                server_addresses: vec![format!("http://{}", local.address)],
                root: cell_root.into(),
            }],
            databases: vec![],
            prune: false,
        },
    )
    .await
    .expect("cell registered");
    let record = pooler("zone-c", "p-9", "postgres", "default", "0-inf", "h");
    let key = pooler_key(cell_root, record.id.as_ref().expect("an id"));
    local.put(&key, record.encode_to_vec()).await;

    let found = list_shard_poolers(&store, "zone-c", "postgres", "default", "0-inf")
        .await
        .expect("listing on the cell's server");
    assert_eq!(found, vec![record.clone()]);
    unregister_pooler(&store, &record).await.expect("deleted");
    assert!(local.dump_at(cell_root).await.is_empty());
}

impl Etcd {
    async fn dump_at(&self, prefix: &str) -> Vec<String> {
        self.client()
            .await
            .get(
                prefix,
                Some(GetOptions::new().with_prefix().with_keys_only()),
            )
            .await
            .expect("a read")
            .kvs()
            .iter()
            .map(|kv| String::from_utf8_lossy(kv.key()).into_owned())
            .collect()
    }
}

/// Outside a cluster, against kubesim: the Service name resolves to its pod's address through
/// the API server, and the store reaches an etcd listening there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubesim_names_resolve_through_the_api_server() {
    if !etcd_available() {
        return;
    }
    let server = kubesim::Server::builder()
        .http(true)
        .kubelet(kubesim::kubelet::KubeletConfig::with_time_scale(0.05))
        .start()
        .await
        .expect("kubesim starts");
    let client = server.client();
    let resolver: Arc<dyn AddressResolver> = Arc::new(ApiServerResolver::new(client.clone()));

    let service: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "orders-global-topo", "namespace": "default"},
        "spec": {"selector": {"app": "topo"}, "ports": [{"port": 2379}]},
    }))
    .expect("a Service");
    Api::<Service>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &service)
        .await
        .expect("Service created");

    // No ready pod yet: the name has no address, so the store is unavailable.
    let name = "orders-global-topo.default.svc";
    let error = resolver
        .resolve(&format!("{name}:2379"))
        .await
        .expect_err("no address yet");
    assert!(error.to_string().contains("has no address yet"), "{error}");
    let store = TopoStore::open(&format!("{name}:2379"), ROOT, resolver.clone())
        .await
        .expect("open does not fail");
    assert!(
        store
            .cell_names()
            .await
            .expect_err("unavailable")
            .is_unavailable()
    );

    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "topo-0", "namespace": "default", "labels": {"app": "topo"}},
        "spec": {"containers": [{"name": "etcd", "image": "example.com/stand-in:1"}]},
    }))
    .expect("a Pod");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("Pod created");
    let ip: IpAddr = eventually(
        "a ready pod with an address",
        Duration::from_secs(30),
        || async {
            let pod = pods.get("topo-0").await.ok()?;
            let status = pod.status?;
            let ready = status
                .conditions?
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            ready.then_some(())?;
            status.pod_ip?.parse().ok()
        },
    )
    .await;

    // Our etcd stands in for the pod's container, on the pod's address.
    let etcd = Etcd::start_on(ip).await;
    let port = etcd.address.rsplit_once(':').expect("ip:port").1.to_owned();
    let address = format!("{name}:{port}");
    assert_eq!(
        resolver.resolve(&address).await.expect("resolves"),
        format!("{ip}:{port}")
    );
    assert_eq!(
        resolver
            .resolve(&format!("http://{name}:{port}"))
            .await
            .expect("resolves"),
        format!("http://{ip}:{port}")
    );
    let store = TopoStore::open(&address, ROOT, resolver.clone())
        .await
        .expect("a valid address");
    let report = register_cluster_topology(
        &store,
        &ClusterTopology {
            cells: vec![cell("zone-a", &address)],
            databases: vec![database("postgres", &["zone-a"])],
            prune: true,
        },
    )
    .await
    .expect("registration through the resolved address");
    assert_eq!(report.cells_created, vec!["zone-a"]);
    assert_eq!(etcd.dump().await.len(), 2);

    drop(etcd);
    server.shutdown().await;
}
