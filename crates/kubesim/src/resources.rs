//! The registry of API resources kubesim serves: the built-in kinds of rust-ecosystem.md §3.4 and
//! the kinds registered at runtime by CustomResourceDefinitions.
//!
//! This module only describes resources (names, scope, verbs, subresources, supported field
//! selectors, where their objects are stored). It holds no objects and performs no I/O; the request
//! pipeline (`api/`) and discovery (`http/discovery.rs`) read it.

use std::collections::BTreeMap;
use std::sync::Arc;

/// The verbs every served resource supports (kubesim has no read-only resources).
pub const STANDARD_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// How the objects of a resource are laid out in the store compared with how they are served.
///
/// core/v1 Events and events.k8s.io/v1 Events are one set of objects with two representations
/// (rust-ecosystem.md §3.1, `Recorder::publish`): both resources use the table `events`, the
/// store keeps the core/v1 form, and `semantics::event_conversion` translates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    /// The stored object is served as is (apart from `apiVersion` for multi-version CRDs).
    Native,
    /// Stored as core/v1 Event, served as events.k8s.io/v1 Event.
    EventsV1,
}

/// Where the replica count and selector of a `/scale` subresource live (autoscaling/v1 Scale).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalePaths {
    /// JSON path of the desired replicas, e.g. `.spec.replicas`.
    pub spec_replicas_path: String,
    /// JSON path of the observed replicas, e.g. `.status.replicas`.
    pub status_replicas_path: String,
    /// Where `status.selector` of the Scale comes from.
    pub label_selector: ScaleSelector,
}

/// The source of a Scale's `status.selector`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScaleSelector {
    /// Built-in workloads: `spec.selector` (a LabelSelector) rendered as a selector string.
    SpecSelector,
    /// CRDs: a string field named by `labelSelectorPath` (absent when the CRD names none).
    Path(Option<String>),
}

/// A subresource besides `status` and `scale`, served by a handler of its own
/// (`http/special`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraSubresource {
    pub name: &'static str,
    /// The kind of its request and response bodies.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// `serviceaccounts/token` (TokenRequest).
pub const SERVICE_ACCOUNT_TOKEN: ExtraSubresource = ExtraSubresource {
    name: "token",
    group: "authentication.k8s.io",
    version: "v1",
    kind: "TokenRequest",
    verbs: &["create"],
};

/// `pods/eviction` (policy/v1 Eviction).
pub const POD_EVICTION: ExtraSubresource = ExtraSubresource {
    name: "eviction",
    group: "policy",
    version: "v1",
    kind: "Eviction",
    verbs: &["create"],
};

/// `pods/ephemeralcontainers`.
pub const POD_EPHEMERAL_CONTAINERS: ExtraSubresource = ExtraSubresource {
    name: "ephemeralcontainers",
    group: "",
    version: "v1",
    kind: "Pod",
    verbs: &["get", "patch", "update"],
};

/// `certificatesigningrequests/approval`.
pub const CSR_APPROVAL: ExtraSubresource = ExtraSubresource {
    name: "approval",
    group: "certificates.k8s.io",
    version: "v1",
    kind: "CertificateSigningRequest",
    verbs: &["get", "patch", "update"],
};

/// Create-only resources whose objects are answers, never stored (reviews).
pub const CREATE_ONLY: &[&str] = &["create"];

/// Read-only resources computed on request (`componentstatuses`).
pub const READ_ONLY: &[&str] = &["get", "list"];

/// Where a resource came from, which decides who may remove it and how its objects are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into kubesim.
    BuiltIn,
    /// Registered by the CustomResourceDefinition of this name.
    Crd { crd_name: String },
}

