//! Swapping operators restarts no pod and renames no object (spec/README.md, compatibility
//! contract): a namespace where the Go operator already made everything of a golden case (each
//! of the four of shared/spec/golden/objects, one test per case), then our operator (the real
//! binary) starts. It must adopt the objects as they are: no pod, PVC or
//! Secret created or deleted, every pod keeping its uid, the same object names, no Deployment or
//! StatefulSet template changed, and no write but status subresources and Events.
//!
//! The Go operator's writes are replayed from the golden files
//! (shared/spec/golden/objects/README.md): each object's exact request body, in owner order,
//! sent as the Go operator sends it (spec-controllers.md §1.4): server-side apply with field
//! manager `multigres-operator` and force, or a plain create for pool Pods, pool data PVCs and
//! the pgBackRest Secrets. Only two things differ from the golden bytes: the placeholder uids of
//! ownerReferences become the uids kubesim gave the owners, and the `"RANDOM"` certificate
//! values become real certificates with the Go generator's parameters. The CR statuses the Go
//! operator would have written are not replayed: our operator writes them, through the status
//! subresource, which this test allows. What the user made first is there too: the cluster
//! input of the case, case 2's `postgresConfigRef` ConfigMap and case 3's S3 credentials Secret.

mod golden_objects;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use multigres_api::v1alpha1::{MultigresCluster, Phase};
use multigres_operator::operator::USER_AGENT;
use serde_json::Value;
use support::cluster::{self as cluster_support, Cluster, eventually, owned_kinds};
use tokio::time::Instant;

const NAMESPACE: &str = "default";
/// The content of case 2's `postgresConfigRef` ConfigMap (shared/spec/golden/README.md, case 2).
const CASE2_POSTGRES_CONFIG: &str = "max_connections = 200\nshared_buffers = 256MB\n";
/// controller-runtime's default User-Agent (`rest.DefaultKubernetesUserAgent`) for a binary
/// named `manager`, as kubebuilder projects name it; it must not start with ours, so that the
/// request log tells the two operators apart.
const GO_USER_AGENT: &str = "manager/v0.0.0 (linux/amd64) kubernetes/$Format";
/// How long the operator must have written nothing to count as quiet.
const QUIET: Duration = Duration::from_secs(5);
const LONG: Duration = Duration::from_secs(300);

/// The real operator binary against `cluster`'s kubesim; killed when dropped, so a failing
/// assertion does not leave it running.
struct Binary(Child);

impl Binary {
    fn spawn(cluster: &Cluster) -> Binary {
        let child = Command::new(env!("CARGO_BIN_EXE_multigres-operator"))
            .args([
                "run",
                "--webhook-enable=false",
                "--metrics-bind-address=0",
                "--health-probe-bind-address=0",
                "--address-resolution=api-server",
                "--namespace=default",
                "--identity=takeover",
            ])
            .env("KUBECONFIG", cluster.server.kubeconfig_path())
            .env(
                "RUST_LOG",
                std::env::var("TAKEOVER_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the operator binary starts");
        Binary(child)
    }

    /// SIGTERM, and the clean exit that follows.
    fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).expect("a pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let status = self.0.wait().expect("the operator exits");
        assert!(status.success(), "a SIGTERM stop is clean: {status}");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        // Already reaped after `stop`; otherwise a test failure: do not leave it running.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The API path prefix and plural of a golden kind.
fn resource_path(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "TopoServer" => ("/apis/multigres.com/v1alpha1", "toposervers"),
        "Cell" => ("/apis/multigres.com/v1alpha1", "cells"),
        "TableGroup" => ("/apis/multigres.com/v1alpha1", "tablegroups"),
        "Shard" => ("/apis/multigres.com/v1alpha1", "shards"),
        "Deployment" => ("/apis/apps/v1", "deployments"),
        "StatefulSet" => ("/apis/apps/v1", "statefulsets"),
        "PodDisruptionBudget" => ("/apis/policy/v1", "poddisruptionbudgets"),
        "Service" => ("/api/v1", "services"),
        "ConfigMap" => ("/api/v1", "configmaps"),
        "Secret" => ("/api/v1", "secrets"),
        "PersistentVolumeClaim" => ("/api/v1", "persistentvolumeclaims"),
        "Pod" => ("/api/v1", "pods"),
        _ => return None,
    })
}

