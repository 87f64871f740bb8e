//! Phases, condition types and reasons, and the pure rules that compute them (spec-api.md §15,
//! spec-controllers.md §1.5).
//!
//! Status is what users and scripts watch (`kubectl wait --for=condition=Available`, the
//! printer columns), so the type, reason and message strings are those of the Go operator. The
//! controllers gather observations (ready counts, generations, child phases) and call the
//! functions here; [`set_condition`] then merges the result into the object's list so that
//! `lastTransitionTime` moves only when the status flips, which keeps a second pass over an
//! unchanged world from writing anything.
//!
//! Pure: the current time is an argument, and nothing here reads the API or emits events.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

// --- Phases (spec-api.md §2.16) --------------------------------------------------------------

/// The `status.phase` of every Multigres kind; the API type, re-exported so that status rules
/// and stored objects share one enum.
pub use crate::v1alpha1::Phase;

/// A computed phase with its `status.message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseStatus {
    pub phase: Phase,
    pub message: String,
}

impl PhaseStatus {
    fn new(phase: Phase, message: impl Into<String>) -> Self {
        PhaseStatus {
            phase,
            message: message.into(),
        }
    }
}

// --- Condition types and reasons (spec-api.md §15.7) -----------------------------------------

/// `Available`: MultigresCluster, Cell, TableGroup, Shard.
pub const AVAILABLE: &str = "Available";
/// `Ready`: Cell, TopoServer.
pub const READY: &str = "Ready";
/// `ReadyForDeletion`: Cell, TableGroup, Shard (Go `ConditionReadyForDeletion`).
pub const READY_FOR_DELETION: &str = "ReadyForDeletion";
/// `GatewayExternalReady`: MultigresCluster with `externalGateway.enabled`.
pub const GATEWAY_EXTERNAL_READY: &str = "GatewayExternalReady";
/// `AdminWebExternalReady`: MultigresCluster with `externalAdminWeb.enabled`.
pub const ADMIN_WEB_EXTERNAL_READY: &str = "AdminWebExternalReady";
/// `RollingUpdate`: Shard.
pub const ROLLING_UPDATE: &str = "RollingUpdate";
/// `BackupHealthy`: Shard.
pub const BACKUP_HEALTHY: &str = "BackupHealthy";
/// `StorageClassValid`: Shard, TopoServer (written by its own field manager).
pub const STORAGE_CLASS_VALID: &str = "StorageClassValid";
/// `DeletionBlocked`: declared upstream, never set.
pub const DELETION_BLOCKED: &str = "DeletionBlocked";
/// `TerminalError`: declared upstream, never set.
pub const TERMINAL_ERROR: &str = "TerminalError";

/// Condition reasons, grouped by the condition that uses them.
pub mod reason {
    /// Cluster `Available`.
    pub const AGGREGATED_STATUS: &str = "AggregatedStatus";
    /// Cell `Available` True.
    pub const MULTI_GATEWAY_AVAILABLE: &str = "MultiGatewayAvailable";
    /// Cell `Available` False.
    pub const MULTI_GATEWAY_UNAVAILABLE: &str = "MultiGatewayUnavailable";
    /// TableGroup `Available` (both statuses).
    pub const SHARDS_READY: &str = "ShardsReady";
    /// Shard `Available` True.
    pub const ALL_PODS_READY: &str = "AllPodsReady";
    /// Shard `Available` False.
    pub const NOT_ALL_PODS_READY: &str = "NotAllPodsReady";
    /// Cell `Ready` True.
    pub const MULTI_GATEWAY_READY: &str = "MultiGatewayReady";
    /// Cell `Ready` False.
    pub const MULTI_GATEWAY_NOT_READY: &str = "MultiGatewayNotReady";
    /// TopoServer `Ready` True.
    pub const ALL_REPLICAS_READY: &str = "AllReplicasReady";
    /// TopoServer `Ready` False.
    pub const NOT_ALL_REPLICAS_READY: &str = "NotAllReplicasReady";
    /// Cell `ReadyForDeletion`.
    pub const STATELESS_COMPONENT: &str = "StatelessComponent";
    /// TableGroup `ReadyForDeletion`.
    pub const ALL_SHARDS_READY: &str = "AllShardsReady";
    /// Shard `ReadyForDeletion`.
    pub const DRAIN_COMPLETE: &str = "DrainComplete";
    /// `GatewayExternalReady` / `AdminWebExternalReady` False: no endpoint yet.
    pub const AWAITING_ENDPOINT: &str = "AwaitingEndpoint";
    /// `GatewayExternalReady` False: endpoint but no ready gateway.
    pub const NO_READY_GATEWAYS: &str = "NoReadyGateways";
    /// `GatewayExternalReady` / `AdminWebExternalReady` True.
    pub const ENDPOINT_READY: &str = "EndpointReady";
    /// `AdminWebExternalReady` False: endpoint but no ready admin web pod.
    pub const NO_READY_ADMIN_WEB: &str = "NoReadyAdminWeb";
    /// Shard `RollingUpdate` True.
    pub const PODS_DRIFTED: &str = "PodsDrifted";
    /// Shard `RollingUpdate` False.
    pub const PODS_UP_TO_DATE: &str = "PodsUpToDate";
    /// Shard `BackupHealthy` True.
    pub const BACKUP_RECENT: &str = "BackupRecent";
    /// Shard `BackupHealthy` False.
    pub const BACKUP_STALE: &str = "BackupStale";
    /// `StorageClassValid` True: every named class exists.
    pub const STORAGE_CLASS_FOUND: &str = "StorageClassFound";
    /// `StorageClassValid` False: a named class is missing.
    pub const STORAGE_CLASS_NOT_FOUND: &str = "StorageClassNotFound";
    /// `StorageClassValid` True: no class named, the cluster default applies.
    pub const STORAGE_CLASS_NOT_SPECIFIED: &str = "StorageClassNotSpecified";
}

