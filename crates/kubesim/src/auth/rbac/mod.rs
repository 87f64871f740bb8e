//! The RBAC authorizer (upstream `plugin/pkg/auth/authorizer/rbac`): a request is allowed when
//! a rule of a role bound to the user allows it. ClusterRoleBindings grant everywhere;
//! RoleBindings grant in their namespace, from a Role there or a ClusterRole. Aggregated
//! ClusterRoles (`aggregationRule.clusterRoleSelectors`) carry the rules of the ClusterRoles
//! their selectors match. Members of `system:masters` are allowed everything, before RBAC, as
//! by the API server's privileged-group authorizer.
//!
//! Pure: the caller passes the stored roles and bindings.

use serde_json::Value;

use super::UserInfo;
use crate::semantics::label_selector::{LabelSelector, label_selector_object_to_string};

/// The group that bypasses authorization.
pub const SUPERUSER_GROUP: &str = "system:masters";

/// What a resource request touches.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ResourceAttributes {
    pub namespace: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

/// A request to authorize.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub user: UserInfo,
    /// `get`, `list`, `create`, ... for resources; the lower-cased HTTP method for paths.
    pub verb: String,
    /// `None` for a non-resource request (discovery, `/version`, `/healthz`).
    pub resource: Option<ResourceAttributes>,
    /// The URL path (non-resource requests).
    pub path: String,
}

/// The RBAC objects of the cluster, as stored.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub roles: Vec<Value>,
    pub cluster_roles: Vec<Value>,
    pub role_bindings: Vec<Value>,
    pub cluster_role_bindings: Vec<Value>,
}

/// The outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Why, when denied and something was wrong with the policy (`RBAC: clusterrole... not
    /// found`); empty otherwise, as the API server leaves it.
    pub reason: String,
}

fn strings<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn name_of(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn namespace_of(object: &Value) -> &str {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Whether a binding subject is `user` (`appliesToUser`); a ServiceAccount subject without a
/// namespace means the binding's own namespace.
fn applies_to(subject: &Value, user: &UserInfo, binding_namespace: &str) -> bool {
    let name = subject
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match subject.get("kind").and_then(Value::as_str) {
        Some("User") => user.username == name,
        Some("Group") => user.groups.iter().any(|g| g == name),
        Some("ServiceAccount") => {
            let namespace = subject
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_namespace);
            !namespace.is_empty()
                && super::tokens::service_account_username(namespace, name) == user.username
        }
        _ => false,
    }
}

fn has(list: impl Iterator<Item = impl AsRef<str>>, wanted: &str) -> bool {
    list.into_iter()
        .any(|item| item.as_ref() == "*" || item.as_ref() == wanted)
}

/// `ResourceMatches`: `*`, the exact `resource[/subresource]`, or `*/subresource`.
fn resource_matches(rule: &Value, attrs: &ResourceAttributes) -> bool {
    let combined = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    strings(rule, "resources").any(|r| {
        r == "*"
            || r == combined
            || (!attrs.subresource.is_empty() && r == format!("*/{}", attrs.subresource))
    })
}

/// `RuleAllows` for one rule.
fn rule_allows(rule: &Value, attrs: &Attributes) -> bool {
    if !has(strings(rule, "verbs"), &attrs.verb) {
        return false;
    }
    match &attrs.resource {
        Some(resource) => {
            has(strings(rule, "apiGroups"), &resource.group)
                && resource_matches(rule, resource)
                && {
                    let names: Vec<&str> = strings(rule, "resourceNames").collect();
                    names.is_empty() || names.contains(&resource.name.as_str())
                }
        }
        None => strings(rule, "nonResourceURLs").any(|url| {
            url == "*"
                || url == attrs.path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| attrs.path.starts_with(prefix))
        }),
    }
}

impl Policy {
    fn cluster_role(&self, name: &str) -> Option<&Value> {
        self.cluster_roles.iter().find(|r| name_of(r) == name)
    }

