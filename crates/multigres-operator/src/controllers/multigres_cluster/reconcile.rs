//! One MultigresCluster pass (spec-controllers.md §2.2): resolve → validate → tracking labels →
//! global components → topology → certificate → cells → table groups → status.
//!
//! Reads come from the cache (`fetch.rs`); every write goes through `apply`; Events only for
//! what this pass changed. An invalid spec sets `Available=False` with the reasons, publishes
//! one Warning and waits for a change.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ObjectReference, Service};
use kube::api::{DynamicObject, ListParams};
use kube::core::DeserializeGuard;
use kube::{Api, ResourceExt};
use multigres_api::conditions::{AVAILABLE, ConditionStatus, DesiredCondition, set_condition};
use multigres_api::labels::{
    LABEL_CLUSTER, LABEL_USES_CELL_TEMPLATE, LABEL_USES_CORE_TEMPLATE, LABEL_USES_SHARD_TEMPLATE,
};
use multigres_api::naming::ClusterName;
use multigres_api::resolver::{DefaultingDecision, ResolvedCluster, resolve_cluster};
use multigres_api::v1alpha1::{
    Cell, MultigresCluster, MultigresClusterStatus, TableGroup, TopoServer,
};
use multigres_api::validation::validate_cluster;
use serde_json::{Map, Value, json};

use super::build::{Desired, build_cluster_objects, certificate_api_resource};
use super::fetch;
use super::status::{Exposure, compute_status};
use super::topology::{self, Step};
use super::{Error, reference};
use crate::apply::{ApplyError, MANAGER, is_not_found};
use crate::cache;
use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::apply_child::{apply_child, apply_guarded_child};
use crate::controllers::pending_deletion::{Removal, retire};
use crate::controllers::reporting::{object_key, run_pass};
use crate::controllers::status_write;
use crate::events::Source;

/// Requeue while children are being removed (§2.2 step 15).
const PENDING_REQUEUE: Duration = Duration::from_secs(5);
/// Reason of the `Available=False` condition of a cluster whose spec cannot be reconciled.
const INVALID_SPEC: &str = "InvalidSpec";

pub async fn reconcile(
    guarded: Arc<DeserializeGuard<MultigresCluster>>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    run_pass(
        &context,
        Source::MultigresCluster,
        guarded.as_ref(),
        pass(&guarded, &context),
    )
    .await
}

