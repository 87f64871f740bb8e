//! Trigger filters for shared watch streams (spec-controllers.md §2.1, §3, §4, §5): which
//! changes of a primary object start a reconcile. kube-runtime's predicates work on watcher
//! streams; these work on the shared reflector's subscriptions.
//!
//! A filter remembers the last key it let through per object, in memory; it must not read the
//! API.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{Stream, StreamExt, future};
use kube::Resource;
use kube::runtime::reflector::ObjectRef;
use multigres_api::labels::ANNOTATION_PROJECT_REF;

/// Lets an object through when `key` of it differs from the last one let through (always the
/// first time it is seen). An object deleted and created again under the same name is a new
/// object (a new uid): it is let through even though its generation starts at 1 again, as the
/// one before it did.
pub fn changed_by<K, T, F>(
    stream: impl Stream<Item = Arc<K>> + Send + 'static,
    key: F,
) -> impl Stream<Item = Arc<K>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Send + Sync + 'static,
    T: PartialEq + Send + 'static,
    F: Fn(&K) -> T + Send + 'static,
{
    let mut seen: HashMap<ObjectRef<K>, (Option<String>, T)> = HashMap::new();
    stream.filter(move |object| {
        let reference = ObjectRef::from_obj(object.as_ref());
        let value = (object.meta().uid.clone(), key(object));
        let changed = seen.get(&reference) != Some(&value);
        seen.insert(reference, value);
        future::ready(changed)
    })
}

/// Go `GenerationChangedPredicate`: spec changes (and deletions starting, which bump nothing but
/// set a timestamp, so the timestamp is part of the key).
pub fn generation<K: Resource>(object: &K) -> (Option<i64>, bool) {
    let meta = object.meta();
    (meta.generation, meta.deletion_timestamp.is_some())
}

/// The cluster/TableGroup/Cell predicate: the generation, or the `multigres.com/project-ref`
/// annotation, or (for the pending-deletion flow) the `multigres.com/pending-deletion`
/// annotation changed.
pub fn generation_or_annotations<K: Resource>(
    object: &K,
) -> (Option<i64>, bool, Option<String>, Option<String>) {
    let meta = object.meta();
    let annotation = |key: &str| {
        meta.annotations
            .as_ref()
            .and_then(|annotations| annotations.get(key).cloned())
    };
    (
        meta.generation,
        meta.deletion_timestamp.is_some(),
        annotation(ANNOTATION_PROJECT_REF),
        annotation(multigres_api::labels::ANNOTATION_PENDING_DELETION),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    fn object(uid: &str, generation: i64) -> Arc<ConfigMap> {
        Arc::new(ConfigMap {
            metadata: ObjectMeta {
                name: Some("cell".into()),
                namespace: Some("default".into()),
                uid: Some(uid.into()),
                generation: Some(generation),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        })
    }

    #[tokio::test]
    async fn a_recreated_object_passes_though_its_generation_is_the_same() {
        let events = vec![
            object("first", 1),
            object("first", 1),  // a status change: filtered
            object("first", 2),  // a spec change
            object("second", 1), // deleted and created again under the same name
            object("second", 1),
        ];
        let passed: Vec<(String, i64)> = changed_by(futures::stream::iter(events), generation)
            .map(|o| {
                (
                    o.metadata.uid.clone().unwrap_or_default(),
                    o.metadata.generation.unwrap_or_default(),
                )
            })
            .collect()
            .await;
        assert_eq!(
            passed,
            vec![
                ("first".into(), 1),
                ("first".into(), 2),
                ("second".into(), 1)
            ]
        );
    }
}
