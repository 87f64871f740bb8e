//! The Shard's data-plane step (spec-controllers.md §7.12): pod roles from the topology, stale
//! pooler records pruned, the drain state machine of every draining pod, and the backup health
//! check against the primary pooler (§8).
//!
//! The etcd work is `crate::topology`'s, the gRPC call `crate::pooler`'s; the decisions are
//! `drain.rs`'s and `backup_health.rs`'s; this step reads and writes through them, reports what
//! the pass's status write must carry ([`Observed`]) and returns when to look again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::ResourceExt;
use multigres_api::labels::{ANNOTATION_DRAIN_REQUESTED_AT, ANNOTATION_DRAIN_STATE, LABEL_CELL};
use multigres_api::v1alpha1::{Shard, ShardStatus};
use serde_json::{Map, Value, json};

use super::Error;
use super::backup_health::{BackupHealth, GET_BACKUPS_LIMIT, evaluate};
use super::drain::{DrainStep, Poolers, drain_start, next_step};
use super::pool::pod_ready;
use crate::apply::ApplyError;
use crate::context::Context;
use crate::controllers::error_policy::chain_text;
use crate::events::Source;
use crate::pooler::PoolerClient;
use crate::topology::records::{
    MultiPooler, PoolerRole, pod_matches_pooler, pooler_id_string, pooler_role, ready_primary,
};
use crate::topology::{TopoError, TopoStore, list_shard_poolers, unregister_pooler};

/// Requeue while the topology server cannot be reached (§10).
pub const TOPOLOGY_REQUEUE: Duration = Duration::from_secs(5);
/// Requeue while a drain progresses (§10).
pub const DRAIN_REQUEUE: Duration = Duration::from_secs(2);
/// Requeue of a Healthy shard without a PRIMARY while multiorch elects one (§10).
pub const NO_PRIMARY_REQUEUE: Duration = Duration::from_secs(10);
/// The whole step's deadline (§7.2 step 17).
const DEADLINE: Duration = Duration::from_secs(30);
/// How often the backups of a shard with a primary are checked at the latest. Go checks on
/// every Shard reconcile, and its Shards never go quiet; ours do, so without this a backup
/// growing stale would be seen at the next resync (10 h). Five minutes keeps the age metric
/// behind `MultigresBackupStale` (24 h, for 30 m) and the 25 h condition current to a few
/// minutes, for one `pgbackrest info` on the primary per shard and period.
pub const BACKUP_CHECK_INTERVAL: Duration = Duration::from_secs(300);
/// The event of a failed backup check.
const BACKUP_CHECK_FAILED: &str = "BackupCheckFailed";

/// When the step wants the Shard looked at again.
pub enum Next {
    Done,
    After(Duration),
}

/// What the step saw that the pass's status write carries; filled as the step goes, so what
/// was written before the step's deadline cut it short is still known.
#[derive(Default)]
pub struct Observed {
    /// `status.podRoles` as this step's patch wrote them, and the Shard as it left it.
    pub roles: Option<(BTreeMap<String, String>, Shard)>,
    /// The backup check's result (§8), when the primary answered.
    pub backup: Option<BackupHealth>,
    /// Whether a primary was found to ask (the Shard is then checked again within
    /// [`BACKUP_CHECK_INTERVAL`]).
    pub primary_found: bool,
}

/// The listing of one cell's poolers of the shard.
type CellPoolers = Result<Vec<MultiPooler>, TopoError>;

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// What the step does besides roles and drains.
#[derive(Clone, Copy)]
pub struct Steps {
    /// Unregister pooler records no pod matches (§7.12 step 4).
    pub prune: bool,
    /// Check the primary's backups (§7.12 step 6).
    pub backup_health: bool,
    /// The pass's phase is Healthy: with no PRIMARY, stop after the roles and look again in
    /// [`NO_PRIMARY_REQUEUE`] (§7.12 step 3; see [`waits_for_primary`]).
    pub healthy: bool,
}

/// Runs the step for `shard`, whose pods are `pods` and pool cells `cells`; what the pass's
/// status must carry goes to `observed`.
pub async fn run(
    context: &Context,
    shard: &Shard,
    reference: &ObjectReference,
    pods: &[Arc<Pod>],
    cells: &[String],
    steps: Steps,
    observed: &mut Observed,
) -> Result<Next, Error> {
    match tokio::time::timeout(
        DEADLINE,
        step(context, shard, reference, pods, cells, steps, observed),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Ok(Next::After(TOPOLOGY_REQUEUE)),
    }
}

