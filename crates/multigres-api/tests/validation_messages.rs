//! Every validation message of spec-api.md §11 and §12.4–§12.5, exactly, with the field path it
//! is reported at; plus the template checks of deliberate fixes 5 and 11.
//!
//! Each logic case starts from a cluster that passes with no finding at all and changes one
//! thing, so each table row pins exactly the findings that one change causes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use multigres_api::resolver::{NamespaceTemplates, TemplateKind, populate_cluster_defaults};
use multigres_api::v1alpha1::{
    BackupConfig, BackupType, CellConfig, CellTemplateSpec, DatabaseConfig, EtcdSpec,
    ExternalGatewayConfig, FilesystemBackupConfig, GlobalTopoServerSpec, MultiAdminConfig,
    MultiOrchSpec, MultigresCluster, MultigresClusterSpec, PoolName, PoolSpec, ShardConfig,
    ShardInlineSpec, ShardOverrides, ShardTemplateSpec, StatelessSpec, StorageSpec,
    TableGroupConfig,
};
use multigres_api::validation::{
    ClusterFacts, StorageClassFacts, TemplateEdit, ValidationReport, deletion_blocker,
    validate_cluster, validate_cluster_update, validate_pool_name, validate_shard_template_pools,
    validate_template_change,
};
use pretty_assertions::assert_eq;
use rstest::rstest;

const NAMESPACE: &str = "ns";

fn resources(request: &str, limit: &str) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity(request.to_owned()),
        )])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity(limit.to_owned()),
        )])),
        claims: None,
    }
}

fn nodes_in(zone: &str) -> Option<Vec<BTreeMap<String, String>>> {
    Some(vec![BTreeMap::from([
        ("topology.kubernetes.io/zone".to_owned(), zone.to_owned()),
        (
            "topology.kubernetes.io/region".to_owned(),
            "us-east-1".to_owned(),
        ),
    ])])
}

fn default_storage_class() -> StorageClassFacts {
    StorageClassFacts {
        name: "standard".to_owned(),
        annotations: BTreeMap::from([(
            "storageclass.kubernetes.io/is-default-class".to_owned(),
            "true".to_owned(),
        )]),
    }
}

fn facts() -> ClusterFacts {
    ClusterFacts {
        node_labels: nodes_in("us-east-1a"),
        storage_classes: vec![default_storage_class()],
    }
}

/// A cluster that passes without any finding: one zoned cell with nodes, a default
/// StorageClass, and backups on a shared (RWX) volume.
fn clean() -> MultigresClusterSpec {
    MultigresClusterSpec {
        cells: vec![CellConfig {
            name: "zone-a".into(),
            zone: "us-east-1a".into(),
            ..CellConfig::default()
        }],
        backup: Some(BackupConfig {
            type_: BackupType::Filesystem,
            filesystem: Some(FilesystemBackupConfig {
                path: String::new(),
                storage: StorageSpec {
                    access_modes: vec!["ReadWriteMany".to_owned()],
                    ..StorageSpec::default()
                },
            }),
            ..BackupConfig::default()
        }),
        ..MultigresClusterSpec::default()
    }
}

fn templates() -> NamespaceTemplates {
    NamespaceTemplates::empty().with_shard(
        "std",
        ShardTemplateSpec {
            pools: BTreeMap::from([(PoolName::new("main"), PoolSpec::default())]),
            ..ShardTemplateSpec::default()
        },
    )
}

/// Defaults `spec` as the webhook would, then validates it.
fn validate(mut spec: MultigresClusterSpec, facts: &ClusterFacts) -> ValidationReport {
    let source = templates();
    populate_cluster_defaults(&mut spec, &source).expect("in-memory lookups cannot fail");
    validate_cluster(&spec, NAMESPACE, &source, facts).expect("in-memory lookups cannot fail")
}

/// `(path, message)` of each error and each warning.
type Findings = (Vec<(String, String)>, Vec<(String, String)>);