async fn pass(
    guarded: &DeserializeGuard<MultigresCluster>,
    context: &Context,
) -> Result<Action, Error> {
    let cluster = guarded.0.as_ref().map_err(|invalid| Error::Malformed {
        object: object_key(guarded),
        message: invalid.error.clone(),
    })?;
    let object = object_key(cluster);
    let reference = reference(cluster);
    let namespace = cluster.namespace().unwrap_or_default();
    let previous = cluster.status.clone().unwrap_or_default();

    // Resolve and validate (pure); an invalid spec waits for a change.
    let resolved = match resolve_and_validate(context, cluster, &namespace) {
        Ok(resolved) => resolved,
        Err(error) => {
            mark_invalid(context, cluster, &previous, &error).await;
            return Err(error);
        }
    };
    let first_pass_of_generation =
        previous.observed_generation != cluster.metadata.generation.unwrap_or_default();
    if first_pass_of_generation {
        // Once per generation: the passes before the status records it (the topology server
        // still starting) see the same generation unobserved.
        let generation = cluster.metadata.generation.unwrap_or_default().to_string();
        for decision in &resolved.decisions {
            context
                .events
                .normal_once_per_version(
                    Source::MultigresCluster,
                    &reference,
                    DefaultingDecision::EVENT_REASON,
                    &generation,
                    decision.message().to_owned(),
                )
                .await;
        }
    }

    sync_tracking_labels(context, cluster, &resolved).await?;
    if cluster.metadata.deletion_timestamp.is_some() {
        return delete_children(context, cluster, &reference).await;
    }

    let Desired {
        topo_server,
        services,
        deployments,
        certificate,
        cells,
        table_groups,
    } = build_cluster_objects(cluster, &resolved, &context.settings.operator_otel_env).map_err(
        |source| Error::Build {
            object: object.clone(),
            source,
        },
    )?;
    let apply_error = |source| Error::Apply {
        object: object.clone(),
        source,
    };

    // Global components (§2.4–§2.6): Services before the workloads that use them.
    match &topo_server {
        Some(topo_server) => {
            apply_guarded_child(
                context,
                &reference,
                &context.cache.topo_servers,
                topo_server,
            )
            .await
            .map_err(apply_error)?;
        }
        None => delete_stale_topo_servers(context, cluster, &reference)
            .await
            .map_err(apply_error)?,
    }
    for service in &services {
        apply_child(context, &reference, &context.cache.services, service)
            .await
            .map_err(apply_error)?;
    }
    for deployment in &deployments {
        apply_child(context, &reference, &context.cache.deployments, deployment)
            .await
            .map_err(apply_error)?;
    }
    let uid = cluster.uid().unwrap_or_default();
    let mut keep_services: Vec<String> = services.iter().map(ResourceExt::name_any).collect();
    keep_services.sort();
    let owned_services = cache::select(
        &context.cache.services,
        &namespace,
        &[(LABEL_CLUSTER, cluster.name_any().as_str())],
    );
    context
        .apply
        .prune(&owned_services, &uid, &keep_services)
        .await
        .map_err(apply_error)?;
    let keep_deployments: Vec<String> = deployments.iter().map(ResourceExt::name_any).collect();
    let owned_deployments = cache::select(
        &context.cache.deployments,
        &namespace,
        &[(LABEL_CLUSTER, cluster.name_any().as_str())],
    );
    context
        .apply
        .prune(&owned_deployments, &uid, &keep_deployments)
        .await
        .map_err(apply_error)?;

    // Topology (§6.2): until the server answers, nothing below runs.
    if let Step::Wait(after) = topology::register(context, cluster, &reference, &resolved).await? {
        return Ok(Action::requeue(after));
    }

    reconcile_certificate(context, cluster, &reference, certificate.as_ref())
        .await
        .map_err(apply_error)?;

    // Cells and TableGroups, then the graceful removal of those no longer desired.
    for cell in &cells {
        apply_guarded_child(context, &reference, &context.cache.cells, cell)
            .await
            .map_err(apply_error)?;
    }
    for table_group in &table_groups {
        apply_guarded_child(
            context,
            &reference,
            &context.cache.table_groups,
            table_group,
        )
        .await
        .map_err(apply_error)?;
    }
    let children = fetch::all_children(context, &namespace, &cluster.name_any());
    let mut pending = false;
    let cell_names: Vec<String> = cells.iter().map(ResourceExt::name_any).collect();
    for orphan in children
        .cells
        .iter()
        .filter(|c| !cell_names.contains(&c.name_any()))
    {
        let conditions = orphan.status.clone().unwrap_or_default().conditions;
        if retire::<Cell>(
            context,
            Source::MultigresCluster,
            &reference,
            orphan,
            &conditions,
            "",
        )
        .await
        .map_err(apply_error)?
            == Removal::Pending
        {
            pending = true;
        }
    }
    let table_group_names: Vec<String> = table_groups.iter().map(ResourceExt::name_any).collect();
    for orphan in children
        .table_groups
        .iter()
        .filter(|t| !table_group_names.contains(&t.name_any()))
    {
        let conditions = orphan.status.clone().unwrap_or_default().conditions;
        if retire::<TableGroup>(
            context,
            Source::MultigresCluster,
            &reference,
            orphan,
            &conditions,
            "",
        )
        .await
        .map_err(apply_error)?
            == Removal::Pending
        {
            pending = true;
        }
    }

    // Status (§2.11), once.
    let children = fetch::all_children(context, &namespace, &cluster.name_any());
    let exposure = exposure(context, cluster, &namespace, &services, &deployments);
    let status = compute_status(
        cluster,
        &previous,
        &children,
        &exposure,
        resolved.resolved_templates.clone(),
        &context.now(),
    );
    write_status(context, cluster, &previous, status).await?;
    Ok(if pending {
        Action::requeue(PENDING_REQUEUE)
    } else {
        Action::requeue(context.settings.resync)
    })
}

fn resolve_and_validate(
    context: &Context,
    cluster: &MultigresCluster,
    namespace: &str,
) -> Result<ResolvedCluster, Error> {
    let object = object_key(cluster);
    let raw_name = cluster.name_any();
    let name = ClusterName::parse(raw_name.as_str()).map_err(|err| Error::Invalid {
        object: object.clone(),
        messages: vec![format!(
            "metadata.name: Invalid value: {raw_name:?}: {err}; every object of the cluster is \
             named after it"
        )],
    })?;
    let templates = fetch::templates(context, namespace);
    let resolved =
        resolve_cluster(&name, namespace, &cluster.spec, &templates).map_err(|source| {
            Error::Resolve {
                object: object.clone(),
                source: Box::new(source),
            }
        })?;
    let report = validate_cluster(
        &resolved.spec,
        namespace,
        &templates,
        &fetch::facts(context),
    )
    .map_err(|source| Error::Resolve {
        object: object.clone(),
        source: Box::new(multigres_api::resolver::ResolveError::ImplicitShardTemplate { source }),
    })?;
    if !report.is_valid() {
        return Err(Error::Invalid {
            object,
            messages: report.errors.iter().map(|e| e.with_path()).collect(),
        });
    }
    Ok(resolved)
}

