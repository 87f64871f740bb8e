//! The objects a fresh kubesim cluster starts with (rust-ecosystem.md §3.3 "Bootstrap
//! objects"): the four system namespaces (their `default` ServiceAccounts and
//! `kube-root-ca.crt` ConfigMaps come from [`crate::namespace_controllers`]), the
//! `default/kubernetes` Service, one Ready Node per zone (zone/region/hostname labels), a
//! default StorageClass, and the RBAC bootstrap policy (`cluster-admin` for `system:masters`,
//! discovery and self-review roles for every authenticated user).
//!
//! Written through the in-process API like any client would.

use serde_json::{Value, json};

use crate::api::{Cluster, WriteOptions};
use crate::error::ApiError;

/// What to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapConfig {
    /// One Node per zone, named `kubesim-<zone>`.
    pub zones: Vec<String>,
    /// `topology.kubernetes.io/region` of every Node.
    pub region: String,
    /// The port the `kubernetes` Service points at.
    pub port: u16,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            zones: vec!["zone-a".into()],
            region: "kubesim".into(),
            port: 443,
        }
    }
}

/// The name of the Node kubesim creates for `zone`.
pub fn node_name(zone: &str) -> String {
    format!("kubesim-{zone}")
}

fn create(
    cluster: &Cluster,
    group: &str,
    plural: &str,
    namespace: Option<&str>,
    body: Value,
) -> Result<(), ApiError> {
    let def = cluster.resource(group, "v1", plural)?;
    cluster.create(&def, namespace, body, &WriteOptions::default())?;
    Ok(())
}

/// Creates the bootstrap objects.
pub fn bootstrap(cluster: &Cluster, config: &BootstrapConfig) -> Result<(), ApiError> {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        create(
            cluster,
            "",
            "namespaces",
            None,
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}}),
        )?;
    }
    create(
        cluster,
        "",
        "services",
        Some("default"),
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                     "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                "targetPort": config.port}]}}),
    )?;
    for (i, zone) in config.zones.iter().enumerate() {
        let name = node_name(zone);
        create(
            cluster,
            "",
            "nodes",
            None,
            json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "topology.kubernetes.io/zone": zone,
                    "topology.kubernetes.io/region": config.region}},
                "spec": {"podCIDR": format!("10.244.{i}.0/24"), "podCIDRs": [format!("10.244.{i}.0/24")]},
                "status": {
                    "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                    "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "message": "kubesim node is ready"}],
                    "addresses": [{"type": "InternalIP", "address": format!("172.18.0.{}", i + 2)},
                                  {"type": "Hostname", "address": name}],
                    "nodeInfo": {"kubeletVersion": "v1.33.0-kubesim", "operatingSystem": "linux",
                                 "architecture": "amd64", "containerRuntimeVersion": "kubesim://1",
                                 "osImage": "kubesim", "kernelVersion": "6.0.0",
                                 "kubeProxyVersion": "v1.33.0-kubesim", "machineID": "", "systemUUID": "",
                                 "bootID": ""}}}),
        )?;
    }
    create(
        cluster,
        "storage.k8s.io",
        "storageclasses",
        None,
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "kubesim.io/hostpath", "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate", "allowVolumeExpansion": true}),
    )?;
    create(
        cluster,
        "rbac.authorization.k8s.io",
        "clusterroles",
        None,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "cluster-admin",
                         "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
    )?;
    rbac_defaults(cluster)
}

/// The API server's bootstrap policy that lets every user discover the API and ask about its
/// own permissions (upstream `bootstrappolicy`): `system:discovery`,
/// `system:public-info-viewer` and `system:basic-user` bound to `system:authenticated` (and
/// the public one to `system:unauthenticated`), and `cluster-admin` bound to `system:masters`.
fn rbac_defaults(cluster: &Cluster) -> Result<(), ApiError> {
    let public = json!(["/healthz", "/livez", "/readyz", "/version", "/version/"]);
    let discovery = json!([
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/"
    ]);
    let roles = [
        (
            "system:discovery",
            json!([{"nonResourceURLs": discovery, "verbs": ["get"]}]),
        ),
        (
            "system:public-info-viewer",
            json!([{"nonResourceURLs": public, "verbs": ["get"]}]),
        ),
        (
            "system:basic-user",
            json!([{"apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    "verbs": ["create"]},
                   {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"],
                    "verbs": ["create"]}]),
        ),
    ];
    let defaults = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    let autoupdate = json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
    for (name, rules) in roles {
        create(
            cluster,
            "rbac.authorization.k8s.io",
            "clusterroles",
            None,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": name, "labels": defaults, "annotations": autoupdate},
                   "rules": rules}),
        )?;
    }
    let group = |name: &str| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name});
    let bindings = [
        ("cluster-admin", vec![group("system:masters")]),
        ("system:discovery", vec![group("system:authenticated")]),
        ("system:basic-user", vec![group("system:authenticated")]),
        (
            "system:public-info-viewer",
            vec![
                group("system:authenticated"),
                group("system:unauthenticated"),
            ],
        ),
    ];
    for (name, subjects) in bindings {
        create(
            cluster,
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            None,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": name, "labels": defaults, "annotations": autoupdate},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": name},
                   "subjects": subjects}),
        )?;
    }
    Ok(())
}