/// `status` of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    /// The string Kubernetes stores.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }

    fn from_bool(value: bool) -> Self {
        if value {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    }
}

/// A condition as a controller computes it, before it is merged into a status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredCondition {
    pub type_: &'static str,
    pub status: ConditionStatus,
    pub reason: &'static str,
    pub message: String,
}

impl DesiredCondition {
    fn new(
        type_: &'static str,
        status: ConditionStatus,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        DesiredCondition {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

// --- Merging into a status list -------------------------------------------------------------

/// Sets `desired` in `conditions`, as apimachinery `meta.SetStatusCondition` and the Go
/// operator's own `SetCondition` do: a new type is appended with `lastTransitionTime = now`; an
/// existing one takes the new status, reason, message and observed generation, and its
/// `lastTransitionTime` moves to `now` only if the status flips.
///
/// Returns whether anything changed, so that a pass over an unchanged world writes nothing.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    desired: &DesiredCondition,
    observed_generation: Option<i64>,
    now: &Time,
) -> bool {
    let status = desired.status.as_str();
    match conditions.iter_mut().find(|c| c.type_ == desired.type_) {
        None => {
            conditions.push(Condition {
                type_: desired.type_.to_owned(),
                status: status.to_owned(),
                reason: desired.reason.to_owned(),
                message: desired.message.clone(),
                observed_generation,
                last_transition_time: now.clone(),
            });
            true
        }
        Some(existing) => {
            let flipped = existing.status != status;
            let changed = flipped
                || existing.reason != desired.reason
                || existing.message != desired.message
                || existing.observed_generation != observed_generation;
            if flipped {
                existing.status = status.to_owned();
                existing.last_transition_time = now.clone();
            }
            existing.reason = desired.reason.to_owned();
            existing.message.clone_from(&desired.message);
            existing.observed_generation = observed_generation;
            changed
        }
    }
}

/// Removes every condition of `type_` (apimachinery `meta.RemoveStatusCondition`); returns
/// whether one was there. Used for `GatewayExternalReady` / `AdminWebExternalReady` when the
/// exposure is disabled.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    conditions.len() != before
}

/// The first condition of `type_`, if any.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Go `IsConditionTrue`: the first condition of `type_` has status `True`; absent ⇒ false.
pub fn is_condition_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(|c| c.status == ConditionStatus::True.as_str())
}

// --- Shared phase helpers (spec-api.md §15.1) -------------------------------------------------

/// Go `ComputePhase(ready, total)`.
pub fn compute_phase(ready: i64, total: i64) -> Phase {
    if total == 0 {
        Phase::Initializing
    } else if ready == total {
        Phase::Healthy
    } else {
        Phase::Progressing
    }
}

/// Waiting reasons that count as crash-looping (`ErrImagePull` alone does not).
const CRASH_LOOP_WAITING_REASONS: [&str; 3] = ["CrashLoopBackOff", "OOMKilled", "ImagePullBackOff"];
/// Go `crashLoopRestartThreshold`: a terminated container restarted this often is crash-looping.
const CRASH_LOOP_RESTART_THRESHOLD: i32 = 3;

/// Go `IsCrashLooping(pod)`: any container or init container (native sidecars) waits with a
/// crash reason, or is terminated after at least 3 restarts.
pub fn is_crash_looping(pod: &Pod) -> bool {
    let Some(status) = &pod.status else {
        return false;
    };
    let crashing = |container: &ContainerStatus| {
        let state = container.state.as_ref();
        let waiting_reason = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref());
        waiting_reason.is_some_and(|r| CRASH_LOOP_WAITING_REASONS.contains(&r))
            || (state.is_some_and(|s| s.terminated.is_some())
                && container.restart_count >= CRASH_LOOP_RESTART_THRESHOLD)
    };
    [&status.container_statuses, &status.init_container_statuses]
        .into_iter()
        .flatten()
        .flatten()
        .any(crashing)
}

/// Go `AnyCrashLooping(pods)`: a pod that is not being deleted is crash-looping.
pub fn any_crash_looping(pods: &[Pod]) -> bool {
    pods.iter()
        .any(|pod| pod.metadata.deletion_timestamp.is_none() && is_crash_looping(pod))
}

/// Inputs of Go `ComputeWorkloadPhase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadObservation<'a> {
    pub ready: i64,
    pub total: i64,
    /// The workload's `metadata.generation`.
    pub generation: i64,
    /// The workload's `status.observedGeneration`.
    pub observed_generation: i64,
    /// `Some(any_crash_looping(pods))` when the pods were listed; `None` skips the check.
    pub pods_crash_looping: Option<bool>,
    /// `Gateway` (Cell) or `StatefulSet` (TopoServer).
    pub component: &'a str,
}

/// Go `ComputeWorkloadPhase`: crash-looping ⇒ Degraded; stale generation ⇒ Progressing; then
/// [`compute_phase`] of the replica counts.
pub fn compute_workload_phase(workload: &WorkloadObservation<'_>) -> PhaseStatus {
    let component = workload.component;
    if workload.pods_crash_looping == Some(true) {
        return PhaseStatus::new(
            Phase::Degraded,
            format!("{component}: one or more pods are crash-looping"),
        );
    }
    let phase = compute_phase(workload.ready, workload.total);
    if workload.generation != workload.observed_generation {
        return PhaseStatus::new(Phase::Progressing, format!("{component} is progressing"));
    }
    if phase != Phase::Healthy {
        return PhaseStatus::new(
            phase,
            format!(
                "{component}: {}/{} replicas ready",
                workload.ready, workload.total
            ),
        );
    }
    PhaseStatus::new(Phase::Healthy, "Ready")
}

// --- Cell (spec-api.md §15.2) ---------------------------------------------------------------