fn findings(report: &ValidationReport) -> Findings {
    (
        report
            .errors
            .iter()
            .map(|e| (e.path.to_string(), e.message.clone()))
            .collect(),
        report
            .warnings
            .iter()
            .map(|w| (w.path.to_string(), w.message.clone()))
            .collect(),
    )
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(p, m)| ((*p).to_owned(), (*m).to_owned()))
        .collect()
}

/// The shard of `clean()` given explicitly, so a case can change it.
fn with_shard(spec: &mut MultigresClusterSpec, shard: ShardConfig) {
    spec.databases = vec![DatabaseConfig {
        name: "postgres".into(),
        default: true,
        tablegroups: vec![TableGroupConfig {
            name: "default".into(),
            default: true,
            shards: vec![shard],
            ..TableGroupConfig::default()
        }],
        ..DatabaseConfig::default()
    }];
}

fn inline_shard(pools: Vec<(&str, PoolSpec)>, multiorch: MultiOrchSpec) -> ShardConfig {
    ShardConfig {
        name: "0-inf".into(),
        spec: Some(ShardInlineSpec {
            multiorch,
            pools: pools
                .into_iter()
                .map(|(name, pool)| (PoolName::new(name), pool))
                .collect(),
            ..ShardInlineSpec::default()
        }),
        ..ShardConfig::default()
    }
}

const SHARD: &str = "spec.databases[0].tablegroups[0].shards[0]";
const SHARD_TEMPLATE: &str = "spec.databases[0].tablegroups[0].shards[0].shardTemplate";

#[test]
fn the_clean_cluster_has_no_finding() {
    assert_eq!(findings(&validate(clean(), &facts())), (vec![], vec![]));
}

