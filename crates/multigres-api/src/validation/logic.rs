//! Semantic checks of a cluster (Go `ValidateClusterLogic`, spec-api.md §11.3): cell topology
//! against the nodes, etcd quorum, external exposure, limits against requests, every shard
//! resolved and checked against the cluster's cells, and storage classes.
//!
//! Messages are Go's. What differs from Go, deliberately (docs/compatibility.md):
//! - every finding is reported, sorted, instead of the first error in map order (Q10);
//! - the checks look at *resolved* values wherever Go looked at only part of them: limits of
//!   the etcd, multiadmin(-web) and gateways include template-provided resources, the etcd
//!   replica warning and the storage-class check see a template-provided etcd, and the
//!   storage-class pass applies `templateDefaults.shardTemplate` like every other pass (Q8, Q9).
//!   A template edit that breaks a cluster is then caught (fix 11).
//!
//! Node labels and StorageClasses come in as [`ClusterFacts`]; nothing here performs I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::labels;
use crate::resolver::{
    LookupError, TemplateError, TemplateSource, cell_names, error_chain_text, merge_backup_config,
    resolve_cell, resolve_global_topo, resolve_multiadmin, resolve_multiadmin_web, resolve_shard,
    select_shard_template, with_default_cell_template, with_default_shard_template,
};
use crate::v1alpha1::{
    BackupType, CellName, ExternalGatewayConfig, MultiOrchSpec, MultigresClusterSpec, PoolName,
    PoolSpec, ShardConfig,
};

use super::field_error::{FieldError, FieldPath, FieldWarning, ValidationReport, go_quote};
use super::integrity::shard_path;
use super::pool_name::validate_pool_name;
use super::resources::limits_below_requests;

/// What validation needs to know about the Kubernetes cluster, read by the caller.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterFacts {
    /// The labels of every node; `None` when the nodes could not be listed, in which case the
    /// topology warnings are skipped (as Go does).
    pub node_labels: Option<Vec<BTreeMap<String, String>>>,
    /// Every StorageClass. (A failed list is the caller's error to report: Go's is
    /// `failed to check for default StorageClass: {err}`.)
    pub storage_classes: Vec<StorageClassFacts>,
}

/// The part of a StorageClass validation looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageClassFacts {
    /// Its name.
    pub name: String,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Annotation marking the default StorageClass.
pub const DEFAULT_STORAGE_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
/// Its legacy beta form, still honoured.
pub const BETA_DEFAULT_STORAGE_CLASS_ANNOTATION: &str =
    "storageclass.beta.kubernetes.io/is-default-class";

impl StorageClassFacts {
    /// Whether this class is marked as the default (either annotation set to `"true"`).
    pub fn is_default(&self) -> bool {
        [
            DEFAULT_STORAGE_CLASS_ANNOTATION,
            BETA_DEFAULT_STORAGE_CLASS_ANNOTATION,
        ]
        .iter()
        .any(|key| self.annotations.get(*key).is_some_and(|v| v == "true"))
    }
}

/// Go `ValidateClusterLogic` on an already defaulted spec (the webhook validates the mutated
/// object). A template that cannot be read is returned as a lookup error; a template that does
/// not exist is [`super::validate_cluster_integrity`]'s finding and skipped here.
pub fn validate_cluster_logic(
    spec: &MultigresClusterSpec,
    source: &dyn TemplateSource,
    facts: &ClusterFacts,
) -> Result<ValidationReport, LookupError> {
    let mut report = ValidationReport::default();
    check_cell_topology(spec, facts, &mut report);
    check_global_components(spec, source, &mut report)?;
    check_external(
        "externalGateway",
        spec.external_gateway.as_ref(),
        &mut report,
    );
    check_external(
        "externalAdminWeb",
        spec.external_admin_web.as_ref(),
        &mut report,
    );
    check_shards(spec, source, &mut report)?;
    check_storage_classes(spec, source, facts, &mut report)?;
    Ok(report.sorted())
}

/// A template that does not exist is skipped (integrity reports it); a failed lookup aborts.
fn skip_missing<T>(result: Result<T, TemplateError>) -> Result<Option<T>, LookupError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(TemplateError::NotFound { .. }) => Ok(None),
        Err(TemplateError::Lookup(lookup)) => Err(lookup),
    }
}

