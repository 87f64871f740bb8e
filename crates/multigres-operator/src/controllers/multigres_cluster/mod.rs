//! The MultigresCluster controller (spec-controllers.md §2): the global components, the
//! topology registration, the Cells and TableGroups, and the cluster status.
//!
//! This file wires the controller (its triggers, template → cluster mapping) and declares its
//! error; the pass is in `reconcile.rs`, reads in `fetch.rs`, the etcd step in `topology.rs`,
//! the pure status in `status.rs`, builders in `build/`.

pub mod build;
pub mod fetch;
pub mod reconcile;
pub mod status;
pub mod topology;

use std::sync::Arc;

use futures::{Future, Stream, StreamExt};
use kube::core::DeserializeGuard;
use kube::runtime::controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use multigres_api::resolver::ResolveError;
use multigres_api::v1alpha1::{MultigresCluster, ResolvedTemplates, TemplateRef};

use crate::apply::ApplyError;
use crate::cache::{Feeds, valid};
use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::counted_controller::CountedController;
use crate::controllers::error_policy::{ErrorClass, ReconcileError, action_after};
use crate::controllers::predicates;
use crate::events::Source;
use crate::topology::TopoError;
use crate::topology::records::RecordError;

/// Why a MultigresCluster pass failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("MultigresCluster {object} cannot be read: {message}")]
    Malformed { object: String, message: String },
    #[error("failed to resolve MultigresCluster {object}")]
    Resolve {
        object: String,
        #[source]
        source: Box<ResolveError>,
    },
    #[error("MultigresCluster {object} is invalid: {}", messages.join("; "))]
    Invalid {
        object: String,
        messages: Vec<String>,
    },
    #[error("failed to build the objects of MultigresCluster {object}")]
    Build {
        object: String,
        #[source]
        source: build::Error,
    },
    #[error("failed to reconcile global components of MultigresCluster {object}")]
    Apply {
        object: String,
        #[source]
        source: ApplyError,
    },
    #[error("failed to reconcile the topology of MultigresCluster {object}")]
    Topology {
        object: String,
        #[source]
        source: TopoError,
    },
    #[error("failed to build the topology records of MultigresCluster {object}")]
    TopologyRecord {
        object: String,
        #[source]
        source: RecordError,
    },
    #[error("failed to update the status of MultigresCluster {object}")]
    Status {
        object: String,
        #[source]
        source: ApplyError,
    },
}

impl ReconcileError for Error {
    fn reason(&self) -> &'static str {
        match self {
            Error::Malformed { .. } | Error::Invalid { .. } | Error::TopologyRecord { .. } => {
                "ConfigError"
            }
            Error::Resolve { source, .. } if source.lookup_failure().is_some() => "TemplateMissing",
            Error::Resolve { .. } => "TemplateMissing",
            Error::Build { .. } | Error::Apply { .. } | Error::Status { .. } => "FailedApply",
            Error::Topology { .. } => "TopoConnectFailed",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            Error::Malformed { .. }
            | Error::Invalid { .. }
            | Error::Build { .. }
            | Error::TopologyRecord { .. }
            | Error::Resolve { .. } => ErrorClass::Invalid,
            Error::Apply { source, .. } | Error::Status { source, .. } if source.is_gone() => {
                ErrorClass::Gone
            }
            Error::Apply { source, .. } | Error::Status { source, .. } if source.is_conflict() => {
                ErrorClass::Conflict
            }
            Error::Apply { .. } | Error::Status { .. } | Error::Topology { .. } => {
                ErrorClass::Transient
            }
        }
    }
}

/// The clusters of `namespace` to reconcile when template `name` of a kind changes: those whose
/// `status.resolvedTemplates` lists it, and those never reconciled (§2.1).
fn clusters_using(
    clusters: &Store<DeserializeGuard<MultigresCluster>>,
    namespace: Option<String>,
    name: &str,
    list: fn(&ResolvedTemplates) -> &Vec<TemplateRef>,
) -> Vec<ObjectRef<DeserializeGuard<MultigresCluster>>> {
    clusters
        .state()
        .iter()
        .filter(|guarded| guarded.namespace() == namespace)
        .filter(|guarded| match valid(guarded) {
            None => true,
            Some(cluster) => match cluster
                .status
                .as_ref()
                .and_then(|status| status.resolved_templates.as_ref())
            {
                None => true,
                Some(templates) => list(templates).iter().any(|t| t.as_str() == name),
            },
        })
        .map(|guarded| ObjectRef::from_obj(guarded.as_ref()))
        .collect()
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
        feeds.clusters.subscribe(),
        predicates::generation_or_annotations,
    );
    let clusters = context.cache.clusters.clone();
    let (core, cell, shard) = (clusters.clone(), clusters.clone(), clusters.clone());
    let queue = context
        .metrics
        .work_queue(Source::MultigresCluster.metric_label());
    CountedController::new(queue, trigger, clusters)
        .owns_shared_stream(feeds.cells.subscribe())
        .owns_shared_stream(feeds.table_groups.subscribe())
        .owns_shared_stream(feeds.topo_servers.subscribe())
        .owns_shared_stream(feeds.deployments.subscribe())
        .owns_shared_stream(feeds.services.subscribe())
        .watches_shared_stream(feeds.core_templates.subscribe(), move |template| {
            clusters_using(&core, template.namespace(), &template.name_any(), |t| {
                &t.core_templates
            })
        })
        .watches_shared_stream(feeds.cell_templates.subscribe(), move |template| {
            clusters_using(&cell, template.namespace(), &template.name_any(), |t| {
                &t.cell_templates
            })
        })
        .watches_shared_stream(feeds.shard_templates.subscribe(), move |template| {
            clusters_using(&shard, template.namespace(), &template.name_any(), |t| {
                &t.shard_templates
            })
        })
        .with_config(controller::Config::default().concurrency(20))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, error_policy, context)
        .map(|_| ())
}

fn error_policy(
    object: Arc<DeserializeGuard<MultigresCluster>>,
    error: &Error,
    context: Arc<Context>,
) -> Action {
    action_after(error, object.as_ref(), &context.backoff)
}

/// The object reference Events of a cluster are recorded on.
pub fn reference(cluster: &MultigresCluster) -> k8s_openapi::api::core::v1::ObjectReference {
    cluster.object_ref(&())
}