async fn step(
    context: &Context,
    shard: &Shard,
    reference: &ObjectReference,
    pods: &[Arc<Pod>],
    cells: &[String],
    steps: Steps,
    observed: &mut Observed,
) -> Result<Next, Error> {
    let object = crate::controllers::reporting::object_key(shard);
    let topo = &shard.spec.global_topo_server;
    let store =
        match TopoStore::open(&topo.address, &topo.root_path, context.resolver.clone()).await {
            Ok(store) => store,
            Err(error) => {
                topology_warning(context, reference, &error).await;
                return Ok(Next::After(TOPOLOGY_REQUEUE));
            }
        };
    let spec = &shard.spec;
    // Poolers per cell, or why the cell could not be listed.
    let mut by_cell: BTreeMap<String, CellPoolers> = BTreeMap::new();
    for cell in cells {
        match list_shard_poolers(
            &store,
            cell,
            spec.database_name.as_str(),
            spec.table_group_name.as_str(),
            spec.shard_name.as_str(),
        )
        .await
        {
            Ok(poolers) => {
                by_cell.insert(cell.clone(), Ok(poolers));
            }
            Err(error) => {
                if !error.is_unavailable() {
                    tracing::warn!(shard = %object, cell, error = &error as &dyn std::error::Error, "failed to list poolers");
                }
                by_cell.insert(cell.clone(), Err(error));
            }
        }
    }
    if by_cell.values().all(Result::is_err)
        && let Some(error) = by_cell.values().find_map(|listed| listed.as_ref().err())
    {
        topology_warning(context, reference, error).await;
    }

    // Pod roles (§7.12 step 2): only what matched a pod; entries of pods no longer reported are
    // dropped only when every cell answered.
    let previous = shard.status.clone().unwrap_or_default();
    let roles = pod_roles(&previous, pods, &by_cell);
    let wait = waits_for_primary(steps.healthy, &roles, &by_cell);
    if roles != previous.pod_roles {
        let patched = write_roles(context, shard, &previous, &roles).await?;
        observed.roles = Some((roles, patched));
    }
    // No pruning, no drain, no backup check while multiorch has no primary (§7.12 step 3).
    if wait {
        tracing::debug!(shard = %object, "no PRIMARY pooler yet; the data-plane step waits");
        return Ok(Next::After(NO_PRIMARY_REQUEUE));
    }

    // Stale pooler records (§7.12 step 4).
    if steps.prune {
        let mut pruned = 0usize;
        for poolers in by_cell.values().flatten() {
            for pooler in poolers {
                if pods
                    .iter()
                    .any(|pod| pod_matches_pooler(&pod.name_any(), pooler))
                {
                    continue;
                }
                match unregister_pooler(&store, pooler).await {
                    Ok(()) => pruned += 1,
                    Err(error) => {
                        tracing::warn!(shard = %object, error = &error as &dyn std::error::Error, "failed to prune a pooler")
                    }
                }
            }
        }
        if pruned > 0 {
            context
                .events
                .normal(
                    Source::Shard,
                    reference,
                    "PoolersPruned",
                    format!("Pruned {pruned} stale pooler(s) from topology"),
                )
                .await;
        }
    }

    // Drains (§7.12 step 5).
    let now = context.now();
    let mut requeue = false;
    for pod in pods {
        let state = annotation(pod, ANNOTATION_DRAIN_STATE);
        if state.is_none() {
            continue;
        }
        let pod_name = pod.name_any();
        let cell = pod.labels().get(LABEL_CELL).cloned().unwrap_or_default();
        let mine = by_cell
            .get(&cell)
            .and_then(|listed| listed.as_ref().ok())
            .and_then(|poolers| poolers.iter().find(|p| pod_matches_pooler(&pod_name, p)));
        let poolers = match by_cell.get(&cell) {
            Some(Ok(_)) => Poolers::Listed {
                mine: mine.is_some(),
                primary: mine.is_some_and(|p| pooler_role(p) == PoolerRole::Primary),
            },
            _ => Poolers::Unavailable,
        };
        let started = drain_start(
            annotation(pod, ANNOTATION_DRAIN_REQUESTED_AT),
            pod.metadata.deletion_timestamp.as_ref().map(|t| t.0),
            now.0,
        );
        match next_step(
            state,
            started,
            pod.metadata.deletion_timestamp.is_some(),
            poolers,
            now.0,
        ) {
            DrainStep::Idle => {}
            DrainStep::Wait => requeue = true,
            DrainStep::Advance {
                state: next,
                unregister,
                completed,
                timed_out,
                primary,
            } => {
                if unregister
                    && let Some(pooler) = mine
                    && let Err(error) = unregister_pooler(&store, pooler).await
                    && !timed_out
                {
                    return Err(Error::Topology {
                        object,
                        source: error,
                    });
                }
                if primary && state == Some(super::drain::REQUESTED) {
                    context
                        .events
                        .warning(
                            Source::Shard,
                            reference,
                            "PrimaryDrain",
                            format!(
                                "Draining PRIMARY pod {pod_name}; multiorch will elect a new leader"
                            ),
                        )
                        .await;
                }
                set_drain_state(context, pod, next)
                    .await
                    .map_err(|source| Error::Apply {
                        object: object.clone(),
                        source,
                    })?;
                if completed || timed_out {
                    let cluster = shard
                        .labels()
                        .get(multigres_api::labels::LABEL_CLUSTER)
                        .cloned()
                        .unwrap_or_default();
                    context.metrics.record_drain(
                        &cluster,
                        &shard.name_any(),
                        if timed_out {
                            crate::telemetry::metrics::DrainResult::Timeout
                        } else {
                            crate::telemetry::metrics::DrainResult::Success
                        },
                    );
                }
                if completed {
                    context
                        .events
                        .normal(
                            Source::Shard,
                            reference,
                            "DrainCompleted",
                            format!("Pod {pod_name} completely drained"),
                        )
                        .await;
                }
                requeue = true;
            }
        }
    }

    // Backup health (§7.12 step 6, §8).
    if steps.backup_health {
        check_backups(context, shard, reference, pods, &by_cell, observed).await;
    }
    Ok(if requeue {
        Next::After(DRAIN_REQUEUE)
    } else {
        Next::Done
    })
}

