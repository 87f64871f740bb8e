//! multiadmin and multiadmin-web: the CoreTemplate's component, the inline spec merged over it,
//! then the built-in defaults (spec-api.md §10.7.2).

use crate::defaults;
use crate::v1alpha1::{MultiAdminConfig, MultigresClusterSpec, StatelessSpec};

use super::defaulting::default_stateless_spec;
use super::lookup::{TemplateError, TemplateSource, select_core_template};
use super::merge::merge_stateless_spec;

/// Go `ResolveMultiAdmin`.
pub fn resolve_multiadmin(
    spec: &MultigresClusterSpec,
    source: &dyn TemplateSource,
) -> Result<StatelessSpec, TemplateError> {
    resolve_admin(
        spec,
        spec.multiadmin.as_ref(),
        source,
        |template| template.multiadmin,
        defaults::MULTIADMIN_RESOURCES,
        defaults::MULTIADMIN_REPLICAS,
    )
}

/// Go `ResolveMultiAdminWeb`.
pub fn resolve_multiadmin_web(
    spec: &MultigresClusterSpec,
    source: &dyn TemplateSource,
) -> Result<StatelessSpec, TemplateError> {
    resolve_admin(
        spec,
        spec.multiadmin_web.as_ref(),
        source,
        |template| template.multiadmin_web,
        defaults::MULTIADMIN_WEB_RESOURCES,
        defaults::MULTIADMIN_WEB_REPLICAS,
    )
}

fn resolve_admin(
    spec: &MultigresClusterSpec,
    config: Option<&MultiAdminConfig>,
    source: &dyn TemplateSource,
    component: impl FnOnce(crate::v1alpha1::CoreTemplateSpec) -> Option<StatelessSpec>,
    resources: defaults::DefaultResources,
    replicas: i32,
) -> Result<StatelessSpec, TemplateError> {
    let template_name = match config.map(|c| c.template_ref.as_str()) {
        Some(name) if !name.is_empty() => name,
        _ => spec.template_defaults.core_template.as_str(),
    };
    let template = select_core_template(source, template_name)?;
    let mut resolved = component(template.spec).unwrap_or_default();
    if let Some(inline) = config.and_then(|c| c.spec.as_ref()) {
        merge_stateless_spec(&mut resolved, inline);
    }
    default_stateless_spec(&mut resolved, resources, replicas);
    Ok(resolved)
}
