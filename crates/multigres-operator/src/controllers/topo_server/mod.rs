//! The TopoServer controller (spec-controllers.md §5): the global topology server's etcd
//! StatefulSet and its two Services, the etcd StorageClass guard and the TopoServer status.
//!
//! This file wires the controller (what triggers it) and declares its error; the pass itself is
//! in `reconcile.rs`, the pure status computation in `status.rs`, builders in `build/`.

pub mod build;
pub mod reconcile;
pub mod status;

use std::sync::Arc;

use futures::{Future, Stream, StreamExt};
use kube::core::DeserializeGuard;
use kube::runtime::controller;
use multigres_api::v1alpha1::TopoServer;

use crate::apply::ApplyError;
use crate::cache::Feeds;
use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::counted_controller::CountedController;
use crate::controllers::error_policy::{ErrorClass, ReconcileError, action_after};
use crate::controllers::predicates;
use crate::events::Source;

/// Why a TopoServer pass failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("TopoServer {object} cannot be read: {message}")]
    Malformed { object: String, message: String },
    #[error("failed to build the objects of TopoServer {object}")]
    Build {
        object: String,
        #[source]
        source: build::Error,
    },
    #[error("failed to reconcile TopoServer {object}")]
    Apply {
        object: String,
        #[source]
        source: ApplyError,
    },
}

impl ReconcileError for Error {
    fn reason(&self) -> &'static str {
        match self {
            Error::Malformed { .. } | Error::Build { .. } => "ConfigError",
            Error::Apply { .. } => "FailedApply",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            Error::Malformed { .. } | Error::Build { .. } => ErrorClass::Invalid,
            Error::Apply { source, .. } if source.is_gone() => ErrorClass::Gone,
            Error::Apply { source, .. } if source.is_conflict() => ErrorClass::Conflict,
            Error::Apply { .. } => ErrorClass::Transient,
        }
    }
}

/// The controller, driven until `shutdown` resolves.
pub fn run<S>(
    feeds: &Feeds,
    context: Arc<Context>,
    shutdown: S,
) -> impl Stream<Item = ()> + Send + use<S>
where
    S: Future<Output = ()> + Send + Sync + 'static,
{
    let trigger = predicates::changed_by(feeds.topo_servers.subscribe(), predicates::generation);
    let queue = context
        .metrics
        .work_queue(Source::TopoServer.metric_label());
    CountedController::new(queue, trigger, context.cache.topo_servers.clone())
        .owns_shared_stream(feeds.stateful_sets.subscribe())
        .owns_shared_stream(feeds.services.subscribe())
        .with_config(controller::Config::default().concurrency(20))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, error_policy, context)
        .map(|_| ())
}

fn error_policy(
    object: Arc<DeserializeGuard<TopoServer>>,
    error: &Error,
    context: Arc<Context>,
) -> Action {
    action_after(error, object.as_ref(), &context.backoff)
}
