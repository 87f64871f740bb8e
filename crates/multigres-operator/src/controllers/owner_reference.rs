//! Controller owner references (spec-controllers.md §0, "Ownership chain"): every object a
//! controller builds names its parent with `controller: true` and `blockOwnerDeletion: true`, so
//! garbage collection removes it with the parent and the parent's controller is told of changes.
//!
//! Pure: reads the owner's metadata only. It must not fetch the owner or invent a uid: an owner
//! that has none yet (the `render` command builds without an API server) gives an empty uid, as
//! Go's `SetControllerReference` does.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;

/// The controller ownerReference of an object owned by `owner` (Go
/// `controllerutil.SetControllerReference`): the owner's apiVersion, kind, name and uid.
pub fn controller_owner_reference<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    let meta = owner.meta();
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ObjectMeta;
    use multigres_api::v1alpha1::{Cell, CellSpec};
    use pretty_assertions::assert_eq;

    #[test]
    fn names_the_owner_as_controller_and_blocks_its_deletion() {
        let cell = Cell {
            metadata: ObjectMeta {
                name: Some("prod-east-1b-3f1c2a77".into()),
                namespace: Some("payments".into()),
                uid: Some("0d1e2f30-aaaa-4bbb-8ccc-123456789abc".into()),
                ..ObjectMeta::default()
            },
            spec: CellSpec::default(),
            status: None,
        };
        assert_eq!(
            controller_owner_reference(&cell),
            OwnerReference {
                api_version: "multigres.com/v1alpha1".into(),
                kind: "Cell".into(),
                name: "prod-east-1b-3f1c2a77".into(),
                uid: "0d1e2f30-aaaa-4bbb-8ccc-123456789abc".into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }
        );
    }

    #[test]
    fn an_owner_without_uid_gives_an_empty_uid() {
        let cell = Cell::new("rendered-cell", CellSpec::default());
        assert_eq!(controller_owner_reference(&cell).uid, "");
    }
}
