//! What the API server allows when a PersistentVolumeClaim's storage request changes on an
//! update (rust-ecosystem.md §3.3 "Pods and PVCs": expansion):
//!
//! - validation (`ValidatePersistentVolumeClaimUpdate`, with RecoverVolumeExpansionFailure on):
//!   a request lowered to or below `status.capacity` is refused with 422
//!   `spec.resources.requests.storage: Forbidden: field can not be less than status.capacity`;
//! - the `PersistentVolumeClaimResize` admission plugin: a raised request is refused with 403
//!   unless the claim is Bound ("Only bound persistent volume claims can be expanded") and its
//!   StorageClass, unchanged, has `allowVolumeExpansion: true` ("only dynamically provisioned
//!   pvc can be resized and the storageclass that provisions the pvc must support resize").
//!
//! Pure: the caller passes the stored and the new claim and the claim's StorageClass.

use std::cmp::Ordering;

use multigres_api::quantity::GoQuantity;
use serde_json::Value;

/// Why a claim update is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimResizeError {
    /// 422 on `spec.resources.requests.storage`.
    BelowCapacity,
    /// 403 from the resize admission plugin, with its message.
    Forbidden { detail: &'static str },
}

pub const BELOW_CAPACITY: &str = "field can not be less than status.capacity";
pub const NOT_BOUND: &str = "Only bound persistent volume claims can be expanded";
pub const NOT_EXPANDABLE: &str = "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize";

fn quantity(object: &Value, pointer: &str) -> Option<GoQuantity> {
    GoQuantity::parse(object.pointer(pointer)?.as_str()?).ok()
}

fn class_name(claim: &Value) -> &str {
    claim
        .pointer("/spec/storageClassName")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Checks the storage request of `new` against the stored claim `old`; `class` is the
/// StorageClass `new` names, if it exists.
pub fn check_claim_update(
    old: &Value,
    new: &Value,
    class: Option<&Value>,
) -> Result<(), ClaimResizeError> {
    const REQUEST: &str = "/spec/resources/requests/storage";
    let (Some(old_size), Some(new_size)) = (quantity(old, REQUEST), quantity(new, REQUEST)) else {
        return Ok(());
    };
    match new_size.cmp_value(&old_size) {
        Ordering::Less => {
            let below = quantity(old, "/status/capacity/storage")
                .is_some_and(|capacity| new_size.cmp_value(&capacity) != Ordering::Greater);
            if below {
                return Err(ClaimResizeError::BelowCapacity);
            }
            Ok(())
        }
        Ordering::Equal => Ok(()),
        Ordering::Greater => {
            if old.pointer("/status/phase").and_then(Value::as_str) != Some("Bound") {
                return Err(ClaimResizeError::Forbidden { detail: NOT_BOUND });
            }
            let same_class = !class_name(new).is_empty() && class_name(new) == class_name(old);
            let expandable = class
                .and_then(|c| c.get("allowVolumeExpansion"))
                .and_then(Value::as_bool)
                == Some(true);
            if same_class && expandable {
                Ok(())
            } else {
                Err(ClaimResizeError::Forbidden {
                    detail: NOT_EXPANDABLE,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim(request: &str, class: &str, capacity: Option<&str>) -> Value {
        let mut c = json!({"spec": {"storageClassName": class,
                                    "resources": {"requests": {"storage": request}}}});
        if let Some(capacity) = capacity {
            c["status"] = json!({"phase": "Bound", "capacity": {"storage": capacity}});
        }
        c
    }

    #[test]
    fn raising_a_bound_claim_needs_an_expandable_class() {
        let old = claim("1Gi", "standard", Some("1Gi"));
        let expandable = json!({"allowVolumeExpansion": true});
        let fixed = json!({"allowVolumeExpansion": false});
        assert_eq!(
            check_claim_update(&old, &claim("2Gi", "standard", None), Some(&expandable)),
            Ok(())
        );
        assert_eq!(
            check_claim_update(&old, &claim("2Gi", "standard", None), Some(&fixed)),
            Err(ClaimResizeError::Forbidden {
                detail: NOT_EXPANDABLE
            })
        );
        assert_eq!(
            check_claim_update(&old, &claim("2Gi", "standard", None), None),
            Err(ClaimResizeError::Forbidden {
                detail: NOT_EXPANDABLE
            })
        );
        assert_eq!(
            check_claim_update(&old, &claim("2Gi", "other", None), Some(&expandable)),
            Err(ClaimResizeError::Forbidden {
                detail: NOT_EXPANDABLE
            }),
            "the class may not change with the size"
        );
        assert_eq!(
            check_claim_update(
                &claim("1Gi", "standard", None),
                &claim("2Gi", "standard", None),
                Some(&expandable)
            ),
            Err(ClaimResizeError::Forbidden { detail: NOT_BOUND })
        );
    }

    #[test]
    fn lowering_below_the_capacity_is_invalid() {
        let old = claim("3Gi", "standard", Some("2Gi"));
        assert_eq!(
            check_claim_update(&old, &claim("2Gi", "standard", None), None),
            Err(ClaimResizeError::BelowCapacity)
        );
        assert_eq!(
            check_claim_update(&old, &claim("2500Mi", "standard", None), None),
            Ok(())
        );
        assert_eq!(
            check_claim_update(&old, &claim("3072Mi", "standard", None), None),
            Ok(()),
            "same value"
        );
    }
}
