//! Cluster DNS for kubesim: which pod addresses an in-cluster name stands for, so that processes
//! run for pods (the etcd runtime) and clients outside the cluster (the operator in local mode, a
//! test using etcd-client) can reach `<svc>.<ns>.svc[.cluster.local]` and
//! `<hostname>.<subdomain>.<ns>.svc[.cluster.local]` (docs/kubesim.md "Name resolution").
//!
//! The answers follow cluster DNS (kube-dns / CoreDNS over EndpointSlices), with one deliberate
//! difference: kubesim has no kube-proxy, so a ClusterIP is not routable and a ClusterIP
//! Service's name resolves to ONE ready backing pod (the first by pod name) instead of the
//! ClusterIP. A headless Service (`clusterIP: None`) resolves to all its ready pods; both count
//! not-ready pods too when the Service sets `publishNotReadyAddresses`. A pod's own name
//! `<spec.hostname>.<spec.subdomain>` resolves when a headless Service named like the subdomain
//! selects it (as the EndpointSlice controller publishes it). Terminating pods and pods without
//! an IP are never answers. Services without a selector, ExternalName Services and `*.pod` names
//! resolve to nothing.
//!
//! [`parse_name`] and [`answer`] are pure; [`resolve`] reads Services and pods through the
//! in-process [`Cluster`] and must not write anything.

use std::net::IpAddr;

use serde_json::Value;

use crate::api::{Cluster, ListOptions, Subresource};
use crate::error::ApiError;

/// The cluster domain kubesim answers for (the kubelet's default `--cluster-domain`).
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// An in-cluster name, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterName {
    /// `<service>.<namespace>.svc`
    Service { service: String, namespace: String },
    /// `<hostname>.<subdomain>.<namespace>.svc`
    PodHostname {
        hostname: String,
        subdomain: String,
        namespace: String,
    },
}

/// Why a name cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "name {name:?} is not an in-cluster name: expected <service>.<namespace>.svc or \
         <hostname>.<subdomain>.<namespace>.svc, optionally followed by .{CLUSTER_DOMAIN}"
    )]
    NotClusterName { name: String },
    #[error("failed to read {resource} in namespace {namespace} to resolve {name:?}")]
    Read {
        name: String,
        resource: &'static str,
        namespace: String,
        #[source]
        source: Box<ApiError>,
    },
}

fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Parses `name` (case-insensitive, an optional trailing dot, an optional `.cluster.local`).
pub fn parse_name(name: &str) -> Result<ClusterName, ResolveError> {
    let not_ours = || ResolveError::NotClusterName {
        name: name.to_string(),
    };
    let lowered = name.trim_end_matches('.').to_ascii_lowercase();
    let without_domain = lowered
        .strip_suffix(&format!(".{CLUSTER_DOMAIN}"))
        .unwrap_or(&lowered);
    let labels: Vec<&str> = without_domain
        .strip_suffix(".svc")
        .ok_or_else(not_ours)?
        .split('.')
        .collect();
    if !labels.iter().all(|l| is_label(l)) {
        return Err(not_ours());
    }
    match labels.as_slice() {
        [service, namespace] => Ok(ClusterName::Service {
            service: service.to_string(),
            namespace: namespace.to_string(),
        }),
        [hostname, subdomain, namespace] => Ok(ClusterName::PodHostname {
            hostname: hostname.to_string(),
            subdomain: subdomain.to_string(),
            namespace: namespace.to_string(),
        }),
        _ => Err(not_ours()),
    }
}

fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Whether the Service's (equality-based) selector selects the pod. A Service without a
/// selector selects nothing: its endpoints are managed by hand, which kubesim does not serve.
fn selects(service: &Value, pod: &Value) -> bool {
    let Some(selector) = service
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .filter(|s| !s.is_empty())
    else {
        return false;
    };
    selector
        .iter()
        .all(|(key, value)| pod.pointer("/metadata/labels").and_then(|l| l.get(key)) == Some(value))
}

fn pod_is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| str_at(c, "/type") == "Ready" && str_at(c, "/status") == "True")
        })
}

