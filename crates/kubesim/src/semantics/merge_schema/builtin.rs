//! The merge schemas of the built-in kinds kubesim serves (rust-ecosystem.md §3.4 list).
//!
//! Place: the built-in half of [`super::MergeSchema`]. Every entry restates a Kubernetes marker
//! from `k8s.io/api` (v1.33): `+listType`/`+listMapKey` for server-side apply,
//! `patchStrategy`/`patchMergeKey` for strategic merge patch, `+structType=atomic` /
//! `+mapType=atomic`, and `+default` of list-map keys (`protocol: TCP`). The same list facts are
//! encoded in k8s-openapi's `DeepMerge` impls, which served as a cross-check. Fields without a
//! marker are left [`Node::Loose`] (granular structs, atomic lists), which is what an unmarked Go
//! field is.
//!
//! Zero values (`f_struct`, `f_null`) record what the typed Go zero value of a struct holds, so
//! that ownership comparisons see what the API server sees (see [`super::Field::zero`]).
//!
//! Must not: guess semantics for fields not listed here (they stay loose), or depend on the
//! request (schemas are per kind, built once).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::json;

use super::build::*;
use super::{ListNode, ListPatch, MergeSchema, Node};

/// The schema for a built-in kind (the version is accepted for symmetry with the API; every
/// served built-in has one version).
pub(super) fn schema(group: &str, _version: &str, kind: &str) -> MergeSchema {
    static CATALOGUE: OnceLock<BTreeMap<(&'static str, &'static str), MergeSchema>> =
        OnceLock::new();
    let catalogue = CATALOGUE.get_or_init(catalogue);
    match catalogue.get(&(group, kind)) {
        Some(schema) => schema.clone(),
        None => MergeSchema::new(kind_root(Node::Loose, Node::Loose)),
    }
}