/// §8 steps 1–3: the primary's backups, evaluated. Failures are `BackupCheckFailed` warnings
/// (the pass goes on, the status keeps what it had); no primary yet (bootstrap) is silent. The
/// age metric is set whenever the newest backup's time is known.
async fn check_backups(
    context: &Context,
    shard: &Shard,
    reference: &ObjectReference,
    pods: &[Arc<Pod>],
    by_cell: &BTreeMap<String, CellPoolers>,
    observed: &mut Observed,
) {
    let failed = |detail: String| async move {
        context
            .events
            .warning(
                Source::Shard,
                reference,
                BACKUP_CHECK_FAILED,
                format!("Failed to check backup health: {detail}"),
            )
            .await;
    };
    let ready: Vec<String> = pods
        .iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none() && pod_ready(pod))
        .map(|pod| pod.name_any())
        .collect();
    let ready: Vec<&str> = ready.iter().map(String::as_str).collect();
    let primary = match find_primary(by_cell, &ready) {
        Ok(Some(primary)) => primary,
        Ok(None) => return,
        Err(detail) => return failed(format!("finding primary pooler: {detail}")).await,
    };
    observed.primary_found = true;
    let answer = match PoolerClient::connect(primary, context.resolver.as_ref()).await {
        Ok(client) => client.get_backups(GET_BACKUPS_LIMIT).await,
        Err(error) => Err(error),
    };
    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            return failed(format!(
                "querying backups from primary {}: {}",
                pooler_id_string(primary),
                chain_text(&error)
            ))
            .await;
        }
    };
    context.events.resolved(
        reference.uid.as_deref().unwrap_or_default(),
        BACKUP_CHECK_FAILED,
    );
    let health = evaluate(&response.backups, context.now().0);
    if let Some(last) = &health.last {
        let cluster = shard
            .labels()
            .get(multigres_api::labels::LABEL_CLUSTER)
            .cloned()
            .unwrap_or_default();
        context.metrics.set_last_backup_age(
            &shard.namespace().unwrap_or_default(),
            &cluster,
            &shard.name_any(),
            // A backup stamped in the future (clock skew) is no age at all.
            Duration::try_from(last.age).unwrap_or_default(),
        );
    }
    observed.backup = Some(health);
}