/// `Available=False` with the reason the spec cannot be reconciled (written only on change).
async fn mark_invalid(
    context: &Context,
    cluster: &MultigresCluster,
    previous: &MultigresClusterStatus,
    error: &Error,
) {
    let mut status = previous.clone();
    set_condition(
        &mut status.conditions,
        &DesiredCondition {
            type_: AVAILABLE,
            status: ConditionStatus::False,
            reason: INVALID_SPEC,
            message: crate::controllers::error_policy::chain_text(error),
        },
        cluster.metadata.generation,
        &context.now(),
    );
    if let Err(write_error) = write_status(context, cluster, previous, status).await {
        tracing::warn!(
            object = %object_key(cluster),
            error = &write_error as &dyn std::error::Error,
            "failed to record an invalid spec in the status"
        );
    }
}

/// The `multigres.com/uses-*-template` labels (§2.3), merge-patched only when they differ.
async fn sync_tracking_labels(
    context: &Context,
    cluster: &MultigresCluster,
    resolved: &ResolvedCluster,
) -> Result<(), Error> {
    let wanted = resolved.tracking_labels();
    let labels = cluster.labels();
    let mut patch = Map::new();
    for key in [
        LABEL_USES_CORE_TEMPLATE,
        LABEL_USES_CELL_TEMPLATE,
        LABEL_USES_SHARD_TEMPLATE,
    ] {
        match (wanted.get(key), labels.get(key)) {
            (Some(value), Some(live)) if value == live => {}
            (Some(value), _) => {
                patch.insert(key.to_owned(), json!(value));
            }
            (None, Some(_)) => {
                patch.insert(key.to_owned(), Value::Null);
            }
            (None, None) => {}
        }
    }
    if patch.is_empty() {
        return Ok(());
    }
    context
        .apply
        .merge_patch_once(cluster, &json!({"metadata": {"labels": patch}}))
        .await
        .map_err(|source| Error::Apply {
            object: object_key(cluster),
            source,
        })?;
    Ok(())
}

/// Foreground deletion (§2.12): delete the Cells and TableGroups; GC does the rest.
async fn delete_children(
    context: &Context,
    cluster: &MultigresCluster,
    reference: &ObjectReference,
) -> Result<Action, Error> {
    let namespace = cluster.namespace().unwrap_or_default();
    let children = fetch::all_children(context, &namespace, &cluster.name_any());
    let apply_error = |source| Error::Apply {
        object: object_key(cluster),
        source,
    };
    let mut deleted = false;
    for cell in children
        .cells
        .iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
    {
        deleted |= context
            .apply
            .delete::<Cell>(&namespace, &cell.name_any())
            .await
            .map_err(apply_error)?
            .written();
    }
    for table_group in children
        .table_groups
        .iter()
        .filter(|t| t.metadata.deletion_timestamp.is_none())
    {
        deleted |= context
            .apply
            .delete::<TableGroup>(&namespace, &table_group.name_any())
            .await
            .map_err(apply_error)?
            .written();
    }
    if deleted {
        context
            .events
            .normal(
                Source::MultigresCluster,
                reference,
                "CleanupComplete",
                "Initiated deletion of child resources".to_owned(),
            )
            .await;
    }
    Ok(Action::await_change())
}

/// With an external topology server, the TopoServer left from a managed etcd goes (§2.4).
async fn delete_stale_topo_servers(
    context: &Context,
    cluster: &MultigresCluster,
    reference: &ObjectReference,
) -> Result<(), ApplyError> {
    let namespace = cluster.namespace().unwrap_or_default();
    for stale in
        fetch::children::<TopoServer>(&context.cache.topo_servers, &namespace, &cluster.name_any())
    {
        let name = stale.name_any();
        if context
            .apply
            .delete::<TopoServer>(&namespace, &name)
            .await?
            .written()
        {
            context
                .events
                .normal(
                    Source::MultigresCluster,
                    reference,
                    "Deleted",
                    format!("Deleted stale TopoServer {name} (switched to external)"),
                )
                .await;
        }
    }
    Ok(())
}

