//! The bookkeeping behind `workqueue_depth` (spec-controllers.md §12.1): which objects of one
//! controller wait to be reconciled, mirroring kube-runtime's scheduler (whose queue is private).
//!
//! kube-runtime keeps at most one entry per object: a request for an object already waiting
//! is merged into it, the earlier run time winning (`scheduler.rs`, `schedule_message`), and the
//! entry leaves when the runner takes the object, either to run its reconcile or to find it gone
//! from the store. [`QueueDepth`] keeps the same one entry per key with its earliest run time, so
//! the depth at a time is the number of keys due by then. A key is never counted twice and leaves
//! when it is taken, so the count cannot drift or go negative.
//!
//! Pure: no clock, no I/O. Times are arguments of any ordered type (the caller passes tokio's
//! monotonic `Instant`, tests pass integers).

use std::collections::HashMap;
use std::hash::Hash;

/// The objects of one controller waiting to be reconciled, each with the time it is due.
#[derive(Clone, Debug)]
pub struct QueueDepth<K, T> {
    due: HashMap<K, T>,
}

impl<K, T> Default for QueueDepth<K, T> {
    fn default() -> Self {
        Self {
            due: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq, T: Ord + Copy> QueueDepth<K, T> {
    /// A reconcile of `key` was asked for at `at`: now for a watch event, later for a requeue.
    /// A key already waiting keeps one entry, due at the earlier of the two times (kube-runtime
    /// drops the later request the same way).
    pub fn schedule(&mut self, key: K, at: T) {
        self.due
            .entry(key)
            .and_modify(|due| *due = (*due).min(at))
            .or_insert(at);
    }

    /// The runner took `key` off the queue: its reconcile started, or its object was no longer
    /// in the store. Whatever was scheduled for it is consumed.
    pub fn take(&mut self, key: &K) {
        self.due.remove(key);
    }

    /// How many keys are due at `now`: waiting and not being reconciled. Requeues scheduled
    /// for later do not count until their time comes.
    pub fn depth(&self, now: T) -> usize {
        self.due.values().filter(|due| **due <= now).count()
    }

    /// How many keys have an entry, due or not (memory held, for tests and debugging).
    pub fn entries(&self) -> usize {
        self.due.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_key_triggered_twice_while_waiting_counts_once() {
        let mut queue = QueueDepth::default();
        queue.schedule("a", 0);
        queue.schedule("a", 1);
        queue.schedule("b", 1);
        assert_eq!(queue.depth(1), 2);
    }

    #[test]
    fn a_requeue_counts_from_its_time_on() {
        let mut queue = QueueDepth::default();
        queue.schedule("a", 30);
        assert_eq!(queue.depth(29), 0);
        assert_eq!(queue.depth(30), 1);
    }

    #[test]
    fn a_trigger_brings_a_later_requeue_forward_and_a_later_requeue_never_delays_a_trigger() {
        let mut queue = QueueDepth::default();
        queue.schedule("a", 30);
        queue.schedule("a", 5);
        assert_eq!(queue.depth(5), 1);
        queue.schedule("a", 60);
        assert_eq!(queue.depth(5), 1);
    }

    #[test]
    fn taking_a_key_removes_it_whatever_was_scheduled() {
        let mut queue = QueueDepth::default();
        queue.schedule("a", 0);
        queue.schedule("b", 0);
        queue.take(&"a");
        assert_eq!(queue.depth(10), 1);
        queue.take(&"b");
        queue.take(&"b");
        assert_eq!(queue.depth(10), 0);
        assert_eq!(queue.entries(), 0);
    }

    #[test]
    fn a_key_triggered_while_its_reconcile_runs_waits_again() {
        let mut queue = QueueDepth::default();
        queue.schedule("a", 0);
        queue.take(&"a");
        assert_eq!(queue.depth(1), 0);
        queue.schedule("a", 1);
        assert_eq!(queue.depth(1), 1);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Schedule(u8, u8),
        Take(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6, 0u8..20).prop_map(|(key, at)| Op::Schedule(key, at)),
            (0u8..6).prop_map(Op::Take),
        ]
    }

    proptest! {
        /// The incremental count equals a replay of the whole history: a key waits at `now`
        /// when some request for it since it was last taken is due by `now`.
        #[test]
        fn depth_matches_a_replay_of_the_history(ops in proptest::collection::vec(op(), 0..60), now in 0u8..20) {
            let mut queue = QueueDepth::default();
            for op in &ops {
                match *op {
                    Op::Schedule(key, at) => queue.schedule(key, at),
                    Op::Take(key) => queue.take(&key),
                }
            }
            let replayed = (0u8..6)
                .filter(|key| {
                    let since_taken = ops
                        .iter()
                        .rposition(|op| matches!(op, Op::Take(k) if k == key))
                        .map_or(0, |taken| taken + 1);
                    ops[since_taken..]
                        .iter()
                        .any(|op| matches!(op, Op::Schedule(k, at) if k == key && *at <= now))
                })
                .count();
            prop_assert_eq!(queue.depth(now), replayed);
            prop_assert!(queue.entries() <= 6);
        }
    }
}
