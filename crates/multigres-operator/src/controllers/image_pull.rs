//! Image pull settings of the operator's pods (spec/README.md deliberate fix 10): the resolved
//! `images.imagePullPolicy` goes on every container and `images.imagePullSecrets` on every pod.
//! The Go operator puts the secrets on the multiadmin pods only and the policy nowhere
//! (spec-controllers.md §16 quirk 8), so private registries and pinned pull policies did not
//! reach the data plane.
//!
//! Migrating is safe: the API server already defaults a tagged image's policy to `IfNotPresent`,
//! the resolved default, so existing pod templates do not change, and the pool pod spec hash
//! ignores both settings. Pure value conversion; which pods get them is each builder's concern.

use k8s_openapi::api::core::v1::LocalObjectReference;
use multigres_api::v1alpha1::ImagePullPolicy;

/// The container `imagePullPolicy` for a resolved policy; `None` leaves the API server default.
pub fn container_pull_policy(policy: Option<ImagePullPolicy>) -> Option<String> {
    policy.map(|policy| {
        match policy {
            ImagePullPolicy::Always => "Always",
            ImagePullPolicy::Never => "Never",
            ImagePullPolicy::IfNotPresent => "IfNotPresent",
        }
        .to_owned()
    })
}

/// The pod `imagePullSecrets`; `None` when there are none, as Go leaves an empty list out.
pub fn pod_pull_secrets(secrets: &[LocalObjectReference]) -> Option<Vec<LocalObjectReference>> {
    (!secrets.is_empty()).then(|| secrets.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn policies_use_the_kubernetes_spelling() {
        assert_eq!(
            container_pull_policy(Some(ImagePullPolicy::IfNotPresent)).as_deref(),
            Some("IfNotPresent")
        );
        assert_eq!(
            container_pull_policy(Some(ImagePullPolicy::Always)).as_deref(),
            Some("Always")
        );
        assert_eq!(
            container_pull_policy(Some(ImagePullPolicy::Never)).as_deref(),
            Some("Never")
        );
        assert_eq!(container_pull_policy(None), None);
    }

    #[test]
    fn no_secrets_means_no_field() {
        assert_eq!(pod_pull_secrets(&[]), None);
        let registry = LocalObjectReference {
            name: "registry-credentials".into(),
        };
        assert_eq!(
            pod_pull_secrets(std::slice::from_ref(&registry)),
            Some(vec![registry])
        );
    }
}