/// Counts of the cell multigateway Deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeploymentObservation {
    pub generation: i64,
    pub observed_generation: i64,
    /// `status.replicas`.
    pub replicas: i32,
    /// `status.readyReplicas`.
    pub ready_replicas: i32,
}

/// Cell `Available`: some multigateway replica is ready.
pub fn cell_available(gateway: &DeploymentObservation) -> DesiredCondition {
    if gateway.ready_replicas > 0 {
        DesiredCondition::new(
            AVAILABLE,
            ConditionStatus::True,
            reason::MULTI_GATEWAY_AVAILABLE,
            format!(
                "MultiGateway {}/{} replicas ready",
                gateway.ready_replicas, gateway.replicas
            ),
        )
    } else {
        DesiredCondition::new(
            AVAILABLE,
            ConditionStatus::False,
            reason::MULTI_GATEWAY_UNAVAILABLE,
            "No ready replicas available",
        )
    }
}

/// Cell `Ready`: the gateway Deployment is observed, has replicas, and all are ready.
pub fn cell_ready(gateway: &DeploymentObservation) -> DesiredCondition {
    if gateway.observed_generation == gateway.generation
        && gateway.ready_replicas == gateway.replicas
        && gateway.replicas > 0
    {
        DesiredCondition::new(
            READY,
            ConditionStatus::True,
            reason::MULTI_GATEWAY_READY,
            "All replicas match desired state",
        )
    } else {
        DesiredCondition::new(
            READY,
            ConditionStatus::False,
            reason::MULTI_GATEWAY_NOT_READY,
            format!(
                "MultiGateway {}/{} ready, waiting for full convergence",
                gateway.ready_replicas, gateway.replicas
            ),
        )
    }
}

/// Cell `ReadyForDeletion`, set at once when the Cell is pending deletion (cells hold no data).
pub fn cell_ready_for_deletion() -> DesiredCondition {
    DesiredCondition::new(
        READY_FOR_DELETION,
        ConditionStatus::True,
        reason::STATELESS_COMPONENT,
        "Cell is stateless; ready for deletion",
    )
}

// --- TopoServer (spec-api.md §15.3) ---------------------------------------------------------

/// TopoServer `Ready` from its StatefulSet: `spec_replicas` is the StatefulSet's `spec.replicas`.
pub fn topo_server_ready(
    generation: i64,
    observed_generation: i64,
    spec_replicas: i32,
    ready_replicas: i32,
) -> DesiredCondition {
    let current = observed_generation == generation;
    if current && ready_replicas == spec_replicas && spec_replicas > 0 {
        DesiredCondition::new(
            READY,
            ConditionStatus::True,
            reason::ALL_REPLICAS_READY,
            format!("All {spec_replicas} replicas are ready"),
        )
    } else {
        let message = if current {
            format!("{ready_replicas}/{spec_replicas} replicas ready")
        } else {
            "StatefulSet update in progress".to_owned()
        };
        DesiredCondition::new(
            READY,
            ConditionStatus::False,
            reason::NOT_ALL_REPLICAS_READY,
            message,
        )
    }
}

// --- Shard (spec-api.md §15.4) --------------------------------------------------------------

/// What the shard controller observed of its pools and multiorch Deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardObservation {
    /// Pool pods wanted (Σ replicasPerCell over pools × cells).
    pub total_pods: i64,
    /// Ready pool pods (draining and terminating pods never count).
    pub ready_pods: i64,
    pub pool_pods_crash_looping: bool,
    pub orch_pods_crash_looping: bool,
    /// Every multiorch Deployment exists, is observed and fully ready.
    pub orch_ready: bool,
}

impl ShardObservation {
    /// `status.poolsReady`.
    pub fn pools_ready(&self) -> bool {
        self.total_pods > 0 && self.total_pods == self.ready_pods
    }
}

/// Shard phase: crash loops ⇒ Degraded; pools and multiorch ready ⇒ Healthy; else Progressing.
/// A Shard is never `Initializing`.
pub fn shard_phase(shard: &ShardObservation) -> PhaseStatus {
    if shard.pool_pods_crash_looping {
        return PhaseStatus::new(Phase::Degraded, "One or more pool pods are crash-looping");
    }
    if shard.orch_pods_crash_looping {
        return PhaseStatus::new(
            Phase::Degraded,
            "One or more MultiOrch pods are crash-looping",
        );
    }
    let pools_ready = shard.pools_ready();
    if pools_ready && shard.orch_ready {
        return PhaseStatus::new(Phase::Healthy, "Ready");
    }
    PhaseStatus::new(
        Phase::Progressing,
        format!("PoolsReady: {pools_ready}, OrchReady: {}", shard.orch_ready),
    )
}

/// Shard `Available`: every wanted pool pod is ready.
pub fn shard_available(shard: &ShardObservation) -> DesiredCondition {
    if shard.pools_ready() {
        DesiredCondition::new(
            AVAILABLE,
            ConditionStatus::True,
            reason::ALL_PODS_READY,
            format!("All {} pods are ready", shard.total_pods),
        )
    } else {
        DesiredCondition::new(
            AVAILABLE,
            ConditionStatus::False,
            reason::NOT_ALL_PODS_READY,
            format!("{}/{} pods ready", shard.ready_pods, shard.total_pods),
        )
    }
}

/// Shard `RollingUpdate` for one pool.
pub fn shard_rolling_update(pool: &str, drifted_pods: usize) -> DesiredCondition {
    if drifted_pods > 0 {
        DesiredCondition::new(
            ROLLING_UPDATE,
            ConditionStatus::True,
            reason::PODS_DRIFTED,
            format!("{drifted_pods} pods need update in pool {pool}"),
        )
    } else {
        DesiredCondition::new(
            ROLLING_UPDATE,
            ConditionStatus::False,
            reason::PODS_UP_TO_DATE,
            format!("All pods up to date in pool {pool}"),
        )
    }
}

