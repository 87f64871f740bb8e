//! The MultigresCluster controller's topology step (spec-controllers.md §2.2 step 8, §6.2) and
//! the Shard controller's pooler calls (§6.4, §7.12).
//!
//! [`register_cluster_topology`] runs once per cluster reconcile: cells are created if absent
//! (never updated), databases created or their three operator fields replaced, and, when
//! pruning is on, databases then cells that left the spec are deleted. It writes only what
//! differs, so a pass over an unchanged world writes nothing to etcd (deliberate fix 12; Go
//! rewrites every Database record on every pass). It returns what changed so the controller can
//! emit TopoRegistered / TopoCleanup / TopoCleanupFailed events only for real changes (§15).
//!
//! [`grace_decision`] is the pure 2-minute grace rule for an unavailable topology server.
//! Building the records from the spec is `records.rs`; nothing here reads the clock.

use std::time::Duration;

use super::client::{TopoError, TopoStore, Write};
use multigres_api::v1alpha1::{GlobalTopoServerRef, MultigresClusterSpec};

use super::records::{
    Cell, Database, MultiPooler, RecordError, cell_record, database_record, pooler_in_shard,
};

/// One deadline shared by every etcd call of a cluster pass (Go `topoOperationTimeout`).
pub const TOPO_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a new cluster waits quietly for its topology server (§6.2 step 5).
pub const UNAVAILABLE_GRACE_PERIOD: Duration = Duration::from_secs(120);
/// Requeue while waiting for the topology server (cluster and shard, spec-controllers.md §10).
pub const UNAVAILABLE_REQUEUE: Duration = Duration::from_secs(5);

/// What the cluster's topology should hold: the records built by `records::cell_record` and
/// `records::database_record`, in spec order, and whether stale ones are pruned
/// (`spec.topologyPruning.enabled`, unset meaning true). [`ClusterTopology::from_spec`] builds
/// it from the cluster spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterTopology {
    pub cells: Vec<Cell>,
    pub databases: Vec<Database>,
    pub prune: bool,
}

impl ClusterTopology {
    /// The topology of the in-memory defaulted cluster `spec` whose global topology server is
    /// `global_topo` (pure): a Cell record per cell and a Database record per database, in spec
    /// order, and pruning unless `spec.topologyPruning.enabled` is false.
    pub fn from_spec(
        spec: &MultigresClusterSpec,
        global_topo: &GlobalTopoServerRef,
    ) -> Result<Self, RecordError> {
        Ok(Self {
            cells: spec
                .cells
                .iter()
                .map(|c| cell_record(c.name.as_str(), global_topo))
                .collect(),
            databases: spec
                .databases
                .iter()
                .map(|d| database_record(spec, d))
                .collect::<Result<_, _>>()?,
            prune: spec
                .topology_pruning
                .as_ref()
                .and_then(|p| p.enabled)
                .unwrap_or(true),
        })
    }
}

/// Which kind of record a prune failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Cell,
    Database,
}

/// A stale record that could not be pruned; the pass went on with the others.
#[derive(Debug)]
pub struct PruneFailure {
    pub kind: RecordKind,
    pub name: String,
    pub error: TopoError,
}

/// What one pass changed, in the order it happened. Empty at steady state.
#[derive(Debug, Default)]
pub struct TopologyReport {
    pub cells_created: Vec<String>,
    pub databases_created: Vec<String>,
    /// Databases whose backup location, cells or durability policy were rewritten.
    pub databases_updated: Vec<String>,
    pub databases_pruned: Vec<String>,
    pub cells_pruned: Vec<String>,
    pub prune_failures: Vec<PruneFailure>,
}

/// Severity of a [`TopologyEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// An event the cluster controller records, with Go's reason and message (§6.2, §15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologyEvent {
    pub type_: EventType,
    pub reason: &'static str,
    pub note: String,
}

impl TopologyReport {
    /// Whether the pass wrote or failed anything.
    pub fn is_empty(&self) -> bool {
        self.cells_created.is_empty()
            && self.databases_created.is_empty()
            && self.databases_updated.is_empty()
            && self.databases_pruned.is_empty()
            && self.cells_pruned.is_empty()
            && self.prune_failures.is_empty()
    }

