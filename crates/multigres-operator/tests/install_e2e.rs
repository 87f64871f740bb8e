//! The install manifests end to end (issue 16, "Done when"): on a kubesim with process runtimes
//! and RBAC on, `kubectl apply --server-side -f config/install/<variant>.yaml` brings up the
//! operator's Deployment pod as the locally built operator binary (kubesim's operator runtime,
//! docs/kubesim.md "Process runtimes"), running as its ServiceAccount with the shipped RBAC.
//!
//! For the default variant: the operator issues its webhook certificate and injects the
//! caBundle; `kubectl apply` of config/samples/minimal.yaml goes through the webhooks behind
//! their Service (the stored spec carries the defaulter's fields) and converges to Healthy; an
//! invalid cluster is refused; the secure metrics port answers a scraper bound to the shipped
//! metrics-reader ClusterRole with every metric of spec-controllers.md §12.1; a pool is scaled
//! up and down (a drain), a gateway edited, the cluster deleted (its series go with it); then
//! every request the operator's ServiceAccount made is checked against the shipped RBAC
//! (granted, and every grant used or exempt with its reason), and `kubectl delete -f` removes
//! everything, operator process included. The no-webhook and observability variants run the
//! operator to a Healthy minimal cluster and are deleted the same way. The cert-manager variant
//! runs in install_cert_manager_e2e.rs, beside a cert-manager stand-in; the simulated cluster
//! and the checks the variants share are in install_support.

mod install_support;
mod support;
mod webhook_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use install_support::{
    CLUSTER, DEADLINE, NAMESPACE, OPERATOR_NAMESPACE, Simulated, assert_defaulted_by_the_webhook,
    assert_invalid_cluster_refused, dynamic, manifest, names_of, operator_user,
    wait_for_ca_bundles,
};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use multigres_api::v1alpha1::MultigresCluster;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::cluster::eventually;
use support::exposition::Exposition;
use webhook_support::repo_root;

/// Sets `replicasPerCell` of the first pool of the first shard.
async fn scale_pool(client: &kube::Client, replicas: i64) {
    let clusters = dynamic(
        "multigres.com",
        "v1alpha1",
        "MultigresCluster",
        "multigresclusters",
    );
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), NAMESPACE, &clusters);
    let stored = api.get(CLUSTER).await.expect("the cluster");
    let mut databases = stored.data["spec"]["databases"].clone();
    let pools = databases
        .pointer_mut("/0/tablegroups/0/shards/0/spec/pools")
        .and_then(Value::as_object_mut)
        .expect("the defaulter writes minimal's shard inline with its pools");
    let pool = pools.values_mut().next().expect("a pool");
    pool["replicasPerCell"] = json!(replicas);
    api.patch(
        CLUSTER,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"databases": databases}})),
    )
    .await
    .expect("the pool is scaled");
}