/// The pod's address when the Service publishes it: it has an IP, is not terminating, and is
/// ready (or the Service publishes not-ready addresses).
fn published_address(service: &Value, pod: &Value) -> Option<IpAddr> {
    let publish_not_ready = service
        .pointer("/spec/publishNotReadyAddresses")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if pod.pointer("/metadata/deletionTimestamp").is_some()
        || !(publish_not_ready || pod_is_ready(pod))
    {
        return None;
    }
    str_at(pod, "/status/podIP").parse().ok()
}

fn is_headless(service: &Value) -> bool {
    str_at(service, "/spec/clusterIP") == "None"
}

/// The addresses `name` stands for, given the Services and pods of its namespace. Pods are
/// considered in name order, so answers are stable.
pub fn answer(name: &ClusterName, services: &[Value], pods: &[Value]) -> Vec<IpAddr> {
    let mut pods: Vec<&Value> = pods.iter().collect();
    pods.sort_by(|a, b| str_at(a, "/metadata/name").cmp(str_at(b, "/metadata/name")));
    let service_named = |wanted: &str| {
        services
            .iter()
            .find(|s| str_at(s, "/metadata/name") == wanted)
    };
    match name {
        ClusterName::Service { service, .. } => {
            let Some(service) = service_named(service) else {
                return vec![];
            };
            if str_at(service, "/spec/type") == "ExternalName" {
                return vec![];
            }
            let addresses = pods
                .iter()
                .filter(|pod| selects(service, pod))
                .filter_map(|pod| published_address(service, pod));
            if is_headless(service) {
                addresses.collect()
            } else {
                // No kube-proxy: one backing pod stands in for the ClusterIP.
                addresses.take(1).collect()
            }
        }
        ClusterName::PodHostname {
            hostname,
            subdomain,
            ..
        } => {
            let Some(service) = service_named(subdomain).filter(|s| is_headless(s)) else {
                return vec![];
            };
            pods.iter()
                .filter(|pod| {
                    str_at(pod, "/spec/hostname") == hostname
                        && str_at(pod, "/spec/subdomain") == subdomain
                        && selects(service, pod)
                })
                .filter_map(|pod| published_address(service, pod))
                .collect()
        }
    }
}

fn list_items(
    cluster: &Cluster,
    name: &str,
    resource: &'static str,
    namespace: &str,
) -> Result<Vec<Value>, ResolveError> {
    let read_error = |source: ApiError| ResolveError::Read {
        name: name.to_string(),
        resource,
        namespace: namespace.to_string(),
        source: Box::new(source),
    };
    let def = cluster.resource("", "v1", resource).map_err(read_error)?;
    let list = cluster
        .list(&def, Some(namespace), &ListOptions::default())
        .map_err(read_error)?;
    Ok(match list.get("items") {
        Some(Value::Array(items)) => items.clone(),
        _ => vec![],
    })
}

