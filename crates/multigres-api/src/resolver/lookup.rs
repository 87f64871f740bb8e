//! Template selection: Levels 1 to 3 of the resolution chain (spec-api.md §10.1, §10.4).
//!
//! A component names its template (Level 1) or inherits the cluster's `templateDefaults` (Level 2,
//! applied by the callers); when neither names one, the template called `default` in the
//! cluster's namespace is used if it exists (Level 3), and otherwise an empty template, so that
//! only the built-in defaults (Level 4) remain.
//!
//! The templates themselves come from a [`TemplateSource`], scoped to one namespace. Tests and the
//! `render` command use the in-memory [`NamespaceTemplates`]; the operator implements the trait
//! over what it read from the API. This module never performs I/O and never caches: a source that
//! reads lazily may cache, the resolver asks again each time it needs a template.

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

use crate::defaults;
use crate::v1alpha1::{
    CellTemplate, CellTemplateSpec, CoreTemplate, CoreTemplateSpec, ShardTemplate,
    ShardTemplateSpec,
};

/// The three template kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TemplateKind {
    /// `CoreTemplate`: global topology server, multiadmin and multiadmin-web.
    Core,
    /// `CellTemplate`: each cell's multigateway.
    Cell,
    /// `ShardTemplate`: each shard's multiorch and pools.
    Shard,
}

impl TemplateKind {
    /// The Kubernetes kind, as Go's messages print it.
    pub const fn kind(self) -> &'static str {
        match self {
            TemplateKind::Core => "CoreTemplate",
            TemplateKind::Cell => "CellTemplate",
            TemplateKind::Shard => "ShardTemplate",
        }
    }

    /// The resource's plural name, as API server errors print it.
    pub const fn plural(self) -> &'static str {
        match self {
            TemplateKind::Core => "coretemplates",
            TemplateKind::Cell => "celltemplates",
            TemplateKind::Shard => "shardtemplates",
        }
    }

    /// The implicit Level-3 template name of this kind (Go `Fallback*Template`).
    pub const fn fallback_name(self) -> &'static str {
        match self {
            TemplateKind::Core => defaults::FALLBACK_CORE_TEMPLATE,
            TemplateKind::Cell => defaults::FALLBACK_CELL_TEMPLATE,
            TemplateKind::Shard => defaults::FALLBACK_SHARD_TEMPLATE,
        }
    }
}

impl fmt::Display for TemplateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

/// A template source could not answer (anything but "not found", which is `Ok(None)`): the
/// operator's source wraps the API error here, so that the webhook can return that error's
/// status as Go does (spec-api.md §11.1).
#[derive(Debug, Error)]
#[error("failed to get {kind} '{name}'")]
pub struct LookupError {
    /// Kind of the template asked for.
    pub kind: TemplateKind,
    /// Name of the template asked for.
    pub name: String,
    /// Why the source could not answer.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The templates of one namespace (the cluster's: templates are never looked up elsewhere,
/// spec-api.md §8). `Ok(None)` means the template does not exist.
pub trait TemplateSource {
    /// The spec of the CoreTemplate `name`.
    fn core_template(&self, name: &str) -> Result<Option<CoreTemplateSpec>, LookupError>;
    /// The spec of the CellTemplate `name`.
    fn cell_template(&self, name: &str) -> Result<Option<CellTemplateSpec>, LookupError>;
    /// The spec of the ShardTemplate `name`.
    fn shard_template(&self, name: &str) -> Result<Option<ShardTemplateSpec>, LookupError>;
}

/// Templates held in memory, by name: what a namespace contains.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NamespaceTemplates {
    /// CoreTemplates by name.
    pub core: BTreeMap<String, CoreTemplateSpec>,
    /// CellTemplates by name.
    pub cell: BTreeMap<String, CellTemplateSpec>,
    /// ShardTemplates by name.
    pub shard: BTreeMap<String, ShardTemplateSpec>,
}

impl NamespaceTemplates {
    /// No templates at all: every component resolves to the built-in defaults.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds a CoreTemplate, replacing one of the same name.
    pub fn with_core(mut self, name: impl Into<String>, spec: CoreTemplateSpec) -> Self {
        self.core.insert(name.into(), spec);
        self
    }

    /// Adds a CellTemplate, replacing one of the same name.
    pub fn with_cell(mut self, name: impl Into<String>, spec: CellTemplateSpec) -> Self {
        self.cell.insert(name.into(), spec);
        self
    }

