//! The pg_hba ConfigMap `{shardCR}-pg-hba` (spec-controllers.md §7.3.1): the template pgctld
//! renders into each pool pod's `pg_hba.conf`, mounted at `/etc/pgctld`.
//!
//! Place: applied (SSA) on every pass before any workload. Must not: make the rules configurable
//! or change their text; the Go operator embeds the same file, and a different text only costs a
//! one-time ConfigMap update (it is not part of the pod spec hash, so no pod restarts).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::labels::pg_hba_config_map_labels;
use multigres_api::naming::pg_hba_config_map_name;

use super::{BuildError, ShardContext};

/// The data key pgctld reads (`--pg-hba-template=/etc/pgctld/pg_hba_template.conf`).
pub const PG_HBA_TEMPLATE_KEY: &str = "pg_hba_template.conf";

/// The template, byte for byte the Go operator's embedded `templates/pg_hba_template.conf`
/// (`{{.User}}` is a placeholder pgctld fills in).
pub const PG_HBA_TEMPLATE: &str = include_str!("pg_hba_template.conf");

/// Go `BuildPgHbaConfigMap`.
pub fn build_pg_hba_config_map(shard: &ShardContext<'_>) -> Result<ConfigMap, BuildError> {
    let name = pg_hba_config_map_name(shard.name).map_err(|source| BuildError::ObjectName {
        shard: shard.display_name(),
        object: "pg_hba ConfigMap",
        source,
    })?;
    Ok(ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into_string()),
            namespace: Some(shard.namespace.to_owned()),
            labels: Some(pg_hba_config_map_labels(&shard.cluster, &shard.labels)),
            owner_references: Some(vec![shard.owner.clone()]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            PG_HBA_TEMPLATE_KEY.to_owned(),
            PG_HBA_TEMPLATE.to_owned(),
        )])),
        ..ConfigMap::default()
    })
}
