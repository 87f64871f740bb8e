//! Every read of a Shard pass, from the informer cache (spec-controllers.md §7.2), plus the one
//! uncached read: a user's own pgBackRest Secret (not labelled, so not cached, §13.4).
//!
//! Reads only; it must not write.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use kube::Api;
use multigres_api::labels::{LABEL_CLUSTER, LABEL_DATABASE, LABEL_SHARD, LABEL_TABLE_GROUP};
use multigres_api::v1alpha1::Shard;

use crate::cache;
use crate::context::Context;

/// The shard-level selector `{cluster, database, tablegroup, shard}` of §7.9 and §7.11.
pub fn shard_selector(cluster: &str, shard: &Shard) -> Vec<(String, String)> {
    vec![
        (LABEL_CLUSTER.to_owned(), cluster.to_owned()),
        (
            LABEL_DATABASE.to_owned(),
            shard.spec.database_name.to_string(),
        ),
        (
            LABEL_TABLE_GROUP.to_owned(),
            shard.spec.table_group_name.to_string(),
        ),
        (LABEL_SHARD.to_owned(), shard.spec.shard_name.to_string()),
    ]
}

fn pairs(selector: &[(String, String)]) -> Vec<(&str, &str)> {
    selector
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Every pod of the shard (any pool, any cell, any state).
pub fn shard_pods(
    context: &Context,
    namespace: &str,
    selector: &[(String, String)],
) -> Vec<Arc<Pod>> {
    cache::select(&context.cache.pods, namespace, &pairs(selector))
}

/// Every PVC of the shard (data and backup).
pub fn shard_pvcs(
    context: &Context,
    namespace: &str,
    selector: &[(String, String)],
) -> Vec<Arc<PersistentVolumeClaim>> {
    cache::select(&context.cache.pvcs, namespace, &pairs(selector))
}

/// The content of the postgres config ConfigMap key, or why it cannot be read.
pub fn postgres_config(
    context: &Context,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<String, String> {
    let config_map = cache::get(&context.cache.config_maps, namespace, name)
        .ok_or_else(|| format!("ConfigMap {name:?} not found"))?;
    config_map
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .cloned()
        .ok_or_else(|| format!("ConfigMap {name:?} has no key {key:?}"))
}

/// The user's pgBackRest Secret (uncached GET), checked for its three keys (§7.3.3).
pub async fn user_pgbackrest_secret(
    context: &Context,
    namespace: &str,
    name: &str,
) -> Result<(), String> {
    let api: Api<Secret> = Api::namespaced(context.client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|err| format!("pgbackrest TLS secret {name:?} could not be read: {err}"))?
        .ok_or_else(|| format!("pgbackrest TLS secret {name:?} not found"))?;
    for key in ["ca.crt", "tls.crt", "tls.key"] {
        if !secret
            .data
            .as_ref()
            .is_some_and(|data| data.contains_key(key))
        {
            return Err(format!(
                "pgbackrest TLS secret {name:?} missing required key {key:?}"
            ));
        }
    }
    Ok(())
}
