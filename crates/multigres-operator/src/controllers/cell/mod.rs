//! The Cell controller (spec-controllers.md §4): the multigateway Deployment and Service of one
//! cell, and the Cell's status.
//!
//! This file wires the controller and declares its error; the pass is in `reconcile.rs`, the
//! pure status computation in `status.rs`, builders in `build/`.

pub mod build;
pub mod reconcile;
pub mod status;

use std::sync::Arc;

use futures::{Future, Stream, StreamExt};
use kube::core::DeserializeGuard;
use kube::runtime::controller;
use multigres_api::v1alpha1::Cell;

use crate::apply::ApplyError;
use crate::cache::Feeds;
use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::counted_controller::CountedController;
use crate::controllers::error_policy::{ErrorClass, ReconcileError, action_after};
use crate::controllers::predicates;
use crate::events::Source;

/// Why a Cell pass failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Cell {object} cannot be read: {message}")]
    Malformed { object: String, message: String },
    #[error("failed to build the multigateway objects of Cell {object}")]
    Build {
        object: String,
        #[source]
        source: build::Error,
    },
    #[error("failed to reconcile the multigateway of Cell {object}")]
    Apply {
        object: String,
        #[source]
        source: ApplyError,
    },
    #[error("failed to write the status of Cell {object}")]
    Status {
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
            Error::Status { .. } => "StatusError",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            Error::Malformed { .. } | Error::Build { .. } => ErrorClass::Invalid,
            Error::Apply { source, .. } | Error::Status { source, .. } if source.is_gone() => {
                ErrorClass::Gone
            }
            Error::Apply { source, .. } | Error::Status { source, .. } if source.is_conflict() => {
                ErrorClass::Conflict
            }
            Error::Apply { .. } | Error::Status { .. } => ErrorClass::Transient,
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
    let trigger = predicates::changed_by(
        feeds.cells.subscribe(),
        predicates::generation_or_annotations,
    );
    let queue = context.metrics.work_queue(Source::Cell.metric_label());
    CountedController::new(queue, trigger, context.cache.cells.clone())
        .owns_shared_stream(feeds.deployments.subscribe())
        .owns_shared_stream(feeds.services.subscribe())
        .with_config(controller::Config::default().concurrency(20))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, error_policy, context)
        .map(|_| ())
}

fn error_policy(
    object: Arc<DeserializeGuard<Cell>>,
    error: &Error,
    context: Arc<Context>,
) -> Action {
    action_after(error, object.as_ref(), &context.backoff)
}