    /// The events of this pass: one per created cell or database, pruned record and failed
    /// prune. Updates of an existing database emit none, as in Go.
    pub fn events(&self) -> Vec<TopologyEvent> {
        let normal = |reason, note| TopologyEvent {
            type_: EventType::Normal,
            reason,
            note,
        };
        let mut events = Vec::new();
        for cell in &self.cells_created {
            events.push(normal(
                "TopoRegistered",
                format!("Registered cell '{cell}' in topology"),
            ));
        }
        for database in &self.databases_created {
            events.push(normal(
                "TopoRegistered",
                format!("Registered database '{database}' in topology"),
            ));
        }
        for database in &self.databases_pruned {
            events.push(normal(
                "TopoCleanup",
                format!("Pruned stale database '{database}' from topology"),
            ));
        }
        for cell in &self.cells_pruned {
            events.push(normal(
                "TopoCleanup",
                format!("Pruned stale cell '{cell}' from topology"),
            ));
        }
        for failure in &self.prune_failures {
            let kind = match failure.kind {
                RecordKind::Cell => "cell",
                RecordKind::Database => "database",
            };
            events.push(TopologyEvent {
                type_: EventType::Warning,
                reason: "TopoCleanupFailed",
                note: format!(
                    "Failed to prune {kind} '{}' from topology: {}",
                    failure.name,
                    error_chain(&failure.error)
                ),
            });
        }
        events
    }
}

/// `error: source: source…`, as Go's wrapped errors print.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The cluster-level registration and pruning of spec-controllers.md §6.2 steps 2–4, within
/// [`TOPO_OPERATION_TIMEOUT`]. Stops at the first error outside pruning (an unavailable server
/// included, so the caller can apply [`grace_decision`]); a stale record that cannot be pruned is
/// reported in `prune_failures` and the others are still pruned, unless the server became
/// unavailable. The caller fails the pass when `prune_failures` is not empty (after recording
/// the report's events), as Go returns its first prune error.
pub async fn register_cluster_topology(
    store: &TopoStore,
    desired: &ClusterTopology,
) -> Result<TopologyReport, TopoError> {
    register_cluster_topology_within(store, desired, TOPO_OPERATION_TIMEOUT).await
}

/// [`register_cluster_topology`] with another deadline for the whole pass.
pub async fn register_cluster_topology_within(
    store: &TopoStore,
    desired: &ClusterTopology,
    deadline: Duration,
) -> Result<TopologyReport, TopoError> {
    tokio::time::timeout(deadline, register(store, desired))
        .await
        .map_err(|_| TopoError::Timeout {
            operation: "topology registration",
            limit: deadline,
        })?
}

