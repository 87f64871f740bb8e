//! The Shard controller (spec-controllers.md §7): the shard's ConfigMap, Secrets and
//! certificates, multiorch, shared backup PVCs, pool pods and data PVCs (managed directly),
//! PDBs and headless Services, the data-plane step, and the Shard status.
//!
//! This file wires the controller and declares its error; the pass is in `reconcile.rs`, reads
//! in `fetch.rs`, pure decisions in `pool.rs`, `drain.rs`, `pgbackrest.rs` and `status.rs`, the
//! topology step in `data_plane.rs`, builders in `build/`.

pub mod backup_health;
pub mod build;
pub mod cert_entropy;
pub mod data_plane;
pub mod drain;
pub mod fetch;
pub mod pgbackrest;
pub mod pool;
pub mod reconcile;
pub mod status;

use std::sync::Arc;

use futures::{Future, Stream, StreamExt};
use kube::ResourceExt;
use kube::core::DeserializeGuard;
use kube::runtime::controller;
use kube::runtime::reflector::ObjectRef;
use multigres_api::v1alpha1::Shard;

use crate::apply::ApplyError;
use crate::cache::{Feeds, valid};
use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::counted_controller::CountedController;
use crate::controllers::error_policy::{ErrorClass, ReconcileError, action_after};
use crate::events::Source;
use crate::topology::TopoError;

/// Why a Shard pass failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Shard {object} cannot be read: {message}")]
    Malformed { object: String, message: String },
    #[error("failed to build the objects of Shard {object}")]
    Build {
        object: String,
        #[source]
        source: build::BuildError,
    },
    #[error("Shard {object}: {message}")]
    Config { object: String, message: String },
    #[error("failed to reconcile pgBackRest TLS certificates of Shard {object}")]
    Certificates {
        object: String,
        #[source]
        source: build::pgbackrest_certs::CertError,
    },
    #[error("failed to reconcile Shard {object}")]
    Apply {
        object: String,
        #[source]
        source: ApplyError,
    },
    #[error("failed to write the status of Shard {object}")]
    Status {
        object: String,
        #[source]
        source: ApplyError,
    },
    #[error("failed to update the topology of Shard {object}")]
    Topology {
        object: String,
        #[source]
        source: TopoError,
    },
}

impl ReconcileError for Error {
    fn reason(&self) -> &'static str {
        match self {
            Error::Malformed { .. } | Error::Build { .. } | Error::Config { .. } => "ConfigError",
            Error::Certificates { .. } => "CertError",
            Error::Apply { .. } => "FailedApply",
            Error::Status { .. } => "StatusError",
            Error::Topology { .. } => "TopologyError",
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
            Error::Config { .. }
            | Error::Certificates { .. }
            | Error::Apply { .. }
            | Error::Status { .. }
            | Error::Topology { .. } => ErrorClass::Transient,
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
    let shards = context.cache.shards.clone();
    let queue = context.metrics.work_queue(Source::Shard.metric_label());
    let trigger = feeds.shards.subscribe();
    CountedController::new(queue, trigger, context.cache.shards.clone())
        .owns_shared_stream(feeds.deployments.subscribe())
        .owns_shared_stream(feeds.pods.subscribe())
        .owns_shared_stream(feeds.services.subscribe())
        .owns_shared_stream(feeds.config_maps.subscribe())
        .owns_shared_stream(feeds.secrets.subscribe())
        .owns_shared_stream(feeds.pvcs.subscribe())
        .owns_shared_stream(feeds.pdbs.subscribe())
        // A postgres config ConfigMap names no owner: map it to the Shards that reference it.
        .watches_shared_stream(feeds.config_maps.subscribe(), move |config_map| {
            let namespace = config_map.namespace();
            let name = config_map.name_any();
            shards
                .state()
                .iter()
                .filter(|guarded| guarded.namespace() == namespace)
                .filter(|guarded| {
                    valid(guarded).is_some_and(|shard| {
                        shard
                            .spec
                            .postgres_config_ref
                            .as_ref()
                            .is_some_and(|reference| reference.name == name)
                    })
                })
                .map(|guarded| ObjectRef::from_obj(guarded.as_ref()))
                .collect::<Vec<_>>()
        })
        .with_config(controller::Config::default().concurrency(20))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, error_policy, context)
        .map(|_| ())
}

fn error_policy(
    object: Arc<DeserializeGuard<Shard>>,
    error: &Error,
    context: Arc<Context>,
) -> Action {
    action_after(error, object.as_ref(), &context.backoff)
}