/// Every catalogued kind, keyed by (group, kind).
fn catalogue() -> BTreeMap<(&'static str, &'static str), MergeSchema> {
    let pod_template = || kind_root_with([("template", f_struct(pod_template_spec()))], None, None);
    let entries: Vec<((&'static str, &'static str), Node)> = vec![
        (("", "Pod"), kind_root(pod_spec(), pod_status())),
        (("", "PodTemplate"), pod_template()),
        (
            ("", "Service"),
            kind_root(
                object([
                    (
                        "ports",
                        f(list_map_with_default(
                            &["port", "protocol"],
                            "protocol",
                            json!("TCP"),
                            Node::Loose,
                        )),
                    ),
                    ("selector", f(atomic_map())),
                    ("clusterIPs", f(atomic_list(scalar()))),
                    ("externalIPs", f(atomic_list(scalar()))),
                    ("ipFamilies", f(atomic_list(scalar()))),
                    ("loadBalancerSourceRanges", f(atomic_list(scalar()))),
                ]),
                object([
                    ("loadBalancer", f_struct(Node::Loose)),
                    ("conditions", f(conditions())),
                ]),
            ),
        ),
        (
            ("", "PersistentVolumeClaim"),
            kind_root(pvc_spec(), pvc_status()),
        ),
        (
            ("", "PersistentVolume"),
            kind_root(
                object([
                    ("accessModes", f(atomic_list(scalar()))),
                    ("mountOptions", f(atomic_list(scalar()))),
                    ("capacity", f(map_of(scalar()))),
                    // `ObjectReference` is atomic, but `claimRef` is marked `+structType=granular`.
                    ("claimRef", f(Node::Loose)),
                    (
                        "nodeAffinity",
                        f(object([("required", f(atomic_object()))])),
                    ),
                ]),
                Node::Loose,
            ),
        ),
        (
            ("", "ConfigMap"),
            kind_root_with(
                [
                    ("data", f(map_of(scalar()))),
                    ("binaryData", f(map_of(scalar()))),
                ],
                None,
                None,
            ),
        ),
        (
            ("", "Secret"),
            kind_root_with(
                [
                    ("data", f(map_of(scalar()))),
                    ("stringData", f(map_of(scalar()))),
                ],
                None,
                None,
            ),
        ),
        (
            ("", "Namespace"),
            kind_root(
                object([("finalizers", f(atomic_list(scalar())))]),
                object([("conditions", f(conditions()))]),
            ),
        ),
        (
            ("", "ServiceAccount"),
            kind_root_with(
                [
                    ("secrets", f(list_map(&["name"], atomic_object()))),
                    ("imagePullSecrets", f(atomic_list(Node::Loose))),
                ],
                None,
                None,
            ),
        ),
        (("", "Node"), kind_root(node_spec(), node_status())),
        (
            ("", "Endpoints"),
            kind_root_with([("subsets", f(atomic_list(Node::Loose)))], None, None),
        ),
        (("", "Event"), core_event()),
        (("events.k8s.io", "Event"), events_event()),
        (
            ("apps", "Deployment"),
            kind_root(
                object([
                    ("selector", f_null(atomic_object())),
                    ("template", f_struct(pod_template_spec())),
                    ("strategy", f_struct(Node::Loose)),
                ]),
                workload_status(),
            ),
        ),
        (
            ("apps", "ReplicaSet"),
            kind_root(
                object([
                    ("selector", f_null(atomic_object())),
                    ("template", f_struct(pod_template_spec())),
                ]),
                workload_status(),
            ),
        ),
        (
            ("apps", "StatefulSet"),
            kind_root(
                object([
                    ("selector", f_null(atomic_object())),
                    ("template", f_struct(pod_template_spec())),
                    (
                        "volumeClaimTemplates",
                        f(atomic_list(kind_root(pvc_spec(), pvc_status()))),
                    ),
                    ("updateStrategy", f_struct(Node::Loose)),
                ]),
                workload_status(),
            ),
        ),
        (
            ("apps", "DaemonSet"),
            kind_root(
                object([
                    ("selector", f_null(atomic_object())),
                    ("template", f_struct(pod_template_spec())),
                    ("updateStrategy", f_struct(Node::Loose)),
                ]),
                workload_status(),
            ),
        ),
        (("batch", "Job"), kind_root(job_spec(), job_status())),
        (
            ("batch", "CronJob"),
            kind_root(
                object([(
                    "jobTemplate",
                    f_struct(object([
                        ("metadata", f_struct(object_meta())),
                        ("spec", f_struct(job_spec())),
                    ])),
                )]),
                object([("active", f(atomic_list(atomic_object())))]),
            ),
        ),
        (
            ("policy", "PodDisruptionBudget"),
            kind_root(
                object([("selector", f(replaced_in_strategic_merge(atomic_object())))]),
                object([
                    ("conditions", f(conditions())),
                    ("disruptedPods", f(map_of(scalar()))),
                ]),
            ),
        ),
        (
            ("coordination.k8s.io", "Lease"),
            kind_root(Node::Loose, Node::Loose),
        ),
        (
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
            kind_root(
                object([
                    ("names", f_struct(crd_names())),
                    ("versions", f(atomic_list(Node::Loose))),
                ]),
                object([
                    ("conditions", f(conditions())),
                    ("acceptedNames", f_struct(crd_names())),
                    ("storedVersions", f(atomic_list(scalar()))),
                ]),
            ),
        ),
        (
            (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration",
            ),
            webhook_configuration(),
        ),
        (
            (
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration",
            ),
            webhook_configuration(),
        ),
        (("rbac.authorization.k8s.io", "Role"), rbac_role()),
        (
            ("rbac.authorization.k8s.io", "ClusterRole"),
            kind_root_with(
                [
                    ("rules", f(atomic_list(Node::Loose))),
                    (
                        "aggregationRule",
                        f(object([(
                            "clusterRoleSelectors",
                            f(atomic_list(atomic_object())),
                        )])),
                    ),
                ],
                None,
                None,
            ),
        ),
        (("rbac.authorization.k8s.io", "RoleBinding"), rbac_binding()),
        (
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            rbac_binding(),
        ),
        (
            ("storage.k8s.io", "StorageClass"),
            kind_root_with(
                [
                    ("parameters", f(map_of(scalar()))),
                    ("mountOptions", f(atomic_list(scalar()))),
                    ("allowedTopologies", f(atomic_list(Node::Loose))),
                ],
                None,
                None,
            ),
        ),
    ];
    entries
        .into_iter()
        .map(|(key, root)| (key, MergeSchema::new(root)))
        .collect()
}

/// A kind's root: type meta, object meta, and non-pointer `spec`/`status` structs.
fn kind_root(spec: Node, status: Node) -> Node {
    kind_root_with([], Some(spec), Some(status))
}

/// A kind's root with extra top-level fields (ConfigMap `data`, Role `rules`, ...).
fn kind_root_with<const N: usize>(
    extra: [(&str, super::Field); N],
    spec: Option<Node>,
    status: Option<Node>,
) -> Node {
    let mut root = object([
        ("apiVersion", f(scalar())),
        ("kind", f(scalar())),
        ("metadata", f_struct(object_meta())),
    ]);
    if let Node::Object(object) = &mut root {
        for (name, field) in extra {
            object.fields.insert(name.to_owned(), field);
        }
        if let Some(spec) = spec {
            object.fields.insert("spec".to_owned(), f_struct(spec));
        }
        if let Some(status) = status {
            object.fields.insert("status".to_owned(), f_struct(status));
        }
    }
    root
}

