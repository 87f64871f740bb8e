//! Templates and the clusters that use them: which clusters a template reaches (explicitly or as
//! the namespace's `default`), whether it may be deleted (deliberate fix 5), and whether an
//! edit keeps every one of those clusters valid (deliberate fix 11, docs/compatibility.md).
//!
//! The caller passes the clusters of the template's namespace; this module neither lists nor
//! filters by namespace, and performs no I/O.

use std::fmt;

use crate::resolver::{LookupError, TemplateKind, TemplateSource, populate_cluster_defaults};
use crate::v1alpha1::{
    CellTemplateSpec, CoreTemplateSpec, MultigresCluster, MultigresClusterSpec, ShardTemplateSpec,
};

use super::field_error::FieldPath;
use super::{ClusterFacts, validate_cluster};

/// A template as created or updated.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateEdit {
    /// A CoreTemplate's new spec.
    Core(CoreTemplateSpec),
    /// A CellTemplate's new spec.
    Cell(CellTemplateSpec),
    /// A ShardTemplate's new spec.
    Shard(ShardTemplateSpec),
}

impl TemplateEdit {
    /// The kind of the edited template.
    pub fn kind(&self) -> TemplateKind {
        match self {
            TemplateEdit::Core(_) => TemplateKind::Core,
            TemplateEdit::Cell(_) => TemplateKind::Cell,
            TemplateEdit::Shard(_) => TemplateKind::Shard,
        }
    }
}

/// Whether `spec` resolves any component through the template `name` of `kind`: it names it
/// (a component reference or `templateDefaults`), or `name` is `default` and some component
/// falls through to the namespace default (no reference of its own, no `templateDefaults`).
/// Shards the defaulting pass injects count as shards without a reference.
pub fn uses_template(spec: &MultigresClusterSpec, kind: TemplateKind, name: &str) -> bool {
    let defaults = &spec.template_defaults;
    let implicit = name == kind.fallback_name();
    match kind {
        TemplateKind::Core => {
            let references = [
                spec.global_topo_server
                    .as_ref()
                    .map(|t| t.template_ref.as_str()),
                spec.multiadmin.as_ref().map(|a| a.template_ref.as_str()),
                spec.multiadmin_web
                    .as_ref()
                    .map(|a| a.template_ref.as_str()),
            ]
            .map(|reference| reference.unwrap_or(""));
            defaults.core_template == name
                || references.contains(&name)
                || (implicit && defaults.core_template.is_empty() && references.contains(&""))
        }
        TemplateKind::Cell => {
            defaults.cell_template == name
                || spec.cells.iter().any(|c| c.cell_template == name)
                || (implicit
                    && defaults.cell_template.is_empty()
                    && spec.cells.iter().any(|c| c.cell_template.is_empty()))
        }
        TemplateKind::Shard => {
            let shards = || {
                spec.databases
                    .iter()
                    .flat_map(|d| &d.tablegroups)
                    .flat_map(|t| &t.shards)
            };
            let injected = spec.databases.is_empty()
                || spec.databases.iter().any(|d| {
                    d.tablegroups.is_empty() || d.tablegroups.iter().any(|t| t.shards.is_empty())
                });
            defaults.shard_template == name
                || shards().any(|s| s.shard_template == name)
                || (implicit
                    && defaults.shard_template.is_empty()
                    && (injected || shards().any(|s| s.shard_template.is_empty())))
        }
    }
}

/// The clusters, among `clusters`, that use the template.
pub fn template_users<'a>(
    kind: TemplateKind,
    name: &str,
    clusters: &'a [MultigresCluster],
) -> Vec<&'a MultigresCluster> {
    clusters
        .iter()
        .filter(|cluster| uses_template(&cluster.spec, kind, name))
        .collect()
}

