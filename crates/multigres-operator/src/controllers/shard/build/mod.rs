//! Pure builders of the objects the Shard controller owns (spec-controllers.md §7.3–§7.5, §7.9),
//! one file per object, and [`build_shard_objects`], which builds them all for one Shard.
//!
//! Nothing here does I/O, awaits, reads the clock or draws random numbers (style.md §2): what is
//! not in the Shard CR — the postgres configuration hash, the pgBackRest certificates, the
//! operator's own `OTEL_*` environment — arrives in [`ShardBuildInputs`]. Names come from
//! `multigres_api::naming`, labels from `multigres_api::labels`, defaults from
//! `multigres_api::defaults`.

pub mod backup_pvc;
pub mod ec_private_key;
pub mod go_json;
pub mod multiorch;
pub mod pg_hba_config_map;
pub mod pgbackrest_certs;
pub mod pool_pdb;
pub mod pool_pod;
pub mod pool_pvc;
pub mod pool_service;
pub mod postgres_password_secret;
pub mod shard_context;
pub mod spec_hash;
pub mod storage_claim;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use multigres_api::naming::InvalidName;
use multigres_api::v1alpha1::{CellName, Shard, ShardSpec};

pub use pgbackrest_certs::PgBackRestMaterial;
pub use shard_context::ShardContext;

use crate::controllers::cluster_label::ClusterLabelError;
use crate::controllers::otel_env::OperatorOtelEnv;

/// What the Shard builders need beyond the Shard CR.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShardBuildInputs {
    /// SHA-256 hex of the `spec.postgresConfigRef` ConfigMap value ([`pool_pod::postgres_config_hash`]),
    /// read by the fetch step; required when the Shard names a postgres config.
    pub postgres_config_hash: Option<String>,
    /// The generated pgBackRest CA and server certificate (freshly issued, or reloaded from the
    /// existing Secrets); required when [`pgbackrest_certs::uses_generated_certificates`].
    pub pgbackrest_material: Option<PgBackRestMaterial>,
    /// The operator's own `OTEL_*` variables, the fallback of the Shard's observability settings.
    pub operator_otel_env: OperatorOtelEnv,
}

/// The pgBackRest TLS certificates of the Shard (spec-controllers.md §7.3.3).
#[derive(Clone, Debug, PartialEq)]
pub enum PgBackRestTls {
    /// No backups are configured: no certificates, no `pgbackrest-certs` volume.
    None,
    /// The user's own Secret, which the operator reads (to validate its keys) but never writes.
    UserSecret { name: String },
    /// The operator's CA and server Secrets, created when missing (boxed: a Secret is large).
    Generated {
        ca_secret: Box<Secret>,
        tls_secret: Box<Secret>,
    },
}

/// Every object the Shard controller writes for one Shard, one field per kind of object and
/// write style, each list in build order: pools by name, cells in spec order, pods by index.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// `{shardCR}-pg-hba` (applied).
    pub pg_hba_config_map: ConfigMap,
    /// `{shardCR}-postgres-password` (applied).
    pub postgres_password_secret: Secret,
    /// The pgBackRest certificates (generated Secrets are created when missing).
    pub pgbackrest_tls: PgBackRestTls,
    /// One multiorch Deployment per multiorch cell (applied).
    pub multiorch_deployments: Vec<Deployment>,
    /// One multiorch Service per multiorch cell (applied).
    pub multiorch_services: Vec<Service>,
    /// One shared backup PVC per pool cell, none for S3 backups (applied).
    pub backup_pvcs: Vec<PersistentVolumeClaim>,
    /// One data PVC per pool pod (created when missing).
    pub pool_data_pvcs: Vec<PersistentVolumeClaim>,
    /// `replicasPerCell` pods per pool and cell (created when missing, never updated).
    pub pool_pods: Vec<Pod>,
    /// One PodDisruptionBudget per pool and cell (applied).
    pub pool_pdbs: Vec<PodDisruptionBudget>,
    /// One headless Service per pool and cell (applied).
    pub pool_services: Vec<Service>,
}

impl Desired {
    /// Every object, in the order `render` prints them (see the cluster's `Desired::objects`).
    pub fn objects(&self) -> Vec<serde_json::Value> {
        use crate::controllers::erased::Object;
        let Desired {
            pg_hba_config_map,
            postgres_password_secret,
            pgbackrest_tls,
            multiorch_deployments,
            multiorch_services,
            backup_pvcs,
            pool_data_pvcs,
            pool_pods,
            pool_pdbs,
            pool_services,
        } = self;
        let mut out = vec![pg_hba_config_map.json(), postgres_password_secret.json()];
        if let PgBackRestTls::Generated {
            ca_secret,
            tls_secret,
        } = pgbackrest_tls
        {
            out.push(ca_secret.json());
            out.push(tls_secret.json());
        }
        for (deployment, service) in multiorch_deployments.iter().zip(multiorch_services) {
            out.push(deployment.json());
            out.push(service.json());
        }
        out.extend(backup_pvcs.iter().map(Object::json));
        for (claim, pod) in pool_data_pvcs.iter().zip(pool_pods) {
            out.push(claim.json());
            out.push(pod.json());
        }
        for (pdb, service) in pool_pdbs.iter().zip(pool_services) {
            out.push(pdb.json());
            out.push(service.json());
        }
        out
    }
}