async fn pool_pods(client: &kube::Client) -> Vec<String> {
    let pods = dynamic("", "v1", "Pod", "pods");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &pods);
    let mut names: Vec<String> = api
        .list(&ListParams::default().labels(&format!(
            "app.kubernetes.io/instance={CLUSTER},app.kubernetes.io/component=shard-pool"
        )))
        .await
        .map(|list| {
            list.items
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .map(ResourceExt::name_any)
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn shard_ready_replicas(client: &kube::Client) -> Option<i64> {
    let shards = dynamic("multigres.com", "v1alpha1", "Shard", "shards");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &shards);
    let list = api
        .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={CLUSTER}")))
        .await
        .ok()?;
    list.items.first()?.data["status"]["readyReplicas"].as_i64()
}

// --- The metrics scrape -------------------------------------------------------------------

/// Accepts the metrics server's self-signed certificate (as Prometheus' `insecure_skip_verify`
/// does for it).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `GET https://<address>/metrics` with `token`: (status, body).
async fn scrape(address: &str, token: Option<&str>) -> Result<(u16, String), String> {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut request = hyper::Request::get("/metrics").header("host", address);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = sender
        .send_request(request.body(Empty::new()).map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A scrape that succeeds, parsed strictly.
async fn scrape_ok(address: &str, token: &str) -> Exposition {
    let (status, body) = eventually("a metrics scrape", DEADLINE, || async {
        scrape(address, Some(token)).await.ok()
    })
    .await;
    assert_eq!(status, 200, "{body}");
    support::exposition::parse(&body)
        .map_err(|why| format!("{why}\n{body}"))
        .expect("a valid exposition")
}

/// A scrape once every family of [`CONVERGED_FAMILIES`] has series and `cluster_info` says
/// Healthy (the gauges follow the status writes of each controller); fails naming what is
/// still missing at the deadline.
async fn converged_scrape(address: &str, token: &str) -> Exposition {
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let scraped = scrape_ok(address, token).await;
        let mut missing: Vec<&str> = CONVERGED_FAMILIES
            .iter()
            .map(|(family, _)| *family)
            .filter(|family| !scraped.types.contains_key(*family))
            .collect();
        if scraped.value(
            "multigres_operator_cluster_info",
            &[
                ("name", CLUSTER),
                ("namespace", NAMESPACE),
                ("phase", "Healthy"),
            ],
        ) != Some(1.0)
        {
            missing.push("cluster_info Healthy");
        }
        if missing.is_empty() {
            return scraped;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "after {DEADLINE:?} the scrape still lacks {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The label names of every sample of `name` for this test's cluster objects.
fn label_sets(scraped: &Exposition, name: &str) -> BTreeSet<Vec<String>> {
    scraped
        .find(name, &[])
        .iter()
        .map(|s| s.labels.keys().cloned().collect())
        .collect()
}

/// The families of spec-controllers.md §12.1 a converged cluster has series in.
// Families without a series are not written (prometheus-client): the drain counter is
// checked after a drain; `multigres_operator_last_backup_age_seconds` is set when the shard's
// primary pooler (from its topology record) lists a complete backup, and a simulated data plane
// registers no pooler (tests/operator_backup_health.rs covers it with a stand-in multipooler),
// so neither is checked here.
const CONVERGED_FAMILIES: &[(&str, &str)] = &[
    ("controller_runtime_reconcile", "counter"),
    ("controller_runtime_reconcile_errors", "counter"),
    ("controller_runtime_reconcile_time_seconds", "histogram"),
    ("multigres_operator_cluster_info", "gauge"),
    ("multigres_operator_cluster_cells_total", "gauge"),
    ("multigres_operator_cluster_shards_total", "gauge"),
    ("multigres_operator_cell_gateway_replicas", "gauge"),
    ("multigres_operator_shard_pool_replicas", "gauge"),
    ("multigres_operator_pool_pods_drifted", "gauge"),
    ("multigres_operator_toposerver_replicas", "gauge"),
    ("multigres_operator_webhook_request", "counter"),
    (
        "multigres_operator_webhook_request_duration_seconds",
        "histogram",
    ),
    ("multigres_operator_rolling_update_in_progress", "gauge"),
    ("workqueue_depth", "gauge"),
];

/// The metrics of spec-controllers.md §12.1 once `minimal` is Healthy: every family with its
/// type, every series of the cluster with its labels and a value its objects explain.
fn assert_converged_metrics(scraped: &Exposition, names: &ObjectNames) {
    let types: BTreeMap<&str, &str> = scraped
        .types
        .iter()
        .map(|(name, kind)| (name.as_str(), kind.as_str()))
        .collect();
    for (family, kind) in CONVERGED_FAMILIES {
        assert_eq!(types.get(family).copied(), Some(*kind), "family {family}");
    }
    let cluster = [("namespace", NAMESPACE)];
    let value = |name: &str, labels: &[(&str, &str)]| {
        let mut all = cluster.to_vec();
        all.extend_from_slice(labels);
        scraped.value(name, &all)
    };
    assert_eq!(
        value(
            "multigres_operator_cluster_info",
            &[("name", CLUSTER), ("phase", "Healthy")]
        ),
        Some(1.0)
    );
    assert_eq!(
        scraped
            .find("multigres_operator_cluster_info", &[("name", CLUSTER)])
            .len(),
        1,
        "only the current phase has a series"
    );
    assert_eq!(
        value(
            "multigres_operator_cluster_cells_total",
            &[("cluster", CLUSTER)]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            "multigres_operator_cluster_shards_total",
            &[("cluster", CLUSTER)]
        ),
        Some(1.0)
    );
    for state in ["desired", "ready"] {
        assert_eq!(
            value(
                "multigres_operator_cell_gateway_replicas",
                &[("cell", &names.cell), ("state", state)]
            ),
            Some(1.0),
            "{state} gateways"
        );
        assert_eq!(
            value(
                "multigres_operator_toposerver_replicas",
                &[("name", &names.toposerver), ("state", state)]
            ),
            Some(3.0),
            "{state} etcd members"
        );
        assert_eq!(
            value(
                "multigres_operator_shard_pool_replicas",
                &[
                    ("cluster", CLUSTER),
                    ("shard", &names.shard),
                    ("pool", &names.pool),
                    ("cell", "zone-a"),
                    ("state", state)
                ]
            ),
            Some(3.0),
            "{state} pool replicas (fix 9: the cell label is filled)"
        );
    }
    for gauge in [
        "multigres_operator_pool_pods_drifted",
        "multigres_operator_rolling_update_in_progress",
    ] {
        assert_eq!(
            value(
                gauge,
                &[
                    ("cluster", CLUSTER),
                    ("shard", &names.shard),
                    ("pool", &names.pool),
                    ("cell", "zone-a"),
                ]
            ),
            Some(0.0),
            "{gauge}"
        );
    }
    let webhook = |operation: &str, result: &str| {
        scraped
            .value(
                "multigres_operator_webhook_request_total",
                &[
                    ("operation", operation),
                    ("resource", "MultigresCluster"),
                    ("result", result),
                ],
            )
            .unwrap_or_default()
    };
    assert!(webhook("DEFAULT", "success") >= 1.0);
    assert!(webhook("VALIDATE", "success") >= 1.0);
    assert!(
        scraped
            .value(
                "multigres_operator_webhook_request_duration_seconds_count",
                &[("operation", "DEFAULT"), ("resource", "MultigresCluster")]
            )
            .unwrap_or_default()
            >= 1.0
    );
    for controller in [
        "multigrescluster",
        "tablegroup",
        "cell",
        "shard",
        "toposerver",
    ] {
        assert!(
            scraped
                .value(
                    "controller_runtime_reconcile_total",
                    &[("controller", controller), ("result", "success")]
                )
                .unwrap_or_default()
                >= 1.0,
            "{controller} reconciled"
        );
        assert!(
            scraped
                .value(
                    "controller_runtime_reconcile_time_seconds_count",
                    &[("controller", controller)]
                )
                .unwrap_or_default()
                >= 1.0
        );
        // Every controller's queue has a series from startup; converged, a periodic requeue
        // may be due at the scrape, so only the value's kind is checked.
        let depth = scraped.value("workqueue_depth", &[("name", controller)]);
        assert!(
            depth.is_some_and(|depth| depth >= 0.0 && depth.fract() == 0.0),
            "workqueue_depth of {controller}: {depth:?}"
        );
    }
    // Label names, as a scraper's queries see them.
    for (name, labels) in [
        (
            "multigres_operator_shard_pool_replicas",
            vec!["cell", "cluster", "namespace", "pool", "shard", "state"],
        ),
        (
            "multigres_operator_cell_gateway_replicas",
            vec!["cell", "namespace", "state"],
        ),
        (
            "multigres_operator_toposerver_replicas",
            vec!["name", "namespace", "state"],
        ),
        (
            "multigres_operator_webhook_request_total",
            vec!["operation", "resource", "result"],
        ),
    ] {
        let wanted: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        assert_eq!(
            label_sets(scraped, name),
            BTreeSet::from([wanted]),
            "labels of {name}"
        );
    }
}

/// The names the cluster's objects got.
struct ObjectNames {
    cell: String,
    shard: String,
    pool: String,
    toposerver: String,
}

async fn object_names(client: &kube::Client) -> ObjectNames {
    let one = |mut names: Vec<String>, what: &str| {
        assert_eq!(names.len(), 1, "one {what}: {names:?}");
        names.remove(0)
    };
    let cell = one(
        names_of(
            client,
            &dynamic("multigres.com", "v1alpha1", "Cell", "cells"),
        )
        .await,
        "Cell",
    );
    let shard = one(
        names_of(
            client,
            &dynamic("multigres.com", "v1alpha1", "Shard", "shards"),
        )
        .await,
        "Shard",
    );
    let toposerver = one(
        names_of(
            client,
            &dynamic("multigres.com", "v1alpha1", "TopoServer", "toposervers"),
        )
        .await,
        "TopoServer",
    );
    let shards = dynamic("multigres.com", "v1alpha1", "Shard", "shards");
    let stored = Api::<DynamicObject>::namespaced_with(client.clone(), NAMESPACE, &shards)
        .get(&shard)
        .await
        .expect("the Shard");
    let pool = stored.data["spec"]["pools"]
        .as_object()
        .and_then(|pools| pools.keys().next().cloned())
        .expect("the Shard has a pool");
    ObjectNames {
        cell,
        shard,
        pool,
        toposerver,
    }
}

// --- RBAC: sufficient and minimal ---------------------------------------------------------

/// Grants the e2e run does not exercise, each with why the operator needs it (the same reason
/// as the generator's comment on the rule, crates/multigres-operator/src/install/rbac.rs).
/// Keys: (group, resource[/subresource], verb).
const EXEMPT: &[(&str, &str, &str, &str)] = &[
    // An apply that creates the object is authorized as `create` as well as `patch` by the API
    // server (create-on-patch); kubesim's log records it as the patch it is.
    ("", "configmaps", "create", APPLY_CREATES),
    ("", "services", "create", APPLY_CREATES),
    ("apps", "deployments", "create", APPLY_CREATES),
    ("apps", "statefulsets", "create", APPLY_CREATES),
    ("policy", "poddisruptionbudgets", "create", APPLY_CREATES),
    ("multigres.com", "cells", "create", APPLY_CREATES),
    ("multigres.com", "shards", "create", APPLY_CREATES),
    ("multigres.com", "tablegroups", "create", APPLY_CREATES),
    ("multigres.com", "toposervers", "create", APPLY_CREATES),
    // Pruning: children a cluster stops wanting (a renamed Service, a changed shard list) are
    // deleted; this run deletes only through the garbage collector.
    ("", "configmaps", "delete", PRUNES),
    ("", "services", "delete", PRUNES),
    ("apps", "deployments", "delete", PRUNES),
    ("apps", "statefulsets", "delete", PRUNES),
    ("policy", "poddisruptionbudgets", "delete", PRUNES),
    ("multigres.com", "cells", "delete", PRUNES),
    ("multigres.com", "shards", "delete", PRUNES),
    ("multigres.com", "tablegroups", "delete", PRUNES),
    ("multigres.com", "toposervers", "delete", PRUNES),
    (
        "",
        "secrets",
        "delete",
        "the webhook CA and serving Secrets are deleted when invalid (rotation), and cluster \
         Secrets pruned",
    ),
    (
        "",
        "secrets",
        "update",
        "the webhook serving Secret is replaced when its certificate is renewed",
    ),
    // Only clusters that ask for a cert-manager multigateway certificate (spec §2.8) use these;
    // kubesim has no cert-manager.
    ("cert-manager.io", "certificates", "create", CERT_MANAGER),
    ("cert-manager.io", "certificates", "delete", CERT_MANAGER),
    ("cert-manager.io", "certificates", "list", CERT_MANAGER),
    ("cert-manager.io", "certificates", "patch", CERT_MANAGER),
    ("cert-manager.io", "certificates", "watch", CERT_MANAGER),
    ("multigres.com", "cells/finalizers", "update", FINALIZERS),
    (
        "multigres.com",
        "multigresclusters/finalizers",
        "update",
        FINALIZERS,
    ),
    ("multigres.com", "shards/finalizers", "update", FINALIZERS),
    (
        "multigres.com",
        "toposervers/finalizers",
        "update",
        FINALIZERS,
    ),
    (
        "coordination.k8s.io",
        "leases",
        "update",
        "a replica taking over an expired Lease replaces it",
    ),
];

const APPLY_CREATES: &str = "an apply that creates is authorized as create too";
const PRUNES: &str = "children no longer wanted are pruned";
const CERT_MANAGER: &str = "the multigateway TLS Certificate of clusters that ask for one";
const FINALIZERS: &str = "setting blockOwnerDeletion on children needs update on the owner's \
                          finalizers under OwnerReferencesPermissionEnforcement";

/// (group, resource[/sub], verb) of every request the operator's ServiceAccount made.
fn used_by_operator(server: &kubesim::Handle) -> BTreeSet<(String, String, String)> {
    let user = operator_user();
    server
        .requests()
        .entries()
        .into_iter()
        .filter(|entry| entry.user == user)
        .map(|entry| {
            let resource = match &entry.subresource {
                Some(sub) => format!("{}/{sub}", entry.resource),
                None => entry.resource.clone(),
            };
            (entry.group, resource, entry.verb)
        })
        .collect()
}

/// Every request of the operator's ServiceAccount, with its namespace, as a
/// SubjectAccessReview for that user: the shipped RBAC must allow each.
async fn assert_every_request_allowed(simulated: &Simulated) {
    let user = operator_user();
    type Asked = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    );
    let asked: BTreeSet<Asked> = simulated
        .server
        .requests()
        .entries()
        .into_iter()
        .filter(|entry| entry.user == user)
        .map(|entry| {
            (
                entry.group,
                entry.resource,
                entry.subresource,
                entry.namespace,
                entry.name,
                entry.verb,
            )
        })
        .collect();
    let groups = vec![
        "system:serviceaccounts".to_owned(),
        format!("system:serviceaccounts:{OPERATOR_NAMESPACE}"),
        "system:authenticated".to_owned(),
    ];
    let reviews: Api<SubjectAccessReview> = Api::all(simulated.client.clone());
    let mut denied = Vec::new();
    for (group, resource, subresource, namespace, name, verb) in asked {
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(user.clone()),
                groups: Some(groups.clone()),
                resource_attributes: Some(ResourceAttributes {
                    group: Some(group.clone()),
                    resource: Some(resource.clone()),
                    subresource: subresource.clone(),
                    namespace: namespace.clone(),
                    name: name.clone(),
                    verb: Some(verb.clone()),
                    ..ResourceAttributes::default()
                }),
                ..SubjectAccessReviewSpec::default()
            },
            ..SubjectAccessReview::default()
        };
        let answer = reviews
            .create(&PostParams::default(), &review)
            .await
            .expect("a SubjectAccessReview");
        if !answer.status.is_some_and(|s| s.allowed) {
            denied.push(format!(
                "{verb} {group}/{resource}{} {name:?} in {namespace:?}",
                subresource.map(|s| format!("/{s}")).unwrap_or_default()
            ));
        }
    }
    assert_eq!(
        denied,
        Vec::<String>::new(),
        "requests the shipped RBAC denies"
    );
}

/// The (group, resource, verb) triples a rule grants (resourceNames aside).
fn granted(rule: &PolicyRule) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for group in rule.api_groups.iter().flatten() {
        for resource in rule.resources.iter().flatten() {
            for verb in &rule.verbs {
                out.push((group.clone(), resource.clone(), verb.clone()));
            }
        }
    }
    out
}

/// Every grant of the operator's ClusterRoles and Role was used in this run, or is exempt.
async fn assert_every_grant_used(simulated: &Simulated, used: &BTreeSet<(String, String, String)>) {
    let mut rules: Vec<PolicyRule> = Vec::new();
    let cluster_roles: Api<ClusterRole> = Api::all(simulated.client.clone());
    for name in [
        "multigres-operator-manager-role",
        "multigres-operator-metrics-auth-role",
    ] {
        let role = cluster_roles
            .get(name)
            .await
            .expect("the shipped ClusterRole");
        rules.extend(role.rules.unwrap_or_default());
    }
    let role = Api::<Role>::namespaced(simulated.client.clone(), OPERATOR_NAMESPACE)
        .get("multigres-operator-leader-election-role")
        .await
        .expect("the shipped Role");
    rules.extend(role.rules.unwrap_or_default());
    let exempt: BTreeSet<(String, String, String)> = EXEMPT
        .iter()
        .map(|(g, r, v, _)| ((*g).to_owned(), (*r).to_owned(), (*v).to_owned()))
        .collect();
    let unused: Vec<String> = rules
        .iter()
        .flat_map(granted)
        .filter(|grant| !used.contains(grant) && !exempt.contains(grant))
        .map(|(g, r, v)| format!("{v} {g}/{r}"))
        .collect();
    assert_eq!(unused, Vec::<String>::new(), "grants nothing used");
    let stale: Vec<String> = exempt
        .iter()
        .filter(|grant| used.contains(*grant))
        .map(|(g, r, v)| format!("{v} {g}/{r}"))
        .collect();
    assert_eq!(stale, Vec::<String>::new(), "exempt grants that were used");
}

// --- The tests ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_default_manifest_runs_a_working_operator_with_just_enough_rbac() {
    let Some(simulated) = Simulated::start().await else {
        return;
    };
    let client = simulated.client.clone();
    let path = manifest("default");
    simulated
        .kubectl_ok(&["apply", "--server-side", "-f", &path], "")
        .await;
    let pod = simulated.ready_operator_pod().await;
    let pod_ip = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("the pod has its address");

    // The operator issued its certificate and injected the caBundle into both configurations.
    wait_for_ca_bundles(&client).await;

    // minimal through the webhooks, to Healthy.
    let sample = repo_root()
        .join("config/samples/minimal.yaml")
        .display()
        .to_string();
    simulated
        .kubectl_ok(&["apply", "--server-side", "-f", &sample], "")
        .await;
    assert_defaulted_by_the_webhook(&client).await;
    simulated.healthy().await;

    // An invalid cluster is refused by the validating webhook.
    assert_invalid_cluster_refused(&simulated.kubectl).await;

    // The secure metrics port, scraped as Prometheus would be with the shipped reader role.
    simulated
        .kubectl_ok(
            &["create", "serviceaccount", "prometheus", "-n", NAMESPACE],
            "",
        )
        .await;
    simulated
        .kubectl_ok(
            &[
                "create",
                "clusterrolebinding",
                "prometheus-metrics-reader",
                "--clusterrole=multigres-operator-metrics-reader",
                &format!("--serviceaccount={NAMESPACE}:prometheus"),
            ],
            "",
        )
        .await;
    let token = simulated
        .server
        .service_account_token(NAMESPACE, "prometheus", 3600)
        .expect("a token");
    let address = format!("{pod_ip}:8443");
    let (status, _) = scrape(&address, None)
        .await
        .expect("the metrics port answers");
    assert_eq!(status, 401, "no token, no metrics");
    let names = object_names(&client).await;
    let scraped = converged_scrape(&address, &token).await;
    assert_converged_metrics(&scraped, &names);

    // A scale of the pool up and back down (a drain), and a template-free edit.
    scale_pool(&client, 4).await;
    eventually("four ready pool replicas", DEADLINE, || async {
        (shard_ready_replicas(&client).await == Some(4)).then_some(())
    })
    .await;
    scale_pool(&client, 3).await;
    eventually(
        "the fourth pool pod to be drained and removed",
        DEADLINE,
        || async { (pool_pods(&client).await.len() == 3).then_some(()) },
    )
    .await;
    let drained = eventually("a drain in the metrics", DEADLINE, || async {
        let scraped = scrape_ok(&address, &token).await;
        let drains = scraped.value(
            "multigres_operator_drain_operations_total",
            &[
                ("cluster", CLUSTER),
                ("shard", &names.shard),
                ("result", "success"),
            ],
        )?;
        (drains >= 1.0).then_some(drains)
    })
    .await;
    assert!(drained >= 1.0);
    let clusters: Api<MultigresCluster> = Api::namespaced(client.clone(), NAMESPACE);
    clusters
        .patch(
            CLUSTER,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"logLevels": {"multigateway": "debug"}}})),
        )
        .await
        .expect("an edit");
    simulated.healthy().await;

    // Deleting the cluster: its children and volumes go (whenDeleted: Delete), and so do its
    // series (fix 9).
    simulated
        .kubectl_ok(&["delete", "-f", &sample, "--wait=true"], "")
        .await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NAMESPACE);
    eventually("minimal's objects and volumes to go", DEADLINE, || async {
        let left = names_of(&client, &dynamic("", "v1", "Pod", "pods"))
            .await
            .len()
            + names_of(&client, &dynamic("apps", "v1", "Deployment", "deployments"))
                .await
                .len()
            + claims
                .list(
                    &ListParams::default().labels(&format!("app.kubernetes.io/instance={CLUSTER}")),
                )
                .await
                .ok()?
                .items
                .len();
        (left == 0).then_some(())
    })
    .await;
    eventually("minimal's series to go", DEADLINE, || async {
        let scraped = scrape_ok(&address, &token).await;
        let left: Vec<String> = scraped
            .samples
            .iter()
            .filter(|s| {
                s.name.starts_with("multigres_operator_")
                    && [
                        CLUSTER,
                        names.cell.as_str(),
                        names.shard.as_str(),
                        names.toposerver.as_str(),
                    ]
                    .iter()
                    .any(|n| {
                        ["cluster", "name", "cell", "shard"]
                            .iter()
                            .any(|label| s.labels.get(*label).map(String::as_str) == Some(*n))
                    })
            })
            .map(|s| format!("{} {:?}", s.name, s.labels))
            .collect();
        left.is_empty().then_some(())
    })
    .await;

    // RBAC: what the operator's ServiceAccount did is granted, and what is granted was done.
    let used = used_by_operator(&simulated.server);
    assert!(!used.is_empty(), "the operator ran as its ServiceAccount");
    assert_every_request_allowed(&simulated).await;
    assert_every_grant_used(&simulated, &used).await;

    simulated.uninstall("default").await;
    simulated.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_no_webhook_and_observability_manifests_run_the_operator_too() {
    for variant in ["no-webhook", "observability"] {
        let Some(simulated) = Simulated::start().await else {
            return;
        };
        simulated
            .kubectl_ok(&["apply", "--server-side", "-f", &manifest(variant)], "")
            .await;
        simulated.ready_operator_pod().await;
        if variant == "observability" {
            // Webhooks are on: the certificate must be in place before a cluster is admitted.
            wait_for_ca_bundles(&simulated.client).await;
        }
        let sample = repo_root()
            .join("config/samples/minimal.yaml")
            .display()
            .to_string();
        simulated
            .kubectl_ok(&["apply", "--server-side", "-f", &sample], "")
            .await;
        simulated.healthy().await;
        simulated
            .kubectl_ok(&["delete", "-f", &sample, "--wait=true"], "")
            .await;
        simulated.uninstall(variant).await;
        simulated.server.shutdown().await;
    }
}