/// Where the user wrote what a shard resolves to, so that every finding names the deepest
/// field that can be fixed: the shard's inline spec or its overrides where they set the value,
/// else the template reference that provides it, else the (empty) field in the shard's own
/// spec, else the shard itself.
struct ShardPaths<'a> {
    shard: &'a ShardConfig,
    path: FieldPath,
    /// The reference of the template the shard uses, when one is named.
    template_ref: Option<FieldPath>,
}

impl<'a> ShardPaths<'a> {
    fn new(
        spec: &MultigresClusterSpec,
        shard: &'a ShardConfig,
        database: usize,
        table_group: usize,
        index: usize,
    ) -> Self {
        let path = shard_path(database, table_group, index);
        let template_ref = if !shard.shard_template.is_empty() {
            Some(path.field("shardTemplate"))
        } else if !spec.template_defaults.shard_template.is_empty() {
            Some(
                FieldPath::spec()
                    .field("templateDefaults")
                    .field("shardTemplate"),
            )
        } else {
            None
        };
        ShardPaths {
            shard,
            path,
            template_ref,
        }
    }

    /// The template reference, or the shard when it names none.
    fn template_or_shard(&self) -> FieldPath {
        self.template_ref
            .clone()
            .unwrap_or_else(|| self.path.clone())
    }

    /// `field` of the multiorch (`cells`, `resources`); `written` tells whether a multiorch
    /// spec sets it.
    fn multiorch(&self, field: &str, written: impl Fn(&MultiOrchSpec) -> bool) -> FieldPath {
        let inline = self.shard.spec.as_ref().map(|s| &s.multiorch);
        let overrides = self
            .shard
            .overrides
            .as_ref()
            .and_then(|o| o.multiorch.as_ref());
        let inline_path = self.path.field("spec").field("multiorch").field(field);
        let overrides_path = self.path.field("overrides").field("multiorch").field(field);
        if inline.is_some_and(&written) {
            inline_path
        } else if overrides.is_some_and(&written) {
            overrides_path
        } else if let Some(template) = &self.template_ref {
            template.clone()
        } else if inline.is_some() {
            inline_path
        } else if overrides.is_some() {
            overrides_path
        } else {
            self.path.clone()
        }
    }

    /// The entry of pool `pool` in the shard's own pools, or where the template provides it.
    fn pool(&self, pool: &PoolName) -> FieldPath {
        self.pool_field(pool, None, |_| true)
    }

    /// `field` of pool `pool` (`cells`, `replicasPerCell`, `postgres.resources`); `written`
    /// tells whether a pool spec sets it. `None` names the pool's entry itself.
    fn pool_field(
        &self,
        pool: &PoolName,
        field: Option<&str>,
        written: impl Fn(&PoolSpec) -> bool,
    ) -> FieldPath {
        let inline = self.shard.spec.as_ref().and_then(|s| s.pools.get(pool));
        let overrides = self
            .shard
            .overrides
            .as_ref()
            .and_then(|o| o.pools.get(pool));
        let at = |section: &str| {
            let entry = self.path.field(section).field("pools").key(pool.as_str());
            field
                .into_iter()
                .flat_map(|f| f.split('.'))
                .fold(entry, |path, name| path.field(name))
        };
        if inline.is_some_and(&written) {
            at("spec")
        } else if overrides.is_some_and(&written) {
            at("overrides")
        } else if let Some(template) = &self.template_ref {
            template.clone()
        } else if inline.is_some() {
            at("spec")
        } else if overrides.is_some() {
            at("overrides")
        } else {
            self.path.clone()
        }
    }
}

/// Step 0: cells pinned to a zone or region that no node carries.
fn check_cell_topology(
    spec: &MultigresClusterSpec,
    facts: &ClusterFacts,
    report: &mut ValidationReport,
) {
    let Some(nodes) = &facts.node_labels else {
        return;
    };
    let cells = FieldPath::spec().field("cells");
    for (index, cell) in spec.cells.iter().enumerate() {
        let (key, field, value) = if !cell.zone.is_empty() {
            (labels::LABEL_TOPOLOGY_ZONE, "zone", cell.zone.as_str())
        } else if !cell.region.is_empty() {
            (
                labels::LABEL_TOPOLOGY_REGION,
                "region",
                cell.region.as_str(),
            )
        } else {
            continue;
        };
        if nodes
            .iter()
            .any(|node| node.get(key).is_some_and(|v| v == value))
        {
            continue;
        }
        report.warnings.push(FieldWarning::new(
            cells.index(index).field(field),
            format!(
                "cell '{}': no nodes currently match {key}={value}; pods will be Pending until \
                 matching nodes are available",
                cell.name
            ),
        ));
    }
}

