//! Which webhooks of the `admissionregistration.k8s.io/v1` configurations a request reaches:
//! `rules` (operations, API groups, versions, resources with subresources, scope), then
//! `namespaceSelector`, `objectSelector` and `matchConditions` (CEL), in the API server's
//! order (rust-ecosystem.md §3.3 "Admission webhooks"; apiserver
//! `admission/plugin/webhook/{predicates,matchconditions}`).
//!
//! Pure: the configurations, the request and the namespace's labels are arguments. Must not
//! call webhooks or read the store.

use std::collections::HashMap;
use std::sync::Arc;

use kube_cel::KubeCelExt;
use kube_cel::cel::objects::{Key, Map as CelMap};
use kube_cel::cel::{Context, Program, Value as CelValue};
use serde_json::Value;

use crate::semantics::label_selector::{LabelSelector, label_selector_object_to_string};

/// `CREATE`, `UPDATE`, `DELETE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }
}

/// What a request addresses, as webhook rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    pub version: String,
    /// Plural resource name.
    pub resource: String,
    /// `""`, `status`, ...
    pub subresource: String,
    pub namespaced: bool,
    /// The object is a Namespace (the namespace selector then reads its own labels).
    pub is_namespace: bool,
}

/// Whether the rule lists contain `value` or `*`.
fn listed(list: Option<&Value>, value: &str) -> bool {
    list.and_then(Value::as_array)
        .is_some_and(|items| items.iter().any(|i| i == "*" || i == value))
}

/// `resources` entries: `pods`, `pods/status`, `*`, `*/status`, `pods/*`, `*/*`.
fn resource_listed(list: Option<&Value>, resource: &str, subresource: &str) -> bool {
    let Some(items) = list.and_then(Value::as_array) else {
        return false;
    };
    items.iter().filter_map(Value::as_str).any(|entry| {
        let (res, sub) = entry.split_once('/').unwrap_or((entry, ""));
        (res == "*" || res == resource)
            && (sub == subresource || (sub == "*" && !subresource.is_empty()) || entry == "*/*")
    })
}

/// One `rules[]` entry against the request (`RuleWithOperations`).
fn rule_matches(rule: &Value, operation: Operation, target: &Target) -> bool {
    let operations = rule.get("operations");
    let scope_ok = match rule.get("scope").and_then(Value::as_str).unwrap_or("*") {
        "Cluster" => !target.namespaced,
        "Namespaced" => target.namespaced,
        _ => true,
    };
    scope_ok
        && listed(operations, operation.as_str())
        && listed(rule.get("apiGroups"), &target.group)
        && listed(rule.get("apiVersions"), &target.version)
        && resource_listed(rule.get("resources"), &target.resource, &target.subresource)
}

/// Whether any of a webhook's `rules` matches.
pub fn rules_match(webhook: &Value, operation: Operation, target: &Target) -> bool {
    webhook
        .get("rules")
        .and_then(Value::as_array)
        .is_some_and(|rules| rules.iter().any(|r| rule_matches(r, operation, target)))
}

/// A `metav1.LabelSelector` against a label map (an absent selector matches everything).
fn selector_matches(selector: Option<&Value>, labels: Option<&Value>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return true;
    };
    let text = label_selector_object_to_string(selector);
    let Ok(parsed) = LabelSelector::parse(&text) else {
        return false;
    };
    let object =
        serde_json::json!({"metadata": {"labels": labels.cloned().unwrap_or(Value::Null)}});
    parsed.matches(&object)
}

fn labels(object: Option<&Value>) -> Option<&Value> {
    object.and_then(|o| o.pointer("/metadata/labels"))
}

/// `namespaceSelector`: namespaced requests test their namespace's labels, a Namespace its
/// own; other cluster-scoped objects are never filtered out.
pub fn namespace_matches(
    webhook: &Value,
    target: &Target,
    namespace_labels: Option<&Value>,
    object: Option<&Value>,
    old: Option<&Value>,
) -> bool {
    let selector = webhook.get("namespaceSelector");
    if target.is_namespace {
        let own = labels(object).or_else(|| labels(old));
        return selector_matches(selector, own);
    }
    if !target.namespaced {
        return true;
    }
    selector_matches(selector, namespace_labels)
}

