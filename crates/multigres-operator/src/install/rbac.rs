//! The operator's RBAC (spec-controllers.md §13.5), each rule with the reason it is granted; the
//! reasons become comments in the rendered YAML.
//!
//! The ClusterRole keeps the Go operator's `manager-role` rules with these changes: Events are
//! written through kube-rs' `Recorder`, which uses `events.k8s.io/v1`, not the core group; the
//! operator writes every object and status by (server-side apply) patch and reads through
//! watch caches, so `update` is granted only where it replaces an object (the webhook serving
//! Secret on rotation, the Lease on a takeover), `get` only where it reads one object (Secrets,
//! its webhook configurations, the Lease) and `/status` only takes `patch`. The leader-election Role keeps only what a Lease
//! lock does (no ConfigMaps, no list, watch, delete or Events).
//!
//! Proven by running (tests/install_e2e.rs): every request the operator's ServiceAccount makes
//! while a cluster converges, scales, is edited and is deleted is granted here, and every grant
//! is used in that run or listed in the test's `EXEMPT` with the reason of its rule below
//! (creates authorized for apply, deletes of children a cluster stops wanting, single reads,
//! cert-manager Certificates, finalizers, rotation and takeover replaces).

use k8s_openapi::api::rbac::v1::PolicyRule;

/// A rule and why the operator needs it.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Rendered as a comment above the rule.
    pub reason: &'static str,
    /// The rule itself.
    pub rule: PolicyRule,
}

/// Owned children: applied (patch; an apply that creates is authorized as `create` too),
/// watched into the caches the controllers read, pruned. No `get` (every read is from a
/// cache) and no `update` (nothing replaces them).
const OWNED: &[&str] = &["create", "delete", "list", "patch", "watch"];
/// Read through the caches (list and watch) only.
const READ: &[&str] = &["list", "watch"];

fn rule(
    reason: &'static str,
    groups: &[&str],
    resources: &[&str],
    names: &[&str],
    verbs: &[&str],
) -> Rule {
    let strings = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect();
    Rule {
        reason,
        rule: PolicyRule {
            api_groups: Some(strings(groups)),
            resources: Some(strings(resources)),
            resource_names: (!names.is_empty()).then(|| strings(names)),
            verbs: strings(verbs),
            non_resource_urls: None,
        },
    }
}

