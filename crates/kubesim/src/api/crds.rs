//! CustomResourceDefinitions at runtime: a CRD write is compiled by the CRD engine
//! (`semantics::crd_schema`, 422 when it is not acceptable) and gets the accepted status
//! (NamesAccepted/Established, rust-ecosystem.md §3.1 `await_condition`); after every write the
//! registry is brought in line with the stored CRDs, so their kinds are served at once and stop
//! being served (their objects deleted, with DELETED events) when the CRD goes.

use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use super::State;
use crate::error::{ApiError, StatusCause};
use crate::resources::{
    Origin, Representation, ResourceDef, ScalePaths, ScaleSelector, table_name,
};
use crate::semantics::crd_schema::{CompiledCrd, Scope};
use crate::semantics::field_cause::invalid_message;
use crate::store::{ObjectKey, TablePolicy, str_at};

/// The store table of CustomResourceDefinitions.
pub(crate) const CRD_TABLE: &str = "customresourcedefinitions.apiextensions.k8s.io";

/// A registered CRD: the compiled engine and the stored object it came from.
#[derive(Debug)]
pub(crate) struct RegisteredCrd {
    pub(crate) compiled: Arc<CompiledCrd>,
    /// `metadata.uid` + `metadata.generation` of the CRD it was compiled from.
    source: (String, i64),
}

fn compile(object: &Value) -> Result<CompiledCrd, ApiError> {
    let name = str_at(object, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let crd: CustomResourceDefinition =
        serde_json::from_value(object.clone()).map_err(|e| ApiError::BadRequest {
            message: format!("CustomResourceDefinition {name:?}: {e}"),
        })?;
    CompiledCrd::new(&crd).map_err(|causes| ApiError::Invalid {
        message: invalid_message(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            &name,
            &causes,
        ),
        kind: "CustomResourceDefinition".into(),
        group: "apiextensions.k8s.io".into(),
        name: name.clone(),
        causes: causes.into_iter().map(StatusCause::from).collect(),
    })
}

/// Checks a CRD about to be written and sets its status as the API server's naming and
/// establishing controllers would.
pub(crate) fn prepare_write(
    object: &mut Value,
    previous_status: Option<&Value>,
    now: &str,
) -> Result<(), ApiError> {
    let compiled = compile(object)?;
    if let Some(map) = object.as_object_mut() {
        map.insert(
            "status".into(),
            compiled.accepted_status(now, previous_status),
        );
    }
    Ok(())
}

fn defs(compiled: &CompiledCrd, crd_name: &str) -> Vec<ResourceDef> {
    let storage = compiled.storage_version().name().to_string();
    compiled
        .served_versions()
        .map(|version| ResourceDef {
            group: compiled.group().to_string(),
            version: version.name().to_string(),
            storage_version: storage.clone(),
            kind: compiled.kind().to_string(),
            list_kind: compiled.list_kind().to_string(),
            plural: compiled.plural().to_string(),
            singular: compiled.singular().to_string(),
            namespaced: compiled.scope() == Scope::Namespaced,
            short_names: compiled.short_names().to_vec(),
            categories: compiled.categories().to_vec(),
            status_subresource: version.status_subresource(),
            scale: version.scale_subresource().map(|scale| ScalePaths {
                spec_replicas_path: scale.spec_replicas_path.clone(),
                status_replicas_path: scale.status_replicas_path.clone(),
                label_selector: ScaleSelector::Path(scale.label_selector_path.clone()),
            }),
            field_selectors: version
                .selectable_fields()
                .iter()
                .map(|f| f.json_path.trim_start_matches('.').to_string())
                .collect(),
            table: table_name(compiled.group(), compiled.plural()),
            representation: Representation::Native,
            origin: Origin::Crd {
                crd_name: crd_name.to_string(),
            },
            verbs: &crate::resources::STANDARD_VERBS,
            extra_subresources: &[],
        })
        .collect()
}

/// Registers, re-registers and unregisters CRD kinds to match the stored CRDs.
pub(crate) fn sync(state: &mut State) {
    let stored: Vec<(String, (String, i64), Arc<Value>)> = state
        .store
        .list(CRD_TABLE, None)
        .map(|crd| {
            let name = str_at(crd, &["metadata", "name"])
                .unwrap_or_default()
                .to_string();
            let uid = str_at(crd, &["metadata", "uid"])
                .unwrap_or_default()
                .to_string();
            let generation = crd
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            (name, (uid, generation), crd.clone())
        })
        .collect();
    let gone: Vec<String> = state
        .crds
        .keys()
        .filter(|name| !stored.iter().any(|(n, _, _)| n == *name))
        .cloned()
        .collect();
    for name in gone {
        unregister(state, &name);
    }
    for (name, source, object) in stored {
        if state.crds.get(&name).is_some_and(|r| r.source == source) {
            continue;
        }
        // Stored CRDs were compiled when written; a failure here means a CRD written before
        // the engine accepted it, which the write path prevents.
        let Ok(compiled) = compile(&object) else {
            continue;
        };
        state.registry.remove_crd(&name);
        let compiled = Arc::new(compiled);
        for def in defs(&compiled, &name) {
            state.store.ensure_table(
                &def.table,
                TablePolicy {
                    status_subresource: compiled.storage_version().status_subresource(),
                },
            );
            state.registry.insert(def);
        }
        state
            .merge_schemas
            .retain(|(group, _, kind), _| !(group == compiled.group() && kind == compiled.kind()));
        state.crds.insert(name, RegisteredCrd { compiled, source });
    }
}

/// Stops serving a CRD's kinds and deletes their objects (watchers see DELETED).
fn unregister(state: &mut State, crd_name: &str) {
    if let Some(registered) = state.crds.remove(crd_name) {
        let table = table_name(registered.compiled.group(), registered.compiled.plural());
        let keys: Vec<ObjectKey> = state
            .store
            .list(&table, None)
            .map(|o| ObjectKey::of(o))
            .collect();
        for key in keys {
            state.store.remove(&table, &key);
        }
    }
    state.registry.remove_crd(crd_name);
}
