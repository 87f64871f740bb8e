//! Removing the metric series of deleted objects (fix 9 of spec/README.md: the Go operator keeps
//! them forever). Controllers record which objects they set gauges for; a sweep forgets those
//! whose object left the informer cache (a deleted object is never reconciled again, so no pass
//! could do it).
//!
//! Reads the cache only; writes nothing to the API.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::cache::{self, Cache};
use crate::telemetry::metrics::{Metrics, PoolKey};

/// An object with series.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tracked {
    Cluster {
        namespace: String,
        name: String,
    },
    Cell {
        namespace: String,
        name: String,
    },
    TopoServer {
        namespace: String,
        name: String,
    },
    Shard {
        namespace: String,
        cluster: String,
        name: String,
    },
    Pool {
        namespace: String,
        cluster: String,
        shard: String,
        pool: String,
        cell: String,
    },
}

/// What has series now.
#[derive(Default)]
pub struct SeriesRegister {
    tracked: Mutex<BTreeSet<Tracked>>,
}

impl SeriesRegister {
    fn tracked(&self) -> std::sync::MutexGuard<'_, BTreeSet<Tracked>> {
        self.tracked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn track(&self, object: Tracked) {
        self.tracked().insert(object);
    }

    /// Forgets the series of every tracked object that no longer exists; returns how many.
    pub fn sweep(&self, cache: &Cache, metrics: &Metrics) -> usize {
        let gone: Vec<Tracked> = self
            .tracked()
            .iter()
            .filter(|object| !exists(cache, object))
            .cloned()
            .collect();
        for object in &gone {
            match object {
                Tracked::Cluster { namespace, name } => metrics.forget_cluster(namespace, name),
                Tracked::Cell { namespace, name } => metrics.forget_cell(namespace, name),
                Tracked::TopoServer { namespace, name } => {
                    metrics.forget_toposerver(namespace, name)
                }
                Tracked::Shard {
                    namespace,
                    cluster,
                    name,
                } => metrics.forget_shard(namespace, cluster, name),
                Tracked::Pool {
                    namespace,
                    cluster,
                    shard,
                    pool,
                    cell,
                } => metrics.forget_pool(&PoolKey {
                    namespace: namespace.clone(),
                    cluster: cluster.clone(),
                    shard: shard.clone(),
                    pool: pool.clone(),
                    cell: cell.clone(),
                }),
            }
        }
        let mut tracked = self.tracked();
        for object in &gone {
            tracked.remove(object);
        }
        gone.len()
    }
}

fn exists(cache: &Cache, object: &Tracked) -> bool {
    match object {
        Tracked::Cluster { namespace, name } => {
            cache::get(&cache.clusters, namespace, name).is_some()
        }
        Tracked::Cell { namespace, name } => cache::get(&cache.cells, namespace, name).is_some(),
        Tracked::TopoServer { namespace, name } => {
            cache::get(&cache.topo_servers, namespace, name).is_some()
        }
        Tracked::Shard {
            namespace, name, ..
        } => cache::get(&cache.shards, namespace, name).is_some(),
        Tracked::Pool {
            namespace,
            shard,
            pool,
            cell,
            ..
        } => cache::get(&cache.shards, namespace, shard)
            .as_deref()
            .and_then(cache::valid)
            .is_some_and(|shard| {
                shard.spec.pools.iter().any(|(name, spec)| {
                    name.as_str() == pool && spec.cells.iter().any(|c| c.as_str() == cell)
                })
            }),
    }
}
