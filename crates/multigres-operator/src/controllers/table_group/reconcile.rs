//! One TableGroup pass (spec-controllers.md §3): pending deletion → build → apply Shards →
//! retire orphaned Shards → status.

use std::sync::Arc;
use std::time::Duration;

use kube::core::DeserializeGuard;
use kube::{Resource, ResourceExt};
use multigres_api::conditions::{self, READY_FOR_DELETION, is_condition_true};
use multigres_api::labels::{
    ANNOTATION_PENDING_DELETION, LABEL_CLUSTER, LABEL_DATABASE, LABEL_TABLE_GROUP,
};
use multigres_api::v1alpha1::{Shard, TableGroup, TableGroupStatus};

use super::Error;
use super::build::{Desired, build_table_group_objects};
use super::status::compute_status;
use crate::apply::MANAGER;
use crate::cache;
use crate::context::Context;
use crate::controllers::action::Action;
use crate::controllers::apply_child::apply_guarded_child;
use crate::controllers::pending_deletion::{Removal, retire};
use crate::controllers::reporting::{object_key, run_pass};
use crate::controllers::status_write;
use crate::events::Source;

/// Requeue while Shards are being removed (§10).
const PENDING_REQUEUE: Duration = Duration::from_secs(5);

pub async fn reconcile(
    guarded: Arc<DeserializeGuard<TableGroup>>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    run_pass(
        &context,
        Source::TableGroup,
        guarded.as_ref(),
        pass(&guarded, &context),
    )
    .await
}

/// The Shards of `table_group` in the cache (by the labels of §3 step 5), valid ones only.
fn existing_shards(context: &Context, table_group: &TableGroup) -> Vec<Shard> {
    let namespace = table_group.namespace().unwrap_or_default();
    let cluster = table_group
        .labels()
        .get(LABEL_CLUSTER)
        .cloned()
        .unwrap_or_default();
    cache::select(
        &context.cache.shards,
        &namespace,
        &[
            (LABEL_CLUSTER, cluster.as_str()),
            (LABEL_DATABASE, table_group.spec.database_name.as_str()),
            (
                LABEL_TABLE_GROUP,
                table_group.spec.table_group_name.as_str(),
            ),
        ],
    )
    .iter()
    .filter_map(|guarded| cache::valid(guarded).cloned())
    .collect()
}

async fn pass(guarded: &DeserializeGuard<TableGroup>, context: &Context) -> Result<Action, Error> {
    let table_group = guarded.0.as_ref().map_err(|invalid| Error::Malformed {
        object: object_key(guarded),
        message: invalid.error.clone(),
    })?;
    let object = object_key(table_group);
    let reference = table_group.object_ref(&());
    let previous = table_group.status.clone().unwrap_or_default();
    let cleanup_error = |source| Error::CleanUp {
        object: object.clone(),
        source,
    };

    let pending = table_group
        .annotations()
        .get(ANNOTATION_PENDING_DELETION)
        .is_some_and(|value| !value.is_empty());
    if pending {
        // Every Shard is marked and must report ReadyForDeletion first (§3 handlePendingDeletion).
        let mut ready = true;
        for shard in existing_shards(context, table_group) {
            let conditions = shard.status.clone().unwrap_or_default().conditions;
            let marked = shard
                .annotations()
                .get(ANNOTATION_PENDING_DELETION)
                .is_some_and(|value| !value.is_empty());
            if !marked {
                retire(
                    context,
                    Source::TableGroup,
                    &reference,
                    &shard,
                    &conditions,
                    " (parent pending)",
                )
                .await
                .map_err(cleanup_error)?;
                ready = false;
            } else if !is_condition_true(&conditions, READY_FOR_DELETION) {
                ready = false;
            }
        }
        if !ready {
            return Ok(Action::requeue(PENDING_REQUEUE));
        }
        if !is_condition_true(&previous.conditions, READY_FOR_DELETION) {
            let mut status = previous.clone();
            conditions::set_condition(
                &mut status.conditions,
                &conditions::table_group_ready_for_deletion(),
                table_group.metadata.generation,
                &context.now(),
            );
            write_status(context, table_group, &previous, status).await?;
            context
                .events
                .normal(
                    Source::TableGroup,
                    &reference,
                    "ReadyForDeletion",
                    format!(
                        "TableGroup {} marked ready for deletion",
                        table_group.name_any()
                    ),
                )
                .await;
        }
        return Ok(Action::await_change());
    }
    if table_group.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }

    let Desired { shards } =
        build_table_group_objects(table_group).map_err(|source| Error::Build {
            object: object.clone(),
            source,
        })?;
    for shard in &shards {
        apply_guarded_child(context, &reference, &context.cache.shards, shard)
            .await
            .map_err(|source| Error::Apply {
                object: object.clone(),
                source,
            })?;
    }

    // Orphans: Shards of this table group that are no longer desired.
    let desired_names: Vec<String> = shards.iter().map(ResourceExt::name_any).collect();
    let mut pending_removal = false;
    for shard in existing_shards(context, table_group) {
        if desired_names.contains(&shard.name_any()) {
            continue;
        }
        let conditions = shard.status.clone().unwrap_or_default().conditions;
        if retire(
            context,
            Source::TableGroup,
            &reference,
            &shard,
            &conditions,
            "",
        )
        .await
        .map_err(cleanup_error)?
            == Removal::Pending
        {
            pending_removal = true;
        }
    }
    if pending_removal {
        return Ok(Action::requeue(PENDING_REQUEUE));
    }

    let current: Vec<Shard> = existing_shards(context, table_group)
        .into_iter()
        .filter(|shard| desired_names.contains(&shard.name_any()))
        .collect();
    let status = compute_status(table_group, &previous, &current, &context.now());
    write_status(context, table_group, &previous, status).await?;
    Ok(Action::requeue(context.settings.resync))
}

async fn write_status(
    context: &Context,
    table_group: &TableGroup,
    previous: &TableGroupStatus,
    status: TableGroupStatus,
) -> Result<(), Error> {
    status_write::write_status(
        context,
        Source::TableGroup,
        table_group,
        MANAGER,
        previous,
        &status,
    )
    .await
    .map_err(|source| Error::Status {
        object: object_key(table_group),
        source,
    })?;
    Ok(())
}
