//! Image pull settings of the operator's pods (spec/README.md deliberate fix 10): a resolved
//! `images.imagePullPolicy` of `Always` or `Never` goes on every container, and
//! `images.imagePullSecrets` on every pod. The Go operator puts the secrets on the multiadmin pods
//! only and the policy nowhere (spec-controllers.md §16 quirk 8), so private registries and pinned
//! pull policies did not reach the data plane.
//!
//! `IfNotPresent` (the resolved default) is left implicit: for the tagged images the operator
//! uses, it is what the API server fills into an omitted field, so writing it would only make
//! every object differ from the Go operator's. For a `:latest` image the API server defaults to
//! `Always`, exactly as it does for the objects Go writes. An empty secret list is left out too,
//! as Go's `omitempty` does. The pool pod spec hash ignores both settings. Pure value conversion;
//! which pods get them is each builder's concern.

use k8s_openapi::api::core::v1::LocalObjectReference;
use multigres_api::v1alpha1::ImagePullPolicy;

/// The container `imagePullPolicy` for a resolved policy: `Always` and `Never` are written;
/// `IfNotPresent` and no policy leave the field to the API server's default, as Go does.
pub fn container_pull_policy(policy: Option<ImagePullPolicy>) -> Option<String> {
    match policy? {
        ImagePullPolicy::Always => Some("Always".to_owned()),
        ImagePullPolicy::Never => Some("Never".to_owned()),
        ImagePullPolicy::IfNotPresent => None,
    }
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
    fn only_policies_other_than_the_api_server_default_are_written() {
        assert_eq!(
            container_pull_policy(Some(ImagePullPolicy::Always)).as_deref(),
            Some("Always")
        );
        assert_eq!(
            container_pull_policy(Some(ImagePullPolicy::Never)).as_deref(),
            Some("Never")
        );
        assert_eq!(
            container_pull_policy(Some(ImagePullPolicy::IfNotPresent)),
            None
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