/// Shard `BackupHealthy` with the message of the backup check.
pub fn shard_backup_healthy(healthy: bool, message: impl Into<String>) -> DesiredCondition {
    let reason = if healthy {
        reason::BACKUP_RECENT
    } else {
        reason::BACKUP_STALE
    };
    DesiredCondition::new(
        BACKUP_HEALTHY,
        ConditionStatus::from_bool(healthy),
        reason,
        message,
    )
}

/// Shard `ReadyForDeletion` once every pod is drained after `pending-deletion`.
pub fn shard_ready_for_deletion() -> DesiredCondition {
    DesiredCondition::new(
        READY_FOR_DELETION,
        ConditionStatus::True,
        reason::DRAIN_COMPLETE,
        "All pods drained; shard is ready for deletion",
    )
}

/// What a storage-class guard checks (spec-controllers.md §5, §7.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageClassSubject<'a> {
    /// The TopoServer's etcd volumes.
    Etcd,
    /// The Shard's shared filesystem backup PVCs.
    Backup,
    /// The explicit classes of the Shard's pools; `missing` is the first `(class, pool)` not
    /// found.
    Pools { missing: Option<(&'a str, &'a str)> },
}

/// `StorageClassValid`. For `Etcd` and `Backup`, `class` is the named class (`None` ⇒ cluster
/// default) and `found` whether it exists; for `Pools`, `class` is `Some` when any pool names a
/// class and `found` is ignored in favour of `missing`.
pub fn storage_class_valid(
    subject: StorageClassSubject<'_>,
    class: Option<&str>,
    found: bool,
) -> DesiredCondition {
    let (status, reason, message) = match (subject, class) {
        (StorageClassSubject::Etcd, None) => (
            true,
            reason::STORAGE_CLASS_NOT_SPECIFIED,
            "No explicit etcd StorageClass configured; using cluster default".to_owned(),
        ),
        (StorageClassSubject::Etcd, Some(class)) if found => (
            true,
            reason::STORAGE_CLASS_FOUND,
            format!("StorageClass \"{class}\" found for etcd PVCs"),
        ),
        (StorageClassSubject::Etcd, Some(class)) => (
            false,
            reason::STORAGE_CLASS_NOT_FOUND,
            format!("StorageClass \"{class}\" not found for etcd PVCs"),
        ),
        (StorageClassSubject::Backup, None) => (
            true,
            reason::STORAGE_CLASS_NOT_SPECIFIED,
            "No explicit backup filesystem StorageClass configured; using cluster default"
                .to_owned(),
        ),
        (StorageClassSubject::Backup, Some(class)) if found => (
            true,
            reason::STORAGE_CLASS_FOUND,
            format!("StorageClass \"{class}\" found for shared backup PVCs"),
        ),
        (StorageClassSubject::Backup, Some(class)) => (
            false,
            reason::STORAGE_CLASS_NOT_FOUND,
            format!("StorageClass \"{class}\" not found for shared backup PVCs"),
        ),
        (
            StorageClassSubject::Pools {
                missing: Some((class, pool)),
            },
            _,
        ) => (
            false,
            reason::STORAGE_CLASS_NOT_FOUND,
            format!("StorageClass \"{class}\" not found for pool {pool}"),
        ),
        (StorageClassSubject::Pools { missing: None }, None) => (
            true,
            reason::STORAGE_CLASS_NOT_SPECIFIED,
            "No explicit pool StorageClass configured; using cluster default".to_owned(),
        ),
        (StorageClassSubject::Pools { missing: None }, Some(_)) => (
            true,
            reason::STORAGE_CLASS_FOUND,
            "All explicit pool StorageClasses are present".to_owned(),
        ),
    };
    DesiredCondition::new(
        STORAGE_CLASS_VALID,
        ConditionStatus::from_bool(status),
        reason,
        message,
    )
}

// --- Aggregates over children (spec-api.md §15.5, §15.6) ------------------------------------

/// The status of a child CR as a parent sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildObservation {
    /// The child's `metadata.generation`.
    pub generation: i64,
    /// The child's `status.observedGeneration` (absent before its first status write).
    pub observed_generation: Option<i64>,
    /// The child's `status.phase` (absent or unknown text ⇒ `None`).
    pub phase: Option<Phase>,
}

impl ChildObservation {
    /// The child's status describes its current spec; stale children count as not healthy and
    /// never as degraded.
    fn up_to_date(&self) -> bool {
        self.observed_generation == Some(self.generation)
    }

    fn up_to_date_in(&self, phase: Phase) -> bool {
        self.up_to_date() && self.phase == Some(phase)
    }
}

/// TableGroup phase over the Shards that exist; `total` is the number of shards in its spec.
pub fn table_group_phase(total: usize, shards: &[ChildObservation]) -> PhaseStatus {
    let ready = table_group_ready_shards(shards);
    if total == 0 {
        return PhaseStatus::new(Phase::Initializing, "No Shards");
    }
    if shards.iter().any(|s| s.up_to_date_in(Phase::Degraded)) {
        return PhaseStatus::new(Phase::Degraded, "At least one shard is degraded");
    }
    if ready == total {
        return PhaseStatus::new(Phase::Healthy, "Ready");
    }
    PhaseStatus::new(Phase::Progressing, format!("{ready}/{total} shards ready"))
}

/// `status.readyShards` of a TableGroup: existing, up-to-date, Healthy Shards.
pub fn table_group_ready_shards(shards: &[ChildObservation]) -> usize {
    shards
        .iter()
        .filter(|s| s.up_to_date_in(Phase::Healthy))
        .count()
}

