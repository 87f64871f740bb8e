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
        let grace = options.grace_period_seconds.unwrap_or(0).max(0);
        let current = now();
        let due = current
            .checked_add(jiff::SignedDuration::from_secs(grace))
            .unwrap_or(current);
        let due = format_time(due);
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