#[rstest]
#[case::zone_without_nodes(
    |_: &mut MultigresClusterSpec| {},
    ClusterFacts { node_labels: nodes_in("us-west-1a"), storage_classes: vec![default_storage_class()] },
    &[],
    &[("spec.cells[0].zone", "cell 'zone-a': no nodes currently match topology.kubernetes.io/zone=us-east-1a; pods will be Pending until matching nodes are available")],
)]
#[case::region_without_nodes(
    |s: &mut MultigresClusterSpec| { s.cells[0].zone = Default::default(); s.cells[0].region = "eu-west-1".into(); },
    facts(),
    &[],
    &[("spec.cells[0].region", "cell 'zone-a': no nodes currently match topology.kubernetes.io/region=eu-west-1; pods will be Pending until matching nodes are available")],
)]
#[case::nodes_unknown_skip_the_topology_check(
    |_: &mut MultigresClusterSpec| {},
    ClusterFacts { node_labels: None, storage_classes: vec![default_storage_class()] },
    &[],
    &[],
)]
#[case::single_etcd_replica(
    |s: &mut MultigresClusterSpec| s.global_topo_server = Some(GlobalTopoServerSpec { etcd: Some(EtcdSpec { replicas: Some(1), ..EtcdSpec::default() }), ..GlobalTopoServerSpec::default() }),
    facts(),
    &[],
    &[("spec.globalTopoServer.etcd.replicas", "etcd has 1 replica \u{2014} no fault tolerance. 3 replicas is recommended for production (tolerates 1 failure). Note: topology server replicas cannot be changed after cluster creation")],
)]
#[case::external_gateway_without_ips(
    |s: &mut MultigresClusterSpec| s.external_gateway = Some(ExternalGatewayConfig { enabled: true, ..ExternalGatewayConfig::default() }),
    facts(),
    &[],
    &[("spec.externalGateway.externalIPs", "externalGateway is enabled but no externalIPs specified; endpoint resolution depends on an external load balancer controller provisioning an ingress address on the global multigateway Service")],
)]
#[case::external_gateway_bad_ip(
    |s: &mut MultigresClusterSpec| s.external_gateway = Some(ExternalGatewayConfig { enabled: true, external_ips: vec!["10.0.0.1".into(), "999.1.1.1".into()], ..ExternalGatewayConfig::default() }),
    facts(),
    &[("spec.externalGateway.externalIPs[1]", "externalGateway.externalIPs contains invalid IP address: \"999.1.1.1\"")],
    &[],
)]
#[case::disabled_external_gateway_is_not_checked(
    |s: &mut MultigresClusterSpec| s.external_gateway = Some(ExternalGatewayConfig { enabled: false, external_ips: vec!["01.2.3.4".into()], ..ExternalGatewayConfig::default() }),
    facts(),
    &[],
    &[],
)]
#[case::external_admin_web_without_ips(
    |s: &mut MultigresClusterSpec| s.external_admin_web = Some(ExternalGatewayConfig { enabled: true, ..ExternalGatewayConfig::default() }),
    facts(),
    &[],
    &[("spec.externalAdminWeb.externalIPs", "externalAdminWeb is enabled but no externalIPs specified; endpoint resolution depends on an external load balancer controller provisioning an ingress address on the multiadmin-web Service")],
)]
#[case::external_admin_web_bad_ip(
    |s: &mut MultigresClusterSpec| s.external_admin_web = Some(ExternalGatewayConfig { enabled: true, external_ips: vec!["01.2.3.4".into()], ..ExternalGatewayConfig::default() }),
    facts(),
    &[("spec.externalAdminWeb.externalIPs[0]", "externalAdminWeb.externalIPs contains invalid IP address: \"01.2.3.4\"")],
    &[],
)]
#[case::etcd_limit_below_request(
    |s: &mut MultigresClusterSpec| s.global_topo_server = Some(GlobalTopoServerSpec { etcd: Some(EtcdSpec { resources: resources("1Gi", "512Mi"), ..EtcdSpec::default() }), ..GlobalTopoServerSpec::default() }),
    facts(),
    &[("spec.globalTopoServer.etcd.resources", "etcd: resource memory limit (512Mi) must be >= request (1Gi)")],
    &[],
)]
#[case::multiadmin_limit_below_request(
    |s: &mut MultigresClusterSpec| s.multiadmin = Some(MultiAdminConfig { spec: Some(StatelessSpec { resources: resources("256Mi", "128Mi"), ..StatelessSpec::default() }), ..MultiAdminConfig::default() }),
    facts(),
    &[("spec.multiadmin.spec.resources", "multiadmin: resource memory limit (128Mi) must be >= request (256Mi)")],
    &[],
)]
#[case::multiadmin_web_limit_below_request(
    |s: &mut MultigresClusterSpec| s.multiadmin_web = Some(MultiAdminConfig { spec: Some(StatelessSpec { resources: resources("0.5Gi", "256Mi"), ..StatelessSpec::default() }), ..MultiAdminConfig::default() }),
    facts(),
    &[("spec.multiadminWeb.spec.resources", "multiadmin-web: resource memory limit (256Mi) must be >= request (512Mi)")],
    &[],
)]
#[case::gateway_limit_below_request(
    |s: &mut MultigresClusterSpec| s.cells[0].spec = Some(multigres_api::v1alpha1::CellInlineSpec { multigateway: StatelessSpec { resources: resources("2Gi", "1Gi"), ..StatelessSpec::default() }, ..Default::default() }),
    facts(),
    &[("spec.cells[0].spec.multigateway.resources", "cell 'zone-a' multigateway: resource memory limit (1Gi) must be >= request (2Gi)")],
    &[],
)]
#[case::no_cells(
    |s: &mut MultigresClusterSpec| s.cells.clear(),
    facts(),
    &[
        (SHARD, "pool 'default' in shard '0-inf' matches NO cells"),
        (SHARD, "shard '0-inf' matches NO cells (check your cell names or template configuration)"),
    ],
    &[(SHARD, "pool 'default' in shard '0-inf' has replicasPerCell=3 across 0 cell(s) (0 total); The HA baseline for AT_LEAST_2 is at least 3 total pods (1 primary + 2 standbys). For zero-downtime rolling upgrades within a single cell, use at least 3 replicas in that cell.")],
)]
#[case::multiorch_in_an_unknown_cell(
    |s: &mut MultigresClusterSpec| with_shard(s, inline_shard(vec![("default", PoolSpec { cells: vec!["zone-a".into()], ..PoolSpec::default() })], MultiOrchSpec { cells: vec!["zone-x".into()], ..MultiOrchSpec::default() })),
    facts(),
    &[("spec.databases[0].tablegroups[0].shards[0].spec.multiorch.cells", "shard '0-inf' is assigned to non-existent cell 'zone-x'")],
    &[],
)]
#[case::pool_in_an_unknown_cell(
    |s: &mut MultigresClusterSpec| with_shard(s, inline_shard(vec![("default", PoolSpec { cells: vec!["zone-x".into()], ..PoolSpec::default() })], MultiOrchSpec::default())),
    facts(),
    &[("spec.databases[0].tablegroups[0].shards[0].spec.pools[default].cells", "pool 'default' in shard '0-inf' is assigned to non-existent cell 'zone-x'")],
    &[],
)]
#[case::invalid_pool_names(
    |s: &mut MultigresClusterSpec| with_shard(s, inline_shard(vec![("Main_Pool", PoolSpec::default()), ("a-very-long-pool-name-abcdef", PoolSpec::default())], MultiOrchSpec::default())),
    facts(),
    &[
        ("spec.databases[0].tablegroups[0].shards[0].spec.pools[Main_Pool]", "shard '0-inf': pool name 'Main_Pool' is invalid: must consist of lowercase alphanumeric characters or '-', and must start and end with an alphanumeric character"),
        ("spec.databases[0].tablegroups[0].shards[0].spec.pools[a-very-long-pool-name-abcdef]", "shard '0-inf': pool name 'a-very-long-pool-name-abcdef' must be between 1 and 25 characters"),
    ],
    &[],
)]
#[case::too_few_pods_for_a_quorum(
    |s: &mut MultigresClusterSpec| with_shard(s, inline_shard(vec![("default", PoolSpec { replicas_per_cell: Some(2), ..PoolSpec::default() })], MultiOrchSpec::default())),
    facts(),
    &[],
    &[("spec.databases[0].tablegroups[0].shards[0].spec.pools[default].replicasPerCell", "pool 'default' in shard '0-inf' has replicasPerCell=2 across 1 cell(s) (2 total); The HA baseline for AT_LEAST_2 is at least 3 total pods (1 primary + 2 standbys). For zero-downtime rolling upgrades within a single cell, use at least 3 replicas in that cell.")],
)]
#[case::shard_component_limits_below_requests(
    |s: &mut MultigresClusterSpec| with_shard(s, inline_shard(
        vec![("default", PoolSpec {
            postgres: multigres_api::v1alpha1::ContainerConfig { resources: resources("4Gi", "2Gi") },
            multipooler: multigres_api::v1alpha1::ContainerConfig { resources: resources("300Mi", "200Mi") },
            ..PoolSpec::default()
        })],
        MultiOrchSpec { stateless: StatelessSpec { resources: resources("1", "500m"), ..StatelessSpec::default() }, ..MultiOrchSpec::default() },
    )),
    facts(),
    &[
        ("spec.databases[0].tablegroups[0].shards[0].spec.multiorch.resources", "shard '0-inf' multiorch: resource memory limit (500m) must be >= request (1)"),
        ("spec.databases[0].tablegroups[0].shards[0].spec.pools[default].multipooler.resources", "shard '0-inf' pool 'default' multipooler: resource memory limit (200Mi) must be >= request (300Mi)"),
        ("spec.databases[0].tablegroups[0].shards[0].spec.pools[default].postgres.resources", "shard '0-inf' pool 'default' postgres: resource memory limit (2Gi) must be >= request (4Gi)"),
    ],
    &[],
)]
#[case::single_writer_backup_volume(
    |s: &mut MultigresClusterSpec| s.backup = None,
    facts(),
    &[],
    &[("spec.databases[0].tablegroups[0].shards[0].spec.pools[default].replicasPerCell", "Shard '0-inf' uses filesystem backups with ReadWriteOnce (RWO) storage but pool 'default' has 3 replicas per cell. This configuration may fail if pods are scheduled on different nodes. Consider using ReadWriteMany (RWX), ensuring node affinity, or using S3 backups.")],
)]
#[case::override_pool_missing_from_the_template(
    |s: &mut MultigresClusterSpec| with_shard(s, ShardConfig {
        name: "0-inf".into(),
        shard_template: "std".into(),
        overrides: Some(ShardOverrides { pools: BTreeMap::from([(PoolName::new("extra"), PoolSpec::default())]), ..ShardOverrides::default() }),
        ..ShardConfig::default()
    }),
    facts(),
    &[],
    &[(
        "spec.databases[0].tablegroups[0].shards[0].overrides.pools[extra]",
        "Pool 'extra' defined in overrides for shard '0-inf' does not exist in template 'std'. A new pool will be created.",
    )],
)]
#[case::no_default_storage_class(
    |_: &mut MultigresClusterSpec| {},
    ClusterFacts { node_labels: nodes_in("us-east-1a"), storage_classes: vec![StorageClassFacts { name: "slow".to_owned(), annotations: BTreeMap::new() }] },
    &[("spec", "no default StorageClass found in the cluster, and no explicit storage class is set for: spec.globalTopoServer.etcd.storage.class, shard '0-inf' pool 'default' storage.class, shard '0-inf' backup filesystem storage.class. PVCs will be stuck in Pending. Either: (1) Set a default StorageClass: kubectl annotate sc <name> storageclass.kubernetes.io/is-default-class=true, or (2) Set the storage class explicitly in the MultigresCluster spec for each component listed above")],
    &[],
)]
#[case::beta_default_storage_class_annotation_counts(
    |_: &mut MultigresClusterSpec| {},
    ClusterFacts { node_labels: nodes_in("us-east-1a"), storage_classes: vec![StorageClassFacts { name: "old".to_owned(), annotations: BTreeMap::from([("storageclass.beta.kubernetes.io/is-default-class".to_owned(), "true".to_owned())]) }] },
    &[],
    &[],
)]
fn each_check_reports_its_exact_message(
    #[case] change: fn(&mut MultigresClusterSpec),
    #[case] facts: ClusterFacts,
    #[case] errors: &[(&str, &str)],
    #[case] warnings: &[(&str, &str)],
) {
    let mut spec = clean();
    change(&mut spec);
    assert_eq!(
        findings(&validate(spec, &facts)),
        (owned(errors), owned(warnings))
    );
}

