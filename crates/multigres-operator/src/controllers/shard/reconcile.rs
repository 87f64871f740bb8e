//! One Shard pass (spec-controllers.md §7.2): deletion and pending deletion first; then the
//! status is computed from what exists, the shared objects, the storage guard, multiorch,
//! backup PVCs, every pool, the PVC ownerRefs and the data-plane step run, and the status goes
//! out in one write with what the data-plane step learned (the backup health of §8), whether
//! the steps succeeded or not.
//!
//! Reads come from the cache (`fetch.rs`); every write goes through `apply`; Events only for
//! what this pass changed. Pool pods and data PVCs are created, never updated in place: a spec
//! change rolls through `pool.rs`'s drains.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::core::DeserializeGuard;
use kube::{Resource, ResourceExt};
use multigres_api::conditions::{
    self, DesiredCondition, READY_FOR_DELETION, StorageClassSubject, is_condition_true,
    storage_class_valid,
};
use multigres_api::labels::{
    ANNOTATION_DRAIN_REQUESTED_AT, ANNOTATION_DRAIN_STATE, ANNOTATION_PENDING_DELETION, LABEL_CELL,
    LABEL_POOL, LABEL_ROLE,
};
use multigres_api::resolver::effective_pool_pvc_policy;
use multigres_api::v1alpha1::{BackupType, Phase, PvcRetentionPolicyType, Shard, ShardStatus};
use serde_json::{Value, json};

use super::Error;
use super::backup_health::{self, BackupEvent};
use super::build::pgbackrest_certs::uses_generated_certificates;
use super::build::pool_pod::{build_pool_pod, postgres_config_hash};
use super::build::pool_pvc::{build_pool_data_pvc, pool_when_scaled};
use super::build::{
    Desired, PgBackRestTls, ShardBuildInputs, ShardContext, build_shard_objects, multiorch_cells,
    pool_cells, pool_replicas_per_cell,
};
use super::cert_entropy::SystemCertEntropy;
use super::data_plane::{self, BACKUP_CHECK_INTERVAL, DRAIN_REQUEUE, Next, Observed, Steps};
use super::fetch;
use super::pgbackrest;
use super::pool::{DrainReason, PoolAction, PoolCell, drained_count, plan_pool};
use super::status::{OrchObservation, PoolObservation, compute_status};
use crate::apply::{ApplyError, SHARD_STATUS_MANAGER};
use crate::cache;
use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::apply_child::{adopt_or_apply_child, apply_child};
use crate::controllers::pending_deletion::rfc3339;
use crate::controllers::reporting::{object_key, run_pass};
use crate::controllers::status_write;
use crate::events::Source;

/// Requeue while a named StorageClass is missing (§10).
const MISSING_CLASS_REQUEUE: Duration = Duration::from_secs(10);
/// Pods terminating longer than this are treated as gone during pending deletion (§10).
const STUCK_TERMINATING: Duration = Duration::from_secs(60);

pub async fn reconcile(
    guarded: Arc<DeserializeGuard<Shard>>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    run_pass(
        &context,
        Source::Shard,
        guarded.as_ref(),
        pass(&guarded, &context),
    )
    .await
}