/// Go `FindPrimaryPooler` over the listed cells, in order, with fix 13's choice of primary
/// ([`ready_primary`]): a cell that could not be listed stops the search with its error unless
/// the server was merely unavailable; every cell unavailable is an error too. The error is the
/// text of the event that reports it.
fn find_primary<'a>(
    by_cell: &'a BTreeMap<String, CellPoolers>,
    ready_pods: &[&str],
) -> Result<Option<&'a MultiPooler>, String> {
    let mut unavailable = 0usize;
    for listed in by_cell.values() {
        match listed {
            Ok(poolers) => {
                if let Some(primary) = ready_primary(poolers, ready_pods) {
                    return Ok(Some(primary));
                }
            }
            Err(error) if error.is_unavailable() => unavailable += 1,
            Err(error) => return Err(chain_text(error)),
        }
    }
    if unavailable > 0 && unavailable == by_cell.len() {
        return Err(format!(
            "all {unavailable} cell(s) unavailable, cannot determine primary"
        ));
    }
    Ok(None)
}

async fn topology_warning(context: &Context, reference: &ObjectReference, error: &TopoError) {
    // Go suppresses the event while the server is merely unreachable.
    if error.is_unavailable() {
        return;
    }
    context
        .events
        .warning(
            Source::Shard,
            reference,
            "TopologyError",
            format!(
                "Failed to connect to topology store: {}",
                crate::controllers::error_policy::chain_text(error)
            ),
        )
        .await;
}

/// Roles of the shard's pods as the topology reports them (§7.8).
/// Whether a Healthy shard's data-plane step stops after the roles because no pod is the
/// PRIMARY (§7.12 step 3): while multiorch elects one, nothing is pruned or drained, so a
/// replica that may be the best candidate is never taken away mid-election.
///
/// One deliberate difference: when every cell answered and not one pooler of the shard is
/// registered, there is nothing multiorch could elect from and waiting cannot end. Go waits
/// anyway (its scale-downs never finish on a data plane that does not register, such as
/// kubesim's simulated pods); here drains then go on, each pod's PVC still following its
/// policy (docs/compatibility.md). A cell that did not answer counts as one that may hold the
/// primary.
fn waits_for_primary(
    healthy: bool,
    roles: &BTreeMap<String, String>,
    by_cell: &BTreeMap<String, CellPoolers>,
) -> bool {
    if !healthy
        || roles
            .values()
            .any(|role| role == PoolerRole::Primary.as_str())
    {
        return false;
    }
    let all_answered = by_cell.values().all(Result::is_ok);
    let registered = by_cell
        .values()
        .any(|listed| listed.as_ref().is_ok_and(|poolers| !poolers.is_empty()));
    registered || !all_answered
}

fn pod_roles(
    previous: &ShardStatus,
    pods: &[Arc<Pod>],
    by_cell: &BTreeMap<String, CellPoolers>,
) -> BTreeMap<String, String> {
    let complete = by_cell.values().all(Result::is_ok);
    let mut found = BTreeMap::new();
    for poolers in by_cell.values().flatten() {
        for pooler in poolers {
            if let Some(pod) = pods
                .iter()
                .find(|pod| pod_matches_pooler(&pod.name_any(), pooler))
            {
                found.insert(pod.name_any(), pooler_role(pooler).as_str().to_owned());
            }
        }
    }
    if complete {
        return found;
    }
    let mut roles = previous.pod_roles.clone();
    roles.extend(found);
    roles
}

/// `status.podRoles` as a merge patch of the status (removed pods set to null); the Shard as
/// the patch left it.
async fn write_roles(
    context: &Context,
    shard: &Shard,
    previous: &ShardStatus,
    roles: &BTreeMap<String, String>,
) -> Result<Shard, Error> {
    let mut patch = Map::new();
    for (pod, role) in roles {
        patch.insert(pod.clone(), json!(role));
    }
    for pod in previous.pod_roles.keys() {
        if !roles.contains_key(pod) {
            patch.insert(pod.clone(), Value::Null);
        }
    }
    context
        .apply
        .merge_patch_status::<Shard>(
            &shard.namespace().unwrap_or_default(),
            &shard.name_any(),
            &json!({"status": {"podRoles": patch}}),
        )
        .await
        .map_err(|source| Error::Status {
            object: crate::controllers::reporting::object_key(shard),
            source,
        })
}

