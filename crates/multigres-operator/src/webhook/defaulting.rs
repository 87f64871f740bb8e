//! The MultigresCluster defaulter (`/mutate-multigres-com-v1alpha1-multigrescluster`,
//! spec-api.md §12.3): `multigres_api::resolver::materialize_defaults` on the incoming object,
//! answered as a JSON patch.
//!
//! The patch holds the defaulter's changes only. Like controller-runtime, which drops the
//! `remove` operations a mere typed round trip of the request would also produce, every
//! operation that the round trip alone produces is dropped: a field the Rust model serializes
//! differently (an explicit `false`, an empty string, a differently spelt quantity) is never
//! rewritten or stripped just because the model reads it that way.
//!
//! Deliberate fixes 6 and 7 live in `materialize_defaults` (the implicit `default`
//! ShardTemplate is looked up in the cluster's namespace; a component with `overrides` and no
//! template gets no inline `spec`), so every patch this module returns yields an object the
//! CRD's own rules accept. Pure.

use std::collections::BTreeMap;

use json_patch::{Patch, PatchOperation};
use multigres_api::resolver::{
    DefaultingDecision, ResolveError, TemplateSource, error_chain_text, materialize_defaults,
};
use multigres_api::v1alpha1::MultigresCluster;
use serde_json::Value;

/// What the defaulter did to one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaulted {
    /// The JSON patch from the request's object to the defaulted one.
    pub patch: Patch,
    /// The defaulted object (the request's object with `patch` applied).
    pub object: Value,
    /// The decisions of the defaulting pass (Events of the controller, notes of `render`).
    pub decisions: Vec<DefaultingDecision>,
}

/// Why an object could not be defaulted.
#[derive(Debug, thiserror::Error)]
pub enum DefaultingError {
    /// The object does not read as a MultigresCluster: mutating webhooks run before the API
    /// server validates the schema, so an object with a wrongly typed field arrives here.
    #[error("expected MultigresCluster: {detail}")]
    NotACluster { detail: String },
    /// Resolution failed: a referenced template is missing (Go's messages).
    #[error("{}", resolve_message(.source))]
    Resolve {
        #[source]
        source: ResolveError,
    },
}

/// Go prefixes failures of the defaulting pass with `failed to populate cluster defaults`; the
/// per-component failures carry their own prefix (spec-api.md §12.3 steps 2, 6–10).
fn resolve_message(error: &ResolveError) -> String {
    match error {
        ResolveError::ImplicitShardTemplate { .. } => {
            format!(
                "failed to populate cluster defaults: {}",
                error_chain_text(error)
            )
        }
        _ => error_chain_text(error),
    }
}

/// Defaults `raw` (a MultigresCluster as the API server holds it: schema defaults applied,
/// unknown fields pruned) with the templates of its namespace, and sets `annotations` on it
/// (the trace context of the admission request, spec-api.md §12.8; empty when tracing is off).
pub fn default_cluster(
    raw: &Value,
    templates: &dyn TemplateSource,
    annotations: &BTreeMap<String, String>,
) -> Result<Defaulted, DefaultingError> {
    let mut cluster =
        MultigresCluster::from_json(raw).map_err(|err| DefaultingError::NotACluster {
            detail: err.to_string(),
        })?;
    let round_trip = to_value(&cluster)?;
    let decisions = materialize_defaults(&mut cluster.spec, templates)
        .map_err(|source| DefaultingError::Resolve { source })?;
    if !annotations.is_empty() {
        cluster
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .extend(annotations.clone());
    }
    let defaulted = to_value(&cluster)?;
    let patch = semantic_patch(raw, &round_trip, &defaulted);
    let mut object = raw.clone();
    // Every operation comes from a diff against `raw` itself, so it applies; should it not,
    // the defaulted object stands for itself.
    if json_patch::patch(&mut object, &patch).is_err() {
        object = defaulted;
    }
    Ok(Defaulted {
        patch,
        object,
        decisions,
    })
}

/// The operations from `raw` to `defaulted`, without those the typed round trip alone makes.
pub fn semantic_patch(raw: &Value, round_trip: &Value, defaulted: &Value) -> Patch {
    let artefacts = json_patch::diff(raw, round_trip).0;
    let operations: Vec<PatchOperation> = json_patch::diff(raw, defaulted)
        .0
        .into_iter()
        .filter(|operation| !artefacts.contains(operation))
        .collect();
    Patch(operations)
}