/// The placeholder uid the golden files give an owner of `kind` (objects/README.md, "Fixed
/// UIDs"); each case has one object of each owner kind.
fn placeholder_uid(kind: &str) -> Option<&'static str> {
    match kind {
        "MultigresCluster" => Some(golden_objects::CLUSTER_UID),
        "TableGroup" => Some(golden_objects::TABLE_GROUP_UID),
        "Shard" => Some(golden_objects::SHARD_UID),
        "Cell" => Some(golden_objects::CELL_UIDS[0]),
        "TopoServer" => Some(golden_objects::TOPO_SERVER_UID),
        _ => None,
    }
}

/// A P-256 key as PEM `EC PRIVATE KEY` (SEC1), as Go's `x509.MarshalECPrivateKey` writes it.
/// rcgen serializes PKCS#8, which wraps the SEC1 structure in an OCTET STRING: the third
/// element of the outer SEQUENCE (version, algorithm, privateKey).
fn sec1_pem(key: &rcgen::KeyPair) -> String {
    let pkcs8 = key.serialize_der();
    // One DER element at `at`: (content start, content end).
    let element = |at: usize| -> (usize, usize) {
        let first = pkcs8[at + 1];
        let (length, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let count = usize::from(first & 0x7f);
            let length = pkcs8[at + 2..at + 2 + count]
                .iter()
                .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
            (length, 2 + count)
        };
        (at + header, at + header + length)
    };
    let (outer, _) = element(0);
    let (_, after_version) = element(outer);
    let (_, after_algorithm) = element(after_version);
    assert_eq!(
        pkcs8[after_algorithm], 0x04,
        "PKCS#8 privateKey is an OCTET STRING"
    );
    let (start, end) = element(after_algorithm);
    pem_block("EC PRIVATE KEY", &pkcs8[start..end])
}

fn pem_block(label: &str, der: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The pgBackRest CA and server material with the parameters of the Go generator
/// (objects/README.md, "Random material"), as the base64 `data` values of the two Secrets.
fn pgbackrest_material(namespace: &str) -> BTreeMap<&'static str, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
    };
    let subject = |common_name: &str| {
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, common_name);
        name.push(DnType::OrganizationName, "Multigres");
        name
    };
    let now = time::OffsetDateTime::now_utc();
    let usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a CA key");
    let mut ca = CertificateParams::default();
    ca.serial_number = Some(SerialNumber::from_slice(&[1]));
    ca.distinguished_name = subject("Multigres CA");
    ca.not_before = now - time::Duration::hours(1);
    ca.not_after = now + time::Duration::days(3650);
    ca.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    ca.extended_key_usages = usages.clone();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_certificate = ca.self_signed(&ca_key).expect("a self-signed CA");
    let tls_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a server key");
    let mut tls = CertificateParams::default();
    tls.serial_number = Some(SerialNumber::from_slice(&rand_serial()));
    tls.distinguished_name = subject("pgbackrest");
    tls.subject_alt_names = [
        format!("pgbackrest.{namespace}.svc"),
        format!("pgbackrest.{namespace}.svc.cluster.local"),
    ]
    .into_iter()
    .map(|name| SanType::DnsName(name.try_into().expect("a DNS name")))
    .collect();
    tls.not_before = now - time::Duration::hours(1);
    tls.not_after = now + time::Duration::days(365);
    tls.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    tls.extended_key_usages = usages;
    let issuer = Issuer::from_params(&ca, &ca_key);
    let tls_certificate = tls
        .signed_by(&tls_key, &issuer)
        .expect("a signed certificate");
    let encode = |text: String| base64::engine::general_purpose::STANDARD.encode(text);
    BTreeMap::from([
        ("ca.crt", encode(ca_certificate.pem())),
        ("ca.key", encode(sec1_pem(&ca_key))),
        ("tls.crt", encode(tls_certificate.pem())),
        ("tls.key", encode(sec1_pem(&tls_key))),
    ])
}

/// A positive random serial below 2^128, as Go's `rand.Int(rand.Reader, 2^128)`.
fn rand_serial() -> [u8; 16] {
    use ring::rand::SecureRandom as _;
    let mut serial = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut serial)
        .expect("the system random source");
    serial[0] &= 0x7f;
    serial
}

