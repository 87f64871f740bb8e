//! The cluster's topology step (spec-controllers.md §6.2): register its cells and databases in
//! the global topology server, prune stale entries, and wait through the 2-minute grace while the
//! server is not reachable yet.
//!
//! The etcd work is `crate::topology`'s; this step turns its report into Events and its
//! failures into the controller's error or a requeue.

use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use multigres_api::resolver::{ResolvedCluster, pruning_enabled};
use multigres_api::v1alpha1::MultigresCluster;

use super::Error;
use crate::context::Context;
use crate::events::Source;
use crate::topology::records::{cell_record, database_record};
use crate::topology::registration::EventType;
use crate::topology::{
    ClusterTopology, GraceDecision, TopoStore, grace_decision, register_cluster_topology,
};

/// One deadline for every etcd operation of the pass (§6.2 constants).
const TOPOLOGY_DEADLINE: Duration = Duration::from_secs(20);

/// What the rest of the pass does after the topology step.
pub enum Step {
    /// Registered (or nothing to change): go on.
    Done,
    /// The server is not reachable yet and the cluster is young: requeue after this long and
    /// skip the rest of the pass (Go quirk 11, kept: cells wait for their registration).
    Wait(Duration),
}

pub async fn register(
    context: &Context,
    cluster: &MultigresCluster,
    reference: &ObjectReference,
    resolved: &ResolvedCluster,
) -> Result<Step, Error> {
    let object = crate::controllers::reporting::object_key(cluster);
    let topo_ref = &resolved.global_topo_ref;
    let cells = resolved
        .spec
        .cells
        .iter()
        .map(|cell| cell_record(cell.name.as_str(), topo_ref))
        .collect();
    let databases = resolved
        .spec
        .databases
        .iter()
        .map(|database| database_record(&resolved.spec, database))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| Error::TopologyRecord {
            object: object.clone(),
            source,
        })?;
    let desired = ClusterTopology {
        cells,
        databases,
        prune: pruning_enabled(&resolved.spec),
    };
    let outcome = tokio::time::timeout(TOPOLOGY_DEADLINE, async {
        let store = TopoStore::open(
            &topo_ref.address,
            &topo_ref.root_path,
            context.resolver.clone(),
        )
        .await?;
        register_cluster_topology(&store, &desired).await
    })
    .await;
    let result = match outcome {
        Ok(result) => result,
        Err(_elapsed) => Err(crate::topology::TopoError::Timeout {
            operation: "registering the cluster's cells and databases",
            limit: TOPOLOGY_DEADLINE,
        }),
    };
    match result {
        Ok(report) => {
            for event in report.events() {
                match event.type_ {
                    // One event per reason for the records this pass wrote (events.rs).
                    EventType::Normal => context.events.gather(
                        reference.uid.as_deref().unwrap_or_default(),
                        event.reason,
                        "",
                        event.note,
                    ),
                    EventType::Warning => {
                        context
                            .events
                            .warning(
                                Source::MultigresCluster,
                                reference,
                                event.reason,
                                event.note,
                            )
                            .await;
                    }
                }
            }
            if let Some(failure) = report.prune_failures.into_iter().next() {
                return Err(Error::Topology {
                    object,
                    source: failure.error,
                });
            }
            Ok(Step::Done)
        }
        Err(error) => {
            let age = cluster
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|created| {
                    let elapsed = context.now().0.duration_since(created.0);
                    Duration::try_from(elapsed).unwrap_or_default()
                })
                .unwrap_or_default();
            match grace_decision(age, &error) {
                GraceDecision::Wait {
                    requeue_after,
                    message,
                } => {
                    context
                        .events
                        .normal_once(
                            Source::MultigresCluster,
                            reference,
                            "TopologyWaiting",
                            message,
                        )
                        .await;
                    Ok(Step::Wait(requeue_after))
                }
                GraceDecision::Fail => Err(Error::Topology {
                    object,
                    source: error,
                }),
            }
        }
    }
}
