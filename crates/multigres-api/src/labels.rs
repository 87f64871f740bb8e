//! Label and annotation keys, their fixed values, and the label sets of every object the operator
//! builds (spec-api.md §14, spec-controllers.md §1.1, §1.2).
//!
//! Labels are part of the compatibility contract: selectors of Deployments, Services and PDBs
//! are immutable or select running pods, and the Go operator's children are found by these
//! labels. So each set here is the exact set the Go builder writes, including its quirks (no
//! `multigres.com/cluster` on cell multigateway objects, pool labels taking the cluster label
//! from the Shard's labels).
//!
//! Pure: no I/O. This module does not decide *which* objects exist or read the API; builders
//! call it with the parts they already have.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::naming::{ClusterName, PoolParts, ShardParts};

/// A label or annotation map, sorted as Go's `encoding/json` writes it.
pub type Labels = BTreeMap<String, String>;

// --- Label keys (Go `pkg/util/metadata/labels.go`) ------------------------------------------

/// `app.kubernetes.io/name`, always [`APP_NAME`].
pub const LABEL_APP_NAME: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/instance`: the MultigresCluster name.
pub const LABEL_APP_INSTANCE: &str = "app.kubernetes.io/instance";
/// `app.kubernetes.io/component`: a [`Component`].
pub const LABEL_APP_COMPONENT: &str = "app.kubernetes.io/component";
/// `app.kubernetes.io/part-of`, always [`PART_OF`].
pub const LABEL_APP_PART_OF: &str = "app.kubernetes.io/part-of";
/// `app.kubernetes.io/managed-by`, always [`MANAGED_BY`]; the Go informer cache filters
/// Secrets, StatefulSets, Services and Pods on it (spec-controllers.md §13.4).
pub const LABEL_APP_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// `app.kubernetes.io/version`: declared upstream, never set.
pub const LABEL_APP_VERSION: &str = "app.kubernetes.io/version";
/// `multigres.com/cluster`: the cluster name; the key of every child lookup.
pub const LABEL_CLUSTER: &str = "multigres.com/cluster";
/// `multigres.com/cell`: the logical cell name.
pub const LABEL_CELL: &str = "multigres.com/cell";
/// `multigres.com/database`: the logical database name.
pub const LABEL_DATABASE: &str = "multigres.com/database";
/// `multigres.com/tablegroup`: the logical tablegroup name.
pub const LABEL_TABLE_GROUP: &str = "multigres.com/tablegroup";
/// `multigres.com/shard`: the logical shard name (`0-inf`).
pub const LABEL_SHARD: &str = "multigres.com/shard";
/// `multigres.com/pool`: the pool name.
pub const LABEL_POOL: &str = "multigres.com/pool";
/// `multigres.com/zone`: the cell's zone, on multigateway objects only.
pub const LABEL_ZONE: &str = "multigres.com/zone";
/// `multigres.com/region`: the cell's region, on multigateway objects only.
pub const LABEL_REGION: &str = "multigres.com/region";
/// `multigres.com/role`: [`ROLE_DRAINED`] on pool pods whose topology role is DRAINED.
pub const LABEL_ROLE: &str = "multigres.com/role";
/// `multigres.com/uses-core-template` on a MultigresCluster that references a CoreTemplate.
pub const LABEL_USES_CORE_TEMPLATE: &str = "multigres.com/uses-core-template";
/// `multigres.com/uses-cell-template` on a MultigresCluster that references a CellTemplate.
pub const LABEL_USES_CELL_TEMPLATE: &str = "multigres.com/uses-cell-template";
/// `multigres.com/uses-shard-template` on a MultigresCluster that references a ShardTemplate.
pub const LABEL_USES_SHARD_TEMPLATE: &str = "multigres.com/uses-shard-template";
/// `multigres.com/cell-template`: declared upstream, never set.
pub const LABEL_CELL_TEMPLATE: &str = "multigres.com/cell-template";
/// `multigres.com/shard-template`: declared upstream, never set.
pub const LABEL_SHARD_TEMPLATE: &str = "multigres.com/shard-template";

/// `topology.kubernetes.io/zone`: the well-known node label a cell's `zone` selects on
/// (nodeSelector of its pods, spec-api.md §3.5) and that validation looks for on nodes (§11.3).
pub const LABEL_TOPOLOGY_ZONE: &str = "topology.kubernetes.io/zone";
/// `topology.kubernetes.io/region`: the well-known node label a cell's `region` selects on.
pub const LABEL_TOPOLOGY_REGION: &str = "topology.kubernetes.io/region";

// --- Label values ---------------------------------------------------------------------------

/// Value of [`LABEL_APP_NAME`].
pub const APP_NAME: &str = "multigres";
/// Value of [`LABEL_APP_PART_OF`].
pub const PART_OF: &str = "multigres";
/// Value of [`LABEL_APP_MANAGED_BY`].
pub const MANAGED_BY: &str = "multigres-operator";
/// The only value written to [`LABEL_ROLE`].
pub const ROLE_DRAINED: &str = "DRAINED";
/// Value of the three `uses-*-template` labels.
pub const TEMPLATE_IN_USE: &str = "true";

/// The value of [`LABEL_APP_COMPONENT`] of each kind of object (spec-api.md §14.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// MultiAdmin Deployment and Service.
    Multiadmin,
    /// MultiAdminWeb Deployment and Service.
    MultiadminWeb,
    /// Cell multigateway objects and the two cluster-wide gateway Services.
    Multigateway,
    /// The global TopoServer CR.
    GlobalTopo,
    /// Cell CRs.
    Cell,
    /// Shard CRs.
    Shard,
    /// TableGroup CRs.
    TableGroup,
    /// MultiOrch Deployments and Services.
    Multiorch,
    /// Pool pods, data PVCs, PDBs, headless Services and the shared backup PVC.
    ShardPool,
    /// The etcd StatefulSet, its Services and pods.
    TopoServer,
    /// The pg_hba ConfigMap.
    PgHbaConfig,
    /// The postgres password Secret.
    PostgresPassword,
    /// The generated pgBackRest CA and TLS Secrets.
    PgbackrestTls,
}

impl Component {
    /// Every component, in declaration order.
    pub const ALL: [Component; 13] = [
        Component::Multiadmin,
        Component::MultiadminWeb,
        Component::Multigateway,
        Component::GlobalTopo,
        Component::Cell,
        Component::Shard,
        Component::TableGroup,
        Component::Multiorch,
        Component::ShardPool,
        Component::TopoServer,
        Component::PgHbaConfig,
        Component::PostgresPassword,
        Component::PgbackrestTls,
    ];

    /// The label value, as the Go constants and literals spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Component::Multiadmin => "multiadmin",
            Component::MultiadminWeb => "multiadmin-web",
            Component::Multigateway => "multigateway",
            Component::GlobalTopo => "global-topo",
            Component::Cell => "cell",
            Component::Shard => "shard",
            Component::TableGroup => "tablegroup",
            Component::Multiorch => "multiorch",
            Component::ShardPool => "shard-pool",
            Component::TopoServer => "toposerver",
            Component::PgHbaConfig => "pg-hba-config",
            Component::PostgresPassword => "postgres-password",
            Component::PgbackrestTls => "pgbackrest-tls",
        }
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// --- Annotation keys and values (spec-api.md §14.4) -----------------------------------------

/// `multigres.com/project-ref`: downstream project identity; see [`resolve_project_ref`].
pub const ANNOTATION_PROJECT_REF: &str = "multigres.com/project-ref";
/// `multigres.com/pending-deletion`: RFC 3339 UTC time a parent asked a child to go away.
pub const ANNOTATION_PENDING_DELETION: &str = "multigres.com/pending-deletion";
/// `multigres.com/spec-hash`: 8-hex FNV-1a of the operator-managed pool pod fields.
pub const ANNOTATION_SPEC_HASH: &str = "multigres.com/spec-hash";
/// `multigres.com/postgres-config-hash`: SHA-256 hex of the referenced postgres config.
pub const ANNOTATION_POSTGRES_CONFIG_HASH: &str = "multigres.com/postgres-config-hash";
/// `drain.multigres.com/state`: a [`DrainState`].
pub const ANNOTATION_DRAIN_STATE: &str = "drain.multigres.com/state";
/// `drain.multigres.com/requested-at`: RFC 3339 time of the drain request.
pub const ANNOTATION_DRAIN_REQUESTED_AT: &str = "drain.multigres.com/requested-at";
/// `prometheus.io/scrape` on pool pods (postgres exporter).
pub const ANNOTATION_PROMETHEUS_SCRAPE: &str = "prometheus.io/scrape";
/// `prometheus.io/port` on pool pods.
pub const ANNOTATION_PROMETHEUS_PORT: &str = "prometheus.io/port";
/// `prometheus.io/path` on pool pods.
pub const ANNOTATION_PROMETHEUS_PATH: &str = "prometheus.io/path";
/// Value of [`ANNOTATION_PROMETHEUS_SCRAPE`].
pub const PROMETHEUS_SCRAPE: &str = "true";
/// Value of [`ANNOTATION_PROMETHEUS_PORT`]: the postgres exporter port.
pub const PROMETHEUS_PORT: &str = "9187";
/// Value of [`ANNOTATION_PROMETHEUS_PATH`].
pub const PROMETHEUS_PATH: &str = "/metrics";
/// `multigres.com/traceparent`: W3C trace context from the webhook to the reconciler.
pub const ANNOTATION_TRACEPARENT: &str = "multigres.com/traceparent";
/// `multigres.com/traceparent-ts`: when [`ANNOTATION_TRACEPARENT`] was written.
pub const ANNOTATION_TRACEPARENT_TS: &str = "multigres.com/traceparent-ts";
/// `multigres.com/tracestate`: W3C trace state companion of [`ANNOTATION_TRACEPARENT`].
pub const ANNOTATION_TRACESTATE: &str = "multigres.com/tracestate";
/// `multigres.com/cert-strategy` on the webhook configurations.
pub const ANNOTATION_CERT_STRATEGY: &str = "multigres.com/cert-strategy";
/// Value of [`ANNOTATION_CERT_STRATEGY`] when the operator manages the webhook PKI.
pub const CERT_STRATEGY_SELF_SIGNED: &str = "self-signed";
/// `cert-manager.io/inject-ca-from` (`{ns}/{certificate}`), cert-manager install variant only.
pub const ANNOTATION_CERT_MANAGER_INJECT_CA_FROM: &str = "cert-manager.io/inject-ca-from";
/// Read only: `"true"` marks the default StorageClass.
pub const ANNOTATION_DEFAULT_STORAGE_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
/// Read only: the beta spelling of [`ANNOTATION_DEFAULT_STORAGE_CLASS`].
pub const ANNOTATION_DEFAULT_STORAGE_CLASS_BETA: &str =
    "storageclass.beta.kubernetes.io/is-default-class";

/// The three annotation keys that are set on pool pods and removed from user pod annotations of
/// multiorch and multigateway pods.
pub const PROMETHEUS_ANNOTATIONS: [&str; 3] = [
    ANNOTATION_PROMETHEUS_SCRAPE,
    ANNOTATION_PROMETHEUS_PORT,
    ANNOTATION_PROMETHEUS_PATH,
];

/// Values of [`ANNOTATION_DRAIN_STATE`], in the order the drain state machine moves through them
/// (spec-controllers.md §7.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DrainState {
    /// The operator asked for the pod to be drained.
    Requested,
    /// The standby is being removed from the synchronous standby list.
    Draining,
    /// multigres acknowledged the removal.
    Acknowledged,
    /// The pod may be deleted.
    ReadyForDeletion,
}

impl DrainState {
    /// The annotation value.
    pub const fn as_str(self) -> &'static str {
        match self {
            DrainState::Requested => "requested",
            DrainState::Draining => "draining",
            DrainState::Acknowledged => "acknowledged",
            DrainState::ReadyForDeletion => "ready-for-deletion",
        }
    }

    /// Reads an annotation value; `None` for anything the state machine does not know.
    pub fn from_annotation(value: &str) -> Option<Self> {
        [
            DrainState::Requested,
            DrainState::Draining,
            DrainState::Acknowledged,
            DrainState::ReadyForDeletion,
        ]
        .into_iter()
        .find(|state| state.as_str() == value)
    }
}

// --- Helpers (Go `BuildStandardLabels`, `GetSelectorLabels`, `MergeLabels`) -----------------

/// Go `BuildStandardLabels(clusterName, component)`: the five `app.kubernetes.io/*` labels.
pub fn standard_labels(cluster: &ClusterName, component: Component) -> Labels {
    labels([
        (LABEL_APP_NAME, APP_NAME),
        (LABEL_APP_INSTANCE, cluster.as_str()),
        (LABEL_APP_COMPONENT, component.as_str()),
        (LABEL_APP_PART_OF, PART_OF),
        (LABEL_APP_MANAGED_BY, MANAGED_BY),
    ])
}

/// The label keys a selector may hold (Go `GetSelectorLabels` allow-list).
pub const SELECTOR_KEYS: [&str; 8] = [
    LABEL_APP_COMPONENT,
    LABEL_APP_INSTANCE,
    LABEL_CLUSTER,
    LABEL_DATABASE,
    LABEL_TABLE_GROUP,
    LABEL_SHARD,
    LABEL_POOL,
    LABEL_CELL,
];

/// Go `GetSelectorLabels(labels)`: only the identity keys of [`SELECTOR_KEYS`].
///
/// Name, part-of, managed-by, zone, region and role never select: changing them must not orphan
/// pods or break immutable Deployment selectors.
pub fn selector_labels(labels: &Labels) -> Labels {
    labels
        .iter()
        .filter(|(key, _)| SELECTOR_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Go `MergeLabels(standard, custom)`: custom first, then standard on top, so operator labels
/// always win over user `podLabels` and over a parent's labels merged in as "custom".
pub fn merge_labels(standard: &Labels, custom: &Labels) -> Labels {
    let mut merged = custom.clone();
    merged.extend(standard.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

fn labels<const N: usize>(pairs: [(&str, &str); N]) -> Labels {
    pairs
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

fn with(mut base: Labels, pairs: &[(&str, &str)]) -> Labels {
    base.extend(
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
    );
    base
}

// --- Custom resources built by the cluster and TableGroup controllers (§14.3) ---------------

/// Cell CR: standard(`cell`) + cluster + cell.
pub fn cell_labels(cluster: &ClusterName, cell: &str) -> Labels {
    with(
        standard_labels(cluster, Component::Cell),
        &[(LABEL_CLUSTER, cluster.as_str()), (LABEL_CELL, cell)],
    )
}

/// TableGroup CR: standard(`tablegroup`) + cluster + database + tablegroup.
pub fn table_group_labels(cluster: &ClusterName, database: &str, table_group: &str) -> Labels {
    with(
        standard_labels(cluster, Component::TableGroup),
        &[
            (LABEL_CLUSTER, cluster.as_str()),
            (LABEL_DATABASE, database),
            (LABEL_TABLE_GROUP, table_group),
        ],
    )
}

/// Shard CR: standard(`shard`) + cluster + database + tablegroup + shard; the cluster is the
/// TableGroup's `multigres.com/cluster` label.
pub fn shard_labels(shard: &ShardParts<'_>) -> Labels {
    with(
        standard_labels(shard.cluster, Component::Shard),
        &[
            (LABEL_CLUSTER, shard.cluster.as_str()),
            (LABEL_DATABASE, shard.database),
            (LABEL_TABLE_GROUP, shard.table_group),
            (LABEL_SHARD, shard.shard),
        ],
    )
}

/// Global TopoServer CR: standard(`global-topo`) + cluster.
pub fn global_topo_server_labels(cluster: &ClusterName) -> Labels {
    cluster_component_labels(cluster, Component::GlobalTopo)
}

/// Cluster-level workloads (MultiAdmin, MultiAdminWeb Deployments and Services, the two global
/// multigateway Services): standard(component) + cluster.
pub fn cluster_component_labels(cluster: &ClusterName, component: Component) -> Labels {
    with(
        standard_labels(cluster, component),
        &[(LABEL_CLUSTER, cluster.as_str())],
    )
}

/// Selector of the two cluster-wide gateway Services: exactly component `multigateway` and the
/// instance, so that it spans the gateway pods of every cell (which carry no cluster label).
pub fn global_gateway_selector(cluster: &ClusterName) -> Labels {
    labels([
        (LABEL_APP_COMPONENT, Component::Multigateway.as_str()),
        (LABEL_APP_INSTANCE, cluster.as_str()),
    ])
}

/// Tracking labels of a MultigresCluster (spec-controllers.md §2.3): one `"true"` label per kind
/// of template the cluster references. A key absent here must be removed from the object.
pub fn template_tracking_labels(
    uses_core_template: bool,
    uses_cell_template: bool,
    uses_shard_template: bool,
) -> Labels {
    [
        (LABEL_USES_CORE_TEMPLATE, uses_core_template),
        (LABEL_USES_CELL_TEMPLATE, uses_cell_template),
        (LABEL_USES_SHARD_TEMPLATE, uses_shard_template),
    ]
    .into_iter()
    .filter(|(_, used)| *used)
    .map(|(key, _)| (key.to_owned(), TEMPLATE_IN_USE.to_owned()))
    .collect()
}

// --- TopoServer controller (spec-controllers.md §5) -----------------------------------------

/// etcd StatefulSet, its pods and both Services: `MergeLabels(standard(toposerver), TopoServer
/// CR labels)`, so the CR's labels (including `multigres.com/cluster`) carry over and the
/// component is overridden.
pub fn topo_server_labels(cluster: &ClusterName, topo_server_labels: &Labels) -> Labels {
    merge_labels(
        &standard_labels(cluster, Component::TopoServer),
        topo_server_labels,
    )
}

// --- Cell controller (spec-controllers.md §4.2) ---------------------------------------------

/// Cell multigateway Deployment, Service and pods: standard(`multigateway`) + cell, plus zone
/// and region when the cell has them (Go checks `!= ""`). No `multigres.com/cluster` label.
pub fn cell_gateway_labels(
    cluster: &ClusterName,
    cell: &str,
    zone: Option<&str>,
    region: Option<&str>,
) -> Labels {
    let mut set = with(
        standard_labels(cluster, Component::Multigateway),
        &[(LABEL_CELL, cell)],
    );
    for (key, value) in [(LABEL_ZONE, zone), (LABEL_REGION, region)] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            set.insert(key.to_owned(), value.to_owned());
        }
    }
    set
}

// --- Shard controller (spec-controllers.md §7.3, §7.4, §7.9) --------------------------------

/// pg_hba ConfigMap: `MergeLabels(standard(pg-hba-config), Shard CR labels)`.
pub fn pg_hba_config_map_labels(cluster: &ClusterName, shard_cr_labels: &Labels) -> Labels {
    merge_labels(
        &standard_labels(cluster, Component::PgHbaConfig),
        shard_cr_labels,
    )
}

/// Postgres password Secret: `MergeLabels(standard(postgres-password), Shard CR labels)`.
pub fn postgres_password_secret_labels(cluster: &ClusterName, shard_cr_labels: &Labels) -> Labels {
    merge_labels(
        &standard_labels(cluster, Component::PostgresPassword),
        shard_cr_labels,
    )
}

/// Generated pgBackRest CA and TLS Secrets: standard(`pgbackrest-tls`) only, no cluster label.
pub fn pgbackrest_tls_labels(cluster: &ClusterName) -> Labels {
    standard_labels(cluster, Component::PgbackrestTls)
}

/// MultiOrch Deployment, Service and pods of one cell: `MergeLabels(standard(multiorch) + cell
/// + database + tablegroup, Shard CR labels)`; the cluster and shard labels come from the Shard.
pub fn multiorch_labels(
    cluster: &ClusterName,
    database: &str,
    table_group: &str,
    cell: &str,
    shard_cr_labels: &Labels,
) -> Labels {
    let own = with(
        standard_labels(cluster, Component::Multiorch),
        &[
            (LABEL_CELL, cell),
            (LABEL_DATABASE, database),
            (LABEL_TABLE_GROUP, table_group),
        ],
    );
    merge_labels(&own, shard_cr_labels)
}

/// Shared backup PVC of one cell: standard(`shard-pool`) + cluster + database + tablegroup +
/// shard + cell (no pool label).
pub fn shared_backup_pvc_labels(shard: &ShardParts<'_>, cell: &str) -> Labels {
    with(
        standard_labels(shard.cluster, Component::ShardPool),
        &[
            (LABEL_CLUSTER, shard.cluster.as_str()),
            (LABEL_DATABASE, shard.database),
            (LABEL_TABLE_GROUP, shard.table_group),
            (LABEL_SHARD, shard.shard),
            (LABEL_CELL, cell),
        ],
    )
}

/// "Pool labels" of pool pods and the pool headless Service: `MergeLabels(standard(shard-pool) +
/// shard + cell + pool + database + tablegroup, Shard CR labels)`. The cluster label comes from
/// the Shard's labels.
pub fn pool_labels(pool: &PoolParts<'_>, shard_cr_labels: &Labels) -> Labels {
    let own = with(
        standard_labels(pool.shard.cluster, Component::ShardPool),
        &[
            (LABEL_SHARD, pool.shard.shard),
            (LABEL_CELL, pool.cell),
            (LABEL_POOL, pool.pool),
            (LABEL_DATABASE, pool.shard.database),
            (LABEL_TABLE_GROUP, pool.shard.table_group),
        ],
    );
    merge_labels(&own, shard_cr_labels)
}

/// Pool data PVC: the pool labels with the cluster label re-asserted from the cluster name.
pub fn pool_data_pvc_labels(pool: &PoolParts<'_>, shard_cr_labels: &Labels) -> Labels {
    with(
        pool_labels(pool, shard_cr_labels),
        &[(LABEL_CLUSTER, pool.shard.cluster.as_str())],
    )
}

/// Pool PodDisruptionBudget: standard(`shard-pool`) + cluster + shard + cell + pool + database +
/// tablegroup (built directly, not merged with the Shard's labels).
pub fn pool_pdb_labels(pool: &PoolParts<'_>) -> Labels {
    with(
        standard_labels(pool.shard.cluster, Component::ShardPool),
        &[
            (LABEL_CLUSTER, pool.shard.cluster.as_str()),
            (LABEL_SHARD, pool.shard.shard),
            (LABEL_CELL, pool.cell),
            (LABEL_POOL, pool.pool),
            (LABEL_DATABASE, pool.shard.database),
            (LABEL_TABLE_GROUP, pool.shard.table_group),
        ],
    )
}

// --- Annotations ----------------------------------------------------------------------------

/// The non-empty `multigres.com/project-ref` annotation of a parent object, if any (Go reads it
/// with an empty-string check in each builder): what a MultigresCluster copies to its Cells and
/// TableGroups, a TableGroup to its Shards, and what [`resolve_project_ref`] prefers.
pub fn project_ref_annotation(metadata: &ObjectMeta) -> Option<&str> {
    metadata
        .annotations
        .as_ref()?
        .get(ANNOTATION_PROJECT_REF)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
}

/// Go `ResolveProjectRef`: the `multigres.com/project-ref` annotation of the parent if non-empty,
/// else the cluster name.
pub fn resolve_project_ref<'a>(annotation: Option<&'a str>, cluster: &'a ClusterName) -> &'a str {
    annotation
        .filter(|value| !value.is_empty())
        .unwrap_or(cluster.as_str())
}

/// Pod-template annotations of multiorch and multigateway: the user's `podAnnotations` without
/// the three `prometheus.io/*` keys (the operator owns scraping), plus
/// `multigres.com/project-ref`.
pub fn workload_pod_annotations(pod_annotations: &Labels, project_ref: &str) -> Labels {
    let mut annotations: Labels = pod_annotations
        .iter()
        .filter(|(key, _)| !PROMETHEUS_ANNOTATIONS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    annotations.insert(ANNOTATION_PROJECT_REF.to_owned(), project_ref.to_owned());
    annotations
}

/// Annotations of a pool pod at creation: spec hash, project ref, the prometheus scrape trio,
/// and the postgres config hash when a `postgresConfigRef` is set (spec-controllers.md §7.4).
pub fn pool_pod_annotations(
    spec_hash: &str,
    project_ref: &str,
    postgres_config_hash: Option<&str>,
) -> Labels {
    let mut annotations = labels([
        (ANNOTATION_SPEC_HASH, spec_hash),
        (ANNOTATION_PROJECT_REF, project_ref),
        (ANNOTATION_PROMETHEUS_SCRAPE, PROMETHEUS_SCRAPE),
        (ANNOTATION_PROMETHEUS_PORT, PROMETHEUS_PORT),
        (ANNOTATION_PROMETHEUS_PATH, PROMETHEUS_PATH),
    ]);
    if let Some(hash) = postgres_config_hash {
        annotations.insert(ANNOTATION_POSTGRES_CONFIG_HASH.to_owned(), hash.to_owned());
    }
    annotations
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn cluster() -> ClusterName {
        ClusterName::parse("orders-db").expect("valid test cluster name")
    }

    #[test]
    fn component_values_match_go() {
        let values: Vec<&str> = Component::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            values,
            [
                "multiadmin",
                "multiadmin-web",
                "multigateway",
                "global-topo",
                "cell",
                "shard",
                "tablegroup",
                "multiorch",
                "shard-pool",
                "toposerver",
                "pg-hba-config",
                "postgres-password",
                "pgbackrest-tls",
            ]
        );
    }

    #[test]
    fn standard_labels_are_the_five_app_labels() {
        assert_eq!(
            standard_labels(&cluster(), Component::Cell),
            labels([
                ("app.kubernetes.io/component", "cell"),
                ("app.kubernetes.io/instance", "orders-db"),
                ("app.kubernetes.io/managed-by", "multigres-operator"),
                ("app.kubernetes.io/name", "multigres"),
                ("app.kubernetes.io/part-of", "multigres"),
            ])
        );
    }

    #[test]
    fn operator_labels_win_over_custom_labels() {
        let standard = standard_labels(&cluster(), Component::Multiorch);
        let custom = labels([
            ("app.kubernetes.io/component", "mine"),
            ("team", "payments"),
        ]);
        let merged = merge_labels(&standard, &custom);
        assert_eq!(merged, with(standard.clone(), &[("team", "payments")]));
    }

    #[test]
    fn selectors_keep_only_identity_keys() {
        let set = with(
            cell_gateway_labels(&cluster(), "zone-b", Some("us-east-1b"), Some("us-east-1")),
            &[(LABEL_ROLE, ROLE_DRAINED), ("team", "payments")],
        );
        assert_eq!(
            selector_labels(&set),
            labels([
                ("app.kubernetes.io/component", "multigateway"),
                ("app.kubernetes.io/instance", "orders-db"),
                ("multigres.com/cell", "zone-b"),
            ])
        );
    }

    #[test]
    fn cell_gateway_labels_skip_empty_zone_and_region() {
        let plain = cell_gateway_labels(&cluster(), "zone-b", None, Some(""));
        assert_eq!(
            plain,
            with(
                standard_labels(&cluster(), Component::Multigateway),
                &[(LABEL_CELL, "zone-b")]
            )
        );
        assert_eq!(
            cell_gateway_labels(&cluster(), "zone-b", None, Some("eu-west-1")),
            with(plain, &[(LABEL_REGION, "eu-west-1")])
        );
    }

    #[test]
    fn template_tracking_labels_name_only_used_kinds() {
        assert_eq!(
            template_tracking_labels(true, false, true),
            labels([
                ("multigres.com/uses-core-template", "true"),
                ("multigres.com/uses-shard-template", "true"),
            ])
        );
        assert_eq!(template_tracking_labels(false, false, false), Labels::new());
    }

    #[test]
    fn workload_pod_annotations_strip_prometheus_keys_and_add_project_ref() {
        let user = labels([
            ("prometheus.io/scrape", "false"),
            ("prometheus.io/port", "1"),
            ("prometheus.io/path", "/x"),
            ("multigres.com/project-ref", "user-value"),
            ("team", "payments"),
        ]);
        assert_eq!(
            workload_pod_annotations(&user, "billing"),
            labels([
                ("multigres.com/project-ref", "billing"),
                ("team", "payments"),
            ])
        );
    }

    #[test]
    fn only_a_non_empty_project_ref_annotation_counts() {
        let with = |value: &str| ObjectMeta {
            annotations: Some(BTreeMap::from([
                ("example.com/team".to_owned(), "payments".to_owned()),
                (ANNOTATION_PROJECT_REF.to_owned(), value.to_owned()),
            ])),
            ..ObjectMeta::default()
        };
        assert_eq!(project_ref_annotation(&with("billing")), Some("billing"));
        assert_eq!(project_ref_annotation(&with("")), None);
        assert_eq!(project_ref_annotation(&ObjectMeta::default()), None);
    }

    #[test]
    fn project_ref_falls_back_to_the_cluster_name() {
        let c = cluster();
        assert_eq!(resolve_project_ref(Some("billing"), &c), "billing");
        assert_eq!(resolve_project_ref(Some(""), &c), "orders-db");
        assert_eq!(resolve_project_ref(None, &c), "orders-db");
    }

    #[test]
    fn pool_pod_annotations_add_the_config_hash_only_when_set() {
        let without = pool_pod_annotations("0badf00d", "billing", None);
        assert_eq!(
            without,
            labels([
                ("multigres.com/project-ref", "billing"),
                ("multigres.com/spec-hash", "0badf00d"),
                ("prometheus.io/path", "/metrics"),
                ("prometheus.io/port", "9187"),
                ("prometheus.io/scrape", "true"),
            ])
        );
        assert_eq!(
            pool_pod_annotations("0badf00d", "billing", Some("ab12")),
            with(without, &[("multigres.com/postgres-config-hash", "ab12")])
        );
    }

    #[test]
    fn drain_states_round_trip_their_annotation_values() {
        let values = [
            "requested",
            "draining",
            "acknowledged",
            "ready-for-deletion",
        ];
        for value in values {
            assert_eq!(
                DrainState::from_annotation(value).map(DrainState::as_str),
                Some(value)
            );
        }
        assert_eq!(DrainState::from_annotation("done"), None);
    }
}