    /// The rules of a ClusterRole, with those aggregated into it.
    fn cluster_role_rules(&self, role: &Value) -> Vec<Value> {
        let mut rules: Vec<Value> = role
            .get("rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let selectors = role
            .pointer("/aggregationRule/clusterRoleSelectors")
            .and_then(Value::as_array);
        for selector in selectors.into_iter().flatten() {
            let Ok(selector) = LabelSelector::parse(&label_selector_object_to_string(selector))
            else {
                continue;
            };
            for other in &self.cluster_roles {
                if name_of(other) != name_of(role) && selector.matches(other) {
                    rules.extend(
                        other
                            .get("rules")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default(),
                    );
                }
            }
        }
        rules
    }

    /// The rules a roleRef grants, or the error the API server reports for a missing role.
    fn rules_of(&self, role_ref: &Value, namespace: &str) -> Result<Vec<Value>, String> {
        let name = role_ref
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match role_ref.get("kind").and_then(Value::as_str) {
            Some("ClusterRole") => self
                .cluster_role(name)
                .map(|role| self.cluster_role_rules(role))
                .ok_or_else(|| {
                    format!("clusterrole.rbac.authorization.k8s.io \"{name}\" not found")
                }),
            Some("Role") => self
                .roles
                .iter()
                .find(|r| name_of(r) == name && namespace_of(r) == namespace)
                .map(|r| {
                    r.get("rules")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                })
                .ok_or_else(|| format!("role.rbac.authorization.k8s.io \"{name}\" not found")),
            _ => Ok(Vec::new()),
        }
    }
}

/// Authorizes `attrs` against `policy`.
pub fn authorize(policy: &Policy, attrs: &Attributes) -> Decision {
    if attrs.user.groups.iter().any(|g| g == SUPERUSER_GROUP) {
        return Decision {
            allowed: true,
            reason: String::new(),
        };
    }
    let mut errors = Vec::new();
    let mut visit = |binding: &Value, namespace: &str| -> bool {
        let subjects = binding.get("subjects").and_then(Value::as_array);
        if !subjects
            .into_iter()
            .flatten()
            .any(|s| applies_to(s, &attrs.user, namespace))
        {
            return false;
        }
        match policy.rules_of(binding.get("roleRef").unwrap_or(&Value::Null), namespace) {
            Ok(rules) => rules.iter().any(|rule| rule_allows(rule, attrs)),
            Err(error) => {
                errors.push(error);
                false
            }
        }
    };
    let allowed = policy
        .cluster_role_bindings
        .iter()
        .any(|binding| visit(binding, ""))
        || attrs.resource.as_ref().is_some_and(|resource| {
            !resource.namespace.is_empty()
                && policy
                    .role_bindings
                    .iter()
                    .filter(|b| namespace_of(b) == resource.namespace)
                    .any(|binding| visit(binding, &resource.namespace))
        });
    Decision {
        allowed,
        reason: if allowed || errors.is_empty() {
            String::new()
        } else {
            format!("RBAC: {}", errors.join(", "))
        },
    }
}

/// The API server's text for a denied request (`responsewriters.forbiddenMessage`).
pub fn forbidden_message(attrs: &Attributes) -> String {
    let user = &attrs.user.username;
    let verb = &attrs.verb;
    match &attrs.resource {
        None => format!("User \"{user}\" cannot {verb} path \"{}\"", attrs.path),
        Some(r) => {
            let mut resource = r.resource.clone();
            if !r.subresource.is_empty() {
                resource = format!("{resource}/{}", r.subresource);
            }
            if r.namespace.is_empty() {
                format!(
                    "User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{}\" at the cluster scope",
                    r.group
                )
            } else {
                format!(
                    "User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{}\" in the namespace \"{}\"",
                    r.group, r.namespace
                )
            }
        }
    }
}

#[cfg(test)]
mod tests;