/// `objectSelector`: the new or the old object's labels must match.
pub fn object_matches(webhook: &Value, object: Option<&Value>, old: Option<&Value>) -> bool {
    let selector = webhook.get("objectSelector");
    selector_matches(selector, labels(object))
        || (old.is_some() && selector_matches(selector, labels(old)))
}

/// Why `matchConditions` could not decide.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MatchConditionError {
    #[error("compilation failed for matchCondition {name:?}: {detail}")]
    Compile { name: String, detail: String },
    #[error("matchCondition {name:?} evaluation failed: {detail}")]
    Evaluate { name: String, detail: String },
    #[error("matchCondition {name:?} must evaluate to bool, got {got}")]
    NotBool { name: String, got: String },
}

/// JSON as a CEL value (integers as `int`, as the API server's unstructured conversion does).
fn to_cel(value: &Value) -> CelValue {
    match value {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => CelValue::Int(i),
            (None, Some(f)) => CelValue::Float(f),
            (None, None) => CelValue::Null,
        },
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(items) => CelValue::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let entries: HashMap<Key, CelValue> = map
                .iter()
                .map(|(k, v)| (Key::from(k.as_str()), to_cel(v)))
                .collect();
            CelValue::Map(CelMap::from(entries))
        }
    }
}

/// `matchConditions`: every expression must be true. `object`, `oldObject` (null when
/// absent) and `request` (the AdmissionRequest) are bound; a false condition skips the
/// webhook, an error is decided by the caller's failure policy.
pub fn conditions_match(
    webhook: &Value,
    object: Option<&Value>,
    old: Option<&Value>,
    request: &Value,
) -> Result<bool, MatchConditionError> {
    let Some(conditions) = webhook.get("matchConditions").and_then(Value::as_array) else {
        return Ok(true);
    };
    let env = Context::default().with_all();
    for condition in conditions {
        let name = condition
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let expression = condition
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let program = Program::compile(expression).map_err(|e| MatchConditionError::Compile {
            name: name.clone(),
            detail: e.to_string(),
        })?;
        let mut scope = env.new_inner_scope();
        scope.add_variable_from_value("object", object.map_or(CelValue::Null, to_cel));
        scope.add_variable_from_value("oldObject", old.map_or(CelValue::Null, to_cel));
        scope.add_variable_from_value("request", to_cel(request));
        match program.execute(&scope) {
            Ok(CelValue::Bool(true)) => {}
            Ok(CelValue::Bool(false)) => return Ok(false),
            Ok(other) => {
                return Err(MatchConditionError::NotBool {
                    name,
                    got: format!("{other:?}"),
                });
            }
            Err(e) => {
                return Err(MatchConditionError::Evaluate {
                    name,
                    detail: e.to_string(),
                });
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(resource: &str, subresource: &str) -> Target {
        Target {
            group: "apps".into(),
            version: "v1".into(),
            resource: resource.into(),
            subresource: subresource.into(),
            namespaced: true,
            is_namespace: false,
        }
    }

    #[test]
    fn rules_match_operations_groups_versions_resources_and_scope() {
        let webhook = |rule: Value| json!({"rules": [rule]});
        let base = json!({"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"],
                          "resources": ["deployments"]});
        let deployments = target("deployments", "");
        let cases = [
            (base.clone(), Operation::Create, deployments.clone(), true),
            (base.clone(), Operation::Update, deployments.clone(), false),
            (
                base.clone(),
                Operation::Create,
                target("statefulsets", ""),
                false,
            ),
            (
                base.clone(),
                Operation::Create,
                target("deployments", "status"),
                false,
            ),
            (
                json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}),
                Operation::Delete,
                deployments.clone(),
                true,
            ),
            (
                json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}),
                Operation::Update,
                target("deployments", "status"),
                false,
            ),
            (
                json!({"operations": ["UPDATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments/status"]}),
                Operation::Update,
                target("deployments", "status"),
                true,
            ),
            (
                json!({"operations": ["UPDATE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*/*"]}),
                Operation::Update,
                target("deployments", "scale"),
                true,
            ),
            (
                json!({"operations": ["UPDATE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["deployments/*"]}),
                Operation::Update,
                target("deployments", ""),
                false,
            ),
            (
                json!({"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"], "scope": "Cluster"}),
                Operation::Create,
                deployments.clone(),
                false,
            ),
            (
                json!({"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1beta1"], "resources": ["deployments"]}),
                Operation::Create,
                deployments.clone(),
                false,
            ),
        ];
        for (rule, operation, target, expected) in cases {
            assert_eq!(
                rules_match(&webhook(rule.clone()), operation, &target),
                expected,
                "{rule} {operation:?} {target:?}"
            );
        }
    }

    #[test]
    fn selectors_read_namespace_and_object_labels() {
        let webhook = json!({
            "namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["test"]}]},
            "objectSelector": {"matchLabels": {"admit": "yes"}},
        });
        let deployments = target("deployments", "");
        assert!(namespace_matches(
            &webhook,
            &deployments,
            Some(&json!({"env": "test"})),
            None,
            None
        ));
        assert!(!namespace_matches(
            &webhook,
            &deployments,
            Some(&json!({"env": "prod"})),
            None,
            None
        ));
        assert!(!namespace_matches(&webhook, &deployments, None, None, None));
        let namespace = Target {
            group: String::new(),
            version: "v1".into(),
            resource: "namespaces".into(),
            subresource: String::new(),
            namespaced: false,
            is_namespace: true,
        };
        let ns = json!({"metadata": {"labels": {"env": "test"}}});
        assert!(namespace_matches(
            &webhook,
            &namespace,
            None,
            Some(&ns),
            None
        ));
        let node = Target {
            resource: "nodes".into(),
            is_namespace: false,
            ..namespace
        };
        assert!(namespace_matches(&webhook, &node, None, None, None));
        let labelled = json!({"metadata": {"labels": {"admit": "yes"}}});
        let plain = json!({"metadata": {}});
        assert!(object_matches(&webhook, Some(&labelled), None));
        assert!(!object_matches(&webhook, Some(&plain), None));
        assert!(object_matches(&webhook, Some(&plain), Some(&labelled)));
        assert!(object_matches(&json!({}), Some(&plain), None));
    }

    #[test]
    fn match_conditions_are_cel_over_object_old_object_and_request() {
        let webhook = json!({"matchConditions": [
            {"name": "not-system", "expression": "!object.metadata.name.startsWith('system-')"},
            {"name": "replicas", "expression": "object.spec.replicas > 1"},
        ]});
        let request = json!({"operation": "CREATE"});
        let object = |name: &str, replicas: i64| json!({"metadata": {"name": name}, "spec": {"replicas": replicas}});
        assert_eq!(
            conditions_match(&webhook, Some(&object("web", 3)), None, &request),
            Ok(true)
        );
        assert_eq!(
            conditions_match(&webhook, Some(&object("system-web", 3)), None, &request),
            Ok(false)
        );
        assert_eq!(
            conditions_match(&webhook, Some(&object("web", 1)), None, &request),
            Ok(false)
        );
        let on_request = json!({"matchConditions": [
            {"name": "updates", "expression": "request.operation == 'UPDATE' && oldObject != null"}]});
        assert_eq!(
            conditions_match(&on_request, Some(&object("web", 1)), None, &request),
            Ok(false)
        );
        let broken =
            json!({"matchConditions": [{"name": "typo", "expression": "object.spec.missing > 1"}]});
        assert!(matches!(
            conditions_match(&broken, Some(&object("web", 1)), None, &request),
            Err(MatchConditionError::Evaluate { name, .. }) if name == "typo"
        ));
        let not_bool = json!({"matchConditions": [{"name": "n", "expression": "1 + 1"}]});
        assert_eq!(
            conditions_match(&not_bool, None, None, &request),
            Err(MatchConditionError::NotBool {
                name: "n".into(),
                got: "Int(2)".into()
            })
        );
    }
}