/// TableGroup `Available`: True when Healthy or when it has no shards; reason always
/// `ShardsReady`.
pub fn table_group_available(total: usize, shards: &[ChildObservation]) -> DesiredCondition {
    let ready = table_group_ready_shards(shards);
    let phase = table_group_phase(total, shards).phase;
    DesiredCondition::new(
        AVAILABLE,
        ConditionStatus::from_bool(phase == Phase::Healthy || total == 0),
        reason::SHARDS_READY,
        format!("{ready}/{total} shards ready"),
    )
}

/// TableGroup `ReadyForDeletion` once every Shard is ready for deletion.
pub fn table_group_ready_for_deletion() -> DesiredCondition {
    DesiredCondition::new(
        READY_FOR_DELETION,
        ConditionStatus::True,
        reason::ALL_SHARDS_READY,
        "All child Shards are ready for deletion",
    )
}

/// MultigresCluster phase over all its Cells, TableGroups and TopoServers. With no children the
/// cluster is Healthy; it is never Initializing or Unknown.
pub fn cluster_phase(children: &[ChildObservation]) -> PhaseStatus {
    if children.iter().any(|c| c.up_to_date_in(Phase::Degraded)) {
        PhaseStatus::new(Phase::Degraded, "Cluster is degraded")
    } else if children.iter().all(|c| c.up_to_date_in(Phase::Healthy)) {
        PhaseStatus::new(Phase::Healthy, "Ready")
    } else {
        PhaseStatus::new(Phase::Progressing, "Cluster is progressing")
    }
}

/// MultigresCluster `Available`: `status.cells` is non-empty and every cell is ready (its
/// `Available` is True and its status is up to date).
pub fn cluster_available(cells_ready: &[bool]) -> DesiredCondition {
    let available = !cells_ready.is_empty() && cells_ready.iter().all(|ready| *ready);
    DesiredCondition::new(
        AVAILABLE,
        ConditionStatus::from_bool(available),
        reason::AGGREGATED_STATUS,
        "Aggregation of cell availability",
    )
}

/// Which externally exposed Service an `*ExternalReady` condition describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalExposure {
    /// `{cluster}-multigateway` (`GatewayExternalReady`).
    Gateway,
    /// `{cluster}-multiadmin-web` (`AdminWebExternalReady`).
    AdminWeb,
}