/// One golden case as the user made it: its name, the MultigresCluster input (without the uid
/// and status an API server assigns), and the names the rest of the test needs.
struct Input {
    case: &'static str,
    cluster: Value,
    name: String,
    cell: String,
}

impl Input {
    fn load(golden: &std::path::Path, case: &'static str) -> Input {
        let path = golden.join(format!("{case}.cluster-input.json"));
        let mut cluster: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("JSON");
        if let Some(meta) = cluster["metadata"].as_object_mut() {
            meta.remove("uid");
        }
        if let Some(map) = cluster.as_object_mut() {
            map.remove("status");
        }
        let name = cluster["metadata"]["name"]
            .as_str()
            .expect("a cluster name")
            .to_owned();
        let cells = cluster["spec"]["cells"].as_array().expect("cells");
        assert_eq!(cells.len(), 1, "{case}: the golden cases have one cell");
        let cell = cells[0]["name"].as_str().expect("a cell name").to_owned();
        Input {
            case,
            cluster,
            name,
            cell,
        }
    }

    /// The TopoServer's client Service, `<cluster>-global-topo.<ns>.svc`.
    fn topology_host(&self) -> String {
        format!("{}-global-topo.{NAMESPACE}.svc", self.name)
    }
}

/// What the user made before the cluster, as a user (not an operator) would: the Secret named
/// by an S3 backup's `credentialsSecret` (case 3) and the ConfigMap of a `postgresConfigRef`
/// (case 2, with the content of golden/README.md). The operators only read them.
async fn user_prerequisites(cluster: &Cluster, input: &Input, postgres_config: Option<&str>) {
    let spec = &input.cluster["spec"];
    if let Some(secret) = spec["backup"]["s3"]["credentialsSecret"].as_str() {
        cluster
            .apply_value(&serde_json::json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": secret, "namespace": NAMESPACE},
                "stringData": {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"},
            }))
            .await;
    }
    let references: Vec<&Value> = spec["databases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|database| database["tablegroups"].as_array().into_iter().flatten())
        .flat_map(|tablegroup| tablegroup["shards"].as_array().into_iter().flatten())
        .map(|shard| &shard["spec"]["postgresConfigRef"])
        .filter(|reference| reference.is_object())
        .collect();
    assert_eq!(
        references.len(),
        usize::from(postgres_config.is_some()),
        "{}: a postgresConfigRef needs its content and only then",
        input.case
    );
    if let (Some(reference), Some(content)) = (references.first(), postgres_config) {
        let name = reference["name"].as_str().expect("a ConfigMap name");
        let key = reference["key"].as_str().expect("a ConfigMap key");
        cluster
            .apply_value(&serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "data": {key: content},
            }))
            .await;
    }
}

