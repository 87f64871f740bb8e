//! Limits must cover requests (Go `validateResourceRequirements`, spec-api.md §11.3 step 0e):
//! a pod whose limit is below its request is rejected by the API server at apply time, so the
//! webhook rejects the cluster first.

use k8s_openapi::api::core::v1::ResourceRequirements;

use crate::quantity::GoQuantity;

/// One message per resource whose limit is below its request, in resource-name order:
/// `{component}: resource {name} limit ({limit}) must be >= request ({request})`, quantities
/// printed as Go prints them.
///
/// A quantity that does not parse is skipped: the CRD schema rejects it before validation runs.
pub fn limits_below_requests(resources: &ResourceRequirements, component: &str) -> Vec<String> {
    let (Some(limits), Some(requests)) = (&resources.limits, &resources.requests) else {
        return Vec::new();
    };
    limits
        .iter()
        .filter_map(|(name, limit)| {
            let request = requests.get(name)?;
            let limit = GoQuantity::parse(limit.0.trim()).ok()?;
            let request = GoQuantity::parse(request.0.trim()).ok()?;
            limit.cmp_value(&request).is_lt().then(|| {
                format!(
                    "{component}: resource {name} limit ({}) must be >= request ({})",
                    limit.go_string(),
                    request.go_string()
                )
            })
        })
        .collect()
}
