//! A kube-runtime `Controller` whose work queue is counted for `workqueue_depth`
//! (spec-controllers.md §12.1); the five controllers are built with it.
//!
//! kube-runtime keeps its queue private, so the count is taken at the edges of that queue, at
//! the points where kube-runtime's scheduler gains or loses an entry:
//! - every trigger passes through [`CountedController::new`] (the object's own changes),
//!   [`owns_shared_stream`](CountedController::owns_shared_stream) or
//!   [`watches_shared_stream`](CountedController::watches_shared_stream), which note each key as
//!   it is yielded; there is no other way to add a trigger, so none is missed;
//! - the reconcile function is entered (synchronously, before its future is spawned) exactly
//!   when the runner takes the key off the queue: the key leaves the count there;
//! - the [`Action`] a pass or its error policy returns is noted with its delay before kube-runtime
//!   schedules the requeue, so the key counts again once that delay has passed;
//! - a key taken whose object is gone never reaches the reconciler: the controller's output
//!   reports it (`ObjectNotFound`) and the key leaves the count there.
//!
//! What the figure means, and where it differs from client-go's, is in `telemetry::work_queue`.
//! This module only wires; it must not reconcile or write anything.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::Controller;
use kube::runtime::controller::{self, Config};
use kube::runtime::reflector::{Lookup, ObjectRef, Store};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;

use crate::controllers::action::Action;
use crate::telemetry::work_queue::{QueueKey, WorkQueue};

/// The queue key of a reference, as kube-runtime's scheduler tells objects apart (one kind per
/// controller: namespace and name).
fn key<K: Lookup + ?Sized>(reference: &ObjectRef<K>) -> QueueKey {
    (reference.namespace.clone(), reference.name.clone())
}

/// A `Controller<K>` fed only through counted triggers. Its builder mirrors kube-runtime's
/// (same method names and meaning), so a controller's wiring reads as it would with
/// `Controller`.
pub struct CountedController<K>
where
    K: Clone + Resource<DynamicType = ()> + DeserializeOwned + Debug + Send + Sync + 'static,
{
    controller: Controller<K>,
    queue: Arc<WorkQueue>,
}

impl<K> CountedController<K>
where
    K: Clone + Resource<DynamicType = ()> + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// A controller of the objects `trigger` yields (each reconciles itself), reading them from
    /// `store`, counted in `queue` (kube-runtime's `Controller::for_shared_stream`).
    pub fn new(
        queue: Arc<WorkQueue>,
        trigger: impl Stream<Item = Arc<K>> + Send + 'static,
        store: Store<K>,
    ) -> Self {
        let counting = queue.clone();
        let trigger = trigger.inspect(move |object| {
            counting.triggered(key(&ObjectRef::from_obj(object.as_ref())));
        });
        Self {
            controller: Controller::for_shared_stream(trigger, store),
            queue,
        }
    }

    /// Reconciles the owners of kind `K` of each object `children` yields: every owner reference
    /// whose apiVersion and kind are `K`'s, as kube-runtime's `owns_shared_stream` maps them.
    #[must_use]
    pub fn owns_shared_stream<Child>(
        self,
        children: impl Stream<Item = Arc<Child>> + Send + 'static,
    ) -> Self
    where
        Child:
            Clone + Resource<DynamicType = ()> + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        self.watches_shared_stream(children, |child: Arc<Child>| {
            let meta = child.meta();
            meta.owner_references
                .iter()
                .flatten()
                .filter_map(|owner| ObjectRef::from_owner_ref(meta.namespace.as_deref(), owner, ()))
                .collect::<Vec<_>>()
        })
    }

    /// Reconciles the objects `mapper` names for each object `others` yields.
    #[must_use]
    pub fn watches_shared_stream<Other, I>(
        self,
        others: impl Stream<Item = Arc<Other>> + Send + 'static,
        mapper: impl Fn(Arc<Other>) -> I + Send + Sync + 'static,
    ) -> Self
    where
        Other:
            Clone + Resource<DynamicType = ()> + DeserializeOwned + Debug + Send + Sync + 'static,
        I: IntoIterator<Item = ObjectRef<K>>,
    {
        let counting = self.queue.clone();
        let controller = self.controller.watches_shared_stream(others, move |other| {
            let references: Vec<ObjectRef<K>> = mapper(other).into_iter().collect();
            for reference in &references {
                counting.triggered(key(reference));
            }
            references
        });
        Self { controller, ..self }
    }

    /// kube-runtime's `Controller::with_config`.
    #[must_use]
    pub fn with_config(self, config: Config) -> Self {
        Self {
            controller: self.controller.with_config(config),
            ..self
        }
    }

    /// kube-runtime's `Controller::graceful_shutdown_on`.
    #[must_use]
    pub fn graceful_shutdown_on(
        self,
        shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ) -> Self {
        Self {
            controller: self.controller.graceful_shutdown_on(shutdown),
            ..self
        }
    }

    /// Runs `reconcile` (and `error_policy` after a failed pass) as kube-runtime's
    /// `Controller::run` does, counting each key's take and requeue.
    pub fn run<Ctx, E, Fut>(
        self,
        reconcile: impl Fn(Arc<K>, Arc<Ctx>) -> Fut + Send + Sync + 'static,
        error_policy: impl Fn(Arc<K>, &E, Arc<Ctx>) -> Action + Send + Sync + 'static,
        context: Arc<Ctx>,
    ) -> impl Stream<Item = ControllerResult<K, E>> + Send
    where
        Ctx: Send + Sync + 'static,
        E: std::error::Error + Send + 'static,
        Fut: Future<Output = Result<Action, E>> + Send + 'static,
    {
        let (started, failed, gone) = (self.queue.clone(), self.queue.clone(), self.queue);
        self.controller
            .run(
                move |object, context| {
                    // kube-runtime calls this as its runner takes the key off the queue.
                    let reference = key(&ObjectRef::from_obj(object.as_ref()));
                    started.taken(&reference);
                    let queue = started.clone();
                    let pass = reconcile(object, context);
                    async move {
                        let result = pass.await;
                        if let Ok(action) = &result {
                            queue.requeued(reference, action.requeue_after());
                        }
                        result.map(controller::Action::from)
                    }
                },
                move |object, error, context| {
                    let action = error_policy(object.clone(), error, context);
                    let reference = key(&ObjectRef::from_obj(object.as_ref()));
                    failed.requeued(reference, action.requeue_after());
                    action.into()
                },
                context,
            )
            .inspect(move |result| {
                if let Err(controller::Error::ObjectNotFound(reference)) = result {
                    gone.taken(&key(reference.as_ref()));
                }
            })
    }
}

