use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::auth::tokens::service_account_user;

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        username: name.into(),
        uid: String::new(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        extra: Default::default(),
    }
}

fn request(
    user: &UserInfo,
    verb: &str,
    ns: &str,
    group: &str,
    resource: &str,
    sub: &str,
    name: &str,
) -> Attributes {
    Attributes {
        user: user.clone(),
        verb: verb.into(),
        resource: Some(ResourceAttributes {
            namespace: ns.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            name: name.into(),
        }),
        path: String::new(),
    }
}

fn path(user: &UserInfo, verb: &str, path: &str) -> Attributes {
    Attributes {
        user: user.clone(),
        verb: verb.into(),
        resource: None,
        path: path.into(),
    }
}

fn role(kind: &str, name: &str, ns: Option<&str>, rules: Value) -> Value {
    let mut role = json!({"kind": kind, "metadata": {"name": name}, "rules": rules});
    if let Some(ns) = ns {
        role["metadata"]["namespace"] = json!(ns);
    }
    role
}

fn binding(
    name: &str,
    ns: Option<&str>,
    role_kind: &str,
    role_name: &str,
    subjects: Value,
) -> Value {
    let mut binding = json!({"metadata": {"name": name}, "subjects": subjects,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name}});
    if let Some(ns) = ns {
        binding["metadata"]["namespace"] = json!(ns);
    }
    binding
}

fn allowed(policy: &Policy, attrs: &Attributes) -> bool {
    authorize(policy, attrs).allowed
}

#[test]
fn each_rule_form_allows_what_it_names_and_nothing_else() {
    let alice = user("alice", &["system:authenticated"]);
    let policy = Policy {
        roles: vec![role(
            "Role",
            "cm-reader",
            Some("apps"),
            json!([
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
                {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["tls"], "verbs": ["get"]},
                {"apiGroups": ["apps"], "resources": ["statefulsets/status"], "verbs": ["update", "patch"]},
                {"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["*"]},
            ]),
        )],
        role_bindings: vec![binding(
            "b",
            Some("apps"),
            "Role",
            "cm-reader",
            json!([{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]),
        )],
        cluster_roles: vec![role(
            "ClusterRole",
            "probes",
            None,
            json!([
            {"nonResourceURLs": ["/healthz", "/metrics/*"], "verbs": ["get"]}]),
        )],
        cluster_role_bindings: vec![binding(
            "p",
            None,
            "ClusterRole",
            "probes",
            json!([{"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}]),
        )],
    };
    let cases = [
        (
            request(&alice, "get", "apps", "", "configmaps", "", "x"),
            true,
        ),
        (
            request(&alice, "list", "apps", "", "configmaps", "", ""),
            true,
        ),
        (
            request(&alice, "delete", "apps", "", "configmaps", "", "x"),
            false,
        ),
        (
            request(&alice, "get", "other", "", "configmaps", "", "x"),
            false,
        ),
        (request(&alice, "list", "", "", "configmaps", "", ""), false),
        (
            request(&alice, "get", "apps", "", "secrets", "", "tls"),
            true,
        ),
        (
            request(&alice, "get", "apps", "", "secrets", "", "db"),
            false,
        ),
        (
            request(&alice, "list", "apps", "", "secrets", "", ""),
            false,
        ),
        (
            request(
                &alice,
                "patch",
                "apps",
                "apps",
                "statefulsets",
                "status",
                "s",
            ),
            true,
        ),
        (
            request(&alice, "patch", "apps", "apps", "statefulsets", "", "s"),
            false,
        ),
        (
            request(
                &alice,
                "update",
                "apps",
                "apps",
                "deployments",
                "scale",
                "d",
            ),
            true,
        ),
        (
            request(&alice, "update", "apps", "apps", "deployments", "", "d"),
            false,
        ),
        (path(&alice, "get", "/healthz"), true),
        (path(&alice, "get", "/metrics/cadvisor"), true),
        (path(&alice, "get", "/metrics"), false),
        (path(&alice, "post", "/healthz"), false),
        (path(&user("bob", &[]), "get", "/healthz"), false),
    ];
    for (attrs, expected) in cases {
        assert_eq!(allowed(&policy, &attrs), expected, "{attrs:?}");
    }
}

#[test]
fn aggregated_cluster_roles_carry_the_rules_their_selectors_match() {
    let carol = user("carol", &[]);
    let mut part = role(
        "ClusterRole",
        "widgets-view",
        None,
        json!([{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}]),
    );
    part["metadata"]["labels"] = json!({"rbac.example.com/aggregate-to-view": "true"});
    let mut view = role("ClusterRole", "view", None, json!([]));
    view["aggregationRule"] = json!({"clusterRoleSelectors": [
        {"matchLabels": {"rbac.example.com/aggregate-to-view": "true"}}]});
    let policy = Policy {
        cluster_roles: vec![view, part],
        cluster_role_bindings: vec![binding(
            "v",
            None,
            "ClusterRole",
            "view",
            json!([{"kind": "User", "name": "carol"}]),
        )],
        ..Default::default()
    };
    assert!(allowed(
        &policy,
        &request(&carol, "get", "ns", "example.com", "widgets", "", "w")
    ));
    assert!(!allowed(
        &policy,
        &request(&carol, "delete", "ns", "example.com", "widgets", "", "w")
    ));
}

#[test]
fn service_accounts_are_bound_by_name_and_namespace() {
    let sa = service_account_user("ops", "operator", "u-1");
    let policy = Policy {
        cluster_roles: vec![role(
            "ClusterRole",
            "lease",
            None,
            json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}]),
        )],
        // The subject has no namespace: the RoleBinding's own.
        role_bindings: vec![binding(
            "b",
            Some("ops"),
            "ClusterRole",
            "lease",
            json!([{"kind": "ServiceAccount", "name": "operator"}]),
        )],
        ..Default::default()
    };
    assert!(allowed(
        &policy,
        &request(
            &sa,
            "update",
            "ops",
            "coordination.k8s.io",
            "leases",
            "",
            "l"
        )
    ));
    assert!(!allowed(
        &policy,
        &request(
            &sa,
            "update",
            "dev",
            "coordination.k8s.io",
            "leases",
            "",
            "l"
        )
    ));
    let other = service_account_user("ops", "intruder", "u-2");
    assert!(!allowed(
        &policy,
        &request(
            &other,
            "update",
            "ops",
            "coordination.k8s.io",
            "leases",
            "",
            "l"
        )
    ));
}

#[test]
fn masters_are_allowed_and_missing_roles_are_the_reason() {
    let admin = user("kubernetes-admin", &["system:masters"]);
    let dave = user("dave", &[]);
    let policy = Policy {
        cluster_role_bindings: vec![binding(
            "x",
            None,
            "ClusterRole",
            "gone",
            json!([{"kind": "User", "name": "dave"}]),
        )],
        ..Default::default()
    };
    assert!(allowed(
        &policy,
        &request(&admin, "delete", "", "", "nodes", "", "n")
    ));
    let attrs = request(&dave, "get", "default", "", "pods", "log", "p");
    assert_eq!(
        authorize(&policy, &attrs),
        Decision {
            allowed: false,
            reason: "RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found".into()
        }
    );
    assert_eq!(
        forbidden_message(&attrs),
        "User \"dave\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"default\""
    );
    assert_eq!(
        forbidden_message(&request(&dave, "list", "", "apps", "deployments", "", "")),
        "User \"dave\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope"
    );
    assert_eq!(
        forbidden_message(&path(&dave, "get", "/apis")),
        "User \"dave\" cannot get path \"/apis\""
    );
}