/// One served resource at one group/version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group, `""` for core.
    pub group: String,
    /// API version served at this entry.
    pub version: String,
    /// The version objects are stored in (CRDs: the storage version; built-ins: `version`).
    pub storage_version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Whether `/status` exists: main-resource writes then ignore `.status` (§3.3).
    pub status_subresource: bool,
    /// The `/scale` subresource, when it exists.
    pub scale: Option<ScalePaths>,
    /// Field-selector labels supported besides `metadata.name` and `metadata.namespace`.
    pub field_selectors: Vec<String>,
    /// The store table holding the objects (shared by both Event representations).
    pub table: String,
    pub representation: Representation,
    pub origin: Origin,
    /// The verbs served ([`STANDARD_VERBS`] but for reviews and computed resources).
    pub verbs: &'static [&'static str],
    /// Subresources besides status and scale.
    pub extra_subresources: &'static [ExtraSubresource],
}

impl ResourceDef {
    /// Whether objects of this resource are kept in the store (not reviews or computed
    /// resources).
    pub fn is_stored(&self) -> bool {
        self.verbs == STANDARD_VERBS
    }

    /// The extra subresource named `name`.
    pub fn extra_subresource(&self, name: &str) -> Option<&'static ExtraSubresource> {
        self.extra_subresources.iter().find(|e| e.name == name)
    }

    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        api_version(&self.group, &self.version)
    }

    /// The resource name as the API server qualifies it in messages: `configmaps`,
    /// `deployments.apps`, `shards.multigres.com`.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether a field-selector label is supported for this resource (§3.3 Selectors).
    pub fn supports_field(&self, field: &str) -> bool {
        field == "metadata.name"
            || field == "metadata.namespace"
            || self.field_selectors.iter().any(|f| f == field)
    }
}

/// `group/version`, or `version` for the core group.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// All served resources, keyed by (group, version, plural).
#[derive(Clone, Debug, Default)]
pub struct Registry {
    defs: BTreeMap<(String, String, String), Arc<ResourceDef>>,
}

impl Registry {
    /// The registry with every built-in kind of rust-ecosystem.md §3.4.
    pub fn with_builtins() -> Registry {
        let mut registry = Registry::default();
        for def in builtin_defs() {
            registry.insert(def);
        }
        registry
    }

    pub fn insert(&mut self, def: ResourceDef) {
        self.defs.insert(
            (def.group.clone(), def.version.clone(), def.plural.clone()),
            Arc::new(def),
        );
    }

    /// Removes every resource registered by the CRD `crd_name`.
    pub fn remove_crd(&mut self, crd_name: &str) {
        self.defs.retain(|_, def| match &def.origin {
            Origin::Crd { crd_name: name } => name != crd_name,
            Origin::BuiltIn => true,
        });
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceDef>> {
        self.defs
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    /// The entry that stores objects of `table` in its storage version (used where only the
    /// table is known, e.g. the garbage collector naming a dependent).
    pub fn by_table(&self, table: &str) -> Option<&Arc<ResourceDef>> {
        self.defs.values().find(|def| {
            def.table == table
                && def.version == def.storage_version
                && def.representation == Representation::Native
        })
    }

    /// Whether `group` has any version served.
    pub fn has_group(&self, group: &str) -> bool {
        self.defs.keys().any(|(g, _, _)| g == group)
    }

    /// Every (group, version) pair, groups in name order (core first), versions in preference
    /// order (v1 > v1beta1 > v1alpha1, Kubernetes' version priority).
    pub fn group_versions(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (group, version, _) in self.defs.keys() {
            let versions = groups.entry(group.clone()).or_default();
            if !versions.contains(version) {
                versions.push(version.clone());
            }
        }
        groups
            .into_iter()
            .map(|(group, mut versions)| {
                versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
                (group, versions)
            })
            .collect()
    }

    /// The resources of one group/version in plural order.
    pub fn resources_of(&self, group: &str, version: &str) -> Vec<&Arc<ResourceDef>> {
        self.defs
            .iter()
            .filter(|((g, v, _), _)| g == group && v == version)
            .map(|(_, def)| def)
            .collect()
    }
}

/// Kubernetes' version ordering: GA > beta > alpha, then by the major and minor numbers.
fn version_priority(version: &str) -> (u8, u32, u32) {
    let Some(rest) = version.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major: u32 = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    let (stage, minor_str) = if tail.is_empty() {
        (3, "")
    } else if let Some(m) = tail.strip_prefix("beta") {
        (2, m)
    } else if let Some(m) = tail.strip_prefix("alpha") {
        (1, m)
    } else {
        (0, "")
    };
    (stage, major, minor_str.parse().unwrap_or(0))
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    status: bool,
    scale: bool,
    field_selectors: &'static [&'static str],
    verbs: &'static [&'static str],
}