/// Replays the Go operator's writes for a golden case and returns the objects it made, as
/// `(kind, name)` in write order.
async fn replay_go_operator(
    cluster: &Cluster,
    golden: &std::path::Path,
    input: &Input,
) -> Vec<(String, String)> {
    let mut config = cluster.server.client_config();
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(GO_USER_AGENT),
    ));
    let go = kube::Client::try_from(config).expect("a client");

    // The user's cluster, as `kubectl apply --server-side` sends it.
    cluster.apply_value(&input.cluster).await;
    let stored = Api::<MultigresCluster>::namespaced(cluster.client.clone(), NAMESPACE)
        .get(&input.name)
        .await
        .expect("the cluster is stored");
    let mut uids: BTreeMap<&str, String> = BTreeMap::from([(
        golden_objects::CLUSTER_UID,
        stored.uid().expect("a stored uid"),
    )]);

    let case = golden_objects::cases(golden)
        .expect("the golden cases")
        .into_iter()
        .find(|case| case.name == input.case)
        .expect("the golden case");
    let material = pgbackrest_material(NAMESPACE);
    let mut written = Vec::new();
    // objects.tsv lists the objects in the controllers' order, owners before what they own.
    for row in &case.rows {
        let (kind, name, write) = (&row["kind"], &row["name"], &row["write"]);
        let mut body = std::fs::read_to_string(case.dir.join(&row["file"])).expect("readable");
        for (placeholder, uid) in &uids {
            body = body.replace(placeholder, uid);
        }
        for (key, value) in &material {
            body = body.replace(
                &format!("\"{key}\":\"RANDOM\""),
                &format!("\"{key}\":\"{value}\""),
            );
        }
        for placeholder in [
            golden_objects::CLUSTER_UID,
            golden_objects::TABLE_GROUP_UID,
            golden_objects::SHARD_UID,
            golden_objects::CELL_UIDS[0],
            golden_objects::TOPO_SERVER_UID,
        ] {
            assert!(
                !body.contains(placeholder),
                "{kind}/{name} names the owner {placeholder} before it was written"
            );
        }
        assert!(
            !body.contains("\"RANDOM\""),
            "{kind}/{name}: random data left"
        );
        let (prefix, plural) = resource_path(kind)
            .with_context(|| format!("objects.tsv names a kind this replay does not know: {kind}"))
            .expect("a known kind");
        let collection = format!("{prefix}/namespaces/{NAMESPACE}/{plural}");
        assert!(
            matches!(write.as_str(), "apply" | "create"),
            "{kind}/{name}: unknown write style {write}"
        );
        let request = if write == "apply" {
            http::Request::patch(format!(
                "{collection}/{name}?fieldManager=multigres-operator&force=true"
            ))
            .header(http::header::CONTENT_TYPE, "application/apply-patch+yaml")
        } else {
            http::Request::post(collection).header(http::header::CONTENT_TYPE, "application/json")
        };
        let response = go
            .request_text(request.body(body.into_bytes()).expect("a request"))
            .await
            .with_context(|| format!("the Go operator's {write} of {kind}/{name}"))
            .expect("the API server accepts the Go operator's write");
        let response: Value = serde_json::from_str(&response).expect("a JSON object");
        if let Some(placeholder) = placeholder_uid(kind) {
            let uid = response["metadata"]["uid"].as_str().expect("a uid");
            uids.insert(placeholder, uid.to_owned());
        }
        written.push((kind.clone(), name.clone()));
    }
    written
}

/// The topology records the Go operator registers for a golden case (spec-controllers.md §6.2,
/// §14.4): the cell and the default database, under the global root. The backup location is
/// the cluster's `spec.backup` (no case sets one per database): S3 as given, else the default
/// filesystem path `/backups`.
fn go_topology_records(input: &Input) -> Vec<(String, Vec<u8>)> {
    use multigres_operator::topology::records::{
        BackupLocation, Cell, Database, DurabilityPolicy, FilesystemBackup, Location, S3Backup,
    };
    use prost::Message;
    let cell = Cell {
        name: input.cell.clone(),
        server_addresses: vec![format!("{}:2379", input.topology_host())],
        root: "/multigres/global".into(),
    };
    let backup = &input.cluster["spec"]["backup"];
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let location = if backup["type"] == "s3" {
        let s3 = &backup["s3"];
        Location::S3(S3Backup {
            bucket: text(&s3["bucket"]),
            region: text(&s3["region"]),
            endpoint: text(&s3["endpoint"]),
            key_prefix: text(&s3["keyPrefix"]),
            use_env_credentials: s3["useEnvCredentials"].as_bool().unwrap_or(false),
        })
    } else {
        assert!(backup.is_null(), "no golden case sets a filesystem backup");
        Location::Filesystem(FilesystemBackup {
            path: "/backups".into(),
        })
    };
    let database = Database {
        name: "postgres".into(),
        backup_location: Some(BackupLocation {
            location: Some(location),
        }),
        cells: vec![input.cell.clone()],
        bootstrap_durability_policy: Some(DurabilityPolicy {
            policy_name: "AT_LEAST_2".into(),
            // QUORUM_TYPE_AT_LEAST_N
            quorum_type: 3,
            required_count: 2,
            ..DurabilityPolicy::default()
        }),
    };
    vec![
        (
            format!("/multigres/global/cells/{}/Cell", input.cell),
            cell.encode_to_vec(),
        ),
        (
            "/multigres/global/databases/postgres/Database".to_owned(),
            database.encode_to_vec(),
        ),
    ]
}