/// The `{key: value}` pairs of a selector, borrowed.
fn pairs(selector: &[(String, String)]) -> Vec<(&str, &str)> {
    selector
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn pass(guarded: &DeserializeGuard<Shard>, context: &Context) -> Result<Action, Error> {
    let shard = guarded.0.as_ref().map_err(|invalid| Error::Malformed {
        object: object_key(guarded),
        message: invalid.error.clone(),
    })?;
    let object = object_key(shard);
    let reference = shard.object_ref(&());
    let namespace = shard.namespace().unwrap_or_default();
    let build_error = |source| Error::Build {
        object: object.clone(),
        source,
    };
    let shard_context = ShardContext::new(shard).map_err(build_error)?;
    let cluster = shard_context.cluster.to_string();
    let selector = fetch::shard_selector(&cluster, shard);
    let pods = fetch::shard_pods(context, &namespace, &selector);

    if shard.metadata.deletion_timestamp.is_some() {
        return delete_workloads(context, shard, &selector, &pods).await;
    }
    let pending = shard
        .annotations()
        .get(ANNOTATION_PENDING_DELETION)
        .is_some_and(|value| !value.is_empty());
    if pending {
        return drain_for_deletion(context, shard, &reference, &pods).await;
    }

    // The status from what exists (§7.2 step 4). Go writes it first, then the data-plane step
    // patches the backup fields apart; here it waits for the steps so the backup result goes out
    // in the same write, and it is written whatever they return.
    let previous = shard.status.clone().unwrap_or_default();
    let orch_cells: Vec<String> = multiorch_cells(&shard_context)
        .map_err(build_error)?
        .iter()
        .map(|cell| cell.as_str().to_owned())
        .collect();
    let cells: Vec<String> = pool_cells(&shard.spec)
        .iter()
        .map(|cell| cell.as_str().to_owned())
        .collect();
    let guard = storage_guard(context, shard);
    let status = shard_status(
        context,
        shard,
        &shard_context,
        &previous,
        &orch_cells,
        &guard,
    )
    .await;
    let mut observed = Observed::default();
    let healthy = status.phase == Some(Phase::Healthy);
    let converged = converge(
        context,
        shard,
        &shard_context,
        &selector,
        &pods,
        &cells,
        &guard,
        healthy,
        &mut observed,
    )
    .await;
    let written = write_pass_status(context, shard, &previous, status, &observed).await;
    let after = converged?;
    written?;
    // A shard whose primary answered (or was found) has its backups checked again within the
    // interval (data_plane.rs says why).
    Ok(Action::requeue(if observed.primary_found {
        after.min(BACKUP_CHECK_INTERVAL)
    } else {
        after
    }))
}

/// The steps of a pass after the status is computed (§7.2 steps 5–17); when to look again.
#[allow(clippy::too_many_arguments)]
async fn converge(
    context: &Context,
    shard: &Shard,
    shard_context: &ShardContext<'_>,
    selector: &[(String, String)],
    pods: &[Arc<Pod>],
    cells: &[String],
    guard: &DesiredCondition,
    healthy: bool,
    observed: &mut Observed,
) -> Result<Duration, Error> {
    let object = object_key(shard);
    let reference = shard.object_ref(&());
    let namespace = shard.namespace().unwrap_or_default();
    let build_error = |source| Error::Build {
        object: object.clone(),
        source,
    };
    let apply_error = |source| Error::Apply {
        object: object.clone(),
        source,
    };

    // Inputs the builders need: the postgres config hash and the pgBackRest material.
    let postgres_config_hash = match &shard.spec.postgres_config_ref {
        None => None,
        Some(reference_) => {
            let content =
                fetch::postgres_config(context, &namespace, &reference_.name, &reference_.key)
                    .map_err(|message| Error::Config {
                        object: object.clone(),
                        message: format!(
                            "Failed to read postgres config ConfigMap {:?}: {message}",
                            reference_.name
                        ),
                    })?;
            Some(postgres_config_hash(&content))
        }
    };
    let pgbackrest_material = if uses_generated_certificates(&shard.spec) {
        let ca_name = format!("{}-pgbackrest-ca", shard.name_any());
        let tls_name = format!("{}-pgbackrest-tls", shard.name_any());
        let ca = cache::get(&context.cache.secrets, &namespace, &ca_name);
        let tls = cache::get(&context.cache.secrets, &namespace, &tls_name);
        let now = context.now().0;
        let assessment = pgbackrest::assess(ca.as_deref(), tls.as_deref(), now);
        Some(
            pgbackrest::material(assessment, &namespace, now, &mut SystemCertEntropy::new())
                .map_err(|source| Error::Certificates {
                    object: object.clone(),
                    source,
                })?,
        )
    } else {
        if let Some(name) = shard
            .spec
            .backup
            .as_ref()
            .and_then(|b| b.pgbackrest_tls.as_ref())
            .map(|tls| tls.secret_name.clone())
        {
            fetch::user_pgbackrest_secret(context, &namespace, &name)
                .await
                .map_err(|message| Error::Config {
                    object: object.clone(),
                    message,
                })?;
        }
        None
    };
    let inputs = ShardBuildInputs {
        postgres_config_hash,
        pgbackrest_material,
        operator_otel_env: context.settings.operator_otel_env.clone(),
    };
    let Desired {
        pg_hba_config_map,
        postgres_password_secret,
        pgbackrest_tls,
        multiorch_deployments,
        multiorch_services,
        backup_pvcs,
        pool_data_pvcs: _,
        pool_pods: _,
        pool_pdbs,
        pool_services,
    } = build_shard_objects(shard, &inputs).map_err(build_error)?;

    // Configuration first (§7.2 steps 5–7), then the guard.
    apply_child(
        context,
        &reference,
        &context.cache.config_maps,
        &pg_hba_config_map,
    )
    .await
    .map_err(apply_error)?;
    apply_child(
        context,
        &reference,
        &context.cache.secrets,
        &postgres_password_secret,
    )
    .await
    .map_err(apply_error)?;
    if let PgBackRestTls::Generated {
        ca_secret,
        tls_secret,
    } = &pgbackrest_tls
    {
        // Go creates these with a plain Create and rewrites them only to rotate them: after a
        // swap of operators, Secrets that already hold the material are kept as they are.
        for secret in [ca_secret.as_ref(), tls_secret.as_ref()] {
            adopt_or_apply_child(context, &reference, &context.cache.secrets, secret)
                .await
                .map_err(apply_error)?;
        }
    }
    if !storage_guard_passes(context, shard, &reference, guard).await {
        return Ok(MISSING_CLASS_REQUEUE);
    }

    for (deployment, service) in multiorch_deployments.iter().zip(&multiorch_services) {
        apply_child(context, &reference, &context.cache.deployments, deployment)
            .await
            .map_err(apply_error)?;
        apply_child(context, &reference, &context.cache.services, service)
            .await
            .map_err(apply_error)?;
    }
    for claim in &backup_pvcs {
        apply_child(context, &reference, &context.cache.pvcs, claim)
            .await
            .map_err(apply_error)?;
    }

    // Pools (§7.6), then their PDBs and headless Services.
    let pvcs = fetch::shard_pvcs(context, &namespace, selector);
    let mut drains_in_progress = false;
    for (pool_name, pool) in &shard.spec.pools {
        for cell in &pool.cells {
            let in_progress = reconcile_pool_cell(
                context,
                shard,
                shard_context,
                &inputs,
                &reference,
                (pool_name.as_str(), pool),
                cell.as_str(),
                pods,
                &pvcs,
            )
            .await?;
            drains_in_progress |= in_progress;
        }
    }
    for pdb in &pool_pdbs {
        apply_child(context, &reference, &context.cache.pdbs, pdb)
            .await
            .map_err(apply_error)?;
    }
    for service in &pool_services {
        apply_child(context, &reference, &context.cache.services, service)
            .await
            .map_err(apply_error)?;
    }

    // Prune the shard's multiorch and pool objects no longer desired (never pods or PVCs).
    let uid = shard.uid().unwrap_or_default();
    let keep_deployments: Vec<String> = multiorch_deployments
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    let keep_services: Vec<String> = multiorch_services
        .iter()
        .chain(&pool_services)
        .map(ResourceExt::name_any)
        .collect();
    let keep_pdbs: Vec<String> = pool_pdbs.iter().map(ResourceExt::name_any).collect();
    let owned_deployments: Vec<Arc<Deployment>> =
        cache::select(&context.cache.deployments, &namespace, &pairs(selector));
    context
        .apply
        .prune(&owned_deployments, &uid, &keep_deployments)
        .await
        .map_err(apply_error)?;
    let owned_services: Vec<Arc<Service>> =
        cache::select(&context.cache.services, &namespace, &pairs(selector));
    context
        .apply
        .prune(&owned_services, &uid, &keep_services)
        .await
        .map_err(apply_error)?;
    let owned_pdbs: Vec<Arc<PodDisruptionBudget>> =
        cache::select(&context.cache.pdbs, &namespace, &pairs(selector));
    context
        .apply
        .prune(&owned_pdbs, &uid, &keep_pdbs)
        .await
        .map_err(apply_error)?;

    sync_pvc_owner_references(context, shard, &pvcs).await?;

    // The data-plane step (§7.12).
    let prune = shard
        .spec
        .topology_pruning
        .as_ref()
        .is_none_or(|pruning| pruning.enabled != Some(false));
    let pods = fetch::shard_pods(context, &namespace, selector);
    let steps = Steps {
        prune,
        backup_health: true,
        healthy,
    };
    let next = data_plane::run(context, shard, &reference, &pods, cells, steps, observed).await?;
    Ok(match next {
        Next::After(after) => after,
        Next::Done if drains_in_progress => DRAIN_REQUEUE,
        Next::Done => context.settings.resync,
    })
}

/// The status of the pass, written once whatever the steps returned: the status computed at
/// its start, the pod roles as the data-plane step left them, and the backup check's result;
/// then the backup transition's event (once the status says so).
async fn write_pass_status(
    context: &Context,
    shard: &Shard,
    previous: &ShardStatus,
    mut status: ShardStatus,
    observed: &Observed,
) -> Result<(), Error> {
    // The roles patch moved the Shard on: compare with (and carry) what it wrote, so this write
    // neither repeats nor undoes it.
    let mut live = match &observed.roles {
        Some((roles, patched)) => {
            status.pod_roles.clone_from(roles);
            Cow::Borrowed(patched)
        }
        None => Cow::Borrowed(shard),
    };
    let mut previous = Cow::Borrowed(previous);
    let mut event = None;
    if let Some(health) = &observed.backup {
        let now = context.now();
        let generation = shard.metadata.generation;
        let mut folded = status.clone();
        event = backup_health::fold(&mut folded, health, generation, &now);
        if !backup_health::same_backup_state(&folded, &status) {
            // The result changes what the cache shows. The cache may not have this process's
            // last write yet (a pass started by the roles patch's watch event, say): folded on
            // it, an unchanged result would look new, move the transition time and repeat its
            // event. So the change is folded onto the Shard as the server has it: one GET per
            // new backup or verdict, none at steady state.
            let (namespace, name) = (shard.namespace().unwrap_or_default(), shard.name_any());
            let fresh: Shard = context
                .apply
                .read(&namespace, &name)
                .await
                .map_err(|source| Error::Status {
                    object: object_key(shard),
                    source,
                })?;
            let server = fresh.status.clone().unwrap_or_default();
            backup_health::take_backup_state(&mut status, &server);
            event = backup_health::fold(&mut status, health, generation, &now);
            previous = Cow::Owned(server);
            live = Cow::Owned(fresh);
        } else {
            status = folded;
        }
    }
    status_write::write_status(
        context,
        Source::Shard,
        live.as_ref(),
        SHARD_STATUS_MANAGER,
        previous.as_ref(),
        &status,
    )
    .await
    .map_err(|source| Error::Status {
        object: object_key(shard),
        source,
    })?;
    let reference = shard.object_ref(&());
    let uid = shard.uid().unwrap_or_default();
    match event {
        Some(BackupEvent::Healthy(message)) => {
            context.events.resolved(&uid, "BackupStale");
            context
                .events
                .normal(Source::Shard, &reference, "BackupHealthy", message)
                .await;
        }
        Some(BackupEvent::Stale(message)) => {
            context
                .events
                .warning(Source::Shard, &reference, "BackupStale", message)
                .await;
        }
        None => {}
    }
    Ok(())
}

/// The Shard status from what exists (§7.2 step 4), with its metrics and the PoolEmpty
/// warnings; written by [`write_pass_status`].
async fn shard_status(
    context: &Context,
    shard: &Shard,
    shard_context: &ShardContext<'_>,
    previous: &ShardStatus,
    orch_cells: &[String],
    guard: &DesiredCondition,
) -> ShardStatus {
    let namespace = shard.namespace().unwrap_or_default();
    let reference = shard.object_ref(&());
    let mut pools = Vec::new();
    let mut pool_keys = Vec::new();
    for (pool_name, pool) in &shard.spec.pools {
        for cell in &pool.cells {
            pool_keys.push((
                pool_name.as_str().to_owned(),
                cell.as_str().to_owned(),
                pool,
            ));
        }
    }
    for (pool_name, cell, pool) in &pool_keys {
        let selector = pool_selector(shard_context, pool_name, cell);
        pools.push(PoolObservation {
            pool: pool_name,
            cell,
            desired: i64::from(pool_replicas_per_cell(pool)),
            pods: cache::select(&context.cache.pods, &namespace, &pairs(&selector)),
        });
    }
    let orch: Vec<OrchObservation> = orch_cells
        .iter()
        .map(|cell| {
            let name =
                multigres_api::naming::multiorch_deployment_name(&shard_context.parts(), cell)
                    .into_string();
            let deployment = cache::get(&context.cache.deployments, &namespace, &name);
            let pods = deployment
                .as_ref()
                .and_then(|d| d.spec.as_ref())
                .and_then(|spec| spec.selector.match_labels.clone())
                .map(|labels| {
                    let labels: Vec<(String, String)> = labels.into_iter().collect();
                    cache::select(&context.cache.pods, &namespace, &pairs(&labels))
                })
                .unwrap_or_default();
            OrchObservation { deployment, pods }
        })
        .collect();
    let (status, counts) = compute_status(
        shard,
        previous,
        &pools,
        &orch,
        orch_cells,
        guard,
        &context.now(),
    );
    let uid = shard.uid().unwrap_or_default();
    let cluster = shard_context.cluster.to_string();
    context
        .series
        .track(crate::telemetry::deleted_series::Tracked::Shard {
            namespace: namespace.clone(),
            cluster: cluster.clone(),
            name: shard.name_any(),
        });
    for count in &counts {
        let key = crate::telemetry::metrics::PoolKey {
            namespace: namespace.clone(),
            cluster: cluster.clone(),
            shard: shard.name_any(),
            pool: count.pool.clone(),
            cell: count.cell.clone(),
        };
        context.metrics.set_shard_pool_replicas(
            &key,
            i32::try_from(count.desired).unwrap_or(i32::MAX),
            i32::try_from(count.ready).unwrap_or(i32::MAX),
        );
        context
            .series
            .track(crate::telemetry::deleted_series::Tracked::Pool {
                namespace: key.namespace,
                cluster: key.cluster,
                shard: key.shard,
                pool: key.pool,
                cell: key.cell,
            });
        // One memory per pool cell: with two empty cells the warning must not alternate
        // between their notes (a new publication on every pass).
        let subject = format!("PoolEmpty/{}/{}", count.pool, count.cell);
        if count.desired > 0 && count.ready == 0 {
            context
                .events
                .warning_about(
                    Source::Shard,
                    &reference,
                    "PoolEmpty",
                    &subject,
                    format!(
                        "Pool {} in cell {} has 0 ready replicas",
                        count.pool, count.cell
                    ),
                )
                .await;
        } else {
            context.events.resolved(&uid, &subject);
        }
    }
    status
}

/// The pool selector of §7.4: the pool labels without name, part-of and managed-by.
fn pool_selector(shard: &ShardContext<'_>, pool: &str, cell: &str) -> Vec<(String, String)> {
    let parts = shard.pool_parts(pool, cell);
    let labels = multigres_api::labels::pool_labels(&parts, &shard.labels);
    multigres_api::labels::selector_labels(&labels)
        .into_iter()
        .collect()
}

/// One `StorageClassValid` condition from both guards (fix 12: Go writes it twice per pass with
/// two messages, each in a status write of its own); it goes out with the pass's status write.
fn storage_guard(context: &Context, shard: &Shard) -> DesiredCondition {
    let exists =
        |class: &str| cache::get_cluster_scoped(&context.cache.storage_classes, class).is_some();
    let backup_class = shard
        .spec
        .backup
        .as_ref()
        .filter(|backup| backup.type_ == BackupType::Filesystem)
        .and_then(|backup| backup.filesystem.as_ref())
        .map(|fs| fs.storage.class.as_str())
        .filter(|class| !class.is_empty());
    let backup = storage_class_valid(
        StorageClassSubject::Backup,
        backup_class,
        backup_class.is_some_and(exists),
    );
    let named: Vec<(&str, &str)> = shard
        .spec
        .pools
        .iter()
        .filter(|(_, pool)| !pool.storage.class.is_empty())
        .map(|(name, pool)| (pool.storage.class.as_str(), name.as_str()))
        .collect();
    let missing = named.iter().find(|(class, _)| !exists(class)).copied();
    let pools = storage_class_valid(
        StorageClassSubject::Pools { missing },
        named.first().map(|(class, _)| *class),
        missing.is_none(),
    );
    if backup.status == conditions::ConditionStatus::False {
        backup
    } else {
        pools
    }
}

/// The guard's Warning while a named class is missing (once until it is back); `false` when
/// the pass must wait.
async fn storage_guard_passes(
    context: &Context,
    shard: &Shard,
    reference: &ObjectReference,
    condition: &DesiredCondition,
) -> bool {
    if condition.status == conditions::ConditionStatus::False {
        context
            .events
            .warning(
                Source::Shard,
                reference,
                "StorageClassNotFound",
                condition.message.clone(),
            )
            .await;
        return false;
    }
    context
        .events
        .resolved(&shard.uid().unwrap_or_default(), "StorageClassNotFound");
    true
}

/// Plans and carries out one pool in one cell; returns whether a drain is in progress.
#[allow(clippy::too_many_arguments)]
async fn reconcile_pool_cell(
    context: &Context,
    shard: &Shard,
    shard_context: &ShardContext<'_>,
    inputs: &ShardBuildInputs,
    reference: &ObjectReference,
    (pool_name, pool): (&str, &multigres_api::v1alpha1::PoolSpec),
    cell: &str,
    pods: &[Arc<Pod>],
    pvcs: &[Arc<PersistentVolumeClaim>],
) -> Result<bool, Error> {
    let object = object_key(shard);
    let build_error = |source| Error::Build {
        object: object.clone(),
        source,
    };
    let apply_error = |source| Error::Apply {
        object: object.clone(),
        source,
    };
    let in_pool = |labels: &BTreeMap<String, String>| {
        labels.get(LABEL_POOL).is_some_and(|p| p == pool_name)
            && labels.get(LABEL_CELL).is_some_and(|c| c == cell)
    };
    let pool_pods: Vec<&Pod> = pods
        .iter()
        .map(Arc::as_ref)
        .filter(|pod| in_pool(pod.labels()))
        .collect();
    let pool_pvcs: BTreeMap<String, &PersistentVolumeClaim> = pvcs
        .iter()
        .map(Arc::as_ref)
        .filter(|pvc| in_pool(pvc.labels()))
        .map(|pvc| (pvc.name_any(), pvc))
        .collect();
    let roles = shard
        .status
        .as_ref()
        .map(|status| status.pod_roles.clone())
        .unwrap_or_default();
    let replicas = pool_replicas_per_cell(pool);
    let effective = replicas + drained_count(&pool_pods, &roles);
    let desired = (0..effective)
        .map(|index| {
            Ok((
                build_pool_pod(shard_context, inputs, pool_name, pool, cell, index)?,
                build_pool_data_pvc(shard_context, pool_name, pool, cell, index)?,
            ))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(build_error)?;
    let plan = plan_pool(&PoolCell {
        replicas,
        pods: pool_pods.clone(),
        pvcs: pool_pvcs,
        desired,
        roles: &roles,
        delete_pvc_when_scaled: pool_when_scaled(pool, &shard.spec)
            == PvcRetentionPolicyType::Delete,
    });
    let namespace = shard.namespace().unwrap_or_default();
    let key = crate::telemetry::metrics::PoolKey {
        namespace: namespace.clone(),
        cluster: shard_context.cluster.to_string(),
        shard: shard.name_any(),
        pool: pool_name.to_owned(),
        cell: cell.to_owned(),
    };
    context.metrics.set_pool_pods_drifted(&key, plan.drifted);
    context
        .metrics
        .set_rolling_update_in_progress(&key, plan.rolling_update_in_progress);
    let now = context.now();
    for action in plan.actions {
        match action {
            PoolAction::CreatePvc(claim) => {
                // A Retain volume has no ownerReference: created for a deleted Shard, it
                // would be an orphan (owner_liveness.rs).
                context
                    .owners
                    .ensure_alive(&context.client, reference)
                    .await
                    .map_err(apply_error)?;
                context
                    .apply
                    .create(claim.as_ref())
                    .await
                    .map_err(apply_error)?;
            }
            PoolAction::ExpandPvc { name, from, to } => {
                let patch = json!({"spec": {"resources": {"requests": {"storage": to}}}});
                match context
                    .apply
                    .merge_patch::<PersistentVolumeClaim>(&namespace, &name, &patch)
                    .await
                {
                    Ok(_) => {
                        context
                            .events
                            .normal(
                                Source::Shard,
                                reference,
                                "PVCExpanded",
                                format!("Expanded PVC {name} from {from} to {to}"),
                            )
                            .await;
                    }
                    Err(source) => {
                        context
                            .events
                            .warning(
                                Source::Shard,
                                reference,
                                "ExpandPVCFailed",
                                format!(
                                    "Failed to expand PVC {name} from {from} to {to}: {}",
                                    crate::controllers::error_policy::chain_text(&source)
                                ),
                            )
                            .await;
                        return Err(apply_error(source));
                    }
                }
            }
            PoolAction::CreatePod(pod) => {
                context
                    .owners
                    .ensure_alive(&context.client, reference)
                    .await
                    .map_err(apply_error)?;
                if context
                    .apply
                    .create(pod.as_ref())
                    .await
                    .map_err(apply_error)?
                    .written()
                {
                    // One event for the pods this pass created (events.rs), Go's note for one.
                    context.events.gather(
                        reference.uid.as_deref().unwrap_or_default(),
                        "PodCreated",
                        "Created ",
                        format!("pod {} for pool {pool_name}", pod.name_any()),
                    );
                }
            }
            PoolAction::DeleteEndedPod { name } => {
                context
                    .apply
                    .delete::<Pod>(&namespace, &name)
                    .await
                    .map_err(apply_error)?;
            }
            PoolAction::InitiateDrain { pod, reason } => {
                let patch = json!({"metadata": {"annotations": {
                    ANNOTATION_DRAIN_STATE: super::drain::REQUESTED,
                    ANNOTATION_DRAIN_REQUESTED_AT: rfc3339(&now),
                }}});
                context
                    .apply
                    .merge_patch::<Pod>(&namespace, &pod, &patch)
                    .await
                    .map_err(apply_error)?;
                let (type_warning, event_reason, note) = match reason {
                    DrainReason::ExternalDeletion => (
                        true,
                        "ExternalDeletion",
                        format!("Initiating drain for externally-deleted pod {pod}"),
                    ),
                    DrainReason::FilesystemResize => (
                        false,
                        "FilesystemResize",
                        format!("Draining pod {pod} to expand filesystem on PVC data-{pod}"),
                    ),
                    DrainReason::ScaleDown => (
                        false,
                        "DrainStarted",
                        format!("Initiated drain for extra pod {pod}"),
                    ),
                    DrainReason::DriftedReplica => (
                        false,
                        "PodUpdated",
                        format!("Initiated drain for drifted replica pod {pod}"),
                    ),
                    DrainReason::DriftedPrimary => (
                        false,
                        "RollingUpdateStarted",
                        format!("Initiating primary switchover for rolling update of pod {pod}"),
                    ),
                };
                if type_warning {
                    context
                        .events
                        .warning(Source::Shard, reference, event_reason, note)
                        .await;
                } else {
                    context
                        .events
                        .normal(Source::Shard, reference, event_reason, note)
                        .await;
                }
            }
            PoolAction::SetDrainedLabel { pod, drained } => {
                let value = if drained {
                    json!("DRAINED")
                } else {
                    Value::Null
                };
                context
                    .apply
                    .merge_patch::<Pod>(
                        &namespace,
                        &pod,
                        &json!({"metadata": {"labels": {LABEL_ROLE: value}}}),
                    )
                    .await
                    .map_err(apply_error)?;
                if drained {
                    context
                        .events
                        .warning(
                            Source::Shard,
                            reference,
                            "PodDrained",
                            format!(
                                "Pod {pod} detected as DRAINED — provisioning stand-in replica"
                            ),
                        )
                        .await;
                } else {
                    context
                        .events
                        .normal(
                            Source::Shard,
                            reference,
                            "PodRecovered",
                            format!("Pod {pod} is no longer DRAINED"),
                        )
                        .await;
                }
            }
            PoolAction::RemoveDrainedPod {
                pod,
                delete_pvc,
                was_drained,
            } => {
                let note = match &delete_pvc {
                    Some(claim) => {
                        context
                            .apply
                            .delete::<PersistentVolumeClaim>(&namespace, claim)
                            .await
                            .map_err(apply_error)?;
                        if was_drained {
                            format!("Completed drain for DRAINED pod {pod} — PVC deleted")
                        } else {
                            format!("Completed drain for pod {pod}")
                        }
                    }
                    None => format!("Completed drain for pod {pod}"),
                };
                context
                    .apply
                    .delete::<Pod>(&namespace, &pod)
                    .await
                    .map_err(apply_error)?;
                context
                    .events
                    .normal(Source::Shard, reference, "DrainCompleted", note)
                    .await;
            }
            PoolAction::ScaleDownBlocked { extra } => {
                context
                    .events
                    .warning(
                        Source::Shard,
                        reference,
                        "ScaleDownBlocked",
                        format!(
                            "Deferring scale-down of {extra} extra pod(s): pool has non-ready pods"
                        ),
                    )
                    .await;
            }
        }
    }
    Ok(plan.rolling_update_in_progress
        && pool_pods.iter().any(|pod| {
            pod.annotations()
                .get(ANNOTATION_DRAIN_STATE)
                .is_some_and(|s| !s.is_empty())
        }))
}

/// §7.9 ownerRef sync: data PVCs (and backup PVCs) carry the Shard's controller ownerRef
/// exactly when their effective `whenDeleted` is Delete; toggled with merge patches.
async fn sync_pvc_owner_references(
    context: &Context,
    shard: &Shard,
    pvcs: &[Arc<PersistentVolumeClaim>],
) -> Result<(), Error> {
    let uid = shard.uid().unwrap_or_default();
    let owner = crate::controllers::owner_reference::controller_owner_reference(shard);
    let shard_deletes = shard
        .spec
        .pvc_deletion_policy
        .as_ref()
        .and_then(|policy| policy.when_deleted)
        == Some(PvcRetentionPolicyType::Delete);
    for claim in pvcs {
        let wanted = match claim.labels().get(LABEL_POOL) {
            Some(pool) => match shard
                .spec
                .pools
                .iter()
                .find(|(name, _)| name.as_str() == pool)
            {
                Some((_, pool)) => {
                    effective_pool_pvc_policy(pool, &shard.spec).when_deleted
                        == PvcRetentionPolicyType::Delete
                }
                None => shard_deletes,
            },
            None => shard_deletes,
        };
        let references = claim.owner_references().to_vec();
        let has = references.iter().any(|r| r.uid == uid);
        let patched = match (wanted, has) {
            (true, false) => {
                let mut references = references;
                references.push(owner.clone());
                Some(references)
            }
            (false, true) => Some(references.into_iter().filter(|r| r.uid != uid).collect()),
            _ => None,
        };
        if let Some(references) = patched {
            let name = claim.name_any();
            context
                .apply
                .merge_patch::<PersistentVolumeClaim>(
                    &claim.namespace().unwrap_or_default(),
                    &name,
                    &json!({"metadata": {"ownerReferences": references}}),
                )
                .await
                .map_err(|source| Error::Apply {
                    object: object_key(shard),
                    source,
                })?;
            tracing::info!(pvc = %name, owned = wanted, "synchronised the PVC's ownerReference");
        }
    }
    Ok(())
}

/// Pending deletion (§7.11): drain every pod, then report `ReadyForDeletion`.
async fn drain_for_deletion(
    context: &Context,
    shard: &Shard,
    reference: &ObjectReference,
    pods: &[Arc<Pod>],
) -> Result<Action, Error> {
    let object = object_key(shard);
    let apply_error = |source| Error::Apply {
        object: object.clone(),
        source,
    };
    let namespace = shard.namespace().unwrap_or_default();
    let now = context.now();
    let mut done = true;
    for pod in pods {
        let name = pod.name_any();
        if let Some(deleted) = &pod.metadata.deletion_timestamp {
            let elapsed = now.0.duration_since(deleted.0);
            if Duration::try_from(elapsed).unwrap_or_default() < STUCK_TERMINATING {
                done = false;
            } else {
                context
                    .events
                    .warning(
                        Source::Shard,
                        reference,
                        "StuckTerminating",
                        format!("Pod {name} has been terminating for >1m0s, treating as gone"),
                    )
                    .await;
            }
            continue;
        }
        let state = pod
            .annotations()
            .get(ANNOTATION_DRAIN_STATE)
            .cloned()
            .unwrap_or_default();
        done = false;
        if state == super::pool::READY_FOR_DELETION {
            context
                .apply
                .delete::<Pod>(&namespace, &name)
                .await
                .map_err(apply_error)?;
        } else if state.is_empty() {
            let patch = json!({"metadata": {"annotations": {
                ANNOTATION_DRAIN_STATE: super::drain::REQUESTED,
                ANNOTATION_DRAIN_REQUESTED_AT: rfc3339(&now),
            }}});
            context
                .apply
                .merge_patch::<Pod>(&namespace, &name, &patch)
                .await
                .map_err(apply_error)?;
            context
                .events
                .normal(
                    Source::Shard,
                    reference,
                    "DrainStarted",
                    format!("Initiated drain for pod {name} (pending deletion)"),
                )
                .await;
        }
    }
    if !done {
        // Draining pods advance in the data-plane step.
        let cells: Vec<String> = pool_cells(&shard.spec)
            .iter()
            .map(|cell| cell.as_str().to_owned())
            .collect();
        // Roles go out in the step's own patch here (this path writes no other status).
        // A shard being deleted drains its pods whatever its phase (Go's deletion path has no
        // primary wait either).
        let steps = Steps {
            prune: false,
            backup_health: false,
            healthy: false,
        };
        data_plane::run(
            context,
            shard,
            reference,
            pods,
            &cells,
            steps,
            &mut Observed::default(),
        )
        .await?;
        return Ok(Action::requeue(DRAIN_REQUEUE));
    }
    let previous = shard.status.clone().unwrap_or_default();
    if !is_condition_true(&previous.conditions, READY_FOR_DELETION) {
        let mut status = previous.clone();
        conditions::set_condition(
            &mut status.conditions,
            &conditions::shard_ready_for_deletion(),
            shard.metadata.generation,
            &now,
        );
        let body = serde_json::to_value(&status).expect("status types always serialize to JSON");
        context
            .apply
            .apply_status(shard, body, SHARD_STATUS_MANAGER)
            .await
            .map_err(|source| Error::Status {
                object: object.clone(),
                source,
            })?;
        context
            .events
            .normal(
                Source::Shard,
                reference,
                "ReadyForDeletion",
                "All pods drained; shard is ready for deletion".to_owned(),
            )
            .await;
    }
    Ok(Action::await_change())
}

/// Foreground deletion (§7.11 handleDeletion): the shard's Deployments and pods go now.
async fn delete_workloads(
    context: &Context,
    shard: &Shard,
    selector: &[(String, String)],
    pods: &[Arc<Pod>],
) -> Result<Action, Error> {
    let namespace = shard.namespace().unwrap_or_default();
    let apply_error = |source: ApplyError| Error::Apply {
        object: object_key(shard),
        source,
    };
    for deployment in cache::select(&context.cache.deployments, &namespace, &pairs(selector)) {
        if deployment.metadata.deletion_timestamp.is_none() {
            context
                .apply
                .delete::<Deployment>(&namespace, &deployment.name_any())
                .await
                .map_err(apply_error)?;
        }
    }
    for pod in pods {
        if pod.metadata.deletion_timestamp.is_none() {
            context
                .apply
                .delete::<Pod>(&namespace, &pod.name_any())
                .await
                .map_err(apply_error)?;
        }
    }
    Ok(Action::await_change())
}
