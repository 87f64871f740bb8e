//! `workqueue_depth{name}` (spec-controllers.md §12.1, alert MultigresControllerSaturated of
//! §12.2): one [`WorkQueue`] per controller, fed by `controllers::counted_controller`, and the
//! collector that computes every depth at scrape time.
//!
//! The depth is computed when scraped, not kept in a gauge, because a delayed requeue becomes due
//! without any event: a gauge would need a timer per requeue to be right.
//!
//! What is counted: distinct objects whose reconcile is due and that the runner has not taken
//! yet, as controller-runtime's workqueue length counts keys in its queue (not in flight, not
//! waiting out a requeue delay). Where the figure can differ from client-go's:
//! - an object triggered while its reconcile runs counts at once; client-go keeps such a key
//!   aside (dirty while processing) and counts it only when the running reconcile ends;
//! - both count a requeue only once due, but client-go's rate-limited requeues (`Requeue: true`,
//!   errors) wait out client-go's backoff, ours the delay this operator computes
//!   (`error_policy.rs`);
//! - a trigger is counted as the controller's trigger stream yields it, a moment before
//!   kube-runtime's scheduler stores it; a requeue is counted when the reconcile returns, a
//!   moment before kube-runtime reschedules it;
//! - when the runner takes an object that was deleted, the key leaves the count when the
//!   controller's output reports it missing; a new trigger of that same key in that instant is
//!   dropped from the count until the key is taken again (one transient undercount, never a
//!   drift: every take empties the key's entry).
//!
//! This module reads tokio's monotonic clock (the one kube-runtime schedules with, so paused
//! time in tests moves both); the bookkeeping itself is the pure `queue_depth` module.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use tokio::time::Instant;

use super::queue_depth::QueueDepth;

/// The farthest kube-runtime schedules a requeue.
const MAX_REQUEUE: Duration = Duration::from_secs(86_400 * 30 * 6);

/// An object a controller reconciles: namespace (none for cluster-scoped kinds) and name.
pub type QueueKey = (Option<String>, String);

/// The work queue of one controller, as far as its depth goes.
#[derive(Debug, Default)]
pub struct WorkQueue {
    depth: Mutex<QueueDepth<QueueKey, Instant>>,
}

impl WorkQueue {
    fn depth_book(&self) -> MutexGuard<'_, QueueDepth<QueueKey, Instant>> {
        self.depth.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A watch event (of the object, a child or a related object) asked to reconcile `key` now.
    pub fn triggered(&self, key: QueueKey) {
        self.depth_book().schedule(key, Instant::now());
    }

    /// The runner took `key`: its reconcile starts now, or its object is gone.
    pub fn taken(&self, key: &QueueKey) {
        self.depth_book().take(key);
    }

    /// A pass of `key` ended asking to run again after `after` (`None`: only on a change).
    pub fn requeued(&self, key: QueueKey, after: Option<Duration>) {
        if let Some(after) = after {
            // kube-runtime clamps requeues to six months (`max_schedule_time`), as here.
            let at = Instant::now() + after.min(MAX_REQUEUE);
            self.depth_book().schedule(key, at);
        }
    }

    /// The objects waiting now.
    pub fn depth(&self) -> usize {
        self.depth_book().depth(Instant::now())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    name: String,
}

/// The work queues of every controller, by controller name; the `workqueue_depth` collector.
#[derive(Debug, Default)]
pub struct WorkQueues {
    queues: Mutex<BTreeMap<String, Arc<WorkQueue>>>,
}

impl WorkQueues {
    /// The queue of controller `name`, created empty (a series of 0) on first use.
    pub fn queue(&self, name: &str) -> Arc<WorkQueue> {
        self.queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }
}

impl Collector for WorkQueues {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let depths: Vec<(String, usize)> = self
            .queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, queue)| (name.clone(), queue.depth()))
            .collect();
        if depths.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            "workqueue_depth",
            // The registry ends the help of registered metrics with a full stop; so does this.
            "Current depth of the workqueue.",
            None,
            MetricType::Gauge,
        )?;
        for (name, depth) in depths {
            let labels = QueueLabels { name };
            let gauge = ConstGauge::new(i64::try_from(depth).unwrap_or(i64::MAX));
            gauge.encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> QueueKey {
        (Some("ns".to_owned()), name.to_owned())
    }

    #[test]
    fn a_requeue_counts_once_its_delay_has_passed() {
        let queue = WorkQueue::default();
        queue.requeued(key("later"), Some(Duration::from_secs(3600)));
        queue.requeued(key("on-change"), None);
        assert_eq!(queue.depth(), 0);
        queue.requeued(key("now"), Some(Duration::ZERO));
        assert_eq!(queue.depth(), 1);
        queue.taken(&key("now"));
        assert_eq!(queue.depth(), 0);
    }

    #[test]
    fn every_queue_has_a_series_from_its_creation() {
        let mut registry = prometheus_client::registry::Registry::default();
        let queues = Arc::new(WorkQueues::default());
        registry.register_collector(Box::new(queues.clone()));
        queues.queue("cell");
        queues.queue("shard").triggered(key("a"));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)
            .expect("encoding into a String cannot fail");
        assert_eq!(
            text,
            "# HELP workqueue_depth Current depth of the workqueue.\n\
             # TYPE workqueue_depth gauge\n\
             workqueue_depth{name=\"cell\"} 0\n\
             workqueue_depth{name=\"shard\"} 1\n\
             # EOF\n"
        );
    }
}