/// The topology etcd of the cluster (the TopoServer's client Service).
async fn topology_etcd(cluster: &Cluster, input: &Input) -> etcd_client::Client {
    let address = cluster
        .server
        .resolve(&input.topology_host())
        .expect("an in-cluster name")[0];
    etcd_client::Client::connect([format!("http://{address}:2379")], None)
        .await
        .expect("etcd answers")
}

/// Each topology record of [`go_topology_records`] as `(value, mod_revision)`.
async fn topology_snapshot(
    etcd: &mut etcd_client::Client,
    input: &Input,
) -> BTreeMap<String, (Vec<u8>, i64)> {
    let mut records = BTreeMap::new();
    for (key, _) in go_topology_records(input) {
        let response = etcd.get(key.as_str(), None).await.expect("a get");
        let kv = response
            .kvs()
            .first()
            .with_context(|| format!("{key} is not registered"))
            .expect("a registered record");
        records.insert(key, (kv.value().to_vec(), kv.mod_revision()));
    }
    records
}

/// What must survive the swap of one object.
#[derive(Clone, Debug, PartialEq)]
struct Snapshot {
    uid: String,
    resource_version: String,
    generation: Option<i64>,
    /// Deployments and StatefulSets: `spec.template`.
    template: Option<Value>,
    /// Pods: the `multigres.com/spec-hash` annotation.
    spec_hash: Option<String>,
    /// Whether it carries the cluster's instance label.
    labelled: bool,
}

/// Every object of the owned kinds and the MultigresCluster in the namespace, labelled or not
/// (the workload controllers' Pods, ReplicaSets' among them), by `(kind, name)`.
async fn snapshot(client: &kube::Client, cluster: &str) -> BTreeMap<(String, String), Snapshot> {
    let mut kinds = owned_kinds();
    kinds.push(ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("multigres.com", "v1alpha1", "MultigresCluster"),
        "multigresclusters",
    ));
    let mut objects = BTreeMap::new();
    for resource in kinds {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
        for object in api
            .list(&ListParams::default())
            .await
            .expect("a list")
            .items
        {
            let template = matches!(resource.kind.as_str(), "Deployment" | "StatefulSet")
                .then(|| object.data["spec"]["template"].clone());
            let spec_hash = object.annotations().get("multigres.com/spec-hash").cloned();
            let labelled = object
                .labels()
                .get("app.kubernetes.io/instance")
                .is_some_and(|instance| instance == cluster);
            objects.insert(
                (resource.kind.clone(), object.name_any()),
                Snapshot {
                    uid: object.uid().expect("a uid"),
                    resource_version: object.resource_version().expect("a resourceVersion"),
                    generation: object.metadata.generation,
                    template,
                    spec_hash,
                    labelled,
                },
            );
        }
    }
    objects
}

/// Whether the cluster and every child resource report Healthy for their current generation.
async fn everything_healthy(client: &kube::Client, cluster: &str) -> bool {
    let phase = Api::<MultigresCluster>::namespaced(client.clone(), NAMESPACE)
        .get_opt(cluster)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.status)
        .and_then(|s| s.phase);
    if phase != Some(Phase::Healthy) {
        return false;
    }
    for (kind, plural) in [
        ("Cell", "cells"),
        ("TableGroup", "tablegroups"),
        ("Shard", "shards"),
        ("TopoServer", "toposervers"),
    ] {
        let gvk = GroupVersionKind::gvk("multigres.com", "v1alpha1", kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
        let Ok(list) = api.list(&ListParams::default()).await else {
            return false;
        };
        if list.items.is_empty() {
            return false;
        }
        for object in &list.items {
            let status = &object.data["status"];
            if status["phase"] != "Healthy"
                || status["observedGeneration"].as_i64() != object.metadata.generation
            {
                return false;
            }
        }
    }
    true
}

/// Whether a write goes to a status subresource or is an Event: what adopting a converged
/// world may write.
fn status_or_event(entry: &kubesim::request_log::RequestEntry) -> bool {
    entry.subresource.as_deref() == Some("status") || entry.resource == "events"
}