#[rstest]
#[case::core_default(|s: &mut MultigresClusterSpec| s.template_defaults.core_template = "nope".into(), "spec.templateDefaults.coreTemplate", "referenced CoreTemplate 'nope' not found in namespace 'ns'")]
#[case::multiadmin(|s: &mut MultigresClusterSpec| s.multiadmin = Some(MultiAdminConfig { template_ref: "nope".into(), spec: None }), "spec.multiadmin.templateRef", "referenced CoreTemplate 'nope' not found in namespace 'ns'")]
#[case::global_topo(|s: &mut MultigresClusterSpec| s.global_topo_server = Some(GlobalTopoServerSpec { template_ref: "nope".into(), ..GlobalTopoServerSpec::default() }), "spec.globalTopoServer.templateRef", "referenced CoreTemplate 'nope' not found in namespace 'ns'")]
#[case::multiadmin_web(|s: &mut MultigresClusterSpec| s.multiadmin_web = Some(MultiAdminConfig { template_ref: "nope".into(), spec: None }), "spec.multiadminWeb.templateRef", "referenced CoreTemplate 'nope' not found in namespace 'ns'")]
#[case::cell_default(|s: &mut MultigresClusterSpec| s.template_defaults.cell_template = "nope".into(), "spec.templateDefaults.cellTemplate", "referenced CellTemplate 'nope' not found in namespace 'ns'")]
#[case::cell(|s: &mut MultigresClusterSpec| s.cells[0].cell_template = "default".into(), "spec.cells[0].cellTemplate", "referenced CellTemplate 'default' not found in namespace 'ns'")]
#[case::shard_default(|s: &mut MultigresClusterSpec| s.template_defaults.shard_template = "nope".into(), "spec.templateDefaults.shardTemplate", "referenced ShardTemplate 'nope' not found in namespace 'ns'")]
#[case::shard(|s: &mut MultigresClusterSpec| with_shard(s, ShardConfig { name: "0-inf".into(), shard_template: "nope".into(), ..ShardConfig::default() }), "spec.databases[0].tablegroups[0].shards[0].shardTemplate", "referenced ShardTemplate 'nope' not found in namespace 'ns'")]
fn a_missing_template_is_rejected_where_it_is_named(
    #[case] change: fn(&mut MultigresClusterSpec),
    #[case] path: &str,
    #[case] message: &str,
) {
    let mut spec = clean();
    change(&mut spec);
    assert_eq!(
        findings(&validate(spec, &facts())),
        (owned(&[(path, message)]), vec![])
    );
}