/// `GatewayExternalReady` / `AdminWebExternalReady`: `endpoint` is the Service's external
/// endpoint ("" while none), `ready_pods` the ready gateway pods of up-to-date Cells or the
/// ready admin web replicas.
pub fn external_ready(
    exposure: ExternalExposure,
    endpoint: &str,
    ready_pods: i64,
) -> DesiredCondition {
    let (type_, waiting, no_ready_reason, no_ready) = match exposure {
        ExternalExposure::Gateway => (
            GATEWAY_EXTERNAL_READY,
            "Waiting for gateway service endpoint",
            reason::NO_READY_GATEWAYS,
            "External endpoint assigned but no multigateway pods are ready",
        ),
        ExternalExposure::AdminWeb => (
            ADMIN_WEB_EXTERNAL_READY,
            "Waiting for admin web service endpoint",
            reason::NO_READY_ADMIN_WEB,
            "External endpoint assigned but no multiadmin-web pods are ready",
        ),
    };
    if endpoint.is_empty() {
        DesiredCondition::new(
            type_,
            ConditionStatus::False,
            reason::AWAITING_ENDPOINT,
            waiting,
        )
    } else if ready_pods == 0 {
        DesiredCondition::new(type_, ConditionStatus::False, no_ready_reason, no_ready)
    } else {
        DesiredCondition::new(
            type_,
            ConditionStatus::True,
            reason::ENDPOINT_READY,
            format!("External endpoint {endpoint} is serving traffic"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStateWaiting, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use k8s_openapi::jiff::Timestamp;
    use pretty_assertions::assert_eq;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).expect("valid test timestamp"))
    }

    fn child(generation: i64, observed: Option<i64>, phase: Option<Phase>) -> ChildObservation {
        ChildObservation {
            generation,
            observed_generation: observed,
            phase,
        }
    }

    fn condition(
        status: &str,
        reason: &str,
        message: &str,
        generation: i64,
        time: i64,
    ) -> Condition {
        Condition {
            type_: AVAILABLE.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message: message.to_owned(),
            observed_generation: Some(generation),
            last_transition_time: at(time),
        }
    }

    #[test]
    fn phase_names_round_trip() {
        for phase in [
            Phase::Initializing,
            Phase::Progressing,
            Phase::Healthy,
            Phase::Degraded,
            Phase::Unknown,
        ] {
            assert_eq!(Phase::parse(phase.as_str()), Some(phase));
        }
        assert_eq!(Phase::parse("Ready"), None);
    }

    #[test]
    fn new_condition_is_appended_at_now() {
        let mut conditions = Vec::new();
        let desired = shard_available(&ShardObservation {
            total_pods: 3,
            ready_pods: 1,
            pool_pods_crash_looping: false,
            orch_pods_crash_looping: false,
            orch_ready: true,
        });
        assert!(set_condition(&mut conditions, &desired, Some(4), &at(100)));
        assert_eq!(
            conditions,
            [condition(
                "False",
                "NotAllPodsReady",
                "1/3 pods ready",
                4,
                100
            )]
        );
    }

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let mut conditions = vec![condition(
            "False",
            "NotAllPodsReady",
            "1/3 pods ready",
            4,
            100,
        )];
        let progressing = DesiredCondition::new(
            AVAILABLE,
            ConditionStatus::False,
            reason::NOT_ALL_PODS_READY,
            "2/3 pods ready",
        );
        assert!(set_condition(
            &mut conditions,
            &progressing,
            Some(5),
            &at(200)
        ));
        assert_eq!(
            conditions,
            [condition(
                "False",
                "NotAllPodsReady",
                "2/3 pods ready",
                5,
                100
            )]
        );
        let ready = DesiredCondition::new(
            AVAILABLE,
            ConditionStatus::True,
            reason::ALL_PODS_READY,
            "All 3 pods are ready",
        );
        assert!(set_condition(&mut conditions, &ready, Some(5), &at(300)));
        assert_eq!(
            conditions,
            [condition(
                "True",
                "AllPodsReady",
                "All 3 pods are ready",
                5,
                300
            )]
        );
    }

    #[test]
    fn unchanged_condition_reports_no_change() {
        let mut conditions = vec![condition(
            "True",
            "AllPodsReady",
            "All 3 pods are ready",
            5,
            300,
        )];
        let before = conditions.clone();
        let ready = DesiredCondition::new(
            AVAILABLE,
            ConditionStatus::True,
            reason::ALL_PODS_READY,
            "All 3 pods are ready",
        );
        assert!(!set_condition(&mut conditions, &ready, Some(5), &at(400)));
        assert_eq!(conditions, before);
    }

    #[test]
    fn remove_and_lookup_conditions() {
        let mut conditions = vec![condition(
            "True",
            "AllPodsReady",
            "All 3 pods are ready",
            5,
            300,
        )];
        assert!(is_condition_true(&conditions, AVAILABLE));
        assert!(!is_condition_true(&conditions, READY));
        assert!(remove_condition(&mut conditions, AVAILABLE));
        assert!(!remove_condition(&mut conditions, AVAILABLE));
        assert_eq!(conditions, []);
    }

    #[test]
    fn compute_phase_counts() {
        assert_eq!(
            [
                compute_phase(0, 0),
                compute_phase(2, 2),
                compute_phase(1, 2)
            ],
            [Phase::Initializing, Phase::Healthy, Phase::Progressing]
        );
    }

    fn pod_with(
        containers: Vec<ContainerStatus>,
        init: Vec<ContainerStatus>,
        deleting: bool,
    ) -> Pod {
        Pod {
            metadata: ObjectMeta {
                deletion_timestamp: deleting.then(|| at(1)),
                ..ObjectMeta::default()
            },
            status: Some(PodStatus {
                container_statuses: Some(containers),
                init_container_statuses: Some(init),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    fn waiting(reason: &str) -> ContainerStatus {
        ContainerStatus {
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.to_owned()),
                    message: None,
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }
    }

    fn terminated(restarts: i32) -> ContainerStatus {
        ContainerStatus {
            restart_count: restarts,
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated::default()),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }
    }

    #[test]
    fn crash_loop_detection_follows_go() {
        let cases = [
            (
                pod_with(vec![waiting("CrashLoopBackOff")], vec![], false),
                true,
            ),
            (pod_with(vec![waiting("OOMKilled")], vec![], false), true),
            (
                pod_with(vec![], vec![waiting("ImagePullBackOff")], false),
                true,
            ),
            (
                pod_with(vec![waiting("ErrImagePull")], vec![], false),
                false,
            ),
            (pod_with(vec![terminated(3)], vec![], false), true),
            (pod_with(vec![terminated(2)], vec![], false), false),
            (Pod::default(), false),
        ];
        let results: Vec<bool> = cases.iter().map(|(pod, _)| is_crash_looping(pod)).collect();
        let expected: Vec<bool> = cases.iter().map(|(_, crashing)| *crashing).collect();
        assert_eq!(results, expected);
        let deleting = pod_with(vec![waiting("CrashLoopBackOff")], vec![], true);
        assert!(!any_crash_looping(std::slice::from_ref(&deleting)));
        assert!(any_crash_looping(&[deleting, cases[0].0.clone()]));
    }

    #[test]
    fn workload_phase_checks_crash_loops_then_generation_then_counts() {
        let base = WorkloadObservation {
            ready: 1,
            total: 2,
            generation: 3,
            observed_generation: 3,
            pods_crash_looping: Some(false),
            component: "Gateway",
        };
        let cases = [
            (
                WorkloadObservation {
                    pods_crash_looping: Some(true),
                    observed_generation: 2,
                    ..base
                },
                PhaseStatus::new(
                    Phase::Degraded,
                    "Gateway: one or more pods are crash-looping",
                ),
            ),
            (
                WorkloadObservation {
                    observed_generation: 2,
                    ready: 2,
                    ..base
                },
                PhaseStatus::new(Phase::Progressing, "Gateway is progressing"),
            ),
            (
                base,
                PhaseStatus::new(Phase::Progressing, "Gateway: 1/2 replicas ready"),
            ),
            (
                WorkloadObservation {
                    ready: 0,
                    total: 0,
                    component: "StatefulSet",
                    ..base
                },
                PhaseStatus::new(Phase::Initializing, "StatefulSet: 0/0 replicas ready"),
            ),
            (
                WorkloadObservation {
                    ready: 2,
                    pods_crash_looping: None,
                    ..base
                },
                PhaseStatus::new(Phase::Healthy, "Ready"),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(compute_workload_phase(&input), expected, "{input:?}");
        }
    }

    #[test]
    fn cell_conditions() {
        let gateway = DeploymentObservation {
            generation: 2,
            observed_generation: 2,
            replicas: 2,
            ready_replicas: 1,
        };
        assert_eq!(
            [cell_available(&gateway), cell_ready(&gateway)],
            [
                DesiredCondition::new(
                    "Available",
                    ConditionStatus::True,
                    "MultiGatewayAvailable",
                    "MultiGateway 1/2 replicas ready"
                ),
                DesiredCondition::new(
                    "Ready",
                    ConditionStatus::False,
                    "MultiGatewayNotReady",
                    "MultiGateway 1/2 ready, waiting for full convergence"
                ),
            ]
        );
        let converged = DeploymentObservation {
            ready_replicas: 2,
            ..gateway
        };
        assert_eq!(
            cell_ready(&converged),
            DesiredCondition::new(
                "Ready",
                ConditionStatus::True,
                "MultiGatewayReady",
                "All replicas match desired state"
            )
        );
        let none = DeploymentObservation {
            ready_replicas: 0,
            ..gateway
        };
        assert_eq!(
            cell_available(&none),
            DesiredCondition::new(
                "Available",
                ConditionStatus::False,
                "MultiGatewayUnavailable",
                "No ready replicas available"
            )
        );
        assert_eq!(
            cell_ready_for_deletion(),
            DesiredCondition::new(
                "ReadyForDeletion",
                ConditionStatus::True,
                "StatelessComponent",
                "Cell is stateless; ready for deletion"
            )
        );
    }

    #[test]
    fn topo_server_ready_condition() {
        assert_eq!(
            [
                topo_server_ready(4, 4, 3, 3),
                topo_server_ready(4, 4, 3, 2),
                topo_server_ready(4, 3, 3, 3),
                topo_server_ready(4, 4, 0, 0),
            ],
            [
                DesiredCondition::new(
                    "Ready",
                    ConditionStatus::True,
                    "AllReplicasReady",
                    "All 3 replicas are ready"
                ),
                DesiredCondition::new(
                    "Ready",
                    ConditionStatus::False,
                    "NotAllReplicasReady",
                    "2/3 replicas ready"
                ),
                DesiredCondition::new(
                    "Ready",
                    ConditionStatus::False,
                    "NotAllReplicasReady",
                    "StatefulSet update in progress"
                ),
                DesiredCondition::new(
                    "Ready",
                    ConditionStatus::False,
                    "NotAllReplicasReady",
                    "0/0 replicas ready"
                ),
            ]
        );
    }

    #[test]
    fn shard_phase_and_available() {
        let healthy = ShardObservation {
            total_pods: 3,
            ready_pods: 3,
            pool_pods_crash_looping: false,
            orch_pods_crash_looping: false,
            orch_ready: true,
        };
        let cases = [
            (
                ShardObservation {
                    pool_pods_crash_looping: true,
                    orch_pods_crash_looping: true,
                    ..healthy
                },
                PhaseStatus::new(Phase::Degraded, "One or more pool pods are crash-looping"),
            ),
            (
                ShardObservation {
                    orch_pods_crash_looping: true,
                    ..healthy
                },
                PhaseStatus::new(
                    Phase::Degraded,
                    "One or more MultiOrch pods are crash-looping",
                ),
            ),
            (healthy, PhaseStatus::new(Phase::Healthy, "Ready")),
            (
                ShardObservation {
                    ready_pods: 2,
                    orch_ready: false,
                    ..healthy
                },
                PhaseStatus::new(Phase::Progressing, "PoolsReady: false, OrchReady: false"),
            ),
            (
                ShardObservation {
                    total_pods: 0,
                    ready_pods: 0,
                    ..healthy
                },
                PhaseStatus::new(Phase::Progressing, "PoolsReady: false, OrchReady: true"),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(shard_phase(&input), expected, "{input:?}");
        }
        assert_eq!(
            shard_available(&healthy),
            DesiredCondition::new(
                "Available",
                ConditionStatus::True,
                "AllPodsReady",
                "All 3 pods are ready"
            )
        );
    }

    #[test]
    fn shard_other_conditions() {
        assert_eq!(
            [
                shard_rolling_update("main", 2),
                shard_rolling_update("main", 0),
                shard_backup_healthy(true, "Last backup 2h ago"),
                shard_backup_healthy(false, "No backup in 26h"),
                shard_ready_for_deletion(),
            ],
            [
                DesiredCondition::new(
                    "RollingUpdate",
                    ConditionStatus::True,
                    "PodsDrifted",
                    "2 pods need update in pool main"
                ),
                DesiredCondition::new(
                    "RollingUpdate",
                    ConditionStatus::False,
                    "PodsUpToDate",
                    "All pods up to date in pool main"
                ),
                DesiredCondition::new(
                    "BackupHealthy",
                    ConditionStatus::True,
                    "BackupRecent",
                    "Last backup 2h ago"
                ),
                DesiredCondition::new(
                    "BackupHealthy",
                    ConditionStatus::False,
                    "BackupStale",
                    "No backup in 26h"
                ),
                DesiredCondition::new(
                    "ReadyForDeletion",
                    ConditionStatus::True,
                    "DrainComplete",
                    "All pods drained; shard is ready for deletion"
                ),
            ]
        );
    }

    #[test]
    fn storage_class_conditions() {
        use StorageClassSubject::{Backup, Etcd, Pools};
        let results: Vec<(ConditionStatus, &str, String)> = [
            storage_class_valid(Etcd, None, false),
            storage_class_valid(Etcd, Some("fast"), true),
            storage_class_valid(Etcd, Some("fast"), false),
            storage_class_valid(Backup, None, false),
            storage_class_valid(Backup, Some("nfs"), true),
            storage_class_valid(Backup, Some("nfs"), false),
            storage_class_valid(Pools { missing: None }, None, false),
            storage_class_valid(Pools { missing: None }, Some("fast"), true),
            storage_class_valid(
                Pools {
                    missing: Some(("slow", "main")),
                },
                Some("slow"),
                false,
            ),
        ]
        .into_iter()
        .map(|c| {
            assert_eq!(c.type_, "StorageClassValid");
            (c.status, c.reason, c.message)
        })
        .collect();
        use ConditionStatus::{False, True};
        let expected = [
            (
                True,
                "StorageClassNotSpecified",
                "No explicit etcd StorageClass configured; using cluster default",
            ),
            (
                True,
                "StorageClassFound",
                "StorageClass \"fast\" found for etcd PVCs",
            ),
            (
                False,
                "StorageClassNotFound",
                "StorageClass \"fast\" not found for etcd PVCs",
            ),
            (
                True,
                "StorageClassNotSpecified",
                "No explicit backup filesystem StorageClass configured; using cluster default",
            ),
            (
                True,
                "StorageClassFound",
                "StorageClass \"nfs\" found for shared backup PVCs",
            ),
            (
                False,
                "StorageClassNotFound",
                "StorageClass \"nfs\" not found for shared backup PVCs",
            ),
            (
                True,
                "StorageClassNotSpecified",
                "No explicit pool StorageClass configured; using cluster default",
            ),
            (
                True,
                "StorageClassFound",
                "All explicit pool StorageClasses are present",
            ),
            (
                False,
                "StorageClassNotFound",
                "StorageClass \"slow\" not found for pool main",
            ),
        ]
        .map(|(s, r, m)| (s, r, m.to_owned()));
        assert_eq!(results, expected);
    }

    #[test]
    fn table_group_phase_ignores_stale_shards() {
        let healthy = child(2, Some(2), Some(Phase::Healthy));
        let stale_degraded = child(3, Some(2), Some(Phase::Degraded));
        let degraded = child(2, Some(2), Some(Phase::Degraded));
        let cases = [
            (
                0,
                vec![],
                PhaseStatus::new(Phase::Initializing, "No Shards"),
            ),
            (
                2,
                vec![healthy, degraded],
                PhaseStatus::new(Phase::Degraded, "At least one shard is degraded"),
            ),
            (
                2,
                vec![healthy, stale_degraded],
                PhaseStatus::new(Phase::Progressing, "1/2 shards ready"),
            ),
            (1, vec![healthy], PhaseStatus::new(Phase::Healthy, "Ready")),
            (
                2,
                vec![healthy],
                PhaseStatus::new(Phase::Progressing, "1/2 shards ready"),
            ),
        ];
        for (total, shards, expected) in cases {
            assert_eq!(
                table_group_phase(total, &shards),
                expected,
                "{total} {shards:?}"
            );
        }
        assert_eq!(
            [
                table_group_available(0, &[]),
                table_group_available(2, &[healthy]),
                table_group_ready_for_deletion(),
            ],
            [
                DesiredCondition::new(
                    "Available",
                    ConditionStatus::True,
                    "ShardsReady",
                    "0/0 shards ready"
                ),
                DesiredCondition::new(
                    "Available",
                    ConditionStatus::False,
                    "ShardsReady",
                    "1/2 shards ready"
                ),
                DesiredCondition::new(
                    "ReadyForDeletion",
                    ConditionStatus::True,
                    "AllShardsReady",
                    "All child Shards are ready for deletion"
                ),
            ]
        );
    }

    #[test]
    fn cluster_phase_aggregates_children() {
        let healthy = child(1, Some(1), Some(Phase::Healthy));
        let cases = [
            (vec![], PhaseStatus::new(Phase::Healthy, "Ready")),
            (
                vec![healthy, healthy],
                PhaseStatus::new(Phase::Healthy, "Ready"),
            ),
            (
                vec![healthy, child(1, Some(1), Some(Phase::Degraded))],
                PhaseStatus::new(Phase::Degraded, "Cluster is degraded"),
            ),
            (
                vec![healthy, child(2, Some(1), Some(Phase::Degraded))],
                PhaseStatus::new(Phase::Progressing, "Cluster is progressing"),
            ),
            (
                vec![healthy, child(1, None, None)],
                PhaseStatus::new(Phase::Progressing, "Cluster is progressing"),
            ),
        ];
        for (children, expected) in cases {
            assert_eq!(cluster_phase(&children), expected, "{children:?}");
        }
        assert_eq!(
            [
                cluster_available(&[]).status,
                cluster_available(&[true, false]).status,
                cluster_available(&[true, true]).status,
            ],
            [
                ConditionStatus::False,
                ConditionStatus::False,
                ConditionStatus::True
            ]
        );
        assert_eq!(
            (
                cluster_available(&[true]).reason,
                cluster_available(&[true]).message
            ),
            (
                "AggregatedStatus",
                "Aggregation of cell availability".to_owned()
            )
        );
    }

    #[test]
    fn external_ready_conditions() {
        use ExternalExposure::{AdminWeb, Gateway};
        assert_eq!(
            [
                external_ready(Gateway, "", 3),
                external_ready(Gateway, "203.0.113.7", 0),
                external_ready(Gateway, "203.0.113.7", 2),
                external_ready(AdminWeb, "", 1),
                external_ready(AdminWeb, "admin.example.com", 0),
                external_ready(AdminWeb, "admin.example.com", 1),
            ],
            [
                DesiredCondition::new(
                    "GatewayExternalReady",
                    ConditionStatus::False,
                    "AwaitingEndpoint",
                    "Waiting for gateway service endpoint"
                ),
                DesiredCondition::new(
                    "GatewayExternalReady",
                    ConditionStatus::False,
                    "NoReadyGateways",
                    "External endpoint assigned but no multigateway pods are ready"
                ),
                DesiredCondition::new(
                    "GatewayExternalReady",
                    ConditionStatus::True,
                    "EndpointReady",
                    "External endpoint 203.0.113.7 is serving traffic"
                ),
                DesiredCondition::new(
                    "AdminWebExternalReady",
                    ConditionStatus::False,
                    "AwaitingEndpoint",
                    "Waiting for admin web service endpoint"
                ),
                DesiredCondition::new(
                    "AdminWebExternalReady",
                    ConditionStatus::False,
                    "NoReadyAdminWeb",
                    "External endpoint assigned but no multiadmin-web pods are ready"
                ),
                DesiredCondition::new(
                    "AdminWebExternalReady",
                    ConditionStatus::True,
                    "EndpointReady",
                    "External endpoint admin.example.com is serving traffic"
                ),
            ]
        );
    }
}
