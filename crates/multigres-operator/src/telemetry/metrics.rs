//! The operator's Prometheus metrics (spec-controllers.md §12.1): one [`Metrics`] value owns the
//! registry and every metric family, and is shared through the controllers' context. No globals.
//!
//! Names and label sets are a compatibility contract with the Go operator's dashboards and alerts,
//! with the deliberate changes of fix 9 (spec/README.md): the `cell` label of
//! `multigres_operator_shard_pool_replicas` is filled (one series per pool × cell instead of one
//! per pool with an empty cell), the drain counter also counts `timeout`, and the `forget_*`
//! methods remove every series of a deleted object so dead clusters stop showing on dashboards.
//!
//! This module does no I/O and reads no clock: durations and ages come in as arguments.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

use super::work_queue::{WorkQueue, WorkQueues};

/// The buckets of controller-runtime's `controller_runtime_reconcile_time_seconds` (v0.22), so
/// that quantiles computed from our histogram line up with the Go operator's.
const RECONCILE_TIME_BUCKETS: [f64; 40] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
    1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0,
    25.0, 30.0, 40.0, 50.0, 60.0,
];

/// Prometheus' default buckets (`prometheus.DefBuckets`), used by the Go operator's webhook
/// duration histogram (§12.1).
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The content type of [`Metrics::encode`]'s output (OpenMetrics text, which carries exemplars).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Writes a label value given by a `&'static str`.
macro_rules! label_value_enum {
    ($name:ident { $($variant:ident => $value:literal),+ $(,)? }) => {
        impl $name {
            /// The label value, as the Go operator writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value),+
                }
            }
        }
        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    };
}

/// The `state` label of the replica gauges.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ReplicaState {
    Desired,
    Ready,
}
label_value_enum!(ReplicaState { Desired => "desired", Ready => "ready" });

/// The `result` label of `controller_runtime_reconcile_total`, as controller-runtime sets it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ReconcileResult {
    /// The reconcile returned no error and asked for no requeue.
    Success,
    /// The reconcile returned an error (also counted in `controller_runtime_reconcile_errors_total`).
    Error,
    /// The reconcile asked to be requeued with back-off.
    Requeue,
    /// The reconcile asked to be requeued after a given delay.
    RequeueAfter,
}
label_value_enum!(ReconcileResult {
    Success => "success",
    Error => "error",
    Requeue => "requeue",
    RequeueAfter => "requeue_after",
});

/// The `result` label of `multigres_operator_drain_operations_total`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum DrainResult {
    /// The drain reached `ready-for-deletion` through `acknowledged` (§7.7 step 6).
    Success,
    /// The drain was forced to `ready-for-deletion` after the 5-minute timeout (§7.7 step 1).
    /// The Go operator never emits this, so its `MultigresDrainTimeout` alert cannot fire (fix 9).
    Timeout,
}
label_value_enum!(DrainResult { Success => "success", Timeout => "timeout" });

/// The `operation` label of the webhook metrics.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum WebhookOperation {
    /// The mutating (defaulting) webhook.
    Default,
    /// A validating webhook.
    Validate,
}
label_value_enum!(WebhookOperation { Default => "DEFAULT", Validate => "VALIDATE" });

/// The `result` label of `multigres_operator_webhook_request_total`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum WebhookResult {
    /// The handler produced an answer (allowed or denied).
    Success,
    /// The handler failed.
    Error,
}
label_value_enum!(WebhookResult { Success => "success", Error => "error" });

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterInfoLabels {
    name: String,
    namespace: String,
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CellReplicaLabels {
    cell: String,
    namespace: String,
    state: ReplicaState,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    cluster: String,
    shard: String,
    pool: String,
    cell: String,
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolReplicaLabels {
    cluster: String,
    shard: String,
    pool: String,
    cell: String,
    namespace: String,
    state: ReplicaState,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamedReplicaLabels {
    name: String,
    namespace: String,
    state: ReplicaState,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookRequestLabels {
    operation: WebhookOperation,
    resource: String,
    result: WebhookResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookDurationLabels {
    operation: WebhookOperation,
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardLabels {
    cluster: String,
    shard: String,
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DrainLabels {
    cluster: String,
    shard: String,
    result: DrainResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    controller: String,
    result: ReconcileResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: String,
}

/// The exemplar attached to a reconcile duration: the trace that reconcile ran in, so a slow
/// bucket links to its trace (as kube-rs/controller-rs does).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TraceExemplar {
    trace_id: String,
}

/// Identifies one pool of one shard in one cell: the label set of the per-pool gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct PoolKey {
    /// Namespace of the Shard.
    pub namespace: String,
    /// The MultigresCluster's name.
    pub cluster: String,
    /// The Shard CR's name.
    pub shard: String,
    /// The pool's name.
    pub pool: String,
    /// The cell's name as the pool lists it (fix 9: filled, where the Go operator leaves it empty).
    pub cell: String,
}

impl PoolKey {
    fn labels(&self) -> PoolLabels {
        PoolLabels {
            cluster: self.cluster.clone(),
            shard: self.shard.clone(),
            pool: self.pool.clone(),
            cell: self.cell.clone(),
            namespace: self.namespace.clone(),
        }
    }

    fn replica_labels(&self, state: ReplicaState) -> PoolReplicaLabels {
        PoolReplicaLabels {
            cluster: self.cluster.clone(),
            shard: self.shard.clone(),
            pool: self.pool.clone(),
            cell: self.cell.clone(),
            namespace: self.namespace.clone(),
            state,
        }
    }
}

/// A metric family that remembers which label sets it holds, so that the series of a deleted
/// object can be found and removed (prometheus-client's `Family` cannot be iterated).
struct TrackedFamily<L, M, C = fn() -> M> {
    family: Family<L, M, C>,
    label_sets: Mutex<HashSet<L>>,
}

impl<L, M> TrackedFamily<L, M>
where
    L: Clone + Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
    M: Default + Metric + prometheus_client::metrics::TypedMetric,
{
    fn register(registry: &mut Registry, name: &str, help: &str) -> Self {
        Self::register_with(registry, name, help, Family::default())
    }
}

impl<L, M, C> TrackedFamily<L, M, C>
where
    L: Clone + Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
    M: Metric + prometheus_client::metrics::TypedMetric,
    C: MetricConstructor<M> + Clone + Send + Sync + std::fmt::Debug + 'static,
{
    fn register_with(
        registry: &mut Registry,
        name: &str,
        help: &str,
        family: Family<L, M, C>,
    ) -> Self {
        registry.register(name, help, family.clone());
        Self {
            family,
            label_sets: Mutex::new(HashSet::new()),
        }
    }

    /// Runs `update` on the series of `labels`, creating it if needed.
    fn with(&self, labels: L, update: impl FnOnce(&M)) {
        let mut label_sets = self
            .label_sets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        update(&self.family.get_or_create(&labels));
        label_sets.insert(labels);
    }

    /// Removes every series whose labels `remove` selects.
    fn remove_where(&self, remove: impl Fn(&L) -> bool) {
        let mut label_sets = self
            .label_sets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        label_sets.retain(|labels| {
            if remove(labels) {
                self.family.remove(labels);
                false
            } else {
                true
            }
        });
    }
}

type ReconcileHistogram = HistogramWithExemplars<TraceExemplar>;
type WebhookHistogram = Histogram;

/// Every metric the operator exports, with the registry that serves them.
///
/// Create one at start-up, share it as `Arc<Metrics>` with the controllers, the webhook and the
/// metrics server (see `telemetry` module docs for the calls each controller makes).
pub struct Metrics {
    registry: Registry,
    cluster_info: TrackedFamily<ClusterInfoLabels, Gauge>,
    cluster_cells_total: TrackedFamily<ClusterLabels, Gauge>,
    cluster_shards_total: TrackedFamily<ClusterLabels, Gauge>,
    cell_gateway_replicas: TrackedFamily<CellReplicaLabels, Gauge>,
    shard_pool_replicas: TrackedFamily<PoolReplicaLabels, Gauge>,
    pool_pods_drifted: TrackedFamily<PoolLabels, Gauge>,
    toposerver_replicas: TrackedFamily<NamedReplicaLabels, Gauge>,
    webhook_request_total: TrackedFamily<WebhookRequestLabels, Counter>,
    webhook_request_duration_seconds:
        TrackedFamily<WebhookDurationLabels, WebhookHistogram, fn() -> WebhookHistogram>,
    last_backup_age_seconds: TrackedFamily<ShardLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    drain_operations_total: TrackedFamily<DrainLabels, Counter>,
    rolling_update_in_progress: TrackedFamily<PoolLabels, Gauge>,
    reconcile_total: TrackedFamily<ReconcileLabels, Counter>,
    reconcile_errors_total: TrackedFamily<ControllerLabels, Counter>,
    reconcile_time_seconds:
        TrackedFamily<ControllerLabels, ReconcileHistogram, fn() -> ReconcileHistogram>,
    work_queues: Arc<WorkQueues>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn new_reconcile_histogram() -> ReconcileHistogram {
    HistogramWithExemplars::new(RECONCILE_TIME_BUCKETS.into_iter())
}

fn new_webhook_histogram() -> WebhookHistogram {
    Histogram::new(DEFAULT_BUCKETS)
}

/// Converts a count to a gauge value, saturating (a replica count never reaches `i64::MAX`).
fn gauge_value(count: impl TryInto<i64>) -> i64 {
    count.try_into().unwrap_or(i64::MAX)
}

impl Metrics {
    /// Registers every metric of §12.1 in a new registry. Counters are registered without their
    /// `_total` suffix: the OpenMetrics encoder appends it.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let r = &mut registry;
        Self {
            cluster_info: TrackedFamily::register(
                r,
                "multigres_operator_cluster_info",
                "Information about a MultigresCluster; always 1, labelled with its current phase",
            ),
            cluster_cells_total: TrackedFamily::register(
                r,
                "multigres_operator_cluster_cells_total",
                "Number of cells of a MultigresCluster (len(status.cells))",
            ),
            cluster_shards_total: TrackedFamily::register(
                r,
                "multigres_operator_cluster_shards_total",
                "Number of shards of a MultigresCluster, summed over its databases",
            ),
            cell_gateway_replicas: TrackedFamily::register(
                r,
                "multigres_operator_cell_gateway_replicas",
                "Desired and ready multigateway replicas of a Cell",
            ),
            shard_pool_replicas: TrackedFamily::register(
                r,
                "multigres_operator_shard_pool_replicas",
                "Desired and ready pods of a shard pool in one cell",
            ),
            pool_pods_drifted: TrackedFamily::register(
                r,
                "multigres_operator_pool_pods_drifted",
                "Pods of a shard pool in one cell whose spec hash differs from the desired one",
            ),
            toposerver_replicas: TrackedFamily::register(
                r,
                "multigres_operator_toposerver_replicas",
                "Desired and ready replicas of a TopoServer's StatefulSet",
            ),
            webhook_request_total: TrackedFamily::register(
                r,
                "multigres_operator_webhook_request",
                "Admission webhook requests by operation, resource and result",
            ),
            webhook_request_duration_seconds: TrackedFamily::register_with(
                r,
                "multigres_operator_webhook_request_duration_seconds",
                "Duration of admission webhook requests in seconds",
                Family::new_with_constructor(new_webhook_histogram as fn() -> WebhookHistogram),
            ),
            last_backup_age_seconds: TrackedFamily::register(
                r,
                "multigres_operator_last_backup_age_seconds",
                "Age in seconds of the newest complete backup of a shard",
            ),
            drain_operations_total: TrackedFamily::register(
                r,
                "multigres_operator_drain_operations",
                "Pod drains that finished, by result (success or timeout)",
            ),
            rolling_update_in_progress: TrackedFamily::register(
                r,
                "multigres_operator_rolling_update_in_progress",
                "1 while a shard pool in one cell has pods draining, terminating or drifted",
            ),
            reconcile_total: TrackedFamily::register(
                r,
                "controller_runtime_reconcile",
                "Total number of reconciliations per controller",
            ),
            reconcile_errors_total: TrackedFamily::register(
                r,
                "controller_runtime_reconcile_errors",
                "Total number of reconciliation errors per controller",
            ),
            reconcile_time_seconds: TrackedFamily::register_with(
                r,
                "controller_runtime_reconcile_time_seconds",
                "Length of time per reconciliation per controller",
                Family::new_with_constructor(new_reconcile_histogram as fn() -> ReconcileHistogram),
            ),
            work_queues: {
                // `workqueue_depth` is computed at scrape time (see `work_queue`).
                let queues = Arc::new(WorkQueues::default());
                r.register_collector(Box::new(queues.clone()));
                queues
            },
            registry,
        }
    }

    /// The registry, for the metrics server.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every metric as OpenMetrics text (content type [`CONTENT_TYPE`]).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// Creates the zero series of a controller, as controller-runtime does when a controller
    /// starts, so `rate()` over them is defined before the first reconcile.
    pub fn register_controller(&self, controller: &str) {
        for result in [
            ReconcileResult::Success,
            ReconcileResult::Error,
            ReconcileResult::Requeue,
            ReconcileResult::RequeueAfter,
        ] {
            self.reconcile_total.with(
                ReconcileLabels {
                    controller: controller.to_owned(),
                    result,
                },
                |_| {},
            );
        }
        let labels = ControllerLabels {
            controller: controller.to_owned(),
        };
        self.reconcile_errors_total.with(labels.clone(), |_| {});
        self.reconcile_time_seconds.with(labels, |_| {});
        self.work_queues.queue(controller);
    }

    /// Records one finished reconcile of `controller` (the lowercased kind: `multigrescluster`,
    /// `tablegroup`, `cell`, `shard`, `toposerver`). `trace_id`, when the reconcile ran in a
    /// sampled trace, becomes the exemplar of the duration observation.
    pub fn observe_reconcile(
        &self,
        controller: &str,
        result: ReconcileResult,
        duration: Duration,
        trace_id: Option<&str>,
    ) {
        self.reconcile_total.with(
            ReconcileLabels {
                controller: controller.to_owned(),
                result,
            },
            |counter| {
                counter.inc();
            },
        );
        let labels = ControllerLabels {
            controller: controller.to_owned(),
        };
        if result == ReconcileResult::Error {
            self.reconcile_errors_total.with(labels.clone(), |counter| {
                counter.inc();
            });
        }
        let exemplar = trace_id.map(|trace_id| TraceExemplar {
            trace_id: trace_id.to_owned(),
        });
        self.reconcile_time_seconds.with(labels, |histogram| {
            histogram.observe(duration.as_secs_f64(), exemplar, None);
        });
    }

    /// The work queue of controller `name`, whose depth is `workqueue_depth{name}`.
    pub fn work_queue(&self, name: &str) -> Arc<WorkQueue> {
        self.work_queues.queue(name)
    }

    /// Sets `multigres_operator_cluster_info` for a cluster in `phase`, first removing the
    /// series of its other phases so that exactly one exists (§12.1).
    pub fn set_cluster_info(&self, namespace: &str, name: &str, phase: &str) {
        self.cluster_info.remove_where(|labels| {
            labels.namespace == namespace && labels.name == name && labels.phase != phase
        });
        self.cluster_info.with(
            ClusterInfoLabels {
                name: name.to_owned(),
                namespace: namespace.to_owned(),
                phase: phase.to_owned(),
            },
            |gauge| {
                gauge.set(1);
            },
        );
    }

    /// Sets the cell and shard totals of a cluster.
    pub fn set_cluster_totals(&self, namespace: &str, cluster: &str, cells: usize, shards: usize) {
        let labels = ClusterLabels {
            cluster: cluster.to_owned(),
            namespace: namespace.to_owned(),
        };
        self.cluster_cells_total.with(labels.clone(), |gauge| {
            gauge.set(gauge_value(cells));
        });
        self.cluster_shards_total.with(labels, |gauge| {
            gauge.set(gauge_value(shards));
        });
    }

    /// Sets the multigateway replicas of the Cell CR `cell`.
    pub fn set_cell_gateway_replicas(&self, namespace: &str, cell: &str, desired: i32, ready: i32) {
        for (state, value) in [
            (ReplicaState::Desired, desired),
            (ReplicaState::Ready, ready),
        ] {
            self.cell_gateway_replicas.with(
                CellReplicaLabels {
                    cell: cell.to_owned(),
                    namespace: namespace.to_owned(),
                    state,
                },
                |gauge| {
                    gauge.set(i64::from(value));
                },
            );
        }
    }

    /// Sets the desired and ready pods of one pool in one cell.
    pub fn set_shard_pool_replicas(&self, pool: &PoolKey, desired: i32, ready: i32) {
        for (state, value) in [
            (ReplicaState::Desired, desired),
            (ReplicaState::Ready, ready),
        ] {
            self.shard_pool_replicas
                .with(pool.replica_labels(state), |gauge| {
                    gauge.set(i64::from(value));
                });
        }
    }

    /// Sets the number of pods of one pool in one cell whose spec hash is stale.
    pub fn set_pool_pods_drifted(&self, pool: &PoolKey, drifted: usize) {
        self.pool_pods_drifted.with(pool.labels(), |gauge| {
            gauge.set(gauge_value(drifted));
        });
    }

    /// Sets whether one pool in one cell is rolling (pods draining, terminating or drifted).
    pub fn set_rolling_update_in_progress(&self, pool: &PoolKey, in_progress: bool) {
        self.rolling_update_in_progress
            .with(pool.labels(), |gauge| {
                gauge.set(i64::from(in_progress));
            });
    }

    /// Sets the replicas of the TopoServer `name`'s StatefulSet.
    pub fn set_toposerver_replicas(&self, namespace: &str, name: &str, desired: i32, ready: i32) {
        for (state, value) in [
            (ReplicaState::Desired, desired),
            (ReplicaState::Ready, ready),
        ] {
            self.toposerver_replicas.with(
                NamedReplicaLabels {
                    name: name.to_owned(),
                    namespace: namespace.to_owned(),
                    state,
                },
                |gauge| {
                    gauge.set(i64::from(value));
                },
            );
        }
    }

    /// Records one admission request handled by a webhook for `resource` (the kind, e.g.
    /// `MultigresCluster`).
    pub fn observe_webhook_request(
        &self,
        operation: WebhookOperation,
        resource: &str,
        result: WebhookResult,
        duration: Duration,
    ) {
        self.webhook_request_total.with(
            WebhookRequestLabels {
                operation,
                resource: resource.to_owned(),
                result,
            },
            |counter| {
                counter.inc();
            },
        );
        self.webhook_request_duration_seconds.with(
            WebhookDurationLabels {
                operation,
                resource: resource.to_owned(),
            },
            |histogram| histogram.observe(duration.as_secs_f64()),
        );
    }

    /// Sets the age of the newest complete backup of a shard (§8 step 3).
    pub fn set_last_backup_age(&self, namespace: &str, cluster: &str, shard: &str, age: Duration) {
        self.last_backup_age_seconds.with(
            ShardLabels {
                cluster: cluster.to_owned(),
                shard: shard.to_owned(),
                namespace: namespace.to_owned(),
            },
            |gauge| {
                gauge.set(age.as_secs_f64());
            },
        );
    }

    /// Counts one finished drain of a pod of `shard`.
    pub fn record_drain(&self, cluster: &str, shard: &str, result: DrainResult) {
        self.drain_operations_total.with(
            DrainLabels {
                cluster: cluster.to_owned(),
                shard: shard.to_owned(),
                result,
            },
            |counter| {
                counter.inc();
            },
        );
    }

    /// Removes every series of the deleted MultigresCluster `name` and of everything it owned
    /// (fix 9). The drain counter has no namespace label (§12.1), so its series of a same-named
    /// cluster in another namespace go too; `rate()` treats that as a counter reset.
    pub fn forget_cluster(&self, namespace: &str, name: &str) {
        self.cluster_info
            .remove_where(|labels| labels.namespace == namespace && labels.name == name);
        let cluster =
            |labels: &ClusterLabels| labels.namespace == namespace && labels.cluster == name;
        self.cluster_cells_total.remove_where(cluster);
        self.cluster_shards_total.remove_where(cluster);
        self.shard_pool_replicas
            .remove_where(|labels| labels.namespace == namespace && labels.cluster == name);
        let pool = |labels: &PoolLabels| labels.namespace == namespace && labels.cluster == name;
        self.pool_pods_drifted.remove_where(pool);
        self.rolling_update_in_progress.remove_where(pool);
        self.last_backup_age_seconds
            .remove_where(|labels| labels.namespace == namespace && labels.cluster == name);
        self.drain_operations_total
            .remove_where(|labels| labels.cluster == name);
    }

    /// Removes every series of the deleted Shard CR `shard` of `cluster`.
    pub fn forget_shard(&self, namespace: &str, cluster: &str, shard: &str) {
        self.shard_pool_replicas
            .remove_where(|labels| labels.namespace == namespace && labels.shard == shard);
        let pool = |labels: &PoolLabels| labels.namespace == namespace && labels.shard == shard;
        self.pool_pods_drifted.remove_where(pool);
        self.rolling_update_in_progress.remove_where(pool);
        self.last_backup_age_seconds
            .remove_where(|labels| labels.namespace == namespace && labels.shard == shard);
        self.drain_operations_total
            .remove_where(|labels| labels.cluster == cluster && labels.shard == shard);
    }

    /// Removes the series of one pool in one cell, when the pool or the cell left the shard.
    pub fn forget_pool(&self, pool: &PoolKey) {
        self.shard_pool_replicas.remove_where(|labels| {
            labels.namespace == pool.namespace
                && labels.shard == pool.shard
                && labels.pool == pool.pool
                && labels.cell == pool.cell
        });
        let own = pool.labels();
        self.pool_pods_drifted.remove_where(|labels| *labels == own);
        self.rolling_update_in_progress
            .remove_where(|labels| *labels == own);
    }

    /// Removes the series of the deleted Cell CR `cell`.
    pub fn forget_cell(&self, namespace: &str, cell: &str) {
        self.cell_gateway_replicas
            .remove_where(|labels| labels.namespace == namespace && labels.cell == cell);
    }

    /// Removes the series of the deleted TopoServer `name`.
    pub fn forget_toposerver(&self, namespace: &str, name: &str) {
        self.toposerver_replicas
            .remove_where(|labels| labels.namespace == namespace && labels.name == name);
    }
}