#[test]
fn every_missing_template_is_reported_at_once_in_path_order() {
    let mut spec = clean();
    spec.template_defaults.shard_template = "s".into();
    spec.cells[0].cell_template = "c".into();
    spec.template_defaults.core_template = "k".into();
    let report = validate(spec, &facts());
    assert_eq!(
        report
            .errors
            .iter()
            .map(|e| e.with_path())
            .collect::<Vec<_>>(),
        [
            "spec.cells[0].cellTemplate: referenced CellTemplate 'c' not found in namespace 'ns'",
            "spec.templateDefaults.coreTemplate: referenced CoreTemplate 'k' not found in namespace 'ns'",
            "spec.templateDefaults.shardTemplate: referenced ShardTemplate 's' not found in namespace 'ns'",
        ]
    );
}

#[rstest]
#[case::empty("", Some("pool name '' must be between 1 and 25 characters"))]
#[case::too_long(
    "abcdefghijklmnopqrstuvwxyz",
    Some("pool name 'abcdefghijklmnopqrstuvwxyz' must be between 1 and 25 characters")
)]
#[case::upper_case(
    "Main",
    Some(
        "pool name 'Main' is invalid: must consist of lowercase alphanumeric characters or '-', and must start and end with an alphanumeric character"
    )
)]
#[case::leading_dash(
    "-main",
    Some(
        "pool name '-main' is invalid: must consist of lowercase alphanumeric characters or '-', and must start and end with an alphanumeric character"
    )
)]
#[case::trailing_dash(
    "main-",
    Some(
        "pool name 'main-' is invalid: must consist of lowercase alphanumeric characters or '-', and must start and end with an alphanumeric character"
    )
)]
#[case::underscore(
    "a_b",
    Some(
        "pool name 'a_b' is invalid: must consist of lowercase alphanumeric characters or '-', and must start and end with an alphanumeric character"
    )
)]
#[case::longest("abcdefghijklmnopqrstuvwxy", None)]
#[case::single("a", None)]
#[case::dashes_inside("read-write-1", None)]
fn pool_names(#[case] name: &str, #[case] expected: Option<&str>) {
    assert_eq!(
        validate_pool_name(name).err().map(|e| e.to_string()),
        expected.map(str::to_owned)
    );
}