/// `metav1.ObjectMeta`: finalizers a set, ownerReferences a map by uid of atomic references,
/// labels/annotations granular, managedFields atomic.
pub(super) fn object_meta() -> Node {
    object([
        ("labels", f(map_of(scalar()))),
        ("annotations", f(map_of(scalar()))),
        ("finalizers", f(set())),
        ("ownerReferences", f(list_map(&["uid"], atomic_object()))),
        ("managedFields", f(atomic_list(Node::Loose))),
        ("creationTimestamp", f_null(scalar())),
    ])
}

/// A `[]Condition` list: a map by `type`, merged by `type`.
fn conditions() -> Node {
    list_map(&["type"], Node::Loose)
}

/// A list map keyed by `keys` that strategic merge patch replaces (no `patchStrategy`).
fn list_map_replaced(keys: &[&str], items: Node) -> Node {
    let mut node = list_map(keys, items);
    if let Node::List(ListNode { patch, .. }) = &mut node {
        *patch = ListPatch::Replace;
    }
    node
}

fn pod_template_spec() -> Node {
    object([
        ("metadata", f_struct(object_meta())),
        ("spec", f_struct(pod_spec())),
    ])
}

fn pod_spec() -> Node {
    object([
        ("volumes", f(list_map(&["name"], Node::Loose))),
        ("initContainers", f(list_map(&["name"], container()))),
        ("containers", f_null(list_map(&["name"], container()))),
        ("ephemeralContainers", f(list_map(&["name"], container()))),
        // Items are `LocalObjectReference`s, which are `+structType=atomic`.
        ("imagePullSecrets", f(list_map(&["name"], atomic_object()))),
        ("tolerations", f(atomic_list(Node::Loose))),
        ("hostAliases", f(list_map(&["ip"], Node::Loose))),
        ("readinessGates", f(atomic_list(Node::Loose))),
        (
            "topologySpreadConstraints",
            f(list_map(
                &["topologyKey", "whenUnsatisfiable"],
                object([("labelSelector", f(atomic_object()))]),
            )),
        ),
        ("schedulingGates", f(list_map(&["name"], Node::Loose))),
        ("resourceClaims", f(list_map(&["name"], Node::Loose))),
        ("nodeSelector", f(atomic_map())),
        ("overhead", f(map_of(scalar()))),
        (
            "affinity",
            f(object([(
                "nodeAffinity",
                f(object([(
                    "requiredDuringSchedulingIgnoredDuringExecution",
                    f(atomic_object()),
                )])),
            )])),
        ),
    ])
}

fn container() -> Node {
    let selector = || f(atomic_object());
    object([
        (
            "ports",
            f(list_map_with_default(
                &["containerPort", "protocol"],
                "protocol",
                json!("TCP"),
                Node::Loose,
            )),
        ),
        (
            "env",
            f(list_map(
                &["name"],
                object([(
                    "valueFrom",
                    f(object([
                        ("fieldRef", selector()),
                        ("resourceFieldRef", selector()),
                        ("configMapKeyRef", selector()),
                        ("secretKeyRef", selector()),
                        ("fileKeyRef", selector()),
                    ])),
                )]),
            )),
        ),
        ("envFrom", f(atomic_list(Node::Loose))),
        ("volumeMounts", f(list_map(&["mountPath"], Node::Loose))),
        ("volumeDevices", f(list_map(&["devicePath"], Node::Loose))),
        ("resizePolicy", f(atomic_list(Node::Loose))),
        ("args", f(atomic_list(scalar()))),
        ("command", f(atomic_list(scalar()))),
        (
            "resources",
            f_struct(object([
                ("limits", f(map_of(scalar()))),
                ("requests", f(map_of(scalar()))),
                ("claims", f(list_map_replaced(&["name"], Node::Loose))),
            ])),
        ),
    ])
}

fn pod_status() -> Node {
    object([
        ("conditions", f(conditions())),
        ("podIPs", f(list_map(&["ip"], Node::Loose))),
        ("hostIPs", f(atomic_list_merged_by("ip", Node::Loose))),
        ("containerStatuses", f(atomic_list(Node::Loose))),
        ("initContainerStatuses", f(atomic_list(Node::Loose))),
        ("ephemeralContainerStatuses", f(atomic_list(Node::Loose))),
        ("resourceClaimStatuses", f(list_map(&["name"], Node::Loose))),
    ])
}