fn to_value(cluster: &MultigresCluster) -> Result<Value, DefaultingError> {
    serde_json::to_value(cluster).map_err(|err| DefaultingError::NotACluster {
        detail: err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use multigres_api::resolver::NamespaceTemplates;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn cluster(spec: Value) -> Value {
        json!({"apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
               "metadata": {"name": "orders", "namespace": "shop"}, "spec": spec})
    }

    #[test]
    fn a_bare_cluster_is_fully_materialised() {
        let raw = cluster(json!({"cells": [{"name": "zone-a", "zone": "us-east-1a"}]}));
        let defaulted = default_cluster(&raw, &NamespaceTemplates::empty(), &BTreeMap::new())
            .expect("defaults");
        let spec = &defaulted.object["spec"];
        assert_eq!(spec["globalTopoServer"]["etcd"]["replicas"], json!(3));
        assert_eq!(spec["multiadmin"]["spec"]["replicas"], json!(1));
        assert!(spec["cells"][0]["spec"]["multigateway"].is_object());
        assert_eq!(
            spec["databases"][0]["tablegroups"][0]["shards"][0]["name"],
            json!("0-inf")
        );
        assert_eq!(
            defaulted.decisions,
            vec![DefaultingDecision::ImplicitDefaultPool]
        );
        // The patch alone turns the request into the defaulted object.
        let mut patched = raw.clone();
        json_patch::patch(&mut patched, &defaulted.patch).expect("applies");
        assert_eq!(patched, defaulted.object);
    }

    #[test]
    fn fields_the_model_would_rewrite_are_left_alone() {
        // `metadata.creationTimestamp: null` and an unknown metadata field do not survive the
        // typed round trip, and must not be touched by the patch.
        let mut raw = cluster(json!({"cells": [{"name": "zone-a", "zone": "us-east-1a"}]}));
        raw["metadata"]["creationTimestamp"] = Value::Null;
        let defaulted = default_cluster(&raw, &NamespaceTemplates::empty(), &BTreeMap::new())
            .expect("defaults");
        assert_eq!(defaulted.object["metadata"], raw["metadata"]);
        assert!(
            defaulted
                .patch
                .0
                .iter()
                .all(|op| op.path().to_string().starts_with("/spec")),
            "{:?}",
            defaulted.patch
        );
    }

    #[test]
    fn a_component_naming_a_template_stays_dynamic_even_when_it_is_missing() {
        // The validator, not the defaulter, rejects the missing template (spec-api.md §12.3
        // step 9 skips every cell that names a template).
        let raw = cluster(json!({"cells": [{"name": "zone-a", "zone": "us-east-1a",
                                            "cellTemplate": "gone"}]}));
        let defaulted = default_cluster(&raw, &NamespaceTemplates::empty(), &BTreeMap::new())
            .expect("defaults");
        assert_eq!(
            defaulted.object["spec"]["cells"],
            json!([{"name": "zone-a", "zone": "us-east-1a", "cellTemplate": "gone"}])
        );
    }

    #[test]
    fn a_second_pass_changes_nothing() {
        let raw = cluster(json!({"cells": [{"name": "zone-a", "zone": "us-east-1a"}]}));
        let once = default_cluster(&raw, &NamespaceTemplates::empty(), &BTreeMap::new())
            .expect("defaults");
        let twice = default_cluster(&once.object, &NamespaceTemplates::empty(), &BTreeMap::new())
            .expect("defaults");
        assert_eq!(twice.patch, Patch(Vec::new()));
    }

    #[test]
    fn the_trace_context_is_written_into_annotations() {
        let raw = cluster(json!({"cells": [{"name": "zone-a", "zone": "us-east-1a"}]}));
        let trace = BTreeMap::from([(
            "multigres.com/traceparent".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        )]);
        let defaulted =
            default_cluster(&raw, &NamespaceTemplates::empty(), &trace).expect("defaults");
        assert_eq!(
            defaulted.object["metadata"]["annotations"],
            json!({"multigres.com/traceparent":
                   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
        );
    }
}