#[test]
fn shard_template_pools_are_checked_by_name() {
    let template = ShardTemplateSpec {
        pools: BTreeMap::from([
            (PoolName::new("ok"), PoolSpec::default()),
            (PoolName::new("Bad"), PoolSpec::default()),
        ]),
        ..ShardTemplateSpec::default()
    };
    assert_eq!(
        validate_shard_template_pools(&template)
            .iter()
            .map(|e| e.with_path())
            .collect::<Vec<_>>(),
        [
            "spec.pools[Bad]: pool name 'Bad' is invalid: must consist of lowercase alphanumeric \
          characters or '-', and must start and end with an alphanumeric character"
        ]
    );
}

fn with_pool_size(size: &str) -> MultigresClusterSpec {
    let mut spec = clean();
    with_shard(
        &mut spec,
        inline_shard(
            vec![(
                "main",
                PoolSpec {
                    storage: StorageSpec {
                        size: size.to_owned(),
                        ..StorageSpec::default()
                    },
                    ..PoolSpec::default()
                },
            )],
            MultiOrchSpec::default(),
        ),
    );
    spec
}

fn with_etcd_replicas(replicas: Option<i32>) -> MultigresClusterSpec {
    let mut spec = clean();
    spec.global_topo_server = Some(GlobalTopoServerSpec {
        etcd: Some(EtcdSpec {
            replicas,
            ..EtcdSpec::default()
        }),
        ..GlobalTopoServerSpec::default()
    });
    spec
}