async fn set_drain_state(context: &Context, pod: &Pod, state: &str) -> Result<(), ApplyError> {
    context
        .apply
        .merge_patch::<Pod>(
            &pod.namespace().unwrap_or_default(),
            &pod.name_any(),
            &json!({"metadata": {"annotations": {ANNOTATION_DRAIN_STATE: state}}}),
        )
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::records::{Id, PoolerType};
    use pretty_assertions::assert_eq;

    fn pooler(cell: &str, pod: &str, kind: PoolerType) -> MultiPooler {
        MultiPooler {
            id: Some(Id {
                component: 1,
                cell: cell.into(),
                name: multigres_api::naming::multipooler_service_id(pod),
            }),
            hostname: format!("{pod}.h.ns.svc.cluster.local"),
            r#type: kind as i32,
            ..MultiPooler::default()
        }
    }

    fn unavailable() -> TopoError {
        TopoError::Unavailable {
            address: "t.ns.svc:2379".into(),
            source: Arc::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        }
    }

    fn cells(listed: Vec<(&str, CellPoolers)>) -> BTreeMap<String, CellPoolers> {
        listed
            .into_iter()
            .map(|(cell, poolers)| (cell.to_owned(), poolers))
            .collect()
    }

    #[test]
    fn a_healthy_shard_without_a_primary_waits_before_pruning_or_draining() {
        let roles = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(pod, role)| ((*pod).to_owned(), (*role).to_owned()))
                .collect()
        };
        let replicas = || {
            cells(vec![(
                "zone-a",
                Ok(vec![
                    pooler("zone-a", "pod-0", PoolerType::Replica),
                    pooler("zone-a", "pod-1", PoolerType::Replica),
                ]),
            )])
        };
        let no_primary = roles(&[("pod-0", "REPLICA"), ("pod-1", "REPLICA")]);
        // Registered poolers, none primary: multiorch is electing; wait.
        assert!(waits_for_primary(true, &no_primary, &replicas()));
        // Only a Healthy pass waits (Go: the in-memory phase of §7.2 step 4).
        assert!(!waits_for_primary(false, &no_primary, &replicas()));
        // A primary: go on.
        let with_primary = roles(&[("pod-0", "PRIMARY"), ("pod-1", "REPLICA")]);
        assert!(!waits_for_primary(true, &with_primary, &replicas()));
        // A cell that did not answer may hold the primary: wait.
        let partial = cells(vec![
            ("zone-a", Ok(Vec::new())),
            ("zone-b", Err(unavailable())),
        ]);
        assert!(waits_for_primary(true, &BTreeMap::new(), &partial));
        // Every cell answered and no pooler of the shard is registered: nothing to elect from.
        let empty = cells(vec![("zone-a", Ok(Vec::new())), ("zone-b", Ok(Vec::new()))]);
        assert!(!waits_for_primary(true, &BTreeMap::new(), &empty));
    }

    #[test]
    fn an_unavailable_cell_is_skipped_and_the_next_primary_found() {
        let by_cell = cells(vec![
            ("zone-a", Err(unavailable())),
            (
                "zone-b",
                Ok(vec![
                    pooler("zone-b", "pod-b0", PoolerType::Replica),
                    pooler("zone-b", "pod-b1", PoolerType::Primary),
                ]),
            ),
        ]);
        let found = find_primary(&by_cell, &["pod-b0", "pod-b1"]).expect("no error");
        assert_eq!(
            found,
            Some(&pooler("zone-b", "pod-b1", PoolerType::Primary))
        );
        // The primary's pod not Ready: no primary (bootstrap, or a stale record), no error.
        assert_eq!(find_primary(&by_cell, &["pod-b0"]), Ok(None));
    }

    #[test]
    fn another_error_before_the_primary_stops_the_search() {
        let by_cell = cells(vec![
            (
                "zone-a",
                Err(TopoError::NoNode {
                    key: "/multigres/global/cells/zone-a/Cell".into(),
                }),
            ),
            (
                "zone-b",
                Ok(vec![pooler("zone-b", "pod-b1", PoolerType::Primary)]),
            ),
        ]);
        assert_eq!(
            find_primary(&by_cell, &["pod-b1"]),
            Err("node doesn't exist: /multigres/global/cells/zone-a/Cell".to_owned())
        );
    }

    #[test]
    fn every_cell_unavailable_is_an_error() {
        let by_cell = cells(vec![
            ("zone-a", Err(unavailable())),
            ("zone-b", Err(unavailable())),
        ]);
        assert_eq!(
            find_primary(&by_cell, &["pod-b1"]),
            Err("all 2 cell(s) unavailable, cannot determine primary".to_owned())
        );
        assert_eq!(find_primary(&BTreeMap::new(), &[]), Ok(None));
    }
}
