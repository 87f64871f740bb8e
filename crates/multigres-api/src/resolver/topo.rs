//! The global topology server of a cluster: which one it is (template, inline etcd or external
//! server, spec-api.md §10.7.1), the TopoServer spec the cluster controller writes for a managed
//! etcd (§7, §10.9), and the reference every child receives (§2.13).
//!
//! Pure: the template comes from a [`TemplateSource`]; nothing here talks to etcd or the API.

use crate::defaults;
use crate::naming::{self, ClusterName};
use crate::v1alpha1::{
    EtcdSpec, GlobalTopoServerRef, GlobalTopoServerSpec, MultigresClusterSpec, PvcDeletionPolicy,
    TopoServerSpec,
};

use super::defaulting::{default_etcd_spec, default_external_topo_spec};
use super::lookup::{TemplateError, TemplateSource, select_core_template};
use super::merge::{merge_etcd_spec, merge_pvc_deletion_policy};

/// Go `ResolveGlobalTopo`: the CoreTemplate chosen by `globalTopoServer.templateRef`, else
/// `templateDefaults.coreTemplate`, else the namespace `default`; then the inline etcd merged over
/// it, or the external server replacing it; then the built-in defaults. The result never names a
/// template.
pub fn resolve_global_topo(
    spec: &MultigresClusterSpec,
    source: &dyn TemplateSource,
) -> Result<GlobalTopoServerSpec, TemplateError> {
    let user = spec.global_topo_server.as_ref();
    let template_name = match user.map(|u| u.template_ref.as_str()) {
        Some(name) if !name.is_empty() => name,
        _ => spec.template_defaults.core_template.as_str(),
    };
    let template = select_core_template(source, template_name)?;

    let mut resolved = match template.spec.global_topo_server {
        Some(topo) => GlobalTopoServerSpec {
            etcd: topo.etcd,
            pvc_deletion_policy: topo.pvc_deletion_policy,
            ..GlobalTopoServerSpec::default()
        },
        None => GlobalTopoServerSpec {
            etcd: Some(EtcdSpec::default()),
            ..GlobalTopoServerSpec::default()
        },
    };
    if let Some(user) = user {
        if let Some(external) = &user.external {
            // An external server wins over any template etcd.
            resolved.external = Some(external.clone());
            resolved.etcd = None;
        } else if let Some(etcd) = &user.etcd {
            merge_etcd_spec(resolved.etcd.get_or_insert_with(EtcdSpec::default), etcd);
        }
    }
    if let Some(etcd) = resolved.etcd.as_mut() {
        default_etcd_spec(etcd, defaults::TOPO_ROOT_PATH);
    }
    if let Some(external) = resolved.external.as_mut() {
        default_external_topo_spec(external, defaults::TOPO_ROOT_PATH);
    }
    if let Some(policy) = user.and_then(|u| u.pvc_deletion_policy.as_ref()) {
        // The cluster's own section wins over the template field by field.
        resolved.pvc_deletion_policy =
            merge_pvc_deletion_policy(Some(policy), resolved.pvc_deletion_policy.as_ref());
    }
    Ok(resolved)
}

/// The spec of the `{cluster}-global-topo` TopoServer, or `None` when the topology server is
/// external (the cluster controller then deletes any TopoServer it made, spec-controllers.md
/// §2.4).
///
/// The etcd's own `pvcDeletionPolicy` is folded into the spec-level policy, field by field:
/// etcd over global topology server over cluster.
pub fn topo_server_spec(
    resolved: &GlobalTopoServerSpec,
    cluster_policy: Option<&PvcDeletionPolicy>,
) -> Option<TopoServerSpec> {
    let etcd = resolved.etcd.as_ref()?;
    let policy = merge_pvc_deletion_policy(
        etcd.pvc_deletion_policy.as_ref(),
        merge_pvc_deletion_policy(resolved.pvc_deletion_policy.as_ref(), cluster_policy).as_ref(),
    );
    Some(TopoServerSpec {
        etcd: Some(EtcdSpec {
            pvc_deletion_policy: None,
            ..etcd.clone()
        }),
        pvc_deletion_policy: policy,
    })
}

/// Where the children find the global topology server (Go `globalTopoRef`): the managed etcd's
/// client Service, or the first endpoint of the external server.
pub fn global_topo_ref(
    cluster: &ClusterName,
    namespace: &str,
    resolved: &GlobalTopoServerSpec,
) -> GlobalTopoServerRef {
    match (&resolved.etcd, &resolved.external) {
        (Some(etcd), _) => GlobalTopoServerRef {
            address: naming::global_topo_address(cluster, namespace),
            root_path: etcd.root_path.clone(),
            implementation: defaults::TOPO_IMPLEMENTATION.to_owned(),
        },
        (None, Some(external)) => GlobalTopoServerRef {
            address: external
                .endpoints
                .first()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            root_path: external.root_path.clone(),
            implementation: external.implementation.clone(),
        },
        // Only reachable through a CoreTemplate whose globalTopoServer lacks an etcd, which its
        // CRD rule rejects; Go then also writes the managed address with an empty root path.
        (None, None) => GlobalTopoServerRef {
            address: naming::global_topo_address(cluster, namespace),
            root_path: String::new(),
            implementation: defaults::TOPO_IMPLEMENTATION.to_owned(),
        },
    }
}