/// The rules of the ClusterRole `multigres-operator-manager-role`.
pub fn manager_rules(mutating_webhook: &str, validating_webhook: &str) -> Vec<Rule> {
    vec![
        rule(
            "Owned children of every cluster (pg_hba and user postgres ConfigMaps, pool PVCs and \
             Pods, Services): applied (an apply that creates is authorized as create), pruned \
             and watched by the controllers; pods are deleted after a drain, PVCs as \
             pvcDeletionPolicy says.",
            &[""],
            &["configmaps", "persistentvolumeclaims", "pods", "services"],
            &[],
            OWNED,
        ),
        rule(
            "Password and certificate Secrets of every cluster, as above; and the webhook's CA \
             and serving Secrets, created, read, replaced (update) on rotation and deleted when \
             invalid.",
            &[""],
            &["secrets"],
            &[],
            &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ],
        ),
        rule(
            "Events on the custom resources (kube-rs' Recorder writes events.k8s.io/v1).",
            &["events.k8s.io"],
            &["events"],
            &[],
            &["create", "patch"],
        ),
        rule(
            "Self-managed webhook certificates: the caBundle of our own mutating configuration \
             is read and applied after each rotation (only this name).",
            &["admissionregistration.k8s.io"],
            &["mutatingwebhookconfigurations"],
            &[mutating_webhook],
            &["get", "patch"],
        ),
        rule(
            "Same as above for our validating configuration (only this name).",
            &["admissionregistration.k8s.io"],
            &["validatingwebhookconfigurations"],
            &[validating_webhook],
            &["get", "patch"],
        ),
        rule(
            "MultiAdmin, MultiAdminWeb, multigateway and multiorch Deployments and TopoServer \
             StatefulSets are owned children; the webhook also lists Deployments to find its own \
             for the certificate Secrets' owner reference.",
            &["apps"],
            &["deployments", "statefulsets"],
            &[],
            OWNED,
        ),
        rule(
            "The multigateway TLS Certificate a cluster asks for (cert-manager, spec §2.8); only \
             used by clusters that ask for one.",
            &["cert-manager.io"],
            &["certificates"],
            &[],
            OWNED,
        ),
        rule(
            "The operator's own resources: the cluster controller applies Cells, TableGroups and \
             TopoServers, the TableGroup controller Shards, each pruned when no longer wanted, \
             and every controller watches its kind.",
            &["multigres.com"],
            &["cells", "shards", "tablegroups", "toposervers"],
            &[],
            OWNED,
        ),
        rule(
            "MultigresClusters are only read and watched (their status goes through /status); \
             the webhooks list them to check a template edit against its users.",
            &["multigres.com"],
            &["multigresclusters"],
            &[],
            READ,
        ),
        rule(
            "Finalizers that clean the topology store before a resource goes (with \
             OwnerReferencesPermissionEnforcement, setting blockOwnerDeletion needs this too).",
            &["multigres.com"],
            &[
                "cells/finalizers",
                "multigresclusters/finalizers",
                "shards/finalizers",
                "toposervers/finalizers",
            ],
            &[],
            &["update"],
        ),
        rule(
            "Status of every resource is written by patch on /status (server-side apply, and a \
             merge patch for the shard's drain state).",
            &["multigres.com"],
            &[
                "cells/status",
                "multigresclusters/status",
                "shards/status",
                "tablegroups/status",
                "toposervers/status",
            ],
            &[],
            &["patch"],
        ),
        rule(
            "Templates are only read: resolved into clusters and watched so that edits roll out.",
            &["multigres.com"],
            &["celltemplates", "coretemplates", "shardtemplates"],
            &[],
            READ,
        ),
        rule(
            "One PodDisruptionBudget per pool and cell is an owned child.",
            &["policy"],
            &["poddisruptionbudgets"],
            &[],
            OWNED,
        ),
        rule(
            "Nodes are listed by the validating webhook for its zone and region warnings \
             (spec-api.md §11.4).",
            &[""],
            &["nodes"],
            &[],
            &["list"],
        ),
        rule(
            "StorageClasses are read to refuse a volume expansion the class does not allow.",
            &["storage.k8s.io"],
            &["storageclasses"],
            &[],
            READ,
        ),
    ]
}

/// The rules of the Role `multigres-operator-leader-election-role` in the operator's namespace.
pub fn leader_election_rules() -> Vec<Rule> {
    vec![rule(
        "The leader-election Lease `multigres-operator.multigres.com`: read, created by the \
         first replica, renewed and taken over by patch or update.",
        &["coordination.k8s.io"],
        &["leases"],
        &[],
        &["create", "get", "patch", "update"],
    )]
}

/// The rules of the ClusterRole `multigres-operator-metrics-auth-role`.
pub fn metrics_auth_rules() -> Vec<Rule> {
    vec![
        rule(
            "The secure metrics endpoint authenticates each scraper's bearer token.",
            &["authentication.k8s.io"],
            &["tokenreviews"],
            &[],
            &["create"],
        ),
        rule(
            "... and asks whether that user may get /metrics.",
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
            &[],
            &["create"],
        ),
    ]
}

/// The rule of the ClusterRole `multigres-operator-metrics-reader`, to bind to the scraper.
pub fn metrics_reader_rules() -> Vec<Rule> {
    vec![Rule {
        reason: "Bind this to Prometheus' ServiceAccount so it may scrape the secure endpoint.",
        rule: PolicyRule {
            non_resource_urls: Some(vec!["/metrics".to_owned()]),
            verbs: vec!["get".to_owned()],
            ..PolicyRule::default()
        },
    }]
}
