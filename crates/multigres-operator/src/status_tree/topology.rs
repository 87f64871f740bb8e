//! The pool pods' roles at their source: the pooler records multipooler publishes in the
//! topology (spec-wire.md §1.9 T3), read the way the operator reaches the topology server
//! ([`crate::topology::address`]): as written inside a cluster, through kubesim's name
//! resolution outside one.
//!
//! Read-only, and bounded by [`TOPOLOGY_TIMEOUT`] per cluster: the tree is redrawn every half
//! second in `local` and must not wait on a topology server that is not up yet. A topology that
//! cannot be reached leaves [`ClusterObjects::poolers`] at `None` (the tree then shows no
//! roles) and is logged at debug level only: `status` and `local` print no error for it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use multigres_api::v1alpha1::Shard;

use super::model::ClusterObjects;
use crate::topology::records::{MultiPooler, pooler_in_shard};
use crate::topology::{AddressResolver, ApiServerResolver, ClusterDns, TopoError, TopoStore};

/// How long one cluster's topology read may take (the dial itself gives up after 1 s,
/// spec-controllers.md §6.1).
pub const TOPOLOGY_TIMEOUT: Duration = Duration::from_secs(2);

/// The resolver the operator would use from here (`--address-resolution auto`): cluster DNS
/// inside a cluster, the API server's name resolution (kubesim, local mode) outside one.
pub fn resolver_for(client: &kube::Client) -> Arc<dyn AddressResolver> {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        Arc::new(ClusterDns)
    } else {
        Arc::new(ApiServerResolver::new(client.clone()))
    }
}

/// Fills `objects.poolers` with the pooler records of the cluster's shards, or leaves `None`
/// when no topology server of the cluster answered within [`TOPOLOGY_TIMEOUT`].
pub async fn read_poolers(objects: &mut ClusterObjects, resolver: Arc<dyn AddressResolver>) {
    let cluster = format!(
        "{}/{}",
        objects
            .cluster
            .metadata
            .namespace
            .as_deref()
            .unwrap_or_default(),
        objects.cluster.metadata.name.as_deref().unwrap_or_default()
    );
    objects.poolers = match tokio::time::timeout(
        TOPOLOGY_TIMEOUT,
        shard_poolers(&objects.shards, resolver),
    )
    .await
    {
        Ok(Ok(poolers)) => Some(poolers),
        Ok(Err(error)) => {
            tracing::debug!(
                cluster,
                error = &error as &dyn std::error::Error,
                "no pool roles: the topology could not be read"
            );
            None
        }
        Err(_) => {
            tracing::debug!(
                cluster,
                timeout = ?TOPOLOGY_TIMEOUT,
                "no pool roles: the topology did not answer in time"
            );
            None
        }
    };
}

/// The pooler records of `shards`, one listing per cell of each topology server (with the
/// shared global root every cell lists every pooler: spec-controllers.md §6.4). Fails only when
/// no listing succeeded; the pods of a cell that could not be listed simply get no role.
async fn shard_poolers(
    shards: &[Shard],
    resolver: Arc<dyn AddressResolver>,
) -> Result<Vec<MultiPooler>, TopoError> {
    // (address, root) → cells of the shards on that server.
    let mut servers: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for shard in shards {
        let topo = &shard.spec.global_topo_server;
        let cells = servers
            .entry((topo.address.clone(), topo.root_path.clone()))
            .or_default();
        for pool in shard.spec.pools.values() {
            cells.extend(pool.cells.iter().map(ToString::to_string));
        }
    }
    let mut found: Vec<MultiPooler> = Vec::new();
    let mut failure = None;
    let mut answered = false;
    for ((address, root), cells) in servers {
        let store = TopoStore::open(&address, &root, resolver.clone()).await?;
        if let Some(error) = store.unavailable() {
            failure = Some(error);
            continue;
        }
        for cell in cells {
            match store.cell_poolers(&cell).await {
                Ok(poolers) => {
                    answered = true;
                    for pooler in poolers {
                        if shards.iter().any(|shard| in_shard(&pooler, &cell, shard))
                            && !found.contains(&pooler)
                        {
                            found.push(pooler);
                        }
                    }
                }
                Err(error) => failure = Some(error),
            }
        }
    }
    match failure {
        Some(error) if !answered => Err(error),
        _ => Ok(found),
    }
}

fn in_shard(pooler: &MultiPooler, cell: &str, shard: &Shard) -> bool {
    pooler_in_shard(
        pooler,
        cell,
        shard.spec.database_name.as_str(),
        shard.spec.table_group_name.as_str(),
        shard.spec.shard_name.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(address: &str) -> Shard {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "shop-orders-main-0-inf-1234", "namespace": "prod"},
            "spec": {"databaseName": "orders", "tableGroupName": "main", "shardName": "0-inf",
                     "globalTopoServer": {"address": address, "rootPath": "/r", "implementation": "etcd"},
                     "images": {"multiorch": "i", "multipooler": "i", "postgres": "i"}, "multiorch": {},
                     "pools": {"rw": {"cells": ["east"], "storage": {}, "postgres": {}, "multipooler": {}}}}
        }))
        .expect("a valid shard")
    }

    #[tokio::test]
    async fn an_unreachable_topology_gives_no_poolers_and_no_shard_gives_none_to_read() {
        // A port nobody listens on: the dial is refused.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let mut objects = ClusterObjects {
            shards: vec![shard(&closed.to_string())],
            poolers: Some(Vec::new()),
            ..ClusterObjects::default()
        };
        read_poolers(&mut objects, Arc::new(ClusterDns)).await;
        assert_eq!(objects.poolers, None);

        let mut objects = ClusterObjects::default();
        read_poolers(&mut objects, Arc::new(ClusterDns)).await;
        assert_eq!(objects.poolers, Some(Vec::new()));
    }
}