/// Why the objects of a Shard cannot be built. Each variant names the Shard (`namespace/name`).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("Shard has no metadata.name")]
    MissingShardName,
    #[error("Shard {shard} has no metadata.namespace")]
    MissingShardNamespace { shard: String },
    #[error("failed to read the owning cluster of a Shard")]
    ShardClusterLabel {
        #[source]
        source: Box<ClusterLabelError>,
    },
    #[error("Shard {shard}: the name of its {object} is invalid")]
    ObjectName {
        shard: String,
        object: &'static str,
        #[source]
        source: InvalidName,
    },
    #[error(
        "Shard {shard}: cannot determine the MultiOrch cells: spec.multiorch.cells is empty and \
         no pool lists a cell"
    )]
    NoMultiOrchCells { shard: String },
    #[error(
        "Shard {shard}: spec.pools[{pool}].cells is empty; pool {pool} has no cells specified - \
         cannot deploy without cell information"
    )]
    PoolWithoutCells { shard: String, pool: String },
    #[error("Shard {shard}: {field} is invalid")]
    StorageSize {
        shard: String,
        field: String,
        #[source]
        source: Box<storage_claim::InvalidSize>,
    },
    #[error(
        "Shard {shard}: spec.postgresConfigRef names ConfigMap {config_map:?} key {key:?}, but \
         no hash of its content was supplied to the builders"
    )]
    MissingPostgresConfigHash {
        shard: String,
        config_map: String,
        key: String,
    },
    #[error(
        "Shard {shard}: spec.backup uses operator-generated pgBackRest certificates, but no \
         certificate material was supplied to the builders"
    )]
    MissingPgBackRestMaterial { shard: String },
}

/// Builds every object of `shard` (spec-controllers.md §7.2 steps 5–15, in that order).
pub fn build_shard_objects(
    shard: &Shard,
    inputs: &ShardBuildInputs,
) -> Result<Desired, BuildError> {
    let context = ShardContext::new(shard)?;
    let spec = context.spec;

    let pgbackrest_tls = match &spec.backup {
        None => PgBackRestTls::None,
        Some(backup) => match backup
            .pgbackrest_tls
            .as_ref()
            .map(|tls| tls.secret_name.as_str())
            .filter(|name| !name.is_empty())
        {
            Some(name) => PgBackRestTls::UserSecret {
                name: name.to_owned(),
            },
            None => {
                let material = inputs.pgbackrest_material.as_ref().ok_or_else(|| {
                    BuildError::MissingPgBackRestMaterial {
                        shard: context.display_name(),
                    }
                })?;
                let (ca_secret, tls_secret) =
                    pgbackrest_certs::build_pgbackrest_secrets(&context, material)?;
                PgBackRestTls::Generated {
                    ca_secret: Box::new(ca_secret),
                    tls_secret: Box::new(tls_secret),
                }
            }
        },
    };

    let orch_cells = multiorch_cells(&context)?;
    let mut desired = Desired {
        pg_hba_config_map: pg_hba_config_map::build_pg_hba_config_map(&context)?,
        postgres_password_secret: postgres_password_secret::build_postgres_password_secret(
            &context,
        )?,
        pgbackrest_tls,
        multiorch_deployments: orch_cells
            .iter()
            .map(|cell| multiorch::build_multiorch_deployment(&context, inputs, cell))
            .collect(),
        multiorch_services: orch_cells
            .iter()
            .map(|cell| multiorch::build_multiorch_service(&context, cell))
            .collect(),
        backup_pvcs: Vec::new(),
        pool_data_pvcs: Vec::new(),
        pool_pods: Vec::new(),
        pool_pdbs: Vec::new(),
        pool_services: Vec::new(),
    };
    if backup_pvc::has_backup_pvcs(spec) {
        desired.backup_pvcs = pool_cells(spec)
            .iter()
            .map(|cell| backup_pvc::build_backup_pvc(&context, cell))
            .collect::<Result<_, _>>()?;
    }
    for (pool_name, pool) in &spec.pools {
        if pool.cells.is_empty() {
            return Err(BuildError::PoolWithoutCells {
                shard: context.display_name(),
                pool: pool_name.to_string(),
            });
        }
        for cell in &pool.cells {
            for index in 0..pool_replicas_per_cell(pool) {
                desired.pool_data_pvcs.push(pool_pvc::build_pool_data_pvc(
                    &context, pool_name, pool, cell, index,
                )?);
                desired.pool_pods.push(pool_pod::build_pool_pod(
                    &context, inputs, pool_name, pool, cell, index,
                )?);
            }
            desired
                .pool_pdbs
                .push(pool_pdb::build_pool_pdb(&context, pool_name, cell));
            desired
                .pool_services
                .push(pool_service::build_pool_service(&context, pool_name, cell));
        }
    }
    Ok(desired)
}

/// Pods per cell of a pool: `replicasPerCell`, else 1 (Go `DefaultPoolReplicas`; the resolver
/// normally sets 3). A negative value, which the CRD rejects, builds no pod.
pub fn pool_replicas_per_cell(pool: &multigres_api::v1alpha1::PoolSpec) -> u32 {
    let replicas = pool
        .replicas_per_cell
        .unwrap_or(multigres_api::defaults::controller_fallbacks::POOL_REPLICAS_PER_CELL);
    u32::try_from(replicas).unwrap_or(0)
}

/// Go `getPoolCells`: the sorted union of every pool's cells.
pub fn pool_cells(spec: &ShardSpec) -> Vec<CellName> {
    spec.pools
        .values()
        .flat_map(|pool| pool.cells.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Go `getMultiOrchCells`: `spec.multiorch.cells` as written, else the pool cells.
pub fn multiorch_cells(context: &ShardContext<'_>) -> Result<Vec<CellName>, BuildError> {
    let spec = context.spec;
    let cells = if spec.multiorch.cells.is_empty() {
        pool_cells(spec)
    } else {
        spec.multiorch.cells.clone()
    };
    if cells.is_empty() {
        return Err(BuildError::NoMultiOrchCells {
            shard: context.display_name(),
        });
    }
    Ok(cells)
}
