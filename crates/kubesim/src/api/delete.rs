//! Deletes: one item with DeleteOptions (propagation, grace period, uid/resourceVersion
//! preconditions, dryRun) and deletecollection (rust-ecosystem.md §3.1 `delete`,
//! `delete_collection`; §3.3 Delete / finalizers / GC).

use serde_json::{Value, json};

use super::read::Selectors;
use super::{
    AdmissionStage, Cluster, DeleteOptions, ListOptions, format_time, now, present,
    scope_namespace, subject,
};
use crate::error::ApiError;
use crate::resources::ResourceDef;
use crate::semantics::finalizers::{self, DeletePlan, Propagation};
use crate::semantics::gc::{self, GcQueue, NAMESPACES_TABLE};
use crate::semantics::graceful_delete::{self, GracefulDelete};
use crate::store::{ObjectKey, ObjectLocation, str_at};

impl Cluster {
    /// DELETE of an item. Returns the object: marked with `deletionTimestamp` while finalizers
    /// remain, otherwise its last state.
    pub fn delete(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let mut state = self.lock();
        let location = ObjectLocation {
            table: def.table.clone(),
            key: ObjectKey::new(scope_namespace(def, namespace), name),
        };
        let stored = state
            .store
            .get(&location.table, &location.key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound {
                subject: subject(def, name),
            })?;
        if let Some(uid) = options.precondition_uid.as_deref() {
            let actual = str_at(&stored, &["metadata", "uid"]).unwrap_or_default();
            if uid != actual {
                return Err(ApiError::Conflict {
                    subject: subject(def, name),
                    detail: format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                    ),
                });
            }
        }
        if let Some(rv) = options.precondition_resource_version.as_deref() {
            let actual = str_at(&stored, &["metadata", "resourceVersion"]).unwrap_or_default();
            if rv != actual {
                return Err(ApiError::Conflict {
                    subject: subject(def, name),
                    detail: format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
                    ),
                });
            }
        }
        if let Some(hook) = &options.admission {
            let served = present(def, &stored);
            hook.call(AdmissionStage::Mutating, None, Some(&served))?;
            hook.call(AdmissionStage::Validating, None, Some(&served))?;
        }
        let propagation = options.propagation.unwrap_or(Propagation::Background);
        let current = now();
        // Pods on a node are deleted gracefully (semantics::graceful_delete); everything else
        // records grace 0, as the API server does for kinds without a graceful strategy.
        let is_pod = def.group.is_empty() && def.plural == "pods";
        let graceful =
            graceful_delete::before_delete(is_pod, &stored, options.grace_period_seconds);
        if let Some(result) = self.delete_gracefully(
            &mut state,
            def,
            &location,
            &stored,
            graceful,
            propagation,
            options.dry_run,
            current,
        ) {
            return Ok(result);
        }
        let grace = 0;
        let due = format_time(current);
        if options.dry_run {
            let result = match finalizers::plan_delete(
                &stored,
                propagation,
                &due,
                grace,
                location.table == NAMESPACES_TABLE,
            ) {
                DeletePlan::Mark(marked) => marked,
                DeletePlan::Remove | DeletePlan::Unchanged => (*stored).clone(),
            };
            return Ok(present(def, &result));
        }
        let mut queue = GcQueue::default();
        let result = gc::delete_object(
            &mut state.store,
            &location,
            propagation,
            &due,
            grace,
            &mut queue,
        )
        .ok_or_else(|| ApiError::NotFound {
            subject: subject(def, name),
        })?;
        gc::settle(&mut state.store, &mut queue, &format_time(current));
        super::crds::sync(&mut state);
        let revision = state.store.revision();
        drop(state);
        self.notify(revision);
        Ok(present(def, &result))
    }

    /// The graceful part of a DELETE: marks, shortens or leaves a pending graceful deletion and
    /// returns the object; `None` when the deletion is not graceful.
    #[allow(clippy::too_many_arguments)]
    fn delete_gracefully(
        &self,
        state: &mut super::State,
        def: &ResourceDef,
        location: &ObjectLocation,
        stored: &Value,
        graceful: GracefulDelete,
        propagation: Propagation,
        dry_run: bool,
        current: jiff::Timestamp,
    ) -> Option<Value> {
        let due = |grace: i64, from: jiff::Timestamp| {
            format_time(
                from.checked_add(jiff::SignedDuration::from_secs(grace))
                    .unwrap_or(from),
            )
        };
        let object = match graceful {
            GracefulDelete::Immediate => return None,
            GracefulDelete::Pending => return Some(present(def, stored)),
            GracefulDelete::Mark { grace_seconds } => graceful_delete::mark(
                stored,
                propagation,
                &due(grace_seconds, current),
                grace_seconds,
            ),
            GracefulDelete::Shorten { grace_seconds } => {
                // Upstream moves the timestamp: old deletionTimestamp - old grace + new grace.
                let old_grace = stored
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let started = str_at(stored, &["metadata", "deletionTimestamp"])
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .and_then(|t| {
                        t.checked_sub(jiff::SignedDuration::from_secs(old_grace))
                            .ok()
                    })
                    .unwrap_or(current);
                graceful_delete::shorten(stored, &due(grace_seconds, started), grace_seconds)
            }
        };
        if dry_run {
            return Some(present(def, &object));
        }
        let mut queue = GcQueue::default();
        gc::commit_update(
            &mut state.store,
            &location.table,
            object.clone(),
            &mut queue,
        );
        gc::settle(&mut state.store, &mut queue, &format_time(current));
        let result = state
            .store
            .get(&location.table, &location.key)
            .map_or(object, |o| (**o).clone());
        self.notify(state.store.revision());
        Some(present(def, &result))
    }

    /// DELETE of a collection: deletes every object matching the selectors and returns them as
    /// a list.
    pub fn delete_collection(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let selectors = Selectors::parse(
            def,
            list.label_selector.as_deref(),
            list.field_selector.as_deref(),
        )?;
        let names: Vec<ObjectKey> = {
            let state = self.lock();
            let scope = def
                .namespaced
                .then(|| namespace.filter(|ns| !ns.is_empty()))
                .flatten();
            state
                .store
                .list(&def.table, scope)
                .filter(|o| selectors.matches(def, o))
                .map(|o| ObjectKey::of(o))
                .collect()
        };
        let mut items = Vec::new();
        for key in names {
            let ns = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
            match self.delete(def, ns, &key.name, options) {
                Ok(object) => items.push(object),
                // Deleted meanwhile (e.g. by the garbage collector of an earlier item).
                Err(ApiError::NotFound { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(json!({
            "kind": def.list_kind,
            "apiVersion": def.api_version(),
            "metadata": {"resourceVersion": self.revision().to_string()},
            "items": items,
        }))
    }
}
