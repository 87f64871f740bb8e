//! The MultigresCluster status (spec-controllers.md §2.11), aggregated from its Cells,
//! TableGroups and TopoServers as last observed, plus the external endpoints.
//!
//! Pure: the time is an argument. The whole status is this controller's (one writer).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use multigres_api::conditions::{
    ADMIN_WEB_EXTERNAL_READY, AVAILABLE, ChildObservation, ExternalExposure,
    GATEWAY_EXTERNAL_READY, cluster_available, cluster_phase, external_ready, is_condition_true,
    set_condition,
};
use multigres_api::v1alpha1::{
    CellName, CellStatusSummary, DatabaseName, DatabaseStatusSummary, GatewayStatus,
    MultigresCluster, MultigresClusterStatus, ResolvedTemplates,
};

use super::fetch::Children;

/// The externally exposed Services and how many of their pods are ready.
#[derive(Clone, Debug, Default)]
pub struct Exposure {
    /// `{cluster}-multigateway`, when external exposure is enabled.
    pub gateway: Option<Option<Service>>,
    /// `{cluster}-multiadmin-web` and its Deployment's ready replicas, when enabled.
    pub admin_web: Option<(Option<Service>, i64)>,
}

/// A Service's external endpoint: its first external IP, else the first load-balancer
/// ingress's hostname, else its IP, else "" (§2.11).
pub fn external_endpoint(service: Option<&Service>) -> String {
    let Some(service) = service else {
        return String::new();
    };
    if let Some(ip) = service
        .spec
        .as_ref()
        .and_then(|spec| spec.external_ips.as_ref())
        .and_then(|ips| ips.first())
    {
        return ip.clone();
    }
    service
        .status
        .as_ref()
        .and_then(|status| status.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .and_then(|ingress| ingress.first())
        .and_then(|ingress| {
            ingress
                .hostname
                .clone()
                .filter(|h| !h.is_empty())
                .or_else(|| ingress.ip.clone())
        })
        .unwrap_or_default()
}

fn observe<T>(generation: Option<i64>, observed: Option<i64>, phase: Option<T>) -> ChildObservation
where
    T: Into<Option<multigres_api::v1alpha1::Phase>>,
{
    ChildObservation {
        generation: generation.unwrap_or_default(),
        observed_generation: observed,
        phase: phase.and_then(Into::into),
    }
}

/// The status to write; `previous` supplies the conditions' `lastTransitionTime`.
pub fn compute_status(
    cluster: &MultigresCluster,
    previous: &MultigresClusterStatus,
    children: &Children,
    exposure: &Exposure,
    resolved_templates: ResolvedTemplates,
    now: &Time,
) -> MultigresClusterStatus {
    let generation = cluster.metadata.generation;
    let mut cells = BTreeMap::new();
    let mut cells_ready = Vec::new();
    let mut ready_gateway_pods = 0i64;
    for cell in &children.cells {
        let status = cell.status.clone().unwrap_or_default();
        let current = status.observed_generation == cell.metadata.generation.unwrap_or_default();
        let ready = current && is_condition_true(&status.conditions, AVAILABLE);
        if current {
            ready_gateway_pods += i64::from(status.gateway_ready_replicas);
        }
        cells_ready.push(ready);
        cells.insert(
            CellName::new(cell.spec.name.as_str()),
            CellStatusSummary {
                ready,
                gateway_replicas: status.gateway_replicas,
            },
        );
    }
    let mut databases: BTreeMap<DatabaseName, DatabaseStatusSummary> = BTreeMap::new();
    for table_group in &children.table_groups {
        let status = table_group.status.clone().unwrap_or_default();
        let entry = databases
            .entry(DatabaseName::new(table_group.spec.database_name.as_str()))
            .or_default();
        if status.observed_generation == table_group.metadata.generation.unwrap_or_default() {
            entry.ready_shards += status.ready_shards;
        }
        entry.total_shards += status.total_shards;
    }
    let observed: Vec<ChildObservation> = children
        .cells
        .iter()
        .map(|c| {
            let s = c.status.as_ref();
            observe(
                c.metadata.generation,
                s.map(|s| s.observed_generation),
                s.and_then(|s| s.phase),
            )
        })
        .chain(children.table_groups.iter().map(|t| {
            let s = t.status.as_ref();
            observe(
                t.metadata.generation,
                s.map(|s| s.observed_generation),
                s.and_then(|s| s.phase),
            )
        }))
        .chain(children.topo_servers.iter().map(|t| {
            let s = t.status.as_ref();
            observe(
                t.metadata.generation,
                s.map(|s| s.observed_generation),
                s.and_then(|s| s.phase),
            )
        }))
        .collect();
    let phase = cluster_phase(&observed);

    let mut conditions: Vec<_> = previous
        .conditions
        .iter()
        .filter(|c| {
            c.type_ == AVAILABLE
                || c.type_ == GATEWAY_EXTERNAL_READY
                || c.type_ == ADMIN_WEB_EXTERNAL_READY
        })
        .cloned()
        .collect();
    set_condition(
        &mut conditions,
        &cluster_available(&cells_ready),
        generation,
        now,
    );

    let mut gateway = None;
    match &exposure.gateway {
        Some(service) => {
            let endpoint = external_endpoint(service.as_ref());
            set_condition(
                &mut conditions,
                &external_ready(ExternalExposure::Gateway, &endpoint, ready_gateway_pods),
                generation,
                now,
            );
            gateway = Some(GatewayStatus {
                external_endpoint: endpoint,
            });
        }
        None => conditions.retain(|c| c.type_ != GATEWAY_EXTERNAL_READY),
    }
    let mut admin_web = None;
    match &exposure.admin_web {
        Some((service, ready)) => {
            let endpoint = external_endpoint(service.as_ref());
            set_condition(
                &mut conditions,
                &external_ready(ExternalExposure::AdminWeb, &endpoint, *ready),
                generation,
                now,
            );
            admin_web = Some(GatewayStatus {
                external_endpoint: endpoint,
            });
        }
        None => conditions.retain(|c| c.type_ != ADMIN_WEB_EXTERNAL_READY),
    }

    MultigresClusterStatus {
        observed_generation: generation.unwrap_or_default(),
        conditions,
        phase: Some(phase.phase),
        message: phase.message,
        cells,
        gateway,
        admin_web,
        databases,
        resolved_templates: Some(resolved_templates),
    }
}