/// Steps 0b and 0e: the etcd replica warning and limits against requests of the global
/// components and every cell's gateway, all resolved.
fn check_global_components(
    spec: &MultigresClusterSpec,
    source: &dyn TemplateSource,
    report: &mut ValidationReport,
) -> Result<(), LookupError> {
    let root = FieldPath::spec();
    let etcd_path = root.field("globalTopoServer").field("etcd");
    if let Some(topo) = skip_missing(resolve_global_topo(spec, source))?
        && let Some(etcd) = &topo.etcd
    {
        if etcd.replicas == Some(1) {
            report.warnings.push(FieldWarning::new(
                etcd_path.field("replicas"),
                "etcd has 1 replica \u{2014} no fault tolerance. 3 replicas is recommended for \
                 production (tolerates 1 failure). Note: topology server replicas cannot be \
                 changed after cluster creation",
            ));
        }
        push_limit_errors(
            report,
            &etcd_path.field("resources"),
            &etcd.resources,
            "etcd",
        );
    }
    if let Some(admin) = skip_missing(resolve_multiadmin(spec, source))? {
        let path = root.field("multiadmin").field("spec").field("resources");
        push_limit_errors(report, &path, &admin.resources, "multiadmin");
    }
    if let Some(web) = skip_missing(resolve_multiadmin_web(spec, source))? {
        let path = root.field("multiadminWeb").field("spec").field("resources");
        push_limit_errors(report, &path, &web.resources, "multiadmin-web");
    }
    for (index, cell) in spec.cells.iter().enumerate() {
        let config = with_default_cell_template(cell, &spec.template_defaults);
        if let Some(resolved) = skip_missing(resolve_cell(&config, source))? {
            let path = root
                .field("cells")
                .index(index)
                .field("spec")
                .field("multigateway")
                .field("resources");
            let component = format!("cell '{}' multigateway", cell.name);
            push_limit_errors(report, &path, &resolved.multigateway.resources, &component);
        }
    }
    Ok(())
}

fn push_limit_errors(
    report: &mut ValidationReport,
    path: &FieldPath,
    resources: &k8s_openapi::api::core::v1::ResourceRequirements,
    component: &str,
) {
    report.errors.extend(
        limits_below_requests(resources, component)
            .into_iter()
            .map(|message| FieldError::new(path.clone(), message)),
    );
}

/// Steps 0c and 0d: an enabled external exposure without addresses (warning) or with an
/// address that is not an IP (error).
fn check_external(
    field: &str,
    config: Option<&ExternalGatewayConfig>,
    report: &mut ValidationReport,
) {
    let Some(config) = config.filter(|c| c.enabled) else {
        return;
    };
    let path = FieldPath::spec().field(field).field("externalIPs");
    if config.external_ips.is_empty() {
        let service = if field == "externalGateway" {
            "global multigateway"
        } else {
            "multiadmin-web"
        };
        report.warnings.push(FieldWarning::new(
            path.clone(),
            format!(
                "{field} is enabled but no externalIPs specified; endpoint resolution depends \
                 on an external load balancer controller provisioning an ingress address on the \
                 {service} Service"
            ),
        ));
    }
    for (index, ip) in config.external_ips.iter().enumerate() {
        // Rust's parser accepts exactly what Go's net.ParseIP does here: dotted IPv4 without
        // leading zeros, IPv6 (with an embedded IPv4 tail), no zones.
        if ip.as_str().parse::<std::net::IpAddr>().is_err() {
            report.errors.push(FieldError::new(
                path.index(index),
                format!(
                    "{field}.externalIPs contains invalid IP address: {}",
                    go_quote(ip.as_str())
                ),
            ));
        }
    }
}

