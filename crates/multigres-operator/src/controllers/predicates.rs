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
/// first time it is seen).
pub fn changed_by<K, T, F>(
    stream: impl Stream<Item = Arc<K>> + Send + 'static,
    key: F,
) -> impl Stream<Item = Arc<K>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Send + Sync + 'static,
    T: PartialEq + Send + 'static,
    F: Fn(&K) -> T + Send + 'static,
{
    let mut seen: HashMap<ObjectRef<K>, T> = HashMap::new();
    stream.filter(move |object| {
        let reference = ObjectRef::from_obj(object.as_ref());
        let value = key(object);
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