/// The cert-manager Certificate (§2.8): stale ones (owned by this cluster, another name) are
/// deleted when cert-manager is installed; the desired one is applied.
async fn reconcile_certificate(
    context: &Context,
    cluster: &MultigresCluster,
    reference: &ObjectReference,
    certificate: Option<&DynamicObject>,
) -> Result<(), ApplyError> {
    let namespace = cluster.namespace().unwrap_or_default();
    let resource = certificate_api_resource();
    let api: Api<DynamicObject> =
        Api::namespaced_with(context.client.clone(), &namespace, &resource);
    let uid = cluster.uid().unwrap_or_default();
    let wanted = certificate.and_then(|c| c.metadata.name.clone());
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            for stale in list.items.iter().filter(|c| {
                c.owner_references().iter().any(|o| o.uid == uid) && c.metadata.name != wanted
            }) {
                let name = stale.name_any();
                match api.delete(&name, &Default::default()).await {
                    Ok(_) => tracing::info!(certificate = %name, "Deleted stale TLS Certificate"),
                    Err(error) if is_not_found(&error) => {}
                    Err(source) => {
                        return Err(ApplyError::Delete {
                            kind: resource.kind.clone(),
                            namespace: namespace.clone(),
                            name,
                            source: Box::new(source),
                        });
                    }
                }
            }
        }
        // cert-manager is not installed: nothing can be stale.
        Err(error) if is_not_found(&error) => {}
        Err(error) => {
            tracing::debug!(
                error = &error as &dyn std::error::Error,
                "cannot list Certificates"
            );
        }
    }
    if let Some(certificate) = certificate
        && context
            .apply
            .apply_dynamic(certificate, &resource, MANAGER, async || {
                context
                    .owners
                    .ensure_alive(&context.client, reference)
                    .await
            })
            .await?
            .written()
    {
        context
            .events
            .normal(
                Source::MultigresCluster,
                reference,
                "Applied",
                format!(
                    "Applied Certificate {}",
                    certificate.metadata.name.as_deref().unwrap_or_default()
                ),
            )
            .await;
    }
    Ok(())
}

/// The externally exposed Services, when enabled (§2.11).
fn exposure(
    context: &Context,
    cluster: &MultigresCluster,
    namespace: &str,
    services: &[Service],
    deployments: &[Deployment],
) -> Exposure {
    let enabled = |flag: Option<bool>| flag.unwrap_or(false);
    let live_service = |suffix: &str| {
        services
            .iter()
            .find(|s| s.name_any() == format!("{}-{suffix}", cluster.name_any()))
            .and_then(|s| cache::get(&context.cache.services, namespace, &s.name_any()))
            .map(|s| s.as_ref().clone())
    };
    let gateway = enabled(
        cluster
            .spec
            .external_gateway
            .as_ref()
            .map(|config| config.enabled),
    )
    .then(|| live_service("multigateway"));
    let admin_web = enabled(
        cluster
            .spec
            .external_admin_web
            .as_ref()
            .map(|config| config.enabled),
    )
    .then(|| {
        let name = format!("{}-multiadmin-web", cluster.name_any());
        let ready = deployments
            .iter()
            .find(|d| d.name_any() == name)
            .and_then(|d| cache::get(&context.cache.deployments, namespace, &d.name_any()))
            .and_then(|d| d.status.as_ref().and_then(|s| s.ready_replicas))
            .unwrap_or_default();
        (live_service("multiadmin-web"), i64::from(ready))
    });
    Exposure { gateway, admin_web }
}

async fn write_status(
    context: &Context,
    cluster: &MultigresCluster,
    previous: &MultigresClusterStatus,
    status: MultigresClusterStatus,
) -> Result<(), Error> {
    let namespace = cluster.namespace().unwrap_or_default();
    let name = cluster.name_any();
    if let Some(phase) = status.phase {
        context
            .metrics
            .set_cluster_info(&namespace, &name, phase.as_str());
    }
    context.metrics.set_cluster_totals(
        &namespace,
        &name,
        status.cells.len(),
        status
            .databases
            .values()
            .map(|d| usize::try_from(d.total_shards).unwrap_or_default())
            .sum(),
    );
    context
        .series
        .track(crate::telemetry::deleted_series::Tracked::Cluster { namespace, name });
    status_write::write_status(
        context,
        Source::MultigresCluster,
        cluster,
        MANAGER,
        previous,
        &status,
    )
    .await
    .map_err(|source| Error::Status {
        object: object_key(cluster),
        source,
    })?;
    Ok(())
}
