//! Where a cell's gateway pods run: the node label a cell's zone or region selects
//! (spec-controllers.md §4.2 `nodeSelector` of multigateway; the resolver's
//! `cell_topology_labels` is the same rule for the data plane's pods).
//!
//! Pure. A cell has a zone or a region, never both (CEL); should both be set, the zone wins, as
//! in Go's `switch`.

use std::collections::BTreeMap;

use multigres_api::labels::{LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_ZONE};

/// The node labels a cell's pods must match: `{zone label: zone}`, else `{region label:
/// region}`, else `None` (any node).
pub fn cell_node_selector(zone: &str, region: &str) -> Option<BTreeMap<String, String>> {
    let (key, value) = if !zone.is_empty() {
        (LABEL_TOPOLOGY_ZONE, zone)
    } else if !region.is_empty() {
        (LABEL_TOPOLOGY_REGION, region)
    } else {
        return None;
    };
    Some(BTreeMap::from([(key.to_owned(), value.to_owned())]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn zone_then_region_then_nothing() {
        let selector = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            cell_node_selector("eu-west-1b", ""),
            Some(selector(&[(LABEL_TOPOLOGY_ZONE, "eu-west-1b")]))
        );
        assert_eq!(
            cell_node_selector("", "eu-west-1"),
            Some(selector(&[(LABEL_TOPOLOGY_REGION, "eu-west-1")]))
        );
        assert_eq!(
            cell_node_selector("eu-west-1b", "eu-west-1"),
            Some(selector(&[(LABEL_TOPOLOGY_ZONE, "eu-west-1b")]))
        );
        assert_eq!(cell_node_selector("", ""), None);
    }
}