async fn register(
    store: &TopoStore,
    desired: &ClusterTopology,
) -> Result<TopologyReport, TopoError> {
    let mut report = TopologyReport::default();
    for cell in &desired.cells {
        match store.create_cell(cell).await {
            Ok(_) => report.cells_created.push(cell.name.clone()),
            // Cell records are immutable once registered (Go logs and skips).
            Err(TopoError::NodeExists { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    for database in &desired.databases {
        match store.register_database(database).await? {
            Write::Created { .. } => report.databases_created.push(database.name.clone()),
            Write::Updated { .. } => report.databases_updated.push(database.name.clone()),
            Write::Unchanged => {}
        }
    }
    if !desired.prune {
        return Ok(report);
    }

    for name in store.database_names().await? {
        if desired.databases.iter().any(|d| d.name == name) {
            continue;
        }
        match store.delete_database(&name).await {
            Ok(()) => report.databases_pruned.push(name),
            // A ghost name (only a ShardInitClaim left, spec-wire.md §1.10): nothing to prune.
            Err(TopoError::NoNode { .. }) => {}
            Err(error) if error.is_unavailable() => return Err(error),
            Err(error) => report.prune_failures.push(PruneFailure {
                kind: RecordKind::Database,
                name,
                error,
            }),
        }
    }
    for name in store.cell_names().await? {
        if desired.cells.iter().any(|c| c.name == name) {
            continue;
        }
        match store.delete_cell(&name).await {
            Ok(()) => report.cells_pruned.push(name),
            Err(TopoError::NoNode { .. }) => {}
            Err(error) if error.is_unavailable() => return Err(error),
            Err(error) => report.prune_failures.push(PruneFailure {
                kind: RecordKind::Cell,
                name,
                error,
            }),
        }
    }
    Ok(report)
}

/// What the cluster controller does about a failed topology step (§6.2 step 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraceDecision {
    /// The server is not up yet and the cluster is young: a Normal `TopologyWaiting` event
    /// with `message`, and a quiet requeue; the rest of the pass is skipped (§2.2 step 8).
    Wait {
        requeue_after: Duration,
        message: String,
    },
    /// Return the error (exponential backoff).
    Fail,
}

/// The grace rule: an unavailable server during the first 2 minutes of the cluster's life is
/// waited for; anything else fails the pass. `cluster_age` is now − creationTimestamp (zero
/// when the clock says the cluster is from the future).
pub fn grace_decision(cluster_age: Duration, error: &TopoError) -> GraceDecision {
    if !error.is_unavailable() || cluster_age >= UNAVAILABLE_GRACE_PERIOD {
        return GraceDecision::Fail;
    }
    GraceDecision::Wait {
        requeue_after: UNAVAILABLE_REQUEUE,
        message: format!(
            "Topology server not available yet (age {}), will retry",
            go_duration_seconds(cluster_age)
        ),
    }
}

/// Go's `d.Round(time.Second).String()` for a non-negative duration: half a second rounds up;
/// `0s`, `42s`, `1m5s`, `2h0m1s`.
fn go_duration_seconds(duration: Duration) -> String {
    let mut seconds = duration.as_secs();
    if duration.subsec_nanos() >= 500_000_000 {
        seconds += 1;
    }
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// The poolers of one shard in one cell (Go `GetMultiPoolersByCell` with a full filter), also
/// filtered by `id.cell == cell` (deliberate fix 3: the pinned listing returns every cell's
/// poolers under the shared root).
pub async fn list_shard_poolers(
    store: &TopoStore,
    cell: &str,
    database: &str,
    table_group: &str,
    shard: &str,
) -> Result<Vec<MultiPooler>, TopoError> {
    Ok(store
        .cell_poolers(cell)
        .await?
        .into_iter()
        .filter(|pooler| pooler_in_shard(pooler, cell, database, table_group, shard))
        .collect())
}

/// Go `UnregisterMultiPooler`: deletes the pooler's record on its own cell's server.
pub async fn unregister_pooler(store: &TopoStore, pooler: &MultiPooler) -> Result<(), TopoError> {
    store
        .delete_pooler(&pooler.id.clone().unwrap_or_default())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::records::{BackupLocation, FilesystemBackup, Location, durability_policy};
    use pretty_assertions::assert_eq;
    use std::sync::Arc;

    fn unavailable() -> TopoError {
        TopoError::Unavailable {
            address: "t.default.svc:2379".into(),
            source: Arc::new(std::io::Error::other("connection refused")),
        }
    }

    #[test]
    fn a_young_cluster_waits_for_an_unavailable_server() {
        assert_eq!(
            grace_decision(Duration::from_millis(41_500), &unavailable()),
            GraceDecision::Wait {
                requeue_after: Duration::from_secs(5),
                message: "Topology server not available yet (age 42s), will retry".into(),
            }
        );
        assert_eq!(
            grace_decision(Duration::from_millis(119_400), &unavailable()),
            GraceDecision::Wait {
                requeue_after: Duration::from_secs(5),
                message: "Topology server not available yet (age 1m59s), will retry".into(),
            }
        );
        assert_eq!(
            grace_decision(Duration::ZERO, &unavailable()),
            GraceDecision::Wait {
                requeue_after: Duration::from_secs(5),
                message: "Topology server not available yet (age 0s), will retry".into(),
            }
        );
    }

    #[test]
    fn after_two_minutes_or_for_other_errors_the_pass_fails() {
        assert_eq!(
            grace_decision(Duration::from_secs(120), &unavailable()),
            GraceDecision::Fail
        );
        let no_node = TopoError::NoNode { key: "/k".into() };
        assert_eq!(
            grace_decision(Duration::ZERO, &no_node),
            GraceDecision::Fail
        );
        let timeout = TopoError::Timeout {
            operation: "topology registration",
            limit: TOPO_OPERATION_TIMEOUT,
        };
        assert_eq!(
            grace_decision(Duration::ZERO, &timeout),
            GraceDecision::Fail
        );
    }

    #[test]
    fn the_topology_of_a_spec_prunes_unless_disabled() {
        let topo = GlobalTopoServerRef {
            address: "orders-global-topo.shop.svc:2379".into(),
            root_path: "/multigres/global".into(),
            implementation: "etcd".into(),
        };
        let spec = |pruning: serde_json::Value| -> MultigresClusterSpec {
            serde_json::from_value(serde_json::json!({
                "cells": [{"name": "zone-b"}, {"name": "zone-a"}],
                "databases": [{"name": "orders"}],
                "topologyPruning": pruning,
            }))
            .expect("a valid spec")
        };
        let topology =
            ClusterTopology::from_spec(&spec(serde_json::json!({})), &topo).expect("builds");
        assert_eq!(
            topology,
            ClusterTopology {
                cells: vec![cell_record("zone-b", &topo), cell_record("zone-a", &topo)],
                databases: vec![Database {
                    name: "orders".into(),
                    backup_location: Some(BackupLocation {
                        location: Some(Location::Filesystem(FilesystemBackup {
                            path: "/backups".into()
                        }))
                    }),
                    cells: vec!["zone-b".into(), "zone-a".into()],
                    bootstrap_durability_policy: durability_policy("AT_LEAST_2"),
                }],
                prune: true,
            }
        );
        let enabled =
            ClusterTopology::from_spec(&spec(serde_json::json!({"enabled": true})), &topo)
                .expect("builds");
        assert!(enabled.prune);
        let disabled =
            ClusterTopology::from_spec(&spec(serde_json::json!({"enabled": false})), &topo)
                .expect("builds");
        assert!(!disabled.prune);

        let mut unsupported = spec(serde_json::json!({}));
        unsupported.durability_policy = "ANY_2".into();
        assert!(matches!(
            ClusterTopology::from_spec(&unsupported, &topo),
            Err(RecordError::UnsupportedDurabilityPolicy { database, .. }) if database == "orders"
        ));
    }

    #[test]
    fn go_duration_strings() {
        assert_eq!(go_duration_seconds(Duration::from_millis(499)), "0s");
        assert_eq!(go_duration_seconds(Duration::from_millis(500)), "1s");
        assert_eq!(go_duration_seconds(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration_seconds(Duration::from_secs(3601)), "1h0m1s");
    }

    #[test]
    fn events_only_for_changes_with_gos_texts() {
        assert!(TopologyReport::default().events().is_empty());
        let report = TopologyReport {
            cells_created: vec!["zone-a".into()],
            databases_created: vec!["postgres".into()],
            databases_updated: vec!["orders".into()],
            databases_pruned: vec!["old".into()],
            cells_pruned: vec!["zone-z".into()],
            prune_failures: vec![PruneFailure {
                kind: RecordKind::Cell,
                name: "zone-y".into(),
                error: TopoError::NodeNotEmpty {
                    key: "/r/cells/zone-y/Cell".into(),
                    cell: "zone-y".into(),
                    database: "orders".into(),
                },
            }],
        };
        let events = report.events();
        let notes: Vec<(&str, &str)> = events.iter().map(|e| (e.reason, e.note.as_str())).collect();
        assert_eq!(
            notes,
            vec![
                ("TopoRegistered", "Registered cell 'zone-a' in topology"),
                (
                    "TopoRegistered",
                    "Registered database 'postgres' in topology"
                ),
                ("TopoCleanup", "Pruned stale database 'old' from topology"),
                ("TopoCleanup", "Pruned stale cell 'zone-z' from topology"),
                (
                    "TopoCleanupFailed",
                    "Failed to prune cell 'zone-y' from topology: node not empty: \
                     /r/cells/zone-y/Cell: cell zone-y is referenced by database orders"
                ),
            ]
        );
        assert_eq!(events[4].type_, EventType::Warning);
        assert!(events[..4].iter().all(|e| e.type_ == EventType::Normal));
    }
}
