//! Metrics, logs and traces of the operator (spec-controllers.md §12).
//!
//! - [`metrics`]: the [`Metrics`](metrics::Metrics) registry. Build one at start-up, share it as
//!   `Arc<Metrics>`; controllers call, at the end of each reconcile:
//!   `metrics.observe_reconcile("shard", ReconcileResult::Success, elapsed, trace_id)`, and set
//!   their object's gauges (`set_cluster_info`, `set_shard_pool_replicas`, …). When an object is
//!   deleted, its controller calls the matching `forget_*` so its series disappear (fix 9).
//! - [`metrics_server`]: serves the registry on `--metrics-bind-address`, over HTTPS with
//!   TokenReview/SubjectAccessReview checks unless `--metrics-secure=false`:
//!   `MetricsServer::bind(&config, metrics, client)?` (before anything starts), then `serve(shutdown)`.
//! - [`tracing`]: `init(&LogConfig)` installs JSON or text logs and, only when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set, an OTLP span exporter; keep the returned guard alive
//!   until exit so spans are flushed.
//! - [`trace_context`]: pure parsing of the `multigres.com/traceparent` annotations the mutating
//!   webhook writes, to make a reconcile's span a child of (or linked to) the admission's.
//! - [`work_queue`]: `workqueue_depth`, one queue per controller (`metrics.work_queue(name)`),
//!   fed by `controllers::counted_controller`, computed at scrape time from the pure
//!   [`queue_depth`] bookkeeping.

pub mod deleted_series;
pub mod metrics;
pub mod metrics_server;
pub mod queue_depth;
pub mod trace_context;
pub mod tracing;
pub mod work_queue;