const CORE_EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

const EVENTS_V1_FIELDS: &[&str] = &[
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "type",
];

const BUILTINS: &[Builtin] = &[
    b(
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
        &["ns"],
        &[],
        true,
        false,
        &["status.phase"],
    ),
    b(
        "",
        "v1",
        "Pod",
        "pods",
        true,
        &["po"],
        &["all"],
        true,
        false,
        &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
    ),
    b(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
        &[],
        true,
        false,
        &[],
    ),
    b(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &["pv"],
        &[],
        true,
        false,
        &[],
    ),
    b(
        "",
        "v1",
        "Service",
        "services",
        true,
        &["svc"],
        &["all"],
        true,
        false,
        &[],
    ),
    b(
        "",
        "v1",
        "Endpoints",
        "endpoints",
        true,
        &["ep"],
        &[],
        false,
        false,
        &[],
    ),
    b(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        true,
        &["cm"],
        &[],
        false,
        false,
        &[],
    ),
    b(
        "",
        "v1",
        "Secret",
        "secrets",
        true,
        &[],
        &[],
        false,
        false,
        &["type"],
    ),
    b(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        &["sa"],
        &[],
        false,
        false,
        &[],
    ),
    b(
        "",
        "v1",
        "Event",
        "events",
        true,
        &["ev"],
        &[],
        false,
        false,
        CORE_EVENT_FIELDS,
    ),
    b(
        "",
        "v1",
        "Node",
        "nodes",
        false,
        &["no"],
        &[],
        true,
        false,
        &["spec.unschedulable"],
    ),
    b(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        &["deploy"],
        &["all"],
        true,
        true,
        &[],
    ),
    b(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        &["sts"],
        &["all"],
        true,
        true,
        &[],
    ),
    b(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        &["rs"],
        &["all"],
        true,
        true,
        &["status.replicas"],
    ),
    b(
        "batch",
        "v1",
        "Job",
        "jobs",
        true,
        &[],
        &["all"],
        true,
        false,
        &["status.successful"],
    ),
    b(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
        &[],
        true,
        false,
        &[],
    ),
    b(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        &[],
        &[],
        false,
        false,
        &[],
    ),
    b(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        true,
        &["ev"],
        &[],
        false,
        false,
        EVENTS_V1_FIELDS,
    ),
    b(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        &["api-extensions"],
        true,
        false,
        &[],
    ),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        &[],
        &["api-extensions"],
        false,
        false,
        &[],
    ),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
        &[],
        &["api-extensions"],
        false,
        false,
        &[],
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
        &[],
        false,
        false,
        &[],
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
        &[],
        false,
        false,
        &[],
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
        &[],
        false,
        false,
        &[],
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
        &[],
        false,
        false,
        &[],
    ),
    b(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
        &[],
        false,
        false,
        &[],
    ),
    b(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        false,
        &["csr"],
        &[],
        true,
        false,
        &["spec.signerName"],
    ),
    b(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        false,
        &[],
        &[],
        true,
        false,
        &[],
    ),
    computed(
        "authentication.k8s.io",
        "TokenReview",
        "tokenreviews",
        false,
        CREATE_ONLY,
    ),
    computed(
        "authentication.k8s.io",
        "SelfSubjectReview",
        "selfsubjectreviews",
        false,
        CREATE_ONLY,
    ),
    computed(
        "authorization.k8s.io",
        "SubjectAccessReview",
        "subjectaccessreviews",
        false,
        CREATE_ONLY,
    ),
    computed(
        "authorization.k8s.io",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
        CREATE_ONLY,
    ),
    computed(
        "authorization.k8s.io",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        true,
        CREATE_ONLY,
    ),
    computed("", "ComponentStatus", "componentstatuses", false, READ_ONLY),
];