    /// Adds a ShardTemplate, replacing one of the same name.
    pub fn with_shard(mut self, name: impl Into<String>, spec: ShardTemplateSpec) -> Self {
        self.shard.insert(name.into(), spec);
        self
    }

    /// Collects template objects by their `metadata.name`; objects without a name are skipped
    /// (the API server never stores one).
    pub fn from_objects(
        core: impl IntoIterator<Item = CoreTemplate>,
        cell: impl IntoIterator<Item = CellTemplate>,
        shard: impl IntoIterator<Item = ShardTemplate>,
    ) -> Self {
        Self {
            core: core
                .into_iter()
                .filter_map(|t| Some((t.metadata.name?, t.spec)))
                .collect(),
            cell: cell
                .into_iter()
                .filter_map(|t| Some((t.metadata.name?, t.spec)))
                .collect(),
            shard: shard
                .into_iter()
                .filter_map(|t| Some((t.metadata.name?, t.spec)))
                .collect(),
        }
    }
}

impl TemplateSource for NamespaceTemplates {
    fn core_template(&self, name: &str) -> Result<Option<CoreTemplateSpec>, LookupError> {
        Ok(self.core.get(name).cloned())
    }

    fn cell_template(&self, name: &str) -> Result<Option<CellTemplateSpec>, LookupError> {
        Ok(self.cell.get(name).cloned())
    }

    fn shard_template(&self, name: &str) -> Result<Option<ShardTemplateSpec>, LookupError> {
        Ok(self.shard.get(name).cloned())
    }
}

/// Why no template could be selected.
#[derive(Debug, Error)]
pub enum TemplateError {
    /// An explicitly named template does not exist. The text after the colon is the API
    /// server's NotFound message, which Go's resolver appends (spec-api.md §10.4).
    #[error(
        "referenced {kind} '{name}' not found: {plural}.multigres.com \"{name}\" not found",
        plural = kind.plural()
    )]
    NotFound {
        /// Kind of the missing template.
        kind: TemplateKind,
        /// The name the cluster gave.
        name: String,
    },
    /// The source could not answer.
    #[error(transparent)]
    Lookup(#[from] LookupError),
}

/// The template a component resolved to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelectedTemplate<T> {
    /// The template's name; empty when the implicit `default` template does not exist and an
    /// empty template stands in for it (Go's empty template object has no name).
    pub name: String,
    /// Its spec (empty when `name` is empty).
    pub spec: T,
}

/// Go `Resolve*Template` (spec-api.md §10.4): an empty name or `default` selects the implicit
/// namespace default, which may be missing (an empty template then); any other name must exist.
fn select<T: Default>(
    kind: TemplateKind,
    name: &str,
    fetch: impl FnOnce(&str) -> Result<Option<T>, LookupError>,
) -> Result<SelectedTemplate<T>, TemplateError> {
    let fallback = kind.fallback_name();
    let implicit = name.is_empty() || name == fallback;
    let wanted = if implicit { fallback } else { name };
    match fetch(wanted)? {
        Some(spec) => Ok(SelectedTemplate {
            name: wanted.to_owned(),
            spec,
        }),
        None if implicit => Ok(SelectedTemplate::default()),
        None => Err(TemplateError::NotFound {
            kind,
            name: name.to_owned(),
        }),
    }
}

/// The CoreTemplate named `name`, or the implicit default (Go `ResolveCoreTemplate`).
pub fn select_core_template(
    source: &dyn TemplateSource,
    name: &str,
) -> Result<SelectedTemplate<CoreTemplateSpec>, TemplateError> {
    select(TemplateKind::Core, name, |n| source.core_template(n))
}

/// The CellTemplate named `name`, or the implicit default (Go `ResolveCellTemplate`).
pub fn select_cell_template(
    source: &dyn TemplateSource,
    name: &str,
) -> Result<SelectedTemplate<CellTemplateSpec>, TemplateError> {
    select(TemplateKind::Cell, name, |n| source.cell_template(n))
}

/// The ShardTemplate named `name`, or the implicit default (Go `ResolveShardTemplate`).
pub fn select_shard_template(
    source: &dyn TemplateSource,
    name: &str,
) -> Result<SelectedTemplate<ShardTemplateSpec>, TemplateError> {
    select(TemplateKind::Shard, name, |n| source.shard_template(n))
}

