//! The `spec` of a PersistentVolumeClaim built from a [`StorageSpec`] (Go `pkg/resource-handler/
//! controller/storage/pvc.go`): access modes, the storage request and the class, shared by the
//! data PVCs of pool pods (spec-controllers.md §7.9) and the shared backup PVCs (§7.3.4).
//!
//! Must not: decide names, labels or owner references; each PVC's own builder does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use multigres_api::defaults::ACCESS_MODE;
use multigres_api::quantity::{GoQuantity, QuantityError};
use multigres_api::v1alpha1::StorageSpec;

/// A size that is not a Kubernetes quantity.
#[derive(Debug, thiserror::Error)]
#[error("size {value:?} is not a Kubernetes quantity (e.g. 10Gi)")]
pub struct InvalidSize {
    pub value: String,
    #[source]
    pub source: QuantityError,
}

/// The claim spec for `storage`: its access modes or `[ReadWriteOnce]`, a `storage` request of
/// its size or `default_size` (printed as Go's `resource.Quantity` prints it, e.g. `1024Mi` →
/// `1Gi`), and its class only when set.
pub fn claim_spec(
    storage: &StorageSpec,
    default_size: &str,
) -> Result<PersistentVolumeClaimSpec, InvalidSize> {
    let size = if storage.size.is_empty() {
        default_size
    } else {
        storage.size.as_str()
    };
    let request = GoQuantity::parse(size).map_err(|source| InvalidSize {
        value: size.to_owned(),
        source,
    })?;
    let access_modes = if storage.access_modes.is_empty() {
        vec![ACCESS_MODE.to_owned()]
    } else {
        storage.access_modes.clone()
    };
    Ok(PersistentVolumeClaimSpec {
        access_modes: Some(access_modes),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([(
                "storage".to_owned(),
                Quantity(request.go_string()),
            )])),
            limits: None,
        }),
        storage_class_name: (!storage.class.is_empty()).then(|| storage.class.clone()),
        ..PersistentVolumeClaimSpec::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn defaults_fill_an_empty_storage_spec() {
        let spec = claim_spec(&StorageSpec::default(), "10Gi").expect("10Gi is a quantity");
        assert_eq!(
            serde_json::to_value(spec).expect("serializes"),
            json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}})
        );
    }

    #[test]
    fn size_class_and_access_modes_come_from_the_storage_spec_with_go_spelling() {
        let storage = StorageSpec {
            size: "2048Mi".into(),
            class: "fast-rwx".into(),
            access_modes: vec!["ReadWriteMany".into(), "ReadOnlyMany".into()],
        };
        let spec = claim_spec(&storage, "1Gi").expect("2048Mi is a quantity");
        assert_eq!(
            serde_json::to_value(spec).expect("serializes"),
            json!({
                "accessModes": ["ReadWriteMany", "ReadOnlyMany"],
                "resources": {"requests": {"storage": "2Gi"}},
                "storageClassName": "fast-rwx"
            })
        );
    }

    #[test]
    fn an_invalid_size_names_the_value() {
        let storage = StorageSpec {
            size: "10 gigs".into(),
            ..StorageSpec::default()
        };
        let err = claim_spec(&storage, "1Gi").expect_err("not a quantity");
        assert_eq!(
            err.to_string(),
            "size \"10 gigs\" is not a Kubernetes quantity (e.g. 10Gi)"
        );
    }
}