/// Case 2's pool asks for nodes with the `node-role.kubernetes.io/database` label in zone
/// `us-east-1a`: the user's cluster has them, so every node gets the label (kubesim's nodes
/// carry the zone of their name).
async fn label_database_nodes(client: &kube::Client) {
    use k8s_openapi::api::core::v1::Node;
    use kube::api::{Patch, PatchParams};
    let nodes: Api<Node> = Api::all(client.clone());
    for node in nodes
        .list(&ListParams::default())
        .await
        .expect("nodes")
        .items
    {
        let patch =
            serde_json::json!({"metadata": {"labels": {"node-role.kubernetes.io/database": ""}}});
        nodes
            .patch(
                &node.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .expect("the node is labelled");
    }
}

#[rstest::rstest]
#[case::case1_minimal("case1-minimal", 30, None)]
#[case::case2_pool_options("case2-pool-options", 30, Some(CASE2_POSTGRES_CONFIG))]
#[case::case3_s3_backup("case3-s3-backup", 29, None)]
#[case::case4_long_names("case4-long-names", 30, None)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn swapping_the_go_operator_for_ours_restarts_no_pod_and_renames_no_object(
    #[case] case: &'static str,
    #[case] objects: usize,
    #[case] postgres_config: Option<&'static str>,
) {
    if !cluster_support::etcd_available("takeover") {
        return;
    }
    let Some(golden) = golden_objects::golden_dir("takeover") else {
        return;
    };
    let input = Input::load(&golden, case);
    let cluster = Cluster::start(&["zone-a", "zone-b", "zone-c", "us-east-1a"]).await;
    let client = cluster.client.clone();
    label_database_nodes(&client).await;

    // 1–2. The world the Go operator leaves behind, with no operator of ours running.
    user_prerequisites(&cluster, &input, postgres_config).await;
    let replayed = replay_go_operator(&cluster, &golden, &input).await;
    // objects/README.md, "Object inventory per case".
    assert_eq!(
        replayed.len(),
        objects,
        "{case}: the objects of the golden case"
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    eventually(
        "the three pool pods to be Running and Ready",
        LONG,
        || async {
            let pool = pods
                .list(&ListParams::default().labels("app.kubernetes.io/component=shard-pool"))
                .await
                .ok()?;
            let ready = pool
                .items
                .iter()
                .filter(|pod| {
                    let status = pod.status.as_ref();
                    status.and_then(|s| s.phase.as_deref()) == Some("Running")
                        && status
                            .and_then(|s| s.conditions.as_ref())
                            .is_some_and(|conditions| {
                                conditions
                                    .iter()
                                    .any(|c| c.type_ == "Ready" && c.status == "True")
                            })
                })
                .count();
            (ready == 3).then_some(())
        },
    )
    .await;
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), NAMESPACE);
    eventually("the etcd StatefulSet to be ready", LONG, || async {
        let etcd = statefulsets
            .get(&format!("{}-global-topo", input.name))
            .await
            .ok()?;
        (etcd.status?.ready_replicas == Some(3)).then_some(())
    })
    .await;

    // The Go operator's cluster pass registers the cell and the database once etcd answers
    // (its Create: put only when the key has no version).
    let mut etcd = topology_etcd(&cluster, &input).await;
    for (key, value) in go_topology_records(&input) {
        let create = etcd_client::Txn::new()
            .when([etcd_client::Compare::version(
                key.as_str(),
                etcd_client::CompareOp::Equal,
                0,
            )])
            .and_then([etcd_client::TxnOp::put(key.as_str(), value, None)]);
        let response = etcd.txn(create).await.expect("a transaction");
        assert!(response.succeeded(), "{key} is new");
    }

    // 3. What must survive.
    let before = snapshot(&client, &input.name).await;
    let records_before = topology_snapshot(&mut etcd, &input).await;

    // 4. Our operator takes over.
    let requests = cluster.server.requests();
    let start = requests.entries().len();
    let operator = Binary::spawn(&cluster);
    eventually(
        "the cluster and its children to be Healthy",
        LONG,
        || async { everything_healthy(&client, &input.name).await.then_some(()) },
    )
    .await;
    let ours = |entry: &kubesim::request_log::RequestEntry| {
        entry.is_mutating() && entry.user_agent_starts_with(USER_AGENT)
    };
    let mut last = (requests.count_matching(ours), Instant::now());
    eventually("the operator to be quiet", LONG, || {
        let count = requests.count_matching(ours);
        if count != last.0 {
            last = (count, Instant::now());
        }
        let quiet = last.1.elapsed() >= QUIET;
        async move { quiet.then_some(()) }
    })
    .await;
    let after = snapshot(&client, &input.name).await;
    let records_after = topology_snapshot(&mut etcd, &input).await;
    operator.stop();

    let writes: Vec<_> = requests
        .entries()
        .into_iter()
        .skip(start)
        .filter(|entry| ours(entry))
        .collect();
    println!("our operator's writes after the swap ({}):", writes.len());
    for entry in &writes {
        println!(
            "  {} {} {} (field manager {})",
            entry.verb,
            entry.qualified_resource(),
            entry.name.as_deref().unwrap_or("-"),
            entry.field_manager.as_deref().unwrap_or("-"),
        );
    }
    let touched: Vec<_> = before
        .iter()
        .filter(|(key, was)| {
            after
                .get(*key)
                .is_some_and(|now| now.resource_version != was.resource_version)
        })
        .map(|((kind, name), _)| format!("{kind}/{name}"))
        .collect();
    println!("objects whose resourceVersion changed (by anyone): {touched:#?}");

    // No pod, PVC or Secret created or deleted by our operator.
    let churn: Vec<String> = writes
        .iter()
        .filter(|entry| {
            matches!(
                entry.verb.as_str(),
                "create" | "delete" | "deletecollection"
            )
        })
        .filter(|entry| {
            matches!(
                entry.resource.as_str(),
                "pods" | "persistentvolumeclaims" | "secrets"
            )
        })
        .map(|entry| format!("{} {} {:?}", entry.verb, entry.resource, entry.name))
        .collect();
    assert!(
        churn.is_empty(),
        "pods, PVCs or Secrets created or deleted: {churn:#?}"
    );

    // Every pod keeps its uid (and pool pods their spec hash); no pod appeared.
    let pods_of = |objects: &BTreeMap<(String, String), Snapshot>| -> BTreeMap<String, (String, Option<String>)> {
        objects
            .iter()
            .filter(|((kind, _), _)| kind == "Pod")
            .map(|((_, name), snapshot)| (name.clone(), (snapshot.uid.clone(), snapshot.spec_hash.clone())))
            .collect()
    };
    assert_eq!(
        pods_of(&after),
        pods_of(&before),
        "pods (name → uid, spec hash)"
    );

    // No object renamed: the names labelled for the cluster are the same, with the same uids.
    let labelled =
        |objects: &BTreeMap<(String, String), Snapshot>| -> BTreeMap<(String, String), String> {
            objects
                .iter()
                .filter(|(_, snapshot)| snapshot.labelled)
                .map(|(key, snapshot)| (key.clone(), snapshot.uid.clone()))
                .collect()
        };
    assert_eq!(
        labelled(&after),
        labelled(&before),
        "the cluster's objects (kind, name → uid)"
    );
    let replayed: BTreeSet<_> = replayed.into_iter().collect();
    let missing: Vec<_> = replayed
        .iter()
        .filter(|key| !after.contains_key(*key))
        .collect();
    assert!(missing.is_empty(), "replayed objects gone: {missing:?}");

    // No Deployment or StatefulSet template changed, so nothing rolls.
    for ((kind, name), was) in before.iter().filter(|(_, s)| s.template.is_some()) {
        let now = &after[&(kind.clone(), name.clone())];
        assert_eq!(now.generation, was.generation, "{kind}/{name} generation");
        assert_eq!(now.template, was.template, "{kind}/{name} pod template");
    }

    // The topology records are the Go operator's, not even rewritten with the same bytes.
    assert_eq!(
        records_after, records_before,
        "topology records (value, mod revision)"
    );

    // Only status subresources and Events.
    let object_writes: Vec<String> = writes
        .iter()
        .filter(|entry| !status_or_event(entry))
        .map(|entry| {
            format!(
                "{} {} {} (field manager {})",
                entry.verb,
                entry.qualified_resource(),
                entry.name.as_deref().unwrap_or("-"),
                entry.field_manager.as_deref().unwrap_or("-"),
            )
        })
        .collect();
    assert!(
        object_writes.is_empty(),
        "our operator wrote objects the Go operator had already made: {object_writes:#?}"
    );
    cluster.server.shutdown().await;
}