fn pvc_spec() -> Node {
    object([
        ("accessModes", f(atomic_list(scalar()))),
        (
            "resources",
            f_struct(object([
                ("limits", f(map_of(scalar()))),
                ("requests", f(map_of(scalar()))),
            ])),
        ),
        ("selector", f(atomic_object())),
        ("dataSource", f(atomic_object())),
    ])
}

fn pvc_status() -> Node {
    object([
        ("accessModes", f(atomic_list(scalar()))),
        ("conditions", f(conditions())),
        ("capacity", f(map_of(scalar()))),
        ("allocatedResources", f(map_of(scalar()))),
        ("allocatedResourceStatuses", f(map_of(scalar()))),
    ])
}

fn node_spec() -> Node {
    object([
        ("podCIDRs", f(set())),
        ("taints", f(atomic_list(Node::Loose))),
    ])
}

fn node_status() -> Node {
    object([
        ("conditions", f(conditions())),
        ("addresses", f(list_map(&["type"], Node::Loose))),
        ("capacity", f(map_of(scalar()))),
        ("allocatable", f(map_of(scalar()))),
        ("images", f(atomic_list(Node::Loose))),
        ("volumesInUse", f(atomic_list(scalar()))),
        ("volumesAttached", f(atomic_list(Node::Loose))),
        ("daemonEndpoints", f_struct(Node::Loose)),
        ("nodeInfo", f_struct(Node::Loose)),
    ])
}

fn workload_status() -> Node {
    object([("conditions", f(conditions()))])
}

fn job_spec() -> Node {
    object([
        ("selector", f(atomic_object())),
        ("template", f_struct(pod_template_spec())),
    ])
}

/// `JobStatus.conditions` is `+listType=atomic` but `patchStrategy=merge` by `type`.
fn job_status() -> Node {
    object([("conditions", f(atomic_list_merged_by("type", Node::Loose)))])
}

fn crd_names() -> Node {
    object([
        ("shortNames", f(atomic_list(scalar()))),
        ("categories", f(atomic_list(scalar()))),
    ])
}

/// core/v1 Event: the referenced object is an atomic `ObjectReference` held by value, the
/// timestamps are `metav1.Time` without `omitempty`, the reporting fields plain strings.
fn core_event() -> Node {
    kind_root_with(
        [
            ("involvedObject", f_struct(atomic_object())),
            ("related", f(atomic_object())),
            ("source", f_struct(Node::Loose)),
            ("firstTimestamp", f_null(scalar())),
            ("lastTimestamp", f_null(scalar())),
            ("eventTime", f_null(scalar())),
            ("reportingComponent", f_zero(scalar(), json!(""))),
            ("reportingInstance", f_zero(scalar(), json!(""))),
        ],
        None,
        None,
    )
}

/// events.k8s.io/v1 Event.
fn events_event() -> Node {
    kind_root_with(
        [
            ("eventTime", f_null(scalar())),
            ("regarding", f_struct(atomic_object())),
            ("related", f(atomic_object())),
            ("deprecatedSource", f_struct(Node::Loose)),
            ("deprecatedFirstTimestamp", f_null(scalar())),
            ("deprecatedLastTimestamp", f_null(scalar())),
        ],
        None,
        None,
    )
}

fn webhook_configuration() -> Node {
    let webhook = object([
        ("matchConditions", f(list_map(&["name"], Node::Loose))),
        ("rules", f(atomic_list(Node::Loose))),
        ("admissionReviewVersions", f(atomic_list(scalar()))),
    ]);
    kind_root_with([("webhooks", f(list_map(&["name"], webhook)))], None, None)
}

fn rbac_role() -> Node {
    kind_root_with([("rules", f(atomic_list(Node::Loose)))], None, None)
}