/// What kube-runtime's `Controller::run` yields for each key it is done with.
pub type ControllerResult<K, E> =
    Result<(ObjectRef<K>, controller::Action), controller::Error<E, watcher::Error>>;

#[cfg(test)]
mod tests {
    //! kube-runtime's real `Controller` over an in-memory store: the count follows its queue.

    use std::collections::HashMap;
    use std::convert::Infallible;
    use std::sync::Mutex;
    use std::time::Duration;

    use futures::channel::mpsc;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;
    use kube::runtime::reflector::{self, store::Writer};
    use tokio::sync::Semaphore;

    use super::*;

    /// What the test reconciler did. Passes of objects named `blocked-*` wait for the gate;
    /// those of `requeue-*` ask to run again after [`REQUEUE`].
    struct Probe {
        gate: Semaphore,
        /// Passes started and finished, by object name.
        passes: Mutex<HashMap<String, (usize, usize)>>,
    }

    const REQUEUE: Duration = Duration::from_secs(1);

    impl Probe {
        fn passes(&self) -> std::sync::MutexGuard<'_, HashMap<String, (usize, usize)>> {
            self.passes
                .lock()
                .expect("no test thread panics holding it")
        }

        fn started(&self) -> usize {
            self.passes().values().map(|(started, _)| started).sum()
        }

        fn finished(&self) -> usize {
            self.passes().values().map(|(_, finished)| finished).sum()
        }