/// A review or computed resource: answered by `http/special`, never stored.
const fn computed(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    verbs: &'static [&'static str],
) -> Builtin {
    let mut builtin = b(
        group,
        "v1",
        kind,
        plural,
        namespaced,
        &[],
        &[],
        false,
        false,
        &[],
    );
    builtin.verbs = verbs;
    builtin
}

/// The extra subresources of a built-in resource.
fn extra_subresources(group: &str, plural: &str) -> &'static [ExtraSubresource] {
    match (group, plural) {
        ("", "serviceaccounts") => &[SERVICE_ACCOUNT_TOKEN],
        ("", "pods") => &[POD_EVICTION, POD_EPHEMERAL_CONTAINERS],
        ("certificates.k8s.io", "certificatesigningrequests") => &[CSR_APPROVAL],
        _ => &[],
    }
}

#[allow(clippy::too_many_arguments)]
const fn b(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    status: bool,
    scale: bool,
    field_selectors: &'static [&'static str],
) -> Builtin {
    Builtin {
        group,
        version,
        kind,
        plural,
        namespaced,
        short_names,
        categories,
        status,
        scale,
        field_selectors,
        verbs: &STANDARD_VERBS,
    }
}

fn builtin_defs() -> Vec<ResourceDef> {
    BUILTINS
        .iter()
        .map(|builtin| {
            let events_v1 = builtin.group == "events.k8s.io";
            ResourceDef {
                group: builtin.group.to_string(),
                version: builtin.version.to_string(),
                storage_version: builtin.version.to_string(),
                kind: builtin.kind.to_string(),
                list_kind: format!("{}List", builtin.kind),
                plural: builtin.plural.to_string(),
                singular: builtin.kind.to_lowercase(),
                namespaced: builtin.namespaced,
                short_names: builtin.short_names.iter().map(|s| s.to_string()).collect(),
                categories: builtin.categories.iter().map(|s| s.to_string()).collect(),
                status_subresource: builtin.status,
                scale: builtin.scale.then(|| ScalePaths {
                    spec_replicas_path: ".spec.replicas".to_string(),
                    status_replicas_path: ".status.replicas".to_string(),
                    label_selector: ScaleSelector::SpecSelector,
                }),
                field_selectors: builtin
                    .field_selectors
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                table: if events_v1 {
                    "events".to_string()
                } else if builtin.group.is_empty() {
                    builtin.plural.to_string()
                } else {
                    format!("{}.{}", builtin.plural, builtin.group)
                },
                representation: if events_v1 {
                    Representation::EventsV1
                } else {
                    Representation::Native
                },
                origin: Origin::BuiltIn,
                verbs: builtin.verbs,
                extra_subresources: extra_subresources(builtin.group, builtin.plural),
            }
        })
        .collect()
}

/// The store table name of a resource: `plural` for core, `plural.group` otherwise.
pub fn table_name(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_listed_in_kubernetes_priority_order() {
        let mut versions = vec!["v1alpha1", "v2", "v1beta1", "v1", "v1beta2"];
        versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(versions, vec!["v2", "v1", "v1beta2", "v1beta1", "v1alpha1"]);
    }

    #[test]
    fn both_event_resources_share_one_table() {
        let registry = Registry::with_builtins();
        let core = registry
            .get("", "v1", "events")
            .expect("core events are built in");
        let v1 = registry
            .get("events.k8s.io", "v1", "events")
            .expect("events.k8s.io events are built in");
        assert_eq!(core.table, "events");
        assert_eq!(v1.table, "events");
        assert_eq!(v1.representation, Representation::EventsV1);
        assert_eq!(
            registry.by_table("events").map(|d| d.group.as_str()),
            Some("")
        );
    }

    #[test]
    fn qualified_resource_names_the_group() {
        let registry = Registry::with_builtins();
        let deployments = registry.get("apps", "v1", "deployments").expect("built in");
        assert_eq!(deployments.qualified_resource(), "deployments.apps");
        assert_eq!(deployments.table, "deployments.apps");
        let cms = registry.get("", "v1", "configmaps").expect("built in");
        assert_eq!(cms.qualified_resource(), "configmaps");
    }
}
