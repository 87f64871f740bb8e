//! The resolver: how a MultigresCluster's configuration is completed (spec-api.md §10).
//!
//! Each component's final value is, highest precedence first: its inline `spec`, its
//! `overrides` (cells and shards), the one template selected by the 4-level chain, and the
//! built-in defaults:
//!
//! 1. the component's own template reference (`globalTopoServer.templateRef`,
//!    `multiadmin(Web).templateRef`, `cells[].cellTemplate`, `shards[].shardTemplate`);
//! 2. the cluster's `templateDefaults`;
//! 3. the template called `default` in the cluster's namespace, when it exists;
//! 4. the built-in defaults of [`crate::defaults`], for whatever is still unset.
//!
//! Templates are never merged with each other. The modules follow the steps: [`lookup`]
//! (levels 1–3), [`merge`] (§10.5, §2.18), [`defaulting`] (level 4, §10.6), [`cluster`] (the
//! cluster-wide defaulting pass, §10.8), [`topo`], [`admin`], [`cell`], [`shard`] (per
//! component, §10.7), [`inherit`] (the child resources' specs, §10.9) and [`materialize`] (what
//! the mutating webhook writes back, §12.3).
//!
//! Pure: templates come from a [`TemplateSource`]; nothing here performs I/O, reads the clock
//! or the environment, and nothing here validates (see [`crate::validation`]).

pub mod admin;
pub mod cell;
pub mod cluster;
pub mod defaulting;
pub mod inherit;
pub mod lookup;
pub mod materialize;
pub mod merge;
pub mod shard;
pub mod topo;

use thiserror::Error;

pub use admin::{resolve_multiadmin, resolve_multiadmin_web};
pub use cell::{ResolvedCell, resolve_cell, with_default_cell_template};
pub use cluster::{DefaultingDecision, cell_names, populate_cluster_defaults};
pub use inherit::{
    EffectivePvcPolicy, ResolvedCluster, cell_spec, cell_topology_labels,
    effective_pool_pvc_policy, pruning_enabled, referenced_templates, resolve_cluster,
    shard_replicas, shard_spec, table_group_spec,
};
pub use lookup::{
    LookupError, NamespaceTemplates, SelectedTemplate, TemplateError, TemplateKind, TemplateSource,
    select_cell_template, select_core_template, select_shard_template, template_exists,
};
pub use materialize::materialize_defaults;
pub use merge::{merge_backup_config, merge_pvc_deletion_policy};
pub use shard::{ResolvedShard, resolve_shard, with_default_shard_template};
pub use topo::{global_topo_ref, resolve_global_topo, topo_server_spec};

/// Why a cluster could not be resolved. The messages are Go's (spec-api.md §12.3); the cause
/// follows in the source chain (see [`error_chain_text`]).
#[derive(Debug, Error)]
pub enum ResolveError {
    /// Checking for the namespace's `default` ShardTemplate failed.
    #[error("failed to check for implicit shard template")]
    ImplicitShardTemplate {
        #[source]
        source: LookupError,
    },
    /// The global topology server's template could not be selected.
    #[error("failed to resolve globalTopoServer")]
    GlobalTopoServer {
        #[source]
        source: TemplateError,
    },
    /// multiadmin's template could not be selected.
    #[error("failed to resolve multiadmin")]
    MultiAdmin {
        #[source]
        source: TemplateError,
    },
    /// multiadmin-web's template could not be selected.
    #[error("failed to resolve multiadmin-web")]
    MultiAdminWeb {
        #[source]
        source: TemplateError,
    },
    /// A cell's template could not be selected.
    #[error("failed to resolve cell '{cell}'")]
    Cell {
        /// The cell's name.
        cell: String,
        #[source]
        source: TemplateError,
    },
    /// A shard's template could not be selected.
    #[error("failed to resolve shard '{shard}'")]
    Shard {
        /// The shard's database.
        database: String,
        /// The shard's table group.
        table_group: String,
        /// The shard's name.
        shard: String,
        #[source]
        source: TemplateError,
    },
}

impl ResolveError {
    /// The template lookup failure underneath, when the source could not answer (as opposed to a
    /// template that does not exist): the webhook answers with that failure's own status, as Go
    /// does (spec-api.md §11.1).
    pub fn lookup_failure(&self) -> Option<&LookupError> {
        match self {
            ResolveError::ImplicitShardTemplate { source } => Some(source),
            ResolveError::GlobalTopoServer { source }
            | ResolveError::MultiAdmin { source }
            | ResolveError::MultiAdminWeb { source }
            | ResolveError::Cell { source, .. }
            | ResolveError::Shard { source, .. } => match source {
                TemplateError::Lookup(lookup) => Some(lookup),
                TemplateError::NotFound { .. } => None,
            },
        }
    }
}

/// An error and its causes joined with `": "`, the way Go's `%w` wrapping prints them (for
/// admission responses and Events).
pub fn error_chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}