/// Whether a template of `kind` called `name` exists (Go `*TemplateExists`); an empty name never
/// does.
pub fn template_exists(
    source: &dyn TemplateSource,
    kind: TemplateKind,
    name: &str,
) -> Result<bool, LookupError> {
    if name.is_empty() {
        return Ok(false);
    }
    Ok(match kind {
        TemplateKind::Core => source.core_template(name)?.is_some(),
        TemplateKind::Cell => source.cell_template(name)?.is_some(),
        TemplateKind::Shard => source.shard_template(name)?.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1alpha1::StatelessSpec;
    use pretty_assertions::assert_eq;

    fn core(replicas: i32) -> CoreTemplateSpec {
        CoreTemplateSpec {
            multiadmin: Some(StatelessSpec {
                replicas: Some(replicas),
                ..StatelessSpec::default()
            }),
            ..CoreTemplateSpec::default()
        }
    }

    /// A source whose every lookup fails, like an API server denying access.
    struct Forbidden;

    impl TemplateSource for Forbidden {
        fn core_template(&self, name: &str) -> Result<Option<CoreTemplateSpec>, LookupError> {
            Err(LookupError {
                kind: TemplateKind::Core,
                name: name.to_owned(),
                source: "coretemplates.multigres.com \"x\" is forbidden".into(),
            })
        }
        fn cell_template(&self, _: &str) -> Result<Option<CellTemplateSpec>, LookupError> {
            Ok(None)
        }
        fn shard_template(&self, _: &str) -> Result<Option<ShardTemplateSpec>, LookupError> {
            Ok(None)
        }
    }

    #[test]
    fn a_named_template_is_selected_by_name() {
        let source = NamespaceTemplates::empty()
            .with_core("prod", core(2))
            .with_core("default", core(7));
        let selected = select_core_template(&source, "prod").expect("prod exists");
        assert_eq!(
            selected,
            SelectedTemplate {
                name: "prod".to_owned(),
                spec: core(2)
            }
        );
    }

    #[test]
    fn no_name_selects_the_namespace_default_when_it_exists() {
        let source = NamespaceTemplates::empty().with_core("default", core(7));
        let selected = select_core_template(&source, "").expect("implicit lookup");
        assert_eq!(
            selected,
            SelectedTemplate {
                name: "default".to_owned(),
                spec: core(7)
            }
        );
    }

    #[test]
    fn a_missing_namespace_default_is_an_empty_template() {
        for name in ["", "default"] {
            let selected =
                select_shard_template(&NamespaceTemplates::empty(), name).expect("implicit");
            assert_eq!(selected, SelectedTemplate::default(), "name {name:?}");
        }
    }

    #[test]
    fn a_missing_named_template_is_an_error_with_the_api_server_text() {
        let error = select_cell_template(&NamespaceTemplates::empty(), "gw-large")
            .expect_err("gw-large does not exist");
        assert_eq!(
            error.to_string(),
            "referenced CellTemplate 'gw-large' not found: celltemplates.multigres.com \
             \"gw-large\" not found"
        );
    }

    #[test]
    fn lookup_failures_propagate_with_their_cause() {
        let error = select_core_template(&Forbidden, "prod").expect_err("forbidden");
        assert_eq!(error.to_string(), "failed to get CoreTemplate 'prod'");
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(
            cause.as_deref(),
            Some("coretemplates.multigres.com \"x\" is forbidden")
        );
    }

    #[test]
    fn existence_checks_ignore_empty_names() {
        let source = NamespaceTemplates::empty().with_shard("default", Default::default());
        assert_eq!(
            [
                template_exists(&source, TemplateKind::Shard, ""),
                template_exists(&source, TemplateKind::Shard, "default"),
                template_exists(&source, TemplateKind::Shard, "other"),
                template_exists(&source, TemplateKind::Core, "default"),
            ]
            .map(|r| r.expect("in-memory lookups cannot fail")),
            [false, true, false, false]
        );
    }

    #[test]
    fn objects_are_collected_by_name() {
        let mut named = CoreTemplate::new("prod", core(2));
        named.metadata.namespace = Some("ns".to_owned());
        let mut unnamed = CoreTemplate::new("x", core(3));
        unnamed.metadata.name = None;
        let templates = NamespaceTemplates::from_objects([named, unnamed], [], []);
        assert_eq!(
            templates,
            NamespaceTemplates::empty().with_core("prod", core(2))
        );
    }
}