fn rbac_binding() -> Node {
    kind_root_with(
        [
            ("subjects", f(atomic_list(Node::Loose))),
            ("roleRef", f_struct(atomic_object())),
        ],
        None,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::super::{ListType, Rest};
    use super::*;
    use pretty_assertions::assert_eq;

    fn at<'a>(node: &'a Node, path: &[&str]) -> &'a Node {
        path.iter().fold(node, |node, key| match node {
            Node::List(list) if *key == "[]" => &list.items,
            other => other.field(key).0,
        })
    }

    fn list_type(node: &Node) -> ListType {
        node.list().0.clone()
    }

    fn keys(names: &[&str]) -> ListType {
        ListType::Map {
            keys: names.iter().map(|n| (*n).to_owned()).collect(),
            key_defaults: BTreeMap::new(),
        }
    }

    #[test]
    fn pod_lists_follow_the_kubernetes_markers() {
        let pod = MergeSchema::for_builtin("", "v1", "Pod");
        let spec = at(pod.root(), &["spec"]);
        assert_eq!(list_type(at(spec, &["containers"])), keys(&["name"]));
        assert_eq!(list_type(at(spec, &["initContainers"])), keys(&["name"]));
        assert_eq!(
            list_type(at(spec, &["ephemeralContainers"])),
            keys(&["name"])
        );
        assert_eq!(list_type(at(spec, &["volumes"])), keys(&["name"]));
        assert_eq!(list_type(at(spec, &["imagePullSecrets"])), keys(&["name"]));
        assert_eq!(list_type(at(spec, &["tolerations"])), ListType::Atomic);
        assert_eq!(
            list_type(at(spec, &["topologySpreadConstraints"])),
            keys(&["topologyKey", "whenUnsatisfiable"])
        );
        let container = at(spec, &["containers", "[]"]);
        assert_eq!(list_type(at(container, &["env"])), keys(&["name"]));
        assert_eq!(
            list_type(at(container, &["volumeMounts"])),
            keys(&["mountPath"])
        );
        assert_eq!(
            list_type(at(container, &["ports"])),
            ListType::Map {
                keys: vec!["containerPort".to_owned(), "protocol".to_owned()],
                key_defaults: BTreeMap::from([("protocol".to_owned(), json!("TCP"))]),
            }
        );
        assert_eq!(list_type(at(container, &["args"])), ListType::Atomic);
        assert_eq!(
            list_type(at(pod.root(), &["status", "conditions"])),
            keys(&["type"])
        );
        assert!(at(spec, &["nodeSelector"]).is_atomic_object());
        assert!(at(spec, &["imagePullSecrets", "[]"]).is_atomic_object());
        assert_eq!(
            list_type(at(pod.root(), &["status", "hostIPs"])),
            ListType::Atomic
        );
        assert_eq!(
            at(pod.root(), &["status", "hostIPs"]).list_patch(),
            &ListPatch::Merge {
                key: Some("ip".to_owned())
            }
        );
    }

    #[test]
    fn metadata_rules_apply_to_every_kind() {
        for (group, kind) in [
            ("", "ConfigMap"),
            ("apps", "Deployment"),
            ("x.io", "Unknown"),
        ] {
            let schema = MergeSchema::for_builtin(group, "v1", kind);
            let meta = at(schema.root(), &["metadata"]);
            assert_eq!(list_type(at(meta, &["finalizers"])), ListType::Set);
            assert_eq!(list_type(at(meta, &["ownerReferences"])), keys(&["uid"]));
            assert!(at(meta, &["ownerReferences", "[]"]).is_atomic_object());
            assert_eq!(list_type(at(meta, &["managedFields"])), ListType::Atomic);
            assert!(matches!(
                at(meta, &["labels"]),
                Node::Object(super::super::ObjectNode {
                    rest: Rest::Entries(_),
                    atomic: false,
                    ..
                })
            ));
        }
    }

    #[test]
    fn workload_templates_share_the_pod_spec_and_service_ports_default_tcp() {
        let deployment = MergeSchema::for_builtin("apps", "v1", "Deployment");
        assert_eq!(
            at(deployment.root(), &["spec", "template", "spec"]),
            &pod_spec()
        );
        assert!(at(deployment.root(), &["spec", "selector"]).is_atomic_object());
        let statefulset = MergeSchema::for_builtin("apps", "v1", "StatefulSet");
        assert_eq!(
            at(statefulset.root(), &["spec", "template", "spec"]),
            &pod_spec()
        );
        let job = MergeSchema::for_builtin("batch", "v1", "Job");
        assert_eq!(at(job.root(), &["spec", "template", "spec"]), &pod_spec());
        let service = MergeSchema::for_builtin("", "v1", "Service");
        assert_eq!(
            list_type(at(service.root(), &["spec", "ports"])),
            ListType::Map {
                keys: vec!["port".to_owned(), "protocol".to_owned()],
                key_defaults: BTreeMap::from([("protocol".to_owned(), json!("TCP"))]),
            }
        );
        assert_eq!(
            at(service.root(), &["spec", "ports"]).list_patch(),
            &ListPatch::Merge {
                key: Some("port".to_owned())
            }
        );
    }
}