/// Steps 1–4: every shard resolved against the cluster's cells, then checked.
fn check_shards(
    spec: &MultigresClusterSpec,
    source: &dyn TemplateSource,
    report: &mut ValidationReport,
) -> Result<(), LookupError> {
    let all_cells = cell_names(spec);
    let valid_cells: BTreeSet<&CellName> = all_cells.iter().collect();
    for (d, database) in spec.databases.iter().enumerate() {
        let database_backup = merge_backup_config(database.backup.as_ref(), spec.backup.as_ref());
        for (t, table_group) in database.tablegroups.iter().enumerate() {
            let table_group_backup =
                merge_backup_config(table_group.backup.as_ref(), database_backup.as_ref());
            for (s, shard) in table_group.shards.iter().enumerate() {
                let paths = ShardPaths::new(spec, shard, d, t, s);
                let path = paths.path.clone();
                let name = shard.name.as_str();
                let config = with_default_shard_template(shard, &spec.template_defaults);

                if let Some(overrides) = config.overrides.as_ref().filter(|o| !o.pools.is_empty()) {
                    match select_shard_template(source, config.shard_template.as_str()) {
                        Ok(template) => {
                            for pool in overrides.pools.keys() {
                                if !template.spec.pools.contains_key(pool) {
                                    report.warnings.push(FieldWarning::new(
                                        path.field("overrides").field("pools").key(pool),
                                        format!(
                                            "Pool '{pool}' defined in overrides for shard \
                                             '{name}' does not exist in template '{}'. A new \
                                             pool will be created.",
                                            template.name
                                        ),
                                    ));
                                }
                            }
                        }
                        Err(TemplateError::Lookup(lookup)) => return Err(lookup),
                        Err(missing) => report.errors.push(FieldError::new(
                            paths.template_or_shard(),
                            format!(
                                "failed to resolve template for orphan check: {}",
                                error_chain_text(&missing)
                            ),
                        )),
                    }
                }

                let resolved =
                    match resolve_shard(&config, &all_cells, table_group_backup.as_ref(), source) {
                        Ok(resolved) => resolved,
                        Err(TemplateError::Lookup(lookup)) => return Err(lookup),
                        Err(missing) => {
                            report.errors.push(FieldError::new(
                                paths.template_or_shard(),
                                format!(
                                    "validation failed: cannot resolve shard '{name}': {}",
                                    error_chain_text(&missing)
                                ),
                            ));
                            continue;
                        }
                    };

                let error = |report: &mut ValidationReport, at: FieldPath, message: String| {
                    report.errors.push(FieldError::new(at, message));
                };
                let warn = |report: &mut ValidationReport, at: FieldPath, message: String| {
                    report.warnings.push(FieldWarning::new(at, message));
                };
                for pool in resolved.pools.keys() {
                    if let Err(invalid) = validate_pool_name(pool.as_str()) {
                        error(
                            report,
                            paths.pool(pool),
                            format!("shard '{name}': {invalid}"),
                        );
                    }
                }
                if resolved.multiorch.cells.is_empty() {
                    error(
                        report,
                        paths.multiorch("cells", |m| !m.cells.is_empty()),
                        format!(
                            "shard '{name}' matches NO cells (check your cell names or template \
                             configuration)"
                        ),
                    );
                }
                for cell in &resolved.multiorch.cells {
                    if !valid_cells.contains(cell) {
                        error(
                            report,
                            paths.multiorch("cells", |m| !m.cells.is_empty()),
                            format!("shard '{name}' is assigned to non-existent cell '{cell}'"),
                        );
                    }
                }
                for (pool_name, pool) in &resolved.pools {
                    let cells_path =
                        paths.pool_field(pool_name, Some("cells"), |p| !p.cells.is_empty());
                    if pool.cells.is_empty() {
                        error(
                            report,
                            cells_path.clone(),
                            format!("pool '{pool_name}' in shard '{name}' matches NO cells"),
                        );
                    }
                    for cell in &pool.cells {
                        if !valid_cells.contains(cell) {
                            error(
                                report,
                                cells_path.clone(),
                                format!(
                                    "pool '{pool_name}' in shard '{name}' is assigned to \
                                     non-existent cell '{cell}'"
                                ),
                            );
                        }
                    }
                    let replicas = pool.replicas_per_cell.unwrap_or(3);
                    let cells = i32::try_from(pool.cells.len()).unwrap_or(i32::MAX);
                    let total = replicas.saturating_mul(cells);
                    if total < 3 {
                        warn(
                            report,
                            paths.pool_field(pool_name, Some("replicasPerCell"), |p| {
                                p.replicas_per_cell.is_some()
                            }),
                            format!(
                                "pool '{pool_name}' in shard '{name}' has replicasPerCell=\
                                 {replicas} across {cells} cell(s) ({total} total); The HA \
                                 baseline for AT_LEAST_2 is at least 3 total pods (1 primary + \
                                 2 standbys). For zero-downtime rolling upgrades within a \
                                 single cell, use at least 3 replicas in that cell."
                            ),
                        );
                    }
                }
                for message in limits_below_requests(
                    &resolved.multiorch.stateless.resources,
                    &format!("shard '{name}' multiorch"),
                ) {
                    error(
                        report,
                        paths.multiorch("resources", |m| {
                            m.stateless.resources != Default::default()
                        }),
                        message,
                    );
                }
                for (pool_name, pool) in &resolved.pools {
                    for (container, resources) in [
                        ("postgres", &pool.postgres.resources),
                        ("multipooler", &pool.multipooler.resources),
                    ] {
                        let field = format!("{container}.resources");
                        let at = paths.pool_field(pool_name, Some(&field), |p| {
                            let container = if container == "postgres" {
                                &p.postgres
                            } else {
                                &p.multipooler
                            };
                            container.resources != Default::default()
                        });
                        for message in limits_below_requests(
                            resources,
                            &format!("shard '{name}' pool '{pool_name}' {container}"),
                        ) {
                            error(report, at.clone(), message);
                        }
                    }
                }
                let backup = &resolved.backup;
                let shared_volume = backup.type_ == BackupType::Filesystem
                    && !backup.filesystem.as_ref().is_some_and(|fs| {
                        fs.storage.access_modes.iter().any(|m| m == "ReadWriteMany")
                    });
                if shared_volume {
                    for (pool_name, pool) in &resolved.pools {
                        let replicas = pool.replicas_per_cell.unwrap_or(1);
                        if replicas > 1 {
                            warn(
                                report,
                                paths.pool_field(pool_name, Some("replicasPerCell"), |p| {
                                    p.replicas_per_cell.is_some()
                                }),
                                format!(
                                    "Shard '{name}' uses filesystem backups with ReadWriteOnce \
                                     (RWO) storage but pool '{pool_name}' has {replicas} \
                                     replicas per cell. This configuration may fail if pods are \
                                     scheduled on different nodes. Consider using ReadWriteMany \
                                     (RWX), ensuring node affinity, or using S3 backups."
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Step 5: volumes without a storage class need a default StorageClass.
fn check_storage_classes(
    spec: &MultigresClusterSpec,
    source: &dyn TemplateSource,
    facts: &ClusterFacts,
    report: &mut ValidationReport,
) -> Result<(), LookupError> {
    let mut unclassed = Vec::new();
    if let Some(topo) = skip_missing(resolve_global_topo(spec, source))?
        && topo
            .etcd
            .as_ref()
            .is_some_and(|etcd| etcd.storage.class.is_empty())
    {
        unclassed.push("spec.globalTopoServer.etcd.storage.class".to_owned());
    }
    let all_cells = cell_names(spec);
    for database in &spec.databases {
        let database_backup = merge_backup_config(database.backup.as_ref(), spec.backup.as_ref());
        for table_group in &database.tablegroups {
            let table_group_backup =
                merge_backup_config(table_group.backup.as_ref(), database_backup.as_ref());
            for shard in &table_group.shards {
                let config = with_default_shard_template(shard, &spec.template_defaults);
                let Some(resolved) = skip_missing(resolve_shard(
                    &config,
                    &all_cells,
                    table_group_backup.as_ref(),
                    source,
                ))?
                else {
                    continue;
                };
                for (pool_name, pool) in &resolved.pools {
                    if pool.storage.class.is_empty() {
                        unclassed.push(format!(
                            "shard '{}' pool '{pool_name}' storage.class",
                            shard.name
                        ));
                    }
                }
                let backup = &resolved.backup;
                if backup.type_ == BackupType::Filesystem
                    && backup
                        .filesystem
                        .as_ref()
                        .is_none_or(|fs| fs.storage.class.is_empty())
                {
                    unclassed.push(format!(
                        "shard '{}' backup filesystem storage.class",
                        shard.name
                    ));
                }
            }
        }
    }
    if unclassed.is_empty()
        || facts
            .storage_classes
            .iter()
            .any(StorageClassFacts::is_default)
    {
        return Ok(());
    }
    report.errors.push(FieldError::new(
        FieldPath::spec(),
        format!(
            "no default StorageClass found in the cluster, and no explicit storage class is set \
             for: {}. PVCs will be stuck in Pending. Either: (1) Set a default StorageClass: \
             kubectl annotate sc <name> storageclass.kubernetes.io/is-default-class=true, or (2) \
             Set the storage class explicitly in the MultigresCluster spec for each component \
             listed above",
            unclassed.join(", ")
        ),
    ));
    Ok(())
}