/// Resolves `name` against the cluster's current Services and pods. An unknown Service or a
/// Service without published pods is `Ok(vec![])` (NXDOMAIN / no records).
pub fn resolve(cluster: &Cluster, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
    let parsed = parse_name(name)?;
    let (namespace, service) = match &parsed {
        ClusterName::Service { service, namespace } => (namespace, service),
        ClusterName::PodHostname {
            subdomain,
            namespace,
            ..
        } => (namespace, subdomain),
    };
    let services_def =
        cluster
            .resource("", "v1", "services")
            .map_err(|source| ResolveError::Read {
                name: name.to_string(),
                resource: "services",
                namespace: namespace.clone(),
                source: Box::new(source),
            })?;
    let service = match cluster.get(&services_def, Some(namespace), service, Subresource::Main) {
        Ok(service) => service,
        Err(ApiError::NotFound { .. }) => return Ok(vec![]),
        Err(source) => {
            return Err(ResolveError::Read {
                name: name.to_string(),
                resource: "services",
                namespace: namespace.clone(),
                source: Box::new(source),
            });
        }
    };
    let pods = list_items(cluster, name, "pods", namespace)?;
    Ok(answer(&parsed, &[service], &pods))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn service(name: &str, headless: bool, publish_not_ready: bool) -> Value {
        json!({"metadata": {"name": name, "namespace": "db"},
               "spec": {"clusterIP": if headless { "None" } else { "10.96.0.10" },
                        "publishNotReadyAddresses": publish_not_ready,
                        "selector": {"app": "etcd"}}})
    }

    fn pod(name: &str, ip: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "namespace": "db", "labels": {"app": "etcd"}},
               "spec": {"hostname": name, "subdomain": "topo-headless"},
               "status": {"podIP": ip,
                          "conditions": [{"type": "Ready",
                                          "status": if ready { "True" } else { "False" }}]}})
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter()
            .map(|s| s.parse().expect("test addresses are valid"))
            .collect()
    }

    #[test]
    fn names_parse_with_or_without_the_cluster_domain() {
        let service = ClusterName::Service {
            service: "topo".into(),
            namespace: "db".into(),
        };
        assert_eq!(parse_name("topo.db.svc").ok(), Some(service.clone()));
        assert_eq!(parse_name("Topo.db.svc.cluster.local.").ok(), Some(service));
        assert_eq!(
            parse_name("topo-0.topo-headless.db.svc.cluster.local").ok(),
            Some(ClusterName::PodHostname {
                hostname: "topo-0".into(),
                subdomain: "topo-headless".into(),
                namespace: "db".into(),
            })
        );
    }

    #[test]
    fn other_names_are_rejected_with_the_allowed_forms() {
        for name in [
            "example.com",
            "topo.svc",
            "a.b.c.d.svc",
            "topo..svc",
            "-x.db.svc",
        ] {
            let error = parse_name(name).expect_err(name);
            assert_eq!(
                error.to_string(),
                format!(
                    "name {name:?} is not an in-cluster name: expected <service>.<namespace>.svc \
                     or <hostname>.<subdomain>.<namespace>.svc, optionally followed by \
                     .cluster.local"
                )
            );
        }
    }

    #[test]
    fn a_clusterip_service_stands_for_its_first_ready_pod() {
        let pods = [
            pod("topo-2", "127.0.0.4", true),
            pod("topo-0", "127.0.0.2", false),
            pod("topo-1", "127.0.0.3", true),
        ];
        let name = parse_name("topo.db.svc").expect("valid");
        assert_eq!(
            answer(&name, &[service("topo", false, false)], &pods),
            ips(&["127.0.0.3"])
        );
    }

    #[test]
    fn a_headless_service_stands_for_every_published_pod() {
        let pods = [
            pod("topo-1", "127.0.0.3", true),
            pod("topo-0", "127.0.0.2", false),
            pod("pending", "", true),
        ];
        let name = parse_name("topo-headless.db.svc").expect("valid");
        assert_eq!(
            answer(&name, &[service("topo-headless", true, false)], &pods),
            ips(&["127.0.0.3"])
        );
        assert_eq!(
            answer(&name, &[service("topo-headless", true, true)], &pods),
            ips(&["127.0.0.2", "127.0.0.3"])
        );
    }

    #[test]
    fn a_pod_hostname_needs_its_headless_service() {
        let pods = [
            pod("topo-0", "127.0.0.2", false),
            pod("topo-1", "127.0.0.3", true),
        ];
        let name = parse_name("topo-0.topo-headless.db.svc.cluster.local").expect("valid");
        assert_eq!(
            answer(&name, &[service("topo-headless", true, true)], &pods),
            ips(&["127.0.0.2"])
        );
        assert_eq!(
            answer(&name, &[service("topo-headless", true, false)], &pods),
            ips(&[])
        );
        assert_eq!(
            answer(&name, &[service("topo-headless", false, true)], &pods),
            ips(&[])
        );
        assert_eq!(answer(&name, &[], &pods), ips(&[]));
    }

    #[test]
    fn terminating_unselected_and_selectorless_cases_resolve_to_nothing() {
        let mut terminating = pod("topo-0", "127.0.0.2", true);
        terminating["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        let mut other = pod("topo-1", "127.0.0.3", true);
        other["metadata"]["labels"] = json!({"app": "web"});
        let name = parse_name("topo.db.svc").expect("valid");
        assert_eq!(
            answer(
                &name,
                &[service("topo", true, true)],
                &[terminating, other.clone()]
            ),
            ips(&[])
        );
        let mut selectorless = service("topo", true, true);
        selectorless["spec"]
            .as_object_mut()
            .expect("object")
            .remove("selector");
        other["metadata"]["labels"] = json!({"app": "etcd"});
        assert_eq!(answer(&name, &[selectorless], &[other]), ips(&[]));
    }
}