#[rstest]
#[case::storage_shrinks(with_pool_size("10Gi"), with_pool_size("5Gi"), &[(
    "spec.databases[0].tablegroups[0].shards[0].spec.pools[main].storage.size",
    "storage.size cannot be decreased (postgres/default/0-inf/main: 10Gi \u{2192} 5Gi); PVC shrink is not supported by Kubernetes",
)])]
#[case::storage_grows(with_pool_size("10Gi"), with_pool_size("10240Mi"), &[])]
#[case::etcd_replicas_change(with_etcd_replicas(None), with_etcd_replicas(Some(5)), &[(
    "spec.globalTopoServer.etcd.replicas",
    "topology server (etcd) replicas cannot be changed after cluster creation (3 \u{2192} 5); etcd uses static bootstrap which does not support dynamic member addition",
)])]
#[case::etcd_replicas_unchanged(with_etcd_replicas(None), with_etcd_replicas(Some(3)), &[])]
fn updates(
    #[case] old: MultigresClusterSpec,
    #[case] new: MultigresClusterSpec,
    #[case] expected: &[(&str, &str)],
) {
    let errors = validate_cluster_update(&old, &new);
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.path.to_string(), e.message.clone()))
            .collect::<Vec<_>>(),
        owned(expected)
    );
}

fn cluster(name: &str, spec: MultigresClusterSpec) -> MultigresCluster {
    let mut cluster = MultigresCluster::new(name, spec);
    cluster.metadata.namespace = Some(NAMESPACE.to_owned());
    cluster
}

#[test]
fn a_shard_template_edit_is_checked_against_the_clusters_using_it() {
    let mut uses_std = clean();
    uses_std.template_defaults.shard_template = "std".into();
    let clusters = [cluster("beta", clean()), cluster("alpha", uses_std)];
    let broken = ShardTemplateSpec {
        pools: BTreeMap::from([(
            PoolName::new("main"),
            PoolSpec {
                cells: vec!["zone-x".into()],
                ..PoolSpec::default()
            },
        )]),
        ..ShardTemplateSpec::default()
    };
    let report = validate_template_change(
        "std",
        &TemplateEdit::Shard(broken),
        &clusters,
        &templates(),
        &facts(),
    )
    .expect("in-memory lookups cannot fail");
    assert_eq!(
        report
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "MultigresCluster 'alpha': spec.templateDefaults.shardTemplate: pool 'main' in \
             shard '0-inf' is assigned to non-existent cell 'zone-x'"
        ]
    );
    assert_eq!(report.warnings, vec![]);
}