/// Why a template may not be deleted (deliberate fix 5): Go's message, naming the first
/// cluster, by name, that uses it. Unlike Go, clusters not yet labelled by the controller and
/// clusters relying on an unpromoted `default` template count.
pub fn deletion_blocker(
    kind: TemplateKind,
    name: &str,
    clusters: &[MultigresCluster],
) -> Option<String> {
    let mut users: Vec<&str> = template_users(kind, name, clusters)
        .into_iter()
        .filter_map(|cluster| cluster.metadata.name.as_deref())
        .collect();
    users.sort_unstable();
    users.first().map(|cluster| {
        format!(
            "cannot delete {kind} '{name}' because it is in use by MultigresCluster '{cluster}'"
        )
    })
}

/// A finding about one of the clusters a template edit reaches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClusterFinding {
    /// The cluster's name.
    pub cluster: String,
    /// Where in that cluster.
    pub path: FieldPath,
    /// The message its own validation gives.
    pub message: String,
}

impl fmt::Display for ClusterFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MultigresCluster '{}': {}: {}",
            self.cluster, self.path, self.message
        )
    }
}

/// What a template edit does to the clusters using it: the edit is rejected when `errors` is
/// not empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateChangeReport {
    /// Errors the edited template causes, by cluster then path.
    pub errors: Vec<ClusterFinding>,
    /// Warnings, likewise.
    pub warnings: Vec<ClusterFinding>,
}

/// The namespace's templates with one of them replaced by its edited version.
struct WithEdit<'a> {
    base: &'a dyn TemplateSource,
    name: &'a str,
    edit: &'a TemplateEdit,
}

impl TemplateSource for WithEdit<'_> {
    fn core_template(&self, name: &str) -> Result<Option<CoreTemplateSpec>, LookupError> {
        match self.edit {
            TemplateEdit::Core(spec) if name == self.name => Ok(Some(spec.clone())),
            _ => self.base.core_template(name),
        }
    }

    fn cell_template(&self, name: &str) -> Result<Option<CellTemplateSpec>, LookupError> {
        match self.edit {
            TemplateEdit::Cell(spec) if name == self.name => Ok(Some(spec.clone())),
            _ => self.base.cell_template(name),
        }
    }

    fn shard_template(&self, name: &str) -> Result<Option<ShardTemplateSpec>, LookupError> {
        match self.edit {
            TemplateEdit::Shard(spec) if name == self.name => Ok(Some(spec.clone())),
            _ => self.base.shard_template(name),
        }
    }
}

/// Deliberate fix 11: every cluster among `clusters` that uses the template `name` is defaulted
/// and validated as the MultigresCluster webhook would, with `edit` in place of the stored
/// template (`source` holds the namespace's other templates).
pub fn validate_template_change(
    name: &str,
    edit: &TemplateEdit,
    clusters: &[MultigresCluster],
    source: &dyn TemplateSource,
    facts: &ClusterFacts,
) -> Result<TemplateChangeReport, LookupError> {
    let overlay = WithEdit {
        base: source,
        name,
        edit,
    };
    let mut report = TemplateChangeReport::default();
    for cluster in template_users(edit.kind(), name, clusters) {
        let cluster_name = cluster.metadata.name.clone().unwrap_or_default();
        let namespace = cluster.metadata.namespace.clone().unwrap_or_default();
        let mut spec = cluster.spec.clone();
        populate_cluster_defaults(&mut spec, &overlay)?;
        let findings = validate_cluster(&spec, &namespace, &overlay, facts)?;
        let finding = |path: FieldPath, message: String| ClusterFinding {
            cluster: cluster_name.clone(),
            path,
            message,
        };
        report.errors.extend(
            findings
                .errors
                .into_iter()
                .map(|e| finding(e.path, e.message)),
        );
        report.warnings.extend(
            findings
                .warnings
                .into_iter()
                .map(|w| finding(w.path, w.message)),
        );
    }
    report.errors.sort();
    report.warnings.sort();
    Ok(report)
}
