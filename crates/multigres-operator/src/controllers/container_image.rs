//! The image a component container runs (spec-controllers.md §4.2, §5, §7.3.5, §7.4): the
//! image named in the child resource's spec, or the operator's default for that component when
//! the field is unset. Go checks for its empty string in each builder; this is the one place
//! that rule lives here.
//!
//! Pure value choice; it must not resolve images from the cluster or templates (the resolver
//! fills the child specs, spec-api.md §10) nor touch pull settings (`image_pull`).

/// `image`, or `default` when `image` is empty (Go's unset string).
pub fn image_or_default(image: &str, default: &str) -> String {
    if image.is_empty() {
        default.to_owned()
    } else {
        image.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn an_unset_image_takes_the_default_and_a_set_one_is_kept() {
        assert_eq!(
            image_or_default("", "ghcr.io/multigres/multigres:sha-d782aa0"),
            "ghcr.io/multigres/multigres:sha-d782aa0"
        );
        assert_eq!(
            image_or_default(
                "registry.example.com/gateway:v2",
                "ghcr.io/multigres/multigres:sha-d782aa0"
            ),
            "registry.example.com/gateway:v2"
        );
    }
}