#[test]
fn a_default_cell_template_edit_reaches_clusters_that_use_it_implicitly() {
    let clusters = [cluster("alpha", clean())];
    let heavy = CellTemplateSpec {
        multigateway: Some(StatelessSpec {
            resources: resources("2Gi", "1Gi"),
            ..StatelessSpec::default()
        }),
        ..CellTemplateSpec::default()
    };
    let report = validate_template_change(
        "default",
        &TemplateEdit::Cell(heavy),
        &clusters,
        &templates(),
        &facts(),
    )
    .expect("in-memory lookups cannot fail");
    assert_eq!(
        report
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "MultigresCluster 'alpha': spec.cells[0].spec.multigateway.resources: cell 'zone-a' \
          multigateway: resource memory limit (1Gi) must be >= request (2Gi)"
        ]
    );
}

#[test]
fn a_harmless_edit_passes() {
    let mut uses_std = clean();
    uses_std.template_defaults.shard_template = "std".into();
    let report = validate_template_change(
        "std",
        &TemplateEdit::Shard(ShardTemplateSpec::default()),
        &[cluster("alpha", uses_std)],
        &templates(),
        &facts(),
    )
    .expect("in-memory lookups cannot fail");
    assert_eq!((report.errors, report.warnings), (vec![], vec![]));
}

#[test]
fn deletion_is_blocked_by_explicit_and_implicit_users() {
    let mut named = clean();
    named.cells[0].cell_template = "gw".into();
    let clusters = [cluster("zeta", clean()), cluster("eta", named)];
    assert_eq!(
        [
            deletion_blocker(TemplateKind::Cell, "gw", &clusters),
            deletion_blocker(TemplateKind::Cell, "default", &clusters),
            deletion_blocker(TemplateKind::Shard, "default", &clusters),
            deletion_blocker(TemplateKind::Shard, "other", &clusters),
        ],
        [
            Some("cannot delete CellTemplate 'gw' because it is in use by MultigresCluster 'eta'".to_owned()),
            Some("cannot delete CellTemplate 'default' because it is in use by MultigresCluster 'zeta'".to_owned()),
            Some("cannot delete ShardTemplate 'default' because it is in use by MultigresCluster 'eta'".to_owned()),
            None,
        ]
    );
}

/// The logic checks on their own (without the integrity check in front, which normally reports
/// a missing template first): the resolution failures carry Go's wrapping text.
#[test]
fn resolution_failures_inside_the_logic_checks_keep_go_wrapping() {
    let mut spec = clean();
    with_shard(
        &mut spec,
        ShardConfig {
            name: "0-inf".into(),
            shard_template: "gone".into(),
            overrides: Some(ShardOverrides {
                pools: BTreeMap::from([(PoolName::new("main"), PoolSpec::default())]),
                ..ShardOverrides::default()
            }),
            ..ShardConfig::default()
        },
    );
    let source = templates();
    populate_cluster_defaults(&mut spec, &source).expect("in-memory lookups cannot fail");
    let report = multigres_api::validation::validate_cluster_logic(&spec, &source, &facts())
        .expect("in-memory lookups cannot fail");
    assert_eq!(
        findings(&report),
        (
            owned(&[
                (
                    SHARD_TEMPLATE,
                    "failed to resolve template for orphan check: referenced ShardTemplate \
                     'gone' not found: shardtemplates.multigres.com \"gone\" not found"
                ),
                (
                    SHARD_TEMPLATE,
                    "validation failed: cannot resolve shard '0-inf': referenced ShardTemplate \
                     'gone' not found: shardtemplates.multigres.com \"gone\" not found"
                ),
            ]),
            vec![]
        )
    );
}