        fn of(&self, name: &str) -> (usize, usize) {
            self.passes().get(name).copied().unwrap_or_default()
        }
    }

    fn config_map(name: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some("tenant".to_owned()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    fn filled_store(names: &[&str]) -> (Store<ConfigMap>, Writer<ConfigMap>) {
        let (store, mut writer) = reflector::store();
        writer.apply_watcher_event(&watcher::Event::Init);
        for name in names {
            writer.apply_watcher_event(&watcher::Event::InitApply(config_map(name)));
        }
        writer.apply_watcher_event(&watcher::Event::InitDone);
        (store, writer)
    }

    async fn reconcile(object: Arc<ConfigMap>, probe: Arc<Probe>) -> Result<Action, Infallible> {
        let name = object.metadata.name.clone().unwrap_or_default();
        probe.passes().entry(name.clone()).or_default().0 += 1;
        if name.starts_with("blocked") {
            let permit = probe.gate.acquire().await;
            drop(permit);
        }
        probe.passes().entry(name.clone()).or_default().1 += 1;
        Ok(if name.starts_with("requeue") {
            Action::requeue(REQUEUE)
        } else {
            Action::await_change()
        })
    }

    struct Running {
        trigger: mpsc::UnboundedSender<Arc<ConfigMap>>,
        queue: Arc<WorkQueue>,
        probe: Arc<Probe>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Running {
        /// Runs a counted controller of `store` at `concurrency`, its gate closed.
        fn start(store: Store<ConfigMap>, concurrency: u16) -> Self {
            let (trigger, triggers) = mpsc::unbounded();
            let queue = Arc::new(WorkQueue::default());
            let probe = Arc::new(Probe {
                gate: Semaphore::new(0),
                passes: Mutex::default(),
            });
            let controller = CountedController::new(queue.clone(), triggers, store)
                .with_config(Config::default().concurrency(concurrency))
                .run(
                    reconcile,
                    |_, error: &Infallible, _| match *error {},
                    probe.clone(),
                );
            let task = tokio::spawn(controller.for_each(|_| std::future::ready(())));
            Self {
                trigger,
                queue,
                probe,
                task,
            }
        }

        fn send(&self, name: &str) {
            self.trigger
                .unbounded_send(Arc::new(config_map(name)))
                .expect("the controller is running");
        }

        /// Waits until `condition` holds; fails naming `what` after a deadline.
        async fn until(&self, what: &str, condition: impl Fn(&Self) -> bool) {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while !condition(self) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "timed out waiting for {what}: depth {}, passes {:?}",
                    self.queue.depth(),
                    self.probe.passes()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    #[tokio::test]
    async fn depth_rises_while_the_controller_is_busy_and_returns_to_zero() {
        let names: Vec<String> = (0..10).map(|i| format!("blocked-{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let (store, _writer) = filled_store(&names);
        let controller = Running::start(store, 2);

        for name in &names {
            controller.send(name);
        }
        controller
            .until("two running and eight waiting", |c| {
                c.probe.started() == 2 && c.queue.depth() == 8
            })
            .await;

        // A waiting object triggered again counts once; a running one waits again.
        let waiting = names
            .iter()
            .find(|name| controller.probe.of(name) == (0, 0))
            .expect("eight objects wait");
        controller.send(waiting);
        controller.send(waiting);
        let running = names
            .iter()
            .find(|name| controller.probe.of(name) == (1, 0))
            .expect("two objects run");
        controller.send(running);
        controller
            .until("the running object waiting again", |c| c.queue.depth() == 9)
            .await;

        controller
            .probe
            .gate
            .add_permits(Semaphore::MAX_PERMITS / 2);
        controller
            .until("every pass done and the queue empty", |c| {
                c.probe.finished() == 11 && c.queue.depth() == 0
            })
            .await;
    }

    #[tokio::test]
    async fn a_requeue_counts_once_due_while_the_controller_is_busy() {
        let (store, _writer) = filled_store(&["requeue-a", "blocked-b"]);
        let controller = Running::start(store, 1);

        controller.send("requeue-a");
        controller
            .until("the first pass of requeue-a", |c| {
                c.probe.of("requeue-a").1 == 1
            })
            .await;
        controller.send("blocked-b");
        // requeue-a comes due every REQUEUE; once blocked-b holds the only slot, it waits.
        controller
            .until("requeue-a due behind blocked-b", |c| {
                c.probe.of("blocked-b") == (1, 0) && c.queue.depth() == 1
            })
            .await;

        controller.probe.gate.add_permits(1);
        controller
            .until("requeue-a taken once blocked-b is done", |c| {
                c.probe.of("blocked-b") == (1, 1) && c.queue.depth() == 0
            })
            .await;
    }

    #[tokio::test]
    async fn a_deleted_object_leaves_the_count_when_the_runner_takes_it() {
        let (store, mut writer) = filled_store(&["blocked-a", "gone"]);
        let controller = Running::start(store, 1);

        controller.send("blocked-a");
        controller
            .until("blocked-a running", |c| c.probe.started() == 1)
            .await;
        controller.send("gone");
        controller
            .until("gone waiting", |c| c.queue.depth() == 1)
            .await;
        writer.apply_watcher_event(&watcher::Event::Delete(config_map("gone")));

        controller.probe.gate.add_permits(1);
        controller
            .until("the queue empty", |c| {
                c.probe.finished() == 1 && c.queue.depth() == 0
            })
            .await;
        assert_eq!(
            controller.probe.of("gone"),
            (0, 0),
            "the deleted object was never reconciled"
        );
    }
}
